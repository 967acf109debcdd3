//! Every risk rule, once where it fires and once where it does not. The rules are pure functions of
//! the request, the report and the facts, so each case changes one input of a harmless baseline.

use std::collections::HashMap;

use aomi_chain::alloy::primitives::{Address, Bytes, U256, address};
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::risk::{Facts, Level, RULES, RiskInput, TokenInfo, assess};
use aomi_chain::simulation::calldata::{TokenCall, minimum_outputs};
use aomi_chain::simulation::{Approval, AssetChange, Revert, SimulationReport, SimulationRequest, Standard};

const ALICE: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const BOB: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
const TOKEN: Address = address!("5FbDB2315678afecb367f032d93F642f64180aa3");
const ROUTER: Address = address!("7a250d5630B4cF539739dF2C5dAcb4c659F2488D");

aomi_chain::alloy::sol! {
    function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
    struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
    function exactInputSingle(ExactInputSingleParams params);
    function multicall(uint256 deadline, bytes[] data);
    function execute(bytes commands, bytes[] inputs, uint256 deadline);
    function transfer(address to, uint256 amount);
}

fn request() -> SimulationRequest {
    SimulationRequest {
        chain_id: 1,
        from: ALICE,
        to: BOB,
        value: U256::from(10u8),
        data: Bytes::new(),
        gas: None,
        wallet_chain_id: Some(1),
    }
}

fn report() -> SimulationReport {
    SimulationReport {
        chain_id: 1,
        block_number: Some(100),
        method: "eth_simulateV1".into(),
        success: true,
        revert: None,
        gas_used: Some(21_000),
        gas_price: "1".into(),
        estimated_fee: None,
        asset_changes: Vec::new(),
        approvals: Vec::new(),
        logs: Vec::new(),
        warnings: Vec::new(),
    }
}

fn facts() -> Facts {
    Facts {
        native_symbol: "ETH".into(),
        native_decimals: 18,
        fee: Some(U256::from(21_000u32)),
        to_is_contract: Some(false),
        sender_balance: Some(U256::from(10u64).pow(U256::from(18u8))),
        history_blocks: 10_000,
        ..Facts::default()
    }
}

/// The ids of the warnings for one input.
fn fired(request: &SimulationRequest, report: &SimulationReport, facts: &Facts) -> Vec<String> {
    assess(&RiskInput { request, report, facts }).into_iter().map(|w| w.id).collect()
}

fn message(request: &SimulationRequest, report: &SimulationReport, facts: &Facts, id: &str) -> String {
    assess(&RiskInput { request, report, facts }).into_iter().find(|w| w.id == id).unwrap().message
}

#[test]
fn the_baseline_is_clean_and_every_rule_has_an_id_and_a_level() {
    assert!(fired(&request(), &report(), &facts()).is_empty());
    let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 12);
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique, ids, "ids are unique");
    assert!(RULES.iter().filter(|r| r.level == Level::Danger).count() >= 7);
}

#[test]
fn simulation_failed() {
    let mut failed = report();
    failed.success = false;
    failed.revert =
        Some(Revert { reason: "Reverter: no".into(), kind: "error".into(), name: None, args: None, data: None });
    assert!(fired(&request(), &failed, &facts()).contains(&"simulation-failed".into()));
    assert!(message(&request(), &failed, &facts(), "simulation-failed").contains("Reverter: no"));
    assert!(!fired(&request(), &report(), &facts()).contains(&"simulation-failed".into()));
}

#[test]
fn insufficient_balance_of_a_token() {
    let mut req = request();
    req.to = TOKEN;
    req.value = U256::ZERO;
    req.data = transferCall { to: BOB, amount: U256::from(2_000_000_000u64) }.abi_encode().into();
    let mut f = facts();
    f.token_call = TokenCall::decode(&req.data);
    f.token = Some(TokenInfo { symbol: Some("USDC".into()), decimals: Some(6) });
    f.sender_token_balance = Some(U256::from(1_000_000_000u64));
    assert_eq!(
        message(&req, &report(), &f, "insufficient-balance"),
        "This sends 2000 USDC but 0xf39F…2266 holds only 1000 USDC."
    );
    f.sender_token_balance = Some(U256::from(2_000_000_000u64));
    assert!(!fired(&req, &report(), &f).contains(&"insufficient-balance".into()));
}

#[test]
fn insufficient_balance_of_the_coin() {
    let mut f = facts();
    let mut req = request();
    req.value = U256::from(10u64).pow(U256::from(18u8));
    assert_eq!(
        message(&req, &report(), &f, "insufficient-balance"),
        "This sends 1 ETH plus about 0.000000000000021 ETH of fee, but 0xf39F…2266 holds only 1 ETH."
    );
    f.sender_balance = Some(U256::from(2u64) * U256::from(10u64).pow(U256::from(18u8)));
    assert!(!fired(&req, &report(), &f).contains(&"insufficient-balance".into()));
}

