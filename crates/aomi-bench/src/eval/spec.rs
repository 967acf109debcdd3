//! The eval scenario file format (TOML).
//!
//! ```toml
//! name = "time-question"                 # defaults to the file's name
//! description = "Asks the time; the model must call the clock and state the time."
//! needs = []                             # ["devnet"]: runs on the devnet `aomi eval` starts
//! app = "default"                        # the app that answers: "default", "batch", "analyst"
//! # guards = { level = "strict", allowed = [] }   # the wallet's spend guards for the scenario (devnet)
//! network = "devnet"                     # the wallet's network, by name (or give wallet.chain_id)
//! wallet = { address = "$ACCOUNT_1" }    # an address, or a devnet symbol (below)
//!
//! [[turns]]
//! user = "What time is it in UTC?"
//! repeat = 1                             # send this turn N times; "{n}" in `user` counts 1..=N
//! # What the scripted stub model answers for this turn, one reply per model call
//! # (the stub's Reply format: { text = "…" }, { tool_calls = { calls = [{ name, arguments }] } }, …).
//! model = [
//!   { tool_calls = { calls = [{ name = "get_current_time" }] } },
//!   { text = "It is 12:00 UTC." },
//! ]
//! wallet_action = "sign"                # what the wallet does with a transaction request: sign | reject
//! [turns.expect]
//! called = [{ tool = "get_current_time", outcome = "ok", output = { "data.utc" = { exists = true } } }]
//! not_called = [{ tool = "send_transaction_to_wallet" }]
//! text_contains = ["UTC"]                # every one, ignoring case
//! text_contains_any = ["12", "noon"]     # at least one, ignoring case
//! text_not_contains = ["I don't know"]
//! text_matches = ['\d{1,2}:\d{2}']       # regular expressions, every one
//! history_messages = 2                   # messages stored in the chat after this turn
//! # With the devnet: balance changes over the turn, after the wallet executed what it prepared.
//! # balance_deltas = [{ account = "wallet", token = "USDC", delta = "-1500000" }]
//! # Events of the transactions the wallet sent in the turn (needs the devnet):
//! # events = [{ event = "Transfer(address,address,uint256)", contract = "$USDC", count = 1 }]
//! # transactions_sent = 0                # how many transactions the wallet sent in the turn
//! # wallet_requests = 0                  # `data-wallet-request` parts in the turn (transactions, batches, signatures)
//! # wallet_request = { "request.review.decoded.spender" = { eq_ignore_case = "$V2_ROUTER" } }
//! # signatures_signed = 1                # signatures the wallet made, each recovering to the wallet (devnet)
//! # guard_blocked = "allow-list"         # a `data-guard` part blocked a request, by this guard
//! # plan = { reads = ["get_balance", "get_token_balance"] }   # the batch app's `data-plan`
//! # tree = { states = ["pruned", "done"], chosen = 1 }        # the explore app's `data-tree`
//! ```
//!
//! `app` names the app that answers every turn (the server's `POST /api/chat` `app`; `batch` plans
//! the reads first and streams a `data-plan` part, `analyst` has no wallet tool). `guards` are the
//! wallet's spend guards (the body of `PUT /api/guards`: `level`, `maxTransactionUsd`,
//! `maxDailyUsd`, `allowed`; addresses literal, not symbols) for the whole scenario: the harness
//! signs in as the wallet, saves them before the first turn and puts the previous ones back after
//! the last. A wallet request the guards block fails its call; `guard_blocked` names the guard.
//!
//! `wallet_request` holds predicates on the data of the turn's `data-wallet-request` parts (at
//! least one part must satisfy all of them): `request.review.decoded.spender`,
//! `request.review.decoded.tokens.0.amount` of a signature request, `request.to` of a
//! transaction. `plan` checks the last `data-plan` part: the reads' tools in the plan's order, each
//! ended `done`, and its wallet action's tool (`action`; none when absent). `tree` checks the last
//! `data-tree` part: each branch's final state in the proposed order, and the chosen branch.
//!
//! An event check names the event by its signature (`Deposit(address,uint256)`; its hash is the
//! first topic), optionally the `contract` that must emit it, and optionally an exact `count`
//! (default: at least one). `transactions_sent` counts every transaction the wallet sent in the
//! turn, a batch's calls each.
//!
//! A tool check's `args` maps an argument (a dotted path into the arguments: `to`, `args.1`) to a
//! predicate: `{ eq = <any value> }`, `{ eq_ignore_case = "0xAbC…" }`, `{ contains = "…" }`,
//! `{ matches = "regex" }`, `{ exists = true }`, `{ one_of = [...] }`. `output` does the same on
//! the call's output (a server tool's is `{ data, summary }`; the wallet's answer to
//! `send_transaction_to_wallet` is `{ transactionHash, chainId, status, blockNumber }`), and
//! `error` is a predicate on a failed call's error text.
//!
//! On the devnet, `$USDC`, `$DAI`, `$WETH`, `$ORDER_BOOK`, `$REVERTER` (the contracts),
//! `$ACCOUNT_0` … `$ACCOUNT_9` (anvil's unlocked dev accounts; 0 to 4 hold 1,000,000 USDC and DAI)
//! and `$WALLET` (the turn's wallet address) are replaced by their addresses everywhere in a
//! scenario: messages, the scripted replies' arguments, the checks ([`crate::eval::symbols`]).
//! A balance change names its `account` (`wallet` or an address), its `token` (`ETH`, `USDC`,
//! `DAI`, `WETH` or a token address), optionally its `network` (default: the turn's) and
//! `ignore_gas = true` to add back the gas the account paid for the transactions the wallet sent
//! in the turn.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aomi_core::WalletContext;
use aomi_testkit::{Reply, Script};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use aomi_tools::guard::{GuardName, GuardSettings};

