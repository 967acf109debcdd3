//! The DeFi tools on the DeFi devnet: tokens by name, a quote equal to what executes, and a staged
//! batch simulated in order whose simulated changes are the executed ones.

use std::sync::{Arc, Mutex};

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_core::{ToolContext, ToolError, ToolOutput, WalletContext};
use serde_json::{Value, json};

use crate::fixture::Chain;

/// Calls a tool as `account` in `chat`, keeping the `data-*` parts it streams.
async fn call(
    chain: &Chain,
    chat: &str,
    account: usize,
    tool: &str,
    args: Value,
) -> (Result<ToolOutput, ToolError>, Vec<(String, Value)>) {
    chain.ensure_chat(chat).await;
    let parts = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&parts);
    let wallet = WalletContext { address: Some(chain.devnet.accounts()[account].into()), chain_id: 31337 };
    let ctx = ToolContext::new(chat, "call-1", Some(wallet), None)
        .with_data(Arc::new(move |name, data| sink.lock().unwrap().push((name, data))));
    let result = chain.tools.get(tool).unwrap().call(args, ctx).await;
    let parts = parts.lock().unwrap().clone();
    (result, parts)
}

async fn usdc_of(chain: &Chain, owner: Address) -> U256 {
    let data = IERC20::balanceOfCall { owner }.abi_encode();
    let to = chain.devnet.contracts().usdc;
    let out = chain.devnet.provider().call(TransactionRequest::default().to(to).input(data.into())).await.unwrap();
    IERC20::balanceOfCall::abi_decode_returns(&out).unwrap()
}

