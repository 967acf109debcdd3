//! Evaluating a turn's checks against what the turn did.

use aomi_chain::alloy::primitives::{Address, B256, I256, keccak256};
use aomi_core::{FinishReason, MessagePart, ToolPart, ToolState};
use aomi_tools::guard::GuardName;
use serde_json::Value;

use crate::client::TurnOutcome;
use crate::eval::spec::{Expect, Outcome, PlanCheck, Predicate, ToolCheck, TreeCheck};
use crate::eval::wallet::SignedMessage;

/// What a turn did, as the checks see it.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The answer's text (every text part of the turn).
    pub text: String,
    /// The tool calls, with their inputs and outcomes.
    pub tools: Vec<ToolPart>,
    /// The finish reason, when the stream had a `finish` part.
    pub finish: Option<FinishReason>,
    /// True when the stream ended with `[DONE]`.
    pub done: bool,
    /// The texts of `error` parts, and a failure outside the stream.
    pub errors: Vec<String>,
    /// Messages stored in the chat after the turn, when asked for.
    pub stored_messages: Option<usize>,
    /// The balance changes over the turn, one per expected change, when read on the devnet; empty
    /// when this run has no devnet.
    pub balance_changes: Vec<BalanceReading>,
    /// The transactions the wallet sent in the turn, when this run has a devnet.
    pub transactions_sent: Option<usize>,
    /// The events they emitted: the contract and the first topic.
    pub events: Vec<(Address, Option<B256>)>,
    /// The data of the turn's `data-wallet-request` parts.
    pub wallet_requests: Vec<Value>,
    /// The data of the turn's `data-guard` parts.
    pub guards: Vec<Value>,
    /// The data of the turn's last `data-plan` part.
    pub plan: Option<Value>,
    /// The data of the turn's last `data-tree` part.
    pub tree: Option<Value>,
    /// The signatures the wallet made in the turn, when this run has a devnet.
    pub signatures: Option<Vec<SignedMessage>>,
}

/// A balance change read on the devnet for one expected change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceReading {
    /// The account as the check shows it: `wallet (0x…)` or the address.
    pub account: String,
    /// What was read, or why it could not be.
    pub measured: Result<MeasuredDelta, String>,
}

/// A balance before and after a turn, in base units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredDelta {
    /// Before the turn.
    pub before: String,
    /// After the turn (and after the wallet executed what it asked for).
    pub after: String,
    /// Gas the account paid in the turn, added back (`ignore_gas`).
    pub gas_added_back: Option<String>,
    /// The change, signed: after - before (+ gas added back).
    pub delta: String,
}

impl Observation {
    /// What `outcome` shows.
    pub fn of(outcome: &TurnOutcome) -> Observation {
        let message = outcome.message();
        let mut errors: Vec<String> = outcome.error_parts().into_iter().map(str::to_owned).collect();
        errors.extend(outcome.failure.clone());
        let data = |wanted: &str| -> Vec<Value> {
            message
                .parts
                .iter()
                .filter_map(|part| match part {
                    MessagePart::Data { name, data, .. } if name == wanted => Some(data.clone()),
                    _ => None,
                })
                .collect()
        };
        Observation {
            text: message.text(),
            tools: message.tool_parts().cloned().collect(),
            finish: if outcome.ends_with_finish() { outcome.finish_reason() } else { None },
            done: outcome.done,
            errors,
            stored_messages: None,
            balance_changes: Vec::new(),
            transactions_sent: None,
            events: Vec::new(),
            wallet_requests: data("wallet-request"),
            guards: data("guard"),
            plan: data("plan").pop(),
            tree: data("tree").pop(),
            signatures: None,
        }
    }
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It held.
    Pass,
    /// It did not; why.
    Fail(String),
    /// It could not be checked here; why.
    Skip(String),
}

/// One check and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check, described: `called get_current_time, succeeding`.
    pub check: String,
    /// How it went.
    pub verdict: Verdict,
}

