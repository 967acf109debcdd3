//! Test fixtures for aomi: the **stub model server**, the stub Etherscan ([`StubEtherscan`],
//! see [`etherscan`]), the stub LI.FI aggregator ([`StubLifi`], see [`lifi`]), the stub web search
//! (Brave and SearXNG: [`StubSearch`], see [`brave`]) and the stub Telegram Bot API ([`StubTelegram`],
//! see [`telegram`]).
//!
//! [`StubModel`] is a small HTTP server on `127.0.0.1` that speaks the real
//! wire formats of the two model APIs aomi uses, so tests and benchmarks run
//! the real rig-core clients over real HTTP:
//!
//! - the **Anthropic Messages API**, `POST /v1/messages`: with
//!   `"stream": true` an event stream (`message_start`, `ping`,
//!   `content_block_start` / `_delta` (`text_delta`, `input_json_delta`) /
//!   `_stop`, `message_delta`, `message_stop`), otherwise the whole `message`
//!   object; errors as `{"type":"error","error":{"type","message"}}`;
//! - **OpenAI chat completions**, `POST /v1/chat/completions` (and
//!   `POST /chat/completions`): with `"stream": true` `data:` chunks
//!   (`chat.completion.chunk`, the role first, text in `delta.content`, tool
//!   calls in `delta.tool_calls` with their arguments in several pieces, a
//!   finish chunk, the usage chunk when `stream_options.include_usage` is
//!   set, then `data: [DONE]`), otherwise the whole `chat.completion`;
//!   errors as `{"error":{"message","type","param","code"}}`. The Responses
//!   API is not served (404 with an explanation): point rig's OpenAI client at
//!   chat completions (`OpenAI::chat(model)` or `Route::Chat`).
//!
//! What it answers is a [`Script`]: persistent [rules](Script::rule) checked
//! first, then ordered [steps](Script::then), one per request, then a
//! [fallback](Script::fallback). The same script serves both protocols; each
//! request is answered in the protocol of its path. [`Timing`] paces the
//! answers (time to first token, tokens per second). Every request is
//! recorded ([`StubModel::requests`]).
//!
//! ```no_run
//! use aomi_testkit::{Match, Reply, Script, StubModel};
//! use serde_json::json;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let stub = StubModel::start(
//!     Script::new()
//!         .rule(Match::LastUserContains("balance".into()), Reply::tool_call("get_balance", json!({"address": "0x01"})))
//!         .rule(Match::LastToolResultContains("wei".into()), Reply::text("You hold 1 ETH."))
//!         .then(Reply::text("Hello!"))
//!         .then(Reply::error(429, "slow down")),
//! )
//! .await?;
//! let anthropic_base = stub.anthropic_base_url(); // http://127.0.0.1:PORT
//! let openai_base = stub.openai_base_url(); // http://127.0.0.1:PORT/v1
//! # let _ = (anthropic_base, openai_base);
//! # Ok(())
//! # }
//! ```
//!
//! The binary `aomi-stub-model --script script.json [--bind 127.0.0.1:0]`
//! serves a script read from a JSON file (see [`script`] for the format) and
//! prints `listening on http://127.0.0.1:PORT`.
//!
//! Usage numbers are rough: a token is four characters.

mod anthropic;
pub mod brave;
mod conversation;
pub mod defillama;
pub mod etherscan;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod lifi;
pub mod local_model;
mod openai;
pub mod proxy;
mod render;
pub mod script;
mod served;
mod server;
pub mod telegram;
pub mod tools;

pub use brave::{SearchHit, SearchReply, SearchRequest, StubSearch};
pub use defillama::StubDefiLlama;
pub use etherscan::{AccountTx, ExplorerReply, ExplorerRequest, StubEtherscan, TokenTransferTx};
pub use lifi::{LifiRequest, LifiRoute, StubLifi};
pub use local_model::{LocalModel, LocalModelError};
pub use proxy::RecordingProxy;
pub use script::{
    Arguments, CallIds, EXHAUSTED_TEXT, FirstChunk, Match, OpenAiShape, Reply, Rule, Script, ScriptError, ScriptedCall,
    Timing,
};
pub use server::{Protocol, RecordedRequest, StubModel};
pub use telegram::StubTelegram;
