//! `quote_swap` and `stage_swap`: a swap quoted on the chain's DEX (Uniswap V3's QuoterV2 on the
//! devnet and a fork of it) or, on a network with no local DEX, by the LI.FI aggregator
//! ([`aomi_chain::aggregator`]), and staged for the wallet.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::aggregator::{AggregatorQuote, Lifi, QuoteRequest};
use aomi_chain::alloy::primitives::{Address, U256, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::dex::quote::{SwapCall, minus_slippage, plus_slippage, swap_call};
use aomi_chain::dex::{DexContracts, SwapQuote, quote_v3};
use aomi_chain::risk::impact::percent;
use aomi_chain::units::{format_units, parse_units};
use aomi_chain::{Connection, Network};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::batch::{PendingBatch, PendingBatches, StagedStep};
use super::{Asset, allowance, resolve_asset};
use crate::chain::{NETWORK_ARGUMENT, connection, failed};

/// The slippage a quote allows when none is given: 0.5 %.
pub const DEFAULT_SLIPPAGE_BPS: u32 = 50;
/// The largest slippage accepted: 50 %.
pub const MAX_SLIPPAGE_BPS: u32 = 5_000;
/// How long a staged swap stays valid (its deadline), in seconds after the latest block.
pub const SWAP_DEADLINE_SECS: u64 = 1200;

/// The arguments of `quote_swap` and `stage_swap`. `Serialize` writes them as a model would
/// (defaults left out), for the calls aomi makes itself ([`crate::intent`]).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteArgs {
    /// the asset sold: a symbol (ETH, USDC), a name, or a 0x token address
    pub sell: String,
    /// the asset bought: a symbol, a name, or a 0x token address
    pub buy: String,
    /// the amount in whole units as a decimal string ("1", "0.25"): of the asset sold, or of the asset bought when exact_output is true
    pub amount: String,
    /// true when `amount` is what must be received (exact output); default false: `amount` is what is sold
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact_output: bool,
    /// accepted slippage in basis points (50 = 0.5 %, the default), from 0 to 5000
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slippage_bps: Option<u32>,
    /// The network, for this call only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// A swap quote as the tools show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwapQuoteOutput {
    /// The network.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// Where the quote comes from: `uniswap-v3` (the chain's own DEX) or `lifi` (the aggregator,
    /// on public networks).
    pub venue: String,
    /// The route, for people: "ETH → WETH/USDC 0.3 % pool → USDC".
    pub route: String,
    /// The venues the route trades on, in order ("Uniswap V3"; the aggregator's sources).
    pub sources: Vec<String>,
    /// The pool (a Uniswap quote); `null` for the aggregator's.
    #[schema(value_type = Option<String>, required = true)]
    pub pool: Option<Address>,
    /// Its fee tier in hundredths of a basis point (3000 = 0.3 %); `null` for the aggregator's.
    #[schema(required = true)]
    pub fee: Option<u32>,
    /// The asset sold.
    pub sell: Asset,
    /// The asset bought.
    pub buy: Asset,
    /// True when the output is fixed and the input quoted.
    pub exact_output: bool,
    /// What is sold, in base units (decimal).
    pub amount_in: String,
    /// What is bought, in base units (decimal).
    pub amount_out: String,
    /// `amount_in` with its decimals and symbol.
    pub amount_in_formatted: String,
    /// `amount_out` with its decimals and symbol.
    pub amount_out_formatted: String,
    /// The least received at the slippage (exact input), in base units; for an exact output, the
    /// output itself.
    pub minimum_out: String,
    /// The most sold at the slippage (exact output), in base units; for an exact input, the input.
    pub maximum_in: String,
    /// `minimum_out` formatted.
    pub minimum_out_formatted: String,
    /// The slippage accepted, in basis points.
    pub slippage_bps: u32,
    /// How much worse than the pool's mid price (after its fee) the trade is, in percent ("0.03");
    /// for the aggregator, how much less the output is worth than the input in USD (fees
    /// included), or "unknown" when it gave no USD values.
    pub price_impact_percent: String,
    /// Warnings on the quote (a price impact above the threshold, 1 % by default).
    pub warnings: Vec<aomi_chain::risk::Warning>,
    /// True when the asset sold is the network's coin (sent as value, wrapped by the router).
    pub native_in: bool,
    /// True when the asset bought is the network's coin (unwrapped by the router).
    pub native_out: bool,
    /// The transaction to sign, when the venue builds it with the quote (the aggregator's, for the
    /// connected wallet); a Uniswap quote's is built by `stage_swap`.
    pub transaction: Option<QuoteTransaction>,
}

