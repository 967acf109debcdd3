//! Uniswap on the devnet: deployed from the npm artifacts, pools seeded, quotes equal to what the
//! router executes.

use std::time::Instant;

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::dex::quote::{minus_slippage, swap_call};
use aomi_chain::dex::{IUniswapV2Router02, PoolKind, quote_v3};
use aomi_chain::{Devnet, DevnetOptions};

async fn token_balance(devnet: &Devnet, token: Address, owner: Address) -> U256 {
    let data = IERC20::balanceOfCall { owner }.abi_encode();
    let out = devnet.provider().call(TransactionRequest::default().to(token).input(data.into())).await.unwrap();
    IERC20::balanceOfCall::abi_decode_returns(&out).unwrap()
}

#[tokio::test]
async fn uniswap_is_deployed_with_seeded_pools_and_its_startup_time_is_measured() {
    let started = Instant::now();
    let bare = Devnet::start_with(DevnetOptions::without_dex()).await.unwrap();
    let bare_time = started.elapsed();
    let started = Instant::now();
    let devnet = Devnet::start().await.unwrap();
    let full_time = started.elapsed();
    // Printed, not asserted (docs/defi.md quotes it).
    println!("devnet start: {bare_time:?} without Uniswap, {full_time:?} with it");
    assert!(bare.dex().is_none());
    let dex = devnet.dex().unwrap();
    assert_eq!(dex.pools.iter().filter(|p| p.kind == PoolKind::V3).count(), 3);
    assert_eq!(dex.pools.iter().filter(|p| p.kind == PoolKind::V2).count(), 3);
    assert!(dex.packages.iter().any(|(name, version)| name == "@uniswap/v3-periphery" && version == "1.4.4"));
    let provider = devnet.provider();
    for address in
        [dex.contracts.v2_router, dex.contracts.swap_router, dex.contracts.quoter, dex.contracts.position_manager]
    {
        assert!(!provider.get_code_at(address).await.unwrap().is_empty());
    }
    // The V2 router finds its pairs (the init code hash is right): 1 ETH buys about 3000 USDC.
    let c = devnet.contracts();
    let path = vec![c.weth, c.usdc];
    let data = IUniswapV2Router02::getAmountsOutCall { amountIn: U256::from(10u64.pow(18)), path }.abi_encode();
    let out =
        provider.call(TransactionRequest::default().to(dex.contracts.v2_router).input(data.into())).await.unwrap();
    let amounts = IUniswapV2Router02::getAmountsOutCall::abi_decode_returns(&out).unwrap();
    let usdc = amounts[1].to::<u64>();
    assert!((2_900_000_000..3_000_000_000).contains(&usdc), "{usdc}");
}

