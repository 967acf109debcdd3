//! The project's Solidity contracts (`contracts/` at the repository root), compiled by
//! `contracts/compile.mjs` and embedded here, and the small typed interfaces the tools call.

use alloy::json_abi::JsonAbi;
use alloy::primitives::Bytes;
use serde::Deserialize;

use crate::error::ChainError;

/// A compiled contract: its ABI and creation bytecode.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The contract's name.
    pub contract_name: String,
    /// Its ABI.
    pub abi: JsonAbi,
    /// Creation bytecode (constructor arguments are appended to it).
    pub bytecode: Bytes,
    /// Runtime bytecode.
    pub deployed_bytecode: Bytes,
}

impl Artifact {
    fn parse(json: &str) -> Result<Self, ChainError> {
        serde_json::from_str(json).map_err(|e| ChainError::Config(format!("a contract artifact is invalid: {e}")))
    }

    /// `TestToken`: an ERC20 whose decimals are set at deployment, with an open `mint`.
    pub fn test_token() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/TestToken.json"))
    }

    /// `WrappedEther`: a WETH9-like wrapper.
    pub fn wrapped_ether() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/WrappedEther.json"))
    }

    /// `OrderBook`: functions taking structs, nested structs, arrays, bytes32, and overloads.
    pub fn order_book() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/OrderBook.json"))
    }

    /// `Reverter`: reverts with custom errors, strings, panics and no data.
    pub fn reverter() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/Reverter.json"))
    }

    /// `TestProxy`: an EIP-1967 proxy, deployed with its implementation's address.
    pub fn test_proxy() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/TestProxy.json"))
    }

    /// `TestAccountFactory`: deploys `TestSmartAccount`s (a smart-contract wallet that accepts its
    /// owner's signatures by EIP-1271) at CREATE2 addresses known before deployment.
    pub fn test_account_factory() -> Result<Self, ChainError> {
        Self::parse(include_str!("../../../contracts/artifacts/TestAccountFactory.json"))
    }
}

alloy::sol! {
    /// The ERC20 functions the tools read.
    #[allow(missing_docs)]
    interface IERC20 {
        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
        function totalSupply() external view returns (uint256);
        function balanceOf(address owner) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function transfer(address to, uint256 amount) external returns (bool);
        function approve(address spender, uint256 amount) external returns (bool);
        function transferFrom(address from, address to, uint256 amount) external returns (bool);
        function mint(address to, uint256 amount) external;
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
    }
}
