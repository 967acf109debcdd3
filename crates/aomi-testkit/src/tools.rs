//! Tools for tests: one that echoes, one that panics, one that sleeps.

use std::time::Duration;

use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde_json::{Value, json};

/// Returns its `text` argument; reports one progress message first.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoTool;

impl Tool for EchoTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "echo".into(),
            description: "Repeats the given text.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"]
            }),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let text = args
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| ToolError::InvalidArguments("\"text\" must be a string".into()))?;
            ctx.progress(format!("echoing {} characters", text.len()));
            Ok(ToolOutput::new(json!({ "echo": text }), format!("echoed \"{text}\"")))
        })
    }
}

/// Panics on every call: proves a crashing tool does not take the turn down.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicTool;

impl Tool for PanicTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "explode".into(),
            description: "Always crashes.".into(),
            parameters: json!({ "type": "object", "properties": {} }),
        }
    }

    #[allow(clippy::panic)]
    fn call<'a>(&'a self, _args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move { panic!("explode was called") })
    }
}

/// Sleeps `ms` milliseconds, then answers; its timeout is `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct SlowTool {
    /// The tool's own timeout.
    pub timeout: Duration,
}

impl Tool for SlowTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "slow".into(),
            description: "Waits the given number of milliseconds.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "ms": { "type": "integer", "minimum": 0 } },
                "required": ["ms"]
            }),
        }
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    fn call<'a>(&'a self, args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let ms = args
                .get("ms")
                .and_then(Value::as_u64)
                .ok_or_else(|| ToolError::InvalidArguments("\"ms\" must be a non-negative integer".into()))?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ToolOutput::new(json!({ "slept_ms": ms }), format!("slept {ms} ms")))
        })
    }
}
