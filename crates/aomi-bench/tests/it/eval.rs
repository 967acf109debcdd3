//! The eval scenarios: the repository's files parse, the scripted mode passes every one (the chain
//! scenarios on real anvils, with the harness as the wallet), and a wrong expectation fails with a
//! message that names the check and says why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aomi_agent::{
    AnalystApp, AppRegistry, BatchApp, BatchAppConfig, DefaultApp, DefaultAppConfig, ExploreApp, ExploreAppConfig,
};
use aomi_bench::eval::chain::{DEVNET, EvalChain};
use aomi_bench::eval::check::{Observation, Verdict, evaluate};
use aomi_bench::eval::report::{EvalReport, Status};
use aomi_bench::eval::run::{EvalOptions, Mode, run_suite};
use aomi_bench::eval::spec::{DEVNET_B_CHAIN_ID, DEVNET_CHAIN_ID, Need, Scenario};
use aomi_bench::server::Target;
use aomi_chain::{ChainSessions, NetworkRegistry};
use aomi_core::{ToolPart, ToolState};
use aomi_llm::{LlmClient, ModelConfig};
use aomi_server::transactions::{guarded_chain_tools, store_checks};
use aomi_server::{AppState, Backend};
use aomi_store::{SqliteStore, Store};
use aomi_testkit::{Script, StubModel};
use aomi_tools::ToolRegistry;
use aomi_tools::time::GetCurrentTime;
use indicatif::ProgressBar;
use serde_json::json;
use tokio::sync::oneshot;

fn evals_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../evals")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options() -> EvalOptions {
    EvalOptions::new(1, "scripted stub")
}

/// Both devnets, as `aomi eval` starts them.
async fn devnets() -> Arc<EvalChain> {
    Arc::new(EvalChain::start(&BTreeSet::from([DEVNET_CHAIN_ID, DEVNET_B_CHAIN_ID])).await.unwrap())
}

/// An aomi server on the devnets, in this process.
struct ChainServer {
    target: Target,
    stub: StubModel,
    _search: aomi_testkit::StubSearch,
    _shutdown: oneshot::Sender<()>,
}

/// The server `aomi serve` builds against the eval's devnets (the clock, the recorded chain tools
/// checked against the wallet's spend guards, the devnet as default network, devnet-b from the
/// networks file; the default, batch and analyst apps), in this process, on a free port.
async fn server_on(chain: &EvalChain) -> ChainServer {
    let stub = StubModel::start(Script::new()).await.unwrap();
    let mut config = ModelConfig::parse("openai:stub").unwrap();
    config.base_url = Some(stub.openai_base_url());
    let llm = LlmClient::new(config).unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url(DEVNET, &chain.devnet(DEVNET_CHAIN_ID).unwrap().url).unwrap();
    registry.merge_toml(&chain.networks_toml()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, DEVNET).unwrap());
    // As `aomi serve` does with a running devnet: its contracts, tokens and Uniswap pools known.
    let network = sessions.registry().resolve(DEVNET).unwrap();
    let provider = aomi_chain::provider::connect(network, &aomi_chain::provider::http_client().unwrap()).unwrap();
    aomi_chain::devnet::register_running_contracts(
        &provider,
        network.chain_id,
        sessions.contracts(),
        sessions.markets(),
    )
    .await
    .unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::memory().await.unwrap());
    let explorer = aomi_chain::Etherscan::new(aomi_chain::EtherscanConfig::default()).unwrap();
    let prices = Arc::new(aomi_chain::prices::DefiLlama::new(aomi_chain::prices::PriceConfig::default()).unwrap());
    // As `aomi serve` does: every wallet request, single or batched, checked against the guards.
    let checks =
        store_checks(Arc::clone(&store), Some(Arc::clone(&prices)), aomi_chain::risk::impact::DEFAULT_PRICE_IMPACT_BPS);
    let batches = aomi_server::batches::StoreBatches::pending(Arc::clone(&store) as _, 10);
    let defi = aomi_tools::defi::defi_tools_with(Arc::clone(&sessions), batches, prices, checks.clone(), None);
    let tools = ToolRegistry::new()
        .with(GetCurrentTime)
        .merge(guarded_chain_tools(Arc::clone(&sessions), Arc::clone(&store), explorer.clone(), checks))
        .merge(defi);
    // As `aomi serve` does: the DeFi tools above, the knowledge tools (search on the stub Brave),
    // every output labelled.
    let search = aomi_bench::eval::scripted_search().await.unwrap();
    let provider = aomi_tools::knowledge::SearchProvider::Brave { api_key: "k".into(), base_url: search.brave_url() };
    let config = aomi_server::knowledge::KnowledgeConfig {
        search: Some(aomi_tools::knowledge::SearchConfig::new(provider)),
        ..Default::default()
    };
    aomi_server::knowledge::seed_curated_labels(store.as_ref()).await.unwrap();
    let knowledge =
        aomi_server::knowledge::knowledge_tools(Arc::clone(&sessions), Arc::clone(&store), explorer, config).unwrap();
    let tools = aomi_tools::knowledge::label_outputs(
        tools.merge(knowledge),
        aomi_server::knowledge::StoreMemory::shared(Arc::clone(&store)),
        Default::default(),
    );
    let config = DefaultAppConfig { max_steps: 8, tool_timeout: Duration::from_secs(30), ..Default::default() };
    let batch = BatchAppConfig { linear: config.clone(), ..BatchAppConfig::default() };
    let explore = ExploreAppConfig { linear: config.clone(), ..ExploreAppConfig::default() };
    let apps = AppRegistry::new()
        .with(Arc::new(AnalystApp::new(Some(llm.clone()), tools.clone(), config.clone())))
        .with(Arc::new(BatchApp::new(Some(llm.clone()), tools.clone(), batch)))
        .with(Arc::new(ExploreApp::new(Some(llm.clone()), tools.clone(), explore)))
        .with(Arc::new(DefaultApp::new(Some(llm), tools, config)));
    let backend = Backend::new(apps, store);
    let (target, shutdown) = crate::common::serve_in_process(
        AppState::new(backend).with_chain(sessions).with_limits(aomi_server::limits::Limits::off()),
    )
    .await;
    ChainServer { target, stub, _search: search, _shutdown: shutdown }
}

