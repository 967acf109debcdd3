//! The chain layer of aomi, on alloy: networks, one provider per chat session, ABI handling,
//! exact amounts, and the local anvil devnet.
//!
//! - [`network`]: the [`NetworkRegistry`] (built-ins, a TOML file, `AOMI_RPC_<NETWORK>`).
//! - [`session`]: [`ChainSessions`], a [`SwitchableProvider`] per chat, switched by each turn's
//!   wallet chain id; no global current network.
//! - [`provider`]: an alloy HTTP provider per network, with fallback across RPC URLs.
//! - [`abi`]: calls from human signatures and JSON arguments (tuples, arrays, bytes32, nested
//!   structs, overloads), return values and revert data back to JSON.
//! - [`units`]: "1.5" ⇄ 1500000 with 6 decimals, exactly.
//! - [`wallet_send`]: sending a transaction as a wallet does (a margin on the gas estimate), for
//!   the tests and evals that play the person's wallet.
//! - [`contracts`]: the project's compiled contracts and the ERC20 interface.
//! - [`contract_db`]: [`ContractDb`], `get_contract` from the cache first and Etherscan
//!   ([`explorer`]) second, registering each ABI in [`KnownContracts`]; [`contract_cache`]: the
//!   [`ContractCache`] seam the application implements over its store.
//! - [`proxy`]: which implementation a proxy runs, read on chain (EIP-1967, EIP-1822, EIP-1167).
//! - [`devnet`]: [`Devnet`], anvil with the contracts deployed; the tests' fixture too.
//! - [`dex`]: Uniswap V2 and V3 on the devnet (from the official npm artifacts, pools seeded),
//!   QuoterV2 quotes and `SwapRouter` calldata.
//! - [`error`]: [`ChainError`], whose text is fit for the user and the model.
//! - [`tokens`]: [`tokens::Markets`], token lists per chain (a curated file, the devnet's
//!   deployment) and where Uniswap is.
//! - [`prices`]: USD prices from DefiLlama's price API, cached briefly.
//! - [`aggregator`]: swap quotes and transactions on public networks from the LI.FI API.
//! - [`signature`]: who signed a message (sign-in with the wallet).
//! - [`typed_data`]: signature requests (EIP-712 typed data, personal messages) checked, hashed,
//!   decoded (permits, Permit2, EIP-3009, Seaport) and their safety rules.
//! - [`simulation`]: what a transaction would do before it is signed; [`risk`]: the safety checks
//!   on it.

pub mod abi;
pub mod aggregator;
pub mod contract_cache;
pub mod contract_db;
pub mod contracts;
pub mod devnet;
pub mod dex;
pub mod error;
pub mod explorer;
pub mod network;
pub mod prices;
pub mod provider;
pub mod proxy;
pub mod risk;
pub mod session;
pub mod signature;
pub mod simulation;
pub mod tokens;
pub mod typed_data;
pub mod units;
pub mod wallet_send;

pub use contract_cache::{CacheError, CachedContract, ContractCache};
pub use contract_db::{ContractDb, ContractError, ResolvedContract};
pub use devnet::{Devnet, DevnetContracts, DevnetError, DevnetOptions};
pub use error::ChainError;
pub use explorer::{Etherscan, EtherscanConfig, ExplorerError};
pub use network::{Network, NetworkRegistry};
pub use session::{Capacity, ChainSessions, Connection, KnownContracts, SwitchableProvider};
pub use simulation::report::short as short_address;

/// Re-exported so that callers use the same alloy as this crate.
pub use alloy;
