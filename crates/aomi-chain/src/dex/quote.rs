//! Quotes from Uniswap V3's QuoterV2 and the `SwapRouter` calldata that executes them.
//!
//! A quote asks QuoterV2 on every fee tier that has a pool (in one round of `eth_call`s), keeps
//! the best, and measures its price impact against the pool's mid price (`slot0`) less the pool's
//! fee, so the fee is not counted as impact. The calldata carries the minimum output (or maximum
//! input) at the caller's slippage and wraps or unwraps ether through the router, so "ETH" is a
//! token like any other to the caller.

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, U256, U512};
use alloy::sol_types::SolCall;
use futures::future::join_all;
use serde::Serialize;

use super::deploy::DexContracts;
use super::{IQuoterV2, ISwapRouter, IUniswapV3Factory, IUniswapV3Pool};
use crate::error::ChainError;
use crate::provider::ChainProvider;

/// The fee tiers asked, in hundredths of a basis point.
pub const V3_FEES: [u32; 4] = [100, 500, 3000, 10_000];

/// One parts-per-million unit: slippage and price impact are counted in millionths.
pub const PPM: u64 = 1_000_000;

/// A V3 quote on one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SwapQuote {
    /// The token sold (WETH for ether).
    pub token_in: Address,
    /// The token bought (WETH for ether).
    pub token_out: Address,
    /// The pool's fee tier.
    pub fee: u32,
    /// The pool.
    pub pool: Address,
    /// True for an exact input (`amount_in` fixed), false for an exact output.
    pub exact_in: bool,
    /// What is sold, in base units.
    pub amount_in: U256,
    /// What is bought, in base units.
    pub amount_out: U256,
    /// How much worse than the pool's mid price (after its fee) the trade is, in millionths.
    pub price_impact_ppm: u64,
    /// The quoter's gas estimate of the swap.
    pub gas_estimate: U256,
}