#[tokio::test]
async fn a_v3_quote_is_what_the_router_executes() {
    let devnet = Devnet::start().await.unwrap();
    let dex = devnet.dex().unwrap().contracts;
    let c = *devnet.contracts();
    let provider = devnet.provider();
    let trader = devnet.accounts()[1];
    let one_eth = U256::from(10u64.pow(18));

    let quote = quote_v3(&provider, &dex, c.weth, c.usdc, one_eth, true).await.unwrap();
    assert_eq!(quote.fee, 3000);
    assert!(quote.price_impact_ppm < 2_000, "1 ETH in a 1000 ETH pool: {}", quote.price_impact_ppm);
    let block = provider.get_block_by_number(Default::default()).await.unwrap().unwrap();
    let call = swap_call(&dex, &quote, trader, 5_000, block.header.timestamp + 600, true, false);
    assert_eq!(call.value, one_eth);
    assert_eq!(call.limit, minus_slippage(quote.amount_out, 5_000));

    let before = token_balance(&devnet, c.usdc, trader).await;
    let tx = TransactionRequest::default().from(trader).to(call.to).value(call.value).input(call.data.into());
    let receipt = devnet.send_as_wallet(tx).await.unwrap();
    assert!(receipt.status());
    assert_eq!(token_balance(&devnet, c.usdc, trader).await - before, quote.amount_out);

    // Back to ether, exact output: the router unwraps to the trader and takes at most the limit.
    let want = U256::from(10u64.pow(17));
    let quote = quote_v3(&provider, &dex, c.usdc, c.weth, want, false).await.unwrap();
    let approve = IERC20::approveCall { spender: dex.swap_router, amount: quote.amount_in }.abi_encode();
    let tx = TransactionRequest::default().from(trader).to(c.usdc).input(approve.into());
    assert!(devnet.send_as_wallet(tx).await.unwrap().status());
    let block = provider.get_block_by_number(Default::default()).await.unwrap().unwrap();
    let call = swap_call(&dex, &quote, trader, 0, block.header.timestamp + 600, false, true);
    let usdc_before = token_balance(&devnet, c.usdc, trader).await;
    let eth_before = provider.get_balance(trader).await.unwrap();
    let tx = TransactionRequest::default().from(trader).to(call.to).input(call.data.into());
    let receipt = devnet.send_as_wallet(tx).await.unwrap();
    assert!(receipt.status());
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(provider.get_balance(trader).await.unwrap() + fee - eth_before, want);
    assert_eq!(usdc_before - token_balance(&devnet, c.usdc, trader).await, quote.amount_in);
}

#[tokio::test]
async fn no_pool_and_bad_amounts_are_clear_errors() {
    let devnet = Devnet::start().await.unwrap();
    let dex = devnet.dex().unwrap().contracts;
    let c = *devnet.contracts();
    let provider = devnet.provider();
    let error = quote_v3(&provider, &dex, c.usdc, c.order_book, U256::from(1u8), true).await.unwrap_err();
    assert!(error.to_string().contains("no Uniswap V3 pool"), "{error}");
    let error = quote_v3(&provider, &dex, c.usdc, c.usdc, U256::from(1u8), true).await.unwrap_err();
    assert!(error.to_string().contains("the same"), "{error}");
    let error = quote_v3(&provider, &dex, c.usdc, c.dai, U256::ZERO, true).await.unwrap_err();
    assert!(error.to_string().contains("0"), "{error}");
}

#[tokio::test]
async fn an_approval_and_the_swap_that_spends_it_simulate_in_order_as_one_batch() {
    use aomi_chain::simulation::{BatchStep, simulate_batch};
    use aomi_chain::{ChainSessions, NetworkRegistry};

    let devnet = Devnet::start().await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = ChainSessions::new(registry, "devnet").unwrap();
    devnet.register_contracts(sessions.contracts()).unwrap();
    let connection = sessions.connection("chat", None).unwrap();
    let dex = devnet.dex().unwrap().contracts;
    let c = *devnet.contracts();
    let provider = devnet.provider();
    let trader = devnet.accounts()[2];

    let sell = U256::from(3_000_000_000u64); // 3000 USDC
    let quote = quote_v3(&provider, &dex, c.usdc, c.weth, sell, true).await.unwrap();
    let block = provider.get_block_by_number(Default::default()).await.unwrap().unwrap();
    let swap = swap_call(&dex, &quote, trader, 5_000, block.header.timestamp + 600, false, true);
    let approve = IERC20::approveCall { spender: dex.swap_router, amount: sell }.abi_encode();
    let steps = vec![
        BatchStep { to: c.usdc, value: U256::ZERO, data: approve.into(), gas: None },
        BatchStep { to: swap.to, value: swap.value, data: swap.data.clone().into(), gas: None },
    ];

    // The swap alone fails (no allowance yet); after the approval, in the same batch, it succeeds.
    let alone = simulate_batch(&connection, sessions.contracts(), 31337, trader, &steps[1..], None).await.unwrap();
    assert!(!alone.success);
    assert!(alone.warnings.iter().any(|w| w.id == "simulation-failed"), "{:?}", alone.warnings);
    let report = simulate_batch(&connection, sessions.contracts(), 31337, trader, &steps, None).await.unwrap();
    assert!(report.success, "{}", report.summary());
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.approvals.len(), 1);
    assert!(!report.has_danger(), "{:?}", report.warnings);

    // Executed one after the other, the balances move exactly as simulated.
    let eth_before = provider.get_balance(trader).await.unwrap();
    let usdc_before = token_balance(&devnet, c.usdc, trader).await;
    let mut fees = U256::ZERO;
    for step in &steps {
        let tx =
            TransactionRequest::default().from(trader).to(step.to).value(step.value).input(step.data.clone().into());
        let receipt = devnet.send_as_wallet(tx).await.unwrap();
        assert!(receipt.status());
        fees += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    }
    let eth_delta = provider.get_balance(trader).await.unwrap() + fees - eth_before;
    let usdc_delta = usdc_before - token_balance(&devnet, c.usdc, trader).await;
    let change = |token: Option<Address>| {
        report.asset_changes.iter().find(|ch| ch.address == trader && ch.token == token).unwrap().delta.clone()
    };
    assert_eq!(change(None), eth_delta.to_string());
    assert_eq!(change(Some(c.usdc)), format!("-{usdc_delta}"));
    assert_eq!(eth_delta, quote.amount_out);
}

