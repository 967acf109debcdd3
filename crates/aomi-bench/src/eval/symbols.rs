//! Devnet symbols in scenario files: `$USDC`, `$ACCOUNT_7`, `$WALLET`, … replaced by addresses.
//!
//! A scenario is written before the devnet exists, so it names the devnet's contracts and accounts
//! symbolically; [`resolve`] replaces every symbol in every string of the scenario (the user's
//! messages, the scripted replies and their tool-call arguments, the checks, the wallets) with the
//! address of the devnet the run started. `$WALLET` is the wallet address of the turn it appears
//! in. Symbols are checked when a scenario is read, so a typo fails at once.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::eval::spec::{Scenario, WalletSpec};

/// The contracts' symbols, as the devnet deploys them.
pub const CONTRACTS: [&str; 8] =
    ["USDC", "DAI", "WETH", "ORDER_BOOK", "REVERTER", "V2_ROUTER", "V2_FACTORY", "SWAP_ROUTER"];
/// anvil's dev accounts: `$ACCOUNT_0` … `$ACCOUNT_9`.
pub const ACCOUNTS: usize = 10;
/// The symbol of the turn's wallet address.
pub const WALLET: &str = "WALLET";

/// Splits `text` into literal pieces and symbols: `$` followed by a capital letter, then capitals,
/// digits and `_` (`$5` or `$x` are text).
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut rest = text.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        let starts_symbol = c == '$' && rest.peek().is_some_and(|(_, next)| next.is_ascii_uppercase());
        if !starts_symbol {
            continue;
        }
        let mut end = at + 1;
        while let Some(&(index, next)) = rest.peek() {
            if !(next.is_ascii_uppercase() || next.is_ascii_digit() || next == '_') {
                break;
            }
            end = index + next.len_utf8();
            rest.next();
        }
        pieces.push(Piece::Text(&text[literal_start..at]));
        pieces.push(Piece::Symbol(&text[at + 1..end]));
        literal_start = end;
    }
    pieces.push(Piece::Text(&text[literal_start..]));
    pieces
}

/// A piece of a string: text, or a symbol (without its `$`).
enum Piece<'a> {
    Text(&'a str),
    Symbol(&'a str),
}

/// True for a symbol a scenario may use (without the `$`).
pub fn is_known(symbol: &str) -> bool {
    symbol == WALLET
        || CONTRACTS.contains(&symbol)
        || symbol.strip_prefix("ACCOUNT_").and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n < ACCOUNTS)
}

/// The devnet's addresses by symbol (without the `$`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressBook {
    addresses: BTreeMap<String, String>,
}

impl AddressBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `symbol` (`USDC`, `ACCOUNT_3`) at `address`.
    pub fn insert(&mut self, symbol: impl Into<String>, address: impl Into<String>) {
        self.addresses.insert(symbol.into(), address.into());
    }

    /// The address of `symbol`, with or without its `$`.
    pub fn get(&self, symbol: &str) -> Option<&str> {
        self.addresses.get(symbol.trim_start_matches('$')).map(String::as_str)
    }

    /// Every symbol and its address.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.addresses.iter().map(|(symbol, address)| (symbol.as_str(), address.as_str()))
    }

    /// `text` with every symbol replaced; `wallet` is what `$WALLET` stands for.
    pub fn substitute(&self, text: &str, wallet: Option<&str>) -> Result<String, String> {
        let mut replaced = String::with_capacity(text.len());
        for piece in pieces(text) {
            match piece {
                Piece::Text(text) => replaced.push_str(text),
                Piece::Symbol(WALLET) => {
                    replaced.push_str(wallet.ok_or("$WALLET is used where the wallet has no address")?);
                }
                Piece::Symbol(symbol) => {
                    replaced.push_str(self.get(symbol).ok_or_else(|| format!("${symbol} is not on this devnet"))?);
                }
            }
        }
        Ok(replaced)
    }
}

