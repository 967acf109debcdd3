//! The knowledge tools over real parts: the stub Brave/SearXNG and Etherscan over HTTP, a real
//! anvil, a SQLite file behind the memory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::{Artifact, IERC20};
use aomi_chain::{ChainSessions, ContractDb, Devnet, Etherscan, EtherscanConfig, NetworkRegistry};
use aomi_core::{ToolContext, ToolError, ToolOutput, WalletContext};
use aomi_server::contract_cache::StoreContractCache;
use aomi_server::knowledge::StoreMemory;
use aomi_store::StoreConfig;
use aomi_store::testing::TempDir;
use aomi_testkit::{AccountTx, ExplorerReply, SearchHit, SearchReply, StubEtherscan, StubSearch, TokenTransferTx};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::contract_tools;
use aomi_tools::knowledge::{
    GetContractSource, GetTransactionHistory, HistoryConfig, MemoryConfig, Recall, Remember, SearchConfig,
    SearchProvider, SourceConfig, UNTRUSTED_NOTICE, WebSearch, label_outputs,
};
use serde_json::{Value, json};

/// A devnet (the `ethereum` network pointed at it too, so the explorer's answers can be read
/// against contracts that exist), the stub Etherscan, a SQLite store, and the knowledge tools.
struct Setup {
    devnet: Devnet,
    etherscan: StubEtherscan,
    tools: ToolRegistry,
    _dir: TempDir,
}

impl Setup {
    async fn start(key: Option<&str>, source: SourceConfig) -> Setup {
        let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", devnet.url()).unwrap();
        registry.set_rpc_url("ethereum", devnet.url()).unwrap();
        let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
        let etherscan = StubEtherscan::start().await.unwrap();
        let dir = TempDir::new();
        let store = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
        let explorer = Etherscan::new(EtherscanConfig {
            api_key: key.map(Into::into),
            base_url: etherscan.url(),
            timeout: Duration::from_secs(5),
            rate_limit_retries: 0,
            retry_delay: Duration::from_millis(10),
        })
        .unwrap();
        let cache = StoreContractCache::shared(Arc::clone(&store) as Arc<dyn aomi_store::ContractStore>);
        let db = Arc::new(ContractDb::new(cache, explorer.clone()));
        let memory = StoreMemory::shared(Arc::clone(&store));
        let tools = contract_tools(Arc::clone(&sessions), Arc::clone(&db))
            .with(GetTransactionHistory::new(
                Arc::clone(&sessions),
                Arc::clone(&db),
                explorer,
                Some(Arc::clone(&memory)),
                HistoryConfig::default(),
            ))
            .with(GetContractSource::new(sessions, db, source))
            .with(Remember::new(Arc::clone(&memory), MemoryConfig::default()))
            .with(Recall::new(Arc::clone(&memory)));
        let tools = label_outputs(tools, memory, MemoryConfig::default());
        Setup { devnet, etherscan, tools, _dir: dir }
    }

    fn wallet(&self, index: usize) -> WalletContext {
        WalletContext { address: Some(self.devnet.accounts()[index].into()), chain_id: 31337 }
    }

    /// Calls a tool as wallet `index`; the `data-*` parts it streamed.
    async fn call_as(
        &self,
        index: usize,
        tool: &str,
        args: Value,
    ) -> (Result<ToolOutput, ToolError>, Vec<(String, Value)>) {
        let parts = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&parts);
        let ctx = ToolContext::new("chat", "call-1", Some(self.wallet(index)), None)
            .with_data(Arc::new(move |name, data| sink.lock().unwrap().push((name, data))));
        let result = self.tools.get(tool).unwrap().call(args, ctx).await;
        let parts = parts.lock().unwrap().clone();
        (result, parts)
    }

    async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        self.call_as(0, tool, args).await.0
    }
}

fn search_tool(provider: SearchProvider, max_results: u32, snippet_chars: usize) -> WebSearch {
    let mut config = SearchConfig::new(provider);
    config.max_results = max_results;
    config.snippet_chars = snippet_chars;
    WebSearch::new(config).unwrap()
}

async fn search(tool: &WebSearch, args: Value) -> Result<ToolOutput, ToolError> {
    aomi_core::Tool::call(tool, args, ToolContext::new("chat", "call-1", None, None)).await
}

