//! `aomi bench --soak-minutes` and `aomi bench --instances`: memory over a long run, and several
//! instances on one PostgreSQL database (see [`aomi_bench::soak`] and [`aomi_bench::instances`]).

use anyhow::{Context, bail};
use aomi_bench::instances::{self, InstancesConfig};
use aomi_bench::runner::RunInfo;
use aomi_bench::scenario::StubPace;
use aomi_bench::server::{ServeProcess, ServerModel, Target};
use aomi_bench::soak::{self, SoakConfig};
use aomi_bench::stub::{self, TurnKind};
use aomi_testkit::StubModel;

use crate::bench::{BenchArgs, apply_pace, command_line, describe_server, fail_unless_clean, unlimited};
use crate::progress;

/// The soak run for `minutes`; prints the report and writes it, its samples and the plot under
/// `--out`. Fails when a turn failed or lost a part, never on the memory figures.
pub async fn run_soak(args: BenchArgs, minutes: f64) -> anyhow::Result<()> {
    if !minutes.is_finite() || minutes <= 0.0 {
        bail!("--soak-minutes must be more than 0 (fractions are fine: 0.2 is 12 s)");
    }
    let mut config = SoakConfig::new(minutes, args.soak_users);
    config.idle_chats = args.soak_idle_chats;
    apply_pace(&args, &mut config.stub);
    let stub = start_stub(&args, &config.stub).await?;
    let data_dir = std::env::temp_dir().join(format!("aomi-soak-{}", std::process::id()));
    let (server, target, description) = match &args.url {
        Some(url) => {
            if args.pid.is_none() {
                bail!("--soak-minutes reads the server's memory: give the --url server's --pid");
            }
            (None, Target { url: url.clone(), pid: args.pid }, format!("running server at {url}"))
        }
        None => {
            let program = std::env::current_exe().context("cannot find the aomi binary")?;
            let extras = unlimited(args.database_url.as_deref());
            let model = ServerModel::Stub(stub.openai_base_url());
            let server = ServeProcess::spawn_with(&program, &model, &data_dir, &extras).await?;
            let target = server.target().clone();
            (Some(server), target, describe_server(args.database_url.as_deref()))
        }
    };
    eprintln!(
        "soak of {} against {}: {} users for {minutes} min, after {} idle chats",
        description, target.url, config.users, config.idle_chats
    );
    let counter = progress::counter("turns");
    let report = soak::run(&target, &config, RunInfo { command: command_line(), server: description }, &counter).await;
    if let Some(server) = server {
        server.stop().await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = report?;
    let written = report.write(&args.out)?;
    println!("{}", report.to_markdown());
    eprintln!("wrote {} under {}", names(&written), args.out.display());
    fail_unless_clean(&report.integrity)
}

/// `count` instances of `aomi serve` on the `--database-url` PostgreSQL database; prints the
/// report and writes it under `--out`. Fails when a turn failed or lost a part (a follower's too).
pub async fn run_instances(args: BenchArgs, count: usize) -> anyhow::Result<()> {
    let Some(database_url) = args.database_url.as_deref().filter(|url| url.starts_with("postgres")) else {
        bail!("--instances shares one database between the instances: give a --database-url postgres://…");
    };
    if count < 2 {
        bail!("--instances needs 2 or more");
    }
    let mut config = if args.quick { InstancesConfig::quick() } else { InstancesConfig::full() };
    apply_pace(&args, &mut config.stub);
    let stub = start_stub(&args, &config.stub).await?;
    let program = std::env::current_exe().context("cannot find the aomi binary")?;
    let model = ServerModel::Stub(stub.openai_base_url());
    let extras = unlimited(Some(database_url));
    let mut servers = Vec::new();
    let mut data_dirs = Vec::new();
    for index in 0..count {
        let data_dir = std::env::temp_dir().join(format!("aomi-instances-{}-{index}", std::process::id()));
        // One after the other: the first migrates the database.
        servers.push(ServeProcess::spawn_with(&program, &model, &data_dir, &extras).await?);
        data_dirs.push(data_dir);
    }
    let targets: Vec<Target> = servers.iter().map(|server| server.target().clone()).collect();
    let urls: Vec<&str> = targets.iter().map(|target| target.url.as_str()).collect();
    eprintln!(
        "{count} instances on one PostgreSQL database ({}): {} users × {} turns, {} followed turns",
        urls.join(", "),
        config.users,
        config.turns_per_user,
        config.follower_rounds
    );
    let description = format!("{count} × {}", describe_server(Some(database_url)));
    let bar = progress::bar("turns");
    let report =
        instances::run(&targets, &config, RunInfo { command: command_line(), server: description }, &bar).await;
    for server in servers {
        server.stop().await;
    }
    for dir in data_dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    let report = report?;
    let written = report.write(&args.out)?;
    println!("{}", report.to_markdown());
    eprintln!("wrote {} under {}", names(&written), args.out.display());
    fail_unless_clean(&report.integrity)
}

/// The stub model answering text turns at `pace`, on `--stub-bind`.
async fn start_stub(args: &BenchArgs, pace: &StubPace) -> anyhow::Result<StubModel> {
    let script = stub::bench_script(&[TurnKind::Text], pace.timing(), None);
    let stub = StubModel::start_on(args.stub_bind, script)
        .await
        .with_context(|| format!("cannot start the stub model on {}", args.stub_bind))?;
    eprintln!("stub model on {}", stub.url());
    Ok(stub)
}

fn names(paths: &[std::path::PathBuf]) -> String {
    paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy()).collect::<Vec<_>>().join(", ")
}
