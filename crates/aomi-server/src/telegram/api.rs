//! The Bot API client: the few methods the bot calls, over HTTPS (`{api_url}/bot<token>/<method>`,
//! JSON bodies), with the Bot API's answers and errors typed.
//!
//! Telegram answers `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description",
//! "parameters": {"retry_after"}}`; a 429 names how long to wait, which [`BotApi::call`] waits
//! (up to [`MAX_RETRIES`] times) before trying again, so no caller sends during a flood wait.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How many times a call waits out a 429 before giving up.
pub const MAX_RETRIES: usize = 5;

/// Telegram's own Bot API.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Why a Bot API call failed.
#[derive(Debug, thiserror::Error)]
pub enum BotApiError {
    /// Telegram refused the call (`ok: false`).
    #[error("the Bot API refused {method}: {code} {description}")]
    Refused {
        /// The method.
        method: String,
        /// `error_code`.
        code: i64,
        /// `description`.
        description: String,
    },
    /// Still rate-limited after [`MAX_RETRIES`] waits.
    #[error("the Bot API kept rate-limiting {method} (retry after {retry_after} s)")]
    RateLimited {
        /// The method.
        method: String,
        /// The last `retry_after`, in seconds.
        retry_after: u64,
    },
    /// The HTTP request failed (network, timeout) or the answer is not the Bot API's JSON. The
    /// text never holds the token.
    #[error("cannot reach the Bot API ({method}): {message}")]
    Transport {
        /// The method.
        method: String,
        /// What went wrong.
        message: String,
    },
}

impl BotApiError {
    /// The Bot API's `error_code`, if Telegram answered one.
    pub fn code(&self) -> Option<i64> {
        match self {
            BotApiError::Refused { code, .. } => Some(*code),
            BotApiError::RateLimited { .. } => Some(429),
            BotApiError::Transport { .. } => None,
        }
    }
}

/// A Telegram user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// True for bots.
    #[serde(default)]
    pub is_bot: bool,
    /// The first name.
    #[serde(default)]
    pub first_name: String,
    /// The `@username`, if any.
    #[serde(default)]
    pub username: Option<String>,
}

/// A Telegram chat.
#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    /// The chat's id (negative for groups).
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A message.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// Its id in the chat.
    pub message_id: i64,
    /// Who sent it (absent in channels).
    #[serde(default)]
    pub from: Option<User>,
    /// The chat.
    pub chat: Chat,
    /// Its text, if it is a text message.
    #[serde(default)]
    pub text: Option<String>,
}

/// An update from `getUpdates`.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    /// Its id: the next `offset` is the last id plus one.
    pub update_id: i64,
    /// A new message, if that is what it is.
    #[serde(default)]
    pub message: Option<Message>,
}

/// A command for `setMyCommands`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BotCommand {
    /// The name without `/`: 1 to 32 of `a-z`, `0-9`, `_`.
    pub command: String,
    /// What it does: 1 to 256 characters.
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// A client of one bot's Bot API.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    /// `{api_url}/bot<token>`: a secret, never logged.
    base: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi").finish_non_exhaustive()
    }
}

impl BotApi {
    /// A client of the bot `token` at `api_url` (Telegram's, or a stub's). Requests time out
    /// `poll_timeout` plus 10 seconds after they start (a long poll waits that long on purpose).
    pub fn new(api_url: &str, token: &str, poll_timeout: Duration) -> Result<Self, BotApiError> {
        let http = reqwest::Client::builder()
            .timeout(poll_timeout + Duration::from_secs(10))
            .build()
            .map_err(|e| BotApiError::Transport { method: "client".into(), message: e.to_string() })?;
        Ok(BotApi { http, base: format!("{}/bot{token}", api_url.trim_end_matches('/')) })
    }

    /// Calls `method` with `params`; waits out a 429's `retry_after` and tries again, up to
    /// [`MAX_RETRIES`] times.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: &Value) -> Result<T, BotApiError> {
        let mut waits = 0;
        loop {
            match self.call_once(method, params).await {
                Err(BotApiError::RateLimited { retry_after, .. }) if waits < MAX_RETRIES => {
                    waits += 1;
                    tracing::info!(method, retry_after, "the Bot API asks to wait");
                    tokio::time::sleep(Duration::from_secs(retry_after)).await;
                }
                other => return other,
            }
        }
    }

    /// Calls `method` once; a 429 is [`BotApiError::RateLimited`] with its `retry_after`.
    pub async fn call_once<T: DeserializeOwned>(&self, method: &str, params: &Value) -> Result<T, BotApiError> {
        let transport = |message: String| BotApiError::Transport { method: method.into(), message };
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .json(params)
            // Errors carry the URL, which holds the token: say what failed without it.
            .send()
            .await
            .map_err(|e| transport(e.without_url().to_string()))?;
        let status = response.status();
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| transport(format!("HTTP {status}, not the Bot API's JSON: {}", e.without_url())))?;
        if answer.ok {
            let result = answer.result.unwrap_or(Value::Null);
            return serde_json::from_value(result).map_err(|e| transport(format!("unexpected result: {e}")));
        }
        let code = answer.error_code.unwrap_or(i64::from(status.as_u16()));
        if code == 429 {
            // Telegram names the wait; one second when it does not.
            let retry_after = answer.parameters.and_then(|p| p.retry_after).unwrap_or(1);
            return Err(BotApiError::RateLimited { method: method.into(), retry_after });
        }
        Err(BotApiError::Refused {
            method: method.into(),
            code,
            description: answer.description.unwrap_or_else(|| format!("HTTP {status}")),
        })
    }

    /// `getUpdates`: the updates from `offset` on, waiting up to `timeout` for one.
    pub async fn get_updates(&self, offset: Option<i64>, timeout: Duration) -> Result<Vec<Update>, BotApiError> {
        let mut params = json!({ "timeout": timeout.as_secs(), "allowed_updates": ["message"] });
        if let Some(offset) = offset {
            params["offset"] = json!(offset);
        }
        // One try: the polling loop decides how to wait.
        self.call_once("getUpdates", &params).await
    }

    /// `getMe`: the bot itself (checks the token).
    pub async fn get_me(&self) -> Result<User, BotApiError> {
        self.call("getMe", &json!({})).await
    }

    /// `sendMessage` in plain text (no `parse_mode`: nothing to escape).
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<Message, BotApiError> {
        self.call(
            "sendMessage",
            &json!({ "chat_id": chat_id, "text": text, "link_preview_options": { "is_disabled": true } }),
        )
        .await
    }

    /// `editMessageText` in plain text, once (the caller decides how to wait on a 429). An
    /// edit that changes nothing is no error.
    pub async fn edit_message_text(&self, chat_id: i64, message_id: i64, text: &str) -> Result<(), BotApiError> {
        let params = json!({
            "chat_id": chat_id, "message_id": message_id, "text": text, "link_preview_options": { "is_disabled": true },
        });
        match self.call_once::<Value>("editMessageText", &params).await {
            Ok(_) => Ok(()),
            Err(BotApiError::Refused { description, .. }) if description.contains("message is not modified") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// `setMyCommands`.
    pub async fn set_my_commands(&self, commands: &[BotCommand]) -> Result<(), BotApiError> {
        self.call::<Value>("setMyCommands", &json!({ "commands": commands })).await.map(|_| ())
    }
}
