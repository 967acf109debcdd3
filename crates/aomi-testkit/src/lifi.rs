//! The stub LI.FI aggregator API: `GET /v1/quote` (exact input, `fromAmount`) and `GET
//! /v1/quote/toAmount` (exact output, `toAmount`) on `127.0.0.1`, answered in LI.FI's own JSON,
//! so tests run aomi's real aggregator client over real HTTP.
//!
//! A quote is one LI.FI step: `type`, `id`, `tool`, `toolDetails {key, name, logoURI}`, `action
//! {fromChainId, toChainId, fromToken, toToken, fromAmount, slippage, fromAddress, toAddress}`,
//! `estimate {tool, approvalAddress, fromAmount, toAmount, toAmountMin, fromAmountUSD,
//! toAmountUSD, feeCosts, gasCosts, executionDuration}`, `includedSteps` and `transactionRequest
//! {from, to, chainId, data, value, gasPrice, gasLimit}` (hex `value`, `gasPrice`, `gasLimit`).
//! Tokens are `{address, chainId, symbol, decimals, name, priceUSD}`; the coin is the zero
//! address.
//!
//! Errors are LI.FI's: a missing or malformed parameter is HTTP 400 `{"message", "code": 1011}`;
//! a pair with no scripted [`LifiRoute`] is 404 with code 1002; with [`StubLifi::require_key`] set, a
//! request with another `x-lifi-api-key` is 401 with code 1010; [`StubLifi::fail_next`] answers
//! the next request with a status (429 carries `ratelimit-limit`, `ratelimit-remaining: 0` and
//! `ratelimit-reset`, with code 1005). Every request's query and key are recorded
//! ([`StubLifi::requests`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::served::Served;

/// The address the stub's transactions and approvals name when a route gives none (LI.FI's
/// diamond on Ethereum).
pub const STUB_LIFI_DIAMOND: &str = "0x1231DEB6f5749EF6cE6943a275A1D3E7486F4EaE";

/// What `ratelimit-reset` says on a scripted 429, in seconds.
pub const STUB_RATE_LIMIT_RESET_SECS: u64 = 3600;

/// A scripted route for one pair on one chain: the stub quotes `amount_out = amount_in *
/// rate_numerator / rate_denominator` (rounded down; an exact output's input rounded up).
#[derive(Debug, Clone, PartialEq)]
pub struct LifiRoute {
    /// The token sold (`0x…`, the zero address for the coin).
    pub from_token: String,
    /// Its symbol.
    pub from_symbol: String,
    /// Its decimals.
    pub from_decimals: u8,
    /// Its USD price per whole token.
    pub from_price_usd: f64,
    /// The token bought.
    pub to_token: String,
    /// Its symbol.
    pub to_symbol: String,
    /// Its decimals.
    pub to_decimals: u8,
    /// Its USD price per whole token.
    pub to_price_usd: f64,
    /// Base units out per base unit in, as a fraction: numerator …
    pub rate_numerator: u128,
    /// … and denominator.
    pub rate_denominator: u128,
    /// The venues of the route, in order (each an included swap step).
    pub sources: Vec<String>,
    /// The transaction's target; default [`STUB_LIFI_DIAMOND`].
    pub transaction_to: Option<String>,
    /// The transaction's calldata (`0x…`); default a fixed selector and the amounts.
    pub transaction_data: Option<String>,
    /// The spender to approve; default the transaction's target.
    pub approval_address: Option<String>,
}

#[derive(Debug, Default)]
struct Scripted {
    routes: HashMap<(u64, String, String), LifiRoute>,
    fail: Vec<u16>,
    key: Option<String>,
    requests: Vec<LifiRequest>,
}

/// One request the stub received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifiRequest {
    /// `/v1/quote` or `/v1/quote/toAmount`.
    pub path: String,
    /// Its query parameters.
    pub query: BTreeMap<String, String>,
    /// Its `x-lifi-api-key`, if any.
    pub api_key: Option<String>,
}

type Shared = Arc<Mutex<Scripted>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Scripted> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stub LI.FI server. Stops when dropped.
#[derive(Debug)]
pub struct StubLifi {
    server: Served,
    shared: Shared,
}

