//! Native tools and the [`ToolScheduler`] that runs them.
//!
//! A turn's tool calls run concurrently, each under a timeout; a failing, panicking or slow tool
//! becomes an error result that the model sees and explains, never an aborted turn. Each call
//! streams its state as UI message stream parts while it runs: `tool-output-available` or
//! `tool-output-error` when it ends, and transient `data-tool-progress` parts in between.
//!
//! - [`chain`]: the chain tools (balances, calls, transactions, blocks, ENS, networks, and the
//!   client-side `send_transaction_to_wallet`), over the chat's own provider.
//! - [`knowledge`]: web search, account history, contract source, and the memory of facts
//!   (labels beside addresses in every output).
//! - [`defi`]: tokens by name, swap quotes, the chat's pending batch simulated in order and sent
//!   to the wallet as one request.
//! - [`guard`] and [`review`]: each wallet's spend guards, and what the wallet tools add to a
//!   simulation before the wallet is asked (USD values, the price-impact rule, the guards).
//! - [`commands`]: direct `/` commands, run without a model through the same tools.
//! - [`intent`]: a transfer, approval or swap read out of a message (by the utility model),
//!   resolved into the same tool calls the model would make: aomi-agent's intent fast path.
//! - [`mcp`]: external MCP servers' tools, wrapped as tools like any other.
//! - [`parts`] and [`schemas`]: the `data-*` parts around a call, and every wire type of the tools
//!   as OpenAPI components ([`ToolSchemas`]), from which the page's types are generated.
//!
//! Each native tool is a [`TypedTool`](aomi_core::TypedTool): its name is a constant, the schema
//! the model sees is generated from its argument struct, and its output is a type.

pub mod chain;
pub mod commands;
pub mod defi;
pub mod guard;
pub mod intent;
pub mod knowledge;
pub mod mcp;
pub mod parts;
mod registry;
pub mod review;
mod scheduler;
pub mod schemas;
pub mod time;

pub use registry::{ToolRegistry, TurnHook};
pub use scheduler::{DEFAULT_TOOL_OUTPUT_BYTES, ToolCallRequest, ToolCallResult, ToolScheduler};
pub use schemas::ToolSchemas;
