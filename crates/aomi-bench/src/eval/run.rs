//! Runs eval scenarios against a server: with the scripted stub model, or with a real model.
//!
//! Each turn is sent as a browser sends it. When it stops with a transaction waiting for the
//! wallet, the harness plays the wallet ([`crate::eval::wallet`]) and posts the outcome back, so the
//! turn goes on, whatever the model; the turn's checks see everything it did, across those round
//! trips. On the devnet, balances are read before and after each turn that checks them, and every
//! scenario run starts from the same chain state (an anvil snapshot, reverted after it).

use std::sync::Arc;
use std::time::Instant;

use aomi_chain::alloy::primitives::{Address, I256, U256};
use aomi_core::{UiChunk, WalletContext};
use aomi_testkit::StubModel;
use indicatif::ProgressBar;

use crate::client::{ChatClient, TurnOutcome};
use crate::eval::chain::{EvalChain, Token};
use crate::eval::check::{BalanceReading, MeasuredDelta, Observation, Verdict, evaluate};
use crate::eval::report::{EvalReport, ScenarioResult, Status};
use crate::eval::spec::{BalanceDelta, DEVNET_CHAIN_ID, Need, Scenario, Turn, chain_id_of};
use crate::eval::symbols::resolve;
use crate::eval::wallet::{self, SentTransaction, SignedMessage, open_requests};
use crate::server::Target;

/// How many times one turn may go back to the wallet before the harness gives up on it.
const MAX_WALLET_ROUNDS: usize = 8;

/// Which model answers.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// The stub model behind the server, scripted by each scenario's `model` replies: proves the
    /// harness and the plumbing; every scenario must pass.
    Scripted(&'a StubModel),
    /// The model the server was started with: a pass rate.
    Model,
}

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Runs of each scenario with a real model (the scripted mode runs each once).
    pub runs: usize,
    /// The devnets, when this run has them; scenarios that need them are skipped otherwise.
    pub chain: Option<Arc<EvalChain>>,
    /// Why there are no devnets, for the skipped scenarios' reason.
    pub no_chain: Option<String>,
    /// The model, as the report names it.
    pub model: String,
}

impl EvalOptions {
    /// Options for `runs` runs of `model`, without devnets.
    pub fn new(runs: usize, model: impl Into<String>) -> Self {
        EvalOptions { runs, chain: None, no_chain: None, model: model.into() }
    }

    fn has(&self, need: Need) -> bool {
        match need {
            Need::Devnet => self.chain.is_some(),
        }
    }
}

/// Runs `scenarios` one after the other against `target`, in `mode`.
pub async fn run_suite(
    scenarios: &[Scenario],
    target: &Target,
    mode: Mode<'_>,
    options: &EvalOptions,
    progress: &ProgressBar,
) -> EvalReport {
    let client = ChatClient::new(&target.url);
    let runs = match mode {
        Mode::Scripted(_) => 1,
        Mode::Model => options.runs.max(1),
    };
    let turns: usize = scenarios.iter().map(|s| s.expanded_turns().len() * runs).sum();
    progress.set_length(turns as u64);
    let mut results = Vec::new();
    for scenario in scenarios {
        progress.set_message(scenario.name.clone());
        results.push(run_scenario(&client, scenario, mode, runs, options, progress).await);
    }
    progress.finish_and_clear();
    let mode = match mode {
        Mode::Scripted(_) => "scripted".to_owned(),
        Mode::Model => "model".to_owned(),
    };
    EvalReport { mode, model: options.model.clone(), scenarios: results }
}

async fn run_scenario(
    client: &ChatClient,
    scenario: &Scenario,
    mode: Mode<'_>,
    runs: usize,
    options: &EvalOptions,
    progress: &ProgressBar,
) -> ScenarioResult {
    let turns = scenario.expanded_turns();
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        file: scenario.file.display().to_string(),
        status: Status::Passed,
        runs: 0,
        passed_runs: 0,
        turns: turns.len(),
        failures: Vec::new(),
        input_tokens: 0,
        output_tokens: 0,
        elapsed_secs: 0.0,
    };
    let give_up = |result: &mut ScenarioResult, status: Status, failure: Option<String>| {
        result.status = status;
        result.failures.extend(failure);
        progress.inc((turns.len() * runs) as u64);
    };
    if let Some(need) = scenario.needs.iter().copied().find(|need| !options.has(*need)) {
        let why = match &options.no_chain {
            Some(why) if need == Need::Devnet => format!("needs {need}: {why}"),
            _ => format!("needs {need}"),
        };
        give_up(&mut result, Status::Skipped(why), None);
        return result;
    }
    if let Mode::Scripted(_) = mode
        && !scenario.is_scripted()
    {
        let why = format!(
            "{}: a turn has no `model` replies; the scripted mode needs one reply per model call",
            scenario.name
        );
        give_up(&mut result, Status::Failed, Some(why));
        return result;
    }
    // The devnet only for the scenarios that need it: the others run as they would without one.
    let chain = options.chain.as_deref().filter(|_| scenario.needs.contains(&Need::Devnet));
    let resolved = match chain {
        Some(chain) => match resolve(scenario, chain.book()) {
            Ok(resolved) => resolved,
            Err(error) => {
                give_up(&mut result, Status::Failed, Some(format!("{}: {error}", scenario.name)));
                return result;
            }
        },
        None => scenario.clone(),
    };
    let turns = resolved.expanded_turns();
    // Every turn (and every answer of the wallet) goes to the scenario's app.
    let client = match &resolved.app {
        Some(app) => client.in_app(app),
        None => client.clone(),
    };
    let started = Instant::now();
    for run in 0..runs {
        let run_label = if runs > 1 { format!(" (run {})", run + 1) } else { String::new() };
        let failed = run_once(&client, &resolved, &turns, mode, chain, &run_label, &mut result, progress).await;
        result.runs += 1;
        if !failed {
            result.passed_runs += 1;
        }
    }
    result.elapsed_secs = started.elapsed().as_secs_f64();
    if result.passed_runs < result.runs {
        result.status = Status::Failed;
    }
    result
}

