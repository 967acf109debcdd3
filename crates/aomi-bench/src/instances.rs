//! Several aomi instances on one PostgreSQL database: users split between them (time to first
//! text, turns per second, server CPU per turn summed over the instances), and a follower of a
//! turn on another instance than the one running it, whose parts travel through the database
//! (`turn_parts`, woken by NOTIFY), against a follower on the same instance (the in-memory turn log).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::future::join_all;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::client::{ChatClient, TurnOutcome};
use crate::report::{Integrity, Machine, Problem, Samples};
use crate::runner::{RunInfo, check_aomi, check_history};
use crate::scenario::StubPace;
use crate::server::{Target, cpu_since, cpu_time};
use crate::soak::write_file;
use crate::stats::Summary;
use crate::stub::TurnKind;

/// The version of the report's JSON shape.
pub const INSTANCES_VERSION: u32 = 1;

/// How long a follower asks for a turn that has not started.
const FOLLOW_PATIENCE: Duration = Duration::from_secs(10);

/// What a run over several instances does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancesConfig {
    /// The stub model's pace.
    pub stub: StubPace,
    /// Simultaneous users, split between the instances in turn.
    pub users: usize,
    /// Text turns each user runs in a chat of their own.
    pub turns_per_user: usize,
    /// Turns followed on the instance running them and on another one, one after the other.
    pub follower_rounds: usize,
}

impl InstancesConfig {
    /// A short run, for CI and quick checks.
    pub fn quick() -> Self {
        InstancesConfig {
            stub: StubPace { ttft_ms: 20, tokens_per_second: 500.0, chars_per_token: 4 },
            users: 10,
            turns_per_user: 2,
            follower_rounds: 5,
        }
    }

    /// The run with the full benchmark's stub pace.
    pub fn full() -> Self {
        InstancesConfig {
            stub: StubPace { ttft_ms: 100, tokens_per_second: 200.0, chars_per_token: 4 },
            users: 50,
            turns_per_user: 10,
            follower_rounds: 20,
        }
    }

    /// Turns through aomi: the users' and the followed ones (the progress bar's length).
    pub fn total_turns(&self) -> u64 {
        (self.users * self.turns_per_user + self.follower_rounds) as u64
    }
}

/// When one reader of a turn saw its first text and its end, from sending the turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReaderTimes {
    /// Time to the first text delta.
    pub first_text: Option<Summary>,
    /// Time to the end of the stream.
    pub full_turn: Option<Summary>,
}

impl ReaderTimes {
    fn of(samples: &Samples) -> Self {
        ReaderTimes { first_text: Summary::of(&samples.first_text), full_turn: Summary::of(&samples.full_turn) }
    }
}

/// Followers of the same turns, on the instance running them and on another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Followers {
    /// Turns followed.
    pub rounds: usize,
    /// The client that sent the turn.
    pub sender: ReaderTimes,
    /// A follower on the instance running the turn (its in-memory turn log).
    pub same_instance: ReaderTimes,
    /// A follower on another instance (the parts through the database).
    pub other_instance: ReaderTimes,
    /// Turns whose follower on another instance got every part the sender got, in order.
    pub other_instance_whole: usize,
}

/// A run over several instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancesReport {
    /// [`INSTANCES_VERSION`].
    pub version: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// The machine.
    pub machine: Machine,
    /// The command that produced it.
    pub command: String,
    /// The servers, as the caller describes them.
    pub server: String,
    /// What the run did.
    pub config: InstancesConfig,
    /// Turns each instance served in the users' load (in the order of the targets).
    pub turns_per_instance: Vec<usize>,
    /// Time to first text over every user's turn.
    pub first_text: Option<Summary>,
    /// Time to the end of the turn over every user's turn.
    pub full_turn: Option<Summary>,
    /// Turns per second over all instances (all users' turns over the load's wall time).
    pub turns_per_second: f64,
    /// The instances' CPU time (user + system), summed, per turn of the load, in ms, when their
    /// processes are known.
    pub server_cpu_ms_per_turn: Option<f64>,
    /// The follower comparison.
    pub followers: Followers,
    /// Errors and lost parts over the whole run.
    pub integrity: Integrity,
}

