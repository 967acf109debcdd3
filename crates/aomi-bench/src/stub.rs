//! What the stub model answers during a benchmark, and the kinds of turn it is asked for.
//!
//! The script has only persistent rules (no ordered steps), so any number of chats can run at once
//! against one stub: a user message carrying the marker `[tools:N]` gets N parallel
//! `get_current_time` calls, tool results get [`ANSWER`], and any other message gets [`ANSWER`].

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
}

impl TurnKind {
    /// The user message of turn `n` of this kind.
    pub fn user_text(self, n: usize) -> String {
        match self {
            TurnKind::Text => format!("Question {n}: tell me something."),
            TurnKind::Tools(calls) => format!("Question {n}: check the time {calls} times. [tools:{calls}]"),
        }
    }

    /// A short name: `text`, `tools5`.
    pub fn label(self) -> String {
        match self {
            TurnKind::Text => "text".into(),
            TurnKind::Tools(calls) => format!("tools{calls}"),
        }
    }

    /// How many tool calls a turn of this kind makes.
    pub fn tool_calls(self) -> usize {
        match self {
            TurnKind::Text => 0,
            TurnKind::Tools(calls) => usize::from(calls),
        }
    }
}

/// The stub's script for a benchmark: rules for every [`TurnKind`] in `kinds`, paced by `timing`.
pub fn bench_script(kinds: &[TurnKind], timing: Timing) -> Script {
    let mut script = Script::new().timing(timing);
    for kind in kinds {
        if let TurnKind::Tools(calls) = kind {
            let calls = (0..*calls).map(|_| ScriptedCall::new(BENCH_TOOL, json!({})));
            script = script
                .rule(Match::LastUserContains(format!("[tools:{}]", kind.tool_calls())), Reply::tool_calls(calls));
        }
    }
    script
        .rule(Match::LastToolResultContains("utc".into()), Reply::text(ANSWER))
        .rule(Match::Always, Reply::text(ANSWER))
}
