//! `aomi serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aomi_agent::{
    ANALYST_APP, AnalystApp, AppRegistry, BatchApp, BatchAppConfig, DefaultApp, DefaultAppConfig, EXPLORE_APP,
    ExploreApp, ExploreAppConfig, IntentFastPath,
};
use aomi_chain::{Capacity, ChainSessions, ContractDb, Etherscan, EtherscanConfig};
use aomi_llm::{LlmClient, ModelConfig, SubroutineModel};
use aomi_server::auth::{Auth, AuthConfig, AuthMode};
use aomi_server::limits::Limits;
use aomi_server::transactions::{guarded_chain_tools, recorded_signatures, store_checks};
use aomi_server::{AppState, Backend, BackendOptions, ServerConfig, Titler};
use aomi_store::{Location, StoreConfig};
use aomi_tools::ToolRegistry;
use aomi_tools::time::GetCurrentTime;
use clap::Args;

use crate::config::FileConfig;

/// Flags of `aomi serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AOMI_BIND")]
    pub(crate) bind: Option<String>,
    /// Model: `anthropic:<model>` or `openai:<model>`.
    #[arg(long, env = "AOMI_MODEL")]
    pub(crate) model: Option<String>,
    /// A TOML configuration file.
    #[arg(long, short, env = "AOMI_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The built web page to serve at `/` (default: `web/dist`, when it has been built).
    #[arg(long, env = "AOMI_WEB_DIR")]
    pub(crate) web_dir: Option<PathBuf>,
    /// Starts a local anvil devnet with the project's contracts (unless AOMI_RPC_DEVNET is set) and
    /// makes it the default network.
    #[arg(long)]
    pub(crate) devnet: bool,
    /// Runs anvil as a fork of this network (its name, or an RPC URL) and makes it the chats'
    /// network: real contracts and balances, nothing sent leaves the fork.
    #[arg(long, env = "AOMI_FORK", conflicts_with = "devnet")]
    pub(crate) fork: Option<String>,
    /// A TOML file of networks that adds to or changes the built-in ones.
    #[arg(long, env = "AOMI_NETWORKS")]
    pub(crate) networks: Option<PathBuf>,
    /// The network of a chat whose turns carry no wallet context (default: devnet with --devnet,
    /// else ethereum).
    #[arg(long, env = "AOMI_DEFAULT_NETWORK")]
    pub(crate) default_network: Option<String>,
    /// Directory of the SQLite database (`aomi.db`), created on first run [default: .aomi].
    #[arg(long, env = "AOMI_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// A database URL instead: `postgres://…` (several instances may share it) or `sqlite://<file>`.
    #[arg(long, env = "AOMI_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Most database connections in the pool [default: 10].
    #[arg(long, env = "AOMI_DB_MAX_CONNECTIONS")]
    pub(crate) db_max_connections: Option<u32>,
    /// Seconds a query waits for a free database connection before it fails [default: 10].
    #[arg(long, env = "AOMI_DB_ACQUIRE_TIMEOUT_SECS")]
    pub(crate) db_acquire_timeout_secs: Option<u64>,
    /// How chat titles are made: `model` (a short model call after the first answer; the
    /// default when a model is configured) or `first-message`.
    #[arg(long, env = "AOMI_TITLES")]
    pub(crate) titles: Option<String>,
    /// Prepare a clear wallet action ("send 500 USDC to 0x…") with the utility model, without the
    /// chat's model [default: true when a utility model is configured; it needs one].
    #[arg(long, env = "AOMI_INTENT_FAST_PATH")]
    pub(crate) intent_fast_path: Option<bool>,
    /// Sign-in with the wallet: `optional` (the default: a request may also name its wallet) or
    /// `required` (a wallet's history and turns need its signature; for any server others reach).
    #[arg(long, env = "AOMI_AUTH")]
    pub(crate) auth: Option<String>,
    /// The key that signs sign-in sessions; instances behind one address must share it
    /// [default: a key of this process: sessions end when it restarts].
    #[arg(long, env = "AOMI_AUTH_SECRET", hide_env_values = true)]
    pub(crate) auth_secret: Option<String>,
    /// The address people open aomi at (`https://aomi.example`): the sign-in message's domain,
    /// and the only Host/Origin sign-in accepts [default: the bound address].
    #[arg(long, env = "AOMI_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Whether the session cookie is `Secure` [default: when the public URL is https].
    #[arg(long, env = "AOMI_COOKIE_SECURE")]
    pub(crate) cookie_secure: Option<bool>,
    /// Serves a non-loopback address without required sign-in: anyone who reaches it may run
    /// turns on the configured model and name any wallet.
    #[arg(long, env = "AOMI_ALLOW_UNAUTHENTICATED")]
    pub(crate) allow_unauthenticated: bool,
    /// Origins the page may connect to beside its own, space-separated, added to the
    /// Content-Security-Policy's connect-src (a page built with a wallet SDK that has servers of
    /// its own, such as WalletConnect's relay) [default: none].
    #[arg(long, env = "AOMI_CSP_CONNECT_SRC", value_delimiter = ' ', num_args = 0..)]
    pub(crate) csp_connect_src: Vec<String>,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for running turns to store their end before the
    /// process exits anyway [default: 10].
    #[arg(long, env = "AOMI_SHUTDOWN_GRACE_SECS")]
    pub(crate) shutdown_grace_secs: Option<u64>,
    /// Price impact above which a swap is flagged, in basis points (danger above ten times it)
    /// [default: 100].
    #[arg(long, env = "AOMI_PRICE_IMPACT_WARNING_BPS")]
    pub(crate) price_impact_warning_bps: Option<u32>,
    /// Most allow-list entries a wallet may save in its spend guards [default: 200].
    #[arg(long, env = "AOMI_GUARDS_MAX_ALLOWED")]
    pub(crate) guards_max_allowed: Option<usize>,
}

