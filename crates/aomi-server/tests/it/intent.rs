//! The intent fast path on a devnet: a clear wallet action is read by the utility model (a stub of
//! its own) and prepared without a call to the chat's model, as the same wallet request the full
//! loop makes; anything unclear goes to the chat's model; ordinary chat never calls the utility.

use std::sync::Arc;

use aomi_core::{FinishReason, UiChunk};
use aomi_llm::Provider as ModelProvider;
use aomi_testkit::{Match, Reply, Script, StubModel};
use serde_json::{Value, json};

use crate::common::*;

use crate::simulation::{Setup, data_parts, play_wallet, setup, turn};

/// What the chat's model says when it answers in text.
const MAIN_ANSWER: &str = "Which token, and how much?";

/// The devnet (its tokens listed, so "USDC" resolves), the holder of 1000 USDC and the friend.
async fn devnet() -> Setup {
    let setup = setup().await;
    setup.devnet.register_markets(setup.sessions.markets());
    setup
}

/// The message of the acceptance test, naming the friend's address.
fn send_message(setup: &Setup, amount: &str) -> String {
    format!("send {amount} USDC to {}", setup.friend)
}

/// The chat's model: on "send N USDC", the transfer as the full loop makes it (N in base units
/// given by `base_units`); on a held request, an explanation; else a question back.
fn main_script(setup: &Setup, base_units: &str) -> Script {
    Script::new()
        .rule(Match::LastToolResultContains("NOT sent to the wallet".into()), Reply::text("It was held back."))
        .rule(Match::LastToolResultContains("transactionHash".into()), Reply::text("Sent."))
        .rule(
            Match::LastUserContains("USDC to 0x".into()),
            Reply::tool_call(
                "send_transaction_to_wallet",
                json!({
                    "to": setup.devnet.contracts().usdc.to_string(),
                    "signature": "transfer(address,uint256)",
                    "args": [setup.friend.to_string(), base_units],
                    "description": "Send USDC to my friend"
                }),
            ),
        )
        .fallback(Reply::text(MAIN_ANSWER))
}

