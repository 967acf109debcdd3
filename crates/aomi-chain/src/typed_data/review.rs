//! The review of a signature request: what the page shows before the wallet signs. The chain is
//! read here (and only here): code at the parties, the verifying contract's domain, and each
//! token's symbol and decimals (from the chain's token list first).

use std::collections::HashMap;

use alloy::primitives::{Address, FixedBytes, U256, hex};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use futures::future::join_all;
use serde::Serialize;

use super::decode::{Decoded, Item, ItemKind, PermitKind, decode, max_u48};
use super::rules::{SignatureFacts, SignatureInput, assess};
use super::tree::{self, TreeNode};
use super::{CheckedMessage, CheckedTypedData, SigningLimits};
use crate::contracts::IERC20;
use crate::risk::Warning;
use crate::session::Connection;
use crate::tokens::Markets;
use crate::units::format_units;

alloy::sol! {
    /// The domain separator an EIP-712 contract (a token with permits, Permit2) signs under.
    #[allow(missing_docs)]
    interface IEip712 {
        function DOMAIN_SEPARATOR() external view returns (bytes32);
    }
}

/// What is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    /// EIP-712 typed data (`eth_signTypedData_v4`).
    TypedData,
    /// An EIP-191 personal message (`personal_sign`).
    PersonalMessage,
}

/// The EIP-712 domain, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    /// The dapp or contract's name.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub name: Option<String>,
    /// Its version.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub version: Option<String>,
    /// The chain it is valid on.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub chain_id: Option<u64>,
    /// The contract that checks the signature.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub verifying_contract: Option<Address>,
}

/// An amount of one asset, exact and formatted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenAmount {
    /// The token (zero for the native coin).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: Address,
    /// Its kind.
    pub kind: ItemKind,
    /// Its symbol, when known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub symbol: Option<String>,
    /// Its decimals, when known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decimals: Option<u8>,
    /// The amount in base units, decimal.
    pub amount: String,
    /// The amount for people: `100 USDC`, `unlimited USDC`.
    pub formatted: String,
    /// True when it is the type's maximum: no limit.
    pub unlimited: bool,
    /// The token id (NFTs).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub token_id: Option<String>,
    /// Who receives it (a Seaport consideration item).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub recipient: Option<Address>,
}

/// A moment a permit or signature ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Expiry {
    /// Seconds since 1970, decimal, as signed.
    pub unix: String,
    /// True for the type's maximum: it never ends.
    pub never: bool,
    /// For people: `2026-12-03 18:00 UTC`, or `never`.
    pub text: String,
}

/// Typed data of a kind aomi knows, for the review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DecodedView {
    /// Its kind.
    pub kind: PermitKind,
    /// A title: `Permit2 allowance`.
    pub title: String,
    /// Whose assets (when the message says).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub owner: Option<Address>,
    /// Who may take them.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub spender: Option<Address>,
    /// Where they go, when the signature says.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub recipient: Option<Address>,
    /// What is allowed, moved or offered.
    pub tokens: Vec<TokenAmount>,
    /// What comes back (a Seaport order's consideration to the offerer).
    pub received: Vec<TokenAmount>,
    /// When the allowance ends.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expiry: Option<Expiry>,
    /// Until when the signature can be used.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub deadline: Option<Expiry>,
    /// True when signing moves assets by itself (no allowance: a transfer or an order).
    pub moves_assets: bool,
}

/// What the page shows before the wallet signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignatureReview {
    /// Typed data or a personal message.
    pub kind: SignatureKind,
    /// The hash the wallet signs (EIP-712 or EIP-191), `0x` hex.
    pub signing_hash: String,
    /// The EIP-712 domain.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub domain: Option<DomainView>,
    /// The EIP-712 primary type.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub primary_type: Option<String>,
    /// The typed data decoded, when of a kind aomi knows.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decoded: Option<DecodedView>,
    /// Any typed data, as a tree of fields.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub tree: Option<TreeNode>,
    /// A personal message as text (hex given is decoded when it is UTF-8).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub text: Option<String>,
    /// A personal message's bytes as `0x` hex, when given as hex.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub hex: Option<String>,
    /// The rules' findings, most serious first.
    pub warnings: Vec<Warning>,
}

impl SignatureReview {
    /// True when a warning is of level danger.
    pub fn has_danger(&self) -> bool {
        self.warnings.iter().any(|w| w.level == crate::risk::Level::Danger)
    }

