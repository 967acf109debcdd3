//! Balances, accounts, blocks and gas.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::eips::BlockNumberOrTag;
use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::units::format_units;
use aomi_chain::{ChainError, Connection};
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{connection, failed, parse_address, parse_args, parse_hash, resolve_address, short, with_network};

/// `get_balance`: the native balance of an address or ENS name.
#[derive(Debug, Clone)]
pub struct GetBalance(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceArgs {
    address: String,
    #[serde(default)]
    network: Option<String>,
}

impl Tool for GetBalance {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_balance".into(),
            description: "Native coin balance (ETH, POL, …) of an address or ENS name, exact in wei and formatted with the coin's decimals.".into(),
            parameters: with_network(
                json!({
                    "address": { "type": "string", "description": "0x address or ENS name" }
                }),
                &["address"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: BalanceArgs = parse_args(args)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
            let wei = conn.provider.get_balance(address).await.map_err(|e| failed(rpc(e, &conn)))?;
            let native = &conn.network.native;
            let formatted = format_units(wei, native.decimals);
            let summary = format!("{} holds {formatted} {} on {}", short(&address), native.symbol, conn.network.name);
            Ok(ToolOutput::new(
                json!({
                    "address": address,
                    "network": conn.network.name,
                    "chainId": conn.network.chain_id,
                    "wei": wei.to_string(),
                    "balance": formatted,
                    "symbol": native.symbol,
                    "decimals": native.decimals,
                }),
                summary,
            ))
        })
    }
}

/// `get_token_balance`: an ERC20 balance, with the token's decimals and symbol read from the chain.
#[derive(Debug, Clone)]
pub struct GetTokenBalance(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBalanceArgs {
    token: String,
    owner: String,
    #[serde(default)]
    network: Option<String>,
}

/// What a token says about itself.
pub(crate) struct TokenInfo {
    pub symbol: String,
    pub decimals: u8,
}

/// Reads a token's symbol and decimals; a clear error when the address is not an ERC20.
pub(crate) async fn token_info(
    sessions: &ChainSessions,
    conn: &Connection,
    token: Address,
) -> Result<TokenInfo, ChainError> {
    let decimals = eth_call(sessions, conn, token, IERC20::decimalsCall {}.abi_encode()).await;
    let decimals = match decimals.and_then(|data| {
        IERC20::decimalsCall::abi_decode_returns(&data).map_err(|e| ChainError::InvalidInput(e.to_string()))
    }) {
        Ok(decimals) => decimals,
        Err(error) => return Err(not_a_token(conn, token, error).await),
    };
    let symbol = eth_call(sessions, conn, token, IERC20::symbolCall {}.abi_encode())
        .await
        .ok()
        .and_then(|data| IERC20::symbolCall::abi_decode_returns(&data).ok())
        .unwrap_or_else(|| "?".into());
    Ok(TokenInfo { symbol, decimals })
}

async fn not_a_token(conn: &Connection, token: Address, error: ChainError) -> ChainError {
    match conn.provider.get_code_at(token).await {
        Ok(code) if code.is_empty() => {
            ChainError::InvalidInput(format!("{token} is not a contract on {}: it has no code", conn.network.name))
        }
        Ok(_) => ChainError::InvalidInput(format!(
            "{token} on {} does not answer decimals() like an ERC20 token ({error})",
            conn.network.name
        )),
        Err(e) => rpc(e, conn),
    }
}

/// An `eth_call` at the latest block; reverts are decoded with the ABI aomi knows for `to`.
pub(crate) async fn eth_call(
    sessions: &ChainSessions,
    conn: &Connection,
    to: Address,
    data: Vec<u8>,
) -> Result<Vec<u8>, ChainError> {
    let request = TransactionRequest::default().to(to).input(data.into());
    conn.provider.call(request).await.map(|bytes| bytes.to_vec()).map_err(|e| {
        let abi = sessions.contracts().get(conn.network.chain_id, to).map(|c| c.abi);
        ChainError::from_rpc(e, &conn.network, abi.as_deref())
    })
}

impl Tool for GetTokenBalance {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_token_balance".into(),
            description: "ERC20 token balance of an owner, exact in base units and formatted with the decimals and symbol read from the token contract.".into(),
            parameters: with_network(
                json!({
                    "token": { "type": "string", "description": "the token contract's 0x address" },
                    "owner": { "type": "string", "description": "0x address or ENS name of the holder" }
                }),
                &["token", "owner"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: TokenBalanceArgs = parse_args(args)?;
            let token = parse_address(&args.token).map_err(failed)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let owner = resolve_address(&conn, &args.owner).await.map_err(failed)?;
            let info = token_info(&self.0, &conn, token).await.map_err(failed)?;
            let data =
                eth_call(&self.0, &conn, token, IERC20::balanceOfCall { owner }.abi_encode()).await.map_err(failed)?;
            let raw: U256 = IERC20::balanceOfCall::abi_decode_returns(&data)
                .map_err(|e| ToolError::Failed(format!("balanceOf returned bad data: {e}")))?;
            let formatted = format_units(raw, info.decimals);
            Ok(ToolOutput::new(
                json!({
                    "token": token,
                    "owner": owner,
                    "network": conn.network.name,
                    "symbol": info.symbol,
                    "decimals": info.decimals,
                    "raw": raw.to_string(),
                    "balance": formatted,
                }),
                format!("{} holds {formatted} {} on {}", short(&owner), info.symbol, conn.network.name),
            ))
        })
    }
}