async fn run_on_devnets(scenarios: &[Scenario]) -> EvalReport {
    let chain = devnets().await;
    let server = server_on(&chain).await;
    let options = EvalOptions { chain: Some(Arc::clone(&chain)), ..options() };
    run_suite(scenarios, &server.target, Mode::Scripted(&server.stub), &options, &ProgressBar::hidden()).await
}

#[test]
fn the_repository_scenarios_parse_and_cover_the_issue() {
    let scenarios = Scenario::load_all(&[evals_dir()]).unwrap();
    assert!(scenarios.len() >= 15, "{} scenarios", scenarios.len());
    for scenario in &scenarios {
        assert!(scenario.is_scripted(), "{} has a turn without scripted replies", scenario.name);
        assert!(!scenario.description.is_empty(), "{} has no description", scenario.name);
    }
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    for needed in [
        "fifty-turn-chat",
        "tool-error-explained",
        "chain-transfer-usdc-6-decimals",
        "chain-network-switch",
        "app-batch-balances",
        "app-analyst-refuses-transfer",
        "defi-permit-signature",
        "defi-swap-blocked-by-guards",
        "defi-approve-and-swap-batch",
    ] {
        assert!(names.contains(&needed), "{needed} is missing: {names:?}");
    }
    let fifty = scenarios.iter().find(|s| s.name == "fifty-turn-chat").unwrap();
    assert_eq!(fifty.expanded_turns().len(), 50);
    assert_eq!(fifty.expanded_turns()[1].1, "Question 1: what time is it now?");
    let switch = scenarios.iter().find(|s| s.name == "chain-network-switch").unwrap();
    let chains: Vec<Option<u64>> = switch.expanded_turns().iter().map(|t| t.2.as_ref().map(|w| w.chain_id)).collect();
    assert_eq!(chains, [Some(31337), Some(31338)]);
    assert_eq!(switch.chain_ids(), BTreeSet::from([DEVNET_CHAIN_ID, DEVNET_B_CHAIN_ID]));
    assert!(scenarios.iter().filter(|s| s.needs.contains(&Need::Devnet)).count() >= 11);
}

