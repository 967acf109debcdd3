//! The local devnet: Foundry's anvil, with the project's contracts deployed.
//!
//! [`Devnet::start`] spawns anvil on a free port of 127.0.0.1, waits until it answers, deploys
//! `contracts/` (two ERC20s, a WETH-like wrapper, the struct-taking `OrderBook`, the `Reverter`),
//! mints tokens to the dev accounts, and stops anvil when dropped, or when the process ends in any
//! other way (anvil runs under a watchdog shell that stops it once aomi's end of a pipe closes).
//! `aomi devnet`, `aomi serve --devnet` and the tests all use it.
//!
//! It lives here rather than in aomi-testkit because the binary needs it too (`aomi devnet`), and
//! aomi-testkit is a dev-dependency that stays free of alloy. anvil is spawned by aomi rather than
//! through alloy's `node-bindings`: aomi never needs a key, it sends from anvil's unlocked accounts.
//!
//! With [`DevnetOptions::fork_url`] anvil runs as a fork of another network's RPC (`--fork-url`):
//! the origin's state and chain id, nothing deployed, and what is sent to the fork stays there.
//!
//! anvil comes from the npm package `@foundry-rs/anvil` in `tools/` (`npm install --prefix tools`);
//! `AOMI_ANVIL_BIN` points at another binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use serde::Serialize;

use crate::contracts::{Artifact, IERC20};
use crate::dex::{DevnetToken, Dex};
use crate::network::{DEVNET, DEVNET_CHAIN_ID, Network, NetworkRegistry};
use crate::session::{KnownContract, KnownContracts};

/// The command that installs anvil, for error messages.
pub const INSTALL_HINT: &str = "npm install --prefix tools";

/// How long anvil may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the devnet could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// No anvil binary was found.
    #[error(
        "anvil is not installed: run `{INSTALL_HINT}` in the aomi repository (it installs @foundry-rs/anvil), \
         or set AOMI_ANVIL_BIN to an anvil binary"
    )]
    AnvilMissing,
    /// anvil could not be started.
    #[error("cannot start anvil ({path}): {reason}")]
    Spawn {
        /// The binary.
        path: String,
        /// Why.
        reason: String,
    },
    /// anvil started but never said where it listens.
    #[error("anvil did not start listening: {0}")]
    NotListening(String),
    /// Deploying a contract failed.
    #[error("deploying {contract} on the devnet failed: {reason}")]
    Deploy {
        /// The contract.
        contract: String,
        /// Why.
        reason: String,
    },
    /// Sending a transaction as the wallet failed (see [`crate::wallet_send`]).
    #[error("sending the transaction failed: {0}")]
    Send(String),
}

/// Where the devnet's contracts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetContracts {
    /// `USDC`, a TestToken with 6 decimals.
    pub usdc: Address,
    /// `DAI`, a TestToken with 18 decimals.
    pub dai: Address,
    /// `WETH`, a WrappedEther.
    pub weth: Address,
    /// The OrderBook (struct arguments, overloads).
    pub order_book: Address,
    /// The Reverter (custom errors, string reverts, panics).
    pub reverter: Address,
    /// A TestProxy (EIP-1967) whose implementation is the Reverter: found to be a proxy on chain,
    /// not from an artifact (it is left out of the known contracts on purpose).
    pub proxy: Address,
}

impl DevnetContracts {
    /// Where [`Devnet::start`] deploys the contracts on a fresh anvil: the first six contracts
    /// `deployer` creates.
    pub fn deployed_by(deployer: Address) -> Self {
        DevnetContracts {
            usdc: deployer.create(0),
            dai: deployer.create(1),
            weth: deployer.create(2),
            order_book: deployer.create(3),
            reverter: deployer.create(4),
            proxy: deployer.create(5),
        }
    }

    /// Each contract's address with its compiled artifact.
    fn artifacts(&self) -> Result<[(Address, Artifact); 5], DevnetError> {
        let artifact = |a: Result<Artifact, crate::ChainError>| a.map_err(|e| deploy_error("artifacts", e));
        Ok([
            (self.usdc, artifact(Artifact::test_token())?),
            (self.dai, artifact(Artifact::test_token())?),
            (self.weth, artifact(Artifact::wrapped_ether())?),
            (self.order_book, artifact(Artifact::order_book())?),
            (self.reverter, artifact(Artifact::reverter())?),
        ])
    }
}

