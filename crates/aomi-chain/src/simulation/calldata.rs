//! What a transaction's calldata says, for the shapes the risk rules need: token transfers and
//! approvals (ERC20, ERC721, ERC1155), and swaps with a minimum output.
//!
//! Swaps are found by their parameters' names (`amountOutMin`, `amountOutMinimum`,
//! `minReturnAmount`, …) in a built-in ABI of the common routers (Uniswap V2 and V3 routers,
//! SwapRouter02, 1inch v6), in the called contract's own ABI when it is known, inside `multicall`
//! wrappers, and in the Universal Router's `execute` commands.

use std::sync::LazyLock;

use alloy::dyn_abi::{DynSolType, DynSolValue, JsonAbiExt};
use alloy::json_abi::{JsonAbi, Param};
use alloy::primitives::{Address, U256};
use alloy::sol_types::{SolCall, SolInterface};

mod token {
    alloy::sol! {
        interface TokenCalls {
            function transfer(address to, uint256 amount);
            function transferFrom(address from, address to, uint256 amount);
            function approve(address spender, uint256 amount);
            function setApprovalForAll(address operator, bool approved);
            function safeTransferFrom(address from, address to, uint256 tokenId);
            function safeTransferFrom(address from, address to, uint256 tokenId, bytes data);
            function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes data);
            function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] amounts, bytes data);
        }
    }
}

mod router {
    alloy::sol! {
        function multicall(bytes[] data);
        function multicall(uint256 deadline, bytes[] data);
        function execute(bytes commands, bytes[] inputs);
        function execute(bytes commands, bytes[] inputs, uint256 deadline);
    }
}

use token::TokenCalls::TokenCallsCalls as Call;

/// A token transfer or approval, read from calldata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCall {
    /// ERC20 `transfer(to, amount)`.
    Transfer {
        /// The recipient.
        to: Address,
        /// Base units.
        amount: U256,
    },
    /// `transferFrom(from, to, amount)`: ERC20, or ERC721 where `amount` is the token id.
    TransferFrom {
        /// Whose tokens.
        from: Address,
        /// The recipient.
        to: Address,
        /// Base units, or the ERC721 token id.
        amount: U256,
    },
    /// `approve(spender, amount)`: ERC20, or ERC721 where `amount` is the token id.
    Approve {
        /// Who may spend.
        spender: Address,
        /// The allowance, or the ERC721 token id.
        amount: U256,
    },
    /// `setApprovalForAll(operator, approved)` (ERC721, ERC1155).
    SetApprovalForAll {
        /// Who may move every token.
        operator: Address,
        /// Granted or revoked.
        approved: bool,
    },
    /// `safeTransferFrom` or `safeBatchTransferFrom` (ERC721, ERC1155).
    SafeTransfer {
        /// Whose tokens.
        from: Address,
        /// The recipient.
        to: Address,
    },
}

impl TokenCall {
    /// Reads calldata as a token call.
    pub fn decode(data: &[u8]) -> Option<Self> {
        Some(match Call::abi_decode(data).ok()? {
            Call::transfer(c) => TokenCall::Transfer { to: c.to, amount: c.amount },
            Call::transferFrom(c) => TokenCall::TransferFrom { from: c.from, to: c.to, amount: c.amount },
            Call::approve(c) => TokenCall::Approve { spender: c.spender, amount: c.amount },
            Call::setApprovalForAll(c) => TokenCall::SetApprovalForAll { operator: c.operator, approved: c.approved },
            Call::safeTransferFrom_0(c) => TokenCall::SafeTransfer { from: c.from, to: c.to },
            Call::safeTransferFrom_1(c) => TokenCall::SafeTransfer { from: c.from, to: c.to },
            Call::safeTransferFrom_2(c) => TokenCall::SafeTransfer { from: c.from, to: c.to },
            Call::safeBatchTransferFrom(c) => TokenCall::SafeTransfer { from: c.from, to: c.to },
        })
    }

