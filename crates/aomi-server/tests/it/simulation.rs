//! Simulation through the server: the wallet flow with the stub model (a failing send is explained
//! and never reaches the wallet; a good one carries its report; only the user can override a
//! hold), and `POST /api/simulate`.

use std::sync::Arc;

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::{FinishReason, UiChunk};
use aomi_llm::Provider as ModelProvider;
use aomi_store::TransactionOutcome;
use aomi_testkit::{Match, Reply, Script};
use serde_json::{Value, json};

use crate::common::*;

const EXPLANATION: &str = "I did not send it: you hold 1000 USDC, so sending 2000 USDC would fail.";

pub(crate) struct Setup {
    pub(crate) devnet: Devnet,
    pub(crate) sessions: Arc<ChainSessions>,
    /// Holds exactly 1000 USDC.
    pub(crate) holder: Address,
    pub(crate) friend: Address,
}

pub(crate) async fn setup() -> Setup {
    let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    devnet.register_contracts(sessions.contracts()).unwrap();
    let (holder, friend) = (devnet.accounts()[6], devnet.accounts()[7]);
    let fund = IERC20::transferCall { to: holder, amount: U256::from(1_000_000_000u64) }.abi_encode();
    let fund = TransactionRequest::default().from(devnet.accounts()[0]).to(devnet.contracts().usdc).input(fund.into());
    devnet.provider().send_transaction(fund).await.unwrap().get_receipt().await.unwrap();
    Setup { devnet, sessions, holder, friend }
}

async fn server(setup: &Setup, script: Script) -> TestServer {
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(Arc::clone(&setup.sessions));
    TestServer::start_with(script, options).await
}

/// The model sends `amount` USDC (base units) to the friend when asked to "send", and explains a
/// refused transaction.
fn script(setup: &Setup, amount: &str) -> Script {
    Script::new().rule(Match::LastToolResultContains("NOT sent to the wallet".into()), Reply::text(EXPLANATION)).rule(
        Match::LastUserContains("send".into()),
        Reply::tool_call(
            "send_transaction_to_wallet",
            json!({
                "to": setup.devnet.contracts().usdc.to_string(),
                "signature": "transfer(address,uint256)",
                "args": [setup.friend.to_string(), amount],
                "description": "Send USDC to my friend"
            }),
        ),
    )
}

pub(crate) async fn turn(server: &TestServer, setup: &Setup, chat: &str, message: Value) -> Vec<UiChunk> {
    let body =
        json!({ "id": chat, "message": message, "wallet": { "chainId": 31337, "address": setup.holder.to_string() } });
    let response = server.post(&body).await;
    assert_eq!(response.status(), 200);
    read_stream(response).await
}

pub(crate) fn data_parts<'a>(parts: &'a [UiChunk], kind: &str) -> Vec<&'a Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Data { name, data, .. } if name == kind => Some(data),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn sending_2000_usdc_with_1000_is_explained_and_never_reaches_the_wallet() {
    let setup = setup().await;
    let server = server(&setup, script(&setup, "2000000000")).await;
    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("send 2000 USDC to my friend")).await;

    let simulation = data_parts(&parts, "simulation");
    assert_eq!(simulation.len(), 1, "the report is on the stream");
    assert_eq!(simulation[0]["success"], false);
    assert_eq!(simulation[0]["revert"]["name"], "ERC20InsufficientBalance");
    assert!(data_parts(&parts, "wallet-request").is_empty(), "no wallet request");
    let errors = tool_errors_of(&parts);
    assert!(errors[0].contains("holds only 1000 USDC"), "{errors:?}");
    assert_eq!(text_of(&parts), EXPLANATION);
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    // The model was told why, in a few lines, without the trace.
    let seen = server.stub.requests().last().unwrap().body.to_string();
    assert!(seen.contains("ERC20InsufficientBalance") && seen.contains("holds only 1000 USDC"), "{seen}");
    assert!(!seen.contains("\"logs\"") && !seen.contains("topics"), "no raw trace: {seen}");
    // Nothing was requested; the hold is kept, so that only a later user message can override it.
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(matches!(stored[0].outcome, TransactionOutcome::Held { .. }), "{:?}", stored[0].outcome);
}

