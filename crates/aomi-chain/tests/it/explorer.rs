//! The Etherscan client over real HTTP, against the stub Etherscan: each answer Etherscan gives
//! becomes its own error, a rate limit is retried, and the key never leaks into an error.

use std::time::Duration;

use aomi_chain::alloy::primitives::{Address, address};
use aomi_chain::{Etherscan, EtherscanConfig, ExplorerError};
use aomi_testkit::{ExplorerReply, StubEtherscan};
use serde_json::json;

const TOKEN: Address = address!("a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
const KEY: &str = "secret-key-123";

fn config(stub: &StubEtherscan) -> EtherscanConfig {
    EtherscanConfig {
        api_key: Some(KEY.into()),
        base_url: stub.url(),
        timeout: Duration::from_secs(5),
        rate_limit_retries: 2,
        retry_delay: Duration::from_millis(10),
    }
}

fn transfer_abi() -> serde_json::Value {
    json!([{ "type": "function", "name": "transfer", "stateMutability": "nonpayable",
        "inputs": [{ "name": "to", "type": "address" }, { "name": "amount", "type": "uint256" }],
        "outputs": [{ "name": "", "type": "bool" }] }])
}

#[tokio::test]
async fn a_verified_contract_is_fetched_with_the_v2_query() {
    let stub = StubEtherscan::start().await.unwrap();
    stub.contract(1, &TOKEN.to_string(), ExplorerReply::verified("FiatTokenV2_2", transfer_abi()));
    let found = Etherscan::new(config(&stub)).unwrap().source_code(1, TOKEN).await.unwrap();
    assert_eq!(found.name, "FiatTokenV2_2");
    assert_eq!(found.abi.functions().map(|f| f.signature()).collect::<Vec<_>>(), ["transfer(address,uint256)"]);
    assert_eq!(found.abi_json, transfer_abi());
    assert!(found.source.contains("contract FiatTokenV2_2"));
    assert_eq!(found.implementation, None);

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let q = &requests[0];
    assert_eq!(
        (q.param("chainid"), q.param("module"), q.param("action"), q.param("apikey")),
        (Some("1"), Some("contract"), Some("getsourcecode"), Some(KEY))
    );
    assert_eq!(q.address(), Some(TOKEN.to_string().to_lowercase()));
}

#[tokio::test]
async fn a_proxy_names_its_implementation() {
    let stub = StubEtherscan::start().await.unwrap();
    let implementation = "0x43506849D7C04F9138D1A2050bbF3A0c054402dd";
    stub.contract(1, &TOKEN.to_string(), ExplorerReply::verified("FiatTokenProxy", json!([])).proxy_of(implementation));
    let found = Etherscan::new(config(&stub)).unwrap().source_code(1, TOKEN).await.unwrap();
    assert_eq!(found.implementation, Some(implementation.parse().unwrap()));
}

#[tokio::test]
async fn each_explorer_answer_is_its_own_error() {
    let stub = StubEtherscan::start().await.unwrap();
    let etherscan = Etherscan::new(config(&stub)).unwrap();

    // No script for the address: Etherscan's "not verified" answer (status "1").
    assert_eq!(
        etherscan.source_code(1, TOKEN).await.unwrap_err(),
        ExplorerError::NotVerified { chain_id: 1, address: TOKEN }
    );

    stub.then(ExplorerReply::InvalidKey);
    let error = etherscan.source_code(1, TOKEN).await.unwrap_err();
    assert!(matches!(&error, ExplorerError::InvalidKey(text) if text.contains("Invalid API Key")), "{error:?}");
    assert!(error.to_string().contains("ETHERSCAN_API_KEY"));

    stub.then(ExplorerReply::HttpError(500));
    assert_eq!(etherscan.source_code(1, TOKEN).await.unwrap_err(), ExplorerError::Http(500));
    assert!(ExplorerError::Http(500).to_string().contains("not available"));

    // A chain Etherscan does not index (a local devnet, a fork).
    stub.then(ExplorerReply::Notok("Missing or unsupported chainid parameter (required for v2 api)".into()));
    let error = etherscan.source_code(31337, TOKEN).await.unwrap_err();
    assert!(matches!(&error, ExplorerError::UnsupportedChain { chain_id: 31337, .. }), "{error:?}");
    assert!(error.to_string().contains("no data for chain 31337"), "{error}");

    stub.then(ExplorerReply::Notok("Query Timeout occured. Please select a smaller result dataset".into()));
    let error = etherscan.source_code(1, TOKEN).await.unwrap_err();
    assert!(matches!(&error, ExplorerError::Api(text) if text.starts_with("Query Timeout")), "{error:?}");

    // Only a rate limit is retried: one request for each of the answers above.
    assert_eq!(stub.requests().len(), 5);
    assert!(stub.requests().iter().all(|r| r.param("apikey") == Some(KEY)));
}

#[tokio::test]
async fn a_rate_limit_is_retried_then_answered() {
    let stub = StubEtherscan::start().await.unwrap();
    stub.contract(1, &TOKEN.to_string(), ExplorerReply::verified("Token", transfer_abi()));
    stub.then(ExplorerReply::RateLimited);
    let found = Etherscan::new(config(&stub)).unwrap().source_code(1, TOKEN).await.unwrap();
    assert_eq!(found.name, "Token");
    assert_eq!(stub.requests().len(), 2, "the rate-limited request was sent again");
}

#[tokio::test]
async fn a_rate_limit_that_lasts_is_an_error_after_the_retries() {
    let stub = StubEtherscan::start().await.unwrap();
    for _ in 0..5 {
        stub.then(ExplorerReply::RateLimited);
    }
    let error = Etherscan::new(config(&stub)).unwrap().source_code(1, TOKEN).await.unwrap_err();
    assert!(matches!(&error, ExplorerError::RateLimited(text) if text.contains("rate limit")), "{error:?}");
    assert_eq!(stub.requests().len(), 3, "one request and two retries");
}

#[tokio::test]
async fn a_slow_explorer_times_out() {
    let stub = StubEtherscan::start().await.unwrap();
    stub.then(ExplorerReply::Slow(Duration::from_secs(5), Box::new(ExplorerReply::NotVerified)));
    let config = EtherscanConfig { timeout: Duration::from_millis(300), ..config(&stub) };
    let error = Etherscan::new(config).unwrap().source_code(1, TOKEN).await.unwrap_err();
    assert_eq!(error, ExplorerError::Timeout(Duration::from_millis(300)));
}

#[tokio::test]
async fn without_a_key_nothing_is_sent() {
    let stub = StubEtherscan::start().await.unwrap();
    let config = EtherscanConfig { api_key: None, ..config(&stub) };
    let error = Etherscan::new(config).unwrap().source_code(1, TOKEN).await.unwrap_err();
    assert_eq!(error, ExplorerError::NoApiKey);
    assert!(error.to_string().contains("set ETHERSCAN_API_KEY"));
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn an_unreachable_explorer_is_reported_without_the_key() {
    // A port nothing listens on: the stub, stopped.
    let url = {
        let stub = StubEtherscan::start().await.unwrap();
        stub.url()
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let config = EtherscanConfig {
        api_key: Some(KEY.into()),
        base_url: url,
        timeout: Duration::from_secs(5),
        rate_limit_retries: 0,
        retry_delay: Duration::ZERO,
    };
    let error = Etherscan::new(config.clone()).unwrap().source_code(1, TOKEN).await.unwrap_err();
    assert!(matches!(error, ExplorerError::Unreachable(_)), "{error:?}");
    assert!(!error.to_string().contains(KEY), "{error}");
    assert!(!format!("{config:?}").contains(KEY), "the configuration's Debug hides the key");
}