/// The transaction an aggregator quote comes with.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteTransaction {
    /// The contract called.
    #[schema(value_type = String)]
    pub to: Address,
    /// Wei sent (decimal).
    pub value: String,
    /// The calldata, `0x` hex.
    pub data: String,
    /// The spender the token sold must be approved to; `null` when the coin is sold.
    #[schema(value_type = Option<String>, required = true)]
    pub allowance_target: Option<Address>,
}

/// Where a quote was made, with what building its transaction needs.
enum Venue {
    /// The chain's Uniswap V3.
    Uniswap { quote: SwapQuote, dex: DexContracts },
    /// The aggregator, which built the transaction.
    Aggregator(AggregatorQuote),
}

/// A quote with what building its transaction needs.
struct Quoted {
    output: SwapQuoteOutput,
    venue: Venue,
    native_in: bool,
    native_out: bool,
    slippage_ppm: u64,
}

fn side(asset: &Asset, dex: &DexContracts) -> Address {
    asset.address.unwrap_or(dex.weth)
}

/// Quotes `args` on `connection`'s network: on its DEX when aomi knows one there, else through
/// `aggregator` (which needs the wallet, `from`, to build the transaction).
async fn quote(
    sessions: &ChainSessions,
    aggregator: Option<&Lifi>,
    conn: &Connection,
    args: &QuoteArgs,
    from: Option<Address>,
    impact_threshold_bps: u32,
) -> Result<Quoted, ToolError> {
    let network: &Network = &conn.network;
    let slippage = args.slippage_bps.unwrap_or(DEFAULT_SLIPPAGE_BPS);
    if slippage > MAX_SLIPPAGE_BPS {
        return Err(ToolError::InvalidArguments(format!(
            "slippage_bps {slippage} is above the most accepted, {MAX_SLIPPAGE_BPS} (50 %)"
        )));
    }
    let Some(dex) = sessions.markets().dex(network.chain_id) else {
        let Some(aggregator) = aggregator else {
            return Err(ToolError::Failed(format!(
                "aomi has no swap venue on {}: quotes come from Uniswap on the devnet, and from the LI.FI aggregator on public networks, which this server does not use",
                network.name
            )));
        };
        return quote_aggregator(sessions, aggregator, conn, args, slippage, from, impact_threshold_bps).await;
    };
    let sell = resolve_asset(sessions, conn, &args.sell).await?;
    let buy = resolve_asset(sessions, conn, &args.buy).await?;
    let (token_in, token_out) = (side(&sell, &dex), side(&buy, &dex));
    if token_in == token_out {
        return Err(same_asset(&sell, &buy));
    }
    let fixed = if args.exact_output { &buy } else { &sell };
    let amount =
        parse_units(&args.amount, fixed.decimals).map_err(|e| ToolError::InvalidArguments(format!("amount: {e}")))?;
    let quote =
        quote_v3(&conn.provider, &dex, token_in, token_out, amount, !args.exact_output).await.map_err(failed)?;
    let slippage_ppm = u64::from(slippage) * 100;
    let (minimum_out, maximum_in) = if args.exact_output {
        (quote.amount_out, plus_slippage(quote.amount_in, slippage_ppm))
    } else {
        (minus_slippage(quote.amount_out, slippage_ppm), quote.amount_in)
    };
    let fee_percent = format!("{}", f64::from(quote.fee) / 10_000.0);
    let (symbol0, symbol1) = if token_in < token_out { (&sell, &buy) } else { (&buy, &sell) };
    let pool_name = |a: &Asset| if a.address.is_none() { "WETH".to_owned() } else { a.symbol.clone() };
    let route = format!(
        "{} → Uniswap V3 {}/{} {fee_percent} % pool → {}",
        sell.symbol,
        pool_name(symbol0),
        pool_name(symbol1),
        buy.symbol
    );
    let impact = percent(quote.price_impact_ppm);
    let fmt = |v: U256, a: &Asset| format!("{} {}", format_units(v, a.decimals), a.symbol);
    let output = SwapQuoteOutput {
        network: network.name.clone(),
        chain_id: network.chain_id,
        venue: "uniswap-v3".into(),
        route,
        sources: vec!["Uniswap V3".into()],
        pool: Some(quote.pool),
        fee: Some(quote.fee),
        amount_in: quote.amount_in.to_string(),
        amount_out: quote.amount_out.to_string(),
        amount_in_formatted: fmt(quote.amount_in, &sell),
        amount_out_formatted: fmt(quote.amount_out, &buy),
        minimum_out: minimum_out.to_string(),
        maximum_in: maximum_in.to_string(),
        minimum_out_formatted: fmt(minimum_out, &buy),
        slippage_bps: slippage,
        warnings: impact_warnings(quote.price_impact_ppm, impact_threshold_bps),
        price_impact_percent: impact,
        exact_output: args.exact_output,
        native_in: sell.address.is_none(),
        native_out: buy.address.is_none(),
        transaction: None,
        sell,
        buy,
    };
    Ok(Quoted {
        native_in: output.native_in,
        native_out: output.native_out,
        output,
        venue: Venue::Uniswap { quote, dex },
        slippage_ppm,
    })
}

