//! Signature requests through the server: the stub model asks for a Permit2 signature, the review
//! (decoded, with its danger warning) reaches the client with the request, both are stored; the
//! test plays the wallet through anvil's own `eth_signTypedData_v4`, and the signature becomes the
//! stored outcome and the model's tool result. A rejected personal message is stored as rejected;
//! bad typed data never reaches the wallet.

use std::sync::Arc;

use aomi_chain::alloy::primitives::{Address, B256, Signature};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::typed_data::PERMIT2;
use aomi_chain::{ChainSessions, Devnet, DevnetOptions, NetworkRegistry};
use aomi_core::UiChunk;
use aomi_llm::Provider as ModelProvider;
use aomi_store::TransactionOutcome;
use aomi_testkit::{Match, Reply, Script};
use serde_json::{Value, json};

use crate::common::*;

const MAX_U160: &str = "1461501637330902918203684832716283019655932542975";

struct Setup {
    devnet: Devnet,
    server: TestServer,
    wallet: Address,
}

fn permit(devnet: &Devnet, spender: Address) -> Value {
    json!({
        "domain": {"name": "Permit2", "chainId": devnet.chain_id(), "verifyingContract": PERMIT2},
        "types": {
            "PermitSingle": [
                {"name": "details", "type": "PermitDetails"}, {"name": "spender", "type": "address"},
                {"name": "sigDeadline", "type": "uint256"}
            ],
            "PermitDetails": [
                {"name": "token", "type": "address"}, {"name": "amount", "type": "uint160"},
                {"name": "expiration", "type": "uint48"}, {"name": "nonce", "type": "uint48"}
            ]
        },
        "primaryType": "PermitSingle",
        "message": {
            "details": {"token": devnet.contracts().usdc, "amount": MAX_U160, "expiration": "4102444800", "nonce": "0"},
            "spender": spender,
            "sigDeadline": "4102444800"
        },
        "description": "Let the app spend your USDC through Permit2"
    })
}

async fn setup() -> Setup {
    let devnet = Devnet::start_with(DevnetOptions::without_dex()).await.expect("anvil starts");
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    devnet.register_markets(sessions.markets());
    let mut bad = permit(&devnet, devnet.accounts()[7]);
    bad["domain"]["chainId"] = json!("soon");
    let script = Script::new()
        .rule(Match::LastToolResultContains("\"signature\"".into()), Reply::text("Signed."))
        .rule(Match::LastToolResultContains("rejected".into()), Reply::text("Nothing was signed."))
        .rule(Match::LastToolResultContains("invalid".into()), Reply::text("That request was malformed."))
        .rule(
            Match::LastUserContains("permit".into()),
            Reply::tool_call("request_signature", permit(&devnet, devnet.accounts()[7])),
        )
        .rule(Match::LastUserContains("broken".into()), Reply::tool_call("request_signature", bad))
        .rule(
            Match::LastUserContains("hello".into()),
            Reply::tool_call(
                "request_signature",
                json!({"text": "0x48656c6c6f2c20616f6d69", "description": "Prove you own the wallet"}),
            ),
        );
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(sessions);
    let server = TestServer::start_with(script, options).await;
    let wallet = devnet.accounts()[0];
    Setup { devnet, server, wallet }
}

async fn turn(setup: &Setup, chat: &str, message: Value) -> Vec<UiChunk> {
    let body =
        json!({ "id": chat, "message": message, "wallet": { "chainId": 31337, "address": setup.wallet.to_string() } });
    let response = setup.server.post(&body).await;
    assert_eq!(response.status(), 200);
    read_stream(response).await
}

fn wallet_requests(parts: &[UiChunk]) -> Vec<&Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Data { name, data, .. } if name == "wallet-request" => Some(data),
            _ => None,
        })
        .collect()
}

/// The wallet's answer to the call, as the page sends it: an output or an error.
fn answer(parts: &[UiChunk], call_id: &str, outcome: Result<Value, &str>) -> Value {
    let message_id = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::Start { message_id, .. } => message_id.clone(),
            _ => None,
        })
        .unwrap();
    let input = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolInputAvailable { tool_call_id, input, .. } if tool_call_id == call_id => Some(input.clone()),
            _ => None,
        })
        .unwrap();
    let mut part = json!({ "type": "tool-request_signature", "toolCallId": call_id, "input": input });
    match outcome {
        Ok(output) => {
            part["state"] = json!("output-available");
            part["output"] = output;
        }
        Err(error) => {
            part["state"] = json!("output-error");
            part["errorText"] = json!(error);
        }
    }
    json!({ "id": message_id, "role": "assistant", "parts": [part] })
}

