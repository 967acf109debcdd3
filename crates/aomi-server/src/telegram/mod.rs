//! The Telegram front end: a bot that long-polls the Bot API and runs each message as a turn of
//! the same [`ChatBackend`](aomi_core::ChatBackend) the page and `aomi chat` use.
//!
//! - [`api`]: the Bot API client (`getUpdates`, `sendMessage`, `editMessageText`,
//!   `setMyCommands`), its 429 `retry_after` waited out.
//! - [`text`]: a turn's parts as plain text, cut into messages of Telegram's 4096 units.
//! - [`TelegramBot`] (`bot.rs`): the polling loop, the `/commands`, who may use the bot, and the
//!   answer streamed by editing one message (at most one edit per [`TelegramConfig::edit_interval`]
//!   per chat, none before a 429's wait is over).
//! - [`link`]: the one-time links that bind a Telegram user to a wallet, redeemed by
//!   `POST /api/telegram/link` on the page once the wallet has signed in.
//!
//! The bot depends on the backend trait and the store's [`TelegramStore`](aomi_store::TelegramStore)
//! only, never on the HTTP routes; `aomi telegram` runs it beside the server, in one process.

pub mod api;
mod bot;
pub mod link;
pub mod text;

use std::time::Duration;

pub use bot::TelegramBot;

/// How the bot behaves; every limit here is a key of `[telegram]` in `aomi.toml` and an
/// `AOMI_TELEGRAM_<KEY>` variable.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// The bot's token from BotFather (a secret).
    pub token: String,
    /// The Bot API's base URL ([`api::DEFAULT_API_URL`]; a stub's in tests).
    pub api_url: String,
    /// The page's public base URL (`https://aomi.example`): one-time links and review links
    /// point there. Without it `/wallet` and wallet requests say it is not set.
    pub public_url: Option<String>,
    /// How long one `getUpdates` waits for an update (long polling).
    pub poll_timeout: Duration,
    /// The least time between two edits of a chat's answer (Telegram allows about one a second
    /// per chat).
    pub edit_interval: Duration,
    /// The Telegram user ids that may use the bot; `None`: anyone.
    pub allowed_users: Option<Vec<i64>>,
    /// Turns one Telegram user may start per minute; 0: no limit.
    pub turns_per_minute: u32,
    /// The longest message (in characters) the bot takes as a turn.
    pub max_message_chars: usize,
    /// How long a one-time wallet link stays good.
    pub link_ttl: Duration,
    /// The chain id a new chat starts on (the server's default network).
    pub default_chain_id: u64,
    /// The app that answers.
    pub app: String,
}

/// Defaults of [`TelegramConfig`].
pub mod defaults {
    use std::time::Duration;

    /// [`super::TelegramConfig::poll_timeout`].
    pub const POLL_TIMEOUT: Duration = Duration::from_secs(30);
    /// [`super::TelegramConfig::edit_interval`].
    pub const EDIT_INTERVAL: Duration = Duration::from_millis(1000);
    /// [`super::TelegramConfig::turns_per_minute`].
    pub const TURNS_PER_MINUTE: u32 = 10;
    /// [`super::TelegramConfig::max_message_chars`].
    pub const MAX_MESSAGE_CHARS: usize = 4000;
    /// [`super::TelegramConfig::link_ttl`].
    pub const LINK_TTL: Duration = Duration::from_secs(600);
}

impl TelegramConfig {
    /// The defaults for the bot `token`, on Telegram's API.
    pub fn new(token: impl Into<String>) -> Self {
        TelegramConfig {
            token: token.into(),
            api_url: api::DEFAULT_API_URL.into(),
            public_url: None,
            poll_timeout: defaults::POLL_TIMEOUT,
            edit_interval: defaults::EDIT_INTERVAL,
            allowed_users: None,
            turns_per_minute: defaults::TURNS_PER_MINUTE,
            max_message_chars: defaults::MAX_MESSAGE_CHARS,
            link_ttl: defaults::LINK_TTL,
            default_chain_id: 1,
            app: aomi_core::turn::DEFAULT_APP.into(),
        }
    }

    /// Checks what no type checks: a token of BotFather's shape, a URL, positive limits.
    pub fn validate(&self) -> Result<(), TelegramError> {
        let bad = |what: String| Err(TelegramError::Config(what));
        let token_ok = self
            .token
            .split_once(':')
            .is_some_and(|(id, secret)| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && secret.len() >= 8);
        if !token_ok {
            return bad("the bot token must look like 123456789:AA… (BotFather's /newbot gives it)".into());
        }
        for (key, url) in [("api_url", Some(&self.api_url)), ("public_url", self.public_url.as_ref())] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return bad(format!("telegram {key} must be an http(s) URL, not \"{url}\""));
            }
        }
        if self.edit_interval.is_zero() {
            return bad(
                "telegram edit_interval_ms must be positive (Telegram limits edits to about one a second)".into()
            );
        }
        if self.max_message_chars == 0 || self.link_ttl.is_zero() {
            return bad("telegram max_message_chars and link_ttl_secs must be positive".into());
        }
        if self.poll_timeout > Duration::from_secs(50) {
            return bad("telegram poll_timeout_secs must be at most 50".into());
        }
        Ok(())
    }
}

/// Why the bot cannot run.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The Bot API refused the bot (a wrong token, a webhook set, another poller).
    #[error(transparent)]
    Api(#[from] api::BotApiError),
}
