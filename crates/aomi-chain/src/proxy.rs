//! Proxies found on chain: which contract's code a proxy runs.
//!
//! Explorers mark the proxies they know, but a devnet, a fork or an unverified proxy has no
//! explorer to ask, so [`detect_proxy`] reads the chain itself, in one round of requests:
//!
//! - **EIP-1967**: the implementation slot (`keccak256("eip1967.proxy.implementation") - 1`);
//!   else the beacon slot (`keccak256("eip1967.proxy.beacon") - 1`), whose beacon's
//!   `implementation()` names the code;
//! - **EIP-1822** (UUPS as first specified): the `keccak256("PROXIABLE")` slot;
//! - **EIP-1167** minimal proxies: the 45-byte runtime code that embeds its target's address.
//!
//! A slot holding zero, or an address without code, is no proxy.

use alloy::primitives::{Address, B256, U256, b256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use serde::Serialize;

use crate::error::ChainError;
use crate::session::Connection;

/// The EIP-1967 implementation slot.
pub const EIP1967_IMPLEMENTATION_SLOT: B256 = b256!("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
/// The EIP-1967 beacon slot.
pub const EIP1967_BEACON_SLOT: B256 = b256!("a3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50");
/// The EIP-1822 slot, `keccak256("PROXIABLE")`.
pub const EIP1822_SLOT: B256 = b256!("c5f16f0fcc639fa48a6947836d9850f504798523bf8c9a3a87d5876cf622bcf7");

/// EIP-1167's runtime code before the target's address, and after it.
const MINIMAL_PREFIX: [u8; 10] = [0x36, 0x3d, 0x3d, 0x37, 0x3d, 0x3d, 0x3d, 0x36, 0x3d, 0x73];
const MINIMAL_SUFFIX: [u8; 15] =
    [0x5a, 0xf4, 0x3d, 0x82, 0x80, 0x3e, 0x90, 0x3d, 0x91, 0x60, 0x2b, 0x57, 0xfd, 0x5b, 0xf3];

alloy::sol! {
    /// An EIP-1967 beacon.
    #[allow(missing_docs)]
    interface IBeacon {
        function implementation() external view returns (address);
    }
}

/// Which standard a proxy follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// EIP-1967, the implementation slot.
    Eip1967,
    /// EIP-1967, the beacon slot.
    Eip1967Beacon,
    /// EIP-1822.
    Eip1822,
    /// EIP-1167, a minimal proxy.
    Eip1167,
}

/// A proxy found on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyInfo {
    /// The standard.
    pub kind: ProxyKind,
    /// The contract whose code it runs.
    pub implementation: Address,
    /// The beacon, for a beacon proxy.
    pub beacon: Option<Address>,
}

/// The target of an EIP-1167 minimal proxy's runtime code, if it is one.
pub fn minimal_proxy_target(code: &[u8]) -> Option<Address> {
    let ok = code.len() == 45 && code.starts_with(&MINIMAL_PREFIX) && code.ends_with(&MINIMAL_SUFFIX);
    ok.then(|| Address::from_slice(&code[10..30]))
}

/// The address a storage slot holds (its low 20 bytes), when the high 12 are zero and it is not 0.
fn slot_address(value: U256) -> Option<Address> {
    let word = B256::from(value);
    (word[..12].iter().all(|b| *b == 0) && !value.is_zero()).then(|| Address::from_slice(&word[12..]))
}

/// Whether `address` is a proxy on the connection's network, and of what. `Ok(None)` for a
/// contract that is not a proxy (or no contract).
pub async fn detect_proxy(connection: &Connection, address: Address) -> Result<Option<ProxyInfo>, ChainError> {
    let provider = &connection.provider;
    let rpc = |e| ChainError::from_rpc(e, &connection.network, None);
    let (code, implementation, beacon, proxiable) = tokio::join!(
        provider.get_code_at(address),
        provider.get_storage_at(address, EIP1967_IMPLEMENTATION_SLOT.into()),
        provider.get_storage_at(address, EIP1967_BEACON_SLOT.into()),
        provider.get_storage_at(address, EIP1822_SLOT.into()),
    );
    let code = code.map_err(rpc)?;
    if code.is_empty() {
        return Ok(None);
    }
    let found = if let Some(target) = minimal_proxy_target(&code) {
        Some(ProxyInfo { kind: ProxyKind::Eip1167, implementation: target, beacon: None })
    } else if let Some(target) = slot_address(implementation.map_err(rpc)?) {
        Some(ProxyInfo { kind: ProxyKind::Eip1967, implementation: target, beacon: None })
    } else if let Some(beacon) = slot_address(beacon.map_err(rpc)?) {
        let call = IBeacon::implementationCall {}.abi_encode();
        let answer = crate::provider::call_latest(provider, beacon, call).await.map_err(rpc)?;
        let target = IBeacon::implementationCall::abi_decode_returns(&answer)
            .map_err(|e| ChainError::InvalidInput(format!("the beacon {beacon} answered no address: {e}")))?;
        Some(ProxyInfo { kind: ProxyKind::Eip1967Beacon, implementation: target, beacon: Some(beacon) })
    } else {
        slot_address(proxiable.map_err(rpc)?).map(|target| ProxyInfo {
            kind: ProxyKind::Eip1822,
            implementation: target,
            beacon: None,
        })
    };
    // A slot that points at an address without code is not a working proxy.
    match found {
        Some(info) if info.implementation != address => {
            let target_code = provider.get_code_at(info.implementation).await.map_err(rpc)?;
            Ok((!target_code.is_empty()).then_some(info))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, keccak256};

    use super::*;

    #[test]
    fn the_slots_are_the_standards() {
        let minus_one = |text: &str| B256::from(U256::from_be_bytes(keccak256(text).0) - U256::from(1));
        assert_eq!(EIP1967_IMPLEMENTATION_SLOT, minus_one("eip1967.proxy.implementation"));
        assert_eq!(EIP1967_BEACON_SLOT, minus_one("eip1967.proxy.beacon"));
        assert_eq!(EIP1822_SLOT, keccak256("PROXIABLE"));
    }

    #[test]
    fn a_minimal_proxy_names_its_target() {
        let target = address!("bebebebebebebebebebebebebebebebebebebebe");
        let code = [&MINIMAL_PREFIX[..], target.as_slice(), &MINIMAL_SUFFIX[..]].concat();
        assert_eq!(minimal_proxy_target(&code), Some(target));
        assert_eq!(minimal_proxy_target(&code[1..]), None);
        let mut other = code.clone();
        other[44] = 0;
        assert_eq!(minimal_proxy_target(&other), None);
    }

    #[test]
    fn a_slot_holds_an_address_only_in_its_low_bytes() {
        assert_eq!(slot_address(U256::ZERO), None);
        assert_eq!(slot_address(U256::from(0xabcdu64)), Some(Address::left_padding_from(&[0xab, 0xcd])));
        assert_eq!(slot_address(U256::MAX), None);
    }
}
