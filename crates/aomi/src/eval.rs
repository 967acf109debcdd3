//! `aomi eval`: the agent's eval suite, a thin layer over aomi-bench.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use aomi_bench::eval::chain::{ChainSetupError, EvalChain};
use aomi_bench::eval::run::{EvalOptions, Mode, run_suite};
use aomi_bench::eval::spec::{DEVNET_CHAIN_ID, Need, Scenario, is_devnet};
use aomi_bench::server::{ServeExtras, ServeProcess, ServerModel};
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
    let (chain, no_chain) = devnets(&scenarios).await?;
    let mut env = match &chain {
        Some(chain) => chain.server_env(&data_dir).context("cannot write the eval's networks file")?,
        None => Vec::new(),
    };
    // The scripted mode searches the stub Brave; a real run searches what the environment says.
    let search = match args.real {
        true => None,
        false => Some(aomi_bench::eval::scripted_search().await.context("cannot start the stub search")?),
    };
    if let Some(search) = &search {
        env.push(("BRAVE_API_KEY".into(), "eval-key".into()));
        env.push(("BRAVE_BASE_URL".into(), search.brave_url()));
    }
    // Dropping the server or the devnets stops them: on every early return below too.
    let server =
        ServeProcess::spawn_with(&program, &server_model, &data_dir, &ServeExtras { env, ..ServeExtras::default() })
            .await?;
    let mode = match model {
        Some(stub) => Mode::Scripted(stub),
        None => Mode::Model,
    };
    let options = EvalOptions { runs: args.runs, chain: chain.clone(), no_chain, model: name };
    let bar = progress::bar("turns");
    let report = tokio::select! {
        report = run_suite(&scenarios, server.target(), mode, &options, &bar) => Some(report),
        _ = tokio::signal::ctrl_c() => None,
    };
    server.stop().await;
    drop(options);
    drop(chain);
    let _ = std::fs::remove_dir_all(&data_dir);
    let Some(report) = report else { bail!("interrupted: the server and the devnets are stopped") };

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

/// Starts the devnets the scenarios need (or connects to `AOMI_RPC_DEVNET` / `AOMI_RPC_DEVNET_B`).
/// Without anvil the devnet scenarios are skipped, with the reason; any other failure is an error.
async fn devnets(scenarios: &[Scenario]) -> anyhow::Result<(Option<Arc<EvalChain>>, Option<String>)> {
    let on_devnet: Vec<&Scenario> = scenarios.iter().filter(|s| s.needs.contains(&Need::Devnet)).collect();
    if on_devnet.is_empty() {
        return Ok((None, None));
    }
    let mut chain_ids: BTreeSet<u64> =
        on_devnet.iter().flat_map(|s| s.chain_ids()).filter(|id| is_devnet(*id)).collect();
    // The devnet holds the contracts the scenarios' symbols name, even when they only use devnet-b.
    chain_ids.insert(DEVNET_CHAIN_ID);
    match EvalChain::start(&chain_ids).await {
        Ok(chain) => {
            eprintln!("devnets: {}", chain.describe());
            Ok((Some(Arc::new(chain)), None))
        }
        Err(ChainSetupError::AnvilMissing(error)) => {
            eprintln!("warning: {error}; the {} devnet scenarios are skipped", on_devnet.len());
            Ok((None, Some(error.to_string())))
        }
        Err(error) => Err(error).context("cannot set up the devnets of the eval"),
    }
}
