//! A benchmark's results: the JSON kept for regression comparison, and the Markdown shown to people.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chain::{ChainReadReport, Way};
use crate::scenario::BenchConfig;
use crate::stats::Summary;
use crate::stub::TurnKind;

/// The version of the JSON shape; a baseline of another version is refused.
pub const REPORT_VERSION: u32 = 1;

/// What machine a run was on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to the run.
    pub cores: usize,
    /// The processor's model name.
    pub cpu: String,
    /// The operating system and architecture.
    pub os: String,
    /// The load average (1, 5, 15 minutes) when the run started: other work on the machine skews
    /// the figures.
    #[serde(default)]
    pub load_average: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, name)| name.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cores: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
            cpu,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    }
}

/// Durations collected for one set of turns.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Times to the first part.
    pub first_part: Vec<Duration>,
    /// Times to the first model output.
    pub first_token: Vec<Duration>,
    /// Times to the first text.
    pub first_text: Vec<Duration>,
    /// Times to the end of the turn.
    pub full_turn: Vec<Duration>,
    /// Turns' time in tools (first tool input to last tool output), for turns with tool calls.
    pub tools: Vec<Duration>,
    /// Each tool call's time (its input to its output).
    pub tool_call: Vec<Duration>,
}

impl Samples {
    /// Adds one turn's times.
    pub fn add(
        &mut self,
        first_part: Option<Duration>,
        first_token: Option<Duration>,
        first_text: Option<Duration>,
        total: Duration,
    ) {
        self.first_part.extend(first_part);
        self.first_token.extend(first_token);
        self.first_text.extend(first_text);
        self.full_turn.push(total);
    }

    /// Adds one turn's tool times: its span and each call.
    pub fn add_tools(&mut self, span: Option<Duration>, calls: &[Duration]) {
        self.tools.extend(span);
        self.tool_call.extend_from_slice(calls);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: Samples) {
        self.first_part.extend(other.first_part);
        self.first_token.extend(other.first_token);
        self.first_text.extend(other.first_text);
        self.full_turn.extend(other.full_turn);
        self.tools.extend(other.tools);
        self.tool_call.extend(other.tool_call);
    }
}

/// Latency summaries of one set of turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    /// Time to the first part (through aomi: `start`; directly: the first chunk).
    pub first_part: Option<Summary>,
    /// Time to the first model output (a text delta or a tool call).
    pub first_token: Option<Summary>,
    /// Time to the first text delta.
    pub first_text: Option<Summary>,
    /// Time to the end of the turn.
    pub full_turn: Option<Summary>,
    /// A turn's time in tools, through aomi: from the first `tool-input-available` part to the
    /// last tool output, as the client sees them (the tools run in parallel).
    #[serde(default)]
    pub tools: Option<Summary>,
    /// One tool call's time, through aomi: its `tool-input-available` part to its output.
    #[serde(default)]
    pub tool_call: Option<Summary>,
}

impl From<&Samples> for Latencies {
    fn from(samples: &Samples) -> Self {
        Latencies {
            first_part: Summary::of(&samples.first_part),
            first_token: Summary::of(&samples.first_token),
            first_text: Summary::of(&samples.first_text),
            full_turn: Summary::of(&samples.full_turn),
            tools: Summary::of(&samples.tools),
            tool_call: Summary::of(&samples.tool_call),
        }
    }
}

/// One turn number of the conversation-length scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnPoint {
    /// The turn's position in its chat, from 1.
    pub turn: usize,
    /// Through aomi.
    pub aomi: Latencies,
    /// The stub called directly with the same history.
    pub direct: Latencies,
}

/// The server's memory during one load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Resident memory before the load, in bytes.
    pub before_bytes: u64,
    /// The highest resident memory seen during the load.
    pub peak_bytes: u64,
    /// Resident memory after the load.
    pub after_bytes: u64,
    /// (peak − before) / sessions: memory per session while they run.
    pub per_session_active_bytes: u64,
    /// (after − before) / sessions: memory a session keeps once its turns ended.
    pub per_session_retained_bytes: u64,
}

