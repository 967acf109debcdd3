//! Limits: request rates, running turns, message size, chat length, followers, slow readers and
//! history pages, each refused with a clear answer past its limit.

use std::time::Duration;

use aomi_core::{ChatMessage, UiChunk};
use aomi_llm::Provider;
use aomi_server::limits::Limits;
use aomi_testkit::{Reply, Script, Timing};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const ALICE: &str = "0x1111111111111111111111111111111111111111";
const BOB: &str = "0x2222222222222222222222222222222222222222";

async fn server_with(script: Script, limits: Limits) -> TestServer {
    let mut options = Options::new(Provider::OpenAi);
    options.limits = Some(limits);
    TestServer::start_with(script, options).await
}

/// A model that takes its time: a turn stays running until it is stopped.
fn slow_model() -> Script {
    Script::new().timing(Timing::new().with_ttft(Duration::from_secs(60))).fallback(Reply::text("late"))
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

async fn get_with(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = server.http.get(format!("{}{path}", server.url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Statuses of `n` requests of `path` with these headers.
async fn statuses(server: &TestServer, n: usize, path: &str, headers: &[(&str, &str)]) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get_with(server, path, headers).await.status().as_u16());
    }
    out
}

/// Waits until `admitted` holds (a permit is given back when a turn's log closes, just after the
/// stream of that turn ended).
async fn eventually(mut admitted: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if admitted().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never admitted");
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after_and_the_probes_stay_open() {
    // One request per second per IP after a burst of 5; sessions unlimited.
    let limits = Limits { ip_rate: 1, ip_burst: 5, session_rate: 0, ..Limits::default() };
    let server = server_with(Script::new(), limits).await;
    let answered = statuses(&server, 8, "/api/apps", &[]).await;
    assert_eq!(&answered[..5], &[200; 5], "{answered:?}");
    assert!(answered[5..].iter().all(|&s| s == 429), "{answered:?}");
    let refused = server.get("/api/apps").await;
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(error_code(refused).await, (429, "rate_limited".into()));
    // The probes are never limited.
    assert_eq!(statuses(&server, 3, "/healthz", &[]).await, [200; 3]);
    assert_eq!(statuses(&server, 3, "/readyz", &[]).await, [200; 3]);
    // X-Forwarded-For is not believed by default: a new address each time does not help.
    for n in 0..3 {
        let ip = format!("10.0.0.{n}");
        assert_eq!(get_with(&server, "/api/apps", &[("x-forwarded-for", &ip)]).await.status(), 429);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate() {
    let limits = Limits {
        ip_rate: 1,
        ip_burst: 3,
        session_rate: 0,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Limits::default()
    };
    let server = server_with(Script::new(), limits).await;
    // Clients behind the proxy are counted apart …
    for n in 0..6 {
        let ip = format!("192.0.2.{n}");
        assert_eq!(statuses(&server, 3, "/api/apps", &[("x-forwarded-for", &ip)]).await, [200; 3]);
    }
    // … and one of them past its burst is refused, whatever it wrote before the proxy's entry.
    let flood = statuses(&server, 3, "/api/apps", &[("x-forwarded-for", "203.0.113.9, 192.0.2.0")]).await;
    assert_eq!(flood, [429; 3]);
}

#[tokio::test]
async fn a_session_past_its_rate_gets_429_and_other_sessions_do_not() {
    let limits = Limits { ip_rate: 0, session_rate: 1, session_burst: 3, ..Limits::default() };
    let server = server_with(Script::new(), limits).await;
    let alice = [("cookie", "aomi_session=alice-token")];
    assert_eq!(statuses(&server, 5, "/api/apps", &alice).await, [200, 200, 200, 429, 429]);
    // Another session (and a request without one, keyed by its IP) still has its burst.
    assert_eq!(statuses(&server, 3, "/api/apps", &[("cookie", "aomi_session=bob-token")]).await, [200; 3]);
    assert_eq!(statuses(&server, 3, "/api/apps", &[]).await, [200; 3]);
}

#[tokio::test]
async fn running_turns_are_limited_per_wallet_and_overall() {
    let limits = Limits { turns_per_client: 1, turns_total: 2, ..Limits::default() };
    let server = server_with(slow_model(), limits).await;
    let first = new_chat_id();
    let running = server.post(&user_body_from(&first, "hello", ALICE)).await;
    assert_eq!(running.status(), 200);
    // Alice's second turn, in another chat, waits for her first.
    let refused = server.post(&user_body_from(&new_chat_id(), "again", ALICE)).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, (429, "too_many_turns".into()));
    // Bob is another client; then the instance is full for anyone (503).
    let bob = new_chat_id();
    assert_eq!(server.post(&user_body_from(&bob, "hi", BOB)).await.status(), 200);
    let full = server.post(&user_body(&new_chat_id(), "anyone?")).await;
    assert!(full.headers().contains_key("retry-after"));
    assert_eq!(error_code(full).await, (503, "too_many_turns".into()));
    // Once Alice's turn ends, she may start another.
    let stop = server.http.post(format!("{}/api/chat/{first}/stop?owner={ALICE}", server.url)).send().await.unwrap();
    assert_eq!(stop.status(), 200);
    drop(running);
    eventually(async || server.post(&user_body_from(&new_chat_id(), "now", ALICE)).await.status() == 200).await;
}

#[tokio::test]
async fn a_user_message_is_measured_over_all_its_parts_and_holds_only_text() {
    let server = server_with(Script::new().fallback(Reply::text("ok")), Limits::default()).await;
    // The finding: a 900 KB data part next to a command was stored whole.
    let chat = new_chat_id();
    let data_part = json!({
        "id": chat,
        "message": { "id": "m1", "role": "user", "parts": [
            { "type": "text", "text": "/time" },
            { "type": "data-x", "data": "x".repeat(900 * 1024) }
        ] }
    });
    assert_eq!(error_code(server.post(&data_part).await).await, (400, "unsupported_part".into()));
    let file = json!({
        "id": chat,
        "message": { "id": "m1", "role": "user", "parts": [
            { "type": "text", "text": "look" },
            { "type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AAAA" }
        ] }
    });
    assert_eq!(error_code(server.post(&file).await).await, (400, "unsupported_part".into()));
    // Many text parts, each small, together over the limit.
    let parts: Vec<Value> = (0..40).map(|_| json!({ "type": "text", "text": "y".repeat(2000) })).collect();
    let many = json!({ "id": chat, "message": { "id": "m2", "role": "user", "parts": parts } });
    assert_eq!(error_code(server.post(&many).await).await, (413, "message_too_long".into()));
    // Nothing was stored, and the model was never called.
    assert_eq!(server.get(&format!("/api/chats/{chat}")).await.status(), 404);
    assert!(server.stub.requests().is_empty());
    // A message within the limit passes.
    assert_eq!(text_of(&server.turn(&chat, "hello").await), "ok");
}

#[tokio::test]
async fn a_full_chat_refuses_new_messages_and_history_reads_come_in_pages() {
    let limits = Limits { messages_per_chat: 6, history_page: 4, ..Limits::default() };
    let server = server_with(Script::new().fallback(Reply::text("ok")), limits).await;
    let chat = new_chat_id();
    for n in 0..3 {
        server.turn(&chat, &format!("message {n}")).await;
    }
    let refused = server.post(&user_body(&chat, "one more")).await;
    let (status, code) = error_code(refused).await;
    assert_eq!((status, code.as_str()), (409, "chat_full"));
    // Another chat is not affected.
    server.turn(&new_chat_id(), "hello").await;

    // A read answers the newest page (4 of the 6 messages), and says that older ones exist.
    let page = server.chat(&chat).await;
    let messages: Vec<ChatMessage> = serde_json::from_value(page["messages"].clone()).unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].text(), "message 1");
    assert_eq!(page["hasMore"], true);
    // The page before the oldest one shown holds the rest; a smaller limit is kept.
    let older = server.get(&format!("/api/chats/{chat}?before={}&limit=10", messages[0].id)).await;
    let older: Value = older.json().await.unwrap();
    let older: Vec<ChatMessage> = serde_json::from_value(older["messages"].clone()).unwrap();
    assert_eq!(older.iter().map(ChatMessage::text).collect::<Vec<_>>(), ["message 0", "ok"]);
    let small: Value = server.get(&format!("/api/chats/{chat}?limit=1")).await.json().await.unwrap();
    assert_eq!(small["messages"].as_array().unwrap().len(), 1);
    let unknown = server.get(&format!("/api/chats/{chat}?before=nope")).await;
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn followers_of_a_turn_are_limited_per_chat() {
    let limits = Limits { followers_per_chat: 1, ..Limits::default() };
    let server = server_with(slow_model(), limits).await;
    let chat = new_chat_id();
    let _turn = server.post(&user_body(&chat, "hello")).await;
    let stream = format!("/api/chat/{chat}/stream");
    let first = server.get(&stream).await;
    assert_eq!(first.status(), 200);
    assert_eq!(error_code(server.get(&stream).await).await, (429, "too_many_followers".into()));
    // A follower that leaves gives its place back.
    drop(first);
    eventually(async || server.get(&stream).await.status() == 200).await;
    server.http.post(format!("{}/api/chat/{chat}/stop", server.url)).send().await.unwrap();
}

// Several threads: the follower must keep reading while the turn stores its long answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_that_stops_reading_is_cut_off_and_the_turn_and_other_readers_go_on() {
    // An answer far larger than the socket buffers, in large chunks.
    let answer = "z".repeat(12 * 1024 * 1024);
    let script = Script::new()
        .timing(Timing::new().with_ttft(Duration::from_millis(300)).with_chars_per_token(256 * 1024))
        .fallback(Reply::text(answer.clone()));
    let limits = Limits { write_timeout: Some(Duration::from_secs(3)), ..Limits::default() };
    let server = server_with(script, limits).await;
    let chat = new_chat_id();

    // The slow client: a small receive buffer, a request, and then it reads nothing.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(server.url.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    let body = user_body(&chat, "tell me everything").to_string();
    let request = format!(
        "POST /api/chat HTTP/1.1\r\nhost: aomi\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    slow.write_all(request.as_bytes()).await.unwrap();

    // Another reader follows the same turn and gets all of it.
    let stream = format!("/api/chat/{chat}/stream");
    let mut follower = None;
    for _ in 0..200 {
        let response = server.get(&stream).await;
        if response.status() == 200 {
            follower = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // (Read as bytes first: parsing as it arrives is slow in a debug build.)
    let body = follower.expect("the turn runs").bytes().await.expect("the follower reads to the end");
    let parts: Vec<UiChunk> = String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert!(body.ends_with(b"data: [DONE]\n\n"));
    assert_eq!(text_of(&parts).len(), answer.len());
    assert!(matches!(parts.last(), Some(UiChunk::Finish { .. })));

    // Long after the write timeout, the slow client finds its connection closed before the end.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut received)).await;
    let read = read.expect("the server closed the connection");
    assert!(read.is_ok() || received.len() < answer.len(), "{read:?}");
    let text = String::from_utf8_lossy(&received);
    assert!(!text.contains("[DONE]"), "the slow reader got the whole stream");
    assert!(received.len() < answer.len());
    // The turn was stored whole.
    let stored = server.messages(&chat).await;
    assert_eq!(stored.last().unwrap().text().len(), answer.len());
}