/// anvil's first dev account, which deploys the devnet's contracts.
pub const DEPLOYER: Address = alloy::primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// Registers the contracts of a devnet aomi did not start itself (`AOMI_RPC_DEVNET` pointing at an
/// `aomi devnet`): each one whose code stands where `aomi devnet` deploys it, and its token list
/// and Uniswap in `markets`. Returns how many of the project's contracts were found.
pub async fn register_running_contracts(
    provider: &DynProvider,
    chain_id: u64,
    known: &KnownContracts,
    markets: &crate::tokens::Markets,
) -> Result<usize, DevnetError> {
    let mut found = 0;
    let contracts = DevnetContracts::deployed_by(DEPLOYER);
    let dex = Dex::running(provider, &contracts).await?;
    if let Some(dex) = &dex {
        dex.register(chain_id, known)?;
    }
    markets.add_devnet(chain_id, &Dex::tokens(&contracts), dex.map(|d| d.contracts));
    for (address, artifact) in contracts.artifacts()? {
        let code = provider.get_code_at(address).await.map_err(|e| DevnetError::NotListening(e.to_string()))?;
        // The same length: immutables (a token's decimals) change bytes of the code, not its length.
        if !code.is_empty() && code.len() == artifact.deployed_bytecode.len() {
            known.pin(chain_id, address, KnownContract::from(artifact));
            found += 1;
        }
    }
    Ok(found)
}

/// Settings of a devnet.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Its chain id.
    pub chain_id: u64,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The anvil binary; `None` finds it (see [`find_anvil`]).
    pub anvil: Option<PathBuf>,
    /// Also deploy Uniswap V2 and V3 with seeded pools ([`crate::dex`]).
    pub dex: bool,
    /// Fork this RPC URL instead of starting empty: anvil keeps the origin's state and chain id
    /// (`chain_id` is ignored), and nothing is deployed (`dex` is ignored).
    pub fork_url: Option<String>,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        DevnetOptions { chain_id: DEVNET_CHAIN_ID, port: 0, anvil: None, dex: true, fork_url: None }
    }
}

impl DevnetOptions {
    /// The devnet without Uniswap: the project's contracts only (faster, for tests that trade
    /// nothing).
    pub fn without_dex() -> Self {
        DevnetOptions { dex: false, ..Self::default() }
    }

    /// A fork of the network at `rpc_url`.
    pub fn fork(rpc_url: impl Into<String>) -> Self {
        DevnetOptions { fork_url: Some(rpc_url.into()), dex: false, ..Self::default() }
    }
}

/// Tokens every dev account holds after deployment, in whole tokens.
pub const MINTED_TOKENS: u64 = 1_000_000;
/// Dev accounts that receive tokens.
const FUNDED_ACCOUNTS: usize = 5;

/// A running anvil with the project's contracts. Killed when dropped.
#[derive(Debug)]
pub struct Devnet {
    child: Child,
    url: url::Url,
    chain_id: u64,
    accounts: Vec<Address>,
    contracts: DevnetContracts,
    dex: Option<Dex>,
    fork_url: Option<String>,
}

impl Devnet {
    /// Starts a devnet with the default options (chain id 31337, a free port).
    pub async fn start() -> Result<Self, DevnetError> {
        Self::start_with(DevnetOptions::default()).await
    }