/// Applies `edit` to every string inside `value`; map keys (argument paths) are left alone.
fn map_strings(value: &mut Value, edit: &mut dyn FnMut(&str) -> Result<String, String>) -> Result<(), String> {
    match value {
        Value::String(text) => *text = edit(text)?,
        Value::Array(items) => {
            for item in items {
                map_strings(item, edit)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                map_strings(item, edit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every string of `item` passed through `edit`, by way of its JSON form.
fn edit_strings<T: Serialize + DeserializeOwned>(
    item: &T,
    edit: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<T, String> {
    let mut value = serde_json::to_value(item).map_err(|e| e.to_string())?;
    map_strings(&mut value, edit)?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The symbols used in `item`'s strings.
fn symbols_of<T: Serialize>(item: &T) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(mut value) = serde_json::to_value(item) {
        let _ = map_strings(&mut value, &mut |text| {
            found.extend(pieces(text).into_iter().filter_map(|piece| match piece {
                Piece::Symbol(symbol) => Some(symbol.to_owned()),
                Piece::Text(_) => None,
            }));
            Ok(text.to_owned())
        });
    }
    found
}

/// Checks the symbols of a scenario as it is read: each must be known, and only a scenario on the
/// devnet may name the devnet's addresses.
pub(crate) fn validate(scenario: &Scenario, on_devnet: bool) -> Result<(), String> {
    let wallet = symbols_of(&scenario.wallet);
    if wallet.iter().any(|s| s == WALLET) {
        return Err("the scenario's wallet cannot be $WALLET".into());
    }
    for (index, turn) in scenario.turns.iter().enumerate() {
        for symbol in symbols_of(turn).iter().chain(&wallet) {
            if !is_known(symbol) {
                return Err(format!(
                    "turn {}: unknown symbol ${symbol}; known: ${WALLET}, ${}, $ACCOUNT_0 … $ACCOUNT_{}",
                    index + 1,
                    CONTRACTS.join(", $"),
                    ACCOUNTS - 1
                ));
            }
            if symbol != WALLET && !on_devnet {
                return Err(format!("turn {}: ${symbol} is a devnet address; add needs = [\"devnet\"]", index + 1));
            }
        }
    }
    Ok(())
}

/// A wallet's address, symbols replaced, must be one (EIP-55 checked where it mixes case).
fn check_address(wallet: Option<&WalletSpec>) -> Result<(), String> {
    match wallet.and_then(|w| w.address.as_deref()) {
        Some(address) => aomi_core::Address::parse(address).map(drop).map_err(|e| format!("wallet.address: {e}")),
        None => Ok(()),
    }
}

/// `scenario` with every symbol replaced by its address in `book`.
pub fn resolve(scenario: &Scenario, book: &AddressBook) -> Result<Scenario, Error> {
    let fail = |why: String| Error::Scenario(format!("{}: {why}", scenario.file.display()));
    let mut resolved = scenario.clone();
    resolved.wallet = edit_strings(&scenario.wallet, &mut |text| book.substitute(text, None)).map_err(fail)?;
    check_address(resolved.wallet.as_ref()).map_err(fail)?;
    let mut wallet = resolved.wallet.as_ref().and_then(|w| w.address.clone());
    for (index, turn) in resolved.turns.iter_mut().enumerate() {
        let at = |why: String| fail(format!("turn {}: {why}", index + 1));
        if turn.wallet.is_some() {
            let change =
                edit_strings(&turn.wallet, &mut |text| book.substitute(text, wallet.as_deref())).map_err(at)?;
            check_address(change.as_ref()).map_err(at)?;
            wallet = change.as_ref().and_then(|w| w.address.clone());
            turn.wallet = change;
        }
        *turn = edit_strings(&*turn, &mut |text| book.substitute(text, wallet.as_deref())).map_err(at)?;
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> AddressBook {
        let mut book = AddressBook::new();
        book.insert("USDC", "0x5FbDB2315678afecb367f032d93F642f64180aa3");
        book.insert("ACCOUNT_1", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        book.insert("ACCOUNT_10_NOT", "never used");
        book
    }

    #[test]
    fn replaces_symbols_and_leaves_other_dollars_alone() {
        let text = book().substitute("Send $5 of $USDC to $ACCOUNT_1 from $WALLET, é$x$", Some("0xabc")).unwrap();
        assert_eq!(
            text,
            "Send $5 of 0x5FbDB2315678afecb367f032d93F642f64180aa3 to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 from 0xabc, é$x$"
        );
        assert_eq!(book().substitute("$WALLET", None).unwrap_err(), "$WALLET is used where the wallet has no address");
        assert_eq!(book().substitute("$DAI", None).unwrap_err(), "$DAI is not on this devnet");
    }

    #[test]
    fn knows_the_symbols_of_the_devnet() {
        assert!(is_known("ORDER_BOOK") && is_known("ACCOUNT_9") && is_known("WALLET"));
        assert!(!is_known("ACCOUNT_10") && !is_known("USDT"));
    }

    #[test]
    fn resolves_a_scenario_with_the_wallet_of_each_turn() {
        let text = r#"
needs = ["devnet"]
network = "devnet"
wallet = { address = "$ACCOUNT_1" }
[[turns]]
user = "Send 1 USDC from $WALLET to $ACCOUNT_1"
model = [{ tool_calls = { calls = [{ name = "send_transaction_to_wallet", arguments = { to = "$USDC", args = ["$ACCOUNT_1", "1000000"] } }] } }]
[turns.expect]
called = [{ tool = "send_transaction_to_wallet", args = { to = { eq_ignore_case = "$USDC" } } }]
balance_deltas = [{ account = "$ACCOUNT_1", token = "USDC", delta = "0" }]
[[turns]]
user = "and $WALLET now?"
wallet = { address = "$USDC" }
"#;
        let scenario = Scenario::from_toml(text, std::path::Path::new("s.toml")).unwrap();
        let resolved = resolve(&scenario, &book()).unwrap();
        let account = book().get("ACCOUNT_1").unwrap().to_owned();
        let usdc = book().get("$USDC").unwrap().to_owned();
        assert_eq!(resolved.wallet.as_ref().unwrap().address.as_deref(), Some(account.as_str()));
        assert_eq!(resolved.turns[0].user, format!("Send 1 USDC from {account} to {account}"));
        let script = serde_json::to_string(&resolved.turns[0].model).unwrap();
        assert!(script.contains(&usdc) && !script.contains('$'), "{script}");
        assert_eq!(resolved.turns[0].expect.balance_deltas[0].account, account);
        assert!(format!("{}", resolved.turns[0].expect.called[0]).contains(&usdc));
        assert_eq!(resolved.turns[1].user, format!("and {usdc} now?"));

        let unknown = text.replace("$ACCOUNT_1\"", "$ACCOUNT_12\"");
        let error = Scenario::from_toml(&unknown, std::path::Path::new("s.toml")).unwrap_err().to_string();
        assert!(error.contains("unknown symbol $ACCOUNT_12"), "{error}");
        let off_devnet = text.replace("needs = [\"devnet\"]", "").replace("balance_deltas", "text_contains = []\n#");
        let error = Scenario::from_toml(&off_devnet, std::path::Path::new("s.toml")).unwrap_err().to_string();
        assert!(error.contains("is a devnet address; add needs"), "{error}");
    }
}
