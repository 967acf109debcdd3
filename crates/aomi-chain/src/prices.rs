//! Token prices in USD from DefiLlama's price API (no key): `GET {base}/prices/current/{coins}`,
//! answered with `{"coins": {"<coin>": {"price", "symbol", "timestamp", "confidence",
//! "decimals"?}}}`, a coin without a price left out. Coins are `<chain>:<address>` for a token
//! and `coingecko:<id>` for a coin.
//!
//! Answers (a price or "no price") are cached for [`PriceConfig::ttl`] (60 s by default), at most
//! [`PriceConfig::cache_entries`] of them. The base URL is configurable (`AOMI_DEFILLAMA_URL`),
//! which the tests point at `aomi_testkit::StubDefiLlama`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// DefiLlama's public price API.
pub const DEFAULT_BASE_URL: &str = "https://coins.llama.fi";

/// Settings of the price client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceConfig {
    /// The API's base URL.
    pub base_url: String,
    /// How long an answer is reused.
    pub ttl: Duration,
    /// How long a request may take.
    pub timeout: Duration,
    /// Answers kept at most.
    pub cache_entries: usize,
}

impl Default for PriceConfig {
    fn default() -> Self {
        PriceConfig {
            base_url: DEFAULT_BASE_URL.into(),
            ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            cache_entries: 1000,
        }
    }
}

impl PriceConfig {
    /// The defaults, with `AOMI_DEFILLAMA_URL` and `AOMI_PRICE_TTL_SECS` read from `env`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, PriceError> {
        let mut config = PriceConfig::default();
        if let Some(url) = env("AOMI_DEFILLAMA_URL").filter(|u| !u.trim().is_empty()) {
            config.base_url = url.trim().trim_end_matches('/').to_owned();
        }
        if let Some(ttl) = env("AOMI_PRICE_TTL_SECS").filter(|t| !t.trim().is_empty()) {
            let secs = ttl
                .trim()
                .parse::<u64>()
                .map_err(|_| PriceError::Config(format!("AOMI_PRICE_TTL_SECS must be whole seconds, got \"{ttl}\"")))?;
            config.ttl = Duration::from_secs(secs);
        }
        Ok(config)
    }
}

/// Why a price could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// HTTP 429.
    #[error("DefiLlama's price API is rate limiting aomi; try again in a minute")]
    RateLimited,
    /// Another HTTP error status.
    #[error("DefiLlama's price API answered HTTP {0}")]
    Http(u16),
    /// No answer (network, timeout).
    #[error("DefiLlama's price API did not answer: {0}")]
    Unreachable(String),
    /// An answer that is not its JSON.
    #[error("DefiLlama's price API answered something unexpected: {0}")]
    Malformed(String),
}

/// One price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// The coin asked (`ethereum:0x…`, `coingecko:ethereum`).
    pub coin: String,
    /// USD per whole token.
    pub usd: f64,
    /// The symbol DefiLlama knows it by.
    pub symbol: Option<String>,
    /// When the price was seen (unix seconds).
    pub timestamp: u64,
    /// DefiLlama's confidence in it, 0 to 1.
    pub confidence: Option<f64>,
}

#[derive(Deserialize)]
struct Answer {
    coins: HashMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    price: f64,
    #[serde(default)]
    symbol: Option<String>,
    timestamp: u64,
    #[serde(default)]
    confidence: Option<f64>,
}

/// The price client, with its cache.
#[derive(Debug)]
pub struct DefiLlama {
    http: reqwest::Client,
    config: PriceConfig,
    cache: Mutex<HashMap<String, (Instant, Option<Price>)>>,
}

impl DefiLlama {
    /// A client with `config`.
    pub fn new(config: PriceConfig) -> Result<Self, PriceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| PriceError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(DefiLlama { http, config, cache: Mutex::new(HashMap::new()) })
    }

    /// The USD price of `coin`, `None` when DefiLlama has none; from the cache when fresh.
    pub async fn price(&self, coin: &str) -> Result<Option<Price>, PriceError> {
        let key = coin.to_lowercase();
        if let Some((at, answer)) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
            && at.elapsed() < self.config.ttl
        {
            return Ok(answer.clone());
        }
        let url = format!("{}/prices/current/{coin}", self.config.base_url);
        let response =
            self.http.get(&url).send().await.map_err(|e| PriceError::Unreachable(e.without_url().to_string()))?;
        match response.status().as_u16() {
            200 => {}
            429 => return Err(PriceError::RateLimited),
            status => return Err(PriceError::Http(status)),
        }
        let answer: Answer = response.json().await.map_err(|e| PriceError::Malformed(e.without_url().to_string()))?;
        let price = answer.coins.into_iter().find(|(id, _)| id.eq_ignore_ascii_case(coin)).map(|(_, e)| Price {
            coin: coin.to_owned(),
            usd: e.price,
            symbol: e.symbol,
            timestamp: e.timestamp,
            confidence: e.confidence,
        });
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= self.config.cache_entries.max(1) {
            let ttl = self.config.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= self.config.cache_entries.max(1) {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), price.clone()));
        Ok(price)
    }
}

/// DefiLlama's name of a chain, for its token coins.
pub fn llama_chain(chain_id: u64) -> Option<&'static str> {
    Some(match chain_id {
        1 => "ethereum",
        10 => "optimism",
        137 => "polygon",
        8453 => "base",
        42161 => "arbitrum",
        _ => return None,
    })
}

/// The coin that prices an asset: `<chain>:<address>` for a token of a known chain, the CoinGecko
/// id for ETH and POL. On a devnet (an unknown chain) its USDC, DAI, WETH and ETH are priced as
/// their mainnet namesakes, which the second value says.
pub fn coin_for(chain_id: u64, address: Option<Address>, symbol: &str) -> Option<(String, Option<String>)> {
    let namesake = || -> Option<&'static str> {
        Some(match symbol.to_ascii_uppercase().as_str() {
            "ETH" | "WETH" => "coingecko:ethereum",
            "USDC" => "coingecko:usd-coin",
            "DAI" => "coingecko:dai",
            "POL" | "WPOL" => "coingecko:polygon-ecosystem-token",
            _ => return None,
        })
    };
    match (llama_chain(chain_id), address) {
        (Some(chain), Some(address)) => Some((format!("{chain}:{}", address.to_checksum(None)), None)),
        (Some(_), None) => namesake().map(|c| (c.to_owned(), None)),
        (None, _) => namesake().map(|c| {
            (c.to_owned(), Some(format!("a devnet token: priced as the mainnet {}", symbol.to_ascii_uppercase())))
        }),
    }
}