/// The longest stretch of an answer quoted in a failure.
const QUOTE: usize = 300;

fn quote(text: &str) -> String {
    let mut quoted: String = text.chars().take(QUOTE).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    format!("\"{quoted}\"")
}

/// Evaluates `expect` (and that the turn completed) against `seen`.
pub fn evaluate(expect: &Expect, seen: &Observation) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let mut check = |check: String, verdict: Verdict| results.push(CheckResult { check, verdict });

    let complete = match (seen.finish, seen.done, seen.errors.first()) {
        (_, _, Some(error)) => Verdict::Fail(format!("the turn failed: {error}")),
        (None, _, None) => Verdict::Fail("the stream has no finish part".into()),
        (Some(_), false, None) => Verdict::Fail("the stream does not end with [DONE]".into()),
        (Some(FinishReason::Error), _, None) => Verdict::Fail("the turn finished with an error".into()),
        (Some(_), true, None) => Verdict::Pass,
    };
    check("the turn completes without an error".into(), complete);

    for tool in &expect.called {
        check(format!("called {tool}"), called(tool, &seen.tools));
    }
    for tool in &expect.not_called {
        let matching: Vec<&ToolPart> = seen.tools.iter().filter(|call| mismatch(tool, call).is_none()).collect();
        let verdict = match matching.first() {
            None => Verdict::Pass,
            Some(call) => Verdict::Fail(format!("it was called with {}", call.input)),
        };
        check(format!("did not call {tool}"), verdict);
    }

    let lower = seen.text.to_lowercase();
    for needle in &expect.text_contains {
        let verdict = if lower.contains(&needle.to_lowercase()) {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("the answer does not contain it; the answer: {}", quote(&seen.text)))
        };
        check(format!("the answer contains \"{needle}\""), verdict);
    }
    if !expect.text_contains_any.is_empty() {
        let verdict = if expect.text_contains_any.iter().any(|n| lower.contains(&n.to_lowercase())) {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("the answer contains none of them; the answer: {}", quote(&seen.text)))
        };
        check(format!("the answer contains one of {:?}", expect.text_contains_any), verdict);
    }
    for needle in &expect.text_not_contains {
        let verdict = if lower.contains(&needle.to_lowercase()) {
            Verdict::Fail(format!("the answer contains it; the answer: {}", quote(&seen.text)))
        } else {
            Verdict::Pass
        };
        check(format!("the answer does not contain \"{needle}\""), verdict);
    }
    for pattern in &expect.text_matches {
        let verdict = match regex::Regex::new(pattern) {
            Ok(regex) if regex.is_match(&seen.text) => Verdict::Pass,
            Ok(_) => Verdict::Fail(format!("the answer does not match; the answer: {}", quote(&seen.text))),
            Err(error) => Verdict::Fail(format!("invalid regular expression: {error}")),
        };
        check(format!("the answer matches /{pattern}/"), verdict);
    }
    if let Some(expected) = expect.history_messages {
        let verdict = match seen.stored_messages {
            Some(count) if count == expected => Verdict::Pass,
            Some(count) => Verdict::Fail(format!("the chat has {count} stored messages")),
            None => Verdict::Fail("the stored history could not be read".into()),
        };
        check(format!("the chat stores {expected} messages"), verdict);
    }
    let read = seen.balance_changes.len() == expect.balance_deltas.len();
    for (index, delta) in expect.balance_deltas.iter().enumerate() {
        let reading = seen.balance_changes.get(index).filter(|_| read);
        let Some(reading) = reading else {
            check(
                delta.describe(&delta.account),
                Verdict::Skip("balance changes are read on the devnet, which this run does not have".into()),
            );
            continue;
        };
        check(delta.describe(&reading.account), balance_verdict(&delta.delta, &reading.measured));
    }
    if let Some(expected) = expect.transactions_sent {
        let verdict = match seen.transactions_sent {
            Some(sent) if sent == expected => Verdict::Pass,
            Some(sent) => Verdict::Fail(format!("the wallet sent {sent}")),
            None => Verdict::Skip("sent transactions are counted on the devnet, which this run does not have".into()),
        };
        check(format!("the wallet sends {expected} transaction(s)"), verdict);
    }
    for event in &expect.events {
        check(event.describe(), event_verdict(event, seen));
    }
    if let Some(expected) = expect.wallet_requests {
        let found = seen.wallet_requests.len();
        let verdict =
            if found == expected { Verdict::Pass } else { Verdict::Fail(format!("the turn streamed {found}")) };
        check(format!("the turn streams {expected} wallet request part(s)"), verdict);
    }
    if !expect.wallet_request.is_empty() {
        check(describe_paths("a wallet request with", &expect.wallet_request), wallet_request_verdict(expect, seen));
    }
    if let Some(expected) = expect.signatures_signed {
        check(
            format!("the wallet signs {expected} signature(s), each recovering to it"),
            signatures_verdict(expected, seen),
        );
    }
    if let Some(guard) = expect.guard_blocked {
        check(format!("the {} guard blocks a wallet request", guard.as_str()), guard_verdict(guard, seen));
    }
    if let Some(plan) = &expect.plan {
        check(plan.to_string(), plan_verdict(plan, seen.plan.as_ref()));
    }
    if let Some(tree) = &expect.tree {
        check(tree.to_string(), tree_verdict(tree, seen.tree.as_ref()));
    }
    results
}