use crate::Error;

/// What the stub answers once a scenario's scripted replies ran out: a visible failure.
pub const SCRIPT_EXHAUSTED: &str = "the eval scenario's scripted model replies ran out";

/// Something a scenario needs beyond an aomi server and a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// A local chain (anvil) with aomi's contracts, as `aomi devnet` starts it (and a second one,
    /// `devnet-b`, for network switches).
    Devnet,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Devnet => f.write_str("the devnet"),
        }
    }
}

/// The wallet of a scenario or a turn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletSpec {
    /// The connected address.
    #[serde(default)]
    pub address: Option<String>,
    /// The chain id; when absent, the network's.
    #[serde(default)]
    pub chain_id: Option<u64>,
}

/// One eval scenario, as read from its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name; the file's name when the file gives none.
    #[serde(default)]
    pub name: String,
    /// What it tests and why.
    #[serde(default)]
    pub description: String,
    /// What it needs to run.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// The wallet's network by name (`devnet`, `mainnet`, `sepolia`, `base`).
    #[serde(default)]
    pub network: Option<String>,
    /// The wallet.
    #[serde(default)]
    pub wallet: Option<WalletSpec>,
    /// The app that answers every turn (`default` when absent): `batch`, `analyst`, …
    #[serde(default)]
    pub app: Option<String>,
    /// The wallet's spend guards during the scenario (needs the devnet: the harness signs in as
    /// the wallet to save them).
    #[serde(default)]
    pub guards: Option<GuardSettings>,
    /// The turns, in order.
    pub turns: Vec<Turn>,
    /// The file it came from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// One user turn and what must hold after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// The user's message; `{n}` is replaced by the repetition number.
    pub user: String,
    /// How many times the turn is sent, one after the other.
    #[serde(default = "one")]
    pub repeat: usize,
    /// A network switch: the wallet is on this network from this turn on.
    #[serde(default)]
    pub network: Option<String>,
    /// A wallet change from this turn on.
    #[serde(default)]
    pub wallet: Option<WalletSpec>,
    /// The scripted model's replies for this turn (each repetition), one per model call.
    #[serde(default)]
    pub model: Vec<Reply>,
    /// What the wallet does with the transactions the turn asks it to send.
    #[serde(default)]
    pub wallet_action: WalletAction,
    /// The checks.
    #[serde(default)]
    pub expect: Expect,
}

