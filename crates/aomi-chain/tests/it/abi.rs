//! Encoding from signatures and JSON, without a chain: tuples, nested structs, arrays, bytes32,
//! overloads, and the errors of bad input.

use aomi_chain::abi::{
    AbiError, MAX_TYPE_DEPTH, arguments, decode_output, encode_call, parse_function, select_function, sol_to_json,
};
use aomi_chain::alloy::dyn_abi::JsonAbiExt;
use aomi_chain::alloy::json_abi::JsonAbi;
use aomi_chain::alloy::primitives::{U256, hex};
use aomi_chain::contracts::Artifact;
use serde_json::{Value, json};

const ORDER: &str = "submit((address,(address,uint256),(address,uint256)[],bytes32,uint64))";

fn order_json() -> Value {
    json!([
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "1500000"],
        [["0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "1"], ["0x5FbDB2315678afecb367f032d93F642f64180aa3", 2]],
        "0x1111111111111111111111111111111111111111111111111111111111111111",
        "1700000000"
    ])
}

/// Decodes the calldata back and converts it to JSON again: what went in comes out.
fn round_trip(signature: &str, args: &[Value]) -> (Vec<Value>, Vec<u8>) {
    let function = parse_function(signature).unwrap();
    let data = encode_call(&function, args).unwrap();
    assert_eq!(&data[..4], function.selector().as_slice());
    let decoded = function.abi_decode_input(&data[4..]).unwrap();
    let back = decoded.iter().zip(&function.inputs).map(|(v, p)| sol_to_json(v, Some(p))).collect();
    (back, data.to_vec())
}

#[test]
fn simple_calls_encode_like_solidity() {
    let (back, data) = round_trip(
        "transfer(address,uint256)",
        &[json!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"), json!("1500000")],
    );
    assert_eq!(hex::encode(&data[..4]), "a9059cbb", "the selector of transfer(address,uint256)");
    assert_eq!(back, [json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!("1500000")]);
    assert_eq!(data.len(), 4 + 64);
}

#[test]
fn nested_structs_arrays_and_bytes32_round_trip() {
    let (back, _) = round_trip(ORDER, &[order_json()]);
    let expected = json!([
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "1500000"],
        [["0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "1"], ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "2"]],
        "0x1111111111111111111111111111111111111111111111111111111111111111",
        "1700000000"
    ]);
    assert_eq!(back, [expected]);
    // The same call given in cast's string syntax encodes to the same bytes.
    let function = parse_function(ORDER).unwrap();
    let text = "(0x70997970C51812dc3A010C7d01b50e0d17dc79C8,(0x5FbDB2315678afecb367f032d93F642f64180aa3,1500000),[(0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512,1),(0x5FbDB2315678afecb367f032d93F642f64180aa3,2)],0x1111111111111111111111111111111111111111111111111111111111111111,1700000000)";
    assert_eq!(encode_call(&function, &[json!(text)]).unwrap(), encode_call(&function, &[order_json()]).unwrap());
}

#[test]
fn structs_may_be_objects_when_the_abi_names_their_fields() {
    let abi = Artifact::order_book().unwrap().abi;
    let order = json!({
        "maker": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "give": { "token": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "amount": "1500000" },
        "want": [{ "token": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "amount": "1" }, { "token": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "amount": "2" }],
        "salt": "0x1111111111111111111111111111111111111111111111111111111111111111",
        "deadline": "1700000000"
    });
    let function = select_function(&abi, "submit", std::slice::from_ref(&order)).unwrap();
    assert_eq!(function.signature(), ORDER);
    let by_object = encode_call(function, std::slice::from_ref(&order)).unwrap();
    let by_array = encode_call(&parse_function(ORDER).unwrap(), &[order_json()]).unwrap();
    assert_eq!(by_object, by_array);
    // Decoded with the ABI, the struct comes back as an object with its field names.
    let decoded = function.abi_decode_input(&by_object[4..]).unwrap();
    let back = sol_to_json(&decoded[0], Some(&function.inputs[0]));
    assert_eq!(back["give"]["amount"], "1500000");
    assert_eq!(back["want"][1]["amount"], "2");
    // A missing or unknown field is named.
    let mut missing = order.clone();
    missing.as_object_mut().unwrap().remove("salt");
    let error = encode_call(function, &[missing]).unwrap_err().to_string();
    assert!(error.contains("missing field \"salt\""), "{error}");
    let mut extra = order;
    extra["colour"] = json!("red");
    let error = encode_call(function, &[extra]).unwrap_err().to_string();
    assert!(error.contains("unknown field \"colour\""), "{error}");
}

#[test]
fn overloads_are_chosen_by_arity_and_by_type() {
    let abi = Artifact::order_book().unwrap().abi;
    let by_address = select_function(&abi, "describe", &[json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]).unwrap();
    assert_eq!(by_address.signature(), "describe(address)");
    let by_number = select_function(&abi, "describe", &[json!("42")]).unwrap();
    assert_eq!(by_number.signature(), "describe(uint256)");
    let two = select_function(&abi, "describe", &[json!("1"), json!("2")]).unwrap();
    assert_eq!(two.signature(), "describe(uint256,uint256)");
    // An address-shaped string also parses as a uint256: it goes to the address overload.
    let hexy = select_function(&abi, "describe", &[json!("0x0000000000000000000000000000000000000001")]).unwrap();
    assert_eq!(hexy.signature(), "describe(address)");
    // Between overloads the values fit equally well, the tool refuses to guess.
    let both: aomi_chain::alloy::json_abi::JsonAbi =
        aomi_chain::alloy::json_abi::JsonAbi::parse(["function f(uint256)", "function f(int256)"]).unwrap();
    let error = select_function(&both, "f", &[json!("5")]).unwrap_err();
    assert!(matches!(error, AbiError::Ambiguous { .. }), "{error}");
    assert!(error.to_string().contains("f(uint256)") && error.to_string().contains("f(int256)"), "{error}");
    let error = select_function(&abi, "nope", &[]).unwrap_err().to_string();
    assert!(error.contains("no function \"nope\"") && error.contains("submit"), "{error}");
    let error = select_function(&abi, "describe", &[json!("1"), json!("2"), json!("3")]).unwrap_err().to_string();
    assert!(error.contains("takes 1 argument(s) but 3 were given") || error.contains("but 3 were given"), "{error}");
}

#[test]
fn cast_style_signatures_carry_outputs() {
    let function = parse_function("balanceOf(address)(uint256)").unwrap();
    assert_eq!(function.signature(), "balanceOf(address)");
    assert_eq!(function.outputs.len(), 1);
    let function = parse_function("function sum(uint256[] values) external pure returns (uint256 total)").unwrap();
    assert_eq!(function.signature(), "sum(uint256[])");
    assert_eq!(function.outputs[0].name, "total");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let transfer = parse_function("transfer(address,uint256)").unwrap();
    let cases: Vec<(Vec<Value>, &str)> = vec![
        (vec![json!("0x1234"), json!("1")], "is not an address"),
        (vec![json!("bob"), json!("1")], "is not an address"),
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")], "takes 2 argument(s) but 1 were given"),
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!("1.5")], "is not a uint256"),
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!(1.5)], "not an exact integer"),
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!("-1")], "is not a uint256"),
        (
            vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!(format!("{}0", U256::MAX))],
            "is not a uint256",
        ),
        (vec![json!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), json!(true)], "expected uint256, got a boolean"),
    ];
    for (args, needle) in cases {
        let error = encode_call(&transfer, &args).unwrap_err().to_string();
        assert!(error.contains(needle), "{args:?}: {error} lacks {needle:?}");
    }
    let small = parse_function("f(uint8,bytes32)").unwrap();
    let error = arguments(&small, &[json!("256"), json!("0x11")]).unwrap_err().to_string();
    assert!(error.contains("argument 0") && error.contains("uint8"), "{error}");
    let error = arguments(&small, &[json!("255"), json!("0x11")]).unwrap_err().to_string();
    assert!(error.contains("argument 1") && error.contains("bytes32"), "{error}");
    for bad in ["transfer", "transfer(address", "transfer(uint257)", "transfer(addr)"] {
        let error = parse_function(bad).unwrap_err();
        assert!(matches!(error, AbiError::BadSignature { .. }), "{bad}: {error}");
    }
}

