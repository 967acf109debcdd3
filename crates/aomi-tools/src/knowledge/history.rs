//! `get_transaction_history`: what an account did, newest first.
//!
//! Where Etherscan indexes the chain (and `ETHERSCAN_API_KEY` is set), the account's
//! transactions (`txlist`) and token transfers (`tokentx`) are read from Etherscan API V2, one
//! page of each, and kept briefly in the store ([`HistoryConfig::cache_ttl`]) so that a repeated
//! question does not spend the explorer's quota. On a chain with no explorer (the devnet, a fork,
//! or no key), the node is read instead: the last [`HistoryConfig::scan_blocks`] blocks are
//! scanned for the account's transactions, and `Transfer` logs for its token transfers, so that it
//! works offline; the output says how far back it looked.
//!
//! Each transaction's call is decoded with the contract database's ABIs (the called contract
//! looked up, at most [`HistoryConfig::decode_contracts`] per call), else as a plain ERC20 call;
//! token amounts come with their decimals and symbol (the explorer's, or read from the token).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aomi_chain::alloy::consensus::Transaction as _;
use aomi_chain::alloy::dyn_abi::JsonAbiExt;
use aomi_chain::alloy::eips::BlockNumberOrTag;
use aomi_chain::alloy::network::TransactionResponse as _;
use aomi_chain::alloy::primitives::{Address, B256, Bytes, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::Filter;
use aomi_chain::alloy::sol_types::{SolCall, SolEvent};
use aomi_chain::contracts::IERC20;
use aomi_chain::explorer::{AccountList, Page};
use aomi_chain::units::format_units;
use aomi_chain::{ChainSessions, Connection, ContractDb, Etherscan, ExplorerError};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Memory;
use crate::chain::{DecodedCall, NETWORK_ARGUMENT, connection, failed, resolve_address, short};

/// The devnet's chain id, which no explorer indexes.
const LOCAL_CHAIN: u64 = 31337;

/// The bounds of `get_transaction_history`.
#[derive(Debug, Clone, Copy)]
pub struct HistoryConfig {
    /// Entries when the model asks for no limit.
    pub default_limit: u32,
    /// The most entries one call returns.
    pub max_limit: u32,
    /// How many recent blocks the node fallback scans.
    pub scan_blocks: u64,
    /// How long an explorer answer is kept in the store.
    pub cache_ttl: Duration,
    /// The most called contracts looked up in the contract database per call.
    pub decode_contracts: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            default_limit: 10,
            max_limit: 50,
            scan_blocks: 500,
            cache_ttl: Duration::from_secs(60),
            decode_contracts: 8,
        }
    }
}

/// The arguments of `get_transaction_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// The account (0x address or ENS name); default: the connected wallet.
    #[serde(default)]
    pub address: Option<String>,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
    /// Only transactions at or after this date (YYYY-MM-DD, or an RFC 3339 time).
    #[serde(default)]
    pub since: Option<String>,
    /// How many transactions, newest first (default 10).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A token moved by a transaction.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TokenMove {
    /// The token contract.
    pub token: String,
    /// Its symbol, when known.
    #[schema(required = true)]
    pub symbol: Option<String>,
    /// Its decimals, when known.
    #[schema(required = true)]
    pub decimals: Option<u8>,
    /// The amount in base units (decimal string).
    pub raw: String,
    /// The amount with the decimals ("1.5"), when they are known.
    #[schema(required = true)]
    pub amount: Option<String>,
    /// Who sent it.
    pub from: String,
    /// Who got it.
    pub to: String,
}

/// One transaction of the account.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The transaction hash.
    pub hash: String,
    /// Its block.
    pub block: u64,
    /// The block's time (RFC 3339), when known.
    #[schema(required = true)]
    pub time: Option<String>,
    /// `out` (the account sent it), `in` (it received coin or tokens), `self`.
    pub direction: String,
    /// The sender.
    pub from: String,
    /// The called or paid address (`null` for a contract creation).
    #[schema(required = true)]
    pub to: Option<String>,
    /// Native coin sent, in wei.
    pub value_wei: String,
    /// The same with the coin's decimals and symbol ("0.5 ETH").
    pub value: String,
    /// The function called, when decoded ("transfer").
    #[schema(required = true)]
    pub method: Option<String>,
    /// The call decoded with its ABI.
    #[schema(required = true)]
    pub call: Option<DecodedCall>,
    /// Tokens it moved from or to the account.
    pub transfers: Vec<TokenMove>,
    /// True when it failed (reverted); `null` when unknown.
    #[schema(required = true)]
    pub failed: Option<bool>,
}