#[tokio::test]
async fn search_results_reach_the_model_cleaned_bounded_and_framed_as_untrusted() {
    let stub = StubSearch::start().await.unwrap();
    let mut hits = vec![
        SearchHit::new(
            "Aave <b>v4</b> &amp; you",
            "https://aave.com/v4",
            "The <strong>v4</strong> launch&nbsp;is  today",
        )
        .aged("2 hours ago"),
        SearchHit::new("bad", "javascript:alert(1)", "a link that is not a web page"),
        SearchHit::new("long", "https://example.com/long", &"word ".repeat(200)),
    ];
    hits.extend((0..10).map(|i| SearchHit::new(&format!("r{i}"), &format!("https://example.com/{i}"), "x")));
    stub.results("aave news", hits);
    let brave = SearchProvider::Brave { api_key: "brave-key".into(), base_url: stub.brave_url() };
    let tool = search_tool(brave, 4, 60);

    let output = search(&tool, json!({ "query": "aave news", "count": 4, "freshness": "week" })).await.unwrap();
    let results = output.data["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "at most the count asked");
    assert_eq!(
        results[0],
        json!({ "title": "Aave v4 & you", "url": "https://aave.com/v4", "snippet": "The v4 launch is today", "age": "2 hours ago" })
    );
    assert!(results.iter().all(|r| r["url"].as_str().unwrap().starts_with("https://")), "no javascript: link");
    let long = results[1]["snippet"].as_str().unwrap();
    assert!(long.ends_with('…') && long.chars().count() == 61, "{long}");
    assert!(output.summary.starts_with(UNTRUSTED_NOTICE), "{}", output.summary);
    assert_eq!(output.data["notice"], UNTRUSTED_NOTICE);
    let request = stub.requests().pop().unwrap();
    assert_eq!((request.engine, request.token.as_deref()), ("brave", Some("brave-key")));
    // A few more are asked for than shown, for those left out (bad links).
    assert_eq!((request.query["freshness"].as_str(), request.query["count"].as_str()), ("pw", "6"));

    let too_many = search(&tool, json!({ "query": "aave news", "count": 5 })).await.unwrap_err();
    assert_eq!(too_many.to_string(), "invalid arguments: count: from 1 to 4, not 5");
    let empty = search(&tool, json!({ "query": "  " })).await.unwrap_err();
    assert!(empty.to_string().contains("say what to search for"));
}

#[tokio::test]
async fn a_brave_rate_limit_or_refused_key_is_a_tool_error_that_says_so() {
    let stub = StubSearch::start().await.unwrap();
    let tool = search_tool(SearchProvider::Brave { api_key: "k".into(), base_url: stub.brave_url() }, 10, 400);
    stub.then(SearchReply::RateLimited);
    let error = search(&tool, json!({ "query": "eth" })).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Brave Search is rate limiting aomi (429 RATE_LIMITED: Request rate limit exceeded for plan.); wait a moment and try again, or search less often"
    );
    stub.then(SearchReply::InvalidToken);
    let error = search(&tool, json!({ "query": "eth" })).await.unwrap_err();
    assert!(
        error.to_string().contains("refused the API key") && error.to_string().contains("BRAVE_API_KEY"),
        "{error}"
    );
    stub.then(SearchReply::HttpError(502));
    let error = search(&tool, json!({ "query": "eth" })).await.unwrap_err();
    assert!(error.to_string().contains("HTTP 502"), "{error}");
    // Then the script again: nothing scripted for this query.
    let output = search(&tool, json!({ "query": "eth" })).await.unwrap();
    assert_eq!(output.data["results"], json!([]));
    assert_eq!(output.summary, "No web results for \"eth\".");
}

#[tokio::test]
async fn searxng_answers_the_same_tool_without_a_key() {
    let stub = StubSearch::start().await.unwrap();
    stub.results(
        "uniswap",
        vec![SearchHit::new("Uniswap", "https://uniswap.org", "Swap <em>tokens</em>").aged("2026-12-01")],
    );
    let tool = search_tool(SearchProvider::Searxng { base_url: stub.searxng_url() }, 10, 400);
    let output = search(&tool, json!({ "query": "uniswap", "freshness": "day" })).await.unwrap();
    assert_eq!(output.data["provider"], "searxng");
    assert_eq!(output.data["results"][0]["snippet"], "Swap tokens");
    assert_eq!(output.data["results"][0]["age"], "2026-12-01");
    let request = stub.requests().pop().unwrap();
    assert_eq!(
        (request.engine, request.query["format"].as_str(), request.query["time_range"].as_str()),
        ("searxng", "json", "day")
    );
    stub.then(SearchReply::RateLimited);
    assert!(
        search(&tool, json!({ "query": "uniswap" }))
            .await
            .unwrap_err()
            .to_string()
            .contains("SearXNG is rate limiting")
    );
}

