//! The contract database: `get_contract(chain, address)` from the cache first, Etherscan second.
//!
//! [`ContractDb::get_contract`] answers from the cache ([`ContractCache`]) while the row is fresh
//! enough, and otherwise asks the explorer ([`Etherscan`]) and stores its answer (`verified_by:
//! "etherscan"`). Either way the ABI is registered in [`KnownContracts`], so that simulation, log
//! and revert decoding and `call_view_function` by name use it from then on.
//!
//! Freshness ([`CachePolicy`]): a verified contract's code cannot change, so its row is kept for
//! good; a proxy can be upgraded, so its row is asked again after a day; "not verified" may change
//! when someone verifies the source, so that answer is kept for an hour only. Rows written by
//! aomi itself (`"artifact"`, `"user"`) are always fresh. When the explorer fails and a stale
//! verified row exists, the stale row is answered (with a warning in the log) rather than nothing.
//!
//! Proxies: Etherscan marks a proxy (`Proxy: "1"`) and names its implementation. Callers talk to
//! the proxy's address with the implementation's functions, so the row at the proxy's address
//! carries the implementation's ABI with the proxy's own entries added (admin functions, `Upgraded`
//! events), its `implementation` set; the implementation gets its own row too. An implementation
//! that is not verified leaves the proxy's own ABI. Proxies are also read on chain
//! ([`detect_proxy`]: EIP-1967 implementation and beacon, EIP-1822, EIP-1167) on every lookup, so
//! a devnet's or a fork's proxy, one the explorer does not mark, and an upgrade since the row was
//! written all answer with the implementation's ABI merged in.

use std::sync::Arc;
use std::time::Duration;

use alloy::json_abi::JsonAbi;
use alloy::primitives::Address;
use alloy::providers::Provider;
use chrono::Utc;

use crate::contract_cache::{CacheError, CachedContract, ContractCache};
use crate::error::ChainError;
use crate::explorer::{Etherscan, ExplorerError, SourceCode};
use crate::proxy::detect_proxy;
use crate::session::{Connection, KnownContract, KnownContracts};

/// `verified_by` of rows fetched from Etherscan.
pub const VERIFIED_BY_ETHERSCAN: &str = "etherscan";

/// `verified_by` of the project's own compiled contracts (the devnet's).
pub const VERIFIED_BY_ARTIFACT: &str = "artifact";

/// How long a stored answer is used before the explorer is asked again.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// A proxy's row (its implementation can change).
    pub proxy: Duration,
    /// A "not verified" answer.
    pub not_verified: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy { proxy: Duration::from_secs(24 * 3600), not_verified: Duration::from_secs(3600) }
    }
}

/// Why `get_contract` has no ABI to answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ContractError {
    /// There is no code at the address.
    #[error("{address} is not a contract on {network}: there is no code at that address")]
    NotAContract {
        /// The network's name.
        network: String,
        /// The address.
        address: Address,
    },
    /// The explorer failed, or answered "not verified".
    #[error(transparent)]
    Explorer(#[from] ExplorerError),
    /// Reading the chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The database failed.
    #[error("the contract database failed: {0}")]
    Store(String),
}

impl From<CacheError> for ContractError {
    fn from(error: CacheError) -> Self {
        ContractError::Store(error.to_string())
    }
}

/// A contract with a known ABI.
#[derive(Debug, Clone)]
pub struct ResolvedContract {
    /// The row, as stored.
    pub record: CachedContract,
    /// The ABI, parsed.
    pub abi: Arc<JsonAbi>,
    /// True when answered from the cache without asking the explorer.
    pub cached: bool,
}

/// The contract database: the cache, the explorer behind it, and how long answers are kept.
#[derive(Clone)]
pub struct ContractDb {
    cache: Arc<dyn ContractCache>,
    explorer: Etherscan,
    policy: CachePolicy,
}

impl std::fmt::Debug for ContractDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractDb").field("explorer", &self.explorer).field("policy", &self.policy).finish()
    }
}

impl ContractDb {
    /// A database over `cache`, asking `explorer` for what it lacks.
    pub fn new(cache: Arc<dyn ContractCache>, explorer: Etherscan) -> Self {
        ContractDb { cache, explorer, policy: CachePolicy::default() }
    }