    /// Who receives the tokens, for a transfer.
    pub fn recipient(&self) -> Option<Address> {
        match self {
            TokenCall::Transfer { to, .. }
            | TokenCall::TransferFrom { to, .. }
            | TokenCall::SafeTransfer { to, .. } => Some(*to),
            TokenCall::Approve { .. } | TokenCall::SetApprovalForAll { .. } => None,
        }
    }

    /// The fungible amount `sender` sends from its own balance: a `transfer`, or a `transferFrom`
    /// out of the sender's own account.
    pub fn amount_sent_by(&self, sender: Address) -> Option<U256> {
        match self {
            TokenCall::Transfer { amount, .. } => Some(*amount),
            TokenCall::TransferFrom { from, amount, .. } if *from == sender => Some(*amount),
            _ => None,
        }
    }
}

mod swaps {
    alloy::sol! {
        #[sol(abi)]
        #[allow(missing_docs)]
        interface SwapRouters {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            struct ExactInputParams { bytes path; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; }
            struct ExactInputSingleParams02 { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            struct ExactInputParams02 { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
            struct SwapDescription { address srcToken; address dstToken; address srcReceiver; address dstReceiver; uint256 amount; uint256 minReturnAmount; uint256 flags; }

            // Uniswap V2 router (and its forks)
            function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
            function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline);
            function swapExactTokensForETH(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
            function swapExactTokensForTokensSupportingFeeOnTransferTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
            function swapExactETHForTokensSupportingFeeOnTransferTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline);
            function swapExactTokensForETHSupportingFeeOnTransferTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
            // Uniswap V3 SwapRouter
            function exactInputSingle(ExactInputSingleParams params);
            function exactInput(ExactInputParams params);
            // SwapRouter02 (no deadline in the structs)
            function exactInputSingle(ExactInputSingleParams02 params);
            function exactInput(ExactInputParams02 params);
            function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to);
            // 1inch aggregation router v6
            function swap(address executor, SwapDescription desc, bytes data);
        }
    }
}

/// The routers' swap functions with a minimum output, with their parameters' names.
static SWAP_ABI: LazyLock<JsonAbi> = LazyLock::new(swaps::SwapRouters::abi::contract);

/// Parameter names that mean "the least output the swap accepts".
const MIN_OUTPUT_NAMES: &[&str] = &[
    "amountoutmin",
    "amountoutminimum",
    "minamountout",
    "minreturn",
    "minreturnamount",
    "minout",
    "minoutput",
    "minimumamountout",
    "minamount",
    "buyamountmin",
];

/// A swap's minimum output, as found in calldata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinimumOutput {
    /// The function that carries it: `swapExactTokensForTokens(…)`, `execute(bytes,bytes[])`.
    pub function: String,
    /// The parameter's name.
    pub parameter: String,
    /// Its value in base units of the output token.
    pub value: U256,
}

/// The minimum outputs of every swap in `data`: a router call, its `multicall` wrappers, or the
/// Universal Router's commands. `abi` is the called contract's ABI, when known.
pub fn minimum_outputs(data: &[u8], abi: Option<&JsonAbi>) -> Vec<MinimumOutput> {
    let mut found = Vec::new();
    collect_minimum_outputs(data, abi, 0, &mut found);
    found
}

fn collect_minimum_outputs(data: &[u8], abi: Option<&JsonAbi>, depth: usize, found: &mut Vec<MinimumOutput>) {
    if data.len() < 4 || depth > 3 {
        return;
    }
    if let Ok(call) = router::multicall_0Call::abi_decode(data) {
        call.data.iter().for_each(|inner| collect_minimum_outputs(inner, abi, depth + 1, found));
        return;
    }
    if let Ok(call) = router::multicall_1Call::abi_decode(data) {
        call.data.iter().for_each(|inner| collect_minimum_outputs(inner, abi, depth + 1, found));
        return;
    }
    if let Ok(call) = router::execute_0Call::abi_decode(data) {
        universal_router(&call.commands, &call.inputs, found);
        return;
    }
    if let Ok(call) = router::execute_1Call::abi_decode(data) {
        universal_router(&call.commands, &call.inputs, found);
        return;
    }
    let selector = &data[..4];
    for abi in abi.into_iter().chain([&*SWAP_ABI]) {
        for function in abi.functions().filter(|f| f.selector().as_slice() == selector) {
            if let Ok(values) = function.abi_decode_input(&data[4..]) {
                let before = found.len();
                for (value, param) in values.iter().zip(&function.inputs) {
                    named_minimums(value, param, &function.signature(), found);
                }
                if found.len() > before {
                    return;
                }
            }
        }
    }
}

