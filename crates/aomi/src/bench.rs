//! `aomi bench`: the serving benchmark, a thin layer over aomi-bench.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use aomi_bench::report::{BenchReport, REPORT_VERSION};
use aomi_bench::runner::{self, RunInfo};
use aomi_bench::scenario::BenchConfig;
use aomi_bench::server::{ServeProcess, ServerModel, Target};
use aomi_bench::{plot, stub};
use aomi_testkit::StubModel;
use clap::Args;

use crate::progress;

/// Flags of `aomi bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A short run (well under two minutes on two cores), for CI and quick checks.
    #[arg(long)]
    quick: bool,
    /// Benchmark a running server instead of starting one. It must use the bench's stub model:
    /// start it with AOMI_MODEL=openai:bench-stub and OPENAI_BASE_URL=http://<--stub-bind>/v1.
    #[arg(long)]
    url: Option<String>,
    /// The process id of the --url server, to read its memory from /proc.
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Where the stub model listens (a fixed port is needed with --url).
    #[arg(long, default_value = "127.0.0.1:0")]
    stub_bind: SocketAddr,
    /// The stub model's time to first token, in milliseconds.
    #[arg(long)]
    ttft_ms: Option<u64>,
    /// The stub model's tokens per second.
    #[arg(long)]
    tokens_per_second: Option<f64>,
    /// Folder for report.md, report.json and the SVG plots.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
    /// An earlier report.json: prints the change against it.
    #[arg(long)]
    baseline: Option<PathBuf>,
}

/// Runs the benchmark; fails when a turn failed or lost a part.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    let mut config = if args.quick { BenchConfig::quick() } else { BenchConfig::full() };
    if let Some(ttft) = args.ttft_ms {
        config.stub.ttft_ms = ttft;
    }
    if let Some(rate) = args.tokens_per_second {
        config.stub.tokens_per_second = rate;
    }
    let stub = StubModel::start_on(args.stub_bind, stub::bench_script(&config.kinds(), config.stub.timing()))
        .await
        .with_context(|| format!("cannot start the stub model on {}", args.stub_bind))?;
    eprintln!("stub model on {}", stub.url());

    let data_dir = std::env::temp_dir().join(format!("aomi-bench-{}", std::process::id()));
    let (server, target, description) = match &args.url {
        Some(url) => (None, Target { url: url.clone(), pid: args.pid }, format!("running server at {url}")),
        None => {
            let program = std::env::current_exe().context("cannot find the aomi binary")?;
            let server = ServeProcess::spawn(&program, &ServerModel::Stub(stub.openai_base_url()), &data_dir).await?;
            let target = server.target().clone();
            let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
            (Some(server), target, format!("aomi serve {} ({profile} build)", env!("CARGO_PKG_VERSION")))
        }
    };
    eprintln!("benchmarking {} ({} turns)", target.url, config.total_turns());

    let info = RunInfo { command: command_line(), server: description };
    let bar = progress::bar("turns");
    let report = runner::run(&target, &stub.openai_base_url(), &config, info, &bar).await;
    if let Some(server) = server {
        server.stop().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = report?;

    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let markdown = report.to_markdown();
    std::fs::write(args.out.join("report.md"), &markdown)?;
    std::fs::write(args.out.join("report.json"), serde_json::to_string_pretty(&report)?)?;
    let plots = plot::write_plots(&report, &args.out.join("plots"))?;
    println!("{markdown}");
    if let Some(baseline) = &baseline {
        println!("{}", report.compare(baseline));
    }
    eprintln!("wrote report.md, report.json and {} plot(s) under {}", plots.len(), args.out.display());
    let integrity = &report.integrity;
    if !integrity.is_clean() {
        let first: Vec<&str> = integrity.problems.iter().take(3).map(String::as_str).collect();
        bail!(
            "{} turn(s) failed and {} part(s) were lost; the first: {} (all in report.md)",
            integrity.errors,
            integrity.lost_parts,
            first.join("; ")
        );
    }
    Ok(())
}

fn read_baseline(path: &std::path::Path) -> anyhow::Result<BenchReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{} is not JSON", path.display()))?["version"]
        .as_u64();
    if version != Some(u64::from(REPORT_VERSION)) {
        bail!("{} is a report of version {version:?}; this aomi writes version {REPORT_VERSION}", path.display());
    }
    serde_json::from_str(&text).with_context(|| format!("{} is not an aomi bench report", path.display()))
}

/// The command line as typed, with the program named `aomi`.
fn command_line() -> String {
    std::iter::once("aomi".to_owned()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}