#[test]
fn value_to_non_payable() {
    let mut req = request();
    req.data = Bytes::from(vec![0x12, 0x34, 0x56, 0x78]);
    let mut failed = report();
    failed.success = false;
    let mut f = facts();
    f.to_is_contract = Some(true);
    f.succeeds_without_value = Some(true);
    assert!(fired(&req, &failed, &f).contains(&"value-to-non-payable".into()));
    f.succeeds_without_value = Some(false);
    assert!(!fired(&req, &failed, &f).contains(&"value-to-non-payable".into()), "the call fails for another reason");
    // Plain coin to a contract that reverts: sending the coin is all it does.
    req.data = Bytes::new();
    assert!(fired(&req, &failed, &f).contains(&"value-to-non-payable".into()));
    f.to_is_contract = Some(false);
    assert!(!fired(&req, &failed, &f).contains(&"value-to-non-payable".into()));
}

#[test]
fn recipient_is_token_contract() {
    let mut f = facts();
    f.recipient = Some(BOB);
    f.recipient_is_token = Some(true);
    assert!(fired(&request(), &report(), &f).contains(&"recipient-is-token-contract".into()));
    // A token sent to its own contract.
    let mut req = request();
    req.to = TOKEN;
    req.data = transferCall { to: TOKEN, amount: U256::from(1u8) }.abi_encode().into();
    let mut g = facts();
    g.token_call = TokenCall::decode(&req.data);
    g.recipient = Some(TOKEN);
    assert!(fired(&req, &report(), &g).contains(&"recipient-is-token-contract".into()));
    // Coin to WETH comes back as WETH.
    let mut wrapped = report();
    wrapped.asset_changes.push(AssetChange {
        address: ALICE,
        token: Some(BOB),
        standard: Standard::Erc20,
        token_id: None,
        symbol: Some("WETH".into()),
        decimals: Some(18),
        delta: "10".into(),
        formatted: "+0.00000000000000001 WETH".into(),
        usd: None,
    });
    assert!(!fired(&request(), &wrapped, &f).contains(&"recipient-is-token-contract".into()));
    f.recipient_is_token = Some(false);
    assert!(!fired(&request(), &report(), &f).contains(&"recipient-is-token-contract".into()));
}

fn approval(spender: Address, unlimited: bool) -> Approval {
    Approval {
        owner: ALICE,
        token: TOKEN,
        standard: Standard::Erc20,
        spender,
        amount: Some(if unlimited { U256::MAX.to_string() } else { "100".into() }),
        token_id: None,
        unlimited,
        granted: true,
        operator: false,
        symbol: Some("USDC".into()),
        decimals: Some(6),
        formatted: if unlimited { "unlimited USDC".into() } else { "0.0001 USDC".into() },
    }
}

#[test]
fn approval_spender_not_contract() {
    let mut with_approval = report();
    with_approval.approvals.push(approval(BOB, false));
    let mut f = facts();
    f.has_code = HashMap::from([(BOB, false)]);
    assert!(fired(&request(), &with_approval, &f).contains(&"approval-spender-not-contract".into()));
    f.has_code = HashMap::from([(BOB, true)]);
    assert!(!fired(&request(), &with_approval, &f).contains(&"approval-spender-not-contract".into()));
}

#[test]
fn unlimited_approval() {
    let mut unlimited = report();
    unlimited.approvals.push(approval(ROUTER, true));
    assert_eq!(
        message(&request(), &unlimited, &facts(), "unlimited-approval"),
        "This lets 0x7a25…488D move every USDC you hold, now and later (an unlimited approval). Approve only the amount you need."
    );
    let mut limited = report();
    limited.approvals.push(approval(ROUTER, false));
    assert!(!fired(&request(), &limited, &facts()).contains(&"unlimited-approval".into()));
}

#[test]
fn no_slippage_protection_in_router_calls() {
    let path = vec![TOKEN, BOB];
    let v2 = |min: u64| {
        swapExactTokensForTokensCall {
            amountIn: U256::from(1000u32),
            amountOutMin: U256::from(min),
            path: path.clone(),
            to: ALICE,
            deadline: U256::from(1u8),
        }
        .abi_encode()
    };
    let v3 = |min: u64| {
        exactInputSingleCall {
            params: ExactInputSingleParams {
                tokenIn: TOKEN,
                tokenOut: BOB,
                fee: aomi_chain::alloy::primitives::aliases::U24::from(3000u32),
                recipient: ALICE,
                deadline: U256::from(1u8),
                amountIn: U256::from(1000u32),
                amountOutMinimum: U256::from(min),
                sqrtPriceLimitX96: aomi_chain::alloy::primitives::aliases::U160::ZERO,
            },
        }
        .abi_encode()
    };
    let wrapped = |inner: Vec<u8>| multicallCall { deadline: U256::from(1u8), data: vec![inner.into()] }.abi_encode();
    let universal = |min: u64| {
        use aomi_chain::alloy::sol_types::SolValue;
        let input = (ALICE, U256::from(1000u32), U256::from(min), vec![TOKEN, BOB], true).abi_encode_params();
        executeCall { commands: vec![0x08].into(), inputs: vec![input.into()], deadline: U256::from(1u8) }.abi_encode()
    };
    for (name, zero, some) in [
        ("Uniswap V2", v2(0), v2(990)),
        ("Uniswap V3 struct", v3(0), v3(990)),
        ("multicall", wrapped(v3(0)), wrapped(v3(990))),
        ("Universal Router", universal(0), universal(990)),
    ] {
        let mut req = request();
        req.to = ROUTER;
        let mut f = facts();
        f.minimum_outputs = minimum_outputs(&zero, None);
        assert!(fired(&req, &report(), &f).contains(&"no-slippage-protection".into()), "{name}: fires at 0");
        f.minimum_outputs = minimum_outputs(&some, None);
        assert_eq!(f.minimum_outputs.len(), 1, "{name}: the minimum is found");
        assert!(!fired(&req, &report(), &f).contains(&"no-slippage-protection".into()), "{name}: not at 990");
    }
}