fn same_asset(sell: &Asset, buy: &Asset) -> ToolError {
    ToolError::InvalidArguments(format!(
        "{} and {} are the same asset on the DEX: wrapping or unwrapping ether is a WETH deposit()/withdraw(uint256), not a swap",
        sell.symbol, buy.symbol
    ))
}

/// The warning a price impact above `threshold_bps` carries.
fn impact_warnings(impact_ppm: u64, threshold_bps: u32) -> Vec<aomi_chain::risk::Warning> {
    aomi_chain::risk::impact::quote_price_impact(impact_ppm, threshold_bps).into_iter().collect()
}

/// A quote from the aggregator, for the wallet `from` (the transaction it builds is for it).
async fn quote_aggregator(
    sessions: &ChainSessions,
    aggregator: &Lifi,
    conn: &Connection,
    args: &QuoteArgs,
    slippage: u32,
    from: Option<Address>,
    impact_threshold_bps: u32,
) -> Result<Quoted, ToolError> {
    let network = &conn.network;
    let Some(from) = from else {
        return Err(ToolError::Failed(format!(
            "a quote on {} comes from the LI.FI aggregator, which builds the swap for a wallet: ask the user to connect one",
            network.name
        )));
    };
    let sell = resolve_asset(sessions, conn, &args.sell).await?;
    let buy = resolve_asset(sessions, conn, &args.buy).await?;
    if sell.address == buy.address {
        return Err(same_asset(&sell, &buy));
    }
    let fixed = if args.exact_output { &buy } else { &sell };
    let amount =
        parse_units(&args.amount, fixed.decimals).map_err(|e| ToolError::InvalidArguments(format!("amount: {e}")))?;
    if amount.is_zero() {
        return Err(ToolError::InvalidArguments("the amount to swap is 0".into()));
    }
    let request = QuoteRequest {
        chain_id: network.chain_id,
        sell: sell.address,
        buy: buy.address,
        amount,
        exact_output: args.exact_output,
        from,
        slippage_bps: slippage,
    };
    let quote = aggregator.quote(&request).await.map_err(|e| ToolError::Failed(e.to_string()))?;
    let (impact, impact_ppm) = match quote.price_impact_ppm() {
        Some(ppm) => (percent(ppm), ppm),
        None => ("unknown".to_owned(), 0),
    };
    let fmt = |v: U256, a: &Asset| format!("{} {}", format_units(v, a.decimals), a.symbol);
    let route = format!("{} → {} → {} (via LI.FI)", sell.symbol, quote.sources.join(", "), buy.symbol);
    let output = SwapQuoteOutput {
        network: network.name.clone(),
        chain_id: network.chain_id,
        venue: "lifi".into(),
        route,
        sources: quote.sources.clone(),
        pool: None,
        fee: None,
        amount_in: quote.amount_in.to_string(),
        amount_out: quote.amount_out.to_string(),
        amount_in_formatted: fmt(quote.amount_in, &sell),
        amount_out_formatted: fmt(quote.amount_out, &buy),
        minimum_out: quote.minimum_out.to_string(),
        // The aggregator's transaction sells exactly this, for an exact output too.
        maximum_in: quote.amount_in.to_string(),
        minimum_out_formatted: fmt(quote.minimum_out, &buy),
        slippage_bps: slippage,
        warnings: impact_warnings(impact_ppm, impact_threshold_bps),
        price_impact_percent: impact,
        exact_output: args.exact_output,
        native_in: sell.address.is_none(),
        native_out: buy.address.is_none(),
        transaction: Some(QuoteTransaction {
            to: quote.transaction.to,
            value: quote.transaction.value.to_string(),
            data: hex::encode_prefixed(&quote.transaction.data),
            allowance_target: quote.approval_address,
        }),
        sell,
        buy,
    };
    Ok(Quoted {
        native_in: output.native_in,
        native_out: output.native_out,
        output,
        venue: Venue::Aggregator(quote),
        slippage_ppm: u64::from(slippage) * 100,
    })
}

