//! The contract database over a real store through the server's adapter (a SQLite file, and
//! PostgreSQL when reachable), a real anvil and the stub Etherscan: cache first, explorer second,
//! proxies, "not verified", artifacts.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::alloy::primitives::Address;
use aomi_chain::contracts::Artifact;
use aomi_chain::{
    ChainSessions, ContractCache, ContractDb, ContractError, Devnet, Etherscan, EtherscanConfig, ExplorerError,
    NetworkRegistry,
};
use aomi_server::contract_cache::StoreContractCache;
use aomi_store::StoreConfig;
use aomi_store::testing::{TempDir, TestPostgres};
use aomi_testkit::{ExplorerReply, StubEtherscan};
use serde_json::{Value, json};

/// A devnet whose contracts aomi does not know yet, the stub explorer, and a database.
struct Setup {
    devnet: Devnet,
    sessions: ChainSessions,
    stub: StubEtherscan,
    store: Arc<dyn ContractCache>,
    _dir: Option<TempDir>,
    _pg: Option<TestPostgres>,
}

enum Db {
    Sqlite,
    Postgres,
}

impl Setup {
    async fn start(db: Db) -> Option<Setup> {
        let (store, dir, pg) = match db {
            Db::Sqlite => {
                let dir = TempDir::new();
                let store = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
                (StoreContractCache::shared(store), Some(dir), None)
            }
            Db::Postgres => {
                let pg = TestPostgres::create().await?;
                (StoreContractCache::shared(aomi_store::connect(pg.url()).await.unwrap()), None, Some(pg))
            }
        };
        let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
        let registry = NetworkRegistry::from_networks(vec![devnet.network("devnet")]).unwrap();
        let sessions = ChainSessions::new(registry, "devnet").unwrap();
        let stub = StubEtherscan::start().await.unwrap();
        Some(Setup { devnet, sessions, stub, store, _dir: dir, _pg: pg })
    }

    fn db(&self) -> ContractDb {
        ContractDb::new(Arc::clone(&self.store), explorer(&self.stub))
    }

    fn usdc(&self) -> Address {
        self.devnet.contracts().usdc
    }

    async fn get(&self, db: &ContractDb, address: Address) -> Result<aomi_chain::ResolvedContract, ContractError> {
        let connection = self.sessions.connection("chat", None).unwrap();
        db.get_contract(self.sessions.contracts(), &connection, address).await
    }
}

fn explorer(stub: &StubEtherscan) -> Etherscan {
    Etherscan::new(EtherscanConfig {
        api_key: Some("test-key".into()),
        base_url: stub.url(),
        timeout: Duration::from_secs(5),
        rate_limit_retries: 2,
        retry_delay: Duration::from_millis(10),
    })
    .unwrap()
}

fn token_abi() -> Value {
    serde_json::to_value(Artifact::test_token().unwrap().abi).unwrap()
}

fn proxy_abi() -> Value {
    json!([
        { "type": "function", "name": "upgradeTo", "stateMutability": "nonpayable",
          "inputs": [{ "name": "newImplementation", "type": "address" }], "outputs": [] },
        { "type": "event", "name": "Upgraded", "anonymous": false,
          "inputs": [{ "name": "implementation", "type": "address", "indexed": true }] }
    ])
}

