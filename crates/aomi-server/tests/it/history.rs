//! The history routes: list, open, rename, archive, delete, search; owner checks; bad input.

use std::time::Duration;

use aomi_testkit::{Match, Reply, Script, Timing};
use serde_json::{Value, json};

use crate::common::*;

const ALICE: &str = "0xA11CE00000000000000000000000000000000001";
const BOB: &str = "0xb0b0000000000000000000000000000000000002";

fn echo_script() -> Script {
    Script::new().fallback(Reply::text("Noted."))
}

impl TestServer {
    async fn turn_from(&self, chat_id: &str, text: &str, wallet: &str) {
        let response = self.post(&user_body_from(chat_id, text, wallet)).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        read_stream(response).await;
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Waits until the chat has a title (made in the background) and returns it.
    async fn title(&self, chat_id: &str, owner: &str) -> String {
        for _ in 0..400 {
            if let Some(title) = self.get_json(&format!("/api/chats/{chat_id}?owner={owner}")).await.1["title"].as_str()
            {
                return title.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("chat {chat_id} never got a title");
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["chats"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn chats_are_listed_opened_renamed_archived_and_deleted() {
    let server = TestServer::start(echo_script(), aomi_llm::Provider::OpenAi).await;
    for (chat, text) in [("c1", "first chat about gas"), ("c2", "second chat about swaps"), ("c3", "third chat")] {
        server.turn_from(chat, text, ALICE).await;
    }
    server.turn_from("bobs", "bob's chat", BOB).await;
    // Touching c1 moves it to the top.
    server.turn_from("c1", "more about gas", ALICE).await;

    let (status, page) = server.get_json(&format!("/api/chats?owner={ALICE}&limit=2")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), ["c1", "c3"]);
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let (_, rest) = server.get_json(&format!("/api/chats?owner={ALICE}&limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest), ["c2"]);
    assert!(rest["nextCursor"].is_null());
    let first = &page["chats"][0];
    assert_eq!(first["owner"], ALICE.to_lowercase());
    assert_eq!((first["app"].as_str(), first["chainId"].as_u64()), (Some("default"), Some(31337)));
    assert_eq!((first["archived"].as_bool(), first["running"].as_bool()), (Some(false), Some(false)));

    // Titles come from the first message, in the background.
    assert_eq!(server.title("c1", ALICE).await, "first chat about gas");
    let (status, chat) = server.get_json(&format!("/api/chats/c1?owner={ALICE}")).await;
    assert_eq!(status, 200);
    assert_eq!(chat["messages"].as_array().unwrap().len(), 4);

    // Rename and archive.
    let path = format!("/api/chats/c2?owner={ALICE}");
    let (status, renamed) =
        server.send(reqwest::Method::PATCH, &path, Some(json!({ "title": "  Swaps on Base  " }))).await;
    assert_eq!((status, renamed["title"].as_str()), (200, Some("Swaps on Base")));
    let (status, archived) = server.send(reqwest::Method::PATCH, &path, Some(json!({ "archived": true }))).await;
    assert_eq!((status, archived["archived"].as_bool()), (200, Some(true)));
    let (_, active) = server.get_json(&format!("/api/chats?owner={ALICE}")).await;
    assert_eq!(ids(&active), ["c1", "c3"]);
    let (_, archive) = server.get_json(&format!("/api/chats?owner={ALICE}&archived=true")).await;
    assert_eq!(ids(&archive), ["c2"]);
    assert_eq!(archive["chats"][0]["title"], "Swaps on Base");

    // Delete.
    let (status, _) = server.send(reqwest::Method::DELETE, &format!("/api/chats/c3?owner={ALICE}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(server.get_json(&format!("/api/chats/c3?owner={ALICE}")).await.0, 404);
    let (_, active) = server.get_json(&format!("/api/chats?owner={ALICE}")).await;
    assert_eq!(ids(&active), ["c1"]);
    // Bob's list never held Alice's chats.
    let (_, bobs) = server.get_json(&format!("/api/chats?owner={BOB}")).await;
    assert_eq!(ids(&bobs), ["bobs"]);
}

#[tokio::test]
async fn search_finds_an_old_message_in_the_right_chat_and_never_another_owners() {
    let server = TestServer::start(echo_script(), aomi_llm::Provider::Anthropic).await;
    server.turn_from("alice-old", "what is the pelican pool paying?", ALICE).await;
    for i in 0..3 {
        server.turn_from("alice-new", &format!("unrelated question {i}"), ALICE).await;
    }
    server.turn_from("bob-chat", "bob also asks about the pelican pool", BOB).await;

    let (status, found) = server.get_json(&format!("/api/search?owner={ALICE}&q=Pelican")).await;
    assert_eq!(status, 200);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{found}");
    assert_eq!(results[0]["chatId"], "alice-old");
    assert_eq!(results[0]["role"], "user");
    assert!(results[0]["snippet"].as_str().unwrap().contains("**pelican**"), "{found}");
    assert!(results[0]["messageId"].as_str().unwrap().starts_with("u-"));

    let (_, found) = server.get_json(&format!("/api/search?owner={BOB}&q=pelican%20pool")).await;
    let chats: Vec<&str> = found["results"].as_array().unwrap().iter().map(|r| r["chatId"].as_str().unwrap()).collect();
    assert_eq!(chats, ["bob-chat"]);
    // Answers are searched too.
    let (_, found) = server.get_json(&format!("/api/search?owner={ALICE}&q=noted&limit=2")).await;
    assert_eq!(found["results"].as_array().unwrap().len(), 2, "limited to 2");
    assert!(found["results"].as_array().unwrap().iter().all(|r| r["role"] == "assistant"));
}

#[tokio::test]
async fn another_wallets_chat_is_refused_and_unknown_chats_are_404() {
    let server = TestServer::start(echo_script(), aomi_llm::Provider::OpenAi).await;
    server.turn_from("alices", "secret plans", ALICE).await;
    assert_eq!(server.title("alices", ALICE).await, "secret plans");
    server.turn("anonymous", "no wallet here").await;
    let stub_calls = server.stub.requests().len();

    let forbidden = |status: u16, body: &Value| {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
    };
    for owner in [format!("?owner={BOB}"), String::new()] {
        let (status, body) = server.get_json(&format!("/api/chats/alices{owner}")).await;
        forbidden(status, &body);
        let path = format!("/api/chats/alices{owner}");
        let (status, body) = server.send(reqwest::Method::PATCH, &path, Some(json!({ "title": "mine now" }))).await;
        forbidden(status, &body);
        let (status, body) = server.send(reqwest::Method::DELETE, &path, None).await;
        forbidden(status, &body);
        let (status, body) = server.get_json(&format!("/api/chat/alices/stream{owner}")).await;
        forbidden(status, &body);
    }
    // Writing into someone else's chat, with another wallet or none.
    for body in [user_body_from("alices", "let me in", BOB), user_body("alices", "let me in")] {
        let response = server.post(&body).await;
        assert_eq!(response.status(), 403);
    }
    assert_eq!(server.stub.requests().len(), stub_calls, "no model call for a refused message");
    let (_, chat) = server.get_json(&format!("/api/chats/alices?owner={ALICE}")).await;
    assert_eq!(chat["messages"].as_array().unwrap().len(), 2, "nothing was added or changed");
    assert_eq!(chat["title"], "secret plans");

    // An anonymous chat is reachable by its id.
    assert_eq!(server.get_json("/api/chats/anonymous").await.0, 200);
    // Unknown chats.
    let (status, body) = server.get_json(&format!("/api/chats/nope?owner={ALICE}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let path = format!("/api/chats/nope?owner={ALICE}");
    assert_eq!(server.send(reqwest::Method::PATCH, &path, Some(json!({ "archived": true }))).await.0, 404);
    assert_eq!(server.send(reqwest::Method::DELETE, &path, None).await.0, 404);
}

#[tokio::test]
async fn bad_history_requests_get_clear_400s() {
    let server = TestServer::start(echo_script(), aomi_llm::Provider::OpenAi).await;
    server.turn_from("c1", "hello", ALICE).await;
    assert_eq!(server.title("c1", ALICE).await, "hello");
    let cases = [
        ("/api/chats".to_owned(), "?owner=0x"),
        ("/api/chats?owner=0x12".to_owned(), "not a wallet address"),
        (format!("/api/chats?owner={ALICE}&limit=0"), "limit"),
        (format!("/api/chats?owner={ALICE}&limit=101"), "limit"),
        (format!("/api/chats?owner={ALICE}&limit=ten"), "limit"),
        (format!("/api/chats?owner={ALICE}&limit=-1"), "limit"),
        (format!("/api/chats?owner={ALICE}&cursor=garbage"), "cursor"),
        (format!("/api/chats?owner={ALICE}&archived=maybe"), "archived"),
        ("/api/search?q=hello".to_owned(), "?owner=0x"),
        (format!("/api/search?owner={ALICE}"), "at least one word"),
        (format!("/api/search?owner={ALICE}&q=%3F%3F"), "at least one word"),
        (format!("/api/search?owner={ALICE}&q=hello&limit=0"), "limit"),
        (format!("/api/chats/bad%20id?owner={ALICE}"), "chat id"),
        ("/api/chats/c1?owner=alice".to_owned(), "not a wallet address"),
    ];
    for (path, needle) in cases {
        let (status, body) = server.get_json(&path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{path}: {message:?} lacks {needle:?}");
    }

    let path = format!("/api/chats/c1?owner={ALICE}");
    let long = "x".repeat(201);
    let patches = [
        (json!({}), 400, "nothing to change"),
        (json!({ "title": "   " }), 400, "empty"),
        (json!({ "title": long }), 400, "longer than 200"),
        (json!({ "title": "two\nlines" }), 400, "control characters"),
        (json!({ "title": "ok", "pinned": true }), 422, "pinned"),
        (json!({ "archived": "yes" }), 422, "archived"),
    ];
    for (body, expected, needle) in patches {
        let (status, answer) = server.send(reqwest::Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message:?} lacks {needle:?}");
    }
    // Nothing changed.
    let (_, chat) = server.get_json(&path).await;
    assert_eq!((chat["title"].as_str(), chat["archived"].as_bool()), (Some("hello"), Some(false)));
}

#[tokio::test]
async fn a_chat_is_not_deleted_while_its_turn_runs() {
    let script = Script::new()
        .rule(Match::Always, Reply::text("a slow answer"))
        .timing(Timing { ttft: Duration::from_millis(600), ..Timing::default() });
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let response = server.post(&user_body_from("c1", "hello", ALICE)).await;
    let path = format!("/api/chats/c1?owner={ALICE}");
    let (status, body) = server.send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("turn_running")));
    assert_eq!(server.get_json(&path).await.1["running"], true);
    read_stream(response).await;
    assert_eq!(server.send(reqwest::Method::DELETE, &path, None).await.0, 204);
    assert!(server.backend.running_log("c1").is_none());
}
