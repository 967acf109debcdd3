//! The networks aomi knows: built-ins, a TOML file, and `AOMI_RPC_<NETWORK>` overrides.
//!
//! A networks file adds networks or changes built-in ones, key by key:
//!
//! ```toml
//! [networks.ethereum]
//! rpc_urls = ["https://my-node.example/rpc", "https://backup.example/rpc"]
//!
//! [networks.my-rollup]
//! chain_id = 424242
//! rpc_urls = ["http://127.0.0.1:9545"]
//! native_symbol = "ETH"
//! explorer = "https://explorer.my-rollup.example"
//! ```
//!
//! `AOMI_RPC_<NAME>` (the name in capitals, `-` as `_`: `AOMI_RPC_BASE_SEPOLIA`) replaces a
//! network's RPC URLs; several URLs are separated by commas, and then requests go through alloy's
//! fallback layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ChainError;

/// The chain id anvil uses by default, and the devnet's.
pub const DEVNET_CHAIN_ID: u64 = 31337;

/// The name of the local devnet.
pub const DEVNET: &str = "devnet";

/// The native currency of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NativeCurrency {
    /// Its name ("Ether").
    pub name: String,
    /// Its symbol ("ETH").
    pub symbol: String,
    /// Its decimals (18 on every EVM chain aomi knows).
    pub decimals: u8,
}

impl NativeCurrency {
    fn new(name: &str, symbol: &str) -> Self {
        NativeCurrency { name: name.into(), symbol: symbol.into(), decimals: 18 }
    }
}

/// One network: how to reach it and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// Its name in the registry (`ethereum`, `base-sepolia`, `devnet`).
    pub name: String,
    /// Its chain id.
    pub chain_id: u64,
    /// RPC endpoints, best first; requests fall back to the next ones.
    pub rpc_urls: Vec<String>,
    /// Its native currency.
    pub native: NativeCurrency,
    /// The block explorer's base URL, if any.
    pub explorer: Option<String>,
    /// True where ENS names resolve (the ENS contracts are deployed).
    pub ens: bool,
    /// True for test networks, whose coins have no value.
    pub testnet: bool,
}

impl Network {
    /// The RPC endpoints without paths or credentials (`https://host:port`), for messages: an RPC
    /// URL often carries an API key.
    pub fn rpc_hosts(&self) -> String {
        self.rpc_urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>().join(", ")
    }
}

/// A URL reduced to its scheme, host and port.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            }
        }
        Err(_) => "an invalid URL".into(),
    }
}

fn builtin(
    name: &str,
    chain_id: u64,
    rpc_urls: &[&str],
    native: NativeCurrency,
    explorer: Option<&str>,
    ens: bool,
    testnet: bool,
) -> Network {
    Network {
        name: name.into(),
        chain_id,
        rpc_urls: rpc_urls.iter().map(|u| (*u).to_owned()).collect(),
        native,
        explorer: explorer.map(str::to_owned),
        ens,
        testnet,
    }
}

/// The built-in networks. The public RPC URLs are rate limited: set `AOMI_RPC_<NETWORK>` to your
/// own node for real use.
pub fn builtin_networks() -> Vec<Network> {
    let eth = || NativeCurrency::new("Ether", "ETH");
    vec![
        builtin(DEVNET, DEVNET_CHAIN_ID, &["http://127.0.0.1:8545"], eth(), None, false, true),
        builtin(
            "ethereum",
            1,
            &["https://ethereum-rpc.publicnode.com", "https://eth.llamarpc.com"],
            eth(),
            Some("https://etherscan.io"),
            true,
            false,
        ),
        builtin("base", 8453, &["https://mainnet.base.org"], eth(), Some("https://basescan.org"), false, false),
        builtin("arbitrum", 42161, &["https://arb1.arbitrum.io/rpc"], eth(), Some("https://arbiscan.io"), false, false),
        builtin(
            "optimism",
            10,
            &["https://mainnet.optimism.io"],
            eth(),
            Some("https://optimistic.etherscan.io"),
            false,
            false,
        ),
        builtin(
            "polygon",
            137,
            &["https://polygon-rpc.com"],
            NativeCurrency::new("POL", "POL"),
            Some("https://polygonscan.com"),
            false,
            false,
        ),
        builtin(
            "sepolia",
            11155111,
            &["https://ethereum-sepolia-rpc.publicnode.com"],
            NativeCurrency::new("Sepolia Ether", "ETH"),
            Some("https://sepolia.etherscan.io"),
            true,
            true,
        ),
        builtin(
            "base-sepolia",
            84532,
            &["https://sepolia.base.org"],
            NativeCurrency::new("Sepolia Ether", "ETH"),
            Some("https://sepolia.basescan.org"),
            false,
            true,
        ),
    ]
}

