//! The benchmark's scenarios and their sizes: conversation length, concurrency, tool-heavy turns,
//! and one chain read timed through aomi, alloy and `cast`.

use std::time::Duration;

use aomi_testkit::Timing;
use serde::{Deserialize, Serialize};

use crate::stub::TurnKind;

/// The stub model's pace, as it is recorded in a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StubPace {
    /// Time to first token, in milliseconds.
    pub ttft_ms: u64,
    /// Tokens streamed per second after the first.
    pub tokens_per_second: f64,
    /// Characters per token.
    pub chars_per_token: usize,
}

impl StubPace {
    /// The stub's [`Timing`].
    pub fn timing(&self) -> Timing {
        Timing::new()
            .with_ttft(Duration::from_millis(self.ttft_ms))
            .with_tokens_per_second(self.tokens_per_second)
            .with_chars_per_token(self.chars_per_token)
    }
}

/// The same turn at growing positions of one chat: does a long history slow a turn down?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationLength {
    /// The turn numbers shown in the report's table (the chats run to the largest; every turn is
    /// measured and plotted).
    pub turns: Vec<usize>,
    /// How many chats run one after the other; each turn number's figures are over all of them.
    pub chats: usize,
    /// What each turn asks for (tool calls put tool parts in the history).
    pub kind: TurnKind,
}

/// Many users at once, each running several turns in their own chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concurrency {
    /// The numbers of simultaneous users, one run each.
    pub users: Vec<usize>,
    /// Turns each user runs, one after the other.
    pub turns_per_user: usize,
    /// What each turn asks for.
    pub kind: TurnKind,
}

/// Turns whose model call asks for several tools at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolHeavy {
    /// Parallel tool calls per turn.
    pub calls: u8,
    /// Simultaneous users.
    pub users: usize,
    /// Turns each user runs.
    pub turns_per_user: usize,
    /// True: the calls are chain reads on the devnet ([`TurnKind::Chain`]); false: clock calls
    /// ([`TurnKind::Tools`]), as when no anvil is installed.
    #[serde(default)]
    pub chain: bool,
}

impl ToolHeavy {
    /// What each turn asks for.
    pub fn kind(&self) -> TurnKind {
        if self.chain { TurnKind::Chain(self.calls) } else { TurnKind::Tools(self.calls) }
    }
}

/// One chain read timed several ways in the same run: through aomi, with alloy alone, with the
/// `cast` binary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainReads {
    /// Timed reads per way and per read (after a few untimed ones).
    pub iterations: usize,
}

/// Everything a benchmark run does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The stub model's pace.
    pub stub: StubPace,
    /// The conversation-length scenario.
    pub conversation: ConversationLength,
    /// The concurrency scenario.
    pub concurrency: Concurrency,
    /// The tool-heavy scenario.
    pub tool_heavy: ToolHeavy,
    /// The chain-read comparison (needs the devnet).
    #[serde(default)]
    pub chain_reads: Option<ChainReads>,
}

impl BenchConfig {
    /// A run of well under two minutes on two cores, for CI's smoke run and quick checks.
    pub fn quick() -> Self {
        BenchConfig {
            stub: StubPace { ttft_ms: 20, tokens_per_second: 500.0, chars_per_token: 4 },
            conversation: ConversationLength { turns: vec![1, 10, 50], chats: 1, kind: TurnKind::Tools(1) },
            concurrency: Concurrency { users: vec![1, 10, 100], turns_per_user: 2, kind: TurnKind::Text },
            tool_heavy: ToolHeavy { calls: 5, users: 10, turns_per_user: 2, chain: true },
            chain_reads: Some(ChainReads { iterations: 20 }),
        }
    }

    /// The run whose figures docs/benchmarks.md records.
    pub fn full() -> Self {
        BenchConfig {
            stub: StubPace { ttft_ms: 100, tokens_per_second: 200.0, chars_per_token: 4 },
            conversation: ConversationLength { turns: vec![1, 10, 50], chats: 3, kind: TurnKind::Tools(1) },
            concurrency: Concurrency { users: vec![1, 10, 50, 100], turns_per_user: 10, kind: TurnKind::Text },
            tool_heavy: ToolHeavy { calls: 5, users: 10, turns_per_user: 10, chain: true },
            chain_reads: Some(ChainReads { iterations: 200 }),
        }
    }

    /// The longest chat of the conversation-length scenario.
    pub fn conversation_turns(&self) -> usize {
        self.conversation.turns.iter().copied().max().unwrap_or(0)
    }

    /// How many turns the run makes, through aomi and directly (and the loads through a relay when
    /// `relay` is true), plus the chain-read comparison's rounds: the progress bar's length.
    pub fn total_turns(&self, relay: bool) -> u64 {
        let conversation = self.conversation.chats * self.conversation_turns();
        let concurrency: usize = self.concurrency.users.iter().map(|u| u * self.concurrency.turns_per_user).sum();
        let tool_heavy = self.tool_heavy.users * self.tool_heavy.turns_per_user;
        let reads = self.chain_reads.as_ref().map_or(0, |r| r.iterations);
        let load_passes = if relay { 3 } else { 2 };
        (2 * conversation + load_passes * (concurrency + tool_heavy) + reads) as u64
    }

    /// The kinds of turn the run asks the stub for.
    pub fn kinds(&self) -> Vec<TurnKind> {
        vec![self.conversation.kind, self.concurrency.kind, self.tool_heavy.kind()]
    }

    /// This run without the devnet: clock calls for the tool-heavy turns, no chain-read comparison.
    pub fn without_chain(mut self) -> Self {
        self.tool_heavy.chain = false;
        self.chain_reads = None;
        self
    }
}
