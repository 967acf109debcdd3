//! `remember` and `recall`, and labels beside addresses in every tool's output.
//!
//! A label or note the user asks aomi to keep ("call 0x7099…79C8 my cold wallet") is the
//! connected wallet's own fact: only that wallet sees it. The curated labels of well-known
//! contracts ([`CURATED_LABELS`], `data/labels.json`) are global facts every wallet sees; a
//! wallet's own label of an address wins over the curated one.
//!
//! [`label_outputs`] wraps every tool of a registry: after a call, the addresses in its output
//! are looked up, their labels added to the summary the model reads ("Labels: 0x7099…79C8 = my
//! cold wallet"), and sent to the page as a `data-labels` part ([`LabelsPart`]), which shows
//! each label beside its address.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aomi_core::{Address, BoxFuture, DataPart, Tool, ToolContext, ToolError, ToolOutput, ToolSpec, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{Fact, FactKind, Memory};
use crate::registry::ToolRegistry;

/// The curated labels, as shipped.
pub const CURATED_LABELS: &str = include_str!("../../data/labels.json");

/// One curated label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CuratedLabel {
    /// The chain; 0 for every chain.
    pub chain_id: u64,
    /// The address (EIP-55 checked).
    pub address: Address,
    /// Its label.
    pub label: String,
}

/// The curated labels, parsed (every address checked).
pub fn curated_labels() -> Result<Vec<CuratedLabel>, String> {
    serde_json::from_str(CURATED_LABELS).map_err(|e| format!("data/labels.json is invalid: {e}"))
}

/// The bounds of the memory.
#[derive(Debug, Clone, Copy)]
pub struct MemoryConfig {
    /// The most facts one wallet may keep.
    pub max_facts_per_wallet: u64,
    /// The longest value, in characters.
    pub max_value_chars: usize,
    /// The most addresses of one tool output that are looked up for labels.
    pub max_labelled_addresses: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig { max_facts_per_wallet: 1000, max_value_chars: 200, max_labelled_addresses: 100 }
    }
}

/// The arguments of `remember`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RememberArgs {
    /// What the fact is about: a 0x address (for a label) or a name (a protocol, a token).
    pub subject: String,
    /// What to remember: the label ("my cold wallet") or the note.
    pub value: String,
    /// label (a name for an address; the default for an address), token, or note (the default
    /// otherwise).
    #[serde(default)]
    pub kind: Option<FactKind>,
    /// True to forget this fact instead (value is then ignored).
    #[serde(default)]
    pub forget: Option<bool>,
}

/// The output of `remember`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Remembered {
    /// The fact as kept (or forgotten).
    pub fact: Fact,
    /// False when it was forgotten.
    pub kept: bool,
}

/// `remember`: keeps a label or note for the connected wallet.
#[derive(Clone)]
pub struct Remember {
    memory: Arc<dyn Memory>,
    config: MemoryConfig,
}

impl Remember {
    /// The tool over `memory`.
    pub fn new(memory: Arc<dyn Memory>, config: MemoryConfig) -> Self {
        Remember { memory, config }
    }
}

/// The wallet a fact belongs to.
fn owner(ctx: &ToolContext) -> Result<Address, ToolError> {
    ctx.wallet.as_ref().and_then(|w| w.address).ok_or_else(|| {
        ToolError::Failed("no wallet is connected: labels and notes are kept per wallet, so connect one first".into())
    })
}

/// A subject as stored: an address in lower case, a name trimmed.
fn subject_of(text: &str) -> Result<(String, bool), ToolError> {
    let text = text.trim();
    if text.starts_with("0x") || text.starts_with("0X") {
        let address = Address::parse(text).map_err(|e| ToolError::InvalidArguments(format!("subject: {e}")))?;
        return Ok((address.to_lowercase_hex(), true));
    }
    if text.is_empty() || text.chars().count() > 100 {
        return Err(ToolError::InvalidArguments("subject: an address, or a name of 1 to 100 characters".into()));
    }
    Ok((text.to_owned(), false))
}

impl TypedTool for Remember {
    const NAME: &'static str = "remember";
    type Args = RememberArgs;
    type Output = Remembered;

