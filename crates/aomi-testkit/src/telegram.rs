//! The stub Telegram Bot API: `getMe`, `getUpdates`, `sendMessage`, `editMessageText` and
//! `setMyCommands` at `/bot<token>/<method>` on `127.0.0.1`, in the Bot API's own JSON, so tests
//! run aomi's real bot client over real HTTP.
//!
//! Every answer is `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description"}`,
//! with `parameters.retry_after` on a 429, as Telegram sends them. A wrong token is answered 401
//! "Unauthorized"; an unknown method 404 "Not Found"; a text over 4096 characters (UTF-16 code
//! units, as Telegram counts) 400 "Bad Request: message is too long"; an edit that changes
//! nothing 400 "Bad Request: message is not modified: …".
//!
//! Tests inject updates ([`StubTelegram::message`]), read what the bot sent and edited
//! ([`StubTelegram::sent`], [`StubTelegram::edits`], [`StubTelegram::texts`]), and make the API
//! flood-wait ([`StubTelegram::flood`]): the next sends or edits answer 429 with `retry_after`,
//! and, as Telegram does, every such request before the wait is over is refused again and
//! counted ([`StubTelegram::early_requests`]), so a test can check that the bot waited.
//!
//! `getUpdates` holds the request open until an update arrives or its `timeout` passes (long
//! polling), and forgets the updates below the `offset` a request confirms.
//!
//! ```no_run
//! use aomi_testkit::StubTelegram;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let stub = StubTelegram::start("123:ABC").await?;
//! let api_url = stub.url(); // http://127.0.0.1:PORT, the bot calls {api_url}/bot123:ABC/getUpdates
//! stub.message(42, 7, "hello"); // chat 42, user 7
//! # let _ = api_url;
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::served::Served;

/// The longest text Telegram takes in a message, in UTF-16 code units.
pub const MAX_TEXT: usize = 4096;

/// The bot's own user id in the stub's answers.
pub const BOT_USER_ID: i64 = 1_000_000;

/// A message the bot sent, with its text as it is now (after edits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotMessage {
    /// The chat.
    pub chat_id: i64,
    /// Its id in the chat.
    pub message_id: i64,
    /// The text as first sent.
    pub first_text: String,
    /// The text now.
    pub text: String,
    /// The `parse_mode` it was sent with, if any.
    pub parse_mode: Option<String>,
    /// The `reply_markup` it was sent with, if any (inline buttons).
    pub reply_markup: Option<Value>,
}

/// An edit the bot made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotEdit {
    /// The chat.
    pub chat_id: i64,
    /// The message edited.
    pub message_id: i64,
    /// The new text.
    pub text: String,
    /// When the stub received it.
    pub at: Instant,
}

#[derive(Debug, Default)]
struct BotState {
    updates: VecDeque<Value>,
    next_update: i64,
    next_message: i64,
    messages: Vec<BotMessage>,
    edits: Vec<BotEdit>,
    commands: Option<Value>,
    offsets: Vec<i64>,
    /// How many sends or edits still answer 429 right away, and the `retry_after` they name.
    flood: Option<(usize, u64)>,
    /// Until when sends and edits are refused (the last 429's wait).
    blocked_until: Option<Instant>,
    early: usize,
    rate_limited: usize,
}

type Shared = Arc<(Mutex<BotState>, Notify)>;

fn lock(shared: &Shared) -> MutexGuard<'_, BotState> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stub Bot API server. Stops when dropped.
#[derive(Debug)]
pub struct StubTelegram {
    server: Served,
    shared: Shared,
}

