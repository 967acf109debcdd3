//! The block explorer: Etherscan's API V2, one base URL for every chain it indexes.
//!
//! One request, `GET <base>?chainid=<id>&module=contract&action=getsourcecode&address=…&apikey=…`,
//! answers a contract's verified source, ABI, name and proxy status. Etherscan answers HTTP 200 for
//! its own errors, with `status: "0"` and the reason in `result` ("Invalid API Key", "Max calls per
//! sec rate limit reached (5/sec)"), and an unverified contract is a *success* whose ABI field is
//! the text "Contract source code not verified": [`Etherscan::source_code`] turns each case into
//! its own [`ExplorerError`], so callers can cache "not verified" and retry only a rate limit.
//!
//! Configuration: `ETHERSCAN_API_KEY`, and `ETHERSCAN_BASE_URL` to point at another server (the
//! tests' stub).

use std::time::Duration;

use alloy::json_abi::JsonAbi;
use alloy::primitives::Address;
use serde::Deserialize;
use serde_json::Value;

/// Etherscan's API V2 endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.etherscan.io/v2/api";

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "ETHERSCAN_API_KEY";

/// The environment variable that replaces [`DEFAULT_BASE_URL`].
pub const BASE_URL_ENV: &str = "ETHERSCAN_BASE_URL";

/// The ABI text Etherscan gives for a contract without verified source.
const NOT_VERIFIED: &str = "Contract source code not verified";

/// How to reach the explorer.
#[derive(Clone)]
pub struct EtherscanConfig {
    /// The API key; without one every lookup fails with [`ExplorerError::NoApiKey`].
    pub api_key: Option<String>,
    /// The API V2 endpoint (`…/v2/api`).
    pub base_url: String,
    /// The longest a request may take, connection included.
    pub timeout: Duration,
    /// How many times a rate-limited request is sent again.
    pub rate_limit_retries: u32,
    /// The wait before the first retry; it doubles for each further one. The free tier allows a
    /// few calls per second, so a second is enough to get a new slot.
    pub retry_delay: Duration,
}

impl std::fmt::Debug for EtherscanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself: configurations end up in logs.
        f.debug_struct("EtherscanConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("base_url", &crate::network::redact_url(&self.base_url))
            .field("timeout", &self.timeout)
            .field("rate_limit_retries", &self.rate_limit_retries)
            .field("retry_delay", &self.retry_delay)
            .finish()
    }
}

impl Default for EtherscanConfig {
    fn default() -> Self {
        EtherscanConfig {
            api_key: None,
            base_url: DEFAULT_BASE_URL.into(),
            timeout: Duration::from_secs(15),
            rate_limit_retries: 2,
            retry_delay: Duration::from_secs(1),
        }
    }
}

impl EtherscanConfig {
    /// The defaults with `ETHERSCAN_API_KEY` and `ETHERSCAN_BASE_URL` from the environment (empty
    /// values count as unset).
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut config = EtherscanConfig { api_key: var(API_KEY_ENV), ..Self::default() };
        if let Some(base_url) = var(BASE_URL_ENV) {
            config.base_url = base_url;
        }
        config
    }
}

/// Why a lookup failed. The text is fit for the user and the model, and never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplorerError {
    /// No API key is configured.
    #[error("no Etherscan API key is configured: set ETHERSCAN_API_KEY to look up contracts on the explorer")]
    NoApiKey,
    /// The contract's source is not verified on the explorer, so its ABI is unknown.
    #[error("{address} is not verified on Etherscan (chain {chain_id}): its ABI is unknown")]
    NotVerified {
        /// The chain id.
        chain_id: u64,
        /// The contract.
        address: Address,
    },
    /// Still rate limited after the retries.
    #[error("Etherscan is rate limiting aomi ({0}); try again in a few seconds")]
    RateLimited(String),
    /// The key was refused.
    #[error("Etherscan refused the API key ({0}): check ETHERSCAN_API_KEY")]
    InvalidKey(String),
    /// The explorer does not index this chain (a local devnet, a fork).
    #[error("Etherscan has no data for chain {chain_id}: {message}")]
    UnsupportedChain {
        /// The chain id asked for.
        chain_id: u64,
        /// Etherscan's words.
        message: String,
    },
    /// Any other error Etherscan reported.
    #[error("Etherscan answered an error: {0}")]
    Api(String),
    /// The explorer answered with an HTTP error status.
    #[error("Etherscan is not available (HTTP {0}); try again later")]
    Http(u16),
    /// No answer in time.
    #[error("Etherscan did not answer within {} s; try again later", .0.as_secs_f64())]
    Timeout(Duration),
    /// The request could not be sent (DNS, connection refused, TLS).
    #[error("Etherscan cannot be reached: {0}")]
    Unreachable(String),
    /// The answer is not what Etherscan sends.
    #[error("Etherscan's answer is malformed: {0}")]
    Malformed(String),
}

