//! Latency of a simulation vs a plain `eth_call` of the same transaction, same anvil, same run;
//! directly, and behind a proxy that holds each request back 20 ms (a stand-in for a remote RPC).
//! A benchmark: it prints figures and asserts only that the simulations succeed.
//!
//! cargo test -p aomi-chain --test it bench -- --ignored --nocapture

use std::time::{Duration, Instant};

use aomi_chain::alloy::primitives::U256;
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::simulation::{SimulationRequest, simulate};
use aomi_chain::{ChainSessions, NetworkRegistry};

use crate::rpc_proxy::RpcProxy;
use crate::simulation::Env;

const RUNS: usize = 100;

fn at(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn simulation_vs_eth_call() {
    let env = Env::start().await;
    let c = *env.devnet.contracts();
    let (alice, bob) = (env.account(0), env.account(8));
    let cases: Vec<(&str, SimulationRequest)> = vec![
        ("ETH transfer", env.request(alice, bob, U256::from(1000u32), vec![])),
        (
            "USDC transfer",
            env.request(
                alice,
                c.usdc,
                U256::ZERO,
                IERC20::transferCall { to: bob, amount: U256::from(1u8) }.abi_encode(),
            ),
        ),
        ("WETH wrap", env.request(alice, c.weth, U256::from(1000u32), vec![0xd0, 0xe3, 0x0d, 0xb0])),
    ];
    println!(
        "| transaction | RPC | simulation median | simulation p95 | eth_call median | eth_call p95 | requests per simulation |"
    );
    println!("|---|---|---|---|---|---|---|");
    for delay in [None, Some(Duration::from_millis(20))] {
        let proxy = RpcProxy::start(env.devnet.url(), delay.unwrap_or_default(), &[]).await;
        let url = if delay.is_some() { proxy.url.as_str() } else { env.devnet.url() };
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", url).unwrap();
        let sessions = ChainSessions::new(registry, "devnet").unwrap();
        env.devnet.register_contracts(sessions.contracts()).unwrap();
        let connection = sessions.connection("bench", None).unwrap();
        let label = match delay {
            None => "anvil, direct".to_owned(),
            Some(d) => format!("anvil + {} ms per request", d.as_millis()),
        };
        for (name, request) in &cases {
            for _ in 0..5 {
                assert!(simulate(&connection, sessions.contracts(), request).await.unwrap().success);
                connection.provider.call(request.transaction()).await.unwrap();
            }
            let (mut simulations, mut calls) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
            let before = proxy.count();
            for _ in 0..RUNS {
                let start = Instant::now();
                let report = simulate(&connection, sessions.contracts(), request).await.unwrap();
                simulations.push(start.elapsed());
                assert!(report.success);
                let start = Instant::now();
                connection.provider.call(request.transaction()).await.unwrap();
                calls.push(start.elapsed());
            }
            let requests = if delay.is_some() {
                // Each run also made one eth_call.
                format!("{:.1}", (proxy.count() - before) as f64 / RUNS as f64 - 1.0)
            } else {
                "-".to_owned()
            };
            println!(
                "| {name} | {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {requests} |",
                at(&mut simulations, 0.5),
                at(&mut simulations, 0.95),
                at(&mut calls, 0.5),
                at(&mut calls, 0.95),
            );
        }
    }
}
