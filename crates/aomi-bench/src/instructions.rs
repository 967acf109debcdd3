//! Instructions per turn: `aomi serve` run under valgrind's callgrind, driven through HTTP and SSE
//! with the stub model, its instruction count read between phases (`vgdb … zero` / `dump`).
//!
//! An instruction count does not move with the load of the machine, unlike a time: it is the
//! regression figure of the server's CPU per turn ([`InstructionsReport::compare`] warns when a
//! figure moved by more than [`WARN_RATIO`] against a committed baseline; nothing asserts on it).
//! Each phase's dump is a full callgrind profile (`callgrind_annotate` reads it), which is where
//! the profile in docs/benchmarks.md comes from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::Error;
use crate::client::ChatClient;
use crate::runner::check_aomi;
use crate::stub::TurnKind;

/// Version of [`InstructionsReport`]'s JSON.
pub const INSTRUCTIONS_VERSION: u32 = 1;

/// A figure that moved by more than this share against the baseline is printed as a WARNING.
pub const WARN_RATIO: f64 = 0.10;

/// How long a server under valgrind may take to print its address (it reads the binary's debug
/// information first).
pub const STARTUP_UNDER_VALGRIND: Duration = Duration::from_secs(300);

/// What one measured phase sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// A text turn through the model (the stub's answer: 55 deltas).
    Text,
    /// A direct command (`/time`): a tool call without the model.
    Command,
    /// A model call asking for this many parallel tool calls (`get_current_time`), then a text answer.
    Tools(u8),
}

impl Workload {
    /// The phase's name in reports and dump files.
    pub fn label(self) -> String {
        match self {
            Workload::Text => "text".into(),
            Workload::Command => "command".into(),
            Workload::Tools(calls) => format!("tools{calls}"),
        }
    }

    fn message(self, n: usize) -> String {
        match self {
            Workload::Text => TurnKind::Text.user_text(n),
            Workload::Command => "/time".into(),
            Workload::Tools(calls) => TurnKind::Tools(calls).user_text(n),
        }
    }
}

/// The phases of a run: each runs `turns` turns one after the other in a chat of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionsConfig {
    /// The phases, in order.
    pub phases: Vec<(Workload, usize)>,
    /// Untimed turns of every workload first (the server's lazy state: connections, caches).
    pub warmup: usize,
}

impl InstructionsConfig {
    /// The run of `make test`: a few turns per phase (bounded: about a minute on a debug build).
    pub fn quick() -> Self {
        InstructionsConfig {
            phases: vec![(Workload::Text, 3), (Workload::Command, 3), (Workload::Tools(1), 2), (Workload::Tools(5), 2)],
            warmup: 1,
        }
    }

    /// A longer run for docs/benchmarks.md.
    pub fn full() -> Self {
        InstructionsConfig {
            phases: vec![
                (Workload::Text, 20),
                (Workload::Command, 20),
                (Workload::Tools(1), 10),
                (Workload::Tools(5), 10),
            ],
            warmup: 2,
        }
    }

    /// The stub's turn kinds these phases need.
    pub fn kinds(&self) -> Vec<TurnKind> {
        let mut kinds = vec![TurnKind::Text];
        for (workload, _) in &self.phases {
            if let Workload::Tools(calls) = workload {
                kinds.push(TurnKind::Tools(*calls));
            }
        }
        kinds
    }
}

/// One phase's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseFigure {
    /// [`Workload::label`].
    pub phase: String,
    /// Turns measured.
    pub turns: usize,
    /// Instructions of the whole server process (every thread) during the phase.
    pub instructions: u64,
    /// `instructions / turns`.
    pub per_turn: u64,
}

/// The counts of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionsReport {
    /// [`INSTRUCTIONS_VERSION`].
    pub version: u32,
    /// `debug` or `release`: counts compare only within one profile.
    pub profile: String,
    /// The phases.
    pub phases: Vec<PhaseFigure>,
    /// Instructions per extra tool call: (`tools5` − `tools1`) per turn / 4, when both ran.
    pub per_tool_call: Option<u64>,
}

/// Committed figures per profile (`docs/benchmarks/instructions.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstructionsBaseline {
    /// [`INSTRUCTIONS_VERSION`].
    pub version: u32,
    /// Per profile, per figure name (`text`, `per_tool_call`…), instructions per turn or call.
    pub profiles: BTreeMap<String, BTreeMap<String, u64>>,
}