    /// The review in a few lines, as the model reads it.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        if let Some(decoded) = &self.decoded {
            let mut line = decoded.title.clone();
            let amounts: Vec<&str> = decoded.tokens.iter().map(|t| t.formatted.as_str()).collect();
            if !amounts.is_empty() {
                line.push_str(&format!(": {}", amounts.join(", ")));
            }
            if let Some(spender) = decoded.spender {
                line.push_str(&format!(" to {}", spender.to_checksum(None)));
            }
            if let Some(expiry) = decoded.expiry.as_ref().or(decoded.deadline.as_ref()) {
                line.push_str(&format!(", until {}", expiry.text));
            }
            lines.push(line);
        } else if let Some(primary) = &self.primary_type {
            lines.push(format!("Typed data {primary}"));
        } else if let Some(text) = &self.text {
            let short: String = text.chars().take(80).collect();
            lines.push(format!("Message: \"{short}\""));
        }
        for warning in &self.warnings {
            lines.push(format!("{}: {}", warning.level, warning.message));
        }
        lines.join("\n")
    }
}

/// What the review needs beside the request.
#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    /// The connected wallet.
    pub wallet: Option<Address>,
    /// The wallet's chain.
    pub wallet_chain_id: Option<u64>,
    /// Now, in seconds since 1970.
    pub now: u64,
    /// The limits (the long-permit threshold).
    pub limits: SigningLimits,
    /// Where Permit2 is on this chain beside its canonical address.
    pub permit2: Vec<Address>,
}

/// `when` (seconds since 1970) for people.
pub(crate) fn format_date(when: U256) -> String {
    if when >= max_u48() {
        return "never".into();
    }
    i64::try_from(when)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|date| date.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("{when} (seconds since 1970)"))
}

fn expiry(when: U256) -> Expiry {
    Expiry { unix: when.to_string(), never: when >= max_u48(), text: format_date(when) }
}

/// A token's symbol and decimals: the chain's list, else `symbol()` and `decimals()`.
async fn token_info(connection: &Connection, markets: &Markets, token: Address) -> (Option<String>, Option<u8>) {
    if let Some(entry) = markets.by_address(connection.network.chain_id, token) {
        return (Some(entry.symbol), Some(entry.decimals));
    }
    let call =
        |data: Vec<u8>| async move { crate::provider::call_latest(&connection.provider, token, data).await.ok() };
    let (symbol, decimals) =
        futures::join!(call(IERC20::symbolCall {}.abi_encode()), call(IERC20::decimalsCall {}.abi_encode()));
    let symbol = symbol.and_then(|data| crate::simulation::reads::symbol(&data));
    let decimals = decimals.and_then(|data| crate::simulation::reads::small_uint(&data));
    (symbol, decimals)
}

fn amount_view(item: &Item, info: &(Option<String>, Option<u8>)) -> TokenAmount {
    let (symbol, decimals) = info.clone();
    let name = symbol.clone().unwrap_or_else(|| crate::simulation::report::short(&item.token));
    let formatted = match (item.kind, item.unlimited, decimals) {
        (_, true, _) => format!("unlimited {name}"),
        (ItemKind::Erc721, _, _) => format!("{name} #{}", item.token_id.unwrap_or_default()),
        (ItemKind::Erc721Criteria | ItemKind::Erc1155Criteria, _, _) => format!("{} of any {name}", item.amount),
        (ItemKind::Erc1155, _, _) => format!("{} × {name} #{}", item.amount, item.token_id.unwrap_or_default()),
        (_, false, Some(decimals)) => format!("{} {name}", format_units(item.amount, decimals)),
        (_, false, None) => format!("{} base units of {name}", item.amount),
    };
    TokenAmount {
        token: item.token,
        kind: item.kind,
        symbol,
        decimals,
        amount: item.amount.to_string(),
        formatted,
        unlimited: item.unlimited,
        token_id: item.token_id.filter(|_| item.kind != ItemKind::Erc20).map(|id| id.to_string()),
        recipient: item.recipient,
    }
}

