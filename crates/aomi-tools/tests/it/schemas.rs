//! What the tools answer on a devnet has the shape their OpenAPI components describe (the
//! components the page's TypeScript types are generated from): no key the schema lacks, every
//! required key present, nested objects too.

use aomi_chain::alloy::primitives::U256;
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_tools::ToolSchemas;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::fixture::Chain;

/// The schema `schema` points to, through `$ref`s.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => resolve(doc, &doc["components"]["schemas"][name]),
        None => schema,
    }
}

/// Why `data` does not fit `schema`, if it does not.
fn mismatch(doc: &Value, schema: &Value, data: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    if let Some(choices) = schema["oneOf"].as_array() {
        let misses: Vec<String> = choices.iter().filter_map(|c| mismatch(doc, c, data, at)).collect();
        return (misses.len() == choices.len()).then(|| misses.join(" / "));
    }
    let parts: Vec<&Value> = match schema["allOf"].as_array() {
        Some(parts) => parts.iter().map(|p| resolve(doc, p)).collect(),
        None => vec![schema],
    };
    if let Value::Array(items) = data {
        let item = &schema["items"];
        return items.iter().enumerate().find_map(|(i, v)| mismatch(doc, item, v, &format!("{at}[{i}]")));
    }
    let Value::Object(map) = data else { return None };
    let properties: serde_json::Map<String, Value> = parts
        .iter()
        .filter_map(|p| p["properties"].as_object())
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if properties.is_empty() {
        return None; // A map (`additionalProperties`) or any value.
    }
    for part in &parts {
        for key in part["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                return Some(format!("{at}.{key} is required but missing"));
            }
        }
    }
    map.iter().find_map(|(key, value)| match properties.get(key) {
        None => Some(format!("{at}.{key} is not in the schema")),
        Some(property) if !value.is_null() => mismatch(doc, property, value, &format!("{at}.{key}")),
        Some(_) => None,
    })
}

#[tokio::test]
async fn every_output_fits_its_component() {
    let chain = Chain::start().await;
    let doc = serde_json::to_value(ToolSchemas::openapi()).unwrap();
    let c = *chain.devnet.contracts();
    let (from, to) = (chain.devnet.accounts()[1], chain.devnet.accounts()[2]);
    let transfer = IERC20::transferCall { to, amount: U256::from(7u8) }.abi_encode();
    let request = TransactionRequest::default().from(from).to(c.usdc).input(transfer.into());
    let receipt = chain.devnet.provider().send_transaction(request).await.unwrap().get_receipt().await.unwrap();
    let hash = receipt.transaction_hash.to_string();
    let cases = [
        ("get_balance", json!({ "address": chain.account(9) }), "Balance"),
        ("get_token_balance", json!({ "token": c.usdc.to_string(), "owner": chain.account(2) }), "TokenBalance"),
        ("get_account_info", json!({ "address": c.usdc.to_string() }), "AccountInfo"),
        ("get_block", json!({}), "BlockInfo"),
        ("get_gas_price", json!({}), "GasPrice"),
        ("call_view_function", json!({ "address": c.dai.to_string(), "signature": "name()" }), "ViewCall"),
        (
            "encode_function_call",
            json!({ "signature": "f((uint256,address)[])", "args": [[["1", chain.account(1)]]] }),
            "EncodedCall",
        ),
        ("get_transaction", json!({ "hash": hash }), "TransactionInfo"),
        ("get_receipt", json!({ "hash": hash }), "ReceiptInfo"),
        ("switch_network", json!({}), "NetworkChoice"),
        (
            "send_transaction_to_wallet",
            json!({ "to": c.usdc.to_string(), "signature": "transfer(address,uint256)", "args": [chain.account(3), "1"], "description": "x" }),
            "TransactionRequest",
        ),
    ];
    for (tool, args, component) in cases {
        let output = chain.call(tool, args).await.unwrap_or_else(|e| panic!("{tool}: {e}"));
        let schema = json!({ "$ref": format!("#/components/schemas/{component}") });
        assert_eq!(mismatch(&doc, &schema, &output.data, component), None, "{tool}: {}", output.data);
    }
    // A switch, in a chat of its own (the others stay on the devnet).
    let switched = chain.call_in("mover", "switch_network", json!({ "network": "base" })).await.unwrap();
    let schema = json!({ "$ref": "#/components/schemas/NetworkSwitched" });
    assert_eq!(mismatch(&doc, &schema, &switched.data, "NetworkSwitched"), None, "{}", switched.data);
    // The checker sees a key the schema lacks, and a required key missing.
    let schema = json!({ "$ref": "#/components/schemas/Balance" });
    assert!(mismatch(&doc, &schema, &json!({ "colour": 1 }), "Balance").is_some());
}
