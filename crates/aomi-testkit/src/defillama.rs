//! The stub DefiLlama price API: `GET /prices/current/{coins}` on `127.0.0.1`, in DefiLlama's own
//! JSON (`{"coins": {"ethereum:0x…": {"decimals", "symbol", "price", "timestamp",
//! "confidence"}}}`; a coin it has no price for is left out, as the real API does), so tests run
//! aomi's real price client over real HTTP.
//!
//! Prices are scripted per coin id ([`StubDefiLlama::price`]). [`StubDefiLlama::fail_next`]
//! answers the next request with an HTTP status (429 with `Retry-After`, 500). Every request's
//! coin list is recorded ([`StubDefiLlama::requests`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::served::Served;

/// The timestamp the stub's prices carry.
pub const STUB_PRICE_TIMESTAMP: u64 = 1_764_720_000;

#[derive(Debug, Default)]
struct Scripted {
    prices: HashMap<String, (f64, String, Option<u8>)>,
    fail: Vec<u16>,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Scripted>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Scripted> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stub DefiLlama server. Stops when dropped.
#[derive(Debug)]
pub struct StubDefiLlama {
    server: Served,
    shared: Shared,
}

impl StubDefiLlama {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Shared::default();
        let app = Router::new().route("/prices/current/{coins}", get(answer)).with_state(Arc::clone(&shared));
        let server = Served::start(app, "the stub DefiLlama").await?;
        Ok(StubDefiLlama { server, shared })
    }

    /// The base URL (`http://127.0.0.1:PORT`), for `AOMI_DEFILLAMA_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Prices `coin` (`ethereum:0x…` or `coingecko:ethereum`) at `price` USD; `decimals` for a
    /// token (a `coingecko:` coin has none).
    pub fn price(&self, coin: &str, symbol: &str, price: f64, decimals: Option<u8>) {
        lock(&self.shared).prices.insert(coin.to_lowercase(), (price, symbol.to_owned(), decimals));
    }

    /// Answers the next request with HTTP `status` (429 carries `Retry-After: 1`).
    pub fn fail_next(&self, status: u16) {
        lock(&self.shared).fail.push(status);
    }

    /// The coin list of every request so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared).requests.clone()
    }
}

async fn answer(State(shared): State<Shared>, Path(coins): Path<String>) -> Response {
    let mut scripted = lock(&shared);
    scripted.requests.push(coins.clone());
    if !scripted.fail.is_empty() {
        let status = scripted.fail.remove(0);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return (status, [("retry-after", "1")], "Too Many Requests").into_response();
        }
        return (status, "Internal Server Error").into_response();
    }
    let mut found = Map::new();
    for coin in coins.split(',') {
        if let Some((price, symbol, decimals)) = scripted.prices.get(&coin.to_lowercase()) {
            let mut entry = json!({
                "symbol": symbol,
                "price": price,
                "timestamp": STUB_PRICE_TIMESTAMP,
                "confidence": 0.99,
            });
            if let Some(decimals) = decimals {
                entry["decimals"] = json!(decimals);
            }
            found.insert(coin.to_owned(), entry);
        }
    }
    axum::Json(json!({ "coins": Value::Object(found) })).into_response()
}
