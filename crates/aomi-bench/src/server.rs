//! The aomi server under test: a spawned `aomi serve` child process, or one already running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::Error;

/// How long a spawned server may take to print its address.
const STARTUP: Duration = Duration::from_secs(30);

/// The variables that choose a model or a configuration, removed from a spawned server's
/// environment so that it talks to the stub and nothing else.
const MODEL_VARS: &[&str] = &[
    "AOMI_MODEL",
    "AOMI_CONFIG",
    "AOMI_BIND",
    "AOMI_DATA_DIR",
    "AOMI_DATABASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AOMI_UTILITY_MODEL",
    "AOMI_UTILITY_BASE_URL",
    "AOMI_UTILITY_API_KEY",
];

/// A server to send turns to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its base URL.
    pub url: String,
    /// Its process id, when known, to read its memory.
    pub pid: Option<u32>,
}

/// What model a spawned server talks to.
#[derive(Debug, Clone)]
pub enum ServerModel {
    /// The stub model at this OpenAI-compatible base URL (`…/v1`); every other model variable is
    /// removed from the child's environment.
    Stub(String),
    /// Whatever the environment configures (`AOMI_MODEL`, `ANTHROPIC_API_KEY`, …).
    FromEnvironment,
}

/// What a spawned server gets besides its model and data directory.
#[derive(Debug, Clone, Default)]
pub struct ServeExtras {
    /// More arguments of `aomi serve` (`--devnet`).
    pub args: Vec<String>,
    /// More environment variables (`AOMI_RPC_DEVNET`, `AOMI_DATABASE_URL`), set last.
    pub env: Vec<(String, String)>,
    /// A program that runs the server, with its arguments before the server's command line
    /// (valgrind, for the instruction counts): the process id is then the wrapper's.
    pub wrapper: Option<(PathBuf, Vec<String>)>,
    /// How long the server may take to print its address ([`STARTUP`] when `None`).
    pub startup: Option<Duration>,
}

/// `aomi serve` as a child process on a free port; killed when dropped.
#[derive(Debug)]
pub struct ServeProcess {
    child: Child,
    target: Target,
}

impl ServeProcess {
    /// Starts `program serve --bind 127.0.0.1:0` (`program` is the `aomi` binary) with `model`,
    /// keeping its state in `data_dir`, and waits until it prints its address.
    pub async fn spawn(program: &Path, model: &ServerModel, data_dir: &Path) -> Result<ServeProcess, Error> {
        Self::spawn_with(program, model, data_dir, &ServeExtras::default()).await
    }

    /// [`ServeProcess::spawn`] with more arguments and environment variables.
    pub async fn spawn_with(
        program: &Path,
        model: &ServerModel,
        data_dir: &Path,
        extras: &ServeExtras,
    ) -> Result<ServeProcess, Error> {
        let mut command = match &extras.wrapper {
            Some((wrapper, args)) => {
                let mut command = Command::new(wrapper);
                command.args(args).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.args(["serve", "--bind", "127.0.0.1:0"]).args(&extras.args);
        if let ServerModel::Stub(base_url) = model {
            for var in MODEL_VARS {
                command.env_remove(var);
            }
            // Titles would be one more model call per chat, taking a scripted reply meant for a turn.
            command
                .env("AOMI_MODEL", "openai:bench-stub")
                .env("OPENAI_BASE_URL", base_url)
                .env("AOMI_TITLES", "first-message");
        }
        command.env_remove("AOMI_DATABASE_URL");
        command.env("AOMI_DATA_DIR", data_dir);
        command.envs(extras.env.iter().map(|(name, value)| (name, value)));
        let (child, target) = listening_child(command, extras.startup).await?;
        Ok(ServeProcess { child, target })
    }

    /// Where it listens and its process id.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Starts `command`, a server that prints `listening on <url>` as its first line once it listens,
/// and waits for that line (at most `startup`, else [`STARTUP`]). The child is killed when dropped.
pub(crate) async fn listening_child(mut command: Command, startup: Option<Duration>) -> Result<(Child, Target), Error> {
    let startup = startup.unwrap_or(STARTUP);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true);
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|e| Error::Server(format!("cannot start {program}: {e}")))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or_else(|| Error::Server("no stdout from the server".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(startup, lines.next_line())
        .await
        .map_err(|_| Error::Server(format!("the server printed no address within {} s", startup.as_secs())))?
        .map_err(|e| Error::Server(format!("cannot read the server's output: {e}")))?
        .ok_or_else(|| Error::Server("the server exited before it listened".into()))?;
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| Error::Server(format!("unexpected first line from the server: {first}")))?
        .to_owned();
    // Keep reading, so that the server never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, Target { url, pid }))
}

/// The resident memory of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`); `None`
/// where that cannot be read.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU time process `pid` used so far, user and system (`/proc/<pid>/stat`, in USER_HZ ticks of
/// 1/100 s, as on every Linux architecture aomi runs on); `None` where that cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The CPU time process `pid` used since an earlier reading of [`cpu_time`], `before`; `None` when
/// either cannot be read.
pub fn cpu_since(pid: u32, before: Option<Duration>) -> Option<Duration> {
    Some(cpu_time(pid)?.saturating_sub(before?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id());
        assert!(rss.is_some_and(|bytes| bytes > 0), "{rss:?}");
        assert_eq!(rss_bytes(u32::MAX), None);
    }

    #[test]
    fn reads_our_own_cpu_time() {
        let before = cpu_time(std::process::id());
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let after = cpu_time(std::process::id());
        assert!(before.is_some() && after >= before, "{before:?} {after:?} {x}");
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
