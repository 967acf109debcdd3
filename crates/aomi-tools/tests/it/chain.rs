//! Every chain tool returns the right value on the devnet's contracts.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::abi::parse_function;
use aomi_chain::alloy::dyn_abi::JsonAbiExt;
use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::U256;
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_core::{UiChunk, WalletContext};
use aomi_tools::{ToolCallRequest, ToolScheduler};
use serde_json::{Value, json};

use crate::fixture::{Chain, Collect};

#[tokio::test]
async fn balances_native_and_erc20() {
    let chain = Chain::start().await;
    // Account 9 never sent anything: exactly anvil's 10000 ETH.
    let output = chain.call("get_balance", json!({ "address": chain.account(9) })).await.unwrap();
    assert_eq!(output.data["wei"], "10000000000000000000000");
    assert_eq!(output.data["balance"], "10000");
    assert_eq!(output.data["symbol"], "ETH");
    assert_eq!(output.data["network"], "devnet");
    assert!(output.summary.ends_with("holds 10000 ETH on devnet"), "{}", output.summary);
    // Account 0 paid for the deployments: whatever the chain says, exactly.
    let output = chain.call("get_balance", json!({ "address": chain.account(0) })).await.unwrap();
    let wei = chain.devnet.provider().get_balance(chain.devnet.accounts()[0]).await.unwrap();
    assert_eq!(output.data["wei"], wei.to_string());

    let c = *chain.devnet.contracts();
    let usdc = chain
        .call("get_token_balance", json!({ "token": c.usdc.to_string(), "owner": chain.account(1) }))
        .await
        .unwrap();
    assert_eq!(
        (usdc.data["raw"].as_str(), usdc.data["balance"].as_str(), usdc.data["symbol"].as_str()),
        (Some("1000000000000"), Some("1000000"), Some("USDC"))
    );
    assert_eq!(usdc.data["decimals"], 6);
    let dai = chain
        .call("get_token_balance", json!({ "token": c.dai.to_string(), "owner": chain.account(1) }))
        .await
        .unwrap();
    assert_eq!(
        (dai.data["raw"].as_str(), dai.data["decimals"].as_u64()),
        (Some("1000000000000000000000000"), Some(18))
    );
    assert_eq!(dai.data["balance"], "1000000");
    let weth = chain
        .call("get_token_balance", json!({ "token": c.weth.to_string(), "owner": chain.account(9) }))
        .await
        .unwrap();
    assert_eq!((weth.data["balance"].as_str(), weth.data["symbol"].as_str()), (Some("0"), Some("WETH")));
}

#[tokio::test]
async fn contract_reads_by_signature_and_by_known_abi() {
    let chain = Chain::start().await;
    let c = *chain.devnet.contracts();
    let output = chain
        .call(
            "call_view_function",
            json!({ "address": c.usdc.to_string(), "signature": "balanceOf(address)(uint256)", "args": [chain.account(2)] }),
        )
        .await
        .unwrap();
    assert_eq!(output.data["result"], json!(["1000000000000"]));
    // By name: the devnet's ABIs are known, overloads are chosen by the arguments.
    let sum = chain
        .call(
            "call_view_function",
            json!({ "address": c.order_book.to_string(), "function": "sum", "args": [["1", "2", 39]] }),
        )
        .await
        .unwrap();
    assert_eq!(sum.data["result"], json!(["42"]));
    let describe = chain
        .call(
            "call_view_function",
            json!({ "address": c.order_book.to_string(), "function": "describe", "args": [chain.account(1)] }),
        )
        .await
        .unwrap();
    assert_eq!(describe.data["result"], json!(["an address"]));
    assert_eq!(describe.data["function"], "describe(address)(string)");
    // A signature without outputs gets them from the known ABI.
    let name =
        chain.call("call_view_function", json!({ "address": c.dai.to_string(), "signature": "name()" })).await.unwrap();
    assert_eq!(name.data["result"], json!(["Dai Stablecoin"]));
    // An overloaded one, from the overload of the same selector.
    let describe = chain
        .call(
            "call_view_function",
            json!({ "address": c.order_book.to_string(), "signature": "describe(address)", "args": [chain.account(1)] }),
        )
        .await
        .unwrap();
    assert_eq!(
        (describe.data["function"].as_str(), &describe.data["result"]),
        (Some("describe(address)(string)"), &json!(["an address"]))
    );
    // Reverts are decoded to the custom error's name and arguments.
    let error = chain
        .call("call_view_function", json!({ "address": c.reverter.to_string(), "function": "checked", "args": ["11"] }))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(error, "the call reverted: TooLarge(value: 11, max: 10)");
    let error = chain
        .call("call_view_function", json!({ "address": c.reverter.to_string(), "signature": "alwaysFails()" }))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(error, "the call reverted: Reverter: this always fails");
}

