//! [`ContractCache`]: where the contract database keeps what it learned, as this crate sees it.
//!
//! The chain layer defines the seam and the row it needs ([`CachedContract`]); whoever wires the
//! application (the server, over its store) implements it. So the chain layer does not depend on
//! the store, and a test or another deployment can put any persistence behind it.

use alloy::primitives::Address;
use aomi_core::BoxFuture;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A contract as the cache holds it: one row per `(chain_id, address)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedContract {
    /// The chain id (1 for Ethereum mainnet, 31337 for a local devnet, …).
    pub chain_id: u64,
    /// The address.
    pub address: aomi_core::Address,
    /// The contract's name (from the explorer or the artifact), if known.
    pub name: Option<String>,
    /// The ABI as JSON; for a proxy, the implementation's with the proxy's own entries added.
    pub abi: Value,
    /// The verified source, if kept.
    pub source: Option<String>,
    /// Who vouched for the ABI (`"etherscan"`, `"artifact"`, `"user"`, …); `None` if nobody did.
    pub verified_by: Option<String>,
    /// When it was fetched or written; the database decides when it is too old.
    pub fetched_at: DateTime<Utc>,
    /// For a proxy, the implementation whose ABI `abi` carries
    pub implementation: Option<aomi_core::Address>,
}

/// Why the cache could not answer or keep a row; its text is the underlying failure's.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CacheError(pub String);

/// Contracts by chain and address, kept across restarts by whoever implements it.
///
/// Object safe (`Arc<dyn ContractCache>`): the methods return boxed futures.
pub trait ContractCache: Send + Sync {
    /// The row at `address` on `chain_id`, if any.
    fn contract(&self, chain_id: u64, address: Address) -> BoxFuture<'_, Result<Option<CachedContract>, CacheError>>;

    /// Inserts the row, or replaces the one at the same chain and address.
    fn put_contract<'a>(&'a self, contract: &'a CachedContract) -> BoxFuture<'a, Result<(), CacheError>>;
}