/// Where `make run` builds the web page, relative to the repository root.
const DEFAULT_WEB_DIR: &str = "web/dist";
/// The default data directory, relative to the working directory.
const DEFAULT_DATA_DIR: &str = ".aomi";

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    run_with(args, None).await
}

/// Runs the server until Ctrl-C or SIGTERM, with the Telegram bot beside it when `bot` is set
/// (`aomi telegram`); a bot that cannot run (a wrong token) stops the server too.
pub async fn run_with(args: ServeArgs, bot: Option<crate::telegram::BotFlags>) -> anyhow::Result<()> {
    // The whole configuration is checked first, so that every problem is told at once and a
    // server never starts half-configured.
    let report = crate::check::check(&args, &|name| std::env::var(name).ok());
    for problem in report.warnings() {
        tracing::warn!(key = %problem.key, fix = %problem.fix, "{}", problem.what);
    }
    if report.has_errors() {
        eprint!("{}", report.render());
        anyhow::bail!(
            "refusing to start: the configuration has {} error(s) (`aomi config check` lists them)",
            report.errors().count()
        );
    }
    let file = FileConfig::load(args.config.as_deref())?;
    // Read before the file's fields are moved out below.
    let aggregator = crate::config::aggregator(&file)?;
    let store_config = store_config(&args, &file)?;
    let max_reads = batch_max_reads(&file)?;
    let explore_budget = explore_budget(&file)?;
    let bind: SocketAddr = args
        .bind
        .or(file.bind.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .context("the bind address must look like 127.0.0.1:8080")?;
    let server_url = args.public_url.clone().or(file.public_url.clone()).filter(|s| !s.is_empty());
    // The bot's settings are checked before anything is opened; its network is known later.
    let bot_config = bot
        .map(|flags| {
            let page = server_url.clone().unwrap_or_else(|| format!("http://{bind}"));
            crate::telegram::config(&flags, &file, &|name| std::env::var(name).ok(), Some(page), 1)
        })
        .transpose()?;
    let model = args.model.or(file.model.clone());
    if let Some(tokens) = file.model_max_tokens {
        anyhow::ensure!(tokens > 0, "model_max_tokens must be positive");
    }
    // The file's limits apply to every model a chat may run on.
    let tune = |config: &mut ModelConfig| {
        if let Some(secs) = file.model_idle_timeout_secs {
            config.idle_timeout = Duration::from_secs(secs);
        }
        if let Some(tokens) = file.model_max_tokens {
            config.max_tokens = tokens;
        }
    };
    let llm = match model_config(model)? {
        Some(mut config) => {
            tune(&mut config);
            let client = LlmClient::new(config).context("cannot set up the model client")?;
            tracing::info!(model = %client.describe(), "model configured");
            Some(client)
        }
        None => {
            tracing::warn!("no model configured: chat turns will explain how to configure one");
            None
        }
    };
    let (mut allowed, problems) = crate::models::allowed_models(&file, &|name| std::env::var(name).ok());
    if let Some(problem) = problems.first() {
        anyhow::bail!("{}: {}", problem.key, problem.error);
    }
    allowed.iter_mut().for_each(|model| tune(&mut model.config));
    let models = crate::models::routes(llm.clone(), &allowed)?;
    if models.routes().len() > 1 {
        let ids: Vec<&str> = models.routes().iter().map(|route| route.id.as_str()).collect();
        tracing::info!(models = %ids.join(", "), "chats may pick their model");
    }
    let mut app_config = DefaultAppConfig::default();
    if let Some(steps) = file.max_steps {
        app_config.max_steps = steps;
    }
    if let Some(secs) = file.tool_timeout_secs {
        app_config.tool_timeout = Duration::from_secs(secs);
    }
    app_config.first_tool = file.first_tool.clone().filter(|tool| !tool.trim().is_empty());
    let (limits, metrics_token) = limits(&file.limits, &mut app_config)?;
    // Each typed subroutine on its configured model: by default the side jobs (titles, compaction)
    // and the explore app's judge on the utility model, plans on the chat's.
    let utility = utility_model()?;
    let subroutines = crate::subroutines::SubroutineModels::resolve(&file, utility.as_ref(), &models)?;
    let titler = match args.titles.or(file.titles.clone()).as_deref() {
        None | Some("model") => crate::subroutines::side_job_model(&subroutines.titles, llm.as_ref())
            .map_or(Titler::FirstMessage, Titler::Model),
        Some("first-message") => Titler::FirstMessage,
        Some(other) => anyhow::bail!("titles must be \"model\" or \"first-message\", not \"{other}\""),
    };
    let auth = auth(
        bind,
        AuthConfig {
            mode: args.auth.or(file.auth).as_deref().unwrap_or("optional").parse().map_err(anyhow::Error::msg)?,
            secret: args.auth_secret.filter(|s| !s.is_empty()),
            public_url: server_url.clone(),
            secure_cookie: args.cookie_secure.or(file.cookie_secure),
        },
        args.allow_unauthenticated || file.allow_unauthenticated.unwrap_or(false),
    )?;
    let store = aomi_store::connect_with(&store_config).await.context("cannot open the database")?;
    tracing::info!(store = %store.describe(), "history store ready");
    let networks = args.networks.or(file.networks_file.clone());
    let fork = args.fork.or(file.fork.clone());
    let chain = crate::devnet::chain_setup_with_fork(
        networks.as_deref(),
        args.devnet || (file.devnet.unwrap_or(false) && fork.is_none()),
        fork.as_deref(),
        args.default_network.or(file.default_network.clone()),
        chain_capacity(&file.limits)?,
    )
    .await?;
    let explorer = Etherscan::new(EtherscanConfig::from_env()).context("cannot set up the Etherscan client")?;
    if !explorer.has_api_key() {
        tracing::warn!("ETHERSCAN_API_KEY is not set: get_contract answers only from the contract database");
    }
    store_devnet_contracts(&chain.sessions, &store, &explorer).await;
    let prices = Arc::new(aomi_chain::prices::DefiLlama::new(aomi_chain::prices::PriceConfig::from_env(|k| {
        std::env::var(k).ok()
    })?)?);
    let impact = args
        .price_impact_warning_bps
        .or(file.price_impact_warning_bps)
        .unwrap_or(aomi_chain::risk::impact::DEFAULT_PRICE_IMPACT_BPS);
    anyhow::ensure!((1..=10_000).contains(&impact), "price_impact_warning_bps must be from 1 to 10000, not {impact}");
    // Every wallet request, single or batched, is priced and checked against the wallet's guards.
    let checks = store_checks(Arc::clone(&store), Some(Arc::clone(&prices)), impact);
    let knowledge = crate::knowledge::Knowledge::setup(&chain.sessions, &store, &explorer, checks.clone()).await?;
    let chain_tools = guarded_chain_tools(Arc::clone(&chain.sessions), Arc::clone(&store), explorer, checks.clone())
        .merge(recorded_signatures(
            Arc::clone(&chain.sessions),
            Arc::clone(&store),
            signing_limits(&file.limits)?,
            checks.clone(),
        ));
    let batches = aomi_server::batches::StoreBatches::pending(Arc::clone(&store) as _, batch_steps(&file.limits)?);
    let defi = aomi_tools::defi::defi_tools_with(Arc::clone(&chain.sessions), batches, prices, checks, aggregator);
    let tools = ToolRegistry::new().with(GetCurrentTime).merge(chain_tools).merge(defi);
    // Knowledge after the native tools: it wraps each of them to put labels beside addresses.
    let tools = knowledge.around(tools);
    // MCP both ways: the native tools are served at /mcp; external servers' tools join the app.
    let served = aomi_server::mcp::mcp_tools(&tools, Arc::clone(&chain.sessions));
    let mcp_options = crate::mcp::options(&app_config, &limits, &chain.sessions);
    let analyst_tools = tools.clone().merge(crate::mcp::external_tools(&file.mcp_servers, ANALYST_APP).await?);
    let explore_tools = tools.clone().merge(crate::mcp::external_tools(&file.mcp_servers, EXPLORE_APP).await?);
    let tools = tools.merge(crate::mcp::external_tools(&file.mcp_servers, aomi_core::turn::DEFAULT_APP).await?);
    if let Some(tool) = &app_config.first_tool {
        anyhow::ensure!(tools.get(tool).is_some(), "first_tool names \"{tool}\", which is not one of aomi's tools");
    }
    let batch = BatchAppConfig { linear: app_config.clone(), max_reads };
    let explore = ExploreAppConfig { linear: app_config.clone(), ..explore_budget };
    // Long chats stay within the model's budget: older turns are folded into a stored summary.
    let compactor = crate::subroutines::side_job_model(&subroutines.compaction, llm.as_ref()).map(|model| {
        aomi_server::compaction::StoreCompactions::compactor(
            Arc::clone(&store) as _,
            model,
            app_config.compaction_settings(),
        )
    });
    let mut analyst = AnalystApp::new(models.clone(), analyst_tools, app_config.clone());
    let mut default = DefaultApp::new(models.clone(), tools.clone(), app_config.clone());
    let mut batch = BatchApp::new(models.clone(), tools.clone(), batch).with_planner(subroutines.batch_plan);
    let mut explore = ExploreApp::new(models.clone(), explore_tools, explore)
        .with_subroutines(subroutines.explore_plan, subroutines.explore_judge);
    if let Some(compactor) = compactor {
        analyst = analyst.with_compaction(Arc::clone(&compactor));
        batch = batch.with_compaction(Arc::clone(&compactor));
        explore = explore.with_compaction(Arc::clone(&compactor));
        default = default.with_compaction(compactor);
    }
    // Clear wallet actions skip the chat's model: on by default where a model of its own reads them.
    match (subroutines.intent, args.intent_fast_path.or(file.intent_fast_path)) {
        (SubroutineModel::Fixed(reader), None | Some(true)) => {
            let resolver = aomi_tools::intent::IntentResolver(Arc::clone(&chain.sessions));
            tracing::info!(model = %reader.describe(), "intent fast path on: clear wallet actions skip the chat's model");
            default = default.with_intents(Arc::new(IntentFastPath::new(reader, resolver)));
        }
        (SubroutineModel::Chat, Some(true)) => {
            tracing::warn!(
                "intent_fast_path needs a model other than the chat's (intent_model: the utility model, \
                 AOMI_UTILITY_MODEL, or a model id): it stays off"
            );
        }
        _ => {}
    }
    let apps = AppRegistry::new()
        .with(Arc::new(analyst))
        .with(Arc::new(batch))
        .with(Arc::new(explore))
        .with(Arc::new(default));
    let shutdown_grace = args
        .shutdown_grace_secs
        .or(file.shutdown_grace_secs)
        .map_or(aomi_server::DEFAULT_SHUTDOWN_GRACE, Duration::from_secs);
    let bot_store = Arc::clone(&store) as Arc<dyn aomi_store::TelegramStore>;
    let backend = Backend::with_options(
        apps,
        store,
        BackendOptions { titler, shutdown_grace, models, ..BackendOptions::default() },
    );
    let mcp = aomi_server::mcp::McpServer::new(served, Arc::clone(&backend) as _, mcp_options);
    backend.start().await.context("cannot recover the turns of a previous run")?;
    let connect_src = match args.csp_connect_src.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>() {
        sources if sources.is_empty() => file.csp_connect_src.clone().unwrap_or_default(),
        sources => sources,
    };
    let config = ServerConfig {
        bind,
        body_limit: file.body_limit.unwrap_or(aomi_server::DEFAULT_BODY_LIMIT),
        web_dir: web_dir(args.web_dir.clone().or(file.web_dir.clone())),
        headers: aomi_server::headers::SecurityHeaders::new(&connect_src).context("AOMI_CSP_CONNECT_SRC")?,
    };
    let bot = match bot_config {
        Some(mut config) => {
            config.default_chain_id = chain.sessions.default_network().chain_id;
            Some(aomi_server::telegram::TelegramBot::new(config, Arc::clone(&backend) as _, bot_store)?)
        }
        None => None,
    };
    // Stops the server on a signal, or when the bot cannot go on.
    let stop = tokio_util::sync::CancellationToken::new();
    let bot = bot.map(|bot| {
        let stop = stop.clone();
        tokio::spawn(async move {
            let ran = bot.run(stop.clone()).await;
            if let Err(error) = &ran {
                tracing::error!(%error, "the Telegram bot stopped");
            }
            stop.cancel();
            ran
        })
    });
    let stopping = Arc::clone(&backend);
    let stopped = stop.clone();
    aomi_server::serve(
        AppState::new(backend)
            .with_chain(Arc::clone(&chain.sessions))
            .with_auth(auth)
            .with_limits(limits)
            .with_metrics_token(metrics_token)
            .with_mcp(mcp)
            .with_guards_max_allowed(
                args.guards_max_allowed.or(file.guards_max_allowed).unwrap_or(aomi_tools::guard::DEFAULT_MAX_ALLOWED),
            ),
        config,
        |addr| {
            // Scripts and tests read this line to find the port.
            println!("listening on http://{addr}");
            let _ = std::io::stdout().flush();
            tracing::info!(%addr, "aomi serving");
        },
        async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = stopped.cancelled() => {}
            }
            stopped.cancel();
            // Running turns store what they have (marked incomplete) and end their streams, so
            // that the server can close their connections.
            stopping.shutdown().await;
        },
    )
    .await
    .context("the server stopped with an error")?;
    if let Some(bot) = bot {
        bot.await.context("the Telegram bot panicked")??;
    }
    // Stops the devnet aomi started.
    drop(chain);
    Ok(())
}

