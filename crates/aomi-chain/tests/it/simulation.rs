//! Simulate → execute the same transaction on anvil → compare: the simulated asset changes must be
//! the executed balance changes (the sender's coin change less the fee it paid).
//!
//! `cargo test -p aomi-chain --test it simulation -- --nocapture` prints the table of
//! docs/simulation.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::{Address, Bytes, I256, U256, keccak256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use aomi_chain::alloy::sol_types::{SolCall, SolValue};
use aomi_chain::contracts::{Artifact, IERC20};
use aomi_chain::session::KnownContract;
use aomi_chain::simulation::{SimulationReport, SimulationRequest, Standard, simulate};
use aomi_chain::{ChainSessions, Connection, Devnet, NetworkRegistry};
use serde_json::json;

aomi_chain::alloy::sol! {
    function deposit() external payable;
    function withdraw(uint256 amount) external;
    function checked(uint256 value) external pure returns (uint256);
    function alwaysFails() external pure;
    function mint(address to, uint256 tokenId) external;
    function mint(address to, uint256 id, uint256 value) external;
    function transferFrom(address from, address to, uint256 tokenId) external;
    function ownerOf(uint256 tokenId) external view returns (address);
    function balanceOf(uint256 id, address owner) external view returns (uint256);
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes data) external;
    function setApprovalForAll(address operator, bool approved) external;
    struct Leg { address token; uint256 amount; }
    struct Order { address maker; Leg give; Leg[] want; bytes32 salt; uint64 deadline; }
    function submit(Order order) external returns (uint256 id);
}

/// A devnet with the collectible contracts of the simulation tests deployed too.
pub struct Env {
    pub devnet: Devnet,
    pub sessions: ChainSessions,
    pub collectible: Address,
    pub multi: Address,
}

fn artifact(json: &str) -> Artifact {
    serde_json::from_str(json).unwrap()
}

impl Env {
    pub async fn start() -> Env {
        let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", devnet.url()).unwrap();
        let sessions = ChainSessions::new(registry, "devnet").unwrap();
        devnet.register_contracts(sessions.contracts()).unwrap();
        let mut deployed = Vec::new();
        for json in [
            include_str!("../../../../contracts/artifacts/TestCollectible.json"),
            include_str!("../../../../contracts/artifacts/TestMultiToken.json"),
        ] {
            let artifact = artifact(json);
            let deploy =
                TransactionRequest::default().from(devnet.accounts()[0]).with_deploy_code(artifact.bytecode.clone());
            let receipt = devnet.provider().send_transaction(deploy).await.unwrap().get_receipt().await.unwrap();
            let address = receipt.contract_address.unwrap();
            sessions.contracts().insert(
                devnet.chain_id(),
                address,
                KnownContract { name: artifact.contract_name, abi: Arc::new(artifact.abi) },
            );
            deployed.push(address);
        }
        Env { collectible: deployed[0], multi: deployed[1], devnet, sessions }
    }

    pub fn connection(&self) -> Arc<Connection> {
        self.sessions.connection("simulation", None).unwrap()
    }

    pub fn account(&self, index: usize) -> Address {
        self.devnet.accounts()[index]
    }

    pub fn request(&self, from: Address, to: Address, value: U256, data: Vec<u8>) -> SimulationRequest {
        SimulationRequest {
            chain_id: self.devnet.chain_id(),
            from,
            to,
            value,
            data: Bytes::from(data),
            gas: None,
            wallet_chain_id: Some(self.devnet.chain_id()),
        }
    }

    pub async fn simulate(&self, request: &SimulationRequest) -> SimulationReport {
        simulate(&self.connection(), self.sessions.contracts(), request).await.unwrap()
    }

    /// Sends the request from the unlocked account (anvil signs), with an explicit gas limit so
    /// that failing transactions are mined too.
    pub async fn execute(&self, request: &SimulationRequest) -> TransactionReceipt {
        let gas = request.gas.unwrap_or(1_000_000);
        let tx = request.transaction().with_gas_limit(gas);
        self.devnet.provider().send_transaction(tx).await.unwrap().get_receipt().await.unwrap()
    }