impl InstancesReport {
    /// Writes `instances.md` and `instances.json` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let markdown = dir.join("instances.md");
        let json = dir.join("instances.json");
        write_file(&markdown, self.to_markdown())?;
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Io(format!("cannot encode the report: {e}")))?;
        write_file(&json, text)?;
        Ok(vec![markdown, json])
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let c = &self.config;
        let mut out = format!("# aomi bench --instances {}\n\n", self.turns_per_instance.len());
        let _ = writeln!(
            out,
            "- command: `{}`\n- machine: {} cores, {}, load average {} at the start\n- servers: {}\n- started: {}\n\
             - stub model: time to first token {} ms, {} tokens/s",
            self.command,
            self.machine.cores,
            self.machine.cpu,
            self.machine.load_average,
            self.server,
            self.started_at,
            c.stub.ttft_ms,
            c.stub.tokens_per_second
        );
        let i = &self.integrity;
        let _ = writeln!(out, "- turns checked: {}, errors: {}, lost parts: {}\n", i.turns, i.errors, i.lost_parts);
        let spread = |s: Option<Summary>| {
            s.map(|s| format!("{:.1} / {:.1} / {:.1}", s.p50_ms, s.p95_ms, s.p99_ms)).unwrap_or_else(|| "–".into())
        };
        let per_instance: Vec<String> = self.turns_per_instance.iter().map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "## {} users × {} text turns, split between the instances\n\n\
             | turns per instance | first text p50 / p95 / p99 ms | full turn p50 / p95 / p99 ms | turns/s | server CPU ms/turn (all instances) |\n\
             |---|---:|---:|---:|---:|\n| {} | {} | {} | {:.1} | {} |\n",
            c.users,
            c.turns_per_user,
            per_instance.join(" + "),
            spread(self.first_text),
            spread(self.full_turn),
            self.turns_per_second,
            crate::report::tenths(self.server_cpu_ms_per_turn)
        );
        let f = &self.followers;
        let _ = writeln!(
            out,
            "## Followers ({} turns, one at a time; times in ms from sending the turn, p50 / p95 / p99)\n\n\
             | who | first text | full turn |\n|---|---:|---:|",
            f.rounds
        );
        for (who, times) in [
            ("the client that sent the turn", &f.sender),
            ("a follower on the instance running it", &f.same_instance),
            ("a follower on another instance", &f.other_instance),
        ] {
            let _ = writeln!(out, "| {who} | {} | {} |", spread(times.first_text), spread(times.full_turn));
        }
        let _ = writeln!(
            out,
            "\nThe follower on another instance got every part of {} of {} turns.",
            f.other_instance_whole, f.rounds
        );
        if !i.problems.is_empty() {
            let _ = writeln!(out, "\n## Problems\n");
            for problem in &i.problems {
                let _ = writeln!(out, "- {problem}");
            }
        }
        out
    }
}

