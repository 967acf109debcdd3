//! Who signed a message: the signer of an `eth_sign` / `personal_sign` signature (EIP-191), as
//! wallets make them for "Sign-In with Ethereum".

use alloy::primitives::{Address, Signature};

use crate::ChainError;

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

// The signer of a real signature is tested against anvil's `personal_sign` in aomi-server's
// sign-in tests.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_signature() {
        assert!(matches!(recover_signer("hello", "0x1234"), Err(ChainError::InvalidInput(_))));
        assert!(matches!(recover_signer("hello", "not hex"), Err(ChainError::InvalidInput(_))));
    }
}