#[tokio::test]
async fn a_valid_send_reaches_the_wallet_with_its_report_and_both_are_stored() {
    let setup = setup().await;
    let server = server(
        &setup,
        script(&setup, "500000000").rule(Match::LastToolResultContains("transactionHash".into()), Reply::text("Sent.")),
    )
    .await;
    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("send 500 USDC to my friend")).await;

    assert_eq!(finish_reason(&parts), Some(FinishReason::ToolCalls), "the call waits for the wallet");
    let position = |kind: &str| {
        parts.iter().position(|p| matches!(p, UiChunk::Data { name, .. } if name == kind)).unwrap_or(usize::MAX)
    };
    assert!(position("simulation") < position("wallet-request"), "the report comes with the request");
    let report = data_parts(&parts, "simulation")[0];
    let request = data_parts(&parts, "wallet-request")[0];
    assert_eq!(report["toolCallId"], request["toolCallId"]);
    assert_eq!(report["success"], true);
    let changes: Vec<(&str, &str)> = report["assetChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["delta"].as_str().unwrap(), c["formatted"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("-500000000", "-500 USDC"), ("500000000", "+500 USDC")]);
    assert_eq!(report["assetChanges"][0]["address"], json!(setup.holder));
    assert!(request["summary"].as_str().unwrap().contains("The simulation succeeds"));
    assert!(tool_errors_of(&parts).is_empty());

    // The request is stored with its report, pending.
    let call_id = request["toolCallId"].as_str().unwrap();
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].request.id, aomi_server::transactions::transaction_id(&chat, call_id));
    assert_eq!(stored[0].request.simulation.as_ref().unwrap()["assetChanges"][1]["formatted"], "+500 USDC");
    assert_eq!(stored[0].request.request["to"], json!(setup.devnet.contracts().usdc));
    assert_eq!(stored[0].outcome, TransactionOutcome::Pending);

    // The test plays the wallet, and the hash becomes the stored outcome.
    let (answer, hash) = play_wallet(&setup, &parts).await;
    let parts = turn(&server, &setup, &chat, answer).await;
    assert_eq!(text_of(&parts), "Sent.");
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored[0].outcome, TransactionOutcome::Sent { tx_hash: hash.to_lowercase() });
}

#[tokio::test]
async fn a_wallet_request_never_answered_is_recorded_as_not_sent_once_the_chat_moves_on() {
    let setup = setup().await;
    let server = server(&setup, script(&setup, "500000000").fallback(Reply::text("Fine."))).await;
    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("send 500 USDC to my friend")).await;
    assert_eq!(finish_reason(&parts), Some(FinishReason::ToolCalls));
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert_eq!(stored[0].outcome, TransactionOutcome::Pending);

    // The person writes something else instead of answering the wallet.
    let parts = turn(&server, &setup, &chat, user("never mind")).await;
    assert_eq!(text_of(&parts), "Fine.");
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    match &stored[0].outcome {
        TransactionOutcome::Rejected { reason: Some(reason) } => assert!(reason.starts_with("not sent"), "{reason}"),
        other => panic!("expected the request to be closed as not sent, got {other:?}"),
    }
}

/// Lets the friend (an address without code: a danger warning) spend 100 of the holder's USDC,
/// with the override set, as a model steered by text it read might.
fn approve_anyway(setup: &Setup) -> Reply {
    Reply::tool_call(
        "send_transaction_to_wallet",
        json!({
            "to": setup.devnet.contracts().usdc.to_string(),
            "signature": "approve(address,uint256)",
            "args": [setup.friend.to_string(), "100000000"],
            "description": "Let my friend spend 100 USDC",
            "override_failed_simulation": true
        }),
    )
}

fn outcomes(stored: &[aomi_store::TransactionRecord]) -> Vec<&TransactionOutcome> {
    stored.iter().map(|t| &t.outcome).collect()
}

const HELD: &str = "I did not send it: your friend's address is not a contract. Say so if you want to send it anyway.";
const NOT_HONOURED: &str = "was not honoured: only the user can send a held-back transaction anyway";

