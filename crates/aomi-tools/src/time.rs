//! `get_current_time`: the current date and time.

use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use chrono::{SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Returns the current UTC time, so the model never guesses today's date.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetCurrentTime;

/// `get_current_time` takes no arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// The output of `get_current_time`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentTime {
    /// The time in UTC, RFC 3339, to the second.
    pub utc: String,
    /// The same time as a Unix timestamp (seconds).
    pub unix: i64,
}

impl TypedTool for GetCurrentTime {
    const NAME: &'static str = "get_current_time";
    type Args = NoArguments;
    type Output = CurrentTime;

    fn description(&self) -> String {
        "Returns the current date and time in UTC (RFC 3339) and as a Unix timestamp.".into()
    }

    async fn run(&self, _args: NoArguments, _ctx: ToolContext) -> Result<ToolOutput<CurrentTime>, ToolError> {
        let now = Utc::now();
        let utc = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let summary = format!("It is {utc}.");
        Ok(ToolOutput::new(CurrentTime { utc, unix: now.timestamp() }, summary))
    }
}
