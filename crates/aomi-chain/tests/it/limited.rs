//! A node without `eth_simulateV1`: the report comes from `eth_call`, `eth_estimateGas` and the
//! calldata, says so, and still decodes reverts.

use std::time::Duration;

use aomi_chain::alloy::primitives::U256;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::simulation::{METHOD_CALL, simulate};
use aomi_chain::{ChainSessions, NetworkRegistry};

use crate::rpc_proxy::RpcProxy;
use crate::simulation::Env;

#[tokio::test]
async fn without_eth_simulate_v1_the_report_is_limited_and_says_so() {
    let env = Env::start().await;
    let proxy = RpcProxy::start(env.devnet.url(), Duration::ZERO, &["eth_simulateV1"]).await;
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", &proxy.url).unwrap();
    let sessions = ChainSessions::new(registry, "devnet").unwrap();
    env.devnet.register_contracts(sessions.contracts()).unwrap();
    let connection = sessions.connection("limited", None).unwrap();
    let c = *env.devnet.contracts();
    let (alice, bob) = (env.account(0), env.account(8));

    let data = IERC20::transferCall { to: bob, amount: U256::from(1_500_000u64) }.abi_encode();
    let report =
        simulate(&connection, sessions.contracts(), &env.request(alice, c.usdc, U256::ZERO, data)).await.unwrap();
    assert_eq!(report.method, METHOD_CALL);
    assert!(report.success);
    assert!(report.gas_used.unwrap() > 21_000, "the gas comes from eth_estimateGas");
    let changes: Vec<&str> = report.asset_changes.iter().map(|c| c.formatted.as_str()).collect();
    assert_eq!(changes, ["-1.5 USDC", "+1.5 USDC"], "read from the calldata, with the token's decimals");
    assert!(report.warnings.iter().any(|w| w.id == "simulation-limited"));

    let too_much = IERC20::transferCall { to: bob, amount: U256::MAX }.abi_encode();
    let report =
        simulate(&connection, sessions.contracts(), &env.request(alice, c.usdc, U256::ZERO, too_much)).await.unwrap();
    assert!(!report.success);
    assert_eq!(report.revert.as_ref().unwrap().name.as_deref(), Some("ERC20InsufficientBalance"));
    assert!(report.asset_changes.is_empty());
    let ids: Vec<&str> = report.warnings.iter().map(|w| w.id.as_str()).collect();
    assert!(ids.contains(&"insufficient-balance") && ids.contains(&"simulation-limited"), "{ids:?}");
}