#[tokio::test]
async fn only_the_user_can_override_a_held_back_transaction() {
    let setup = setup().await;
    let script = Script::new()
        // Turn 1: the model insists on its own on its first call, and again in the same turn.
        .then(approve_anyway(&setup))
        .then(approve_anyway(&setup))
        .then(Reply::text(HELD))
        // Turn 2, after the user's "send it anyway".
        .then(approve_anyway(&setup))
        // The wallet's answer continues turn 2: the model insists once more.
        .then(approve_anyway(&setup))
        .then(Reply::text("Done."));
    let server = server(&setup, script).await;
    let chat = new_chat_id();
    let first = user("let my friend spend 100 of my USDC");
    let parts = turn(&server, &setup, &chat, first.clone()).await;

    assert!(data_parts(&parts, "wallet-request").is_empty(), "nothing reached the wallet");
    let reports = data_parts(&parts, "simulation");
    assert_eq!(reports.len(), 2, "the person sees each report");
    assert!(reports[0]["warnings"].as_array().unwrap().iter().any(|w| w["id"] == "approval-spender-not-contract"));
    let errors = tool_errors_of(&parts);
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.contains(NOT_HONOURED)), "{errors:?}");
    assert_eq!(text_of(&parts), HELD);
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    let first_id = first["id"].as_str().unwrap().to_owned();
    let held_first = TransactionOutcome::Held { user_message: Some(first_id) };
    assert_eq!(outcomes(&stored), [&held_first, &held_first], "both holds are kept, with the turn's message");

    // The user answers the report: the same call now reaches the wallet, with its report.
    let parts = turn(&server, &setup, &chat, user("Send it anyway")).await;
    assert_eq!(finish_reason(&parts), Some(FinishReason::ToolCalls));
    let request = data_parts(&parts, "wallet-request");
    assert_eq!(request.len(), 1, "{:?}", tool_errors_of(&parts));
    assert!(request[0]["summary"].as_str().unwrap().contains("because the user asked to send it anyway"));

    // The wallet's answer continues the turn; it is not the user speaking: the next insisting call
    // is held back.
    let (answer, hash) = play_wallet(&setup, &parts).await;
    let parts = turn(&server, &setup, &chat, answer).await;
    assert!(data_parts(&parts, "wallet-request").is_empty());
    assert!(tool_errors_of(&parts)[0].contains(NOT_HONOURED), "{:?}", tool_errors_of(&parts));
    assert_eq!(text_of(&parts), "Done.");
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    let sent = TransactionOutcome::Sent { tx_hash: hash.to_lowercase() };
    let held_continuation = TransactionOutcome::Held { user_message: None };
    assert_eq!(outcomes(&stored), [&held_first, &held_first, &sent, &held_continuation]);
}

/// The page answers a wallet call with the whole message, the held-back call's part included: the
/// hold stays held (it never reached the wallet), the answered call becomes sent.
#[tokio::test]
async fn a_hold_stays_held_when_the_wallet_answers_a_later_call_of_its_message() {
    let setup = setup().await;
    let approve_contract = Reply::tool_call(
        "send_transaction_to_wallet",
        json!({
            "to": setup.devnet.contracts().usdc.to_string(),
            "signature": "approve(address,uint256)",
            "args": [setup.devnet.contracts().order_book.to_string(), "1000000"],
            "description": "Let the order book spend 1 USDC"
        }),
    );
    let script = Script::new().then(approve_anyway(&setup)).then(approve_contract).then(Reply::text("Done."));
    let server = server(&setup, script).await;
    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("approve both")).await;
    let (held_id, error_text) = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolOutputError { tool_call_id, error_text } => Some((tool_call_id.clone(), error_text.clone())),
            _ => None,
        })
        .expect("the first call is held back");
    let (mut answer, hash) = play_wallet(&setup, &parts).await;
    let held_input = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolInputAvailable { tool_call_id, input, .. } if *tool_call_id == held_id => Some(input.clone()),
            _ => None,
        })
        .unwrap();
    answer["parts"].as_array_mut().unwrap().insert(
        0,
        json!({ "type": "tool-send_transaction_to_wallet", "toolCallId": held_id, "state": "output-error", "input": held_input, "errorText": error_text }),
    );
    let parts = turn(&server, &setup, &chat, answer).await;
    assert_eq!(text_of(&parts), "Done.");
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert!(matches!(stored[0].outcome, TransactionOutcome::Held { .. }), "{:?}", stored[0].outcome);
    assert_eq!(stored[1].outcome, TransactionOutcome::Sent { tx_hash: hash.to_lowercase() });
}

