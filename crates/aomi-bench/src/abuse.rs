//! The load and abuse run (`aomi bench --abuse`): many sessions at once, each running its turns
//! against the stub model, while one client floods the server past its rate.
//!
//! The server must run with its default limits and trust this machine as a proxy
//! (`AOMI_TRUSTED_PROXIES=127.0.0.1`): every session then speaks through `X-Forwarded-For` as a
//! client IP of its own, and the flood as one more, so that the flood's limit is its own and the
//! sessions are not counted against it. The run passes when the flood was refused with 429 and
//! the sessions lost no part and saw no 5xx; timings and memory are reported, never judged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::client::ChatClient;
use crate::report::{Machine, Problem, mib};
use crate::runner::{RssSampler, check_aomi, check_history};
use crate::server::{Target, rss_bytes};
use crate::stub::TurnKind;

/// The client address the flood speaks from (a documentation range).
pub const FLOOD_IP: &str = "203.0.113.7";

/// Sizes of an abuse run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbuseConfig {
    /// Sessions at once, each in a chat and from a client IP of its own.
    pub sessions: usize,
    /// Turns each session runs, one after the other.
    pub turns: usize,
    /// Requests the flood sends (`GET /api/apps`), as fast as it can, 8 at a time.
    pub flood_requests: usize,
    /// How long the run waits after the sessions end before it reads the memory again.
    pub settle: Duration,
    /// Rounds of sessions, one after the other (the flood runs with the first): memory that
    /// stays after the first round but does not grow in the next is kept by the allocator and the
    /// database's cache, not leaked.
    pub rounds: usize,
}

impl AbuseConfig {
    /// The run whose figures docs/benchmarks.md records: 100 sessions × 20 turns.
    pub fn full() -> Self {
        AbuseConfig { sessions: 100, turns: 20, flood_requests: 2000, settle: Duration::from_secs(5), rounds: 2 }
    }

    /// A short run for `make test`.
    pub fn quick() -> Self {
        AbuseConfig { sessions: 20, turns: 6, flood_requests: 600, settle: Duration::from_secs(1), rounds: 2 }
    }
}

/// What an abuse run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbuseReport {
    /// The sizes.
    pub sessions: usize,
    /// Turns per session.
    pub turns: usize,
    /// Turns that ended whole.
    pub turns_whole: usize,
    /// Parts lost (a turn or a stored history that differs from the script).
    pub lost_parts: usize,
    /// Answers of status 5xx to the sessions.
    pub server_errors: usize,
    /// Other failures of the sessions (a refusal, a broken connection), with the first few.
    pub other_errors: usize,
    /// The first problems, for a person.
    pub problems: Vec<String>,
    /// Flood requests sent.
    pub flood_sent: usize,
    /// Flood requests refused with 429.
    pub flood_refused: usize,
    /// Flood requests answered 200.
    pub flood_answered: usize,
    /// Flood requests answered otherwise (5xx included) or not at all.
    pub flood_other: usize,
    /// Wall time of the sessions, in seconds.
    pub elapsed_secs: f64,
    /// Server memory before the sessions, at their peak, and once they ended (bytes).
    pub rss_before: Option<u64>,
    /// The highest resident memory seen while the sessions ran.
    pub rss_peak: Option<u64>,
    /// Resident memory after the sessions and the settle time.
    pub rss_after: Option<u64>,
    /// Resident memory after each round of sessions (and the settle time), in bytes.
    #[serde(default)]
    pub rss_after_rounds: Vec<u64>,
    /// The machine.
    pub machine: Option<Machine>,
}