fn one() -> usize {
    1
}

/// What the wallet (played by the harness) does with a transaction request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletAction {
    /// Signs and sends it, waits for the receipt and returns the outcome.
    #[default]
    Sign,
    /// Rejects it, as a person pressing "reject" would.
    Reject,
}

/// What must hold after a turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Tools that must be called (each by at least one call matching it).
    #[serde(default)]
    pub called: Vec<ToolCheck>,
    /// Tools that must not be called (no call may match).
    #[serde(default)]
    pub not_called: Vec<ToolCheck>,
    /// Text the answer must contain, every one, ignoring case.
    #[serde(default)]
    pub text_contains: Vec<String>,
    /// Text of which the answer must contain at least one, ignoring case.
    #[serde(default)]
    pub text_contains_any: Vec<String>,
    /// Text the answer must not contain, ignoring case.
    #[serde(default)]
    pub text_not_contains: Vec<String>,
    /// Regular expressions the answer must match, every one.
    #[serde(default)]
    pub text_matches: Vec<String>,
    /// Messages the chat must have stored after the turn.
    #[serde(default)]
    pub history_messages: Option<usize>,
    /// Balance changes after the wallet executed the turn's transactions (needs the devnet).
    #[serde(default)]
    pub balance_deltas: Vec<BalanceDelta>,
    /// Events the turn's transactions must have emitted (needs the devnet).
    #[serde(default)]
    pub events: Vec<EventCheck>,
    /// How many transactions the wallet must have sent in the turn (0: nothing was sent).
    #[serde(default)]
    pub transactions_sent: Option<usize>,
    /// How many `data-wallet-request` parts the turn must have streamed (0: the wallet was never
    /// asked).
    #[serde(default)]
    pub wallet_requests: Option<usize>,
    /// Predicates on a `data-wallet-request` part's data, by dotted path; one part must satisfy all.
    #[serde(default)]
    pub wallet_request: BTreeMap<String, Predicate>,
    /// How many signatures the wallet must have made in the turn, each recovering to the wallet's
    /// address from the review's signing hash (needs the devnet).
    #[serde(default)]
    pub signatures_signed: Option<usize>,
    /// The guard that must have blocked a wallet request of the turn (a `data-guard` part with
    /// decision `blocked` and a finding of this guard).
    #[serde(default)]
    pub guard_blocked: Option<GuardName>,
    /// The batch app's plan (the last `data-plan` part of the turn).
    #[serde(default)]
    pub plan: Option<PlanCheck>,
    /// The explore app's tree (the last `data-tree` part of the turn).
    #[serde(default)]
    pub tree: Option<TreeCheck>,
}

/// What the batch app's plan must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCheck {
    /// The reads' tools, in the plan's order; every one must have ended `done`.
    pub reads: Vec<String>,
    /// The wallet action's tool; the plan must have none when absent.
    #[serde(default)]
    pub action: Option<String>,
}

impl fmt::Display for PlanCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the plan reads [{}], each done, and ", self.reads.join(", "))?;
        match &self.action {
            Some(action) => write!(f, "prepares {action}"),
            None => f.write_str("prepares no wallet action"),
        }
    }
}

/// What the explore app's tree must end as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeCheck {
    /// Each branch's last state (`done`, `failed`, `pruned`), in the order the model proposed them.
    pub states: Vec<String>,
    /// The branch the answer was built from (its index).
    pub chosen: usize,
}

impl fmt::Display for TreeCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the tree's branches end [{}] and branch {} is chosen", self.states.join(", "), self.chosen)
    }
}

/// An event the transactions the wallet sent in a turn must have emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCheck {
    /// The event's signature: `Transfer(address,address,uint256)`.
    pub event: String,
    /// The contract that must emit it (an address or a devnet symbol); any contract when absent.
    #[serde(default)]
    pub contract: Option<String>,
    /// Exactly this many; at least one when absent.
    #[serde(default)]
    pub count: Option<usize>,
}

