//! One provider per chat session, switched per turn by the wallet's chain id.
//!
//! There is no global "current network": each chat has its own [`SwitchableProvider`], kept by
//! [`ChainSessions`]. At the start of every turn the wallet context's chain id switches the chat's
//! provider ([`ChainSessions::begin_turn`]) before any tool runs, so "switch network, then ask"
//! always answers on the new network, and two chats on two networks never see each other's.
//! `switch_network` moves the chat for the rest of the turn; the front end then switches the
//! wallet, and the next turn's wallet context agrees.
//!
//! The HTTP connections themselves are shared: one provider per network in a [`ProviderPool`],
//! since a provider holds no per-user state.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use alloy::json_abi::JsonAbi;
use alloy::primitives::Address;
use aomi_core::{TurnHook, WalletContext};
use lru::LruCache;

use crate::error::ChainError;
use crate::network::{Network, NetworkRegistry};
use crate::provider::{ChainProvider, connect, http_client};

/// A network and a provider connected to it.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The network.
    pub network: Network,
    /// Its provider.
    pub provider: ChainProvider,
}

/// One provider per network, built on first use and shared by every session.
#[derive(Debug)]
pub struct ProviderPool {
    registry: NetworkRegistry,
    http: reqwest::Client,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProviderPool {
    /// A pool over the networks of `registry`.
    pub fn new(registry: NetworkRegistry) -> Result<Self, ChainError> {
        Ok(ProviderPool { registry, http: http_client()?, connections: Mutex::default() })
    }

    /// The networks.
    pub fn registry(&self) -> &NetworkRegistry {
        &self.registry
    }

    /// The connection to `network` (a network of the registry).
    pub fn connection(&self, network: &Network) -> Result<Arc<Connection>, ChainError> {
        if let Some(connection) = lock(&self.connections).get(&network.name) {
            return Ok(Arc::clone(connection));
        }
        let connection = Arc::new(Connection { network: network.clone(), provider: connect(network, &self.http)? });
        lock(&self.connections).entry(network.name.clone()).or_insert_with(|| Arc::clone(&connection));
        Ok(connection)
    }
}

/// Where a session stands.
#[derive(Debug, Clone)]
enum Current {
    Connected(Arc<Connection>),
    /// The wallet is on a chain the registry does not know.
    Unknown(u64),
}

/// A chat's provider: one network at a time, switched at once, with no effect on other chats.
#[derive(Debug)]
pub struct SwitchableProvider {
    pool: Arc<ProviderPool>,
    current: RwLock<Current>,
}

impl SwitchableProvider {
    /// A provider on `network`.
    pub fn new(pool: Arc<ProviderPool>, network: &Network) -> Result<Self, ChainError> {
        let connection = pool.connection(network)?;
        Ok(SwitchableProvider { pool, current: RwLock::new(Current::Connected(connection)) })
    }

    /// The current network and its provider, or why there is none (the wallet is on an unknown
    /// chain).
    pub fn current(&self) -> Result<Arc<Connection>, ChainError> {
        match &*self.current.read().unwrap_or_else(PoisonError::into_inner) {
            Current::Connected(connection) => Ok(Arc::clone(connection)),
            Current::Unknown(chain_id) => {
                Err(ChainError::UnknownChainId { chain_id: *chain_id, known: self.pool.registry().known() })
            }
        }
    }

    /// Switches to a network given by name, alias or chain id.
    pub fn switch_network(&self, asked: &str) -> Result<Arc<Connection>, ChainError> {
        let network = self.pool.registry().resolve(asked)?.clone();
        self.switch_to(&network)
    }

    /// Switches to the network of `chain_id`. An unknown chain id leaves the session without a
    /// network: tools then say that the wallet's chain is unknown.
    pub fn switch_chain_id(&self, chain_id: u64) -> Result<Arc<Connection>, ChainError> {
        match self.pool.registry().for_chain_id(chain_id) {
            Ok(network) => {
                let network = network.clone();
                self.switch_to(&network)
            }
            Err(error) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Current::Unknown(chain_id);
                Err(error)
            }
        }
    }