/// The blocks the node fallback read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScannedBlocks {
    /// The first (oldest) block read.
    pub first: u64,
    /// The last (newest) block read.
    pub last: u64,
}

/// The output of `get_transaction_history`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionHistory {
    /// The account.
    pub address: String,
    /// The network read.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// `etherscan`, or `node` (recent blocks scanned).
    pub source: String,
    /// The network's block explorer, for links (`<explorer>/tx/<hash>`).
    #[schema(required = true)]
    pub explorer: Option<String>,
    /// For `node`: the blocks scanned.
    #[schema(required = true)]
    pub scanned: Option<ScannedBlocks>,
    /// The transactions, newest first.
    pub entries: Vec<HistoryEntry>,
    /// True when more were found than `limit`.
    pub more: bool,
}

/// `get_transaction_history`: see the [module documentation](self).
#[derive(Clone)]
pub struct GetTransactionHistory {
    sessions: Arc<ChainSessions>,
    db: Arc<ContractDb>,
    explorer: Etherscan,
    cache: Option<Arc<dyn Memory>>,
    config: HistoryConfig,
}

impl GetTransactionHistory {
    /// The tool over the chat sessions, the contract database and the explorer; `cache` keeps
    /// explorer answers briefly.
    pub fn new(
        sessions: Arc<ChainSessions>,
        db: Arc<ContractDb>,
        explorer: Etherscan,
        cache: Option<Arc<dyn Memory>>,
        config: HistoryConfig,
    ) -> Self {
        GetTransactionHistory { sessions, db, explorer, cache, config }
    }
}

/// A time from `since`: a date (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Result<DateTime<Utc>, ToolError> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ToolError::InvalidArguments(format!("since: \"{text}\" is not a date (YYYY-MM-DD) or an RFC 3339 time"))
        })
}

/// A transaction before decoding.
#[derive(Debug, Clone)]
struct RawTx {
    hash: String,
    block: u64,
    timestamp: Option<u64>,
    from: Address,
    to: Option<Address>,
    value: U256,
    input: Bytes,
    failed: Option<bool>,
}

/// A token transfer before grouping.
#[derive(Debug, Clone)]
struct RawTransfer {
    hash: String,
    block: u64,
    timestamp: Option<u64>,
    token: Address,
    from: Address,
    to: Address,
    amount: U256,
    symbol: Option<String>,
    decimals: Option<u8>,
}

fn text_field<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_default()
}

fn number_field(entry: &Value, key: &str) -> Option<u64> {
    text_field(entry, key).parse().ok()
}

fn address_field(entry: &Value, key: &str) -> Option<Address> {
    text_field(entry, key).parse().ok()
}

/// `txlist` entries, read; a malformed entry is left out.
fn explorer_txs(entries: &[Value]) -> Vec<RawTx> {
    entries
        .iter()
        .filter_map(|e| {
            Some(RawTx {
                hash: text_field(e, "hash").to_lowercase(),
                block: number_field(e, "blockNumber")?,
                timestamp: number_field(e, "timeStamp"),
                from: address_field(e, "from")?,
                to: address_field(e, "to"),
                value: text_field(e, "value").parse().ok()?,
                input: text_field(e, "input").parse().unwrap_or_default(),
                failed: Some(text_field(e, "isError") == "1"),
            })
        })
        .collect()
}