/// An ERC20 ABI as Etherscan would give it for the token.
fn token_abi() -> Value {
    serde_json::to_value(Artifact::test_token().unwrap().abi).unwrap()
}

#[tokio::test]
async fn history_from_etherscan_decodes_a_usdc_transfer_with_six_decimals() {
    let setup = Setup::start(Some("key"), SourceConfig::default()).await;
    // The explorer's chain 1 is the devnet here, so the called token has code to look up.
    let usdc = setup.devnet.contracts().usdc;
    let (me, bob) = (setup.devnet.accounts()[0], setup.devnet.accounts()[1]);
    setup.etherscan.contract(1, &usdc.to_string(), ExplorerReply::verified("FiatTokenV2_2", token_abi()));
    let transfer = IERC20::transferCall { to: bob, amount: U256::from(1_500_000u64) }.abi_encode();
    let hash = format!("0x{}", "ab".repeat(32));
    let tx = AccountTx {
        block: 21_000_000,
        timestamp: 1_764_500_000,
        hash: hash.clone(),
        from: me.to_string(),
        to: usdc.to_string(),
        value: "0".into(),
        input: format!("0x{}", aomi_chain::alloy::primitives::hex::encode(&transfer)),
        failed: false,
    };
    let older = AccountTx {
        block: 20_000_000,
        timestamp: 1_700_000_000,
        hash: format!("0x{}", "cd".repeat(32)),
        value: "1000000000000000000".into(),
        input: "0x".into(),
        to: bob.to_string(),
        ..tx.clone()
    };
    setup.etherscan.transactions(1, &me.to_string(), vec![older, tx.clone()]);
    setup.etherscan.token_transfers(
        1,
        &me.to_string(),
        vec![TokenTransferTx {
            tx,
            token: usdc.to_string(),
            from: me.to_string(),
            to: bob.to_string(),
            amount: "1500000".into(),
            name: "USD Coin".into(),
            symbol: "USDC".into(),
            decimals: 6,
        }],
    );

    let output = setup.call("get_transaction_history", json!({ "network": "ethereum", "limit": 5 })).await.unwrap();
    let data = &output.data;
    assert_eq!((data["source"].as_str(), data["chainId"].as_u64()), (Some("etherscan"), Some(1)));
    assert_eq!(data["explorer"], "https://etherscan.io");
    let entries = data["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let last = &entries[0];
    assert_eq!((last["hash"].as_str(), last["direction"].as_str()), (Some(hash.as_str()), Some("out")));
    assert_eq!(last["transfers"][0]["amount"], "1.5");
    assert_eq!(
        (last["transfers"][0]["symbol"].as_str(), last["transfers"][0]["decimals"].as_u64()),
        (Some("USDC"), Some(6))
    );
    assert_eq!(last["method"], "transfer");
    assert_eq!(last["call"]["contract"], "FiatTokenV2_2", "decoded with the contract database's ABI");
    assert_eq!(last["call"]["args"]["amount"], "1500000");
    assert_eq!(last["time"], "2025-11-30T10:53:20Z");
    assert_eq!(entries[1]["value"], "1 ETH");
    assert!(output.summary.contains("1.5 USDC") && output.summary.contains("calling transfer"), "{}", output.summary);

    // The second ask is answered from the store's cache: no new txlist or tokentx request.
    let lists = |stub: &StubEtherscan| stub.requests().iter().filter(|r| r.param("module") == Some("account")).count();
    let before = lists(&setup.etherscan);
    setup.call("get_transaction_history", json!({ "network": "ethereum", "limit": 5 })).await.unwrap();
    assert_eq!(lists(&setup.etherscan), before);
    // `since` leaves older ones out.
    let recent = setup
        .call("get_transaction_history", json!({ "network": "ethereum", "limit": 5, "since": "2025-01-01" }))
        .await
        .unwrap();
    assert_eq!(recent.data["entries"].as_array().unwrap().len(), 1);
    let bad = setup.call("get_transaction_history", json!({ "network": "ethereum", "limit": 500 })).await.unwrap_err();
    assert_eq!(bad.to_string(), "invalid arguments: limit: from 1 to 50, not 500");
}

#[tokio::test]
async fn history_on_the_devnet_reads_the_node_and_lists_a_transfer_made_here() {
    let setup = Setup::start(None, SourceConfig::default()).await;
    let (usdc, me, carol) = (setup.devnet.contracts().usdc, setup.devnet.accounts()[0], setup.devnet.accounts()[2]);
    let provider = setup.devnet.provider();
    let data = IERC20::transferCall { to: carol, amount: U256::from(2_500_000u64) }.abi_encode();
    let sent = provider
        .send_transaction(TransactionRequest::default().from(me).to(usdc).with_input(data))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    let output = setup.call("get_transaction_history", json!({ "limit": 3 })).await.unwrap();
    assert_eq!(output.data["source"], "node");
    assert!(output.data["scanned"]["last"].as_u64() >= output.data["scanned"]["first"].as_u64());
    let last = &output.data["entries"][0];
    assert_eq!(last["hash"], format!("{:#x}", sent.transaction_hash));
    assert_eq!(last["direction"], "out");
    assert_eq!(last["method"], "transfer");
    assert_eq!(last["transfers"][0]["amount"], "2.5");
    assert_eq!(last["transfers"][0]["symbol"], "USDC");
    assert_eq!(last["failed"], false);
    assert_eq!(output.data["entries"].as_array().unwrap().len(), 3, "the mints and deployments before it");
    assert_eq!(output.data["more"], true);
    // Carol received it: for her it is an incoming transfer, in someone else's transaction.
    let hers =
        setup.call("get_transaction_history", json!({ "address": carol.to_string(), "limit": 1 })).await.unwrap();
    assert_eq!(hers.data["entries"][0]["direction"], "in");
    assert_eq!(hers.data["entries"][0]["transfers"][0]["to"], carol.to_checksum(None));
}

#[tokio::test]
async fn contract_source_lists_a_multi_file_contract_and_returns_one_file_or_cut() {
    let setup = Setup::start(Some("key"), SourceConfig { max_bytes: 120, max_files: 10 }).await;
    let usdc = setup.devnet.contracts().usdc.to_string();
    let long: String = (1..=40).map(|i| format!("// line {i}\n")).collect();
    setup.etherscan.contract(
        1,
        &usdc,
        ExplorerReply::verified_files(
            "FiatTokenV2_2",
            token_abi(),
            &[("contracts/FiatTokenV2_2.sol", &long), ("contracts/interfaces/IERC20.sol", "interface IERC20 {}\n")],
        ),
    );
    let listed = setup.call("get_contract_source", json!({ "address": usdc, "network": "ethereum" })).await.unwrap();
    let files: Vec<&str> =
        listed.data["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(files, ["contracts/FiatTokenV2_2.sol", "contracts/interfaces/IERC20.sol"]);
    assert!(listed.data["source"].is_null());

    let one = setup
        .call("get_contract_source", json!({ "address": usdc, "network": "ethereum", "file": "IERC20.sol" }))
        .await
        .unwrap();
    assert_eq!(one.data["source"]["text"], "interface IERC20 {}\n");
    assert!(one.summary.starts_with(UNTRUSTED_NOTICE));
    let cut = setup
        .call(
            "get_contract_source",
            json!({ "address": usdc, "network": "ethereum", "file": "contracts/FiatTokenV2_2.sol" }),
        )
        .await
        .unwrap();
    let text = cut.data["source"]["text"].as_str().unwrap();
    assert_eq!(cut.data["source"]["cut"], true);
    assert!(text.starts_with("// line 1\n") && text.contains("[… CUT: lines"), "{text}");
    let range = setup
        .call("get_contract_source", json!({ "address": usdc, "network": "ethereum", "file": "FiatTokenV2_2.sol", "start_line": 39, "end_line": 40 }))
        .await
        .unwrap();
    assert_eq!(range.data["source"]["text"], "// line 39\n// line 40\n");
    let missing = setup
        .call("get_contract_source", json!({ "address": usdc, "network": "ethereum", "file": "Nope.sol" }))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("contracts/interfaces/IERC20.sol"), "{missing}");
}

#[tokio::test]
async fn an_eip1967_proxy_on_anvil_answers_with_its_implementations_abi() {
    // No explorer: the proxy is found on chain, the implementation's ABI is the artifact's.
    let setup = Setup::start(None, SourceConfig::default()).await;
    let (proxy, reverter) = (setup.devnet.contracts().proxy, setup.devnet.contracts().reverter);
    let known = aomi_chain::KnownContracts::default();
    setup.devnet.register_contracts(&known).unwrap();
    assert!(known.get(31337, proxy).is_none(), "the proxy is no known artifact: only the chain says what it is");

    let artifacts = SetupWithArtifacts::start(&setup).await;
    let summary = artifacts.call("get_contract", json!({ "address": proxy.to_string() })).await.unwrap();
    assert_eq!(summary.data["proxy"], true);
    let implementation = summary.data["implementation"].as_str().unwrap().to_lowercase();
    assert_eq!(implementation, reverter.to_string().to_lowercase());
    let functions = summary.data["readFunctions"].to_string();
    assert!(functions.contains("checked(uint256 value)"), "{functions}");
    // A call by name through the proxy runs the implementation's code with its ABI.
    let call = artifacts
        .call("call_view_function", json!({ "address": proxy.to_string(), "function": "checked", "args": ["7"] }))
        .await
        .unwrap();
    assert!(call.summary.contains('7'), "{}", call.summary);
    let _ = Address::ZERO;
}

/// The same devnet with a database that holds its artifacts.
struct SetupWithArtifacts {
    tools: ToolRegistry,
    _dir: TempDir,
}

impl SetupWithArtifacts {
    async fn start(setup: &Setup) -> Self {
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", setup.devnet.url()).unwrap();
        let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
        setup.devnet.register_contracts(sessions.contracts()).unwrap();
        let dir = TempDir::new();
        let store = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
        let explorer = Etherscan::new(EtherscanConfig::default()).unwrap();
        let db = ContractDb::new(StoreContractCache::shared(store), explorer);
        db.store_known(sessions.contracts(), 31337).await.unwrap();
        SetupWithArtifacts { tools: contract_tools(sessions, Arc::new(db)), _dir: dir }
    }

    async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        let ctx = ToolContext::new("chat", "call-1", Some(WalletContext { address: None, chain_id: 31337 }), None);
        self.tools.get(tool).unwrap().call(args, ctx).await
    }
}