/// A verified contract as the explorer describes it.
#[derive(Debug, Clone)]
pub struct SourceCode {
    /// The contract's name.
    pub name: String,
    /// Its ABI, parsed.
    pub abi: JsonAbi,
    /// Its ABI as the JSON the explorer gave (kept as is in the contract database).
    pub abi_json: Value,
    /// The verified source (Solidity, or the standard JSON input).
    pub source: String,
    /// The implementation, when the explorer knows the contract is a proxy.
    pub implementation: Option<Address>,
}

/// Which list of an account [`Etherscan::account_list`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountList {
    /// `txlist`: the account's normal transactions (sent or received).
    Transactions,
    /// `tokentx`: the ERC20 transfers from or to the account.
    TokenTransfers,
}

/// Which page of an account's list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The page, from 1.
    pub number: u32,
    /// Entries per page (Etherscan's `offset`; it allows at most 10 000 in all).
    pub size: u32,
    /// The first block to look at.
    pub start_block: u64,
}

/// Splits a verified source into its files: Etherscan gives one Solidity text, a JSON object of
/// files (`{"A.sol": {"content": …}}`), or a standard JSON input wrapped in a second pair of
/// braces (`{{"language": …, "sources": {…}}}`). A single text is one file named after the
/// contract (`<name>.sol`).
pub fn source_files(name: &str, source: &str) -> Vec<(String, String)> {
    let text = source.trim();
    let json = if text.starts_with("{{") && text.ends_with("}}") { &text[1..text.len() - 1] } else { text };
    if json.starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(json)
    {
        let files = match object.get("sources") {
            Some(Value::Object(sources)) => sources.clone(),
            _ => object,
        };
        let listed: Vec<(String, String)> = files
            .into_iter()
            .filter_map(|(path, file)| Some((path, file.get("content")?.as_str()?.to_owned())))
            .collect();
        if !listed.is_empty() {
            return listed;
        }
    }
    let file = if name.is_empty() { "Contract.sol".to_owned() } else { format!("{name}.sol") };
    vec![(file, source.to_owned())]
}

/// The answer's envelope: `result` is an array on success, a text on error.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    message: String,
    result: Value,
}

/// One entry of `getsourcecode`'s result (other fields are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    #[serde(default)]
    source_code: String,
    #[serde(rename = "ABI")]
    abi: String,
    #[serde(default)]
    contract_name: String,
    #[serde(default)]
    proxy: String,
    #[serde(default)]
    implementation: String,
}

/// A client of Etherscan's API V2.
#[derive(Debug, Clone)]
pub struct Etherscan {
    http: reqwest::Client,
    config: EtherscanConfig,
}

