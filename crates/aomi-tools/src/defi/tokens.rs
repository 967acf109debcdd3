//! `find_token`: a token's address and decimals by its symbol or name.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::tokens::TokenEntry;
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Asset;
use crate::chain::{NETWORK_ARGUMENT, connection};

/// `find_token`: looks a token up in the network's token list.
#[derive(Debug, Clone)]
pub struct FindToken(pub Arc<ChainSessions>);

/// The arguments of `find_token`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindTokenArgs {
    /// the token's symbol (USDC), name (USD Coin) or part of it, or its 0x address
    pub query: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `find_token`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenSearch {
    /// The network searched.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// The query.
    pub query: String,
    /// The network's own coin, when the query names it (it has no contract).
    #[schema(required = true)]
    pub native: Option<Asset>,
    /// The listed tokens that match: the exact symbol first; else every symbol or name containing
    /// the query.
    pub tokens: Vec<TokenEntry>,
}

impl TypedTool for FindToken {
    const NAME: &'static str = "find_token";
    type Args = FindTokenArgs;
    type Output = TokenSearch;

    fn description(&self) -> String {
        "Finds a token's contract address and decimals by symbol or name (\"USDC\", \"dai\", \"wrapped ether\") in the network's curated token list. Use it whenever a token is named: never write a token address from memory. An empty result means the token is not listed: ask the user for its address.".into()
    }

    async fn run(&self, args: FindTokenArgs, ctx: ToolContext) -> Result<ToolOutput<TokenSearch>, ToolError> {
        let query = args.query.trim().to_owned();
        if query.is_empty() {
            return Err(ToolError::InvalidArguments("\"query\" is empty: give a symbol, a name or an address".into()));
        }
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let network = &conn.network;
        let native = &network.native;
        let names_native = query.eq_ignore_ascii_case(&native.symbol) || query.eq_ignore_ascii_case(&native.name);
        let tokens = self.0.markets().find(network.chain_id, &query);
        let summary = match (names_native, tokens.as_slice()) {
            (true, _) => {
                format!("{} is {}'s own coin ({} decimals, no contract)", native.symbol, network.name, native.decimals)
            }
            (false, []) => format!("no token matching \"{query}\" in {}'s token list", network.name),
            (false, found) => found
                .iter()
                .map(|t| format!("{} ({}) {} with {} decimals", t.symbol, t.name, t.address, t.decimals))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let output = TokenSearch {
            network: network.name.clone(),
            chain_id: network.chain_id,
            query,
            native: names_native.then(|| Asset {
                symbol: native.symbol.clone(),
                address: None,
                decimals: native.decimals,
            }),
            tokens,
        };
        Ok(ToolOutput::new(output, summary))
    }
}