/// An RPC error on this connection as a chain error.
pub(crate) fn rpc(
    error: aomi_chain::alloy::transports::RpcError<aomi_chain::alloy::transports::TransportErrorKind>,
    conn: &Connection,
) -> ChainError {
    ChainError::from_rpc(error, &conn.network, None)
}

/// `get_account_info`: nonce, balance, code size, whether it is a contract.
#[derive(Debug, Clone)]
pub struct GetAccountInfo(pub Arc<ChainSessions>);

impl Tool for GetAccountInfo {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_account_info".into(),
            description: "Facts about an address: nonce (transactions sent), native balance, code size, and whether it is a contract (and its name when aomi knows it).".into(),
            parameters: with_network(
                json!({
                    "address": { "type": "string", "description": "0x address or ENS name" }
                }),
                &["address"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: BalanceArgs = parse_args(args)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
            let provider = &conn.provider;
            let (nonce, balance, code) = futures::try_join!(
                async { provider.get_transaction_count(address).await },
                async { provider.get_balance(address).await },
                async { provider.get_code_at(address).await },
            )
            .map_err(|e| failed(rpc(e, &conn)))?;
            let known = self.0.contracts().get(conn.network.chain_id, address).map(|c| c.name);
            let is_contract = !code.is_empty();
            let kind = match (&known, is_contract) {
                (Some(name), _) => format!("the contract {name}"),
                (None, true) => format!("a contract ({} bytes of code)", code.len()),
                (None, false) => "an account (no code)".into(),
            };
            Ok(ToolOutput::new(
                json!({
                    "address": address,
                    "network": conn.network.name,
                    "nonce": nonce,
                    "balanceWei": balance.to_string(),
                    "balance": format_units(balance, conn.network.native.decimals),
                    "symbol": conn.network.native.symbol,
                    "codeSize": code.len(),
                    "isContract": is_contract,
                    "contractName": known,
                }),
                format!("{} on {} is {kind}, nonce {nonce}", short(&address), conn.network.name),
            ))
        })
    }
}