    fn description(&self) -> String {
        "Remembers a label for an address (\"call 0x… my cold wallet\") or a note, for the connected wallet only, \
         when the user asks you to; later tool outputs show the label beside the address. With forget: true, \
         removes it."
            .into()
    }

    async fn run(&self, args: RememberArgs, ctx: ToolContext) -> Result<ToolOutput<Remembered>, ToolError> {
        let owner = owner(&ctx)?;
        let (subject, is_address) = subject_of(&args.subject)?;
        let kind = args.kind.unwrap_or(if is_address { FactKind::Label } else { FactKind::Note });
        if kind == FactKind::Label && !is_address {
            return Err(ToolError::InvalidArguments("subject: a label names an address (0x…)".into()));
        }
        let value = args.value.split_whitespace().collect::<Vec<_>>().join(" ");
        let forget = args.forget.unwrap_or(false);
        let fact = Fact { kind, chain_id: 0, subject, value, source: "user".into() };
        if forget {
            let removed = self.memory.forget(owner, fact.clone()).await.map_err(ToolError::Failed)?;
            let summary = if removed {
                format!("Forgot \"{}\".", fact.subject)
            } else {
                format!("Nothing was kept about {}.", fact.subject)
            };
            return Ok(ToolOutput::new(Remembered { fact, kept: false }, summary));
        }
        let max = self.config.max_value_chars;
        if fact.value.is_empty() || fact.value.chars().count() > max {
            return Err(ToolError::InvalidArguments(format!("value: 1 to {max} characters")));
        }
        let count = self.memory.count(owner).await.map_err(ToolError::Failed)?;
        if count >= self.config.max_facts_per_wallet {
            return Err(ToolError::Failed(format!(
                "this wallet keeps {count} facts already, the most allowed ({}): forget some first",
                self.config.max_facts_per_wallet
            )));
        }
        self.memory.remember(owner, fact.clone()).await.map_err(ToolError::Failed)?;
        let summary = format!("Remembered for this wallet: {} = \"{}\".", fact.subject, fact.value);
        Ok(ToolOutput::new(Remembered { fact, kept: true }, summary))
    }
}

/// The arguments of `recall`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallArgs {
    /// An address ("who is 0x…?") or words to find in the labels and notes ("cold wallet").
    pub query: String,
}

/// The output of `recall`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recalled {
    /// What was asked.
    pub query: String,
    /// The facts found: the wallet's own (`source: "user"`) first, then the curated ones.
    pub facts: Vec<Fact>,
}

/// `recall`: what aomi knows about an address or a name: the wallet's labels and notes and the
/// curated labels.
#[derive(Clone)]
pub struct Recall {
    memory: Arc<dyn Memory>,
}

impl Recall {
    /// The tool over `memory`.
    pub fn new(memory: Arc<dyn Memory>) -> Self {
        Recall { memory }
    }
}

/// Most facts one `recall` answers.
const RECALLED: u32 = 20;

impl TypedTool for Recall {
    const NAME: &'static str = "recall";
    type Args = RecallArgs;
    type Output = Recalled;

    fn description(&self) -> String {
        "Looks up what is known about an address (\"who is 0x…?\") or a name: the labels and notes the user asked \
         you to remember, and curated labels of well-known contracts."
            .into()
    }

    async fn run(&self, args: RecallArgs, ctx: ToolContext) -> Result<ToolOutput<Recalled>, ToolError> {
        let owner = ctx.wallet.as_ref().and_then(|w| w.address);
        let query = args.query.trim();
        if query.is_empty() || query.chars().count() > 100 {
            return Err(ToolError::InvalidArguments("query: an address, or 1 to 100 characters".into()));
        }
        let text = match subject_of(query)? {
            (address, true) => address,
            (words, false) => words,
        };
        let facts = self.memory.recall(owner, &text, None, RECALLED).await.map_err(ToolError::Failed)?;
        let summary = match facts.first() {
            None => format!("Nothing is known about \"{query}\"."),
            Some(_) => facts
                .iter()
                .map(|f| format!("{} = \"{}\" ({})", f.subject, f.value, f.source))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Ok(ToolOutput::new(Recalled { query: query.to_owned(), facts }, summary))
    }
}

/// The `data-labels` part: the labels of the addresses of one tool output, for the page to show
/// beside them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelsPart {
    /// The tool call whose output holds the addresses.
    pub tool_call_id: String,
    /// Label by address (lower case).
    pub labels: BTreeMap<String, String>,
}

