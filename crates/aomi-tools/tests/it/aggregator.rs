//! Swaps on a network with no local DEX: quoted and staged through the LI.FI aggregator client,
//! over real HTTP to the stub LI.FI, on an anvil that carries Ethereum's chain id (so the network
//! is "ethereum" and its allowance reads are real).

use std::sync::Arc;

use aomi_chain::aggregator::{AggregatorConfig, AggregatorError, Lifi, QuoteRequest};
use aomi_chain::alloy::primitives::{Address, U256, address};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::{ChainSessions, Devnet, DevnetOptions, NetworkRegistry};
use aomi_core::{ToolContext, ToolError, ToolOutput, WalletContext};
use aomi_testkit::{LifiRoute, StubLifi};
use aomi_tools::ToolRegistry;
use serde_json::{Value, json};

const ETH: &str = "0x0000000000000000000000000000000000000000";
/// The spender the stub names for the USDC route (not the transaction's target).
const SPENDER: Address = address!("0x00000000000000000000000000000000000A11CE");
const DIAMOND: &str = "0x1231DEB6f5749EF6cE6943a275A1D3E7486F4EaE";

/// Pending batches in an in-memory store holding the chats the tests use (a batch belongs to a
/// stored chat).
async fn batches() -> Arc<aomi_tools::defi::PendingBatches> {
    let store: Arc<dyn aomi_store::Store> = Arc::new(aomi_store::SqliteStore::memory().await.unwrap());
    for id in ["mainnet", "other", "c"] {
        let chat =
            aomi_store::NewChat { id: id.into(), owner: None, app: "default".into(), chain_id: None, model: None };
        store.ensure_chat(chat).await.unwrap();
    }
    aomi_server::batches::StoreBatches::pending(store as _, aomi_tools::defi::DEFAULT_MAX_STEPS)
}

struct Mainnet {
    devnet: Devnet,
    tools: ToolRegistry,
    stub: StubLifi,
}

impl Mainnet {
    async fn start() -> Self {
        let devnet = Devnet::start_with(DevnetOptions { chain_id: 1, ..DevnetOptions::without_dex() })
            .await
            .expect("anvil starts (npm install --prefix tools)");
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("ethereum", devnet.url()).unwrap();
        let sessions = Arc::new(ChainSessions::new(registry, "ethereum").unwrap());
        let stub = StubLifi::start().await.unwrap();
        let usdc = devnet.contracts().usdc.to_string();
        // 1 ETH = 3000 USDC less 0.3 %: 2991 USDC (6 decimals) per 10^18 wei.
        stub.route(1, route(ETH, "ETH", 18, 3000.0, &usdc, "USDC", 6, 1.0, 2_991_000_000, 1_000_000_000_000_000_000));
        let mut back = route(&usdc, "USDC", 6, 1.0, ETH, "ETH", 18, 3000.0, 1_000_000_000_000_000_000, 3_009_000_000);
        back.approval_address = Some(SPENDER.to_string());
        stub.route(1, back);
        let config = AggregatorConfig { base_url: stub.url(), ..AggregatorConfig::default() };
        let lifi = Arc::new(Lifi::new(config).unwrap());
        let prices = aomi_chain::prices::PriceConfig { base_url: "http://127.0.0.1:9".into(), ..Default::default() };
        let prices = Arc::new(aomi_chain::prices::DefiLlama::new(prices).unwrap());
        let checks = aomi_tools::review::WalletChecks::default();
        let tools =
            aomi_tools::defi::defi_tools_with(sessions, batches().await, prices, checks, Some(Arc::clone(&lifi)));
        Mainnet { devnet, tools, stub }
    }

    async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        let wallet = WalletContext { address: Some(self.devnet.accounts()[0].into()), chain_id: 1 };
        let ctx = ToolContext::new("mainnet", "call-1", Some(wallet), None);
        self.tools.get(tool).unwrap().call(args, ctx).await
    }
}

#[expect(clippy::too_many_arguments, reason = "a route's two sides, spelt out")]
fn route(
    from: &str,
    from_symbol: &str,
    from_decimals: u8,
    from_usd: f64,
    to: &str,
    to_symbol: &str,
    to_decimals: u8,
    to_usd: f64,
    numerator: u128,
    denominator: u128,
) -> LifiRoute {
    LifiRoute {
        from_token: from.into(),
        from_symbol: from_symbol.into(),
        from_decimals,
        from_price_usd: from_usd,
        to_token: to.into(),
        to_symbol: to_symbol.into(),
        to_decimals,
        to_price_usd: to_usd,
        rate_numerator: numerator,
        rate_denominator: denominator,
        sources: vec!["Uniswap V3".into(), "Curve".into()],
        transaction_to: None,
        transaction_data: None,
        approval_address: None,
    }
}

