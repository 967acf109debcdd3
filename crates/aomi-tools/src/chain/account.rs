//! Balances, accounts, blocks and gas.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::eips::BlockNumberOrTag;
use aomi_chain::alloy::primitives::{Address, B256, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::sol_types::SolCall;
use aomi_chain::contracts::IERC20;
use aomi_chain::units::format_units;
use aomi_chain::{ChainError, Connection};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{NETWORK_ARGUMENT, connection, failed, parse_hash, resolve_address, short};

/// `get_balance`: the native balance of an address or ENS name.
#[derive(Debug, Clone)]
pub struct GetBalance(pub Arc<ChainSessions>);

/// The arguments of `get_balance` and `get_account_info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountArgs {
    /// 0x address or ENS name
    pub address: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_balance`: a native balance, exact and formatted.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The holder (an ENS name resolved).
    #[schema(value_type = String)]
    pub address: Address,
    /// The network read.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// The balance in wei, decimal.
    pub wei: String,
    /// The balance in the coin's unit (`1.5`).
    pub balance: String,
    /// The coin's symbol.
    pub symbol: String,
    /// The coin's decimals.
    pub decimals: u8,
}

impl TypedTool for GetBalance {
    const NAME: &'static str = "get_balance";
    type Args = AccountArgs;
    type Output = Balance;

    fn description(&self) -> String {
        "Native coin balance (ETH, POL, …) of an address or ENS name, exact in wei and formatted with the coin's decimals.".into()
    }

    async fn run(&self, args: AccountArgs, ctx: ToolContext) -> Result<ToolOutput<Balance>, ToolError> {
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
        let wei = conn.provider.get_balance(address).await.map_err(|e| failed(rpc(e, &conn)))?;
        let native = &conn.network.native;
        let formatted = format_units(wei, native.decimals);
        let summary = format!("{} holds {formatted} {} on {}", short(&address), native.symbol, conn.network.name);
        Ok(ToolOutput::new(
            Balance {
                address,
                network: conn.network.name.clone(),
                chain_id: conn.network.chain_id,
                wei: wei.to_string(),
                balance: formatted,
                symbol: native.symbol.clone(),
                decimals: native.decimals,
            },
            summary,
        ))
    }
}

/// `get_token_balance`: an ERC20 balance, with the token's decimals and symbol read from the chain.
#[derive(Debug, Clone)]
pub struct GetTokenBalance(pub Arc<ChainSessions>);

/// The arguments of `get_token_balance`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBalanceArgs {
    /// the token contract's 0x address
    pub token: aomi_core::Address,
    /// 0x address or ENS name of the holder
    pub owner: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_token_balance`: an ERC20 balance, exact and formatted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenBalance {
    /// The token contract.
    #[schema(value_type = String)]
    pub token: Address,
    /// The holder (an ENS name resolved).
    #[schema(value_type = String)]
    pub owner: Address,
    /// The network read.
    pub network: String,
    /// The token's symbol (`?` when it has none).
    pub symbol: String,
    /// The token's decimals.
    pub decimals: u8,
    /// The balance in base units, decimal.
    pub raw: String,
    /// The balance in the token's unit (`1.5`).
    pub balance: String,
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
    aomi_chain::provider::call_latest(&conn.provider, to, data).await.map(|bytes| bytes.to_vec()).map_err(|e| {
        let abi = sessions.contracts().get(conn.network.chain_id, to).map(|c| c.abi);
        ChainError::from_rpc(e, &conn.network, abi.as_deref())
    })
}

impl TypedTool for GetTokenBalance {
    const NAME: &'static str = "get_token_balance";
    type Args = TokenBalanceArgs;
    type Output = TokenBalance;

    fn description(&self) -> String {
        "ERC20 token balance of an owner, exact in base units and formatted with the decimals and symbol read from the token contract.".into()
    }

    async fn run(&self, args: TokenBalanceArgs, ctx: ToolContext) -> Result<ToolOutput<TokenBalance>, ToolError> {
        let token = args.token.into_alloy();
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let owner = resolve_address(&conn, &args.owner).await.map_err(failed)?;
        let info = token_info(&self.0, &conn, token).await.map_err(failed)?;
        let data =
            eth_call(&self.0, &conn, token, IERC20::balanceOfCall { owner }.abi_encode()).await.map_err(failed)?;
        let raw: U256 = IERC20::balanceOfCall::abi_decode_returns(&data)
            .map_err(|e| ToolError::Failed(format!("balanceOf returned bad data: {e}")))?;
        let formatted = format_units(raw, info.decimals);
        let summary = format!("{} holds {formatted} {} on {}", short(&owner), info.symbol, conn.network.name);
        Ok(ToolOutput::new(
            TokenBalance {
                token,
                owner,
                network: conn.network.name.clone(),
                symbol: info.symbol,
                decimals: info.decimals,
                raw: raw.to_string(),
                balance: formatted,
            },
            summary,
        ))
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

/// The output of `get_account_info`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// The account (an ENS name resolved).
    #[schema(value_type = String)]
    pub address: Address,
    /// The network read.
    pub network: String,
    /// Transactions it sent.
    pub nonce: u64,
    /// Its native balance in wei, decimal.
    pub balance_wei: String,
    /// Its native balance in the coin's unit.
    pub balance: String,
    /// The coin's symbol.
    pub symbol: String,
    /// Bytes of code at the address (0 for an account).
    pub code_size: usize,
    /// True when code is deployed there.
    pub is_contract: bool,
    /// The contract's name, when aomi knows its ABI.
    #[schema(required = true)]
    pub contract_name: Option<String>,
}

impl TypedTool for GetAccountInfo {
    const NAME: &'static str = "get_account_info";
    type Args = AccountArgs;
    type Output = AccountInfo;

    fn description(&self) -> String {
        "Facts about an address: nonce (transactions sent), native balance, code size, and whether it is a contract (and its name when aomi knows it).".into()
    }

    async fn run(&self, args: AccountArgs, ctx: ToolContext) -> Result<ToolOutput<AccountInfo>, ToolError> {
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
        let summary = format!("{} on {} is {kind}, nonce {nonce}", short(&address), conn.network.name);
        Ok(ToolOutput::new(
            AccountInfo {
                address,
                network: conn.network.name.clone(),
                nonce,
                balance_wei: balance.to_string(),
                balance: format_units(balance, conn.network.native.decimals),
                symbol: conn.network.native.symbol.clone(),
                code_size: code.len(),
                is_contract,
                contract_name: known,
            },
            summary,
        ))
    }
}

/// `get_block`: a block's header facts.
#[derive(Debug, Clone)]
pub struct GetBlock(pub Arc<ChainSessions>);

/// The arguments of `get_block`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockArgs {
    /// block number, block hash, or latest / finalized / safe / earliest / pending
    #[serde(default)]
    #[schemars(schema_with = "string_or_integer")]
    pub block: Option<Value>,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// A block is named by a number or a text (a hash, a tag, a number as text): read as JSON and
/// checked by [`block_id`], whose errors say what a block may be.
fn string_or_integer(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "integer"] })
}