fn describe_paths(what: &str, predicates: &std::collections::BTreeMap<String, Predicate>) -> String {
    let each: Vec<String> = predicates.iter().map(|(path, predicate)| format!("{path} {predicate}")).collect();
    format!("{what} {}", each.join(" and "))
}

fn wallet_request_verdict(expect: &Expect, seen: &Observation) -> Verdict {
    if seen.wallet_requests.is_empty() {
        return Verdict::Fail("the turn streamed no wallet request".into());
    }
    let mut reasons = Vec::new();
    for data in &seen.wallet_requests {
        let failed = expect.wallet_request.iter().find_map(|(path, predicate)| {
            predicate_fails(predicate, lookup(data, path)).map(|why| format!("{path} {why}"))
        });
        match failed {
            None => return Verdict::Pass,
            Some(why) => reasons.push(why),
        }
    }
    Verdict::Fail(format!("no wallet request matches: {}", reasons.join("; ")))
}

fn signatures_verdict(expected: usize, seen: &Observation) -> Verdict {
    let Some(signatures) = &seen.signatures else {
        return Verdict::Skip("signatures are made on the devnet, which this run does not have".into());
    };
    if signatures.len() != expected {
        return Verdict::Fail(format!("the wallet signed {}", signatures.len()));
    }
    for signed in signatures {
        match &signed.recovered {
            Ok(address) if *address == signed.signer => {}
            Ok(address) => {
                return Verdict::Fail(format!(
                    "{} recovers to {address} from the review's signing hash, not to the wallet {}",
                    signed.signature, signed.signer
                ));
            }
            Err(why) => return Verdict::Fail(why.clone()),
        }
    }
    Verdict::Pass
}

