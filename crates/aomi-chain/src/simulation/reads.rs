//! The second round's reads: each token's decimals and symbol, and the holders' balances before
//! and after the transaction, in one simulated block around it.

use std::collections::{BTreeSet, HashMap};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use futures::future::join_all;
use serde_json::Value;

use crate::contracts::IERC20;
use crate::provider::ChainProvider;
use crate::risk::TokenInfo;
use crate::simulation::calldata::TokenCall;
use crate::simulation::engine::Mode;
use crate::simulation::events::Movements;
use crate::simulation::request::SimulationRequest;
use crate::simulation::rpc::{call_json, simulate_calls};

/// The second round's reads.
#[derive(Debug, Default)]
pub(crate) struct ReadPlan {
    /// ERC20 tokens: decimals and symbol.
    fungible: BTreeSet<Address>,
    /// ERC721 and ERC1155 contracts: symbol.
    collectibles: BTreeSet<Address>,
    /// (token, holder): balance before and after.
    holders: BTreeSet<(Address, Address)>,
    /// An address to probe with `decimals()`: does it answer like a token?
    recipient: Option<Address>,
    /// The called contract, when the calldata is an ERC20-shaped `transfer`, `transferFrom` or
    /// `approve` (an ERC721 shares the last two; its missing `decimals()` tells them apart).
    pub called_token: Option<Address>,
}

/// One read of the plan.
#[derive(Debug, Clone, Copy)]
enum Read {
    Decimals(Address),
    Symbol(Address),
    Before(Address, Address),
    After(Address, Address),
    RecipientDecimals,
    /// The n-th transaction of the batch (one for a single transaction).
    Transaction(usize),
}

/// What the reads returned.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// Decimals by token.
    pub decimals: HashMap<Address, u8>,
    /// Symbols by token or collection.
    pub symbols: HashMap<Address, String>,
    /// (token, holder) balances before the transaction.
    pub before: HashMap<(Address, Address), U256>,
    /// (token, holder) balances after it.
    pub after: HashMap<(Address, Address), U256>,
    /// Whether the recipient answered `decimals()` like a token.
    pub recipient_is_token: Option<bool>,
}

impl Reads {
    /// A token's symbol and decimals, as read.
    pub fn token_info(&self, token: Address) -> TokenInfo {
        TokenInfo { symbol: self.symbols.get(&token).cloned(), decimals: self.decimals.get(&token).copied() }
    }
}

impl ReadPlan {
    /// The reads a report needs: every ERC20 that moved or was approved (decimals, symbol, the
    /// holders' balances), the collections' symbols, and for a token call the called token and the
    /// sender's balance of it; `recipient` is probed for `decimals()`.
    pub fn new(
        request: &SimulationRequest,
        movements: &Movements,
        token_call: Option<&TokenCall>,
        recipient: Option<Address>,
    ) -> Self {
        let called_token = token_call
            .filter(|c| {
                matches!(c, TokenCall::Transfer { .. } | TokenCall::TransferFrom { .. } | TokenCall::Approve { .. })
            })
            .map(|_| request.to);
        let mut plan = ReadPlan { called_token, ..ReadPlan::default() };
        for token in movements.erc20_tokens().into_iter().chain(called_token) {
            plan.fungible.insert(token);
            plan.holders.extend(movements.holders(token).into_iter().map(|holder| (token, holder)));
        }
        if let Some(token) = called_token
            && token_call.and_then(|c| c.amount_sent_by(request.from)).is_some()
        {
            plan.holders.insert((token, request.from));
        }
        plan.collectibles.extend(movements.nft_tokens());
        plan.recipient = recipient.filter(|r| Some(*r) != called_token);
        plan
    }

    /// The reads of a batch: every ERC20 that moved or was approved in any step, with its holders.
    pub fn for_movements(movements: &Movements) -> Self {
        let mut plan = ReadPlan::default();
        for token in movements.erc20_tokens() {
            plan.fungible.insert(token);
            plan.holders.extend(movements.holders(token).into_iter().map(|holder| (token, holder)));
        }
        plan.collectibles.extend(movements.nft_tokens());
        plan
    }

