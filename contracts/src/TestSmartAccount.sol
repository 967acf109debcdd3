// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TestSmartAccount
/// @notice A minimal smart-contract wallet for tests of contract signatures: it holds no key of its
/// own and accepts a signature (EIP-1271) when its owner's key signed the hash.
contract TestSmartAccount {
    /// The EIP-1271 answer for a valid signature: bytes4(keccak256("isValidSignature(bytes32,bytes)")).
    bytes4 internal constant MAGIC = 0x1626ba7e;

    /// The key that signs for this account.
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// EIP-1271: MAGIC when `signature` (65 bytes: r, s, v) is the owner's `personal_sign` of the
    /// 32 bytes of `hash` (as simple smart accounts do), 0xffffffff otherwise.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", hash));
        address signer = ecrecover(digest, v, r, s);
        return signer != address(0) && signer == owner ? MAGIC : bytes4(0xffffffff);
    }

    /// Takes ETH like any account.
    receive() external payable {}
}

/// @title TestAccountFactory
/// @notice Deploys TestSmartAccounts at CREATE2 addresses known before deployment, so that a test can
/// sign in with an account that does not exist yet (ERC-6492).
contract TestAccountFactory {
    /// A new account for `owner` was deployed at `account`.
    event AccountCreated(address indexed account, address indexed owner);

    /// Deploys the account of `owner` with `salt` (or returns it when it exists).
    function createAccount(address owner, bytes32 salt) external returns (address account) {
        account = accountAddress(owner, salt);
        if (account.code.length > 0) return account;
        account = address(new TestSmartAccount{salt: salt}(owner));
        emit AccountCreated(account, owner);
    }

    /// The address the account of `owner` with `salt` has (or will have).
    function accountAddress(address owner, bytes32 salt) public view returns (address) {
        bytes32 codeHash = keccak256(abi.encodePacked(type(TestSmartAccount).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, codeHash)))));
    }
}