    /// The same with another cache policy.
    pub fn with_policy(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<dyn ContractCache> {
        &self.cache
    }

    /// The contract at `address` on the connection's network, its ABI registered in `known`. A
    /// proxy found on chain ([`detect_proxy`]) answers with its implementation's ABI merged in,
    /// whatever the explorer knows of it.
    pub async fn get_contract(
        &self,
        known: &KnownContracts,
        connection: &Connection,
        address: Address,
    ) -> Result<ResolvedContract, ContractError> {
        let own = self.lookup(known, connection, address).await;
        // A proxy the explorer cannot tell about (not verified, no key, a chain it does not
        // index) may still be found on chain.
        if matches!(own, Err(ContractError::NotAContract { .. } | ContractError::Chain(_) | ContractError::Store(_))) {
            return own;
        }
        let proxy = match detect_proxy(connection, address).await {
            Ok(proxy) => proxy,
            Err(error) => {
                tracing::debug!(%error, %address, "proxy detection failed; answering the contract as it is");
                None
            }
        };
        let Some(proxy) = proxy else { return own };
        if let Ok(found) = &own
            && found.record.implementation == Some(proxy.implementation.into())
        {
            return own;
        }
        let target = match self.lookup(known, connection, proxy.implementation).await {
            Ok(target) => target,
            Err(error) => {
                tracing::info!(%error, %address, implementation = %proxy.implementation, "a proxy's implementation has no ABI");
                return own;
            }
        };
        let (proxy_abi, name, source, verified_by) = match &own {
            Ok(found) => (
                found.abi.as_ref().clone(),
                found.record.name.clone(),
                found.record.source.clone(),
                found.record.verified_by.clone(),
            ),
            Err(_) => (JsonAbi::default(), None, None, target.record.verified_by.clone()),
        };
        let merged = merge(&target.abi, &proxy_abi);
        let record = CachedContract {
            chain_id: connection.network.chain_id,
            address: stored(address),
            name: name.or_else(|| target.record.name.as_ref().map(|n| format!("{n} (proxy)"))),
            abi: serde_json::to_value(&merged).map_err(|e| ContractError::Store(e.to_string()))?,
            source,
            verified_by,
            fetched_at: Utc::now(),
            implementation: Some(stored(proxy.implementation)),
        };
        self.cache.put_contract(&record).await?;
        register(known, record, false)
    }

    /// The contract's own row: the cache, else the explorer.
    async fn lookup(
        &self,
        known: &KnownContracts,
        connection: &Connection,
        address: Address,
    ) -> Result<ResolvedContract, ContractError> {
        let chain_id = connection.network.chain_id;
        let stored = self.cache.contract(chain_id, address).await?;
        if let Some(record) = stored.as_ref().filter(|r| self.is_fresh(r)) {
            if record.verified_by.is_none() {
                return Err(ExplorerError::NotVerified { chain_id, address }.into());
            }
            return register(known, record.clone(), true);
        }
        let code = connection
            .provider
            .get_code_at(address)
            .await
            .map_err(|e| ChainError::from_rpc(e, &connection.network, None))?;
        if code.is_empty() {
            return Err(ContractError::NotAContract { network: connection.network.name.clone(), address });
        }
        match self.fetch(chain_id, address).await {
            Ok((record, implementation)) => {
                if let Some(implementation) = implementation {
                    self.cache.put_contract(&implementation).await?;
                    register(known, implementation, false)?;
                }
                self.cache.put_contract(&record).await?;
                register(known, record, false)
            }
            Err(ExplorerError::NotVerified { .. }) => {
                self.cache.put_contract(&not_verified(chain_id, address)).await?;
                Err(ExplorerError::NotVerified { chain_id, address }.into())
            }
            Err(error) => match stored.filter(|r| r.verified_by.is_some()) {
                Some(stale) => {
                    tracing::warn!(%error, chain_id, %address, "the explorer failed; answering the stored ABI");
                    register(known, stale, true)
                }
                None => Err(error.into()),
            },
        }
    }

    /// Stores every contract `known` has on `chain_id` as `"artifact"` rows: the devnet's own
    /// contracts, answered without the explorer. Returns how many.
    pub async fn store_known(&self, known: &KnownContracts, chain_id: u64) -> Result<usize, ContractError> {
        let contracts = known.on_chain(chain_id);
        for (address, contract) in &contracts {
            let record = CachedContract {
                chain_id,
                address: stored(*address),
                name: Some(contract.name.clone()),
                abi: serde_json::to_value(contract.abi.as_ref()).map_err(|e| ContractError::Store(e.to_string()))?,
                source: None,
                verified_by: Some(VERIFIED_BY_ARTIFACT.into()),
                fetched_at: Utc::now(),
                implementation: None,
            };
            self.cache.put_contract(&record).await?;
        }
        Ok(contracts.len())
    }

    /// Whether a stored row is used as is.
    fn is_fresh(&self, record: &CachedContract) -> bool {
        let ttl = match (record.verified_by.as_deref(), &record.implementation) {
            (None, _) => self.policy.not_verified,
            (Some(VERIFIED_BY_ETHERSCAN), Some(_)) => self.policy.proxy,
            // A verified contract's code never changes; rows aomi wrote itself are its own truth.
            (Some(_), _) => return true,
        };
        let age = Utc::now().signed_duration_since(record.fetched_at);
        age.to_std().is_ok_and(|age| age < ttl) || age < chrono::TimeDelta::zero()
    }

    /// Asks the explorer: the row for `address`, and for a proxy the implementation's row.
    async fn fetch(
        &self,
        chain_id: u64,
        address: Address,
    ) -> Result<(CachedContract, Option<CachedContract>), ExplorerError> {
        let found = self.explorer.source_code(chain_id, address).await?;
        let Some(implementation) = found.implementation.filter(|i| *i != address) else {
            return Ok((verified(chain_id, address, &found, found.abi_json.clone(), None), None));
        };
        let target = match self.explorer.source_code(chain_id, implementation).await {
            Ok(target) => target,
            Err(ExplorerError::NotVerified { .. }) => {
                tracing::info!(chain_id, %address, %implementation, "a proxy's implementation is not verified");
                return Ok((verified(chain_id, address, &found, found.abi_json.clone(), Some(implementation)), None));
            }
            Err(error) => return Err(error),
        };
        let merged = merge(&target.abi, &found.abi);
        let merged = serde_json::to_value(&merged).map_err(|e| ExplorerError::Malformed(e.to_string()))?;
        Ok((
            verified(chain_id, address, &found, merged, Some(implementation)),
            Some(verified(chain_id, implementation, &target, target.abi_json.clone(), None)),
        ))
    }
}

/// A row from the explorer's answer.
fn verified(
    chain_id: u64,
    address: Address,
    found: &SourceCode,
    abi: serde_json::Value,
    implementation: Option<Address>,
) -> CachedContract {
    CachedContract {
        chain_id,
        address: stored(address),
        name: Some(found.name.clone()).filter(|n| !n.is_empty()),
        abi,
        source: Some(found.source.clone()).filter(|s| !s.is_empty()),
        verified_by: Some(VERIFIED_BY_ETHERSCAN.into()),
        fetched_at: Utc::now(),
        implementation: implementation.map(stored),
    }
}

/// The row that remembers a "not verified" answer: no ABI, nobody vouching.
fn not_verified(chain_id: u64, address: Address) -> CachedContract {
    CachedContract {
        chain_id,
        address: stored(address),
        name: None,
        abi: serde_json::json!([]),
        source: None,
        verified_by: None,
        fetched_at: Utc::now(),
        implementation: None,
    }
}

/// The implementation's ABI with the proxy's own functions, events and errors added where their
/// selectors are not already there.
pub fn merge(implementation: &JsonAbi, proxy: &JsonAbi) -> JsonAbi {
    let mut merged = implementation.clone();
    for function in proxy.functions() {
        if !merged.functions().any(|f| f.selector() == function.selector()) {
            merged.functions.entry(function.name.clone()).or_default().push(function.clone());
        }
    }
    for event in proxy.events() {
        if !merged.events().any(|e| e.selector() == event.selector()) {
            merged.events.entry(event.name.clone()).or_default().push(event.clone());
        }
    }
    for error in proxy.errors() {
        if !merged.errors().any(|e| e.selector() == error.selector()) {
            merged.errors.entry(error.name.clone()).or_default().push(error.clone());
        }
    }
    merged
}

/// An address as the cache keeps it.
fn stored(address: Address) -> aomi_core::Address {
    address.into()
}

/// Parses a row's ABI and records it in `known`.
fn register(known: &KnownContracts, record: CachedContract, cached: bool) -> Result<ResolvedContract, ContractError> {
    let abi: JsonAbi = serde_json::from_value(record.abi.clone())
        .map_err(|e| ContractError::Store(format!("the stored ABI of {} is invalid: {e}", record.address)))?;
    let abi = Arc::new(abi);
    let address = record.address.into_alloy();
    let name = record.name.clone().unwrap_or_else(|| "unnamed contract".into());
    known.insert(record.chain_id, address, KnownContract { name, abi: Arc::clone(&abi) });
    Ok(ResolvedContract { record, abi, cached })
}