/// `tokentx` entries, read.
fn explorer_transfers(entries: &[Value]) -> Vec<RawTransfer> {
    entries
        .iter()
        .filter_map(|e| {
            Some(RawTransfer {
                hash: text_field(e, "hash").to_lowercase(),
                block: number_field(e, "blockNumber")?,
                timestamp: number_field(e, "timeStamp"),
                token: address_field(e, "contractAddress")?,
                from: address_field(e, "from")?,
                to: address_field(e, "to")?,
                amount: text_field(e, "value").parse().ok()?,
                symbol: Some(text_field(e, "tokenSymbol").to_owned()).filter(|s| !s.is_empty()),
                decimals: text_field(e, "tokenDecimal").parse().ok(),
            })
        })
        .collect()
}

impl GetTransactionHistory {
    /// One explorer list, from the cache when fresh.
    async fn explorer_list(
        &self,
        chain_id: u64,
        list: AccountList,
        address: Address,
        size: u32,
    ) -> Result<Vec<Value>, ExplorerError> {
        let key = format!("etherscan:{chain_id}:{list:?}:{}:{size}", address.to_string().to_lowercase());
        if let Some(cache) = &self.cache {
            match cache.cached(&key, self.config.cache_ttl).await {
                Ok(Some(Value::Array(entries))) => return Ok(entries),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the history cache could not be read"),
            }
        }
        let page = Page { number: 1, size, start_block: 0 };
        let entries = self.explorer.account_list(chain_id, list, address, page).await?;
        if let Some(cache) = &self.cache {
            let keep = self.config.cache_ttl.max(Duration::from_secs(3600));
            if let Err(error) = cache.put_cached(&key, &Value::Array(entries.clone()), keep).await {
                tracing::warn!(%error, "the history cache could not be written");
            }
        }
        Ok(entries)
    }

    /// The account's transactions and transfers from the explorer.
    async fn read_explorer(
        &self,
        chain_id: u64,
        address: Address,
        size: u32,
    ) -> Result<(Vec<RawTx>, Vec<RawTransfer>), ExplorerError> {
        let (txs, transfers) = tokio::join!(
            self.explorer_list(chain_id, AccountList::Transactions, address, size),
            self.explorer_list(chain_id, AccountList::TokenTransfers, address, size),
        );
        Ok((explorer_txs(&txs?), explorer_transfers(&transfers?)))
    }

    /// The account's transactions and transfers in the last blocks of the node; the range read.
    async fn read_node(
        &self,
        conn: &Connection,
        address: Address,
        limit: usize,
    ) -> Result<(Vec<RawTx>, Vec<RawTransfer>, (u64, u64)), ToolError> {
        let provider = &conn.provider;
        let rpc = |e| failed(aomi_chain::ChainError::from_rpc(e, &conn.network, None));
        let latest = provider.get_block_number().await.map_err(rpc)?;
        let first = latest.saturating_sub(self.config.scan_blocks.saturating_sub(1));
        let word = address.into_word();
        let logs = |topic: usize| {
            let filter =
                Filter::new().from_block(first).to_block(latest).event_signature(IERC20::Transfer::SIGNATURE_HASH);
            let filter = if topic == 1 { filter.topic1(word) } else { filter.topic2(word) };
            async move { provider.get_logs(&filter).await }
        };
        let (sent, received) = tokio::join!(logs(1), logs(2));
        let mut transfer_logs = sent.map_err(rpc)?;
        transfer_logs.extend(received.map_err(rpc)?);

        // Blocks newest first, a few at a time, until enough of the account's transactions.
        let mut txs = Vec::new();
        let mut times = HashMap::new();
        let mut blocks = futures::stream::iter((first..=latest).rev())
            .map(|number| async move {
                provider.get_block_by_number(BlockNumberOrTag::Number(number)).full().await.map(|b| (number, b))
            })
            .buffered(8);
        while let Some(block) = blocks.next().await {
            let (number, Some(block)) = block.map_err(rpc)? else { continue };
            times.insert(number, block.header.timestamp);
            for tx in block.transactions.txns() {
                if tx.from() == address || tx.to() == Some(address) {
                    txs.push(RawTx {
                        hash: format!("{:#x}", tx.tx_hash()),
                        block: number,
                        timestamp: Some(block.header.timestamp),
                        from: tx.from(),
                        to: tx.to(),
                        value: tx.value(),
                        input: tx.input().clone(),
                        failed: None,
                    });
                }
            }
            // Older transactions than `limit + 1` newer ones are never listed.
            if txs.len() > limit {
                break;
            }
        }
        drop(blocks);
        // Token metadata, read once per token.
        let tokens: HashSet<Address> = transfer_logs.iter().map(|l| l.address()).collect();
        let mut metadata = HashMap::new();
        for token in tokens {
            metadata.insert(token, token_metadata(conn, token).await);
        }
        let mut transfers = Vec::new();
        for log in &transfer_logs {
            let Ok(event) = IERC20::Transfer::decode_log_data(log.data()) else { continue };
            let (symbol, decimals) = metadata.get(&log.address()).cloned().unwrap_or_default();
            let block = log.block_number.unwrap_or_default();
            transfers.push(RawTransfer {
                hash: log.transaction_hash.map(|h| format!("{h:#x}")).unwrap_or_default(),
                block,
                timestamp: times.get(&block).copied().or(log.block_timestamp),
                token: log.address(),
                from: event.from,
                to: event.to,
                amount: event.value,
                symbol,
                decimals,
            });
        }
        Ok((txs, transfers, (first, latest)))
    }

