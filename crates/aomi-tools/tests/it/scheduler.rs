//! The scheduler runs calls concurrently, times them out, survives panics, and streams results.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec, TurnSink, UiChunk};
use aomi_testkit::tools::{EchoTool, PanicTool, SlowTool};
use aomi_tools::time::GetCurrentTime;
use aomi_tools::{ToolCallRequest, ToolRegistry, ToolScheduler};
use serde_json::{Value, json};
use tokio::sync::Barrier;

#[derive(Default)]
struct Collect(Mutex<Vec<UiChunk>>);

impl TurnSink for Collect {
    fn emit(&self, chunk: UiChunk) -> bool {
        self.0.lock().unwrap().push(chunk);
        true
    }
}

/// Finishes only when `parties` calls wait on it at the same time: proves the calls overlap.
struct Rendezvous(Arc<Barrier>);

impl Tool for Rendezvous {
    fn spec(&self) -> ToolSpec {
        ToolSpec { name: "meet".into(), description: "waits for the others".into(), parameters: json!({}) }
    }

    fn call<'a>(&'a self, _args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            self.0.wait().await;
            Ok(ToolOutput::new(json!("met"), "met"))
        })
    }
}

fn call(id: &str, name: &str, arguments: Value) -> ToolCallRequest {
    ToolCallRequest { id: id.into(), name: name.into(), arguments }
}

#[tokio::test]
async fn calls_run_at_the_same_time() {
    let barrier = Arc::new(Barrier::new(3));
    let registry = ToolRegistry::new().with(Rendezvous(barrier));
    // Run one after another, the first call would wait forever and time out.
    let scheduler = ToolScheduler::new(Arc::new(registry), Duration::from_secs(10));
    let calls = (0..3).map(|i| call(&format!("c{i}"), "meet", json!({}))).collect();
    let sink = Collect::default();
    let results = scheduler.run_all(calls, "chat", None, &Default::default(), &sink).await;
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{results:?}");
    assert_eq!(results.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["c0", "c1", "c2"]);
}

#[tokio::test]
async fn failures_become_error_results_and_the_others_still_answer() {
    let registry = ToolRegistry::new()
        .with(EchoTool)
        .with(PanicTool)
        .with(SlowTool { timeout: Duration::from_millis(50) })
        .with(GetCurrentTime);
    let scheduler = ToolScheduler::new(Arc::new(registry), Duration::from_secs(10));
    let calls = vec![
        call("panic", "explode", json!({})),
        call("slow", "slow", json!({ "ms": 10_000 })),
        call("unknown", "nope", json!({})),
        call("bad-args", "echo", json!({ "text": 5 })),
        call("time-bad-args", "get_current_time", json!({ "x": 1 })),
        call("ok", "echo", json!({ "text": "fine" })),
        call("time", "get_current_time", json!({})),
    ];
    let sink = Collect::default();
    let results = scheduler.run_all(calls, "chat", None, &Default::default(), &sink).await;
    let outcome = |id: &str| results.iter().find(|r| r.id == id).unwrap().outcome.clone();
    assert!(matches!(outcome("panic"), Err(ToolError::Crashed(m)) if m.contains("explode was called")));
    assert_eq!(outcome("slow"), Err(ToolError::Timeout(Duration::from_millis(50))));
    assert_eq!(outcome("unknown"), Err(ToolError::Unknown("nope".into())));
    assert!(matches!(outcome("bad-args"), Err(ToolError::InvalidArguments(_))));
    assert!(matches!(outcome("time-bad-args"), Err(ToolError::InvalidArguments(_))));
    assert_eq!(outcome("ok").unwrap().data, json!({ "echo": "fine" }));
    let time = outcome("time").unwrap().data;
    let unix = time["unix"].as_i64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - unix).abs() < 60, "the time tool tells the real time");

    // Every call ended on the stream: five errors, two outputs, and the echo's progress.
    let parts = sink.0.lock().unwrap().clone();
    let errors = parts.iter().filter(|p| matches!(p, UiChunk::ToolOutputError { .. })).count();
    let outputs = parts.iter().filter(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })).count();
    assert_eq!((errors, outputs), (5, 2));
    assert!(parts.iter().any(|p| matches!(p,
        UiChunk::Data { name, data, transient: Some(true), .. }
            if name == "tool-progress" && data["toolCallId"] == "ok" && data["message"] == "echoing 4 characters")));
    let progress_at = parts.iter().position(|p| matches!(p, UiChunk::Data { id: Some(id), .. } if id == "ok"));
    let output_at = parts
        .iter()
        .position(|p| matches!(p, UiChunk::ToolOutputAvailable { tool_call_id, .. } if tool_call_id == "ok"));
    assert!(progress_at < output_at, "a call's progress comes before its result");
    let timeout_text = parts.iter().find_map(|p| match p {
        UiChunk::ToolOutputError { tool_call_id, error_text } if tool_call_id == "slow" => Some(error_text.clone()),
        _ => None,
    });
    assert_eq!(timeout_text.as_deref(), Some("timed out after 0.05 s"));
}