impl AbuseReport {
    /// True when the flood was refused and the sessions lost nothing and saw no 5xx.
    pub fn passed(&self) -> bool {
        self.lost_parts == 0 && self.server_errors == 0 && self.other_errors == 0 && self.flood_refused > 0
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let memory = |bytes: Option<u64>| bytes.map_or("n/a".to_owned(), |bytes| format!("{} MiB", mib(bytes)));
        let turns = self.sessions * self.turns * self.rss_after_rounds.len().max(1);
        let rounds: Vec<String> = self.rss_after_rounds.iter().map(|bytes| mib(*bytes)).collect();
        let mut text = String::from("## Load and abuse run\n\n| figure | value |\n|---|---|\n");
        let rows = [
            (
                "sessions × turns × rounds",
                format!("{} × {} × {} = {turns}", self.sessions, self.turns, self.rss_after_rounds.len().max(1)),
            ),
            ("turns whole", format!("{} of {turns}", self.turns_whole)),
            ("lost parts", self.lost_parts.to_string()),
            ("5xx answers to the sessions", self.server_errors.to_string()),
            ("other session failures", self.other_errors.to_string()),
            ("flood requests (one IP)", self.flood_sent.to_string()),
            ("flood refused with 429", self.flood_refused.to_string()),
            ("flood answered 200", self.flood_answered.to_string()),
            ("flood answered otherwise", self.flood_other.to_string()),
            ("first round's wall time", format!("{:.1} s", self.elapsed_secs)),
            ("server RSS before", memory(self.rss_before)),
            ("server RSS at peak", memory(self.rss_peak)),
            ("server RSS after", memory(self.rss_after)),
            ("server RSS after each round", format!("{} MiB", rounds.join(" / "))),
        ];
        for (name, value) in rows {
            text.push_str(&format!("| {name} | {value} |\n"));
        }
        if let Some(machine) = &self.machine {
            text.push_str(&format!("\nMachine: {} cores, {}, {}\n", machine.cores, machine.cpu, machine.os));
        }
        for problem in &self.problems {
            text.push_str(&format!("\n- {problem}"));
        }
        text
    }
}

/// The client IP of session `n` (a private range; distinct for 65 536 sessions).
fn session_ip(n: usize) -> String {
    format!("10.77.{}.{}", (n / 256) % 256, n % 256)
}

/// Runs the sessions and the flood against `target` (see the module doc); `progress` counts turns.
pub async fn run(target: &Target, config: &AbuseConfig, progress: &ProgressBar) -> Result<AbuseReport, Error> {
    let warm = ChatClient::forwarded_for(&target.url, &session_ip(65_535))?;
    warm.wait_healthy(Duration::from_secs(10)).await?;
    // A warm-up turn: connections and caches are ready before the memory is read.
    let outcome = warm.send(&format!("abuse-warmup-{}", uuid::Uuid::new_v4().simple()), "hello", None).await;
    if let Some(failure) = outcome.failure {
        return Err(Error::Server(format!("the warm-up turn failed: {failure}")));
    }
    let rounds = config.rounds.max(1);
    progress.set_length((config.sessions * config.turns * rounds) as u64);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut report = AbuseReport {
        sessions: config.sessions,
        turns: config.turns,
        rss_before: target.pid.and_then(rss_bytes),
        machine: Some(Machine::this()),
        ..AbuseReport::default()
    };
    let sampler = target.pid.map(RssSampler::start);
    let started = Instant::now();
    let sessions = join_all((0..config.sessions).map(|n| session(target, &run_id, n, config.turns, progress)));
    let flood = flood(&target.url, config.flood_requests);
    let (results, flood) = tokio::join!(sessions, flood);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.rss_peak = sampler.map(RssSampler::stop);
    let flood = flood?;
    tokio::time::sleep(config.settle).await;
    report.rss_after = target.pid.and_then(rss_bytes);
    report.rss_after_rounds.extend(report.rss_after);
    (report.flood_sent, report.flood_answered, report.flood_refused, report.flood_other) = flood;
    let mut results = results;
    for round in 1..rounds {
        let run_id = format!("{run_id}-{round}");
        let sessions = (0..config.sessions).map(|n| session(target, &run_id, n, config.turns, progress));
        results.extend(join_all(sessions).await);
        tokio::time::sleep(config.settle).await;
        report.rss_after = target.pid.and_then(rss_bytes);
        report.rss_after_rounds.extend(report.rss_after);
    }
    for tally in results {
        let tally = tally?;
        report.turns_whole += tally.whole;
        report.lost_parts += tally.lost;
        report.server_errors += tally.server_errors;
        report.other_errors += tally.other;
        for problem in tally.problems {
            if report.problems.len() < 5 {
                report.problems.push(problem);
            }
        }
    }
    if report.flood_refused == 0 {
        report.problems.push("the flood was never refused with 429".into());
    }
    Ok(report)
}

