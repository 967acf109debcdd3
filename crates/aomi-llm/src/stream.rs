//! One streamed model reply: rig's completion stream mapped to [`ModelEvent`]s,
//! with the idle timeout, and the transport tap that learns tool-call ids.
//!
//! rig 0.44 streams a tool call as `StreamEvent::Start { kind: ToolCall, name }`
//! as soon as the provider names the tool, then `StreamEvent::Arguments`
//! fragments of the argument JSON, then `StreamEvent::End` with the finished
//! `ToolCall`, which is the first event that carries the call's id. The
//! [`Tap`] transport reads the provider's id off the raw frames (Anthropic's
//! `content_block_start` of a `tool_use` block, OpenAI's first
//! `delta.tool_calls` entry of a call), so `ToolCallStart` and every
//! `ToolCallDelta` already carry the id the finished `ToolCall` carries.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use rig::completion::FinishReason;
use rig::driver::{Exchange, Opening, Transport};
use rig::error::ProviderError;
use rig::http_client::DynHttpClient;
use rig::message::{AssistantContent, LocalCallId};
use rig::streaming::{CompletionStream, Item, PartKind, StreamEvent};
use rig::wire::{Body, Encoded, Wire, WireFrame};
use serde_json::Value;

use crate::body::Fields;
use crate::config::{Provider, StructuredOutput};
use crate::error::{LlmError, from_rig};
use crate::tools::ToolsField;
use crate::{ModelEvent, ModelStream};

/// The tool calls a reply's frames announced, in the order they opened:
/// `(tool name, provider id)`. Shared by the [`Tap`] that writes it and the
/// [`Reply`] that reads it.
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    announced: VecDeque<(String, String)>,
    /// OpenAI calls being assembled, by `(choice, index)`: their id, and
    /// whether they were announced.
    openai: HashMap<(u64, u64), (Option<String>, bool)>,
}

impl CallLog {
    /// Notes the tool calls one raw frame opens.
    fn observe(&mut self, provider: Provider, data: &str) {
        match provider {
            Provider::Anthropic => {
                if !data.contains("tool_use") {
                    return;
                }
                let Ok(event) = serde_json::from_str::<Value>(data) else { return };
                if event.get("type").and_then(Value::as_str) != Some("content_block_start") {
                    return;
                }
                let Some(block) = event.get("content_block") else { return };
                if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                    return;
                }
                let text = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                self.announced.push_back((text("name"), text("id")));
            }
            Provider::OpenAi => {
                if !data.contains("tool_calls") {
                    return;
                }
                let Ok(chunk) = serde_json::from_str::<Value>(data) else { return };
                let choices = chunk.get("choices").and_then(Value::as_array).into_iter().flatten();
                for (position, choice) in choices.enumerate() {
                    let choice_index = choice.get("index").and_then(Value::as_u64).unwrap_or(position as u64);
                    let calls = choice.pointer("/delta/tool_calls").and_then(Value::as_array).into_iter().flatten();
                    for (position, call) in calls.enumerate() {
                        let index = call.get("index").and_then(Value::as_u64).unwrap_or(position as u64);
                        let entry = self.openai.entry((choice_index, index)).or_insert((None, false));
                        if let Some(id) = call.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
                            // A new id at a known index is a new call.
                            if entry.0.as_deref().is_some_and(|known| known != id) {
                                *entry = (None, false);
                            }
                            entry.0 = Some(id.to_owned());
                        }
                        let name =
                            call.pointer("/function/name").and_then(Value::as_str).filter(|name| !name.is_empty());
                        if let (Some(name), false) = (name, entry.1) {
                            entry.1 = true;
                            self.announced.push_back((name.to_owned(), entry.0.clone().unwrap_or_default()));
                        }
                    }
                }
            }
        }
    }

    /// The provider id of the oldest announced call of `name` not yet claimed.
    fn claim(&mut self, name: &str) -> Option<String> {
        let position = self.announced.iter().position(|(announced, _)| announced == name)?;
        self.announced.remove(position).map(|(_, id)| id).filter(|id| !id.is_empty())
    }
}

/// The highest content-block index an Anthropic stream may name. rig's reassembly places each
/// block at its index in a vector and pads the gap, so a single `content_block_start` naming
/// index 4294967296 made it allocate about 300 GB and abort the whole process (found by the
/// stream fuzz target). A real reply holds a handful of blocks.
pub(crate) const MAX_BLOCK_INDEX: u64 = 1024;

/// Refuses a frame that rig must not see: an Anthropic block index past [`MAX_BLOCK_INDEX`].
fn check_frame(provider: Provider, data: &str) -> Result<(), String> {
    if provider != Provider::Anthropic || !data.contains("\"index\"") {
        return Ok(());
    }
    let index = serde_json::from_str::<Value>(data).ok().and_then(|event| event.get("index")?.as_u64());
    match index {
        Some(index) if index > MAX_BLOCK_INDEX => {
            Err(format!("the stream names content block {index}; at most {MAX_BLOCK_INDEX} are read"))
        }
        _ => Ok(()),
    }
}

