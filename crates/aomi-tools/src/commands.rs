//! Direct commands: a message that starts with `/` runs one tool without the model, with cast-like
//! syntax. They work when no model is configured, and stream the same parts as a model's tool call.

use aomi_core::TypedTool;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::chain::{
    CallViewFunction, EncodeFunctionCall, GetAccountInfo, GetBalance, GetBlock, GetGasPrice, GetReceipt,
    GetTokenBalance, GetTransaction, LookupAddress, ResolveEns, SwitchNetwork,
};
use crate::time::GetCurrentTime;

/// What a command asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run `tool` with `args`.
    Tool {
        /// The tool's name.
        tool: String,
        /// Its arguments.
        args: Value,
    },
    /// Show [`help`].
    Help,
}

/// One direct command: its name, the other names it answers to, how to call it and what it does.
/// [`COMMANDS`] is the one list that the dispatcher ([`parse`]), `/help` ([`help`]) and
/// `GET /api/commands` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    /// The name typed after `/`.
    pub name: &'static str,
    /// Other names that run the same command.
    #[serde(skip)]
    pub aliases: &'static [&'static str],
    /// What it does, in a few words.
    pub description: &'static str,
    /// How to call it, placeholders in `<>`, optional arguments in `[]`.
    pub usage: &'static str,
}

/// Every direct command, in the order `/help` lists them.
pub const COMMANDS: &[CommandSpec] = &[
    spec("balance", &["bal"], "Native balance", "/balance <address|ens> [network]"),
    spec("token", &[], "ERC20 balance", "/token <token> <owner> [network]"),
    spec("call", &[], "Read a contract", "/call <address> \"balanceOf(address)(uint256)\" [args…]"),
    spec("encode", &[], "Calldata of a call", "/encode \"transfer(address,uint256)\" [args…]"),
    spec("tx", &[], "A transaction", "/tx <hash> [network]"),
    spec("receipt", &[], "A transaction's receipt", "/receipt <hash> [network]"),
    spec("block", &[], "A block", "/block [number|hash|latest] [network]"),
    spec("gas", &[], "Gas price", "/gas [network]"),
    spec("account", &[], "Nonce, code, balance", "/account <address> [network]"),
    spec("ens", &[], "Resolve an ENS name", "/ens <name>"),
    spec("lookup", &[], "The ENS name of an address", "/lookup <address>"),
    spec("network", &["switch"], "Switch this chat's network (none: list them)", "/network [name]"),
    spec("time", &["now"], "The current time", "/time"),
    spec("help", &["h"], "Every command, with examples", "/help"),
];

const fn spec(
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    usage: &'static str,
) -> CommandSpec {
    CommandSpec { name, aliases, description, usage }
}

/// The command called `name` (or one of its aliases), case-insensitively.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    let name = name.to_lowercase();
    COMMANDS.iter().find(|c| c.name == name || c.aliases.contains(&name.as_str()))
}

/// The list of commands, as `/help` shows it.
pub fn help() -> String {
    let mut text = String::from("Direct commands run a tool without the model:\n\n");
    for command in COMMANDS {
        text.push_str(&format!("- `{}`: {}\n", command.usage, command.description));
    }
    text.push_str(
        "\nAny command takes `--network <name>` to read another network once. \
         Quote arguments that contain spaces or parentheses: `/call 0x… \"sum(uint256[])(uint256)\" \"[1,2,3]\"`.",
    );
    text
}

/// Parses a message. `None` when it is not a command (it does not start with `/` and a letter);
/// `Some(Err(text))` when it is a malformed command: the text says the right usage.
pub fn parse(message: &str) -> Option<Result<Command, String>> {
    let text = message.trim();
    let rest = text.strip_prefix('/')?;
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(parse_command(rest))
}

