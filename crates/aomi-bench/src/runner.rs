//! Runs the benchmark's scenarios against a server and the stub model behind it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aomi_core::{FinishReason, Role, ToolState};
use futures::future::join_all;
use indicatif::ProgressBar;

use crate::Error;
use crate::chain::ChainBench;
use crate::client::{ChatClient, TurnOutcome};
use crate::direct::{DirectChat, DirectOutcome};
use crate::report::{
    BenchReport, Integrity, Latencies, LoadPoint, Machine, Memory, Problem, REPORT_VERSION, RelayPoint, Samples,
    TurnPoint,
};
use crate::scenario::BenchConfig;
use crate::server::{Target, cpu_since, cpu_time, rss_bytes};
use crate::stub::{ANSWER, TurnKind};

/// A system prompt of about the size of aomi's, for the direct calls.
const DIRECT_SYSTEM: &str = "You are an assistant for EVM blockchains. You read the chain with your tools, explain \
what you find plainly, and prepare transactions that the user's own wallet simulates, shows and signs. Never \
invent addresses, balances or amounts. When a tool fails, say what failed and what the user can do.";

/// How often the server's memory is sampled during a load.
const RSS_INTERVAL: Duration = Duration::from_millis(20);

/// What describes a run in its report.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The command line that started the run.
    pub command: String,
    /// The server under test (its build, or its URL).
    pub server: String,
}