/// One run of a (resolved) scenario; true when a check failed.
#[expect(clippy::too_many_arguments, reason = "the run's parts, passed down from run_scenario")]
async fn run_once(
    client: &ChatClient,
    scenario: &Scenario,
    turns: &[(usize, String, Option<WalletContext>, &Turn)],
    mode: Mode<'_>,
    chain: Option<&EvalChain>,
    run_label: &str,
    result: &mut ScenarioResult,
    progress: &ProgressBar,
) -> bool {
    if let Mode::Scripted(stub) = mode {
        stub.set_script(scenario.script());
    }
    let chat = format!("eval-{}-{}", sanitize(&scenario.name), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut failed = false;
    let mut fail = |result: &mut ScenarioResult, what: String| {
        failed = true;
        result.failures.push(format!("{}{run_label}, {what}", scenario.name));
    };
    let snapshot = match chain {
        Some(chain) => match chain.snapshot().await {
            Ok(snapshot) => Some(snapshot),
            Err(why) => {
                fail(result, format!("the devnet: {why}"));
                progress.inc(turns.len() as u64);
                return true;
            }
        },
        None => None,
    };
    let guards = match (chain, &scenario.guards) {
        (Some(chain), Some(settings)) => {
            let wallet = scenario.wallet.as_ref().and_then(|w| w.address.as_deref()).and_then(|a| a.parse().ok());
            let saved = match wallet {
                Some(wallet) => crate::eval::guards::apply(client.base_url(), chain, wallet, settings).await,
                None => Err("the scenario's wallet has no address".to_owned()),
            };
            match saved {
                Ok(saved) => Some(saved),
                Err(why) => {
                    fail(result, format!("setting the spend guards: {why}"));
                    progress.inc(turns.len() as u64);
                    if let Some(snapshot) = snapshot
                        && let Err(why) = chain.revert(snapshot).await
                    {
                        fail(result, format!("the devnet: {why}"));
                    }
                    return true;
                }
            }
        }
        _ => None,
    };
    for (number, user, wallet, turn) in turns {
        let deltas = &turn.expect.balance_deltas;
        let targets: Vec<Result<BalanceTarget, String>> = match chain {
            Some(chain) => deltas.iter().map(|delta| BalanceTarget::of(chain, delta, wallet.as_ref())).collect(),
            None => Vec::new(),
        };
        let before = read_balances(chain, &targets).await;
        let (outcome, sent, signed) = play_turn(client, chain, &chat, user, wallet.as_ref(), turn).await;
        progress.inc(1);
        let (input, output) = outcome.usage();
        result.input_tokens += input;
        result.output_tokens += output;
        let mut seen = Observation::of(&outcome);
        if turn.expect.history_messages.is_some() {
            seen.stored_messages = client.messages(&chat).await.ok().map(|messages| messages.len());
        }
        let after = read_balances(chain, &targets).await;
        if chain.is_some() {
            seen.transactions_sent = Some(sent.len());
            seen.events = sent.iter().flat_map(|tx| tx.events.iter().copied()).collect();
            seen.signatures = Some(signed);
        }
        seen.balance_changes = targets
            .iter()
            .zip(deltas)
            .zip(before.into_iter().zip(after))
            .map(|((target, delta), (before, after))| measure(target, delta, before, after, &sent))
            .collect();
        for check in evaluate(&turn.expect, &seen) {
            if let Verdict::Fail(why) = check.verdict {
                let quoted: String = user.chars().take(80).collect();
                fail(result, format!("turn {number} (\"{quoted}\"): check `{}` failed: {why}", check.check));
            }
        }
    }
    // The wallet's guards as they were, so that the next scenario of the same wallet is not held.
    if let Some(guards) = guards
        && let Err(why) = guards.restore().await
    {
        fail(result, format!("putting the spend guards back: {why}"));
    }
    if let (Some(chain), Some(snapshot)) = (chain, snapshot)
        && let Err(why) = chain.revert(snapshot).await
    {
        fail(result, format!("the devnet: {why}"));
    }
    failed
}

/// Sends a turn and answers every wallet request it stops at, until it ends without one. The
/// outcome holds every part of every round trip, with the wallet's answers in between; with the
/// transactions the wallet sent and the signatures it made.
async fn play_turn(
    client: &ChatClient,
    chain: Option<&EvalChain>,
    chat: &str,
    user: &str,
    wallet: Option<&WalletContext>,
    turn: &Turn,
) -> (TurnOutcome, Vec<SentTransaction>, Vec<SignedMessage>) {
    let mut outcome = client.send(chat, user, wallet).await;
    let mut sent = Vec::new();
    let mut signed = Vec::new();
    for _ in 0..MAX_WALLET_ROUNDS {
        if outcome.failure.is_some() {
            return (outcome, sent, signed);
        }
        let requests = open_requests(&outcome.message());
        if requests.is_empty() {
            return (outcome, sent, signed);
        }
        let message_id = outcome.chunks.iter().rev().find_map(|chunk| match chunk {
            UiChunk::Start { message_id: Some(id), .. } => Some(id.clone()),
            _ => None,
        });
        let Some(message_id) = message_id else {
            outcome.failure = Some("a wallet request came in a stream whose start part has no message id".into());
            return (outcome, sent, signed);
        };
        let answer = wallet::answer(chain, &message_id, &requests, turn.wallet_action, wallet).await;
        outcome.chunks.extend(answer.chunks);
        sent.extend(answer.sent);
        signed.extend(answer.signed);
        let next = client.send_message(chat, &answer.message, wallet).await;
        outcome.chunks.extend(next.chunks);
        outcome.done = next.done;
        outcome.failure = outcome.failure.or(next.failure);
        outcome.total += next.total;
    }
    if outcome.failure.is_none() && !open_requests(&outcome.message()).is_empty() {
        outcome.failure = Some(format!("the turn still waits for the wallet after {MAX_WALLET_ROUNDS} answers"));
    }
    (outcome, sent, signed)
}

/// Where a balance check reads.
#[derive(Debug, Clone)]
struct BalanceTarget {
    shown: String,
    chain_id: u64,
    account: Address,
    token: Token,
}

impl BalanceTarget {
    fn of(chain: &EvalChain, delta: &BalanceDelta, wallet: Option<&WalletContext>) -> Result<BalanceTarget, String> {
        let chain_id = match &delta.network {
            Some(network) => chain_id_of(network).ok_or_else(|| format!("unknown network {network}"))?,
            None => wallet.map_or(DEVNET_CHAIN_ID, |w| w.chain_id),
        };
        let (shown, account) = if delta.account.eq_ignore_ascii_case("wallet") {
            let address = wallet.and_then(|w| w.address).ok_or_else(|| "the turn has no wallet address".to_owned())?;
            (format!("wallet ({address})"), address.to_string())
        } else {
            (delta.account.clone(), delta.account.clone())
        };
        let account = account.parse().map_err(|_| format!("\"{account}\" is not an address"))?;
        let token = chain.token(chain_id, &delta.token)?;
        Ok(BalanceTarget { shown, chain_id, account, token })
    }
}

async fn read_balances(
    chain: Option<&EvalChain>,
    targets: &[Result<BalanceTarget, String>],
) -> Vec<Result<U256, String>> {
    let mut balances = Vec::new();
    for target in targets {
        balances.push(match (chain, target) {
            (Some(chain), Ok(t)) => chain.balance(t.chain_id, t.account, t.token).await,
            (None, _) => Err("no devnet".to_owned()),
            (_, Err(why)) => Err(why.clone()),
        });
    }
    balances
}

fn measure(
    target: &Result<BalanceTarget, String>,
    delta: &BalanceDelta,
    before: Result<U256, String>,
    after: Result<U256, String>,
    sent: &[SentTransaction],
) -> BalanceReading {
    let account = match target {
        Ok(target) => target.shown.clone(),
        Err(_) => delta.account.clone(),
    };
    let measured = (|| {
        let target = target.as_ref().map_err(Clone::clone)?;
        let (before, after) = (before?, after?);
        let gas = delta.ignore_gas.then(|| {
            sent.iter()
                .filter(|tx| tx.from == target.account && tx.chain_id == target.chain_id)
                .fold(U256::ZERO, |sum, tx| sum + tx.gas_paid)
        });
        let signed = |value: U256| I256::try_from(value).map_err(|_| format!("{value} is too large to compare"));
        let change = signed(after)? - signed(before)? + signed(gas.unwrap_or_default())?;
        Ok(MeasuredDelta {
            before: before.to_string(),
            after: after.to_string(),
            gas_added_back: gas.map(|g| g.to_string()),
            delta: change.to_string(),
        })
    })();
    BalanceReading { account, measured }
}

/// A scenario name as a chat id may carry it.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(60).collect()
}
