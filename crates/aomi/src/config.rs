//! The configuration file: TOML, every key optional; flags and environment variables win over it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The keys of `aomi.toml` (documented in `aomi.example.toml`). `Serialize` lists them for
/// `aomi config check`, which names an unknown key's closest known one.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on (`AOMI_BIND`).
    pub bind: Option<String>,
    /// Model, `anthropic:<model>` or `openai:<model>` (`AOMI_MODEL`).
    pub model: Option<String>,
    /// Model calls per turn before the turn stops.
    pub max_steps: Option<usize>,
    /// A tool the first model call of each turn must call, the next call answering in text (for
    /// tests and evals of small local models; see `aomi_agent::DefaultAppConfig::first_tool`).
    pub first_tool: Option<String>,
    /// Reads a plan of the `batch` app may hold at most (`AOMI_BATCH_MAX_READS`; default 8).
    pub batch_max_reads: Option<usize>,
    /// Branches the `explore` app runs at most (`AOMI_EXPLORE_MAX_BRANCHES`; default 4).
    pub explore_max_branches: Option<usize>,
    /// Calls an `explore` branch may hold at most (`AOMI_EXPLORE_MAX_STEPS`; default 4).
    pub explore_max_steps: Option<usize>,
    /// Seconds all `explore` branches together may take (`AOMI_EXPLORE_TIMEOUT_SECS`; default 45).
    pub explore_timeout_secs: Option<u64>,
    /// Default timeout of a tool call, in seconds.
    pub tool_timeout_secs: Option<u64>,
    /// Seconds without a model event before the model call fails.
    pub model_idle_timeout_secs: Option<u64>,
    /// Cap on the tokens of one model answer (default 8192; a small local model may ramble to it).
    pub model_max_tokens: Option<u64>,
    /// Largest request body, in bytes.
    pub body_limit: Option<usize>,
    /// The built web page to serve at `/` (`AOMI_WEB_DIR`).
    pub web_dir: Option<PathBuf>,
    /// A TOML file of networks (`AOMI_NETWORKS`).
    pub networks_file: Option<PathBuf>,
    /// Start the local devnet (`--devnet`).
    pub devnet: Option<bool>,
    /// Run anvil as a fork of this network or RPC URL and chat on it (`--fork`, `AOMI_FORK`).
    pub fork: Option<String>,
    /// Quote swaps on networks with no local DEX through the LI.FI aggregator (default true;
    /// `AOMI_AGGREGATOR`).
    pub aggregator: Option<bool>,
    /// LI.FI's base URL (`AOMI_LIFI_URL`); its optional key only in `AOMI_LIFI_API_KEY`.
    pub lifi_url: Option<String>,
    /// Seconds a LI.FI quote may take (`AOMI_LIFI_TIMEOUT_SECS`).
    pub lifi_timeout_secs: Option<u64>,
    /// The network of a chat with no wallet context.
    pub default_network: Option<String>,
    /// Directory of the SQLite database (`AOMI_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// Database URL (`AOMI_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Most database connections (`AOMI_DB_MAX_CONNECTIONS`).
    pub db_max_connections: Option<u32>,
    /// Seconds to wait for a database connection (`AOMI_DB_ACQUIRE_TIMEOUT_SECS`).
    pub db_acquire_timeout_secs: Option<u64>,
    /// Seconds a turn on another instance stays alive without a heartbeat (PostgreSQL).
    pub turn_lease_secs: Option<u64>,
    /// Seconds a pooled database connection may sit idle before its next use pings it.
    pub db_ping_after_idle_secs: Option<u64>,
    /// Seconds a shutdown (SIGTERM) waits for running turns to store their end
    /// (`AOMI_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: Option<u64>,
    /// How chat titles are made, `model` or `first-message` (`AOMI_TITLES`).
    pub titles: Option<String>,
    /// The model that writes chat titles: `chat`, `utility` or a model id (see `subroutines`).
    pub titles_model: Option<String>,
    /// The model that compacts long chats: `chat`, `utility` or a model id.
    pub compaction_model: Option<String>,
    /// The model that writes the `batch` app's plans: `chat`, `utility` or a model id.
    pub batch_plan_model: Option<String>,
    /// The model that proposes the `explore` app's branches: `chat`, `utility` or a model id.
    pub explore_plan_model: Option<String>,
    /// The model that judges the `explore` app's branches: `chat`, `utility` or a model id.
    pub explore_judge_model: Option<String>,
    /// The model that reads wallet intents for the fast path: `utility` or a model id.
    pub intent_model: Option<String>,
    /// Prepare a clear wallet action with `intent_model`, without the chat's model
    /// (`AOMI_INTENT_FAST_PATH`; default: true when that model is configured).
    pub intent_fast_path: Option<bool>,
    /// Sign-in with the wallet: `optional` or `required`.
    pub auth: Option<String>,
    /// The address people open aomi at (`AOMI_PUBLIC_URL`).
    pub public_url: Option<String>,
    /// Whether the session cookie is `Secure` (`AOMI_COOKIE_SECURE`).
    pub cookie_secure: Option<bool>,
    /// Serve a non-loopback address without required sign-in (`AOMI_ALLOW_UNAUTHENTICATED`).
    pub allow_unauthenticated: Option<bool>,
    /// Origins the page may connect to beside its own (`AOMI_CSP_CONNECT_SRC`).
    pub csp_connect_src: Option<Vec<String>>,
    /// `aomi telegram`: the Bot API's base URL (`AOMI_TELEGRAM_API_URL`).
    pub telegram_api_url: Option<String>,
    /// `aomi telegram`: the page's public URL its links open (`AOMI_TELEGRAM_PUBLIC_URL`).
    pub telegram_public_url: Option<String>,
    /// `aomi telegram`: seconds one long poll waits (`AOMI_TELEGRAM_POLL_TIMEOUT_SECS`).
    pub telegram_poll_timeout_secs: Option<u64>,
    /// `aomi telegram`: least milliseconds between two edits of an answer
    /// (`AOMI_TELEGRAM_EDIT_INTERVAL_MS`).
    pub telegram_edit_interval_ms: Option<u64>,
    /// `aomi telegram`: the Telegram user ids that may use the bot (`AOMI_TELEGRAM_ALLOWED_USERS`).
    pub telegram_allowed_users: Option<Vec<i64>>,
    /// `aomi telegram`: turns per user per minute (`AOMI_TELEGRAM_TURNS_PER_MINUTE`).
    pub telegram_turns_per_minute: Option<u32>,
    /// `aomi telegram`: longest message taken, in characters (`AOMI_TELEGRAM_MAX_MESSAGE_CHARS`).
    pub telegram_max_message_chars: Option<usize>,
    /// `aomi telegram`: seconds a one-time wallet link stays good (`AOMI_TELEGRAM_LINK_TTL_SECS`).
    pub telegram_link_ttl_secs: Option<u64>,
    /// Price impact above which a swap is flagged, in basis points
    /// (`AOMI_PRICE_IMPACT_WARNING_BPS`).
    pub price_impact_warning_bps: Option<u32>,
    /// Most allow-list entries a wallet's spend guards hold (`AOMI_GUARDS_MAX_ALLOWED`).
    pub guards_max_allowed: Option<usize>,
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// External MCP servers whose tools the apps that name them get (`[[mcp_servers]]`).
    #[serde(default)]
    pub mcp_servers: Vec<McpServerEntry>,
    /// Models a new chat may pick beside `model`, the default (`[[models]]`; `AOMI_MODELS` wins).
    #[serde(default)]
    pub models: Vec<crate::models::ModelEntry>,
}