/// One network of a networks file; every key is optional for a built-in network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEntry {
    /// Chain id (required for a new network).
    pub chain_id: Option<u64>,
    /// RPC URLs (required for a new network).
    pub rpc_urls: Option<Vec<String>>,
    /// Name of the native currency.
    pub native_name: Option<String>,
    /// Symbol of the native currency.
    pub native_symbol: Option<String>,
    /// Decimals of the native currency.
    pub native_decimals: Option<u8>,
    /// Block explorer URL.
    pub explorer: Option<String>,
    /// Whether ENS resolves there.
    pub ens: Option<bool>,
    /// Whether it is a test network.
    pub testnet: Option<bool>,
}

/// A networks file: `[networks.<name>]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksFile {
    /// The networks by name.
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkEntry>,
}

/// The networks aomi can talk to, by name and by chain id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRegistry {
    networks: Vec<Network>,
}

impl Default for NetworkRegistry {
    fn default() -> Self {
        NetworkRegistry { networks: builtin_networks() }
    }
}

impl NetworkRegistry {
    /// The built-in networks.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// A registry of exactly these networks.
    pub fn from_networks(networks: Vec<Network>) -> Result<Self, ChainError> {
        let mut registry = NetworkRegistry { networks: Vec::new() };
        for network in networks {
            registry.insert(network)?;
        }
        Ok(registry)
    }

    /// Adds a network, or replaces the one of the same name. Two names may not share a chain id.
    pub fn insert(&mut self, network: Network) -> Result<(), ChainError> {
        validate(&network)?;
        if let Some(other) = self.networks.iter().find(|n| n.chain_id == network.chain_id && n.name != network.name) {
            return Err(ChainError::Config(format!(
                "networks {} and {} both have chain id {}",
                other.name, network.name, network.chain_id
            )));
        }
        match self.networks.iter_mut().find(|n| n.name == network.name) {
            Some(slot) => *slot = network,
            None => self.networks.push(network),
        }
        Ok(())
    }

    /// Applies a networks file (TOML) on top of this registry.
    pub fn merge_toml(&mut self, text: &str) -> Result<(), ChainError> {
        let file: NetworksFile =
            toml::from_str(text).map_err(|e| ChainError::Config(format!("the networks file is invalid: {e}")))?;
        for (name, entry) in file.networks {
            let network = match self.by_name(&name) {
                Some(existing) => {
                    let mut network = existing.clone();
                    apply(&mut network, entry);
                    network
                }
                None => {
                    let missing = |key: &str| ChainError::Config(format!("network {name} needs {key}"));
                    let chain_id = entry.chain_id.ok_or_else(|| missing("chain_id"))?;
                    let rpc_urls = entry.rpc_urls.clone().ok_or_else(|| missing("rpc_urls"))?;
                    let mut network = Network {
                        name: name.clone(),
                        chain_id,
                        rpc_urls,
                        native: NativeCurrency::new("Ether", "ETH"),
                        explorer: None,
                        ens: false,
                        testnet: false,
                    };
                    apply(&mut network, entry);
                    network
                }
            };
            self.insert(network)?;
        }
        Ok(())
    }