/// Plays the wallet without EIP-5792: sends each call of a batch request in turn; the fees paid.
async fn send_calls(chain: &Chain, from: Address, request: &Value) -> U256 {
    let mut fees = U256::ZERO;
    for call in request["calls"].as_array().unwrap() {
        let value = U256::from_str_radix(call["value"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let to: Address = call["to"].as_str().unwrap().parse().unwrap();
        let data = aomi_chain::alloy::primitives::hex::decode(call["data"].as_str().unwrap()).unwrap();
        let tx = TransactionRequest::default().from(from).to(to).value(value).input(data.into());
        let receipt = chain.devnet.send_as_wallet(tx).await.unwrap();
        assert!(receipt.status(), "{receipt:?}");
        fees += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    }
    fees
}

fn simulated_delta(parts: &[(String, Value)], holder: Address, token: Option<Address>) -> String {
    let (_, report) = parts.iter().find(|(name, _)| name == "batch-simulation").expect("a batch simulation part");
    let token = token.map(|t| json!(t)).unwrap_or(Value::Null);
    report["assetChanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == json!(holder) && c["token"] == token)
        .unwrap_or_else(|| panic!("no change of {token} for {holder}: {report}"))["delta"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn tokens_are_found_by_name_and_unknown_ones_are_not_guessed() {
    let chain = Chain::start().await;
    let (found, _) = call(&chain, "t", 0, "find_token", json!({ "query": "usdc" })).await;
    let found = found.unwrap();
    assert_eq!(found.data["tokens"][0]["address"], json!(chain.devnet.contracts().usdc));
    assert_eq!(found.data["tokens"][0]["decimals"], 6);
    let (eth, _) = call(&chain, "t", 0, "find_token", json!({ "query": "ETH" })).await;
    assert_eq!(eth.unwrap().data["native"]["decimals"], 18);
    // Mainnet's list, for one call.
    let (mainnet, _) = call(&chain, "t", 0, "find_token", json!({ "query": "USDT", "network": "ethereum" })).await;
    let mainnet = mainnet.unwrap();
    assert_eq!(mainnet.data["tokens"][0]["address"], "0xdac17f958d2ee523a2206206994597c13d831ec7");
    assert!(
        mainnet.summary.contains("0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        "the model reads the checksum form"
    );
    let (none, _) = call(&chain, "t", 0, "find_token", json!({ "query": "PEPE" })).await;
    let none = none.unwrap();
    assert_eq!(none.data["tokens"], json!([]));
    assert!(none.summary.contains("no token"), "{}", none.summary);
    // A swap of an unlisted name is refused with "never guess", not quoted.
    let (quote, _) = call(&chain, "t", 0, "quote_swap", json!({ "sell": "ETH", "buy": "PEPE", "amount": "1" })).await;
    assert!(quote.unwrap_err().to_string().contains("never guess"));
}

#[tokio::test]
async fn swapping_one_eth_for_usdc_executes_the_quote_and_the_simulated_changes() {
    let chain = Chain::start().await;
    let trader = chain.devnet.accounts()[3];
    let usdc = chain.devnet.contracts().usdc;
    let args = json!({ "sell": "ETH", "buy": "USDC", "amount": "1" });
    let (quote, parts) = call(&chain, "swap", 3, "quote_swap", args.clone()).await;
    let quote = quote.unwrap();
    assert!(parts.is_empty(), "a quote stages nothing");
    assert_eq!(quote.data["amountIn"], "1000000000000000000");
    assert!(quote.data["route"].as_str().unwrap().contains("0.3 % pool"), "{}", quote.data["route"]);
    let expected: U256 = quote.data["amountOut"].as_str().unwrap().parse().unwrap();
    let minimum: U256 = quote.data["minimumOut"].as_str().unwrap().parse().unwrap();
    assert_eq!(minimum, expected * U256::from(995u32) / U256::from(1000u32));

    let (staged, parts) = call(&chain, "swap", 3, "stage_swap", args).await;
    let staged = staged.unwrap();
    assert_eq!(staged.data["batch"]["steps"].as_array().unwrap().len(), 1, "ether needs no approval");
    assert!(parts.iter().any(|(name, _)| name == "pending-batch"));
    let (sent, parts) =
        call(&chain, "swap", 3, "send_batch_to_wallet", json!({ "description": "swap 1 ETH for USDC" })).await;
    let request = sent.unwrap().data;
    assert_eq!(request["calls"][0]["value"], "0xde0b6b3a7640000");

    let usdc_before = usdc_of(&chain, trader).await;
    let eth_before = chain.devnet.provider().get_balance(trader).await.unwrap();
    let fees = send_calls(&chain, trader, &request).await;
    let usdc_delta = usdc_of(&chain, trader).await - usdc_before;
    let eth_delta = eth_before - fees - chain.devnet.provider().get_balance(trader).await.unwrap();
    assert_eq!(usdc_delta, expected, "the quote's output is the executed output");
    assert_eq!(simulated_delta(&parts, trader, Some(usdc)), usdc_delta.to_string());
    assert_eq!(simulated_delta(&parts, trader, None), format!("-{eth_delta}"));
    // Sent: the batch is empty again.
    let (empty, _) = call(&chain, "swap", 3, "simulate_batch", json!({})).await;
    assert!(empty.unwrap_err().to_string().contains("empty"));
}

#[tokio::test]
async fn approve_and_swap_usdc_for_eth_is_one_batch_simulated_in_order() {
    let chain = Chain::start().await;
    let trader = chain.devnet.accounts()[4];
    let usdc = chain.devnet.contracts().usdc;
    let args = json!({ "sell": "USDC", "buy": "ETH", "amount": "3000", "slippage_bps": 100 });
    let (staged, _) = call(&chain, "batch", 4, "stage_swap", args).await;
    let staged = staged.unwrap();
    let steps = staged.data["batch"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "an approval, then the swap");
    assert_eq!(steps[0]["to"], json!(usdc));
    let expected: U256 = staged.data["quote"]["amountOut"].as_str().unwrap().parse().unwrap();

    // The swap succeeds in the batch's simulation although the approval is not mined.
    let (simulated, parts) = call(&chain, "batch", 4, "simulate_batch", json!({})).await;
    let report = simulated.unwrap().data;
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(report["steps"][1]["success"], true);
    assert!(parts.iter().any(|(name, _)| name == "batch-simulation"));

    let (sent, parts) =
        call(&chain, "batch", 4, "send_batch_to_wallet", json!({ "description": "swap 3000 USDC for ETH" })).await;
    let request = sent.unwrap().data;
    assert_eq!(request["calls"].as_array().unwrap().len(), 2);
    let usdc_before = usdc_of(&chain, trader).await;
    let eth_before = chain.devnet.provider().get_balance(trader).await.unwrap();
    let fees = send_calls(&chain, trader, &request).await;
    let eth_delta = chain.devnet.provider().get_balance(trader).await.unwrap() + fees - eth_before;
    let usdc_delta = usdc_before - usdc_of(&chain, trader).await;
    assert_eq!(eth_delta, expected, "the quote's output is the executed output");
    assert_eq!(usdc_delta, U256::from(3_000_000_000u64));
    assert_eq!(simulated_delta(&parts, trader, None), eth_delta.to_string());
    assert_eq!(simulated_delta(&parts, trader, Some(usdc)), format!("-{usdc_delta}"));
}

#[tokio::test]
async fn a_batch_whose_step_fails_is_not_sent_and_limits_are_clear() {
    let chain = Chain::start().await;
    let usdc = chain.devnet.contracts().usdc.to_string();
    // A transfer of more USDC than account 6 holds (it holds none).
    let stage = json!({ "to": usdc, "signature": "transfer(address,uint256)", "args": [chain.account(1), "5"], "description": "pay 5 base units" });
    let (staged, _) = call(&chain, "fail", 6, "stage_transaction", stage).await;
    assert_eq!(staged.unwrap().data["steps"].as_array().unwrap().len(), 1);
    let (sent, parts) = call(&chain, "fail", 6, "send_batch_to_wallet", json!({ "description": "pay" })).await;
    let error = sent.unwrap_err().to_string();
    assert!(error.contains("NOT sent") && error.contains("Step 1: FAILS"), "{error}");
    assert!(parts.iter().any(|(name, _)| name == "batch-simulation"));
    // Still pending: nothing was taken.
    let (again, _) = call(&chain, "fail", 6, "simulate_batch", json!({})).await;
    assert_eq!(again.unwrap().data["success"], false);

    // The limits, on the store as `aomi serve` keeps batches.
    let batches = aomi_server::batches::StoreBatches::pending(Arc::clone(&chain.store) as _, 1);
    assert_eq!(batches.max_steps(), 1);
    let step = |chain_id| aomi_tools::defi::StagedStep {
        chain_id,
        to: Address::ZERO,
        value: "0".into(),
        data: "0x".into(),
        description: "x".into(),
    };
    for id in ["a", "c"] {
        chain.ensure_chat(id).await;
    }
    batches.stage("a", vec![step(1)]).await.unwrap();
    let full = batches.stage("a", vec![step(1)]).await.unwrap_err().to_string();
    assert!(full.contains("at most 1"), "{full}");
    assert_eq!(batches.get("a").await.unwrap().steps.len(), 1, "nothing staged past the limit");
    let unknown = batches.stage("no-such-chat", vec![step(1)]).await.unwrap_err().to_string();
    assert!(unknown.contains("could not be"), "{unknown}");
    let mixed = aomi_server::batches::StoreBatches::pending(Arc::clone(&chain.store) as _, 10);
    mixed.stage("c", vec![step(1)]).await.unwrap();
    assert!(mixed.stage("c", vec![step(2)]).await.unwrap_err().to_string().contains("chain id"));
    assert!(mixed.stage("c", vec![step(1), step(2)]).await.unwrap_err().to_string().contains("cannot be one batch"));
    assert!(mixed.remove("c", 5).await.is_err());
    assert_eq!(mixed.remove("c", 0).await.unwrap().steps.len(), 0);
}

#[tokio::test]
async fn prices_come_from_defillama_cached_with_its_errors_explained() {
    use aomi_chain::prices::{DefiLlama, PriceConfig};
    use aomi_chain::{ChainSessions, NetworkRegistry};
    use aomi_core::TypedTool;
    use aomi_tools::defi::{GetTokenPrice, PriceArgs};

    let stub = aomi_testkit::StubDefiLlama::start().await.unwrap();
    stub.price("coingecko:ethereum", "ETH", 3012.5, None);
    stub.price("ethereum:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 0.9998, Some(6));
    stub.price("coingecko:usd-coin", "USDC", 0.9997, None);
    let config = PriceConfig { base_url: stub.url(), ..PriceConfig::default() };
    let prices = Arc::new(DefiLlama::new(config).unwrap());
    // No RPC is asked: the tokens are named by the lists.
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", "http://127.0.0.1:9").unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "ethereum").unwrap());
    sessions.markets().add_devnet(
        31337,
        &[aomi_chain::dex::DevnetToken {
            symbol: "USDC".into(),
            name: "USD Coin".into(),
            address: Address::repeat_byte(0x11),
            decimals: 6,
        }],
        None,
    );
    let tool = GetTokenPrice::new(Arc::clone(&sessions), prices);
    let ask = |token: &str, network: Option<&str>| {
        let args = PriceArgs { token: token.into(), network: network.map(Into::into) };
        tool.run(args, ToolContext::new("p", "call-1", None, None))
    };
    let eth = ask("ETH", None).await.unwrap();
    assert_eq!(eth.data.usd, Some(3012.5));
    assert_eq!(eth.data.coin.as_deref(), Some("coingecko:ethereum"));
    let usdc = ask("usdc", None).await.unwrap();
    assert_eq!(usdc.data.usd, Some(0.9998));
    assert!(usdc.summary.contains("0.9998 USD"), "{}", usdc.summary);
    // Cached: asked again, the stub sees no new request.
    let before = stub.requests().len();
    ask("USDC", None).await.unwrap();
    assert_eq!(stub.requests().len(), before);
    // A devnet token is priced as its mainnet namesake, and says so.
    let devnet = ask("USDC", Some("devnet")).await.unwrap();
    assert_eq!(devnet.data.usd, Some(0.9997));
    assert!(devnet.data.note.unwrap().contains("devnet token"));
    // No price: null, not an error. Rate limited: the reason.
    let none = ask("DAI", None).await.unwrap();
    assert_eq!(none.data.usd, None);
    assert!(none.summary.contains("no price"), "{}", none.summary);
    stub.fail_next(429);
    let error = ask("WBTC", None).await.unwrap_err().to_string();
    assert!(error.contains("rate limiting"), "{error}");
    stub.fail_next(500);
    assert!(ask("LINK", None).await.unwrap_err().to_string().contains("HTTP 500"));
    // The TTL is configurable; a bad one is a clear error.
    let error = PriceConfig::from_env(|k| (k == "AOMI_PRICE_TTL_SECS").then(|| "soon".into())).unwrap_err();
    assert!(error.to_string().contains("AOMI_PRICE_TTL_SECS"));
    let config = PriceConfig::from_env(|k| (k == "AOMI_PRICE_TTL_SECS").then(|| "0".into())).unwrap();
    assert_eq!(config.ttl, std::time::Duration::ZERO);
}
