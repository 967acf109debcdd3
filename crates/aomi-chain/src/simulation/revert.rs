//! Why a simulated call failed, in words.

use std::sync::LazyLock;

use alloy::json_abi::JsonAbi;
use alloy::primitives::hex;

use crate::abi::decode_revert;
use crate::simulation::report::Revert;

/// Errors of the common standards (OpenZeppelin 5's IERC20Errors, IERC721Errors, IERC1155Errors
/// and its access-control errors), decoded even when the contract's ABI is unknown.
static STANDARD_ERRORS: LazyLock<JsonAbi> = LazyLock::new(|| {
    JsonAbi::parse([
        "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
        "error ERC20InvalidSender(address sender)",
        "error ERC20InvalidReceiver(address receiver)",
        "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
        "error ERC20InvalidApprover(address approver)",
        "error ERC20InvalidSpender(address spender)",
        "error ERC721InvalidOwner(address owner)",
        "error ERC721NonexistentToken(uint256 tokenId)",
        "error ERC721IncorrectOwner(address sender, uint256 tokenId, address owner)",
        "error ERC721InvalidSender(address sender)",
        "error ERC721InvalidReceiver(address receiver)",
        "error ERC721InsufficientApproval(address operator, uint256 tokenId)",
        "error ERC721InvalidApprover(address approver)",
        "error ERC721InvalidOperator(address operator)",
        "error ERC1155InsufficientBalance(address sender, uint256 balance, uint256 needed, uint256 tokenId)",
        "error ERC1155InvalidSender(address sender)",
        "error ERC1155InvalidReceiver(address receiver)",
        "error ERC1155MissingApprovalForAll(address operator, address owner)",
        "error ERC1155InvalidApprover(address approver)",
        "error ERC1155InvalidOperator(address operator)",
        "error ERC1155InvalidArrayLength(uint256 idsLength, uint256 valuesLength)",
        "error OwnableUnauthorizedAccount(address account)",
        "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
        "error EnforcedPause()",
        "error SafeERC20FailedOperation(address token)",
        "error ReentrancyGuardReentrantCall()",
    ])
    .unwrap_or_default()
});

/// Decodes revert data with the contract's ABI when known, then with the standard errors.
pub(crate) fn decode(data: &[u8], abi: Option<&JsonAbi>) -> Revert {
    let mut reason = decode_revert(data, abi);
    if reason.kind == "unknown" {
        reason = decode_revert(data, Some(&STANDARD_ERRORS));
    }
    Revert { reason: reason.message, kind: reason.kind, name: reason.name, args: reason.args, data: Some(reason.data) }
}

/// A failure without revert data, from the node's message and the gas spent.
pub(crate) fn without_data(message: &str, gas_used: u64, gas_limit: Option<u64>) -> Revert {
    let lower = message.to_ascii_lowercase();
    let (kind, reason) = if lower.contains("out of gas") || gas_limit.is_some_and(|limit| gas_used >= limit) {
        let limit = gas_limit.map(|l| format!(" (gas limit {l})")).unwrap_or_default();
        ("out-of-gas", format!("it runs out of gas{limit}"))
    } else if lower.contains("insufficient") {
        ("insufficient-funds", format!("the sender cannot pay for it ({message})"))
    } else {
        ("empty", "it reverts without a reason".to_owned())
    };
    Revert { reason, kind: kind.into(), name: None, args: None, data: Some(hex::encode_prefixed([])) }
}

/// The node refused to run the transaction at all (insufficient funds, gas below the intrinsic
/// cost, …).
pub(crate) fn rejected(message: &str) -> Revert {
    let lower = message.to_ascii_lowercase();
    let kind = if lower.contains("insufficient funds") { "insufficient-funds" } else { "rejected" };
    Revert {
        reason: format!("the node refuses to run it: {message}"),
        kind: kind.into(),
        name: None,
        args: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_errors_parse() {
        assert_eq!(STANDARD_ERRORS.errors().count(), 26);
    }
}
