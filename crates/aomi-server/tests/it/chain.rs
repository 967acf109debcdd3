//! The chain through the server: the wallet context picks each turn's network, the wallet flow of
//! a client-side tool, direct commands without a model.

use std::sync::Arc;

use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::{ChainSessions, Devnet, DevnetOptions, NetworkRegistry};
use aomi_core::{FinishReason, UiChunk};
use aomi_llm::Provider as ModelProvider;
use aomi_testkit::{Match, Reply, Script};
use aomi_tools::chain::chain_tools;
use serde_json::{Value, json};

use crate::common::*;

async fn server_with_chain(script: Script, sessions: Arc<ChainSessions>, with_model: bool) -> TestServer {
    let mut options = Options::new(ModelProvider::OpenAi);
    options.with_model = with_model;
    options.extra_tools = chain_tools(sessions);
    TestServer::start_with(script, options).await
}

fn body(chat_id: &str, message: Value, chain_id: u64, address: Option<Address>) -> Value {
    let mut wallet = json!({ "chainId": chain_id });
    if let Some(address) = address {
        wallet["address"] = json!(address.to_string());
    }
    json!({ "id": chat_id, "message": message, "wallet": wallet })
}

async fn send(server: &TestServer, body: &Value) -> Vec<UiChunk> {
    let response = server.post(body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    read_stream(response).await
}

fn outputs(parts: &[UiChunk]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::ToolOutputAvailable { output, .. } => Some(output["data"].clone()),
            _ => None,
        })
        .collect()
}

/// Two anvils with different chain ids; an address that holds 7 wei on the second only.
async fn two_chains() -> (Devnet, Devnet, Arc<ChainSessions>, Address) {
    let (a, b) =
        tokio::join!(Devnet::start(), Devnet::start_with(DevnetOptions { chain_id: 31338, ..Default::default() }));
    let (a, b) = (a.unwrap(), b.unwrap());
    let marked = Address::repeat_byte(0x42);
    let tip = TransactionRequest::default().from(b.accounts()[9]).to(marked).value(U256::from(7u8));
    b.provider().send_transaction(tip).await.unwrap().get_receipt().await.unwrap();
    let registry = NetworkRegistry::from_networks(vec![a.network("devnet"), b.network("devnet-b")]).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    (a, b, sessions, marked)
}

#[tokio::test]
async fn each_turn_reads_the_chain_its_wallet_context_names() {
    let (_a, _b, sessions, marked) = two_chains().await;
    let script = Script::new().rule(Match::LastToolResultContains("\"wei\"".into()), Reply::text("Done.")).rule(
        Match::LastUserContains("balance".into()),
        Reply::tool_call("get_balance", json!({ "address": marked.to_string() })),
    );
    let server = server_with_chain(script, sessions, true).await;
    let chat = new_chat_id();
    for (chain_id, network, wei) in [(31337, "devnet", "0"), (31338, "devnet-b", "7"), (31337, "devnet", "0")] {
        let parts = send(&server, &body(&chat, user("what is the balance?"), chain_id, None)).await;
        let balance = &outputs(&parts)[0];
        assert_eq!(
            (balance["network"].as_str(), balance["wei"].as_str()),
            (Some(network), Some(wei)),
            "chain {chain_id}"
        );
        assert_eq!(text_of(&parts), "Done.");
    }
}

#[tokio::test]
async fn switch_network_then_ask_answers_on_the_new_network_in_the_same_turn() {
    let (_a, _b, sessions, marked) = two_chains().await;
    let script = Script::new()
        .rule(Match::LastToolResultContains("\"wei\"".into()), Reply::text("Done."))
        .rule(
            Match::LastToolResultContains("Switched to devnet-b".into()),
            Reply::tool_call("get_balance", json!({ "address": marked.to_string() })),
        )
        .rule(
            Match::LastUserContains("switch".into()),
            Reply::tool_call("switch_network", json!({ "network": "devnet-b" })),
        );
    let server = server_with_chain(script, sessions, true).await;
    let chat = new_chat_id();
    let parts = send(&server, &body(&chat, user("switch to devnet-b and show the balance"), 31337, None)).await;
    let outputs = outputs(&parts);
    assert_eq!(outputs[1]["network"], "devnet-b");
    assert_eq!(outputs[1]["wei"], "7");
    assert!(
        parts
            .iter()
            .any(|p| matches!(p, UiChunk::Data { name, data, .. } if name == "network" && data["chainId"] == 31338)),
        "the front end is asked to switch the wallet"
    );
}

