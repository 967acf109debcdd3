//! What the stub model answers: a [`Script`] of ordered steps, persistent
//! rules and a fallback, plus the [`Timing`] the answers are paced with.
//!
//! A script is plain data, serialisable as JSON so the `aomi-stub-model`
//! binary can read it from a file:
//!
//! ```json
//! {
//!   "rules": [
//!     { "when": { "last_user_contains": "balance" },
//!       "reply": { "tool_calls": { "calls": [ { "name": "get_balance", "arguments": { "address": "0x01" } } ] } } },
//!     { "when": { "last_tool_result_contains": "wei" }, "reply": { "text": "You hold 1 ETH." } }
//!   ],
//!   "steps": [ { "text": "Hello!" }, { "http_error": { "status": 429, "message": "slow down" } }, "stall" ],
//!   "fallback": { "text": "Nothing more to say." },
//!   "timing": { "ttft_ms": 200, "tokens_per_second": 50.0, "chars_per_token": 4 },
//!   "context_limit": 8000
//! }
//! ```
//!
//! `context_limit` (optional) is the model's context in the stub's tokens: a larger request is
//! refused with the provider's own 400 error (see [`Script::context_limit`]).

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The text the default fallback answers with once the script has nothing
/// left to say.
pub const EXHAUSTED_TEXT: &str = "The stub model's script is exhausted.";

/// The replies a stub model gives, in the order it gives them.
///
/// For each request the stub first tries the [rules](Script::rule) in order
/// (the first whose [`Match`] holds answers, and stays for later requests),
/// then takes the next unused [step](Script::then), and when the steps are
/// used up answers with the [fallback](Script::fallback).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    /// Persistent rules, checked in order before the steps.
    pub rules: Vec<Rule>,
    /// Ordered replies; each request that no rule answers consumes one.
    pub steps: Vec<Reply>,
    /// The reply once the steps are used up; `None` answers with
    /// [`EXHAUSTED_TEXT`].
    pub fallback: Option<Reply>,
    /// How replies are paced.
    pub timing: Timing,
    /// How an OpenAI stream is shaped: the standard shape by default, or one of the odd shapes
    /// compatible servers send.
    pub openai_shape: OpenAiShape,
    /// The model's context size, in the stub's tokens (four characters of the request's system
    /// prompt, messages and tools): a request over it is refused before any rule or step is
    /// consulted, with the provider's own error (OpenAI: 400 `context_length_exceeded`;
    /// Anthropic: 400 `invalid_request_error`, "prompt is too long"). `None`: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_limit: Option<u64>,
}

impl Script {
    /// An empty script: every request gets the fallback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append `reply` as the next ordered step.
    #[must_use]
    pub fn then(mut self, reply: Reply) -> Self {
        self.steps.push(reply);
        self
    }

    /// Append a persistent rule: whenever `when` holds (and no earlier rule
    /// holds), answer with `reply`. Rules are checked before the steps and
    /// do not consume them.
    #[must_use]
    pub fn rule(mut self, when: Match, reply: Reply) -> Self {
        self.rules.push(Rule { when, reply });
        self
    }

    /// Answer with `reply` when no rule matches and the steps are used up.
    #[must_use]
    pub fn fallback(mut self, reply: Reply) -> Self {
        self.fallback = Some(reply);
        self
    }

    /// Pace every reply with `timing`.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Shape every OpenAI stream as `shape`.
    #[must_use]
    pub fn openai_shape(mut self, shape: OpenAiShape) -> Self {
        self.openai_shape = shape;
        self
    }

    /// Refuse every request larger than `tokens` (see [`Script::context_limit`]).
    #[must_use]
    pub fn context_limit(mut self, tokens: u64) -> Self {
        self.context_limit = Some(tokens);
        self
    }

    /// Parse a script from its JSON form.
    pub fn from_json(json: &str) -> Result<Self, ScriptError> {
        serde_json::from_str(json).map_err(ScriptError::Parse)
    }

    /// Read and parse a script from a JSON file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self, ScriptError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ScriptError::Read { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }

    /// The reply for a request, advancing `next_step` when a step answers.
    pub(crate) fn choose(&self, next_step: &mut usize, request: &Conversation) -> Reply {
        if let Some(rule) = self.rules.iter().find(|rule| rule.when.holds(request)) {
            return rule.reply.clone();
        }
        if let Some(step) = self.steps.get(*next_step) {
            *next_step += 1;
            return step.clone();
        }
        self.fallback.clone().unwrap_or_else(|| Reply::text(EXHAUSTED_TEXT))
    }
}

/// A script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The script file could not be read.
    #[error("cannot read script file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The script is not valid JSON of the script's shape.
    #[error("invalid script: {0}")]
    Parse(#[source] serde_json::Error),
}

/// A persistent rule: when [`Rule::when`] holds, answer [`Rule::reply`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The condition on the request.
    pub when: Match,
    /// The answer when it holds.
    pub reply: Reply,
}

/// A condition on a request's conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// The last message is a user text message (not a tool result) whose
    /// text contains this string. A rule with this condition therefore does
    /// not fire again once its own tool call came back.
    LastUserContains(String),
    /// The conversation ends with tool results (an Anthropic `tool_result`
    /// block / OpenAI `role: "tool"` messages after the last user text) and
    /// their text contains this string.
    LastToolResultContains(String),
    /// Every request.
    Always,
}

impl Match {
    /// Whether the condition holds for `request`.
    pub(crate) fn holds(&self, request: &Conversation) -> bool {
        match self {
            Self::LastUserContains(needle) => {
                request.ends_with_user_text
                    && request.last_user_text.as_deref().is_some_and(|text| text.contains(needle.as_str()))
            }
            Self::LastToolResultContains(needle) => {
                request.last_tool_result.as_deref().is_some_and(|text| text.contains(needle.as_str()))
            }
            Self::Always => true,
        }
    }
}

/// What the conversation in a request ends with, as the rules read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Conversation {
    /// The text of the last user message that carries text and no tool result.
    pub last_user_text: Option<String>,
    /// The text of the tool results the conversation ends with.
    pub last_tool_result: Option<String>,
    /// Whether the last message is a user text message.
    pub ends_with_user_text: bool,
}

/// One scripted answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A text answer, streamed in chunks of about one token.
    Text(String),
    /// Optional text first, then one or more tool calls, whose arguments are
    /// streamed in several pieces.
    ToolCalls {
        /// Text said before the calls.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The calls, in order.
        calls: Vec<ScriptedCall>,
    },
    /// An HTTP error with the provider's error body (and `retry-after` for
    /// a 429).
    HttpError {
        /// The HTTP status.
        status: u16,
        /// The error message in the body.
        message: String,
    },
    /// `200` with event-stream headers, then bytes that are not valid
    /// SSE/JSON for the protocol, then the connection closes. A non-streamed
    /// request gets `200` with JSON headers and a body that is not JSON.
    Malformed,
    /// `200` with event-stream headers (JSON headers for a request that is not streamed), then
    /// exactly these bytes, each chunk written on its own, then the connection closes: for
    /// fuzzing the clients' stream parsers with truncated, garbled or split frames. In JSON,
    /// `{"raw": [[100, 97, 116, 97], [58]]}`.
    Raw(Vec<Vec<u8>>),
    /// `200` and the headers (and for a stream its first event), then
    /// nothing: the connection stays open until the server stops.
    Stall,
}

impl Reply {
    /// A text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// One tool call with no text before it.
    pub fn tool_call(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        Self::ToolCalls { text: None, calls: vec![ScriptedCall::new(name, arguments)] }
    }

    /// Several tool calls (the model asks for all of them at once), with
    /// no text before them.
    pub fn tool_calls(calls: impl IntoIterator<Item = ScriptedCall>) -> Self {
        Self::ToolCalls { text: None, calls: calls.into_iter().collect() }
    }

    /// Text first, then one tool call.
    pub fn text_then_tool_call(text: impl Into<String>, name: impl Into<String>, arguments: serde_json::Value) -> Self {
        Self::ToolCalls { text: Some(text.into()), calls: vec![ScriptedCall::new(name, arguments)] }
    }

