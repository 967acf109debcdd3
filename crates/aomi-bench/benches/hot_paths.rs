//! Micro benchmarks of the hot paths of a turn: encoding stream parts, folding them into the stored
//! message, loading a chat's history, and converting it for the model.
//!
//! `cargo bench -p aomi-bench --bench hot_paths`. ABI encoding joins when the chain layer lands.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aomi_core::{ChatMessage, FinishReason, MessageAssembler, MessagePart, ToolPart, ToolState, UiChunk};
use aomi_store::{ChatStore, NewChat, SqliteStore};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;

/// The parts of one turn: a tool call with its result, then an answer streamed in `deltas` deltas.
fn turn_parts(deltas: usize) -> Vec<UiChunk> {
    let mut parts = vec![
        UiChunk::Start { message_id: Some("msg_1".into()), message_metadata: None },
        UiChunk::StartStep,
        UiChunk::ToolInputStart { tool_call_id: "call_1".into(), tool_name: "get_current_time".into() },
        UiChunk::ToolInputAvailable {
            tool_call_id: "call_1".into(),
            tool_name: "get_current_time".into(),
            input: json!({}),
        },
        UiChunk::ToolOutputAvailable {
            tool_call_id: "call_1".into(),
            output: json!({ "data": { "utc": "2030-01-01T00:00:00Z", "unix": 1_893_456_000 }, "summary": "It is 2030-01-01T00:00:00Z." }),
            preliminary: None,
        },
        UiChunk::FinishStep,
        UiChunk::StartStep,
        UiChunk::TextStart { id: "txt_1".into() },
    ];
    parts.extend((0..deltas).map(|_| UiChunk::TextDelta { id: "txt_1".into(), delta: "word".into() }));
    parts.extend([
        UiChunk::TextEnd { id: "txt_1".into() },
        UiChunk::FinishStep,
        UiChunk::Finish { finish_reason: Some(FinishReason::Stop), message_metadata: None },
    ]);
    parts
}

/// A chat of `turns` turns, each with a tool call in its answer.
fn chat(turns: usize) -> Vec<ChatMessage> {
    let mut messages = Vec::new();
    for n in 0..turns {
        messages.push(ChatMessage::user_text(format!("u{n}"), format!("Question {n}: what time is it?")));
        let mut answer = ChatMessage::assistant(format!("a{n}"));
        answer.parts = vec![
            MessagePart::StepStart,
            MessagePart::Tool(ToolPart {
                tool_name: "get_current_time".into(),
                tool_call_id: format!("call_{n}"),
                state: ToolState::OutputAvailable,
                input: json!({}),
                output: Some(json!({ "data": { "utc": "2030-01-01T00:00:00Z" }, "summary": "It is 2030." })),
                error_text: None,
            }),
            MessagePart::StepStart,
            MessagePart::text("It is 2030-01-01T00:00:00Z, a Tuesday. Anything else I can check for you?"),
        ];
        messages.push(answer);
    }
    messages
}

fn stream_encoding(c: &mut Criterion) {
    let delta = UiChunk::TextDelta { id: "txt_0123456789abcdef".into(), delta: "four".into() };
    c.bench_function("UiChunk::to_json text-delta", |b| b.iter(|| black_box(&delta).to_json()));
    let output = turn_parts(0).swap_remove(4);
    c.bench_function("UiChunk::to_json tool-output-available", |b| b.iter(|| black_box(&output).to_json()));
    let parts = turn_parts(200);
    c.bench_function("UiChunk::to_json a 200-delta turn", |b| {
        b.iter(|| black_box(&parts).iter().map(UiChunk::to_json).map(|json| json.len()).sum::<usize>())
    });
}

fn assembling(c: &mut Criterion) {
    let parts = turn_parts(200);
    c.bench_function("MessageAssembler a 200-delta turn", |b| {
        b.iter(|| {
            let mut assembler = MessageAssembler::new(ChatMessage::assistant("a"));
            for part in &parts {
                black_box(assembler.apply(part));
            }
            assembler.into_message()
        })
    });
}

fn history(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for turns in [1, 10, 50] {
        let messages = chat(turns);
        c.bench_function(&format!("history convert {turns} turns"), |b| {
            b.iter(|| aomi_llm::history::convert(black_box(&messages)).messages.len())
        });
        let store = runtime.block_on(SqliteStore::memory()).unwrap();
        runtime.block_on(async {
            let chat = NewChat { id: "c".into(), owner: None, app: "default".into(), chain_id: None, model: None };
            store.ensure_chat(chat).await.unwrap();
            for message in &messages {
                store.put_message("c", message).await.unwrap();
            }
        });
        c.bench_function(&format!("history load {turns} turns (in-memory SQLite)"), |b| {
            b.iter(|| runtime.block_on(store.messages("c")).unwrap().len())
        });
    }
    let messages = chat(50);
    c.bench_function("history serialize 50 turns (JSON)", |b| {
        b.iter_batched(|| messages.clone(), |m| serde_json::to_string(&m).unwrap().len(), BatchSize::SmallInput)
    });
}

criterion_group!(benches, stream_encoding, assembling, history);
criterion_main!(benches);