impl EventCheck {
    /// The check, described: `1 Transfer(address,address,uint256) event from 0x…`.
    pub fn describe(&self) -> String {
        let count = self.count.map_or_else(|| "at least one".to_owned(), |n| n.to_string());
        let from = self.contract.as_ref().map(|c| format!(" from {c}")).unwrap_or_default();
        format!("{count} {} event{from}", self.event)
    }
}

/// A check on the tool calls of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCheck {
    /// The tool's name.
    pub tool: String,
    /// Predicates on its arguments, by dotted path.
    #[serde(default)]
    pub args: BTreeMap<String, Predicate>,
    /// How the call must have ended.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Predicates on its output, by dotted path.
    #[serde(default)]
    pub output: BTreeMap<String, Predicate>,
    /// A predicate on its error text (the call must have failed).
    #[serde(default)]
    pub error: Option<Predicate>,
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It returned a result.
    Ok,
    /// It failed (the model must explain the error).
    Error,
}

/// A condition on one argument value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// Equal, as JSON.
    Eq(Value),
    /// A string equal to this one ignoring case (addresses).
    EqIgnoreCase(String),
    /// A string containing this one.
    Contains(String),
    /// A string matching this regular expression.
    Matches(String),
    /// Present (`true`) or absent (`false`).
    Exists(bool),
    /// Equal to one of these.
    OneOf(Vec<Value>),
}

/// An expected balance change over a turn (exact integer in the token's base units, signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceDelta {
    /// `wallet`, or an address.
    pub account: String,
    /// `ETH`, a token symbol of the devnet's contracts (`USDC`, `DAI`, `WETH`), or a token address.
    pub token: String,
    /// The change, in base units: `-1500000`.
    pub delta: String,
    /// The network to read it on; default: the turn's wallet network.
    #[serde(default)]
    pub network: Option<String>,
    /// Adds back the gas the account paid for the transactions the wallet sent in the turn, so that
    /// a native balance change can be exact.
    #[serde(default)]
    pub ignore_gas: bool,
}

impl BalanceDelta {
    /// The check, described: `the USDC balance of wallet changes by -1500000`.
    pub fn describe(&self, account: &str) -> String {
        let gas = if self.ignore_gas { " (gas added back)" } else { "" };
        let network = self.network.as_ref().map(|n| format!(" on {n}")).unwrap_or_default();
        format!("the {} balance of {account}{network} changes by {}{gas}", self.token, self.delta)
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Eq(value) => write!(f, "= {value}"),
            Predicate::EqIgnoreCase(text) => write!(f, "= \"{text}\" (ignoring case)"),
            Predicate::Contains(text) => write!(f, "contains \"{text}\""),
            Predicate::Matches(regex) => write!(f, "matches /{regex}/"),
            Predicate::Exists(true) => f.write_str("is present"),
            Predicate::Exists(false) => f.write_str("is absent"),
            Predicate::OneOf(values) => {
                let values: Vec<String> = values.iter().map(Value::to_string).collect();
                write!(f, "is one of [{}]", values.join(", "))
            }
        }
    }
}

impl fmt::Display for ToolCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tool)?;
        let args: Vec<String> = self.args.iter().map(|(path, predicate)| format!("{path} {predicate}")).collect();
        if !args.is_empty() {
            write!(f, " with {}", args.join(" and "))?;
        }
        let output: Vec<String> =
            self.output.iter().map(|(path, predicate)| format!("output {path} {predicate}")).collect();
        if !output.is_empty() {
            write!(f, "{} {}", if args.is_empty() { " with" } else { " and" }, output.join(" and "))?;
        }
        match self.outcome {
            Some(Outcome::Ok) => f.write_str(", succeeding")?,
            Some(Outcome::Error) => f.write_str(", failing")?,
            None => {}
        }
        match &self.error {
            Some(predicate) => write!(f, ", error text {predicate}"),
            None => Ok(()),
        }
    }
}

/// The name of the second devnet, the other side of a network switch.
pub const DEVNET_B: &str = "devnet-b";
/// The chain id of the devnet.
pub const DEVNET_CHAIN_ID: u64 = 31_337;
/// The chain id of the second devnet.
pub const DEVNET_B_CHAIN_ID: u64 = 31_338;