    fn switch_to(&self, network: &Network) -> Result<Arc<Connection>, ChainError> {
        let connection = self.pool.connection(network)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Current::Connected(Arc::clone(&connection));
        Ok(connection)
    }
}

/// A contract whose ABI aomi knows (the devnet's own, or the contract database's).
#[derive(Debug, Clone)]
pub struct KnownContract {
    /// Its name.
    pub name: String,
    /// Its ABI.
    pub abi: Arc<JsonAbi>,
}

impl From<crate::contracts::Artifact> for KnownContract {
    fn from(artifact: crate::contracts::Artifact) -> Self {
        KnownContract { name: artifact.contract_name, abi: Arc::new(artifact.abi) }
    }
}

/// ABIs by chain id and address: where revert data, logs and `call_view_function` by name find
/// their ABI. [`ContractDb`](crate::contract_db::ContractDb) registers what it answers here.
///
/// Bounded: any address a user names can land here, so past its capacity the least recently used
/// contract is forgotten (the contract database answers it again from its cache when asked). The
/// project's own compiled contracts ([`KnownContracts::pin`]) are few and never forgotten.
#[derive(Debug)]
pub struct KnownContracts {
    contracts: Mutex<LruCache<(u64, Address), KnownContract>>,
    pinned: RwLock<HashMap<(u64, Address), KnownContract>>,
}

impl Default for KnownContracts {
    fn default() -> Self {
        KnownContracts::with_capacity(Capacity::default().contracts)
    }
}

impl KnownContracts {
    /// At most `capacity` contracts (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        KnownContracts { contracts: Mutex::new(LruCache::new(at_least_one(capacity))), pinned: RwLock::default() }
    }

    /// Records one of the project's own contracts (a devnet artifact): kept for good, outside the
    /// capacity, since only the project adds them.
    pub fn pin(&self, chain_id: u64, address: Address, contract: KnownContract) {
        self.pinned.write().unwrap_or_else(PoisonError::into_inner).insert((chain_id, address), contract);
    }

    /// Records a contract; the least recently used one is forgotten when full.
    pub fn insert(&self, chain_id: u64, address: Address, contract: KnownContract) {
        lock(&self.contracts).put((chain_id, address), contract);
    }

    /// The contract at `address` on `chain_id`, if known (and now the most recently used).
    pub fn get(&self, chain_id: u64, address: Address) -> Option<KnownContract> {
        let key = (chain_id, address);
        if let Some(contract) = self.pinned.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Some(contract.clone());
        }
        lock(&self.contracts).get(&key).cloned()
    }

    /// How many contracts are known, pinned ones included.
    pub fn len(&self) -> usize {
        lock(&self.contracts).len() + self.pinned.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every contract known on `chain_id`, by address.
    pub fn on_chain(&self, chain_id: u64) -> Vec<(Address, KnownContract)> {
        let mut found: HashMap<Address, KnownContract> = {
            let contracts = lock(&self.contracts);
            contracts.iter().filter(|((chain, _), _)| *chain == chain_id).map(|((_, a), c)| (*a, c.clone())).collect()
        };
        let pinned = self.pinned.read().unwrap_or_else(PoisonError::into_inner);
        found.extend(pinned.iter().filter(|((chain, _), _)| *chain == chain_id).map(|((_, a), c)| (*a, c.clone())));
        let mut found: Vec<_> = found.into_iter().collect();
        found.sort_by_key(|(address, _)| *address);
        found
    }
}

/// How much per-user state [`ChainSessions`] keeps before it forgets the least recently used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Chat sessions; a forgotten chat gets a new session on its next turn, on its wallet's
    /// network.
    pub sessions: usize,
    /// Known contracts (ABIs by chain and address).
    pub contracts: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity { sessions: 10_000, contracts: 10_000 }
    }
}

fn at_least_one(capacity: usize) -> NonZeroUsize {
    NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)
}