/// Reads a `batch` plan may hold: `AOMI_BATCH_MAX_READS`, else the file's `batch_max_reads`.
fn batch_max_reads(file: &FileConfig) -> anyhow::Result<usize> {
    let from_env = match std::env::var("AOMI_BATCH_MAX_READS").ok().filter(|v| !v.trim().is_empty()) {
        Some(value) => Some(value.trim().parse::<usize>().context("AOMI_BATCH_MAX_READS must be a whole number")?),
        None => None,
    };
    let reads = from_env.or(file.batch_max_reads).unwrap_or(aomi_agent::DEFAULT_MAX_READS);
    anyhow::ensure!(reads > 0, "batch_max_reads must be positive");
    Ok(reads)
}

/// The `explore` app's budget: `AOMI_EXPLORE_MAX_BRANCHES`, `AOMI_EXPLORE_MAX_STEPS` and
/// `AOMI_EXPLORE_TIMEOUT_SECS`, else the file's `explore_*` keys, else the defaults; each positive.
fn explore_budget(file: &FileConfig) -> anyhow::Result<ExploreAppConfig> {
    fn from_env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
        match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            Some(value) => {
                value.trim().parse::<T>().map(Some).map_err(|_| anyhow::anyhow!("{name} must be a whole number"))
            }
            None => Ok(None),
        }
    }
    let branches = from_env("AOMI_EXPLORE_MAX_BRANCHES")?.or(file.explore_max_branches);
    let steps = from_env("AOMI_EXPLORE_MAX_STEPS")?.or(file.explore_max_steps);
    let secs = from_env::<u64>("AOMI_EXPLORE_TIMEOUT_SECS")?.or(file.explore_timeout_secs);
    let config = ExploreAppConfig {
        max_branches: branches.unwrap_or(aomi_agent::DEFAULT_MAX_BRANCHES),
        max_steps: steps.unwrap_or(aomi_agent::DEFAULT_MAX_STEPS),
        timeout: secs.map_or(aomi_agent::DEFAULT_TIMEOUT, Duration::from_secs),
        ..ExploreAppConfig::default()
    };
    anyhow::ensure!(config.max_branches > 0, "explore_max_branches must be positive");
    anyhow::ensure!(config.max_steps > 0, "explore_max_steps must be positive");
    anyhow::ensure!(!config.timeout.is_zero(), "explore_timeout_secs must be positive");
    Ok(config)
}