/// One `[[mcp_servers]]` entry: an external MCP server, started as a command (MCP over its
/// stdin/stdout) or reached at a URL (MCP streamable HTTP). Its tools are named
/// `<name>_<tool>`; see docs/mcp.md.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerEntry {
    /// The server's name, the prefix of its tools' names (letters, digits, `_`, `-`).
    pub name: String,
    /// The program to start (with `args` and `env`), or …
    pub command: Option<String>,
    /// … its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// … environment variables set for it.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// … the URL of a streamable HTTP MCP server instead.
    pub url: Option<String>,
    /// The environment variable that holds the URL server's bearer token (never the token here).
    pub bearer_token_env: Option<String>,
    /// Seconds one tool call may take (default: `tool_timeout_secs`).
    pub timeout_secs: Option<u64>,
    /// Seconds starting it and listing its tools may take (default 20).
    pub connect_timeout_secs: Option<u64>,
    /// Largest answer read from a URL server, in bytes (default 4 MiB).
    pub max_response_bytes: Option<usize>,
    /// The apps that get its tools (default: `["default"]`).
    #[serde(default = "default_apps")]
    pub apps: Vec<String>,
}

fn default_apps() -> Vec<String> {
    vec![aomi_core::turn::DEFAULT_APP.to_owned()]
}

