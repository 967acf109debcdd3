//! [`TelegramBot`]: the polling loop, the commands, and a turn streamed into Telegram messages.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aomi_core::{Address, BackendError, ChatBackend, ChatMessage, PartStream, TurnRequest, WalletContext};
use aomi_store::{TelegramChat, TelegramStore};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::api::{BotApi, BotApiError, BotCommand, Message};
use super::text::{self, MAX_MESSAGE};
use super::{TelegramConfig, TelegramError, link};

/// How many 429s showing an answer (its first message, its last edit) waits out before giving up.
const FINAL_ATTEMPTS: usize = 5;

/// The longest wait after a failed `getUpdates` (network errors back off up to it).
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The bot's own commands (beside them, every direct command of aomi is passed to the chat).
const OWN_COMMANDS: [(&str, &str); 6] = [
    ("start", "What this bot does"),
    ("new", "Start a new chat"),
    ("network", "Switch network: /network <name>"),
    ("wallet", "Bind your wallet (a one-time link to sign in on the page)"),
    ("stop", "Stop the answer being written"),
    ("help", "The commands"),
];

/// The Telegram bot over a chat backend.
pub struct TelegramBot {
    api: BotApi,
    backend: Arc<dyn ChatBackend>,
    store: Arc<dyn TelegramStore>,
    config: TelegramConfig,
    /// When each user's recent turns started, for `turns_per_minute`.
    turns: Mutex<HashMap<i64, VecDeque<Instant>>>,
    tasks: TaskTracker,
}

impl std::fmt::Debug for TelegramBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramBot").finish_non_exhaustive()
    }
}

impl TelegramBot {
    /// A bot answering through `backend`, keeping its state in `store`.
    pub fn new(
        config: TelegramConfig,
        backend: Arc<dyn ChatBackend>,
        store: Arc<dyn TelegramStore>,
    ) -> Result<Arc<Self>, TelegramError> {
        config.validate()?;
        let api = BotApi::new(&config.api_url, &config.token, config.poll_timeout)?;
        Ok(Arc::new(TelegramBot { api, backend, store, config, turns: Mutex::default(), tasks: TaskTracker::new() }))
    }

    /// The commands set with `setMyCommands`: the bot's own, then aomi's direct commands whose
    /// names Telegram takes (lower-case letters, digits, `_`; 32 at most).
    pub fn commands() -> Vec<BotCommand> {
        let own = OWN_COMMANDS.iter().map(|(command, description)| BotCommand {
            command: (*command).into(),
            description: (*description).into(),
        });
        let direct = aomi_tools::commands::COMMANDS
            .iter()
            .filter(|c| !OWN_COMMANDS.iter().any(|(own, _)| *own == c.name))
            .filter(|c| {
                c.name.len() <= 32
                    && c.name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            })
            .map(|c| BotCommand { command: c.name.into(), description: c.description.chars().take(256).collect() });
        own.chain(direct).take(100).collect()
    }