    /// The call `input` makes to `to`, decoded with the contract database's ABI (looked up while
    /// `budget` lasts), else as an ERC20 call.
    async fn decode(
        &self,
        conn: &Connection,
        to: Address,
        input: &[u8],
        looked_up: &mut HashMap<Address, bool>,
    ) -> Option<DecodedCall> {
        let selector = input.get(..4)?;
        let chain_id = conn.network.chain_id;
        let known = self.sessions.contracts();
        if known.get(chain_id, to).is_none()
            && !looked_up.contains_key(&to)
            && looked_up.len() < self.config.decode_contracts
        {
            let found = self.db.get_contract(known, conn, to).await.is_ok();
            looked_up.insert(to, found);
        }
        if let Some(contract) = known.get(chain_id, to)
            && let Some(function) = contract.abi.functions().find(|f| f.selector().as_slice() == selector)
            && let Ok(values) = function.abi_decode_input(&input[4..])
        {
            return Some(DecodedCall::new(Some(contract.name), function, &values));
        }
        let erc20 = erc20_abi();
        let function = erc20.functions().find(|f| f.selector().as_slice() == selector)?;
        let values = function.abi_decode_input(&input[4..]).ok()?;
        Some(DecodedCall::new(None, function, &values))
    }
}

/// The ERC20 functions, for calls to a contract whose ABI is unknown.
fn erc20_abi() -> aomi_chain::alloy::json_abi::JsonAbi {
    aomi_chain::alloy::json_abi::JsonAbi::parse([
        "function transfer(address to, uint256 amount) returns (bool)",
        "function approve(address spender, uint256 amount) returns (bool)",
        "function transferFrom(address from, address to, uint256 amount) returns (bool)",
    ])
    .unwrap_or_default()
}

/// A token's symbol and decimals, read from it; `None` for what it does not answer.
async fn token_metadata(conn: &Connection, token: Address) -> (Option<String>, Option<u8>) {
    let call = |data: Vec<u8>| async move { aomi_chain::provider::call_latest(&conn.provider, token, data).await.ok() };
    let (symbol, decimals) =
        tokio::join!(call(IERC20::symbolCall {}.abi_encode()), call(IERC20::decimalsCall {}.abi_encode()));
    (
        symbol.and_then(|s| IERC20::symbolCall::abi_decode_returns(&s).ok()),
        decimals.and_then(|d| IERC20::decimalsCall::abi_decode_returns(&d).ok()),
    )
}