#[tokio::test]
async fn a_permit2_signature_is_reviewed_stored_signed_and_returned_to_the_turn() {
    let setup = setup().await;
    let chat = new_chat_id();
    let parts = turn(&setup, &chat, user("give the app a permit for my USDC")).await;
    let requests = wallet_requests(&parts);
    assert_eq!(requests.len(), 1, "{:?}", tool_errors_of(&parts));
    let request = &requests[0]["request"];
    assert_eq!(request["method"], "eth_signTypedData_v4");
    let review = &request["review"];
    let spender = setup.devnet.accounts()[7];
    assert_eq!(review["decoded"]["kind"], "permit2-single");
    assert_eq!(review["decoded"]["spender"], json!(spender));
    assert_eq!(review["decoded"]["tokens"][0]["formatted"], "unlimited USDC");
    assert_eq!(review["decoded"]["expiry"]["text"], "2100-01-01 00:00 UTC");
    let dangers: Vec<&str> = review["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["level"] == "danger")
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert!(dangers.contains(&"permit-spender-not-contract"), "{dangers:?}");
    // The model reads the review too.
    assert!(requests[0]["summary"].as_str().unwrap().contains("unlimited USDC"));

    let call_id = requests[0]["toolCallId"].as_str().unwrap();
    let stored = setup.server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].outcome, TransactionOutcome::Pending);
    assert_eq!(stored[0].request.request["method"], "eth_signTypedData_v4");
    assert_eq!(stored[0].request.simulation.as_ref().unwrap()["decoded"]["kind"], "permit2-single");

    // The test plays the wallet: anvil signs the typed data the request carries.
    let signature: String = setup
        .devnet
        .provider()
        .raw_request("eth_signTypedData_v4".into(), (setup.wallet, &request["typedData"]))
        .await
        .unwrap();
    let hash: B256 = review["signingHash"].as_str().unwrap().parse().unwrap();
    let parsed: Signature = signature.parse().unwrap();
    assert_eq!(
        parsed.recover_address_from_prehash(&hash).unwrap(),
        setup.wallet,
        "the review's hash is the signed one"
    );
    let parts = turn(&setup, &chat, answer(&parts, call_id, Ok(json!({ "signature": signature })))).await;
    assert_eq!(text_of(&parts), "Signed.");
    let stored = setup.server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored[0].outcome, TransactionOutcome::Signed { signature: signature.to_lowercase() });
}

#[tokio::test]
async fn a_rejected_message_is_stored_rejected_and_bad_typed_data_never_reaches_the_wallet() {
    let setup = setup().await;
    let chat = new_chat_id();
    let parts = turn(&setup, &chat, user("say hello")).await;
    let requests = wallet_requests(&parts);
    assert_eq!(requests.len(), 1, "{:?}", tool_errors_of(&parts));
    let request = &requests[0]["request"];
    assert_eq!(
        (request["method"].as_str(), request["review"]["text"].as_str()),
        (Some("personal_sign"), Some("Hello, aomi"))
    );
    let call_id = requests[0]["toolCallId"].as_str().unwrap();
    let parts = turn(&setup, &chat, answer(&parts, call_id, Err("The user rejected the signature request."))).await;
    assert_eq!(text_of(&parts), "Nothing was signed.");
    let stored = setup.server.backend.store().chat_transactions(&chat).await.unwrap();
    assert!(matches!(stored[0].outcome, TransactionOutcome::Rejected { .. }), "{:?}", stored[0].outcome);

    let chat = new_chat_id();
    let parts = turn(&setup, &chat, user("send a broken request")).await;
    assert!(wallet_requests(&parts).is_empty());
    let errors = tool_errors_of(&parts);
    assert!(errors[0].contains("chainId must be a chain id"), "{errors:?}");
    assert!(setup.server.backend.store().chat_transactions(&chat).await.unwrap().is_empty());
}
