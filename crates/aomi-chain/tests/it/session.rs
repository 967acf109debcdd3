//! Per-session providers: two chats on two networks at once, switching, dead RPC URLs.

use aomi_chain::alloy::providers::Provider;
use aomi_chain::{ChainError, ChainSessions, Devnet, DevnetOptions, Network, NetworkRegistry};
use aomi_core::WalletContext;

/// Two devnets with different chain ids, as two networks of one registry.
async fn two_chains() -> (Devnet, Devnet, ChainSessions) {
    let (a, b) =
        tokio::join!(Devnet::start(), Devnet::start_with(DevnetOptions { chain_id: 31338, ..Default::default() }));
    let (a, b) = (a.unwrap(), b.unwrap());
    let registry = NetworkRegistry::from_networks(vec![a.network("devnet"), b.network("devnet-b")]).unwrap();
    let sessions = ChainSessions::new(registry, "devnet").unwrap();
    (a, b, sessions)
}

fn wallet(chain_id: u64) -> WalletContext {
    WalletContext { address: None, chain_id }
}

#[tokio::test]
async fn two_chats_on_two_networks_each_read_their_own_chain() {
    let (_a, _b, sessions) = two_chains().await;
    sessions.begin_turn("chat-a", Some(&wallet(31337)));
    sessions.begin_turn("chat-b", Some(&wallet(31338)));
    // Many reads interleaved, in parallel: each chat always sees its own chain.
    let reads = (0..20).map(|i| {
        let chat = if i % 2 == 0 { "chat-a" } else { "chat-b" };
        let sessions = &sessions;
        async move {
            let connection = sessions.connection(chat, None).unwrap();
            (chat, connection.network.chain_id, connection.provider.get_chain_id().await.unwrap())
        }
    });
    for (chat, network_id, chain_id) in futures::future::join_all(reads).await {
        let expected = if chat == "chat-a" { 31337 } else { 31338 };
        assert_eq!((network_id, chain_id), (expected, expected), "{chat}");
    }
}

#[tokio::test]
async fn a_switch_takes_effect_at_once_and_only_for_its_chat() {
    let (_a, _b, sessions) = two_chains().await;
    let chain_of = |chat: &str| sessions.connection(chat, None).unwrap();
    assert_eq!(chain_of("one").provider.get_chain_id().await.unwrap(), 31337, "the default network");
    assert_eq!(chain_of("two").provider.get_chain_id().await.unwrap(), 31337);
    sessions.session("one").unwrap().switch_network("devnet-b").unwrap();
    assert_eq!(chain_of("one").provider.get_chain_id().await.unwrap(), 31338);
    assert_eq!(chain_of("two").provider.get_chain_id().await.unwrap(), 31337, "the other chat did not move");
    // The next turn's wallet context wins.
    sessions.begin_turn("one", Some(&wallet(31337)));
    assert_eq!(chain_of("one").provider.get_chain_id().await.unwrap(), 31337);
    // A turn without wallet context keeps the chat where it was.
    sessions.session("one").unwrap().switch_chain_id(31338).unwrap();
    sessions.begin_turn("one", None);
    assert_eq!(chain_of("one").network.name, "devnet-b");
    // One call may name another network without moving the chat.
    assert_eq!(sessions.connection("one", Some("31337")).unwrap().network.name, "devnet");
    assert_eq!(chain_of("one").network.name, "devnet-b");
}

#[tokio::test]
async fn a_wallet_on_an_unknown_chain_gets_a_clear_error() {
    let (_a, _b, sessions) = two_chains().await;
    sessions.begin_turn("chat", Some(&wallet(56)));
    let error = sessions.connection("chat", None).unwrap_err();
    assert!(matches!(error, ChainError::UnknownChainId { chain_id: 56, .. }));
    assert!(error.to_string().contains("devnet-b (31338)"), "{error}");
    let error = sessions.session("chat").unwrap().switch_network("mars").unwrap_err().to_string();
    assert!(error.contains("unknown network \"mars\""), "{error}");
}

