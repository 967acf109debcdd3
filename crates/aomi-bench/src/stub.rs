//! What the stub model answers during a benchmark, and the kinds of turn it is asked for.
//!
//! The script has only persistent rules (no ordered steps), so any number of chats can run at once
//! against one stub: a user message carrying the marker `[tools:N]` gets N parallel
//! `get_current_time` calls, one carrying `[chain:N]` gets N parallel chain reads on the devnet
//! ([`ChainTargets::reads`]), tool results get [`ANSWER`], and any other message gets [`ANSWER`].

use aomi_testkit::{Match, Reply, Script, ScriptedCall, Timing};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The tool the benchmark's tool calls use: it needs no chain and answers at once.
pub const BENCH_TOOL: &str = "get_current_time";

/// The text every turn ends with. Long enough to stream many deltas, so lost parts show.
pub const ANSWER: &str = "Here is the answer you asked for. It has a few sentences, so that it streams as many \
small deltas as a real model's answer would. Every delta must arrive, in order, and the text that reaches you \
must be exactly this one.";

/// What one benchmark turn asks the model for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnKind {
    /// One model call that answers in text.
    Text,
    /// A model call that asks for this many parallel tool calls, then one that answers in text.
    Tools(u8),
    /// A model call that asks for this many parallel chain reads on the devnet (a native balance,
    /// an ERC20 balance, a contract read, a block, the gas price, in turn), then one that answers.
    Chain(u8),
}

impl TurnKind {
    /// The user message of turn `n` of this kind.
    pub fn user_text(self, n: usize) -> String {
        match self {
            TurnKind::Text => format!("Question {n}: tell me something."),
            TurnKind::Tools(calls) => format!("Question {n}: check the time {calls} times. [tools:{calls}]"),
            TurnKind::Chain(calls) => format!("Question {n}: read the chain {calls} times. [chain:{calls}]"),
        }
    }

    /// A short name: `text`, `tools5`.
    pub fn label(self) -> String {
        match self {
            TurnKind::Text => "text".into(),
            TurnKind::Tools(calls) => format!("tools{calls}"),
            TurnKind::Chain(calls) => format!("chain{calls}"),
        }
    }

    /// How many tool calls a turn of this kind makes.
    pub fn tool_calls(self) -> usize {
        match self {
            TurnKind::Text => 0,
            TurnKind::Tools(calls) | TurnKind::Chain(calls) => usize::from(calls),
        }
    }
}

/// What the chain reads of a [`TurnKind::Chain`] turn read: a funded account and the devnet's USDC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTargets {
    /// The devnet's RPC URL.
    pub rpc_url: String,
    /// An account holding ETH and USDC (0x address).
    pub account: String,
    /// The USDC contract (6 decimals).
    pub usdc: String,
}

impl ChainTargets {
    /// The tool calls of a turn with `calls` chain reads: the five reads below, in turn.
    pub fn reads(&self, calls: u8) -> Vec<ScriptedCall> {
        let reads = [
            ScriptedCall::new("get_balance", json!({ "address": self.account })),
            ScriptedCall::new("get_token_balance", json!({ "token": self.usdc, "owner": self.account })),
            ScriptedCall::new(
                "call_view_function",
                json!({ "address": self.usdc, "signature": "totalSupply()(uint256)" }),
            ),
            ScriptedCall::new("get_block", json!({})),
            ScriptedCall::new("get_gas_price", json!({})),
        ];
        reads.into_iter().cycle().take(usize::from(calls)).collect()
    }
}

/// The stub's script for a benchmark: rules for every [`TurnKind`] in `kinds`, paced by `timing`.
/// [`TurnKind::Chain`] turns read `chain` (without it they get no rule and are answered in text,
/// which their check reports as missing tool results).
pub fn bench_script(kinds: &[TurnKind], timing: Timing, chain: Option<&ChainTargets>) -> Script {
    let mut script = Script::new().timing(timing);
    for kind in kinds {
        match (kind, chain) {
            (TurnKind::Tools(calls), _) => {
                let reply = Reply::tool_calls((0..*calls).map(|_| ScriptedCall::new(BENCH_TOOL, json!({}))));
                script = script.rule(Match::LastUserContains(format!("[tools:{calls}]")), reply);
            }
            (TurnKind::Chain(calls), Some(chain)) => {
                script = script
                    .rule(Match::LastUserContains(format!("[chain:{calls}]")), Reply::tool_calls(chain.reads(*calls)));
            }
            _ => {}
        }
    }
    script
        .rule(Match::LastToolResultContains("utc".into()), Reply::text(ANSWER))
        .rule(Match::Always, Reply::text(ANSWER))
}
