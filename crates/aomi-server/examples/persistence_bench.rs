//! Measures persistence: turns per second through the whole server with a zero-latency stub
//! model, history load time at 1 and 50 turns, and the time to the first part of a turn at 1
//! and 50 turns of history (history loading happens before the model call, so it shows there).
//! Prints numbers; asserts nothing. SQLite always, PostgreSQL when reachable (see
//! `aomi_store::testing`).
//!
//! ```sh
//! cargo run --release -p aomi-server --example persistence_bench
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aomi_agent::{AppRegistry, DefaultApp, DefaultAppConfig};
use aomi_core::UiChunk;
use aomi_core::stream::DONE;
use aomi_llm::{LlmClient, ModelConfig};
use aomi_server::{AppState, Backend, ServerConfig};
use aomi_store::testing::{TempDir, TestPostgres};
use aomi_store::{Store, StoreConfig};
use aomi_testkit::{Reply, Script, StubModel};
use aomi_tools::ToolRegistry;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::json;

const OWNER: &str = "0xbe0c000000000000000000000000000000000001";
const SEQUENTIAL_TURNS: usize = 200;
const CLIENTS: usize = 8;
const TURNS_PER_CLIENT: usize = 25;
const LOADS: usize = 200;
const SAMPLES: usize = 20;

/// About 400 characters, the size of a short real answer.
const ANSWER: &str = "Your wallet holds 1.25 ETH on Base and 300 USDC. The USDC approval you gave to the \
                      router last week is unlimited; you may want to lower it. Gas is cheap right now, \
                      about 0.01 gwei, so a swap would cost well under a cent. Tell me which token you \
                      want to swap and how much, and I will prepare the transaction for your wallet to \
                      simulate and sign.";

struct Server {
    url: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    _stub: StubModel,
}

impl Server {
    async fn start(store: Arc<dyn Store>) -> Server {
        let stub = StubModel::start(Script::new().fallback(Reply::text(ANSWER))).await.unwrap();
        let mut config = ModelConfig::parse("openai:stub-model").unwrap();
        config.api_key = Some("bench".into());
        config.base_url = Some(stub.openai_base_url());
        let app =
            DefaultApp::new(Some(LlmClient::new(config).unwrap()), ToolRegistry::new(), DefaultAppConfig::default());
        let backend = Backend::new(AppRegistry::new().with(Arc::new(app)), Arc::clone(&store));
        backend.start().await.unwrap();
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let config = ServerConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
        tokio::spawn(aomi_server::serve(
            AppState { backend },
            config,
            move |addr| {
                let _ = bound_tx.send(addr);
            },
            std::future::pending(),
        ));
        let addr = bound_rx.await.unwrap();
        Server { url: format!("http://{addr}"), store, http: reqwest::Client::new(), _stub: stub }
    }

    /// One turn; returns the times from the request to `start` and to the first text delta.
    async fn turn(&self, chat_id: &str, text: &str) -> (Duration, Duration) {
        let body = json!({
            "id": chat_id,
            "message": { "id": format!("u-{}", uuid::Uuid::new_v4().simple()), "role": "user",
                         "parts": [{ "type": "text", "text": text }] },
            "wallet": { "chainId": 8453, "address": OWNER }
        });
        let sent = Instant::now();
        let response = self.http.post(format!("{}/api/chat", self.url)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut events = response.bytes_stream().eventsource();
        let (mut start, mut first_text) = (None, None);
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            if event.data == DONE {
                break;
            }
            match serde_json::from_str::<UiChunk>(&event.data).unwrap() {
                UiChunk::Start { .. } => start = start.or(Some(sent.elapsed())),
                UiChunk::TextDelta { .. } => first_text = first_text.or(Some(sent.elapsed())),
                _ => {}
            }
        }
        (start.unwrap(), first_text.unwrap())
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p95(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 95 / 100).min(samples.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

async fn bench(name: &str, store: Arc<dyn Store>) {
    let server = Arc::new(Server::start(store).await);
    // Warm up connections and caches.
    for i in 0..10 {
        server.turn(&format!("warm-{i}"), "hello").await;
    }

    let started = Instant::now();
    for i in 0..SEQUENTIAL_TURNS {
        server.turn(&format!("seq-{i}"), "what is in my wallet?").await;
    }
    let sequential = SEQUENTIAL_TURNS as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                for i in 0..TURNS_PER_CLIENT {
                    server.turn(&format!("par-{client}-{i}"), "what is in my wallet?").await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let concurrent = (CLIENTS * TURNS_PER_CLIENT) as f64 / started.elapsed().as_secs_f64();

    // Chats of 1 and of 50 turns (SAMPLES of each, so that every sample meets the same length).
    for i in 0..SAMPLES {
        server.turn(&format!("short-{i}"), "what is in my wallet?").await;
        for turn in 0..50 {
            server.turn(&format!("long-{i}"), &format!("question number {turn} about my wallet")).await;
        }
    }
    let mut loads = Vec::new();
    for chat in ["short-0", "long-0"] {
        let messages = server.store.messages(chat).await.unwrap().len();
        let mut samples = Vec::with_capacity(LOADS);
        for _ in 0..LOADS {
            let started = Instant::now();
            let _ = server.store.messages(chat).await.unwrap();
            samples.push(started.elapsed());
        }
        loads.push((messages / 2, median(samples.clone()), p95(samples)));
    }
    let mut first_parts = Vec::new();
    for prefix in ["short", "long"] {
        let (mut start, mut text) = (Vec::new(), Vec::new());
        for i in 0..SAMPLES {
            let (to_start, to_text) = server.turn(&format!("{prefix}-{i}"), "and now?").await;
            start.push(to_start);
            text.push(to_text);
        }
        first_parts.push((prefix, median(start), median(text)));
    }

    println!("\n## {name}\n");
    println!("| measure | value |\n|---|---|");
    println!("| turns/s, one client, {SEQUENTIAL_TURNS} turns | {sequential:.0} |");
    println!("| turns/s, {CLIENTS} clients, {} turns | {concurrent:.0} |", CLIENTS * TURNS_PER_CLIENT);
    for (turns, median, p95) in loads {
        println!(
            "| history load, {turns} turn(s) ({} messages): median / p95 | {} / {} |",
            turns * 2,
            ms(median),
            ms(p95)
        );
    }
    for (prefix, start, text) in first_parts {
        let turns = if prefix == "short" { 1 } else { 50 };
        println!(
            "| request → `start` / → first text delta, {turns} turn(s) of history (median of {SAMPLES}) | {} / {} |",
            ms(start),
            ms(text)
        );
    }
}

#[tokio::main]
async fn main() {
    let dir = TempDir::new();
    let sqlite = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
    bench("SQLite (file, WAL)", sqlite).await;
    match TestPostgres::create().await {
        Some(pg) => {
            let store = aomi_store::connect(pg.url()).await.unwrap();
            bench("PostgreSQL (127.0.0.1)", store).await;
        }
        None => println!("\nPostgreSQL unreachable: not measured"),
    }
}
