//! Signature requests: checking typed data (every refusal), each decoder, each signature rule,
//! and the review on a real anvil, whose own `eth_signTypedData_v4` signs the hash we compute.

use std::collections::HashMap;

use aomi_chain::alloy::primitives::{Address, Signature, U256, address};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::risk::Level;
use aomi_chain::tokens::Markets;
use aomi_chain::typed_data::{
    Decoded, ItemKind, PERMIT2, PermitKind, ReviewOptions, SIGNATURE_RULES, SignatureFacts, SignatureInput,
    SigningError, SigningLimits, assess, decode, parse_message, parse_typed_data, review_message, review_typed_data,
};
use aomi_chain::{ChainSessions, Devnet, DevnetOptions, NetworkRegistry};
use serde_json::{Value, json};

const OWNER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const SPENDER: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const TOKEN: Address = address!("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
const MAX_U160: &str = "1461501637330902918203684832716283019655932542975";
const MAX_U48: &str = "281474976710655";

fn permit2_single(chain_id: u64, token: Address, spender: Address, amount: &str, expiration: &str) -> Value {
    json!({
        "domain": {"name": "Permit2", "chainId": chain_id, "verifyingContract": PERMIT2},
        "types": {
            "PermitSingle": [
                {"name": "details", "type": "PermitDetails"},
                {"name": "spender", "type": "address"},
                {"name": "sigDeadline", "type": "uint256"}
            ],
            "PermitDetails": [
                {"name": "token", "type": "address"},
                {"name": "amount", "type": "uint160"},
                {"name": "expiration", "type": "uint48"},
                {"name": "nonce", "type": "uint48"}
            ]
        },
        "primaryType": "PermitSingle",
        "message": {
            "details": {"token": token, "amount": amount, "expiration": expiration, "nonce": "0"},
            "spender": spender,
            "sigDeadline": "1700001800"
        }
    })
}

fn check(data: &Value) -> Result<aomi_chain::typed_data::CheckedTypedData, SigningError> {
    parse_typed_data(
        &data["domain"],
        &data["types"],
        data["primaryType"].as_str().unwrap_or_default(),
        &data["message"],
        &SigningLimits::default(),
    )
}

fn decoded(data: &Value) -> Option<Decoded> {
    decode(&check(data).unwrap().json)
}

#[test]
fn typed_data_is_refused_with_a_reason() {
    let good = permit2_single(1, TOKEN, SPENDER, "1000000", "1800000000");
    assert!(check(&good).is_ok());
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut d = good.clone();
                d["domain"]["color"] = json!("red");
                d
            },
            "unknown field \"color\"",
        ),
        (
            {
                let mut d = good.clone();
                d["domain"]["chainId"] = json!("soon");
                d
            },
            "chainId must be a chain id",
        ),
        (
            {
                let mut d = good.clone();
                d["domain"]["verifyingContract"] = json!("0x12");
                d
            },
            "verifyingContract must be an address",
        ),
        (
            {
                let mut d = good.clone();
                d["types"]["EIP712Domain"] = json!([{"name": "name", "type": "string"}]);
                d
            },
            "must list the domain's fields in order (name, chainId, verifyingContract)",
        ),
        (
            {
                let mut d = good.clone();
                d["primaryType"] = json!("Nothing");
                d
            },
            "primaryType \"Nothing\"",
        ),
        (
            {
                let mut d = good.clone();
                d["message"]["details"]["extra"] = json!(1);
                d
            },
            "PermitDetails has no field \"extra\"",
        ),
        (
            {
                let mut d = good.clone();
                d["message"].as_object_mut().unwrap().remove("sigDeadline");
                d
            },
            "PermitSingle.sigDeadline is missing",
        ),
        (
            {
                let mut d = good.clone();
                d["message"]["spender"] = json!("bob");
                d
            },
            "the typed data is invalid",
        ),
        (
            {
                let mut d = good.clone();
                d["types"]["PermitDetails"] = json!({"token": "address"});
                d
            },
            "must be a list of",
        ),
    ];
    for (data, expected) in cases {
        let error = check(&data).unwrap_err().to_string();
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
    }
    // The limits are the caller's.
    let small = SigningLimits { max_bytes: 100, ..SigningLimits::default() };
    let error =
        parse_typed_data(&good["domain"], &good["types"], "PermitSingle", &good["message"], &small).unwrap_err();
    assert!(matches!(error, SigningError::TooLarge { limit: 100, .. }), "{error}");
    let shallow = SigningLimits { max_depth: 1, ..SigningLimits::default() };
    let error =
        parse_typed_data(&good["domain"], &good["types"], "PermitSingle", &good["message"], &shallow).unwrap_err();
    assert_eq!(error, SigningError::TooDeep { depth: 2, limit: 1 });
    let error = parse_message("", &SigningLimits::default()).unwrap_err();
    assert!(matches!(error, SigningError::Message(_)));
    let error = parse_message(&"a".repeat(101), &small).unwrap_err();
    assert!(matches!(error, SigningError::TooLarge { bytes: 101, .. }));
}