/// One load: some users at once, each running turns in their own chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPoint {
    /// Simultaneous users (one chat each).
    pub users: usize,
    /// Turns each user ran.
    pub turns_per_user: usize,
    /// What each turn asked for.
    pub kind: TurnKind,
    /// Through aomi.
    pub aomi: Latencies,
    /// The stub called directly.
    pub direct: Latencies,
    /// Turns per second through aomi (all users' turns over the load's wall time).
    pub aomi_turns_per_second: f64,
    /// Turns per second directly.
    pub direct_turns_per_second: f64,
    /// The server's memory, when its process is known.
    pub memory: Option<Memory>,
    /// The server's CPU time (user + system) per turn through aomi, in ms, when its process is known.
    #[serde(default)]
    pub server_cpu_ms_per_turn: Option<f64>,
    /// The same model calls through a bare relay of the stream ([`crate::relay`]), when one ran.
    #[serde(default)]
    pub relay: Option<RelayPoint>,
}

impl LoadPoint {
    /// The server's CPU per turn over the relay's: how many times the least a server in the
    /// stream's path costs, aomi costs.
    pub fn cpu_over_relay(&self) -> Option<f64> {
        let relay = self.relay.as_ref()?.cpu_ms_per_turn.filter(|ms| *ms > 0.0)?;
        Some(self.server_cpu_ms_per_turn? / relay)
    }
}

/// A load's model calls made through the bare relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayPoint {
    /// Their timings.
    pub latencies: Latencies,
    /// Turns per second through the relay.
    pub turns_per_second: f64,
    /// The relay's CPU time (user + system) per turn, in ms, when its process is known.
    pub cpu_ms_per_turn: Option<f64>,
}

/// Whether every turn arrived whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    /// Turns checked (through aomi and directly).
    pub turns: usize,
    /// Turns that failed: no connection, an HTTP error, an `error` part, a finish that is not `stop`.
    pub errors: usize,
    /// Parts that did not arrive: a missing `finish` or `[DONE]`, text that differs from the script,
    /// a tool result or stored message that is missing.
    pub lost_parts: usize,
    /// The first problems, described.
    pub problems: Vec<String>,
}

/// How many problems an [`Integrity`] keeps described.
pub const MAX_PROBLEMS: usize = 20;

impl Integrity {
    /// Records one turn and its problems.
    pub fn record(&mut self, label: &str, problems: Vec<Problem>) {
        self.turns += 1;
        for problem in problems {
            let text = match &problem {
                Problem::Error(text) => {
                    self.errors += 1;
                    format!("{label}: error: {text}")
                }
                Problem::Lost(text) => {
                    self.lost_parts += 1;
                    format!("{label}: lost: {text}")
                }
            };
            if self.problems.len() < MAX_PROBLEMS {
                self.problems.push(text);
            }
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Integrity) {
        self.turns += other.turns;
        self.errors += other.errors;
        self.lost_parts += other.lost_parts;
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(other.problems.into_iter().take(room));
    }

    /// True when nothing failed and nothing was lost.
    pub fn is_clean(&self) -> bool {
        self.errors == 0 && self.lost_parts == 0
    }
}

/// Something wrong with one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The turn failed.
    Error(String),
    /// A part did not arrive.
    Lost(String),
}

/// A whole benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// How long it took, in seconds.
    pub elapsed_secs: f64,
    /// The machine.
    pub machine: Machine,
    /// The command that produced it.
    pub command: String,
    /// The server's build profile or version, as the caller describes it.
    pub server: String,
    /// What the run did.
    pub config: BenchConfig,
    /// The server's resident memory once warmed up, before the scenarios, in bytes.
    pub idle_rss_bytes: Option<u64>,
    /// Conversation length: every turn number.
    pub conversation: Vec<TurnPoint>,
    /// Concurrency: one point per number of users.
    pub concurrency: Vec<LoadPoint>,
    /// Tool-heavy turns.
    pub tool_heavy: Option<LoadPoint>,
    /// One chain read through aomi, alloy and `cast`, when the run had a devnet.
    #[serde(default)]
    pub chain_reads: Option<ChainReadReport>,
    /// Errors and lost parts over the whole run.
    pub integrity: Integrity,
}