#[tokio::test]
async fn a_label_set_by_one_wallet_shows_beside_the_address_later_and_not_for_another_wallet() {
    let setup = Setup::start(None, SourceConfig::default()).await;
    let cold = setup.devnet.accounts()[1];
    let remembered = setup
        .call_as(0, "remember", json!({ "subject": cold.to_checksum(None), "value": "my cold wallet" }))
        .await
        .0
        .unwrap();
    assert_eq!(remembered.data["fact"]["source"], "user");

    // A later call of any tool: the label is in the summary the model reads and in a part.
    let (balance, parts) = setup.call_as(0, "get_balance", json!({ "address": cold.to_string() })).await;
    let balance = balance.unwrap();
    let short = aomi_chain::short_address(&cold);
    assert!(balance.summary.contains(&format!("{short} (my cold wallet)")), "{}", balance.summary);
    let (name, part) = parts.iter().find(|(name, _)| name == "labels").unwrap();
    assert_eq!(name, "labels");
    assert_eq!(part["labels"][cold.to_string().to_lowercase()], "my cold wallet");
    assert_eq!(part["toolCallId"], "call-1");
    // recall finds it by words and by address.
    let recalled = setup.call_as(0, "recall", json!({ "query": "cold wallet" })).await.0.unwrap();
    assert_eq!(recalled.data["facts"][0]["subject"], cold.to_string().to_lowercase());

    // Another wallet does not see it (the curated label of the dev account shows instead).
    let (theirs, parts) = setup.call_as(2, "get_balance", json!({ "address": cold.to_string() })).await;
    let theirs = theirs.unwrap();
    assert!(!theirs.summary.contains("my cold wallet"), "{}", theirs.summary);
    assert!(parts.iter().all(|(_, p)| !p.to_string().contains("my cold wallet")));
    let recalled = setup.call_as(2, "recall", json!({ "query": "cold wallet" })).await.0.unwrap();
    assert_eq!(recalled.data["facts"], json!([]));

    // Forgetting removes it; a label must name an address; no wallet, no memory.
    setup.call_as(0, "remember", json!({ "subject": cold.to_string(), "value": "x", "forget": true })).await.0.unwrap();
    let (after, _) = setup.call_as(0, "get_balance", json!({ "address": cold.to_string() })).await;
    assert!(!after.unwrap().summary.contains("my cold wallet"));
    let bad =
        setup.call_as(0, "remember", json!({ "subject": "Aave", "value": "x", "kind": "label" })).await.0.unwrap_err();
    assert!(bad.to_string().contains("a label names an address"));
    let ctx = ToolContext::new("chat", "c", None, None);
    let none = setup.tools.get("remember").unwrap().call(json!({ "subject": "Aave", "value": "lending" }), ctx).await;
    assert!(none.unwrap_err().to_string().contains("no wallet is connected"));
}
