//! Swap quotes on public networks from the LI.FI aggregator API (no key needed): `GET
//! {base}/v1/quote` for an exact input (`fromAmount`) and `GET {base}/v1/quote/toAmount` for an
//! exact output (`toAmount`), both with `fromChain`, `toChain`, `fromToken`, `toToken`,
//! `fromAddress` and `slippage` (a fraction: 0.005 is 0.5 %). The answer is one LI.FI "step":
//! the route (`toolDetails`, `includedSteps`), the amounts (`estimate.fromAmount`, `toAmount`,
//! `toAmountMin`, their USD values), the spender to approve (`estimate.approvalAddress`) and the
//! transaction to sign (`transactionRequest`, with hex `value`). Errors are `{"message",
//! "code"}` (1011 validation, 1002 no quote, 1010 unauthorized); a 429 carries `ratelimit-reset`
//! (seconds), `ratelimit-limit` and `ratelimit-remaining`.
//!
//! Why LI.FI rather than 0x: it answers without an API key (a key, `x-lifi-api-key`, only raises
//! the rate limit), so a fresh install quotes on public networks; it quotes exact outputs (0x's
//! v2 API sells exact inputs only); and it gives the USD value of both sides, from which the
//! quote's price impact is measured (0x v2 has no price impact field). See docs/defi.md.
//!
//! The base URL and key are configurable (`AOMI_LIFI_URL`, `AOMI_LIFI_API_KEY`), which the tests
//! point at `aomi_testkit::StubLifi`.

use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use serde::Deserialize;

/// LI.FI's public API.
pub const DEFAULT_BASE_URL: &str = "https://li.quest";

/// How LI.FI names a network's coin (ether on Ethereum, POL on Polygon).
pub const NATIVE_TOKEN: Address = Address::ZERO;

/// The header that carries the optional API key.
pub const API_KEY_HEADER: &str = "x-lifi-api-key";

/// Settings of the aggregator client.
#[derive(Clone, PartialEq, Eq)]
pub struct AggregatorConfig {
    /// The API's base URL, without `/v1`.
    pub base_url: String,
    /// The API key, sent as `x-lifi-api-key` when set (a higher rate limit; none is needed).
    pub api_key: Option<String>,
    /// How long a request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for AggregatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("AggregatorConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig { base_url: DEFAULT_BASE_URL.into(), api_key: None, timeout: Duration::from_secs(15) }
    }
}

impl AggregatorConfig {
    /// The defaults, with `AOMI_LIFI_URL`, `AOMI_LIFI_API_KEY` and `AOMI_LIFI_TIMEOUT_SECS` read
    /// from `env`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, AggregatorError> {
        let mut config = AggregatorConfig::default();
        let set = |key: &str| env(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(url) = set("AOMI_LIFI_URL") {
            config.base_url = url.trim_end_matches('/').to_owned();
        }
        config.api_key = set("AOMI_LIFI_API_KEY");
        if let Some(secs) = set("AOMI_LIFI_TIMEOUT_SECS") {
            let secs = secs.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                AggregatorError::Config(format!("AOMI_LIFI_TIMEOUT_SECS must be whole seconds above 0, got \"{secs}\""))
            })?;
            config.timeout = Duration::from_secs(secs);
        }
        Ok(config)
    }
}

/// Why the aggregator gave no quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregatorError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// HTTP 400: LI.FI rejected the request's parameters (code 1011).
    #[error("LI.FI rejected the request: {message}")]
    Invalid {
        /// LI.FI's message.
        message: String,
        /// LI.FI's error code.
        code: Option<u32>,
    },
    /// HTTP 401/403: the configured API key is wrong.
    #[error("LI.FI refused the API key (AOMI_LIFI_API_KEY): {0}")]
    Unauthorized(String),
    /// HTTP 404 (code 1002): no route for this pair and amount.
    #[error("LI.FI found no route for this swap: {0}")]
    NoRoute(String),
    /// HTTP 429.
    #[error(
        "LI.FI is rate limiting aomi{}: {message}",
        reset_secs.map(|s| format!(" (the limit resets in {s} s)")).unwrap_or_default()
    )]
    RateLimited {
        /// Seconds until the limit resets (`ratelimit-reset`), when given.
        reset_secs: Option<u64>,
        /// LI.FI's message.
        message: String,
    },
    /// Another HTTP error status.
    #[error("LI.FI answered HTTP {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// LI.FI's message, or the body.
        message: String,
    },
    /// No answer (network, timeout).
    #[error("LI.FI did not answer: {0}")]
    Unreachable(String),
    /// An answer that is not its JSON, or a quote for something other than what was asked.
    #[error("LI.FI answered something unexpected: {0}")]
    Malformed(String),
}

