//! `aomi bench`: the serving benchmark, a thin layer over aomi-bench.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use aomi_bench::abuse::AbuseConfig;
use aomi_bench::chain::ChainBench;
use aomi_bench::relay::RelayProcess;
use aomi_bench::report::{BenchReport, Integrity, REPORT_VERSION};
use aomi_bench::runner::{self, RunInfo};
use aomi_bench::scenario::{BenchConfig, StubPace};
use aomi_bench::server::{ServeExtras, ServeProcess, ServerModel, Target};
use aomi_bench::stub::TurnKind;
use aomi_bench::{plot, stub};
use aomi_testkit::StubModel;
use clap::Args;

use crate::progress;

/// Flags of `aomi bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A short run (well under two minutes on two cores), for CI and quick checks.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Benchmark a running server instead of starting one. It must use the bench's stub model:
    /// start it with AOMI_MODEL=openai:bench-stub and OPENAI_BASE_URL=http://<--stub-bind>/v1.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// The process id of the --url server, to read its memory from /proc.
    #[arg(long, requires = "url")]
    pub(crate) pid: Option<u32>,
    /// Where the stub model listens (a fixed port is needed with --url).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) stub_bind: SocketAddr,
    /// The stub model's time to first token, in milliseconds.
    #[arg(long)]
    ttft_ms: Option<u64>,
    /// The stub model's tokens per second.
    #[arg(long)]
    tokens_per_second: Option<f64>,
    /// Folder for report.md, report.json and the SVG plots.
    #[arg(long, default_value = "bench-results")]
    pub(crate) out: PathBuf,
    /// An earlier report.json: prints the change against it.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Skip the chain scenarios (the tool-heavy turns then call the clock tool, and the chain-read
    /// comparison is left out). Without this flag they need anvil (npm install --prefix tools).
    #[arg(long)]
    no_chain: bool,
    /// The spawned server's database URL (`sqlite::memory:`, `postgres://…`) instead of a SQLite
    /// file in a temporary directory.
    #[arg(long, conflicts_with = "url")]
    pub(crate) database_url: Option<String>,
    /// The load and abuse run instead: 100 sessions × 20 turns (fewer with --quick), each from a
    /// client IP of its own, while one more client floods the server past its rate. The server
    /// keeps its default limits and trusts this machine's X-Forwarded-For (a --url server must be
    /// started with AOMI_TRUSTED_PROXIES=127.0.0.1). Fails when a session lost a part or saw a
    /// 5xx, or when the flood was never refused.
    #[arg(long, conflicts_with_all = ["baseline", "database_url"])]
    abuse: bool,
    /// A real model instead of the stub: the OpenAI-compatible server at this URL (its root, or
    /// its `/v1`), e.g. `tools/local-model.sh serve 8000` then `--local-model
    /// http://127.0.0.1:8000`. Measures time to first token and tokens per second through aomi and
    /// directly with aomi's own requests, alternating, in one run (docs/benchmarks.md).
    #[arg(long, conflicts_with_all = ["abuse", "url", "baseline"])]
    local_model: Option<String>,
    /// With --local-model: the model name the server answers to.
    #[arg(long, default_value = "smollm2", requires = "local_model")]
    local_model_name: String,
    /// With --local-model: turns on each side.
    #[arg(long, default_value_t = 5, requires = "local_model")]
    local_turns: usize,
    /// With --local-model: the cap on each answer's tokens (both sides).
    #[arg(long, default_value_t = 128, requires = "local_model")]
    local_max_tokens: u64,
    /// Instructions per turn instead: the server runs under valgrind's callgrind (valgrind on the
    /// PATH, or AOMI_VALGRIND) and the counts of text turns, command turns and tool calls are
    /// printed, with a profile per phase under --out (docs/benchmarks.md). --quick: a few turns.
    #[arg(long, conflicts_with_all = ["abuse", "url", "local_model", "baseline"])]
    instructions: bool,
    /// With --instructions: the committed counts to compare with; a figure more than 10% off is
    /// printed as a WARNING line (never a failure).
    #[arg(long, requires = "instructions")]
    pub(crate) instructions_baseline: Option<PathBuf>,
    /// With --instructions-baseline: write this run's counts into that file (for this build profile).
    #[arg(long, requires = "instructions_baseline")]
    pub(crate) update_baseline: bool,
    /// The soak run instead: users open new chats all along and run text turns for this many
    /// minutes (fractions are fine: 0.2 is 12 s) while the server's RSS is read every few seconds;
    /// before them, RSS per idle chat (--soak-idle-chats chats of one turn each). Writes soak.md,
    /// soak.json (every sample) and memory-over-time.svg under --out, and prints the RSS slope of
    /// the second half (never a failure). A --url server needs its --pid.
    #[arg(long, conflicts_with_all = ["abuse", "local_model", "instructions", "baseline", "instances"])]
    soak_minutes: Option<f64>,
    /// With --soak-minutes: simultaneous users.
    #[arg(long, default_value_t = 50, requires = "soak_minutes")]
    pub(crate) soak_users: usize,
    /// With --soak-minutes: chats of one turn each for the RSS-per-idle-chat figure (0: none).
    #[arg(long, default_value_t = 2000, requires = "soak_minutes")]
    pub(crate) soak_idle_chats: usize,
    /// This many `aomi serve` instances on the --database-url PostgreSQL database instead: users
    /// split between them (first text, turns/s, server CPU per turn summed over the instances),
    /// and turns followed on another instance than the one running them against a follower on
    /// the same one. Writes instances.md and instances.json under --out. --quick: a short run.
    #[arg(long, requires = "database_url", conflicts_with_all = ["abuse", "local_model", "instructions", "baseline"])]
    instances: Option<usize>,
    /// With --instructions: give up after this many seconds, printing a WARNING line instead of
    /// the counts (the server is stopped; the command succeeds).
    #[arg(long, requires = "instructions")]
    pub(crate) time_limit_secs: Option<u64>,
}