/// `quote_swap`: a quote, nothing staged.
#[derive(Debug, Clone)]
pub struct QuoteSwap {
    sessions: Arc<ChainSessions>,
    aggregator: Option<Arc<Lifi>>,
    impact_threshold_bps: u32,
}

impl QuoteSwap {
    /// The tool over the chat sessions, flagging a price impact above `impact_threshold_bps`;
    /// `aggregator` quotes on networks with no local DEX.
    pub fn new(sessions: Arc<ChainSessions>, aggregator: Option<Arc<Lifi>>, impact_threshold_bps: u32) -> Self {
        QuoteSwap { sessions, aggregator, impact_threshold_bps }
    }
}

fn wallet_address(ctx: &ToolContext) -> Option<Address> {
    ctx.wallet.as_ref().and_then(|w| w.address).map(aomi_core::Address::into_alloy)
}

impl TypedTool for QuoteSwap {
    const NAME: &'static str = "quote_swap";
    type Args = QuoteArgs;
    type Output = SwapQuoteOutput;

    fn description(&self) -> String {
        "Quotes a swap (\"how much USDC for 1 ETH?\") on the network's DEX (the devnet's Uniswap; the LI.FI aggregator on public networks): route and sources, expected output, minimum output at the slippage (default 0.5 %), price impact. Only a quote: nothing is staged or sent. Use stage_swap when the user wants to swap.".into()
    }

    async fn run(&self, args: QuoteArgs, ctx: ToolContext) -> Result<ToolOutput<SwapQuoteOutput>, ToolError> {
        let conn = connection(&self.sessions, &ctx, args.network.as_deref())?;
        let quoted = quote(
            &self.sessions,
            self.aggregator.as_deref(),
            &conn,
            &args,
            wallet_address(&ctx),
            self.impact_threshold_bps,
        )
        .await?;
        let summary = quote_summary(&quoted.output);
        Ok(ToolOutput::new(quoted.output, summary))
    }
}

fn quote_summary(q: &SwapQuoteOutput) -> String {
    let mut text = format!(
        "{} for {} via {} (price impact {} %; at {} % slippage at least {})",
        q.amount_in_formatted,
        q.amount_out_formatted,
        q.route,
        q.price_impact_percent,
        f64::from(q.slippage_bps) / 100.0,
        q.minimum_out_formatted
    );
    for warning in &q.warnings {
        text.push_str(&format!(" [{}] {}", warning.level, warning.message));
    }
    text
}

/// `stage_swap`: the quote built into a router call and staged, after an approval if needed.
#[derive(Clone)]
pub struct StageSwap {
    sessions: Arc<ChainSessions>,
    batches: Arc<PendingBatches>,
    aggregator: Option<Arc<Lifi>>,
    impact_threshold_bps: u32,
}

impl std::fmt::Debug for StageSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageSwap").finish_non_exhaustive()
    }
}

impl StageSwap {
    /// The tool over the chat sessions and their pending batches, flagging a price impact above
    /// `impact_threshold_bps`.
    pub fn new(sessions: Arc<ChainSessions>, batches: Arc<PendingBatches>, impact_threshold_bps: u32) -> Self {
        StageSwap { sessions, batches, aggregator: None, impact_threshold_bps }
    }

    /// Quotes and stages through `aggregator` on networks with no local DEX.
    pub fn with_aggregator(mut self, aggregator: Option<Arc<Lifi>>) -> Self {
        self.aggregator = aggregator;
        self
    }
}