#[tokio::test]
async fn a_public_network_quotes_through_the_aggregator_with_route_minimum_and_impact() {
    let chain = Mainnet::start().await;
    let usdc = chain.devnet.contracts().usdc.to_string();
    let quote = chain.call("quote_swap", json!({ "sell": "ETH", "buy": usdc, "amount": "1" })).await.unwrap();
    let q = &quote.data;
    assert_eq!(q["venue"], "lifi");
    assert_eq!(q["network"], "ethereum");
    assert_eq!(q["sources"], json!(["Uniswap V3", "Curve"]));
    assert_eq!(q["amountIn"], "1000000000000000000");
    assert_eq!(q["amountOut"], "2991000000");
    // The default slippage, 0.5 %, asked of LI.FI as 0.005 and its minimum shown.
    assert_eq!(q["minimumOut"], "2976045000");
    assert_eq!(q["slippageBps"], 50);
    // 3000 USD in, 2991 USD out: 0.3 %.
    assert_eq!(q["priceImpactPercent"], "0.3");
    assert_eq!(q["pool"], Value::Null);
    assert_eq!(q["transaction"]["to"].as_str().unwrap().to_lowercase(), DIAMOND.to_lowercase());
    assert_eq!(q["transaction"]["value"], "1000000000000000000");
    assert_eq!(q["transaction"]["allowanceTarget"], Value::Null, "ether needs no approval");
    assert!(quote.summary.contains("Uniswap V3, Curve"), "{}", quote.summary);
    let asked = chain.stub.requests();
    let asked = &asked.last().unwrap().query;
    assert_eq!(asked["slippage"], "0.005");
    assert_eq!(asked["fromChain"], "1");
    assert_eq!(asked["fromToken"], ETH);
    assert_eq!(asked["fromAddress"].to_lowercase(), chain.devnet.accounts()[0].to_string().to_lowercase());

    // The user's slippage, and an exact output through /v1/quote/toAmount.
    let exact = chain
        .call(
            "quote_swap",
            json!({ "sell": "ETH", "buy": usdc, "amount": "2991", "exact_output": true, "slippage_bps": 100 }),
        )
        .await
        .unwrap();
    assert_eq!(exact.data["amountIn"], "1000000000000000000");
    assert_eq!(exact.data["minimumOut"], "2961090000");
    let last = chain.stub.requests().last().unwrap().clone();
    assert_eq!(last.path, "/v1/quote/toAmount");
    assert_eq!(last.query["slippage"], "0.01");
}

#[tokio::test]
async fn staging_on_a_public_network_adds_the_approval_read_on_chain_then_the_aggregators_transaction() {
    let chain = Mainnet::start().await;
    let owner = chain.devnet.accounts()[0];
    let usdc = chain.devnet.contracts().usdc;
    let args = json!({ "sell": usdc.to_string(), "buy": "ETH", "amount": "3009" });
    let staged = chain.call("stage_swap", args.clone()).await.unwrap();
    let steps = staged.data["batch"]["steps"].as_array().unwrap().clone();
    assert_eq!(steps.len(), 2, "an approval first: the allowance is 0");
    assert_eq!(steps[0]["to"].as_str().unwrap().to_lowercase(), usdc.to_string().to_lowercase());
    let approve = IERC20::approveCall { spender: SPENDER, amount: U256::from(3_009_000_000u64) }.abi_encode();
    assert_eq!(steps[0]["data"], aomi_chain::alloy::primitives::hex::encode_prefixed(&approve));
    assert_eq!(steps[1]["to"].as_str().unwrap().to_lowercase(), DIAMOND.to_lowercase());
    assert_eq!(steps[1]["data"], staged.data["quote"]["transaction"]["data"]);

    // Approved on chain already: only the swap is staged (in a fresh chat's batch).
    let data = IERC20::approveCall { spender: SPENDER, amount: U256::from(3_009_000_000u64) }.abi_encode();
    let tx = TransactionRequest::default().from(owner).to(usdc).input(data.into());
    assert!(chain.devnet.provider().send_transaction(tx).await.unwrap().get_receipt().await.unwrap().status());
    let wallet = WalletContext { address: Some(owner.into()), chain_id: 1 };
    let ctx = ToolContext::new("other", "call-2", Some(wallet), None);
    let again = chain.tools.get("stage_swap").unwrap().call(args, ctx).await.unwrap();
    let steps = again.data["batch"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "the allowance read on chain is enough: {steps:?}");
}