/// A quote asked of the aggregator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The chain (the same on both sides: a swap, not a bridge).
    pub chain_id: u64,
    /// The token sold; `None` for the network's coin.
    pub sell: Option<Address>,
    /// The token bought; `None` for the network's coin.
    pub buy: Option<Address>,
    /// The amount in base units: sold, or bought when `exact_output`.
    pub amount: U256,
    /// True when `amount` is what must be received.
    pub exact_output: bool,
    /// The wallet that signs and receives.
    pub from: Address,
    /// The slippage accepted, in basis points.
    pub slippage_bps: u32,
}

/// The transaction the aggregator built for the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorTransaction {
    /// The contract called (LI.FI's diamond).
    pub to: Address,
    /// The calldata.
    pub data: Bytes,
    /// Ether sent.
    pub value: U256,
    /// LI.FI's gas limit, when given.
    pub gas_limit: Option<U256>,
}

/// A quote from the aggregator.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatorQuote {
    /// The tool LI.FI routes through (`1inch`, `uniswap`, …), by name.
    pub tool: String,
    /// The venues of the route, in order (each included step's tool), without repeats.
    pub sources: Vec<String>,
    /// What is sold, in base units.
    pub amount_in: U256,
    /// What is bought, in base units (expected).
    pub amount_out: U256,
    /// The least bought at the slippage.
    pub minimum_out: U256,
    /// The USD value sold, when LI.FI knows it.
    pub amount_in_usd: Option<f64>,
    /// The USD value bought, when LI.FI knows it.
    pub amount_out_usd: Option<f64>,
    /// The spender the token sold must be approved to (`None` for the network's coin).
    pub approval_address: Option<Address>,
    /// The transaction to sign.
    pub transaction: AggregatorTransaction,
}

