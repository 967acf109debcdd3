//! Fuzz targets of the direct commands (`aomi_tools::commands::parse`), the parser every chat
//! message meets first. Properties (docs/fuzzing.md):
//! - any message parses to "not a command", a command or a usage error, never a panic;
//! - a message is a command only when it starts with `/` and a letter, and a parsed command's
//!   name is one of [`COMMANDS`];
//! - words split on whitespace, and quoted arguments come back exactly as they were, spaces,
//!   parentheses and the other quote included.
//!
//! Cases per property: `PROPTEST_CASES` (256 by default).

use aomi_testkit::fuzz::{config, hostile_strings, text};
use aomi_tools::commands::{COMMANDS, Command, find, parse};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The tool each command runs (`None`: `/help`, which runs none).
fn tool_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "balance" => "get_balance",
        "token" => "get_token_balance",
        "call" => "call_view_function",
        "encode" => "encode_function_call",
        "tx" => "get_transaction",
        "receipt" => "get_receipt",
        "block" => "get_block",
        "gas" => "get_gas_price",
        "account" => "get_account_info",
        "ens" => "resolve_ens",
        "lookup" => "lookup_address",
        "network" => "switch_network",
        "time" => "get_current_time",
        _ => return None,
    })
}

/// Checks what `parse` says about `message` against what the message is.
fn check(message: &str) -> Result<(), TestCaseError> {
    let parsed = parse(message);
    let rest = message.trim().strip_prefix('/');
    let looks_like_command = rest.is_some_and(|r| r.starts_with(|c: char| c.is_ascii_alphabetic()));
    prop_assert_eq!(parsed.is_some(), looks_like_command, "{:?}: {:?}", message, parsed);
    let Some(Ok(command)) = parsed else { return Ok(()) };
    // The command is one of the list, and runs that command's tool.
    let spec = match &command {
        Command::Help => find("help"),
        Command::Tool { tool, .. } => COMMANDS.iter().find(|c| tool_of(c.name) == Some(tool.as_str())),
    };
    let Some(spec) = spec else {
        return Err(TestCaseError::fail(format!("{message:?} parsed as {command:?}, a tool of no command")));
    };
    if let Command::Tool { args, .. } = &command {
        prop_assert!(args.is_object(), "{:?}: {}", message, args);
    }
    // When the first word has no quotes, it is that command's name or alias, in any case.
    let typed: String = rest.unwrap_or_default().chars().take_while(|c| !c.is_whitespace()).collect();
    if !typed.contains(['"', '\'']) {
        prop_assert_eq!(find(&typed).map(|c| c.name), Some(spec.name), "{:?}", message);
    }
    Ok(())
}

/// A word of a command line: text without whitespace or quotes, or anything quoted.
fn word() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\s\"']{1,12}", text()]
}

/// Quotes `word` so that the splitter gives it back whole: double quotes unless it holds one.
fn quote(word: &str) -> Option<String> {
    if !word.contains('"') {
        Some(format!("\"{word}\""))
    } else if !word.contains('\'') {
        Some(format!("'{word}'"))
    } else {
        None
    }
}

/// Arguments that round-trip: `--network` is a flag wherever it stands, quoted or not.
fn plain_argument(word: &str) -> bool {
    !word.starts_with("--network") && quote(word).is_some()
}

fn separator() -> impl Strategy<Value = String> {
    "[ \t\n\u{a0}\u{3000}]{1,3}"
}

proptest! {
    #![proptest_config(config(file!(), 256))]

    /// Any text at all.
    #[test]
    fn any_message_never_panics(message in text()) {
        check(&message)?;
    }

    /// Text that starts like a command: a known name or alias in any case, then arbitrary words.
    #[test]
    fn command_like_messages_never_panic(
        spec in proptest::sample::select(COMMANDS),
        upper in any::<bool>(),
        words in proptest::collection::vec(word(), 0..5),
        tail in text(),
    ) {
        let name = if upper { spec.name.to_uppercase() } else { spec.name.to_owned() };
        check(&format!("/{name} {} {tail}", words.join(" ")))?;
        check(&format!("  /{name}{tail}"))?;
    }

    /// Quoted arguments come back exactly: `/encode <signature> <args…>` hands every argument to
    /// the tool as written, and `--network <name>` anywhere sets the network.
    #[test]
    fn quoted_arguments_round_trip(
        signature in word().prop_filter("round-trips", |w| plain_argument(w)),
        args in proptest::collection::vec(word().prop_filter("round-trips", |w| plain_argument(w)), 0..5),
        separators in proptest::collection::vec(separator(), 8),
        network in proptest::option::of("[a-z]{1,10}"),
        flag_at in 0usize..6,
    ) {
        let mut words: Vec<String> = std::iter::once(&signature).chain(&args).filter_map(|w| quote(w)).collect();
        if let Some(network) = &network {
            let at = flag_at.min(words.len());
            words.insert(at, network.clone());
            words.insert(at, "--network".to_owned());
        }
        let mut line = String::from("/encode");
        for (word, sep) in words.iter().zip(separators.iter().cycle()) {
            line.push_str(sep);
            line.push_str(word);
        }
        let parsed = parse(&line);
        let mut expected = json!({ "signature": signature, "args": args });
        if let Some(network) = network {
            expected["network"] = Value::String(network);
        }
        prop_assert_eq!(
            parsed,
            Some(Ok(Command::Tool { tool: "encode_function_call".into(), args: expected })),
            "{:?}",
            line
        );
    }

    /// Unquoted words split on any whitespace.
    #[test]
    fn unquoted_words_split_on_whitespace(
        address in "[^\\s\"']{1,20}",
        separators in (separator(), separator(), separator()),
    ) {
        let (lead, middle, trail) = separators;
        let parsed = parse(&format!("{lead}/balance{middle}{address}{trail}"));
        prop_assert_eq!(
            parsed,
            Some(Ok(Command::Tool { tool: "get_balance".into(), args: json!({ "address": address }) }))
        );
    }
}

/// The seed corpus: hostile messages, alone and after each command name.
#[test]
fn hostile_messages_are_parsed_or_refused() {
    let mut messages = hostile_strings();
    messages.extend(
        [
            "/",
            "/ ",
            "/1",
            "/é",
            "/balance \"",
            "/balance '",
            "/balance \"\"",
            "/call 0x \"f(uint\"",
            "/encode --network",
            "/encode --network=",
            "/encode --network --network",
            "/gas --network= x",
            "/network --network a b",
            "/BAL\u{0}",
            "/time\u{a0}now",
            "/helpme",
        ]
        .map(str::to_owned),
    );
    for hostile in hostile_strings() {
        for spec in COMMANDS {
            messages.push(format!("/{} {hostile}", spec.name));
            messages.push(format!("/{}{hostile}", spec.name));
        }
    }
    for message in &messages {
        if let Err(error) = check(message) {
            panic!("{error}");
        }
    }
    // A quoted `--network` is still the flag: quoting does not make it an argument.
    assert_eq!(
        parse("/encode \"f(string)\" \"--network\" base"),
        Some(Ok(Command::Tool {
            tool: "encode_function_call".into(),
            args: json!({ "signature": "f(string)", "args": [], "network": "base" }),
        }))
    );
}
