//! The Telegram bot against the stub Bot API (real HTTP, Telegram's JSON) and a test server's
//! backend with the scripted model.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::ChatBackend;
use aomi_llm::Provider;
use aomi_server::telegram::{TelegramBot, TelegramConfig};
use aomi_testkit::telegram::utf16_len;
use aomi_testkit::{Match, Reply, Script, StubTelegram, Timing};
use aomi_tools::chain::chain_tools;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::common::*;

const TOKEN: &str = "123456:TEST-token-abcdef";
const WAIT: Duration = Duration::from_secs(20);

/// A bot on `server`'s backend, polling a fresh stub; stops when dropped.
struct Bot {
    stub: StubTelegram,
    stop: CancellationToken,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn bot(server: &TestServer, tweak: impl FnOnce(&mut TelegramConfig)) -> Bot {
    let stub = StubTelegram::start(TOKEN).await.unwrap();
    let mut config = TelegramConfig::new(TOKEN);
    config.api_url = stub.url();
    config.poll_timeout = Duration::from_secs(1);
    config.edit_interval = Duration::from_millis(100);
    config.public_url = Some("http://aomi.test".into());
    config.default_chain_id = 31337;
    tweak(&mut config);
    let bot = TelegramBot::new(config, Arc::clone(&server.backend) as _, Arc::clone(&server.store) as _).unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(bot.run(stop.clone()));
    Bot { stub, stop }
}

/// The reply (a message sent after the bot's first `count` ones in `chat`) once it holds `needle`.
async fn reply_with(stub: &StubTelegram, chat: i64, count: usize, needle: &str) -> String {
    let texts = stub.wait_for(chat, WAIT, |texts| texts.iter().skip(count).any(|t| t.contains(needle))).await;
    texts
        .iter()
        .skip(count)
        .find(|t| t.contains(needle))
        .cloned()
        .unwrap_or_else(|| panic!("no \"{needle}\" in {texts:?}"))
}

const ANSWER: &str = "Blocks are produced about every twelve seconds on Ethereum mainnet, and each one names its \
                      parent, so the chain can be checked from any block back to the first one.";

#[tokio::test]
async fn a_message_streams_by_edits_and_ends_with_the_answer() {
    // Paced: about two seconds of text, so the answer is seen growing.
    let script = Script::new()
        .timing(Timing::new().with_tokens_per_second(25.0).with_chars_per_token(4))
        .fallback(Reply::text(ANSWER));
    let server = TestServer::start(script, Provider::OpenAi).await;
    let bot = bot(&server, |config| config.edit_interval = Duration::from_millis(300)).await;
    let stub = &bot.stub;
    stub.message(501, 7, "How often are blocks made?");
    let texts = stub.wait_for(501, WAIT, |texts| texts.first().is_some_and(|t| t == ANSWER)).await;
    assert_eq!(texts, vec![ANSWER.to_owned()], "one message, edited into the whole answer");

    let sent = stub.sent();
    assert_eq!(sent[0].first_text, "…", "a message at once, before the model answers");
    assert_eq!(sent[0].parse_mode, None, "plain text: nothing to escape");
    let edits: Vec<_> = stub.edits().into_iter().filter(|e| e.chat_id == 501).collect();
    assert!(edits.len() >= 2, "the answer streams by edits: {edits:?}");
    for edit in &edits {
        assert!(ANSWER.starts_with(edit.text.as_str()), "each edit shows the answer so far: {:?}", edit.text);
    }
    // At most one edit per interval (300 ms here), less what the network may shift two requests by.
    for pair in edits.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(250), "two edits {gap:?} apart");
    }
    let commands = stub.commands().expect("setMyCommands at start");
    let names: Vec<&str> = commands.as_array().unwrap().iter().filter_map(|c| c["command"].as_str()).collect();
    for own in ["start", "new", "network", "wallet", "help", "balance"] {
        assert!(names.contains(&own), "/{own} is set: {names:?}");
    }
    assert!(stub.offsets().iter().any(|&offset| offset >= 2), "the update was confirmed: {:?}", stub.offsets());

    // A second Telegram chat is a second aomi chat.
    stub.message(502, 8, "And on Base?");
    stub.wait_for(502, WAIT, |texts| texts.first().is_some_and(|t| t == ANSWER)).await;
    let first = server.store.telegram_chat(501).await.unwrap().unwrap();
    let second = server.store.telegram_chat(502).await.unwrap().unwrap();
    assert_ne!(first.chat_id, second.chat_id);
    let messages = server.backend.messages(&first.chat_id).await.unwrap();
    assert_eq!(messages.len(), 2, "the question and the answer are stored in the aomi chat");
    assert_eq!(first.chain_id, 31337, "a new chat starts on the default network");
}

