//! Spend guards: a wallet's own limits on what aomi may ask its wallet to do, checked on every
//! wallet request with the simulation's real asset changes (never amounts the model declares).
//!
//! A wallet's [`GuardSettings`] hold a [`GuardLevel`], a per-transaction and a per-day USD limit,
//! and an allow-list of recipients and contracts (with function selectors, for strict mode). Only
//! the signed-in user changes them, in the page (`PUT /api/guards`); no tool can.
//!
//! The seam is [`SpendGuard`]: where a wallet's settings and its spending of the last day come
//! from (the server implements it over its store). [`check`] is the one decision every wallet
//! tool calls (`send_transaction_to_wallet`, `send_batch_to_wallet`, and any later wallet request)
//! with the request's calls and its priced asset changes; it answers a [`GuardCheck`], streamed to
//! the page as a `data-guard` part ([`GuardPart`]). A blocked request never reaches the wallet, and
//! the model reads which guard blocked it and why.
//!
//! What counts:
//! - **outgoing value**: the USD of the wallet's negative balance changes in the simulation
//!   (native coin and tokens), each priced when the report was made; an asset without a price is
//!   named, never counted as zero silently;
//! - **spent today**: the outgoing value recorded with the wallet's requests of the last 24 hours
//!   that went to the wallet and may have been signed (sent with a hash, or still pending);
//! - **per transaction**: outgoing value above the limit blocks; **per day**: spent today plus the
//!   outgoing value above the limit blocks;
//! - **strict**: every call must go to an allow-listed address (with one of its selectors when the
//!   entry lists any; a plain coin transfer has none), a token transfer's recipient must be
//!   allow-listed too, and an unpriced outgoing asset blocks when a USD limit is set;
//! - **balanced**: the simulation's warnings, a recipient off a non-empty allow-list and an
//!   unpriced outgoing asset under a limit ask the user to confirm in the review (a second click)
//!   before the wallet is asked;
//! - **open**: the limits only.
//!
//! A failure to read the settings blocks (fail closed): a wallet that saved guards must not lose
//! them to a database hiccup.

use aomi_chain::alloy::primitives::{Address, Bytes};
use aomi_chain::risk::{Level, Warning};
use aomi_chain::simulation::calldata::TokenCall;
use aomi_chain::simulation::{AssetChange, Standard};
use aomi_core::{BoxFuture, DataPart, ToolContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Allow-list entries a wallet may save at most, by default.
pub const DEFAULT_MAX_ALLOWED: usize = 200;
/// Selectors one allow-list entry may list at most.
pub const MAX_SELECTORS: usize = 64;
/// The longest label of an allow-list entry, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// The largest USD limit accepted (a bound that keeps the arithmetic meaningful).
pub const MAX_LIMIT_USD: f64 = 1e15;

/// How strictly a wallet's requests are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GuardLevel {
    /// Only allow-listed contracts, selectors and recipients.
    Strict,
    /// Warnings need a second click in the review.
    Balanced,
    /// The USD limits only.
    #[default]
    Open,
}

/// One allow-listed address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowedAddress {
    /// A recipient or contract, `0x` and 40 hex digits.
    #[schema(value_type = String)]
    #[schemars(with = "String")]
    pub address: Address,
    /// In strict mode, the functions that may be called on it (`0x` and 8 hex digits); empty
    /// allows any call.
    #[serde(default)]
    pub selectors: Vec<String>,
    /// What it is, for the user.
    #[serde(default)]
    pub label: Option<String>,
}

/// A wallet's spend guards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardSettings {
    /// How strictly requests are checked.
    #[serde(default)]
    pub level: GuardLevel,
    /// The most one request may move out of the wallet, in USD; none: no limit.
    #[serde(default)]
    #[schema(required = true)]
    pub max_transaction_usd: Option<f64>,
    /// The most the requests of the last 24 hours may move out, in USD; none: no limit.
    #[serde(default)]
    #[schema(required = true)]
    pub max_daily_usd: Option<f64>,
    /// The allow-listed recipients and contracts.
    #[serde(default)]
    pub allowed: Vec<AllowedAddress>,
}

