//! Fuzz targets of the model stream parsers: the real rig clients and aomi-llm's layer over them
//! (the tool-call id tap, the event mapping, the idle timeout) read bytes the stub model sends
//! verbatim ([`Reply::Raw`]) over real HTTP. Properties (docs/fuzzing.md):
//! - arbitrary bytes, and real streams with frames garbled, dropped, duplicated, truncated and
//!   split at any byte, never panic the client and never hang the call: it ends with a typed
//!   [`LlmError`], or with [`ModelEvent::Done`] after well-formed events;
//! - every tool call's events carry one id: a delta or a finished call never names an id that no
//!   `ToolCallStart` announced.
//!
//! Cases per property and provider: `PROPTEST_CASES` (128 by default: each case is one HTTP
//! exchange).

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aomi_llm::{LlmClient, LlmError, ModelEvent, Provider};
use aomi_testkit::fuzz::{arb_json, config};
use aomi_testkit::{Reply, Script, StubModel};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{ask, client_with, run};

/// How long a call may take before it counts as hung. The idle timeout below ends a silent
/// stream long before; this only guards the test.
const HANG: Duration = Duration::from_secs(30);

/// A runtime, a stub model and a client of it, per provider. Cases of the targets that share a
/// provider take turns (the stub plays one script at a time).
struct Fixture {
    runtime: tokio::runtime::Runtime,
    stub: StubModel,
    client: LlmClient,
}

fn fixture(provider: Provider) -> MutexGuard<'static, Fixture> {
    static ANTHROPIC: LazyLock<Mutex<Fixture>> = LazyLock::new(|| Mutex::new(Fixture::new(Provider::Anthropic)));
    static OPENAI: LazyLock<Mutex<Fixture>> = LazyLock::new(|| Mutex::new(Fixture::new(Provider::OpenAi)));
    let fixture = match provider {
        Provider::Anthropic => &ANTHROPIC,
        Provider::OpenAi => &OPENAI,
    };
    fixture.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fixture {
    fn new(provider: Provider) -> Fixture {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let stub = runtime.block_on(crate::stub(Script::new()));
        // The HTTP client registers with the runtime it is built in.
        let _entered = runtime.enter();
        let client = client_with(&stub, provider, |config| {
            config.idle_timeout = Duration::from_secs(5);
            config.max_retries = 0;
        });
        Fixture { runtime, stub, client }
    }

    /// Plays `chunks` to one model call and checks how the call ended.
    fn check(&self, chunks: Vec<Vec<u8>>) -> Result<(), TestCaseError> {
        self.stub.set_script(Script::new().fallback(Reply::Raw(chunks)));
        let outcome = self.runtime.block_on(async { tokio::time::timeout(HANG, run(&self.client, ask("hi"))).await });
        let Ok((events, error)) = outcome else {
            return Err(TestCaseError::fail("the model call hung"));
        };
        let mut announced = HashSet::new();
        for event in &events {
            match event {
                ModelEvent::ToolCallStart { id, .. } => {
                    prop_assert!(announced.insert(id.clone()), "the id {} was announced twice: {:?}", id, events);
                }
                ModelEvent::ToolCallDelta { id, .. } | ModelEvent::ToolCall { id, .. } => {
                    prop_assert!(announced.contains(id), "{} was never announced: {:?}", id, events);
                }
                _ => {}
            }
        }
        match error {
            Some(error) => {
                // Typed, and says something.
                prop_assert!(!error.to_string().trim().is_empty(), "{:?}", error);
                prop_assert!(!matches!(error, LlmError::Timeout(_)), "the closed stream timed out: {:?}", events);
            }
            None => {
                let done = events.iter().filter(|e| matches!(e, ModelEvent::Done { .. })).count();
                // A call that ends without an error ends with `Done`, once; or reported nothing.
                prop_assert!(
                    events.is_empty() || (done == 1 && matches!(events.last(), Some(ModelEvent::Done { .. }))),
                    "{:?}",
                    events
                );
            }
        }
        Ok(())
    }
}

/// One SSE frame: an event name (Anthropic names its events) and its JSON data.
#[derive(Debug, Clone)]
struct Frame {
    event: Option<String>,
    data: Value,
}

/// The frames of a real Anthropic stream: text, then a tool call, then the end.
fn anthropic_frames() -> Vec<Frame> {
    let frame = |data: Value| Frame { event: data["type"].as_str().map(str::to_owned), data };
    vec![
        frame(json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "model": "stub-model", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 1}}})),
        frame(json!({"type": "ping"})),
        frame(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        frame(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})),
        frame(json!({"type": "content_block_stop", "index": 0})),
        frame(json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "echo", "input": {}}})),
        frame(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{\"text\": "}})),
        frame(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "\"hi\"}"}})),
        frame(json!({"type": "content_block_stop", "index": 1})),
        frame(json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 9}})),
        frame(json!({"type": "message_stop"})),
    ]
}

