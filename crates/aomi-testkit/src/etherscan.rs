//! The stub Etherscan: the API V2 `getsourcecode`, `txlist` and `tokentx` actions on `127.0.0.1`,
//! in Etherscan's own JSON, so tests run aomi's real explorer client over real HTTP.
//!
//! An account's transactions ([`StubEtherscan::transactions`]) and token transfers
//! ([`StubEtherscan::token_transfers`]) are answered newest first (`sort=desc`) or oldest first,
//! a page of `offset` at a time, as Etherscan pages them; an account with none gets Etherscan's
//! `status: "0"`, "No transactions found" with an empty list. A verified contract's source may be
//! several files ([`ExplorerReply::verified_files`]), sent as Etherscan sends a standard JSON input:
//! the JSON text wrapped in a second pair of braces.
//!
//! Answers are scripted per chain and address ([`StubEtherscan::contract`]); an address with no
//! script is answered as Etherscan answers an unverified contract. One-shot answers queued with
//! [`StubEtherscan::then`] are used first, whatever the address: a rate limit, a refused key, an
//! HTTP 500, a slow answer. Every request is recorded ([`StubEtherscan::requests`]).
//!
//! ```no_run
//! use aomi_testkit::{ExplorerReply, StubEtherscan};
//! use serde_json::json;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let stub = StubEtherscan::start().await?;
//! let abi = json!([{ "type": "function", "name": "ping", "inputs": [], "outputs": [], "stateMutability": "view" }]);
//! stub.contract(1, "0x00000000000000000000000000000000000000aa", ExplorerReply::verified("Pinger", abi));
//! stub.then(ExplorerReply::RateLimited); // the next request, then the script
//! let base_url = stub.url(); // http://127.0.0.1:PORT/v2/api, for ETHERSCAN_BASE_URL
//! # let _ = base_url;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::served::Served;

/// The path of Etherscan's API V2.
pub const ETHERSCAN_PATH: &str = "/v2/api";

/// What the stub answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplorerReply {
    /// A verified contract.
    Verified {
        /// `ContractName`.
        name: String,
        /// The ABI (sent as a JSON text in `ABI`, as Etherscan does).
        abi: Value,
        /// `SourceCode`.
        source: String,
        /// `Implementation` of a proxy (`Proxy: "1"`); `None` for a plain contract.
        implementation: Option<String>,
    },
    /// `ABI: "Contract source code not verified"`, with status "1" as Etherscan sends it.
    NotVerified,
    /// `status: "0"`, "Max calls per sec rate limit reached (5/sec)".
    RateLimited,
    /// `status: "0"`, "Invalid API Key (#err2)|…".
    InvalidKey,
    /// `status: "0"` with this text in `result` (any other Etherscan error, such as
    /// "Missing or unsupported chainid parameter (required for v2 api)").
    Notok(String),
    /// An HTTP error status with a text body (a failing gateway).
    HttpError(u16),
    /// The inner answer after a delay.
    Slow(Duration, Box<ExplorerReply>),
}

impl ExplorerReply {
    /// A verified contract named `name` with `abi`.
    pub fn verified(name: &str, abi: Value) -> Self {
        ExplorerReply::Verified {
            name: name.into(),
            abi,
            source: format!("// SPDX-License-Identifier: MIT\ncontract {name} {{}}"),
            implementation: None,
        }
    }

    /// A verified contract whose source is several files (path, content), sent as Etherscan
    /// sends a standard JSON input: `{{ "language": "Solidity", "sources": {…}, "settings": {…} }}`.
    pub fn verified_files(name: &str, abi: Value, files: &[(&str, &str)]) -> Self {
        let sources: serde_json::Map<String, Value> =
            files.iter().map(|(path, content)| ((*path).to_owned(), json!({ "content": content }))).collect();
        let input = json!({
            "language": "Solidity",
            "sources": sources,
            "settings": { "optimizer": { "enabled": true, "runs": 200 }, "outputSelection": { "*": { "*": ["abi"] } } },
        });
        ExplorerReply::Verified { name: name.into(), abi, source: format!("{{{input}}}"), implementation: None }
    }

    /// The same verified contract, as a proxy to `implementation`.
    pub fn proxy_of(self, implementation: &str) -> Self {
        match self {
            ExplorerReply::Verified { name, abi, source, .. } => {
                ExplorerReply::Verified { name, abi, source, implementation: Some(implementation.to_lowercase()) }
            }
            other => other,
        }
    }
}

/// A request the stub received: its query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplorerRequest {
    /// Every query parameter.
    pub query: HashMap<String, String>,
}

impl ExplorerRequest {
    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// `chainid`, parsed.
    pub fn chain_id(&self) -> Option<u64> {
        self.param("chainid")?.parse().ok()
    }

    /// `address`, lower case.
    pub fn address(&self) -> Option<String> {
        self.param("address").map(str::to_lowercase)
    }
}

