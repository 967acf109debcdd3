//! The knowledge tools over the store: the facts table and the answer cache as the tools'
//! [`Memory`], the curated labels seeded as global facts, and the registry of the tools
//! (`web_search`, `get_transaction_history`, `get_contract_source`, `remember`, `recall`, and
//! the wallet tool with the labels its address-poisoning rule compares with).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aomi_chain::{ChainSessions, ContractDb, Etherscan};
use aomi_core::{Address, BoxFuture};
use aomi_store::{FactQuery, FactRecord, Store, StoreError};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::SimulateBeforeSend;
use aomi_tools::knowledge::{
    Fact, FactKind, GetContractSource, GetTransactionHistory, HistoryConfig, Memory, MemoryConfig, Recall, Remember,
    SearchConfig, SourceConfig, WebSearch, curated_labels,
};
use serde_json::Value;

use crate::contract_cache::StoreContractCache;
use crate::transactions::StoreTransactions;

/// The store's facts and answer cache as the tools' [`Memory`].
#[derive(Debug, Clone)]
pub struct StoreMemory {
    store: Arc<dyn Store>,
}

impl StoreMemory {
    /// The memory over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreMemory { store }
    }

    /// The same, shared, as the tools take it.
    pub fn shared(store: Arc<dyn Store>) -> Arc<dyn Memory> {
        Arc::new(Self::new(store))
    }
}

fn kind(kind: FactKind) -> aomi_store::FactKind {
    match kind {
        FactKind::Label => aomi_store::FactKind::Label,
        FactKind::Token => aomi_store::FactKind::Token,
        FactKind::Note => aomi_store::FactKind::Note,
    }
}

fn fact(record: FactRecord) -> Fact {
    Fact {
        kind: match record.kind {
            aomi_store::FactKind::Label => FactKind::Label,
            aomi_store::FactKind::Token => FactKind::Token,
            aomi_store::FactKind::Note => FactKind::Note,
        },
        chain_id: record.chain_id,
        subject: record.subject,
        value: record.value,
        source: record.source,
    }
}

fn text(error: StoreError) -> String {
    error.to_string()
}

/// Labels by address from facts ordered the wallet's first: the wallet's own label wins.
fn labels_of(records: Vec<FactRecord>) -> HashMap<Address, String> {
    let mut labels = HashMap::new();
    for record in records {
        if let Ok(address) = Address::parse(&record.subject) {
            labels.entry(address).or_insert(record.value);
        }
    }
    labels
}

impl Memory for StoreMemory {
    fn labels<'a>(
        &'a self,
        owner: Option<Address>,
        chain_id: u64,
        addresses: &'a [Address],
    ) -> BoxFuture<'a, Result<HashMap<Address, String>, String>> {
        Box::pin(async move {
            let subjects: Vec<String> = addresses.iter().map(Address::to_lowercase_hex).collect();
            let records =
                self.store.facts_about(owner, aomi_store::FactKind::Label, chain_id, &subjects).await.map_err(text)?;
            Ok(labels_of(records))
        })
    }

    fn look_alikes<'a>(
        &'a self,
        owner: Option<Address>,
        chain_id: u64,
        address: Address,
    ) -> BoxFuture<'a, Result<HashMap<Address, String>, String>> {
        Box::pin(async move {
            let hex = address.to_lowercase_hex();
            let query = FactQuery {
                owner,
                kind: Some(aomi_store::FactKind::Label),
                text: hex[..6].to_owned(),
                chain_id: Some(chain_id),
                limit: aomi_store::MAX_PAGE,
            };
            let records = self.store.find_facts(&query).await.map_err(text)?;
            let suffix = &hex[hex.len() - 4..];
            let alike = records.into_iter().filter(|r| r.subject.starts_with(&hex[..6]) && r.subject.ends_with(suffix));
            Ok(labels_of(alike.collect()))
        })
    }

    fn remember<'a>(&'a self, owner: Address, new: Fact) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let record = FactRecord {
                owner: Some(owner),
                kind: kind(new.kind),
                chain_id: new.chain_id,
                subject: new.subject,
                value: new.value,
                source: new.source,
                updated_at: chrono::Utc::now(),
            };
            self.store.put_fact(&record).await.map_err(text)
        })
    }

    fn forget<'a>(&'a self, owner: Address, old: Fact) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            self.store.delete_fact(Some(owner), kind(old.kind), old.chain_id, &old.subject).await.map_err(text)
        })
    }

    fn recall<'a>(
        &'a self,
        owner: Option<Address>,
        words: &'a str,
        chain_id: Option<u64>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<Fact>, String>> {
        Box::pin(async move {
            let query = FactQuery { owner, kind: None, text: words.to_owned(), chain_id, limit };
            Ok(self.store.find_facts(&query).await.map_err(text)?.into_iter().map(fact).collect())
        })
    }

    fn count<'a>(&'a self, owner: Address) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(async move { self.store.count_facts(Some(owner)).await.map_err(text) })
    }

    fn cached<'a>(&'a self, key: &'a str, max_age: Duration) -> BoxFuture<'a, Result<Option<Value>, String>> {
        Box::pin(async move { self.store.cached_answer(key, max_age).await.map_err(text) })
    }

    fn put_cached<'a>(&'a self, key: &'a str, value: &'a Value, keep: Duration) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.store.put_answer(key, value, keep).await.map_err(text) })
    }
}