/// Sign-in as configured, refusing the settings that would expose a server: a non-loopback
/// address in optional mode (unless explicitly allowed), and required mode there without the
/// public address that sign-in messages must name.
fn auth(bind: SocketAddr, config: AuthConfig, allow_unauthenticated: bool) -> anyhow::Result<Auth> {
    let exposed = !bind.ip().is_loopback();
    match config.mode {
        AuthMode::Optional if exposed && !allow_unauthenticated => anyhow::bail!(
            "refusing to serve {bind} without sign-in: anyone who reaches it could run turns on your model and read \
             any wallet's chats by naming it. Set AOMI_AUTH=required (with AOMI_PUBLIC_URL and AOMI_AUTH_SECRET), \
             bind 127.0.0.1, or pass --allow-unauthenticated if that is what you want"
        ),
        AuthMode::Optional if exposed => {
            tracing::warn!(%bind, "serving a non-loopback address WITHOUT sign-in (--allow-unauthenticated)");
        }
        AuthMode::Required if exposed && config.public_url.is_none() => anyhow::bail!(
            "AOMI_AUTH=required on {bind} needs AOMI_PUBLIC_URL: the address people open (https://aomi.example), \
             which sign-in messages name and which alone may ask for them"
        ),
        _ => {}
    }
    if config.mode == AuthMode::Required && config.secret.is_none() {
        tracing::warn!(
            "AOMI_AUTH_SECRET is not set: sessions end when this process restarts, and other instances refuse them"
        );
    }
    Ok(Auth::new(config)?)
}