#[derive(Debug, Default)]
struct Tally {
    whole: usize,
    lost: usize,
    server_errors: usize,
    other: usize,
    problems: Vec<String>,
}

impl Tally {
    fn add(&mut self, label: &str, problems: Vec<Problem>) {
        if problems.is_empty() {
            return;
        }
        for problem in problems {
            match &problem {
                Problem::Lost(_) => self.lost += 1,
                Problem::Error(text) if text.contains("answered 5") => self.server_errors += 1,
                Problem::Error(_) => self.other += 1,
            }
            let (Problem::Lost(text) | Problem::Error(text)) = problem;
            self.problems.push(format!("{label}: {text}"));
        }
    }
}

/// One session: its turns one after the other, then its stored history.
async fn session(
    target: &Target,
    run_id: &str,
    n: usize,
    turns: usize,
    progress: &ProgressBar,
) -> Result<Tally, Error> {
    let client = ChatClient::forwarded_for(&target.url, &session_ip(n))?;
    let chat = format!("abuse-{run_id}-{n}");
    let mut tally = Tally::default();
    for turn in 1..=turns {
        let outcome = client.send(&chat, &TurnKind::Text.user_text(turn), None).await;
        let problems = check_aomi(&outcome, TurnKind::Text);
        if problems.is_empty() {
            tally.whole += 1;
        }
        tally.add(&format!("{chat} turn {turn}"), problems);
        progress.inc(1);
    }
    tally.add(&format!("{chat} history"), check_history(&client, &chat, turns).await);
    Ok(tally)
}

/// Sends `requests` requests from [`FLOOD_IP`], 8 at a time; answers (sent, 200, 429, other).
async fn flood(base_url: &str, requests: usize) -> Result<(usize, usize, usize, usize), Error> {
    let http = reqwest::Client::builder()
        .default_headers(forwarded_header(FLOOD_IP)?)
        .build()
        .map_err(|e| Error::Http(e.to_string()))?;
    let url = format!("{}/api/apps", base_url.trim_end_matches('/'));
    let next = Arc::new(AtomicU64::new(0));
    let workers = (0..8).map(|_| {
        let (http, url, next) = (http.clone(), url.clone(), Arc::clone(&next));
        async move {
            let mut counts = (0, 0, 0, 0);
            while next.fetch_add(1, Ordering::Relaxed) < requests as u64 {
                counts.0 += 1;
                match http.get(&url).send().await.map(|r| r.status().as_u16()) {
                    Ok(200) => counts.1 += 1,
                    Ok(429) => counts.2 += 1,
                    _ => counts.3 += 1,
                }
            }
            counts
        }
    });
    let mut total = (0, 0, 0, 0);
    for counts in join_all(workers).await {
        total = (total.0 + counts.0, total.1 + counts.1, total.2 + counts.2, total.3 + counts.3);
    }
    Ok(total)
}

/// `X-Forwarded-For: <ip>` as default headers.
pub(crate) fn forwarded_header(ip: &str) -> Result<reqwest::header::HeaderMap, Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = ip.parse().map_err(|_| Error::Http(format!("{ip} is not a header value")))?;
    headers.insert("x-forwarded-for", value);
    Ok(headers)
}
