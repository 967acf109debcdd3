//! Spend guards through HTTP on a devnet: only the signed-in wallet reads and changes its guards,
//! and the wallet tool checks every request against them with the simulation's priced changes
//! (a transfer above the per-transaction limit, a call strict mode does not allow, the daily
//! limit counting an earlier send), the model told which guard and why.

use std::sync::Arc;

use aomi_llm::Provider as ModelProvider;
use aomi_server::auth::AuthMode;
use aomi_store::TransactionOutcome;
use aomi_testkit::{Match, Reply, Script, StubDefiLlama};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{auth, error_code, send, session_cookie, sign_in};
use crate::common::*;
use crate::simulation::{Setup, data_parts, play_wallet, setup, turn};

const EXPLAINED: &str = "Your spend guards blocked it.";

/// A server on the devnet, pricing USDC at 1 USD with the stub.
async fn server(setup: &Setup, script: Script, prices: &StubDefiLlama) -> TestServer {
    prices.price("coingecko:usd-coin", "USDC", 1.0, Some(6));
    prices.price("coingecko:ethereum", "ETH", 2000.0, None);
    let mut options = Options::new(ModelProvider::Anthropic);
    options.chain = Some(Arc::clone(&setup.sessions));
    options.auth = Some(auth(AuthMode::Optional));
    options.prices = Some(prices.url());
    TestServer::start_with(script, options).await
}

/// The model sends `amount` USDC (base units) to the friend on "send", and explains a block.
fn script(setup: &Setup) -> Script {
    Script::new()
        .rule(Match::LastToolResultContains("spend guards block it".into()), Reply::text(EXPLAINED))
        .rule(Match::LastToolResultContains("transactionHash".into()), Reply::text("Sent."))
        .rule(
            Match::LastUserContains("send".into()),
            Reply::tool_call(
                "send_transaction_to_wallet",
                json!({
                    "to": setup.devnet.contracts().usdc.to_string(),
                    "signature": "transfer(address,uint256)",
                    "args": [setup.friend.to_string(), "500000000"],
                    "description": "Send 500 USDC to my friend"
                }),
            ),
        )
}

async fn put_guards(server: &TestServer, cookie: Option<&str>, settings: &Value) -> reqwest::Response {
    send(server, Method::PUT, "/api/guards", Some(settings), cookie).await
}

/// The holder signs in (anvil signs for it); its session cookie.
async fn holder_session(server: &TestServer, setup: &Setup) -> String {
    let response = sign_in(server, &setup.devnet, setup.holder, setup.holder).await;
    assert_eq!(response.status(), 200);
    session_cookie(&response)
}

fn guard_part(parts: &[aomi_core::UiChunk]) -> &Value {
    let guard = data_parts(parts, "guard");
    assert_eq!(guard.len(), 1, "one guard answer per request");
    guard[0]
}