/// The limits (`[limits]` of the file, each overridden by its `AOMI_LIMIT_*` variable; the
/// model's history budget and the tool output cut go to the app) and the metrics token
/// (`AOMI_METRICS_TOKEN`).
fn limits(file: &crate::config::LimitsConfig, app: &mut DefaultAppConfig) -> anyhow::Result<(Limits, Option<String>)> {
    let mut limits = Limits::default();
    macro_rules! set {
        ($($field:ident),*) => {$(
            if let Some(value) = pick(stringify!($field), file.$field)? {
                limits.$field = value;
            }
        )*};
    }
    set!(
        ip_rate,
        ip_burst,
        session_rate,
        session_burst,
        turns_per_client,
        turns_total,
        message_bytes,
        messages_per_chat,
        followers_per_chat,
        history_page
    );
    if let Some(secs) = pick("write_timeout_secs", file.write_timeout_secs)? {
        limits.write_timeout = (secs > 0).then(|| Duration::from_secs(secs));
    }
    let proxies = match std::env::var("AOMI_TRUSTED_PROXIES").ok().filter(|v| !v.trim().is_empty()) {
        Some(list) => list.split(',').map(|ip| ip.trim().to_owned()).collect(),
        None => file.trusted_proxies.clone().unwrap_or_default(),
    };
    for proxy in proxies {
        let ip = proxy.parse().with_context(|| format!("trusted proxy \"{proxy}\" is not an IP address"))?;
        limits.trusted_proxies.push(ip);
    }
    if let Some(tokens) = pick("history_tokens", file.history_tokens)? {
        app.history_token_budget = tokens;
    }
    if let Some(bytes) = pick("old_tool_output_bytes", file.old_tool_output_bytes)? {
        app.old_tool_output_bytes = bytes;
    }
    if let Some(bytes) = pick("tool_output_bytes", file.tool_output_bytes)? {
        anyhow::ensure!(bytes >= 1024, "tool_output_bytes must be at least 1024");
        app.tool_output_bytes = bytes;
    }
    anyhow::ensure!(limits.message_bytes > 0, "message_bytes must be positive");
    let token = std::env::var("AOMI_METRICS_TOKEN").ok().filter(|token| !token.is_empty());
    Ok((limits, token))
}