fn guard_verdict(guard: GuardName, seen: &Observation) -> Verdict {
    let blocked_by = |data: &Value| {
        data["decision"] == "blocked"
            && data["findings"].as_array().is_some_and(|f| f.iter().any(|finding| finding["guard"] == guard.as_str()))
    };
    if seen.guards.iter().any(blocked_by) {
        return Verdict::Pass;
    }
    if seen.guards.is_empty() {
        return Verdict::Fail("the turn streamed no guard part (no wallet request was checked)".into());
    }
    let answers: Vec<String> = seen
        .guards
        .iter()
        .map(|data| {
            let guards: Vec<&str> = data["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|finding| finding["guard"].as_str())
                .collect();
            format!("{} [{}]", data["decision"].as_str().unwrap_or("?"), guards.join(", "))
        })
        .collect();
    Verdict::Fail(format!("the guards answered: {}", answers.join("; ")))
}

fn plan_verdict(expected: &PlanCheck, plan: Option<&Value>) -> Verdict {
    let Some(plan) = plan else { return Verdict::Fail("the turn streamed no plan part".into()) };
    let steps: Vec<&Value> = plan["steps"].as_array().map(|steps| steps.iter().collect()).unwrap_or_default();
    let of_kind = |kind: &'static str| steps.iter().copied().filter(move |step| step["kind"] == kind);
    let reads: Vec<&str> = of_kind("read").filter_map(|step| step["toolName"].as_str()).collect();
    if reads != expected.reads {
        return Verdict::Fail(format!("the plan reads [{}]", reads.join(", ")));
    }
    let unfinished: Vec<String> = of_kind("read")
        .filter(|step| step["state"] != "done")
        .map(|step| format!("{} is {}", step["toolName"].as_str().unwrap_or("?"), step["state"]))
        .collect();
    if !unfinished.is_empty() {
        return Verdict::Fail(format!("not every read is done: {}", unfinished.join(", ")));
    }
    let actions: Vec<&str> = of_kind("action").filter_map(|step| step["toolName"].as_str()).collect();
    match (&expected.action, actions.as_slice()) {
        (None, []) => Verdict::Pass,
        (Some(wanted), [action]) if wanted == action => Verdict::Pass,
        (_, []) => Verdict::Fail("the plan has no wallet action".into()),
        (_, found) => Verdict::Fail(format!("the plan's wallet action is {}", found.join(", "))),
    }
}

fn tree_verdict(expected: &TreeCheck, tree: Option<&Value>) -> Verdict {
    let Some(tree) = tree else { return Verdict::Fail("the turn streamed no tree part".into()) };
    let states: Vec<&str> = tree["branches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|branch| branch["state"].as_str().unwrap_or("?"))
        .collect();
    if states != expected.states {
        return Verdict::Fail(format!("the branches end [{}]", states.join(", ")));
    }
    match tree["chosen"].as_u64() {
        Some(chosen) if chosen as usize == expected.chosen => Verdict::Pass,
        Some(chosen) => Verdict::Fail(format!("branch {chosen} is chosen")),
        None => Verdict::Fail("no branch is chosen".into()),
    }
}

fn event_verdict(event: &crate::eval::spec::EventCheck, seen: &Observation) -> Verdict {
    if seen.transactions_sent.is_none() {
        return Verdict::Skip("events are read on the devnet, which this run does not have".into());
    }
    let signature: String = event.event.chars().filter(|c| !c.is_whitespace()).collect();
    let topic = keccak256(signature.as_bytes());
    let contract = match event.contract.as_deref().map(str::parse::<Address>) {
        None => None,
        Some(Ok(address)) => Some(address),
        Some(Err(_)) => {
            return Verdict::Fail(format!("\"{}\" is not an address", event.contract.clone().unwrap_or_default()));
        }
    };
    let found = seen
        .events
        .iter()
        .filter(|(address, first)| *first == Some(topic) && contract.is_none_or(|c| c == *address))
        .count();
    match event.count {
        Some(n) if n == found => Verdict::Pass,
        None if found > 0 => Verdict::Pass,
        _ => Verdict::Fail(format!("{found} found among the {} events of the turn's transactions", seen.events.len())),
    }
}

fn balance_verdict(expected: &str, measured: &Result<MeasuredDelta, String>) -> Verdict {
    let measured = match measured {
        Ok(measured) => measured,
        Err(why) => return Verdict::Fail(format!("the balance could not be read: {why}")),
    };
    let (Ok(wanted), Ok(actual)) = (I256::from_dec_str(expected), I256::from_dec_str(&measured.delta)) else {
        return Verdict::Fail(format!("cannot compare {expected} with {}", measured.delta));
    };
    if wanted == actual {
        return Verdict::Pass;
    }
    let gas = measured.gas_added_back.as_ref().map(|gas| format!(", {gas} of gas added back")).unwrap_or_default();
    Verdict::Fail(format!(
        "expected a change of {wanted}, it changed by {actual} ({} before the turn, {} after{gas})",
        measured.before, measured.after
    ))
}

fn called(check: &ToolCheck, calls: &[ToolPart]) -> Verdict {
    let of_tool: Vec<&ToolPart> = calls.iter().filter(|call| call.tool_name == check.tool).collect();
    if of_tool.is_empty() {
        let names: Vec<&str> = calls.iter().map(|call| call.tool_name.as_str()).collect();
        return Verdict::Fail(if names.is_empty() {
            "no tool was called".into()
        } else {
            format!("it was not called; the tools called: {}", names.join(", "))
        });
    }
    let reasons: Vec<String> = of_tool.iter().filter_map(|call| mismatch(check, call)).collect();
    if reasons.len() < of_tool.len() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "{} was called {} time(s), and no call matches: {}",
        check.tool,
        of_tool.len(),
        reasons.join("; ")
    ))
}

