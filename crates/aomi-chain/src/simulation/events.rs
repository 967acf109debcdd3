//! Reads a simulated transaction's logs: who moved which asset to whom, which approvals were set,
//! and every log decoded where its event is known.
//!
//! Native coin moves come from the node's transfer tracing (`traceTransfers`): synthetic ERC20
//! `Transfer` logs emitted by 0xeeee…eeee for every value transfer, internal calls included.
//! A `Deposit`/`Withdrawal` counts as WETH-style wrapping only when a native transfer of the same
//! amount between the same two parties happened in the same transaction: a vault's `Deposit` event
//! of the same signature is not a mint of the vault's address.

use std::sync::LazyLock;

use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, LogData, U256, address, hex};
use alloy::sol_types::SolEvent;
use serde_json::Value;

use crate::abi::decode_event_args;
use crate::session::KnownContracts;
use crate::simulation::report::{DecodedLog, Standard};

/// The emitter of the synthetic logs that `traceTransfers` adds for native coin transfers.
pub const NATIVE_TRANSFER_EMITTER: Address = address!("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");

mod erc20 {
    alloy::sol! {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
        event Deposit(address indexed dst, uint256 wad);
        event Withdrawal(address indexed src, uint256 wad);
    }
}

mod erc721 {
    alloy::sol! {
        event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
        event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
        event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    }
}

mod erc1155 {
    alloy::sol! {
        event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
        event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
    }
}

/// The standard events, for decoding logs of contracts whose ABI is unknown.
static STANDARD_EVENTS: LazyLock<JsonAbi> = LazyLock::new(|| {
    JsonAbi::parse([
        "event Transfer(address indexed from, address indexed to, uint256 value)",
        "event Approval(address indexed owner, address indexed spender, uint256 value)",
        "event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
        "event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId)",
        "event ApprovalForAll(address indexed owner, address indexed operator, bool approved)",
        "event Deposit(address indexed dst, uint256 wad)",
        "event Withdrawal(address indexed src, uint256 wad)",
        "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
        "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
    ])
    .unwrap_or_default()
});

/// A fungible move: native coin (`token` is `None`) or ERC20. `Address::ZERO` on either side means
/// nobody (a mint or a burn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Move {
    pub token: Option<Address>,
    pub from: Address,
    pub to: Address,
    pub amount: U256,
}

/// A move of an ERC721 or ERC1155 token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NftMove {
    pub token: Address,
    pub standard: Standard,
    pub from: Address,
    pub to: Address,
    pub id: U256,
    pub amount: U256,
}

/// An approval event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApprovalEvent {
    pub token: Address,
    pub standard: Standard,
    pub owner: Address,
    pub spender: Address,
    /// The ERC20 allowance.
    pub amount: Option<U256>,
    /// The single ERC721 token approved.
    pub token_id: Option<U256>,
    /// False for a revocation.
    pub granted: bool,
}

/// What a transaction's logs say.
#[derive(Debug, Default)]
pub(crate) struct Movements {
    pub native: Vec<Move>,
    pub fungible: Vec<Move>,
    pub nft: Vec<NftMove>,
    pub approvals: Vec<ApprovalEvent>,
    pub logs: Vec<DecodedLog>,
}

impl Movements {
    /// The ERC20 tokens that moved or were approved.
    pub fn erc20_tokens(&self) -> Vec<Address> {
        let mut tokens: Vec<Address> = self
            .fungible
            .iter()
            .filter_map(|m| m.token)
            .chain(self.approvals.iter().filter(|a| a.standard == Standard::Erc20).map(|a| a.token))
            .collect();
        tokens.sort();
        tokens.dedup();
        tokens
    }

    /// The addresses whose balance of `token` the events change.
    pub fn holders(&self, token: Address) -> Vec<Address> {
        let mut holders: Vec<Address> = self
            .fungible
            .iter()
            .filter(|m| m.token == Some(token))
            .flat_map(|m| [m.from, m.to])
            .filter(|a| !a.is_zero())
            .collect();
        holders.sort();
        holders.dedup();
        holders
    }

    /// The collectible contracts (ERC721, ERC1155) that moved or were approved.
    pub fn nft_tokens(&self) -> Vec<Address> {
        let mut tokens: Vec<Address> = self
            .nft
            .iter()
            .map(|m| m.token)
            .chain(self.approvals.iter().filter(|a| a.standard != Standard::Erc20).map(|a| a.token))
            .collect();
        tokens.sort();
        tokens.dedup();
        tokens
    }
}

