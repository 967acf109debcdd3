//! The soak run: users open new chats all along and run text turns against the stub model for a
//! set time while the server's resident memory is sampled from `/proc`; then whether that memory
//! is flat once warmed up (the slope of its second half). Before it, the memory an idle chat
//! keeps: many chats of one turn each, RSS before and after, divided by their number.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::Error;
use crate::client::ChatClient;
use crate::report::{Integrity, Machine, Samples, mib};
use crate::runner::{RunInfo, check_aomi, check_history};
use crate::scenario::StubPace;
use crate::server::{Target, rss_bytes};
use crate::stats::Summary;
use crate::stub::TurnKind;

/// The version of the soak report's JSON shape.
pub const SOAK_VERSION: u32 = 1;

/// Turns of the warm-up, not measured.
const WARM_UP_TURNS: usize = 5;

/// A slope is "flat" when it would grow the mean RSS by less than this share in an hour.
const FLAT_PER_HOUR: f64 = 0.05;

/// What a soak run does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakConfig {
    /// The stub model's pace.
    pub stub: StubPace,
    /// How long the users run, in seconds.
    pub duration_secs: f64,
    /// Simultaneous users; each opens a new chat after `turns_per_chat` turns.
    pub users: usize,
    /// Text turns in each chat before its user opens the next.
    pub turns_per_chat: usize,
    /// How often the server's RSS is read, in seconds.
    pub sample_every_secs: f64,
    /// Chats of one turn each made for the idle-chat figure (0: not measured).
    pub idle_chats: usize,
    /// How many of those are made at once.
    pub idle_concurrency: usize,
    /// How long they sit idle before RSS is read again, in seconds.
    pub idle_settle_secs: f64,
}

impl SoakConfig {
    /// `minutes` of `users` users, with the full benchmark's stub pace, sampled every 5 s (in runs
    /// under 100 s, 20 times), after 2000 idle chats.
    pub fn new(minutes: f64, users: usize) -> Self {
        SoakConfig {
            stub: StubPace { ttft_ms: 100, tokens_per_second: 200.0, chars_per_token: 4 },
            duration_secs: minutes * 60.0,
            users,
            turns_per_chat: 3,
            // Every 5 s, or more often in a short run so that its second half still has a slope.
            sample_every_secs: (minutes * 60.0 / 20.0).clamp(0.5, 5.0),
            idle_chats: 2000,
            idle_concurrency: 50,
            idle_settle_secs: 5.0,
        }
    }
}

/// One reading of the server's memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RssSample {
    /// Seconds since the users started.
    pub at_secs: f64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
    /// Turns finished by then.
    pub turns: u64,
}

/// The memory idle chats keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IdleChats {
    /// Chats made, one turn each.
    pub chats: usize,
    /// RSS before the first, in bytes.
    pub before_bytes: u64,
    /// RSS once they all sat idle, in bytes.
    pub after_bytes: u64,
    /// (after − before) / chats, in bytes (negative when the server gave memory back).
    pub per_chat_bytes: f64,
}

/// A whole soak run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakReport {
    /// [`SOAK_VERSION`].
    pub version: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// The machine.
    pub machine: Machine,
    /// The command that produced it.
    pub command: String,
    /// The server, as the caller describes it.
    pub server: String,
    /// What the run did.
    pub config: SoakConfig,
    /// The idle-chat figure, when measured.
    pub idle: Option<IdleChats>,
    /// The server's RSS over the run, in time order.
    pub samples: Vec<RssSample>,
    /// Chats opened by the users.
    pub chats: usize,
    /// Turns the users ran.
    pub turns: usize,
    /// The users' wall time, in seconds (the set time, plus the chats under way then).
    pub elapsed_secs: f64,
    /// Time to first text of the users' turns.
    pub first_text: Option<Summary>,
    /// Time to the end of the users' turns.
    pub full_turn: Option<Summary>,
    /// The RSS slope over the second half of the samples (least squares), in KiB per minute.
    pub second_half_slope_kib_per_min: Option<f64>,
    /// Errors and lost parts of every turn (idle chats' too).
    pub integrity: Integrity,
}