#[test]
fn chain_mismatch() {
    let mut req = request();
    req.wallet_chain_id = Some(8453);
    assert_eq!(
        message(&req, &report(), &facts(), "chain-mismatch"),
        "This transaction is for chain id 1 but the wallet is on chain id 8453: switch the wallet's network first."
    );
    req.wallet_chain_id = None;
    assert!(!fired(&req, &report(), &facts()).contains(&"chain-mismatch".into()));
}

#[test]
fn first_time_recipient() {
    let mut f = facts();
    f.recipient = Some(BOB);
    f.has_code = HashMap::from([(BOB, false)]);
    f.sent_before = Some(false);
    assert!(fired(&request(), &report(), &f).contains(&"first-time-recipient".into()));
    f.sent_before = Some(true);
    assert!(!fired(&request(), &report(), &f).contains(&"first-time-recipient".into()));
    f.sent_before = Some(false);
    f.has_code = HashMap::from([(BOB, true)]);
    assert!(!fired(&request(), &report(), &f).contains(&"first-time-recipient".into()), "contracts are apps");
}

#[test]
fn token_balance_mismatch_and_limited_simulation() {
    let mut f = facts();
    f.balance_mismatches = vec![("FOT".into(), ALICE)];
    f.limited = true;
    let ids = fired(&request(), &report(), &f);
    assert!(ids.contains(&"token-balance-mismatch".into()) && ids.contains(&"simulation-limited".into()));
    assert!(fired(&request(), &report(), &facts()).is_empty());
}

#[test]
fn warnings_come_most_serious_first() {
    let mut req = request();
    req.wallet_chain_id = Some(5);
    let mut unlimited = report();
    unlimited.approvals.push(approval(ROUTER, true));
    let levels: Vec<Level> = assess(&RiskInput { request: &req, report: &unlimited, facts: &facts() })
        .into_iter()
        .map(|w| w.level)
        .collect();
    assert_eq!(levels, [Level::Danger, Level::Warning]);
}

#[test]
fn address_poisoning_compares_the_recipient_with_labels_and_past_recipients() {
    let cold = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
    // The same first and last four hex digits, another address: what a poisoner generates.
    let fake = address!("70997970000000000000000000000000000079c8");
    let mut f = facts();
    f.recipient = Some(fake);
    f.has_code = HashMap::from([(fake, false)]);
    assert!(!fired(&request(), &report(), &f).contains(&"address-poisoning".into()), "nothing known to look like");

    f.labels = HashMap::from([(cold, "my cold wallet".to_owned())]);
    let text = message(&request(), &report(), &f, "address-poisoning");
    assert!(text.contains("my cold wallet") && text.contains(&cold.to_checksum(None)), "{text}");
    assert_eq!(assess(&RiskInput { request: &request(), report: &report(), facts: &f })[0].level, Level::Danger);

    f.labels.clear();
    f.past_recipients = vec![cold];
    let text = message(&request(), &report(), &f, "address-poisoning");
    assert!(text.contains("sent to before") && text.contains(&fake.to_checksum(None)), "{text}");

    // The real address itself is no look-alike; a labelled recipient is no first-time risk.
    f.recipient = Some(cold);
    f.has_code = HashMap::from([(cold, false)]);
    f.sent_before = Some(false);
    f.labels = HashMap::from([(cold, "my cold wallet".to_owned())]);
    let ids = fired(&request(), &report(), &f);
    assert!(!ids.contains(&"address-poisoning".into()) && !ids.contains(&"first-time-recipient".into()), "{ids:?}");
    // An address that differs at the ends is no look-alike either.
    f.recipient = Some(address!("71997970000000000000000000000000000079c8"));
    f.labels = HashMap::from([(cold, "my cold wallet".to_owned())]);
    assert!(!fired(&request(), &report(), &f).contains(&"address-poisoning".into()));
}