/// The `[limits]` table: each key also has an environment variable, `AOMI_LIMIT_<KEY>` in
/// capitals (`AOMI_TRUSTED_PROXIES` for `trusted_proxies`, a comma-separated list), which wins.
/// Defaults and meanings: `aomi_server::limits::Limits` and the README; 0 turns a limit off.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests per second per client IP.
    pub ip_rate: Option<u32>,
    /// Burst of requests per client IP.
    pub ip_burst: Option<u32>,
    /// Requests per second per session (cookie, else IP).
    pub session_rate: Option<u32>,
    /// Burst of requests per session.
    pub session_burst: Option<u32>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// Running turns per wallet (per IP without one).
    pub turns_per_client: Option<usize>,
    /// Running turns on this instance.
    pub turns_total: Option<usize>,
    /// Bytes of a user message, all parts.
    pub message_bytes: Option<usize>,
    /// Messages per chat.
    pub messages_per_chat: Option<usize>,
    /// Followers per chat on the resume route.
    pub followers_per_chat: Option<usize>,
    /// Messages per history read.
    pub history_page: Option<usize>,
    /// Seconds a client may leave written bytes untaken before its connection is closed.
    pub write_timeout_secs: Option<u64>,
    /// Estimated tokens of history sent to the model.
    pub history_tokens: Option<usize>,
    /// Bytes of a tool output before it is cut.
    pub tool_output_bytes: Option<usize>,
    /// Bytes of a tool output of an older turn before the model is sent a summary of it instead.
    pub old_tool_output_bytes: Option<usize>,
    /// Chats whose chain session (their network) is kept; the least recently used is forgotten.
    pub chain_sessions: Option<usize>,
    /// Contract ABIs kept in memory for decoding; the least recently used is forgotten.
    pub known_contracts: Option<usize>,
    /// Transactions a chat's pending batch holds at most.
    pub batch_steps: Option<usize>,
    /// Bytes of a signature request's typed data or personal message.
    pub signature_bytes: Option<usize>,
    /// How deep structs may nest in a signature request's typed data.
    pub signature_depth: Option<usize>,
    /// Days after which a permit (its allowance or its signature) is flagged as long.
    pub long_permit_days: Option<u64>,
}

impl FileConfig {
    /// Reads the file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid aomi configuration", path.display()))
    }
}

/// The LI.FI client `aomi serve` quotes with on networks with no local DEX: the file's
/// `lifi_url` and `lifi_timeout_secs`, the environment's `AOMI_LIFI_*` winning; `None` when
/// `aggregator = false` (or `AOMI_AGGREGATOR=false`).
pub fn aggregator(file: &FileConfig) -> anyhow::Result<Option<std::sync::Arc<aomi_chain::aggregator::Lifi>>> {
    let on = match std::env::var("AOMI_AGGREGATOR").ok().filter(|v| !v.trim().is_empty()) {
        Some(v) => {
            v.trim().parse::<bool>().with_context(|| format!("AOMI_AGGREGATOR must be true or false, got \"{v}\""))?
        }
        None => file.aggregator.unwrap_or(true),
    };
    if !on {
        return Ok(None);
    }
    let file_value = |key: &str| match key {
        "AOMI_LIFI_URL" => file.lifi_url.clone(),
        "AOMI_LIFI_TIMEOUT_SECS" => file.lifi_timeout_secs.map(|s| s.to_string()),
        _ => None,
    };
    let config = aomi_chain::aggregator::AggregatorConfig::from_env(|key| {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty()).or_else(|| file_value(key))
    })?;
    Ok(Some(std::sync::Arc::new(aomi_chain::aggregator::Lifi::new(config)?)))
}