    /// An HTTP error with `status` and `message`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self::HttpError { status, message: message.into() }
    }
}

/// A tool call the stub model makes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    /// The tool's name.
    pub name: String,
    /// The call's arguments (a JSON object for real tools).
    #[serde(default = "empty_object")]
    pub arguments: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl ScriptedCall {
    /// A call of tool `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        Self { name: name.into(), arguments }
    }
}

/// The shape of the OpenAI chunk streams the stub sends. The default is the OpenAI API's own: a
/// first chunk with the role and empty content, text in `delta.content`, each tool call opened by a
/// chunk with its `index`, a unique `id` and its name, its arguments as a string in several pieces,
/// a chunk with `finish_reason`, the usage chunk when the request asked for it, then `[DONE]`.
/// Each field turns one part into what some compatible server sends instead. In JSON:
/// `"openai_shape": {"first_chunk": "role_only", "finish_reason": "eos", "call_ids": "missing",
/// "arguments": "whole", "repeat_call_head": false, "usage": false, "done": true}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiShape {
    /// The first chunk.
    pub first_chunk: FirstChunk,
    /// The finish reason to send in place of `stop`/`tool_calls`; `Some("")` sends none at all
    /// (no finish chunk).
    pub finish_reason: Option<String>,
    /// How tool calls are identified.
    pub call_ids: CallIds,
    /// How tool-call arguments travel.
    pub arguments: Arguments,
    /// Whether every chunk of a call repeats its `id`, `type` and name, with the legacy
    /// `function_call` beside `tool_calls` (llama-cpp-python's `chatml-function-calling`).
    pub repeat_call_head: bool,
    /// Whether the usage chunk is sent when the request asks for it.
    pub usage: bool,
    /// Whether the stream ends with `data: [DONE]`.
    pub done: bool,
}

impl Default for OpenAiShape {
    fn default() -> Self {
        Self {
            first_chunk: FirstChunk::RoleAndEmptyContent,
            finish_reason: None,
            call_ids: CallIds::Unique,
            arguments: Arguments::Split,
            repeat_call_head: false,
            usage: true,
            done: true,
        }
    }
}

/// The first chunk of an OpenAI stream ([`OpenAiShape::first_chunk`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstChunk {
    /// `{"role": "assistant", "content": ""}` (OpenAI).
    RoleAndEmptyContent,
    /// `{"role": "assistant"}` alone (llama.cpp, vLLM).
    RoleOnly,
    /// No opening chunk: the first chunk carries content.
    None,
}

/// How the tool calls of an OpenAI stream are identified ([`OpenAiShape::call_ids`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallIds {
    /// A fresh `id` on each call's first chunk.
    Unique,
    /// No `id` at all.
    Missing,
    /// Every call with the same `id` (`call_0`), as some servers number per reply.
    Repeated,
}

/// How tool-call arguments travel in an OpenAI stream ([`OpenAiShape::arguments`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arguments {
    /// A JSON string in several pieces after the chunk that names the call.
    Split,
    /// The whole JSON string in the chunk that names the call.
    Whole,
    /// A JSON object, not a string, in the chunk that names the call.
    Object,
}

/// How replies are paced. The default is no delay and no pacing.
///
/// In JSON the delay is `ttft_ms`, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Delay between the response headers and the first content (time to
    /// first token). A non-streamed reply is held back by this delay, plus
    /// the time its tokens would take, before it is sent.
    #[serde(rename = "ttft_ms", with = "millis")]
    pub ttft: Duration,
    /// Content chunks (about one token each) per second after the first;
    /// `None` sends them as fast as possible.
    pub tokens_per_second: Option<f64>,
    /// Characters per streamed chunk ("token"); `0` counts as `1`.
    pub chars_per_token: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self { ttft: Duration::ZERO, tokens_per_second: None, chars_per_token: 4 }
    }
}

impl Timing {
    /// No delay, no pacing, four characters per chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// This timing with time to first token `ttft`.
    #[must_use]
    pub fn with_ttft(mut self, ttft: Duration) -> Self {
        self.ttft = ttft;
        self
    }