/// The utility model: a transfer of `amount` USDC to the friend for "send … USDC", `none` for
/// anything else.
fn utility_script(setup: &Setup, amount: &str) -> Script {
    let intent = json!({ "action": "transfer", "token": "USDC", "amount": amount, "to": setup.friend.to_string() });
    Script::new()
        .rule(Match::LastUserContains("USDC to 0x".into()), Reply::text(intent.to_string()))
        .rule(Match::LastUserContains("USD to 0x".into()), Reply::text(intent.to_string().replace("USDC", "USD")))
        .fallback(Reply::text(r#"{"action":"none"}"#))
}

async fn server(setup: &Setup, main: Script, utility: Option<&StubModel>) -> TestServer {
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(Arc::clone(&setup.sessions));
    options.intents = utility.map(|stub| side_model_client(stub, "utility-model"));
    TestServer::start_with(main, options).await
}

/// The wallet request of a turn: its transaction's chain, recipient, value and calldata.
fn wallet_request(parts: &[UiChunk]) -> Value {
    let requests = data_parts(parts, "wallet-request");
    let [request] = requests.as_slice() else { panic!("one wallet request: {parts:?}") };
    let tx = &request["request"];
    json!({ "chainId": tx["chainId"], "to": tx["to"], "value": tx["value"], "data": tx["data"] })
}

#[tokio::test]
async fn the_intent_fast_path_produces_the_same_wallet_request_as_the_full_loop() {
    let setup = devnet().await;
    let utility = StubModel::start(utility_script(&setup, "500")).await.unwrap();
    let fast = server(&setup, main_script(&setup, "500000000"), Some(&utility)).await;
    let full = server(&setup, main_script(&setup, "500000000"), None).await;
    let message = send_message(&setup, "500");

    let fast_chat = new_chat_id();
    let fast_parts = turn(&fast, &setup, &fast_chat, user(&message)).await;
    assert!(fast.stub.requests().is_empty(), "the chat's model is not called on the fast path");
    let asked = utility.requests();
    assert_eq!(asked.len(), 1, "one intent request");
    assert_eq!(asked[0].model(), Some("utility-model"));
    assert!(asked[0].body.to_string().contains(&message), "the utility model read the message");
    assert_eq!(finish_reason(&fast_parts), Some(FinishReason::ToolCalls), "the call waits for the wallet");
    assert!(tool_errors_of(&fast_parts).is_empty(), "{fast_parts:?}");
    // A short text says what is prepared, then the tool call streams as a model's would.
    let kinds = kinds(&fast_parts);
    let position = |kind: &str| kinds.iter().position(|k| k == kind).unwrap_or(usize::MAX);
    assert!(position("text-delta") < position("tool-input-available"), "{kinds:?}");
    assert!(position("tool-input-available") < position("data-wallet-request"), "{kinds:?}");
    assert!(text_of(&fast_parts).contains("500 USDC"), "{}", text_of(&fast_parts));
    assert_eq!(data_parts(&fast_parts, "simulation")[0]["success"], true, "simulated as always");

    let full_parts = turn(&full, &setup, &new_chat_id(), user(&message)).await;
    assert_eq!(full.stub.requests().len(), 1, "the full loop called its model");
    assert_eq!(utility.requests().len(), 1, "and not the utility model");
    assert_eq!(finish_reason(&full_parts), Some(FinishReason::ToolCalls));

    let request = wallet_request(&fast_parts);
    assert_eq!(request, wallet_request(&full_parts));
    assert_eq!(request["to"], json!(setup.devnet.contracts().usdc));
    assert_eq!(request["chainId"], 31337);

    // The wallet signs the fast path's request: the turn goes on with the chat's model.
    let (answer, _) = play_wallet(&setup, &fast_parts).await;
    let parts = turn(&fast, &setup, &fast_chat, answer).await;
    assert_eq!(text_of(&parts), "Sent.");
    assert_eq!(fast.stub.requests().len(), 1, "the chat's model answers once the wallet did");
}

#[tokio::test]
async fn an_unclear_intent_or_a_held_request_falls_back_to_the_chat_model() {
    let setup = devnet().await;
    let utility = StubModel::start(utility_script(&setup, "2000")).await.unwrap();
    let server = server(&setup, main_script(&setup, "2000000000"), Some(&utility)).await;

    // The utility model sees no complete action: the chat's model answers.
    let parts = turn(&server, &setup, &new_chat_id(), user("send 5 to my friend")).await;
    assert_eq!((utility.requests().len(), server.stub.requests().len()), (1, 1));
    assert_eq!(text_of(&parts), MAIN_ANSWER);
    assert!(data_parts(&parts, "wallet-request").is_empty());

    // A token that is not exactly one known token ("USD"): nothing runs, the chat's model answers.
    let parts = turn(&server, &setup, &new_chat_id(), user(&format!("send 5 USD to {}", setup.friend))).await;
    assert_eq!((utility.requests().len(), server.stub.requests().len()), (2, 2));
    assert_eq!(text_of(&parts), MAIN_ANSWER);
    assert!(kinds(&parts).iter().all(|k| !k.starts_with("tool-")), "no tool ran: {parts:?}");

    // A clear intent whose simulation holds the request back (2000 USDC, the holder has 1000):
    // the chat's model is called and sees why.
    let parts = turn(&server, &setup, &new_chat_id(), user(&send_message(&setup, "2000"))).await;
    assert_eq!(utility.requests().len(), 3);
    assert!(data_parts(&parts, "wallet-request").is_empty(), "nothing reached the wallet");
    assert!(tool_errors_of(&parts)[0].contains("NOT sent to the wallet"), "{parts:?}");
    let text = text_of(&parts);
    assert!(text.starts_with("Preparing the transfer of 2000 USDC") && text.ends_with("It was held back."), "{text}");
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    let seen = server.stub.requests().last().unwrap().body.to_string();
    assert!(seen.contains("holds only 1000 USDC"), "the chat's model was told why: {seen}");
}

#[tokio::test]
async fn an_ordinary_question_never_calls_the_utility_model() {
    let setup = devnet().await;
    let utility = StubModel::start(utility_script(&setup, "500")).await.unwrap();
    let server = server(&setup, main_script(&setup, "500000000"), Some(&utility)).await;
    for question in ["what is my USDC balance?", "how do I send tokens safely?", "explain block 19000000"] {
        let parts = turn(&server, &setup, &new_chat_id(), user(question)).await;
        assert_eq!(text_of(&parts), MAIN_ANSWER, "{question}");
    }
    assert!(utility.requests().is_empty(), "the utility model got {:?}", utility.requests());
    assert_eq!(server.stub.requests().len(), 3);
}