#[tokio::test]
async fn a_429_is_waited_out_before_the_next_send_or_edit() {
    let server = TestServer::start(Script::new().fallback(Reply::text(ANSWER)), Provider::OpenAi).await;
    let bot = bot(&server, |_| {}).await;
    // The first send and the edit after it are refused with retry_after 1.
    bot.stub.flood(2, 1);
    bot.stub.message(601, 7, "hello");
    let texts = bot.stub.wait_for(601, WAIT, |texts| texts.first().is_some_and(|t| t == ANSWER)).await;
    assert_eq!(texts, vec![ANSWER.to_owned()], "the answer arrives once the waits are over");
    assert_eq!(bot.stub.rate_limited(), 2, "each 429 was answered once");
    assert_eq!(bot.stub.early_requests(), 0, "nothing was sent or edited before retry_after passed");
}

#[tokio::test]
async fn a_long_answer_is_split_into_messages_telegram_takes() {
    // About 9000 UTF-16 units, with emoji (two units each) and line breaks.
    let paragraph = format!("{} 🦀\n", "lorem ipsum dolor sit amet ".repeat(8));
    let long = paragraph.repeat(40).trim().to_owned();
    assert!(utf16_len(&long) > 2 * 4096);
    let server = TestServer::start(Script::new().fallback(Reply::text(long.clone())), Provider::OpenAi).await;
    let bot = bot(&server, |_| {}).await;
    bot.stub.message(701, 7, "write a lot");
    let texts = bot.stub.wait_for(701, WAIT, |texts| texts.concat() == long).await;
    assert_eq!(texts.concat(), long, "the pieces make the whole answer");
    assert_eq!(texts.len(), 3, "{:?}", texts.iter().map(|t| utf16_len(t)).collect::<Vec<_>>());
    assert!(texts.iter().all(|t| utf16_len(t) <= 4096));
    assert!(texts[..2].iter().all(|t| t.ends_with('\n')), "cut at line breaks");
}

#[tokio::test]
async fn new_starts_a_new_chat_and_commands_run_without_a_model() {
    let options = Options { with_model: false, ..Options::new(Provider::OpenAi) };
    let server = TestServer::start_with(Script::new(), options).await;
    let bot = bot(&server, |_| {}).await;
    let stub = &bot.stub;
    // A direct command of aomi is a turn of the chat, answered without a model.
    stub.message(801, 7, "/time");
    reply_with(stub, 801, 0, "✓").await;
    let before = server.store.telegram_chat(801).await.unwrap().unwrap();
    assert_eq!(server.backend.messages(&before.chat_id).await.unwrap().len(), 2);

    stub.message(801, 7, "/new");
    reply_with(stub, 801, 1, "Started a new chat.").await;
    let after = server.store.telegram_chat(801).await.unwrap().unwrap();
    assert_ne!(after.chat_id, before.chat_id, "/new points the Telegram chat at a new aomi chat");
    stub.message(801, 7, "/time@aomi_test_bot");
    reply_with(stub, 801, 2, "✓").await;
    assert_eq!(server.backend.messages(&after.chat_id).await.unwrap().len(), 2, "the new chat took the turn");
    assert_eq!(server.backend.messages(&before.chat_id).await.unwrap().len(), 2, "the old chat is left as it was");

    stub.message(801, 7, "/help");
    let help = reply_with(stub, 801, 3, "/wallet").await;
    assert!(help.contains("/balance"), "aomi's commands are listed too: {help}");
}

#[tokio::test]
async fn the_allow_list_and_the_limits_refuse_with_the_reason() {
    let server = TestServer::start(Script::new().fallback(Reply::text("Hi.")), Provider::OpenAi).await;
    let bot = bot(&server, |config| {
        config.allowed_users = Some(vec![7]);
        config.turns_per_minute = 1;
        config.max_message_chars = 20;
    })
    .await;
    let stub = &bot.stub;
    stub.message(901, 666, "let me in");
    let refusal = reply_with(stub, 901, 0, "private").await;
    assert!(refusal.contains("666"), "the stranger learns the id to ask for: {refusal}");
    assert!(server.store.telegram_chat(901).await.unwrap().is_none(), "no chat for a stranger");
    assert!(server.stub.requests().is_empty(), "the model was never asked");

    stub.message(902, 7, "this message is far too long for the limit");
    reply_with(stub, 902, 0, "the limit is 20").await;
    stub.message(902, 7, "hi");
    reply_with(stub, 902, 1, "Hi.").await;
    stub.message(902, 7, "hi again");
    reply_with(stub, 902, 2, "Too many messages: 1 a minute").await;
    assert_eq!(server.stub.requests().len(), 1, "only the admitted turn reached the model");
}

