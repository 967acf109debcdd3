//! What both protocols share when they render a reply: the reply cut into
//! chunks, the frames a stream is made of, and the pacing of those frames.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use crate::script::{ScriptedCall, Timing};

/// One piece of a streamed body.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The bytes sent.
    pub bytes: Bytes,
    /// The content chunk ("token") this frame belongs to, which decides when
    /// it is due; `None` sends it as soon as the frame before it went.
    pub token: Option<usize>,
}

impl Frame {
    /// A frame sent as soon as possible.
    pub fn now(bytes: impl Into<Bytes>) -> Self {
        Self { bytes: bytes.into(), token: None }
    }

    /// A frame due with content chunk `token`.
    pub fn at(token: usize, bytes: impl Into<Bytes>) -> Self {
        Self { bytes: bytes.into(), token: Some(token) }
    }
}

/// Facts about one exchange that every rendering needs.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The model the request named.
    pub model: String,
    /// A serial number unique to this request, for response ids.
    pub serial: u64,
    /// Rough token count of the request's prompt.
    pub input_tokens: u64,
    /// Whether an OpenAI stream should end with a usage chunk.
    pub include_usage: bool,
    /// The shape of an OpenAI stream.
    pub shape: crate::script::OpenAiShape,
}

/// A text or tool-call reply cut into chunks.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The text said first, in chunks; `None` when there is no text.
    pub text: Option<Vec<String>>,
    /// The calls, in order.
    pub calls: Vec<PlannedCall>,
    /// Rough token count of the whole answer.
    pub output_tokens: u64,
}

/// One tool call of a [`Plan`].
#[derive(Debug, Clone)]
pub(crate) struct PlannedCall {
    /// The provider-style call id.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as a value.
    pub arguments: Value,
    /// The arguments as JSON text.
    pub json: String,
    /// The JSON text in pieces, at least two when it has two characters.
    pub pieces: Vec<String>,
}

impl Plan {
    /// Plan `text` and `calls`, naming each call with `next_id`.
    pub fn new(
        text: Option<&str>,
        calls: &[ScriptedCall],
        timing: &Timing,
        mut next_id: impl FnMut() -> String,
    ) -> Self {
        let per_chunk = timing.chunk_chars();
        let text = text.map(|text| split(text, per_chunk));
        let calls = calls
            .iter()
            .map(|call| {
                let json = call.arguments.to_string();
                let chars = json.chars().count();
                // Arguments always travel in several pieces, as real
                // providers send them.
                let size = per_chunk.min(chars.div_ceil(2)).max(1);
                PlannedCall {
                    id: next_id(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                    pieces: split(&json, size),
                    json,
                }
            })
            .collect::<Vec<_>>();
        let chars = text.iter().flatten().map(|piece| piece.chars().count()).sum::<usize>()
            + calls.iter().map(|call| call.json.chars().count() + call.name.len()).sum::<usize>();
        Self { text, calls, output_tokens: tokens(chars) }
    }

    /// The text said first, whole.
    pub fn full_text(&self) -> Option<String> {
        self.text.as_ref().map(|pieces| pieces.concat())
    }

    /// How many content chunks the plan streams.
    pub fn chunk_count(&self) -> usize {
        self.text.as_ref().map_or(0, Vec::len) + self.calls.iter().map(|call| call.pieces.len()).sum::<usize>()
    }
}

/// `text` in pieces of `size` characters; an empty text is no pieces.
pub(crate) fn split(text: &str, size: usize) -> Vec<String> {
    let size = size.max(1);
    let chars = text.chars().collect::<Vec<_>>();
    chars.chunks(size).map(|chunk| chunk.iter().collect()).collect()
}

/// A rough token count: a quarter of the characters, at least one.
pub(crate) fn tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

/// Rough token count of a request body's prompt: its messages, system
/// prompt and tool definitions.
pub(crate) fn input_tokens(body: &Value) -> u64 {
    let chars = ["system", "messages", "tools"]
        .iter()
        .filter_map(|key| body.get(*key))
        .map(|value| value.to_string().chars().count())
        .sum::<usize>();
    tokens(chars)
}

/// An SSE event with a name (Anthropic's framing).
pub(crate) fn named_event(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// An SSE event with only data (OpenAI's framing).
pub(crate) fn data_event(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// The frames as a body stream: each frame due with a content chunk waits
/// until `timing` says that chunk is due, counted from when the body is
/// first polled (just after the headers went). The stream ends early when
/// `shutdown` completes.
pub(crate) fn paced(
    frames: Vec<Frame>,
    timing: Timing,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    futures::stream::unfold((frames.into_iter(), None::<Instant>), move |(mut frames, start)| async move {
        let frame = frames.next()?;
        let start = start.unwrap_or_else(Instant::now);
        if let Some(token) = frame.token {
            match start.checked_add(timing.due(token)) {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending::<()>().await,
            }
        }
        Some((Ok(frame.bytes), (frames, Some(start))))
    })
    .take_until(shutdown)
}

/// The frames sent at once, then nothing until `shutdown` completes.
pub(crate) fn stalled(
    frames: Vec<Frame>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    futures::stream::iter(frames.into_iter().map(|frame| Ok(frame.bytes)))
        .chain(futures::stream::pending())
        .take_until(shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_keeps_characters_whole() {
        assert_eq!(split("héllo wörld", 4), vec!["héll", "o wö", "rld"]);
        assert!(split("", 4).is_empty());
    }

    #[test]
    fn arguments_come_in_several_pieces() {
        let timing = Timing::new().with_chars_per_token(1000);
        let plan = Plan::new(None, &[ScriptedCall::new("t", json!({"a": 1}))], &timing, || "id".into());
        assert!(plan.calls[0].pieces.len() >= 2);
        assert_eq!(plan.calls[0].pieces.concat(), r#"{"a":1}"#);
    }
}
