//! Fuzz targets of the ABI layer (`aomi_chain::abi`): the signatures and argument JSON that the
//! model and direct commands send. Properties (docs/fuzzing.md):
//! - no input panics: any signature text, any JSON arguments, any return or revert bytes;
//! - for generated valid types and values, encode then decode gives the values back;
//! - deep nesting and huge lengths are refused with an error (no stack overflow, no huge
//!   allocation): the hostile cases below.
//!
//! Cases per property: `PROPTEST_CASES` (256 by default).

use aomi_chain::abi::{self, AbiError, decode_output, decode_revert, encode_call, parse_function};
use aomi_chain::alloy::primitives::{Address, U256, hex};
use aomi_testkit::fuzz::{arb_json, config, hostile_strings};
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{Value, json};

/// A Solidity type with a JSON value of it: the value as sent (`input`) and as the decoder gives
/// it back (`expected`: integers as decimal strings, addresses checksummed, hex in lower case).
#[derive(Debug, Clone)]
struct Typed {
    ty: String,
    input: Value,
    expected: Value,
}

fn address() -> BoxedStrategy<(Value, Value)> {
    (any::<[u8; 20]>(), any::<bool>())
        .prop_map(|(raw, lower)| {
            let address = Address::from(raw);
            let checksummed = address.to_checksum(None);
            // The decoder checksums; the model may send either case.
            let sent = if lower { checksummed.to_lowercase() } else { checksummed.clone() };
            (json!(sent), json!(checksummed))
        })
        .boxed()
}

fn uint(bits: usize) -> BoxedStrategy<(Value, Value)> {
    (any::<[u8; 32]>(), any::<bool>())
        .prop_map(move |(raw, as_number)| {
            let value = U256::from_be_bytes(raw) >> (256 - bits);
            let text = value.to_string();
            // Small integers may be JSON numbers; they come back as decimal strings.
            let sent = match u64::try_from(value) {
                Ok(small) if as_number => json!(small),
                _ => json!(text),
            };
            (sent, json!(text))
        })
        .boxed()
}

fn int(bits: usize) -> BoxedStrategy<(Value, Value)> {
    any::<i128>()
        .prop_map(move |raw| {
            // Fit the value into `bits` (an arithmetic shift keeps the sign).
            let value = if bits >= 128 { raw } else { raw >> (128 - bits) };
            (json!(value.to_string()), json!(value.to_string()))
        })
        .boxed()
}

fn fixed_bytes(size: usize) -> BoxedStrategy<(Value, Value)> {
    proptest::collection::vec(any::<u8>(), size)
        .prop_map(|raw| {
            let text = hex::encode_prefixed(raw);
            (json!(text), json!(text))
        })
        .boxed()
}

fn bytes() -> BoxedStrategy<(Value, Value)> {
    proptest::collection::vec(any::<u8>(), 0..70)
        .prop_map(|raw| {
            let text = hex::encode_prefixed(raw);
            (json!(text), json!(text))
        })
        .boxed()
}

/// A type tree: leaves, dynamic and fixed arrays, tuples; a few levels deep.
#[derive(Debug, Clone)]
enum Shape {
    Leaf(usize),
    Array(Box<Shape>, usize),
    Fixed(Box<Shape>, usize),
    Tuple(Vec<Shape>),
}

fn shape() -> impl Strategy<Value = Shape> {
    (0usize..10).prop_map(Shape::Leaf).prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (inner.clone(), 0usize..3).prop_map(|(s, n)| Shape::Array(Box::new(s), n)),
            (inner.clone(), 1usize..3).prop_map(|(s, n)| Shape::Fixed(Box::new(s), n)),
            proptest::collection::vec(inner, 1..4).prop_map(Shape::Tuple),
        ]
    })
}

