//! The chains an eval runs on: the devnet and, for network switches, a second one (`devnet-b`).
//!
//! [`EvalChain::start`] starts each devnet with aomi-chain's [`Devnet`] (anvil with the project's
//! contracts), or connects to the one `AOMI_RPC_DEVNET` / `AOMI_RPC_DEVNET_B` names, which must be
//! an aomi devnet (`aomi devnet`): its contracts are where a fresh one deploys them. The harness
//! reads balances through it, plays the wallet on it ([`crate::eval::wallet`]), and keeps scenarios
//! apart with anvil snapshots. The anvils it started stop when it is dropped.

use std::collections::BTreeSet;
use std::path::Path;

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::{DynProvider, Provider, ProviderBuilder};
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::network::rpc_env_var;
use aomi_chain::{Devnet, DevnetContracts, DevnetError, DevnetOptions};

use crate::eval::spec::{DEVNET_B, DEVNET_B_CHAIN_ID, DEVNET_CHAIN_ID};
use crate::eval::symbols::{ACCOUNTS, AddressBook};

/// The name of the first devnet, as aomi's network registry knows it.
pub const DEVNET: &str = aomi_chain::network::DEVNET;

/// Why the chains could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ChainSetupError {
    /// anvil is not installed: the devnet scenarios cannot run here.
    #[error("{0}")]
    AnvilMissing(DevnetError),
    /// A devnet did not start.
    #[error("cannot start the devnet {name}: {source}")]
    Start {
        /// The network.
        name: String,
        /// Why.
        source: DevnetError,
    },
    /// A devnet given by URL is not usable.
    #[error("{var} ({url}) is not usable as the eval's {name}: {why}")]
    Remote {
        /// The variable that named it.
        var: String,
        /// Its URL, without credentials.
        url: String,
        /// The network.
        name: String,
        /// Why.
        why: String,
    },
}

/// One devnet of the run.
#[derive(Debug)]
pub struct EvalDevnet {
    /// Its network name (`devnet`, `devnet-b`).
    pub name: String,
    /// Its chain id.
    pub chain_id: u64,
    /// Its RPC URL.
    pub url: String,
    /// A provider that sends from its unlocked dev accounts.
    pub provider: DynProvider,
    /// Its contracts.
    pub contracts: DevnetContracts,
    /// Its dev accounts.
    pub accounts: Vec<Address>,
    /// The anvil this run started (stopped on drop); `None` for one given by URL.
    started: Option<Devnet>,
}

/// The devnets of an eval run.
#[derive(Debug)]
pub struct EvalChain {
    devnets: Vec<EvalDevnet>,
    book: AddressBook,
}

/// The state of every devnet at one moment, to go back to.
#[derive(Debug)]
pub struct Snapshot(Vec<(u64, U256)>);

/// A token whose balance a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// The native coin.
    Native,
    /// An ERC20 at this address.
    Erc20(Address),
}

impl EvalChain {
    /// Sets up the devnets of `chain_ids` (31337 and, when asked, 31338), in parallel.
    pub async fn start(chain_ids: &BTreeSet<u64>) -> Result<EvalChain, ChainSetupError> {
        let wanted = |id| chain_ids.contains(&id);
        let (a, b) = tokio::join!(
            async {
                if wanted(DEVNET_CHAIN_ID) { Some(EvalDevnet::start(DEVNET, DEVNET_CHAIN_ID).await) } else { None }
            },
            async {
                if wanted(DEVNET_B_CHAIN_ID) {
                    Some(EvalDevnet::start(DEVNET_B, DEVNET_B_CHAIN_ID).await)
                } else {
                    None
                }
            }
        );
        // Both are collected before any error returns, so a started anvil is always dropped (stopped).
        let devnets: Vec<EvalDevnet> = [a, b].into_iter().flatten().collect::<Result<_, _>>()?;
        let mut book = AddressBook::new();
        // The first devnet names the contracts and accounts; the second has them at the same
        // addresses (same deployer, same nonces).
        if let Some(first) = devnets.first() {
            let c = &first.contracts;
            for (symbol, address) in [
                ("USDC", c.usdc),
                ("DAI", c.dai),
                ("WETH", c.weth),
                ("ORDER_BOOK", c.order_book),
                ("REVERTER", c.reverter),
            ] {
                book.insert(symbol, address.to_checksum(None));
            }
            // Uniswap, where the devnet deploys it (the deployer's next creations).
            let dex = aomi_chain::dex::DexContracts::deployed_by(aomi_chain::dex::DEX_DEPLOYER, c.weth);
            for (symbol, address) in
                [("V2_ROUTER", dex.v2_router), ("V2_FACTORY", dex.v2_factory), ("SWAP_ROUTER", dex.swap_router)]
            {
                book.insert(symbol, address.to_checksum(None));
            }
            for (index, account) in first.accounts.iter().take(ACCOUNTS).enumerate() {
                book.insert(format!("ACCOUNT_{index}"), account.to_checksum(None));
            }
        }
        Ok(EvalChain { devnets, book })
    }