impl StubTelegram {
    /// Starts on a free port of 127.0.0.1, answering the bot whose token is `token`.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        let shared: Shared = Arc::default();
        lock(&shared).next_update = 1;
        lock(&shared).next_message = 1;
        let app = Router::new()
            .route("/{bot}/{method}", any(answer))
            .with_state((Arc::clone(&shared), Arc::<str>::from(format!("bot{token}"))));
        let server = Served::start(app, "the stub Bot API").await?;
        Ok(StubTelegram { server, shared })
    }

    /// The API's base URL, `http://127.0.0.1:PORT` (the bot calls `{url}/bot<token>/<method>`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Injects a text message from user `user_id` (first name "User<id>") in private chat
    /// `chat_id`; a text starting with `/` carries a `bot_command` entity, as Telegram sends it.
    pub fn message(&self, chat_id: i64, user_id: i64, text: &str) {
        let mut state = lock(&self.shared);
        let update_id = state.next_update;
        state.next_update += 1;
        let message_id = state.next_message;
        state.next_message += 1;
        let mut message = json!({
            "message_id": message_id,
            "from": { "id": user_id, "is_bot": false, "first_name": format!("User{user_id}"), "language_code": "en" },
            "chat": { "id": chat_id, "first_name": format!("User{user_id}"), "type": "private" },
            "date": unix_now(),
            "text": text,
        });
        if text.starts_with('/') {
            let length = text.split_whitespace().next().map(utf16_len).unwrap_or(0);
            message["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
        }
        state.updates.push_back(json!({ "update_id": update_id, "message": message }));
        drop(state);
        self.shared.1.notify_waiters();
    }

    /// The next `times` sends or edits answer 429 with `retry_after` seconds; until that wait is
    /// over, every send or edit is refused again (and counted in [`Self::early_requests`]).
    pub fn flood(&self, times: usize, retry_after: u64) {
        lock(&self.shared).flood = Some((times, retry_after));
    }

    /// Sends or edits that came while a 429's `retry_after` had not passed.
    pub fn early_requests(&self) -> usize {
        lock(&self.shared).early
    }

    /// How many 429 answers the stub gave.
    pub fn rate_limited(&self) -> usize {
        lock(&self.shared).rate_limited
    }

    /// Every message the bot sent, in order, with its current text.
    pub fn sent(&self) -> Vec<BotMessage> {
        lock(&self.shared).messages.clone()
    }

    /// Every edit the bot made, in order.
    pub fn edits(&self) -> Vec<BotEdit> {
        lock(&self.shared).edits.clone()
    }

    /// The current texts of the bot's messages in `chat_id`, in order.
    pub fn texts(&self, chat_id: i64) -> Vec<String> {
        lock(&self.shared).messages.iter().filter(|m| m.chat_id == chat_id).map(|m| m.text.clone()).collect()
    }

    /// The commands the bot last set (`setMyCommands`' `commands`), if it did.
    pub fn commands(&self) -> Option<Value> {
        lock(&self.shared).commands.clone()
    }

    /// The offsets `getUpdates` requests confirmed, in order.
    pub fn offsets(&self) -> Vec<i64> {
        lock(&self.shared).offsets.clone()
    }

    /// Updates injected and not yet confirmed by an offset.
    pub fn pending_updates(&self) -> usize {
        lock(&self.shared).updates.len()
    }

    /// Waits (at most `timeout`) until `done` holds for the messages of `chat_id`' current texts;
    /// answers those texts either way.
    pub async fn wait_for(&self, chat_id: i64, timeout: Duration, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let texts = self.texts(chat_id);
            if done(&texts) || Instant::now() >= deadline {
                return texts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A text's length as Telegram counts it.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn fail(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({ "ok": false, "error_code": code, "description": description }))).into_response()
}

fn too_many(retry_after: u64) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {retry_after}"),
        "parameters": { "retry_after": retry_after },
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

async fn answer(
    State((shared, bot)): State<(Shared, Arc<str>)>,
    Path((path_bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if path_bot != *bot {
        return fail(401, "Unauthorized");
    }
    // The Bot API takes JSON bodies (also query strings and forms, which the bot does not use).
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(params) => params,
            Err(_) => return fail(400, "Bad Request: can't parse JSON"),
        }
    };
    match method.as_str() {
        "getMe" => ok(bot_user()),
        "getUpdates" => get_updates(&shared, &params).await,
        "sendMessage" | "editMessageText" => {
            if let Some(refused) = flood_wait(&shared) {
                return refused;
            }
            if method == "sendMessage" { send_message(&shared, &params) } else { edit_message(&shared, &params) }
        }
        "setMyCommands" => {
            lock(&shared).commands = params.get("commands").cloned();
            ok(json!(true))
        }
        _ => fail(404, "Not Found"),
    }
}

/// A 429 when the API floods, or while the last one's wait runs.
fn flood_wait(shared: &Shared) -> Option<Response> {
    let mut state = lock(shared);
    let now = Instant::now();
    if let Some(until) = state.blocked_until
        && now < until
    {
        state.early += 1;
        state.rate_limited += 1;
        return Some(too_many(until.saturating_duration_since(now).as_secs().max(1)));
    }
    match state.flood {
        Some((times, retry_after)) if times > 0 => {
            state.flood = (times > 1).then_some((times - 1, retry_after));
            state.blocked_until = Some(now + Duration::from_secs(retry_after));
            state.rate_limited += 1;
            Some(too_many(retry_after))
        }
        _ => None,
    }
}

fn bot_user() -> Value {
    json!({ "id": BOT_USER_ID, "is_bot": true, "first_name": "aomi", "username": "aomi_test_bot" })
}

async fn get_updates(shared: &Shared, params: &Value) -> Response {
    let offset = params.get("offset").and_then(Value::as_i64);
    let timeout = params.get("timeout").and_then(Value::as_u64).unwrap_or(0).min(50);
    let limit = params.get("limit").and_then(Value::as_u64).unwrap_or(100).clamp(1, 100) as usize;
    if let Some(offset) = offset {
        let mut state = lock(shared);
        state.offsets.push(offset);
        // An offset confirms every update below it: they are never sent again.
        state.updates.retain(|update| update["update_id"].as_i64().unwrap_or(0) >= offset);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = shared.1.notified();
        let updates: Vec<Value> = lock(shared).updates.iter().take(limit).cloned().collect();
        if !updates.is_empty() || tokio::time::Instant::now() >= deadline {
            return ok(Value::Array(updates));
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

fn message_result(chat_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "message_id": message_id,
        "from": bot_user(),
        "chat": { "id": chat_id, "type": "private" },
        "date": unix_now(),
        "text": text,
    })
}

/// The text of a send or edit, checked as Telegram checks it; the 400's description otherwise.
fn checked_text(params: &Value) -> Result<String, &'static str> {
    let text = params.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return Err("Bad Request: message text is empty");
    }
    if utf16_len(text) > MAX_TEXT {
        return Err("Bad Request: message is too long");
    }
    Ok(text.to_owned())
}

fn send_message(shared: &Shared, params: &Value) -> Response {
    let Some(chat_id) = params.get("chat_id").and_then(Value::as_i64) else {
        return fail(400, "Bad Request: chat_id is empty");
    };
    let text = match checked_text(params) {
        Ok(text) => text,
        Err(description) => return fail(400, description),
    };
    let mut state = lock(shared);
    let message_id = state.next_message;
    state.next_message += 1;
    state.messages.push(BotMessage {
        chat_id,
        message_id,
        first_text: text.clone(),
        text: text.clone(),
        parse_mode: params.get("parse_mode").and_then(Value::as_str).map(str::to_owned),
        reply_markup: params.get("reply_markup").cloned(),
    });
    ok(message_result(chat_id, message_id, &text))
}

fn edit_message(shared: &Shared, params: &Value) -> Response {
    let (Some(chat_id), Some(message_id)) =
        (params.get("chat_id").and_then(Value::as_i64), params.get("message_id").and_then(Value::as_i64))
    else {
        return fail(400, "Bad Request: message identifier is not specified");
    };
    let text = match checked_text(params) {
        Ok(text) => text,
        Err(description) => return fail(400, description),
    };
    let mut state = lock(shared);
    let Some(message) = state.messages.iter_mut().find(|m| m.chat_id == chat_id && m.message_id == message_id) else {
        return fail(400, "Bad Request: message to edit not found");
    };
    if message.text == text {
        return fail(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the \
             same as a current content and reply markup of the message",
        );
    }
    message.text = text.clone();
    state.edits.push(BotEdit { chat_id, message_id, text: text.clone(), at: Instant::now() });
    ok(message_result(chat_id, message_id, &text))
}
