//! `get_current_time`: the current date and time.

use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

/// Returns the current UTC time, so the model never guesses today's date.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetCurrentTime;

impl Tool for GetCurrentTime {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_current_time".into(),
            description: "Returns the current date and time in UTC (RFC 3339) and as a Unix timestamp.".into(),
            parameters: json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        }
    }

    fn call<'a>(&'a self, args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            match &args {
                Value::Null => {}
                Value::Object(map) if map.is_empty() => {}
                other => return Err(ToolError::InvalidArguments(format!("takes no arguments, got {other}"))),
            }
            let now = Utc::now();
            let rfc3339 = now.to_rfc3339_opts(SecondsFormat::Secs, true);
            Ok(ToolOutput::new(json!({ "utc": rfc3339, "unix": now.timestamp() }), format!("It is {rfc3339}.")))
        })
    }
}