    /// The devnets' addresses by symbol.
    pub fn book(&self) -> &AddressBook {
        &self.book
    }

    /// The devnets.
    pub fn devnets(&self) -> &[EvalDevnet] {
        &self.devnets
    }

    /// The devnet of `chain_id`.
    pub fn devnet(&self, chain_id: u64) -> Option<&EvalDevnet> {
        self.devnets.iter().find(|d| d.chain_id == chain_id)
    }

    /// The devnets other than the first as a networks file (TOML) of aomi's network registry.
    pub fn networks_toml(&self) -> String {
        let mut networks = String::new();
        for devnet in self.devnets.iter().filter(|d| d.name != DEVNET) {
            networks.push_str(&format!(
                "[networks.{}]\nchain_id = {}\nrpc_urls = [\"{}\"]\ntestnet = true\n\n",
                devnet.name, devnet.chain_id, devnet.url
            ));
        }
        networks
    }

    /// What the aomi server under test needs to use these devnets: `AOMI_RPC_DEVNET`, the other
    /// devnets as networks of a networks file written into `dir` (and their `AOMI_RPC_<NAME>`, which
    /// win over the caller's environment that the child inherits), the devnet as default network.
    pub fn server_env(&self, dir: &Path) -> Result<Vec<(String, String)>, std::io::Error> {
        let mut env = vec![("AOMI_DEFAULT_NETWORK".to_owned(), DEVNET.to_owned())];
        for devnet in &self.devnets {
            env.push((rpc_env_var(&devnet.name), devnet.url.clone()));
        }
        std::fs::create_dir_all(dir)?;
        let file = dir.join("eval-networks.toml");
        std::fs::write(&file, self.networks_toml())?;
        env.push(("AOMI_NETWORKS".to_owned(), file.display().to_string()));
        Ok(env)
    }

    /// Takes a snapshot of every devnet (`evm_snapshot`), each block after it one second after
    /// the one before (`anvil_setBlockTimestampInterval`), as on a real chain.
    ///
    /// Without that, anvil stamps every block of one wall-clock second alike, and after a revert
    /// its clock starts again at the snapshot's block, the devnet's setup: a scenario's first
    /// blocks share the second of the pools' seeding. A gas estimate made in that second and its
    /// transaction mined in the next disagree on whether time has passed for a Uniswap V2 pair,
    /// which writes its price accumulators only when it has, and the wallet's gas limit fell
    /// short (an eval's `addLiquidity` reverted, out of gas, under load).
    pub async fn snapshot(&self) -> Result<Snapshot, String> {
        let mut ids = Vec::new();
        for devnet in &self.devnets {
            let _: serde_json::Value = devnet
                .provider
                .raw_request("anvil_setBlockTimestampInterval".into(), (1u64,))
                .await
                .map_err(|e| format!("cannot space the blocks of {}: {e}", devnet.name))?;
            let id: U256 = devnet
                .provider
                .raw_request("evm_snapshot".into(), Vec::<serde_json::Value>::new())
                .await
                .map_err(|e| format!("cannot take a snapshot of {}: {e}", devnet.name))?;
            ids.push((devnet.chain_id, id));
        }
        Ok(Snapshot(ids))
    }

    /// Puts every devnet back to `snapshot` (`evm_revert`).
    pub async fn revert(&self, snapshot: Snapshot) -> Result<(), String> {
        for (chain_id, id) in snapshot.0 {
            let Some(devnet) = self.devnet(chain_id) else { continue };
            let reverted: bool = devnet
                .provider
                .raw_request("evm_revert".into(), (id,))
                .await
                .map_err(|e| format!("cannot revert {} to its snapshot: {e}", devnet.name))?;
            if !reverted {
                return Err(format!("{} refused to revert to snapshot {id}", devnet.name));
            }
        }
        Ok(())
    }