    pub async fn send(&self, from: Address, to: Address, value: U256, data: Vec<u8>) {
        let receipt = self.execute(&self.request(from, to, value, data)).await;
        assert!(receipt.status(), "set-up transaction failed");
    }

    async fn call(&self, to: Address, data: Vec<u8>) -> Bytes {
        self.devnet.provider().call(TransactionRequest::default().to(to).input(Bytes::from(data).into())).await.unwrap()
    }

    /// A holder's balance of an asset: coin, ERC20, ERC1155 id, or 1/0 for owning an ERC721 id.
    pub async fn balance(&self, asset: &Asset, holder: Address) -> U256 {
        match asset {
            Asset::Native => self.devnet.provider().get_balance(holder).await.unwrap(),
            Asset::Erc20(token) => {
                U256::abi_decode(&self.call(*token, IERC20::balanceOfCall { owner: holder }.abi_encode()).await)
                    .unwrap()
            }
            Asset::Erc721(token, id) => {
                let owner =
                    Address::abi_decode(&self.call(*token, ownerOfCall { tokenId: *id }.abi_encode()).await).unwrap();
                U256::from(owner == holder)
            }
            Asset::Erc1155(token, id) => {
                U256::abi_decode(&self.call(*token, balanceOfCall { id: *id, owner: holder }.abi_encode()).await)
                    .unwrap()
            }
        }
    }
}

/// An asset whose balance the comparison reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Asset {
    Native,
    Erc20(Address),
    Erc721(Address, U256),
    Erc1155(Address, U256),
}

/// The simulated changes, by (asset, holder).
fn simulated(report: &SimulationReport) -> BTreeMap<(Asset, Address), I256> {
    report
        .asset_changes
        .iter()
        .map(|c| {
            let id = || c.token_id.as_deref().unwrap().parse::<U256>().unwrap();
            let asset = match c.standard {
                Standard::Native => Asset::Native,
                Standard::Erc20 => Asset::Erc20(c.token.unwrap()),
                Standard::Erc721 => Asset::Erc721(c.token.unwrap(), id()),
                Standard::Erc1155 => Asset::Erc1155(c.token.unwrap(), id()),
            };
            ((asset, c.address), c.delta())
        })
        .collect()
}

fn diff(after: U256, before: U256) -> I256 {
    I256::try_from(after).unwrap() - I256::try_from(before).unwrap()
}

/// One simulated and executed transaction.
pub struct Case {
    pub report: SimulationReport,
    pub receipt: TransactionReceipt,
}

/// Simulates, executes, and asserts that every simulated change (and every change in `watch`,
/// which the simulation must not miss) equals the executed one.
pub async fn simulate_execute_compare(
    env: &Env,
    name: &'static str,
    request: SimulationRequest,
    watch: &[(Asset, Address)],
) -> Case {
    let report = env.simulate(&request).await;
    let expected = simulated(&report);
    let mut keys: Vec<(Asset, Address)> = expected.keys().cloned().collect();
    keys.extend(watch.iter().cloned());
    keys.push((Asset::Native, request.from));
    keys.sort();
    keys.dedup();
    let mut before = Vec::new();
    for (asset, holder) in &keys {
        before.push(env.balance(asset, *holder).await);
    }
    let receipt = env.execute(&request).await;
    assert_eq!(receipt.status(), report.success, "{name}: simulated and executed outcomes agree");
    assert_eq!(Some(receipt.gas_used), report.gas_used, "{name}: gas used");
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    for ((asset, holder), before) in keys.iter().zip(before) {
        let mut executed = diff(env.balance(asset, *holder).await, before);
        if *asset == Asset::Native && *holder == request.from {
            executed += I256::try_from(fee).unwrap();
        }
        let simulated = expected.get(&(asset.clone(), *holder)).copied().unwrap_or_default();
        assert_eq!(simulated, executed, "{name}: {asset:?} of {holder}");
    }
    // Reached only when every simulated change equals the executed one.
    println!(
        "| {name} | {} | {} | {} | {} | equal; gas {} = {} |",
        if report.success { "success" } else { "reverts" },
        if report.asset_changes.is_empty() {
            "none".to_owned()
        } else {
            report
                .asset_changes
                .iter()
                .map(|c| format!("{} {}", short(c.address), c.formatted))
                .collect::<Vec<_>>()
                .join(", ")
        },
        report.revert.as_ref().map(|r| format!("{} ({})", r.reason, r.kind)).unwrap_or_default(),
        report.warnings.iter().map(|w| w.id.clone()).collect::<Vec<_>>().join(", "),
        report.gas_used.unwrap_or_default(),
        receipt.gas_used,
    );
    Case { report, receipt }
}

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u8))
}