impl DataPart for LabelsPart {
    const NAME: &'static str = "labels";
}

/// Every tool of `registry` with the known labels beside the addresses of its output (see the
/// module's documentation).
pub fn label_outputs(registry: ToolRegistry, memory: Arc<dyn Memory>, config: MemoryConfig) -> ToolRegistry {
    registry.map(|tool| {
        Arc::new(Labelled { inner: tool, memory: Arc::clone(&memory), max: config.max_labelled_addresses })
            as Arc<dyn Tool>
    })
}

/// A tool whose outputs get labels.
struct Labelled {
    inner: Arc<dyn Tool>,
    memory: Arc<dyn Memory>,
    max: usize,
}

/// The addresses in a JSON value (strings that are exactly an address), at most `max`, in order.
fn addresses_in(value: &Value, max: usize, found: &mut Vec<Address>) {
    if found.len() >= max {
        return;
    }
    match value {
        Value::String(text) if text.len() == 42 && text.starts_with("0x") => {
            if let Ok(address) = Address::parse(text)
                && !found.contains(&address)
            {
                found.push(address);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| addresses_in(item, max, found)),
        Value::Object(map) => map.values().for_each(|item| addresses_in(item, max, found)),
        _ => {}
    }
}

impl Tool for Labelled {
    fn spec(&self) -> ToolSpec {
        self.inner.spec()
    }

    fn timeout(&self) -> Option<Duration> {
        self.inner.timeout()
    }

    fn runs_on_client(&self) -> bool {
        self.inner.runs_on_client()
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut output = self.inner.call(args, ctx.clone()).await?;
            let mut addresses = Vec::new();
            addresses_in(&output.data, self.max, &mut addresses);
            if addresses.is_empty() {
                return Ok(output);
            }
            let owner = ctx.wallet.as_ref().and_then(|w| w.address);
            let chain_id =
                output.data["chainId"].as_u64().or_else(|| ctx.wallet.as_ref().map(|w| w.chain_id)).unwrap_or_default();
            let labels = match self.memory.labels(owner, chain_id, &addresses).await {
                Ok(labels) => labels,
                Err(error) => {
                    tracing::warn!(%error, "labels could not be read; the output goes without them");
                    return Ok(output);
                }
            };
            if labels.is_empty() {
                return Ok(output);
            }
            let mut known: Vec<(&Address, &String)> = labels.iter().collect();
            known.sort_by_key(|(address, _)| addresses.iter().position(|a| a == *address));
            let listed: Vec<String> = known
                .iter()
                .map(|(address, label)| format!("{} ({label})", aomi_chain::short_address(&address.into_alloy())))
                .collect();
            output.summary = format!("{} Known labels: {}.", output.summary, listed.join(", "));
            ctx.emit(&LabelsPart {
                tool_call_id: ctx.tool_call_id.clone(),
                labels: labels.iter().map(|(address, label)| (address.to_lowercase_hex(), label.clone())).collect(),
            });
            Ok(output)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_curated_labels_parse_and_their_addresses_are_checked() {
        let labels = curated_labels().unwrap();
        assert!(labels.len() >= 10);
        assert!(labels.iter().all(|l| !l.label.trim().is_empty()));
    }

    #[test]
    fn addresses_are_found_anywhere_in_an_output_within_the_bound() {
        let a = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let b = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        let data = json!({ "from": a, "logs": [{ "to": b, "note": "not 0x12" }], "again": a });
        let mut found = Vec::new();
        addresses_in(&data, 10, &mut found);
        assert_eq!(found.len(), 2);
        let mut one = Vec::new();
        addresses_in(&data, 1, &mut one);
        assert_eq!(one.len(), 1);
    }
}
