//! Measures the candidate simulation methods against one anvil, directly and through a proxy that
//! holds every HTTP request back (a stand-in for the round trip to a remote RPC): `eth_call` (the
//! baseline), `eth_simulateV1` with `traceTransfers`, `debug_traceCall` with the call tracer, and an
//! in-process revm fork over an alloy provider. Each simulates the same ERC20 transfer.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, address};
use alloy::providers::{Provider, ProviderBuilder, ext::DebugApi};
use alloy::rpc::types::TransactionRequest;
use alloy::rpc::types::simulate::{SimBlock, SimulatePayload};
use alloy::rpc::types::trace::geth::{
    CallConfig, GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingCallOptions, GethDebugTracingOptions,
};
use alloy::sol;
use alloy::sol_types::{SolCall, SolValue};
use revm::context::{BlockEnv, TxEnv};
use revm::database::{AlloyDB, CacheDB};
use revm::database_interface::WrapDatabaseAsync;
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

sol! {
    function transfer(address to, uint256 amount) external returns (bool);
    function mint(address to, uint256 amount) external;
}

const SENDER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const RECIPIENT: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");

/// A TCP proxy that holds each client write for `delay` before forwarding it, and counts HTTP requests.
async fn proxy(upstream: String, delay: Duration, count: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let server = TcpStream::connect(upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if buf[..n].starts_with(b"POST ") {
                            count.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = v[v.len() / 2];
    let p95 = v[((v.len() as f64) * 0.95).ceil() as usize - 1];
    (median, p95)
}

async fn revm_sim(url: &str, token: Address, data: Bytes) -> anyhow::Result<(bool, u64, usize)> {
    let provider = ProviderBuilder::new().connect_http(url.parse()?);
    let block = provider.get_block(BlockId::latest()).await?.unwrap();
    let header = block.header;
    let chain_id = provider.get_chain_id().await?;
    let number = header.number;
    let handle = tokio::runtime::Handle::current();
    let res = tokio::task::spawn_blocking(move || {
        let alloydb = AlloyDB::new(provider, BlockId::number(number));
        let db = WrapDatabaseAsync::with_handle(alloydb, handle);
        let cache = CacheDB::new(db);
        let mut evm = Context::mainnet()
            .with_db(cache)
            .modify_cfg_chained(|cfg| {
                cfg.chain_id = chain_id;
                cfg.disable_nonce_check = true;
            })
            .with_block(BlockEnv {
                number: U256::from(header.number + 1),
                timestamp: U256::from(header.timestamp + 1),
                gas_limit: header.gas_limit,
                basefee: 0,
                beneficiary: header.beneficiary,
                prevrandao: Some(header.mix_hash),
                ..Default::default()
            })
            .build_mainnet();
        let tx = TxEnv::builder()
            .caller(SENDER)
            .call(token)
            .data(data)
            .gas_limit(1_000_000)
            .chain_id(Some(chain_id))
            .build_fill();
        let result = evm.transact(tx).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok::<_, anyhow::Error>((result.result.is_success(), result.result.tx_gas_used(), result.result.logs().len()))
    })
    .await??;
    Ok(res)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let anvil = std::env::args().nth(1).unwrap_or("127.0.0.1:18545".into());
    let iterations: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(50);
    let artifact: serde_json::Value =
        serde_json::from_str(include_str!("../../../../contracts/artifacts/TestToken.json"))?;
    let bin = artifact["bytecode"].as_str().unwrap_or_default().trim_start_matches("0x").to_owned();
    let direct = ProviderBuilder::new().connect_http(format!("http://{anvil}").parse()?);
    let mut code = alloy::hex::decode(bin.trim())?;
    code.extend(("USD Coin".to_string(), "USDC".to_string(), U256::from(6u8)).abi_encode_params());
    let receipt = direct
        .send_transaction(TransactionRequest::default().from(SENDER).with_deploy_code(code))
        .await?
        .get_receipt()
        .await?;
    let token = receipt.contract_address.unwrap();
    direct
        .send_transaction(
            TransactionRequest::default()
                .from(SENDER)
                .to(token)
                .input(mintCall { to: SENDER, amount: U256::from(1_000_000_000u64) }.abi_encode().into()),
        )
        .await?
        .get_receipt()
        .await?;
    let data: Bytes = transferCall { to: RECIPIENT, amount: U256::from(100_000_000u64) }.abi_encode().into();
    let tx = TransactionRequest::default().from(SENDER).to(token).input(data.clone().into());

    for delay_ms in [0u64, 20, 50] {
        let count = Arc::new(AtomicUsize::new(0));
        let url = if delay_ms == 0 {
            format!("http://{anvil}")
        } else {
            proxy(anvil.clone(), Duration::from_millis(delay_ms), count.clone()).await
        };
        let url = if delay_ms == 0 { proxy(anvil.clone(), Duration::ZERO, count.clone()).await } else { url };
        let provider = ProviderBuilder::new().connect_http(url.parse()?);
        println!("--- proxy delay {delay_ms} ms per request ---");
        // eth_call
        let mut times = vec![];
        count.store(0, Ordering::SeqCst);
        for _ in 0..iterations {
            let t = Instant::now();
            let out = provider.call(tx.clone()).await?;
            assert_eq!(out.len(), 32);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (m, p) = stats(times);
        println!(
            "eth_call                 median {m:7.2} ms  p95 {p:7.2} ms  requests/sim {:.1}",
            count.load(Ordering::SeqCst) as f64 / iterations as f64
        );
        // eth_simulateV1
        let mut times = vec![];
        count.store(0, Ordering::SeqCst);
        for _ in 0..iterations {
            let t = Instant::now();
            let payload =
                SimulatePayload::default().extend(SimBlock::default().call(tx.clone())).with_trace_transfers();
            let out = provider.simulate(&payload).await?;
            assert!(out[0].calls[0].status);
            assert_eq!(out[0].calls[0].logs.len(), 1);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (m, p) = stats(times);
        println!(
            "eth_simulateV1           median {m:7.2} ms  p95 {p:7.2} ms  requests/sim {:.1}",
            count.load(Ordering::SeqCst) as f64 / iterations as f64
        );
        // debug_traceCall callTracer
        let mut times = vec![];
        count.store(0, Ordering::SeqCst);
        for _ in 0..iterations {
            let t = Instant::now();
            let opts = GethDebugTracingCallOptions::default().with_tracing_options(
                GethDebugTracingOptions::default()
                    .with_tracer(GethDebugTracerType::BuiltInTracer(GethDebugBuiltInTracerType::CallTracer))
                    .with_call_config(CallConfig::default().with_log()),
            );
            let out = provider.debug_trace_call(tx.clone(), BlockId::latest(), opts).await?;
            let frame = out.try_into_call_frame().unwrap();
            assert_eq!(frame.logs.len(), 1);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (m, p) = stats(times);
        println!(
            "debug_traceCall callTr.  median {m:7.2} ms  p95 {p:7.2} ms  requests/sim {:.1}",
            count.load(Ordering::SeqCst) as f64 / iterations as f64
        );
        // revm fork
        let mut times = vec![];
        count.store(0, Ordering::SeqCst);
        for _ in 0..iterations {
            let t = Instant::now();
            let (ok, gas, logs) = revm_sim(&url, token, data.clone()).await?;
            assert!(ok && logs == 1 && gas > 21000);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (m, p) = stats(times);
        println!(
            "revm fork (AlloyDB)      median {m:7.2} ms  p95 {p:7.2} ms  requests/sim {:.1}",
            count.load(Ordering::SeqCst) as f64 / iterations as f64
        );
    }
    Ok(())
}