impl StubLifi {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/quote", get(exact_in))
            .route("/v1/quote/toAmount", get(exact_out))
            .with_state(Arc::clone(&shared));
        let server = Served::start(app, "the stub LI.FI").await?;
        Ok(StubLifi { server, shared })
    }

    /// The base URL (`http://127.0.0.1:PORT`), for `AOMI_LIFI_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Scripts the route of `route.from_token` → `route.to_token` on `chain_id`.
    pub fn route(&self, chain_id: u64, route: LifiRoute) {
        let key = (chain_id, route.from_token.to_lowercase(), route.to_token.to_lowercase());
        lock(&self.shared).routes.insert(key, route);
    }

    /// Requires `x-lifi-api-key: key` on every request (401 otherwise).
    pub fn require_key(&self, key: &str) {
        lock(&self.shared).key = Some(key.to_owned());
    }

    /// Answers the next request with HTTP `status` (429 with LI.FI's rate-limit headers).
    pub fn fail_next(&self, status: u16) {
        lock(&self.shared).fail.push(status);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<LifiRequest> {
        lock(&self.shared).requests.clone()
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message, "code": code }))).into_response()
}

async fn exact_in(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    answer(&shared, &headers, q, false)
}

async fn exact_out(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    answer(&shared, &headers, q, true)
}

fn is_address(text: &str) -> bool {
    text.len() == 42 && text.starts_with("0x") && text[2..].chars().all(|c| c.is_ascii_hexdigit())
}

