//! DeFi tools: tokens by name, swap quotes, and the chat's pending batch of transactions.
//!
//! - `find_token`: a token's address and decimals from the chain's token list
//!   ([`aomi_chain::tokens::Markets`]), so the model never writes an address from memory.
//! - `get_token_price`: a USD price from DefiLlama ([`aomi_chain::prices`]), cached briefly.
//! - `quote_swap`: a quote on the chain's DEX (Uniswap V3's QuoterV2, on the devnet), or from the
//!   LI.FI aggregator on a network with no local DEX ([`aomi_chain::aggregator`]), with the route,
//!   expected output, minimum output at a slippage (default 0.5 %) and price impact. Nothing is
//!   staged.
//! - `stage_swap`: the same quote, built into `SwapRouter` calldata and staged in the pending batch,
//!   after an `approve` when the router's allowance is short.
//! - `stage_transaction`: any transaction into the pending batch.
//! - `simulate_batch`: the batch in order in one `eth_simulateV1` block
//!   ([`aomi_chain::simulation::simulate_batch`]): each step and the net changes.
//! - `send_batch_to_wallet` (client-side): the batch, simulated, handed to the wallet as one
//!   request; the page sends it with EIP-5792 `wallet_sendCalls` when the wallet's capabilities
//!   allow, else one transaction after another, each simulated again before it is sent.
//!
//! The pending batch is kept in the store, per chat ([`PendingBatches`] over a [`BatchKeeper`],
//! which the server implements), bounded in steps per batch: it outlives a restart and every
//! instance sees it.

mod batch;
mod price;
mod swap;
mod tokens;

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::tokens::TokenEntry;
use aomi_chain::{ChainError, Connection};
use aomi_core::ToolError;
use serde::Serialize;
use utoipa::ToSchema;

pub use batch::{
    BatchCall, BatchKeeper, BatchRequest, BatchSimulationPart, DEFAULT_MAX_STEPS, Kept, KeptStep, PendingBatch,
    PendingBatchPart, PendingBatches, SEND_BATCH_TOOL, SendBatchArgs, SendBatchToWallet, SimulateBatch, StageArgs,
    StageTransaction, StagedStep, batch_of,
};
pub use price::{GetTokenPrice, PriceArgs, TokenPrice};
pub use swap::{QuoteArgs, QuoteSwap, QuoteTransaction, StageSwap, StagedSwap, SwapQuoteOutput};
pub use tokens::{FindToken, FindTokenArgs, TokenSearch};

use crate::registry::ToolRegistry;
use crate::review::WalletChecks;

/// The DeFi tools over `sessions`, sharing one set of pending batches and one price client, which
/// also prices the batch simulations (no spend guards, no aggregator: see [`defi_tools_with`]).
pub fn defi_tools(
    sessions: Arc<ChainSessions>,
    batches: Arc<PendingBatches>,
    prices: Arc<aomi_chain::prices::DefiLlama>,
) -> ToolRegistry {
    let checks = WalletChecks { prices: Some(Arc::clone(&prices)), ..WalletChecks::default() };
    defi_tools_with(sessions, batches, prices, checks, None)
}

/// [`defi_tools`] with the batch tools running `checks` (prices, the price-impact threshold and
/// the spend guards; the quotes use the same threshold), quoting and staging swaps through
/// `aggregator` on networks with no local DEX.
pub fn defi_tools_with(
    sessions: Arc<ChainSessions>,
    batches: Arc<PendingBatches>,
    prices: Arc<aomi_chain::prices::DefiLlama>,
    checks: WalletChecks,
    aggregator: Option<Arc<aomi_chain::aggregator::Lifi>>,
) -> ToolRegistry {
    let s = || Arc::clone(&sessions);
    let b = || Arc::clone(&batches);
    let impact = checks.price_impact_bps;
    ToolRegistry::new()
        .with(FindToken(s()))
        .with(GetTokenPrice::new(s(), prices))
        .with(QuoteSwap::new(s(), aggregator.clone(), impact))
        .with(StageSwap::new(s(), b(), impact).with_aggregator(aggregator))
        .with(StageTransaction::new(s(), b()))
        .with(SimulateBatch::new(s(), b()).with_checks(checks.clone()))
        .with(SendBatchToWallet::new(s(), b()).with_checks(checks))
}