/// `aomi / direct`, when both exist and the divisor is not zero.
pub fn ratio(aomi: Option<Summary>, direct: Option<Summary>, pick: fn(&Summary) -> f64) -> Option<f64> {
    let (aomi, direct) = (pick(&aomi?), pick(&direct?));
    (direct > 0.0).then(|| aomi / direct)
}

fn ms(summary: Option<Summary>, pick: fn(&Summary) -> f64) -> String {
    summary.map(|s| format!("{:.1}", pick(&s))).unwrap_or_else(|| "–".into())
}

fn times(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}×")).unwrap_or_else(|| "–".into())
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Bytes as KiB with one decimal.
pub fn kib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

fn p50(s: &Summary) -> f64 {
    s.p50_ms
}

impl BenchReport {
    /// The report as Markdown: what ran, then one table per scenario.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let stub = &self.config.stub;
        let _ = writeln!(out, "# aomi bench\n");
        let _ = writeln!(
            out,
            "- command: `{}`\n- machine: {} cores, {}, {}, load average {} at the start\n- server: {}\n- started: {} ({:.0} s)\n- stub model: \
             time to first token {} ms, {} tokens/s, {} characters per token",
            self.command,
            self.machine.cores,
            self.machine.cpu,
            self.machine.os,
            self.machine.load_average,
            self.server,
            self.started_at,
            self.elapsed_secs,
            stub.ttft_ms,
            stub.tokens_per_second,
            stub.chars_per_token
        );
        if let Some(idle) = self.idle_rss_bytes {
            let _ = writeln!(out, "- server RSS after warm-up: {} MiB", mib(idle));
        }
        let i = &self.integrity;
        let _ = writeln!(out, "- turns checked: {}, errors: {}, lost parts: {}\n", i.turns, i.errors, i.lost_parts);
        out.push_str(&self.headlines());
        let _ = writeln!(
            out,
            "Times in ms, from sending the request. \"aomi\" goes through `aomi serve` (HTTP, agent loop, \
             tools, history); \"direct\" makes the same model calls to the stub without aomi. Ratio = aomi / direct.\n"
        );