/// The chain id of a network name; `None` for a name aomi does not know.
pub fn chain_id_of(network: &str) -> Option<u64> {
    match network.to_ascii_lowercase().as_str() {
        "mainnet" | "ethereum" => Some(1),
        "sepolia" => Some(11_155_111),
        "base" => Some(8453),
        "devnet" | "anvil" => Some(DEVNET_CHAIN_ID),
        DEVNET_B => Some(DEVNET_B_CHAIN_ID),
        _ => None,
    }
}

/// True for the chain ids of the devnets `aomi eval` runs.
pub fn is_devnet(chain_id: u64) -> bool {
    chain_id == DEVNET_CHAIN_ID || chain_id == DEVNET_B_CHAIN_ID
}

impl Scenario {
    /// Parses a scenario from TOML; `file` names it in errors and gives its default name.
    pub fn from_toml(text: &str, file: &Path) -> Result<Scenario, Error> {
        let mut scenario: Scenario =
            toml::from_str(text).map_err(|e| Error::Scenario(format!("{}: {e}", file.display())))?;
        scenario.file = file.to_owned();
        if scenario.name.is_empty() {
            scenario.name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        }
        scenario.validate().map_err(|why| Error::Scenario(format!("{}: {why}", file.display())))?;
        Ok(scenario)
    }

    /// Reads one scenario file.
    pub fn load(file: &Path) -> Result<Scenario, Error> {
        let text =
            std::fs::read_to_string(file).map_err(|e| Error::Io(format!("cannot read {}: {e}", file.display())))?;
        Scenario::from_toml(&text, file)
    }

    /// Reads the scenarios of `paths`: files as they are, folders' `*.toml` files in name order.
    pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, Error> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let entries =
                    std::fs::read_dir(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        let scenarios = files.iter().map(|file| Scenario::load(file)).collect::<Result<Vec<_>, _>>()?;
        if scenarios.is_empty() {
            return Err(Error::Scenario("no scenario files found".into()));
        }
        Ok(scenarios)
    }