    /// Applies `AOMI_RPC_<NAME>` variables found through `lookup`: each replaces the RPC URLs of
    /// its network (comma-separated for several).
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), ChainError> {
        for network in &mut self.networks {
            if let Some(value) = lookup(&rpc_env_var(&network.name)).filter(|v| !v.trim().is_empty()) {
                network.rpc_urls = value.split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
                validate(network)?;
            }
        }
        Ok(())
    }

    /// Sets the RPC URL of a network (the devnet aomi started itself).
    pub fn set_rpc_url(&mut self, name: &str, url: &str) -> Result<(), ChainError> {
        let network = self
            .networks
            .iter_mut()
            .find(|n| n.name == name)
            .ok_or_else(|| ChainError::UnknownNetwork { asked: name.to_owned(), known: String::new() })?;
        network.rpc_urls = vec![url.to_owned()];
        Ok(())
    }

    /// Every network, in registry order.
    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    /// The network of that name.
    pub fn by_name(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// The network of that chain id.
    pub fn by_chain_id(&self, chain_id: u64) -> Option<&Network> {
        self.networks.iter().find(|n| n.chain_id == chain_id)
    }

    /// The network a user named: a registry name (any case, `_` or space for `-`), a common alias
    /// (`mainnet`, `eth`, `arb`, `op`, `matic`, `anvil`, `local`) or a chain id.
    pub fn resolve(&self, asked: &str) -> Result<&Network, ChainError> {
        let key = asked.trim().to_lowercase().replace(['_', ' '], "-");
        let alias = match key.as_str() {
            "mainnet" | "eth" | "ethereum-mainnet" => "ethereum",
            "arb" | "arbitrum-one" => "arbitrum",
            "op" | "optimism-mainnet" => "optimism",
            "matic" | "polygon-pos" => "polygon",
            "anvil" | "local" | "localhost" => DEVNET,
            other => other,
        };
        if let Some(network) = self.by_name(alias) {
            return Ok(network);
        }
        if let Ok(chain_id) = key.parse::<u64>() {
            return self.by_chain_id(chain_id).ok_or_else(|| self.unknown_chain(chain_id));
        }
        Err(ChainError::UnknownNetwork { asked: asked.trim().to_owned(), known: self.known() })
    }

    /// The network of a chain id, or an error listing the known ones.
    pub fn for_chain_id(&self, chain_id: u64) -> Result<&Network, ChainError> {
        self.by_chain_id(chain_id).ok_or_else(|| self.unknown_chain(chain_id))
    }

    fn unknown_chain(&self, chain_id: u64) -> ChainError {
        ChainError::UnknownChainId { chain_id, known: self.known() }
    }

    /// The known networks as `name (chain id)`, comma separated.
    pub fn known(&self) -> String {
        self.networks.iter().map(|n| format!("{} ({})", n.name, n.chain_id)).collect::<Vec<_>>().join(", ")
    }
}

/// The environment variable that overrides a network's RPC URLs: `AOMI_RPC_BASE_SEPOLIA`.
pub fn rpc_env_var(name: &str) -> String {
    format!("AOMI_RPC_{}", name.to_uppercase().replace(['-', ' ', '.'], "_"))
}

fn apply(network: &mut Network, entry: NetworkEntry) {
    if let Some(chain_id) = entry.chain_id {
        network.chain_id = chain_id;
    }
    if let Some(urls) = entry.rpc_urls {
        network.rpc_urls = urls;
    }
    if let Some(name) = entry.native_name {
        network.native.name = name;
    }
    if let Some(symbol) = entry.native_symbol {
        network.native.symbol = symbol;
    }
    if let Some(decimals) = entry.native_decimals {
        network.native.decimals = decimals;
    }
    if entry.explorer.is_some() {
        network.explorer = entry.explorer;
    }
    if let Some(ens) = entry.ens {
        network.ens = ens;
    }
    if let Some(testnet) = entry.testnet {
        network.testnet = testnet;
    }
}

fn validate(network: &Network) -> Result<(), ChainError> {
    let name_ok = !network.name.is_empty()
        && network.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(ChainError::Config(format!(
            "network name \"{}\" must be lowercase letters, digits and '-'",
            network.name
        )));
    }
    if network.chain_id == 0 {
        return Err(ChainError::Config(format!("network {} needs a positive chain_id", network.name)));
    }
    if network.rpc_urls.is_empty() {
        return Err(ChainError::Config(format!("network {} needs at least one RPC URL", network.name)));
    }
    for url in &network.rpc_urls {
        let parsed = url::Url::parse(url)
            .map_err(|e| ChainError::Config(format!("network {}: RPC URL is invalid: {e}", network.name)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ChainError::Config(format!(
                "network {}: RPC URL must be http or https, not {}",
                network.name,
                parsed.scheme()
            )));
        }
    }
    Ok(())
}