/// Runs the load and the followers against `targets` (two or more instances sharing one
/// PostgreSQL database, whose model is the stub answering [`TurnKind::Text`] turns).
pub async fn run(
    targets: &[Target],
    config: &InstancesConfig,
    info: RunInfo,
    progress: &ProgressBar,
) -> Result<InstancesReport, Error> {
    if targets.len() < 2 {
        return Err(Error::Server(format!("{} instance(s): the run needs two or more", targets.len())));
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let clients: Vec<ChatClient> = targets.iter().map(|t| ChatClient::new(&t.url)).collect();
    for client in &clients {
        client.wait_healthy(Duration::from_secs(10)).await?;
    }
    // Keeps chat ids of runs on the same database apart.
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    progress.set_length(config.total_turns());

    progress.set_message("warm-up");
    let mut integrity = Integrity::default();
    for (index, client) in clients.iter().enumerate() {
        let chat = format!("instances-{run_id}-warmup-{index}");
        for n in 1..=2 {
            let outcome = client.send(&chat, &TurnKind::Text.user_text(n), None).await;
            integrity.record(&format!("warm-up on instance {index}"), check_aomi(&outcome, TurnKind::Text));
        }
    }
    if !integrity.is_clean() {
        return Err(Error::Server(format!("the warm-up turns failed: {}", integrity.problems.join("; "))));
    }
    integrity = Integrity::default();

    progress.set_message(format!("{} users", config.users));
    // Each process once, should two targets be the same process.
    let pids: BTreeMap<u32, Option<Duration>> =
        targets.iter().filter_map(|t| t.pid).map(|pid| (pid, cpu_time(pid))).collect();
    let started = Instant::now();
    let users = (0..config.users).map(|user| {
        let instance = user % clients.len();
        let client = &clients[instance];
        let chat = format!("instances-{run_id}-user-{user}");
        async move {
            let mut samples = Samples::default();
            let mut tally = Integrity::default();
            for n in 1..=config.turns_per_user {
                let outcome = client.send(&chat, &TurnKind::Text.user_text(n), None).await;
                tally.record(&format!("{chat} turn {n} on instance {instance}"), check_aomi(&outcome, TurnKind::Text));
                samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
                progress.inc(1);
            }
            tally.record(&format!("{chat} history"), check_history(client, &chat, config.turns_per_user).await);
            (instance, samples, tally)
        }
    });
    let results = join_all(users).await;
    let wall = started.elapsed();
    let cpu = pids
        .iter()
        .map(|(&pid, before)| cpu_since(pid, *before))
        .sum::<Option<Duration>>()
        .filter(|_| !pids.is_empty());

    let mut turns_per_instance = vec![0; clients.len()];
    let mut all = Samples::default();
    for (instance, samples, tally) in results {
        turns_per_instance[instance] += samples.full_turn.len();
        all.merge(samples);
        integrity.merge(tally);
    }
    let turns = all.full_turn.len();

    progress.set_message("followers");
    let followers = follow(&clients, config.follower_rounds, &run_id, &mut integrity, progress).await;
    progress.finish_with_message("done");

    Ok(InstancesReport {
        version: INSTANCES_VERSION,
        started_at,
        machine: Machine::this(),
        command: info.command,
        server: info.server,
        config: config.clone(),
        turns_per_instance,
        first_text: Summary::of(&all.first_text),
        full_turn: Summary::of(&all.full_turn),
        turns_per_second: turns as f64 / wall.as_secs_f64().max(f64::EPSILON),
        server_cpu_ms_per_turn: cpu.map(|cpu| cpu.as_secs_f64() * 1000.0 / turns.max(1) as f64),
        followers,
        integrity,
    })
}

/// `rounds` turns, one at a time, each sent to one instance (in turn) and followed there and on
/// the next instance.
async fn follow(
    clients: &[ChatClient],
    rounds: usize,
    run_id: &str,
    integrity: &mut Integrity,
    progress: &ProgressBar,
) -> Followers {
    let (mut sender, mut same, mut other) = (Samples::default(), Samples::default(), Samples::default());
    let mut whole = 0;
    for round in 0..rounds {
        let (a, b) = (round % clients.len(), (round + 1) % clients.len());
        let chat = format!("instances-{run_id}-follow-{round}");
        let text = TurnKind::Text.user_text(1);
        let started = Instant::now();
        let (sent, on_a, on_b) = tokio::join!(
            clients[a].send(&chat, &text, None),
            clients[a].follow(&chat, started, FOLLOW_PATIENCE),
            clients[b].follow(&chat, started, FOLLOW_PATIENCE),
        );
        progress.inc(1);
        integrity.record(&format!("{chat} on instance {a}"), check_aomi(&sent, TurnKind::Text));
        for (instance, follower) in [(a, &on_a), (b, &on_b)] {
            let mut problems = check_aomi(follower, TurnKind::Text);
            if problems.is_empty() && !same_parts(follower, &sent) {
                problems.push(Problem::Lost(format!(
                    "the follower's {} parts differ from the {} the sender got",
                    follower.chunks.len(),
                    sent.chunks.len()
                )));
            }
            integrity.record(&format!("{chat}: follower on instance {instance}"), problems);
        }
        if sent.failure.is_none() && same_parts(&on_b, &sent) {
            whole += 1;
        }
        for (samples, outcome) in [(&mut sender, &sent), (&mut same, &on_a), (&mut other, &on_b)] {
            if outcome.failure.is_none() {
                samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
            }
        }
    }
    Followers {
        rounds,
        sender: ReaderTimes::of(&sender),
        same_instance: ReaderTimes::of(&same),
        other_instance: ReaderTimes::of(&other),
        other_instance_whole: whole,
    }
}

/// True when the follower got the whole stream, with the very parts the sender got.
fn same_parts(follower: &TurnOutcome, sent: &TurnOutcome) -> bool {
    follower.failure.is_none() && follower.done && follower.chunks == sent.chunks
}
