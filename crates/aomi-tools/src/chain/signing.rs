//! `request_signature`: a client-side tool, like `send_transaction_to_wallet`. The server checks
//! the typed data (or the personal message) fully, computes the hash the wallet will sign, decodes
//! it and runs the signature rules ([`aomi_chain::typed_data`]); the page shows that review and
//! asks the wallet (`eth_signTypedData_v4` / `personal_sign`); the wallet's signature, or the
//! rejection, is the call's output.
//!
//! A danger warning does not hold the request back on the server, unlike a transaction whose
//! simulation fails: a signature costs nothing until used, the page shows the warning and asks
//! for a second click, and the model reads the warnings in the call's summary.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aomi_chain::ChainSessions;
use aomi_chain::alloy::primitives::Address;
use aomi_chain::typed_data::{
    ReviewOptions, SignatureReview, SigningError, SigningLimits, parse_message, parse_typed_data, review_message,
    review_typed_data,
};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::simulate::{RequestedTransaction, TransactionRecorder};
use super::{connection, short};
use crate::guard::{self, GuardCheck, GuardRequest};
use crate::review::WalletChecks;

/// The name of the signature tool.
pub const SIGNATURE_TOOL: &str = "request_signature";

/// How long checking, reading the chain and recording may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The signature tool's name as a schema (a string of one value), for the page's types.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum SignatureToolName {
    /// The one value.
    #[serde(rename = "request_signature")]
    RequestSignature,
}

/// How the wallet is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum SignMethod {
    /// EIP-712 typed data.
    #[serde(rename = "eth_signTypedData_v4")]
    TypedData,
    /// An EIP-191 personal message.
    #[serde(rename = "personal_sign")]
    PersonalSign,
}

/// The arguments of `request_signature`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureArgs {
    /// EIP-712 typed data: the domain (name, version, chainId, verifyingContract, salt)
    #[serde(default)]
    pub domain: Option<Map<String, Value>>,
    /// EIP-712 typed data: the struct types, name → [{name, type}] (EIP712Domain may be left out)
    #[serde(default)]
    pub types: Option<Map<String, Value>>,
    /// EIP-712 typed data: the struct signed
    #[serde(default, rename = "primaryType")]
    pub primary_type: Option<String>,
    /// EIP-712 typed data: the message, integers as decimal strings
    #[serde(default)]
    pub message: Option<Map<String, Value>>,
    /// a personal message (personal_sign) instead of typed data: text, or 0x hex of bytes
    #[serde(default)]
    pub text: Option<String>,
    /// one sentence shown to the user: what signing this does
    pub description: String,
}

/// The output of `request_signature` on the server: what the wallet is asked to sign, and its
/// review (streamed as a `data-wallet-request` part; the call's final output is the wallet's
/// answer, `{"signature": "0x…"}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureRequest {
    /// The chain: the domain's, else the chat's.
    pub chain_id: u64,
    /// That chain's network name.
    pub network: String,
    /// The wallet's address, when connected.
    #[schema(value_type = Option<String>, required = true)]
    pub from: Option<Address>,
    /// How the wallet is asked.
    pub method: SignMethod,
    /// The typed data as the wallet receives it (`domain`, `types`, `primaryType`, `message`).
    #[schema(value_type = Option<Object>, required = true)]
    pub typed_data: Option<Value>,
    /// The personal message as given: text, or `0x` hex of bytes.
    #[schema(required = true)]
    pub message: Option<String>,
    /// What signing does, for the user.
    pub description: String,
    /// The review: decoded fields and warnings.
    #[schema(value_type = aomi_chain::typed_data::SignatureReview)]
    pub review: SignatureReview,
}

/// `request_signature`.
#[derive(Clone)]
pub struct RequestSignature {
    sessions: Arc<ChainSessions>,
    limits: SigningLimits,
    recorder: Option<Arc<dyn TransactionRecorder>>,
    checks: WalletChecks,
}