    /// Starts a devnet.
    pub async fn start_with(options: DevnetOptions) -> Result<Self, DevnetError> {
        let path = match options.anvil {
            Some(path) => path,
            None => find_anvil().ok_or(DevnetError::AnvilMissing)?,
        };
        let fork = options.fork_url.clone();
        let (child, url) =
            tokio::task::spawn_blocking(move || spawn_anvil(&path, options.chain_id, options.port, fork.as_deref()))
                .await
                .map_err(|e| DevnetError::NotListening(e.to_string()))??;
        let mut devnet = Devnet {
            child,
            url,
            chain_id: options.chain_id,
            accounts: Vec::new(),
            contracts: DevnetContracts {
                usdc: Address::ZERO,
                dai: Address::ZERO,
                weth: Address::ZERO,
                order_book: Address::ZERO,
                reverter: Address::ZERO,
                proxy: Address::ZERO,
            },
            dex: None,
            fork_url: options.fork_url.clone(),
        };
        // On error the devnet is dropped here, which stops anvil.
        if options.fork_url.is_some() {
            devnet.accounts = devnet.wait_ready().await?;
            devnet.chain_id =
                devnet.provider().get_chain_id().await.map_err(|e| DevnetError::NotListening(e.to_string()))?;
            tracing::info!(url = devnet.url(), chain_id = devnet.chain_id, "fork ready");
            return Ok(devnet);
        }
        devnet.deploy().await?;
        if options.dex {
            let started = std::time::Instant::now();
            devnet.dex = Some(Dex::deploy(&devnet.provider(), &devnet.contracts).await?);
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "Uniswap deployed on the devnet");
        }
        Ok(devnet)
    }

    /// The RPC URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        // `Url` keeps the trailing slash of an empty path; the RPC URL is the origin.
        self.url.as_str().trim_end_matches('/')
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// anvil's dev accounts: unlocked, 10000 ETH each, the first five holding tokens.
    pub fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    /// The deployed contracts.
    pub fn contracts(&self) -> &DevnetContracts {
        &self.contracts
    }

    /// The RPC URL this devnet forks, if it is a fork (its contracts are then the origin's, and
    /// [`Devnet::contracts`] holds zero addresses).
    pub fn fork_url(&self) -> Option<&str> {
        self.fork_url.as_deref()
    }

    /// Uniswap, when deployed ([`DevnetOptions::dex`]).
    pub fn dex(&self) -> Option<&Dex> {
        self.dex.as_ref()
    }

    /// The tokens of the devnet's token list.
    pub fn tokens(&self) -> Vec<DevnetToken> {
        Dex::tokens(&self.contracts)
    }

    /// This devnet as a network named `name`.
    pub fn network(&self, name: &str) -> Network {
        let mut network = NetworkRegistry::builtin().by_name(DEVNET).cloned().unwrap_or_else(|| Network {
            name: DEVNET.into(),
            chain_id: DEVNET_CHAIN_ID,
            rpc_urls: Vec::new(),
            native: crate::network::NativeCurrency { name: "Ether".into(), symbol: "ETH".into(), decimals: 18 },
            explorer: None,
            ens: false,
            testnet: true,
        });
        network.name = name.to_owned();
        network.chain_id = self.chain_id;
        network.rpc_urls = vec![self.url().to_owned()];
        network
    }

    /// A provider that sends from the unlocked dev accounts (anvil signs): what a test uses to
    /// play the wallet. It fills gas, nonce and chain id.
    pub fn provider(&self) -> DynProvider {
        ProviderBuilder::new().connect_http(self.url.clone()).erased()
    }

    /// Sends `tx` from an unlocked dev account as a wallet would, with a wallet's margin on the
    /// gas estimate, and returns its receipt (see [`crate::wallet_send`]).
    pub async fn send_as_wallet(
        &self,
        tx: TransactionRequest,
    ) -> Result<alloy::rpc::types::TransactionReceipt, DevnetError> {
        crate::wallet_send::send_as_wallet(&self.provider(), tx).await
    }

    /// Records the devnet's tokens and Uniswap in `markets`.
    pub fn register_markets(&self, markets: &crate::tokens::Markets) {
        markets.add_devnet(self.chain_id, &self.tokens(), self.dex.as_ref().map(|d| d.contracts));
    }

    /// Records the ABIs of the deployed contracts in `known`.
    pub fn register_contracts(&self, known: &KnownContracts) -> Result<(), DevnetError> {
        for (address, artifact) in self.contracts.artifacts()? {
            known.pin(self.chain_id, address, KnownContract::from(artifact));
        }
        if let Some(dex) = &self.dex {
            dex.register(self.chain_id, known)?;
        }
        Ok(())
    }

    /// anvil's dev accounts, once it answers (it prints its address just before it does).
    async fn wait_ready(&self) -> Result<Vec<Address>, DevnetError> {
        let provider = self.provider();
        let mut waited = Duration::ZERO;
        loop {
            match provider.get_accounts().await {
                Ok(accounts) => return Ok(accounts),
                Err(error) if waited >= START_TIMEOUT => return Err(DevnetError::NotListening(error.to_string())),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    waited += Duration::from_millis(50);
                }
            }
        }
    }

    async fn deploy(&mut self) -> Result<(), DevnetError> {
        let provider = self.provider();
        let accounts = self.wait_ready().await?;
        let deployer = *accounts.first().ok_or_else(|| DevnetError::NotListening("anvil has no accounts".into()))?;
        let token = Artifact::test_token().map_err(|e| deploy_error("TestToken", e))?;
        let usdc_args = ("USD Coin".to_owned(), "USDC".to_owned(), U256::from(6u8)).abi_encode_params();
        let dai_args = ("Dai Stablecoin".to_owned(), "DAI".to_owned(), U256::from(18u8)).abi_encode_params();
        let usdc = deploy(&provider, deployer, "USDC", &token.bytecode, &usdc_args).await?;
        let dai = deploy(&provider, deployer, "DAI", &token.bytecode, &dai_args).await?;
        let weth = Artifact::wrapped_ether().map_err(|e| deploy_error("WrappedEther", e))?;
        let weth = deploy(&provider, deployer, "WrappedEther", &weth.bytecode, &[]).await?;
        let order_book = Artifact::order_book().map_err(|e| deploy_error("OrderBook", e))?;
        let order_book = deploy(&provider, deployer, "OrderBook", &order_book.bytecode, &[]).await?;
        let reverter = Artifact::reverter().map_err(|e| deploy_error("Reverter", e))?;
        let reverter = deploy(&provider, deployer, "Reverter", &reverter.bytecode, &[]).await?;
        let proxy = Artifact::test_proxy().map_err(|e| deploy_error("TestProxy", e))?;
        let proxy = deploy(&provider, deployer, "TestProxy", &proxy.bytecode, &reverter.abi_encode()).await?;

        for (token, decimals) in [(usdc, 6u8), (dai, 18u8)] {
            let amount = U256::from(MINTED_TOKENS) * U256::from(10u8).pow(U256::from(decimals));
            for holder in accounts.iter().take(FUNDED_ACCOUNTS) {
                let data = IERC20::mintCall { to: *holder, amount }.abi_encode();
                send(&provider, TransactionRequest::default().from(deployer).to(token).input(data.into()), "mint")
                    .await?;
            }
        }
        self.accounts = accounts;
        self.contracts = DevnetContracts { usdc, dai, weth, order_book, reverter, proxy };
        tracing::info!(url = self.url(), chain_id = self.chain_id, contracts = ?self.contracts, "devnet ready");
        Ok(())
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        stop_anvil(&mut self.child);
    }
}