/// A transaction of an account, as `txlist` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTx {
    /// The block number.
    pub block: u64,
    /// The block's time (Unix seconds).
    pub timestamp: u64,
    /// The transaction hash.
    pub hash: String,
    /// The sender.
    pub from: String,
    /// The recipient (empty for a contract creation).
    pub to: String,
    /// The value in wei, decimal.
    pub value: String,
    /// The calldata, `0x…`.
    pub input: String,
    /// Whether it failed.
    pub failed: bool,
}

/// A token transfer, as `tokentx` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTransferTx {
    /// The transaction it is part of.
    pub tx: AccountTx,
    /// The token contract.
    pub token: String,
    /// Who sent the tokens.
    pub from: String,
    /// Who received them.
    pub to: String,
    /// The amount in base units, decimal.
    pub amount: String,
    /// `tokenName`.
    pub name: String,
    /// `tokenSymbol`.
    pub symbol: String,
    /// `tokenDecimal`.
    pub decimals: u8,
}

#[derive(Debug, Default)]
struct Scripted {
    contracts: HashMap<(u64, String), ExplorerReply>,
    transactions: HashMap<(u64, String), Vec<AccountTx>>,
    transfers: HashMap<(u64, String), Vec<TokenTransferTx>>,
    queue: VecDeque<ExplorerReply>,
    requests: Vec<ExplorerRequest>,
}

type Shared = Arc<Mutex<Scripted>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Scripted> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stub Etherscan server. Stops when dropped.
#[derive(Debug)]
pub struct StubEtherscan {
    server: Served,
    shared: Shared,
}

impl StubEtherscan {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Shared::default();
        let app = Router::new().route(ETHERSCAN_PATH, get(answer)).with_state(Arc::clone(&shared));
        let server = Served::start(app, "the stub Etherscan").await?;
        Ok(StubEtherscan { server, shared })
    }

    /// The API V2 endpoint: `http://127.0.0.1:PORT/v2/api`.
    pub fn url(&self) -> String {
        format!("http://{}{ETHERSCAN_PATH}", self.server.addr)
    }

    /// Answers `reply` for `address` (any case) on `chain_id`, every time.
    pub fn contract(&self, chain_id: u64, address: &str, reply: ExplorerReply) {
        lock(&self.shared).contracts.insert((chain_id, address.to_lowercase()), reply);
    }

    /// Lists `txs` as the transactions of `address` on `chain_id` (`txlist`), in any order: the
    /// stub sorts them by block as asked.
    pub fn transactions(&self, chain_id: u64, address: &str, txs: Vec<AccountTx>) {
        lock(&self.shared).transactions.insert((chain_id, address.to_lowercase()), txs);
    }

    /// Lists `transfers` as the token transfers of `address` on `chain_id` (`tokentx`).
    pub fn token_transfers(&self, chain_id: u64, address: &str, transfers: Vec<TokenTransferTx>) {
        lock(&self.shared).transfers.insert((chain_id, address.to_lowercase()), transfers);
    }

    /// Answers `reply` to the next request not yet answered by an earlier queued reply, before
    /// the per-address script.
    pub fn then(&self, reply: ExplorerReply) {
        lock(&self.shared).queue.push_back(reply);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<ExplorerRequest> {
        lock(&self.shared).requests.clone()
    }
}

