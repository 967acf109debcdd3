//! Runs eval scenarios against a server: with the scripted stub model, or with a real model.

use std::time::Instant;

use aomi_testkit::StubModel;
use indicatif::ProgressBar;

use crate::client::ChatClient;
use crate::eval::check::{Observation, Verdict, evaluate};
use crate::eval::report::{EvalReport, ScenarioResult, Status};
use crate::eval::spec::{Need, Scenario};
use crate::server::Target;

/// Which model answers.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// The stub model behind the server, scripted by each scenario's `model` replies: proves the
    /// harness and the plumbing; every scenario must pass.
    Scripted(&'a StubModel),
    /// The model the server was started with: a pass rate.
    Model,
}

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Runs of each scenario with a real model (the scripted mode runs each once).
    pub runs: usize,
    /// What this run has, beyond the server: scenarios needing more are skipped.
    pub available: Vec<Need>,
    /// The model, as the report names it.
    pub model: String,
}

/// Runs `scenarios` one after the other against `target`, in `mode`.
pub async fn run_suite(
    scenarios: &[Scenario],
    target: &Target,
    mode: Mode<'_>,
    options: &EvalOptions,
    progress: &ProgressBar,
) -> EvalReport {
    let client = ChatClient::new(&target.url);
    let runs = match mode {
        Mode::Scripted(_) => 1,
        Mode::Model => options.runs.max(1),
    };
    let turns: usize = scenarios.iter().map(|s| s.expanded_turns().len() * runs).sum();
    progress.set_length(turns as u64);
    let mut results = Vec::new();
    for scenario in scenarios {
        progress.set_message(scenario.name.clone());
        results.push(run_scenario(&client, scenario, mode, runs, options, progress).await);
    }
    progress.finish_and_clear();
    let mode = match mode {
        Mode::Scripted(_) => "scripted".to_owned(),
        Mode::Model => "model".to_owned(),
    };
    EvalReport { mode, model: options.model.clone(), scenarios: results }
}

async fn run_scenario(
    client: &ChatClient,
    scenario: &Scenario,
    mode: Mode<'_>,
    runs: usize,
    options: &EvalOptions,
    progress: &ProgressBar,
) -> ScenarioResult {
    let turns = scenario.expanded_turns();
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        file: scenario.file.display().to_string(),
        status: Status::Passed,
        runs: 0,
        passed_runs: 0,
        turns: turns.len(),
        failures: Vec::new(),
        input_tokens: 0,
        output_tokens: 0,
        elapsed_secs: 0.0,
    };
    if let Some(need) = scenario.needs.iter().find(|need| !options.available.contains(need)) {
        result.status = Status::Skipped(format!("needs {need}"));
        progress.inc((turns.len() * runs) as u64);
        return result;
    }
    if let Mode::Scripted(_) = mode
        && !scenario.is_scripted()
    {
        result.status = Status::Failed;
        result.failures.push(format!(
            "{}: a turn has no `model` replies; the scripted mode needs one reply per model call",
            scenario.name
        ));
        progress.inc((turns.len() * runs) as u64);
        return result;
    }
    let started = Instant::now();
    for run in 0..runs {
        if let Mode::Scripted(stub) = mode {
            stub.set_script(scenario.script());
        }
        let chat =
            format!("eval-{}-{run}-{}", sanitize(&scenario.name), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut failed = false;
        for (number, user, wallet, turn) in &turns {
            let outcome = client.send(&chat, user, wallet.as_ref()).await;
            progress.inc(1);
            let (input, output) = outcome.usage();
            result.input_tokens += input;
            result.output_tokens += output;
            let mut seen = Observation::of(&outcome);
            if turn.expect.history_messages.is_some() {
                seen.stored_messages = client.messages(&chat).await.ok().map(|messages| messages.len());
            }
            for check in evaluate(&turn.expect, &seen) {
                if let Verdict::Fail(why) = check.verdict {
                    failed = true;
                    let run = if runs > 1 { format!(" (run {})", run + 1) } else { String::new() };
                    result.failures.push(format!(
                        "{}{run}, turn {number} (\"{}\"): check `{}` failed: {why}",
                        scenario.name,
                        user.chars().take(80).collect::<String>(),
                        check.check
                    ));
                }
            }
        }
        result.runs += 1;
        if !failed {
            result.passed_runs += 1;
        }
    }
    result.elapsed_secs = started.elapsed().as_secs_f64();
    if result.passed_runs < result.runs {
        result.status = Status::Failed;
    }
    result
}

/// A scenario name as a chat id may carry it.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(60).collect()
}