#[test]
fn bad_scenario_files_are_refused_clearly() {
    let path = Path::new("bad.toml");
    let cases = [
        ("name = \"x\"\nturns = []", "at least one [[turns]]"),
        ("[[turns]]\nuser = \"hi\"\nnetwork = \"narnia\"", "unknown network \"narnia\""),
        ("[[turns]]\nuser = \"hi\"\n[turns.expect]\ntext_matches = [\"(\"]", "invalid regular expression"),
        (
            "[[turns]]\nuser = \"hi\"\n[turns.expect]\nbalance_deltas = [{ account = \"wallet\", token = \"ETH\", delta = \"1\" }]",
            "need the devnet",
        ),
        (
            "needs = [\"devnet\"]\n[[turns]]\nuser = \"hi\"\n[turns.expect]\nbalance_deltas = [{ account = \"wallet\", token = \"ETH\", delta = \"1.5\" }]",
            "not an integer in base units",
        ),
        ("[[turns]]\nuser = \"hi\"\n[turns.expect]\ntext_contain = [\"x\"]", "unknown field `text_contain`"),
        ("app = \" \"\n[[turns]]\nuser = \"hi\"", "app must name an app"),
        ("guards = { level = \"strict\" }\n[[turns]]\nuser = \"hi\"", "guards need the devnet"),
        (
            "needs = [\"devnet\"]\nguards = { level = \"strict\" }\n[[turns]]\nuser = \"hi\"",
            "guards need the scenario's wallet address",
        ),
        ("guards = { level = \"lax\" }\n[[turns]]\nuser = \"hi\"", "unknown variant `lax`"),
        ("[[turns]]\nuser = \"hi\"\n[turns.expect]\nsignatures_signed = 1", "signatures_signed needs the devnet"),
        ("[[turns]]\nuser = \"hi\"\n[turns.expect]\nguard_blocked = \"fence\"", "unknown variant `fence`"),
    ];
    for (text, expected) in cases {
        let error = Scenario::from_toml(text, path).unwrap_err().to_string();
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
        assert!(error.starts_with("bad.toml"), "the error names the file: {error}");
    }
}