impl GuardSettings {
    /// Checks the settings as a user saves them: limits finite, not negative and at most
    /// [`MAX_LIMIT_USD`]; at most `max_allowed` entries, no address twice; selectors `0x` and 8
    /// hex digits (stored lower case), at most [`MAX_SELECTORS`]; labels at most
    /// [`MAX_LABEL_CHARS`]. The settings as stored, or what is wrong.
    pub fn validated(mut self, max_allowed: usize) -> Result<Self, String> {
        for (name, limit) in [("maxTransactionUsd", self.max_transaction_usd), ("maxDailyUsd", self.max_daily_usd)] {
            if let Some(limit) = limit
                && !(limit.is_finite() && (0.0..=MAX_LIMIT_USD).contains(&limit))
            {
                return Err(format!("{name} must be a number of USD from 0 to {MAX_LIMIT_USD}, not {limit}"));
            }
        }
        if self.allowed.len() > max_allowed {
            return Err(format!("the allow-list holds at most {max_allowed} addresses, not {}", self.allowed.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for entry in &mut self.allowed {
            if !seen.insert(entry.address) {
                return Err(format!("{} is listed twice in the allow-list", entry.address));
            }
            if entry.selectors.len() > MAX_SELECTORS {
                return Err(format!("an allow-list entry lists at most {MAX_SELECTORS} selectors"));
            }
            for selector in &mut entry.selectors {
                let valid = selector.len() == 10
                    && selector.starts_with("0x")
                    && selector[2..].bytes().all(|b| b.is_ascii_hexdigit());
                if !valid {
                    return Err(format!("selector \"{selector}\" must be 0x and 8 hex digits, like 0xa9059cbb"));
                }
                *selector = selector.to_lowercase();
            }
            if let Some(label) = &entry.label
                && label.chars().count() > MAX_LABEL_CHARS
            {
                return Err(format!("a label is at most {MAX_LABEL_CHARS} characters"));
            }
        }
        Ok(self)
    }

    fn entry(&self, address: Address) -> Option<&AllowedAddress> {
        self.allowed.iter().find(|entry| entry.address == address)
    }

    fn has_limit(&self) -> bool {
        self.max_transaction_usd.is_some() || self.max_daily_usd.is_some()
    }
}

/// Why a guard could not be consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the spend guards could not be read: {0}")]
pub struct GuardError(pub String);

/// Where a wallet's guard settings and spending come from (the server's store).
pub trait SpendGuard: Send + Sync {
    /// The wallet's settings; the defaults (open, no limits) when it saved none.
    fn settings<'a>(&'a self, wallet: aomi_core::Address) -> BoxFuture<'a, Result<GuardSettings, GuardError>>;

    /// The USD the wallet's requests of the last 24 hours moved out (see the module's docs).
    fn spent_today<'a>(&'a self, wallet: aomi_core::Address) -> BoxFuture<'a, Result<f64, GuardError>>;
}

/// One call of a wallet request, as it will be signed.
#[derive(Debug, Clone)]
pub struct GuardedCall {
    /// The recipient or contract called.
    pub to: Address,
    /// The calldata.
    pub data: Bytes,
}

/// A wallet request to check.
#[derive(Debug, Clone)]
pub struct GuardRequest<'a> {
    /// The wallet that would sign.
    pub wallet: Address,
    /// The calls, in order.
    pub calls: &'a [GuardedCall],
    /// The simulation's balance changes (net, for a batch), priced where a price is known.
    pub asset_changes: &'a [AssetChange],
    /// The simulation's warnings.
    pub warnings: &'a [Warning],
    /// False when the request could not be simulated (the user sent it anyway): its changes are
    /// unknown, so strict mode and the USD limits block it.
    pub simulated: bool,
}

/// Which guard decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GuardName {
    /// Strict mode's allow-list of contracts, selectors and recipients.
    AllowList,
    /// The per-transaction USD limit.
    TransactionLimit,
    /// The per-day USD limit.
    DailyLimit,
    /// An outgoing asset has no known price.
    UnknownPrice,
    /// A simulation warning (balanced mode).
    Warning,
    /// The guards could not be read.
    Unavailable,
}

/// What the guards decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GuardDecision {
    /// The wallet is asked.
    Allowed,
    /// The wallet is asked once the user confirms in the review (balanced mode).
    Confirm,
    /// The request does not reach the wallet.
    Blocked,
}