/// The holds are in the database: the override is honoured by another instance (as after a
/// restart).
#[tokio::test(flavor = "multi_thread")]
async fn a_hold_recorded_by_one_instance_is_honoured_by_another() {
    let Some(pg) = aomi_store::testing::TestPostgres::create().await else { return };
    let setup = setup().await;
    let options = || shared_options(&setup, &pg);
    let a = TestServer::start_with(Script::new().then(approve_anyway(&setup)).then(Reply::text(HELD)), options()).await;
    let b = TestServer::start_with(Script::new().then(approve_anyway(&setup)), options()).await;
    let chat = new_chat_id();
    let parts = turn(&a, &setup, &chat, user("let my friend spend 100 of my USDC")).await;
    assert!(data_parts(&parts, "wallet-request").is_empty());
    let parts = turn(&b, &setup, &chat, user("Send it anyway")).await;
    assert_eq!(data_parts(&parts, "wallet-request").len(), 1, "{:?}", tool_errors_of(&parts));
}

/// Plays the wallet for the request in `parts`: sends it from the holder on anvil and returns the
/// message that answers the call (as the web page sends it) and the transaction hash.
pub(crate) async fn play_wallet(setup: &Setup, parts: &[UiChunk]) -> (Value, String) {
    let request = data_parts(parts, "wallet-request")[0];
    let call_id = request["toolCallId"].as_str().unwrap();
    let tx = &request["request"];
    let send = TransactionRequest::default()
        .from(setup.holder)
        .to(tx["to"].as_str().unwrap().parse().unwrap())
        .input(aomi_chain::alloy::primitives::hex::decode(tx["data"].as_str().unwrap()).unwrap().into());
    let receipt = setup.devnet.provider().send_transaction(send).await.unwrap().get_receipt().await.unwrap();
    let hash = receipt.transaction_hash.to_string();
    let answer = wallet_answer(parts, call_id, &hash);
    (answer, hash)
}

/// The wallet's answer continues the message on `live`; a second client (a reload) re-attaches
/// mid-way through `follower` (the same instance, or another one sharing the store). The
/// re-attached client must rebuild the whole message, earlier parts included, as stored.
async fn reattach_to_a_continued_answer(setup: &Setup, live: &TestServer, follower: &TestServer) {
    let continuation = "The transfer is mined: your friend has the 500 USDC now, and you have 500 left over.";
    let chat = new_chat_id();
    let parts = turn(live, setup, &chat, user("send 500 USDC to my friend")).await;
    let (answer, _) = play_wallet(setup, &parts).await;

    let body =
        json!({ "id": chat, "message": answer, "wallet": { "chainId": 31337, "address": setup.holder.to_string() } });
    let posted = live.post(&body).await;
    assert_eq!(posted.status(), 200);
    let resumed = follower.get(&format!("/api/chat/{chat}/stream?owner={:#x}", setup.holder)).await;
    assert_eq!(resumed.status(), 200, "the continuation is still running");
    let (posted, resumed) = tokio::join!(read_stream(posted), read_stream(resumed));

    let fold = |parts: &[UiChunk]| {
        let mut assembler = aomi_core::MessageAssembler::new(aomi_core::ChatMessage::assistant("m"));
        parts.iter().for_each(|p| {
            assembler.apply(p);
        });
        assembler.into_message().parts
    };
    let stored = live.messages_of(&chat, &format!("{:#x}", setup.holder)).await.pop().unwrap();
    assert_eq!(fold(&resumed), stored.parts);
    let earlier = |p: &aomi_core::MessagePart| matches!(p, aomi_core::MessagePart::Tool(t) if t.state == aomi_core::ToolState::OutputAvailable);
    assert!(stored.parts.iter().any(earlier), "the wallet call is part of the message: {:?}", stored.parts);
    // The client that sent the answer holds the earlier parts already: it gets only the new ones.
    assert_eq!(text_of(&posted), continuation);
    assert!(!posted.iter().any(|p| matches!(p, UiChunk::ToolInputAvailable { .. })), "no replay on the live stream");
}

/// The script of the continuation tests: the transfer, then a slow answer after the wallet's.
fn continuation_script(setup: &Setup) -> Script {
    let continuation = "The transfer is mined: your friend has the 500 USDC now, and you have 500 left over.";
    script(setup, "500000000")
        .rule(Match::LastToolResultContains("transactionHash".into()), Reply::text(continuation))
        .timing(aomi_testkit::Timing { tokens_per_second: Some(20.0), chars_per_token: 4, ..Default::default() })
}

