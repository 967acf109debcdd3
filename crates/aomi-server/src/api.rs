//! The HTTP API's answers, as types: what the routes serialise, and what `/api/openapi.json`
//! describes (utoipa `ToSchema`). They are separate from the backend's types (and from the
//! store's records), so that a field added below does not change the API by accident; each
//! converts from the backend's type (a contract, from the contract database's record).
//!
//! The field names are camelCase on the wire, as the page and the AI SDK expect.

use aomi_core::{AppSummary, ChatMessage, SearchMatch};
use aomi_store::ContractRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error inside an [`ErrorBody`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code: `bad_request`, `invalid_json`, `not_found`, `forbidden`,
    /// `sign_in_required`, `turn_running`, …
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// A chat of the history (without its messages).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatSummary {
    /// The chat's id.
    pub id: String,
    /// The owner's wallet address (lower case); `null` for an anonymous chat.
    #[schema(required = true)]
    pub owner: Option<String>,
    /// The app that answers in it.
    pub app: String,
    /// Its title, once generated or set.
    #[schema(required = true)]
    pub title: Option<String>,
    /// The chain id of the wallet's network at the chat's last turn.
    #[schema(required = true)]
    pub chain_id: Option<u64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a message was last stored.
    pub updated_at: DateTime<Utc>,
    /// Archived chats are listed apart.
    pub archived: bool,
    /// True while a turn runs in it (on any instance).
    pub running: bool,
    /// The id of the model it runs on (one of `GET /api/models`), chosen when it was created;
    /// `null`: the server's default model.
    #[schema(required = true)]
    pub model: Option<String>,
}

impl From<aomi_core::ChatSummary> for ChatSummary {
    fn from(chat: aomi_core::ChatSummary) -> Self {
        ChatSummary {
            id: chat.id,
            owner: chat.owner.map(|owner| owner.to_lowercase_hex()),
            app: chat.app,
            title: chat.title,
            chain_id: chat.chain_id,
            created_at: chat.created_at.into(),
            updated_at: chat.updated_at.into(),
            archived: chat.archived,
            running: chat.running,
            model: chat.model,
        }
    }
}

/// A page of chats (`GET /api/chats`), most recently updated first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatList {
    /// The chats.
    pub chats: Vec<ChatSummary>,
    /// The cursor of the next page; `null` on the last.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A chat and its messages (`GET /api/chats/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatDetail {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatSummary,
    /// Whether older messages exist than the first one answered (ask with `?before=`).
    #[serde(rename = "hasMore")]
    pub has_more: bool,
    /// Its messages, in order, as the AI SDK's `UIMessage`s.
    pub messages: Vec<ChatMessage>,
    /// The places of its line where a message was edited or another answer asked for, first to
    /// last (empty for a chat never edited).
    pub forks: Vec<Fork>,
}

/// A place of a chat's line where other lines were written: the alternatives a person can switch
/// between there (`POST /api/chats/{id}/branch`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fork {
    /// The message of the line where the alternatives start (a user message).
    pub message_id: String,
    /// The alternatives in the order they were first written: `null` is the line shown, the
    /// others the ids of branches to switch to.
    pub alternatives: Vec<Option<String>>,
}

impl From<aomi_core::ChatFork> for Fork {
    fn from(fork: aomi_core::ChatFork) -> Self {
        Fork { message_id: fork.message_id, alternatives: fork.alternatives }
    }
}

/// A message that matches a search.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    /// The chat.
    pub chat_id: String,
    /// The chat's title.
    #[schema(required = true)]
    pub chat_title: Option<String>,
    /// True when the chat is archived.
    pub archived: bool,
    /// The message.
    pub message_id: String,
    /// Who wrote it.
    pub role: aomi_core::Role,
    /// A short plain-text excerpt around the match, the matched words in `**bold**` (Markdown).
    pub snippet: String,
    /// When the message was stored.
    pub created_at: DateTime<Utc>,
}

