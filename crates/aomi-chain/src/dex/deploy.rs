//! Deploys Uniswap V2 and V3 on a devnet and seeds pools with liquidity.
//!
//! Everything is sent by one impersonated account, [`DEX_DEPLOYER`] (given ether with
//! `anvil_setBalance`), so the dev accounts' balances and nonces stay what they were and the
//! contracts land at addresses fixed by that account's nonces ([`DexContracts::deployed_by`]):
//! an `aomi devnet` started elsewhere is recognised by them.
//!
//! Pools, at 1 ETH = [`SEED_ETH_PRICE_USD`](super::SEED_ETH_PRICE_USD) USDC or DAI:
//! V3 ETH/USDC and ETH/DAI (0.3 %, 1000 ETH against 3,000,000) and USDC/DAI (0.05 %, 5,000,000 of
//! each), full range; V2 the same three pairs, a tenth of that.

use alloy::network::TransactionBuilder;
use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, Bytes, U256, U512, address};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolValue};
use serde::Serialize;

use super::artifacts::UniswapArtifacts;
use super::{
    DevnetToken, INonfungiblePositionManager, IUniswapV2Factory, IUniswapV2Router02, IUniswapV3Factory,
    SEED_ETH_PRICE_USD,
};
use crate::contracts::IERC20;
use crate::devnet::{DevnetContracts, DevnetError};
use crate::session::{KnownContract, KnownContracts};

/// The account that deploys Uniswap and provides the pools' liquidity (impersonated on anvil; no
/// key exists for it).
pub const DEX_DEPLOYER: Address = address!("000000000000000000000000000000000000def1");

/// The gas limit of every deployment and seeding transaction. Not estimated: an estimate made in
/// the same second as the pool's creation skips the pool's first oracle write, which the mined
/// transaction (a second later) does, and then runs out of gas.
const GAS_LIMIT: u64 = 15_000_000;

/// Where Uniswap's contracts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DexContracts {
    /// The WETH the routers wrap into (the devnet's WrappedEther).
    pub weth: Address,
    /// `UniswapV2Factory`.
    pub v2_factory: Address,
    /// `UniswapV2Router02`.
    pub v2_router: Address,
    /// `UniswapV3Factory`.
    pub v3_factory: Address,
    /// `NonfungiblePositionManager`.
    pub position_manager: Address,
    /// `SwapRouter` (V3).
    pub swap_router: Address,
    /// `QuoterV2`.
    pub quoter: Address,
}

impl DexContracts {
    /// Where [`Dex::deploy`] puts the contracts: the first six that `deployer` creates.
    pub fn deployed_by(deployer: Address, weth: Address) -> Self {
        DexContracts {
            weth,
            v2_factory: deployer.create(0),
            v2_router: deployer.create(1),
            v3_factory: deployer.create(2),
            position_manager: deployer.create(3),
            swap_router: deployer.create(4),
            quoter: deployer.create(5),
        }
    }
}

/// Uniswap V2 or V3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// A V2 pair.
    V2,
    /// A V3 pool.
    V3,
}

/// A seeded pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// V2 or V3.
    pub kind: PoolKind,
    /// The pair or pool contract.
    pub address: Address,
    /// `SYMBOL0/SYMBOL1`.
    pub pair: String,
    /// The lower-address token.
    pub token0: Address,
    /// The other token.
    pub token1: Address,
    /// The fee in hundredths of a basis point (V2: 3000, its fixed 0.3 %).
    pub fee: u32,
}

/// Uniswap on a devnet: its contracts, pools and the packages they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dex {
    /// The contracts.
    pub contracts: DexContracts,
    /// The seeded pools.
    pub pools: Vec<Pool>,
    /// The npm packages, with their versions.
    pub packages: Vec<(String, String)>,
}