async fn answer(State(shared): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Response {
    let request = ExplorerRequest { query };
    let key = (request.chain_id().unwrap_or_default(), request.address().unwrap_or_default());
    let action = (request.param("module"), request.param("action"));
    let (queued, reply, listing) = {
        let mut scripted = lock(&shared);
        scripted.requests.push(request.clone());
        let queued = scripted.queue.pop_front();
        let reply = scripted.contracts.get(&key).cloned().unwrap_or(ExplorerReply::NotVerified);
        let listing = match action {
            (Some("account"), Some("txlist")) => Some(
                scripted
                    .transactions
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|tx| (tx.block, tx_entry(tx)))
                    .collect(),
            ),
            (Some("account"), Some("tokentx")) => Some(
                scripted
                    .transfers
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|t| (t.tx.block, transfer_entry(t)))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        (queued, reply, listing)
    };
    if request.param("apikey").is_none_or(str::is_empty) {
        return notok("Missing/Invalid API Key").into_response();
    }
    if let Some(queued) = queued {
        return render(queued).await;
    }
    match (action, listing) {
        ((Some("contract"), Some("getsourcecode")), _) => render(reply).await,
        (_, Some(listing)) => list(&request, listing).into_response(),
        _ => notok("Error! Missing Or invalid Module name").into_response(),
    }
}

/// A page of an account's listing, as Etherscan pages it: sorted by block (`sort`), `offset`
/// entries from page `page` (1-based), within `startblock`..=`endblock`.
fn list(request: &ExplorerRequest, mut listing: Vec<(u64, Value)>) -> axum::Json<Value> {
    let number = |name: &str, default: u64| request.param(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(default);
    let (start, end) = (number("startblock", 0), number("endblock", u64::MAX));
    listing.retain(|(block, _)| (start..=end).contains(block));
    listing.sort_by_key(|(block, _)| *block);
    if request.param("sort") == Some("desc") {
        listing.reverse();
    }
    let offset = usize::try_from(number("offset", 10_000)).unwrap_or(usize::MAX).max(1);
    let page = usize::try_from(number("page", 1)).unwrap_or(1).max(1);
    let entries: Vec<Value> =
        listing.into_iter().skip((page - 1).saturating_mul(offset)).take(offset).map(|(_, e)| e).collect();
    if entries.is_empty() {
        return axum::Json(json!({ "status": "0", "message": "No transactions found", "result": [] }));
    }
    axum::Json(json!({ "status": "1", "message": "OK", "result": entries }))
}

/// One `txlist` entry with every field Etherscan sends.
fn tx_entry(tx: &AccountTx) -> Value {
    let method_id = if tx.input.len() >= 10 { &tx.input[..10] } else { "0x" };
    json!({
        "blockNumber": tx.block.to_string(),
        "timeStamp": tx.timestamp.to_string(),
        "hash": tx.hash,
        "nonce": "7",
        "blockHash": format!("0x{:064x}", tx.block),
        "transactionIndex": "3",
        "from": tx.from.to_lowercase(),
        "to": tx.to.to_lowercase(),
        "value": tx.value,
        "gas": "65000",
        "gasPrice": "1000000000",
        "isError": if tx.failed { "1" } else { "0" },
        "txreceipt_status": if tx.failed { "0" } else { "1" },
        "input": tx.input,
        "contractAddress": "",
        "cumulativeGasUsed": "4120000",
        "gasUsed": "52000",
        "confirmations": "1200",
        "methodId": method_id,
        "functionName": if method_id == "0xa9059cbb" { "transfer(address _to, uint256 _value)" } else { "" },
    })
}

/// One `tokentx` entry with every field Etherscan sends.
fn transfer_entry(transfer: &TokenTransferTx) -> Value {
    let tx = &transfer.tx;
    json!({
        "blockNumber": tx.block.to_string(),
        "timeStamp": tx.timestamp.to_string(),
        "hash": tx.hash,
        "nonce": "7",
        "blockHash": format!("0x{:064x}", tx.block),
        "from": transfer.from.to_lowercase(),
        "contractAddress": transfer.token.to_lowercase(),
        "to": transfer.to.to_lowercase(),
        "value": transfer.amount,
        "tokenName": transfer.name,
        "tokenSymbol": transfer.symbol,
        "tokenDecimal": transfer.decimals.to_string(),
        "transactionIndex": "3",
        "gas": "65000",
        "gasPrice": "1000000000",
        "gasUsed": "52000",
        "cumulativeGasUsed": "4120000",
        "input": "deprecated",
        "methodId": "0xa9059cbb",
        "functionName": "transfer(address _to, uint256 _value)",
        "confirmations": "1200",
    })
}

async fn render(mut reply: ExplorerReply) -> Response {
    while let ExplorerReply::Slow(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        ExplorerReply::Verified { name, abi, source, implementation } => {
            ok(entry(&source, &abi.to_string(), &name, implementation.as_deref())).into_response()
        }
        ExplorerReply::NotVerified => ok(entry("", "Contract source code not verified", "", None)).into_response(),
        ExplorerReply::RateLimited => notok("Max calls per sec rate limit reached (5/sec)").into_response(),
        ExplorerReply::InvalidKey => notok("Invalid API Key (#err2)|stub").into_response(),
        ExplorerReply::Notok(text) => notok(&text).into_response(),
        ExplorerReply::HttpError(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "<html><body>upstream error</body></html>").into_response()
        }
        ExplorerReply::Slow(..) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// One `getsourcecode` entry with every field Etherscan sends.
fn entry(source: &str, abi: &str, name: &str, implementation: Option<&str>) -> Value {
    json!({
        "SourceCode": source,
        "ABI": abi,
        "ContractName": name,
        "CompilerVersion": if name.is_empty() { "" } else { "v0.8.24+commit.e11b9ed9" },
        "OptimizationUsed": if name.is_empty() { "" } else { "1" },
        "Runs": if name.is_empty() { "" } else { "200" },
        "ConstructorArguments": "",
        "EVMVersion": "Default",
        "Library": "",
        "LicenseType": if name.is_empty() { "Unknown" } else { "MIT" },
        "Proxy": if implementation.is_some() { "1" } else { "0" },
        "Implementation": implementation.unwrap_or(""),
        "SwarmSource": "",
        "SimilarMatch": "",
    })
}

fn ok(entry: Value) -> axum::Json<Value> {
    axum::Json(json!({ "status": "1", "message": "OK", "result": [entry] }))
}

fn notok(result: &str) -> axum::Json<Value> {
    axum::Json(json!({ "status": "0", "message": "NOTOK", "result": result }))
}