/// One finding of the guards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardFinding {
    /// The guard.
    pub guard: GuardName,
    /// Why, in a sentence for the user.
    pub reason: String,
}

/// The guards' answer on one wallet request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardCheck {
    /// The wallet's level.
    pub level: GuardLevel,
    /// The decision.
    pub decision: GuardDecision,
    /// What blocked the request (decision `blocked`), or what the user must confirm (`confirm`).
    pub findings: Vec<GuardFinding>,
    /// The USD the request moves out of the wallet (priced assets only).
    pub outgoing_usd: f64,
    /// The USD the wallet's requests of the last 24 hours moved out, when a daily limit asked.
    #[schema(required = true)]
    pub spent_today_usd: Option<f64>,
    /// The outgoing assets without a known price ("DAI", "a token 0x…").
    pub unpriced: Vec<String>,
}

impl GuardCheck {
    /// True when the request must not reach the wallet.
    pub fn blocked(&self) -> bool {
        self.decision == GuardDecision::Blocked
    }

    /// What the model reads of a blocked request: the guard and why, and that only the user can
    /// change a guard.
    pub fn refusal(&self) -> String {
        let reasons: Vec<String> =
            self.findings.iter().map(|f| format!("[{}] {}", f.guard.as_str(), f.reason)).collect();
        format!(
            "The request was NOT sent to the wallet: the wallet's spend guards block it. {} Tell the user which guard \
             blocked it and why. Only the user can change the guards, in the page's guard settings; no tool can.",
            reasons.join(" ")
        )
    }
}

impl GuardName {
    /// The guard's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardName::AllowList => "allow-list",
            GuardName::TransactionLimit => "transaction-limit",
            GuardName::DailyLimit => "daily-limit",
            GuardName::UnknownPrice => "unknown-price",
            GuardName::Warning => "warning",
            GuardName::Unavailable => "unavailable",
        }
    }
}

/// `data-guard`: the guards' answer on a wallet request, for the review (a blocked request with
/// its reason; in balanced mode, what needs the second click).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardPart {
    /// The answer.
    #[serde(flatten)]
    pub check: GuardCheck,
    /// The wallet tool call it belongs to.
    pub tool_call_id: String,
}

impl DataPart for GuardPart {
    const NAME: &'static str = "guard";
}

/// The USD the wallet's changes move out: the priced total, and the unpriced assets.
pub fn outgoing(wallet: Address, changes: &[AssetChange]) -> (f64, Vec<String>) {
    let mut total = 0.0;
    let mut unpriced = Vec::new();
    for change in changes.iter().filter(|c| c.address == wallet && c.delta().is_negative()) {
        match &change.usd {
            Some(usd) => total += -usd.value,
            None => unpriced.push(match (&change.symbol, change.standard) {
                (Some(symbol), Standard::Erc721 | Standard::Erc1155) => {
                    format!("{symbol} #{}", change.token_id.as_deref().unwrap_or("?"))
                }
                (Some(symbol), _) => symbol.clone(),
                (None, _) => change.token.map(|t| format!("the token {t}")).unwrap_or_else(|| "the coin".into()),
            }),
        }
    }
    (total.max(0.0), unpriced)
}