impl Etherscan {
    /// A client with `config`.
    pub fn new(config: EtherscanConfig) -> Result<Self, ExplorerError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| ExplorerError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        Ok(Etherscan { http, config })
    }

    /// Whether an API key is configured.
    pub fn has_api_key(&self) -> bool {
        self.config.api_key.is_some()
    }

    /// The verified source of `address` on `chain_id`, retrying a rate limit.
    pub async fn source_code(&self, chain_id: u64, address: Address) -> Result<SourceCode, ExplorerError> {
        let mut delay = self.config.retry_delay;
        let mut retries = self.config.rate_limit_retries;
        loop {
            match self.source_code_once(chain_id, address).await {
                Err(ExplorerError::RateLimited(reason)) if retries > 0 => {
                    tracing::debug!(chain_id, %address, %reason, "Etherscan rate limit; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    retries -= 1;
                }
                other => return other,
            }
        }
    }

    async fn source_code_once(&self, chain_id: u64, address: Address) -> Result<SourceCode, ExplorerError> {
        let envelope = self
            .get(chain_id, &[("module", "contract"), ("action", "getsourcecode"), ("address", &address.to_string())])
            .await?;
        if envelope.status != "1" {
            return Err(api_error(chain_id, &envelope));
        }
        let entry = match envelope.result {
            Value::Array(mut entries) if !entries.is_empty() => entries.swap_remove(0),
            _ => return Err(ExplorerError::Malformed("`result` is not a non-empty array".into())),
        };
        let entry: Entry = serde_json::from_value(entry).map_err(|e| ExplorerError::Malformed(e.to_string()))?;
        if entry.abi.trim() == NOT_VERIFIED || entry.abi.trim().is_empty() {
            return Err(ExplorerError::NotVerified { chain_id, address });
        }
        let abi_json: Value = serde_json::from_str(&entry.abi)
            .map_err(|e| ExplorerError::Malformed(format!("the ABI is not JSON: {e}")))?;
        let abi: JsonAbi = serde_json::from_value(abi_json.clone())
            .map_err(|e| ExplorerError::Malformed(format!("the ABI is not an ABI: {e}")))?;
        // "Implementation" is filled for proxies only; an empty or zero address means none.
        let implementation = (entry.proxy == "1")
            .then(|| entry.implementation.trim().parse::<Address>().ok())
            .flatten()
            .filter(|a| !a.is_zero());
        Ok(SourceCode { name: entry.contract_name, abi, abi_json, source: entry.source_code, implementation })
    }

    /// A page of an account's transactions (`txlist`, [`AccountList::Transactions`]) or token
    /// transfers (`tokentx`, [`AccountList::TokenTransfers`]), newest first, from block
    /// `start_block` on, retrying a rate limit. Etherscan's "No transactions found" is an empty page.
    pub async fn account_list(
        &self,
        chain_id: u64,
        list: AccountList,
        address: Address,
        page: Page,
    ) -> Result<Vec<Value>, ExplorerError> {
        let mut delay = self.config.retry_delay;
        let mut retries = self.config.rate_limit_retries;
        loop {
            match self.account_list_once(chain_id, list, address, page).await {
                Err(ExplorerError::RateLimited(reason)) if retries > 0 => {
                    tracing::debug!(chain_id, %address, %reason, "Etherscan rate limit; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    retries -= 1;
                }
                other => return other,
            }
        }
    }

    async fn account_list_once(
        &self,
        chain_id: u64,
        list: AccountList,
        address: Address,
        page: Page,
    ) -> Result<Vec<Value>, ExplorerError> {
        let action = match list {
            AccountList::Transactions => "txlist",
            AccountList::TokenTransfers => "tokentx",
        };
        let (number, size, start) = (page.number.to_string(), page.size.to_string(), page.start_block.to_string());
        let envelope = self
            .get(
                chain_id,
                &[
                    ("module", "account"),
                    ("action", action),
                    ("address", &address.to_string()),
                    ("startblock", &start),
                    ("endblock", "99999999999"),
                    ("page", &number),
                    ("offset", &size),
                    ("sort", "desc"),
                ],
            )
            .await?;
        match (envelope.status.as_str(), envelope.result) {
            ("1", Value::Array(entries)) => Ok(entries),
            // No transactions is `status: "0"` with an empty list.
            ("0", Value::Array(entries)) if entries.is_empty() => Ok(Vec::new()),
            (_, result) => {
                Err(api_error(chain_id, &Envelope { status: envelope.status, message: envelope.message, result }))
            }
        }
    }

    /// One GET of the API with `params`, `chainid` and the key; the answer's envelope.
    async fn get(&self, chain_id: u64, params: &[(&str, &str)]) -> Result<Envelope, ExplorerError> {
        let key = self.config.api_key.as_deref().ok_or(ExplorerError::NoApiKey)?;
        let mut url = url::Url::parse(&self.config.base_url)
            .map_err(|e| ExplorerError::Unreachable(format!("{BASE_URL_ENV} is not a URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("chainid", &chain_id.to_string());
            for (name, value) in params {
                query.append_pair(name, value);
            }
            query.append_pair("apikey", key);
        }
        let response = self.http.get(url).send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExplorerError::Http(status.as_u16()));
        }
        let body = response.bytes().await.map_err(|e| self.transport(e))?;
        serde_json::from_slice(&body).map_err(|e| ExplorerError::Malformed(e.to_string()))
    }

    fn transport(&self, error: reqwest::Error) -> ExplorerError {
        if error.is_timeout() {
            ExplorerError::Timeout(self.config.timeout)
        } else {
            // reqwest's text names the URL, whose query holds the key.
            ExplorerError::Unreachable(error.without_url().to_string())
        }
    }
}

/// The error of a `status: "0"` answer, from its `result` text.
fn api_error(chain_id: u64, envelope: &Envelope) -> ExplorerError {
    let text = match &envelope.result {
        Value::String(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => envelope.message.clone(),
    };
    let lower = text.to_lowercase();
    if lower.contains("rate limit") {
        ExplorerError::RateLimited(text)
    } else if lower.contains("api key") || lower.contains("apikey") {
        ExplorerError::InvalidKey(text)
    } else if lower.contains("chainid") || lower.contains("chain id") {
        ExplorerError::UnsupportedChain { chain_id, message: text }
    } else {
        ExplorerError::Api(text)
    }
}