fn lock(log: &Mutex<CallLog>) -> std::sync::MutexGuard<'_, CallLog> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A transport that sends through an HTTP client and shows every frame of
/// the reply to a [`CallLog`] before rig decodes it; a frame that would make
/// rig allocate without bound ([`check_frame`]) ends the reply with an error.
#[derive(Clone)]
pub(crate) struct Tap {
    pub http: DynHttpClient,
    pub provider: Provider,
    /// How an OpenAI request's `response_format` is spelled ([`crate::compat`]).
    pub structured: StructuredOutput,
    /// What to do with the request's tool definitions ([`crate::tools`]).
    pub tools: ToolsField,
    pub log: Arc<Mutex<CallLog>>,
}

impl<W> Transport<W> for Tap
where
    W: Wire<Payload = Encoded, Frame = WireFrame>,
{
    // The frame stream's error type is rig's `ProviderError`, large or not.
    #[allow(clippy::result_large_err)]
    fn send(&self, mut payload: Encoded, exchange: Exchange) -> Opening<WireFrame> {
        rewrite_request(&mut payload, self.provider, self.structured, &self.tools);
        let opening = <DynHttpClient as Transport<W>>::send(&self.http, payload, exchange);
        let (provider, log) = (self.provider, Arc::clone(&self.log));
        Opening::new(async move {
            // aomi reads the events, never the reply rebuilt as one document (rig's `raw`): a
            // document given up front spares rig's reassembler, which parsed every frame once
            // more (a fifth of a text turn's instructions; docs/benchmarks.md).
            let opened = opening.await?.with_document(Value::Null);
            Ok(opened.map_frames(move |frames| {
                frames.map(move |frame| {
                    let frame = frame?;
                    let data = frame.as_str();
                    check_frame(provider, &data).map_err(ProviderError::Response)?;
                    lock(&log).observe(provider, &data);
                    drop(data);
                    Ok(frame)
                })
            }))
        })
    }
}

/// Rewrites the request body rig encoded: an OpenAI body for compatible servers
/// ([`crate::compat`]), and the tool definitions as [`ToolsField`] says. The body is read once, as
/// its top-level fields, and written again only if a field changed. A body that is not a JSON
/// object (none is, today) is sent as it is.
fn rewrite_request(payload: &mut Encoded, provider: Provider, structured: StructuredOutput, tools: &ToolsField) {
    let compat = provider == Provider::OpenAi;
    if !compat && !tools.reads_the_body() {
        return;
    }
    let Body::Bytes(bytes) = payload.request.body_mut() else { return };
    let Some(mut fields) = Fields::parse(bytes) else { return };
    let mut changed = tools.apply(&mut fields);
    if compat {
        changed |= crate::compat::rewrite_fields(&mut fields, structured).is_some();
    }
    if changed && let Some(rewritten) = fields.to_vec() {
        *bytes = rewritten;
    }
}

/// The error of a stream that ended before any answer.
pub(crate) const EMPTY_STREAM: &str =
    "the model server ended the stream without sending any answer (its own log should say why)";

/// One reply being read: rig's stream, and what mapping it needs to remember.
pub(crate) struct Reply {
    stream: Option<CompletionStream>,
    log: Arc<Mutex<CallLog>>,
    idle: Duration,
    /// Events mapped and not yet handed out.
    pending: VecDeque<ModelEvent>,
    /// The id each tool call was announced under, by rig's part position.
    calls: HashMap<usize, String>,
    /// Every call id handed out in this reply.
    used_ids: HashSet<String>,
    /// Whether the reply ended (after its `Done` or its error).
    ended: bool,
    /// Whether rig decoded anything from the reply.
    decoded: bool,
    /// The wait the provider asked for with the last error, if any.
    pub retry_after: Option<Duration>,
}

impl Reply {
    /// Reads `stream`, whose tool calls `log` announces, failing after `idle`
    /// without an event.
    pub fn new(stream: CompletionStream, log: Arc<Mutex<CallLog>>, idle: Duration) -> Self {
        Reply {
            stream: Some(stream),
            log,
            idle,
            pending: VecDeque::new(),
            calls: HashMap::new(),
            used_ids: HashSet::new(),
            ended: false,
            decoded: false,
            retry_after: None,
        }
    }