    /// Runs until `shutdown`: checks the token, sets the commands, then long-polls. Each
    /// message is handled on its own task, so a long answer does not hold the others; after
    /// `shutdown` the answers being written are finished (the backend's shutdown ends them).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), TelegramError> {
        let me = self.api.get_me().await?;
        tracing::info!(bot = me.username.as_deref().unwrap_or(&me.first_name), "Telegram bot connected");
        self.api.set_my_commands(&Self::commands()).await?;
        let mut offset: Option<i64> = None;
        let mut backoff = Duration::from_secs(1);
        loop {
            let polled = tokio::select! {
                _ = shutdown.cancelled() => break,
                polled = self.api.get_updates(offset, self.config.poll_timeout) => polled,
            };
            let wait = match polled {
                Ok(updates) => {
                    backoff = Duration::from_secs(1);
                    for update in updates {
                        // Confirmed with the next poll: an update is handled once, even after a
                        // restart (at most the last batch is lost if the process dies mid-way).
                        offset = Some(offset.unwrap_or(i64::MIN).max(update.update_id + 1));
                        if let Some(message) = update.message {
                            let bot = Arc::clone(&self);
                            self.tasks.spawn(async move { bot.handle(message).await });
                        }
                    }
                    continue;
                }
                Err(BotApiError::RateLimited { retry_after, .. }) => Duration::from_secs(retry_after),
                Err(error @ BotApiError::Refused { code: 401 | 404, .. }) => {
                    return Err(TelegramError::Config(format!(
                        "the Bot API does not know this token ({error}): check AOMI_TELEGRAM_TOKEN"
                    )));
                }
                Err(error @ BotApiError::Refused { code: 409, .. }) => {
                    return Err(TelegramError::Config(format!(
                        "{error}: another process polls this bot, or a webhook is set (deleteWebhook removes it)"
                    )));
                }
                Err(error) => {
                    tracing::warn!(%error, "getUpdates failed; retrying");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    backoff / 2
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.tasks.close();
        self.tasks.wait().await;
        Ok(())
    }

    /// One message: a command of the bot's own, or a turn.
    async fn handle(self: Arc<Self>, message: Message) {
        let (Some(text), Some(user)) = (message.text.as_deref(), message.from.as_ref()) else { return };
        if user.is_bot {
            return;
        }
        let chat = message.chat.id;
        if let Some(allowed) = &self.config.allowed_users
            && !allowed.contains(&user.id)
        {
            tracing::info!(user = user.id, "a Telegram user not on the allow-list");
            self.reply(
                chat,
                &format!(
                    "This aomi bot is private. Ask its operator to add your Telegram user id {} to telegram.allowed_users.",
                    user.id
                ),
            )
            .await;
            return;
        }
        let (command, rest) = command(text);
        let answer = match command.as_deref() {
            Some("start") => Ok(format!(
                "aomi: ask about any EVM chain, in plain words or with the commands (/help lists them).\n\n{}",
                self.wallet_status(user.id).await
            )),
            Some("help") => Ok(help()),
            Some("new") => self.new_chat(chat).await.map(|_| "Started a new chat.".to_owned()),
            Some("wallet") => self.wallet_link(user.id).await,
            Some("stop") => self.stop(chat).await,
            // Every other command (and `/network`) is aomi's direct command, run by the chat.
            Some(name) => return self.turn(chat, user.id, format!("/{name} {rest}").trim_end()).await,
            None => return self.turn(chat, user.id, text).await,
        };
        let answer = answer.unwrap_or_else(|error| format!("⚠ {error}"));
        self.reply(chat, &answer).await;
    }

    /// Sends `text` (cut into messages); a failure is only logged (the user sees nothing more).
    async fn reply(&self, chat: i64, text: &str) {
        for piece in text::split(text, MAX_MESSAGE) {
            if let Err(error) = self.api.send_message(chat, &piece).await {
                tracing::warn!(chat, %error, "cannot send a Telegram message");
                return;
            }
        }
    }

    /// Whether the user may start a turn now; `Err(seconds)` to wait otherwise.
    fn admit(&self, user: i64) -> Result<(), u64> {
        let limit = self.config.turns_per_minute as usize;
        if limit == 0 {
            return Ok(());
        }
        let window = Duration::from_secs(60);
        let now = Instant::now();
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = turns.entry(user).or_default();
        while recent.front().is_some_and(|start| now.duration_since(*start) >= window) {
            recent.pop_front();
        }
        if recent.len() >= limit {
            let oldest = recent.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)).as_secs().max(1));
        }
        recent.push_back(now);
        Ok(())
    }

    /// The Telegram chat's place, a new one if it has none.
    async fn place(&self, chat: i64) -> Result<TelegramChat, String> {
        match self.store.telegram_chat(chat).await.map_err(|e| e.to_string())? {
            Some(place) => Ok(place),
            None => self.new_chat(chat).await,
        }
    }

    /// Points the Telegram chat at a new aomi chat, on the network it was on.
    async fn new_chat(&self, chat: i64) -> Result<TelegramChat, String> {
        let chain_id = match self.store.telegram_chat(chat).await.map_err(|e| e.to_string())? {
            Some(place) => place.chain_id,
            None => self.config.default_chain_id,
        };
        let place = TelegramChat { chat_id: format!("tg-{}", uuid::Uuid::new_v4().simple()), chain_id };
        self.store.set_telegram_chat(chat, &place).await.map_err(|e| e.to_string())?;
        Ok(place)
    }

    async fn stop(&self, chat: i64) -> Result<String, String> {
        let Some(place) = self.store.telegram_chat(chat).await.map_err(|e| e.to_string())? else {
            return Ok("Nothing is being written.".into());
        };
        Ok(match self.backend.stop(&place.chat_id).await.map_err(|e| e.to_string())? {
            aomi_core::StopOutcome::NotRunning => "Nothing is being written.".into(),
            _ => "Stopped.".into(),
        })
    }

    async fn wallet_status(&self, user: i64) -> String {
        match self.store.telegram_wallet(user).await {
            Ok(Some(wallet)) => format!("Your chats act as the wallet {wallet}. /wallet binds another."),
            Ok(None) => "No wallet is bound: /wallet gives a link to bind yours.".into(),
            Err(error) => format!("⚠ {error}"),
        }
    }

    /// `/wallet`: a one-time link to the page, where signing in with the wallet binds it.
    async fn wallet_link(&self, user: i64) -> Result<String, String> {
        let Some(public_url) = &self.config.public_url else {
            return Err("this bot has no public page address (telegram.public_url), so it cannot bind a wallet".into());
        };
        let token = link::new_token();
        let now = link::unix_now();
        let ttl = i64::try_from(self.config.link_ttl.as_secs()).unwrap_or(i64::MAX);
        self.store
            .create_telegram_link(&link::token_hash(&token), user, now.saturating_add(ttl), now)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "{}\n\nOpen this link and sign in with your wallet to bind it to your Telegram account (it works once, for {} minutes):\n{}",
            self.wallet_status(user).await,
            self.config.link_ttl.as_secs().div_ceil(60),
            link::link_url(public_url, &token)
        ))
    }

    /// A turn: checks the limits, finds the chat, submits the message and streams the answer.
    async fn turn(&self, chat: i64, user: i64, text: &str) {
        let length = text.chars().count();
        if length > self.config.max_message_chars {
            let limit = self.config.max_message_chars;
            return self.reply(chat, &format!("Your message has {length} characters; the limit is {limit}.")).await;
        }
        if let Err(wait) = self.admit(user) {
            let limit = self.config.turns_per_minute;
            return self
                .reply(chat, &format!("Too many messages: {limit} a minute at most. Try again in {wait} s."))
                .await;
        }
        match self.submit(chat, user, text).await {
            Ok((place, parts)) => self.stream(chat, place, parts).await,
            Err(why) => self.reply(chat, &format!("⚠ {why}")).await,
        }
    }

    async fn submit(&self, chat: i64, user: i64, text: &str) -> Result<(TelegramChat, Box<dyn PartStream>), String> {
        let wallet: Option<Address> = self.store.telegram_wallet(user).await.map_err(|e| e.to_string())?;
        let mut place = self.place(chat).await?;
        // A chat started before the user bound (or rebound) a wallet is not that wallet's: the
        // wallet's own chat starts instead, so two wallets' chats never mix.
        if let Some(existing) = self.backend.chat(&place.chat_id).await.map_err(|e| e.to_string())?
            && existing.owner != wallet
        {
            place = self.new_chat(chat).await?;
        }
        let request = TurnRequest {
            chat_id: place.chat_id.clone(),
            message: ChatMessage::user_text(format!("tg-{}", uuid::Uuid::new_v4().simple()), text),
            app: self.config.app.clone(),
            wallet: Some(WalletContext { address: wallet, chain_id: place.chain_id }),
            owner: wallet,
            replaces: None,
            // Telegram chats run on the server's default model.
            model: None,
            // A Telegram chat is one conversation for as long as the user keeps it (`/new` starts
            // another); compaction bounds what the model reads of it.
            max_messages: None,
        };
        match self.backend.submit(request).await {
            Ok(started) => Ok((place, started.parts)),
            Err(BackendError::TurnRunning(_)) => {
                Err("still answering your last message: wait for it, or /stop it".into())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// Streams the answer: a first message at once, then edits at most one per
    /// `edit_interval` (and none before a 429's `retry_after`), cut into more messages when it
    /// outgrows one; the last edit shows the whole answer.
    async fn stream(&self, chat: i64, mut place: TelegramChat, mut parts: Box<dyn PartStream>) {
        // A reader task makes the parts a channel, which `select!` can wait on without losing one.
        let (sender, mut received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(part) = parts.next_part().await {
                if sender.send(part).is_err() {
                    break;
                }
            }
        });
        let review = self.config.public_url.as_deref().map(|url| link::chat_url(url, &place.chat_id));
        let mut answer = Answer { chat, messages: Vec::new() };
        let mut next_edit = Instant::now();
        if !answer.show_patiently(&self.api, "…", &mut next_edit).await {
            return;
        }
        next_edit = Instant::now() + self.config.edit_interval;
        let mut text = String::new();
        let mut dirty = false;
        loop {
            tokio::select! {
                part = received.recv() => {
                    let Some(part) = part else { break };
                    if let Some(chain_id) = text::switched_chain(&part) {
                        place.chain_id = chain_id;
                        if let Err(error) = self.store.set_telegram_chat(chat, &place).await {
                            tracing::warn!(chat, %error, "cannot store the chat's network");
                        }
                    }
                    let shown = text::render(&part, review.as_deref());
                    if !shown.is_empty() {
                        text.push_str(&shown);
                        dirty = true;
                    }
                }
                _ = tokio::time::sleep_until(next_edit), if dirty => {
                    next_edit = match answer.show(&self.api, &text::tidy(&text)).await {
                        Ok(()) => {
                            dirty = false;
                            Instant::now() + self.config.edit_interval
                        }
                        Err(BotApiError::RateLimited { retry_after, .. }) => Instant::now() + Duration::from_secs(retry_after),
                        Err(error) => {
                            tracing::warn!(chat, %error, "cannot edit the answer");
                            Instant::now() + self.config.edit_interval
                        }
                    };
                }
            }
        }
        let mut last = text::tidy(&text);
        if last.is_empty() {
            last = "(no answer)".into();
        }
        answer.show_patiently(&self.api, &last, &mut next_edit).await;
    }
}

/// The messages an answer occupies, with the text each shows.
struct Answer {
    chat: i64,
    messages: Vec<(i64, String)>,
}

impl Answer {
    /// Shows `text` not before `next_edit`, waiting out up to [`FINAL_ATTEMPTS`] 429s (each
    /// moves `next_edit` on); false when it could not.
    async fn show_patiently(&mut self, api: &BotApi, text: &str, next_edit: &mut Instant) -> bool {
        for _ in 0..FINAL_ATTEMPTS {
            tokio::time::sleep_until(*next_edit).await;
            match self.show(api, text).await {
                Ok(()) => return true,
                Err(BotApiError::RateLimited { retry_after, .. }) => {
                    *next_edit = Instant::now() + Duration::from_secs(retry_after);
                }
                Err(error) => {
                    tracing::warn!(chat = self.chat, %error, "cannot show the answer");
                    return false;
                }
            }
        }
        tracing::warn!(chat = self.chat, "the Bot API kept rate-limiting the answer");
        false
    }

    /// Shows `text`: edits the messages whose piece changed and sends the pieces that have no
    /// message yet. Each call is tried once: a 429 comes back for the caller to wait out.
    async fn show(&mut self, api: &BotApi, text: &str) -> Result<(), BotApiError> {
        for (index, piece) in text::split(text, MAX_MESSAGE).into_iter().enumerate() {
            match self.messages.get_mut(index) {
                Some((id, shown)) if *shown != piece => {
                    api.edit_message_text(self.chat, *id, &piece).await?;
                    *shown = piece;
                }
                Some(_) => {}
                None => {
                    let params = json!({
                        "chat_id": self.chat, "text": piece, "link_preview_options": { "is_disabled": true },
                    });
                    let sent: Message = api.call_once("sendMessage", &params).await?;
                    self.messages.push((sent.message_id, piece));
                }
            }
        }
        Ok(())
    }
}

/// The command of a message (`/name` or `/name@bot`, lower case) and the rest of its text.
fn command(text: &str) -> (Option<String>, String) {
    let text = text.trim();
    let Some(body) = text.strip_prefix('/') else { return (None, String::new()) };
    let (word, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let name = word.split('@').next().unwrap_or(word).to_lowercase();
    if name.is_empty() {
        return (None, String::new());
    }
    (Some(name), rest.trim().to_owned())
}

/// `/help`: the bot's commands, then aomi's.
fn help() -> String {
    let mut text = String::from("This bot's commands:\n");
    for (command, description) in OWN_COMMANDS {
        text.push_str(&format!("/{command}: {description}\n"));
    }
    text.push_str("\naomi's commands (they work without a model):\n");
    for command in aomi_tools::commands::COMMANDS {
        text.push_str(&format!("{}: {}\n", command.usage, command.description));
    }
    text.push_str("\nAnything else is a question for the assistant.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_with_or_without_the_bot_name() {
        assert_eq!(command("/network base"), (Some("network".into()), "base".into()));
        assert_eq!(command("/New@aomi_bot"), (Some("new".into()), String::new()));
        assert_eq!(command("hello /new"), (None, String::new()));
        assert_eq!(command("/"), (None, String::new()));
    }

    #[test]
    fn every_command_set_is_one_telegram_takes() {
        let commands = TelegramBot::commands();
        assert!(commands.iter().any(|c| c.command == "balance"), "aomi's direct commands are listed");
        assert!(commands.len() <= 100);
        for c in &commands {
            assert!(!c.command.is_empty() && c.command.len() <= 32, "{}", c.command);
            assert!(!c.description.is_empty() && c.description.chars().count() <= 256, "{}", c.command);
        }
        let names: std::collections::HashSet<_> = commands.iter().map(|c| &c.command).collect();
        assert_eq!(names.len(), commands.len(), "no command twice");
    }
}