        let _ = writeln!(
            out,
            "## Conversation length ({} chat(s), {} turns)\n",
            self.config.conversation.chats,
            describe(self.config.conversation.kind)
        );
        let _ = writeln!(
            out,
            "| turn | first part | first token aomi | first token direct | ratio | first text aomi | first text direct | ratio | full turn aomi p50 | full turn direct p50 | overhead ms |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for point in self.conversation.iter().filter(|p| self.config.conversation.turns.contains(&p.turn)) {
            let (a, d) = (&point.aomi, &point.direct);
            let overhead = a.full_turn.zip(d.full_turn).map(|(a, d)| format!("{:.1}", a.p50_ms - d.p50_ms));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                point.turn,
                ms(a.first_part, p50),
                ms(a.first_token, p50),
                ms(d.first_token, p50),
                times(ratio(a.first_token, d.first_token, p50)),
                ms(a.first_text, p50),
                ms(d.first_text, p50),
                times(ratio(a.first_text, d.first_text, p50)),
                ms(a.full_turn, p50),
                ms(d.full_turn, p50),
                overhead.unwrap_or_else(|| "–".into())
            );
        }

        let _ = writeln!(
            out,
            "\n## Concurrency ({} turns per user, {} turns)\n",
            self.config.concurrency.turns_per_user,
            describe(self.config.concurrency.kind)
        );
        load_table(&mut out, &self.concurrency);
        memory_table(&mut out, &self.concurrency);

        if let Some(point) = &self.tool_heavy {
            let calls = match point.kind {
                TurnKind::Chain(calls) => format!(
                    "{calls} parallel chain reads on anvil per turn: `get_balance`, `get_token_balance` (USDC), \
                     `call_view_function` (`totalSupply()`), `get_block`, `get_gas_price`"
                ),
                kind => format!("{} parallel `get_current_time` calls per turn", kind.tool_calls()),
            };
            let _ = writeln!(out, "\n## Tool-heavy turns ({calls})\n");
            load_table(&mut out, std::slice::from_ref(point));
            let spread = |s: Option<Summary>| {
                s.map(|s| format!("{:.1} / {:.1} / {:.1} ms", s.p50_ms, s.p95_ms, s.p99_ms))
                    .unwrap_or_else(|| "–".into())
            };
            let _ = writeln!(
                out,
                "\nTime in tools per turn through aomi (first `tool-input-available` part to the last tool output, \
                 as the client sees them; direct answers tools at once), p50 / p95 / p99: {}; one tool call \
                 (its input part to its output part): {}.",
                spread(point.aomi.tools),
                spread(point.aomi.tool_call)
            );
        }

        if let Some(reads) = &self.chain_reads {
            chain_reads_table(&mut out, reads);
        }

        if !i.problems.is_empty() {
            let _ = writeln!(out, "\n## Problems\n");
            for problem in &i.problems {
                let _ = writeln!(out, "- {problem}");
            }
        }
        out
    }

    /// The figures the issue asks for side by side, as a Markdown list.
    pub fn headlines(&self) -> String {
        let mut out = String::from("## Headlines\n\n");
        for point in [self.concurrency.first(), self.concurrency.last()].into_iter().flatten() {
            let (a, d) = (point.aomi.first_text, point.direct.first_text);
            let _ = writeln!(
                out,
                "- time to first text at {} user(s), p50: {} ms through aomi, {} ms direct ({})",
                point.users,
                ms(a, p50),
                ms(d, p50),
                times(ratio(a, d, p50))
            );
            if self.concurrency.len() == 1 {
                break;
            }
        }
        for point in self.concurrency.iter().filter(|p| p.relay.is_some()) {
            let _ = writeln!(
                out,
                "- server CPU per {} turn at {} user(s): {} ms through aomi, {} ms through a bare relay of the \
                 stream ({})",
                point.kind.label(),
                point.users,
                tenths(point.server_cpu_ms_per_turn),
                tenths(point.relay.as_ref().and_then(|r| r.cpu_ms_per_turn)),
                times(point.cpu_over_relay())
            );
        }
        let at = |turn: usize| self.conversation.iter().find(|p| p.turn == turn);
        let overhead = |p: &TurnPoint, f: fn(&Latencies) -> Option<Summary>| {
            f(&p.aomi).zip(f(&p.direct)).map(|(a, d)| a.p50_ms - d.p50_ms)
        };
        let last = self.config.conversation_turns();
        if let (Some(first), Some(last)) = (at(1), at(last)) {
            let _ = writeln!(
                out,
                "- aomi's overhead (aomi − direct, p50) at turn {} vs turn 1: first text {} ms vs {} ms, full turn {} ms vs {} ms",
                last.turn,
                tenths(overhead(last, |l| l.first_text)),
                tenths(overhead(first, |l| l.first_text)),
                tenths(overhead(last, |l| l.full_turn)),
                tenths(overhead(first, |l| l.full_turn)),
            );
        }
        if let Some((users, memory)) = self.concurrency.iter().rev().find_map(|p| p.memory.map(|m| (p.users, m))) {
            let _ = writeln!(
                out,
                "- server RSS per session at {users} users: {} KiB while running, {} KiB kept after (peak RSS {} MiB)",
                kib(memory.per_session_active_bytes),
                kib(memory.per_session_retained_bytes),
                mib(memory.peak_bytes)
            );
        }
        match &self.chain_reads {
            Some(reads) => {
                for read in &reads.reads {
                    let at = |way: Way| ms(read.way(way).and_then(|w| w.times), p50);
                    let _ = writeln!(
                        out,
                        "- {} read, p50: {} ms as a command turn through aomi ({} ms to its result part), {} ms \
                         for the aomi tool alone, {} ms with raw alloy, {} ms with the `cast` binary",
                        read.read,
                        at(Way::CommandTurn),
                        ms(read.way(Way::CommandTurn).and_then(|w| w.to_result), p50),
                        at(Way::Tool),
                        at(Way::Alloy),
                        at(Way::Cast)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "- chain reads through aomi vs raw alloy vs `cast`: not run (no devnet)");
            }
        }
        out.push('\n');
        out
    }

    /// The change of the headline figures against `baseline`, as Markdown.
    pub fn compare(&self, baseline: &BenchReport) -> String {
        let mut rows: Vec<(String, Option<f64>, Option<f64>, &str)> = Vec::new();
        for point in self.conversation.iter().filter(|p| self.config.conversation.turns.contains(&p.turn)) {
            let old = baseline.conversation.iter().find(|p| p.turn == point.turn);
            let label = |what: &str| format!("turn {}: {what}", point.turn);
            rows.push((
                label("first text p50 ms"),
                old.and_then(|o| o.aomi.first_text).map(|s| s.p50_ms),
                point.aomi.first_text.map(|s| s.p50_ms),
                "lower",
            ));
            rows.push((
                label("full turn p50 ms"),
                old.and_then(|o| o.aomi.full_turn).map(|s| s.p50_ms),
                point.aomi.full_turn.map(|s| s.p50_ms),
                "lower",
            ));
        }
        for point in self.concurrency.iter().chain(&self.tool_heavy) {
            let old = baseline
                .concurrency
                .iter()
                .chain(&baseline.tool_heavy)
                .find(|o| o.users == point.users && o.kind == point.kind);
            let label = |what: &str| format!("{} users, {}: {what}", point.users, point.kind.label());
            let pick = |latencies: &Latencies, f: fn(&Latencies) -> Option<Summary>, g: fn(&Summary) -> f64| {
                f(latencies).map(|s| g(&s))
            };
            rows.push((
                label("first text p50 ms"),
                old.and_then(|o| pick(&o.aomi, |l| l.first_text, p50)),
                pick(&point.aomi, |l| l.first_text, p50),
                "lower",
            ));
            rows.push((
                label("full turn p95 ms"),
                old.and_then(|o| pick(&o.aomi, |l| l.full_turn, |s| s.p95_ms)),
                pick(&point.aomi, |l| l.full_turn, |s| s.p95_ms),
                "lower",
            ));
            rows.push((
                label("turns/s"),
                old.map(|o| o.aomi_turns_per_second),
                Some(point.aomi_turns_per_second),
                "higher",
            ));
            rows.push((
                label("server CPU ms per turn"),
                old.and_then(|o| o.server_cpu_ms_per_turn),
                point.server_cpu_ms_per_turn,
                "lower",
            ));
            rows.push((
                label("server CPU ÷ relay CPU"),
                old.and_then(LoadPoint::cpu_over_relay),
                point.cpu_over_relay(),
                "lower",
            ));
            rows.push((
                label("RSS per session KiB"),
                old.and_then(|o| o.memory).map(|m| m.per_session_active_bytes as f64 / 1024.0),
                point.memory.map(|m| m.per_session_active_bytes as f64 / 1024.0),
                "lower",
            ));
        }
        if let (Some(now), Some(old)) = (&self.tool_heavy, &baseline.tool_heavy) {
            rows.push((
                format!("tool-heavy ({}): time in tools p50 ms", now.kind.label()),
                old.aomi.tools.map(|s| s.p50_ms),
                now.aomi.tools.map(|s| s.p50_ms),
                "lower",
            ));
        }
        for read in self.chain_reads.iter().flat_map(|r| &r.reads) {
            let old = baseline.chain_reads.iter().flat_map(|r| &r.reads).find(|o| o.read == read.read);
            for way in Way::ALL {
                let p50 = |r: &crate::chain::ReadComparison| r.way(way).and_then(|w| w.times).map(|s| s.p50_ms);
                rows.push((format!("{}, {}: p50 ms", read.read, way.label()), old.and_then(p50), p50(read), "lower"));
            }
        }
        let mut out = format!("## Change against the baseline of {}\n\n", baseline.started_at);
        let _ = writeln!(out, "| figure | baseline | now | change |\n|---|---:|---:|---:|");
        for (label, old, new, better) in rows {
            let change = match (old, new) {
                (Some(old), Some(new)) if old != 0.0 => {
                    let percent = (new - old) / old * 100.0;
                    let worse = if better == "lower" { percent > 0.0 } else { percent < 0.0 };
                    format!("{percent:+.1}%{}", if worse && percent.abs() >= 10.0 { " (worse)" } else { "" })
                }
                _ => "–".into(),
            };
            let _ = writeln!(out, "| {label} | {} | {} | {change} |", tenths(old), tenths(new));
        }
        out
    }
}

