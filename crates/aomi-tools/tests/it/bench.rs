//! Latency of `get_balance` through our tool vs Foundry's `cast balance`, same anvil, same run.
//! A benchmark: it prints figures and asserts only that both read the same balance.
//!
//! cargo test -p aomi-tools --test it bench -- --ignored --nocapture

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aomi_chain::alloy::providers::Provider;
use serde_json::json;

use crate::fixture::Chain;

const RUNS: usize = 200;

fn cast_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AOMI_CAST_BIN") {
        return path.into();
    }
    let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/node_modules/@foundry-rs");
    ["cast-linux-amd64", "cast-linux-arm64", "cast-darwin-arm64", "cast-darwin-amd64"]
        .iter()
        .map(|dir| modules.join(dir).join("bin/cast"))
        .find(|path| path.is_file())
        .expect("cast is installed: npm install --prefix tools")
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    format!("median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms ({} runs)", at(0.5), at(0.1), at(0.9), samples.len())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn get_balance_tool_vs_cast_balance() {
    let chain = Chain::start().await;
    let cast = cast_binary();
    let address = chain.account(9);
    let expected = chain.devnet.provider().get_balance(chain.devnet.accounts()[9]).await.unwrap().to_string();

    let tool_once = || async { chain.call("get_balance", json!({ "address": address })).await.unwrap() };
    let cast_once = || {
        let output = Command::new(&cast).args(["balance", "--rpc-url", chain.devnet.url(), &address]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    assert_eq!(tool_once().await.data["wei"], expected);
    assert_eq!(cast_once(), expected, "cast reads the same balance");

    for _ in 0..10 {
        tool_once().await;
        cast_once();
    }
    let mut tool = Vec::with_capacity(RUNS);
    let mut raw = Vec::with_capacity(RUNS);
    let mut cast_samples = Vec::with_capacity(RUNS);
    let provider = chain.sessions.connection("chat", None).unwrap().provider.clone();
    for _ in 0..RUNS {
        let start = Instant::now();
        tool_once().await;
        tool.push(start.elapsed());
        let start = Instant::now();
        provider.get_balance(chain.devnet.accounts()[9]).await.unwrap();
        raw.push(start.elapsed());
        let start = Instant::now();
        cast_once();
        cast_samples.push(start.elapsed());
    }
    println!("get_balance tool (aomi, through the chat's provider): {}", stats(tool));
    println!("alloy provider.get_balance alone (same provider):     {}", stats(raw));
    println!("cast balance --rpc-url (a process per call):          {}", stats(cast_samples));
}
