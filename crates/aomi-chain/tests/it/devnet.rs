//! The devnet fixture deploys the contracts; calls and reverts decode against real anvil.

use aomi_chain::abi::{decode_output, encode_call, parse_function, select_function};
use aomi_chain::alloy::json_abi::{Function, JsonAbi};
use aomi_chain::alloy::primitives::{Address, keccak256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::contracts::Artifact;
use aomi_chain::{ChainError, Devnet};
use serde_json::{Value, json};

async fn call(
    devnet: &Devnet,
    to: Address,
    function: &Function,
    args: &[Value],
    abi: Option<&JsonAbi>,
) -> Result<Vec<Value>, ChainError> {
    let data = encode_call(function, args)?;
    let request = TransactionRequest::default().to(to).input(data.into());
    let network = devnet.network("devnet");
    let output = devnet.provider().call(request).await.map_err(|e| ChainError::from_rpc(e, &network, abi))?;
    Ok(decode_output(function, &output)?)
}

#[tokio::test]
async fn the_devnet_deploys_every_contract_and_funds_the_accounts() {
    let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
    assert_eq!(devnet.chain_id(), 31337);
    assert_eq!(devnet.provider().get_chain_id().await.unwrap(), 31337);
    let c = devnet.contracts();
    for address in [c.usdc, c.dai, c.weth, c.order_book, c.reverter] {
        assert!(!devnet.provider().get_code_at(address).await.unwrap().is_empty(), "{address} has code");
    }
    let decimals = parse_function("decimals()(uint8)").unwrap();
    assert_eq!(call(&devnet, c.usdc, &decimals, &[], None).await.unwrap(), [json!("6")]);
    assert_eq!(call(&devnet, c.dai, &decimals, &[], None).await.unwrap(), [json!("18")]);
    let symbol = parse_function("symbol()(string)").unwrap();
    assert_eq!(call(&devnet, c.weth, &symbol, &[], None).await.unwrap(), [json!("WETH")]);
    let balance = parse_function("balanceOf(address)(uint256)").unwrap();
    let holder = json!(devnet.accounts()[0].to_string());
    assert_eq!(call(&devnet, c.usdc, &balance, &[holder], None).await.unwrap(), [json!("1000000000000")]);
    assert!(devnet.accounts().len() >= 5);
}

#[tokio::test]
async fn nested_structs_and_overloads_round_trip_through_the_chain() {
    let devnet = Devnet::start().await.unwrap();
    let book = devnet.contracts().order_book;
    let abi = Artifact::order_book().unwrap().abi;
    let order = json!({
        "maker": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "give": { "token": devnet.contracts().usdc.to_string(), "amount": "1500000" },
        "want": [{ "token": devnet.contracts().dai.to_string(), "amount": "7" }, { "token": devnet.contracts().weth.to_string(), "amount": "8" }],
        "salt": format!("{}", keccak256("salt")),
        "deadline": "1700000000"
    });
    // echo returns the struct the contract decoded: it equals what was sent, field by field.
    let echo = select_function(&abi, "echo", std::slice::from_ref(&order)).unwrap();
    let back = call(&devnet, book, echo, std::slice::from_ref(&order), None).await.unwrap();
    assert_eq!(back, std::slice::from_ref(&order));
    let total = select_function(&abi, "totalWanted", std::slice::from_ref(&order)).unwrap();
    assert_eq!(call(&devnet, book, total, std::slice::from_ref(&order), None).await.unwrap(), [json!("15")]);
    // keccak256(abi.encode(order)) on chain equals the hash of our encoding of the tuple.
    let hash = select_function(&abi, "hashOrder", std::slice::from_ref(&order)).unwrap();
    let data = encode_call(hash, std::slice::from_ref(&order)).unwrap();
    let ours = keccak256(&data[4..]);
    assert_eq!(call(&devnet, book, hash, &[order], None).await.unwrap(), [json!(ours.to_string())]);

    let sum = parse_function("sum(uint256[])(uint256)").unwrap();
    assert_eq!(call(&devnet, book, &sum, &[json!(["1", 2, "3"])], None).await.unwrap(), [json!("6")]);
    assert_eq!(call(&devnet, book, &sum, &[json!("[4,5]")], None).await.unwrap(), [json!("9")]);
    for (args, answer) in [
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")], "an address"),
        (vec![json!("0")], "zero"),
        (vec![json!("3"), json!("3")], "two equal numbers"),
    ] {
        let function = select_function(&abi, "describe", &args).unwrap();
        assert_eq!(call(&devnet, book, function, &args, None).await.unwrap(), [json!(answer)], "{args:?}");
    }
}

#[tokio::test]
async fn reverts_decode_to_their_reason() {
    let devnet = Devnet::start().await.unwrap();
    let reverter = devnet.contracts().reverter;
    let abi = Artifact::reverter().unwrap().abi;
    let revert = |result: Result<Vec<Value>, ChainError>| match result {
        Err(ChainError::Reverted(reason)) => reason,
        other => panic!("expected a revert, got {other:?}"),
    };
    let checked = parse_function("checked(uint256)(uint256)").unwrap();
    assert_eq!(call(&devnet, reverter, &checked, &[json!("7")], Some(&abi)).await.unwrap(), [json!("7")]);

    let reason = revert(call(&devnet, reverter, &checked, &[json!("11")], Some(&abi)).await);
    assert_eq!(reason.kind, "custom");
    assert_eq!(reason.name.as_deref(), Some("TooLarge"));
    assert_eq!(reason.args, Some(json!({ "value": "11", "max": "10" })));
    assert_eq!(reason.message, "TooLarge(value: 11, max: 10)");

    let admin = parse_function("adminOnly()").unwrap();
    let reason = revert(call(&devnet, reverter, &admin, &[], Some(&abi)).await);
    assert_eq!(reason.name.as_deref(), Some("Unauthorized"));
    assert_eq!(reason.args.as_ref().unwrap()["role"], json!(keccak256("ADMIN").to_string()));

    // Without the ABI, a custom error is reported by its selector.
    let reason = revert(call(&devnet, reverter, &admin, &[], None).await);
    assert_eq!(reason.kind, "unknown");
    assert!(reason.message.contains("its ABI is unknown"), "{}", reason.message);

    let fails = parse_function("alwaysFails()").unwrap();
    let reason = revert(call(&devnet, reverter, &fails, &[], None).await);
    assert_eq!((reason.kind.as_str(), reason.message.as_str()), ("error", "Reverter: this always fails"));

    let divide = parse_function("divide(uint256,uint256)(uint256)").unwrap();
    let reason = revert(call(&devnet, reverter, &divide, &[json!("1"), json!("0")], None).await);
    assert_eq!(reason.kind, "panic");
    assert!(reason.message.contains("0x12") && reason.message.contains("division"), "{}", reason.message);

    let bare = parse_function("bare()").unwrap();
    let reason = revert(call(&devnet, reverter, &bare, &[], None).await);
    assert_eq!(reason.kind, "empty");
    let error = ChainError::Reverted(reason).to_string();
    assert_eq!(error, "the call reverted: reverted without a reason");
}

#[tokio::test]
async fn a_missing_anvil_says_how_to_install_it() {
    let options = aomi_chain::DevnetOptions { anvil: Some("/nonexistent/anvil".into()), ..Default::default() };
    let error = Devnet::start_with(options).await.unwrap_err().to_string();
    assert!(error.contains("npm install --prefix tools"), "{error}");
}

#[tokio::test]
async fn a_running_devnet_s_contracts_are_found_where_aomi_devnet_deploys_them() {
    use aomi_chain::KnownContracts;
    use aomi_chain::devnet::{DEPLOYER, DevnetContracts, register_running_contracts};

    let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
    assert_eq!(devnet.accounts()[0], DEPLOYER);
    assert_eq!(devnet.contracts(), &DevnetContracts::deployed_by(DEPLOYER));

    // As `aomi serve` does with AOMI_RPC_DEVNET: only the chain is known, not the Devnet value.
    let known = KnownContracts::default();
    let markets = aomi_chain::tokens::Markets::default();
    assert_eq!(register_running_contracts(&devnet.provider(), 31337, &known, &markets).await.unwrap(), 5);
    // Uniswap, its pools and the token list are found too.
    let dex = devnet.dex().expect("the devnet deploys Uniswap");
    assert_eq!(markets.dex(31337), Some(dex.contracts));
    assert_eq!(known.get(31337, dex.contracts.quoter).unwrap().name, "QuoterV2");
    for pool in &dex.pools {
        assert!(known.get(31337, pool.address).is_some(), "{} {:?}", pool.pair, pool.kind);
    }
    assert_eq!(markets.find(31337, "usdc")[0].address, devnet.contracts().usdc);
    let c = devnet.contracts();
    assert_eq!(known.get(31337, c.reverter).unwrap().name, "Reverter");
    assert_eq!(known.get(31337, c.usdc).unwrap().name, "TestToken");
    assert!(known.get(31337, c.order_book).unwrap().abi.functions.contains_key("submit"));

    // A chain without them registers nothing.
    let empty =
        Devnet::start_with(aomi_chain::DevnetOptions { chain_id: 31339, ..aomi_chain::DevnetOptions::without_dex() })
            .await
            .unwrap();
    let _: serde_json::Value = empty.provider().raw_request("anvil_reset".into(), ()).await.unwrap();
    let known = KnownContracts::default();
    let markets = aomi_chain::tokens::Markets::default();
    assert_eq!(register_running_contracts(&empty.provider(), 31339, &known, &markets).await.unwrap(), 0);
    assert_eq!(markets.dex(31339), None);
}

#[tokio::test]
async fn a_fork_sees_the_origins_state_and_what_it_sends_stays_on_the_fork() {
    use aomi_chain::DevnetOptions;
    use aomi_chain::alloy::primitives::U256;
    use aomi_chain::alloy::sol_types::SolCall;
    use aomi_chain::contracts::IERC20;

    let origin = Devnet::start_with(DevnetOptions { chain_id: 4242, ..DevnetOptions::without_dex() }).await.unwrap();
    // State the origin has and a fresh anvil would not: a token, and ether at an unused address.
    let usdc = origin.contracts().usdc;
    let holder = origin.accounts()[1];
    let stranger = Address::repeat_byte(0x5a);
    let gift = TransactionRequest::default().from(origin.accounts()[9]).to(stranger).value(U256::from(12_345u64));
    assert!(origin.provider().send_transaction(gift).await.unwrap().get_receipt().await.unwrap().status());

    let fork = Devnet::start_with(DevnetOptions::fork(origin.url())).await.unwrap();
    assert_eq!(fork.fork_url(), Some(origin.url()));
    assert_eq!(fork.chain_id(), 4242, "a fork keeps the origin's chain id");
    assert_eq!(fork.provider().get_chain_id().await.unwrap(), 4242);
    assert_eq!(fork.provider().get_balance(stranger).await.unwrap(), U256::from(12_345u64));
    let balance = |devnet: &Devnet| {
        let provider = devnet.provider();
        async move {
            let data = IERC20::balanceOfCall { owner: holder }.abi_encode();
            let out = provider.call(TransactionRequest::default().to(usdc).input(data.into())).await.unwrap();
            IERC20::balanceOfCall::abi_decode_returns(&out).unwrap()
        }
    };
    let minted = U256::from(1_000_000_000_000u64);
    assert_eq!(balance(&fork).await, minted, "the origin's token balances are visible on the fork");

    // A transfer on the fork moves the fork's balances only.
    let data = IERC20::transferCall { to: stranger, amount: U256::from(1_000_000u64) }.abi_encode();
    let transfer = TransactionRequest::default().from(holder).to(usdc).input(data.into());
    assert!(fork.provider().send_transaction(transfer).await.unwrap().get_receipt().await.unwrap().status());
    assert_eq!(balance(&fork).await, minted - U256::from(1_000_000u64));
    assert_eq!(balance(&origin).await, minted, "the origin is untouched");
    let sent = TransactionRequest::default().from(fork.accounts()[9]).to(stranger).value(U256::from(1u8));
    assert!(fork.provider().send_transaction(sent).await.unwrap().get_receipt().await.unwrap().status());
    assert_eq!(origin.provider().get_balance(stranger).await.unwrap(), U256::from(12_345u64));
    assert_eq!(fork.provider().get_balance(stranger).await.unwrap(), U256::from(12_346u64));
}