/// A turn kind in words.
fn describe(kind: TurnKind) -> String {
    match kind {
        TurnKind::Text => "text-only".into(),
        TurnKind::Tools(calls) => format!("{calls}-tool-call"),
        TurnKind::Chain(calls) => format!("{calls}-chain-read"),
    }
}

fn load_table(out: &mut String, points: &[LoadPoint]) {
    let _ = writeln!(
        out,
        "| users | turns | first text aomi p50 | first text direct p50 | ratio | first text aomi p95 | full turn aomi p50 / p95 / p99 | full turn direct p50 / p95 / p99 | turns/s aomi | turns/s direct | server CPU ms/turn | relay CPU ms/turn | CPU ÷ relay |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for point in points {
        let (a, d) = (&point.aomi, &point.direct);
        let spread = |s: Option<Summary>| {
            s.map(|s| format!("{:.1} / {:.1} / {:.1}", s.p50_ms, s.p95_ms, s.p99_ms)).unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} |",
            point.users,
            point.users * point.turns_per_user,
            ms(a.first_text, p50),
            ms(d.first_text, p50),
            times(ratio(a.first_text, d.first_text, p50)),
            ms(a.first_text, |s| s.p95_ms),
            spread(a.full_turn),
            spread(d.full_turn),
            point.aomi_turns_per_second,
            point.direct_turns_per_second,
            tenths(point.server_cpu_ms_per_turn),
            tenths(point.relay.as_ref().and_then(|r| r.cpu_ms_per_turn)),
            times(point.cpu_over_relay())
        );
    }
}