/// Runs the benchmark; fails when a turn failed or lost a part.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.abuse {
        return run_abuse(args).await;
    }
    if let Some(url) = args.local_model.clone() {
        return run_local_model(args, &url).await;
    }
    if args.instructions {
        return crate::bench_instructions::run(args).await;
    }
    if let Some(minutes) = args.soak_minutes {
        return crate::bench_soak::run_soak(args, minutes).await;
    }
    if let Some(count) = args.instances {
        return crate::bench_soak::run_instances(args, count).await;
    }
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    let mut config = if args.quick { BenchConfig::quick() } else { BenchConfig::full() };
    apply_pace(&args, &mut config.stub);
    // The devnet the server's chain tools read; with --url the server must use it too, which it
    // cannot know, so a running server is benchmarked without the chain.
    let chain = if args.no_chain || args.url.is_some() {
        None
    } else {
        let chain = ChainBench::start()
            .await
            .context("the chain scenarios need anvil: npm install --prefix tools (or pass --no-chain)")?;
        eprintln!(
            "devnet on {}; cast: {}",
            chain.rpc_url(),
            chain.cast().map_or("not found".into(), |p| p.display().to_string())
        );
        Some(chain)
    };
    if chain.is_none() {
        config = config.without_chain();
    }
    let script = stub::bench_script(&config.kinds(), config.stub.timing(), chain.as_ref().map(ChainBench::targets));
    let stub = StubModel::start_on(args.stub_bind, script)
        .await
        .with_context(|| format!("cannot start the stub model on {}", args.stub_bind))?;
    eprintln!("stub model on {}", stub.url());

    let program = std::env::current_exe().context("cannot find the aomi binary")?;
    let data_dir = std::env::temp_dir().join(format!("aomi-bench-{}", std::process::id()));
    let (server, target, description) = match &args.url {
        Some(url) => (None, Target { url: url.clone(), pid: args.pid }, format!("running server at {url}")),
        None => {
            let mut extras = unlimited(args.database_url.as_deref());
            if let Some(chain) = &chain {
                extras.args.push("--devnet".into());
                extras.env.push(("AOMI_RPC_DEVNET".into(), chain.rpc_url().into()));
            }
            let model = ServerModel::Stub(stub.openai_base_url());
            let server = ServeProcess::spawn_with(&program, &model, &data_dir, &extras).await?;
            let target = server.target().clone();
            (Some(server), target, describe_server(args.database_url.as_deref()))
        }
    };
    let relay = RelayProcess::spawn(&program, &stub.openai_base_url()).await?;
    eprintln!("benchmarking {} ({} turns); relay on {}", target.url, config.total_turns(true), relay.target().url);

    let info = RunInfo { command: command_line(), server: description };
    let bar = progress::bar("turns");
    let report =
        runner::run(&target, &stub.openai_base_url(), Some(relay.target()), &config, chain.as_ref(), info, &bar).await;
    drop(relay);
    if let Some(server) = server {
        server.stop().await;
    }
    drop(chain);
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
    fail_unless_clean(&report.integrity)
}

