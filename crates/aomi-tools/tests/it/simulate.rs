//! `send_transaction_to_wallet` simulates before the request leaves the server: a failing
//! transaction is explained instead of sent, unless the user insists; a good one is recorded with
//! its report.

use std::sync::{Arc, Mutex};

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, WalletContext};
use aomi_tools::chain::{OVERRIDE_ARGUMENT, RequestedTransaction, SimulateBeforeSend, TransactionRecorder};
use serde_json::{Value, json};

use crate::fixture::Chain;

#[derive(Default)]
struct Recorded(Mutex<Vec<RequestedTransaction>>);

impl TransactionRecorder for Recorded {
    fn record<'a>(&'a self, transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().push(transaction);
        Box::pin(async { Ok(()) })
    }
}

/// A context for `wallet`, collecting the `data-*` parts the tool streams.
fn context(id: &str, wallet: Address, parts: &Arc<Mutex<Vec<(String, Value)>>>) -> ToolContext {
    let parts = Arc::clone(parts);
    let wallet = WalletContext { address: Some(wallet.to_string()), chain_id: 31337 };
    ToolContext::new("chat", id, Some(wallet), None)
        .with_data(Arc::new(move |name, data| parts.lock().unwrap().push((name, data))))
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

    // The user insists: the request goes to the wallet, with its failing report recorded.
    let mut insisting = send_usdc(usdc, friend, "2000000000");
    insisting[OVERRIDE_ARGUMENT] = json!(true);
    let output = tool.call(insisting, context("c2", holder, &parts)).await.unwrap();
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