fn parse_command(rest: &str) -> Result<Command, String> {
    let mut words = split(rest)?;
    let typed = words.remove(0).to_lowercase();
    // Only a command of the list reaches the match below, so the list is what the dispatcher accepts.
    let Some(command) = find(&typed) else {
        return Err(format!("Unknown command /{typed}. Type /help for the commands."));
    };
    let name = command.name;
    let network = take_flag(&mut words, "--network")?;
    let usage = || Err(format!("Usage: {}. Type /help for every command.", command.usage));
    let tool = |tool: &str, args: Map<String, Value>| {
        let mut args = args;
        if let Some(network) = &network {
            args.insert("network".into(), json!(network));
        }
        Ok(Command::Tool { tool: tool.into(), args: Value::Object(args) })
    };
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    match (name, words.as_slice()) {
        ("help", _) => Ok(Command::Help),
        ("balance", [address]) => {
            put("address", json!(address));
            tool(GetBalance::NAME, map)
        }
        ("balance", [address, net]) => {
            put("address", json!(address));
            put("network", json!(net));
            tool(GetBalance::NAME, map)
        }
        ("balance", _) => usage(),
        ("token", [token, owner, rest @ ..]) if rest.len() <= 1 => {
            put("token", json!(token));
            put("owner", json!(owner));
            if let [net] = rest {
                put("network", json!(net));
            }
            tool(GetTokenBalance::NAME, map)
        }
        ("token", _) => usage(),
        ("call", [address, signature, args @ ..]) => {
            put("address", json!(address));
            put("signature", json!(signature));
            put("args", json!(args));
            tool(CallViewFunction::NAME, map)
        }
        ("call", _) => usage(),
        ("encode", [signature, args @ ..]) => {
            put("signature", json!(signature));
            put("args", json!(args));
            tool(EncodeFunctionCall::NAME, map)
        }
        ("encode", _) => usage(),
        ("tx" | "receipt", [hash, rest @ ..]) if rest.len() <= 1 => {
            put("hash", json!(hash));
            if let [net] = rest {
                put("network", json!(net));
            }
            tool(if name == "tx" { GetTransaction::NAME } else { GetReceipt::NAME }, map)
        }
        ("tx", _) => usage(),
        ("receipt", _) => usage(),
        ("block", rest) if rest.len() <= 2 => {
            if let Some(block) = rest.first() {
                put("block", json!(block));
            }
            if let Some(net) = rest.get(1) {
                put("network", json!(net));
            }
            tool(GetBlock::NAME, map)
        }
        ("block", _) => usage(),
        ("gas", rest) if rest.len() <= 1 => {
            if let Some(net) = rest.first() {
                put("network", json!(net));
            }
            tool(GetGasPrice::NAME, map)
        }
        ("gas", _) => usage(),
        ("account", [address, rest @ ..]) if rest.len() <= 1 => {
            put("address", json!(address));
            if let [net] = rest {
                put("network", json!(net));
            }
            tool(GetAccountInfo::NAME, map)
        }
        ("account", _) => usage(),
        ("ens", [ens]) => {
            put("name", json!(ens));
            tool(ResolveEns::NAME, map)
        }
        ("ens", _) => usage(),
        ("lookup", [address]) => {
            put("address", json!(address));
            tool(LookupAddress::NAME, map)
        }
        ("lookup", _) => usage(),
        ("network", rest) if rest.len() <= 1 => {
            if let Some(net) = rest.first().or(network.as_ref()) {
                put("network", json!(net));
            }
            Ok(Command::Tool { tool: SwitchNetwork::NAME.into(), args: Value::Object(map) })
        }
        ("network", _) => usage(),
        ("time", []) => Ok(Command::Tool { tool: GetCurrentTime::NAME.into(), args: json!({}) }),
        ("time", _) => usage(),
        // A command of the list without an arm: the test `every_listed_command_is_dispatched` catches it.
        (other, _) => Err(format!("Unknown command /{other}. Type /help for the commands.")),
    }
}

/// Removes `--flag value` (or `--flag=value`) from `words`.
fn take_flag(words: &mut Vec<String>, flag: &str) -> Result<Option<String>, String> {
    let prefix = format!("{flag}=");
    if let Some(index) = words.iter().position(|w| w.starts_with(&prefix)) {
        return Ok(Some(words.remove(index)[prefix.len()..].to_owned()));
    }
    let Some(index) = words.iter().position(|w| w == flag) else { return Ok(None) };
    if index + 1 >= words.len() {
        return Err(format!("{flag} needs a value"));
    }
    words.remove(index);
    Ok(Some(words.remove(index)))
}

/// Splits a command line into words: whitespace separates, double or single quotes group.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q} quote"));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(text: &str) -> (String, Value) {
        match parse(text) {
            Some(Ok(Command::Tool { tool, args })) => (tool, args),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn commands_map_to_tools() {
        assert_eq!(tool("/balance 0xabc"), ("get_balance".into(), json!({ "address": "0xabc" })));
        assert_eq!(tool("/balance vitalik.eth mainnet").1, json!({ "address": "vitalik.eth", "network": "mainnet" }));
        assert_eq!(
            tool("/call 0xabc \"balanceOf(address)(uint256)\" 0xdef"),
            (
                "call_view_function".into(),
                json!({ "address": "0xabc", "signature": "balanceOf(address)(uint256)", "args": ["0xdef"] })
            )
        );
        assert_eq!(tool("/call 0xabc 'sum(uint256[])(uint256)' \"[1, 2]\"").1["args"], json!(["[1, 2]"]));
        assert_eq!(tool("/tx 0x01 --network base").1, json!({ "hash": "0x01", "network": "base" }));
        assert_eq!(tool("/block").0, "get_block");
        assert_eq!(tool("/network sepolia").1, json!({ "network": "sepolia" }));
        assert_eq!(tool("/network").1, json!({}));
        assert_eq!(parse("/help"), Some(Ok(Command::Help)));
    }

    #[test]
    fn every_listed_command_is_dispatched() {
        for command in COMMANDS {
            for name in std::iter::once(&command.name).chain(command.aliases) {
                match parse(&format!("/{name}")) {
                    Some(Ok(_)) => {}
                    Some(Err(text)) => assert!(text.starts_with("Usage: "), "/{name}: {text}"),
                    None => panic!("/{name} is not a command"),
                }
            }
            assert!(help().contains(command.usage), "/help lacks {}", command.name);
        }
        assert_eq!(find("BAL").map(|c| c.name), Some("balance"));
    }

    #[test]
    fn non_commands_and_bad_commands() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("/ 5"), None);
        assert!(matches!(parse("/balance"), Some(Err(text)) if text.contains("Usage: /balance")));
        assert!(matches!(parse("/frobnicate"), Some(Err(text)) if text.contains("Unknown command /frobnicate")));
        assert!(matches!(parse("/call 0x \"f(uint"), Some(Err(text)) if text.contains("unclosed")));
        assert!(matches!(parse("/gas --network"), Some(Err(text)) if text.contains("needs a value")));
    }
}