/// Values of `shape`, with the type text.
fn typed(shape: &Shape) -> BoxedStrategy<Typed> {
    match shape {
        Shape::Leaf(kind) => {
            let (ty, values) = leaf(*kind);
            values.prop_map(move |(input, expected)| Typed { ty: ty.clone(), input, expected }).boxed()
        }
        Shape::Array(inner, len) => {
            let inner_ty = typed(inner);
            let len = *len;
            let ty_text = type_text(inner);
            proptest::collection::vec(inner_ty, len)
                .prop_map(move |items| Typed {
                    ty: format!("{ty_text}[]"),
                    input: Value::Array(items.iter().map(|t| t.input.clone()).collect()),
                    expected: Value::Array(items.iter().map(|t| t.expected.clone()).collect()),
                })
                .boxed()
        }
        Shape::Fixed(inner, len) => {
            let ty_text = type_text(inner);
            let len = *len;
            proptest::collection::vec(typed(inner), len)
                .prop_map(move |items| Typed {
                    ty: format!("{ty_text}[{len}]"),
                    input: Value::Array(items.iter().map(|t| t.input.clone()).collect()),
                    expected: Value::Array(items.iter().map(|t| t.expected.clone()).collect()),
                })
                .boxed()
        }
        Shape::Tuple(fields) => {
            let ty_text = type_text(shape);
            fields
                .iter()
                .map(typed)
                .collect::<Vec<_>>()
                .prop_map(move |items| Typed {
                    ty: ty_text.clone(),
                    input: Value::Array(items.iter().map(|t| t.input.clone()).collect()),
                    expected: Value::Array(items.iter().map(|t| t.expected.clone()).collect()),
                })
                .boxed()
        }
    }
}

/// Leaf kind `kind`: its type text and a strategy for its values.
fn leaf(kind: usize) -> (String, BoxedStrategy<(Value, Value)>) {
    match kind {
        0 => ("address".into(), address()),
        1 => ("bool".into(), any::<bool>().prop_map(|b| (json!(b), json!(b))).boxed()),
        2 => ("uint256".into(), uint(256)),
        3 => ("int24".into(), int(24)),
        4 => ("bytes32".into(), fixed_bytes(32)),
        5 => ("bytes".into(), bytes()),
        6 => ("uint8".into(), uint(8)),
        7 => ("int256".into(), int(256)),
        8 => ("bytes1".into(), fixed_bytes(1)),
        _ => ("string".into(), any::<String>().prop_map(|s| (json!(s), json!(s))).boxed()),
    }
}

fn type_text(shape: &Shape) -> String {
    match shape {
        Shape::Leaf(kind) => leaf(*kind).0,
        Shape::Array(inner, _) => format!("{}[]", type_text(inner)),
        Shape::Fixed(inner, len) => format!("{}[{len}]", type_text(inner)),
        Shape::Tuple(fields) => format!("({})", fields.iter().map(type_text).collect::<Vec<_>>().join(",")),
    }
}

/// One to four arguments of generated types.
fn call() -> impl Strategy<Value = Vec<Typed>> {
    proptest::collection::vec(shape(), 1..5).prop_flat_map(|shapes| shapes.iter().map(typed).collect::<Vec<_>>())
}

/// Signature-like text: the parser's own alphabet, so that most cases get past the first bracket.
fn signature_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z]{0,6}\\(((u?int|bytes)[0-9]{0,3}|address|bool|string|tuple|[()\\[\\],0-9 ]){0,12}\\)(\\(.{0,12}\\))?",
        "function [a-z]{1,5}\\((uint256 [a-z]+|address|\\(bool,bytes\\)\\[\\]|string memory s)?\\) (view |pure )?returns \\((uint8|bool)\\)",
    ]
}

/// Runs everything `abi` does with a signature and arguments; only errors may come out.
fn exercise(signature: &str, args: &[Value], data: &[u8]) {
    let Ok(function) = parse_function(signature) else { return };
    let _ = abi::describe_function(&function);
    let _ = abi::arguments(&function, args);
    if let Ok(encoded) = encode_call(&function, args) {
        assert_eq!(&encoded[..4], function.selector().as_slice());
    }
    let _ = decode_output(&function, data);
}