/// Quotes selling `amount` of `token_in` for `token_out` (`exact_in`), or buying `amount` of
/// `token_out` with `token_in`, on the best V3 pool. An error when no pool trades the pair.
pub async fn quote_v3(
    provider: &ChainProvider,
    dex: &DexContracts,
    token_in: Address,
    token_out: Address,
    amount: U256,
    exact_in: bool,
) -> Result<SwapQuote, ChainError> {
    if token_in == token_out {
        return Err(ChainError::InvalidInput("the token sold and the token bought are the same".into()));
    }
    if amount.is_zero() {
        return Err(ChainError::InvalidInput("the amount to swap is 0".into()));
    }
    let quotes =
        join_all(V3_FEES.iter().map(|fee| quote_tier(provider, dex, token_in, token_out, amount, exact_in, *fee)))
            .await;
    let mut errors = Vec::new();
    let mut best: Option<SwapQuote> = None;
    for quote in quotes {
        match quote {
            Ok(Some(quote)) => {
                let better = match &best {
                    None => true,
                    Some(b) if exact_in => quote.amount_out > b.amount_out,
                    Some(b) => quote.amount_in < b.amount_in,
                };
                if better {
                    best = Some(quote);
                }
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    match (best, errors.into_iter().next()) {
        (Some(best), _) => Ok(best),
        (None, Some(error)) => Err(error),
        (None, None) => Err(ChainError::InvalidInput(format!(
            "no Uniswap V3 pool trades {token_in} against {token_out} on this network"
        ))),
    }
}

async fn call(provider: &ChainProvider, to: Address, data: Vec<u8>) -> Result<alloy::primitives::Bytes, ChainError> {
    crate::provider::call_latest(provider, to, data)
        .await
        .map_err(|e| ChainError::Rpc { network: String::new(), message: e.to_string() })
}

/// The quote on one fee tier; `None` when it has no pool or no liquidity for the amount.
async fn quote_tier(
    provider: &ChainProvider,
    dex: &DexContracts,
    token_in: Address,
    token_out: Address,
    amount: U256,
    exact_in: bool,
    fee: u32,
) -> Result<Option<SwapQuote>, ChainError> {
    let get_pool = IUniswapV3Factory::getPoolCall { tokenA: token_in, tokenB: token_out, fee: U24::from(fee) };
    let out = call(provider, dex.v3_factory, get_pool.abi_encode()).await?;
    let pool = IUniswapV3Factory::getPoolCall::abi_decode_returns(&out)
        .map_err(|e| ChainError::Rpc { network: String::new(), message: format!("an unexpected answer: {e}") })?;
    if pool.is_zero() {
        return Ok(None);
    }
    let slot0 = call(provider, pool, IUniswapV3Pool::slot0Call {}.abi_encode()).await?;
    let slot0 = IUniswapV3Pool::slot0Call::abi_decode_returns(&slot0)
        .map_err(|e| ChainError::Rpc { network: String::new(), message: format!("an unexpected answer: {e}") })?;
    let quoted = if exact_in {
        let params = IQuoterV2::QuoteExactInputSingleParams {
            tokenIn: token_in,
            tokenOut: token_out,
            amountIn: amount,
            fee: U24::from(fee),
            sqrtPriceLimitX96: U160::ZERO,
        };
        call(provider, dex.quoter, IQuoterV2::quoteExactInputSingleCall { params }.abi_encode())
            .await
            .ok()
            .and_then(|out| IQuoterV2::quoteExactInputSingleCall::abi_decode_returns(&out).ok())
            .map(|r| (amount, r.amountOut, r.gasEstimate))
    } else {
        let params = IQuoterV2::QuoteExactOutputSingleParams {
            tokenIn: token_in,
            tokenOut: token_out,
            amount,
            fee: U24::from(fee),
            sqrtPriceLimitX96: U160::ZERO,
        };
        call(provider, dex.quoter, IQuoterV2::quoteExactOutputSingleCall { params }.abi_encode())
            .await
            .ok()
            .and_then(|out| IQuoterV2::quoteExactOutputSingleCall::abi_decode_returns(&out).ok())
            .map(|r| (r.amountIn, amount, r.gasEstimate))
    };
    // The quoter reverts when the pool cannot fill the amount: no quote on this tier.
    let Some((amount_in, amount_out, gas_estimate)) = quoted.filter(|(i, o, _)| !i.is_zero() && !o.is_zero()) else {
        return Ok(None);
    };
    let token0_in = token_in < token_out;
    let impact = price_impact_ppm(U256::from(slot0.sqrtPriceX96), token0_in, fee, amount_in, amount_out);
    Ok(Some(SwapQuote {
        token_in,
        token_out,
        fee,
        pool,
        exact_in,
        amount_in,
        amount_out,
        price_impact_ppm: impact,
        gas_estimate,
    }))
}

/// How much less `amount_out` is than `amount_in` would buy at the mid price `sqrt_price_x96`
/// after the pool's `fee`, in millionths (0 when the trade is at or better than that price).
pub fn price_impact_ppm(sqrt_price_x96: U256, token0_in: bool, fee: u32, amount_in: U256, amount_out: U256) -> u64 {
    let price_q192: U512 = U512::from(sqrt_price_x96) * U512::from(sqrt_price_x96);
    let q192: U512 = U512::from(1u8) << 192;
    let after_fee: U512 = U512::from(amount_in) * U512::from(PPM - u64::from(fee).min(PPM));
    // At the mid price: token1 per token0 is price_q192 / 2^192.
    let ideal: U512 = if token0_in {
        after_fee * price_q192 / q192 / U512::from(PPM)
    } else if price_q192.is_zero() {
        return 0;
    } else {
        after_fee * q192 / price_q192 / U512::from(PPM)
    };
    let out = U512::from(amount_out);
    if ideal.is_zero() || out >= ideal {
        return 0;
    }
    let ppm = (ideal - out) * U512::from(PPM) / ideal;
    u64::try_from(ppm).unwrap_or(PPM)
}

/// `amount` less `slippage_ppm` millionths of it (rounded down): a minimum output.
pub fn minus_slippage(amount: U256, slippage_ppm: u64) -> U256 {
    amount * U256::from(PPM - slippage_ppm.min(PPM)) / U256::from(PPM)
}

/// `amount` plus `slippage_ppm` millionths of it (rounded up): a maximum input.
pub fn plus_slippage(amount: U256, slippage_ppm: u64) -> U256 {
    (amount * U256::from(PPM + slippage_ppm)).div_ceil(U256::from(PPM))
}

/// A swap transaction for the wallet: send `value` with `data` to the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapCall {
    /// The router.
    pub to: Address,
    /// Ether sent (the input when selling ether; the maximum input for an exact-output buy).
    pub value: U256,
    /// The calldata.
    pub data: Vec<u8>,
    /// The minimum output (exact input) or maximum input (exact output) it carries.
    pub limit: U256,
}

/// The `SwapRouter` call that executes `quote` for `recipient`, accepting `slippage_ppm` millionths
/// of slippage, valid until `deadline` (a unix time). `native_in`/`native_out`: the ether side is
/// sent as value (wrapped by the router) or unwrapped to the recipient.
pub fn swap_call(
    dex: &DexContracts,
    quote: &SwapQuote,
    recipient: Address,
    slippage_ppm: u64,
    deadline: u64,
    native_in: bool,
    native_out: bool,
) -> SwapCall {
    let router = dex.swap_router;
    // When ether comes out, the router receives the WETH and unwraps it to the recipient.
    let swap_recipient = if native_out { router } else { recipient };
    let deadline = U256::from(deadline);
    let fee = U24::from(quote.fee);
    let (swap, limit, value) = if quote.exact_in {
        let minimum = minus_slippage(quote.amount_out, slippage_ppm);
        let params = ISwapRouter::ExactInputSingleParams {
            tokenIn: quote.token_in,
            tokenOut: quote.token_out,
            fee,
            recipient: swap_recipient,
            deadline,
            amountIn: quote.amount_in,
            amountOutMinimum: minimum,
            sqrtPriceLimitX96: U160::ZERO,
        };
        let value = if native_in { quote.amount_in } else { U256::ZERO };
        (ISwapRouter::exactInputSingleCall { params }.abi_encode(), minimum, value)
    } else {
        let maximum = plus_slippage(quote.amount_in, slippage_ppm);
        let params = ISwapRouter::ExactOutputSingleParams {
            tokenIn: quote.token_in,
            tokenOut: quote.token_out,
            fee,
            recipient: swap_recipient,
            deadline,
            amountOut: quote.amount_out,
            amountInMaximum: maximum,
            sqrtPriceLimitX96: U160::ZERO,
        };
        let value = if native_in { maximum } else { U256::ZERO };
        (ISwapRouter::exactOutputSingleCall { params }.abi_encode(), maximum, value)
    };
    let mut calls = vec![swap];
    if native_out {
        let minimum = if quote.exact_in { limit } else { quote.amount_out };
        calls.push(ISwapRouter::unwrapWETH9Call { amountMinimum: minimum, recipient }.abi_encode());
    }
    if native_in && !quote.exact_in {
        // What the maximum input did not use comes back.
        calls.push(ISwapRouter::refundETHCall {}.abi_encode());
    }
    let data = if calls.len() == 1 {
        calls.remove(0)
    } else {
        ISwapRouter::multicallCall { data: calls.into_iter().map(Into::into).collect() }.abi_encode()
    };
    SwapCall { to: router, value, data, limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slippage_bounds_round_against_the_trader() {
        assert_eq!(minus_slippage(U256::from(1_000_000u64), 5_000), U256::from(995_000u64));
        assert_eq!(minus_slippage(U256::from(999u64), 5_000), U256::from(994u64));
        assert_eq!(plus_slippage(U256::from(999u64), 5_000), U256::from(1004u64));
    }

    #[test]
    fn a_trade_at_the_mid_price_after_fee_has_no_impact() {
        let one_to_one = U256::from(1u8) << 96;
        let amount = U256::from(1_000_000u64);
        // At a price of 1 with a 0.3 % fee, 997000 out is exactly the mid price.
        assert_eq!(price_impact_ppm(one_to_one, true, 3000, amount, U256::from(997_000u64)), 0);
        assert_eq!(price_impact_ppm(one_to_one, false, 3000, amount, U256::from(987_030u64)), 10_000);
        // Price 4 (token1 per token0): selling token1 buys a quarter.
        let four = U256::from(2u8) << 96;
        assert_eq!(price_impact_ppm(four, false, 0, amount, U256::from(250_000u64)), 0);
        assert_eq!(price_impact_ppm(four, false, 0, amount, U256::from(225_000u64)), 100_000);
    }
}
