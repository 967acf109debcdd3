//! Uniswap on the devnet: V2 (factory, Router02) and V3 (factory, SwapRouter, QuoterV2,
//! NonfungiblePositionManager), deployed from the official npm packages' artifacts
//! ([`artifacts`]), with pools seeded ([`deploy`]), and the quotes and swap calldata the tools
//! use ([`quote`]).
//!
//! The routers use the devnet's WETH (`contracts/src/WrappedEther.sol`, WETH9's interface and
//! events), so the devnet has one wrapped ether, not two.

pub mod artifacts;
pub mod deploy;
pub mod quote;

use alloy::primitives::Address;
use serde::Serialize;

pub use artifacts::UniswapArtifacts;
pub use deploy::{DEX_DEPLOYER, Dex, DexContracts, Pool, PoolKind};
pub use quote::{SwapQuote, V3_FEES, quote_v3};

/// The devnet's price of one ETH in USD that the pools are seeded at (USDC and DAI at 1 USD).
pub const SEED_ETH_PRICE_USD: u64 = 3000;

alloy::sol! {
    /// Uniswap V2's factory.
    #[allow(missing_docs)]
    interface IUniswapV2Factory {
        function getPair(address tokenA, address tokenB) external view returns (address pair);
    }

    /// Uniswap V2's Router02, the functions aomi calls.
    #[allow(missing_docs)]
    interface IUniswapV2Router02 {
        function addLiquidity(address tokenA, address tokenB, uint256 amountADesired, uint256 amountBDesired, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline) external returns (uint256 amountA, uint256 amountB, uint256 liquidity);
        function getAmountsOut(uint256 amountIn, address[] path) external view returns (uint256[] amounts);
    }

    /// Uniswap V3's factory.
    #[allow(missing_docs)]
    interface IUniswapV3Factory {
        function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address pool);
    }

    /// A Uniswap V3 pool, what aomi reads.
    #[allow(missing_docs)]
    interface IUniswapV3Pool {
        function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked);
        function liquidity() external view returns (uint128);
        function token0() external view returns (address);
    }

    /// Uniswap V3's NonfungiblePositionManager, what seeding the pools calls.
    #[allow(missing_docs)]
    interface INonfungiblePositionManager {
        struct MintParams {
            address token0;
            address token1;
            uint24 fee;
            int24 tickLower;
            int24 tickUpper;
            uint256 amount0Desired;
            uint256 amount1Desired;
            uint256 amount0Min;
            uint256 amount1Min;
            address recipient;
            uint256 deadline;
        }
        function createAndInitializePoolIfNecessary(address token0, address token1, uint24 fee, uint160 sqrtPriceX96) external payable returns (address pool);
        function mint(MintParams params) external payable returns (uint256 tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
    }

    /// Uniswap V3's QuoterV2 (its functions are not `view`: they revert with the result inside,
    /// so they are called with `eth_call`).
    #[allow(missing_docs)]
    interface IQuoterV2 {
        struct QuoteExactInputSingleParams {
            address tokenIn;
            address tokenOut;
            uint256 amountIn;
            uint24 fee;
            uint160 sqrtPriceLimitX96;
        }
        struct QuoteExactOutputSingleParams {
            address tokenIn;
            address tokenOut;
            uint256 amount;
            uint24 fee;
            uint160 sqrtPriceLimitX96;
        }
        function quoteExactInputSingle(QuoteExactInputSingleParams params) external returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
        function quoteExactOutputSingle(QuoteExactOutputSingleParams params) external returns (uint256 amountIn, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
    }

    /// Uniswap V3's SwapRouter (periphery 1.x).
    #[allow(missing_docs)]
    interface ISwapRouter {
        struct ExactInputSingleParams {
            address tokenIn;
            address tokenOut;
            uint24 fee;
            address recipient;
            uint256 deadline;
            uint256 amountIn;
            uint256 amountOutMinimum;
            uint160 sqrtPriceLimitX96;
        }
        struct ExactOutputSingleParams {
            address tokenIn;
            address tokenOut;
            uint24 fee;
            address recipient;
            uint256 deadline;
            uint256 amountOut;
            uint256 amountInMaximum;
            uint160 sqrtPriceLimitX96;
        }
        function exactInputSingle(ExactInputSingleParams params) external payable returns (uint256 amountOut);
        function exactOutputSingle(ExactOutputSingleParams params) external payable returns (uint256 amountIn);
        function multicall(bytes[] data) external payable returns (bytes[] results);
        function unwrapWETH9(uint256 amountMinimum, address recipient) external payable;
        function refundETH() external payable;
    }
}

/// A token the devnet deployed: what the token list of the devnet holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetToken {
    /// Its symbol.
    pub symbol: String,
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: Address,
    /// Its decimals.
    pub decimals: u8,
}
