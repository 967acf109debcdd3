//! Who signed a message: the checks behind "Sign-In with Ethereum" for every kind of wallet.
//!
//! - A wallet with a key (an EOA) signs with `personal_sign` (EIP-191): the signer is recovered
//!   from the signature.
//! - A smart-contract wallet (a Safe, a smart account) has no key of its own: the contract says
//!   whether a signature is its own through EIP-1271 `isValidSignature(hash, signature)`, asked
//!   on the wallet's chain.
//! - A smart account not deployed yet (counterfactual) sends an ERC-6492 signature: the factory
//!   and the call that would deploy it, wrapped around the signature. The deployment and the
//!   EIP-1271 check run together in one simulated block (`eth_simulateV1`), so nothing is
//!   deployed and no foreign validator bytecode is needed.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, FixedBytes, Signature, U256, eip191_hash_message, hex};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolValue};

use crate::ChainError;
use crate::session::Connection;
use crate::simulation::rpc::{SimFailure, call_json, simulate_calls};

alloy::sol! {
    /// EIP-1271: a contract's answer to "is this signature yours?".
    #[allow(missing_docs)]
    interface IERC1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4 magicValue);
    }
}

/// What `isValidSignature` answers for a valid signature.
pub const EIP1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// The 32 bytes that end an ERC-6492 signature.
pub const ERC6492_SUFFIX: [u8; 32] = [
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64,
    0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
];

/// Longest signature accepted, in bytes (an ERC-6492 wrapper carries a factory call).
pub const MAX_SIGNATURE_BYTES: usize = 16 * 1024;

/// How a wallet proved a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedBy {
    /// The wallet's key (an EOA).
    Key,
    /// A deployed smart-contract wallet, by EIP-1271.
    Contract,
    /// A smart-contract wallet not deployed yet, by ERC-6492.
    UndeployedContract,
}

/// Why a signature does not prove the wallet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not a signature at all.
    #[error("not a signature: {0}")]
    Malformed(String),
    /// A key signed, but not the wallet's, and the wallet is no contract that could accept it.
    #[error("it was made by {}", .0.to_checksum(None))]
    OtherSigner(Address),
    /// The wallet is a contract and it refused the signature.
    #[error("the contract wallet {} does not accept this signature", .0.to_checksum(None))]
    Refused(Address),
    /// The wallet's chain could not be asked.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// The address whose key signed `message` with `personal_sign`: `signature` is the 65-byte
/// signature as hex (`0x` + r, s, v; v as 27/28 or 0/1).
pub fn recover_signer(message: &str, signature: &str) -> Result<Address, ChainError> {
    let signature: Signature = signature
        .trim()
        .parse()
        .map_err(|e| ChainError::InvalidInput(format!("not a 65-byte signature in hex: {e}")))?;
    signature
        .recover_address_from_msg(message.as_bytes())
        .map_err(|e| ChainError::InvalidInput(format!("the signature does not recover a signer: {e}")))
}

/// Checks that `wallet` signed `message` (EIP-191 `personal_sign`), whatever kind of wallet it
/// is: by its key, by EIP-1271 when it is a contract on `connection`'s chain, or by ERC-6492
/// when it is a contract not deployed yet. The chain is only asked when the signature is not the
/// wallet's key's.
pub async fn verify_message(
    connection: &Connection,
    wallet: Address,
    message: &str,
    signature: &str,
) -> Result<SignedBy, SignatureError> {
    let bytes = signature_bytes(signature)?;
    let hash = eip191_hash_message(message.as_bytes());
    if let Some((factory, deploy_call, inner)) = unwrap_erc6492(&bytes)? {
        return if has_code(connection, wallet).await? {
            check_eip1271(connection, wallet, hash, inner).await.map(|()| SignedBy::Contract)
        } else {
            check_undeployed(connection, wallet, hash, factory, deploy_call, inner).await
        };
    }
    let recovered = recover_from_hash(&bytes, hash);
    if recovered == Some(wallet) {
        return Ok(SignedBy::Key);
    }
    if has_code(connection, wallet).await? {
        return check_eip1271(connection, wallet, hash, bytes).await.map(|()| SignedBy::Contract);
    }
    match recovered {
        Some(signer) => Err(SignatureError::OtherSigner(signer)),
        None => Err(SignatureError::Malformed("it is not a 65-byte signature that recovers a signer".into())),
    }
}

/// The signature's bytes from `0x…` hex, bounded in size.
fn signature_bytes(signature: &str) -> Result<Bytes, SignatureError> {
    let text = signature.trim();
    if text.len() > 2 + 2 * MAX_SIGNATURE_BYTES {
        return Err(SignatureError::Malformed(format!("it is longer than {MAX_SIGNATURE_BYTES} bytes")));
    }
    hex::decode(text).map(Bytes::from).map_err(|e| SignatureError::Malformed(format!("it is not hex: {e}")))
}

/// The signer of a 65-byte signature over `hash`, if it recovers one.
fn recover_from_hash(bytes: &[u8], hash: B256) -> Option<Address> {
    let signature = Signature::try_from(bytes).ok()?;
    signature.recover_address_from_prehash(&hash).ok()
}