#[tokio::test]
async fn encode_function_call_round_trips_tuples_arrays_bytes32_nested_structs_and_overloads() {
    let chain = Chain::start().await;
    let book = chain.devnet.contracts().order_book.to_string();
    let order = json!({
        "maker": chain.account(1),
        "give": { "token": chain.devnet.contracts().usdc.to_string(), "amount": "1500000" },
        "want": [{ "token": chain.devnet.contracts().dai.to_string(), "amount": "5" }],
        "salt": "0xabababababababababababababababababababababababababababababababab",
        "deadline": 1700000000
    });
    let output = chain
        .call("encode_function_call", json!({ "function": "submit", "address": book, "args": [order] }))
        .await
        .unwrap();
    assert_eq!(output.data["signature"], "submit((address,(address,uint256),(address,uint256)[],bytes32,uint64))");
    // Decoding the calldata gives back the arguments exactly.
    let function = parse_function(output.data["signature"].as_str().unwrap()).unwrap();
    let data = aomi_chain::alloy::primitives::hex::decode(output.data["data"].as_str().unwrap()).unwrap();
    let decoded = function.abi_decode_input(&data[4..]).unwrap();
    let back = aomi_chain::abi::sol_to_json(&decoded[0], None);
    assert_eq!(back[1][1], "1500000");
    assert_eq!(back[2][0][1], "5");
    assert_eq!(back[3], "0xabababababababababababababababababababababababababababababababab");
    assert_eq!(back[4], "1700000000");
    assert_eq!(output.data["args"][0]["give"]["amount"], "1500000", "arguments as understood, by field name");

    // Overloads by signature give different selectors.
    let mut selectors = Vec::new();
    for (signature, args) in [
        ("describe(uint256)", json!(["1"])),
        ("describe(address)", json!([chain.account(1)])),
        ("describe(uint256,uint256)", json!(["1", "2"])),
    ] {
        let output = chain.call("encode_function_call", json!({ "signature": signature, "args": args })).await.unwrap();
        selectors.push(output.data["selector"].as_str().unwrap().to_owned());
    }
    selectors.dedup();
    assert_eq!(selectors.len(), 3);
    // The encoded call runs on chain as encoded: the contract sums a uint256[].
    let output = chain
        .call("encode_function_call", json!({ "signature": "sum(uint256[])", "args": [["7", "8"]] }))
        .await
        .unwrap();
    let data: aomi_chain::alloy::primitives::Bytes = output.data["data"].as_str().unwrap().parse().unwrap();
    let request = TransactionRequest::default().to(chain.devnet.contracts().order_book).input(data.into());
    let result = chain.devnet.provider().call(request).await.unwrap();
    assert_eq!(U256::from_be_slice(&result), U256::from(15u8));
}