fn time_of(timestamp: Option<u64>) -> Option<String> {
    let seconds = i64::try_from(timestamp?).ok()?;
    DateTime::from_timestamp(seconds, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl TypedTool for GetTransactionHistory {
    const NAME: &'static str = "get_transaction_history";
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));
    type Args = HistoryArgs;
    type Output = TransactionHistory;

    fn description(&self) -> String {
        "Lists an account's recent transactions, newest first: what it sent or received (coin and tokens, with \
         decimals), the function each one called (decoded), and whether it failed. Use it for \"what did I send \
         last\", \"what did this wallet do this week\". From the explorer where there is one; on the devnet or a \
         fork, from the last blocks of the node."
            .into()
    }

    async fn run(&self, args: HistoryArgs, ctx: ToolContext) -> Result<ToolOutput<TransactionHistory>, ToolError> {
        let conn = connection(&self.sessions, &ctx, args.network.as_deref())?;
        let address = match args.address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(text) => resolve_address(&conn, text).await.map_err(failed)?,
            None => ctx.wallet.as_ref().and_then(|w| w.address).map(|a| a.into_alloy()).ok_or_else(|| {
                ToolError::InvalidArguments("address: no wallet is connected, so name the account".into())
            })?,
        };
        let max = self.config.max_limit;
        let limit = args.limit.unwrap_or(self.config.default_limit);
        if limit == 0 || limit > max {
            return Err(ToolError::InvalidArguments(format!("limit: from 1 to {max}, not {limit}")));
        }
        let since = args.since.as_deref().map(parse_since).transpose()?;
        let chain_id = conn.network.chain_id;
        let use_explorer = self.explorer.has_api_key() && chain_id != LOCAL_CHAIN;
        ctx.progress("reading the account's transactions");
        let explored = if use_explorer { Some(self.read_explorer(chain_id, address, limit + 1).await) } else { None };
        let (txs, transfers, scanned, source) = match explored {
            Some(Ok((txs, transfers))) => (txs, transfers, None, "etherscan"),
            // A chain the explorer does not index (a fork): the node.
            Some(Err(ExplorerError::UnsupportedChain { .. })) | None => {
                let (txs, transfers, range) = self.read_node(&conn, address, limit as usize).await?;
                (txs, transfers, Some(range), "node")
            }
            Some(Err(error)) => return Err(ToolError::Failed(error.to_string())),
        };

        // One entry per hash, newest first.
        let mut by_hash: BTreeMap<(u64, String), (Option<RawTx>, Vec<RawTransfer>)> = BTreeMap::new();
        for tx in txs {
            let key = (tx.block, tx.hash.clone());
            by_hash.entry(key).or_default().0 = Some(tx);
        }
        for transfer in transfers {
            if transfer.from == address || transfer.to == address {
                by_hash.entry((transfer.block, transfer.hash.clone())).or_default().1.push(transfer);
            }
        }
        let since_secs = since.map(|t| t.timestamp().max(0) as u64);
        let mut selected: Vec<_> = by_hash
            .into_iter()
            .rev()
            .filter(|(_, (tx, moves))| {
                let time = tx.as_ref().and_then(|t| t.timestamp).or_else(|| moves.first().and_then(|m| m.timestamp));
                since_secs.is_none_or(|since| time.is_some_and(|t| t >= since))
            })
            .collect();
        let more = selected.len() > limit as usize;
        selected.truncate(limit as usize);

        let native = &conn.network.native;
        let mut looked_up = HashMap::new();
        let mut entries = Vec::new();
        for ((block, hash), (tx, moves)) in selected {
            let tx = match tx {
                Some(tx) => Some(tx),
                // A transfer in someone else's transaction: read that transaction.
                None => match hash.parse::<B256>() {
                    Ok(h) => conn.provider.get_transaction_by_hash(h).await.ok().flatten().map(|t| RawTx {
                        hash: hash.clone(),
                        block,
                        timestamp: moves.first().and_then(|m| m.timestamp),
                        from: t.from(),
                        to: t.to(),
                        value: t.value(),
                        input: t.input().clone(),
                        failed: None,
                    }),
                    Err(_) => None,
                },
            };
            let failed = match (&tx, source) {
                (Some(tx), "etherscan") => tx.failed,
                _ => match hash.parse::<B256>() {
                    Ok(h) => conn.provider.get_transaction_receipt(h).await.ok().flatten().map(|r| !r.status()),
                    Err(_) => None,
                },
            };
            let call = match &tx {
                Some(RawTx { to: Some(to), input, .. }) if input.len() >= 4 => {
                    self.decode(&conn, *to, input, &mut looked_up).await
                }
                _ => None,
            };
            let (from, to, value, input_time) = match &tx {
                Some(tx) => (tx.from, tx.to, tx.value, tx.timestamp),
                None => {
                    let first = moves.first();
                    (
                        first.map(|m| m.from).unwrap_or_default(),
                        first.map(|m| m.token),
                        U256::ZERO,
                        first.and_then(|m| m.timestamp),
                    )
                }
            };
            let received = moves.iter().any(|m| m.to == address) || (to == Some(address) && !value.is_zero());
            let direction = match (from == address, to == Some(address) || received) {
                (true, true) if to == Some(address) => "self",
                (true, _) => "out",
                (false, _) => "in",
            };
            entries.push(HistoryEntry {
                hash: hash.clone(),
                block,
                time: time_of(input_time),
                direction: direction.into(),
                from: from.to_checksum(None),
                to: to.map(|t| t.to_checksum(None)),
                value_wei: value.to_string(),
                value: format!("{} {}", format_units(value, native.decimals), native.symbol),
                method: call.as_ref().map(|c| c.function.split('(').next().unwrap_or_default().to_owned()),
                call,
                transfers: moves
                    .iter()
                    .map(|m| TokenMove {
                        token: m.token.to_checksum(None),
                        symbol: m.symbol.clone(),
                        decimals: m.decimals,
                        raw: m.amount.to_string(),
                        amount: m.decimals.map(|d| format_units(m.amount, d)),
                        from: m.from.to_checksum(None),
                        to: m.to.to_checksum(None),
                    })
                    .collect(),
                failed,
            });
        }
        let summary = summarize(&entries, address, &conn.network.name, source, scanned);
        Ok(ToolOutput::new(
            TransactionHistory {
                address: address.to_checksum(None),
                network: conn.network.name.clone(),
                chain_id,
                source: source.into(),
                explorer: conn.network.explorer.clone(),
                scanned: scanned.map(|(first, last)| ScannedBlocks { first, last }),
                entries,
                more,
            },
            summary,
        ))
    }
}