#[tokio::test]
async fn the_wallet_flow_sends_1_5_usdc_end_to_end() {
    let devnet = Devnet::start().await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    devnet.register_contracts(sessions.contracts()).unwrap();
    let usdc = devnet.contracts().usdc;
    let (sender, recipient) = (devnet.accounts()[1], devnet.accounts()[7]);
    let balance_of = || async {
        let call = IERC20::balanceOfCall { owner: recipient }.abi_encode();
        let out = devnet.provider().call(TransactionRequest::default().to(usdc).input(call.into())).await.unwrap();
        U256::from_be_slice(&out)
    };
    let before = balance_of().await;

    let script = Script::new()
        .rule(Match::LastToolResultContains("transactionHash".into()), Reply::text("Your 1.5 USDC are on their way."))
        .rule(
            Match::LastUserContains("1.5 USDC".into()),
            Reply::tool_call(
                "send_transaction_to_wallet",
                json!({
                    "to": usdc.to_string(),
                    "signature": "transfer(address,uint256)",
                    "args": [recipient.to_string(), "1500000"],
                    "description": "Send 1.5 USDC"
                }),
            ),
        );
    let server = server_with_chain(script, sessions, true).await;
    let chat = new_chat_id();
    let parts = send(&server, &body(&chat, user("send 1.5 USDC to my friend"), 31337, Some(sender))).await;

    // The turn ends with the call open and the request for the wallet on the stream.
    assert_eq!(finish_reason(&parts), Some(FinishReason::ToolCalls));
    let call_id = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolInputAvailable { tool_call_id, tool_name, .. }
                if tool_name == "send_transaction_to_wallet" =>
            {
                Some(tool_call_id.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        !parts
            .iter()
            .any(|p| matches!(p, UiChunk::ToolOutputAvailable { tool_call_id, .. } if *tool_call_id == call_id))
    );
    let request = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::Data { name, id: Some(id), data, .. } if name == "wallet-request" && *id == call_id => {
                Some(data["request"].clone())
            }
            _ => None,
        })
        .expect("a data-wallet-request part");
    let expected = IERC20::transferCall { to: recipient, amount: U256::from(1_500_000u64) }.abi_encode();
    assert_eq!(request["data"], format!("0x{}", aomi_chain::alloy::primitives::hex::encode(&expected)));
    assert_eq!(request["value"], "0");
    assert_eq!(request["to"], json!(usdc));
    assert_eq!(request["chainId"], 31337);
    assert_eq!(request["from"], json!(sender));

    // The test plays the wallet: anvil signs for its unlocked account.
    let tx = TransactionRequest::default()
        .from(sender)
        .to(request["to"].as_str().unwrap().parse().unwrap())
        .value(request["value"].as_str().unwrap().parse().unwrap())
        .with_input(aomi_chain::alloy::primitives::hex::decode(request["data"].as_str().unwrap()).unwrap());
    let receipt = devnet.provider().send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let hash = receipt.transaction_hash.to_string();

    // The front end returns the outcome: the assistant message with the tool's output.
    let answer = wallet_answer(&parts, &call_id, &hash);
    let parts = send(&server, &body(&chat, answer, 31337, Some(sender))).await;
    assert_eq!(text_of(&parts), "Your 1.5 USDC are on their way.");
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    let last = server.stub.requests().last().unwrap().body.to_string();
    assert!(last.contains(&hash), "the model saw the transaction hash: {last}");

    assert_eq!(balance_of().await - before, U256::from(1_500_000u64), "the recipient got exactly 1.5 USDC");
    let stored = server.messages_of(&chat, &sender.to_string()).await;
    let tool = stored.last().unwrap().tool_parts().next().unwrap().clone();
    assert_eq!(tool.output.unwrap()["transactionHash"], hash);
}

#[tokio::test]
async fn direct_commands_run_without_a_model() {
    let devnet = Devnet::start().await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let server = server_with_chain(Script::new(), sessions, false).await;
    let chat = new_chat_id();
    let account = devnet.accounts()[9].to_string();

    let parts = send(&server, &body(&chat, user(&format!("/balance {account}")), 31337, None)).await;
    let kinds: Vec<String> = kinds(&parts).into_iter().filter(|k| k != "data-tool-progress").collect();
    assert_eq!(
        kinds,
        [
            "start",
            "start-step",
            "tool-input-start",
            "tool-input-available",
            "tool-output-available",
            "finish-step",
            "finish"
        ]
    );
    assert_eq!(outputs(&parts)[0]["balance"], "10000");

    let parts =
        send(&server, &body(&chat, user("/call 0x0000000000000000000000000000000000000001"), 31337, None)).await;
    assert!(text_of(&parts).starts_with("Usage: /call"), "{}", text_of(&parts));
    let parts = send(&server, &body(&chat, user("/balance 0x12"), 31337, None)).await;
    assert!(tool_errors_of(&parts)[0].contains("\"0x12\" is not an address"), "{parts:?}");
    let parts = send(&server, &body(&chat, user("/network devnet"), 31337, None)).await;
    assert!(parts.iter().any(|p| matches!(p, UiChunk::Data { name, .. } if name == "network")));
    let parts = send(&server, &body(&chat, user("/help"), 31337, None)).await;
    assert!(text_of(&parts).contains("/balance <address|ens> [network]"));
    assert!(server.stub.requests().is_empty(), "no model was called");
    // A message that is not a command still gets the no-model explanation.
    let parts = send(&server, &body(&chat, user("hello"), 31337, None)).await;
    assert_eq!(text_of(&parts), aomi_agent::NO_MODEL_MESSAGE);
}

#[tokio::test]
async fn the_networks_route_lists_every_network_without_its_rpc_urls() {
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("base", "https://base.example/v2/secret-api-key").unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "base").unwrap());
    let mut options = Options::new(ModelProvider::OpenAi);
    options.chain = Some(Arc::clone(&sessions));
    let server = TestServer::start_with(Script::new(), options).await;
    let response = server.get("/api/networks").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("secret-api-key") && !text.contains("rpc"), "no RPC URL: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["default"], "base");
    let names: Vec<&str> = body["networks"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    let expected: Vec<&str> = sessions.registry().networks().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, expected);
    let base = body["networks"].as_array().unwrap().iter().find(|n| n["name"] == "base").unwrap();
    assert_eq!(base["chainId"], 8453);
    assert_eq!(base["nativeCurrency"]["symbol"], "ETH");

    // Without a chain layer: an empty list, not an error.
    let bare = TestServer::start(Script::new(), ModelProvider::OpenAi).await;
    let body: Value = bare.get("/api/networks").await.json().await.unwrap();
    assert_eq!(body, json!({ "default": null, "networks": [] }));
}
