//! `aomi serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aomi_agent::{AppRegistry, DefaultApp, DefaultAppConfig};
use aomi_llm::{LlmClient, ModelConfig};
use aomi_server::{AppState, Backend, ServerConfig};
use aomi_store::MemoryStore;
use aomi_tools::ToolRegistry;
use aomi_tools::chain::chain_tools;
use aomi_tools::time::GetCurrentTime;
use clap::Args;

use crate::config::FileConfig;

/// Flags of `aomi serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AOMI_BIND")]
    bind: Option<String>,
    /// Model: `anthropic:<model>` or `openai:<model>`.
    #[arg(long, env = "AOMI_MODEL")]
    model: Option<String>,
    /// A TOML configuration file.
    #[arg(long, short, env = "AOMI_CONFIG")]
    config: Option<PathBuf>,
    /// The built web page to serve at `/` (default: `web/dist`, when it has been built).
    #[arg(long, env = "AOMI_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Starts a local anvil devnet with the project's contracts (unless AOMI_RPC_DEVNET is set) and
    /// makes it the default network.
    #[arg(long)]
    devnet: bool,
    /// A TOML file of networks that adds to or changes the built-in ones.
    #[arg(long, env = "AOMI_NETWORKS")]
    networks: Option<PathBuf>,
    /// The network of a chat whose turns carry no wallet context (default: devnet with --devnet,
    /// else ethereum).
    #[arg(long, env = "AOMI_DEFAULT_NETWORK")]
    default_network: Option<String>,
}

/// Where `make run` builds the web page, relative to the repository root.
const DEFAULT_WEB_DIR: &str = "web/dist";

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let bind: SocketAddr = args
        .bind
        .or(file.bind)
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .context("the bind address must look like 127.0.0.1:8080")?;
    let model = args.model.or(file.model);
    let llm = match model_config(model)? {
        Some(mut config) => {
            if let Some(secs) = file.model_idle_timeout_secs {
                config.idle_timeout = Duration::from_secs(secs);
            }
            let client = LlmClient::new(config).context("cannot set up the model client")?;
            tracing::info!(model = %client.describe(), "model configured");
            Some(client)
        }
        None => {
            tracing::warn!("no model configured: chat turns will explain how to configure one");
            None
        }
    };
    let mut app_config = DefaultAppConfig::default();
    if let Some(steps) = file.max_steps {
        app_config.max_steps = steps;
    }
    if let Some(secs) = file.tool_timeout_secs {
        app_config.tool_timeout = Duration::from_secs(secs);
    }
    let networks = args.networks.or(file.networks_file.clone());
    let chain = crate::devnet::chain_setup(
        networks.as_deref(),
        args.devnet || file.devnet.unwrap_or(false),
        args.default_network.or(file.default_network.clone()),
    )
    .await?;
    let tools = ToolRegistry::new().with(GetCurrentTime).merge(chain_tools(Arc::clone(&chain.sessions)));
    let apps = AppRegistry::new().with(Arc::new(DefaultApp::new(llm, tools, app_config)));
    let backend = Backend::new(apps, Arc::new(MemoryStore::new()));
    let config = ServerConfig {
        bind,
        body_limit: file.body_limit.unwrap_or(aomi_server::DEFAULT_BODY_LIMIT),
        web_dir: web_dir(args.web_dir.or(file.web_dir)),
    };
    aomi_server::serve(
        AppState { backend },
        config,
        |addr| {
            // Scripts and tests read this line to find the port.
            println!("listening on http://{addr}");
            let _ = std::io::stdout().flush();
            tracing::info!(%addr, "aomi serving");
        },
        shutdown_signal(),
    )
    .await
    .context("the server stopped with an error")?;
    // Stops the devnet aomi started.
    drop(chain);
    Ok(())
}

/// The web page's directory, if it holds a built page; without one only the API is served.
fn web_dir(configured: Option<PathBuf>) -> Option<PathBuf> {
    let dir = configured.unwrap_or_else(|| PathBuf::from(DEFAULT_WEB_DIR));
    if dir.join("index.html").is_file() {
        tracing::info!(dir = %dir.display(), "serving the web page");
        Some(dir)
    } else {
        tracing::warn!(dir = %dir.display(), "no built web page there (build it with `make run`); serving the API only");
        None
    }
}

/// The model from `--model`/`AOMI_MODEL` (or the config file), with keys and base URLs from the
/// environment.
fn model_config(model: Option<String>) -> anyhow::Result<Option<ModelConfig>> {
    let config = ModelConfig::from_lookup(|name| match name {
        "AOMI_MODEL" => model.clone(),
        other => std::env::var(other).ok().filter(|v| !v.is_empty()),
    })?;
    Ok(config)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