#[tokio::test]
async fn a_dead_rpc_url_is_a_clear_error_without_the_url_path() {
    let mut network = NetworkRegistry::builtin().by_name("devnet").unwrap().clone();
    // Nothing listens on port 9 (discard) of the loopback; the path stands for an API key.
    network.rpc_urls = vec!["http://127.0.0.1:9/v2/SECRET-KEY".into()];
    let sessions = ChainSessions::new(NetworkRegistry::from_networks(vec![network]).unwrap(), "devnet").unwrap();
    let connection = sessions.connection("chat", None).unwrap();
    let error = aomi_chain::provider::chain_id(&connection.provider, &connection.network).await.unwrap_err();
    assert!(matches!(error, ChainError::Unreachable { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.starts_with("cannot reach the RPC of devnet (http://127.0.0.1:9)"), "{text}");
    assert!(!text.contains("SECRET-KEY"), "{text}");
}

#[tokio::test]
async fn several_urls_fall_back_to_one_that_works() {
    let devnet = Devnet::start().await.unwrap();
    let mut network: Network = devnet.network("devnet");
    network.rpc_urls = vec!["http://127.0.0.1:9".into(), devnet.url().to_owned()];
    let sessions = ChainSessions::new(NetworkRegistry::from_networks(vec![network]).unwrap(), "devnet").unwrap();
    let connection = sessions.connection("chat", None).unwrap();
    for _ in 0..3 {
        assert_eq!(connection.provider.get_chain_id().await.unwrap(), 31337);
    }
}

/// Sessions and known contracts are bounded: chat ids and contract addresses come from users.
fn bounded(sessions: usize, contracts: usize) -> ChainSessions {
    let capacity = aomi_chain::Capacity { sessions, contracts };
    ChainSessions::with_capacity(NetworkRegistry::builtin(), "ethereum", capacity).unwrap()
}

#[tokio::test]
async fn sessions_stay_bounded_and_the_least_recently_used_is_forgotten() {
    let sessions = bounded(2, 10);
    sessions.session("a").unwrap().switch_network("base").unwrap();
    sessions.session("b").unwrap().switch_network("base").unwrap();
    // "a" is used again, so "b" is now the least recent; "c" pushes it out.
    assert_eq!(sessions.connection("a", None).unwrap().network.name, "base");
    sessions.session("c").unwrap();
    assert_eq!(sessions.session_count(), 2);
    assert_eq!(sessions.connection("a", None).unwrap().network.name, "base", "the recent chat is kept");
    assert_eq!(sessions.connection("b", None).unwrap().network.name, "ethereum", "the forgotten chat starts anew");
    assert_eq!(sessions.session_count(), 2);
}

#[tokio::test]
async fn known_contracts_stay_bounded_and_pinned_ones_are_kept() {
    use aomi_chain::alloy::primitives::Address;
    use aomi_chain::session::KnownContract;
    let sessions = bounded(10, 2);
    let known = sessions.contracts();
    let contract = |name: &str| KnownContract { name: name.into(), abi: Default::default() };
    let [a, b, c, own] = [1u8, 2, 3, 4].map(Address::with_last_byte);
    known.pin(1, own, contract("own"));
    known.insert(1, a, contract("a"));
    known.insert(1, b, contract("b"));
    assert_eq!(known.get(1, a).unwrap().name, "a", "a read makes a the most recent");
    known.insert(1, c, contract("c"));
    assert!(known.get(1, b).is_none(), "the least recently used is forgotten");
    assert_eq!((known.get(1, a).unwrap().name, known.get(1, c).unwrap().name), ("a".into(), "c".into()));
    for n in 10..100u8 {
        known.insert(1, Address::with_last_byte(n), contract("many"));
    }
    assert_eq!(known.len(), 3, "two bounded, one pinned");
    assert_eq!(known.get(1, own).unwrap().name, "own", "the project's own contract is never forgotten");
    assert_eq!(known.on_chain(1).len(), 3);
}