#[tokio::test]
async fn a_client_reattaching_to_a_continued_answer_gets_the_whole_message() {
    let setup = setup().await;
    let server = server(&setup, continuation_script(&setup)).await;
    reattach_to_a_continued_answer(&setup, &server, &server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_reattaching_through_another_instance_gets_the_whole_message() {
    let Some(pg) = aomi_store::testing::TestPostgres::create().await else { return };
    let setup = setup().await;
    let options = || shared_options(&setup, &pg);
    let a = TestServer::start_with(continuation_script(&setup), options()).await;
    let b = TestServer::start_with(Script::new(), options()).await;
    reattach_to_a_continued_answer(&setup, &a, &b).await;
}

async fn post_simulate(server: &TestServer, body: &Value) -> (u16, Value) {
    let response = server.http.post(format!("{}/api/simulate", server.url)).json(body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn post_simulate_answers_reports_and_clear_errors() {
    let setup = setup().await;
    let server = server(&setup, Script::new()).await;
    let usdc = setup.devnet.contracts().usdc;
    let transfer = |amount: u64| {
        let data = IERC20::transferCall { to: setup.friend, amount: U256::from(amount) }.abi_encode();
        format!("0x{}", aomi_chain::alloy::primitives::hex::encode(data))
    };
    let body = |amount: u64| json!({ "chainId": 31337, "from": setup.holder.to_string(), "to": usdc.to_string(), "data": transfer(amount) });

    let (status, report) = post_simulate(&server, &body(250_000_000)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["success"], true);
    assert!(report["gasUsed"].as_u64().unwrap() > 21_000);
    assert_eq!(report["assetChanges"][1]["formatted"], "+250 USDC");
    assert_eq!(report["assetChanges"][1]["decimals"], 6);
    assert_eq!(report["estimatedFee"]["symbol"], "ETH");

    let (status, report) = post_simulate(&server, &body(2_000_000_000)).await;
    assert_eq!(status, 200, "a failing transaction is a report, not an error");
    assert_eq!(report["success"], false);
    assert!(report["warnings"].as_array().unwrap().iter().any(|w| w["id"] == "insufficient-balance"));

    let coin =
        json!({ "chainId": 31337, "from": setup.holder.to_string(), "to": setup.friend.to_string(), "value": "1000" });
    let (status, report) = post_simulate(&server, &coin).await;
    assert_eq!((status, report["assetChanges"][0]["delta"].as_str()), (200, Some("-1000")));

    for (bad, says) in [
        (json!({ "chainId": 31337, "from": "0x1234", "to": usdc.to_string() }), "from: \"0x1234\" is not an address"),
        (
            json!({ "chainId": 31337, "from": setup.holder.to_string(), "to": usdc.to_string(), "value": "1.5" }),
            "value must be a non-negative integer",
        ),
        (
            json!({ "chainId": 31337, "from": setup.holder.to_string(), "to": usdc.to_string(), "data": "0xzz" }),
            "data must be 0x-hex",
        ),
        (
            json!({ "chainId": 999, "from": setup.holder.to_string(), "to": usdc.to_string() }),
            "chain id 999 is not a network aomi knows",
        ),
        (json!({ "from": setup.holder.to_string(), "to": usdc.to_string() }), "missing field `chainId`"),
        (
            json!({ "chainId": 31337, "from": setup.holder.to_string(), "to": usdc.to_string(), "extra": 1 }),
            "unknown field `extra`",
        ),
    ] {
        let (status, answer) = post_simulate(&server, &bad).await;
        assert_eq!(status, 400, "{bad}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message} should say {says}");
    }
    let response = server
        .http
        .post(format!("{}/api/simulate", server.url))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn post_simulate_without_a_chain_layer_or_with_a_dead_rpc() {
    let server = TestServer::start(Script::new(), ModelProvider::Anthropic).await;
    let body = json!({ "chainId": 1, "from": Address::ZERO.to_string(), "to": Address::ZERO.to_string() });
    let (status, answer) = post_simulate(&server, &body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("chain_unavailable")));

    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", "http://127.0.0.1:9").unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(sessions);
    let server = TestServer::start_with(Script::new(), options).await;
    let body = json!({ "chainId": 31337, "from": Address::ZERO.to_string(), "to": Address::ZERO.to_string() });
    let (status, answer) = post_simulate(&server, &body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("rpc_error")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("cannot reach the RPC of devnet"), "{answer}");
}

/// A chain-backed server's options on the shared PostgreSQL `pg`: instances started with them share
/// the chats, the turns and the recorded transactions.
fn shared_options(setup: &Setup, pg: &aomi_store::testing::TestPostgres) -> Options {
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(Arc::clone(&setup.sessions));
    options.database_url = Some(pg.url().to_owned());
    options
}