/// A figure to a tenth, or "–".
pub(crate) fn tenths(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn chain_reads_table(out: &mut String, reads: &ChainReadReport) {
    let _ = writeln!(
        out,
        "\n## A chain read through aomi vs raw alloy vs `cast` ({} timed reads each, same anvil, interleaved)\n",
        reads.iterations
    );
    let _ = writeln!(
        out,
        "Command turn: the direct command sent as a chat message to `aomi serve` (HTTP, chat and turn rows, \
         storing both messages, the tool, the SSE stream), to the end of the stream; \"to result\" is to its \
         tool result part. Tool alone: the same aomi tool in the bench's process. alloy: the bare provider call. \
         `cast`: Foundry's binary, a process and a connection per read. p50 / p95 in ms.\n"
    );
    let _ = writeln!(
        out,
        "| read | command turn | command turn, to result | tool alone | alloy | cast | value |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let both =
        |s: Option<Summary>| s.map(|s| format!("{:.2} / {:.2}", s.p50_ms, s.p95_ms)).unwrap_or_else(|| "–".into());
    for read in &reads.reads {
        let way = |way: Way| both(read.way(way).and_then(|w| w.times));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            read.read,
            way(Way::CommandTurn),
            both(read.way(Way::CommandTurn).and_then(|w| w.to_result)),
            way(Way::Tool),
            way(Way::Alloy),
            way(Way::Cast),
            read.value
        );
    }
    let _ = writeln!(out);
    for read in &reads.reads {
        let commands: Vec<String> = read.ways.iter().map(|w| format!("{}: `{}`", w.way.label(), w.command)).collect();
        let _ = writeln!(out, "- {}: {}", read.read, commands.join("; "));
    }
    for note in &reads.notes {
        let _ = writeln!(out, "- {note}");
    }
}

fn memory_table(out: &mut String, points: &[LoadPoint]) {
    if points.iter().all(|p| p.memory.is_none()) {
        let _ = writeln!(out, "\nServer memory: not measured (the server's process is not known).");
        return;
    }
    let _ = writeln!(
        out,
        "\n| users | RSS before MiB | RSS peak MiB | RSS after MiB | per session while running KiB | per session kept KiB |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    for point in points {
        if let Some(m) = point.memory {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                point.users,
                mib(m.before_bytes),
                mib(m.peak_bytes),
                mib(m.after_bytes),
                kib(m.per_session_active_bytes),
                kib(m.per_session_retained_bytes)
            );
        }
    }
}