/// `get_block`: a block's header facts.
#[derive(Debug, Clone)]
pub struct GetBlock(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockArgs {
    #[serde(default)]
    block: Option<Value>,
    #[serde(default)]
    network: Option<String>,
}

impl Tool for GetBlock {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_block".into(),
            description: "A block: number, hash, time, gas used and limit, base fee, transaction count. Default: the latest block.".into(),
            parameters: with_network(
                json!({
                    "block": { "type": ["string", "integer"], "description": "block number, block hash, or latest / finalized / safe / earliest / pending" }
                }),
                &[],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: BlockArgs = parse_args(args)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let block = match block_id(args.block.as_ref()).map_err(failed)? {
                BlockId::Tag(tag) => conn.provider.get_block_by_number(tag).await,
                BlockId::Hash(hash) => conn.provider.get_block_by_hash(hash).await,
            }
            .map_err(|e| failed(rpc(e, &conn)))?
            .ok_or_else(|| ToolError::Failed(format!("no such block on {}", conn.network.name)))?;
            let header = &block.header;
            let time = chrono::DateTime::from_timestamp(header.timestamp as i64, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            Ok(ToolOutput::new(
                json!({
                    "network": conn.network.name,
                    "number": header.number,
                    "hash": header.hash,
                    "parentHash": header.parent_hash,
                    "timestamp": header.timestamp,
                    "time": time,
                    "gasUsed": header.gas_used.to_string(),
                    "gasLimit": header.gas_limit.to_string(),
                    "baseFeePerGas": header.base_fee_per_gas.map(|fee| fee.to_string()),
                    "miner": header.beneficiary,
                    "transactionCount": block.transactions.len(),
                }),
                format!(
                    "Block {} on {}: {} transactions, {}",
                    header.number,
                    conn.network.name,
                    block.transactions.len(),
                    time.unwrap_or_default()
                ),
            ))
        })
    }
}

enum BlockId {
    Tag(BlockNumberOrTag),
    Hash(aomi_chain::alloy::primitives::B256),
}

fn block_id(value: Option<&Value>) -> Result<BlockId, ChainError> {
    let bad = |text: &str| {
        ChainError::InvalidInput(format!(
            "\"{text}\" is not a block: give a number, a 0x hash, or latest / finalized / safe / earliest / pending"
        ))
    };
    Ok(match value {
        None | Some(Value::Null) => BlockId::Tag(BlockNumberOrTag::Latest),
        Some(Value::Number(n)) => {
            BlockId::Tag(BlockNumberOrTag::Number(n.as_u64().ok_or_else(|| bad(&n.to_string()))?))
        }
        Some(Value::String(text)) => {
            let t = text.trim().to_lowercase();
            match t.as_str() {
                "latest" | "" => BlockId::Tag(BlockNumberOrTag::Latest),
                "finalized" => BlockId::Tag(BlockNumberOrTag::Finalized),
                "safe" => BlockId::Tag(BlockNumberOrTag::Safe),
                "earliest" => BlockId::Tag(BlockNumberOrTag::Earliest),
                "pending" => BlockId::Tag(BlockNumberOrTag::Pending),
                _ if t.len() == 66 => BlockId::Hash(parse_hash(&t, "block")?),
                _ if t.starts_with("0x") => {
                    BlockId::Tag(BlockNumberOrTag::Number(u64::from_str_radix(&t[2..], 16).map_err(|_| bad(text))?))
                }
                _ => BlockId::Tag(BlockNumberOrTag::Number(t.parse().map_err(|_| bad(text))?)),
            }
        }
        Some(other) => return Err(bad(&other.to_string())),
    })
}

/// `get_gas_price`: the gas price and the latest base fee.
#[derive(Debug, Clone)]
pub struct GetGasPrice(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkOnly {
    #[serde(default)]
    network: Option<String>,
}

impl Tool for GetGasPrice {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_gas_price".into(),
            description: "Current gas price, priority fee and the latest block's base fee, in wei and gwei.".into(),
            parameters: with_network(json!({}), &[]),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: NetworkOnly = parse_args(args)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let provider = &conn.provider;
            let gas_price = provider.get_gas_price().await.map_err(|e| failed(rpc(e, &conn)))?;
            let priority = provider.get_max_priority_fee_per_gas().await.ok();
            let base_fee = provider
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await
                .ok()
                .flatten()
                .and_then(|block| block.header.base_fee_per_gas);
            let gwei = |wei: u128| format_units(U256::from(wei), 9);
            Ok(ToolOutput::new(
                json!({
                    "network": conn.network.name,
                    "gasPriceWei": gas_price.to_string(),
                    "gasPriceGwei": gwei(gas_price),
                    "maxPriorityFeeWei": priority.map(|p| p.to_string()),
                    "baseFeeWei": base_fee.map(|b| b.to_string()),
                    "baseFeeGwei": base_fee.map(|b| gwei(u128::from(b))),
                }),
                format!("Gas on {}: {} gwei", conn.network.name, gwei(gas_price)),
            ))
        })
    }
}