/// An asset named by the model: the network's coin or a token of its list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Its symbol.
    pub symbol: String,
    /// Its contract; `null` for the network's coin.
    #[schema(value_type = Option<String>, required = true)]
    pub address: Option<Address>,
    /// Its decimals.
    pub decimals: u8,
}

impl Asset {
    fn token(entry: &TokenEntry) -> Self {
        Asset { symbol: entry.symbol.clone(), address: Some(entry.address), decimals: entry.decimals }
    }
}

/// Resolves `input` on `connection`'s network: the coin's symbol or name, a listed token's symbol
/// or name (exactly one must match), or an address (listed, or read on chain: decimals and symbol).
pub(crate) async fn resolve_asset(
    sessions: &ChainSessions,
    connection: &Connection,
    input: &str,
) -> Result<Asset, ToolError> {
    let network = &connection.network;
    let text = input.trim();
    let native = &network.native;
    if text.eq_ignore_ascii_case(&native.symbol) || text.eq_ignore_ascii_case(&native.name) {
        return Ok(Asset { symbol: native.symbol.clone(), address: None, decimals: native.decimals });
    }
    if text.starts_with("0x") {
        let address = crate::chain::parse_address(text).map_err(crate::chain::failed)?;
        if let Some(entry) = sessions.markets().by_address(network.chain_id, address) {
            return Ok(Asset::token(&entry));
        }
        let (decimals, symbol) = read_token(connection, address).await.map_err(crate::chain::failed)?;
        return Ok(Asset { symbol, address: Some(address), decimals });
    }
    let found = sessions.markets().find(network.chain_id, text);
    match found.as_slice() {
        [one] => Ok(Asset::token(one)),
        [] => Err(ToolError::InvalidArguments(format!(
            "no token \"{text}\" in {}'s token list: ask the user for the token's address (never guess one)",
            network.name
        ))),
        many => Err(ToolError::InvalidArguments(format!(
            "\"{text}\" names several tokens on {}: {}; use the symbol or the address",
            network.name,
            many.iter().map(|t| format!("{} ({})", t.symbol, t.address)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// An unlisted token's decimals and symbol, read on chain.
async fn read_token(connection: &Connection, token: Address) -> Result<(u8, String), ChainError> {
    let call = |data: Vec<u8>| aomi_chain::provider::call_latest(&connection.provider, token, data);
    let not_token =
        || ChainError::InvalidInput(format!("{token} does not answer decimals(): it is not an ERC20 token"));
    let decimals = call(IERC20::decimalsCall {}.abi_encode()).await.map_err(|_| not_token())?;
    let decimals = IERC20::decimalsCall::abi_decode_returns(&decimals).map_err(|_| not_token())?;
    let symbol = match call(IERC20::symbolCall {}.abi_encode()).await {
        Ok(data) => IERC20::symbolCall::abi_decode_returns(&data).unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((decimals, symbol))
}

/// `owner`'s allowance of `token` to `spender`.
pub(crate) async fn allowance(
    connection: &Connection,
    token: Address,
    owner: Address,
    spender: Address,
) -> Result<U256, ToolError> {
    let data = IERC20::allowanceCall { owner, spender }.abi_encode();
    let out = aomi_chain::provider::call_latest(&connection.provider, token, data)
        .await
        .map_err(|e| ToolError::Failed(format!("reading the allowance failed: {e}")))?;
    IERC20::allowanceCall::abi_decode_returns(&out).map_err(|e| ToolError::Failed(format!("allowance(): {e}")))
}
