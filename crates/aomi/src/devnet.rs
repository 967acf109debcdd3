//! `aomi devnet`, and the chain set-up `aomi serve` shares with it.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use aomi_chain::network::{DEVNET, rpc_env_var};
use aomi_chain::{Capacity, ChainSessions, Devnet, DevnetOptions, NetworkRegistry};
use clap::Args;
use serde_json::json;

/// Flags of `aomi devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Chain id of the devnet.
    #[arg(long, default_value_t = aomi_chain::network::DEVNET_CHAIN_ID)]
    chain_id: u64,
    /// Print one JSON object (url, chainId, accounts, contracts) instead of text.
    #[arg(long)]
    json: bool,
    /// Run anvil as a fork of this network (a name from the built-in networks or AOMI_RPC_<NAME>,
    /// or an http(s) RPC URL): its state and chain id, nothing deployed.
    #[arg(long, conflicts_with = "chain_id")]
    fork: Option<String>,
}

/// Starts anvil with the project's contracts and prints where everything is, until Ctrl-C.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let mut options = DevnetOptions { chain_id: args.chain_id, port: args.port, ..DevnetOptions::default() };
    if let Some(fork) = &args.fork {
        let mut registry = NetworkRegistry::builtin();
        registry.apply_env(|name| std::env::var(name).ok())?;
        let (url, _) = fork_origin(&registry, fork)?;
        options = DevnetOptions { port: args.port, ..DevnetOptions::fork(url) };
    }
    let devnet = Devnet::start_with(options).await?;
    let mut out = std::io::stdout();
    if let Some(origin) = devnet.fork_url() {
        let description =
            json!({ "url": devnet.url(), "chainId": devnet.chain_id(), "accounts": devnet.accounts(), "fork": origin });
        if args.json {
            writeln!(out, "{description}")?;
        } else {
            writeln!(out, "fork of {origin} listening on {} (chain id {})", devnet.url(), devnet.chain_id())?;
            writeln!(out, "Press Ctrl-C to stop it.")?;
        }
    } else if args.json {
        let description = json!({
            "url": devnet.url(),
            "chainId": devnet.chain_id(),
            "accounts": devnet.accounts(),
            "contracts": devnet.contracts(),
            "uniswap": devnet.dex(),
        });
        writeln!(out, "{description}")?;
    } else {
        writeln!(out, "devnet listening on {} (chain id {})", devnet.url(), devnet.chain_id())?;
        writeln!(out, "{}", describe(&devnet))?;
        writeln!(out, "Press Ctrl-C to stop it.")?;
    }
    out.flush()?;
    crate::serve::shutdown_signal().await;
    drop(devnet);
    Ok(())
}

/// The devnet's contracts and funded accounts, as text.
pub fn describe(devnet: &Devnet) -> String {
    let c = devnet.contracts();
    let mut text = format!(
        "contracts:\n  USDC (6 decimals)  {}\n  DAI (18 decimals)  {}\n  WETH               {}\n  OrderBook          {}\n  Reverter           {}\naccounts (unlocked; 10000 ETH each, the first five hold {} USDC and DAI):",
        c.usdc,
        c.dai,
        c.weth,
        c.order_book,
        c.reverter,
        aomi_chain::devnet::MINTED_TOKENS
    );
    for account in devnet.accounts() {
        text.push_str(&format!("\n  {account}"));
    }
    if let Some(dex) = devnet.dex() {
        let d = &dex.contracts;
        text.push_str(&format!(
            "\nuniswap (WETH above):\n  V2 factory         {}\n  V2 router02        {}\n  V3 factory         {}\n  V3 SwapRouter      {}\n  V3 QuoterV2        {}\n  V3 positions (NFT) {}\npools (1 ETH = {} USD):",
            d.v2_factory,
            d.v2_router,
            d.v3_factory,
            d.swap_router,
            d.quoter,
            d.position_manager,
            aomi_chain::dex::SEED_ETH_PRICE_USD
        ));
        for pool in &dex.pools {
            let kind = match pool.kind {
                aomi_chain::dex::PoolKind::V2 => "V2",
                aomi_chain::dex::PoolKind::V3 => "V3",
            };
            let fee = format!("{}%", f64::from(pool.fee) / 10_000.0);
            text.push_str(&format!("\n  {kind} {:<9} {:<6} {}", pool.pair, fee, pool.address));
        }
    }
    text
}

/// What `aomi serve` needs of the chain: the sessions, and the devnet it started (kept alive by the
/// caller; dropping it stops anvil).
pub struct ChainSetup {
    /// Every chat's provider.
    pub sessions: Arc<ChainSessions>,
    /// The devnet aomi started, if it did.
    #[expect(dead_code, reason = "held for its Drop, which stops anvil")]
    pub devnet: Option<Devnet>,
}

/// Builds the network registry (built-ins, the networks file, `AOMI_RPC_<NETWORK>`), starts the
/// devnet when asked (unless `AOMI_RPC_DEVNET` points elsewhere), and the chat sessions.
pub async fn chain_setup(
    networks_file: Option<&Path>,
    start_devnet: bool,
    default_network: Option<String>,
    capacity: Capacity,
) -> anyhow::Result<ChainSetup> {
    chain_setup_with_fork(networks_file, start_devnet, None, default_network, capacity).await
}

