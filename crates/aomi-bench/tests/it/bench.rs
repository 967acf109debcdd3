//! The benchmark at a small size: every turn arrives whole, the report holds every scenario, and a
//! broken stream is caught.

use std::time::Duration;

use aomi_bench::chain::{ChainBench, Way};
use aomi_bench::client::TurnOutcome;
use aomi_bench::plot::write_plots;
use aomi_bench::relay;
use aomi_bench::report::{BenchReport, Problem};
use aomi_bench::runner::{self, RunInfo, check_aomi};
use aomi_bench::scenario::{BenchConfig, ChainReads, Concurrency, ConversationLength, StubPace, ToolHeavy};
use aomi_bench::server::Target;
use aomi_bench::stub::{ANSWER, TurnKind, bench_script};
use aomi_core::{FinishReason, UiChunk};
use indicatif::ProgressBar;

use crate::common::TestServer;

fn tiny() -> BenchConfig {
    BenchConfig {
        stub: StubPace { ttft_ms: 5, tokens_per_second: 2000.0, chars_per_token: 4 },
        conversation: ConversationLength { turns: vec![1, 3, 5], chats: 2, kind: TurnKind::Tools(1) },
        concurrency: Concurrency { users: vec![1, 4], turns_per_user: 2, kind: TurnKind::Text },
        tool_heavy: ToolHeavy { calls: 5, users: 2, turns_per_user: 2, chain: false },
        chain_reads: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_run_loses_nothing_and_reports_every_scenario() {
    let config = tiny();
    let server = TestServer::start(bench_script(&config.kinds(), config.stub.timing(), None)).await;
    // The relay in this process: its figures are this process's, which is enough to see them taken.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = Target { url: format!("http://{}", listener.local_addr().unwrap()), pid: Some(std::process::id()) };
    tokio::spawn(relay::serve(listener, &server.stub.openai_base_url()));
    let info = RunInfo { command: "test".into(), server: "in-process".into() };
    let progress = ProgressBar::hidden();
    let report =
        runner::run(&server.target, &server.stub.openai_base_url(), Some(&relay), &config, None, info, &progress)
            .await
            .unwrap();

    assert!(report.integrity.is_clean(), "{:?}", report.integrity.problems);
    // Warm-up is not counted; every scenario turn is, through aomi and directly (the loads also
    // through the relay, each of its turns checked as a direct one is), plus each chat's history.
    let turns = 2 * (2 * 5) + 3 * ((1 + 4) * 2 + 2 * 2);
    let histories = 2 + (1 + 4) + 2;
    assert_eq!(report.integrity.turns, turns + histories);
    assert_eq!(progress.position(), config.total_turns(true));

    assert_eq!(report.conversation.len(), 5);
    for point in &report.conversation {
        assert_eq!(point.aomi.full_turn.unwrap().count, 2, "two chats");
        assert_eq!(point.direct.first_text.unwrap().count, 2);
        assert!(point.aomi.first_part.is_some() && point.aomi.first_token.is_some());
    }
    assert_eq!(report.concurrency.iter().map(|p| p.users).collect::<Vec<_>>(), [1, 4]);
    let four = &report.concurrency[1];
    assert_eq!(four.aomi.full_turn.unwrap().count, 8);
    assert!(four.aomi_turns_per_second > 0.0 && four.direct_turns_per_second > 0.0);
    assert!(four.memory.is_some(), "the process is known, so memory is read");
    assert!(four.server_cpu_ms_per_turn.is_some(), "and its CPU time");
    let through_relay = four.relay.as_ref().expect("the load ran through the relay");
    assert_eq!(through_relay.latencies.first_text.unwrap().count, 8);
    assert!(through_relay.turns_per_second > 0.0 && through_relay.cpu_ms_per_turn.is_some());
    let heavy = report.tool_heavy.as_ref().unwrap();
    assert_eq!(heavy.kind, TurnKind::Tools(5));
    assert_eq!(heavy.aomi.first_text.unwrap().count, 4);

    let markdown = report.to_markdown();
    for section in [
        "## Headlines",
        "at 4 user(s), p50",
        "at turn 5 vs turn 1",
        "RSS per session at 4 users",
        "server CPU per text turn at 4 user(s)",
        "## Conversation length",
        "## Concurrency",
        "## Tool-heavy turns",
        "| 5 |",
    ] {
        assert!(markdown.contains(section), "{section} missing:\n{markdown}");
    }
    assert!(markdown.contains("errors: 0, lost parts: 0"));

    let json = serde_json::to_string(&report).unwrap();
    let back: BenchReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let change = report.compare(&back);
    assert!(change.contains("| turn 5: full turn p50 ms |"), "{change}");
    assert!(change.contains("+0.0%"), "{change}");

    let dir = tempfile::tempdir().unwrap();
    let plots = write_plots(&report, dir.path()).unwrap();
    let names: Vec<String> = plots.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["latency-vs-turn.svg", "latency-vs-users.svg", "memory-vs-users.svg"]);
    for plot in &plots {
        let svg = std::fs::read_to_string(plot).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains(" against ") && svg.contains("<polyline"),
            "{}",
            plot.display()
        );
    }
}

