//! Micro benchmarks of the hot paths of a turn: encoding stream parts, folding them into the stored
//! message, loading a chat's history, converting it for the model, the store's round trips, and a
//! contract call's ABI coding.
//!
//! `cargo bench -p aomi-bench --bench hot_paths`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aomi_core::{ChatMessage, FinishReason, MessageAssembler, MessagePart, ToolPart, ToolState, UiChunk};
use aomi_store::{ChatStore, NewChat, NewTurn, SqliteStore, StoreConfig, TurnStart, TurnState};
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

/// A store call's round trips on a SQLite file, as the server makes them: a read is a handoff to a
/// reader connection's thread and back, a write one to the writer thread and from there to its
/// connection's thread, once per call (a call holds one statement or a script of several). A
/// turn's start (2 calls: BEGIN with the chat's upsert and read; the turn, the message, the
/// history read and COMMIT) and end (1) against one statement of each kind say how much of a
/// turn's store time is handoffs rather than SQLite.
fn store_round_trips(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::in_data_dir(dir.path());
    let store = runtime.block_on(aomi_store::connect_with(&config)).unwrap();
    let owner = aomi_core::Address::parse("0x00000000000000000000000000000000000000a1").unwrap();
    let new_chat =
        |id: String| NewChat { id, owner: Some(owner), app: "default".into(), chain_id: Some(31337), model: None };
    runtime.block_on(async {
        store.ensure_chat(new_chat("c".into())).await.unwrap();
        store.set_title_if_missing("c", "a title").await.unwrap();
    });
    c.bench_function("store read, one statement (SQLite file)", |b| {
        b.iter(|| runtime.block_on(store.chat("c")).unwrap().is_some())
    });
    // The title is set: the statement runs and changes nothing.
    c.bench_function("store write, one statement (SQLite file)", |b| {
        b.iter(|| runtime.block_on(store.set_title_if_missing("c", "another")).unwrap())
    });
    let mut n = 0u64;
    c.bench_function("store turn start and end, 3 calls (SQLite file)", |b| {
        b.iter(|| {
            n += 1;
            let (chat, turn) = (format!("t{n}"), format!("turn{n}"));
            let start = TurnStart {
                chat: new_chat(chat.clone()),
                turn: NewTurn { id: turn.clone(), chat_id: chat.clone(), message_id: format!("a{n}") },
                message: Some(ChatMessage::user_text(format!("u{n}"), "What is my balance?")),
                replaces: None,
                max_messages: Some(1000),
            };
            let answer = ChatMessage::assistant(format!("a{n}"));
            runtime.block_on(async {
                let started = store.start_turn(&start).await.unwrap();
                store.end_turn_with_message(&turn, TurnState::Finished, &chat, &answer).await.unwrap();
                started.history.len()
            })
        })
    });
}

/// What `call_view_function` does around its RPC for `balanceOf(address)(uint256)`: the signature
/// parsed, the argument encoded and the result decoded through alloy's dynamic ABI, against the
/// compiled `sol!` call the raw alloy read uses.
fn abi_coding(c: &mut Criterion) {
    use aomi_chain::abi::{decode_output, encode_call, parse_function};
    use aomi_chain::alloy::primitives::{Address, U256};
    use aomi_chain::alloy::sol_types::SolCall;
    use aomi_chain::contracts::IERC20;

    let owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let args = [json!(owner)];
    let returned = U256::from(1_000_000_000_000u64).to_be_bytes_vec();
    c.bench_function("abi: parse balanceOf(address)(uint256)", |b| {
        b.iter(|| parse_function(black_box("balanceOf(address)(uint256)")).unwrap())
    });
    let function = parse_function("balanceOf(address)(uint256)").unwrap();
    c.bench_function("abi: balanceOf encoded and decoded, dynamic (from JSON)", |b| {
        b.iter(|| {
            let data = encode_call(&function, black_box(&args)).unwrap();
            (data.len(), decode_output(&function, black_box(&returned)).unwrap())
        })
    });
    let owner: Address = owner.parse().unwrap();
    c.bench_function("abi: balanceOf encoded and decoded, sol! (raw alloy)", |b| {
        b.iter(|| {
            let data = IERC20::balanceOfCall { owner: black_box(owner) }.abi_encode();
            (data.len(), IERC20::balanceOfCall::abi_decode_returns(black_box(&returned)).unwrap())
        })
    });
}

criterion_group!(benches, stream_encoding, assembling, history, store_round_trips, abi_coding);
criterion_main!(benches);
