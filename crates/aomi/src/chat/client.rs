//! The HTTP side of `aomi chat`: the routes of the server a terminal client uses, the same ones
//! the page calls (`POST /api/chat` and its stream, stop, the history, the networks, the commands).

use anyhow::{Context, bail};
use aomi_core::stream::DONE;
use aomi_core::{Address, ChatMessage, UiChunk, WalletContext};
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A client of one server, speaking for one wallet (or none).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    owner: Option<Address>,
    /// The model a new chat runs on (`GET /api/models`); `None`: the server's default.
    model: Option<String>,
}

/// One part of an answer's stream: the JSON text as the server sent it, and the part it reads as.
#[derive(Debug, Clone)]
pub struct Part {
    /// The event's data, verbatim (what `--json` prints).
    pub raw: String,
    /// The part.
    pub chunk: UiChunk,
}

/// A chat of the history list (`GET /api/chats`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatEntry {
    /// The chat's id.
    pub id: String,
    /// Its title, once generated or set.
    #[serde(default)]
    pub title: Option<String>,
}

/// A chat and its messages (`GET /api/chats/{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatHistory {
    /// Its messages, oldest first.
    pub messages: Vec<ChatMessage>,
}

/// A network the server reads (`GET /api/networks`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// Its name in the registry.
    pub name: String,
    /// Its chain id.
    pub chain_id: u64,
}

/// The networks and the server's default one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Networks {
    /// The network a chat starts on, if the server has a chain layer.
    #[serde(default)]
    pub default: Option<String>,
    /// The networks.
    pub networks: Vec<Network>,
}

/// A direct command (`GET /api/commands`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Command {
    /// The name typed after `/`.
    pub name: String,
}

#[derive(Deserialize)]
struct ChatPage {
    chats: Vec<ChatEntry>,
}

#[derive(Deserialize)]
struct CommandList {
    commands: Vec<Command>,
}

impl Client {
    /// A client of the server at `base` speaking for `owner`.
    pub fn new(base: &str, owner: Option<Address>) -> Self {
        Client { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), owner, model: None }
    }

    /// The same client, starting new chats on `model` (an id of `GET /api/models`). Sent with
    /// every message: the server checks it, and an existing chat keeps its own model.
    pub fn with_model(mut self, model: Option<String>) -> Self {
        self.model = model.filter(|m| !m.is_empty());
        self
    }

    /// The server's base URL (without a trailing `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` on the server, with `?owner=` when the client speaks for a wallet.
    fn url(&self, path: &str) -> String {
        match &self.owner {
            Some(owner) => format!("{}{path}?owner={}", self.base, owner.to_lowercase_hex()),
            None => format!("{}{path}", self.base),
        }
    }

    /// Sends `text` to the chat and returns the answer's parts as they arrive.
    pub async fn send(
        &self,
        chat_id: &str,
        app: &str,
        wallet: &WalletContext,
        text: &str,
    ) -> anyhow::Result<impl Stream<Item = anyhow::Result<Part>> + use<>> {
        let message = ChatMessage::user_text(format!("m-{}", uuid::Uuid::new_v4().simple()), text);
        let mut body = json!({ "id": chat_id, "message": message, "app": app, "wallet": wallet });
        if let Some(model) = &self.model {
            body["model"] = json!(model);
        }
        let url = format!("{}/api/chat", self.base);
        let response = self.http.post(&url).json(&body).send().await.with_context(|| format!("cannot reach {url}"))?;
        let response = checked(response).await?;
        let events = response.bytes_stream().eventsource();
        Ok(events.take_while(|event| std::future::ready(!matches!(event, Ok(event) if event.data == DONE))).map(
            |event| {
                let event = event.context("the stream broke")?;
                let chunk = serde_json::from_str(&event.data).context("the server sent an unknown part")?;
                Ok(Part { raw: event.data, chunk })
            },
        ))
    }

    /// Asks the server to stop the chat's running turn; the answer's stream then ends by itself.
    pub async fn stop(&self, chat_id: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("/api/chat/{chat_id}/stop"));
        let response = self.http.post(&url).send().await.with_context(|| format!("cannot reach {url}"))?;
        checked(response).await.map(|_| ())
    }

    /// The wallet's chats, most recent first; none for a client without a wallet (the server lists
    /// chats by owner only).
    pub async fn chats(&self) -> anyhow::Result<Vec<ChatEntry>> {
        if self.owner.is_none() {
            return Ok(Vec::new());
        }
        Ok(self.get::<ChatPage>(&self.url("/api/chats")).await?.chats)
    }

    /// A chat's messages.
    pub async fn history(&self, chat_id: &str) -> anyhow::Result<ChatHistory> {
        self.get(&self.url(&format!("/api/chats/{chat_id}"))).await
    }

    /// The networks the server reads.
    pub async fn networks(&self) -> anyhow::Result<Networks> {
        self.get(&format!("{}/api/networks", self.base)).await
    }

    /// The direct commands' names.
    pub async fn commands(&self) -> anyhow::Result<Vec<String>> {
        let list: CommandList = self.get(&format!("{}/api/commands", self.base)).await?;
        Ok(list.commands.into_iter().map(|command| command.name).collect())
    }

    async fn get<T: DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let response = self.http.get(url).send().await.with_context(|| format!("cannot reach {url}"))?;
        checked(response).await?.json().await.with_context(|| format!("{url} answered something unexpected"))
    }
}

/// The response when it is a success; otherwise an error with the server's message.
async fn checked(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    bail!("the server answered {status}: {}", body["error"]["message"].as_str().unwrap_or("no details"))
}
