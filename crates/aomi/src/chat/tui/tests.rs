//! The UI's rules and looks: events fed to the state machine, the screen rendered into a
//! `TestBackend` and read back as text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aomi_core::UiChunk;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::state::{Block, Effect, Event, Focus, Key, State};
use super::view;
use crate::chat::client::{ChatEntry, Network, Networks};

fn state() -> State {
    let mut state = State::new("cli-test".into(), "http://127.0.0.1:8080".into(), None, 31337);
    state.update(Event::Networks(Networks {
        default: Some("devnet".into()),
        networks: vec![
            Network { name: "devnet".into(), chain_id: 31337 },
            Network { name: "ethereum".into(), chain_id: 1 },
        ],
    }));
    state
}

fn typed(state: &mut State, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        state.update(Event::Key(Key::Char(c)));
    }
    state.update(Event::Key(Key::Enter))
}

/// The screen as lines of text.
fn screen(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(state, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_delta(delta: &str) -> Event {
    Event::Part(UiChunk::TextDelta { id: "t".into(), delta: delta.into() })
}

#[test]
fn a_message_is_sent_and_its_streamed_answer_shown() {
    let mut state = state();
    assert_eq!(typed(&mut state, "hello there"), vec![Effect::Send("hello there".into())]);
    assert!(state.running && state.input.is_empty());
    state.update(text_delta("General "));
    state.update(text_delta("Kenobi."));
    let shown = screen(&state, 100, 20);
    assert!(shown.contains("you › hello there"), "{shown}");
    assert!(shown.contains("General Kenobi."), "the deltas make one text: {shown}");
    assert!(shown.contains("answering"), "the status bar says a turn runs: {shown}");
    state.update(Event::TurnEnded(None));
    assert!(screen(&state, 100, 20).contains("ready"));
}

#[test]
fn tool_calls_are_compact_cards_that_follow_the_call() {
    let mut state = state();
    typed(&mut state, "balance?");
    state.update(Event::Part(UiChunk::ToolInputStart { tool_call_id: "c1".into(), tool_name: "get_balance".into() }));
    state.update(Event::Part(UiChunk::ToolInputAvailable {
        tool_call_id: "c1".into(),
        tool_name: "get_balance".into(),
        input: json!({ "address": "0xabc" }),
    }));
    assert!(screen(&state, 100, 20).contains("⚙ get_balance [running]"));
    state.update(Event::Part(UiChunk::ToolOutputAvailable {
        tool_call_id: "c1".into(),
        output: json!({ "summary": "0xabc holds 3 ETH", "wei": "3" }),
        preliminary: None,
    }));
    let shown = screen(&state, 100, 20);
    assert!(shown.contains("✓ get_balance [done] 0xabc holds 3 ETH"), "{shown}");
    assert_eq!(state.blocks.iter().filter(|b| matches!(b, Block::Tool { .. })).count(), 1, "one card per call");
}

#[test]
fn reasoning_is_collapsed_until_asked() {
    let mut state = state();
    state.update(Event::Part(UiChunk::ReasoningDelta { id: "r".into(), delta: "secret musings".into() }));
    let shown = screen(&state, 100, 20);
    assert!(shown.contains("▸ reasoning (14 characters"), "{shown}");
    assert!(!shown.contains("secret musings"));
    state.update(Event::Key(Key::CtrlR));
    assert!(screen(&state, 100, 20).contains("secret musings"));
}

#[test]
fn a_wallet_request_shows_its_simulation_and_the_page_link() {
    let mut state = state();
    typed(&mut state, "send 1 eth");
    state.update(Event::Part(UiChunk::ToolInputAvailable {
        tool_call_id: "w1".into(),
        tool_name: "send_transaction_to_wallet".into(),
        input: json!({}),
    }));
    state.update(Event::Part(UiChunk::data(
        "simulation",
        json!({ "toolCallId": "w1", "summary": "succeeds; gas 21000\nsends 1 ETH", "success": true }),
    )));
    state.update(Event::Part(UiChunk::data(
        "wallet-request",
        json!({ "toolCallId": "w1", "toolName": "send_transaction_to_wallet", "request": {}, "summary": "Send 1 ETH to 0xabc" }),
    )));
    let shown = screen(&state, 120, 24);
    assert!(shown.contains("wallet request: Send 1 ETH to 0xabc"), "{shown}");
    assert!(shown.contains("succeeds; gas 21000") && shown.contains("sends 1 ETH"), "{shown}");
    assert!(shown.contains("http://127.0.0.1:8080/chat/cli-test"), "the page's link: {shown}");
    assert!(shown.contains("[waiting for the wallet]"), "{shown}");
}

#[test]
fn esc_stops_a_running_turn_once_and_ctrl_c_quits_stopping_first() {
    let mut state = state();
    assert!(state.update(Event::Key(Key::Esc)).is_empty(), "nothing to stop");
    typed(&mut state, "count");
    assert_eq!(state.update(Event::Key(Key::Esc)), vec![Effect::Stop]);
    assert!(state.update(Event::Key(Key::Esc)).is_empty(), "asked once");
    assert!(screen(&state, 100, 20).contains("stopping"));
    assert_eq!(state.update(Event::Key(Key::CtrlC)), vec![Effect::Stop, Effect::Quit]);
    state.update(Event::Part(UiChunk::Abort { reason: None }));
    state.update(Event::TurnEnded(None));
    assert_eq!(state.update(Event::Key(Key::CtrlC)), vec![Effect::Quit]);
}

#[test]
fn up_recalls_the_messages_sent_and_down_comes_back() {
    let mut state = state();
    for message in ["first", "second"] {
        typed(&mut state, message);
        state.update(Event::TurnEnded(None));
    }
    state.update(Event::Key(Key::Up));
    assert_eq!(state.input, "second");
    state.update(Event::Key(Key::Up));
    assert_eq!(state.input, "first");
    state.update(Event::Key(Key::Up));
    assert_eq!(state.input, "first", "the oldest stays");
    state.update(Event::Key(Key::Down));
    assert_eq!(state.input, "second");
    state.update(Event::Key(Key::Down));
    assert_eq!(state.input, "");
}

#[test]
fn network_switches_the_wallet_and_refuses_an_unknown_name() {
    let mut state = state();
    assert!(typed(&mut state, "/network ethereum").is_empty(), "the terminal switches itself");
    assert_eq!(state.chain_id, 1);
    assert!(screen(&state, 100, 20).contains("aomi · ethereum (1)"));
    typed(&mut state, "/network nowhere");
    assert_eq!(state.chain_id, 1);
    assert!(screen(&state, 100, 20).contains("unknown network \"nowhere\"; the server reads: devnet, ethereum"));
    // The server's switch (a data-network part) is followed too.
    state.update(Event::Part(UiChunk::data("network", json!({ "chainId": 31337, "name": "devnet" }))));
    assert_eq!(state.network_name(), Some("devnet"));
}

#[test]
fn a_wallet_on_an_unknown_network_starts_on_the_servers_default() {
    let mut state = State::new("c".into(), "http://x".into(), None, 999);
    state.update(Event::Networks(Networks {
        default: Some("ethereum".into()),
        networks: vec![Network { name: "ethereum".into(), chain_id: 1 }],
    }));
    assert_eq!(state.chain_id, 1);
}

#[test]
fn new_starts_another_chat_and_chats_opens_one_from_the_list() {
    let mut state = state();
    typed(&mut state, "hi");
    state.update(Event::TurnEnded(None));
    let first = state.chat_id.clone();
    assert!(typed(&mut state, "/new").is_empty());
    assert_ne!(state.chat_id, first);
    assert!(state.blocks.iter().all(|b| !matches!(b, Block::User(_))), "the new chat is empty");

    assert_eq!(typed(&mut state, "/chats"), vec![Effect::LoadChats]);
    assert_eq!(state.focus, Focus::Chats);
    state.update(Event::Chats(vec![
        ChatEntry { id: first.clone(), title: Some("Greetings".into()) },
        ChatEntry { id: "older".into(), title: None },
    ]));
    let shown = screen(&state, 100, 20);
    assert!(shown.contains("Greetings") && shown.contains("older"), "{shown}");
    // The current chat, which the server does not list yet, stays listed first.
    assert_eq!(state.chats[0].id, state.chat_id);
    state.update(Event::Key(Key::Down));
    assert_eq!(state.update(Event::Key(Key::Enter)), vec![Effect::Open(first.clone())]);
    assert_eq!(state.focus, Focus::Input);
    let said = aomi_core::ChatMessage::user_text("m1", "hi");
    state.update(Event::Opened(first.clone(), vec![said]));
    assert_eq!(state.chat_id, first);
    assert!(screen(&state, 100, 20).contains("you › hi"));
}

#[test]
fn tab_completes_commands_from_the_server_and_the_terminals_own() {
    let mut state = state();
    state.update(Event::Commands(vec!["balance".into(), "block".into(), "help".into()]));
    for c in "/ch".chars() {
        state.update(Event::Key(Key::Char(c)));
    }
    state.update(Event::Key(Key::Tab));
    assert_eq!(state.input, "/chats ");
    state.input = "/ba".into();
    state.update(Event::Key(Key::Tab));
    assert_eq!(state.input, "/balance ");
    state.input = "/b".into();
    state.update(Event::Key(Key::Tab));
    assert_eq!(state.input, "/b", "two commands start so");
    assert!(screen(&state, 100, 20).contains("commands: balance, block"));
}

#[test]
fn a_failed_turn_says_why() {
    let mut state = state();
    typed(&mut state, "hi");
    state.update(Event::TurnEnded(Some("cannot reach http://127.0.0.1:9/api/chat".into())));
    assert!(!state.running);
    assert!(screen(&state, 100, 20).contains("error: cannot reach http://127.0.0.1:9/api/chat"));
    assert!(matches!(state.blocks.last(), Some(Block::Error(_))));
}