/// `aomi bench-relay`: a bare relay to `upstream` on `bind`, until the process is killed.
pub async fn run_relay(upstream: &str, bind: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    aomi_bench::relay::serve(listener, upstream).await?;
    Ok(())
}

/// Fails when a turn failed or lost a part, naming the first problems (all are in the report).
pub(crate) fn fail_unless_clean(integrity: &Integrity) -> anyhow::Result<()> {
    if !integrity.is_clean() {
        let first: Vec<&str> = integrity.problems.iter().take(3).map(String::as_str).collect();
        bail!(
            "{} turn(s) failed and {} part(s) were lost; the first: {} (all in the report)",
            integrity.errors,
            integrity.lost_parts,
            first.join("; ")
        );
    }
    Ok(())
}

/// `--ttft-ms` and `--tokens-per-second` over a run's stub pace.
pub(crate) fn apply_pace(args: &BenchArgs, pace: &mut StubPace) {
    if let Some(ttft) = args.ttft_ms {
        pace.ttft_ms = ttft;
    }
    if let Some(rate) = args.tokens_per_second {
        pace.tokens_per_second = rate;
    }
}

/// What a spawned benchmark server gets: no limits (the benchmark measures the server, not its
/// limits, and every turn comes from this machine), and `database_url` when given.
pub(crate) fn unlimited(database_url: Option<&str>) -> ServeExtras {
    let mut extras = ServeExtras::default();
    for limit in ["IP_RATE", "SESSION_RATE", "TURNS_PER_CLIENT", "TURNS_TOTAL"] {
        extras.env.push((format!("AOMI_LIMIT_{limit}"), "0".into()));
    }
    if let Some(url) = database_url {
        extras.env.push(("AOMI_DATABASE_URL".into(), url.to_owned()));
    }
    extras
}

/// A spawned server in a report: its version, build profile and store.
pub(crate) fn describe_server(database_url: Option<&str>) -> String {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let store = match database_url {
        None => "a SQLite file",
        Some(url) if url.starts_with("postgres") => "PostgreSQL",
        Some(url) if url.contains(":memory:") => "SQLite in memory",
        Some(_) => "SQLite",
    };
    format!("aomi serve {} ({profile} build, store: {store})", env!("CARGO_PKG_VERSION"))
}