impl InstructionsReport {
    /// Figure name → instructions per turn (or per call).
    pub fn figures(&self) -> BTreeMap<String, u64> {
        let mut figures: BTreeMap<String, u64> =
            self.phases.iter().map(|phase| (phase.phase.clone(), phase.per_turn)).collect();
        if let Some(per_call) = self.per_tool_call {
            figures.insert("per_tool_call".into(), per_call);
        }
        figures
    }

    /// The report as Markdown lines.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "Instructions of `aomi serve` ({} build) under callgrind, every thread\n\n| phase | turns | instructions | per turn |\n|---|---:|---:|---:|\n",
            self.profile
        );
        for phase in &self.phases {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                phase.phase,
                phase.turns,
                group(phase.instructions),
                group(phase.per_turn)
            ));
        }
        if let Some(per_call) = self.per_tool_call {
            out.push_str(&format!("\nper extra tool call ((tools5 − tools1) / 4): {}\n", group(per_call)));
        }
        out
    }

    /// Lines comparing each figure with the baseline of the same profile; a line starts with
    /// `WARNING` when the figure moved by more than [`WARN_RATIO`].
    pub fn compare(&self, baseline: &InstructionsBaseline) -> Vec<String> {
        let Some(base) = baseline.profiles.get(&self.profile) else {
            return vec![format!("no baseline for the {} build: nothing to compare", self.profile)];
        };
        let mut lines = Vec::new();
        for (name, now) in self.figures() {
            let Some(&before) = base.get(&name) else {
                lines.push(format!("{name}: {} (no baseline figure)", group(now)));
                continue;
            };
            let ratio = if before == 0 { f64::INFINITY } else { now as f64 / before as f64 };
            let line = format!(
                "{name}: {} against {} in the baseline ({:+.1}%)",
                group(now),
                group(before),
                (ratio - 1.0) * 100.0
            );
            if (ratio - 1.0).abs() > WARN_RATIO {
                lines.push(format!("WARNING: instructions moved by more than {:.0}%: {line}", WARN_RATIO * 100.0));
            } else {
                lines.push(line);
            }
        }
        lines
    }

    /// `baseline` with this run's figures as its profile's.
    pub fn into_baseline(&self, mut baseline: InstructionsBaseline) -> InstructionsBaseline {
        baseline.version = INSTRUCTIONS_VERSION;
        baseline.profiles.insert(self.profile.clone(), self.figures());
        baseline
    }
}

/// Digits in groups of three: `12 345 678`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The valgrind arguments that run `aomi serve` under callgrind, writing its profiles to
/// `out_file` (and `out_file.N` for each dump).
pub fn valgrind_args(out_file: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out_file.display()),
        // Counts, not a cache simulation: the cheapest mode, and the figure that stays put.
        "--cache-sim=no".into(),
        "--branch-sim=no".into(),
        // Keep the vgdb link (the default) that `zero` and `dump` go through.
        "--vgdb=yes".into(),
    ]
}

/// Runs the phases against a server started under callgrind (process `pid`, profiles in
/// `out_file`), each turn checked as the benchmark checks it; returns the counts.
pub async fn run(
    client: &ChatClient,
    vgdb: &Path,
    pid: u32,
    out_file: &Path,
    config: &InstructionsConfig,
    profile: &str,
) -> Result<InstructionsReport, Error> {
    for (workload, _) in &config.phases {
        for n in 0..config.warmup {
            turn(client, &format!("warm-{}", workload.label()), *workload, n).await?;
        }
    }
    let mut phases = Vec::new();
    for (workload, turns) in &config.phases {
        let chat = format!("phase-{}-{}", workload.label(), uuid::Uuid::new_v4().simple());
        monitor(vgdb, pid, "zero").await?;
        for n in 0..*turns {
            turn(client, &chat, *workload, n).await?;
        }
        let dump = dump(vgdb, pid, out_file, &workload.label()).await?;
        let instructions = read_totals(&dump)?;
        phases.push(PhaseFigure {
            phase: workload.label(),
            turns: *turns,
            instructions,
            per_turn: instructions / (*turns).max(1) as u64,
        });
    }
    let per_turn = |label: &str| phases.iter().find(|p| p.phase == label).map(|p| p.per_turn);
    let per_tool_call = match (per_turn("tools1"), per_turn("tools5")) {
        (Some(one), Some(five)) => Some(five.saturating_sub(one) / 4),
        _ => None,
    };
    Ok(InstructionsReport { version: INSTRUCTIONS_VERSION, profile: profile.into(), phases, per_tool_call })
}