/// The frames of a real OpenAI chat-completion stream, ending with `[DONE]`.
fn openai_frames() -> Vec<Frame> {
    let chunk = |delta: Value, finish: Value| Frame {
        event: None,
        data: json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "stub-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
    };
    vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Hello"}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "echo", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"text\": "}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"hi\"}"}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        Frame {
            event: None,
            data: json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "stub-model",
                "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}}),
        },
        Frame { event: None, data: Value::String("[DONE]".into()) },
    ]
}

/// Replaces the value at the path `choices` picks (an index into each object or array on the
/// way down) with `replacement`.
fn mutate(value: &mut Value, choices: &[usize], replacement: Value) {
    let child = match (value, choices.first()) {
        (Value::Object(map), Some(choice)) if !map.is_empty() => {
            let key = map.keys().nth(choice % map.len()).cloned().unwrap_or_default();
            map.get_mut(&key)
        }
        (Value::Array(items), Some(choice)) if !items.is_empty() => {
            let len = items.len();
            items.get_mut(choice % len)
        }
        (value, _) => {
            *value = replacement;
            return;
        }
    };
    if let Some(child) = child {
        mutate(child, &choices[1..], replacement);
    }
}

/// What happens to one frame.
#[derive(Debug, Clone)]
enum Edit {
    Keep,
    Drop,
    Twice,
    /// Replace the value at a path with this one (huge indexes, wrong types, unknown tags…).
    Replace(Vec<usize>, Value),
    /// Cut the frame's text after this many bytes.
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let hostile_value = prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(4_294_967_296u64)),
        Just(json!(-1)),
        Just(json!("")),
        Just(json!("unknown_type")),
        Just(json!(null)),
        Just(json!({})),
        Just(json!([])),
        arb_json(),
    ];
    prop_oneof![
        6 => Just(Edit::Keep),
        1 => Just(Edit::Drop),
        1 => Just(Edit::Twice),
        3 => (proptest::collection::vec(any::<usize>(), 1..5), hostile_value).prop_map(|(p, v)| Edit::Replace(p, v)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// The bytes of `frames` after `edits`, in SSE, with `line_end` between lines.
fn render(frames: &[Frame], edits: &[Edit], line_end: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (frame, edit) in frames.iter().zip(edits.iter().cycle()) {
        let mut data = frame.data.clone();
        if let Edit::Replace(path, value) = edit {
            mutate(&mut data, path, value.clone());
        }
        let data = match &data {
            Value::String(done) if done == "[DONE]" => done.clone(),
            other => other.to_string(),
        };
        let mut text = String::new();
        if let Some(event) = &frame.event {
            text.push_str(&format!("event: {event}{line_end}"));
        }
        text.push_str(&format!("data: {data}{line_end}{line_end}"));
        let mut bytes = text.into_bytes();
        match edit {
            Edit::Drop => continue,
            Edit::Twice => bytes.extend(bytes.clone()),
            Edit::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Edit::Keep | Edit::Replace(..) => {}
        }
        out.extend(bytes);
    }
    out
}

/// Cuts `bytes` into chunks at `cuts` (positions modulo the length).
fn split(bytes: Vec<u8>, cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in at {
        chunks.push(bytes[start..cut].to_vec());
        start = cut;
    }
    chunks.push(bytes[start..].to_vec());
    chunks
}

/// A real stream of `provider`, edited frame by frame, then cut short and split anywhere.
fn garbled(provider: Provider) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let frames = match provider {
        Provider::Anthropic => anthropic_frames(),
        Provider::OpenAi => openai_frames(),
    };
    (
        proptest::collection::vec(edit(), 1..12),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        proptest::option::of(any::<usize>()),
        proptest::collection::vec(any::<usize>(), 0..6),
        proptest::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(move |(edits, line_end, cut, cuts, noise)| {
            let mut bytes = render(&frames, &edits, line_end);
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            // A few stray bytes at a random point (invalid UTF-8 among them).
            if let Some(first) = cuts.first() {
                let at = first % (bytes.len() + 1);
                bytes.splice(at..at, noise);
            }
            split(bytes, &cuts)
        })
}

/// Arbitrary bytes, sometimes behind a valid SSE prefix.
fn noise() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        prop_oneof![Just(&b""[..]), Just(&b"data: "[..]), Just(&b"event: message_start\ndata: {"[..])],
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(any::<usize>(), 0..4),
    )
        .prop_map(|(prefix, bytes, cuts)| split([prefix, &bytes[..]].concat(), &cuts))
}

proptest! {
    #![proptest_config(config(file!(), 128))]

    #[test]
    fn anthropic_garbled_streams_end_cleanly(chunks in garbled(Provider::Anthropic)) {
        fixture(Provider::Anthropic).check(chunks)?;
    }

    #[test]
    fn openai_garbled_streams_end_cleanly(chunks in garbled(Provider::OpenAi)) {
        fixture(Provider::OpenAi).check(chunks)?;
    }

    #[test]
    fn arbitrary_bytes_end_cleanly(chunks in noise(), openai in any::<bool>()) {
        let provider = if openai { Provider::OpenAi } else { Provider::Anthropic };
        fixture(provider).check(chunks)?;
    }
}

