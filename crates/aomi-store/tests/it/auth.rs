//! Sign-in state: single-use nonces and session generations.

use std::sync::Arc;

use aomi_store::{AuthStore, Store};

use crate::{ALICE, BOB, addr, both};

both!(a_nonce_is_used_once_until_it_expires, revoking_moves_the_wallet_generation_on);

async fn a_nonce_is_used_once_until_it_expires(store: Arc<dyn Store>) {
    let auth: Arc<dyn AuthStore> = store;
    assert!(auth.use_nonce("n1", 1_000).await.unwrap(), "the first use is accepted");
    assert!(!auth.use_nonce("n1", 1_000).await.unwrap(), "a replay is refused");
    assert!(auth.use_nonce("n2", 3_000).await.unwrap());
    // Pruning forgets only the nonces that expired.
    assert_eq!(auth.prune_nonces(2_000).await.unwrap(), 1);
    assert!(!auth.use_nonce("n2", 3_000).await.unwrap(), "an unexpired nonce stays used");
    assert!(auth.use_nonce("n1", 1_000).await.unwrap(), "an expired, pruned nonce is gone");
}

async fn revoking_moves_the_wallet_generation_on(store: Arc<dyn Store>) {
    let auth: Arc<dyn AuthStore> = store;
    assert_eq!(auth.session_generation(addr(ALICE)).await.unwrap(), 0);
    assert_eq!(auth.revoke_sessions(addr(ALICE)).await.unwrap(), 1);
    assert_eq!(auth.revoke_sessions(addr(&ALICE.to_lowercase())).await.unwrap(), 2, "one wallet whatever its case");
    assert_eq!(auth.session_generation(addr(ALICE)).await.unwrap(), 2);
    assert_eq!(auth.session_generation(addr(BOB)).await.unwrap(), 0, "per wallet");
    assert!(aomi_core::Address::parse("not an address").is_err());
}
