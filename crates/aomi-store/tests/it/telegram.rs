//! The Telegram front end's state: chats, bound wallets, one-time links.

use std::sync::Arc;

use aomi_store::{Store, TelegramChat, TelegramStore};

use crate::{ALICE, BOB, addr, both};

both!(a_telegram_chat_points_at_one_aomi_chat, a_link_binds_once_and_expires);

async fn a_telegram_chat_points_at_one_aomi_chat(store: Arc<dyn Store>) {
    let telegram: Arc<dyn TelegramStore> = store;
    // Telegram's group ids are negative and beyond 32 bits.
    let group = -1_001_234_567_890_i64;
    assert_eq!(telegram.telegram_chat(group).await.unwrap(), None);
    let first = TelegramChat { chat_id: "tg-1".into(), chain_id: 31337 };
    telegram.set_telegram_chat(group, &first).await.unwrap();
    assert_eq!(telegram.telegram_chat(group).await.unwrap(), Some(first));
    let second = TelegramChat { chat_id: "tg-2".into(), chain_id: 8453 };
    telegram.set_telegram_chat(group, &second).await.unwrap();
    assert_eq!(telegram.telegram_chat(group).await.unwrap(), Some(second), "/new moves it on");
    assert_eq!(telegram.telegram_chat(42).await.unwrap(), None, "per Telegram chat");
}

async fn a_link_binds_once_and_expires(store: Arc<dyn Store>) {
    let telegram: Arc<dyn TelegramStore> = store;
    let user = 7_000_000_001_i64;
    assert_eq!(telegram.telegram_wallet(user).await.unwrap(), None);
    telegram.create_telegram_link("h1", user, 1_000, 900).await.unwrap();
    telegram.create_telegram_link("h2", user, 1_000, 900).await.unwrap();
    assert_eq!(telegram.redeem_telegram_link("h1", addr(ALICE), 950).await.unwrap(), Some(user));
    assert_eq!(telegram.telegram_wallet(user).await.unwrap(), Some(addr(ALICE)));
    assert_eq!(telegram.redeem_telegram_link("h1", addr(BOB), 951).await.unwrap(), None, "used once");
    assert_eq!(telegram.telegram_wallet(user).await.unwrap(), Some(addr(ALICE)), "the replay bound nothing");
    assert_eq!(telegram.redeem_telegram_link("h2", addr(BOB), 1_001).await.unwrap(), None, "expired");
    assert_eq!(telegram.telegram_wallet(user).await.unwrap(), Some(addr(ALICE)));
    assert_eq!(telegram.redeem_telegram_link("nope", addr(BOB), 950).await.unwrap(), None, "never made");
    // A new link rebinds to another wallet, and making it prunes the expired ones.
    telegram.create_telegram_link("h3", user, 3_000, 2_000).await.unwrap();
    assert_eq!(telegram.redeem_telegram_link("h3", addr(BOB), 2_500).await.unwrap(), Some(user));
    assert_eq!(telegram.telegram_wallet(user).await.unwrap(), Some(addr(BOB)));
}