/// Contract reads see the latest block, as balance reads do: a transfer waiting in the pool moves
/// neither until it is mined (alloy's `call` would read the pending block).
#[tokio::test]
async fn contract_reads_see_the_latest_block_as_balance_reads_do() {
    let chain = Chain::start().await;
    let c = *chain.devnet.contracts();
    let provider = chain.devnet.provider();
    let (from, to) = (chain.devnet.accounts()[1], chain.devnet.accounts()[2]);
    let reads = || async {
        let args = json!({
            "address": c.usdc.to_string(),
            "signature": "balanceOf(address)(uint256)",
            "args": [chain.account(1)]
        });
        let call = chain.call("call_view_function", args).await.unwrap();
        let token = chain
            .call("get_token_balance", json!({ "token": c.usdc.to_string(), "owner": chain.account(1) }))
            .await
            .unwrap();
        (call.data["result"][0].as_str().unwrap().to_owned(), token.data["raw"].as_str().unwrap().to_owned())
    };

    provider.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await.unwrap();
    let call = IERC20::transferCall { to, amount: U256::from(1_500_000u64) }.abi_encode();
    let request = TransactionRequest::default().from(from).to(c.usdc).input(call.into()).gas_limit(100_000);
    let pending = provider.send_transaction(request).await.unwrap();
    // The pending block has the transfer: a read of it would see it.
    let owner_call =
        TransactionRequest::default().to(c.usdc).input(IERC20::balanceOfCall { owner: from }.abi_encode().into());
    let at_pending = provider.call(owner_call).block(aomi_chain::alloy::eips::BlockId::pending()).await.unwrap();
    let at_pending = IERC20::balanceOfCall::abi_decode_returns(&at_pending).unwrap();
    assert_eq!(at_pending, U256::from(1_000_000_000_000u64 - 1_500_000));
    assert_eq!(reads().await, ("1000000000000".to_owned(), "1000000000000".to_owned()));

    provider.raw_request::<_, Value>("evm_mine".into(), ()).await.unwrap();
    assert!(pending.get_receipt().await.unwrap().status());
    assert_eq!(reads().await, ("999998500000".to_owned(), "999998500000".to_owned()));
}

#[tokio::test]
async fn transactions_and_receipts_decode_calls_and_logs() {
    let chain = Chain::start().await;
    let c = *chain.devnet.contracts();
    let (from, to) = (chain.devnet.accounts()[1], chain.devnet.accounts()[2]);
    let call = IERC20::transferCall { to, amount: U256::from(1_500_000u64) }.abi_encode();
    let request = TransactionRequest::default().from(from).to(c.usdc).input(call.into());
    let receipt = chain.devnet.provider().send_transaction(request).await.unwrap().get_receipt().await.unwrap();
    let hash = receipt.transaction_hash.to_string();

    let tx = chain.call("get_transaction", json!({ "hash": hash })).await.unwrap();
    assert_eq!(tx.data["from"], json!(from));
    assert_eq!(tx.data["to"], json!(c.usdc));
    assert_eq!(tx.data["valueWei"], "0");
    assert_eq!(tx.data["decodedCall"]["function"], "transfer(address,uint256)");
    assert_eq!(tx.data["decodedCall"]["args"]["amount"], "1500000");
    assert_eq!(tx.data["decodedCall"]["args"]["to"], json!(to.to_checksum(None)));
    assert!(tx.summary.contains("calling transfer(address,uint256)"), "{}", tx.summary);

    let receipt = chain.call("get_receipt", json!({ "hash": hash })).await.unwrap();
    assert_eq!(receipt.data["status"], "success");
    let log = &receipt.data["logs"][0];
    assert_eq!(log["decoded"]["event"], "Transfer(address,address,uint256)");
    assert_eq!(log["decoded"]["args"]["value"], "1500000");
    assert_eq!(log["decoded"]["args"]["from"], json!(from.to_checksum(None)));

    // A deployment: the receipt names the new contract.
    let deploy = TransactionRequest::default()
        .from(from)
        .with_deploy_code(aomi_chain::contracts::Artifact::reverter().unwrap().bytecode);
    let deployed = chain.devnet.provider().send_transaction(deploy).await.unwrap().get_receipt().await.unwrap();
    let receipt = chain.call("get_receipt", json!({ "hash": deployed.transaction_hash.to_string() })).await.unwrap();
    assert_eq!(receipt.data["contractAddress"], json!(deployed.contract_address.unwrap()));
    let tx = chain.call("get_transaction", json!({ "hash": deployed.transaction_hash.to_string() })).await.unwrap();
    assert!(tx.summary.contains("a new contract"), "{}", tx.summary);

    let missing = format!("0x{}", "ab".repeat(32));
    let error = chain.call("get_transaction", json!({ "hash": missing })).await.unwrap_err().to_string();
    assert!(error.contains("no transaction") && error.contains("devnet"), "{error}");
}