    /// This timing paced at `tokens_per_second`.
    #[must_use]
    pub fn with_tokens_per_second(mut self, tokens_per_second: f64) -> Self {
        self.tokens_per_second = Some(tokens_per_second);
        self
    }

    /// This timing with `chars_per_token` characters per chunk.
    #[must_use]
    pub fn with_chars_per_token(mut self, chars_per_token: usize) -> Self {
        self.chars_per_token = chars_per_token;
        self
    }

    /// The offset from the start of the body at which chunk `token` is due.
    pub(crate) fn due(&self, token: usize) -> Duration {
        let paced = match self.tokens_per_second {
            Some(rate) if rate.is_finite() && rate > 0.0 => {
                // Token counts are small; the f64 conversion is exact for
                // any realistic reply.
                Duration::try_from_secs_f64(token as f64 / rate).unwrap_or(Duration::MAX)
            }
            _ => Duration::ZERO,
        };
        self.ttft.saturating_add(paced)
    }

    /// Characters per chunk, at least one.
    pub(crate) fn chunk_chars(&self) -> usize {
        self.chars_per_token.max(1)
    }
}

/// Serde for a [`Duration`] as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(text: &str) -> Conversation {
        Conversation { last_user_text: Some(text.to_owned()), last_tool_result: None, ends_with_user_text: true }
    }

    #[test]
    fn rules_come_before_steps_and_do_not_consume_them() {
        let script = Script::new()
            .then(Reply::text("one"))
            .then(Reply::text("two"))
            .rule(Match::LastUserContains("weather".into()), Reply::text("sunny"));
        let mut next = 0;
        assert_eq!(script.choose(&mut next, &user("hi")), Reply::text("one"));
        assert_eq!(script.choose(&mut next, &user("weather?")), Reply::text("sunny"));
        assert_eq!(script.choose(&mut next, &user("hi")), Reply::text("two"));
        assert_eq!(script.choose(&mut next, &user("hi")), Reply::text(EXHAUSTED_TEXT));
    }

    #[test]
    fn user_rule_does_not_fire_after_a_tool_result() {
        let rule = Match::LastUserContains("weather".into());
        let after_tool = Conversation {
            last_user_text: Some("weather?".into()),
            last_tool_result: Some("22C".into()),
            ends_with_user_text: false,
        };
        assert!(!rule.holds(&after_tool));
        assert!(Match::LastToolResultContains("22C".into()).holds(&after_tool));
        assert!(!Match::LastToolResultContains("22C".into()).holds(&user("22C")));
    }

    #[test]
    fn json_round_trip() {
        let script = Script::new()
            .rule(Match::Always, Reply::tool_call("t", json!({"a": 1})))
            .then(Reply::Stall)
            .then(Reply::Malformed)
            .then(Reply::Raw(vec![b"data: {".to_vec(), vec![0xff, b'\n']]))
            .then(Reply::error(429, "slow"))
            .fallback(Reply::text("bye"))
            .timing(Timing::new().with_ttft(Duration::from_millis(250)));
        let text = serde_json::to_string(&script).unwrap_or_default();
        assert!(text.contains("\"ttft_ms\":250"), "{text}");
        let back = Script::from_json(&text).ok();
        assert_eq!(back, Some(script));
    }

    #[test]
    fn documented_json_parses() {
        let json = r#"{
          "rules": [
            { "when": { "last_user_contains": "balance" },
              "reply": { "tool_calls": { "calls": [ { "name": "get_balance", "arguments": { "address": "0x01" } } ] } } },
            { "when": "always", "reply": { "text": "You hold 1 ETH." } }
          ],
          "steps": [ { "text": "Hello!" }, { "http_error": { "status": 429, "message": "slow down" } }, "stall", "malformed" ],
          "fallback": { "text": "Nothing more to say." },
          "timing": { "ttft_ms": 200, "tokens_per_second": 50.0, "chars_per_token": 4 }
        }"#;
        let script = Script::from_json(json);
        assert!(script.is_ok(), "{script:?}");
        let script = script.unwrap_or_default();
        assert_eq!(script.steps.len(), 4);
        assert_eq!(script.timing.ttft, Duration::from_millis(200));
    }
}