    /// The next event; `None` after `Done` or after an error.
    pub async fn next_event(&mut self) -> Option<Result<ModelEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let stream = self.stream.as_mut()?;
            match tokio::time::timeout(self.idle, stream.next()).await {
                Err(_) => return Some(Err(self.fail(LlmError::Timeout(self.idle)))),
                Ok(Some(Ok(item))) => {
                    self.decoded = true;
                    self.map(item);
                }
                Ok(Some(Err(ProviderError::Truncated))) if !self.decoded => {
                    return Some(Err(self.fail(LlmError::MalformedStream(EMPTY_STREAM.to_owned()))));
                }
                Ok(Some(Err(error))) => {
                    let (error, retry_after) = from_rig(&error);
                    self.retry_after = retry_after;
                    return Some(Err(self.fail(error)));
                }
                Ok(None) => {
                    self.ended = true;
                    let stream = self.stream.take()?;
                    match tokio::time::timeout(self.idle, stream.finish()).await {
                        Err(_) => return Some(Err(LlmError::Timeout(self.idle))),
                        // A server that fails after its `200` (llama-cpp-python on a chat
                        // template error, or on a tool call it cannot stream) closes the stream
                        // with nothing in it: say so, rather than "cut off".
                        Ok(Err(ProviderError::Truncated)) if !self.decoded => {
                            return Some(Err(LlmError::MalformedStream(EMPTY_STREAM.to_owned())));
                        }
                        Ok(Err(error)) => return Some(Err(from_rig(&error).0)),
                        Ok(Ok(mut response)) => {
                            if let Some(error) = response.error.take().filter(|error| !error.trim().is_empty()) {
                                return Some(Err(LlmError::Provider { status: 0, message: error }));
                            }
                            if response.finish_reason() == Some(FinishReason::Length) {
                                tracing::warn!("the model's answer was cut off at the max_tokens limit");
                            }
                            self.pending.push_back(ModelEvent::Done {
                                input_tokens: response.usage.input_tokens,
                                output_tokens: response.usage.output_tokens,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Puts `event` back in front, to be handed out next.
    pub fn push_front(&mut self, event: ModelEvent) {
        self.pending.push_front(event);
    }

    /// The rest of the reply as a stream.
    pub fn into_stream(self) -> ModelStream {
        Box::pin(futures::stream::unfold(self, |mut reply| async move {
            let event = reply.next_event().await?;
            Some((event, reply))
        }))
    }

    fn fail(&mut self, error: LlmError) -> LlmError {
        self.ended = true;
        self.stream = None;
        self.pending.clear();
        error
    }

    /// Maps one rig item to the events it stands for.
    fn map(&mut self, item: Item<StreamEvent>) {
        let Item::Event(event) = item else { return };
        match event {
            StreamEvent::Text { text, .. } if !text.is_empty() => self.pending.push_back(ModelEvent::TextDelta(text)),
            StreamEvent::Reasoning { text, .. } if !text.is_empty() => {
                self.pending.push_back(ModelEvent::ReasoningDelta(text));
            }
            StreamEvent::Start { part, kind: PartKind::ToolCall, name: Some(name) } => {
                let name = name.as_str().to_owned();
                let announced = lock(&self.log).claim(&name);
                self.open_call(part.index(), name, announced);
            }
            StreamEvent::Arguments { part, json } if !json.is_empty() => {
                if let Some(id) = self.calls.get(&part.index()) {
                    self.pending.push_back(ModelEvent::ToolCallDelta { id: id.clone(), delta: json });
                }
            }
            StreamEvent::End { part, content: AssistantContent::ToolCall(call) } => {
                let name = call.function.name.as_str().to_owned();
                if !self.calls.contains_key(&part.index()) {
                    self.open_call(part.index(), name.clone(), Some(call.id.to_string()));
                }
                let id = self.calls.get(&part.index()).cloned().unwrap_or_default();
                let arguments = match call.function.invalid_arguments {
                    // Arguments that are not a JSON object reach the tool as
                    // sent, so that its validation explains what is wrong.
                    Some(raw) => Value::String(raw),
                    None => Value::Object(call.function.arguments),
                };
                self.pending.push_back(ModelEvent::ToolCall { id, name, arguments });
            }
            _ => {}
        }
    }

    /// Announces the call at `part`: under the provider's id when it gave a
    /// fresh one, else under an id issued here.
    fn open_call(&mut self, part: usize, name: String, announced: Option<String>) {
        let id = announced
            .filter(|id| !id.is_empty() && !self.used_ids.contains(id))
            .unwrap_or_else(|| format!("call_{}", LocalCallId::new().to_string().replace('-', "")));
        self.used_ids.insert(id.clone());
        self.pending.push_back(ModelEvent::ToolCallStart { id: id.clone(), name });
        self.calls.insert(part, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_frames_announce_calls() {
        let mut log = CallLog::default();
        log.observe(
            Provider::Anthropic,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        );
        log.observe(
            Provider::Anthropic,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"echo","input":{}}}"#,
        );
        log.observe(
            Provider::Anthropic,
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"echo","input":{}}}"#,
        );
        assert_eq!(log.claim("other"), None);
        assert_eq!(log.claim("echo").as_deref(), Some("toolu_1"));
        assert_eq!(log.claim("echo").as_deref(), Some("toolu_2"));
        assert_eq!(log.claim("echo"), None);
    }

    #[test]
    fn openai_frames_announce_calls_once() {
        let mut log = CallLog::default();
        log.observe(
            Provider::OpenAi,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"echo","arguments":""}}]}}]}"#,
        );
        log.observe(
            Provider::OpenAi,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]}}]}"#,
        );
        log.observe(
            Provider::OpenAi,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"sum","arguments":"{}"}}]}}]}"#,
        );
        assert_eq!(log.claim("sum").as_deref(), Some("call_b"));
        assert_eq!(log.claim("echo").as_deref(), Some("call_a"));
        assert!(log.announced.is_empty());
    }
}
