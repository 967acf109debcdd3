//! The devnet of a benchmark run, and one chain read timed four ways on it in the same run.
//!
//! The four ways read the same value from the same anvil, one after the other in each round so
//! that the machine's load falls on all of them alike:
//! - **aomi, command turn**: the direct command (`/balance <address>`, `/call <token>
//!   "balanceOf(address)(uint256)" <owner>`) sent to `aomi serve` as a chat message, timed from the
//!   request to the tool's result part and to the end of the stream. It is what a user pays for a
//!   read through aomi without a model: HTTP, the chat and turn rows, storing the user message,
//!   the tool (the scheduler, the chat's provider, formatting), storing the answer, the SSE stream;
//! - **aomi, tool alone**: the same tool called in this process (argument parsing, the chat's
//!   session provider, ABI encoding and decoding, formatting): aomi's tool layer without serving;
//! - **alloy**: the bare provider call (`get_balance`, `eth_call`) on a provider of its own;
//! - **`cast`**: Foundry's binary as a process per read (`cast balance`, `cast call`), which is
//!   what a user typing it pays: a process start and a new connection each time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aomi_chain::alloy::primitives::Address;
use aomi_chain::alloy::providers::{DynProvider, Provider};
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::{ToolContext, UiChunk};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::chain_tools;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;
use crate::client::{ChatClient, TurnOutcome};
use crate::report::Problem;
use crate::stats::Summary;
use crate::stub::ChainTargets;

/// The network name of the devnet in aomi's registry.
const DEVNET: &str = aomi_chain::network::DEVNET;

/// Untimed rounds before the timed ones: connections open, caches fill.
const WARM_UP: usize = 3;

/// The `n`th of the orders of `len` items (indexes), cycling through all of them: the ways of a
/// read run in a different order each round, so that none always follows the same other way. In a
/// fixed order the aomi tool always ran just after a command turn, while the server was still
/// finishing it on the same two cores, and raw alloy just after the tool.
fn nth_order(n: usize, len: usize) -> Vec<usize> {
    let mut left: Vec<usize> = (0..len).collect();
    let mut order = Vec::with_capacity(len);
    let mut rest = n;
    while !left.is_empty() {
        let pick = rest % left.len();
        rest /= left.len();
        order.push(left.remove(pick));
    }
    order
}

/// The devnet of a run and what reads it: its targets, the chain tools over it, a bare provider,
/// and the `cast` binary when it is installed. Stops anvil when dropped.
pub struct ChainBench {
    devnet: Devnet,
    targets: ChainTargets,
    tools: ToolRegistry,
    provider: DynProvider,
    cast: Option<PathBuf>,
}

impl std::fmt::Debug for ChainBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainBench").field("targets", &self.targets).field("cast", &self.cast).finish_non_exhaustive()
    }
}

impl ChainBench {
    /// Starts anvil with the project's contracts (see [`aomi_chain::devnet`]).
    pub async fn start() -> Result<ChainBench, Error> {
        let devnet = Devnet::start().await.map_err(|e| Error::Chain(format!("cannot start the devnet: {e}")))?;
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url(DEVNET, devnet.url()).map_err(|e| Error::Chain(e.to_string()))?;
        let sessions = Arc::new(ChainSessions::new(registry, DEVNET).map_err(|e| Error::Chain(e.to_string()))?);
        devnet.register_contracts(sessions.contracts()).map_err(|e| Error::Chain(e.to_string()))?;
        // A provider of its own, not the chat's: alloy without aomi.
        let provider = devnet.provider();
        // Account 1: funded with ETH and the tokens, and never the sender of anything.
        let account =
            devnet.accounts().get(1).copied().ok_or_else(|| Error::Chain("the devnet has no accounts".into()))?;
        let targets = ChainTargets {
            rpc_url: devnet.url().to_owned(),
            account: account.to_string(),
            usdc: devnet.contracts().usdc.to_string(),
        };
        Ok(ChainBench { devnet, targets, tools: chain_tools(sessions), provider, cast: find_cast() })
    }