/// The chain scenarios on a real anvil: five parallel reads per turn, and one read timed four ways
/// that must all read the same value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_turns_and_the_read_comparison_run_on_the_devnet() {
    let chain = ChainBench::start().await.expect("anvil starts (npm install --prefix tools)");
    let mut config = tiny();
    config.conversation = ConversationLength { turns: vec![1], chats: 1, kind: TurnKind::Text };
    config.concurrency.users = vec![1];
    config.tool_heavy.chain = true;
    config.chain_reads = Some(ChainReads { iterations: 3 });
    let script = bench_script(&config.kinds(), config.stub.timing(), Some(chain.targets()));
    let server = TestServer::start_with_chain(script, chain.rpc_url()).await;
    let info = RunInfo { command: "test".into(), server: "in-process".into() };
    let progress = ProgressBar::hidden();
    let report =
        runner::run(&server.target, &server.stub.openai_base_url(), None, &config, Some(&chain), info, &progress)
            .await
            .unwrap();

    assert!(report.integrity.is_clean(), "{:?}", report.integrity.problems);
    assert_eq!(progress.position(), config.total_turns(false));
    let heavy = report.tool_heavy.as_ref().unwrap();
    assert_eq!(heavy.kind, TurnKind::Chain(5));
    // 2 users × 2 turns, each with five tool calls that all came back.
    assert_eq!(heavy.aomi.tools.unwrap().count, 4);
    assert_eq!(heavy.aomi.tool_call.unwrap().count, 20);

    let reads = report.chain_reads.as_ref().unwrap();
    let names: Vec<&str> = reads.reads.iter().map(|r| r.read.as_str()).collect();
    assert_eq!(names, ["ETH balance", "USDC balanceOf"]);
    // 10000 ETH in wei, and 1,000,000 USDC of 6 decimals.
    assert_eq!(reads.reads[0].value, "10000000000000000000000");
    assert_eq!(reads.reads[1].value, "1000000000000");
    for read in &reads.reads {
        let expected = if chain.cast().is_some() { 4 } else { 3 };
        assert_eq!(read.ways.len(), expected, "{read:?}");
        for way in &read.ways {
            assert_eq!(way.times.unwrap().count, 3, "{read:?}");
        }
        assert_eq!(read.way(Way::CommandTurn).unwrap().to_result.unwrap().count, 3);
    }

    let markdown = report.to_markdown();
    for section in [
        "5 parallel chain reads on anvil",
        "Time in tools per turn",
        "through aomi vs raw alloy vs `cast`",
        "ETH balance read, p50",
    ] {
        assert!(markdown.contains(section), "{section} missing:\n{markdown}");
    }
}

