//! MCP both ways: `aomi mcp` (aomi's MCP server over stdio), and the external MCP servers of the
//! configuration (`[[mcp_servers]]`) as tools of the apps that name them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aomi_agent::{AppRegistry, DefaultAppConfig};
use aomi_chain::{ChainSessions, Etherscan, EtherscanConfig};
use aomi_server::Backend;
use aomi_server::limits::Limits;
use aomi_server::mcp::{McpCaller, McpOptions, McpServer, mcp_tools};
use aomi_server::transactions::recorded_chain_tools;
use aomi_store::{Location, StoreConfig};
use aomi_tools::ToolRegistry;
use aomi_tools::mcp::{McpServerConfig, McpTransport};
use aomi_tools::time::GetCurrentTime;
use clap::Args;
use rmcp::ServiceExt;

use crate::config::{FileConfig, McpServerEntry};

/// Flags of `aomi mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The wallet whose chat history the client may read and search (its chats as resources,
    /// `search_history`); without one the history is empty.
    #[arg(long, env = "AOMI_MCP_WALLET")]
    wallet: Option<String>,
    /// A TOML configuration file (the one `aomi serve` reads).
    #[arg(long, short, env = "AOMI_CONFIG")]
    config: Option<PathBuf>,
    /// A TOML file of networks that adds to or changes the built-in ones.
    #[arg(long, env = "AOMI_NETWORKS")]
    networks: Option<PathBuf>,
    /// The network of a call that names none [default: ethereum].
    #[arg(long, env = "AOMI_DEFAULT_NETWORK")]
    default_network: Option<String>,
    /// Directory of the SQLite database (`aomi.db`) [default: .aomi].
    #[arg(long, env = "AOMI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A database URL instead: `postgres://…` or `sqlite://<file>`.
    #[arg(long, env = "AOMI_DATABASE_URL")]
    database_url: Option<String>,
}

/// Serves aomi's MCP tools and the wallet's history on stdin/stdout until the client closes it.
pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let wallet = args
        .wallet
        .filter(|w| !w.is_empty())
        .map(|w| aomi_core::Address::parse(&w).with_context(|| format!("--wallet \"{w}\" is not a wallet address")))
        .transpose()?;
    let url = args.database_url.or(file.database_url.clone()).filter(|url| !url.is_empty());
    let store_config = match url {
        Some(url) => StoreConfig::new(Location::from_url(&url)?),
        None => StoreConfig::in_data_dir(&args.data_dir.or(file.data_dir.clone()).unwrap_or_else(|| ".aomi".into())),
    };
    let store = aomi_store::connect_with(&store_config).await.context("cannot open the database")?;
    let chain = crate::devnet::chain_setup(
        args.networks.or(file.networks_file.clone()).as_deref(),
        false,
        args.default_network.or(file.default_network.clone()),
        aomi_chain::Capacity::default(),
    )
    .await?;
    let explorer = Etherscan::new(EtherscanConfig::from_env()).context("cannot set up the Etherscan client")?;
    let tools = ToolRegistry::new().with(GetCurrentTime).merge(recorded_chain_tools(
        Arc::clone(&chain.sessions),
        Arc::clone(&store),
        explorer,
    ));
    let mut app = DefaultAppConfig::default();
    if let Some(secs) = file.tool_timeout_secs {
        app.tool_timeout = Duration::from_secs(secs);
    }
    if let Some(bytes) = file.limits.tool_output_bytes {
        app.tool_output_bytes = bytes;
    }
    let limits = Limits {
        history_page: file.limits.history_page.unwrap_or(Limits::default().history_page),
        ..Limits::default()
    };
    let options = options(&app, &limits, &chain.sessions);
    // The history through the same backend as the HTTP routes; no app runs here.
    let backend = Backend::new(AppRegistry::new(), store);
    let server = McpServer::new(mcp_tools(&tools, Arc::clone(&chain.sessions)), backend, options);
    tracing::info!(wallet = ?wallet.map(|w| w.to_string()), "aomi MCP server on stdio");
    let running = server
        .handler(McpCaller::local(wallet))
        .serve(rmcp::transport::stdio())
        .await
        .context("the MCP client did not initialize")?;
    running.waiting().await.context("the MCP session failed")?;
    drop(chain);
    Ok(())
}

/// The MCP server's settings from the app's and the limits'.
pub fn options(app: &DefaultAppConfig, limits: &Limits, sessions: &ChainSessions) -> McpOptions {
    McpOptions {
        tool_timeout: app.tool_timeout,
        tool_output_bytes: app.tool_output_bytes,
        history_page: limits.history_page,
        default_chain_id: sessions.default_network().chain_id,
    }
}

/// The tools of the configured external MCP servers that `app` names. A server that cannot be
/// started or does not answer is left out with a warning (the chat works without it); a server
/// configured wrongly stops the start with the reason.
pub async fn external_tools(entries: &[McpServerEntry], app: &str) -> anyhow::Result<ToolRegistry> {
    let mut tools = ToolRegistry::new();
    for entry in entries.iter().filter(|entry| entry.apps.iter().any(|a| a == app)) {
        let config = server_config(entry)?;
        match aomi_tools::mcp::connect(&config).await {
            Ok(registry) => tools = tools.merge(registry),
            Err(error @ aomi_tools::mcp::McpClientError::Config { .. }) => return Err(error.into()),
            Err(error) => tracing::warn!(%error, "an external MCP server's tools are left out"),
        }
    }
    Ok(tools)
}

/// One `[[mcp_servers]]` entry as the client's configuration.
pub fn server_config(entry: &McpServerEntry) -> anyhow::Result<McpServerConfig> {
    let transport = match (&entry.command, &entry.url) {
        (Some(program), None) => {
            McpTransport::Command { program: program.clone(), args: entry.args.clone(), env: entry.env.clone() }
        }
        (None, Some(url)) => {
            let bearer_token = match &entry.bearer_token_env {
                Some(var) => Some(std::env::var(var).with_context(|| {
                    format!("MCP server \"{}\": the variable {var} (its bearer token) is not set", entry.name)
                })?),
                None => None,
            };
            McpTransport::Url { url: url.clone(), bearer_token }
        }
        _ => anyhow::bail!("MCP server \"{}\": give either `command` or `url`", entry.name),
    };
    let mut config = McpServerConfig::new(entry.name.clone(), transport);
    if let Some(secs) = entry.timeout_secs {
        anyhow::ensure!(secs > 0, "MCP server \"{}\": timeout_secs must be positive", entry.name);
        config.timeout = Some(Duration::from_secs(secs));
    }
    if let Some(secs) = entry.connect_timeout_secs {
        anyhow::ensure!(secs > 0, "MCP server \"{}\": connect_timeout_secs must be positive", entry.name);
        config.connect_timeout = Duration::from_secs(secs);
    }
    if let Some(bytes) = entry.max_response_bytes {
        anyhow::ensure!(bytes >= 1024, "MCP server \"{}\": max_response_bytes must be at least 1024", entry.name);
        config.max_response_bytes = bytes;
    }
    Ok(config)
}