#[tokio::test]
async fn the_aggregators_errors_are_clear_rate_limits_included() {
    let chain = Mainnet::start().await;
    let usdc = chain.devnet.contracts().usdc.to_string();
    let args = json!({ "sell": "ETH", "buy": usdc, "amount": "1" });

    chain.stub.fail_next(429);
    let limited = chain.call("quote_swap", args.clone()).await.unwrap_err().to_string();
    assert!(limited.contains("rate limiting"), "{limited}");
    assert!(limited.contains("resets in 3600 s"), "the ratelimit-reset header is read: {limited}");

    // A pair LI.FI has no route for.
    let dai = chain.devnet.contracts().dai.to_string();
    let none = chain.call("quote_swap", json!({ "sell": "ETH", "buy": dai, "amount": "1" })).await.unwrap_err();
    assert!(none.to_string().contains("no route"), "{none}");

    // The client itself: a 400 validation error keeps LI.FI's message and code; a key refused.
    let lifi = Lifi::new(AggregatorConfig { base_url: chain.stub.url(), ..AggregatorConfig::default() }).unwrap();
    let request = QuoteRequest {
        chain_id: 1,
        sell: None,
        buy: Some(chain.devnet.contracts().usdc),
        amount: U256::ZERO,
        exact_output: false,
        from: chain.devnet.accounts()[0],
        slippage_bps: 50,
    };
    match lifi.quote(&request).await.unwrap_err() {
        AggregatorError::Invalid { message, code } => {
            assert_eq!(code, Some(1011));
            assert!(message.contains("fromAmount"), "{message}");
        }
        other => panic!("not a validation error: {other:?}"),
    }
    chain.stub.require_key("right-key");
    let request = QuoteRequest { amount: U256::from(10u8).pow(U256::from(18u8)), ..request };
    let refused = lifi.quote(&request).await.unwrap_err();
    assert!(matches!(refused, AggregatorError::Unauthorized(_)), "{refused:?}");
    assert!(refused.to_string().contains("AOMI_LIFI_API_KEY"));
    let keyed = AggregatorConfig {
        base_url: chain.stub.url(),
        api_key: Some("right-key".into()),
        ..AggregatorConfig::default()
    };
    let quote = Lifi::new(keyed).unwrap().quote(&request).await.unwrap();
    assert_eq!(quote.amount_out, U256::from(2_991_000_000u64));
    assert_eq!(chain.stub.requests().last().unwrap().api_key.as_deref(), Some("right-key"));

    // Settings from the environment.
    let config = AggregatorConfig::from_env(|k| match k {
        "AOMI_LIFI_URL" => Some("http://lifi.test/".into()),
        "AOMI_LIFI_API_KEY" => Some("k".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.base_url, "http://lifi.test");
    assert_eq!(config.api_key.as_deref(), Some("k"));
    assert!(!format!("{config:?}").contains("\"k\""), "the key stays out of logs");
    let bad = AggregatorConfig::from_env(|k| (k == "AOMI_LIFI_TIMEOUT_SECS").then(|| "soon".into())).unwrap_err();
    assert!(bad.to_string().contains("AOMI_LIFI_TIMEOUT_SECS"));
}

#[tokio::test]
async fn without_an_aggregator_a_public_network_says_so() {
    let devnet = Devnet::start_with(DevnetOptions { chain_id: 1, ..DevnetOptions::without_dex() }).await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("ethereum", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "ethereum").unwrap());
    let prices = aomi_chain::prices::PriceConfig { base_url: "http://127.0.0.1:9".into(), ..Default::default() };
    let prices = Arc::new(aomi_chain::prices::DefiLlama::new(prices).unwrap());
    let tools = aomi_tools::defi::defi_tools(sessions, batches().await, prices);
    let wallet = WalletContext { address: Some(devnet.accounts()[0].into()), chain_id: 1 };
    let ctx = ToolContext::new("c", "call-1", Some(wallet), None);
    let args = json!({ "sell": "ETH", "buy": devnet.contracts().usdc.to_string(), "amount": "1" });
    let error = tools.get("quote_swap").unwrap().call(args, ctx).await.unwrap_err().to_string();
    assert!(error.contains("LI.FI"), "{error}");
    let _ = devnet.provider().get_block_number().await.unwrap();
}
