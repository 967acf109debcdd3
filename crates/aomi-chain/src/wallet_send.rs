//! Sending a transaction as a person's wallet does: for the tests and evals that play the wallet
//! on a devnet.
//!
//! A node's `eth_estimateGas` is exact for the block it estimates in, and the block the
//! transaction is mined in can differ. anvil gives every block mined within one second the same
//! timestamp, and a Uniswap V3 pool writes its price oracle only on the first swap at a new
//! timestamp: a swap estimated within the second of the pool's last write and mined in the next
//! second needs a few thousand gas more than the estimate, and reverts out of gas. Wallets add a
//! margin to the estimate for such differences, and so does [`wallet_gas_limit`].

use alloy::primitives::TxHash;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};

use crate::devnet::DevnetError;

/// What a wallet adds to the node's gas estimate, in percent of it.
pub const WALLET_GAS_MARGIN_PERCENT: u64 = 25;

/// How long a receipt is waited for (anvil mines at once; a devnet without automine may not).
const RECEIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The gas limit a wallet gives `tx`: the node's estimate plus [`WALLET_GAS_MARGIN_PERCENT`]. An
/// estimate that fails (the transaction would revert) is an error naming the node's reason.
pub async fn wallet_gas_limit(provider: &DynProvider, tx: &TransactionRequest) -> Result<u64, DevnetError> {
    let estimate = provider.estimate_gas(tx.clone()).await.map_err(|e| send_error(format!("estimating gas: {e}")))?;
    Ok(estimate.saturating_add(estimate.saturating_mul(WALLET_GAS_MARGIN_PERCENT) / 100))
}

/// Sends `tx` from an unlocked account as a wallet would (its gas limit, unless set, from
/// [`wallet_gas_limit`]) and waits for its receipt, which is returned whether it succeeded or not.
pub async fn send_as_wallet(
    provider: &DynProvider,
    mut tx: TransactionRequest,
) -> Result<TransactionReceipt, DevnetError> {
    if tx.gas.is_none() {
        tx.gas = Some(wallet_gas_limit(provider, &tx).await?);
    }
    let pending = provider.send_transaction(tx).await.map_err(|e| send_error(e.to_string()))?;
    receipt(provider, *pending.tx_hash()).await.map_err(send_error)
}

/// The receipt of `hash`, polled by hash rather than through alloy's block watcher: anvil mines
/// before it answers, so the watcher's polling interval would only add waiting.
pub(crate) async fn receipt(provider: &DynProvider, hash: TxHash) -> Result<TransactionReceipt, String> {
    let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
    loop {
        match provider.get_transaction_receipt(hash).await.map_err(|e| e.to_string())? {
            Some(receipt) => return Ok(receipt),
            None if tokio::time::Instant::now() >= deadline => {
                return Err(format!("{hash} was not mined within {} s", RECEIPT_TIMEOUT.as_secs()));
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
        }
    }
}

fn send_error(reason: impl Into<String>) -> DevnetError {
    DevnetError::Send(reason.into())
}