async fn miss_then_hit(db: Db) {
    let Some(setup) = Setup::start(db).await else { return };
    let usdc = setup.usdc();
    setup.stub.contract(31337, &usdc.to_string(), ExplorerReply::verified("FiatTokenV2_2", token_abi()));
    assert!(setup.sessions.contracts().get(31337, usdc).is_none());

    let db = setup.db();
    let first = setup.get(&db, usdc).await.unwrap();
    assert!(!first.cached);
    assert_eq!(first.record.verified_by.as_deref(), Some("etherscan"));
    assert_eq!(setup.stub.requests().len(), 1);

    // Stored, and registered for decoding.
    let stored = setup.store.contract(31337, usdc).await.unwrap().unwrap();
    assert_eq!((stored.name.as_deref(), stored.verified_by.as_deref()), (Some("FiatTokenV2_2"), Some("etherscan")));
    assert_eq!(stored.abi, token_abi());
    let known = setup.sessions.contracts().get(31337, usdc).unwrap();
    assert_eq!(known.name, "FiatTokenV2_2");
    assert!(known.abi.function("balanceOf").is_some());

    // A hit does not ask the explorer, even from a new database value over the same store.
    let again = setup.get(&setup.db(), usdc).await.unwrap();
    assert!(again.cached);
    assert_eq!(again.record, stored);
    assert_eq!(setup.stub.requests().len(), 1, "a cache hit sends no request");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miss_asks_etherscan_and_a_hit_does_not_sqlite() {
    miss_then_hit(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miss_asks_etherscan_and_a_hit_does_not_postgres() {
    miss_then_hit(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_survives_a_restart_of_the_sqlite_file() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let usdc = setup.usdc();
    setup.stub.contract(31337, &usdc.to_string(), ExplorerReply::verified("Token", token_abi()));
    setup.get(&setup.db(), usdc).await.unwrap();
    // The same file, opened again by a new store (the store holds a lock file: close the first).
    let dir = setup._dir.as_ref().unwrap().path().to_owned();
    let Setup { devnet, sessions, stub, store, _dir, .. } = setup;
    drop(store);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reopened = StoreContractCache::shared(aomi_store::connect_with(&StoreConfig::in_data_dir(&dir)).await.unwrap());
    let db = ContractDb::new(reopened, explorer(&stub));
    let connection = sessions.connection("chat", None).unwrap();
    let fresh_sessions = ChainSessions::new(sessions.registry().clone(), "devnet").unwrap();
    let again = db.get_contract(fresh_sessions.contracts(), &connection, usdc).await.unwrap();
    assert!(again.cached);
    assert_eq!(stub.requests().len(), 1);
    assert!(fresh_sessions.contracts().get(31337, usdc).is_some(), "a hit registers the ABI too");
    drop(devnet);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_carries_its_implementations_abi() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let (proxy, implementation) = (setup.usdc(), setup.devnet.contracts().dai);
    setup.stub.contract(
        31337,
        &proxy.to_string(),
        ExplorerReply::verified("FiatTokenProxy", proxy_abi()).proxy_of(&implementation.to_string()),
    );
    setup.stub.contract(31337, &implementation.to_string(), ExplorerReply::verified("FiatTokenV2_2", token_abi()));

    let found = setup.get(&setup.db(), proxy).await.unwrap();
    assert_eq!(found.record.name.as_deref(), Some("FiatTokenProxy"));
    assert_eq!(
        found.record.implementation.map(|i| i.to_lowercase_hex()),
        Some(implementation.to_string().to_lowercase())
    );
    // The implementation's functions, and the proxy's own.
    assert!(found.abi.function("balanceOf").is_some());
    assert!(found.abi.function("upgradeTo").is_some());
    assert!(found.abi.event("Upgraded").is_some());
    assert_eq!(setup.stub.requests().len(), 2);

    let known = setup.sessions.contracts().get(31337, proxy).unwrap();
    assert!(known.abi.function("transfer").is_some(), "calls to the proxy decode with the implementation's ABI");
    let stored = setup.store.contract(31337, implementation).await.unwrap().unwrap();
    assert_eq!(stored.name.as_deref(), Some("FiatTokenV2_2"));
    assert_eq!(stored.implementation, None);

    let again = setup.get(&setup.db(), proxy).await.unwrap();
    assert!(again.cached);
    assert_eq!(again.record.implementation, found.record.implementation);
    assert_eq!(setup.stub.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn not_verified_is_remembered_for_a_while() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let usdc = setup.usdc();
    let db = setup.db();
    let error = setup.get(&db, usdc).await.unwrap_err();
    assert!(matches!(error, ContractError::Explorer(ExplorerError::NotVerified { .. })), "{error:?}");
    let stored = setup.store.contract(31337, usdc).await.unwrap().unwrap();
    assert_eq!((stored.verified_by, stored.abi), (None, json!([])));

    let error = setup.get(&db, usdc).await.unwrap_err();
    assert!(matches!(error, ContractError::Explorer(ExplorerError::NotVerified { .. })), "{error:?}");
    assert_eq!(setup.stub.requests().len(), 1, "the cached answer is used");

    // Once the answer is older than the policy allows, the explorer is asked again.
    let policy = aomi_chain::contract_db::CachePolicy { not_verified: Duration::ZERO, ..Default::default() };
    setup.stub.contract(31337, &usdc.to_string(), ExplorerReply::verified("NowVerified", token_abi()));
    let found = setup.get(&setup.db().with_policy(policy), usdc).await.unwrap();
    assert_eq!(found.record.name.as_deref(), Some("NowVerified"));
    assert_eq!(setup.stub.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn explorer_failures_are_not_cached() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let usdc = setup.usdc();
    setup.stub.contract(31337, &usdc.to_string(), ExplorerReply::verified("Token", token_abi()));
    let db = setup.db();

    setup.stub.then(ExplorerReply::InvalidKey);
    let error = setup.get(&db, usdc).await.unwrap_err();
    assert!(matches!(error, ContractError::Explorer(ExplorerError::InvalidKey(_))), "{error:?}");
    setup.stub.then(ExplorerReply::HttpError(502));
    let error = setup.get(&db, usdc).await.unwrap_err();
    assert!(matches!(error, ContractError::Explorer(ExplorerError::Http(502))), "{error:?}");
    assert!(setup.store.contract(31337, usdc).await.unwrap().is_none());

    // Rate limited, then answered: the retry succeeds and the answer is stored.
    setup.stub.then(ExplorerReply::RateLimited);
    let found = setup.get(&db, usdc).await.unwrap();
    assert_eq!(found.record.name.as_deref(), Some("Token"));
    assert_eq!(setup.stub.requests().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_proxy_row_is_answered_when_the_explorer_is_down() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let (proxy, implementation) = (setup.usdc(), setup.devnet.contracts().dai);
    setup.stub.contract(
        31337,
        &proxy.to_string(),
        ExplorerReply::verified("Proxy", proxy_abi()).proxy_of(&implementation.to_string()),
    );
    setup.stub.contract(31337, &implementation.to_string(), ExplorerReply::verified("Token", token_abi()));
    setup.get(&setup.db(), proxy).await.unwrap();

    let policy = aomi_chain::contract_db::CachePolicy { proxy: Duration::ZERO, ..Default::default() };
    setup.stub.then(ExplorerReply::HttpError(500));
    let found = setup.get(&setup.db().with_policy(policy), proxy).await.unwrap();
    assert!(found.cached, "the stale row, since the explorer failed");
    assert!(found.abi.function("balanceOf").is_some());
    assert_eq!(setup.stub.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_without_code_is_not_a_contract() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let account = setup.devnet.accounts()[3];
    let error = setup.get(&setup.db(), account).await.unwrap_err();
    assert!(matches!(error, ContractError::NotAContract { .. }), "{error:?}");
    assert!(error.to_string().contains("no code"));
    assert!(setup.stub.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_devnets_artifacts_are_answered_without_the_explorer() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    setup.devnet.register_contracts(setup.sessions.contracts()).unwrap();
    let db = setup.db();
    // Every contract the devnet deployed (its own and Uniswap's) is stored, and nothing else.
    let deployed = setup.sessions.contracts().on_chain(31337).len();
    assert!(deployed > 5, "the test tokens, WETH, OrderBook, Reverter, the proxy and Uniswap: {deployed}");
    assert_eq!(db.store_known(setup.sessions.contracts(), 31337).await.unwrap(), deployed);

    let book = setup.get(&db, setup.devnet.contracts().order_book).await.unwrap();
    assert!(book.cached);
    assert_eq!(
        (book.record.name.as_deref(), book.record.verified_by.as_deref()),
        (Some("OrderBook"), Some("artifact"))
    );
    assert!(setup.stub.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_a_miss_says_how_to_configure_one() {
    let setup = Setup::start(Db::Sqlite).await.unwrap();
    let explorer = Etherscan::new(EtherscanConfig { base_url: setup.stub.url(), ..Default::default() }).unwrap();
    let db = ContractDb::new(Arc::clone(&setup.store), explorer);
    let error = setup.get(&db, setup.usdc()).await.unwrap_err();
    assert!(error.to_string().contains("set ETHERSCAN_API_KEY"), "{error}");
    assert!(setup.stub.requests().is_empty());
}