impl SoakReport {
    /// Writes `soak.md`, `soak.json` (every sample) and the plot `memory-over-time.svg` into
    /// `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let markdown = dir.join("soak.md");
        let json = dir.join("soak.json");
        write_file(&markdown, self.to_markdown())?;
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Io(format!("cannot encode the report: {e}")))?;
        write_file(&json, text)?;
        let plot = crate::plot::write_memory_over_time(self, dir)?;
        Ok(vec![markdown, json, plot])
    }

    /// Whether RSS was flat after warm-up: "flat", "growing" or "shrinking", by whether the
    /// second half's slope would move the mean RSS by [`FLAT_PER_HOUR`] or more in an hour; `None`
    /// with fewer than two samples in the second half.
    pub fn verdict(&self) -> Option<&'static str> {
        let slope = self.second_half_slope_kib_per_min?;
        let mean_kib =
            self.samples.iter().map(|s| s.rss_bytes as f64 / 1024.0).sum::<f64>() / self.samples.len().max(1) as f64;
        let per_hour = slope * 60.0 / mean_kib.max(1.0);
        Some(if per_hour.abs() < FLAT_PER_HOUR {
            "flat"
        } else if per_hour > 0.0 {
            "growing"
        } else {
            "shrinking"
        })
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# aomi bench --soak-minutes\n\n");
        let c = &self.config;
        let _ = writeln!(
            out,
            "- command: `{}`\n- machine: {} cores, {}, load average {} at the start\n- server: {}\n- started: {}\n\
             - {} users for {:.0} s, {} text turns per chat, RSS read every {} s; stub model: time to first \
             token {} ms, {} tokens/s",
            self.command,
            self.machine.cores,
            self.machine.cpu,
            self.machine.load_average,
            self.server,
            self.started_at,
            c.users,
            c.duration_secs,
            c.turns_per_chat,
            c.sample_every_secs,
            c.stub.ttft_ms,
            c.stub.tokens_per_second
        );
        let i = &self.integrity;
        let _ = writeln!(out, "- turns checked: {}, errors: {}, lost parts: {}\n", i.turns, i.errors, i.lost_parts);
        if let Some(idle) = &self.idle {
            let _ = writeln!(
                out,
                "- RSS per idle chat: {:.1} KiB ({} chats of one turn each: {} MiB before, {} MiB after {} s idle)",
                idle.per_chat_bytes / 1024.0,
                idle.chats,
                mib(idle.before_bytes),
                mib(idle.after_bytes),
                c.idle_settle_secs
            );
        }
        let rate = self.turns as f64 / self.elapsed_secs.max(f64::EPSILON);
        let _ = writeln!(
            out,
            "- {} chats, {} turns in {:.0} s ({rate:.1} turns/s)",
            self.chats, self.turns, self.elapsed_secs
        );
        let p = |s: Option<Summary>| {
            s.map(|s| format!("{:.1} / {:.1} ms", s.p50_ms, s.p95_ms)).unwrap_or_else(|| "–".into())
        };
        let _ =
            writeln!(out, "- first text p50 / p95: {}; full turn p50 / p95: {}", p(self.first_text), p(self.full_turn));
        let rss: Vec<u64> = self.samples.iter().map(|s| s.rss_bytes).collect();
        if let (Some(first), Some(last), Some(min), Some(max)) =
            (rss.first(), rss.last(), rss.iter().min(), rss.iter().max())
        {
            let _ = writeln!(
                out,
                "- RSS ({} samples): {} MiB at the start, {} MiB at the end, {}–{} MiB",
                rss.len(),
                mib(*first),
                mib(*last),
                mib(*min),
                mib(*max)
            );
        }
        match (self.second_half_slope_kib_per_min, self.verdict()) {
            (Some(slope), Some(verdict)) => {
                let _ = writeln!(out, "- RSS over the second half: {slope:+.1} KiB/min ({verdict})");
            }
            _ => {
                let _ = writeln!(out, "- RSS over the second half: too few samples for a slope");
            }
        }
        if !i.problems.is_empty() {
            let _ = writeln!(out, "\n## Problems\n");
            for problem in &i.problems {
                let _ = writeln!(out, "- {problem}");
            }
        }
        out
    }
}