#[tokio::test]
async fn only_the_signed_in_wallet_reads_and_changes_its_guards() {
    let setup = setup().await;
    let prices = StubDefiLlama::start().await.unwrap();
    let server = server(&setup, Script::new().fallback(Reply::text("Hi.")), &prices).await;

    let response = send(&server, Method::GET, "/api/guards", None, None).await;
    assert_eq!(response.status(), 401, "guards need a session, even where sign-in is optional");
    assert_eq!(error_code(response).await, "sign_in_required");
    assert_eq!(put_guards(&server, None, &json!({ "level": "open" })).await.status(), 401);

    let holder = holder_session(&server, &setup).await;
    let read: Value = send(&server, Method::GET, "/api/guards", None, Some(&holder)).await.json().await.unwrap();
    assert_eq!(read["settings"]["level"], "open", "the defaults until saved: {read}");
    assert_eq!(read["wallet"], format!("{:#x}", setup.holder));
    let strict = json!({
        "level": "strict",
        "maxTransactionUsd": 100,
        "maxDailyUsd": null,
        "allowed": [{ "address": setup.friend.to_string(), "selectors": ["0xA9059CBB"], "label": "friend" }]
    });
    let response = put_guards(&server, Some(&holder), &strict).await;
    assert_eq!(response.status(), 200);
    let read: Value = send(&server, Method::GET, "/api/guards", None, Some(&holder)).await.json().await.unwrap();
    assert_eq!(read["settings"]["level"], "strict");
    assert_eq!(read["settings"]["allowed"][0]["selectors"], json!(["0xa9059cbb"]), "selectors stored lower case");

    // Another wallet sees its own (default) guards, never the holder's, and changes only its own.
    let other = setup.devnet.accounts()[2];
    let response = sign_in(&server, &setup.devnet, other, other).await;
    let mallory = session_cookie(&response);
    let read: Value = send(&server, Method::GET, "/api/guards", None, Some(&mallory)).await.json().await.unwrap();
    assert_eq!(read["settings"]["level"], "open", "{read}");
    assert_eq!(put_guards(&server, Some(&mallory), &json!({ "level": "open" })).await.status(), 200);
    let read: Value = send(&server, Method::GET, "/api/guards", None, Some(&holder)).await.json().await.unwrap();
    assert_eq!(read["settings"]["level"], "strict", "the holder's guards are untouched");

    // Settings of the wrong shape (422) or out of bounds (400) are refused with a reason.
    for (bad, status) in [
        (json!({ "level": "lax" }), 422),
        (json!({ "allowed": [{ "address": "0x1234" }] }), 422),
        (json!({ "level": "open", "extra": true }), 422),
        (json!({ "maxTransactionUsd": -5 }), 400),
        (json!({ "allowed": [{ "address": setup.friend.to_string(), "selectors": ["transfer"] }] }), 400),
    ] {
        let response = put_guards(&server, Some(&holder), &bad).await;
        assert_eq!(response.status(), status, "{bad}");
    }
    let read: Value = send(&server, Method::GET, "/api/guards", None, Some(&holder)).await.json().await.unwrap();
    assert_eq!(read["settings"]["level"], "strict", "a refused change changes nothing");
}

#[tokio::test]
async fn a_transfer_above_the_per_transaction_limit_never_reaches_the_wallet() {
    let setup = setup().await;
    let prices = StubDefiLlama::start().await.unwrap();
    let server = server(&setup, script(&setup), &prices).await;
    let holder = holder_session(&server, &setup).await;
    let limit = json!({ "level": "open", "maxTransactionUsd": 100 });
    assert_eq!(put_guards(&server, Some(&holder), &limit).await.status(), 200);

    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("send 500 USDC to my friend")).await;
    let report = data_parts(&parts, "simulation")[0];
    assert_eq!(report["assetChanges"][0]["delta"], "-500000000", "the exact amount stays");
    assert_eq!(report["assetChanges"][0]["usd"]["value"], -500.0, "beside its USD value");
    let guard = guard_part(&parts);
    assert_eq!(guard["decision"], "blocked");
    assert_eq!(guard["findings"][0]["guard"], "transaction-limit");
    assert!(data_parts(&parts, "wallet-request").is_empty(), "the wallet is never asked");
    let errors = tool_errors_of(&parts);
    assert!(errors[0].contains("[transaction-limit]") && errors[0].contains("$500.00"), "{errors:?}");
    assert!(errors[0].contains("$100.00"), "{errors:?}");
    assert_eq!(text_of(&parts), EXPLAINED);
    let stored = server.backend.store().chat_transactions(&chat).await.unwrap();
    assert!(matches!(stored[0].outcome, TransactionOutcome::Held { .. }), "{:?}", stored[0].outcome);
}

