//! Errors of the chain layer. Their text reaches the model and the user: it says what went wrong in
//! plain words, names the network, and never carries an RPC URL's path (which may hold an API key).

use alloy::transports::{RpcError, TransportErrorKind};

use crate::abi::{AbiError, RevertReason, decode_revert};
use crate::network::Network;
use crate::units::UnitsError;

/// What can go wrong in the chain layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No network of that name.
    #[error("unknown network \"{asked}\"; known networks: {known}")]
    UnknownNetwork {
        /// What was asked for.
        asked: String,
        /// The known networks.
        known: String,
    },
    /// No network with that chain id.
    #[error("chain id {chain_id} is not a network aomi knows; known networks: {known}")]
    UnknownChainId {
        /// The chain id.
        chain_id: u64,
        /// The known networks.
        known: String,
    },
    /// The network configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// Not an address (nor, where accepted, an ENS name).
    #[error("\"{0}\" is not an address (0x followed by 40 hex digits)")]
    InvalidAddress(String),
    /// A value is malformed (a hash, a block number).
    #[error("{0}")]
    InvalidInput(String),
    /// The RPC endpoint could not be reached.
    #[error("cannot reach the RPC of {network} ({hosts}): {reason}")]
    Unreachable {
        /// The network's name.
        network: String,
        /// Its endpoints, without paths.
        hosts: String,
        /// Why.
        reason: String,
    },
    /// The RPC answered with an error.
    #[error("the RPC of {network} answered an error: {message}")]
    Rpc {
        /// The network's name.
        network: String,
        /// The error.
        message: String,
    },
    /// A call reverted (boxed: the reason is large and errors travel by value).
    #[error("the call reverted: {0}")]
    Reverted(Box<RevertReason>),
    /// Encoding or decoding failed.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// An amount does not convert.
    #[error(transparent)]
    Units(#[from] UnitsError),
    /// ENS is not deployed on this network.
    #[error("ENS is not available on {network}; ENS names resolve on: {ens_networks}")]
    EnsUnavailable {
        /// The network asked.
        network: String,
        /// The networks where ENS works.
        ens_networks: String,
    },
    /// An ENS name or address did not resolve.
    #[error("{0}")]
    Ens(String),
    /// Nothing found (a transaction, a block).
    #[error("{0}")]
    NotFound(String),
}

impl ChainError {
    /// Turns an alloy RPC error on `network` into a clear error; revert data is decoded with
    /// `abi`'s custom errors when known.
    pub fn from_rpc(
        error: RpcError<TransportErrorKind>,
        network: &Network,
        abi: Option<&alloy::json_abi::JsonAbi>,
    ) -> Self {
        match error {
            RpcError::ErrorResp(payload) => match payload.as_revert_data() {
                Some(data) => ChainError::Reverted(Box::new(decode_revert(&data, abi))),
                None if payload.message.contains("execution reverted") || payload.message.contains("revert") => {
                    ChainError::Reverted(Box::new(decode_revert(&[], abi)))
                }
                None => ChainError::Rpc { network: network.name.clone(), message: payload.message.to_string() },
            },
            RpcError::Transport(kind) => ChainError::Unreachable {
                network: network.name.clone(),
                hosts: network.rpc_hosts(),
                reason: redact(&transport_reason(&kind), network),
            },
            other => ChainError::Rpc { network: network.name.clone(), message: redact(&other.to_string(), network) },
        }
    }
}

/// The innermost cause of a transport error ("Connection refused"), not reqwest's wrapper text.
fn transport_reason(kind: &TransportErrorKind) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(kind);
    let mut reason = kind.to_string();
    while let Some(error) = source {
        reason = error.to_string();
        source = error.source();
    }
    reason
}

/// Replaces the network's RPC URLs in a message by their hosts.
fn redact(message: &str, network: &Network) -> String {
    let mut text = message.to_owned();
    for url in &network.rpc_urls {
        text = text.replace(url.as_str(), &crate::network::redact_url(url));
        let trimmed = url.trim_end_matches('/');
        text = text.replace(trimmed, &crate::network::redact_url(url));
    }
    text
}