#[tokio::test]
async fn the_registry_lists_specs_sorted_and_later_tools_replace_earlier_ones() {
    let registry = ToolRegistry::new().with(GetCurrentTime).with(EchoTool).with(EchoTool);
    assert_eq!(registry.names(), ["echo", "get_current_time"]);
    let specs = registry.specs();
    assert_eq!(specs[1].parameters["type"], "object");
}

#[tokio::test]
async fn progress_is_never_lost_and_comes_before_the_result() {
    // A tool that reports progress and returns at once races the scheduler's select; run it often.
    let scheduler = ToolScheduler::new(Arc::new(ToolRegistry::new().with(EchoTool)), Duration::from_secs(5));
    for round in 0..200 {
        let sink = Collect::default();
        scheduler
            .run_all(vec![call("c", "echo", json!({ "text": "hi" }))], "chat", None, &Default::default(), &sink)
            .await;
        let parts = sink.0.into_inner().unwrap();
        let kinds: Vec<&str> = parts
            .iter()
            .map(|part| match part {
                UiChunk::Data { name, .. } if name == "tool-progress" => "progress",
                UiChunk::ToolOutputAvailable { .. } => "output",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["progress", "output"], "round {round}");
    }
}

/// Answers a megabyte of output, of data part and of progress text, or fails with a megabyte.
struct Flood;

impl Tool for Flood {
    fn spec(&self) -> ToolSpec {
        ToolSpec { name: "flood".into(), description: "answers too much".into(), parameters: json!({}) }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let big = "é".repeat(512 * 1024);
            ctx.progress(big.clone());
            ctx.emit_data("flood", json!({ "rows": big }));
            if args.get("fail").is_some() {
                return Err(ToolError::Failed(big));
            }
            Ok(ToolOutput::new(json!({ "rows": big }), "a lot"))
        })
    }
}

#[tokio::test]
async fn no_tool_output_part_is_larger_than_the_limit() {
    let limit = 1000;
    let scheduler =
        ToolScheduler::new(Arc::new(ToolRegistry::new().with(Flood)), Duration::from_secs(10)).with_output_limit(limit);
    let sink = Collect::default();
    let calls = vec![call("ok", "flood", json!({})), call("err", "flood", json!({ "fail": true }))];
    let results = scheduler.run_all(calls, "chat", None, &Default::default(), &sink).await;
    let chunks = sink.0.lock().unwrap().clone();
    // Every part the flood made reached the stream, each cut to the limit plus a short note.
    assert_eq!(chunks.len(), 6, "{}", chunks.len());
    for chunk in &chunks {
        let json = chunk.to_json();
        assert!(json.len() < limit + 300, "a part of {} bytes went out", json.len());
        assert!(json.contains("cut by aomi"), "{json}");
    }
    // What the model sees is cut too: the output data and the error text.
    let ok = results.iter().find(|r| r.id == "ok").unwrap().outcome.clone().unwrap();
    assert!(ok.data.as_str().is_some_and(|text| text.contains("only the first") && text.len() < limit + 100));
    let error = results.iter().find(|r| r.id == "err").unwrap().outcome.clone().unwrap_err();
    assert!(error.to_string().len() < limit + 100, "{}", error.to_string().len());
    // A small output passes untouched.
    let small = ToolScheduler::new(Arc::new(ToolRegistry::new().with(EchoTool)), Duration::from_secs(10))
        .with_output_limit(limit)
        .run_all(
            vec![call("e", "echo", json!({ "text": "hi" }))],
            "chat",
            None,
            &Default::default(),
            &Collect::default(),
        )
        .await;
    assert_eq!(small[0].outcome.clone().unwrap().data, json!({ "echo": "hi" }));
}