    /// What the chain reads of [`crate::stub::TurnKind::Chain`] turns read.
    pub fn targets(&self) -> &ChainTargets {
        &self.targets
    }

    /// The devnet's RPC URL, for the server (`AOMI_RPC_DEVNET`).
    pub fn rpc_url(&self) -> &str {
        self.devnet.url()
    }

    /// The `cast` binary used, if found.
    pub fn cast(&self) -> Option<&Path> {
        self.cast.as_deref()
    }

    /// Times both reads `iterations` times each way (after [`WARM_UP`] untimed rounds), command
    /// turns in chats named `{chat_prefix}-N`. `tick` is called once per timed round. Problems
    /// (a way that fails or reads another value) go to `problems`.
    pub async fn compare_reads(
        &self,
        client: &ChatClient,
        chat_prefix: &str,
        iterations: usize,
        tick: impl Fn(),
        problems: &mut Vec<(String, Problem)>,
    ) -> ChainReadReport {
        let reads = [Read::EthBalance, Read::TokenBalance];
        let mut expected = Vec::new();
        for read in reads {
            expected.push(match self.alloy(read).await {
                Ok(value) => value,
                Err(error) => {
                    problems.push((format!("{} with alloy", read.label()), Problem::Error(error)));
                    String::new()
                }
            });
        }
        let ways = Way::ALL.iter().copied().filter(|way| *way != Way::Cast || self.cast.is_some()).collect::<Vec<_>>();
        // samples[read][way]: full times; results[read]: command turns' time to the result part.
        let mut samples = vec![vec![Vec::new(); ways.len()]; reads.len()];
        let mut to_result = vec![Vec::new(); reads.len()];
        for round in 0..WARM_UP + iterations {
            let timed = round >= WARM_UP;
            // 20 turns per chat, as a user running a few commands in one chat would.
            let chat = format!("{chat_prefix}-{}", round / 10);
            for (r, read) in reads.iter().enumerate() {
                for w in nth_order(round * reads.len() + r, ways.len()) {
                    let way = &ways[w];
                    let started = Instant::now();
                    let result = match way {
                        Way::CommandTurn => self.command_turn(client, &chat, *read).await.map(|(value, at)| {
                            if timed {
                                to_result[r].push(at);
                            }
                            value
                        }),
                        Way::Tool => self.tool(*read).await,
                        Way::Alloy => self.alloy(*read).await,
                        Way::Cast => self.cast_read(*read).await,
                    };
                    let elapsed = started.elapsed();
                    let label = format!("{} via {}", read.label(), way.label());
                    match result {
                        Ok(value) if value == expected[r] => {
                            if timed {
                                samples[r][w].push(elapsed);
                            }
                        }
                        Ok(value) => problems.push((
                            label,
                            Problem::Error(format!("read {value}, the other ways read {}", expected[r])),
                        )),
                        Err(error) => problems.push((label, Problem::Error(error))),
                    }
                }
            }
            if timed {
                tick();
            }
        }
        let reads = reads
            .iter()
            .enumerate()
            .map(|(r, read)| ReadComparison {
                read: read.label().into(),
                value: expected[r].clone(),
                ways: ways
                    .iter()
                    .enumerate()
                    .map(|(w, way)| WayTimes {
                        way: *way,
                        command: self.command_of(*read, *way),
                        times: Summary::of(&samples[r][w]),
                        to_result: (*way == Way::CommandTurn).then(|| Summary::of(&to_result[r])).flatten(),
                    })
                    .collect(),
            })
            .collect();
        let mut notes = Vec::new();
        if self.cast.is_none() {
            notes.push("`cast` was not found (npm install --prefix tools): its column is empty".into());
        }
        ChainReadReport { iterations, reads, notes }
    }