/// One `[limits]` key: its `AOMI_LIMIT_<KEY>` variable, else the file's value.
fn pick<T: std::str::FromStr>(key: &str, file: Option<T>) -> anyhow::Result<Option<T>> {
    let var = format!("AOMI_LIMIT_{}", key.to_uppercase());
    match std::env::var(&var).ok().filter(|v| !v.is_empty()) {
        Some(value) => value.trim().parse().map(Some).map_err(|_| anyhow::anyhow!("{var}={value} is not a number")),
        None => Ok(file),
    }
}

/// How many steps a chat's pending batch holds (`batch_steps` of `[limits]`).
fn batch_steps(file: &crate::config::LimitsConfig) -> anyhow::Result<usize> {
    let steps = pick("batch_steps", file.batch_steps)?.unwrap_or(aomi_tools::defi::DEFAULT_MAX_STEPS);
    anyhow::ensure!(steps > 0, "batch_steps must be positive");
    Ok(steps)
}

/// The limits of signature requests (`signature_bytes`, `signature_depth`, `long_permit_days` of
/// `[limits]`).
fn signing_limits(file: &crate::config::LimitsConfig) -> anyhow::Result<aomi_chain::typed_data::SigningLimits> {
    let mut limits = aomi_chain::typed_data::SigningLimits::default();
    if let Some(bytes) = pick("signature_bytes", file.signature_bytes)? {
        limits.max_bytes = bytes;
    }
    if let Some(depth) = pick("signature_depth", file.signature_depth)? {
        limits.max_depth = depth;
    }
    if let Some(days) = pick("long_permit_days", file.long_permit_days)? {
        limits.long_permit_secs = days.saturating_mul(86_400);
    }
    anyhow::ensure!(
        limits.max_bytes > 0 && limits.max_depth > 0 && limits.long_permit_secs > 0,
        "signature_bytes, signature_depth and long_permit_days must be positive"
    );
    Ok(limits)
}

