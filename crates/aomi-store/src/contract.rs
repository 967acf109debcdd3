//! The contract database: what aomi knows about a contract on a chain.
//!
//! One row per `(chain_id, address)`: its name, its ABI (the JSON array that Solidity and the
//! explorers produce), optionally its source, who vouched for it, and when it was fetched. The
//! chain layer fills it from the explorer (Etherscan), from local artifacts (`contracts/`) or by
//! hand, and reads it before asking the explorer again.
//!
//! ```no_run
//! # async fn demo(store: &dyn aomi_store::ContractStore) -> Result<(), Box<dyn std::error::Error>> {
//! use aomi_core::Address;
//! use aomi_store::ContractRecord;
//! let usdc = ContractRecord {
//!     chain_id: 1,
//!     address: Address::parse("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")?, // checked once, here
//!     name: Some("FiatTokenProxy".into()),
//!     abi: serde_json::json!([]),
//!     source: None,
//!     verified_by: Some("etherscan".into()),
//!     fetched_at: chrono::Utc::now(),
//!     implementation: Some(Address::parse("0x43506849d7c04f9138d1a2050bbf3a0c054402dd")?),
//! };
//! store.put_contract(&usdc).await?;
//! let again = store.contract(1, usdc.address).await?;
//! assert_eq!(again.map(|c| c.name), Some(Some("FiatTokenProxy".into())));
//! # Ok(()) }
//! ```

use aomi_core::Address;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

/// A contract as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractRecord {
    /// The chain id (1 for Ethereum mainnet, 31337 for a local devnet, …).
    pub chain_id: u64,
    /// The address (stored and serialised lower case).
    pub address: Address,
    /// The contract's name (from the explorer or the artifact), if known.
    pub name: Option<String>,
    /// The ABI as JSON (normally an array of entries). For a proxy, the ABI callers need
    /// (the implementation's), with the proxy's own entries if wanted.
    pub abi: Value,
    /// The verified source (Solidity, or the explorer's JSON input), if kept.
    pub source: Option<String>,
    /// Who vouched for the ABI: `"etherscan"`, `"sourcify"`, `"artifact"`, `"user"`, … `None` if
    /// nobody did.
    pub verified_by: Option<String>,
    /// When it was fetched or written; callers decide when it is too old.
    pub fetched_at: DateTime<Utc>,
    /// For a proxy, the implementation whose ABI `abi` carries; `None` otherwise.
    #[serde(default)]
    pub implementation: Option<Address>,
}

/// Contracts by chain and address.
#[async_trait]
pub trait ContractStore: Send + Sync {
    /// Inserts the contract, or replaces the one stored at the same chain and address.
    async fn put_contract(&self, contract: &ContractRecord) -> Result<(), StoreError>;

    /// The contract at `address` on `chain_id`.
    async fn contract(&self, chain_id: u64, address: Address) -> Result<Option<ContractRecord>, StoreError>;

    /// Contracts on `chain_id` whose name starts with `name` (case-insensitive), by name, at most
    /// `limit` (1 to [`MAX_PAGE`](crate::MAX_PAGE)).
    async fn contracts_named(&self, chain_id: u64, name: &str, limit: u32) -> Result<Vec<ContractRecord>, StoreError>;
}
