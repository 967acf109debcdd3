//! An eval run's results: per scenario and overall, as text and JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// How a scenario went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every run passed every check.
    Passed,
    /// At least one run failed a check.
    Failed,
    /// Not run; why.
    Skipped(String),
}

/// One scenario's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// How it went.
    pub status: Status,
    /// Runs made.
    pub runs: usize,
    /// Runs that passed every check.
    pub passed_runs: usize,
    /// Turns per run.
    pub turns: usize,
    /// Every failed check: which scenario, run, turn and check, and why.
    pub failures: Vec<String>,
    /// Prompt tokens over all runs, as the model reported them.
    pub input_tokens: u64,
    /// Answer tokens over all runs.
    pub output_tokens: u64,
    /// Time over all runs, in seconds.
    pub elapsed_secs: f64,
}

/// A whole eval run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// `scripted` or `model`.
    pub mode: String,
    /// The model.
    pub model: String,
    /// Every scenario, in the order run.
    pub scenarios: Vec<ScenarioResult>,
}

impl EvalReport {
    /// Runs that passed over runs made, over every scenario that ran; `None` when none ran.
    pub fn pass_rate(&self) -> Option<f64> {
        let runs: usize = self.scenarios.iter().map(|s| s.runs).sum();
        let passed: usize = self.scenarios.iter().map(|s| s.passed_runs).sum();
        (runs > 0).then(|| passed as f64 / runs as f64)
    }

    /// True when no scenario failed.
    pub fn all_passed(&self) -> bool {
        self.scenarios.iter().all(|s| s.status != Status::Failed)
    }

    /// The report as Markdown: a table of scenarios, the overall figures, then every failure.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# aomi eval ({} mode, model {})\n\n", self.mode, self.model);
        let _ = writeln!(out, "| scenario | result | passed runs | pass rate | turns | tokens in / out | time s |");
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
        for s in &self.scenarios {
            let status = match &s.status {
                Status::Passed => "pass".to_owned(),
                Status::Failed => "FAIL".to_owned(),
                Status::Skipped(why) => format!("skipped: {why}"),
            };
            let rate = if s.runs > 0 {
                format!("{:.0}%", 100.0 * s.passed_runs as f64 / s.runs as f64)
            } else {
                "–".to_owned()
            };
            let _ = writeln!(
                out,
                "| {} | {status} | {}/{} | {rate} | {} | {} / {} | {:.1} |",
                s.name, s.passed_runs, s.runs, s.turns, s.input_tokens, s.output_tokens, s.elapsed_secs
            );
        }
        let count = |status: fn(&Status) -> bool| self.scenarios.iter().filter(|s| status(&s.status)).count();
        let passed = count(|s| *s == Status::Passed);
        let failed = count(|s| *s == Status::Failed);
        let skipped = count(|s| matches!(s, Status::Skipped(_)));
        let tokens: (u64, u64) =
            self.scenarios.iter().fold((0, 0), |(i, o), s| (i + s.input_tokens, o + s.output_tokens));
        let secs: f64 = self.scenarios.iter().map(|s| s.elapsed_secs).sum();
        let rate = self.pass_rate().map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "–".into());
        let _ = writeln!(
            out,
            "\n{passed} passed, {failed} failed, {skipped} skipped; overall pass rate {rate}; tokens {} in / {} out; {secs:.1} s",
            tokens.0, tokens.1
        );
        let failures: Vec<&String> = self.scenarios.iter().flat_map(|s| &s.failures).collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\n## Failures\n");
            for failure in failures {
                let _ = writeln!(out, "- {failure}");
            }
        }
        out
    }
}