    /// What a way runs for a read, shown in the report (addresses shortened).
    fn command_of(&self, read: Read, way: Way) -> String {
        let account = short(&self.targets.account);
        let usdc = short(&self.targets.usdc);
        match (way, read) {
            (Way::CommandTurn, Read::EthBalance) => format!("/balance {account}"),
            (Way::CommandTurn, Read::TokenBalance) => format!("/call {usdc} \"balanceOf(address)(uint256)\" {account}"),
            (Way::Tool, Read::EthBalance) => "get_balance".into(),
            (Way::Tool, Read::TokenBalance) => "call_view_function".into(),
            (Way::Alloy, Read::EthBalance) => "provider.get_balance".into(),
            (Way::Alloy, Read::TokenBalance) => "provider.call(balanceOf)".into(),
            (Way::Cast, Read::EthBalance) => format!("cast balance {account}"),
            (Way::Cast, Read::TokenBalance) => format!("cast call {usdc} \"balanceOf(address)(uint256)\" {account}"),
        }
    }

    async fn command_turn(&self, client: &ChatClient, chat: &str, read: Read) -> Result<(String, Duration), String> {
        let text = match read {
            Read::EthBalance => format!("/balance {}", self.targets.account),
            Read::TokenBalance => {
                format!("/call {} \"balanceOf(address)(uint256)\" {}", self.targets.usdc, self.targets.account)
            }
        };
        let outcome = client.send(chat, &text, None).await;
        let (output, at) = command_result(&outcome)?;
        Ok((read.value_of(&output["data"])?, at))
    }

    async fn tool(&self, read: Read) -> Result<String, String> {
        let (name, args) = match read {
            Read::EthBalance => ("get_balance", json!({ "address": self.targets.account })),
            Read::TokenBalance => (
                "call_view_function",
                json!({
                    "address": self.targets.usdc,
                    "signature": "balanceOf(address)(uint256)",
                    "args": [self.targets.account]
                }),
            ),
        };
        let tool = self.tools.get(name).ok_or_else(|| format!("no tool {name}"))?;
        let output =
            tool.call(args, ToolContext::new("bench-reads", "call", None, None)).await.map_err(|e| e.to_string())?;
        read.value_of(&output.data)
    }

    async fn alloy(&self, read: Read) -> Result<String, String> {
        let owner: Address = self.targets.account.parse().map_err(|e| format!("{e}"))?;
        match read {
            Read::EthBalance => {
                self.provider.get_balance(owner).await.map(|wei| wei.to_string()).map_err(|e| e.to_string())
            }
            Read::TokenBalance => {
                let usdc: Address = self.targets.usdc.parse().map_err(|e| format!("{e}"))?;
                let call =
                    TransactionRequest::default().to(usdc).input(IERC20::balanceOfCall { owner }.abi_encode().into());
                let output = self.provider.call(call).await.map_err(|e| e.to_string())?;
                let balance = IERC20::balanceOfCall::abi_decode_returns(&output).map_err(|e| e.to_string())?;
                Ok(balance.to_string())
            }
        }
    }