#[tokio::test]
async fn strict_mode_blocks_a_call_to_a_contract_off_the_allow_list() {
    let setup = setup().await;
    let prices = StubDefiLlama::start().await.unwrap();
    let server = server(&setup, script(&setup), &prices).await;
    let holder = holder_session(&server, &setup).await;
    // The friend is allowed, the USDC contract is not.
    let strict = json!({ "level": "strict", "allowed": [{ "address": setup.friend.to_string() }] });
    assert_eq!(put_guards(&server, Some(&holder), &strict).await.status(), 200);

    let parts = turn(&server, &setup, &new_chat_id(), user("send 500 USDC to my friend")).await;
    let guard = guard_part(&parts);
    assert_eq!((guard["decision"].as_str(), guard["level"].as_str()), (Some("blocked"), Some("strict")));
    assert_eq!(guard["findings"][0]["guard"], "allow-list");
    let usdc = format!("{:#x}", setup.devnet.contracts().usdc);
    let errors = tool_errors_of(&parts);
    assert!(errors[0].to_lowercase().contains(&format!("{usdc} is not on the allow-list")), "{errors:?}");
    assert!(data_parts(&parts, "wallet-request").is_empty());

    // Listing the contract with transfer's selector lets the same request through.
    let listed = json!({ "level": "strict", "allowed": [
        { "address": setup.friend.to_string() },
        { "address": usdc, "selectors": ["0xa9059cbb"] },
    ] });
    assert_eq!(put_guards(&server, Some(&holder), &listed).await.status(), 200);
    let parts = turn(&server, &setup, &new_chat_id(), user("send 500 USDC to my friend")).await;
    assert_eq!(guard_part(&parts)["decision"], "allowed");
    assert_eq!(data_parts(&parts, "wallet-request").len(), 1);
}

/// The model asks for an EIP-2612 permit of the holder's USDC to the friend on "permit".
fn permit_script(setup: &Setup) -> Script {
    let usdc = setup.devnet.contracts().usdc.to_string();
    Script::new().rule(Match::LastToolResultContains("spend guards block it".into()), Reply::text(EXPLAINED)).rule(
        Match::LastUserContains("permit".into()),
        Reply::tool_call(
            "request_signature",
            json!({
                "description": "Let my friend spend 500 USDC",
                "domain": { "name": "USD Coin", "version": "1", "chainId": 31337, "verifyingContract": usdc },
                "types": { "Permit": [
                    { "name": "owner", "type": "address" },
                    { "name": "spender", "type": "address" },
                    { "name": "value", "type": "uint256" },
                    { "name": "nonce", "type": "uint256" },
                    { "name": "deadline", "type": "uint256" }
                ] },
                "primaryType": "Permit",
                "message": {
                    "owner": setup.holder.to_string(),
                    "spender": setup.friend.to_string(),
                    "value": "500000000",
                    "nonce": "0",
                    "deadline": "4102444800"
                }
            }),
        ),
    )
}

#[tokio::test]
async fn strict_mode_refuses_a_permit_to_a_spender_off_the_allow_list() {
    let setup = setup().await;
    let prices = StubDefiLlama::start().await.unwrap();
    let server = server(&setup, permit_script(&setup), &prices).await;
    let holder = holder_session(&server, &setup).await;
    let usdc = format!("{:#x}", setup.devnet.contracts().usdc);
    // The token is listed, the spender the permit names is not.
    let strict = json!({ "level": "strict", "allowed": [{ "address": usdc }] });
    assert_eq!(put_guards(&server, Some(&holder), &strict).await.status(), 200);
    let parts = turn(&server, &setup, &new_chat_id(), user("permit my friend to spend 500 USDC")).await;
    let guard = guard_part(&parts);
    assert_eq!(
        (guard["decision"].as_str(), guard["findings"][0]["guard"].as_str()),
        (Some("blocked"), Some("allow-list"))
    );
    let friend = format!("{:#x}", setup.friend);
    let errors = tool_errors_of(&parts);
    assert!(errors[0].to_lowercase().contains(&format!("{friend} is not on the allow-list")), "{errors:?}");
    assert!(data_parts(&parts, "wallet-request").is_empty(), "the wallet is never asked");

    // With the friend listed too, the same request reaches the wallet.
    let listed = json!({ "level": "strict", "allowed": [{ "address": usdc }, { "address": friend }] });
    assert_eq!(put_guards(&server, Some(&holder), &listed).await.status(), 200);
    let parts = turn(&server, &setup, &new_chat_id(), user("permit my friend to spend 500 USDC")).await;
    assert_eq!(guard_part(&parts)["decision"], "allowed");
    assert_eq!(data_parts(&parts, "wallet-request").len(), 1);
}