#[test]
fn a_broken_stream_is_reported_as_lost_parts() {
    let id = "t".to_owned();
    let whole = vec![
        UiChunk::Start { message_id: None, message_metadata: None },
        UiChunk::TextStart { id: id.clone() },
        UiChunk::TextDelta { id: id.clone(), delta: ANSWER.into() },
        UiChunk::TextEnd { id: id.clone() },
        UiChunk::Finish { finish_reason: Some(FinishReason::Stop), message_metadata: None },
    ];
    let outcome =
        TurnOutcome { chunks: whole.clone(), done: true, total: Duration::from_millis(1), ..Default::default() };
    assert_eq!(check_aomi(&outcome, TurnKind::Text), []);

    // A delta lost, the finish lost, [DONE] lost, and a tool result missing.
    let mut cut = whole.clone();
    cut[2] = UiChunk::TextDelta { id, delta: ANSWER[..10].into() };
    cut.pop();
    let outcome = TurnOutcome { chunks: cut, done: false, ..Default::default() };
    let problems = check_aomi(&outcome, TurnKind::Tools(1));
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems.iter().all(|p| matches!(p, Problem::Lost(_))), "{problems:?}");

    let failed = TurnOutcome { failure: Some("the server answered 500".into()), ..Default::default() };
    assert_eq!(check_aomi(&failed, TurnKind::Text), [Problem::Error("the server answered 500".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_abuse_run_sees_the_flood_refused_and_the_sessions_whole() {
    use aomi_bench::abuse::{self, AbuseConfig};
    let stub = StubPace { ttft_ms: 5, tokens_per_second: 2000.0, chars_per_token: 4 };
    // Default limits, and this machine as the trusted proxy that names each session's client.
    let limits = aomi_server::limits::Limits {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..aomi_server::limits::Limits::default()
    };
    let server = TestServer::start_limited(bench_script(&[TurnKind::Text], stub.timing(), None), limits).await;
    let config = AbuseConfig { sessions: 6, turns: 3, flood_requests: 400, settle: Duration::ZERO, rounds: 2 };
    let report = abuse::run(&server.target, &config, &ProgressBar::hidden()).await.unwrap();
    assert!(report.passed(), "{}", report.to_markdown());
    assert_eq!(report.turns_whole, 36, "two rounds of 6 × 3");
    assert_eq!(report.flood_sent, 400);
    // The flood's burst passed and most of the rest was refused; nothing else came back.
    assert!(report.flood_refused >= 100, "{}", report.to_markdown());
    assert_eq!(report.flood_other, 0);
    assert!(report.rss_before.is_some() && report.rss_peak.is_some() && report.rss_after.is_some());
    assert_eq!(report.rss_after_rounds.len(), 2);
}

fn quick_pace() -> StubPace {
    StubPace { ttft_ms: 20, tokens_per_second: 2000.0, chars_per_token: 4 }
}

/// A soak of a few seconds: the idle chats and the users' turns all arrive whole, RSS is sampled
/// in time order, and the report, its samples and the plot are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_samples_memory_and_writes_the_plot() {
    use aomi_bench::soak::{self, SoakConfig, SoakReport};
    let config = SoakConfig {
        stub: quick_pace(),
        duration_secs: 6.0,
        users: 4,
        turns_per_chat: 2,
        sample_every_secs: 0.5,
        idle_chats: 20,
        idle_concurrency: 5,
        idle_settle_secs: 0.5,
    };
    let server = TestServer::start(bench_script(&[TurnKind::Text], config.stub.timing(), None)).await;
    let info = RunInfo { command: "test".into(), server: "in-process".into() };
    let progress = ProgressBar::hidden();
    let report = soak::run(&server.target, &config, info, &progress).await.unwrap();

    assert!(report.integrity.is_clean(), "{:?}", report.integrity.problems);
    let idle = report.idle.unwrap();
    assert_eq!(idle.chats, 20);
    assert!(idle.before_bytes > 0 && idle.after_bytes > 0);
    assert!(report.chats >= 4, "every user opened a chat at least");
    assert_eq!(report.turns, report.chats * 2);
    // 20 idle chats' turns, the users' turns and one history check per user chat.
    assert_eq!(report.integrity.turns, 20 + report.turns + report.chats);
    assert_eq!(progress.position() as usize, 20 + report.turns);

    // One sample when the users start and one when they end, at least.
    assert!(report.samples.len() >= 2, "{:?}", report.samples);
    assert!(report.samples.iter().all(|s| s.rss_bytes > 0));
    for pair in report.samples.windows(2) {
        assert!(pair[0].at_secs <= pair[1].at_secs && pair[0].turns <= pair[1].turns, "{pair:?}");
    }
    assert_eq!(report.samples.last().unwrap().turns as usize, report.turns);
    assert_eq!(report.first_text.unwrap().count, report.turns);

    let markdown = report.to_markdown();
    for line in ["RSS per idle chat:", "RSS (", "turns checked:", "errors: 0, lost parts: 0"] {
        assert!(markdown.contains(line), "{line} missing:\n{markdown}");
    }

    let dir = tempfile::tempdir().unwrap();
    let written = report.write(dir.path()).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["soak.md", "soak.json", "memory-over-time.svg"]);
    let back: SoakReport = serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    assert_eq!(back, report);
    let svg = std::fs::read_to_string(&written[2]).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Server memory over time") && svg.contains("<polyline"));
}

/// Two instances on one PostgreSQL schema: both serve their users' turns, and a follower on the
/// instance that does not run a turn gets every part of it, through the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_serve_turns_and_follow_each_other() {
    use aomi_bench::instances::{self, InstancesConfig, InstancesReport};
    let Some(database) = aomi_store::testing::TestPostgres::create().await else { return };
    let config = InstancesConfig { stub: quick_pace(), users: 4, turns_per_user: 2, follower_rounds: 4 };
    let stub =
        aomi_testkit::StubModel::start(bench_script(&[TurnKind::Text], config.stub.timing(), None)).await.unwrap();
    let mut targets = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        // Each instance its own store: its own pool and LISTEN connection, as in its own process.
        let store = aomi_store::connect(database.url()).await.unwrap();
        let tools = aomi_tools::ToolRegistry::new();
        let (target, server) =
            crate::common::serve_app(&stub.openai_base_url(), tools, store, aomi_server::limits::Limits::off()).await;
        targets.push(target);
        servers.push(server);
    }
    let info = RunInfo { command: "test".into(), server: "two in-process instances".into() };
    let progress = ProgressBar::hidden();
    let report = instances::run(&targets, &config, info, &progress).await.unwrap();

    assert!(report.integrity.is_clean(), "{:?}", report.integrity.problems);
    assert_eq!(report.turns_per_instance, [4, 4], "the users are split between the instances");
    assert_eq!(report.first_text.unwrap().count, 8);
    assert!(report.turns_per_second > 0.0);
    assert!(report.server_cpu_ms_per_turn.is_some());
    let followers = &report.followers;
    assert_eq!(followers.rounds, 4);
    assert_eq!(followers.other_instance_whole, 4, "{}", report.to_markdown());
    assert_eq!(followers.other_instance.first_text.unwrap().count, 4);
    assert_eq!(followers.same_instance.full_turn.unwrap().count, 4);
    assert_eq!(progress.position(), config.total_turns());

    let markdown = report.to_markdown();
    for line in ["| 4 + 4 |", "a follower on another instance", "got every part of 4 of 4 turns"] {
        assert!(markdown.contains(line), "{line} missing:\n{markdown}");
    }
    let dir = tempfile::tempdir().unwrap();
    let written = report.write(dir.path()).unwrap();
    let back: InstancesReport = serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    assert_eq!(back, report);
}