/// The chain state of every chat: its [`SwitchableProvider`], by chat id.
#[derive(Debug)]
pub struct ChainSessions {
    pool: Arc<ProviderPool>,
    default_network: Network,
    /// Bounded ([`Capacity::sessions`]): chat ids come from users.
    sessions: Mutex<LruCache<String, Arc<SwitchableProvider>>>,
    contracts: KnownContracts,
    markets: crate::tokens::Markets,
}

impl ChainSessions {
    /// Sessions over `registry`; a chat with no wallet context starts on `default_network`.
    pub fn new(registry: NetworkRegistry, default_network: &str) -> Result<Self, ChainError> {
        Self::with_capacity(registry, default_network, Capacity::default())
    }

    /// The same, keeping at most `capacity` sessions and contracts.
    pub fn with_capacity(
        registry: NetworkRegistry,
        default_network: &str,
        capacity: Capacity,
    ) -> Result<Self, ChainError> {
        let default_network = registry.resolve(default_network)?.clone();
        Ok(ChainSessions {
            pool: Arc::new(ProviderPool::new(registry)?),
            default_network,
            sessions: Mutex::new(LruCache::new(at_least_one(capacity.sessions))),
            contracts: KnownContracts::with_capacity(capacity.contracts),
            markets: crate::tokens::Markets::builtin(),
        })
    }

    /// The networks.
    pub fn registry(&self) -> &NetworkRegistry {
        self.pool.registry()
    }

    /// The network a chat starts on when its turn carries no wallet context.
    pub fn default_network(&self) -> &Network {
        &self.default_network
    }

    /// The contracts whose ABI is known.
    pub fn contracts(&self) -> &KnownContracts {
        &self.contracts
    }

    /// The token lists and exchanges per chain.
    pub fn markets(&self) -> &crate::tokens::Markets {
        &self.markets
    }

    /// The chat's provider, created on the default network at first use; past the capacity the
    /// least recently used chat's is forgotten.
    pub fn session(&self, chat_id: &str) -> Result<Arc<SwitchableProvider>, ChainError> {
        let mut sessions = lock(&self.sessions);
        if let Some(session) = sessions.get(chat_id) {
            return Ok(Arc::clone(session));
        }
        let session = Arc::new(SwitchableProvider::new(Arc::clone(&self.pool), &self.default_network)?);
        sessions.put(chat_id.to_owned(), Arc::clone(&session));
        Ok(session)
    }

    /// How many chat sessions are kept.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Called at the start of every turn, before the model or any tool runs: the wallet's chain id
    /// selects the chat's network. Without a wallet context the chat stays where it was.
    pub fn begin_turn(&self, chat_id: &str, wallet: Option<&WalletContext>) {
        let Some(wallet) = wallet else { return };
        let switched = self.session(chat_id).and_then(|session| session.switch_chain_id(wallet.chain_id));
        if let Err(error) = switched {
            tracing::warn!(chat_id, chain_id = wallet.chain_id, %error, "the wallet's chain is not usable");
        }
    }

    /// The connection to the network of `chain_id`, outside any chat (checking a contract
    /// wallet's sign-in on its chain).
    pub fn chain_connection(&self, chain_id: u64) -> Result<Arc<Connection>, ChainError> {
        let network = self.registry().for_chain_id(chain_id)?.clone();
        self.pool.connection(&network)
    }

    /// The connection a tool call uses: the network it names (for this call only), or the chat's.
    pub fn connection(&self, chat_id: &str, network: Option<&str>) -> Result<Arc<Connection>, ChainError> {
        match network.map(str::trim).filter(|n| !n.is_empty()) {
            Some(asked) => {
                let network = self.registry().resolve(asked)?.clone();
                self.pool.connection(&network)
            }
            None => self.session(chat_id)?.current(),
        }
    }
}

/// The backend runs this hook at the start of every turn of an app whose tools read the chain.
impl TurnHook for ChainSessions {
    fn begin_turn(&self, chat_id: &str, wallet: Option<&WalletContext>) {
        ChainSessions::begin_turn(self, chat_id, wallet);
    }
}