    async fn cast_read(&self, read: Read) -> Result<String, String> {
        let cast = self.cast.as_ref().ok_or("no cast")?;
        let mut command = tokio::process::Command::new(cast);
        match read {
            Read::EthBalance => command.args(["balance", &self.targets.account]),
            Read::TokenBalance => {
                command.args(["call", &self.targets.usdc, "balanceOf(address)(uint256)", &self.targets.account])
            }
        };
        let output = command
            .args(["--rpc-url", &self.targets.rpc_url])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", cast.display()))?;
        if !output.status.success() {
            return Err(format!("cast failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        // `cast call` prints `1000000000000 [1e12]`: the first word is the number.
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout.split_whitespace().next().map(str::to_owned).ok_or_else(|| "cast printed nothing".into())
    }
}

/// The tool output of a command turn and when it arrived; an error when the turn failed or its
/// stream is incomplete.
fn command_result(outcome: &TurnOutcome) -> Result<(Value, Duration), String> {
    if let Some(failure) = &outcome.failure {
        return Err(failure.clone());
    }
    if let Some(error) = outcome.error_parts().first() {
        return Err(format!("error part: {error}"));
    }
    if !outcome.done || !outcome.ends_with_finish() {
        return Err("the stream does not end with finish and [DONE]".into());
    }
    let output = outcome.chunks.iter().find_map(|chunk| match chunk {
        UiChunk::ToolOutputAvailable { output, preliminary: None | Some(false), .. } => Some(output.clone()),
        _ => None,
    });
    let output = output.ok_or("no tool result in the stream")?;
    Ok((output, outcome.first_tool_output.unwrap_or(outcome.total)))
}

/// The reads compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    EthBalance,
    TokenBalance,
}

impl Read {
    fn label(self) -> &'static str {
        match self {
            Read::EthBalance => "ETH balance",
            Read::TokenBalance => "USDC balanceOf",
        }
    }

    /// The number a tool's `data` holds for this read.
    fn value_of(self, data: &Value) -> Result<String, String> {
        let value = match self {
            Read::EthBalance => data.get("wei"),
            Read::TokenBalance => data.pointer("/result/0"),
        };
        match value {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            _ => Err(format!("no value in the tool's output: {data}")),
        }
    }
}

/// How a read is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    /// A direct command sent as a chat message to `aomi serve`.
    CommandTurn,
    /// The aomi tool called in process.
    Tool,
    /// The bare alloy provider call.
    Alloy,
    /// The `cast` binary, a process per read.
    Cast,
}

impl Way {
    /// Every way, in the report's order.
    pub const ALL: [Way; 4] = [Way::CommandTurn, Way::Tool, Way::Alloy, Way::Cast];

    /// A short name.
    pub fn label(self) -> &'static str {
        match self {
            Way::CommandTurn => "aomi command turn",
            Way::Tool => "aomi tool alone",
            Way::Alloy => "alloy",
            Way::Cast => "cast",
        }
    }
}

/// One way's times for one read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WayTimes {
    /// The way.
    pub way: Way,
    /// What it ran.
    pub command: String,
    /// From the start to the value (for a command turn: to the end of its stream).
    pub times: Option<Summary>,
    /// For a command turn: from the request to the tool's result part.
    pub to_result: Option<Summary>,
}

/// One read, timed every way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadComparison {
    /// What was read.
    pub read: String,
    /// The value every way read.
    pub value: String,
    /// The ways, in [`Way::ALL`]'s order.
    pub ways: Vec<WayTimes>,
}

impl ReadComparison {
    /// The times of `way`.
    pub fn way(&self, way: Way) -> Option<&WayTimes> {
        self.ways.iter().find(|w| w.way == way)
    }
}

/// The chain-read comparison of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainReadReport {
    /// Timed reads per way and read.
    pub iterations: usize,
    /// Each read.
    pub reads: Vec<ReadComparison>,
    /// What was left out, and why.
    pub notes: Vec<String>,
}

/// Finds Foundry's `cast`: `AOMI_CAST_BIN`, else as [`aomi_chain::devnet::find_foundry_tool`] does.
pub fn find_cast() -> Option<PathBuf> {
    aomi_chain::devnet::find_foundry_tool("cast", "AOMI_CAST_BIN")
}

/// `0x1234…abcd`.
fn short(address: &str) -> String {
    if address.len() > 12 { format!("{}…{}", &address[..6], &address[address.len() - 4..]) } else { address.into() }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::nth_order;

    #[test]
    fn the_orders_cycle_through_every_permutation() {
        let orders: HashSet<Vec<usize>> = (0..24).map(|n| nth_order(n, 4)).collect();
        assert_eq!(orders.len(), 24, "24 rounds in a row run the four ways in 24 different orders");
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3], "each way once per round: {order:?}");
        }
        assert_eq!(nth_order(24, 4), nth_order(0, 4));
        // Every way follows every other way within a round somewhere in the cycle.
        let mut follows = HashSet::new();
        for order in &orders {
            follows.extend(order.windows(2).map(|pair| (pair[0], pair[1])));
        }
        assert_eq!(follows.len(), 12);
    }
}