/// An ERC-6492 signature's `(factory, factory calldata, inner signature)`; `None` for any other.
fn unwrap_erc6492(bytes: &[u8]) -> Result<Option<(Address, Bytes, Bytes)>, SignatureError> {
    let Some(wrapped) = bytes.strip_suffix(&ERC6492_SUFFIX) else { return Ok(None) };
    <(Address, Bytes, Bytes)>::abi_decode_params(wrapped)
        .map(Some)
        .map_err(|e| SignatureError::Malformed(format!("an ERC-6492 signature that does not decode: {e}")))
}

async fn has_code(connection: &Connection, address: Address) -> Result<bool, ChainError> {
    let code = connection
        .provider
        .get_code_at(address)
        .await
        .map_err(|e| ChainError::from_rpc(e, &connection.network, None))?;
    Ok(!code.is_empty())
}

/// Asks the deployed contract `wallet` whether `signature` over `hash` is its own.
async fn check_eip1271(
    connection: &Connection,
    wallet: Address,
    hash: B256,
    signature: Bytes,
) -> Result<(), SignatureError> {
    let call = IERC1271::isValidSignatureCall { hash, signature }.abi_encode();
    match crate::provider::call_latest(&connection.provider, wallet, call).await {
        Ok(answer) if is_magic(&answer) => Ok(()),
        Ok(_) => Err(SignatureError::Refused(wallet)),
        // A contract without the function, or one that reverts on a bad signature, refuses it.
        Err(error) => match ChainError::from_rpc(error, &connection.network, None) {
            ChainError::Reverted(_) => Err(SignatureError::Refused(wallet)),
            other => Err(other.into()),
        },
    }
}

/// Deploys `wallet` through its factory and asks it about the signature, in one simulated block.
async fn check_undeployed(
    connection: &Connection,
    wallet: Address,
    hash: B256,
    factory: Address,
    deploy_call: Bytes,
    signature: Bytes,
) -> Result<SignedBy, SignatureError> {
    let check = IERC1271::isValidSignatureCall { hash, signature }.abi_encode();
    let calls = vec![
        call_json(Address::ZERO, factory, U256::ZERO, &deploy_call, None),
        call_json(Address::ZERO, wallet, U256::ZERO, &check, None),
    ];
    let results = simulate_calls(&connection.provider, calls, BlockNumberOrTag::Latest).await.map_err(|failure| {
        let message = match failure {
            SimFailure::Unsupported => format!(
                "the RPC of {} cannot simulate (no eth_simulateV1), so the signature of an account that is not deployed yet cannot be checked",
                connection.network.name
            ),
            SimFailure::Rejected(reason) => reason,
            SimFailure::Rpc(error) => ChainError::from_rpc(error, &connection.network, None).to_string(),
        };
        SignatureError::Chain(ChainError::Rpc { network: connection.network.name.clone(), message })
    })?;
    match results.as_slice() {
        [deploy, answer] if deploy.succeeded() && answer.succeeded() && is_magic(&answer.return_data) => {
            Ok(SignedBy::UndeployedContract)
        }
        _ => Err(SignatureError::Refused(wallet)),
    }
}

/// True when an `isValidSignature` answer is the EIP-1271 magic value.
fn is_magic(answer: &[u8]) -> bool {
    <FixedBytes<4>>::abi_decode(answer).is_ok_and(|value| value.0 == EIP1271_MAGIC)
}

// Real signatures (keys, a deployed smart account, an undeployed one) are tested against anvil in
// aomi-server's sign-in tests.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_signature() {
        assert!(matches!(recover_signer("hello", "0x1234"), Err(ChainError::InvalidInput(_))));
        assert!(matches!(recover_signer("hello", "not hex"), Err(ChainError::InvalidInput(_))));
        assert!(matches!(signature_bytes("not hex"), Err(SignatureError::Malformed(_))));
        let huge = format!("0x{}", "ab".repeat(MAX_SIGNATURE_BYTES + 1));
        assert!(matches!(signature_bytes(&huge), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn an_erc6492_wrapper_is_recognised_by_its_suffix() {
        let factory = Address::repeat_byte(0xfa);
        let wrapped = [
            (factory, Bytes::from(vec![1, 2, 3]), Bytes::from(vec![9; 65])).abi_encode_params(),
            ERC6492_SUFFIX.to_vec(),
        ]
        .concat();
        let (f, call, inner) = unwrap_erc6492(&wrapped).unwrap().unwrap();
        assert_eq!((f, call.to_vec(), inner.len()), (factory, vec![1, 2, 3], 65));
        assert_eq!(unwrap_erc6492(&[7; 65]).unwrap(), None);
        // The suffix on bytes that do not decode is a malformed signature, not an EOA's.
        assert!(matches!(
            unwrap_erc6492(&[&[1u8; 10][..], &ERC6492_SUFFIX].concat()),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn only_the_magic_value_is_a_yes() {
        let magic = FixedBytes::<4>::from(EIP1271_MAGIC).abi_encode();
        assert!(is_magic(&magic));
        assert!(!is_magic(&FixedBytes::<4>::from([0xff; 4]).abi_encode()));
        assert!(!is_magic(&[]));
    }
}