/// Why a wallet adds a margin to the node's gas estimate: a swap estimated in the second of the
/// pool's last oracle write and mined in the next second writes the oracle again, which the
/// estimate did not count. Sent with the exact estimate it runs out of gas; with the wallet's
/// limit ([`aomi_chain::wallet_send::wallet_gas_limit`]) it succeeds. This was a rare failure of
/// the swap tests, whenever a second ended between the estimate and the mining.
#[tokio::test]
async fn a_swap_mined_a_second_after_its_estimate_needs_the_wallets_margin() {
    let devnet = Devnet::start().await.unwrap();
    let dex = devnet.dex().unwrap().contracts;
    let c = *devnet.contracts();
    let provider = devnet.provider();
    let trader = devnet.accounts()[1];
    let one_eth = U256::from(10u64.pow(18));
    let swap = || async {
        let quote = quote_v3(&provider, &dex, c.weth, c.usdc, one_eth, true).await.unwrap();
        let call = swap_call(&dex, &quote, trader, 5_000, u64::MAX, true, false);
        TransactionRequest::default().from(trader).to(call.to).value(call.value).input(call.data.into())
    };
    let set_next_timestamp = |at: u64| {
        let provider = provider.clone();
        async move { provider.raw_request::<_, ()>("evm_setNextBlockTimestamp".into(), (at,)).await.unwrap() }
    };
    // A first swap writes the pool's oracle at `now`; the next block is pinned to the same second.
    let now = provider.get_block_by_number(Default::default()).await.unwrap().unwrap().header.timestamp + 100;
    set_next_timestamp(now).await;
    assert!(devnet.send_as_wallet(swap().await).await.unwrap().status());
    set_next_timestamp(now).await;

    let tx = swap().await;
    let exact = provider.estimate_gas(tx.clone()).await.unwrap();
    let wallet = aomi_chain::wallet_send::wallet_gas_limit(&provider, &tx).await.unwrap();
    assert!(wallet > exact);
    let snapshot: U256 = provider.raw_request("evm_snapshot".into(), ()).await.unwrap();
    // Mined a second later, with the exact estimate: out of gas.
    set_next_timestamp(now + 1).await;
    let receipt = devnet.send_as_wallet(tx.clone().gas_limit(exact)).await.unwrap();
    assert!(!receipt.status(), "the exact estimate was enough: {receipt:?}");
    // The same, with the wallet's margin: it succeeds.
    let reverted: bool = provider.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);
    set_next_timestamp(now + 1).await;
    let receipt = devnet.send_as_wallet(tx.gas_limit(wallet)).await.unwrap();
    assert!(receipt.status(), "{receipt:?}");
}
