//! Tokens by name, and the exchanges aomi can quote on, per chain.
//!
//! [`Markets`] holds a token list per chain id: the public networks' from the curated data file
//! `crates/aomi-chain/data/tokens.toml` (sources noted there, addresses checksummed), the devnet's
//! from its deployment ([`Markets::add_devnet`]). `find_token` answers from it, so a token
//! address never comes from the model's memory. It also holds where Uniswap is on the chains that
//! have it deployed by aomi (the devnet), for quotes.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::dex::{DevnetToken, DexContracts};
use crate::error::ChainError;

/// The curated token list of the public networks.
const TOKENS_FILE: &str = include_str!("../data/tokens.toml");

/// A token of a chain's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenEntry {
    /// The chain id.
    pub chain_id: u64,
    /// Its symbol.
    pub symbol: String,
    /// Its name.
    pub name: String,
    /// Its contract (lower case on the wire, as every address; summaries show the checksum form).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub address: Address,
    /// Its decimals.
    pub decimals: u8,
    /// Where the entry comes from: a source named in the data file, or `devnet` (deployed by aomi).
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    chain: u64,
    symbol: String,
    name: String,
    address: String,
    decimals: u8,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    token: Vec<FileEntry>,
}

/// Parses a token list file (the format of `data/tokens.toml`): every address must be EIP-55
/// checksummed, every entry's symbol unique on its chain.
pub fn parse_token_file(text: &str) -> Result<Vec<TokenEntry>, ChainError> {
    let file: TokenFile = toml::from_str(text).map_err(|e| ChainError::Config(format!("the token list: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    file.token
        .into_iter()
        .map(|entry| {
            let checksummed = aomi_core::Address::parse(&entry.address)
                .ok()
                .filter(|a| a.to_checksum() == entry.address)
                .ok_or_else(|| {
                    ChainError::Config(format!(
                        "the token list: {} on chain {}: \"{}\" is not a checksummed address",
                        entry.symbol, entry.chain, entry.address
                    ))
                })?;
            if !seen.insert((entry.chain, entry.symbol.to_ascii_uppercase())) {
                return Err(ChainError::Config(format!(
                    "the token list: {} is listed twice on chain {}",
                    entry.symbol, entry.chain
                )));
            }
            Ok(TokenEntry {
                chain_id: entry.chain,
                symbol: entry.symbol,
                name: entry.name,
                address: checksummed.into_alloy(),
                decimals: entry.decimals,
                source: entry.source,
            })
        })
        .collect()
}

/// Token lists and exchanges per chain id.
#[derive(Debug, Default)]
pub struct Markets {
    tokens: RwLock<HashMap<u64, Vec<TokenEntry>>>,
    dexes: RwLock<HashMap<u64, DexContracts>>,
}

impl Markets {
    /// The public networks' curated list.
    pub fn builtin() -> Self {
        let markets = Markets::default();
        match parse_token_file(TOKENS_FILE) {
            Ok(entries) => {
                let mut tokens = markets.tokens.write().unwrap_or_else(PoisonError::into_inner);
                for entry in entries {
                    tokens.entry(entry.chain_id).or_default().push(entry);
                }
            }
            // A test parses the file: this cannot happen in a build that passed its tests.
            Err(error) => tracing::error!(%error, "the built-in token list is invalid"),
        }
        markets
    }

    /// Sets `chain_id`'s list to the devnet's tokens, and its Uniswap.
    pub fn add_devnet(&self, chain_id: u64, tokens: &[DevnetToken], dex: Option<DexContracts>) {
        let entries = tokens
            .iter()
            .map(|t| TokenEntry {
                chain_id,
                symbol: t.symbol.clone(),
                name: t.name.clone(),
                address: t.address,
                decimals: t.decimals,
                source: "devnet".into(),
            })
            .collect();
        self.tokens.write().unwrap_or_else(PoisonError::into_inner).insert(chain_id, entries);
        let mut dexes = self.dexes.write().unwrap_or_else(PoisonError::into_inner);
        match dex {
            Some(dex) => dexes.insert(chain_id, dex),
            None => dexes.remove(&chain_id),
        };
    }

    /// The tokens of `chain_id` that `query` names: its address, else its symbol exactly (any
    /// case), else those whose symbol or name contains it. Empty when none.
    pub fn find(&self, chain_id: u64, query: &str) -> Vec<TokenEntry> {
        let query = query.trim();
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = tokens.get(&chain_id) else { return Vec::new() };
        if let Ok(address) = aomi_core::Address::parse(query) {
            let address = address.into_alloy();
            return list.iter().filter(|t| t.address == address).cloned().collect();
        }
        let exact: Vec<TokenEntry> = list.iter().filter(|t| t.symbol.eq_ignore_ascii_case(query)).cloned().collect();
        if !exact.is_empty() || query.is_empty() {
            return exact;
        }
        let needle = query.to_lowercase();
        list.iter()
            .filter(|t| t.symbol.to_lowercase().contains(&needle) || t.name.to_lowercase().contains(&needle))
            .cloned()
            .collect()
    }

    /// The list of `chain_id`.
    pub fn list(&self, chain_id: u64) -> Vec<TokenEntry> {
        self.tokens.read().unwrap_or_else(PoisonError::into_inner).get(&chain_id).cloned().unwrap_or_default()
    }

    /// The listed token at `address` on `chain_id`.
    pub fn by_address(&self, chain_id: u64, address: Address) -> Option<TokenEntry> {
        self.list(chain_id).into_iter().find(|t| t.address == address)
    }

    /// Uniswap on `chain_id`, when aomi deployed it there.
    pub fn dex(&self, chain_id: u64) -> Option<DexContracts> {
        self.dexes.read().unwrap_or_else(PoisonError::into_inner).get(&chain_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curated_list_parses_with_checksummed_unique_entries() {
        let entries = parse_token_file(TOKENS_FILE).unwrap();
        assert!(entries.len() >= 20);
        for chain in [1, 8453, 42161, 10, 137] {
            assert!(entries.iter().any(|e| e.chain_id == chain && e.symbol == "USDC"), "USDC on {chain}");
        }
        let markets = Markets::builtin();
        let usdc = markets.find(1, "usdc");
        assert_eq!(usdc.len(), 1);
        assert_eq!(usdc[0].address.to_checksum(None), "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        let wrapped: Vec<String> = markets.find(1, "wrapped").into_iter().map(|t| t.symbol).collect();
        assert_eq!(wrapped, ["WETH", "WBTC"]);
        assert!(markets.find(1, "no such token").is_empty());
        assert!(markets.find(31337, "USDC").is_empty());
    }

    #[test]
    fn a_wrong_checksum_or_a_duplicate_is_refused() {
        let entry = |address: &str| {
            format!(
                "[[token]]\nchain = 1\nsymbol = \"X\"\nname = \"X\"\naddress = \"{address}\"\ndecimals = 6\nsource = \"s\"\n"
            )
        };
        let lower = entry("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
        assert!(parse_token_file(&lower).unwrap_err().to_string().contains("not a checksummed address"));
        let bad_case = entry("0xA0B86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        assert!(parse_token_file(&bad_case).is_err());
        let good = entry("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        assert_eq!(parse_token_file(&good).unwrap().len(), 1);
        assert!(parse_token_file(&format!("{good}{good}")).unwrap_err().to_string().contains("twice"));
    }
}