/// The output of `stage_swap`: the quote and the batch it joined.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StagedSwap {
    /// The quote the staged swap carries.
    pub quote: SwapQuoteOutput,
    /// The chat's pending batch now.
    pub batch: PendingBatch,
}

impl TypedTool for StageSwap {
    const NAME: &'static str = "stage_swap";
    type Args = QuoteArgs;
    type Output = StagedSwap;

    fn description(&self) -> String {
        "Stages a swap in the chat's pending batch: quotes it on the network's DEX or aggregator (as quote_swap) and adds the router's (or aggregator's) call with the minimum output at the slippage (default 0.5 %), preceded by an approval of exactly the amount when the router's allowance is short. Then call simulate_batch and send_batch_to_wallet.".into()
    }

    async fn run(&self, args: QuoteArgs, ctx: ToolContext) -> Result<ToolOutput<StagedSwap>, ToolError> {
        let Some(from) = wallet_address(&ctx) else {
            return Err(ToolError::Failed("no wallet is connected: a swap needs the wallet's address".into()));
        };
        // The batch is for the chat's network: a swap elsewhere is not staged.
        let conn = connection(&self.sessions, &ctx, None)?;
        if let Some(asked) = args.network.as_deref().filter(|n| !n.trim().is_empty()) {
            let other = self.sessions.registry().resolve(asked).map_err(failed)?;
            if other.chain_id != conn.network.chain_id {
                return Err(ToolError::InvalidArguments(format!(
                    "the pending batch is for the chat's network, {}: switch_network to {} first",
                    conn.network.name, other.name
                )));
            }
        }
        let quoted =
            quote(&self.sessions, self.aggregator.as_deref(), &conn, &args, Some(from), self.impact_threshold_bps)
                .await?;
        let q = &quoted.output;
        // The call to sign, the spender it needs an allowance for, and how much.
        let (to, value, data, spender_name, needed) = match &quoted.venue {
            Venue::Uniswap { quote, dex } => {
                let block = conn
                    .provider
                    .get_block_by_number(Default::default())
                    .await
                    .map_err(|e| ToolError::Failed(format!("reading the latest block failed: {e}")))?
                    .ok_or_else(|| ToolError::Failed("the network has no latest block".into()))?;
                let deadline = block.header.timestamp + SWAP_DEADLINE_SECS;
                let call: SwapCall =
                    swap_call(dex, quote, from, quoted.slippage_ppm, deadline, quoted.native_in, quoted.native_out);
                let needed = if q.exact_output { call.limit } else { quote.amount_in };
                (call.to, call.value, call.data, "the Uniswap router", needed)
            }
            Venue::Aggregator(quote) => {
                let tx = &quote.transaction;
                (tx.to, tx.value, tx.data.to_vec(), "LI.FI", quote.amount_in)
            }
        };
        let spender = match &quoted.venue {
            Venue::Uniswap { .. } => Some(to),
            Venue::Aggregator(quote) => quote.approval_address,
        };
        let mut steps = Vec::new();
        if let (Some(token), Some(spender)) = (q.sell.address, spender) {
            // Read on chain: an allowance already given is not asked again.
            let current = allowance(&conn, token, from, spender).await?;
            if current < needed {
                let data = IERC20::approveCall { spender, amount: needed }.abi_encode();
                steps.push(StagedStep {
                    chain_id: conn.network.chain_id,
                    to: token,
                    value: "0".into(),
                    data: hex::encode_prefixed(&data),
                    description: format!(
                        "Approve {spender_name} ({spender}) to spend {} {}",
                        format_units(needed, q.sell.decimals),
                        q.sell.symbol
                    ),
                });
            }
        }
        steps.push(StagedStep {
            chain_id: conn.network.chain_id,
            to,
            value: value.to_string(),
            data: hex::encode_prefixed(&data),
            description: format!(
                "Swap {} for {} (at least {})",
                q.amount_in_formatted, q.amount_out_formatted, q.minimum_out_formatted
            ),
        });
        let count = steps.len();
        let batch = self.batches.stage(&ctx.chat_id, steps).await?;
        ctx.emit(&super::batch::PendingBatchPart { batch: batch.clone() });
        let summary = format!("Staged ({count} step{}): {}", if count == 1 { "" } else { "s" }, quote_summary(q));
        Ok(ToolOutput::new(StagedSwap { quote: quoted.output, batch }, summary))
    }
}