fn deploy_error(contract: &str, reason: impl std::fmt::Display) -> DevnetError {
    DevnetError::Deploy { contract: contract.to_owned(), reason: reason.to_string() }
}

async fn deploy(
    provider: &DynProvider,
    from: Address,
    name: &str,
    bytecode: &Bytes,
    args: &[u8],
) -> Result<Address, DevnetError> {
    let code: Vec<u8> = bytecode.iter().chain(args).copied().collect();
    let request = TransactionRequest::default().from(from).with_deploy_code(code);
    let receipt = send(provider, request, name).await?;
    receipt.contract_address.ok_or_else(|| deploy_error(name, "no contract address in the receipt"))
}

async fn send(
    provider: &DynProvider,
    request: TransactionRequest,
    what: &str,
) -> Result<alloy::rpc::types::TransactionReceipt, DevnetError> {
    crate::dex::deploy::send(provider, request, what).await
}

/// Runs anvil (`$0 "$@"`) for as long as its standard input stays open: when aomi ends in any
/// way, even killed by SIGKILL, the pipe closes, `read` returns and the shell stops anvil. (A
/// parent-death signal would need unsafe code, which the workspace forbids.) Exit code 127 when
/// anvil is not there.
const WATCHDOG: &str = r#"command -v "$0" >/dev/null 2>&1 || exit 127
"$0" "$@" &
pid=$!
read _ignored
kill "$pid" 2>/dev/null
wait "$pid""#;