#[test]
fn checks_say_which_check_failed_and_why() {
    let scenario = Scenario::load(&fixture("wrong-expectation.toml")).unwrap();
    let seen = Observation {
        text: "It is 14:05 UTC.".into(),
        tools: vec![ToolPart {
            tool_name: "get_current_time".into(),
            tool_call_id: "c1".into(),
            state: ToolState::OutputAvailable,
            input: json!({}),
            output: Some(json!({ "utc": "2030-01-01T14:05:00Z" })),
            error_text: None,
        }],
        finish: Some(aomi_core::FinishReason::Stop),
        done: true,
        ..Observation::default()
    };
    let results = evaluate(&scenario.turns[0].expect, &seen);
    let failed: Vec<(String, String)> = results
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::Fail(why) => Some((r.check.clone(), why.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{results:?}");
    assert_eq!(failed[0].0, "called get_current_time with timezone = \"UTC\"");
    assert!(failed[0].1.contains("argument timezone is absent, expected it = \"UTC\""), "{}", failed[0].1);
    assert_eq!(failed[1].0, "the answer contains \"Mars\"");
    assert!(failed[1].1.contains("does not contain it; the answer: \"It is 14:05 UTC.\""), "{}", failed[1].1);

    // The same observation satisfies the right expectations.
    let right = Scenario::load(&evals_dir().join("time-question.toml")).unwrap();
    let results = evaluate(&right.turns[0].expect, &seen);
    assert!(results.iter().all(|r| r.verdict == Verdict::Pass), "{results:?}");
}

#[test]
fn event_and_sent_transaction_checks_fail_with_what_was_seen() {
    use aomi_bench::eval::spec::{EventCheck, Expect};
    use aomi_chain::alloy::primitives::{Address, keccak256};
    let weth = Address::repeat_byte(0x11);
    let deposit = keccak256("Deposit(address,uint256)");
    let expect = Expect {
        events: vec![
            EventCheck { event: "Deposit(address, uint256)".into(), contract: Some(weth.to_string()), count: Some(1) },
            EventCheck { event: "Withdrawal(address,uint256)".into(), contract: None, count: None },
            EventCheck {
                event: "Deposit(address,uint256)".into(),
                contract: Some(Address::ZERO.to_string()),
                count: None,
            },
        ],
        transactions_sent: Some(0),
        ..Expect::default()
    };
    let seen = Observation {
        finish: Some(aomi_core::FinishReason::Stop),
        done: true,
        transactions_sent: Some(1),
        events: vec![(weth, Some(deposit))],
        ..Observation::default()
    };
    let verdicts: Vec<(String, Verdict)> = evaluate(&expect, &seen).into_iter().map(|r| (r.check, r.verdict)).collect();
    assert_eq!(verdicts[1], ("the wallet sends 0 transaction(s)".into(), Verdict::Fail("the wallet sent 1".into())));
    assert_eq!(verdicts[2].1, Verdict::Pass, "the signature's spaces do not matter: {verdicts:?}");
    assert!(matches!(&verdicts[3].1, Verdict::Fail(why) if why.contains("0 found among the 1 events")), "{verdicts:?}");
    assert!(matches!(&verdicts[4].1, Verdict::Fail(_)), "another contract's Deposit does not count: {verdicts:?}");
    // Without a devnet they cannot be read: skipped, not passed.
    let blind = Observation { transactions_sent: None, ..seen };
    assert!(evaluate(&expect, &blind).iter().skip(1).all(|r| matches!(r.verdict, Verdict::Skip(_))));
}

#[test]
fn an_incomplete_turn_fails_even_without_checks() {
    let expect = Default::default();
    let cases = [
        (Observation { finish: None, done: true, ..Observation::default() }, "no finish part"),
        (Observation { finish: Some(aomi_core::FinishReason::Stop), done: false, ..Observation::default() }, "[DONE]"),
        (
            Observation { finish: Some(aomi_core::FinishReason::Error), done: true, ..Observation::default() },
            "finished with an error",
        ),
    ];
    for (seen, expected) in cases {
        let results = evaluate(&expect, &seen);
        assert!(matches!(&results[0].verdict, Verdict::Fail(why) if why.contains(expected)), "{expected}: {results:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripted_mode_passes_every_scenario_and_fails_a_wrong_one() {
    let mut scenarios = Scenario::load_all(&[evals_dir()]).unwrap();
    scenarios.push(Scenario::load(&fixture("wrong-expectation.toml")).unwrap());
    // Each scenario starts from the same chain: after every transfer, the wallet still holds exactly
    // the 10000 ETH anvil funds (the scenario checks the wei the tool read).
    let mut again = scenarios.iter().find(|s| s.name == "chain-eth-balance").unwrap().clone();
    again.name = "chain-eth-balance-after-the-others".into();
    scenarios.push(again);
    let report = run_on_devnets(&scenarios).await;

    for result in &report.scenarios {
        match result.name.as_str() {
            "wrong-expectation" => assert_eq!(result.status, Status::Failed),
            name => assert_eq!(result.status, Status::Passed, "{name}: {:?}", result.failures),
        }
    }
    let chain = report.scenarios.iter().filter(|s| s.name.starts_with("chain-")).count();
    assert!(chain >= 11, "{chain} chain scenarios ran");
    let wrong = report.scenarios.iter().find(|s| s.name == "wrong-expectation").unwrap();
    assert_eq!(wrong.failures.len(), 2, "{:?}", wrong.failures);
    assert!(
        wrong.failures[0].starts_with(
            "wrong-expectation, turn 1 (\"What time is it right now in UTC?\"): check `called get_current_time with timezone = \"UTC\"` failed: "
        ),
        "{}",
        wrong.failures[0]
    );
    assert!(wrong.failures[1].contains("check `the answer contains \"Mars\"` failed: the answer does not contain it"));
    let fifty = report.scenarios.iter().find(|s| s.name == "fifty-turn-chat").unwrap();
    assert_eq!(fifty.turns, 50);
    assert!(fifty.input_tokens > 0 && fifty.output_tokens > 0, "tokens are counted: {fifty:?}");

    assert!(!report.all_passed());
    let markdown = report.to_markdown();
    assert!(markdown.contains("| wrong-expectation | FAIL | 0/1 | 0% |"), "{markdown}");
    assert!(markdown.contains("| chain-transfer-usdc-6-decimals | pass | 1/1 | 100% |"), "{markdown}");
    assert!(markdown.contains("## Failures"), "{markdown}");
    assert!(markdown.contains(" 0 skipped;"), "{markdown}");
    let passed = report.scenarios.iter().filter(|s| s.status == Status::Passed).count();
    assert_eq!(report.pass_rate(), Some(passed as f64 / (passed + 1) as f64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expected_delta_fails_naming_the_check_the_expected_and_the_actual_delta() {
    let scenario = Scenario::load(&fixture("wrong-delta.toml")).unwrap();
    let report = run_on_devnets(&[scenario]).await;
    let result = &report.scenarios[0];
    assert_eq!(result.status, Status::Failed);
    // The transfer itself went through: only the wrong expectation fails.
    assert_eq!(result.failures.len(), 1, "{:?}", result.failures);
    let recipient = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
    assert_eq!(
        result.failures[0],
        format!(
            "wrong-delta, turn 1 (\"Send 1.5 USDC to {recipient}\"): check `the USDC balance of {recipient} changes by \
             1500001` failed: expected a change of 1500001, it changed by 1500000 (0 before the turn, 1500000 after)"
        )
    );
    assert!(report.to_markdown().contains("| wrong-delta | FAIL | 0/1 | 0% |"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_devnet_the_chain_scenarios_are_skipped_with_the_reason() {
    let scenarios: Vec<Scenario> =
        Scenario::load_all(&[evals_dir()]).unwrap().into_iter().filter(|s| s.needs.contains(&Need::Devnet)).collect();
    let target = Target { url: "http://127.0.0.1:9".into(), pid: None };
    let options = EvalOptions { no_chain: Some("anvil is not installed".into()), ..options() };
    let stub = StubModel::start(Script::new()).await.unwrap();
    let report = run_suite(&scenarios, &target, Mode::Scripted(&stub), &options, &ProgressBar::hidden()).await;
    for result in &report.scenarios {
        assert_eq!(
            result.status,
            Status::Skipped("needs the devnet: anvil is not installed".into()),
            "{}",
            result.name
        );
    }
    assert!(report.all_passed() && report.pass_rate().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_signature_and_guard_scenarios_pass_and_wrong_expectations_of_them_fail() {
    use aomi_bench::eval::spec::{PlanCheck, Predicate};
    use aomi_tools::guard::GuardName;
    let all = Scenario::load_all(&[evals_dir()]).unwrap();
    let pick = |name: &str| all.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} is missing")).clone();
    let names =
        ["app-batch-balances", "app-analyst-refuses-transfer", "defi-permit-signature", "defi-swap-blocked-by-guards"];
    let mut scenarios: Vec<Scenario> = names.map(pick).into();
    assert_eq!(scenarios[0].app.as_deref(), Some("batch"));
    assert_eq!(scenarios[1].app.as_deref(), Some("analyst"));
    assert!(scenarios[3].guards.is_some());
    // The guarded wallet swaps right after: its guards were put back (open), so the swap goes through.
    let mut after = pick("defi-swap-exact-in");
    after.name = "defi-swap-after-the-guards".into();
    after.wallet = scenarios[3].wallet.clone();
    scenarios.push(after);
    // The same scenarios with a wrong expectation each: every new check can fail.
    let mut wrong = |index: usize, name: &str, edit: &dyn Fn(&mut aomi_bench::eval::spec::Expect)| {
        let mut scenario = scenarios[index].clone();
        scenario.name = name.into();
        edit(&mut scenario.turns[0].expect);
        scenarios.push(scenario);
    };
    wrong(0, "wrong-plan", &|e| e.plan = Some(PlanCheck { reads: vec!["get_balance".into()], action: None }));
    wrong(1, "wrong-wallet-requests", &|e| e.wallet_requests = Some(1));
    wrong(2, "wrong-signatures", &|e| {
        e.signatures_signed = Some(2);
        e.wallet_request.insert("request.review.decoded.tokens.0.amount".into(), Predicate::Eq(json!("2000000")));
    });
    wrong(3, "wrong-guard", &|e| e.guard_blocked = Some(GuardName::TransactionLimit));
    let report = run_on_devnets(&scenarios).await;

    let failures = |name: &str| {
        let result = report.scenarios.iter().find(|s| s.name == name).unwrap();
        if name.starts_with("wrong-") {
            assert_eq!(result.status, Status::Failed, "{name}");
        } else {
            assert_eq!(result.status, Status::Passed, "{name}: {:?}", result.failures);
        }
        result.failures.join("\n")
    };
    for name in names.into_iter().chain(["defi-swap-after-the-guards"]) {
        failures(name);
    }
    let plan = failures("wrong-plan");
    assert!(plan.contains("failed: the plan reads [get_balance, get_token_balance, get_token_balance]"), "{plan}");
    let requests = failures("wrong-wallet-requests");
    assert!(
        requests.contains("check `the turn streams 1 wallet request part(s)` failed: the turn streamed 0"),
        "{requests}"
    );
    let signatures = failures("wrong-signatures");
    assert!(signatures.contains("failed: the wallet signed 1"), "{signatures}");
    assert!(
        signatures.contains("request.review.decoded.tokens.0.amount is \"1000000\", expected it = \"2000000\""),
        "{signatures}"
    );
    let guard = failures("wrong-guard");
    assert!(guard.contains("check `the transaction-limit guard blocks a wallet request` failed: the guards answered: blocked [allow-list]"), "{guard}");
}