/// The token of the link a `/wallet` reply holds.
fn link_token(reply: &str) -> String {
    let start = reply.find("http://aomi.test/telegram/link#").expect("a link to the page")
        + "http://aomi.test/telegram/link#".len();
    reply[start..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

async fn redeem(server: &TestServer, token: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = server.http.post(format!("{}/api/telegram/link", server.url)).json(&json!({ "token": token }));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_one_time_link_binds_the_wallet_once_until_it_expires() {
    let devnet = Devnet::start().await.expect("anvil starts");
    let server = TestServer::start(Script::new().fallback(Reply::text("Hi.")), Provider::OpenAi).await;
    let bot = bot(&server, |config| config.link_ttl = Duration::from_secs(1)).await;
    let stub = &bot.stub;
    let alice = devnet.accounts()[1];

    stub.message(1001, 7, "hello");
    reply_with(stub, 1001, 0, "Hi.").await;
    let anonymous = server.store.telegram_chat(1001).await.unwrap().unwrap();

    stub.message(1001, 7, "/wallet");
    let reply = reply_with(stub, 1001, 1, "/telegram/link#").await;
    assert!(reply.contains("No wallet is bound"), "{reply}");
    let token = link_token(&reply);
    assert_eq!(token.len(), 64);

    let response = redeem(&server, &token, None).await;
    assert_eq!(response.status(), 401, "naming no session binds nothing");
    let cookie = crate::auth::session_cookie(&crate::auth::sign_in(&server, &devnet, alice, alice).await);
    let response = redeem(&server, &token, Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["address"], format!("{alice:#x}"));
    assert_eq!(body["telegramUser"], 7);
    let response = redeem(&server, &token, Some(&cookie)).await;
    assert_eq!(response.status(), 410, "a link binds once");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "link_expired");

    // The bot's chats now act as the wallet: a chat of its own, owned by it.
    stub.message(1001, 7, "hello again");
    reply_with(stub, 1001, 2, "Hi.").await;
    let bound = server.store.telegram_chat(1001).await.unwrap().unwrap();
    assert_ne!(bound.chat_id, anonymous.chat_id, "the anonymous chat is not the wallet's");
    let chat = server.backend.chat(&bound.chat_id).await.unwrap().unwrap();
    assert_eq!(chat.owner.map(|a| a.to_lowercase_hex()), Some(format!("{alice:#x}")));

    // A link unused past its time binds nothing.
    stub.message(1001, 7, "/wallet");
    let reply = reply_with(stub, 1001, 3, "/telegram/link#").await;
    assert!(reply.contains("acts as the wallet") || reply.contains("act as the wallet"), "{reply}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = redeem(&server, &link_token(&reply), Some(&cookie)).await;
    assert_eq!(response.status(), 410, "an expired link binds nothing");
}

#[tokio::test]
async fn balance_needs_no_model_and_a_transfer_answers_the_review_link() {
    let devnet = Devnet::start().await.expect("anvil starts");
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    devnet.register_contracts(sessions.contracts()).unwrap();
    let (sender, recipient) = (devnet.accounts()[1], devnet.accounts()[7]);
    let script = Script::new().rule(
        Match::LastUserContains("1.5 USDC".into()),
        Reply::tool_call(
            "send_transaction_to_wallet",
            json!({
                "to": devnet.contracts().usdc.to_string(),
                "signature": "transfer(address,uint256)",
                "args": [recipient.to_string(), "1500000"],
                "description": "Send 1.5 USDC"
            }),
        ),
    );
    let options = Options { extra_tools: chain_tools(sessions), ..Options::new(Provider::OpenAi) };
    let server = TestServer::start_with(script, options).await;
    let bot = bot(&server, |_| {}).await;
    let stub = &bot.stub;
    // The user bound the sender's wallet (the page's half is tested above).
    let wallet = aomi_core::Address::parse(&sender.to_string()).unwrap();
    server.store.create_telegram_link("hash", 7, i64::MAX, 0).await.unwrap();
    assert_eq!(server.store.redeem_telegram_link("hash", wallet, 1).await.unwrap(), Some(7));

    stub.message(1101, 7, &format!("/balance {sender}"));
    let balance = reply_with(stub, 1101, 0, " holds ").await;
    assert!(balance.contains("ETH"), "{balance}");
    assert!(server.stub.requests().is_empty(), "a direct command asks no model");

    stub.message(1101, 7, "send 1.5 USDC to my friend");
    let reply = reply_with(stub, 1101, 1, "Review and sign").await;
    let place = server.store.telegram_chat(1101).await.unwrap().unwrap();
    assert!(
        reply.contains(&format!("http://aomi.test/chat/{}", place.chat_id)),
        "the page's review of this chat: {reply}"
    );
    let chat = server.backend.chat(&place.chat_id).await.unwrap().unwrap();
    assert_eq!(chat.owner, Some(wallet), "the chat is the bound wallet's, so the page opens it signed in");
}