#[test]
fn a_personal_message_is_text_and_hex_of_utf8_is_decoded() {
    let text = parse_message("Sign in to aomi", &SigningLimits::default()).unwrap();
    assert_eq!(text.text.as_deref(), Some("Sign in to aomi"));
    assert!(!text.hex);
    let hex = parse_message("0x48656c6c6f", &SigningLimits::default()).unwrap();
    assert_eq!((hex.text.as_deref(), hex.bytes.as_slice()), (Some("Hello"), b"Hello".as_slice()));
    assert_eq!(hex.signing_hash, text_hash("Hello"));
    let binary = parse_message("0x00ff10", &SigningLimits::default()).unwrap();
    assert_eq!(binary.text, None);
    let review = review_message(&binary);
    assert_eq!(review.hex.as_deref(), Some("0x00ff10"));
}

fn text_hash(text: &str) -> aomi_chain::alloy::primitives::B256 {
    aomi_chain::alloy::primitives::eip191_hash_message(text.as_bytes())
}

#[test]
fn each_known_kind_is_decoded() {
    // EIP-2612 Permit: the token is the verifying contract; an all-ones value is unlimited.
    let permit = json!({
        "domain": {"name": "USD Coin", "version": "2", "chainId": 1, "verifyingContract": TOKEN},
        "types": {"Permit": [
            {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}
        ]},
        "primaryType": "Permit",
        "message": {"owner": OWNER, "spender": SPENDER, "value": U256::MAX.to_string(), "nonce": 0, "deadline": "1800000000"}
    });
    let d = decoded(&permit).unwrap();
    assert_eq!((d.kind, d.owner, d.spender, d.token), (PermitKind::Permit, Some(OWNER), Some(SPENDER), Some(TOKEN)));
    assert!(d.given[0].unlimited);
    assert_eq!(d.deadline, Some(U256::from(1_800_000_000u64)));

    let single = decoded(&permit2_single(1, TOKEN, SPENDER, MAX_U160, MAX_U48)).unwrap();
    assert_eq!((single.kind, single.spender), (PermitKind::Permit2Single, Some(SPENDER)));
    assert!(single.given[0].unlimited);
    assert_eq!(single.expiry, Some(U256::from(281_474_976_710_655u64)));

    let mut batch = permit2_single(1, TOKEN, SPENDER, "5", "1800000000");
    batch["primaryType"] = json!("PermitBatch");
    batch["types"]["PermitBatch"] = json!([
        {"name": "details", "type": "PermitDetails[]"}, {"name": "spender", "type": "address"}, {"name": "sigDeadline", "type": "uint256"}
    ]);
    batch["types"].as_object_mut().unwrap().remove("PermitSingle");
    batch["message"]["details"] = json!([
        {"token": TOKEN, "amount": "5", "expiration": "1800000000", "nonce": "0"},
        {"token": OWNER, "amount": "7", "expiration": "1700000000", "nonce": "0"}
    ]);
    let b = decoded(&batch).unwrap();
    assert_eq!((b.kind, b.given.len(), b.expiry), (PermitKind::Permit2Batch, 2, Some(U256::from(1_700_000_000u64))));

    let transfer_types = |primary: &str, permitted: &str| {
        json!({
            primary: [
                {"name": "permitted", "type": permitted}, {"name": "spender", "type": "address"},
                {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}
            ],
            "TokenPermissions": [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint256"}]
        })
    };
    let transfer = json!({
        "domain": {"name": "Permit2", "chainId": 1, "verifyingContract": PERMIT2},
        "types": transfer_types("PermitTransferFrom", "TokenPermissions"),
        "primaryType": "PermitTransferFrom",
        "message": {"permitted": {"token": TOKEN, "amount": "10"}, "spender": SPENDER, "nonce": "1", "deadline": "1800000000"}
    });
    let t = decoded(&transfer).unwrap();
    assert_eq!((t.kind, t.given[0].amount, t.given[0].unlimited), (PermitKind::Permit2Transfer, U256::from(10), false));
    let batch_transfer = json!({
        "domain": {"name": "Permit2", "chainId": 1, "verifyingContract": PERMIT2},
        "types": transfer_types("PermitBatchTransferFrom", "TokenPermissions[]"),
        "primaryType": "PermitBatchTransferFrom",
        "message": {"permitted": [{"token": TOKEN, "amount": "10"}, {"token": OWNER, "amount": "3"}], "spender": SPENDER, "nonce": "1", "deadline": "1800000000"}
    });
    assert_eq!(decoded(&batch_transfer).map(|d| (d.kind, d.given.len())), Some((PermitKind::Permit2BatchTransfer, 2)));

    for (primary, kind) in [
        ("TransferWithAuthorization", PermitKind::TransferWithAuthorization),
        ("ReceiveWithAuthorization", PermitKind::ReceiveWithAuthorization),
    ] {
        let auth = json!({
            "domain": {"name": "USD Coin", "version": "2", "chainId": 1, "verifyingContract": TOKEN},
            "types": {primary: [
                {"name": "from", "type": "address"}, {"name": "to", "type": "address"}, {"name": "value", "type": "uint256"},
                {"name": "validAfter", "type": "uint256"}, {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}
            ]},
            "primaryType": primary,
            "message": {"from": OWNER, "to": SPENDER, "value": "2500000", "validAfter": 0, "validBefore": "1800000000",
                        "nonce": format!("0x{}", "11".repeat(32))}
        });
        let a = decoded(&auth).unwrap();
        assert_eq!((a.kind, a.owner, a.recipient, a.token), (kind, Some(OWNER), Some(SPENDER), Some(TOKEN)));
        assert_eq!(a.given[0].amount, U256::from(2_500_000));
    }

    let order = seaport_order(
        json!([{"itemType": 2, "token": TOKEN, "identifierOrCriteria": "42", "startAmount": "1", "endAmount": "1"}]),
        json!([{"itemType": 0, "token": Address::ZERO, "identifierOrCriteria": "0", "startAmount": "1000", "endAmount": "1000", "recipient": OWNER}]),
    );
    let o = decoded(&order).unwrap();
    assert_eq!((o.kind, o.owner), (PermitKind::SeaportOrder, Some(OWNER)));
    assert_eq!((o.given[0].kind, o.given[0].token_id), (ItemKind::Erc721, Some(U256::from(42))));
    assert_eq!((o.received[0].kind, o.received[0].amount), (ItemKind::Native, U256::from(1000)));

    // A struct named Permit with other fields is not a permit; unknown typed data is not decoded.
    let mut fake = permit.clone();
    fake["types"]["Permit"] = json!([{"name": "owner", "type": "address"}, {"name": "note", "type": "string"}]);
    fake["message"] = json!({"owner": OWNER, "note": "hi"});
    assert_eq!(decoded(&fake), None);
}

fn seaport_order(offer: Value, consideration: Value) -> Value {
    json!({
        "domain": {"name": "Seaport", "version": "1.6", "chainId": 1, "verifyingContract": "0x0000000000000068F116a894984e2DB1123eB395"},
        "types": {
            "OrderComponents": [
                {"name": "offerer", "type": "address"}, {"name": "zone", "type": "address"},
                {"name": "offer", "type": "OfferItem[]"}, {"name": "consideration", "type": "ConsiderationItem[]"},
                {"name": "orderType", "type": "uint8"}, {"name": "startTime", "type": "uint256"}, {"name": "endTime", "type": "uint256"},
                {"name": "zoneHash", "type": "bytes32"}, {"name": "salt", "type": "uint256"}, {"name": "conduitKey", "type": "bytes32"},
                {"name": "counter", "type": "uint256"}
            ],
            "OfferItem": [
                {"name": "itemType", "type": "uint8"}, {"name": "token", "type": "address"}, {"name": "identifierOrCriteria", "type": "uint256"},
                {"name": "startAmount", "type": "uint256"}, {"name": "endAmount", "type": "uint256"}
            ],
            "ConsiderationItem": [
                {"name": "itemType", "type": "uint8"}, {"name": "token", "type": "address"}, {"name": "identifierOrCriteria", "type": "uint256"},
                {"name": "startAmount", "type": "uint256"}, {"name": "endAmount", "type": "uint256"}, {"name": "recipient", "type": "address"}
            ]
        },
        "primaryType": "OrderComponents",
        "message": {
            "offerer": OWNER, "zone": Address::ZERO, "offer": offer, "consideration": consideration, "orderType": 0,
            "startTime": "0", "endTime": "1700001800", "zoneHash": format!("0x{}", "00".repeat(32)), "salt": "1",
            "conduitKey": format!("0x{}", "00".repeat(32)), "counter": "0"
        }
    })
}

/// The facts of a harmless signature: the wallet is the owner on chain 1, everything has code.
fn facts() -> SignatureFacts {
    SignatureFacts {
        wallet: Some(OWNER),
        wallet_chain_id: Some(1),
        now: 1_700_000_000,
        long_permit_secs: 30 * 86_400,
        has_code: HashMap::from([(SPENDER, true), (TOKEN, true), (PERMIT2, true)]),
        domain_separator_matches: Some(true),
        permit2: Vec::new(),
        symbols: HashMap::from([(TOKEN, "USDC".to_owned())]),
    }
}

fn ids(data: &Value, facts: &SignatureFacts) -> Vec<String> {
    let checked = check(data).unwrap();
    let decoded = decode(&checked.json);
    let input = SignatureInput {
        chain_id: checked.chain_id,
        verifying_contract: checked.typed.domain().verifying_contract,
        decoded: decoded.as_ref(),
        facts,
    };
    assess(&input).into_iter().map(|w| w.id).collect()
}

#[test]
fn each_signature_rule_fires_on_its_case_only() {
    let rule = |id: &str| SIGNATURE_RULES.iter().find(|r| r.id == id).unwrap().level;
    // A limited, short Permit2 allowance to a contract, on the wallet's chain: nothing fires.
    let harmless = permit2_single(1, TOKEN, SPENDER, "1000000", "1701000000");
    assert_eq!(ids(&harmless, &facts()), Vec::<String>::new());

    let other_chain = permit2_single(10, TOKEN, SPENDER, "1000000", "1701000000");
    assert_eq!(ids(&other_chain, &facts()), ["domain-chain-mismatch"]);

    let mut fake_permit2 = harmless.clone();
    fake_permit2["domain"]["verifyingContract"] = json!(TOKEN);
    assert_eq!(ids(&fake_permit2, &facts()), ["verifying-contract-mismatch"]);
    let mut elsewhere = facts();
    elsewhere.permit2 = vec![TOKEN];
    assert_eq!(ids(&fake_permit2, &elsewhere), Vec::<String>::new(), "a chain's own Permit2 counts");
    let mut wrong_domain = facts();
    wrong_domain.domain_separator_matches = Some(false);
    assert_eq!(ids(&harmless, &wrong_domain), ["verifying-contract-mismatch"]);
    let mut not_deployed = facts();
    not_deployed.has_code.insert(PERMIT2, false);
    assert_eq!(ids(&harmless, &not_deployed), ["verifying-contract-mismatch"]);

    let unlimited = permit2_single(1, TOKEN, SPENDER, MAX_U160, "1701000000");
    assert_eq!(ids(&unlimited, &facts()), ["unlimited-permit"]);
    let mut keyed = facts();
    keyed.has_code.insert(SPENDER, false);
    assert_eq!(ids(&unlimited, &keyed), ["permit-spender-not-contract", "unlimited-permit"]);
    assert_eq!(ids(&harmless, &keyed), Vec::<String>::new(), "a limited permit to a key is not flagged danger");
    assert_eq!(rule("permit-spender-not-contract"), Level::Danger);

    let long = permit2_single(1, TOKEN, SPENDER, "1000000", MAX_U48);
    assert_eq!(ids(&long, &facts()), ["long-permit"]);
    let mut short_threshold = facts();
    short_threshold.long_permit_secs = 60;
    assert_eq!(ids(&harmless, &short_threshold), ["long-permit"], "the threshold is the caller's");

    let mut not_mine = facts();
    not_mine.wallet = Some(SPENDER);
    let order = seaport_order(
        json!([{"itemType": 1, "token": TOKEN, "identifierOrCriteria": "0", "startAmount": "5", "endAmount": "5"}]),
        json!([{"itemType": 0, "token": Address::ZERO, "identifierOrCriteria": "0", "startAmount": "1", "endAmount": "1", "recipient": OWNER}]),
    );
    let mut order_facts = facts();
    order_facts.has_code.insert(address!("0000000000000068F116a894984e2DB1123eB395"), true);
    assert_eq!(ids(&order, &order_facts), ["signature-moves-assets"]);
    let mut not_mine_order = order_facts.clone();
    not_mine_order.wallet = Some(SPENDER);
    assert_eq!(ids(&order, &not_mine_order), ["signature-moves-assets", "signer-not-wallet"]);
    let giveaway = seaport_order(
        json!([{"itemType": 1, "token": TOKEN, "identifierOrCriteria": "0", "startAmount": "5", "endAmount": "5"}]),
        json!([{"itemType": 0, "token": Address::ZERO, "identifierOrCriteria": "0", "startAmount": "1", "endAmount": "1", "recipient": SPENDER}]),
    );
    assert_eq!(ids(&giveaway, &order_facts), ["order-gives-away"]);
    assert_eq!(rule("order-gives-away"), Level::Danger);
    assert!(not_mine.wallet.is_some());
}

#[tokio::test]
async fn an_unlimited_permit2_permit_to_an_address_without_code_is_danger_and_anvil_signs_our_hash() {
    let devnet = Devnet::start_with(DevnetOptions::without_dex()).await.expect("anvil starts");
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = ChainSessions::new(registry, "devnet").unwrap();
    let connection = sessions.connection("typed-data", None).unwrap();
    let markets = Markets::builtin();
    devnet.register_markets(&markets);
    let usdc = devnet.contracts().usdc;
    let owner = devnet.accounts()[0];
    // Dev account 7 is a key: no code.
    let keyed_spender = devnet.accounts()[7];
    let data = permit2_single(devnet.chain_id(), usdc, keyed_spender, MAX_U160, MAX_U48);
    let checked = check(&data).unwrap();
    let options = ReviewOptions {
        wallet: Some(owner),
        wallet_chain_id: Some(devnet.chain_id()),
        now: 1_700_000_000,
        ..ReviewOptions::default()
    };
    let review = review_typed_data(&connection, &markets, &checked, &options).await;
    let decoded = review.decoded.as_ref().unwrap();
    assert_eq!(decoded.spender, Some(keyed_spender));
    assert_eq!(decoded.tokens[0].formatted, "unlimited USDC");
    assert_eq!(decoded.tokens[0].symbol.as_deref(), Some("USDC"));
    assert_eq!(decoded.expiry.as_ref().map(|e| (e.never, e.text.as_str())), Some((true, "never")));
    let danger: Vec<&str> =
        review.warnings.iter().filter(|w| w.level == Level::Danger).map(|w| w.id.as_str()).collect();
    // Permit2 is not deployed on the devnet: that is flagged too, and truly so.
    assert_eq!(danger, ["verifying-contract-mismatch", "permit-spender-not-contract"], "{:#?}", review.warnings);
    assert!(review.summary().contains("unlimited USDC"), "{}", review.summary());

    // The same permit to a contract (the devnet's DAI) is not a key's: no spender danger.
    let to_contract =
        check(&permit2_single(devnet.chain_id(), usdc, devnet.contracts().dai, "2500000", "1700000600")).unwrap();
    let review = review_typed_data(&connection, &markets, &to_contract, &options).await;
    assert!(!review.warnings.iter().any(|w| w.id == "permit-spender-not-contract"), "{:#?}", review.warnings);
    assert_eq!(review.decoded.as_ref().unwrap().tokens[0].formatted, "2.5 USDC");
    assert_eq!(review.decoded.as_ref().unwrap().expiry.as_ref().unwrap().text, "2023-11-14 22:23 UTC");

    // Anvil signs typed data like a wallet: its signature is over the hash we computed.
    let signature: String =
        devnet.provider().raw_request("eth_signTypedData_v4".into(), (owner, &checked.json)).await.unwrap();
    let signature: Signature = signature.parse().unwrap();
    assert_eq!(signature.recover_address_from_prehash(&checked.signing_hash).unwrap(), owner);
    // And personal messages: personal_sign over the EIP-191 hash.
    let message = parse_message("Hello from aomi", &SigningLimits::default()).unwrap();
    let signature: String = devnet
        .provider()
        .raw_request("personal_sign".into(), ("0x48656c6c6f2066726f6d20616f6d69", owner))
        .await
        .unwrap();
    let signature: Signature = signature.parse().unwrap();
    assert_eq!(signature.recover_address_from_prehash(&message.signing_hash).unwrap(), owner);
}

#[tokio::test]
async fn unknown_typed_data_is_a_tree_in_the_review() {
    let devnet = Devnet::start_with(DevnetOptions::without_dex()).await.expect("anvil starts");
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = ChainSessions::new(registry, "devnet").unwrap();
    let connection = sessions.connection("typed-data", None).unwrap();
    let mail = json!({
        "domain": {"name": "Ether Mail", "version": "1", "chainId": devnet.chain_id()},
        "types": {
            "Mail": [{"name": "from", "type": "Person"}, {"name": "contents", "type": "string"}],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}]
        },
        "primaryType": "Mail",
        "message": {"from": {"name": "Cow", "wallet": OWNER}, "contents": "Hello, Bob!"}
    });
    let checked = check(&mail).unwrap();
    let review = review_typed_data(&connection, &Markets::default(), &checked, &ReviewOptions::default()).await;
    assert!(review.decoded.is_none() && review.warnings.is_empty());
    let tree = review.tree.unwrap();
    assert_eq!(tree.children[0].children[0].value.as_deref(), Some("Cow"));
    assert_eq!(tree.children[1].value.as_deref(), Some("Hello, Bob!"));
    let signature: String = devnet
        .provider()
        .raw_request("eth_signTypedData_v4".into(), (devnet.accounts()[1], &checked.json))
        .await
        .unwrap();
    let signature: Signature = signature.parse().unwrap();
    assert_eq!(signature.recover_address_from_prehash(&checked.signing_hash).unwrap(), devnet.accounts()[1]);
}
