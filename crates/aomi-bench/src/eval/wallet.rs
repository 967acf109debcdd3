//! The harness as the user's wallet.
//!
//! A turn that asks the wallet for a transaction ends with the `send_transaction_to_wallet` call
//! open and a `data-wallet-request` part carrying the request (chain id, from, to, value, data,
//! gas). The web page then has the person sign it, waits for the receipt and posts the outcome back
//! as the assistant message with the tool part in `output-available` (`{transactionHash, chainId,
//! status, blockNumber}`), or in `output-error` for a rejection; the server continues the turn.
//! [`answer`] does the same on the devnet: anvil signs for its unlocked dev account, whatever the
//! model (scripted or real) asked for.
//!
//! A signature request (`request_signature`: `{method, typedData | message, review, …}`) is
//! signed as a wallet signs it, with anvil's `eth_signTypedData_v4` or `personal_sign` for the
//! request's `from`; the answer is `{signature}`. The harness recovers the signer from the
//! review's signing hash, so a check can tell that what the page showed is what was signed.

use std::time::Duration;

use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::{Address, B256, Bytes, Signature, U256, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_core::{ChatMessage, MessagePart, Role, ToolPart, ToolState, UiChunk, WalletContext};
use serde_json::{Value, json};

use crate::eval::chain::EvalChain;
use crate::eval::spec::WalletAction;

/// What the web page answers when the person rejects a transaction in the wallet.
pub const REJECTED: &str = "The user rejected the transaction in the wallet.";
/// What the web page answers when the person rejects a signature request in the wallet.
pub const SIGNATURE_REJECTED: &str = "The user rejected the signature request.";

/// How long the wallet waits for a receipt (anvil mines at once).
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A transaction request waiting for the wallet.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletRequest {
    /// The open tool call.
    pub tool_call_id: String,
    /// Its tool (`send_transaction_to_wallet`).
    pub tool_name: String,
    /// The call's arguments, sent back with its output.
    pub input: Value,
    /// The request the server built: `{chainId, from, to, value, data, gas, …}`.
    pub request: Value,
}

/// A transaction the wallet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTransaction {
    /// Its chain.
    pub chain_id: u64,
    /// The sender.
    pub from: Address,
    /// Its hash.
    pub hash: B256,
    /// True when it succeeded (false: it was mined and reverted).
    pub success: bool,
    /// Gas used times the effective gas price, in wei.
    pub gas_paid: U256,
    /// The events it emitted: the emitting contract and the first topic (the event's hash).
    pub events: Vec<(Address, Option<B256>)>,
}

/// A signature the wallet made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// The account that signed (the request's `from`, else the turn's wallet).
    pub signer: Address,
    /// The signature, `0x` hex.
    pub signature: String,
    /// Who the signature recovers to from the review's signing hash, or why it cannot be told.
    pub recovered: Result<Address, String>,
}

/// The wallet's answer to the open requests of a turn.
#[derive(Debug, Clone)]
pub struct WalletAnswer {
    /// The assistant message to post back: the answered tool parts.
    pub message: ChatMessage,
    /// The same outcomes as stream parts, to fold into what the turn showed.
    pub chunks: Vec<UiChunk>,
    /// The transactions sent.
    pub sent: Vec<SentTransaction>,
    /// The signatures made.
    pub signed: Vec<SignedMessage>,
}

/// The calls of `message` that wait for the wallet: open tool calls with a `data-wallet-request`.
pub fn open_requests(message: &ChatMessage) -> Vec<WalletRequest> {
    message
        .tool_parts()
        .filter(|tool| tool.state == ToolState::InputAvailable)
        .filter_map(|tool| {
            let request = message.parts.iter().find_map(|part| match part {
                MessagePart::Data { name, id: Some(id), data }
                    if name == "wallet-request" && *id == tool.tool_call_id =>
                {
                    Some(data["request"].clone())
                }
                _ => None,
            })?;
            Some(WalletRequest {
                tool_call_id: tool.tool_call_id.clone(),
                tool_name: tool.tool_name.clone(),
                input: tool.input.clone(),
                request,
            })
        })
        .collect()
}