/// One pool to seed: tokens and amounts in whole units, the V3 fee.
struct Seed {
    a: (Address, &'static str, u8, u64),
    b: (Address, &'static str, u8, u64),
    fee: u32,
}

fn seeds(c: &DevnetContracts) -> [Seed; 3] {
    let weth = (c.weth, "WETH", 18, 1000);
    let price = SEED_ETH_PRICE_USD * 1000;
    [
        Seed { a: weth, b: (c.usdc, "USDC", 6, price), fee: 3000 },
        Seed { a: weth, b: (c.dai, "DAI", 18, price), fee: 3000 },
        Seed { a: (c.usdc, "USDC", 6, 5_000_000), b: (c.dai, "DAI", 18, 5_000_000), fee: 500 },
    ]
}

fn units(whole: u64, decimals: u8) -> U256 {
    U256::from(whole) * U256::from(10u8).pow(U256::from(decimals))
}

/// The price of token1 in token0, as a Q64.96 square root: `sqrt(amount1 / amount0) * 2^96`.
pub fn sqrt_price_x96(amount0: U256, amount1: U256) -> U160 {
    let ratio: U512 = (U512::from(amount1) << 192) / U512::from(amount0.max(U256::from(1u8)));
    U160::saturating_from(ratio.root(2))
}

/// The widest range of ticks a fee tier's spacing allows.
fn full_range(fee: u32) -> (i32, i32) {
    const MAX_TICK: i32 = 887_272;
    let spacing = match fee {
        100 => 1,
        500 => 10,
        3000 => 60,
        _ => 200,
    };
    let max = MAX_TICK / spacing * spacing;
    (-max, max)
}

impl Dex {
    /// Deploys Uniswap next to the devnet's `tokens` and seeds the pools.
    pub async fn deploy(provider: &DynProvider, tokens: &DevnetContracts) -> Result<Self, DevnetError> {
        let artifacts = UniswapArtifacts::find()?;
        let d = DEX_DEPLOYER;
        let rpc = |what: &str, e: alloy::transports::TransportError| deploy_error(what, e);
        // Ether for the liquidity and the gas, and the right to send as this account.
        let ether = units(100_000, 18);
        provider
            .raw_request::<_, ()>("anvil_setBalance".into(), (d, format!("{ether:#x}")))
            .await
            .map_err(|e| rpc("anvil_setBalance", e))?;
        provider
            .raw_request::<_, ()>("anvil_impersonateAccount".into(), (d,))
            .await
            .map_err(|e| rpc("anvil_impersonateAccount", e))?;

        let weth = tokens.weth;
        let deploy = |name: &'static str, code: &Bytes, args: Vec<u8>| {
            let code: Vec<u8> = code.iter().copied().chain(args).collect();
            async move {
                let receipt =
                    send(provider, TransactionRequest::default().from(d).with_deploy_code(code), name).await?;
                receipt.contract_address.ok_or_else(|| deploy_error(name, "no contract address in the receipt"))
            }
        };
        let v2_factory = deploy("UniswapV2Factory", &artifacts.v2_factory.bytecode, d.abi_encode()).await?;
        let v2_router =
            deploy("UniswapV2Router02", &artifacts.v2_router.bytecode, (v2_factory, weth).abi_encode_params()).await?;
        let v3_factory = deploy("UniswapV3Factory", &artifacts.v3_factory.bytecode, Vec::new()).await?;
        // No token descriptor: positions' tokenURI is not needed on a devnet.
        let position_manager = deploy(
            "NonfungiblePositionManager",
            &artifacts.position_manager.bytecode,
            (v3_factory, weth, Address::ZERO).abi_encode_params(),
        )
        .await?;
        let swap_router =
            deploy("SwapRouter", &artifacts.swap_router.bytecode, (v3_factory, weth).abi_encode_params()).await?;
        let quoter = deploy("QuoterV2", &artifacts.quoter.bytecode, (v3_factory, weth).abi_encode_params()).await?;
        let contracts = DexContracts { weth, v2_factory, v2_router, v3_factory, position_manager, swap_router, quoter };

        // The liquidity: wrapped ether, minted stablecoins, approvals to both position makers.
        let call = |to: Address, data: Vec<u8>, value: U256, what: &'static str| async move {
            let request = TransactionRequest::default().from(d).to(to).input(data.into()).value(value);
            send(provider, request.with_gas_limit(GAS_LIMIT), what).await
        };
        call(weth, Vec::new(), units(2_400, 18), "wrap the liquidity's ether").await?;
        for token in [tokens.usdc, tokens.dai] {
            let decimals = if token == tokens.usdc { 6 } else { 18 };
            let data = IERC20::mintCall { to: d, amount: units(20_000_000, decimals) }.abi_encode();
            call(token, data, U256::ZERO, "mint the liquidity's tokens").await?;
        }
        for token in [weth, tokens.usdc, tokens.dai] {
            for spender in [position_manager, v2_router] {
                let data = IERC20::approveCall { spender, amount: U256::MAX }.abi_encode();
                call(token, data, U256::ZERO, "approve the liquidity").await?;
            }
        }

        let mut pools = Vec::new();
        for seed in seeds(tokens) {
            let (x, y) = if seed.a.0 < seed.b.0 { (seed.a, seed.b) } else { (seed.b, seed.a) };
            let (amount0, amount1) = (units(x.3, x.2), units(y.3, y.2));
            let pair = format!("{}/{}", x.1, y.1);
            // V3: the pool at the seeded price, then a full-range position.
            let create = INonfungiblePositionManager::createAndInitializePoolIfNecessaryCall {
                token0: x.0,
                token1: y.0,
                fee: U24::from(seed.fee),
                sqrtPriceX96: sqrt_price_x96(amount0, amount1),
            };
            call(position_manager, create.abi_encode(), U256::ZERO, "create a V3 pool").await?;
            let (lower, upper) = full_range(seed.fee);
            let mint = INonfungiblePositionManager::mintCall {
                params: INonfungiblePositionManager::MintParams {
                    token0: x.0,
                    token1: y.0,
                    fee: U24::from(seed.fee),
                    tickLower: I24::try_from(lower).map_err(|e| deploy_error("a V3 position", e))?,
                    tickUpper: I24::try_from(upper).map_err(|e| deploy_error("a V3 position", e))?,
                    amount0Desired: amount0,
                    amount1Desired: amount1,
                    amount0Min: U256::ZERO,
                    amount1Min: U256::ZERO,
                    recipient: d,
                    deadline: U256::MAX,
                },
            };
            call(position_manager, mint.abi_encode(), U256::ZERO, "add V3 liquidity").await?;
            let pool = read_address(
                provider,
                v3_factory,
                IUniswapV3Factory::getPoolCall { tokenA: x.0, tokenB: y.0, fee: U24::from(seed.fee) }.abi_encode(),
            )
            .await?;
            pools.push(Pool {
                kind: PoolKind::V3,
                address: pool,
                pair: pair.clone(),
                token0: x.0,
                token1: y.0,
                fee: seed.fee,
            });

            // V2: a tenth of it. The router transfers to the pair address it computes from the
            // init code hash, so this succeeding is the proof that the patched hash is right.
            let add = IUniswapV2Router02::addLiquidityCall {
                tokenA: x.0,
                tokenB: y.0,
                amountADesired: amount0 / U256::from(10u8),
                amountBDesired: amount1 / U256::from(10u8),
                amountAMin: U256::ZERO,
                amountBMin: U256::ZERO,
                to: d,
                deadline: U256::MAX,
            };
            call(v2_router, add.abi_encode(), U256::ZERO, "add V2 liquidity").await?;
            let pair_address = read_address(
                provider,
                v2_factory,
                IUniswapV2Factory::getPairCall { tokenA: x.0, tokenB: y.0 }.abi_encode(),
            )
            .await?;
            pools.push(Pool { kind: PoolKind::V2, address: pair_address, pair, token0: x.0, token1: y.0, fee: 3000 });
        }
        provider
            .raw_request::<_, ()>("anvil_stopImpersonatingAccount".into(), (d,))
            .await
            .map_err(|e| rpc("anvil_stopImpersonatingAccount", e))?;
        Ok(Dex { contracts, pools, packages: artifacts.versions })
    }