#[tokio::test]
async fn blocks_gas_and_accounts() {
    let chain = Chain::start().await;
    let latest = chain.devnet.provider().get_block_number().await.unwrap();
    let block = chain.call("get_block", json!({})).await.unwrap();
    assert_eq!(block.data["number"], latest);
    let genesis = chain.call("get_block", json!({ "block": 0 })).await.unwrap();
    assert_eq!(genesis.data["number"], 0);
    let by_hash = chain.call("get_block", json!({ "block": block.data["hash"] })).await.unwrap();
    assert_eq!(by_hash.data["number"], latest);
    assert!(block.data["transactionCount"].as_u64().unwrap() >= 1);

    let gas = chain.call("get_gas_price", json!({})).await.unwrap();
    let price: u128 = gas.data["gasPriceWei"].as_str().unwrap().parse().unwrap();
    assert_eq!(price, chain.devnet.provider().get_gas_price().await.unwrap());

    let usdc =
        chain.call("get_account_info", json!({ "address": chain.devnet.contracts().usdc.to_string() })).await.unwrap();
    assert_eq!(
        (usdc.data["isContract"].as_bool(), usdc.data["contractName"].as_str()),
        (Some(true), Some("TestToken"))
    );
    let fresh = chain.call("get_account_info", json!({ "address": chain.account(9) })).await.unwrap();
    assert_eq!((fresh.data["isContract"].as_bool(), fresh.data["nonce"].as_u64()), (Some(false), Some(0)));
    let deployer = chain.call("get_account_info", json!({ "address": chain.account(0) })).await.unwrap();
    assert!(deployer.data["nonce"].as_u64().unwrap() >= 5, "the deployer sent the deployments");
}

#[tokio::test]
async fn ens_is_clearly_unavailable_on_the_devnet() {
    let chain = Chain::start().await;
    for (tool, args) in [
        ("resolve_ens", json!({ "name": "vitalik.eth" })),
        ("lookup_address", json!({ "address": chain.account(1) })),
        ("get_balance", json!({ "address": "vitalik.eth" })),
    ] {
        let error = chain.call(tool, args).await.unwrap_err().to_string();
        assert!(error.contains("ENS is not available on devnet") && error.contains("ethereum"), "{tool}: {error}");
    }
}

#[tokio::test]
async fn switch_network_moves_only_its_chat_and_asks_the_wallet_to_follow() {
    let chain = Chain::start().await;
    let scheduler = ToolScheduler::new(Arc::new(chain.tools.clone()), Duration::from_secs(10));
    let sink = Collect::default();
    let call = ToolCallRequest {
        id: "s1".into(),
        name: "switch_network".into(),
        arguments: json!({ "network": "base-sepolia" }),
    };
    let wallet = WalletContext { address: None, chain_id: 31337 };
    let results = scheduler.run_all(vec![call], "mover", Some(&wallet), &Default::default(), &sink).await;
    let output = results[0].outcome.clone().unwrap();
    assert_eq!((output.data["network"].as_str(), output.data["chainId"].as_u64()), (Some("base-sepolia"), Some(84532)));
    assert_eq!(output.data["previous"], "devnet");
    let parts = sink.parts();
    let network_part = parts
        .iter()
        .position(|p| matches!(p, UiChunk::Data { name, data, .. } if name == "network" && data["chainId"] == 84532));
    let output_part = parts.iter().position(|p| matches!(p, UiChunk::ToolOutputAvailable { .. }));
    assert!(network_part.unwrap() < output_part.unwrap(), "data-network comes before the result: {parts:?}");
    assert_eq!(chain.sessions.connection("mover", None).unwrap().network.name, "base-sepolia");
    assert_eq!(chain.sessions.connection("other", None).unwrap().network.name, "devnet");

    let listed = chain.call_in("mover", "switch_network", json!({})).await.unwrap();
    assert_eq!(listed.data["current"], "base-sepolia");
    assert!(listed.data["networks"].as_array().unwrap().len() >= 8);
    let error = chain.call_in("mover", "switch_network", json!({ "network": "narnia" })).await.unwrap_err().to_string();
    assert!(error.contains("unknown network \"narnia\"") && error.contains("sepolia (11155111)"), "{error}");
    assert_eq!(
        chain.sessions.connection("mover", None).unwrap().network.name,
        "base-sepolia",
        "a failed switch changes nothing"
    );
}