fn answer(shared: &Shared, headers: &HeaderMap, query: BTreeMap<String, String>, exact_output: bool) -> Response {
    let mut scripted = lock(shared);
    let api_key = headers.get("x-lifi-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = if exact_output { "/v1/quote/toAmount" } else { "/v1/quote" };
    scripted.requests.push(LifiRequest { path: path.into(), query: query.clone(), api_key: api_key.clone() });
    if !scripted.fail.is_empty() {
        let status = scripted.fail.remove(0);
        return match status {
            429 => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("ratelimit-limit", "75".to_owned()),
                    ("ratelimit-remaining", "0".to_owned()),
                    ("ratelimit-reset", STUB_RATE_LIMIT_RESET_SECS.to_string()),
                ],
                axum::Json(json!({
                    "message": "Rate limit exceeded. The limit resets in 1 hour. Request a higher limit with an API key.",
                    "code": 1005
                })),
            )
                .into_response(),
            status => error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                1006,
                "Internal server error",
            ),
        };
    }
    if let Some(required) = &scripted.key
        && api_key.as_deref() != Some(required.as_str())
    {
        return error(StatusCode::UNAUTHORIZED, 1010, "Invalid API key");
    }
    let amount_key = if exact_output { "toAmount" } else { "fromAmount" };
    for key in ["fromChain", "toChain", "fromToken", "toToken", "fromAddress", amount_key] {
        if query.get(key).is_none_or(|v| v.is_empty()) {
            return error(StatusCode::BAD_REQUEST, 1011, &format!("request/query must have required property '{key}'"));
        }
    }
    let get = |key: &str| query.get(key).cloned().unwrap_or_default();
    let (Ok(from_chain), Ok(to_chain)) = (get("fromChain").parse::<u64>(), get("toChain").parse::<u64>()) else {
        return error(
            StatusCode::BAD_REQUEST,
            1011,
            "request/query/fromChain must be equal to one of the allowed values",
        );
    };
    for key in ["fromToken", "toToken", "fromAddress"] {
        if !is_address(&get(key)) {
            return error(StatusCode::BAD_REQUEST, 1011, &format!("request/query/{key} must be a valid address"));
        }
    }
    let Some(amount) = get(amount_key).parse::<u128>().ok().filter(|a| *a > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            1011,
            &format!("request/query/{amount_key} must match pattern \"^[1-9][0-9]*$\""),
        );
    };
    let slippage = match query.get("slippage") {
        None => 0.005,
        Some(s) => match s.parse::<f64>() {
            Ok(s) if (0.0..1.0).contains(&s) => s,
            _ => return error(StatusCode::BAD_REQUEST, 1011, "request/query/slippage must be <= 1"),
        },
    };
    let key = (from_chain, get("fromToken").to_lowercase(), get("toToken").to_lowercase());
    let route = match scripted.routes.get(&key) {
        Some(route) if from_chain == to_chain => route.clone(),
        _ => return error(StatusCode::NOT_FOUND, 1002, "No available quotes for the requested transfer"),
    };
    let (num, den) = (route.rate_numerator, route.rate_denominator.max(1));
    let (from_amount, to_amount) = if exact_output {
        (amount.saturating_mul(den).div_ceil(num.max(1)), amount)
    } else {
        (amount, amount.saturating_mul(num) / den)
    };
    // In millionths, rounded down, as LI.FI's minimum is.
    let slippage_ppm = (slippage * 1_000_000.0).round() as u128;
    let to_amount_min = to_amount.saturating_mul(1_000_000 - slippage_ppm.min(1_000_000)) / 1_000_000;
    let usd =
        |amount: u128, decimals: u8, price: f64| format!("{:.4}", amount as f64 / 10f64.powi(decimals.into()) * price);
    let to = route.transaction_to.clone().unwrap_or_else(|| STUB_LIFI_DIAMOND.into());
    let approval = route.approval_address.clone().unwrap_or_else(|| to.clone());
    let native_in = route.from_token.trim_start_matches("0x").chars().all(|c| c == '0');
    let value = if native_in { format!("{from_amount:#x}") } else { "0x0".into() };
    let data =
        route.transaction_data.clone().unwrap_or_else(|| format!("0x4630a0d8{from_amount:064x}{to_amount_min:064x}"));
    let token = |address: &str, symbol: &str, decimals: u8, price: f64| json!({ "address": address, "chainId": from_chain, "symbol": symbol, "decimals": decimals, "name": symbol, "coinKey": symbol, "logoURI": "", "priceUSD": price.to_string() });
    let from_token = token(&route.from_token, &route.from_symbol, route.from_decimals, route.from_price_usd);
    let to_token = token(&route.to_token, &route.to_symbol, route.to_decimals, route.to_price_usd);
    let from_usd = usd(from_amount, route.from_decimals, route.from_price_usd);
    let to_usd = usd(to_amount, route.to_decimals, route.to_price_usd);
    let tool_key =
        route.sources.first().map(|s| s.to_lowercase().replace(' ', "")).unwrap_or_else(|| "lifidexaggregator".into());
    let details = |name: &str| json!({ "key": name.to_lowercase().replace(' ', ""), "name": name, "logoURI": "" });
    let action = json!({
        "fromChainId": from_chain,
        "toChainId": to_chain,
        "fromToken": from_token,
        "toToken": to_token,
        "fromAmount": from_amount.to_string(),
        "slippage": slippage,
        "fromAddress": get("fromAddress"),
        "toAddress": query.get("toAddress").cloned().unwrap_or_else(|| get("fromAddress")),
    });
    let included: Vec<Value> = route
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            json!({
                "id": format!("stub-step-{i}"),
                "type": "swap",
                "tool": source.to_lowercase().replace(' ', ""),
                "toolDetails": details(source),
                "action": action,
                "estimate": { "tool": source.to_lowercase().replace(' ', ""), "fromAmount": from_amount.to_string(), "toAmount": to_amount.to_string(), "toAmountMin": to_amount_min.to_string(), "approvalAddress": approval, "executionDuration": 30 },
            })
        })
        .collect();
    let step = json!({
        "type": "lifi",
        "id": "stub-quote",
        "tool": tool_key,
        "toolDetails": details(route.sources.first().map_or("LI.FI DEX Aggregator", String::as_str)),
        "action": action,
        "estimate": {
            "tool": tool_key,
            "approvalAddress": approval,
            "fromAmount": from_amount.to_string(),
            "toAmount": to_amount.to_string(),
            "toAmountMin": to_amount_min.to_string(),
            "fromAmountUSD": from_usd,
            "toAmountUSD": to_usd,
            "feeCosts": [],
            "gasCosts": [{ "type": "SEND", "price": "1000000000", "estimate": "200000", "limit": "260000", "amount": "200000000000000", "amountUSD": "0.60", "token": token("0x0000000000000000000000000000000000000000", "ETH", 18, 3000.0) }],
            "executionDuration": 30,
        },
        "includedSteps": included,
        "integrator": get("integrator"),
        "transactionRequest": {
            "from": get("fromAddress"),
            "to": to,
            "chainId": from_chain,
            "data": data,
            "value": value,
            "gasPrice": "0x3b9aca00",
            "gasLimit": "0x3f7a0",
        },
    });
    axum::Json(step).into_response()
}