    /// The token a check names on `chain_id`: `ETH`, a devnet token's symbol, or an address.
    pub fn token(&self, chain_id: u64, name: &str) -> Result<Token, String> {
        let devnet = self.devnet(chain_id).ok_or_else(|| format!("no devnet has chain id {chain_id}"))?;
        let c = &devnet.contracts;
        match name.trim_start_matches('$').to_ascii_uppercase().as_str() {
            "ETH" | "NATIVE" => Ok(Token::Native),
            "USDC" => Ok(Token::Erc20(c.usdc)),
            "DAI" => Ok(Token::Erc20(c.dai)),
            "WETH" => Ok(Token::Erc20(c.weth)),
            _ => name
                .parse()
                .map(Token::Erc20)
                .map_err(|_| format!("\"{name}\" is neither ETH, USDC, DAI, WETH nor a token address")),
        }
    }

    /// The balance of `account` in `token` on `chain_id`, in base units.
    pub async fn balance(&self, chain_id: u64, account: Address, token: Token) -> Result<U256, String> {
        let devnet = self.devnet(chain_id).ok_or_else(|| format!("no devnet has chain id {chain_id}"))?;
        match token {
            Token::Native => devnet.provider.get_balance(account).await.map_err(|e| e.to_string()),
            Token::Erc20(address) => {
                let call = IERC20::balanceOfCall { owner: account }.abi_encode();
                let out = devnet
                    .provider
                    .call(TransactionRequest::default().to(address).input(call.into()))
                    .await
                    .map_err(|e| format!("balanceOf on {address}: {e}"))?;
                IERC20::balanceOfCall::abi_decode_returns(&out).map_err(|e| format!("balanceOf on {address}: {e}"))
            }
        }
    }

    /// One line per devnet, for people.
    pub fn describe(&self) -> String {
        let lines: Vec<String> = self
            .devnets
            .iter()
            .map(|d| {
                let how = if d.started.is_some() { "started" } else { "given" };
                format!("{} (chain id {}) at {}, {how}", d.name, d.chain_id, d.url)
            })
            .collect();
        lines.join("; ")
    }
}

impl EvalDevnet {
    /// The devnet `name`: the one its `AOMI_RPC_<NAME>` names, else a new anvil.
    async fn start(name: &str, chain_id: u64) -> Result<EvalDevnet, ChainSetupError> {
        let var = rpc_env_var(name);
        if let Some(url) = std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
            return Self::connect(name, chain_id, &var, url.trim()).await;
        }
        let devnet =
            Devnet::start_with(DevnetOptions { chain_id, ..DevnetOptions::default() }).await.map_err(|source| {
                match source {
                    DevnetError::AnvilMissing => ChainSetupError::AnvilMissing(source),
                    source => ChainSetupError::Start { name: name.to_owned(), source },
                }
            })?;
        Ok(EvalDevnet {
            name: name.to_owned(),
            chain_id,
            url: devnet.url().to_owned(),
            provider: devnet.provider(),
            contracts: *devnet.contracts(),
            accounts: devnet.accounts().to_vec(),
            started: Some(devnet),
        })
    }

    /// A devnet someone else started: checks its chain id and that aomi's contracts are where
    /// `aomi devnet` deploys them (the first five creations of the first dev account).
    async fn connect(name: &str, chain_id: u64, var: &str, url: &str) -> Result<EvalDevnet, ChainSetupError> {
        let fail = |why: String| ChainSetupError::Remote {
            var: var.to_owned(),
            url: aomi_chain::network::redact_url(url),
            name: name.to_owned(),
            why,
        };
        let parsed: url::Url = url.parse().map_err(|e| fail(format!("not a URL: {e}")))?;
        let provider = ProviderBuilder::new().connect_http(parsed).erased();
        let actual = provider.get_chain_id().await.map_err(|e| fail(e.to_string()))?;
        if actual != chain_id {
            return Err(fail(format!("its chain id is {actual}, the scenarios expect {chain_id}")));
        }
        let accounts = provider.get_accounts().await.map_err(|e| fail(e.to_string()))?;
        let deployer = *accounts.first().ok_or_else(|| fail("it has no unlocked accounts".into()))?;
        let contracts = DevnetContracts::deployed_by(deployer);
        let symbol = provider
            .call(TransactionRequest::default().to(contracts.usdc).input(IERC20::symbolCall {}.abi_encode().into()))
            .await
            .ok()
            .and_then(|out| IERC20::symbolCall::abi_decode_returns(&out).ok());
        if symbol.as_deref() != Some("USDC") {
            return Err(fail(format!(
                "no USDC at {}: start it with `aomi devnet --chain-id {chain_id}`",
                contracts.usdc
            )));
        }
        Ok(EvalDevnet {
            name: name.to_owned(),
            chain_id,
            url: url.to_owned(),
            provider,
            contracts,
            accounts,
            started: None,
        })
    }
}