/// The guards' decision on `request` under `settings`, with `spent_today` the USD already moved
/// (read only when a daily limit is set). Pure: [`check`] reads its inputs.
pub fn decide(settings: &GuardSettings, request: &GuardRequest<'_>, spent_today: Option<f64>) -> GuardCheck {
    let (outgoing_usd, unpriced) = outgoing(request.wallet, request.asset_changes);
    let mut blocks = Vec::new();
    let mut confirms = Vec::new();
    let money = |usd: f64| format!("${usd:.2}");
    if !request.simulated && (settings.has_limit() || settings.level == GuardLevel::Strict) {
        blocks.push(GuardFinding {
            guard: GuardName::UnknownPrice,
            reason: "the request could not be simulated, so what it moves out of the wallet is unknown".into(),
        });
    }

    if settings.level == GuardLevel::Strict {
        for call in request.calls {
            let selector =
                (call.data.len() >= 4).then(|| format!("0x{}", aomi_chain::alloy::hex::encode(&call.data[..4])));
            match (settings.entry(call.to), &selector) {
                (None, _) => blocks.push(GuardFinding {
                    guard: GuardName::AllowList,
                    reason: format!("strict mode: {} is not on the allow-list", call.to),
                }),
                (Some(entry), Some(selector)) if !entry.selectors.is_empty() && !entry.selectors.contains(selector) => {
                    blocks.push(GuardFinding {
                        guard: GuardName::AllowList,
                        reason: format!(
                            "strict mode: function {selector} of {} is not on the allow-list (allowed: {})",
                            call.to,
                            entry.selectors.join(", ")
                        ),
                    })
                }
                _ => {}
            }
            if let Some(recipient) = TokenCall::decode(&call.data).and_then(|c| c.recipient())
                && settings.entry(recipient).is_none()
            {
                blocks.push(GuardFinding {
                    guard: GuardName::AllowList,
                    reason: format!("strict mode: the recipient {recipient} is not on the allow-list"),
                });
            }
        }
        if settings.has_limit() && !unpriced.is_empty() {
            blocks.push(GuardFinding {
                guard: GuardName::UnknownPrice,
                reason: format!(
                    "strict mode: no USD price is known for {}, so the USD limits cannot be checked",
                    unpriced.join(", ")
                ),
            });
        }
    }
    if let Some(limit) = settings.max_transaction_usd
        && outgoing_usd > limit
    {
        blocks.push(GuardFinding {
            guard: GuardName::TransactionLimit,
            reason: format!(
                "this request moves {} out of the wallet, above the per-transaction limit of {}",
                money(outgoing_usd),
                money(limit)
            ),
        });
    }
    if let (Some(limit), Some(spent)) = (settings.max_daily_usd, spent_today)
        && spent + outgoing_usd > limit
    {
        blocks.push(GuardFinding {
            guard: GuardName::DailyLimit,
            reason: format!(
                "{} already moved in the last 24 hours plus {} now is above the daily limit of {}",
                money(spent),
                money(outgoing_usd),
                money(limit)
            ),
        });
    }
    if settings.level == GuardLevel::Balanced {
        for warning in request.warnings.iter().filter(|w| w.level != Level::Info) {
            confirms.push(GuardFinding { guard: GuardName::Warning, reason: warning.message.clone() });
        }
        if !settings.allowed.is_empty() {
            for call in request.calls {
                let recipient = TokenCall::decode(&call.data).and_then(|c| c.recipient()).unwrap_or(call.to);
                if settings.entry(recipient).is_none() {
                    confirms.push(GuardFinding {
                        guard: GuardName::AllowList,
                        reason: format!("{recipient} is not on the allow-list"),
                    });
                }
            }
        }
    }
    if settings.level != GuardLevel::Strict && settings.has_limit() && !unpriced.is_empty() {
        let finding = GuardFinding {
            guard: GuardName::UnknownPrice,
            reason: format!("no USD price is known for {}: the USD limits count it as nothing", unpriced.join(", ")),
        };
        if settings.level == GuardLevel::Balanced {
            confirms.push(finding);
        }
    }
    let (decision, findings) = match (blocks.is_empty(), confirms.is_empty()) {
        (false, _) => (GuardDecision::Blocked, blocks),
        (true, false) => (GuardDecision::Confirm, confirms),
        (true, true) => (GuardDecision::Allowed, Vec::new()),
    };
    GuardCheck { level: settings.level, decision, findings, outgoing_usd, spent_today_usd: spent_today, unpriced }
}

/// The addresses a signature request gives power to, as calls for the guards: the contract that
/// acts on the signature (the domain's verifying contract), and the spender and the recipient it
/// names. Strict mode then lets it through only when each is on the allow-list, as it does a
/// transaction's contract and a token transfer's recipient; a personal message names none.
pub fn signature_calls(review: &aomi_chain::typed_data::SignatureReview) -> Vec<GuardedCall> {
    let decoded = review.decoded.as_ref();
    let named = [
        review.domain.as_ref().and_then(|d| d.verifying_contract),
        decoded.and_then(|d| d.spender),
        decoded.and_then(|d| d.recipient),
    ];
    let mut calls: Vec<GuardedCall> = Vec::new();
    for to in named.into_iter().flatten() {
        if !calls.iter().any(|c| c.to == to) {
            calls.push(GuardedCall { to, data: Bytes::new() });
        }
    }
    calls
}

