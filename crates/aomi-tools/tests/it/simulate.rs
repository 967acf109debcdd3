//! `send_transaction_to_wallet` simulates before the request leaves the server: a failing
//! transaction is explained instead of sent, unless the user (never the model alone) insists; a
//! good one is recorded with its report.

use std::sync::{Arc, Mutex};

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, TurnOrigin, WalletContext};
use aomi_tools::chain::{
    HeldTransaction, OVERRIDE_ARGUMENT, RequestedTransaction, SimulateBeforeSend, TransactionRecorder,
};
use serde_json::{Value, json};

use crate::fixture::Chain;

/// What went to the wallet, and what was held back (with the user message of its turn).
#[derive(Default)]
struct Recorded(Mutex<Vec<RequestedTransaction>>, Mutex<Vec<(RequestedTransaction, Option<String>)>>);

impl TransactionRecorder for Recorded {
    fn record<'a>(&'a self, transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push(transaction);
        Box::pin(async { Ok(()) })
    }

    fn record_hold<'a>(
        &'a self,
        transaction: RequestedTransaction,
        user_message: Option<String>,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.1.lock().unwrap().push((transaction, user_message));
        Box::pin(async { Ok(()) })
    }

    fn holds<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<HeldTransaction>, String>> {
        let holds = self.1.lock().unwrap();
        let holds = holds
            .iter()
            .filter(|(t, _)| t.chat_id == chat_id)
            .map(|(t, user_message)| HeldTransaction { request: t.request.clone(), user_message: user_message.clone() })
            .collect();
        Box::pin(async move { Ok(holds) })
    }
}

/// A context for `wallet` in a turn that user message `user` started (`None`: a wallet's
/// answer continued it), collecting the `data-*` parts the tool streams.
fn context_in(id: &str, wallet: Address, user: Option<&str>, parts: &Arc<Mutex<Vec<(String, Value)>>>) -> ToolContext {
    let parts = Arc::clone(parts);
    let wallet = WalletContext { address: Some(wallet.into()), chain_id: 31337 };
    let origin = user.map_or(TurnOrigin::Continuation, |id| TurnOrigin::UserMessage { id: id.into() });
    ToolContext::new("chat", id, Some(wallet), None)
        .with_origin(origin)
        .with_data(Arc::new(move |name, data| parts.lock().unwrap().push((name, data))))
}

/// A context for `wallet` in a turn that user message `u1` started.
fn context(id: &str, wallet: Address, parts: &Arc<Mutex<Vec<(String, Value)>>>) -> ToolContext {
    context_in(id, wallet, Some("u1"), parts)
}

fn insisting(mut args: Value) -> Value {
    args[OVERRIDE_ARGUMENT] = json!(true);
    args
}

fn send_usdc(usdc: Address, to: Address, amount: &str) -> Value {
    json!({
        "to": usdc.to_string(),
        "signature": "transfer(address,uint256)",
        "args": [to.to_string(), amount],
        "description": "Send USDC"
    })
}

#[tokio::test]
async fn a_failing_transaction_is_explained_not_sent_unless_the_user_insists() {
    let chain = Chain::start().await;
    let usdc = chain.devnet.contracts().usdc;
    let (holder, friend) = (chain.devnet.accounts()[6], chain.devnet.accounts()[7]);
    // The holder owns exactly 1000 USDC.
    let fund = IERC20::transferCall { to: holder, amount: U256::from(1_000_000_000u64) }.abi_encode();
    let fund = TransactionRequest::default().from(chain.devnet.accounts()[0]).to(usdc).input(fund.into());
    chain.devnet.provider().send_transaction(fund).await.unwrap().get_receipt().await.unwrap();

    let recorded = Arc::new(Recorded::default());
    let tool = SimulateBeforeSend::new(Arc::clone(&chain.sessions)).recording_to(recorded.clone());
    let parts = Arc::new(Mutex::new(Vec::new()));

    // 2000 USDC with 1000: not sent; the error says why, in the report's own words.
    let error = tool.call(send_usdc(usdc, friend, "2000000000"), context("c1", holder, &parts)).await.unwrap_err();
    let ToolError::Failed(text) = error else { panic!("a failure, not {error:?}") };
    assert!(text.starts_with("The transaction was NOT sent to the wallet"), "{text}");
    assert!(text.contains("ERC20InsufficientBalance"), "{text}");
    let short = |a: Address| {
        let t = a.to_checksum(None);
        format!("{}…{}", &t[..6], &t[t.len() - 4..])
    };
    assert!(text.contains(&format!("This sends 2000 USDC but {} holds only 1000 USDC.", short(holder))), "{text}");
    assert!(text.contains(OVERRIDE_ARGUMENT));
    assert!(!text.contains("topics") && !text.contains("returnData"), "no raw trace for the model");
    {
        let parts = parts.lock().unwrap();
        let (name, report) = parts.last().unwrap();
        assert_eq!(name, "simulation");
        assert_eq!((report["toolCallId"].as_str(), report["success"].as_bool()), (Some("c1"), Some(false)));
        assert_eq!(report["revert"]["name"], "ERC20InsufficientBalance");
    }
    assert!(recorded.0.lock().unwrap().is_empty(), "nothing went to the wallet");
    assert_eq!(recorded.1.lock().unwrap()[0].1.as_deref(), Some("u1"), "the hold is recorded with its turn's message");

    // The user insists in a new message: the request goes to the wallet, with its failing report.
    let output = tool
        .call(insisting(send_usdc(usdc, friend, "2000000000")), context_in("c2", holder, Some("u2"), &parts))
        .await
        .unwrap();
    assert!(output.summary.contains("Sent although the simulation fails"), "{}", output.summary);
    {
        let recorded = recorded.0.lock().unwrap();
        assert_eq!((recorded[0].id.as_str(), recorded[0].chain_id), ("c2", 31337));
        assert_eq!(recorded[0].simulation.as_ref().unwrap()["success"], false);
    }

    // A transfer that fits goes to the wallet with its report.
    let output = tool.call(send_usdc(usdc, friend, "500000000"), context("c3", holder, &parts)).await.unwrap();
    assert!(output.summary.contains("The simulation succeeds"), "{}", output.summary);
    let recorded = recorded.0.lock().unwrap();
    let report = recorded[1].simulation.as_ref().unwrap();
    assert_eq!(report["success"], true);
    assert_eq!(report["assetChanges"][0]["formatted"], "-500 USDC");
    assert_eq!(recorded[1].request["to"], json!(usdc));
    let parts = parts.lock().unwrap();
    assert_eq!(parts.last().unwrap().1["toolCallId"], "c3");
}