impl AggregatorQuote {
    /// How much less the output is worth than the input, in millionths, from LI.FI's USD values
    /// (fees and gas included); `None` without them.
    pub fn price_impact_ppm(&self) -> Option<u64> {
        let (sold, bought) = (self.amount_in_usd?, self.amount_out_usd?);
        if sold.is_nan() || sold <= 0.0 || !bought.is_finite() {
            return None;
        }
        let loss = ((sold - bought) / sold).max(0.0);
        // A fraction in [0, 1] times a million fits a u64.
        Some((loss.min(1.0) * crate::dex::quote::PPM as f64).round() as u64)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    #[serde(default)]
    tool: String,
    #[serde(default)]
    tool_details: Option<ToolDetails>,
    action: Action,
    estimate: Estimate,
    #[serde(default)]
    included_steps: Vec<IncludedStep>,
    #[serde(default)]
    transaction_request: Option<TransactionRequest>,
}

#[derive(Deserialize)]
struct ToolDetails {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    from_chain_id: u64,
    to_chain_id: u64,
    from_token: Token,
    to_token: Token,
}

#[derive(Deserialize)]
struct Token {
    address: Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Estimate {
    from_amount: String,
    to_amount: String,
    to_amount_min: String,
    #[serde(default)]
    approval_address: Option<Address>,
    #[serde(default, rename = "fromAmountUSD")]
    from_amount_usd: Option<String>,
    #[serde(default, rename = "toAmountUSD")]
    to_amount_usd: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncludedStep {
    #[serde(default)]
    tool: String,
    #[serde(default)]
    tool_details: Option<ToolDetails>,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionRequest {
    to: Address,
    data: Bytes,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    gas_limit: Option<String>,
    #[serde(default)]
    chain_id: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<u32>,
}

/// The LI.FI client.
#[derive(Debug)]
pub struct Lifi {
    http: reqwest::Client,
    config: AggregatorConfig,
}

impl Lifi {
    /// A client with `config`.
    pub fn new(config: AggregatorConfig) -> Result<Self, AggregatorError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| AggregatorError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Lifi { http, config })
    }

    /// The client's settings.
    pub fn config(&self) -> &AggregatorConfig {
        &self.config
    }

    /// A quote for `request`, with the transaction that executes it.
    pub async fn quote(&self, request: &QuoteRequest) -> Result<AggregatorQuote, AggregatorError> {
        let (path, amount_key) =
            if request.exact_output { ("/v1/quote/toAmount", "toAmount") } else { ("/v1/quote", "fromAmount") };
        let token = |t: Option<Address>| t.unwrap_or(NATIVE_TOKEN).to_checksum(None);
        let slippage = format!("{}", f64::from(request.slippage_bps) / 10_000.0);
        let query = [
            ("fromChain", request.chain_id.to_string()),
            ("toChain", request.chain_id.to_string()),
            ("fromToken", token(request.sell)),
            ("toToken", token(request.buy)),
            ("fromAddress", request.from.to_checksum(None)),
            (amount_key, request.amount.to_string()),
            ("slippage", slippage),
            ("integrator", "aomi".to_owned()),
        ];
        let url = url::Url::parse_with_params(&format!("{}{path}", self.config.base_url), &query).map_err(|e| {
            AggregatorError::Config(format!("the LI.FI URL {} is not a URL: {e}", self.config.base_url))
        })?;
        let mut http = self.http.get(url);
        if let Some(key) = &self.config.api_key {
            http = http.header(API_KEY_HEADER, key);
        }
        let response = http.send().await.map_err(|e| AggregatorError::Unreachable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            let header = |name: &str| {
                response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
            };
            let reset_secs = header("ratelimit-reset").or_else(|| header("retry-after"));
            let body = response.text().await.unwrap_or_default();
            let parsed: Option<ErrorBody> = serde_json::from_str(&body).ok();
            let code = parsed.as_ref().and_then(|b| b.code);
            let message =
                parsed.map(|b| b.message).filter(|m| !m.is_empty()).unwrap_or_else(|| body.chars().take(300).collect());
            return Err(match status {
                400 => AggregatorError::Invalid { message, code },
                401 | 403 => AggregatorError::Unauthorized(message),
                404 => AggregatorError::NoRoute(message),
                429 => AggregatorError::RateLimited { reset_secs, message },
                _ => AggregatorError::Http { status, message },
            });
        }
        let step: Step = response.json().await.map_err(|e| AggregatorError::Malformed(e.without_url().to_string()))?;
        parse_step(step, request)
    }
}

fn parse_step(step: Step, request: &QuoteRequest) -> Result<AggregatorQuote, AggregatorError> {
    let bad = |what: String| AggregatorError::Malformed(what);
    // The quote must be the swap asked: a different chain or token would be signed blind.
    let (action, want_in, want_out) =
        (&step.action, request.sell.unwrap_or(NATIVE_TOKEN), request.buy.unwrap_or(NATIVE_TOKEN));
    if action.from_chain_id != request.chain_id || action.to_chain_id != request.chain_id {
        return Err(bad(format!(
            "a quote from chain {} to {} when {} was asked",
            action.from_chain_id, action.to_chain_id, request.chain_id
        )));
    }
    if action.from_token.address != want_in || action.to_token.address != want_out {
        return Err(bad(format!(
            "a quote for {} → {} when {want_in} → {want_out} was asked",
            action.from_token.address, action.to_token.address
        )));
    }
    let amount =
        |name: &str, text: &str| text.parse::<U256>().map_err(|_| bad(format!("{name} \"{text}\" is not an amount")));
    let amount_in = amount("estimate.fromAmount", &step.estimate.from_amount)?;
    let amount_out = amount("estimate.toAmount", &step.estimate.to_amount)?;
    let minimum_out = amount("estimate.toAmountMin", &step.estimate.to_amount_min)?;
    let fixed = if request.exact_output { amount_out } else { amount_in };
    if fixed != request.amount {
        return Err(bad(format!("a quote for {fixed} when {} was asked", request.amount)));
    }
    let tx = step.transaction_request.ok_or_else(|| bad("no transactionRequest in the quote".into()))?;
    if tx.chain_id.is_some_and(|id| id != request.chain_id) {
        return Err(bad(format!("a transaction for chain {:?} when {} was asked", tx.chain_id, request.chain_id)));
    }
    let hex = |name: &str, text: &str| {
        U256::from_str_radix(text.trim_start_matches("0x"), if text.starts_with("0x") { 16 } else { 10 })
            .map_err(|_| bad(format!("transactionRequest.{name} \"{text}\" is not a number")))
    };
    let value = match tx.value.as_deref() {
        Some(v) if !v.is_empty() => hex("value", v)?,
        _ => U256::ZERO,
    };
    let gas_limit = tx.gas_limit.as_deref().map(|g| hex("gasLimit", g)).transpose()?;
    let name = |tool: &str, details: &Option<ToolDetails>| {
        details.as_ref().map(|d| d.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| tool.to_owned())
    };
    let mut sources: Vec<String> = Vec::new();
    for included in &step.included_steps {
        // Fee-collection steps are LI.FI's own bookkeeping, not a venue.
        if included.kind == "protocol" {
            continue;
        }
        let source = name(&included.tool, &included.tool_details);
        if !source.is_empty() && !sources.contains(&source) {
            sources.push(source);
        }
    }
    let tool = name(&step.tool, &step.tool_details);
    if sources.is_empty() && !tool.is_empty() {
        sources.push(tool.clone());
    }
    let usd = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<f64>().ok());
    let approval_address = if request.sell.is_some() {
        Some(step.estimate.approval_address.ok_or_else(|| bad("no estimate.approvalAddress for a token sold".into()))?)
    } else {
        None
    };
    Ok(AggregatorQuote {
        tool,
        sources,
        amount_in,
        amount_out,
        minimum_out,
        amount_in_usd: usd(&step.estimate.from_amount_usd),
        amount_out_usd: usd(&step.estimate.to_amount_usd),
        approval_address,
        transaction: AggregatorTransaction { to: tx.to, data: tx.data, value, gas_limit },
    })
}