impl From<SearchMatch> for SearchResult {
    fn from(hit: SearchMatch) -> Self {
        SearchResult {
            chat_id: hit.chat_id,
            chat_title: hit.chat_title,
            archived: hit.archived,
            message_id: hit.message_id,
            role: hit.role,
            snippet: hit.snippet,
            created_at: hit.created_at.into(),
        }
    }
}

/// The answer of `GET /api/search`, best match first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// The matching messages.
    pub results: Vec<SearchResult>,
}

/// A contract as the contract database holds it (`GET /api/contracts/{chain}/{address}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// The chain id.
    pub chain_id: u64,
    /// The address, lower case.
    pub address: String,
    /// The contract's name, if known.
    #[schema(required = true)]
    pub name: Option<String>,
    /// The ABI (a JSON array of entries); empty for a contract nobody verified.
    pub abi: Value,
    /// The verified source, if kept.
    #[schema(required = true)]
    pub source: Option<String>,
    /// Who vouched for the ABI (`etherscan`, `sourcify`, `artifact`, `user`, …); `null` if nobody did.
    #[schema(required = true)]
    pub verified_by: Option<String>,
    /// When it was fetched or written.
    pub fetched_at: DateTime<Utc>,
    /// For a proxy, the implementation whose ABI `abi` carries (lower case).
    #[schema(required = true)]
    pub implementation: Option<String>,
}

impl From<ContractRecord> for Contract {
    fn from(contract: ContractRecord) -> Self {
        Contract {
            chain_id: contract.chain_id,
            address: contract.address.to_lowercase_hex(),
            name: contract.name,
            abi: contract.abi,
            source: contract.source,
            verified_by: contract.verified_by,
            fetched_at: contract.fetched_at,
            implementation: contract.implementation.map(|address| address.to_lowercase_hex()),
        }
    }
}

/// The answer of `POST /api/chat/{id}/stop`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StopAnswer {
    /// True when a turn was stopped; false when none ran.
    pub stopped: bool,
    /// `false` when the stopped turn had not ended within a few seconds (status 202); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<bool>,
}

/// An app a request can name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppInfo {
    /// Its name, as `"app"` in `POST /api/chat`.
    pub name: String,
    /// What it does.
    pub description: String,
}

impl From<AppSummary> for AppInfo {
    fn from(app: AppSummary) -> Self {
        AppInfo { name: app.name, description: app.description }
    }
}

/// The answer of `GET /api/apps`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppList {
    /// The apps.
    pub apps: Vec<AppInfo>,
}

/// A model a new chat may run on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelInfo {
    /// Its id, as `"model"` in `POST /api/chat`.
    pub id: String,
    /// A name for people.
    pub label: String,
    /// True for the model of a chat that names none.
    pub default: bool,
}

impl From<aomi_core::ModelSummary> for ModelInfo {
    fn from(model: aomi_core::ModelSummary) -> Self {
        ModelInfo { id: model.id, label: model.label, default: model.default }
    }
}

/// The answer of `GET /api/models`: the models the server allows, the default first (empty when
/// no model is configured).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelList {
    /// The models.
    pub models: Vec<ModelInfo>,
}

/// A direct command a message can start with (`/balance …`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Command {
    /// The name typed after `/`.
    pub name: String,
    /// What it does, in a few words.
    pub description: String,
    /// How to call it, placeholders in `<>`, optional arguments in `[]`.
    pub usage: String,
}

/// The answer of `GET /api/commands`, in the order `/help` lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandList {
    /// The commands.
    pub commands: Vec<Command>,
}

/// A network's native coin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NativeCurrency {
    /// Its name (`Ether`).
    pub name: String,
    /// Its symbol (`ETH`).
    pub symbol: String,
    /// Its decimals (18).
    pub decimals: u8,
}

