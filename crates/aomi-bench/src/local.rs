//! A real model through aomi vs called directly: time to first token and tokens per second, in one
//! run (`aomi bench --local-model <url>`).
//!
//! aomi's server talks to the model through a [`RecordingProxy`], so each turn's exact request
//! (aomi's system prompt, tools and history) is known; right after the turn, the same request is
//! sent to the model directly. Both sides pay for the same prompt, so the difference is aomi's own
//! cost. Turns alternate between the two, so load on the machine falls on both alike. A token is
//! one streamed chunk: llama.cpp servers stream one token per chunk (aomi passes each on as one
//! text part).

use std::time::{Duration, Instant};

use aomi_testkit::RecordingProxy;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::client::ChatClient;
use crate::stats::Summary;

/// One side's figures over the run.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Time to the first token of the answer (ms).
    pub ttft: Option<Summary>,
    /// Tokens per second after the first token, one value per turn.
    pub tokens_per_second: Vec<f64>,
    /// Tokens streamed, per turn.
    pub tokens: Vec<usize>,
    /// What went wrong in turns that failed.
    pub failures: Vec<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LocalModelReport {
    /// The model, as aomi names it.
    pub model: String,
    /// Turns per side.
    pub turns: usize,
    /// The model called directly with aomi's requests.
    pub direct: Side,
    /// The model through `aomi serve`.
    pub aomi: Side,
}

/// One streamed answer's timing.
struct Timed {
    ttft: Option<Duration>,
    last: Option<Duration>,
    tokens: usize,
    failure: Option<String>,
}

impl Timed {
    fn rate(&self) -> Option<f64> {
        let span = self.last?.checked_sub(self.ttft?)?.as_secs_f64();
        (self.tokens > 1 && span > 0.0).then(|| (self.tokens - 1) as f64 / span)
    }
}

/// Runs `turns` turns through `aomi` (whose model is behind `proxy`, served at `model_url`, the
/// server's root) and the same requests directly.
pub async fn run(
    aomi: &ChatClient,
    proxy: &RecordingProxy,
    model_url: &str,
    model: &str,
    turns: usize,
    prompt: &str,
) -> Result<LocalModelReport, Error> {
    let http = reqwest::Client::new();
    let mut timed_aomi = Vec::new();
    let mut timed_direct = Vec::new();
    for turn in 0..turns {
        let seen = proxy.requests().len();
        let chat_id = format!("local-bench-{}-{turn}", std::process::id());
        let outcome = aomi.send(&chat_id, prompt, None).await;
        let deltas = outcome.chunks.iter().filter(|c| matches!(c, aomi_core::UiChunk::TextDelta { .. })).count();
        let mut failure = outcome.failure.clone();
        if let Some(error) = outcome.error_parts().first() {
            failure.get_or_insert_with(|| (*error).to_owned());
        }
        timed_aomi.push(Timed { ttft: outcome.first_text, last: outcome.last_text, tokens: deltas, failure });
        let Some(request) = proxy.requests().into_iter().nth(seen) else {
            return Err(Error::Server("aomi sent the model no request".into()));
        };
        timed_direct.push(direct(&http, model_url, &request.path, &request.body).await);
    }
    Ok(LocalModelReport { model: model.to_owned(), turns, direct: side(&timed_direct), aomi: side(&timed_aomi) })
}

fn side(timed: &[Timed]) -> Side {
    let ttfts: Vec<Duration> = timed.iter().filter(|t| t.failure.is_none()).filter_map(|t| t.ttft).collect();
    Side {
        ttft: Summary::of(&ttfts),
        tokens_per_second: timed.iter().filter(|t| t.failure.is_none()).filter_map(Timed::rate).collect(),
        tokens: timed.iter().map(|t| t.tokens).collect(),
        failures: timed.iter().filter_map(|t| t.failure.clone()).collect(),
    }
}

/// Sends `body` to the model at `model_url` + `path` and times its streamed content.
async fn direct(http: &reqwest::Client, model_url: &str, path: &str, body: &Value) -> Timed {
    let started = Instant::now();
    let mut timed = Timed { ttft: None, last: None, tokens: 0, failure: None };
    let response = match http.post(format!("{}{path}", model_url.trim_end_matches('/'))).json(body).send().await {
        Ok(response) if response.status().is_success() => response,
        Ok(response) => {
            timed.failure = Some(format!("HTTP {}", response.status()));
            return timed;
        }
        Err(error) => {
            timed.failure = Some(error.to_string());
            return timed;
        }
    };
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let Ok(event) = event else {
            timed.failure = Some("the stream broke".into());
            break;
        };
        if event.data == "[DONE]" {
            break;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else { continue };
        let content = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str).unwrap_or_default();
        if !content.is_empty() {
            let now = started.elapsed();
            timed.ttft.get_or_insert(now);
            timed.last = Some(now);
            timed.tokens += 1;
        }
    }
    timed
}

impl LocalModelReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let ms = |s: &Option<Summary>| s.map_or("-".into(), |s| format!("{:.0} / {:.0}", s.p50_ms, s.mean_ms));
        let rate = |rates: &[f64]| {
            if rates.is_empty() {
                return "-".to_owned();
            }
            let mut sorted = rates.to_vec();
            sorted.sort_by(f64::total_cmp);
            format!("{:.1} / {:.1}", sorted[sorted.len() / 2], rates.iter().sum::<f64>() / rates.len() as f64)
        };
        let tokens = |t: &[usize]| t.iter().sum::<usize>();
        let mut out = format!(
            "### Local model `{}`: direct vs through aomi ({} turns each, alternating)\n\n\
             | | time to first token, p50 / mean (ms) | tokens/s after it, p50 / mean | tokens | failed turns |\n\
             |---|---:|---:|---:|---:|\n",
            self.model, self.turns
        );
        for (name, side) in [("direct (aomi's request)", &self.direct), ("through aomi", &self.aomi)] {
            out.push_str(&format!(
                "| {name} | {} | {} | {} | {} |\n",
                ms(&side.ttft),
                rate(&side.tokens_per_second),
                tokens(&side.tokens),
                side.failures.len()
            ));
        }
        for failure in self.direct.failures.iter().chain(&self.aomi.failures).take(3) {
            out.push_str(&format!("\nfailure: {failure}"));
        }
        out
    }
}