/// Regression (found by the fuzz target's hostile cases): `f(uint256[]…[])` with 100 000 array
/// suffixes overflowed the stack, since alloy's type parser bounds tuples but not array suffixes.
/// Deep types are now refused with an error, from a signature and from an explorer's ABI alike.
#[test]
fn deep_and_long_types_are_refused() {
    let deep = format!("f(uint256{})", "[]".repeat(100_000));
    let error = parse_function(&deep).unwrap_err().to_string();
    assert!(error.contains("the limit is 4096"), "{error:.200}");
    let nested = format!("f(uint256{})", "[1]".repeat(MAX_TYPE_DEPTH + 1));
    let error = parse_function(&nested).unwrap_err().to_string();
    assert!(error.contains("levels deep"), "{error}");
    let fine = format!("f(uint256{})", "[1]".repeat(MAX_TYPE_DEPTH));
    assert!(parse_function(&fine).is_ok());
    let tuples = format!("f({}uint256{})", "(".repeat(MAX_TYPE_DEPTH + 1), ")".repeat(MAX_TYPE_DEPTH + 1));
    assert!(parse_function(&tuples).is_err());

    let ty = format!("uint256{}", "[]".repeat(MAX_TYPE_DEPTH + 8));
    let abi: JsonAbi = serde_json::from_value(json!([{
        "type": "function", "name": "f", "stateMutability": "view",
        "inputs": [{ "name": "a", "type": ty }],
        "outputs": [{ "name": "b", "type": ty }],
    }]))
    .unwrap();
    let function = abi.functions().next().unwrap();
    assert!(matches!(arguments(function, &[json!([])]), Err(AbiError::BadSignature { .. })));
    assert!(matches!(decode_output(function, &[0; 64]), Err(AbiError::Decode { .. })));
}