impl std::fmt::Debug for RequestSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSignature").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl RequestSignature {
    /// The tool over the chat sessions, with the default limits, recording nothing.
    pub fn new(sessions: Arc<ChainSessions>) -> Self {
        RequestSignature { sessions, limits: SigningLimits::default(), recorder: None, checks: WalletChecks::default() }
    }

    /// Checks every request against the wallet's spend guards (`checks`' guard): strict mode
    /// refuses a signature that gives power to an address off the allow-list.
    pub fn with_checks(mut self, checks: WalletChecks) -> Self {
        self.checks = checks;
        self
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: SigningLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Records every request and its review in `recorder` (the store's transactions table on a
    /// server, beside transaction requests).
    pub fn recording_to(mut self, recorder: Arc<dyn TransactionRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    async fn request(&self, args: SignatureArgs, ctx: &ToolContext) -> Result<SignatureRequest, ToolError> {
        let description = args.description.trim().to_owned();
        if description.is_empty() {
            return Err(ToolError::InvalidArguments("\"description\" must say what signing does".into()));
        }
        let invalid = |e: SigningError| ToolError::InvalidArguments(e.to_string());
        let typed_given =
            args.domain.is_some() || args.types.is_some() || args.primary_type.is_some() || args.message.is_some();
        let from = ctx.wallet.as_ref().and_then(|w| w.address).map(aomi_core::Address::into_alloy);
        let wallet_chain_id = ctx.wallet.as_ref().map(|w| w.chain_id);
        match (typed_given, args.text) {
            (true, Some(_)) => Err(ToolError::InvalidArguments(
                "give either typed data (domain, types, primaryType, message) or \"text\", not both".into(),
            )),
            (false, None) => Err(ToolError::InvalidArguments(
                "give typed data (domain, types, primaryType, message) or a personal message in \"text\"".into(),
            )),
            (false, Some(text)) => {
                let checked = parse_message(&text, &self.limits).map_err(invalid)?;
                let conn = connection(&self.sessions, ctx, None)?;
                Ok(SignatureRequest {
                    chain_id: conn.network.chain_id,
                    network: conn.network.name.clone(),
                    from,
                    method: SignMethod::PersonalSign,
                    typed_data: None,
                    message: Some(text),
                    description,
                    review: review_message(&checked),
                })
            }
            (true, None) => {
                let missing = |what: &str| ToolError::InvalidArguments(format!("typed data needs \"{what}\""));
                let domain = Value::Object(args.domain.ok_or_else(|| missing("domain"))?);
                let types = Value::Object(args.types.ok_or_else(|| missing("types"))?);
                let primary = args.primary_type.ok_or_else(|| missing("primaryType"))?;
                let message = Value::Object(args.message.ok_or_else(|| missing("message"))?);
                let checked = parse_typed_data(&domain, &types, &primary, &message, &self.limits).map_err(invalid)?;
                // The chain the domain names, when aomi knows it; else the chat's (the rules flag
                // a domain on another chain than the wallet's).
                let conn = match checked.chain_id {
                    Some(id) => connection(&self.sessions, ctx, Some(&id.to_string()))
                        .or_else(|_| connection(&self.sessions, ctx, None))?,
                    None => connection(&self.sessions, ctx, None)?,
                };
                ctx.progress("checking the signature request");
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
                let options =
                    ReviewOptions { wallet: from, wallet_chain_id, now, limits: self.limits, permit2: Vec::new() };
                let review = review_typed_data(&conn, self.sessions.markets(), &checked, &options).await;
                Ok(SignatureRequest {
                    chain_id: checked.chain_id.unwrap_or(conn.network.chain_id),
                    network: conn.network.name.clone(),
                    from,
                    method: SignMethod::TypedData,
                    typed_data: Some(checked.json),
                    message: None,
                    description,
                    review,
                })
            }
        }
    }

    async fn record(&self, ctx: &ToolContext, request: &SignatureRequest) {
        let Some(recorder) = &self.recorder else { return };
        let mut recorded = serde_json::to_value(request).unwrap_or(Value::Null);
        // The review goes in the report column; the request keeps what the wallet signs.
        let review = recorded.as_object_mut().and_then(|r| r.remove("review"));
        let record = RequestedTransaction {
            id: ctx.tool_call_id.clone(),
            chat_id: ctx.chat_id.clone(),
            chain_id: request.chain_id,
            from: request.from.map(|a| a.to_string().to_lowercase()),
            request: recorded,
            simulation: review,
        };
        if let Err(error) = recorder.record(record).await {
            tracing::warn!(%error, tool_call_id = %ctx.tool_call_id, "the signature request was not recorded");
        }
    }
}

impl TypedTool for RequestSignature {
    const NAME: &'static str = SIGNATURE_TOOL;
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);
    const RUNS_ON_CLIENT: bool = true;
    type Args = SignatureArgs;
    type Output = SignatureRequest;

    fn description(&self) -> String {
        "Asks the user's wallet to sign, without a transaction: EIP-712 typed data (give domain, types, primaryType, message; integers as decimal strings) or a personal message (give text). aomi decodes it for the user (permits, Permit2, EIP-3009, Seaport orders), checks it for risks and shows the review; the user signs in their wallet or rejects. The result is {\"signature\": \"0x…\"}, or the rejection. Never ask for a signature the user did not ask for.".into()
    }

    async fn run(&self, args: SignatureArgs, ctx: ToolContext) -> Result<ToolOutput<SignatureRequest>, ToolError> {
        let request = self.request(args, &ctx).await?;
        if let Some(wallet) = request.from {
            let calls = guard::signature_calls(&request.review);
            let guarded = GuardRequest {
                wallet,
                calls: &calls,
                asset_changes: &[],
                warnings: &request.review.warnings,
                simulated: true,
            };
            if let Some(check) = self.checks.guard(&ctx, &guarded).await.filter(GuardCheck::blocked) {
                return Err(ToolError::Failed(check.refusal()));
            }
        }
        self.record(&ctx, &request).await;
        let mut summary = format!("Waiting for your wallet to sign: {}", request.description);
        if let Some(from) = request.from {
            summary.push_str(&format!(" (as {}", short(&from)));
            summary.push_str(&format!(" on {})", request.network));
        }
        let review = request.review.summary();
        if !review.is_empty() {
            summary.push('\n');
            summary.push_str(&review);
        }
        Ok(ToolOutput::new(request, summary))
    }
}