/// The history in a few lines for the model.
fn summarize(
    entries: &[HistoryEntry],
    address: Address,
    network: &str,
    source: &str,
    scanned: Option<(u64, u64)>,
) -> String {
    let whence = match scanned {
        Some((first, last)) => format!(" (blocks {first}–{last} of the node; older ones not read)"),
        None => format!(" (from {source})"),
    };
    if entries.is_empty() {
        return format!("No transactions of {} on {network}{whence}.", short(&address));
    }
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let what = if e.transfers.is_empty() {
                format!("{} {}", e.value, e.to.as_deref().map(|t| format!("to {t}")).unwrap_or_default())
            } else {
                e.transfers
                    .iter()
                    .map(|m| {
                        let amount = m.amount.clone().unwrap_or_else(|| format!("{} base units", m.raw));
                        let symbol = m.symbol.clone().unwrap_or_else(|| m.token.clone());
                        format!("{amount} {symbol} from {} to {}", m.from, m.to)
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            format!(
                "{} {} {what}{}{} [{}]",
                e.time.as_deref().unwrap_or("block"),
                e.direction,
                e.method.as_deref().map(|m| format!(", calling {m}")).unwrap_or_default(),
                if e.failed == Some(true) { ", FAILED" } else { "" },
                e.hash
            )
        })
        .collect();
    format!(
        "{} transactions of {} on {network}{whence}, newest first: {}",
        entries.len(),
        short(&address),
        lines.join(" | ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(parse_since("2026-11-30").unwrap().to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert!(parse_since("2026-11-30T10:00:00Z").is_ok());
        assert!(parse_since("last week").is_err());
    }

    #[test]
    fn explorer_entries_are_read_and_malformed_ones_left_out() {
        let entries = vec![
            json!({"hash": "0xAB", "blockNumber": "5", "timeStamp": "100", "from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                   "to": "", "value": "7", "input": "0x", "isError": "1"}),
            json!({"hash": "0xcd", "blockNumber": "x"}),
        ];
        let txs = explorer_txs(&entries);
        assert_eq!(txs.len(), 1);
        assert_eq!((txs[0].hash.as_str(), txs[0].to, txs[0].failed), ("0xab", None, Some(true)));
    }
}