/// Why `call` does not match `check`; `None` when it does.
fn mismatch(check: &ToolCheck, call: &ToolPart) -> Option<String> {
    if call.tool_name != check.tool {
        return Some(format!("it is {}", call.tool_name));
    }
    for (path, predicate) in &check.args {
        let value = lookup(&call.input, path);
        if let Some(why) = predicate_fails(predicate, value) {
            return Some(format!("argument {path} {why} (arguments: {})", call.input));
        }
    }
    for (path, predicate) in &check.output {
        let value = call.output.as_ref().and_then(|output| lookup(output, path));
        if let Some(why) = predicate_fails(predicate, value) {
            let output = match (&call.output, &call.error_text) {
                (Some(output), _) => format!("output: {}", quote(&output.to_string())),
                (None, Some(error)) => format!("the call failed: {}", quote(error)),
                (None, None) => format!("no output; state {:?}", call.state),
            };
            return Some(format!("output {path} {why} ({output})"));
        }
    }
    if let Some(predicate) = &check.error {
        let text = call.error_text.clone().map(Value::String);
        if let Some(why) = predicate_fails(predicate, text.as_ref()) {
            return Some(format!("the error text {why}"));
        }
    }
    match (check.outcome, call.state) {
        (Some(Outcome::Ok), ToolState::OutputAvailable)
        | (Some(Outcome::Error), ToolState::OutputError)
        | (None, _) => None,
        (Some(Outcome::Ok), ToolState::OutputError) => {
            Some(format!("it failed: {}", call.error_text.as_deref().unwrap_or("no error text")))
        }
        (Some(Outcome::Error), ToolState::OutputAvailable) => Some("it succeeded".into()),
        (Some(_), state) => Some(format!("it never ended (state {state:?})")),
    }
}

/// The value at a dotted `path` (`to`, `call.args.0`).
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |value, key| match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|index| items.get(index)),
        _ => None,
    })
}

/// Why `value` does not satisfy `predicate`; `None` when it does.
fn predicate_fails(predicate: &Predicate, value: Option<&Value>) -> Option<String> {
    let shown = || value.map(Value::to_string).unwrap_or_else(|| "absent".into());
    let text = value.and_then(Value::as_str);
    let holds = match predicate {
        Predicate::Exists(wanted) => value.is_some() == *wanted,
        Predicate::Eq(expected) => value == Some(expected),
        Predicate::EqIgnoreCase(expected) => text.is_some_and(|t| t.eq_ignore_ascii_case(expected)),
        Predicate::Contains(needle) => text.is_some_and(|t| t.contains(needle.as_str())),
        Predicate::Matches(pattern) => {
            text.is_some_and(|t| regex::Regex::new(pattern).is_ok_and(|regex| regex.is_match(t)))
        }
        Predicate::OneOf(options) => value.is_some_and(|v| options.contains(v)),
    };
    (!holds).then(|| format!("is {}, expected it {predicate}", shown()))
}