/// Answers every request in `requests` as the wallet would: signs and sends each on its devnet
/// (from the request's `from`, else the turn's wallet), or rejects each. `message_id` is the
/// assistant message that holds the calls.
pub async fn answer(
    chain: Option<&EvalChain>,
    message_id: &str,
    requests: &[WalletRequest],
    action: WalletAction,
    wallet: Option<&WalletContext>,
) -> WalletAnswer {
    let mut parts = Vec::new();
    let mut chunks = Vec::new();
    let mut sent = Vec::new();
    let mut signed = Vec::new();
    for request in requests {
        let signing = request.request.get("method").is_some();
        let outcome = match action {
            WalletAction::Reject if signing => Err(SIGNATURE_REJECTED.to_owned()),
            WalletAction::Reject => Err(REJECTED.to_owned()),
            WalletAction::Sign => match chain {
                None => Err("The wallet cannot send it: this eval run has no devnet.".to_owned()),
                Some(chain) if signing => sign(chain, &request.request, wallet).await.map(|made| {
                    let output = json!({ "signature": made.signature });
                    signed.push(made);
                    output
                }),
                // A batch (`send_batch_to_wallet`): sent as a wallet without EIP-5792 does, one call
                // after another, stopping at the first that fails.
                Some(chain) if request.request.get("calls").is_some() => {
                    send_calls(chain, &request.request, wallet).await.map(|txs| {
                        let hashes: Vec<B256> = txs.iter().map(|(tx, _)| tx.hash).collect();
                        sent.extend(txs.into_iter().map(|(tx, _)| tx));
                        json!({ "transactionHashes": hashes })
                    })
                }
                Some(chain) => send(chain, &request.request, wallet).await.map(|tx| {
                    let output = json!({
                        "transactionHash": tx.0.hash,
                        "chainId": tx.0.chain_id,
                        "status": if tx.0.success { "success" } else { "reverted" },
                        "blockNumber": tx.1,
                    });
                    sent.push(tx.0);
                    output
                }),
            },
        };
        let (state, output, error_text) = match outcome {
            Ok(output) => {
                chunks.push(UiChunk::ToolOutputAvailable {
                    tool_call_id: request.tool_call_id.clone(),
                    output: output.clone(),
                    preliminary: None,
                });
                (ToolState::OutputAvailable, Some(output), None)
            }
            Err(error) => {
                chunks.push(UiChunk::ToolOutputError {
                    tool_call_id: request.tool_call_id.clone(),
                    error_text: error.clone(),
                });
                (ToolState::OutputError, None, Some(error))
            }
        };
        parts.push(MessagePart::Tool(ToolPart {
            tool_name: request.tool_name.clone(),
            tool_call_id: request.tool_call_id.clone(),
            state,
            input: request.input.clone(),
            output,
            error_text,
        }));
    }
    let message = ChatMessage { id: message_id.to_owned(), role: Role::Assistant, parts, metadata: None };
    WalletAnswer { message, chunks, sent, signed }
}

/// Signs a signature request (`{chainId, from, method, typedData | message, review}`) with the
/// unlocked dev account, as the wallet would; the error is what the wallet would tell the page.
async fn sign(chain: &EvalChain, request: &Value, wallet: Option<&WalletContext>) -> Result<SignedMessage, String> {
    let failed = |why: String| format!("The wallet could not sign: {why}");
    let chain_id = request["chainId"].as_u64().ok_or_else(|| failed("the request has no chainId".into()))?;
    let devnet = chain.devnet(chain_id).ok_or_else(|| failed(format!("the wallet cannot reach chain {chain_id}")))?;
    let signer: Address = match request["from"].as_str() {
        Some(from) => from.parse().map_err(|_| failed(format!("\"{from}\" is not an address")))?,
        None => wallet
            .and_then(|w| w.address)
            .map(aomi_core::Address::into_alloy)
            .ok_or_else(|| failed("no wallet address is connected".into()))?,
    };
    let signature: String = match request["method"].as_str() {
        Some("eth_signTypedData_v4") => devnet
            .provider
            .raw_request("eth_signTypedData_v4".into(), (signer, &request["typedData"]))
            .await
            .map_err(|e| failed(e.to_string()))?,
        Some("personal_sign") => {
            let message = request["message"].as_str().unwrap_or_default();
            // A message given as 0x hex is its bytes; any other text is signed as UTF-8.
            let bytes = match message.strip_prefix("0x").map(hex::decode) {
                Some(Ok(bytes)) => bytes,
                _ => message.as_bytes().to_vec(),
            };
            devnet
                .provider
                .raw_request("personal_sign".into(), (hex::encode_prefixed(bytes), signer))
                .await
                .map_err(|e| failed(e.to_string()))?
        }
        other => return Err(failed(format!("it does not know the method {other:?}"))),
    };
    let recovered = recover(&signature, &request["review"]["signingHash"]);
    Ok(SignedMessage { signer, signature, recovered })
}

/// The address `signature` recovers to from the signing hash the review showed.
fn recover(signature: &str, signing_hash: &Value) -> Result<Address, String> {
    let hash: B256 = signing_hash
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| format!("the review's signing hash is not a hash: {signing_hash}"))?;
    let parsed: Signature = signature.parse().map_err(|e| format!("the signature {signature} does not parse: {e}"))?;
    parsed.recover_address_from_prehash(&hash).map_err(|e| format!("nothing recovers from {signature}: {e}"))
}