/// How many chat sessions and contract ABIs the chain layer keeps (`chain_sessions`,
/// `known_contracts` of `[limits]`).
fn chain_capacity(file: &crate::config::LimitsConfig) -> anyhow::Result<Capacity> {
    let mut capacity = Capacity::default();
    if let Some(sessions) = pick("chain_sessions", file.chain_sessions)? {
        capacity.sessions = sessions;
    }
    if let Some(contracts) = pick("known_contracts", file.known_contracts)? {
        capacity.contracts = contracts;
    }
    anyhow::ensure!(
        capacity.sessions > 0 && capacity.contracts > 0,
        "chain_sessions and known_contracts must be positive"
    );
    Ok(capacity)
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

/// Writes the devnet's own contracts (their compiled artifacts) into the contract database as
/// `"artifact"` rows, so that `get_contract` answers them without Etherscan, which does not index
/// a local chain. A failure is only logged: the chat works without it.
async fn store_devnet_contracts(sessions: &ChainSessions, store: &Arc<dyn aomi_store::Store>, explorer: &Etherscan) {
    let Ok(devnet) = sessions.registry().resolve(aomi_chain::network::DEVNET) else { return };
    let cache = aomi_server::contract_cache::StoreContractCache::shared(
        Arc::clone(store) as Arc<dyn aomi_store::ContractStore>
    );
    let db = ContractDb::new(cache, explorer.clone());
    match db.store_known(sessions.contracts(), devnet.chain_id).await {
        Ok(0) => {}
        Ok(stored) => tracing::info!(stored, "the devnet's contracts are in the contract database"),
        Err(error) => tracing::warn!(%error, "the devnet's contracts were not stored"),
    }
}

/// The database: `--database-url` (or `AOMI_DATABASE_URL`, or the file's `database_url`), else
/// `aomi.db` in the data directory.
fn store_config(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<StoreConfig> {
    let url = args.database_url.clone().or_else(|| file.database_url.clone()).filter(|url| !url.is_empty());
    let mut config = match url {
        Some(url) => StoreConfig::new(Location::from_url(&url)?),
        None => {
            let dir = args.data_dir.clone().or_else(|| file.data_dir.clone());
            StoreConfig::in_data_dir(&dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
        }
    };
    if let Some(max) = args.db_max_connections.or(file.db_max_connections) {
        anyhow::ensure!(max > 0, "the database pool needs at least one connection");
        config.max_connections = max;
    }
    if let Some(secs) = args.db_acquire_timeout_secs.or(file.db_acquire_timeout_secs) {
        config.acquire_timeout = Duration::from_secs(secs);
    }
    if let Some(secs) = file.turn_lease_secs {
        anyhow::ensure!(secs > 0, "turn_lease_secs must be positive");
        config.turn_lease = Duration::from_secs(secs);
    }
    if let Some(secs) = file.db_ping_after_idle_secs {
        config.ping_after_idle = Duration::from_secs(secs);
    }
    Ok(config)
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

/// The utility model (`AOMI_UTILITY_MODEL`) for side jobs such as titles; none when unset.
fn utility_model() -> anyhow::Result<Option<LlmClient>> {
    let Some(config) = ModelConfig::utility_from_lookup(|name| std::env::var(name).ok())? else { return Ok(None) };
    let client = LlmClient::new(config).context("cannot set up the utility model client")?;
    tracing::info!(model = %client.describe(), "utility model configured");
    Ok(Some(client))
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

#[cfg(test)]
mod signing_limit_tests {
    use super::*;

    #[test]
    fn signature_limits_come_from_the_file_and_zero_is_refused() {
        let file = crate::config::LimitsConfig {
            signature_bytes: Some(100),
            signature_depth: Some(2),
            long_permit_days: Some(3),
            ..Default::default()
        };
        let limits = signing_limits(&file).unwrap_or_default();
        assert_eq!((limits.max_bytes, limits.max_depth, limits.long_permit_secs), (100, 2, 3 * 86_400));
        let zero = crate::config::LimitsConfig { long_permit_days: Some(0), ..Default::default() };
        assert!(signing_limits(&zero).is_err());
    }
}