/// Writes the curated labels (`data/labels.json` of aomi-tools) as global facts; returns how many.
pub async fn seed_curated_labels(store: &dyn Store) -> Result<usize, String> {
    let labels = curated_labels()?;
    let now = chrono::Utc::now();
    for label in &labels {
        let record = FactRecord {
            owner: aomi_store::GLOBAL,
            kind: aomi_store::FactKind::Label,
            chain_id: label.chain_id,
            subject: label.address.to_lowercase_hex(),
            value: label.label.clone(),
            source: "curated".into(),
            updated_at: now,
        };
        store.put_fact(&record).await.map_err(text)?;
    }
    Ok(labels.len())
}

/// The settings of the knowledge tools.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeConfig {
    /// Web search; `None` leaves `web_search` out.
    pub search: Option<SearchConfig>,
    /// `get_transaction_history`'s bounds.
    pub history: HistoryConfig,
    /// `get_contract_source`'s bounds.
    pub source: SourceConfig,
    /// The memory's bounds.
    pub memory: MemoryConfig,
    /// What the wallet tool runs on a simulated request (prices, the price-impact rule, the spend
    /// guards); `None`: the store's guards, unpriced. Never no guards: this wallet tool replaces
    /// the guarded one of [`guarded_chain_tools`](crate::transactions::guarded_chain_tools).
    pub wallet_checks: Option<aomi_tools::review::WalletChecks>,
}

/// The knowledge tools over `store`, and the wallet tool recording to it with the labels its
/// address-poisoning rule needs (it replaces the one of
/// [`recorded_chain_tools`](crate::transactions::recorded_chain_tools) when merged after it).
pub fn knowledge_tools(
    sessions: Arc<ChainSessions>,
    store: Arc<dyn Store>,
    explorer: Etherscan,
    config: KnowledgeConfig,
) -> Result<ToolRegistry, String> {
    let memory = StoreMemory::shared(Arc::clone(&store));
    let cache = StoreContractCache::shared(Arc::clone(&store) as Arc<dyn aomi_store::ContractStore>);
    let contracts = Arc::new(ContractDb::new(cache, explorer.clone()));
    let recorder = Arc::new(StoreTransactions::new(Arc::clone(&store)));
    let checks = config.wallet_checks.clone().unwrap_or_else(|| {
        crate::transactions::store_checks(Arc::clone(&store), None, aomi_chain::risk::impact::DEFAULT_PRICE_IMPACT_BPS)
    });
    let mut tools = ToolRegistry::new()
        .with(GetTransactionHistory::new(
            Arc::clone(&sessions),
            Arc::clone(&contracts),
            explorer,
            Some(Arc::clone(&memory)),
            config.history,
        ))
        .with(GetContractSource::new(Arc::clone(&sessions), contracts, config.source))
        .with(Remember::new(Arc::clone(&memory), config.memory))
        .with(Recall::new(Arc::clone(&memory)))
        .with(SimulateBeforeSend::new(sessions).recording_to(recorder).with_labels(memory).with_checks(checks));
    if let Some(search) = config.search {
        tools = tools.with(WebSearch::new(search)?);
    }
    Ok(tools)
}