    /// Runs the reads: in one `eth_simulateV1` block around `txs`, in order (balances before and
    /// after them all), or, in [`Mode::Call`], as plain `eth_call`s (balances before only).
    pub async fn run(&self, provider: &ChainProvider, mode: Mode, txs: &[Value], block: BlockNumberOrTag) -> Reads {
        let decimals = || Bytes::from(IERC20::decimalsCall {}.abi_encode());
        let balance = |owner: Address| Bytes::from(IERC20::balanceOfCall { owner }.abi_encode());
        let mut reads: Vec<(Read, Address, Bytes)> = Vec::new();
        for &token in &self.fungible {
            reads.push((Read::Decimals(token), token, decimals()));
        }
        for &token in self.fungible.iter().chain(&self.collectibles) {
            reads.push((Read::Symbol(token), token, IERC20::symbolCall {}.abi_encode().into()));
        }
        if let Some(recipient) = self.recipient {
            reads.push((Read::RecipientDecimals, recipient, decimals()));
        }
        for &(token, holder) in &self.holders {
            reads.push((Read::Before(token, holder), token, balance(holder)));
        }
        let txs = if mode == Mode::Simulate { txs } else { &[] };
        if !txs.is_empty() {
            reads.extend((0..txs.len()).map(|i| (Read::Transaction(i), Address::ZERO, Bytes::new())));
            for &(token, holder) in &self.holders {
                reads.push((Read::After(token, holder), token, balance(holder)));
            }
        }
        let mut out = Reads::default();
        if reads.is_empty() {
            return out;
        }
        let answers: Vec<Option<Bytes>> = match mode {
            Mode::Simulate => {
                let calls = reads
                    .iter()
                    .map(|(read, to, data)| match read {
                        Read::Transaction(i) => txs[*i].clone(),
                        _ => call_json(Address::ZERO, *to, U256::ZERO, data, None),
                    })
                    .collect();
                match simulate_calls(provider, calls, block).await {
                    Ok(calls) if calls.len() == reads.len() => {
                        calls.into_iter().map(|c| c.succeeded().then_some(c.return_data)).collect()
                    }
                    Ok(_) | Err(_) => {
                        tracing::warn!("the token reads of a simulation failed; decimals and symbols are unknown");
                        return out;
                    }
                }
            }
            Mode::Call => {
                join_all(reads.iter().map(|(_, to, data)| {
                    let request = TransactionRequest::default().to(*to).input(data.clone().into());
                    async move { provider.call(request).block(block.into()).await.ok() }
                }))
                .await
            }
        };
        for ((read, _, _), answer) in reads.iter().zip(answers) {
            let Some(data) = answer else {
                if let Read::RecipientDecimals = read {
                    out.recipient_is_token = Some(false);
                }
                continue;
            };
            match *read {
                Read::Decimals(token) => {
                    if let Some(decimals) = small_uint(&data) {
                        out.decimals.insert(token, decimals);
                    }
                }
                Read::Symbol(token) => {
                    if let Some(symbol) = symbol(&data) {
                        out.symbols.insert(token, symbol);
                    }
                }
                Read::Before(token, holder) => {
                    if let Ok(value) = U256::abi_decode(&data) {
                        out.before.insert((token, holder), value);
                    }
                }
                Read::After(token, holder) => {
                    if let Ok(value) = U256::abi_decode(&data) {
                        out.after.insert((token, holder), value);
                    }
                }
                Read::RecipientDecimals => out.recipient_is_token = Some(small_uint(&data).is_some()),
                Read::Transaction(_) => {}
            }
        }
        out
    }
}

/// A `uint8` answer: exactly one word holding at most 255.
pub(crate) fn small_uint(data: &[u8]) -> Option<u8> {
    if data.len() != 32 {
        return None;
    }
    u8::try_from(U256::from_be_slice(data)).ok()
}

/// A `symbol()` answer: an ABI string, or a bytes32 (older tokens, like MKR).
pub(crate) fn symbol(data: &[u8]) -> Option<String> {
    let text = String::abi_decode(data)
        .ok()
        .or_else(|| (data.len() == 32).then(|| String::from_utf8_lossy(data).trim_end_matches('\0').to_owned()))?;
    let clean: String = text.chars().filter(|c| !c.is_control()).take(32).collect();
    (!clean.trim().is_empty()).then(|| clean.trim().to_owned())
}