/// The override counts only for the same transaction, held earlier, in a turn a later user
/// message started: never on a first call, in the turn of the hold, or in a wallet's continuation.
#[tokio::test]
async fn only_a_later_user_message_lets_the_override_through() {
    let chain = Chain::start().await;
    let usdc = chain.devnet.contracts().usdc;
    let (holder, friend) = (chain.devnet.accounts()[6], chain.devnet.accounts()[7]);
    let recorded = Arc::new(Recorded::default());
    let tool = SimulateBeforeSend::new(Arc::clone(&chain.sessions)).recording_to(recorded.clone());
    let parts = Arc::new(Mutex::new(Vec::new()));
    // The holder has no USDC: every transfer fails in simulation.
    let send = |amount: &str| insisting(send_usdc(usdc, friend, amount));
    let held = |error: ToolError| match error {
        ToolError::Failed(text) => {
            assert!(text.starts_with("The transaction was NOT sent"), "{text}");
            text
        }
        other => panic!("held back, not {other:?}"),
    };

    // The model's first call already insists: held, and told that only the user can override.
    let text = held(tool.call(send("5"), context_in("c1", holder, Some("u1"), &parts)).await.unwrap_err());
    assert!(text.contains("was not honoured: only the user can send a held-back transaction anyway"), "{text}");
    // Again in the same turn, and in a turn the wallet's answer continued: still held.
    held(tool.call(send("5"), context_in("c2", holder, Some("u1"), &parts)).await.unwrap_err());
    held(tool.call(send("5"), context_in("c3", holder, None, &parts)).await.unwrap_err());
    // Another transaction (another amount) after a new user message: never held before, so held.
    held(tool.call(send("6"), context_in("c4", holder, Some("u2"), &parts)).await.unwrap_err());
    // Another chat: its own holds only.
    let mut elsewhere = context_in("c5", holder, Some("u9"), &parts);
    elsewhere.chat_id = "other".into();
    held(tool.call(send("5"), elsewhere).await.unwrap_err());
    assert!(recorded.0.lock().unwrap().is_empty(), "nothing went to the wallet");
    let users: Vec<Option<String>> = recorded.1.lock().unwrap().iter().map(|(_, u)| u.clone()).collect();
    assert_eq!(users, [Some("u1".into()), Some("u1".into()), None, Some("u2".into()), Some("u9".into())]);

    // The same transaction after the user's message u2: sent.
    let output = tool.call(send("5"), context_in("c6", holder, Some("u2"), &parts)).await.unwrap();
    assert!(output.summary.contains("because the user asked to send it anyway"), "{}", output.summary);
    assert_eq!(recorded.0.lock().unwrap()[0].id, "c6");
}

/// Without a recorder the tool remembers its holds itself, and the rule is the same.
#[tokio::test]
async fn the_rule_holds_without_a_recorder() {
    let chain = Chain::start().await;
    let usdc = chain.devnet.contracts().usdc;
    let (holder, friend) = (chain.devnet.accounts()[6], chain.devnet.accounts()[7]);
    let tool = SimulateBeforeSend::new(Arc::clone(&chain.sessions));
    let parts = Arc::new(Mutex::new(Vec::new()));
    let send = || insisting(send_usdc(usdc, friend, "5"));
    assert!(tool.call(send(), context_in("c1", holder, Some("u1"), &parts)).await.is_err());
    assert!(tool.call(send(), context_in("c2", holder, None, &parts)).await.is_err());
    assert!(tool.call(send(), context_in("c3", holder, Some("u2"), &parts)).await.is_ok());
}

#[tokio::test]
async fn the_override_is_in_the_schema_and_checked() {
    let chain = Chain::start().await;
    let tool = chain.tools.get("send_transaction_to_wallet").unwrap();
    let spec = tool.spec();
    assert_eq!(spec.parameters["properties"][OVERRIDE_ARGUMENT]["type"], "boolean");
    assert_eq!(spec.parameters["additionalProperties"], false);
    let parts = Arc::new(Mutex::new(Vec::new()));
    let mut args = send_usdc(chain.devnet.contracts().usdc, chain.devnet.accounts()[7], "1");
    args[OVERRIDE_ARGUMENT] = json!("yes");
    let error = tool.call(args, context("c1", chain.devnet.accounts()[0], &parts)).await.unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(ref text) if text.contains(OVERRIDE_ARGUMENT)), "{error:?}");
}
