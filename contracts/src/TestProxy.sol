// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TestProxy
/// @notice An EIP-1967 proxy: every call runs its implementation's code on the proxy's own storage.
/// It has no function of its own, so a caller needs the implementation's ABI, found on chain in the
/// EIP-1967 implementation slot.
contract TestProxy {
    /// keccak256("eip1967.proxy.implementation") - 1
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    /// EIP-1967's event for a new implementation.
    event Upgraded(address indexed implementation);

    constructor(address implementation) {
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
    }

    fallback() external payable {
        assembly {
            let target := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
