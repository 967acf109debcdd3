//! Native tools and the [`ToolScheduler`] that runs them.
//!
//! A turn's tool calls run concurrently, each under a timeout; a failing, panicking or slow tool
//! becomes an error result that the model sees and explains, never an aborted turn. Each call
//! streams its state as UI message stream parts while it runs: `tool-output-available` or
//! `tool-output-error` when it ends, and transient `data-tool-progress` parts in between.

mod registry;
mod scheduler;
pub mod time;

pub use registry::ToolRegistry;
pub use scheduler::{ToolCallRequest, ToolCallResult, ToolScheduler};