#[tokio::test]
async fn simulated_changes_equal_executed_changes() {
    let env = Env::start().await;
    let c = *env.devnet.contracts();
    let (alice, bob) = (env.account(0), env.account(8));
    let transfer = |to: Address, amount: u64| IERC20::transferCall { to, amount: U256::from(amount) }.abi_encode();
    println!("| case | outcome | simulated asset changes | revert | warnings | executed on anvil |");
    println!("|---|---|---|---|---|---|");

    // A coin transfer.
    let case = simulate_execute_compare(
        &env,
        "ETH transfer 1.5 ETH",
        env.request(alice, bob, ether(3) / U256::from(2u8), vec![]),
        &[(Asset::Native, bob)],
    )
    .await;
    let changes: Vec<_> =
        case.report.asset_changes.iter().map(|c| (c.address, c.delta.as_str(), c.formatted.as_str())).collect();
    assert_eq!(changes, [(alice, "-1500000000000000000", "-1.5 ETH"), (bob, "1500000000000000000", "+1.5 ETH")]);
    assert_eq!(case.report.method, "eth_simulateV1");
    let fee = case.report.estimated_fee.as_ref().unwrap();
    assert_eq!(fee.symbol, "ETH");
    assert_eq!(
        fee.amount.parse::<U256>().unwrap(),
        U256::from(21_000u64) * case.report.gas_price.parse::<U256>().unwrap()
    );

    // ERC20 with 6 and 18 decimals.
    let case = simulate_execute_compare(
        &env,
        "ERC20 transfer 1.5 USDC (6 decimals)",
        env.request(alice, c.usdc, U256::ZERO, transfer(bob, 1_500_000)),
        &[(Asset::Erc20(c.usdc), bob), (Asset::Erc20(c.usdc), alice)],
    )
    .await;
    let usdc: Vec<_> =
        case.report.asset_changes.iter().map(|ch| (ch.address, ch.formatted.as_str(), ch.decimals)).collect();
    assert_eq!(usdc, [(alice, "-1.5 USDC", Some(6)), (bob, "+1.5 USDC", Some(6))]);
    let dai_amount = 2_250_000_000_000_000_000u64;
    let case = simulate_execute_compare(
        &env,
        "ERC20 transfer 2.25 DAI (18 decimals)",
        env.request(alice, c.dai, U256::ZERO, transfer(bob, dai_amount)),
        &[(Asset::Erc20(c.dai), bob)],
    )
    .await;
    assert_eq!(case.report.asset_changes[1].formatted, "+2.25 DAI");
    assert_eq!(case.report.asset_changes[1].delta, "2250000000000000000");
    let transfer_log = &case.report.logs[0];
    assert_eq!(transfer_log.event.as_deref(), Some("Transfer"));
    assert_eq!(transfer_log.args.as_ref().unwrap()["value"], json!("2250000000000000000"));

    // WETH wrap and unwrap.
    let case = simulate_execute_compare(
        &env,
        "WETH wrap 2 ETH",
        env.request(alice, c.weth, ether(2), depositCall {}.abi_encode()),
        &[(Asset::Erc20(c.weth), alice), (Asset::Native, c.weth)],
    )
    .await;
    let wrap: Vec<_> = case.report.asset_changes.iter().map(|ch| (ch.address, ch.formatted.as_str())).collect();
    assert!(
        wrap.contains(&(alice, "-2 ETH")) && wrap.contains(&(alice, "+2 WETH")) && wrap.contains(&(c.weth, "+2 ETH"))
    );
    let case = simulate_execute_compare(
        &env,
        "WETH unwrap 1 WETH",
        env.request(alice, c.weth, U256::ZERO, withdrawCall { amount: ether(1) }.abi_encode()),
        &[(Asset::Erc20(c.weth), alice), (Asset::Native, c.weth)],
    )
    .await;
    let unwrap: Vec<_> = case.report.asset_changes.iter().map(|ch| (ch.address, ch.formatted.as_str())).collect();
    assert!(unwrap.contains(&(alice, "+1 ETH")) && unwrap.contains(&(alice, "-1 WETH")));

    // Approvals, limited and unlimited.
    let approve = |spender: Address, amount: U256| IERC20::approveCall { spender, amount }.abi_encode();
    let case = simulate_execute_compare(
        &env,
        "approve 100 USDC",
        env.request(alice, c.usdc, U256::ZERO, approve(c.order_book, U256::from(100_000_000u64))),
        &[],
    )
    .await;
    let approval = &case.report.approvals[0];
    assert_eq!(
        (approval.spender, approval.amount.as_deref(), approval.unlimited),
        (c.order_book, Some("100000000"), false)
    );
    assert_eq!(approval.formatted, "100 USDC");
    assert!(case.report.asset_changes.is_empty());
    let allowance = IERC20::allowanceCall { owner: alice, spender: c.order_book }.abi_encode();
    assert_eq!(U256::abi_decode(&env.call(c.usdc, allowance).await).unwrap(), U256::from(100_000_000u64));
    assert!(!case.report.warnings.iter().any(|w| w.id == "unlimited-approval"));
    let case = simulate_execute_compare(
        &env,
        "approve unlimited DAI",
        env.request(alice, c.dai, U256::ZERO, approve(c.order_book, U256::MAX)),
        &[],
    )
    .await;
    assert!(case.report.approvals[0].unlimited);
    assert_eq!(case.report.approvals[0].formatted, "unlimited DAI");
    assert!(!case.report.approvals[0].operator, "an allowance is not an operator approval");
    assert!(case.report.warnings.iter().any(|w| w.id == "unlimited-approval"));

    // A call that takes a struct.
    let order = Order {
        maker: alice,
        give: Leg { token: c.usdc, amount: U256::from(5u8) },
        want: vec![Leg { token: c.dai, amount: U256::from(7u8) }, Leg { token: c.weth, amount: U256::from(8u8) }],
        salt: keccak256("salt"),
        deadline: 4_000_000_000,
    };
    let case = simulate_execute_compare(
        &env,
        "struct-argument call OrderBook.submit",
        env.request(alice, c.order_book, U256::ZERO, submitCall { order }.abi_encode()),
        &[],
    )
    .await;
    let log = &case.report.logs[0];
    assert_eq!(log.event.as_deref(), Some("OrderSubmitted"));
    assert_eq!(log.args.as_ref().unwrap()["wantedTotal"], json!("15"));
    assert_eq!(log.args.as_ref().unwrap()["maker"], json!(alice.to_checksum(None)));
    assert_eq!(case.receipt.inner.logs()[0].topics()[0].to_string(), log.topics[0]);

    // Reverts: a custom error, a string, and running out of gas.
    let case = simulate_execute_compare(
        &env,
        "custom-error revert Reverter.checked(11)",
        env.request(alice, c.reverter, U256::ZERO, checkedCall { value: U256::from(11u8) }.abi_encode()),
        &[],
    )
    .await;
    let revert = case.report.revert.as_ref().unwrap();
    assert_eq!((revert.kind.as_str(), revert.name.as_deref()), ("custom", Some("TooLarge")));
    assert_eq!(revert.args, Some(json!({ "value": "11", "max": "10" })));
    assert_eq!(revert.reason, "TooLarge(value: 11, max: 10)");
    assert!(case.report.warnings.iter().any(|w| w.id == "simulation-failed"));
    let case = simulate_execute_compare(
        &env,
        "string revert Reverter.alwaysFails()",
        env.request(alice, c.reverter, U256::ZERO, alwaysFailsCall {}.abi_encode()),
        &[],
    )
    .await;
    let revert = case.report.revert.as_ref().unwrap();
    assert_eq!((revert.kind.as_str(), revert.reason.as_str()), ("error", "Reverter: this always fails"));
    let mut starved = env.request(alice, c.weth, ether(1), depositCall {}.abi_encode());
    starved.gas = Some(23_000);
    let case = simulate_execute_compare(
        &env,
        "out of gas: WETH deposit with gas limit 23000",
        starved,
        &[(Asset::Erc20(c.weth), alice)],
    )
    .await;
    assert_eq!(case.report.revert.as_ref().unwrap().kind, "out-of-gas");
    assert!(case.report.asset_changes.is_empty(), "a failed transaction moves nothing");

    // An ERC20 transfer of more than the balance: the token's own custom error, and the rule.
    let poor = env.account(9);
    let case = simulate_execute_compare(
        &env,
        "ERC20 transfer of more than the balance",
        env.request(poor, c.usdc, U256::ZERO, transfer(bob, 2_000_000_000)),
        &[],
    )
    .await;
    assert_eq!(case.report.revert.as_ref().unwrap().name.as_deref(), Some("ERC20InsufficientBalance"));
    let warning = case.report.warnings.iter().find(|w| w.id == "insufficient-balance").unwrap();
    assert_eq!(warning.message, format!("This sends 2000 USDC but {} holds only 0 USDC.", short(poor)));

    // Collectibles: ERC721 and ERC1155.
    let id = U256::from(7u8);
    env.send(alice, env.collectible, U256::ZERO, mint_0Call { to: alice, tokenId: id }.abi_encode()).await;
    let case = simulate_execute_compare(
        &env,
        "ERC721 transferFrom #7",
        env.request(
            alice,
            env.collectible,
            U256::ZERO,
            transferFromCall { from: alice, to: bob, tokenId: id }.abi_encode(),
        ),
        &[(Asset::Erc721(env.collectible, id), alice), (Asset::Erc721(env.collectible, id), bob)],
    )
    .await;
    let nft: Vec<_> = case.report.asset_changes.iter().map(|ch| (ch.address, ch.formatted.as_str())).collect();
    assert_eq!(nft, [(alice, "-1 TCOL #7"), (bob, "+1 TCOL #7")]);
    // An operator over the whole collection: a field says so, not only the prose ("every TCOL").
    let all = setApprovalForAllCall { operator: bob, approved: true }.abi_encode();
    let report = env.simulate(&env.request(alice, env.collectible, U256::ZERO, all)).await;
    let approval = &report.approvals[0];
    assert!(approval.operator && approval.unlimited && approval.granted, "{approval:?}");
    env.send(
        alice,
        env.multi,
        U256::ZERO,
        mint_1Call { to: alice, id: U256::from(3u8), value: U256::from(50u8) }.abi_encode(),
    )
    .await;
    let case = simulate_execute_compare(
        &env,
        "ERC1155 safeTransferFrom 20 of id 3",
        env.request(
            alice,
            env.multi,
            U256::ZERO,
            safeTransferFromCall {
                from: alice,
                to: bob,
                id: U256::from(3u8),
                value: U256::from(20u8),
                data: Bytes::new(),
            }
            .abi_encode(),
        ),
        &[(Asset::Erc1155(env.multi, U256::from(3u8)), bob)],
    )
    .await;
    assert!(
        case.report
            .asset_changes
            .iter()
            .any(|ch| ch.address == bob && ch.delta == "20" && ch.standard == Standard::Erc1155)
    );
}