/// The seed corpus: the untouched streams, each cut at every frame boundary, and hand-picked
/// hostile frames.
#[test]
fn hostile_streams_end_cleanly() {
    let anthropic = |data: Value| format!("event: {}\ndata: {data}\n\n", data["type"].as_str().unwrap_or("x"));
    let openai = |data: Value| format!("data: {data}\n\n");
    let start = anthropic(anthropic_frames()[0].data.clone());
    let cases: Vec<(Provider, String)> = vec![
        (Provider::Anthropic, String::new()),
        (Provider::OpenAi, String::new()),
        (
            Provider::Anthropic,
            format!(
                "{start}{}",
                anthropic(
                    json!({"type": "content_block_delta", "index": u64::MAX, "delta": {"type": "text_delta", "text": "x"}})
                )
            ),
        ),
        // Regression: rig padded its block vector up to this index, ~300 GB, and aborted.
        (
            Provider::Anthropic,
            format!(
                "{start}{}",
                anthropic(
                    json!({"type": "content_block_start", "index": 4_294_967_296u64, "content_block": {"type": "text", "text": ""}})
                )
            ),
        ),
        (
            Provider::Anthropic,
            format!(
                "{start}{}",
                anthropic(
                    json!({"type": "content_block_start", "index": 1025, "content_block": {"type": "tool_use", "id": "t", "name": "echo", "input": {}}})
                )
            ),
        ),
        (
            Provider::Anthropic,
            format!(
                "{start}{}",
                anthropic(
                    json!({"type": "content_block_delta", "index": 7, "delta": {"type": "input_json_delta", "partial_json": "{"}})
                )
            ),
        ),
        (Provider::Anthropic, format!("{start}{}", anthropic(json!({"type": "content_block_stop", "index": 3})))),
        (
            Provider::Anthropic,
            format!(
                "{start}{}",
                anthropic(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
            ),
        ),
        (Provider::Anthropic, format!("{start}{}", anthropic(json!({"type": "message_stop"})))),
        // Regression: rig adds the token counts of `usage`; a count near u64::MAX overflowed
        // (a panic in a debug build, found by the garbled-stream target).
        (
            Provider::Anthropic,
            format!(
                "{start}{}{}",
                anthropic(
                    json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": u64::MAX}})
                ),
                anthropic(json!({"type": "message_stop"}))
            ),
        ),
        (Provider::Anthropic, format!("{start}event: message_stop\ndata: {}\n\n", "{".repeat(100_000))),
        (Provider::Anthropic, format!("\u{feff}{start}data: {}\n\n", "x".repeat(1 << 20))),
        (
            Provider::OpenAi,
            openai(
                json!({"choices": [{"index": u64::MAX, "delta": {"tool_calls": [{"index": u64::MAX, "id": "c", "function": {"name": "echo"}}]}}]}),
            ),
        ),
        (
            Provider::OpenAi,
            openai(
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]}),
            ),
        ),
        (
            Provider::OpenAi,
            format!(
                "{}{}data: [DONE]\n\n",
                openai(
                    json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "echo", "arguments": "{"}}]}}]})
                ),
                openai(
                    json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "b", "function": {"name": "echo", "arguments": "}"}}]}, "finish_reason": "tool_calls"}]})
                )
            ),
        ),
        (Provider::OpenAi, openai(json!({"error": {"message": "boom", "type": "server_error"}}))),
        (
            Provider::OpenAi,
            format!(
                "{}data: [DONE]\n\n",
                openai(
                    json!({"choices": [], "usage": {"prompt_tokens": u64::MAX, "completion_tokens": u64::MAX, "total_tokens": u64::MAX}})
                )
            ),
        ),
        (Provider::OpenAi, "data: [DONE]\n\n".to_owned()),
        (Provider::OpenAi, "data: [DONE]\n\ndata: {\"choices\": []}\n\n".to_owned()),
        (Provider::OpenAi, ": comment only\n\n".repeat(1000)),
    ];
    for (provider, text) in cases {
        let fixture = fixture(provider);
        if let Err(error) = fixture.check(vec![text.clone().into_bytes()]) {
            panic!("{provider:?} {:.300}: {error}", text);
        }
    }
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let frames = match provider {
            Provider::Anthropic => anthropic_frames(),
            Provider::OpenAi => openai_frames(),
        };
        let whole = render(&frames, &[Edit::Keep], "\n");
        let fixture = fixture(provider);
        for end in 0..=frames.len() {
            let bytes = render(&frames[..end], &[Edit::Keep], "\n");
            if let Err(error) = fixture.check(vec![bytes]) {
                panic!("{provider:?} cut after {end} frames: {error}");
            }
        }
        // Byte by byte, the whole stream still reads.
        if let Err(error) = fixture.check(whole.iter().map(|b| vec![*b]).collect()) {
            panic!("{provider:?} byte by byte: {error}");
        }
    }
}