/// Stops anvil: closing the watchdog's input makes it stop anvil, then it exits.
fn stop_anvil(child: &mut Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Spawns anvil and reads its output until it says where it listens.
fn spawn_anvil(
    path: &Path,
    chain_id: u64,
    port: u16,
    fork_url: Option<&str>,
) -> Result<(Child, url::Url), DevnetError> {
    let spawn_error = |reason: String| DevnetError::Spawn { path: path.display().to_string(), reason };
    let mut args = vec!["--host".to_owned(), "127.0.0.1".into(), "--port".into(), port.to_string()];
    match fork_url {
        // A fork keeps the origin's chain id, so wallets and token lists see the same network.
        Some(url) => args.extend(["--fork-url".to_owned(), url.to_owned()]),
        None => args.extend(["--chain-id".to_owned(), chain_id.to_string()]),
    }
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg(path)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(format!("cannot start sh: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| spawn_error("no stdout".into()))?;
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    // Keeps reading anvil's output for its whole life, so that a full pipe never blocks it.
    std::thread::spawn(move || {
        let mut announced = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !announced && let Some(address) = line.strip_prefix("Listening on ") {
                announced = true;
                let _ = tx.send(address.trim().to_owned());
            }
            tracing::trace!(target: "anvil", "{line}");
        }
    });
    if let Some(stderr) = stderr {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                tracing::debug!(target: "anvil", "{line}");
            }
        });
    }
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(address) => match format!("http://{address}").parse::<url::Url>() {
            Ok(url) => Ok((child, url)),
            Err(e) => {
                stop_anvil(&mut child);
                Err(DevnetError::NotListening(format!("anvil announced an odd address {address}: {e}")))
            }
        },
        Err(_) => {
            // Its output ended (it exited) or it never announced itself.
            let status = child.try_wait().ok().flatten();
            stop_anvil(&mut child);
            match status.or_else(|| child.try_wait().ok().flatten()) {
                Some(status) if status.code() == Some(127) => Err(spawn_error(format!("not found; {INSTALL_HINT}"))),
                Some(status) => Err(DevnetError::NotListening(format!("anvil exited with {status}"))),
                None => Err(DevnetError::NotListening(format!(
                    "no \"Listening on\" line within {} s",
                    START_TIMEOUT.as_secs()
                ))),
            }
        }
    }
}

/// The folders whose `tools/` may hold the project's node tools: the current directory and its
/// parents, then the repository this binary was built from and its parents.
pub(crate) fn tool_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        roots.extend(dir.ancestors().map(Path::to_path_buf));
    }
    if let Some(manifest) = option_env!("CARGO_MANIFEST_DIR") {
        roots.extend(Path::new(manifest).ancestors().map(Path::to_path_buf));
    }
    roots
}

/// Finds anvil: `AOMI_ANVIL_BIN`, else as [`find_foundry_tool`] does.
pub fn find_anvil() -> Option<PathBuf> {
    find_foundry_tool("anvil", "AOMI_ANVIL_BIN")
}

/// Finds a Foundry binary (`anvil`, `cast`): the path in `env_var`, else the native binary of its
/// npm package in `tools/` of the current directory or one of its parents (or of the repository
/// this binary was built from), else the package's `node_modules/.bin` wrapper, else `tool` on the
/// PATH. The native binary comes first: the node wrapper adds node's start-up to every run and
/// would survive being killed, leaving the tool running.
pub fn find_foundry_tool(tool: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let roots = tool_roots();
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-amd64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-amd64",
        ("macos", "aarch64") => "darwin-arm64",
        _ => "unsupported",
    };
    for root in &roots {
        let modules = root.join("tools").join("node_modules");
        let native = modules.join("@foundry-rs").join(format!("{tool}-{platform}")).join("bin").join(tool);
        if native.is_file() {
            return Some(native);
        }
        let wrapper = modules.join(".bin").join(tool);
        if wrapper.is_file() {
            return Some(wrapper);
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(tool)).find(|candidate| candidate.is_file()))
}