/// The output of `get_block`: a block's header facts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    /// The network read.
    pub network: String,
    /// Its number.
    pub number: u64,
    /// Its hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// Its parent's hash.
    #[schema(value_type = String)]
    pub parent_hash: B256,
    /// Its time, Unix seconds.
    pub timestamp: u64,
    /// Its time, RFC 3339 UTC.
    #[schema(required = true)]
    pub time: Option<String>,
    /// Gas used, decimal.
    pub gas_used: String,
    /// Gas limit, decimal.
    pub gas_limit: String,
    /// Base fee per gas in wei, decimal (none before EIP-1559).
    #[schema(required = true)]
    pub base_fee_per_gas: Option<String>,
    /// The fee recipient.
    #[schema(value_type = String)]
    pub miner: Address,
    /// How many transactions it holds.
    pub transaction_count: usize,
}

impl TypedTool for GetBlock {
    const NAME: &'static str = "get_block";
    type Args = BlockArgs;
    type Output = BlockInfo;

    fn description(&self) -> String {
        "A block: number, hash, time, gas used and limit, base fee, transaction count. Default: the latest block."
            .into()
    }

    async fn run(&self, args: BlockArgs, ctx: ToolContext) -> Result<ToolOutput<BlockInfo>, ToolError> {
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
        let summary = format!(
            "Block {} on {}: {} transactions, {}",
            header.number,
            conn.network.name,
            block.transactions.len(),
            time.as_deref().unwrap_or_default()
        );
        Ok(ToolOutput::new(
            BlockInfo {
                network: conn.network.name.clone(),
                number: header.number,
                hash: header.hash,
                parent_hash: header.parent_hash,
                timestamp: header.timestamp,
                time,
                gas_used: header.gas_used.to_string(),
                gas_limit: header.gas_limit.to_string(),
                base_fee_per_gas: header.base_fee_per_gas.map(|fee| fee.to_string()),
                miner: header.beneficiary,
                transaction_count: block.transactions.len(),
            },
            summary,
        ))
    }
}

enum BlockId {
    Tag(BlockNumberOrTag),
    Hash(B256),
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

/// The arguments of `get_gas_price`: only the network.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkOnly {
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_gas_price`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GasPrice {
    /// The network read.
    pub network: String,
    /// The gas price in wei, decimal.
    pub gas_price_wei: String,
    /// The gas price in gwei.
    pub gas_price_gwei: String,
    /// The suggested priority fee in wei, decimal, when the node gives one.
    #[schema(required = true)]
    pub max_priority_fee_wei: Option<String>,
    /// The latest block's base fee in wei, decimal.
    #[schema(required = true)]
    pub base_fee_wei: Option<String>,
    /// The latest block's base fee in gwei.
    #[schema(required = true)]
    pub base_fee_gwei: Option<String>,
}

impl TypedTool for GetGasPrice {
    const NAME: &'static str = "get_gas_price";
    type Args = NetworkOnly;
    type Output = GasPrice;

    fn description(&self) -> String {
        "Current gas price, priority fee and the latest block's base fee, in wei and gwei.".into()
    }

    async fn run(&self, args: NetworkOnly, ctx: ToolContext) -> Result<ToolOutput<GasPrice>, ToolError> {
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
            GasPrice {
                network: conn.network.name.clone(),
                gas_price_wei: gas_price.to_string(),
                gas_price_gwei: gwei(gas_price),
                max_priority_fee_wei: priority.map(|p| p.to_string()),
                base_fee_wei: base_fee.map(|b| b.to_string()),
                base_fee_gwei: base_fee.map(|b| gwei(u128::from(b))),
            },
            format!("Gas on {}: {} gwei", conn.network.name, gwei(gas_price)),
        ))
    }
}
