//! Bad input to the chain tools: each case is a clear tool error the model sees, never a panic.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::{ChainSessions, NetworkRegistry};
use aomi_core::UiChunk;
use aomi_tools::chain::chain_tools;
use aomi_tools::{ToolCallRequest, ToolScheduler};
use serde_json::{Value, json};

use crate::fixture::{Chain, Collect};

/// Runs the calls through the scheduler, as the agent does, and returns each call's
/// `tool-output-error` text.
async fn error_texts(tools: aomi_tools::ToolRegistry, cases: &[(&str, Value)]) -> Vec<String> {
    let scheduler = ToolScheduler::new(Arc::new(tools), Duration::from_secs(20));
    let calls = cases
        .iter()
        .enumerate()
        .map(|(i, (name, args))| ToolCallRequest { id: format!("c{i}"), name: (*name).into(), arguments: args.clone() })
        .collect();
    let sink = Collect::default();
    scheduler.run_all(calls, "chat", None, &Default::default(), &sink).await;
    let parts = sink.parts();
    (0..cases.len())
        .map(|i| {
            parts
                .iter()
                .find_map(|p| match p {
                    UiChunk::ToolOutputError { tool_call_id, error_text } if *tool_call_id == format!("c{i}") => {
                        Some(error_text.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("case {i} ({:?}) did not fail: {parts:?}", cases[i]))
        })
        .collect()
}

#[tokio::test]
async fn bad_arguments_are_named_in_the_error() {
    let chain = Chain::start().await;
    let usdc = chain.devnet.contracts().usdc.to_string();
    let book = chain.devnet.contracts().order_book.to_string();
    let max_plus = format!("{}0", aomi_chain::alloy::primitives::U256::MAX);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("get_balance", json!({ "address": "0x1234" }), "\"0x1234\" is not an address"),
        ("get_balance", json!({ "address": "not an address" }), "is not an address"),
        // The checksum of a real address with one letter's case flipped.
        ("get_balance", json!({ "address": "0x70997970c51812dc3A010C7d01b50e0d17dc79C8" }), "wrong EIP-55 checksum"),
        ("get_balance", json!({}), "missing field `address`"),
        ("get_balance", json!({ "address": chain.account(1), "colour": "red" }), "unknown field `colour`"),
        ("get_balance", json!({ "address": chain.account(1), "network": "mars" }), "unknown network \"mars\""),
        (
            "get_token_balance",
            json!({ "token": chain.account(1), "owner": chain.account(1) }),
            "is not a contract on devnet",
        ),
        (
            "get_token_balance",
            json!({ "token": book, "owner": chain.account(1) }),
            "does not answer decimals() like an ERC20",
        ),
        (
            "call_view_function",
            json!({ "address": usdc, "signature": "balanceOf(address)(uint256)", "args": [] }),
            "balanceOf(address) takes 1 argument(s) but 0 were given",
        ),
        (
            "call_view_function",
            json!({ "address": book, "signature": "describe(address)", "args": ["0xdead"] }),
            "argument 0 (who: address) is invalid: \"0xdead\" is not an address",
        ),
        ("call_view_function", json!({ "address": usdc, "signature": "balanceOf" }), "is not a function signature"),
        ("call_view_function", json!({ "address": chain.account(1), "function": "balanceOf" }), "aomi knows no ABI"),
        ("call_view_function", json!({ "address": usdc }), "give \"signature\""),
        ("encode_function_call", json!({ "signature": "f(uint8)", "args": ["300"] }), "is not a uint8"),
        ("encode_function_call", json!({ "signature": "f(uint256)", "args": [max_plus] }), "is not a uint256"),
        ("encode_function_call", json!({ "signature": "f(uint256)", "args": [1.5] }), "not an exact integer"),
        ("encode_function_call", json!({ "signature": "f(bytes32)", "args": ["0x12"] }), "is not bytes32"),
        ("get_transaction", json!({ "hash": "0x1234" }), "is not a transaction hash"),
        ("get_receipt", json!({ "hash": 5 }), "invalid type"),
        ("get_block", json!({ "block": "yesterday" }), "\"yesterday\" is not a block"),
        ("get_block", json!({ "block": 99_999_999 }), "no such block"),
        ("resolve_ens", json!({ "name": "vitalik" }), "is not an ENS name"),
        ("switch_network", json!({ "network": "31" }), "chain id 31 is not a network aomi knows"),
        (
            "send_transaction_to_wallet",
            json!({ "to": chain.account(1), "value": "1.5", "description": "x" }),
            "must be a whole number of base units",
        ),
        (
            "send_transaction_to_wallet",
            json!({ "to": chain.account(1), "value": max_plus, "description": "x" }),
            "is too large for 256 bits",
        ),
        (
            "send_transaction_to_wallet",
            json!({ "to": usdc, "signature": "transfer(address,uint256)", "args": [chain.account(1)], "description": "x" }),
            "takes 2 argument(s) but 1 were given",
        ),
        (
            "send_transaction_to_wallet",
            json!({ "to": chain.account(1), "description": " " }),
            "\"description\" must say",
        ),
        ("send_transaction_to_wallet", json!({ "to": chain.account(1), "value": "1" }), "missing field `description`"),
        (
            "send_transaction_to_wallet",
            json!({ "to": usdc, "data": "0xzz", "description": "x" }),
            "\"data\" must be 0x-hex calldata",
        ),
    ];
    let calls: Vec<(&str, Value)> = cases.iter().map(|(tool, args, _)| (*tool, args.clone())).collect();
    let texts = error_texts(chain.tools.clone(), &calls).await;
    for ((tool, args, needle), text) in cases.iter().zip(&texts) {
        assert!(text.contains(needle), "{tool} {args}: {text:?} lacks {needle:?}");
    }
}

#[tokio::test]
async fn a_dead_rpc_url_fails_every_read_clearly() {
    let mut registry = NetworkRegistry::builtin();
    // Nothing listens on the discard port; the path stands for an API key and must not leak.
    registry.set_rpc_url("devnet", "http://127.0.0.1:9/v3/SECRET").unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let account = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let cases = [
        ("get_balance", json!({ "address": account })),
        ("get_account_info", json!({ "address": account })),
        ("get_block", json!({})),
        ("get_gas_price", json!({})),
        ("call_view_function", json!({ "address": account, "signature": "x()(uint256)" })),
        ("get_transaction", json!({ "hash": format!("0x{}", "11".repeat(32)) })),
    ];
    for text in error_texts(chain_tools(sessions), &cases).await {
        assert!(text.contains("cannot reach the RPC of devnet (http://127.0.0.1:9)"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