#[tokio::test]
async fn send_transaction_to_wallet_builds_the_exact_request() {
    let chain = Chain::start().await;
    let tool = chain.tools.get("send_transaction_to_wallet").unwrap();
    assert!(tool.runs_on_client());
    let usdc = chain.devnet.contracts().usdc;
    let recipient = chain.devnet.accounts()[3];
    let output = chain
        .call(
            "send_transaction_to_wallet",
            json!({
                "to": usdc.to_string(),
                "signature": "transfer(address,uint256)",
                "args": [recipient.to_string(), "1500000"],
                "description": "Send 1.5 USDC"
            }),
        )
        .await
        .unwrap();
    let expected = IERC20::transferCall { to: recipient, amount: U256::from(1_500_000u64) }.abi_encode();
    assert_eq!(output.data["data"], format!("0x{}", aomi_chain::alloy::primitives::hex::encode(&expected)));
    assert_eq!(output.data["value"], "0");
    assert_eq!(output.data["chainId"], 31337);
    assert_eq!(output.data["to"], json!(usdc));
    assert_eq!(output.data["from"], json!(chain.devnet.accounts()[0]));
    assert_eq!(output.data["decodedCall"]["args"]["1"], "1500000");
    // The parameters with their types, so the page need not parse the signature.
    assert_eq!(
        output.data["decodedCall"]["inputs"],
        json!([{ "name": "", "type": "address" }, { "name": "", "type": "uint256" }])
    );

    let eth = chain
        .call(
            "send_transaction_to_wallet",
            json!({ "to": recipient.to_string(), "value": "1500000000000000000", "description": "Send 1.5 ETH" }),
        )
        .await
        .unwrap();
    assert_eq!((eth.data["value"].as_str(), eth.data["data"].as_str()), (Some("1500000000000000000"), Some("0x")));
    assert!(eth.summary.contains("with 1.5 ETH"), "{}", eth.summary);
}

/// The prepared request is streamed as `data-wallet-request` and the call stays open.
#[tokio::test]
async fn client_calls_are_prepared_and_left_open() {
    let chain = Chain::start().await;
    let scheduler = ToolScheduler::new(Arc::new(chain.tools.clone()), Duration::from_secs(10));
    let sink = Collect::default();
    let good = ToolCallRequest {
        id: "w1".into(),
        name: "send_transaction_to_wallet".into(),
        arguments: json!({ "to": chain.account(4), "value": "1", "description": "one wei" }),
    };
    let bad = ToolCallRequest {
        id: "w2".into(),
        name: "send_transaction_to_wallet".into(),
        arguments: json!({ "to": "0xnope", "description": "broken" }),
    };
    let results = scheduler.prepare_client_calls(vec![good, bad], "chat", None, &Default::default(), &sink).await;
    assert!(results[0].outcome.is_ok() && results[1].outcome.is_err());
    let parts = sink.parts();
    let request: Vec<&Value> = parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Data { name, id: Some(id), data, .. } if name == "wallet-request" && id == "w1" => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(request.len(), 1);
    assert_eq!(request[0]["request"]["value"], "1");
    assert!(!parts.iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })), "the good call stays open");
    assert!(parts.iter().any(|p| matches!(p, UiChunk::ToolOutputError { tool_call_id, error_text } if tool_call_id == "w2" && error_text.contains("is not an address"))));
}
