// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Reverter
/// @notice Fails in every way a call can fail, so that revert decoding is tested on real revert data.
contract Reverter {
    /// A custom error with arguments.
    error TooLarge(uint256 value, uint256 max);
    /// A custom error with an address and a bytes32.
    error Unauthorized(address caller, bytes32 role);

    uint256 public constant MAX = 10;

    /// Returns `value` when it is at most MAX; reverts with the custom error TooLarge otherwise.
    function checked(uint256 value) external pure returns (uint256) {
        if (value > MAX) revert TooLarge(value, MAX);
        return value;
    }

    /// Always reverts with the custom error Unauthorized.
    function adminOnly() external view {
        revert Unauthorized(msg.sender, keccak256("ADMIN"));
    }

    /// Always reverts with a string reason (Error(string)).
    function alwaysFails() external pure {
        revert("Reverter: this always fails");
    }

    /// Reverts with a require message when `ok` is false.
    function mustBeTrue(bool ok) external pure returns (bool) {
        require(ok, "Reverter: ok must be true");
        return ok;
    }

    /// Divides, panicking with Panic(0x12) on a zero divisor.
    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    /// Reverts with no data at all.
    function bare() external pure {
        revert();
    }
}
