//! The store's contract table as the chain layer's [`ContractCache`]: the one place where the
//! two meet, so that neither crate depends on the other.

use std::sync::Arc;

use aomi_chain::alloy::primitives::Address;
use aomi_chain::{CacheError, CachedContract, ContractCache};
use aomi_core::BoxFuture;
use aomi_store::{ContractRecord, ContractStore};

/// [`ContractCache`] over a store's contracts.
#[derive(Clone)]
pub struct StoreContractCache {
    store: Arc<dyn ContractStore>,
}

impl std::fmt::Debug for StoreContractCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreContractCache").finish_non_exhaustive()
    }
}

impl StoreContractCache {
    /// The cache over `store` (an `Arc<dyn Store>` coerces to it).
    pub fn new(store: Arc<dyn ContractStore>) -> Self {
        StoreContractCache { store }
    }

    /// The same, shared, as the contract database takes it.
    pub fn shared(store: Arc<dyn ContractStore>) -> Arc<dyn ContractCache> {
        Arc::new(Self::new(store))
    }
}

impl ContractCache for StoreContractCache {
    fn contract(&self, chain_id: u64, address: Address) -> BoxFuture<'_, Result<Option<CachedContract>, CacheError>> {
        Box::pin(async move {
            let row = self.store.contract(chain_id, address.into()).await.map_err(failed)?;
            Ok(row.map(cached))
        })
    }

    fn put_contract<'a>(&'a self, contract: &'a CachedContract) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move { self.store.put_contract(&record(contract.clone())).await.map_err(failed) })
    }
}

fn failed(error: aomi_store::StoreError) -> CacheError {
    CacheError(error.to_string())
}

fn cached(row: ContractRecord) -> CachedContract {
    let ContractRecord { chain_id, address, name, abi, source, verified_by, fetched_at, implementation } = row;
    CachedContract { chain_id, address, name, abi, source, verified_by, fetched_at, implementation }
}

fn record(contract: CachedContract) -> ContractRecord {
    let CachedContract { chain_id, address, name, abi, source, verified_by, fetched_at, implementation } = contract;
    ContractRecord { chain_id, address, name, abi, source, verified_by, fetched_at, implementation }
}
