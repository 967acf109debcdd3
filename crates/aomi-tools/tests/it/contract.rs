//! `get_contract` through the scheduler, over a real anvil, a SQLite file and the stub Etherscan:
//! a summary for the model, the full ABI for the page, clear errors, and afterwards calls by
//! function name decode with the fetched ABI.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::contracts::Artifact;
use aomi_chain::{ChainSessions, ContractDb, Devnet, Etherscan, EtherscanConfig, NetworkRegistry};
use aomi_core::{ToolContext, ToolError, ToolOutput, UiChunk, WalletContext};
use aomi_server::contract_cache::StoreContractCache;
use aomi_store::StoreConfig;
use aomi_store::testing::TempDir;
use aomi_testkit::{ExplorerReply, StubEtherscan};
use aomi_tools::chain::contract_tools;
use aomi_tools::{ToolCallRequest, ToolRegistry, ToolScheduler};
use serde_json::{Value, json};

use crate::fixture::Collect;

/// A devnet whose ABIs aomi does not know yet, with `get_contract` over the stub Etherscan.
struct Setup {
    devnet: Devnet,
    stub: StubEtherscan,
    tools: ToolRegistry,
    _dir: TempDir,
}

impl Setup {
    async fn start(api_key: Option<&str>) -> Setup {
        let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", devnet.url()).unwrap();
        let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
        let stub = StubEtherscan::start().await.unwrap();
        let dir = TempDir::new();
        let store = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
        let explorer = Etherscan::new(EtherscanConfig {
            api_key: api_key.map(Into::into),
            base_url: stub.url(),
            timeout: Duration::from_secs(2),
            rate_limit_retries: 1,
            retry_delay: Duration::from_millis(10),
        })
        .unwrap();
        let db = Arc::new(ContractDb::new(StoreContractCache::shared(store), explorer));
        Setup { devnet, stub, tools: contract_tools(sessions, db), _dir: dir }
    }

    async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        let ctx = ToolContext::new("chat", "call-1", Some(WalletContext { address: None, chain_id: 31337 }), None);
        self.tools.get(tool).unwrap().call(args, ctx).await
    }
}

#[tokio::test]
async fn get_contract_through_the_scheduler_summarizes_and_streams_the_abi() {
    let setup = Setup::start(Some("key")).await;
    let usdc = setup.devnet.contracts().usdc;
    let token = serde_json::to_value(Artifact::test_token().unwrap().abi).unwrap();
    setup.stub.contract(31337, &usdc.to_string(), ExplorerReply::verified("FiatTokenV2_2", token.clone()));

    let scheduler = ToolScheduler::new(Arc::new(setup.tools.clone()), Duration::from_secs(10));
    let sink = Collect::default();
    let call = ToolCallRequest {
        id: "c1".into(),
        name: "get_contract".into(),
        arguments: json!({ "address": usdc.to_string(), "network": "devnet" }),
    };
    let results = scheduler.run_all(vec![call], "chat", None, &Default::default(), &sink).await;
    let output = results[0].outcome.as_ref().unwrap();
    let data = &output.data;
    assert_eq!((data["name"].as_str(), data["verified"].as_bool()), (Some("FiatTokenV2_2"), Some(true)));
    assert_eq!((data["proxy"].as_bool(), data["fromCache"].as_bool()), (Some(false), Some(false)));
    let read: Vec<&str> = data["readFunctions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(read.contains(&"function balanceOf(address) view returns (uint256)"), "{read:?}");
    let write: Vec<&str> = data["writeFunctions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(write.iter().any(|f| f.starts_with("function transfer(address")), "{write:?}");
    assert!(data["events"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().starts_with("event Transfer(")));
    // The model's part holds no raw ABI; the page gets it as a data part.
    assert!(data.get("abi").is_none());
    assert!(output.summary.contains("FiatTokenV2_2"), "{}", output.summary);
    let parts = sink.parts();
    let abi = parts.iter().find_map(|p| match p {
        UiChunk::Data { name, data, .. } if name == "contract" => Some(data["abi"].clone()),
        _ => None,
    });
    assert_eq!(abi, Some(token));
    assert!(
        parts.iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { tool_call_id, .. } if tool_call_id == "c1"))
    );
}

#[tokio::test]
async fn after_get_contract_calls_by_function_name_decode_with_the_fetched_abi() {
    let setup = Setup::start(Some("key")).await;
    let book = setup.devnet.contracts().order_book.to_string();
    let by_name = json!({ "address": book, "function": "sum", "args": [["1", "2", 39]] });
    let error = setup.call("call_view_function", by_name.clone()).await.unwrap_err();
    assert!(error.to_string().contains("knows no ABI"), "{error}");

    let abi = serde_json::to_value(Artifact::order_book().unwrap().abi).unwrap();
    setup.stub.contract(31337, &book, ExplorerReply::verified("OrderBook", abi));
    setup.call("get_contract", json!({ "address": book })).await.unwrap();

    let sum = setup.call("call_view_function", by_name).await.unwrap();
    assert_eq!(sum.data["result"], json!(["42"]));
    assert_eq!(setup.stub.requests().len(), 1);
}

#[tokio::test]
async fn get_contract_errors_say_what_to_do() {
    let setup = Setup::start(Some("key")).await;
    let usdc = setup.devnet.contracts().usdc.to_string();

    let error = setup.call("get_contract", json!({ "address": usdc })).await.unwrap_err();
    assert!(error.to_string().contains("not verified") && error.to_string().contains("full signature"), "{error}");

    let account = setup.devnet.accounts()[2].to_string();
    let error = setup.call("get_contract", json!({ "address": account })).await.unwrap_err();
    assert!(error.to_string().contains("not a contract"), "{error}");

    let dai = setup.devnet.contracts().dai.to_string();
    setup.stub.then(ExplorerReply::RateLimited);
    setup.stub.then(ExplorerReply::RateLimited);
    let error = setup.call("get_contract", json!({ "address": dai })).await.unwrap_err();
    assert!(error.to_string().contains("rate limiting"), "{error}");

    setup.stub.then(ExplorerReply::HttpError(503));
    let error = setup.call("get_contract", json!({ "address": dai })).await.unwrap_err();
    assert!(error.to_string().contains("not available (HTTP 503)"), "{error}");

    let error = setup.call("get_contract", json!({ "address": "0x1234" })).await.unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)), "{error:?}");

    let without_key = Setup::start(None).await;
    let dai = without_key.devnet.contracts().dai.to_string();
    let error = without_key.call("get_contract", json!({ "address": dai })).await.unwrap_err();
    assert!(error.to_string().contains("set ETHERSCAN_API_KEY"), "{error}");
}