/// Walks a decoded argument for integer fields whose name means a minimum output.
fn named_minimums(value: &DynSolValue, param: &Param, function: &str, found: &mut Vec<MinimumOutput>) {
    match value {
        DynSolValue::Uint(amount, _) => {
            let name = param.name.to_ascii_lowercase().replace('_', "");
            if MIN_OUTPUT_NAMES.contains(&name.as_str()) {
                found.push(MinimumOutput {
                    function: function.to_owned(),
                    parameter: param.name.clone(),
                    value: *amount,
                });
            }
        }
        // A named struct decodes to `CustomStruct` with alloy's eip712 feature: the same tuple.
        DynSolValue::Tuple(items) | DynSolValue::CustomStruct { tuple: items, .. } => {
            for (item, component) in items.iter().zip(&param.components) {
                named_minimums(item, component, function, found);
            }
        }
        _ => {}
    }
}

/// The Universal Router's swap commands: `V3_SWAP_EXACT_IN` (0x00) and `V2_SWAP_EXACT_IN` (0x08),
/// whose inputs are `(recipient, amountIn, amountOutMin, path, payerIsUser)`.
fn universal_router(commands: &[u8], inputs: &[alloy::primitives::Bytes], found: &mut Vec<MinimumOutput>) {
    let v3 = DynSolType::Tuple(vec![
        DynSolType::Address,
        DynSolType::Uint(256),
        DynSolType::Uint(256),
        DynSolType::Bytes,
        DynSolType::Bool,
    ]);
    let v2 = DynSolType::Tuple(vec![
        DynSolType::Address,
        DynSolType::Uint(256),
        DynSolType::Uint(256),
        DynSolType::Array(Box::new(DynSolType::Address)),
        DynSolType::Bool,
    ]);
    for (command, input) in commands.iter().zip(inputs) {
        let (ty, name) = match command & 0x3f {
            0x00 => (&v3, "V3_SWAP_EXACT_IN"),
            0x08 => (&v2, "V2_SWAP_EXACT_IN"),
            _ => continue,
        };
        if let Ok(DynSolValue::Tuple(fields)) = ty.abi_decode_params(input)
            && let Some(DynSolValue::Uint(min, _)) = fields.get(2)
        {
            found.push(MinimumOutput {
                function: format!("execute: {name}"),
                parameter: "amountOutMin".into(),
                value: *min,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_swap_functions_parse() {
        assert_eq!(SWAP_ABI.functions().count(), 12);
    }

    /// An explorer's ABI names its structs (`internalType`), which alloy decodes as a
    /// `CustomStruct`: a zero minimum inside one must still be found.
    #[test]
    fn a_minimum_inside_a_named_struct_is_found() {
        let abi: JsonAbi = serde_json::from_str(
            r#"[{"type":"function","name":"swapIt","stateMutability":"payable","outputs":[],"inputs":[
                {"name":"params","type":"tuple","internalType":"struct Router.Params","components":[
                    {"name":"amountIn","type":"uint256","internalType":"uint256"},
                    {"name":"amountOutMinimum","type":"uint256","internalType":"uint256"}]}]}]"#,
        )
        .expect("the ABI parses");
        let function = abi.functions().next().expect("one function");
        let data = function
            .abi_encode_input(&[DynSolValue::Tuple(vec![
                DynSolValue::Uint(U256::from(1000u32), 256),
                DynSolValue::Uint(U256::ZERO, 256),
            ])])
            .expect("the call encodes");
        let found = minimum_outputs(&data, Some(&abi));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].parameter, "amountOutMinimum");
        assert_eq!(found[0].value, U256::ZERO);
    }
}