fn short(address: Address) -> String {
    let text = address.to_checksum(None);
    format!("{}…{}", &text[..6], &text[text.len() - 4..])
}

fn ids(report: &SimulationReport) -> Vec<&str> {
    report.warnings.iter().map(|w| w.id.as_str()).collect()
}

#[tokio::test]
async fn risk_rules_fire_on_the_devnet_and_stay_quiet_otherwise() {
    let env = Env::start().await;
    let c = *env.devnet.contracts();
    let (alice, bob) = (env.account(0), env.account(8));
    let transfer = |to: Address| IERC20::transferCall { to, amount: U256::from(1u8) }.abi_encode();
    let env = &env;
    let sim = |to: Address, value: U256, data: Vec<u8>| {
        let request = env.request(alice, to, value, data);
        async move { env.simulate(&request).await }
    };

    // Tokens sent to a token contract: its own, or another.
    assert!(ids(&sim(c.usdc, U256::ZERO, transfer(c.usdc)).await).contains(&"recipient-is-token-contract"));
    assert!(ids(&sim(c.usdc, U256::ZERO, transfer(c.dai)).await).contains(&"recipient-is-token-contract"));
    let to_a_person = sim(c.usdc, U256::ZERO, transfer(bob)).await;
    assert!(!ids(&to_a_person).contains(&"recipient-is-token-contract"));
    // Coin to WETH is a wrap, not a loss.
    assert!(!ids(&sim(c.weth, ether(1), vec![]).await).contains(&"recipient-is-token-contract"));

    // The first transfer to bob is flagged; once one happened, it is not.
    assert!(ids(&to_a_person).contains(&"first-time-recipient"));
    env.send(alice, c.usdc, U256::ZERO, transfer(bob)).await;
    assert!(!ids(&sim(c.usdc, U256::ZERO, transfer(bob)).await).contains(&"first-time-recipient"));

    // An approval to an ordinary account, and to a contract.
    let approve = |spender: Address| IERC20::approveCall { spender, amount: U256::from(5u8) }.abi_encode();
    assert!(ids(&sim(c.usdc, U256::ZERO, approve(bob)).await).contains(&"approval-spender-not-contract"));
    assert!(!ids(&sim(c.usdc, U256::ZERO, approve(c.order_book)).await).contains(&"approval-spender-not-contract"));

    // Coin attached to a non-payable function, and to a contract with no receive function.
    let call = checkedCall { value: U256::from(5u8) }.abi_encode();
    let with_coin = sim(c.reverter, U256::from(1u8), call.clone()).await;
    assert!(!with_coin.success);
    assert!(ids(&with_coin).contains(&"value-to-non-payable"));
    let without = sim(c.reverter, U256::ZERO, call).await;
    assert!(without.success && !ids(&without).contains(&"value-to-non-payable"));
    assert!(ids(&sim(c.order_book, U256::from(1u8), vec![]).await).contains(&"value-to-non-payable"));

    // A request for another chain than the wallet's.
    let mut elsewhere = env.request(alice, bob, U256::from(1u8), vec![]);
    elsewhere.wallet_chain_id = Some(1);
    assert!(ids(&env.simulate(&elsewhere).await).contains(&"chain-mismatch"));
    assert!(!ids(&env.simulate(&env.request(alice, bob, U256::from(1u8), vec![])).await).contains(&"chain-mismatch"));

    // More coin than the sender has: the node refuses it, the rule says why.
    let broke = Address::repeat_byte(0x77);
    let report = env.simulate(&env.request(broke, bob, ether(1), vec![])).await;
    assert!(!report.success);
    assert_eq!(report.revert.as_ref().unwrap().kind, "insufficient-funds");
    let warning = report.warnings.iter().find(|w| w.id == "insufficient-balance").unwrap();
    assert_eq!(warning.message, format!("This sends 1 ETH but {} holds only 0 ETH.", short(broke)));
    assert!(!ids(&env.simulate(&env.request(alice, bob, ether(1), vec![])).await).contains(&"insufficient-balance"));
}
