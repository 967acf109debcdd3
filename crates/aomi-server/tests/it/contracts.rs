//! The contract database through the server: a turn's `get_contract` (the stub model calls it,
//! the stub Etherscan answers) fills the store that GET /api/contracts/{chain}/{address} reads.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::contracts::Artifact;
use aomi_chain::{ChainSessions, Devnet, EtherscanConfig, NetworkRegistry};
use aomi_core::UiChunk;
use aomi_llm::Provider as ModelProvider;
use aomi_testkit::{ExplorerReply, Match, Reply, Script, StubEtherscan};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn get_contract_in_a_turn_fills_the_contract_route() {
    let devnet = Devnet::start().await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let explorer = StubEtherscan::start().await.unwrap();
    let book = devnet.contracts().order_book;
    let abi = serde_json::to_value(Artifact::order_book().unwrap().abi).unwrap();
    explorer.contract(31337, &book.to_string(), ExplorerReply::verified("OrderBook", abi.clone()));

    let script = Script::new()
        .rule(Match::LastToolResultContains("OrderBook".into()), Reply::text("It is the OrderBook."))
        .rule(Match::LastUserContains("what is".into()), Reply::tool_call("get_contract", json!({ "address": book })));
    let mut options = Options::new(ModelProvider::OpenAi);
    options.chain = Some(sessions);
    options.explorer = EtherscanConfig {
        api_key: Some("key".into()),
        base_url: explorer.url(),
        timeout: Duration::from_secs(5),
        ..EtherscanConfig::default()
    };
    let server = TestServer::start_with(script, options).await;

    let path = format!("/api/contracts/31337/{book}");
    let before = server.get(&path).await;
    assert_eq!(before.status(), 404);
    let body: Value = before.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let body =
        json!({ "id": new_chat_id(), "message": user(&format!("what is {book}?")), "wallet": { "chainId": 31337 } });
    let response = server.post(&body).await;
    assert_eq!(response.status(), 200);
    let parts = read_stream(response).await;
    let output = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolOutputAvailable { output, .. } => Some(output["data"].clone()),
            _ => None,
        })
        .expect("get_contract answered");
    assert_eq!(output["name"], "OrderBook");
    assert_eq!(explorer.requests().len(), 1);

    // The record, by chain id or network name, the address in any case.
    for path in [
        format!("/api/contracts/31337/{book}"),
        format!("/api/contracts/devnet/{}", book.to_string().to_uppercase().replace("0X", "0x")),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let record: Value = response.json().await.unwrap();
        assert_eq!(record["address"], book.to_string().to_lowercase());
        assert_eq!((record["chainId"].as_u64(), record["name"].as_str()), (Some(31337), Some("OrderBook")));
        assert_eq!(record["verifiedBy"], "etherscan");
        assert_eq!(record["abi"], abi);
    }
    // The route reads the database only.
    assert_eq!(explorer.requests().len(), 1);

    assert_eq!(server.get(&format!("/api/contracts/1/{book}")).await.status(), 404);
    assert_eq!(server.get("/api/contracts/31337/0x1234").await.status(), 400);
    assert_eq!(server.get(&format!("/api/contracts/nowhere/{book}")).await.status(), 400);
}
