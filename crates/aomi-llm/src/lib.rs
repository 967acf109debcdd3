//! Model clients of aomi, over [rig](https://docs.rs/rig) 0.44.
//!
//! An [`LlmClient`] is one configured model ([`ModelConfig`]: provider, model,
//! key, base URL, limits). [`LlmClient::stream`] sends **one** model call — the
//! system prompt, the chat history and the tools — and streams its
//! [`ModelEvent`]s; it never runs tools itself. The agent loop (aomi-agent)
//! runs the calls with its scheduler and calls the model again with the
//! results. [`LlmClient::complete`] is the same call, its text returned whole.
//!
//! # Providers
//!
//! - `anthropic:<model>`: the Anthropic Messages API, streamed
//!   (`POST {base}/v1/messages`); `ANTHROPIC_BASE_URL` is honoured.
//! - `openai:<model>`: the OpenAI **chat completions** API, streamed
//!   (`POST {base}/chat/completions`, not the Responses API), which OpenAI and
//!   the OpenAI-compatible servers (Ollama, vLLM, llama.cpp) serve. The base
//!   URL includes the version segment (`http://127.0.0.1:11434/v1`); without a
//!   key no `Authorization` header is sent.
//!
//! [`ModelConfig::from_env`] reads `AOMI_MODEL` and the provider variables.
//!
//! # OpenAI-compatible servers
//!
//! The OpenAI path is rig's chat-completions wire with two changes made for the servers people
//! run locally (llama.cpp's `llama-server`, llama-cpp-python, Ollama, vLLM):
//!
//! - **Text content as a string.** rig writes a system message's content, and a user message
//!   with several text parts, as an array of parts; llama-cpp-python refuses that (`Input should
//!   be a valid string`) and many chat templates fail on it. The client's transport
//!   rewrites the encoded body before it is sent: every content array holding only text parts
//!   becomes one string, for every role; an array with another kind of part (an image) stays an
//!   array. rig cannot be configured to do this for a wire that keeps tools (its flattening
//!   belongs to two hosted gateways' dialects, which turn tools off), so aomi owns this step. An
//!   assistant message that only calls tools gets `"content": ""` (llama-cpp-python refuses
//!   `null` and its template fails without the key). The
//!   rules are in the private `compat` module, and the tests assert the exact JSON each server
//!   receives.
//! - **`[DONE]` without a finish reason** ends the answer normally (rig's
//!   `done_without_finish_reason` quirk, set on the client's dialect); a stream cut before both
//!   is still [`LlmError::MalformedStream`].
//!
//! What rig's decoder already tolerates, and the tests pin with the stub's odd stream shapes: a
//! role-only first chunk, finish reasons spelled `stop`, `eos`, `end_turn`, `tool_calls`,
//! `function_call` and the like (an unknown one ends the answer as a stop), tool calls without
//! an id, with an id repeated, with their arguments split over many chunks or sent whole (as a
//! string or an object), and no usage chunk. A server that answers something unusable (not an
//! event stream, a stream cut before its end, an error inside the stream) gives an [`LlmError`]
//! the chat shows; a silent one times out ([`ModelConfig::idle_timeout`]).
//!
//! Typed answers can use the server's constrained decoding: [`StructuredOutput`] (for the
//! utility model, `AOMI_UTILITY_STRUCTURED_OUTPUT`) sends the answer's JSON schema as
//! `response_format`, in OpenAI's `json_schema` form or in the `json_object` + `schema` form
//! that llama-cpp-python reads.
//!
//! # Tools
//!
//! A request's tools are a [`ModelTools`]: built once by the app and offered to every call. Each
//! client lets rig encode a set in full on its first call and keeps rig's bytes; later calls hand
//! rig placeholders and send the kept bytes, so rig no longer copies, fingerprints and encodes every
//! schema per call (the private `tools` module has the details).
//!
//! # Routes
//!
//! [`ModelRoutes`] holds the models chats may run on: the default one and the others a server
//! allows, each under an id a client names (`GET /api/models`). An app holds the routes and calls,
//! each turn, the client of the chat's model ([`ModelRoutes::pick`]).
//!
//! # History
//!
//! The history is converted to the provider's shape: each step of an
//! assistant message (its parts up to a `StepStart`) becomes an assistant
//! message with its text and tool calls, followed by a user message with the
//! results; a call never answered gets a result saying it was not completed;
//! reasoning, data and unknown parts are not sent back. The rules are those of
//! the [`history`] module (public so benchmarks can measure it), whose doc lists them all.
//!
//! # Tool calls while streaming
//!
//! rig 0.44 (unlike the versions of rig issues #679, #1001 and #2246) streams a
//! call's start and its argument pieces: `StreamEvent::Start { kind: ToolCall,
//! name }` as soon as the provider names the tool, `StreamEvent::Arguments {
//! json }` for each piece of the argument JSON, and `StreamEvent::End` with the
//! complete `ToolCall`. They map to [`ModelEvent::ToolCallStart`],
//! [`ModelEvent::ToolCallDelta`] and [`ModelEvent::ToolCall`]. rig's start and
//! argument events identify the call only by its position in the reply; its id
//! arrives with the end. So that every event of a call carries the same id
//! from the start, the client's transport reads the provider's id off the raw
//! stream (the `tool_use` block's `id`, the OpenAI `tool_calls[].id`) as rig
//! decodes it. When the provider sent no id, or one an earlier call of the
//! reply already used, the client issues one (`call_<uuid>`), and the
//! complete `ToolCall` carries it too.
//!
//! # Typed subroutines
//!
//! [`LlmClient::run_subroutine`] asks for a value of a Rust type (JSON matching its schema) in one
//! call, with one correction round when the answer does not parse. They are meant for the utility
//! model (`AOMI_UTILITY_MODEL`, see [`ModelConfig::utility_from_lookup`]). In use: chat titles
//! (aomi-server), batch plans and the explore app's plans and judgements (aomi-agent), and the
//! [`compaction`] of long chats ([`compaction::CompactSummary`], [`compaction::OutputDigest`]).
//! Which model each runs on is configured per subroutine (`[subroutines]` of `aomi.toml`): an app's
//! subroutine takes a [`SubroutineModel`], the chat's own model or a fixed one.
//!
//! ## From a BAML function to a subroutine
//!
//! The roadmap names BAML for these functions. BAML's Rust runtime loads a native library that it
//! downloads at run time, which cannot run where aomi is built and tested, so aomi writes the same
//! thing in Rust. A BAML function maps onto a subroutine part by part:
//!
//! | BAML | aomi |
//! |---|---|
//! | `class CompactSummary { summary string  facts string[] }` | a struct deriving `Deserialize` and `JsonSchema` (`#[schemars(crate = "aomi_llm::schemars")]`); doc comments become the schema's descriptions, as `@description` does |
//! | `function Compact(previous: string, turns: string) -> CompactSummary` | a Rust function that renders its typed input into the `input` text and calls `run_subroutine::<CompactSummary>` |
//! | the function's `prompt #"…"#` and `{{ ctx.output_format }}` | the `instructions` argument; the schema is appended to it by `run_subroutine`, as `ctx.output_format` would render it |
//! | `client` (and a `retry_policy`) | the [`LlmClient`] it is called on (the utility model) and its transport retries; one correction round for an answer that does not parse |
//! | BAML's lenient parser (fences, prose around the JSON) | the same tolerance in the subroutine's parser |
//! | `@assert` / `@check` on a field | [`LlmClient::run_checked_subroutine`]'s `check`, whose failure is sent back once as a correction |
//! | a BAML test | a test against the stub model (`aomi-testkit`), scripted with the answer |
//!
//! # Long chats
//!
//! [`compaction::Compactor`] keeps a chat's history within the model's budget: older turns folded
//! into a stored summary, large tool outputs of older turns summarised once, and leaving out the
//! oldest messages ([`history::within_budget`]) when its model fails. Its module doc has the rules.
//!
//! # Failures
//!
//! Errors are [`LlmError`]s, with messages fit for the user. A 429 or 5xx before
//! the first event is retried up to `max_retries` times (default 2), waiting
//! as `retry-after` asks, at most 5 s; [`LlmClient::stream`] returns the error
//! of the last attempt. Once events flowed, an error ends the stream as it is.
//! A stream that stays silent for `idle_timeout` (default 60 s) fails with
//! [`LlmError::Timeout`], so a stalled provider never hangs a turn.

mod body;
mod client;
pub mod compaction;
mod compat;
mod config;
mod error;
pub mod history;
mod routes;
mod stream;
mod subroutine;
mod tools;

pub use client::{LlmClient, ModelEvent, ModelRequest, ModelStream, ToolChoice};
pub use config::{
    ConfigError, DEFAULT_ANTHROPIC_MODEL, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOKENS,
    DEFAULT_OPENAI_MODEL, ModelConfig, Provider, StructuredOutput,
};
pub use error::LlmError;
/// The JSON schema crate subroutine types derive `JsonSchema` from
/// (`#[schemars(crate = "aomi_llm::schemars")]`).
pub use rig::schemars;
pub use routes::{ModelRoute, ModelRoutes, RoutesError, SubroutineModel};
pub use subroutine::SubroutineError;
pub use tools::ModelTools;