    /// Uniswap as [`deploy`](Self::deploy) left it on a devnet that aomi did not start (an
    /// `aomi devnet` elsewhere): `None` when its factory is not where that deployment puts it.
    pub async fn running(provider: &DynProvider, tokens: &DevnetContracts) -> Result<Option<Self>, DevnetError> {
        let contracts = DexContracts::deployed_by(DEX_DEPLOYER, tokens.weth);
        let code = provider.get_code_at(contracts.quoter).await.map_err(|e| deploy_error("QuoterV2", e))?;
        if code.is_empty() {
            return Ok(None);
        }
        let mut pools = Vec::new();
        for seed in seeds(tokens) {
            let (x, y) = if seed.a.0 < seed.b.0 { (seed.a, seed.b) } else { (seed.b, seed.a) };
            let pair = format!("{}/{}", x.1, y.1);
            let get_pool = IUniswapV3Factory::getPoolCall { tokenA: x.0, tokenB: y.0, fee: U24::from(seed.fee) };
            let pool = read_address(provider, contracts.v3_factory, get_pool.abi_encode()).await?;
            pools.push(Pool {
                kind: PoolKind::V3,
                address: pool,
                pair: pair.clone(),
                token0: x.0,
                token1: y.0,
                fee: seed.fee,
            });
            let get_pair = IUniswapV2Factory::getPairCall { tokenA: x.0, tokenB: y.0 };
            let pair_address = read_address(provider, contracts.v2_factory, get_pair.abi_encode()).await?;
            pools.push(Pool { kind: PoolKind::V2, address: pair_address, pair, token0: x.0, token1: y.0, fee: 3000 });
        }
        let packages = UniswapArtifacts::find().map(|a| a.versions).unwrap_or_default();
        Ok(Some(Dex { contracts, pools, packages }))
    }