/// Reads the logs of a successful transaction on `chain_id`.
pub(crate) fn read_logs(logs: &[(Address, LogData)], chain_id: u64, known: &KnownContracts) -> Movements {
    let mut movements = Movements::default();
    let mut wraps = Vec::new();
    for (address, log) in logs {
        let address = *address;
        if address == NATIVE_TRANSFER_EMITTER {
            if let Ok(transfer) = erc20::Transfer::decode_log_data(log) {
                movements.native.push(Move {
                    token: None,
                    from: transfer.from,
                    to: transfer.to,
                    amount: transfer.value,
                });
            }
            continue;
        }
        movements.logs.push(decode_log(log, address, chain_id, known));
        if let Ok(t) = erc20::Transfer::decode_log_data(log) {
            movements.fungible.push(Move { token: Some(address), from: t.from, to: t.to, amount: t.value });
        } else if let Ok(t) = erc721::Transfer::decode_log_data(log) {
            movements.nft.push(NftMove {
                token: address,
                standard: Standard::Erc721,
                from: t.from,
                to: t.to,
                id: t.tokenId,
                amount: U256::from(1u8),
            });
        } else if let Ok(t) = erc1155::TransferSingle::decode_log_data(log) {
            movements.nft.push(NftMove {
                token: address,
                standard: Standard::Erc1155,
                from: t.from,
                to: t.to,
                id: t.id,
                amount: t.value,
            });
        } else if let Ok(t) = erc1155::TransferBatch::decode_log_data(log) {
            for (id, amount) in t.ids.iter().zip(&t.values) {
                movements.nft.push(NftMove {
                    token: address,
                    standard: Standard::Erc1155,
                    from: t.from,
                    to: t.to,
                    id: *id,
                    amount: *amount,
                });
            }
        } else if let Ok(a) = erc20::Approval::decode_log_data(log) {
            movements.approvals.push(ApprovalEvent {
                token: address,
                standard: Standard::Erc20,
                owner: a.owner,
                spender: a.spender,
                amount: Some(a.value),
                token_id: None,
                granted: !a.value.is_zero(),
            });
        } else if let Ok(a) = erc721::Approval::decode_log_data(log) {
            movements.approvals.push(ApprovalEvent {
                token: address,
                standard: Standard::Erc721,
                owner: a.owner,
                spender: a.approved,
                amount: None,
                token_id: Some(a.tokenId),
                granted: !a.approved.is_zero(),
            });
        } else if let Ok(a) = erc721::ApprovalForAll::decode_log_data(log) {
            // ERC721 and ERC1155 share this event; the standard is settled by the transfers seen,
            // and defaults to ERC721.
            movements.approvals.push(ApprovalEvent {
                token: address,
                standard: Standard::Erc721,
                owner: a.owner,
                spender: a.operator,
                amount: None,
                token_id: None,
                granted: a.approved,
            });
        } else if let Ok(d) = erc20::Deposit::decode_log_data(log) {
            wraps.push(Move { token: Some(address), from: Address::ZERO, to: d.dst, amount: d.wad });
        } else if let Ok(w) = erc20::Withdrawal::decode_log_data(log) {
            wraps.push(Move { token: Some(address), from: w.src, to: Address::ZERO, amount: w.wad });
        }
    }
    // A wrap is a mint to `to` paid by a native transfer to the token; an unwrap is a burn from
    // `from` repaid by a native transfer from the token.
    for wrap in wraps {
        let Some(token) = wrap.token else { continue };
        let paid = movements.native.iter().any(|n| {
            n.amount == wrap.amount
                && if wrap.from.is_zero() {
                    n.from == wrap.to && n.to == token
                } else {
                    n.from == token && n.to == wrap.from
                }
        });
        if paid {
            movements.fungible.push(wrap);
        }
    }
    for approval in &mut movements.approvals {
        if approval.standard == Standard::Erc721
            && movements.nft.iter().any(|m| m.token == approval.token && m.standard == Standard::Erc1155)
        {
            approval.standard = Standard::Erc1155;
        }
    }
    movements
}

/// Decodes one log with the emitter's ABI when known, else with the standard events.
fn decode_log(log: &LogData, address: Address, chain_id: u64, known: &KnownContracts) -> DecodedLog {
    let raw = DecodedLog {
        address,
        event: None,
        signature: None,
        args: None,
        topics: log.topics().iter().map(hex::encode_prefixed).collect(),
        data: hex::encode_prefixed(&log.data),
    };
    let Some(topic0) = log.topics().first() else { return raw };
    let contract = known.get(chain_id, address);
    let abis = contract.as_ref().map(|c| c.abi.as_ref()).into_iter().chain([&*STANDARD_EVENTS]);
    for abi in abis {
        for event in abi.events().filter(|e| !e.anonymous && e.selector() == *topic0) {
            if let Some(args) = decode_event_args(event, log).map(Value::Object) {
                return DecodedLog {
                    event: Some(event.name.clone()),
                    signature: Some(event.signature()),
                    args: Some(args),
                    ..raw
                };
            }
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_events_parse() {
        assert_eq!(STANDARD_EVENTS.events().count(), 9);
    }
}