/// Sends the calls of a batch request (`{chainId: "0x…", from, calls: [{to, value: "0x…", data}]}`)
/// in order; an error at the first that fails or reverts.
async fn send_calls(
    chain: &EvalChain,
    request: &Value,
    wallet: Option<&WalletContext>,
) -> Result<Vec<(SentTransaction, u64)>, String> {
    let chain_id = request["chainId"]
        .as_str()
        .and_then(|id| u64::from_str_radix(id.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| {
            format!("The wallet could not send the batch: its chainId is not hex: {}", request["chainId"])
        })?;
    let mut sent = Vec::new();
    for call in request["calls"].as_array().into_iter().flatten() {
        let value = match call["value"].as_str() {
            Some(v) => U256::from_str_radix(v.trim_start_matches("0x"), 16)
                .map_err(|_| format!("The wallet could not send the batch: value {v} is not hex"))?
                .to_string(),
            None => "0".into(),
        };
        let single = json!({ "chainId": chain_id, "from": request["from"], "to": call["to"], "value": value, "data": call["data"] });
        let tx = send(chain, &single, wallet).await?;
        if !tx.0.success {
            return Err(format!("The batch stopped: call {} reverted ({})", sent.len() + 1, tx.0.hash));
        }
        sent.push(tx);
    }
    Ok(sent)
}

/// Sends one request from an unlocked dev account and waits for its receipt; the error is what
/// the wallet would tell the page.
async fn send(
    chain: &EvalChain,
    request: &Value,
    wallet: Option<&WalletContext>,
) -> Result<(SentTransaction, u64), String> {
    let failed = |why: String| format!("The wallet could not send the transaction: {why}");
    let chain_id = request["chainId"].as_u64().ok_or_else(|| failed("the request has no chainId".into()))?;
    let devnet = chain.devnet(chain_id).ok_or_else(|| failed(format!("the wallet cannot reach chain {chain_id}")))?;
    let from: Address = match request["from"].as_str() {
        Some(from) => from.parse().map_err(|_| failed(format!("\"{from}\" is not an address")))?,
        None => wallet
            .and_then(|w| w.address)
            .map(aomi_core::Address::into_alloy)
            .ok_or_else(|| failed("no wallet address is connected".into()))?,
    };
    let to: Address = request["to"]
        .as_str()
        .and_then(|to| to.parse().ok())
        .ok_or_else(|| failed(format!("\"to\" is not an address: {}", request["to"])))?;
    let value: U256 = match &request["value"] {
        Value::Null => U256::ZERO,
        value => value
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| failed(format!("\"value\" is not an amount of wei: {value}")))?,
    };
    let data = match request["data"].as_str() {
        Some(data) => hex::decode(data).map_err(|_| failed(format!("\"data\" is not hex: {data}")))?,
        None => Vec::new(),
    };
    // The nonce is read each time: a provider's cached nonce runs ahead of the chain once a
    // snapshot is reverted, and a transaction with a future nonce is never mined.
    let nonce = devnet.provider.get_transaction_count(from).pending().await.map_err(|e| failed(e.to_string()))?;
    let mut tx =
        TransactionRequest::default().from(from).to(to).value(value).nonce(nonce).with_input(Bytes::from(data));
    let gas = match request["gas"].as_str() {
        Some(gas) => gas.parse().map_err(|_| failed(format!("\"gas\" is not a number: {gas}")))?,
        None => {
            aomi_chain::wallet_send::wallet_gas_limit(&devnet.provider, &tx).await.map_err(|e| failed(e.to_string()))?
        }
    };
    tx = tx.gas_limit(gas);
    let pending = devnet.provider.send_transaction(tx).await.map_err(|e| failed(e.to_string()))?;
    let hash = *pending.tx_hash();
    // Polled by hash rather than through alloy's block watcher, which may skip the blocks mined
    // again after a snapshot is reverted (their numbers were seen before).
    let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
    let receipt = loop {
        match devnet.provider.get_transaction_receipt(hash).await.map_err(|e| failed(e.to_string()))? {
            Some(receipt) => break receipt,
            None if tokio::time::Instant::now() >= deadline => {
                return Err(failed(format!("no receipt for {hash} within {} s", RECEIPT_TIMEOUT.as_secs())));
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let gas_paid = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    let events = receipt.inner.logs().iter().map(|log| (log.address(), log.topics().first().copied())).collect();
    let sent =
        SentTransaction { chain_id, from, hash: receipt.transaction_hash, success: receipt.status(), gas_paid, events };
    Ok((sent, receipt.block_number.unwrap_or_default()))
}