/// Checks `request` against its wallet's guards, read from `guard`, and streams the answer as a
/// `data-guard` part. A failure to read the guards blocks.
pub async fn check(guard: &dyn SpendGuard, ctx: &ToolContext, request: &GuardRequest<'_>) -> GuardCheck {
    let wallet = aomi_core::Address::from(request.wallet);
    let result = async {
        let settings = guard.settings(wallet).await?;
        let spent = match settings.max_daily_usd {
            Some(_) => Some(guard.spent_today(wallet).await?),
            None => None,
        };
        Ok::<_, GuardError>(decide(&settings, request, spent))
    }
    .await;
    let answer = result.unwrap_or_else(|error| {
        tracing::warn!(%error, "the spend guards could not be read; the request is blocked");
        GuardCheck {
            level: GuardLevel::Strict,
            decision: GuardDecision::Blocked,
            findings: vec![GuardFinding { guard: GuardName::Unavailable, reason: error.to_string() }],
            outgoing_usd: 0.0,
            spent_today_usd: None,
            unpriced: Vec::new(),
        }
    });
    ctx.emit(&GuardPart { check: answer.clone(), tool_call_id: ctx.tool_call_id.clone() });
    answer
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aomi_chain::simulation::UsdValue;

    use super::*;

    const WALLET: Address = Address::repeat_byte(0xaa);
    const BOB: Address = Address::repeat_byte(0xbb);
    const TOKEN: Address = Address::repeat_byte(0xcc);

    fn change(token: Option<Address>, delta: &str, usd: Option<f64>) -> AssetChange {
        AssetChange {
            address: WALLET,
            token,
            standard: if token.is_some() { Standard::Erc20 } else { Standard::Native },
            token_id: None,
            symbol: Some(if token.is_some() { "TKN" } else { "ETH" }.into()),
            decimals: Some(18),
            delta: delta.into(),
            formatted: String::new(),
            usd: usd.map(|value| UsdValue { value, price: 1.0, source: "defillama".into(), note: None }),
        }
    }

    fn transfer(to: Address) -> Vec<GuardedCall> {
        vec![GuardedCall { to, data: Bytes::new() }]
    }

    fn decide_on(settings: &GuardSettings, calls: &[GuardedCall], changes: &[AssetChange]) -> GuardCheck {
        decide(
            settings,
            &GuardRequest { wallet: WALLET, calls, asset_changes: changes, warnings: &[], simulated: true },
            Some(0.0),
        )
    }

    fn permit_review(verifying: Address, spender: Address) -> aomi_chain::typed_data::SignatureReview {
        use aomi_chain::typed_data::{DecodedView, DomainView, PermitKind, SignatureKind, SignatureReview};
        SignatureReview {
            kind: SignatureKind::TypedData,
            signing_hash: String::new(),
            domain: Some(DomainView {
                name: Some("Token".into()),
                version: Some("1".into()),
                chain_id: Some(1),
                verifying_contract: Some(verifying),
            }),
            primary_type: Some("Permit".into()),
            decoded: Some(DecodedView {
                kind: PermitKind::Permit,
                title: "Permit".into(),
                owner: Some(WALLET),
                spender: Some(spender),
                recipient: None,
                tokens: Vec::new(),
                received: Vec::new(),
                expiry: None,
                deadline: None,
                moves_assets: false,
            }),
            tree: None,
            text: None,
            hex: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn strict_mode_refuses_a_permit_to_a_spender_off_the_allow_list() {
        let listed = |address| AllowedAddress { address, selectors: vec!["0x095ea7b3".into()], label: None };
        let mut settings =
            GuardSettings { level: GuardLevel::Strict, allowed: vec![listed(TOKEN)], ..Default::default() };
        let calls = signature_calls(&permit_review(TOKEN, BOB));
        assert_eq!(calls.iter().map(|c| c.to).collect::<Vec<_>>(), vec![TOKEN, BOB]);
        let check = decide_on(&settings, &calls, &[]);
        assert!(check.blocked(), "{check:?}");
        assert!(check.findings[0].reason.contains(&BOB.to_string()), "{:?}", check.findings);
        // Listed, the spender may have a permit; a selector list does not apply to a signature.
        settings.allowed.push(listed(BOB));
        assert_eq!(decide_on(&settings, &calls, &[]).decision, GuardDecision::Allowed);
        // The verifying contract and the spender the same address count once.
        assert_eq!(signature_calls(&permit_review(BOB, BOB)).len(), 1);
    }

    #[test]
    fn the_per_transaction_limit_counts_only_what_leaves_the_wallet() {
        let settings = GuardSettings { max_transaction_usd: Some(100.0), ..Default::default() };
        let calls = transfer(BOB);
        let over =
            decide_on(&settings, &calls, &[change(None, "-2", Some(-150.0)), change(Some(TOKEN), "5", Some(500.0))]);
        assert!(over.blocked());
        assert_eq!(over.findings[0].guard, GuardName::TransactionLimit);
        assert!(over.findings[0].reason.contains("$150.00"), "{}", over.findings[0].reason);
        let under = decide_on(&settings, &calls, &[change(None, "-1", Some(-99.0))]);
        assert_eq!(under.decision, GuardDecision::Allowed);
    }

    #[test]
    fn strict_mode_allows_only_listed_contracts_selectors_and_prices() {
        let mut settings = GuardSettings {
            level: GuardLevel::Strict,
            allowed: vec![AllowedAddress { address: TOKEN, selectors: vec!["0x095ea7b3".into()], label: None }],
            ..Default::default()
        };
        let approve = Bytes::from(aomi_chain::alloy::hex::decode("095ea7b3").unwrap());
        let call = |to, data: &Bytes| vec![GuardedCall { to, data: data.clone() }];
        assert!(decide_on(&settings, &call(BOB, &Bytes::new()), &[]).blocked(), "an unlisted address is blocked");
        assert_eq!(decide_on(&settings, &call(TOKEN, &approve), &[]).decision, GuardDecision::Allowed);
        let other = Bytes::from(aomi_chain::alloy::hex::decode("deadbeef").unwrap());
        assert!(decide_on(&settings, &call(TOKEN, &other), &[]).blocked(), "an unlisted selector is blocked");
        settings.max_daily_usd = Some(10.0);
        let unpriced = decide_on(&settings, &call(TOKEN, &approve), &[change(Some(TOKEN), "-1", None)]);
        assert_eq!(unpriced.findings[0].guard, GuardName::UnknownPrice, "{unpriced:?}");
    }

    #[test]
    fn balanced_mode_asks_to_confirm_warnings_and_the_day_counts_earlier_spending() {
        let settings = GuardSettings { level: GuardLevel::Balanced, max_daily_usd: Some(100.0), ..Default::default() };
        let warning = Warning { id: "first-time-recipient".into(), level: Level::Warning, message: "new".into() };
        let calls = transfer(BOB);
        let changes = [change(None, "-1", Some(-40.0))];
        let request = GuardRequest {
            wallet: WALLET,
            calls: &calls,
            asset_changes: &changes,
            warnings: &[warning],
            simulated: true,
        };
        assert_eq!(decide(&settings, &request, Some(0.0)).decision, GuardDecision::Confirm);
        let over = decide(&settings, &request, Some(70.0));
        assert!(over.blocked());
        assert_eq!(over.findings[0].guard, GuardName::DailyLimit);
    }

    #[test]
    fn settings_are_validated() {
        let entry = |selector: &str| AllowedAddress { address: BOB, selectors: vec![selector.into()], label: None };
        let bad = GuardSettings { max_daily_usd: Some(-1.0), ..Default::default() };
        assert!(bad.validated(10).is_err());
        let bad = GuardSettings { allowed: vec![entry("0x1234")], ..Default::default() };
        assert!(bad.validated(10).is_err());
        let twice = GuardSettings { allowed: vec![entry("0xA9059CBB"), entry("0xa9059cbb")], ..Default::default() };
        assert!(twice.clone().validated(10).unwrap_err().contains("twice"));
        assert!(twice.validated(1).unwrap_err().contains("at most 1"));
        let good = GuardSettings { allowed: vec![entry("0xA9059CBB")], ..Default::default() }.validated(10).unwrap();
        assert_eq!(good.allowed[0].selectors, ["0xa9059cbb"]);
    }
}
