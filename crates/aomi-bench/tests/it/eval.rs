//! The eval scenarios: the repository's files parse, the scripted mode passes every one, and a
//! wrong expectation fails with a message that names the check and says why.

use std::path::{Path, PathBuf};

use aomi_bench::eval::check::{Observation, Verdict, evaluate};
use aomi_bench::eval::report::Status;
use aomi_bench::eval::run::{EvalOptions, Mode, run_suite};
use aomi_bench::eval::spec::{Need, Scenario};
use aomi_core::{ToolPart, ToolState};
use aomi_testkit::Script;
use indicatif::ProgressBar;
use serde_json::json;

use crate::common::TestServer;

fn evals_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../evals")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options() -> EvalOptions {
    EvalOptions { runs: 1, available: Vec::new(), model: "scripted stub".into() }
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
    for needed in ["fifty-turn-chat", "tool-error-explained", "chain-transfer-usdc-6-decimals", "chain-network-switch"]
    {
        assert!(names.contains(&needed), "{needed} is missing: {names:?}");
    }
    let fifty = scenarios.iter().find(|s| s.name == "fifty-turn-chat").unwrap();
    assert_eq!(fifty.expanded_turns().len(), 50);
    assert_eq!(fifty.expanded_turns()[1].1, "Question 1: what time is it now?");
    let switch = scenarios.iter().find(|s| s.name == "chain-network-switch").unwrap();
    let chains: Vec<Option<u64>> = switch.expanded_turns().iter().map(|t| t.2.as_ref().map(|w| w.chain_id)).collect();
    assert_eq!(chains, [Some(31337), Some(31338)]);
    assert!(scenarios.iter().filter(|s| s.needs.contains(&Need::Devnet)).count() >= 9);
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
    let server = TestServer::start(Script::new()).await;
    let mut scenarios = Scenario::load_all(&[evals_dir()]).unwrap();
    scenarios.push(Scenario::load(&fixture("wrong-expectation.toml")).unwrap());
    let report =
        run_suite(&scenarios, &server.target, Mode::Scripted(&server.stub), &options(), &ProgressBar::hidden()).await;

    for result in &report.scenarios {
        match result.name.as_str() {
            "wrong-expectation" => assert_eq!(result.status, Status::Failed),
            name if name.starts_with("chain-") => {
                assert_eq!(result.status, Status::Skipped("needs the devnet".into()), "{name}")
            }
            name => assert_eq!(result.status, Status::Passed, "{name}: {:?}", result.failures),
        }
    }
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
    assert!(markdown.contains("| chain-eth-balance | skipped: needs the devnet |"), "{markdown}");
    assert!(markdown.contains("## Failures"), "{markdown}");
    let passed = report.scenarios.iter().filter(|s| s.status == Status::Passed).count();
    assert_eq!(report.pass_rate(), Some(passed as f64 / (passed + 1) as f64));
}