#[tokio::test]
async fn the_daily_limit_counts_the_requests_sent_earlier() {
    let setup = setup().await;
    let prices = StubDefiLlama::start().await.unwrap();
    let server = server(&setup, script(&setup), &prices).await;
    let holder = holder_session(&server, &setup).await;
    let daily = json!({ "level": "open", "maxDailyUsd": 800 });
    assert_eq!(put_guards(&server, Some(&holder), &daily).await.status(), 200);

    // The first 500 USD pass and are sent.
    let chat = new_chat_id();
    let parts = turn(&server, &setup, &chat, user("send 500 USDC to my friend")).await;
    assert_eq!(guard_part(&parts)["decision"], "allowed");
    assert_eq!(guard_part(&parts)["spentTodayUsd"], 0.0);
    let (answer, _) = play_wallet(&setup, &parts).await;
    assert_eq!(text_of(&turn(&server, &setup, &chat, answer).await), "Sent.");

    // 500 more, in another chat, would make 1000 in a day.
    let parts = turn(&server, &setup, &new_chat_id(), user("send 500 USDC to my friend again")).await;
    let guard = guard_part(&parts);
    assert_eq!(guard["decision"], "blocked");
    assert_eq!(guard["findings"][0]["guard"], "daily-limit");
    assert_eq!(guard["spentTodayUsd"], 500.0);
    let errors = tool_errors_of(&parts);
    assert!(errors[0].contains("$500.00 already moved") && errors[0].contains("$800.00"), "{errors:?}");
    assert!(data_parts(&parts, "wallet-request").is_empty());
}

#[tokio::test]
async fn no_tool_can_change_a_guard() {
    // Every tool `aomi serve` registers with a store: none is about guards, and none takes guard
    // settings as arguments. (The tools reach the guards only through `SpendGuard`, which reads.)
    let dir = aomi_store::testing::TempDir::new();
    let store = aomi_store::connect_with(&aomi_store::StoreConfig::in_data_dir(dir.path())).await.unwrap();
    let sessions = Arc::new(
        aomi_chain::ChainSessions::new(aomi_chain::NetworkRegistry::builtin(), "devnet").expect("the sessions build"),
    );
    let prices = Arc::new(aomi_chain::prices::DefiLlama::new(aomi_chain::prices::PriceConfig::default()).unwrap());
    let checks = aomi_server::transactions::store_checks(Arc::clone(&store), Some(Arc::clone(&prices)), 100);
    let explorer = aomi_chain::Etherscan::new(aomi_chain::EtherscanConfig::default()).unwrap();
    let batches = aomi_server::batches::StoreBatches::pending(Arc::clone(&store) as _, 10);
    let tools = aomi_server::transactions::guarded_chain_tools(Arc::clone(&sessions), store, explorer, checks.clone())
        .merge(aomi_tools::defi::defi_tools_with(sessions, batches, prices, checks, None));
    let specs = tools.specs();
    assert!(specs.len() > 10, "{:?}", tools.names());
    for spec in specs {
        let schema = spec.parameters.to_string().to_lowercase();
        assert!(!spec.name.contains("guard"), "{}", spec.name);
        for key in ["maxtransactionusd", "maxdailyusd", "max_transaction_usd", "\"level\"", "\"allowed\""] {
            assert!(!schema.contains(key), "{} takes {key}: {schema}", spec.name);
        }
    }
}
