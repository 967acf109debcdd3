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
//! model (`AOMI_UTILITY_MODEL`, see [`ModelConfig::utility_from_lookup`]).
//!
//! # Failures
//!
//! Errors are [`LlmError`]s, with messages fit for the user. A 429 or 5xx before
//! the first event is retried up to `max_retries` times (default 2), waiting
//! as `retry-after` asks, at most 5 s; [`LlmClient::stream`] returns the error
//! of the last attempt. Once events flowed, an error ends the stream as it is.
//! A stream that stays silent for `idle_timeout` (default 60 s) fails with
//! [`LlmError::Timeout`], so a stalled provider never hangs a turn.

mod client;
mod config;
mod error;
pub mod history;
mod stream;
mod subroutine;

pub use client::{LlmClient, ModelEvent, ModelRequest, ModelStream};
pub use config::{
    ConfigError, DEFAULT_ANTHROPIC_MODEL, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOKENS,
    DEFAULT_OPENAI_MODEL, ModelConfig, Provider,
};
pub use error::LlmError;
/// The JSON schema crate subroutine types derive `JsonSchema` from
/// (`#[schemars(crate = "aomi_llm::schemars")]`).
pub use rig::schemars;
pub use subroutine::SubroutineError;
