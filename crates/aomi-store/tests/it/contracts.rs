//! The contract database.

use std::sync::Arc;

use aomi_store::{ContractRecord, ContractStore, Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{addr, address_error, both};

both!(contracts_are_kept_per_chain_and_address, bad_contract_input_is_refused);

const USDC: &str = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

fn usdc(chain_id: u64, name: &str) -> ContractRecord {
    ContractRecord {
        chain_id,
        address: addr(USDC),
        name: Some(name.into()),
        abi: json!([{ "type": "function", "name": "transfer", "inputs": [
            { "name": "to", "type": "address" }, { "name": "amount", "type": "uint256" }
        ], "outputs": [{ "type": "bool" }], "stateMutability": "nonpayable" }]),
        source: Some("contract FiatTokenProxy {}".into()),
        verified_by: Some("etherscan".into()),
        fetched_at: DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
        implementation: Some(addr("0x43506849d7c04f9138d1a2050bbf3a0c054402dd")),
    }
}

async fn contracts_are_kept_per_chain_and_address(store: Arc<dyn Store>) {
    // The chain layer holds only the contract part of the store.
    let contracts: Arc<dyn ContractStore> = store;
    contracts.put_contract(&usdc(1, "FiatTokenProxy")).await.unwrap();
    contracts.put_contract(&usdc(10, "USD Coin")).await.unwrap();

    let stored = contracts.contract(1, addr(&USDC.to_uppercase().replace("0X", "0x"))).await.unwrap().unwrap();
    assert_eq!(stored.address.to_lowercase_hex(), USDC.to_lowercase(), "addresses are stored lower case");
    assert_eq!(stored, ContractRecord { address: addr(&USDC.to_lowercase()), ..usdc(1, "FiatTokenProxy") });
    assert!(contracts.contract(5, addr(USDC)).await.unwrap().is_none());

    // Writing again replaces.
    let mut newer = usdc(1, "FiatTokenV2_2");
    newer.verified_by = Some("sourcify".into());
    newer.implementation = None;
    contracts.put_contract(&newer).await.unwrap();
    let stored = contracts.contract(1, addr(USDC)).await.unwrap().unwrap();
    assert_eq!((stored.name.as_deref(), stored.verified_by.as_deref()), (Some("FiatTokenV2_2"), Some("sourcify")));
    assert_eq!(stored.implementation, None, "a proxy that is no longer one forgets its implementation");

    let named = contracts.contracts_named(1, "fiattoken", 10).await.unwrap();
    assert_eq!(named.len(), 1);
    assert!(contracts.contracts_named(1, "usd", 10).await.unwrap().is_empty(), "per chain");
    assert_eq!(contracts.contracts_named(10, "USD", 10).await.unwrap().len(), 1);
    // LIKE's wildcards are plain characters.
    assert!(contracts.contracts_named(1, "%", 10).await.unwrap().is_empty());
    assert!(contracts.contracts_named(1, "Fiat_", 10).await.unwrap().is_empty());
}

async fn bad_contract_input_is_refused(store: Arc<dyn Store>) {
    // A malformed address (as the contract's or as its implementation) never reaches the store:
    // parsing the text refuses it.
    assert!(matches!(address_error("0x1234"), StoreError::InvalidInput(m) if m.contains("not an address")));
    assert!(matches!(address_error("usdc"), StoreError::InvalidInput(_)));
    let huge = usdc(u64::MAX, "x");
    assert!(matches!(store.put_contract(&huge).await, Err(StoreError::InvalidInput(m)) if m.contains("chain id")));
    assert!(matches!(store.contracts_named(1, "x", 0).await, Err(StoreError::InvalidInput(_))));
}
