//! Strategies shared by the property-based fuzz targets of the other crates (feature `fuzz`):
//! arbitrary JSON, hostile strings, and a test-runner configuration that honours
//! `PROPTEST_CASES`. See docs/fuzzing.md.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// Arbitrary JSON: every kind of value, nested up to four levels, with hostile strings among the
/// keys and the texts. Numbers are integers and exactly representable decimals, so that a value
/// survives a trip through JSON text unchanged.
pub fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<String, Value>>())),
        ]
    })
    .boxed()
}

/// A string: mostly short arbitrary Unicode, sometimes one of [`hostile_strings`].
pub fn text() -> BoxedStrategy<String> {
    let hostile = hostile_strings();
    prop_oneof![
        8 => ".{0,24}",
        2 => "[a-z_-]{0,12}",
        1 => proptest::sample::select(hostile),
    ]
    .boxed()
}

/// Hand-picked inputs that break careless parsers: empty and whitespace-only text, control and
/// zero-width characters, bidi overrides, quotes and escapes, deep brackets, long runs of digits,
/// numbers that do not fit, near-JSON, and one large string.
pub fn hostile_strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "\t\n\r",
        "\0",
        "\u{0}\u{1}\u{7f}",
        "\u{200b}\u{200d}\u{feff}",
        "\u{202e}gnp.exe",
        "\u{fffd}",
        "e\u{301}\u{301}\u{301}",
        "👩\u{200d}👩\u{200d}👧",
        "\"",
        "'",
        "\\",
        "\"'\"'",
        "/",
        "//",
        "/ ",
        "/\u{0}",
        "--network",
        "--network=",
        "null",
        "true",
        "{}",
        "[]",
        "{\"type\":",
        "[[[[[[[[",
        "]]]]",
        "0x",
        "0X00",
        "-0",
        "1e309",
        "-1",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "NaN",
        "data: [DONE]",
        "\r\n\r\n",
        "%00%ff",
        "<script>alert(1)</script>",
        "../../etc/passwd",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    strings.push("(".repeat(2000));
    strings.push("[".repeat(2000));
    strings.push("9".repeat(5000));
    strings.push(format!("0x{}", "f".repeat(1000)));
    strings.push("a".repeat(70_000));
    strings
}

/// The test-runner configuration of a fuzz target: `default_cases` cases unless `PROPTEST_CASES`
/// says otherwise, regressions kept next to `source_file` (pass `file!()`).
pub fn config(source_file: &'static str, default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    Config { cases, source_file: Some(source_file), ..Config::default() }
}