/// The RPC URL to fork and the registry's network it replaces: `fork` names a network (its first
/// RPC URL) or is an http(s) URL (the network whose chain id it answers, found later).
fn fork_origin(registry: &NetworkRegistry, fork: &str) -> anyhow::Result<(String, Option<String>)> {
    let fork = fork.trim();
    if fork.starts_with("http://") || fork.starts_with("https://") {
        return Ok((fork.to_owned(), None));
    }
    let network = registry.resolve(fork)?;
    let url = network
        .rpc_urls
        .first()
        .with_context(|| format!("{} has no RPC URL to fork: set {}", network.name, rpc_env_var(&network.name)))?;
    Ok((url.clone(), Some(network.name.clone())))
}

/// As [`chain_setup`], and with `fork` (a network's name or an RPC URL) runs anvil as a fork of
/// it: the forked network's RPC becomes the fork's, and it is the chats' default network.
pub async fn chain_setup_with_fork(
    networks_file: Option<&Path>,
    start_devnet: bool,
    fork: Option<&str>,
    default_network: Option<String>,
    capacity: Capacity,
) -> anyhow::Result<ChainSetup> {
    let mut registry = NetworkRegistry::builtin();
    if let Some(path) = networks_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        registry.merge_toml(&text).with_context(|| format!("in {}", path.display()))?;
    }
    registry.apply_env(|name| std::env::var(name).ok())?;
    if let Some(fork) = fork.filter(|f| !f.trim().is_empty()) {
        anyhow::ensure!(!start_devnet, "--fork and --devnet each start an anvil: use one");
        let (url, name) = fork_origin(&registry, fork)?;
        let devnet = Devnet::start_with(DevnetOptions::fork(&url)).await.context("cannot start the fork")?;
        let name = match name {
            Some(name) => name,
            None => registry.for_chain_id(devnet.chain_id()).map(|n| n.name.clone()).with_context(|| {
                format!("{url} answers chain id {}, which no configured network has", devnet.chain_id())
            })?,
        };
        registry.set_rpc_url(&name, devnet.url())?;
        tracing::info!(url = devnet.url(), origin = %url, network = %name, chain_id = devnet.chain_id(), "fork started");
        let default = default_network.unwrap_or_else(|| name.clone());
        let sessions = Arc::new(ChainSessions::with_capacity(registry, &default, capacity)?);
        // A fork of an aomi devnet carries its contracts and Uniswap at the same addresses.
        register_fork(&sessions, &devnet, &name).await;
        return Ok(ChainSetup { sessions, devnet: Some(devnet) });
    }
    let devnet_url_set = std::env::var(rpc_env_var(DEVNET)).is_ok_and(|v| !v.trim().is_empty());
    let devnet = if start_devnet && !devnet_url_set {
        let devnet = Devnet::start().await.context("cannot start the devnet")?;
        registry.set_rpc_url(DEVNET, devnet.url())?;
        tracing::info!(url = devnet.url(), chain_id = devnet.chain_id(), "devnet started\n{}", describe(&devnet));
        Some(devnet)
    } else {
        if start_devnet {
            tracing::info!("{} is set: using that devnet instead of starting one", rpc_env_var(DEVNET));
        }
        None
    };
    let default = default_network.unwrap_or_else(|| if start_devnet { DEVNET.into() } else { "ethereum".into() });
    let sessions = Arc::new(ChainSessions::with_capacity(registry, &default, capacity)?);
    if let Some(devnet) = &devnet {
        devnet.register_contracts(sessions.contracts())?;
        devnet.register_markets(sessions.markets());
    } else if devnet_url_set {
        register_running(&sessions).await;
    }
    Ok(ChainSetup { sessions, devnet })
}

/// A fork's aomi contracts, when its origin is an aomi devnet (USDC has code where `aomi devnet`
/// deploys it): a fork of a public network gets none (its curated token list stays).
async fn register_fork(sessions: &ChainSessions, devnet: &Devnet, name: &str) {
    use aomi_chain::alloy::providers::Provider;
    let provider = devnet.provider();
    let usdc = aomi_chain::devnet::DevnetContracts::deployed_by(aomi_chain::devnet::DEPLOYER).usdc;
    if !provider.get_code_at(usdc).await.is_ok_and(|code| !code.is_empty()) {
        return;
    }
    match aomi_chain::devnet::register_running_contracts(
        &provider,
        devnet.chain_id(),
        sessions.contracts(),
        sessions.markets(),
    )
    .await
    {
        Ok(found) => {
            tracing::info!(found, network = name, "the fork's origin is an aomi devnet: its contracts are known")
        }
        Err(error) => tracing::warn!(%error, "could not look for aomi's contracts on the fork"),
    }
}

/// The contracts of a devnet given by `AOMI_RPC_DEVNET`, when it is an `aomi devnet`: their ABIs
/// name them and decode their calls, events and custom errors. A devnet that does not answer is
/// only logged: the tools say so when used.
async fn register_running(sessions: &ChainSessions) {
    let found = async {
        let network = sessions.registry().resolve(DEVNET)?;
        let provider = aomi_chain::provider::connect(network, &aomi_chain::provider::http_client()?)?;
        aomi_chain::devnet::register_running_contracts(
            &provider,
            network.chain_id,
            sessions.contracts(),
            sessions.markets(),
        )
        .await
        .map_err(|e| aomi_chain::ChainError::Config(e.to_string()))
    };
    match found.await {
        Ok(0) => tracing::info!("the devnet has none of aomi's contracts"),
        Ok(found) => tracing::info!(found, "the devnet's contracts are known"),
        Err(error) => tracing::warn!(%error, "could not look for aomi's contracts on the devnet"),
    }
}