/// Runs every scenario of `config` against `target`, whose model is the stub at `model_url` (its
/// OpenAI-compatible base URL, `…/v1`, also called directly for the baseline). `relay`, when given,
/// is a [bare relay](crate::relay) to the same stub: each load runs a third time through it, for
/// the floor under aomi's CPU per turn. `chain` is the devnet the server's chain tools read, needed
/// by chain turns and the chain-read comparison. `progress` counts turns; its length is set here.
pub async fn run(
    target: &Target,
    model_url: &str,
    relay: Option<&Target>,
    config: &BenchConfig,
    chain: Option<&ChainBench>,
    info: RunInfo,
    progress: &ProgressBar,
) -> Result<BenchReport, Error> {
    if chain.is_none() && (config.tool_heavy.chain || config.chain_reads.is_some()) {
        return Err(Error::Chain("the run reads the chain but has no devnet".into()));
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();
    let machine = Machine::this();
    let runner = Runner {
        client: ChatClient::new(&target.url),
        http: reqwest::Client::new(),
        model_url: model_url.to_owned(),
        relay: relay.cloned(),
        pid: target.pid,
        progress: progress.clone(),
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    };
    runner.client.wait_healthy(Duration::from_secs(10)).await?;
    progress.set_length(config.total_turns(relay.is_some()));

    progress.set_message("warm-up");
    let mut integrity = runner.warm_up(&config.kinds()).await;
    if !integrity.is_clean() {
        return Err(Error::Server(format!("the warm-up turns failed: {}", integrity.problems.join("; "))));
    }
    integrity = Integrity::default();
    let idle_rss_bytes = target.pid.and_then(rss_bytes);

    progress.set_message("conversation length");
    let (conversation, tally) = runner.conversation(config).await;
    integrity.merge(tally);

    progress.set_message("tool-heavy turns");
    let heavy = &config.tool_heavy;
    let (tool_heavy, tally) = runner.load(heavy.users, heavy.turns_per_user, heavy.kind()).await;
    integrity.merge(tally);

    let chain_reads = match (chain, &config.chain_reads) {
        (Some(chain), Some(reads)) => {
            progress.set_message("chain reads");
            let mut problems = Vec::new();
            let chats = runner.chat_id("reads", 0);
            let report =
                chain.compare_reads(&runner.client, &chats, reads.iterations, || progress.inc(1), &mut problems).await;
            for (label, problem) in problems {
                integrity.record(&label, vec![problem]);
            }
            Some(report)
        }
        _ => None,
    };

    let mut concurrency = Vec::new();
    for &users in &config.concurrency.users {
        progress.set_message(format!("{users} users"));
        let (point, tally) = runner.load(users, config.concurrency.turns_per_user, config.concurrency.kind).await;
        integrity.merge(tally);
        concurrency.push(point);
    }
    progress.finish_with_message("done");

    Ok(BenchReport {
        version: REPORT_VERSION,
        started_at,
        elapsed_secs: started.elapsed().as_secs_f64(),
        machine,
        command: info.command,
        server: info.server,
        config: config.clone(),
        idle_rss_bytes,
        conversation,
        concurrency,
        tool_heavy: Some(tool_heavy),
        chain_reads,
        integrity,
    })
}

struct Runner {
    client: ChatClient,
    http: reqwest::Client,
    model_url: String,
    /// The bare relay to the stub, if one runs.
    relay: Option<Target>,
    pid: Option<u32>,
    progress: ProgressBar,
    /// Keeps chat ids of runs against the same server apart.
    run_id: String,
}

impl Runner {
    fn chat_id(&self, scenario: &str, index: usize) -> String {
        format!("bench-{}-{scenario}-{index}", self.run_id)
    }

    /// A few turns of every kind, not measured: connections open, caches fill.
    async fn warm_up(&self, kinds: &[TurnKind]) -> Integrity {
        let mut integrity = Integrity::default();
        let chat = self.chat_id("warmup", 0);
        let mut direct = DirectChat::new(self.http.clone(), &self.model_url, DIRECT_SYSTEM);
        for (n, &kind) in kinds.iter().enumerate() {
            let outcome = self.client.send(&chat, &kind.user_text(n + 1), None).await;
            integrity.record("warm-up", check_aomi(&outcome, kind));
            let outcome = direct.turn(kind, n + 1).await;
            integrity.record("warm-up direct", check_direct(&outcome, kind));
        }
        integrity
    }

    /// The conversation-length scenario: chats run one after the other, every turn measured.
    async fn conversation(&self, config: &BenchConfig) -> (Vec<TurnPoint>, Integrity) {
        let turns = config.conversation_turns();
        let kind = config.conversation.kind;
        let mut integrity = Integrity::default();
        let mut aomi = vec![Samples::default(); turns];
        let mut direct = vec![Samples::default(); turns];
        for index in 0..config.conversation.chats {
            let chat = self.chat_id("conversation", index);
            for (n, samples) in aomi.iter_mut().enumerate() {
                let outcome = self.client.send(&chat, &kind.user_text(n + 1), None).await;
                integrity.record(&format!("{chat} turn {}", n + 1), check_aomi(&outcome, kind));
                samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
                self.progress.inc(1);
            }
            integrity.record(&format!("{chat} history"), check_history(&self.client, &chat, turns).await);
            let mut chat = DirectChat::new(self.http.clone(), &self.model_url, DIRECT_SYSTEM);
            for (n, samples) in direct.iter_mut().enumerate() {
                let outcome = chat.turn(kind, n + 1).await;
                integrity.record(&format!("direct chat {index} turn {}", n + 1), check_direct(&outcome, kind));
                samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
                self.progress.inc(1);
            }
        }
        let points = aomi
            .iter()
            .zip(&direct)
            .enumerate()
            .map(|(n, (aomi, direct))| TurnPoint { turn: n + 1, aomi: aomi.into(), direct: direct.into() })
            .collect();
        (points, integrity)
    }

    /// `users` at once, each running `turns` turns of `kind` in a chat of their own; then the same
    /// against the stub directly.
    async fn load(&self, users: usize, turns: usize, kind: TurnKind) -> (LoadPoint, Integrity) {
        let before = self.pid.and_then(rss_bytes);
        let cpu_before = self.pid.and_then(cpu_time);
        let sampler = self.pid.map(RssSampler::start);
        let started = Instant::now();
        let scenario = format!("{users}u-{}", kind.label());
        let results = join_all((0..users).map(|user| self.user(&scenario, user, turns, kind))).await;
        let aomi_wall = started.elapsed();
        let peak = sampler.map(RssSampler::stop);
        let after = self.pid.and_then(rss_bytes);
        let cpu = self.pid.and_then(|pid| cpu_since(pid, cpu_before));

        let rate = |wall: Duration| (users * turns) as f64 / wall.as_secs_f64().max(f64::EPSILON);
        let per_turn = |cpu: Duration| cpu.as_secs_f64() * 1000.0 / (users * turns).max(1) as f64;
        let mut integrity = Integrity::default();
        let mut aomi = Samples::default();
        for (samples, tally) in results {
            aomi.merge(samples);
            integrity.merge(tally);
        }

        let (direct, direct_wall) =
            self.direct_load("direct", &self.model_url, users, turns, kind, &mut integrity).await;
        let relay = match &self.relay {
            Some(relay) => {
                let cpu_before = relay.pid.and_then(cpu_time);
                let url = format!("{}/v1", relay.url);
                let (samples, wall) = self.direct_load("relay", &url, users, turns, kind, &mut integrity).await;
                let cpu = relay.pid.and_then(|pid| cpu_since(pid, cpu_before));
                Some(RelayPoint {
                    latencies: Latencies::from(&samples),
                    turns_per_second: rate(wall),
                    cpu_ms_per_turn: cpu.map(per_turn),
                })
            }
            None => None,
        };

        let memory = match (before, peak, after) {
            (Some(before), Some(peak), Some(after)) => {
                let peak = peak.max(before).max(after);
                let per = |bytes: u64| bytes.saturating_sub(before) / users.max(1) as u64;
                Some(Memory {
                    before_bytes: before,
                    peak_bytes: peak,
                    after_bytes: after,
                    per_session_active_bytes: per(peak),
                    per_session_retained_bytes: per(after),
                })
            }
            _ => None,
        };
        let point = LoadPoint {
            users,
            turns_per_user: turns,
            kind,
            aomi: Latencies::from(&aomi),
            direct: Latencies::from(&direct),
            aomi_turns_per_second: rate(aomi_wall),
            direct_turns_per_second: rate(direct_wall),
            memory,
            server_cpu_ms_per_turn: cpu.map(per_turn),
            relay,
        };
        (point, integrity)
    }

    async fn user(&self, scenario: &str, user: usize, turns: usize, kind: TurnKind) -> (Samples, Integrity) {
        let chat = self.chat_id(scenario, user);
        let mut samples = Samples::default();
        let mut integrity = Integrity::default();
        for n in 1..=turns {
            let outcome = self.client.send(&chat, &kind.user_text(n), None).await;
            integrity.record(&format!("{chat} turn {n}"), check_aomi(&outcome, kind));
            samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
            samples.add_tools(outcome.tool_span, &outcome.tool_calls);
            self.progress.inc(1);
        }
        integrity.record(&format!("{chat} history"), check_history(&self.client, &chat, turns).await);
        (samples, integrity)
    }

    /// `users` at once making the model calls of `turns` turns of `kind` to the OpenAI-compatible
    /// server at `model_url` (the stub, or the relay to it; `via` names which in problems); their
    /// samples and the wall time.
    async fn direct_load(
        &self,
        via: &str,
        model_url: &str,
        users: usize,
        turns: usize,
        kind: TurnKind,
        integrity: &mut Integrity,
    ) -> (Samples, Duration) {
        let started = Instant::now();
        let results = join_all((0..users).map(|user| self.direct_user(via, model_url, user, turns, kind))).await;
        let wall = started.elapsed();
        let mut direct = Samples::default();
        for (samples, tally) in results {
            direct.merge(samples);
            integrity.merge(tally);
        }
        (direct, wall)
    }

    async fn direct_user(
        &self,
        via: &str,
        model_url: &str,
        user: usize,
        turns: usize,
        kind: TurnKind,
    ) -> (Samples, Integrity) {
        let mut chat = DirectChat::new(self.http.clone(), model_url, DIRECT_SYSTEM);
        let mut samples = Samples::default();
        let mut integrity = Integrity::default();
        for n in 1..=turns {
            let outcome = chat.turn(kind, n).await;
            integrity.record(&format!("{via} user {user} turn {n}"), check_direct(&outcome, kind));
            samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
            self.progress.inc(1);
        }
        (samples, integrity)
    }
}

/// What is wrong with a turn streamed through aomi: it must end with `finish` (reason `stop`) and
/// `[DONE]`, carry no `error` part, say exactly [`ANSWER`] and have every tool call answered.
pub fn check_aomi(outcome: &TurnOutcome, kind: TurnKind) -> Vec<Problem> {
    if let Some(failure) = &outcome.failure {
        return vec![Problem::Error(failure.clone())];
    }
    let mut problems = Vec::new();
    problems.extend(outcome.error_parts().into_iter().map(|text| Problem::Error(format!("error part: {text}"))));
    if !outcome.ends_with_finish() {
        problems.push(Problem::Lost("the stream does not end with a finish part".into()));
    } else if outcome.finish_reason() != Some(FinishReason::Stop) {
        problems.push(Problem::Error(format!("the turn finished with {:?}", outcome.finish_reason())));
    }
    if !outcome.done {
        problems.push(Problem::Lost("the stream does not end with [DONE]".into()));
    }
    let message = outcome.message();
    let text = message.text();
    if text != ANSWER {
        problems.push(Problem::Lost(format!(
            "the text differs from the script ({} of {} characters arrived)",
            text.len(),
            ANSWER.len()
        )));
    }
    let answered = message.tool_parts().filter(|tool| tool.state == ToolState::OutputAvailable).count();
    for _ in answered..kind.tool_calls() {
        problems.push(Problem::Lost("a tool call has no result".into()));
    }
    problems
}

/// What is wrong with a turn of the stub called directly.
pub fn check_direct(outcome: &DirectOutcome, kind: TurnKind) -> Vec<Problem> {
    if let Some(failure) = &outcome.failure {
        return vec![Problem::Error(failure.clone())];
    }
    let mut problems = Vec::new();
    if !outcome.done {
        problems.push(Problem::Lost("a model stream does not end with [DONE]".into()));
    }
    if outcome.text != ANSWER {
        problems.push(Problem::Lost("the text differs from the script".into()));
    }
    if outcome.tool_calls != kind.tool_calls() {
        problems.push(Problem::Lost(format!("{} tool calls instead of {}", outcome.tool_calls, kind.tool_calls())));
    }
    problems
}

/// What is wrong with a chat's stored history after `turns` turns: a user and an assistant message
/// per turn, every answer whole.
pub async fn check_history(client: &ChatClient, chat_id: &str, turns: usize) -> Vec<Problem> {
    let messages = match client.messages(chat_id).await {
        Ok(messages) => messages,
        Err(error) => return vec![Problem::Error(error.to_string())],
    };
    let mut problems = Vec::new();
    if messages.len() != 2 * turns {
        problems.push(Problem::Lost(format!("{} stored messages instead of {}", messages.len(), 2 * turns)));
    }
    let wrong = messages.iter().filter(|m| m.role == Role::Assistant && m.text() != ANSWER).count();
    if wrong > 0 {
        problems.push(Problem::Lost(format!("{wrong} stored answers differ from the script")));
    }
    problems
}

/// Samples a process's resident memory in the background and keeps the highest value.
pub(crate) struct RssSampler {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub(crate) fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&peak);
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = rss_bytes(pid) {
                    seen.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(RSS_INTERVAL).await;
            }
        });
        RssSampler { peak, task }
    }

    pub(crate) fn stop(self) -> u64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed)
    }
}
