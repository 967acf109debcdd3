//! Protocol and domain types of aomi, and the traits that tie its layers together.
//!
//! - [`message`]: a chat message and its parts, in the shape of the AI SDK's `UIMessage`, so that what
//!   the server stores is what the browser renders.
//! - [`stream`]: the parts of the AI SDK UI message stream protocol (v1), as [`stream::UiChunk`].
//! - [`assemble`]: folds a stream of chunks into the assistant message it describes;
//!   [`replay`]: the inverse, a stored message as chunks.
//! - [`turn`]: what one chat turn asks for ([`turn::TurnRequest`]) and its wallet context.
//! - [`tool`], [`app`], [`backend`]: the traits `Tool`, `AomiApp` and `ChatBackend`.
//! - [`compaction`]: [`CompactionState`], what a long chat's older turns became.
//!
//! With the `openapi` feature, the wire types also describe themselves as OpenAPI schemas (utoipa
//! `ToSchema`), for the server's `/api/openapi.json`.
//!
//! - [`address`]: [`Address`], an EVM address validated once (EIP-55 checked) where it enters.
//! - `typed` (feature `schemars`): `TypedTool`, a tool as a type whose parameter schema is
//!   generated from its arguments.
//!
//! This crate does no I/O and depends only on serde, thiserror and alloy's primitive types (utoipa
//! behind `openapi`, schemars and serde_path_to_error behind `schemars`); async trait methods return
//! [`BoxFuture`]s so that the traits stay object safe without extra crates.

pub mod address;
pub mod app;
pub mod assemble;
pub mod backend;
pub mod compaction;
pub mod message;
pub mod replay;
#[cfg(feature = "openapi")]
mod schema;
pub mod stream;
pub mod tool;
pub mod turn;
#[cfg(feature = "schemars")]
pub mod typed;

use std::future::Future;
use std::pin::Pin;

pub use address::{Address, AddressError};
pub use app::{AomiApp, AppError, TurnHook, TurnInput, TurnSink};
pub use assemble::MessageAssembler;
pub use backend::{
    AppSummary, BackendError, ChatBackend, ChatChange, ChatFork, ChatListPage, ChatListQuery, ChatSummary, MessagePage,
    MessageQuery, ModelSummary, PartStream, SearchMatch, SearchRequest, StartedTurn, StopOutcome,
};
pub use compaction::CompactionState;
pub use message::{ChatMessage, MessagePart, Role, ToolPart, ToolState};
pub use stream::{FinishReason, UiChunk};
pub use tool::{DataFn, DataPart, ProgressFn, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
pub use turn::{TurnOrigin, TurnRequest, WalletContext};
#[cfg(feature = "schemars")]
pub use typed::TypedTool;

/// A boxed, sendable future: the return type of the async methods of this crate's traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