/// Reviews checked typed data: decodes it, reads the chain over `connection` (the domain's chain),
/// and runs the rules.
pub async fn review_typed_data(
    connection: &Connection,
    markets: &Markets,
    checked: &CheckedTypedData,
    options: &ReviewOptions,
) -> SignatureReview {
    let domain = checked.typed.domain();
    let verifying_contract = domain.verifying_contract;
    let decoded = decode(&checked.json);
    let provider = &connection.provider;

    // Code at the parties and the verifying contract.
    let mut parties: Vec<Address> = Vec::new();
    if let Some(d) = &decoded {
        parties.extend(d.spender.iter().chain(d.recipient.iter()).copied());
        parties.extend(verifying_contract);
    }
    parties.sort();
    parties.dedup();
    let codes = join_all(parties.iter().map(|a| async move { provider.get_code_at(*a).await })).await;
    let has_code: HashMap<Address, bool> = parties
        .iter()
        .zip(codes)
        .filter_map(|(a, code)| Some((*a, crate::simulation::engine::has_code(&code.ok()?))))
        .collect();

    // The verifying contract's own domain, when it tells it.
    let domain_separator_matches = match (&decoded, verifying_contract) {
        (Some(_), Some(contract)) if has_code.get(&contract) == Some(&true) => {
            match crate::provider::call_latest(provider, contract, IEip712::DOMAIN_SEPARATORCall {}.abi_encode()).await
            {
                Ok(data) if data.len() == 32 => Some(FixedBytes::<32>::from_slice(&data) == domain.separator()),
                _ => None,
            }
        }
        _ => None,
    };

    // Symbols and decimals of every fungible token.
    let mut tokens: Vec<Address> = Vec::new();
    if let Some(d) = &decoded {
        tokens.extend(d.given.iter().chain(&d.received).filter(|i| i.kind != ItemKind::Native).map(|i| i.token));
    }
    tokens.sort();
    tokens.dedup();
    let infos: HashMap<Address, (Option<String>, Option<u8>)> =
        join_all(tokens.iter().map(|t| async move { (*t, token_info(connection, markets, *t).await) }))
            .await
            .into_iter()
            .collect();
    let info = |item: &Item| -> (Option<String>, Option<u8>) {
        if item.kind == ItemKind::Native {
            return (Some(connection.network.native.symbol.clone()), Some(connection.network.native.decimals));
        }
        infos.get(&item.token).cloned().unwrap_or_default()
    };

    let facts = SignatureFacts {
        wallet: options.wallet,
        wallet_chain_id: options.wallet_chain_id,
        now: options.now,
        long_permit_secs: options.limits.long_permit_secs,
        has_code,
        domain_separator_matches,
        permit2: options.permit2.clone(),
        symbols: infos.iter().filter_map(|(a, (s, _))| Some((*a, s.clone()?))).collect(),
    };
    let warnings = assess(&SignatureInput {
        chain_id: checked.chain_id,
        verifying_contract,
        decoded: decoded.as_ref(),
        facts: &facts,
    });
    let view = decoded.as_ref().map(|d: &Decoded| DecodedView {
        kind: d.kind,
        title: d.kind.title().to_owned(),
        owner: d.owner,
        spender: d.spender,
        recipient: d.recipient,
        tokens: d.given.iter().map(|i| amount_view(i, &info(i))).collect(),
        received: d.received.iter().map(|i| amount_view(i, &info(i))).collect(),
        expiry: d.expiry.map(expiry),
        deadline: d.deadline.map(expiry),
        moves_assets: d.kind.moves_assets(),
    });
    let types = checked.json["types"].as_object().cloned().unwrap_or_default();
    let primary = checked.typed.primary_type.clone();
    SignatureReview {
        kind: SignatureKind::TypedData,
        signing_hash: checked.signing_hash.to_string(),
        domain: Some(DomainView {
            name: domain.name.as_ref().map(|n| n.to_string()),
            version: domain.version.as_ref().map(|v| v.to_string()),
            chain_id: checked.chain_id,
            verifying_contract,
        }),
        tree: view.is_none().then(|| tree::build(&types, &primary, &checked.json["message"])),
        primary_type: Some(primary),
        decoded: view,
        text: None,
        hex: None,
        warnings,
    }
}

/// Reviews a personal message: shown as text, no rules (it moves nothing by itself).
pub fn review_message(checked: &CheckedMessage) -> SignatureReview {
    SignatureReview {
        kind: SignatureKind::PersonalMessage,
        signing_hash: checked.signing_hash.to_string(),
        domain: None,
        primary_type: None,
        decoded: None,
        tree: None,
        text: checked.text.clone(),
        hex: checked.hex.then(|| hex::encode_prefixed(&checked.bytes)),
        warnings: Vec::new(),
    }
}