    /// The tokens the pools trade, as the devnet's token list holds them.
    pub fn tokens(tokens: &DevnetContracts) -> Vec<DevnetToken> {
        let token = |symbol: &str, name: &str, address, decimals| DevnetToken {
            symbol: symbol.into(),
            name: name.into(),
            address,
            decimals,
        };
        vec![
            token("USDC", "USD Coin", tokens.usdc, 6),
            token("DAI", "Dai Stablecoin", tokens.dai, 18),
            token("WETH", "Wrapped Ether", tokens.weth, 18),
        ]
    }

    /// Records the ABIs of the contracts, the pairs and the pools in `known`.
    pub fn register(&self, chain_id: u64, known: &KnownContracts) -> Result<(), DevnetError> {
        let a = UniswapArtifacts::find()?;
        let c = &self.contracts;
        for (address, artifact) in [
            (c.v2_factory, a.v2_factory),
            (c.v2_router, a.v2_router),
            (c.v3_factory, a.v3_factory),
            (c.position_manager, a.position_manager),
            (c.swap_router, a.swap_router),
            (c.quoter, a.quoter),
        ] {
            known.pin(chain_id, address, KnownContract::from(artifact));
        }
        for pool in &self.pools {
            let artifact = match pool.kind {
                PoolKind::V2 => a.v2_pair.clone(),
                PoolKind::V3 => a.v3_pool.clone(),
            };
            known.pin(chain_id, pool.address, KnownContract::from(artifact));
        }
        Ok(())
    }
}

async fn read_address(provider: &DynProvider, to: Address, data: Vec<u8>) -> Result<Address, DevnetError> {
    let out = crate::provider::call_latest(provider, to, data).await.map_err(|e| deploy_error("a pool lookup", e))?;
    let address = Address::abi_decode(&out).map_err(|e| deploy_error("a pool lookup", e))?;
    if address.is_zero() {
        return Err(deploy_error("a pool lookup", "the factory has no such pool"));
    }
    Ok(address)
}

fn deploy_error(what: &str, reason: impl std::fmt::Display) -> DevnetError {
    DevnetError::Deploy { contract: what.to_owned(), reason: reason.to_string() }
}

/// Sends a transaction (its gas limit set) and fails unless it succeeded.
pub(crate) async fn send(
    provider: &DynProvider,
    request: TransactionRequest,
    what: &str,
) -> Result<TransactionReceipt, DevnetError> {
    let pending = provider.send_transaction(request).await.map_err(|e| deploy_error(what, e))?;
    let receipt = crate::wallet_send::receipt(provider, *pending.tx_hash()).await.map_err(|e| deploy_error(what, e))?;
    if !receipt.status() {
        return Err(deploy_error(what, "the transaction reverted"));
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_price_of_equal_amounts_is_two_to_the_96() {
        let one = U256::from(1_000_000u64);
        assert_eq!(sqrt_price_x96(one, one), U160::from(1u8) << 96);
        // 4 of token1 per token0: twice 2^96.
        assert_eq!(sqrt_price_x96(one, one * U256::from(4u8)), U160::from(2u8) << 96);
    }

    #[test]
    fn full_range_ticks_are_multiples_of_the_spacing() {
        assert_eq!(full_range(3000), (-887_220, 887_220));
        assert_eq!(full_range(500), (-887_270, 887_270));
    }
}