/// `aomi bench --abuse`: see [`aomi_bench::abuse`].
async fn run_abuse(args: BenchArgs) -> anyhow::Result<()> {
    let (config, mut pace) = if args.quick {
        (AbuseConfig::quick(), BenchConfig::quick().stub)
    } else {
        (AbuseConfig::full(), BenchConfig::full().stub)
    };
    apply_pace(&args, &mut pace);
    let script = stub::bench_script(&[TurnKind::Text], pace.timing(), None);
    let stub = StubModel::start_on(args.stub_bind, script)
        .await
        .with_context(|| format!("cannot start the stub model on {}", args.stub_bind))?;
    let data_dir = std::env::temp_dir().join(format!("aomi-abuse-{}", std::process::id()));
    let (server, target) = match &args.url {
        Some(url) => (None, Target { url: url.clone(), pid: args.pid }),
        None => {
            let program = std::env::current_exe().context("cannot find the aomi binary")?;
            // Default limits; this machine is the proxy, so each session is a client of its own.
            let extras = ServeExtras {
                env: vec![("AOMI_TRUSTED_PROXIES".into(), "127.0.0.1".into())],
                ..ServeExtras::default()
            };
            let server =
                ServeProcess::spawn_with(&program, &ServerModel::Stub(stub.openai_base_url()), &data_dir, &extras)
                    .await?;
            let target = server.target().clone();
            (Some(server), target)
        }
    };
    eprintln!(
        "load and abuse run against {}: {} sessions × {} turns, a flood of {} requests",
        target.url, config.sessions, config.turns, config.flood_requests
    );
    let bar = progress::bar("turns");
    let report = aomi_bench::abuse::run(&target, &config, &bar).await;
    bar.finish_and_clear();
    if let Some(server) = server {
        server.stop().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = report?;
    let markdown = report.to_markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(args.out.join("abuse.md"), &markdown)?;
    std::fs::write(args.out.join("abuse.json"), serde_json::to_string_pretty(&report)?)?;
    if !report.passed() {
        bail!(
            "the load and abuse run failed: {} lost part(s), {} 5xx, {} other failure(s), {} flood request(s) refused; first: {}",
            report.lost_parts,
            report.server_errors,
            report.other_errors,
            report.flood_refused,
            report.problems.first().map_or("-", String::as_str)
        );
    }
    Ok(())
}

/// `aomi bench --local-model`: see [`aomi_bench::local`].
async fn run_local_model(args: BenchArgs, url: &str) -> anyhow::Result<()> {
    let root = url.trim_end_matches('/').trim_end_matches("/v1").to_owned();
    let proxy = aomi_testkit::RecordingProxy::start(&root).await.context("cannot start the recording proxy")?;
    let data_dir = std::env::temp_dir().join(format!("aomi-bench-local-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let config = data_dir.join("aomi.toml");
    std::fs::write(
        &config,
        format!(
            "model_max_tokens = {}\nmodel_idle_timeout_secs = 600\ntitles = \"first-message\"\n",
            args.local_max_tokens
        ),
    )?;
    let program = std::env::current_exe().context("cannot find the aomi binary")?;
    let extras = ServeExtras {
        env: vec![
            ("AOMI_MODEL".into(), format!("openai:{}", args.local_model_name)),
            ("OPENAI_BASE_URL".into(), proxy.openai_base_url()),
            ("AOMI_CONFIG".into(), config.display().to_string()),
        ],
        ..ServeExtras::default()
    };
    let server = ServeProcess::spawn_with(&program, &ServerModel::FromEnvironment, &data_dir, &extras).await?;
    let client = aomi_bench::client::ChatClient::new(&server.target().url);
    eprintln!("{} turns through aomi and directly, alternating, against {root}", args.local_turns);
    let report = aomi_bench::local::run(
        &client,
        &proxy,
        &root,
        &format!("openai:{}", args.local_model_name),
        args.local_turns,
        "Tell me about Ethereum in a few sentences.",
    )
    .await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = report?;
    println!("{}", report.to_markdown());
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(args.out.join("local-model.json"), serde_json::to_string_pretty(&report)?)?;
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
pub(crate) fn command_line() -> String {
    std::iter::once("aomi".to_owned()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}
