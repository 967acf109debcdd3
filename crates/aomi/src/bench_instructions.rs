//! `aomi bench --instructions`: the server under valgrind's callgrind, its instructions per turn
//! (see [`aomi_bench::instructions`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use aomi_bench::client::ChatClient;
use aomi_bench::instructions::{self, InstructionsBaseline, InstructionsConfig, STARTUP_UNDER_VALGRIND};
use aomi_bench::server::{ServeExtras, ServeProcess, ServerModel};
use aomi_bench::stub;
use aomi_testkit::{StubModel, Timing};

use crate::bench::BenchArgs;

/// Runs the phases, prints the counts and the comparison with the baseline; writes the baseline
/// with `--update-baseline`. Fails when a turn failed or valgrind cannot run, never on a count nor
/// on the time limit (`--time-limit-secs`, after which it prints a WARNING line).
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let Some(limit) = args.time_limit_secs.map(Duration::from_secs) else { return measure(args).await };
    match tokio::time::timeout(limit, measure(args)).await {
        Ok(result) => result,
        Err(_) => {
            // Dropping the run stopped the server (it is killed when dropped).
            println!("WARNING: the instruction counts did not finish in {} s; no counts taken", limit.as_secs());
            Ok(())
        }
    }
}

async fn measure(args: BenchArgs) -> anyhow::Result<()> {
    let valgrind = find_valgrind()?;
    let vgdb = valgrind.with_file_name("vgdb");
    if !vgdb.exists() {
        bail!("no vgdb next to {} (it comes with valgrind)", valgrind.display());
    }
    let config = if args.quick { InstructionsConfig::quick() } else { InstructionsConfig::full() };
    // No pacing: the counts do not depend on time, and the run stays short under valgrind.
    let script = stub::bench_script(&config.kinds(), Timing::new(), None);
    let stub = StubModel::start_on(args.stub_bind, script)
        .await
        .with_context(|| format!("cannot start the stub model on {}", args.stub_bind))?;

    let out = args.out.join("callgrind");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize()?;
    let out_file = out.join("callgrind.out");
    let data_dir = std::env::temp_dir().join(format!("aomi-instructions-{}", std::process::id()));
    let program = std::env::current_exe().context("cannot find the aomi binary")?;
    let extras = ServeExtras {
        wrapper: Some((valgrind, instructions::valgrind_args(&out_file))),
        startup: Some(STARTUP_UNDER_VALGRIND),
        ..crate::bench::unlimited(None)
    };
    eprintln!("starting aomi serve under callgrind (profiles in {})", out.display());
    let server =
        ServeProcess::spawn_with(&program, &ServerModel::Stub(stub.openai_base_url()), &data_dir, &extras).await?;
    let target = server.target().clone();
    let pid = target.pid.context("no process id for the server")?;
    let client = ChatClient::new(&target.url);
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let report = async {
        client.wait_healthy(STARTUP_UNDER_VALGRIND).await?;
        instructions::run(&client, &vgdb, pid, &out_file, &config, profile).await
    }
    .await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = report?;

    println!("{}", report.to_markdown());
    std::fs::write(out.join("instructions.json"), serde_json::to_string_pretty(&report)?)?;
    if let Some(path) = &args.instructions_baseline {
        let baseline = read_baseline(path)?;
        for line in report.compare(&baseline) {
            println!("{line}");
        }
        if args.update_baseline {
            let updated = report.into_baseline(baseline);
            std::fs::write(path, serde_json::to_string_pretty(&updated)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the {profile} counts into {}", path.display());
        }
    }
    Ok(())
}

/// `AOMI_VALGRIND`, or `valgrind` on the PATH.
fn find_valgrind() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("AOMI_VALGRIND") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("valgrind"))
        .find(|candidate| candidate.is_file())
        .context("--instructions needs valgrind: install it (apt-get install valgrind) or set AOMI_VALGRIND")
}

/// The committed counts; an absent file is an empty baseline (the first `--update-baseline`).
fn read_baseline(path: &Path) -> anyhow::Result<InstructionsBaseline> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("{} is not an instruction baseline", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(InstructionsBaseline::default()),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}