    fn validate(&self) -> Result<(), String> {
        if self.turns.is_empty() {
            return Err("a scenario needs at least one [[turns]]".into());
        }
        let deltas = self.turns.iter().flat_map(|t| &t.expect.balance_deltas);
        let networks = self.turns.iter().filter_map(|t| t.network.as_ref()).chain(&self.network);
        for network in networks.chain(deltas.filter_map(|d| d.network.as_ref())) {
            if chain_id_of(network).is_none() {
                return Err(format!(
                    "unknown network \"{network}\"; known: mainnet, sepolia, base, devnet, {DEVNET_B}"
                ));
            }
        }
        let on_devnet = self.needs.contains(&Need::Devnet);
        if self.app.as_deref().is_some_and(|app| app.trim().is_empty()) {
            return Err("app must name an app (\"default\", \"batch\", \"analyst\"), not be empty".into());
        }
        if let Some(guards) = &self.guards {
            if !on_devnet {
                return Err(
                    "guards need the devnet (the harness signs in as the wallet); add needs = [\"devnet\"]".into()
                );
            }
            if self.wallet.as_ref().and_then(|w| w.address.as_ref()).is_none() {
                return Err("guards need the scenario's wallet address (wallet = { address = … })".into());
            }
            guards.clone().validated(aomi_tools::guard::DEFAULT_MAX_ALLOWED).map_err(|why| format!("guards: {why}"))?;
        }
        if !on_devnet && self.chain_ids().into_iter().any(|id| id == DEVNET_B_CHAIN_ID) {
            return Err(format!("{DEVNET_B} is one of the devnets; add needs = [\"devnet\"]"));
        }
        crate::eval::symbols::validate(self, on_devnet)?;
        for (index, turn) in self.turns.iter().enumerate() {
            let at = || format!("turn {}", index + 1);
            if turn.repeat == 0 {
                return Err(format!("{}: repeat must be at least 1", at()));
            }
            if !turn.expect.balance_deltas.is_empty() && !self.needs.contains(&Need::Devnet) {
                return Err(format!("{}: balance_deltas need the devnet; add needs = [\"devnet\"]", at()));
            }
            if turn.expect.signatures_signed.is_some() && !on_devnet {
                return Err(format!("{}: signatures_signed needs the devnet; add needs = [\"devnet\"]", at()));
            }
            if !turn.expect.events.is_empty() && !self.needs.contains(&Need::Devnet) {
                return Err(format!("{}: events need the devnet; add needs = [\"devnet\"]", at()));
            }
            for event in &turn.expect.events {
                let e = event.event.trim();
                if !(e.contains('(') && e.ends_with(')')) || e.starts_with('(') {
                    return Err(format!(
                        "{}: event \"{}\" is not a signature like Transfer(address,address,uint256)",
                        at(),
                        event.event
                    ));
                }
            }
            for delta in &turn.expect.balance_deltas {
                let digits = delta.delta.strip_prefix('-').unwrap_or(&delta.delta);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{}: delta \"{}\" is not an integer in base units", at(), delta.delta));
                }
            }
            let regexes = turn.expect.text_matches.iter().chain(
                turn.expect
                    .called
                    .iter()
                    .chain(&turn.expect.not_called)
                    .flat_map(|c| c.args.values().chain(c.output.values()).chain(&c.error))
                    .chain(turn.expect.wallet_request.values())
                    .filter_map(|p| match p {
                        Predicate::Matches(regex) => Some(regex),
                        _ => None,
                    }),
            );
            for regex in regexes {
                regex::Regex::new(regex).map_err(|e| format!("{}: invalid regular expression /{regex}/: {e}", at()))?;
            }
        }
        Ok(())
    }

    /// The chain ids the scenario's wallets, networks and balance checks name.
    pub fn chain_ids(&self) -> std::collections::BTreeSet<u64> {
        let mut ids: std::collections::BTreeSet<u64> =
            self.expanded_turns().iter().filter_map(|t| t.2.as_ref().map(|w| w.chain_id)).collect();
        let deltas = self.turns.iter().flat_map(|t| &t.expect.balance_deltas);
        ids.extend(deltas.filter_map(|d| d.network.as_deref().and_then(chain_id_of)));
        ids
    }

    /// The turns as sent: each repeated as it says, `{n}` filled in, with the wallet each is sent in.
    pub fn expanded_turns(&self) -> Vec<(usize, String, Option<WalletContext>, &Turn)> {
        let mut wallet = self.wallet.clone().unwrap_or_default();
        let mut network = self.network.clone();
        let mut turns = Vec::new();
        for turn in &self.turns {
            if let Some(change) = &turn.wallet {
                wallet = change.clone();
            }
            if turn.network.is_some() {
                network = turn.network.clone();
                if turn.wallet.as_ref().is_none_or(|w| w.chain_id.is_none()) {
                    wallet.chain_id = None;
                }
            }
            let chain_id = wallet.chain_id.or_else(|| network.as_deref().and_then(chain_id_of));
            // resolve() has checked that the address (its symbols replaced) is one.
            let address = wallet.address.as_deref().and_then(|a| a.parse().ok());
            let context = chain_id.map(|chain_id| WalletContext { address, chain_id });
            for n in 1..=turn.repeat {
                let number = turns.len() + 1;
                turns.push((number, turn.user.replace("{n}", &n.to_string()), context.clone(), turn));
            }
        }
        turns
    }

    /// The stub model's script for the scripted mode: every turn's replies, in order.
    pub fn script(&self) -> Script {
        let mut script = Script::new().fallback(Reply::error(500, SCRIPT_EXHAUSTED));
        for turn in &self.turns {
            for _ in 0..turn.repeat {
                for reply in &turn.model {
                    script = script.then(reply.clone());
                }
            }
        }
        script
    }

    /// True when every turn has scripted replies (the scripted mode needs them).
    pub fn is_scripted(&self) -> bool {
        self.turns.iter().all(|turn| !turn.model.is_empty())
    }
}