proptest! {
    #![proptest_config(config(file!(), 256))]

    /// Encoding generated values of generated types and decoding them gives the values back
    /// (in their canonical JSON form).
    #[test]
    fn encode_then_decode_gives_the_values_back(args in call()) {
        let types: Vec<&str> = args.iter().map(|a| a.ty.as_str()).collect();
        // Cast's syntax: the outputs in a second pair of parentheses, here the same types, so the
        // calldata after the selector is also valid return data.
        let signature = format!("f({0})({0})", types.join(","));
        let function = parse_function(&signature).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let inputs: Vec<Value> = args.iter().map(|a| a.input.clone()).collect();
        let data = encode_call(&function, &inputs).map_err(|e| TestCaseError::fail(format!("{signature}: {e}")))?;
        let back = decode_output(&function, &data[4..]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected: Vec<Value> = args.iter().map(|a| a.expected.clone()).collect();
        prop_assert_eq!(back, expected, "{}", signature);
    }

    /// Any signature text, any JSON arguments, any return data: an error or a result, never a
    /// panic.
    #[test]
    fn arbitrary_signatures_and_arguments_never_panic(
        signature in signature_text(),
        args in proptest::collection::vec(arb_json(), 0..4),
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        exercise(&signature, &args, &data);
    }

    /// Arbitrary JSON for generated valid types: a clear error or calldata, never a panic.
    #[test]
    fn arbitrary_json_for_valid_types_never_panics(
        args in call(),
        values in proptest::collection::vec(arb_json(), 1..5),
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let types: Vec<&str> = args.iter().map(|a| a.ty.as_str()).collect();
        let signature = format!("f({0})({0})", types.join(","));
        exercise(&signature, &values, &data);
    }

    /// Values in cast's string syntax (what direct commands type) are parsed, or refused.
    #[test]
    fn string_syntax_never_panics(args in call(), texts in proptest::collection::vec(".{0,40}", 1..5)) {
        let types: Vec<&str> = args.iter().map(|a| a.ty.as_str()).collect();
        let values: Vec<Value> = texts.into_iter().map(Value::String).collect();
        exercise(&format!("f({})", types.join(",")), &values, &[]);
    }

    /// Any revert data decodes to a reason.
    #[test]
    fn revert_data_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let reason = decode_revert(&data, None);
        prop_assert_eq!(reason.data, hex::encode_prefixed(&data));
    }
}

fn refused(signature: &str) -> TestCaseResult {
    match parse_function(signature) {
        Err(AbiError::BadSignature { .. }) => Ok(()),
        other => Err(TestCaseError::fail(format!("{:.80}…: {other:?}", signature))),
    }
}

/// Hostile signatures: each is refused with an error, not a stack overflow or a huge allocation.
#[test]
fn hostile_signatures_are_refused() {
    let deep_tuple = format!("f({}uint256{})", "(".repeat(10_000), ")".repeat(10_000));
    let deep_array = format!("f(uint256{})", "[]".repeat(100_000));
    let deep_fixed = format!("f(uint256{})", "[1]".repeat(100_000));
    let deep_unclosed = format!("f({}", "(".repeat(100_000));
    for signature in [
        deep_tuple.as_str(),
        deep_array.as_str(),
        deep_fixed.as_str(),
        deep_unclosed.as_str(),
        "f(uint256[99999999999999999999999])",
        "f(uint257)",
        "f(uint0)",
        "f(bytes33)",
        "f(bytes0)",
        "f(uint256[0])",
        "transfer",
        "",
        "(",
        "f(,)",
    ] {
        if let Err(error) = refused(signature) {
            panic!("{error}");
        }
    }
    for text in hostile_strings() {
        exercise(&text, &[json!(text)], text.as_bytes());
    }
}

/// Huge declared lengths cost nothing until values or data of that size are given.
#[test]
fn huge_lengths_are_refused_without_allocating() {
    let function = parse_function("f(uint256[4294967295])(uint256[4294967295])").unwrap();
    assert!(matches!(encode_call(&function, &[json!([])]), Err(AbiError::BadArgument { .. })));
    assert!(matches!(encode_call(&function, &[json!("[1,2]")]), Err(AbiError::BadArgument { .. })));
    assert!(matches!(decode_output(&function, &[0; 64]), Err(AbiError::Decode { .. })));
    // A dynamic array that claims 2^64-1 items in 64 bytes of data.
    let function = parse_function("f()(uint256[][])").unwrap();
    let mut data = vec![0u8; 64];
    data[31] = 0x20;
    data[32..].fill(0xff);
    assert!(matches!(decode_output(&function, &data), Err(AbiError::Decode { .. })));
    // Zero-sized elements: an empty tuple array claiming a huge length decodes to nothing.
    if let Ok(function) = parse_function("f()(()[4294967295][4294967295])") {
        let _ = decode_output(&function, &[]);
    }
}