/// A network this server reads (no RPC URL: one often carries an API key).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    /// Its name in the registry (`ethereum`, `base-sepolia`, `devnet`).
    pub name: String,
    /// Its chain id.
    pub chain_id: u64,
    /// Its native coin.
    pub native_currency: NativeCurrency,
    /// The block explorer's base URL, if any.
    #[schema(required = true)]
    pub explorer: Option<String>,
    /// True where ENS names resolve.
    pub ens: bool,
    /// True for test networks, whose coins have no value.
    pub testnet: bool,
}

/// The answer of `GET /api/networks`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkList {
    /// The network a chat starts on; `null` without a chain layer.
    #[schema(required = true)]
    pub default: Option<String>,
    /// The networks; empty without a chain layer.
    pub networks: Vec<NetworkInfo>,
}

/// The answer of `GET /healthz` and of a ready `GET /readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (healthz), `ready`, `unavailable` or `draining` (readyz).
    pub status: String,
    /// Why the server is not ready (readyz only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `GET /api/auth/session`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The signed-in wallet (lower case); `null` when none.
    #[schema(required = true)]
    pub address: Option<String>,
    /// True when this server requires sign-in (`AOMI_AUTH=required`).
    pub required: bool,
}

/// The answer of `POST /api/auth/verify`: the wallet now signed in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedInAnswer {
    /// The wallet, lower case.
    pub address: String,
    /// When the session ends (Unix seconds).
    pub expires_at: u64,
}

/// The body of `POST /api/simulate` (parsed by the chain layer, which names a bad field). Integers
/// are decimal strings, `0x` hex strings, or JSON numbers.
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)] // Describes the body for the OpenAPI document only.
#[schema(rename_all = "camelCase", example = json!({
    "chainId": 1,
    "from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "to": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    "value": "1000000000000000"
}))]
pub(crate) struct SimulateBody {
    /// The chain the transaction is for.
    chain_id: u64,
    /// The sender, `0x` and 40 hex digits.
    #[schema(pattern = r"^0x[0-9a-fA-F]{40}$")]
    from: String,
    /// The recipient or contract called.
    #[schema(pattern = r"^0x[0-9a-fA-F]{40}$")]
    to: String,
    /// Native coin sent, in wei: decimal digits or `0x` hex.
    #[schema(pattern = r"^([0-9]+|0x[0-9a-fA-F]+)$")]
    value: Option<String>,
    /// Calldata, `0x` hex.
    #[schema(pattern = r"^0x([0-9a-fA-F]{2})*$")]
    data: Option<String>,
    /// A gas limit to simulate with: decimal digits or `0x` hex.
    #[schema(pattern = r"^([0-9]+|0x[0-9a-fA-F]+)$")]
    gas: Option<String>,
    /// The chain the wallet is on now (a request for another chain is a risk).
    wallet_chain_id: Option<u64>,
}

/// One event of a UI message stream (`text/event-stream`), as an SSE reader sees it: its `data` is
/// the JSON of a [`UiChunk`](aomi_core::UiChunk), or `[DONE]` at the end.
pub(crate) struct StreamEvent;

impl utoipa::PartialSchema for StreamEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::extensions::Extensions;
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        let done = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([aomi_core::stream::DONE]));
        // `contentSchema` is JSON Schema's keyword for the JSON a string holds; utoipa has no
        // builder for it, so it travels as an extension (extensions are written as they are named).
        let part = ObjectBuilder::new().schema_type(Type::String).content_media_type("application/json").extensions(
            Some(Extensions::from_iter([(
                "contentSchema",
                serde_json::json!({ "$ref": "#/components/schemas/UiChunk" }),
            )])),
        );
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("One SSE event: `data` is a UiChunk as JSON, or `[DONE]` after the last part."))
            .property("data", AnyOfBuilder::new().item(part).item(done))
            .required("data")
            .into()
    }
}

impl ToSchema for StreamEvent {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("StreamEvent")
    }
}

/// The answer of `POST /api/telegram/link`: the Telegram account now acting as the wallet.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelegramLinked {
    /// The wallet, lower case.
    pub address: String,
    /// The Telegram user id bound to it.
    pub telegram_user: i64,
}
