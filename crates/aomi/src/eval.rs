//! `aomi eval`: the agent's eval suite, a thin layer over aomi-bench.

use std::path::PathBuf;

use anyhow::{Context, bail};
use aomi_bench::eval::run::{EvalOptions, Mode, run_suite};
use aomi_bench::eval::spec::Scenario;
use aomi_bench::server::{ServeProcess, ServerModel};
use aomi_llm::ModelConfig;
use aomi_testkit::{Script, StubModel};
use clap::Args;

use crate::progress;

/// Flags of `aomi eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Scenario files, or folders of `*.toml` scenarios.
    #[arg(default_value = "evals")]
    paths: Vec<PathBuf>,
    /// Use the model configured in the environment (AOMI_MODEL, ANTHROPIC_API_KEY, …) instead of
    /// the scripted stub model.
    #[arg(long)]
    real: bool,
    /// Runs of each scenario with a real model.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// With --real: exit with an error when the overall pass rate is below this (0 to 1).
    #[arg(long, requires = "real")]
    fail_under: Option<f64>,
}

/// Runs the suite. The scripted mode fails when any scenario fails.
pub async fn run(args: EvalArgs) -> anyhow::Result<()> {
    let mut scenarios = Scenario::load_all(&args.paths)?;
    if let Some(only) = &args.only {
        scenarios.retain(|s| s.name.contains(only.as_str()));
        if scenarios.is_empty() {
            bail!("no scenario's name contains \"{only}\"");
        }
    }
    let program = std::env::current_exe().context("cannot find the aomi binary")?;
    let data_dir = std::env::temp_dir().join(format!("aomi-eval-{}", std::process::id()));
    let stub;
    let (model, server_model, name) = if args.real {
        let config = ModelConfig::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?
            .context("no model is configured: set ANTHROPIC_API_KEY, or AOMI_MODEL=openai:<model> with OPENAI_API_KEY / OPENAI_BASE_URL")?;
        (None, ServerModel::FromEnvironment, config.spec())
    } else {
        stub = StubModel::start(Script::new()).await.context("cannot start the stub model")?;
        let url = stub.openai_base_url();
        (Some(&stub), ServerModel::Stub(url), "scripted stub".to_owned())
    };
    let server = ServeProcess::spawn(&program, &server_model, &data_dir).await?;
    let mode = match model {
        Some(stub) => Mode::Scripted(stub),
        None => Mode::Model,
    };
    // The devnet joins `available` once the chain layer can start it.
    let options = EvalOptions { runs: args.runs, available: Vec::new(), model: name };
    let report = run_suite(&scenarios, server.target(), mode, &options, &progress::bar("turns")).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);

    println!("{}", report.to_markdown());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    match (args.real, args.fail_under, report.pass_rate()) {
        (false, _, _) if !report.all_passed() => {
            bail!("a scripted scenario failed: the harness or the plumbing is broken")
        }
        (true, Some(floor), Some(rate)) if rate < floor => {
            bail!("the pass rate {:.1}% is below {:.1}%", rate * 100.0, floor * 100.0)
        }
        _ => Ok(()),
    }
}