/// One turn, checked: a failed turn fails the run (its count would mean nothing).
async fn turn(client: &ChatClient, chat: &str, workload: Workload, n: usize) -> Result<(), Error> {
    let outcome = client.send(chat, &workload.message(n), None).await;
    let problems = match workload {
        Workload::Text => check_aomi(&outcome, TurnKind::Text),
        Workload::Tools(calls) => check_aomi(&outcome, TurnKind::Tools(calls)),
        // A command answers with its tool's result, no text: it must end and carry the result.
        Workload::Command => {
            let mut problems = Vec::new();
            if let Some(failure) = &outcome.failure {
                problems.push(failure.clone());
            }
            if !outcome.done || !outcome.ends_with_finish() {
                problems.push("the stream did not end with finish and [DONE]".into());
            }
            if outcome.first_tool_output.is_none() {
                problems.push("no tool output".into());
            }
            return match problems.is_empty() {
                true => Ok(()),
                false => Err(Error::Server(format!("a command turn failed: {}", problems.join("; ")))),
            };
        }
    };
    match problems.first() {
        None => Ok(()),
        Some(problem) => Err(Error::Server(format!("a {} turn failed: {problem:?}", workload.label()))),
    }
}

/// Sends a monitor command (`zero`, `dump <hint>`) to the callgrind run through vgdb.
async fn monitor(vgdb: &Path, pid: u32, command: &str) -> Result<(), Error> {
    let output = Command::new(vgdb)
        .arg(format!("--pid={pid}"))
        .args(command.split(' '))
        .output()
        .await
        .map_err(|e| Error::Server(format!("cannot run {}: {e}", vgdb.display())))?;
    if !output.status.success() {
        return Err(Error::Server(format!(
            "vgdb {command} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Dumps the counts since the last zero; returns the dump's file (`out_file.N`, the newest).
async fn dump(vgdb: &Path, pid: u32, out_file: &Path, hint: &str) -> Result<PathBuf, Error> {
    let before = dumps(out_file);
    monitor(vgdb, pid, &format!("dump {hint}")).await?;
    // The file is written by the time vgdb returns; look a few times in case it is not.
    for _ in 0..50 {
        if let Some(new) = dumps(out_file).into_iter().find(|path| !before.contains(path)) {
            return Ok(new);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Server(format!("callgrind wrote no dump for {hint} next to {}", out_file.display())))
}

/// The dump files next to `out_file` (`out_file.1`, `out_file.2`, …).
fn dumps(out_file: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (out_file.parent(), out_file.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let prefix = format!("{name}.");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)))
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default()
}

/// The instruction count of a callgrind profile: its `totals:` line (the first event, `Ir`).
pub fn read_totals(path: &Path) -> Result<u64, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    parse_totals(&text).ok_or_else(|| Error::Io(format!("{} has no totals line", path.display())))
}

fn parse_totals(text: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with("totals:"))?;
    line.trim_start_matches("totals:").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line() {
        assert_eq!(parse_totals("events: Ir\nsummary: 12\ntotals: 12345\n"), Some(12345));
        assert_eq!(parse_totals("events: Ir\n"), None);
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group(1), "1");
        assert_eq!(group(1234), "1 234");
        assert_eq!(group(12_345_678), "12 345 678");
    }

    fn report(text: u64) -> InstructionsReport {
        InstructionsReport {
            version: INSTRUCTIONS_VERSION,
            profile: "debug".into(),
            phases: vec![PhaseFigure { phase: "text".into(), turns: 1, instructions: text, per_turn: text }],
            per_tool_call: None,
        }
    }

    #[test]
    fn warns_past_ten_percent_only() {
        let baseline = report(1_000_000).into_baseline(InstructionsBaseline::default());
        assert!(!report(1_050_000).compare(&baseline)[0].starts_with("WARNING"));
        assert!(report(1_150_000).compare(&baseline)[0].starts_with("WARNING"));
        assert!(report(850_000).compare(&baseline)[0].starts_with("WARNING"));
        let mut release = report(1);
        release.profile = "release".into();
        assert!(release.compare(&baseline)[0].contains("no baseline"));
    }
}