/// Writes `text` to `path`, creating its folder.
pub(crate) fn write_file(path: &Path, text: String) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}

/// The least-squares slope of RSS over time, over the samples of the second half of the run,
/// in KiB per minute; `None` with fewer than two of them.
pub fn second_half_slope(samples: &[RssSample]) -> Option<f64> {
    let half = samples.last()?.at_secs / 2.0;
    let points: Vec<(f64, f64)> =
        samples.iter().filter(|s| s.at_secs >= half).map(|s| (s.at_secs / 60.0, s.rss_bytes as f64 / 1024.0)).collect();
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Runs the soak against `target`, whose model is the stub answering [`TurnKind::Text`] turns;
/// its process must be known (its memory is the point). `progress` counts turns.
pub async fn run(
    target: &Target,
    config: &SoakConfig,
    info: RunInfo,
    progress: &ProgressBar,
) -> Result<SoakReport, Error> {
    let pid = target.pid.ok_or_else(|| Error::Server("the soak run reads the server's memory: give its pid".into()))?;
    let client = ChatClient::new(&target.url);
    client.wait_healthy(Duration::from_secs(10)).await?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    progress.set_message("warm-up");
    let mut integrity = Integrity::default();
    let warm_up = format!("soak-{run_id}-warmup");
    for n in 1..=WARM_UP_TURNS {
        let outcome = client.send(&warm_up, &TurnKind::Text.user_text(n), None).await;
        integrity.record("warm-up", check_aomi(&outcome, TurnKind::Text));
    }
    if !integrity.is_clean() {
        return Err(Error::Server(format!("the warm-up turns failed: {}", integrity.problems.join("; "))));
    }
    integrity = Integrity::default();

    let idle = if config.idle_chats > 0 {
        progress.set_message(format!("{} idle chats", config.idle_chats));
        Some(idle_chats(&client, pid, config, &run_id, &mut integrity, progress).await?)
    } else {
        None
    };

    progress.set_message(format!("{} users", config.users));
    let turns = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (stop, stopped) = oneshot::channel();
    let sampler = tokio::spawn(sample_rss(
        pid,
        started,
        Duration::from_secs_f64(config.sample_every_secs),
        Arc::clone(&turns),
        stopped,
    ));
    let deadline = Duration::from_secs_f64(config.duration_secs);
    let users = (0..config.users).map(|user| {
        let client = &client;
        let turns = &turns;
        let run_id = &run_id;
        async move {
            let mut samples = Samples::default();
            let mut tally = Integrity::default();
            let mut chats = 0;
            while started.elapsed() < deadline {
                let chat = format!("soak-{run_id}-{user}-{chats}");
                for n in 1..=config.turns_per_chat {
                    let outcome = client.send(&chat, &TurnKind::Text.user_text(n), None).await;
                    tally.record(&format!("{chat} turn {n}"), check_aomi(&outcome, TurnKind::Text));
                    samples.add(outcome.first_part, outcome.first_token, outcome.first_text, outcome.total);
                    turns.fetch_add(1, Ordering::Relaxed);
                    progress.inc(1);
                }
                tally.record(&format!("{chat} history"), check_history(client, &chat, config.turns_per_chat).await);
                chats += 1;
            }
            (samples, tally, chats)
        }
    });
    let results = join_all(users).await;
    let elapsed_secs = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let samples = sampler.await.map_err(|e| Error::Server(format!("the RSS sampler failed: {e}")))?;
    progress.finish_with_message("done");

    let mut all = Samples::default();
    let mut chats = 0;
    for (samples, tally, opened) in results {
        all.merge(samples);
        integrity.merge(tally);
        chats += opened;
    }
    Ok(SoakReport {
        version: SOAK_VERSION,
        started_at,
        machine: Machine::this(),
        command: info.command,
        server: info.server,
        config: config.clone(),
        idle,
        second_half_slope_kib_per_min: second_half_slope(&samples),
        samples,
        chats,
        turns: all.full_turn.len(),
        elapsed_secs,
        first_text: Summary::of(&all.first_text),
        full_turn: Summary::of(&all.full_turn),
        integrity,
    })
}

/// Makes `config.idle_chats` chats of one turn each, lets them sit idle, and reads RSS before and after.
async fn idle_chats(
    client: &ChatClient,
    pid: u32,
    config: &SoakConfig,
    run_id: &str,
    integrity: &mut Integrity,
    progress: &ProgressBar,
) -> Result<IdleChats, Error> {
    let unreadable = || Error::Server(format!("cannot read the memory of process {pid}"));
    let before_bytes = rss_bytes(pid).ok_or_else(unreadable)?;
    let outcomes: Vec<_> = futures::stream::iter(0..config.idle_chats)
        .map(|index| async move {
            let chat = format!("soak-{run_id}-idle-{index}");
            let outcome = client.send(&chat, &TurnKind::Text.user_text(1), None).await;
            progress.inc(1);
            (chat, check_aomi(&outcome, TurnKind::Text))
        })
        .buffer_unordered(config.idle_concurrency.max(1))
        .collect()
        .await;
    for (chat, problems) in outcomes {
        integrity.record(&chat, problems);
    }
    tokio::time::sleep(Duration::from_secs_f64(config.idle_settle_secs)).await;
    let after_bytes = rss_bytes(pid).ok_or_else(unreadable)?;
    let chats = config.idle_chats;
    let per_chat_bytes = (after_bytes as f64 - before_bytes as f64) / chats as f64;
    Ok(IdleChats { chats, before_bytes, after_bytes, per_chat_bytes })
}

/// Reads the RSS of `pid` now and every `every` until `stopped`, and once more then.
async fn sample_rss(
    pid: u32,
    started: Instant,
    every: Duration,
    turns: Arc<AtomicU64>,
    mut stopped: oneshot::Receiver<()>,
) -> Vec<RssSample> {
    let read = || {
        rss_bytes(pid).map(|rss_bytes| RssSample {
            at_secs: started.elapsed().as_secs_f64(),
            rss_bytes,
            turns: turns.load(Ordering::Relaxed),
        })
    };
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => samples.extend(read()),
            _ = &mut stopped => {
                samples.extend(read());
                return samples;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_secs: f64, kib: f64) -> RssSample {
        RssSample { at_secs, rss_bytes: (kib * 1024.0) as u64, turns: 0 }
    }

    #[test]
    fn the_slope_is_of_the_second_half_in_kib_per_minute() {
        // Grows 1000 KiB/min in the first minute, then flat: the second half is flat.
        let samples: Vec<RssSample> =
            (0..=20).map(|i| i as f64 * 6.0).map(|t| sample(t, 1000.0 + 1000.0 * (t / 60.0).min(1.0))).collect();
        let slope = second_half_slope(&samples).unwrap_or(f64::NAN);
        assert!(slope.abs() < 1e-9, "{slope}");
        // Growing 60 KiB per second throughout: 3600 KiB/min.
        let samples: Vec<RssSample> = (0..10).map(|i| sample(i as f64, 1000.0 + 60.0 * i as f64)).collect();
        let slope = second_half_slope(&samples).unwrap_or(f64::NAN);
        assert!((slope - 3600.0).abs() < 1e-6, "{slope}");
        assert_eq!(second_half_slope(&samples[..1]), None);
        assert_eq!(second_half_slope(&[]), None);
    }
}
