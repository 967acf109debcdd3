//! History survives the process: `kill -9` on SQLite, a graceful stop, and two instances on one
//! PostgreSQL.

use std::process::Command;
use std::time::Duration;

use aomi_core::stream::DONE;
use aomi_core::{ChatMessage, MessagePart, Role, ToolState, UiChunk};
use aomi_store::testing::{TempDir, TestPostgres};
use aomi_testkit::{Match, Reply, Script, StubModel, Timing};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{Process, serve_in};

pub(crate) const ALICE: &str = "0xa11ce00000000000000000000000000000000001";

/// Fifteen words, streamed slowly enough to stop the server in the middle.
const SLOW_ANSWER: &str = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";

/// A longer answer, so that a second instance has time to attach while it streams.
const LONG_ANSWER: &str = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
                           sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four \
                           twenty-five twenty-six twenty-seven twenty-eight twenty-nine thirty";

fn slow(tokens_per_second: f64) -> Timing {
    Timing { tokens_per_second: Some(tokens_per_second), chars_per_token: 4, ..Timing::default() }
}

pub(crate) fn user_body(chat_id: &str, text: &str) -> Value {
    json!({
        "id": chat_id,
        "message": { "id": format!("u-{}", uuid::Uuid::new_v4()), "role": "user", "parts": [{ "type": "text", "text": text }] },
        "wallet": { "chainId": 31337, "address": ALICE }
    })
}

pub(crate) async fn post(url: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new().post(format!("{url}/api/chat")).json(body).send().await.unwrap()
}

pub(crate) async fn get(url: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new().get(format!("{url}{path}")).send().await.unwrap()
}

/// Reads parts until `stop` says so or the stream ends; the events left unread are dropped with
/// the connection.
pub(crate) async fn read_until(response: reqwest::Response, mut stop: impl FnMut(&[UiChunk]) -> bool) -> Vec<UiChunk> {
    assert_eq!(response.status(), 200);
    let mut events = response.bytes_stream().eventsource();
    let mut parts = Vec::new();
    while let Some(event) = events.next().await {
        let Ok(event) = event else { break };
        if event.data == DONE {
            break;
        }
        parts.push(serde_json::from_str::<UiChunk>(&event.data).unwrap());
        if stop(&parts) {
            break;
        }
    }
    parts
}

pub(crate) async fn read_all(response: reqwest::Response) -> Vec<UiChunk> {
    let parts = read_until(response, |_| false).await;
    assert!(matches!(parts.last(), Some(UiChunk::Finish { .. })), "the stream ends with finish: {parts:?}");
    parts
}

fn text_deltas(parts: &[UiChunk]) -> usize {
    parts.iter().filter(|p| matches!(p, UiChunk::TextDelta { .. })).count()
}

pub(crate) fn text_of(parts: &[UiChunk]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) async fn chat(url: &str, chat_id: &str) -> Value {
    let response = get(url, &format!("/api/chats/{chat_id}?owner={ALICE}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) async fn messages(url: &str, chat_id: &str) -> Vec<ChatMessage> {
    serde_json::from_value(chat(url, chat_id).await["messages"].clone()).unwrap()
}

pub(crate) fn new_chat_id() -> String {
    format!("chat-{}", uuid::Uuid::new_v4().simple())
}

/// Polls `check` every 50 ms until it holds (at most 20 s): waits for background work without
/// assuming how long it takes.
pub(crate) async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// A tool call first (a step that completes), then a slow answer.
fn tool_then_slow_text(tokens_per_second: f64) -> Script {
    Script::new()
        .rule(Match::LastToolResultContains("utc".into()), Reply::text(SLOW_ANSWER))
        .rule(Match::LastUserContains("time".into()), Reply::tool_call("get_current_time", json!({})))
        .fallback(Reply::text("I am here."))
        .timing(slow(tokens_per_second))
}

fn sqlite_server(stub: &StubModel, data_dir: &str) -> (Process, String) {
    let base = stub.openai_base_url();
    serve_in(&[
        ("AOMI_MODEL", "openai:stub"),
        ("OPENAI_BASE_URL", &base),
        ("AOMI_DATA_DIR", data_dir),
        ("AOMI_TITLES", "first-message"),
    ])
}

/// The stored state of a chat whose answer was cut off after its tool step.
async fn assert_cut_off_after_the_tool_step(url: &str, chat_id: &str) -> ChatMessage {
    let body = chat(url, chat_id).await;
    assert_eq!(body["running"], false);
    let messages = messages(url, chat_id).await;
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert_eq!((messages[0].role, messages[0].text()), (Role::User, "what time is it?".to_owned()));
    let answer = messages[1].clone();
    assert_eq!(answer.role, Role::Assistant);
    assert!(answer.is_incomplete(), "the cut-off answer is marked incomplete: {answer:?}");
    let tool = answer.tool_parts().next().expect("the completed tool step is stored");
    assert_eq!((tool.tool_name.as_str(), tool.state), ("get_current_time", ToolState::OutputAvailable));
    assert!(tool.output.is_some());
    assert!(SLOW_ANSWER.starts_with(&answer.text()), "what was stored of the text is a prefix: {:?}", answer.text());
    assert!(answer.text().len() < SLOW_ANSWER.len());
    answer
}

/// After the cut-off turn, the chat takes a new one, and the cut-off answer stays as it was.
async fn assert_chat_goes_on(url: &str, chat_id: &str, cut_off: &ChatMessage) {
    let parts = read_all(post(url, &user_body(chat_id, "are you there?")).await).await;
    assert_eq!(text_of(&parts), "I am here.");
    let messages = messages(url, chat_id).await;
    assert_eq!(messages.len(), 4);
    assert_eq!(&messages[1], cut_off);
    assert!(!messages[3].is_incomplete());
    assert_eq!(messages[3].text(), "I am here.");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_answer_keeps_every_completed_step_and_marks_the_answer_incomplete() {
    let stub = StubModel::start(tool_then_slow_text(8.0)).await.unwrap();
    let dir = TempDir::new();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let (mut server, url) = sqlite_server(&stub, &data_dir);
    let chat_id = new_chat_id();

    // Read until the tool step completed and the answer is streaming, then kill the process.
    let response = post(&url, &user_body(&chat_id, "what time is it?")).await;
    let seen = read_until(response, |parts| text_deltas(parts) >= 6).await;
    assert!(seen.iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })), "{seen:?}");
    server.child.kill().unwrap(); // SIGKILL: no chance to store anything more
    server.child.wait().unwrap();
    drop(server);

    let (_server, url) = sqlite_server(&stub, &data_dir);
    let cut_off = assert_cut_off_after_the_tool_step(&url, &chat_id).await;
    assert_chat_goes_on(&url, &chat_id, &cut_off).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_stores_the_partial_answer_and_ends_the_stream() {
    let stub = StubModel::start(tool_then_slow_text(8.0)).await.unwrap();
    let dir = TempDir::new();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let base = stub.openai_base_url();
    // The drain may take this long at most: the process must be gone by then.
    let grace = Duration::from_secs(15);
    let (mut server, url) = serve_in(&[
        ("AOMI_MODEL", "openai:stub"),
        ("OPENAI_BASE_URL", &base),
        ("AOMI_DATA_DIR", &data_dir),
        ("AOMI_TITLES", "first-message"),
        ("AOMI_SHUTDOWN_GRACE_SECS", "15"),
    ]);
    let chat_id = new_chat_id();

    let response = post(&url, &user_body(&chat_id, "what time is it?")).await;
    let mut events = response.bytes_stream().eventsource();
    let mut parts: Vec<UiChunk> = Vec::new();
    while text_deltas(&parts) < 4 {
        let event = events.next().await.unwrap().unwrap();
        parts.push(serde_json::from_str(&event.data).unwrap());
    }
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    let signalled = std::time::Instant::now();
    assert!(status.success());
    // The stream ends visibly: an error part that says why, then finish and [DONE].
    let mut done = false;
    while let Some(Ok(event)) = events.next().await {
        if event.data == DONE {
            done = true;
            break;
        }
        parts.push(serde_json::from_str(&event.data).unwrap());
    }
    assert!(done, "the stream ended properly: {parts:?}");
    let error = parts.iter().find_map(|p| match p {
        UiChunk::Error { error_text } => Some(error_text.clone()),
        _ => None,
    });
    assert!(error.is_some_and(|e| e.contains("stopped while answering")), "{parts:?}");
    // It exits, with success, within the drain timeout (an upper bound the operator relies on:
    // the orchestrator kills it after its own delay).
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < grace, "aomi still runs {grace:?} after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exited.success(), "aomi exits cleanly on SIGTERM: {exited}");
    let streamed = text_of(&parts);
    drop(server);

    let (_server, url) = sqlite_server(&stub, &data_dir);
    let cut_off = assert_cut_off_after_the_tool_step(&url, &chat_id).await;
    assert_eq!(cut_off.text(), streamed, "everything streamed before the stop is stored");
    assert!(cut_off.parts.iter().any(|p| matches!(p, MessagePart::Data { name, .. } if name == "error")));
    assert_chat_goes_on(&url, &chat_id, &cut_off).await;
}

fn postgres_server(stub: &StubModel, database_url: &str, config: Option<&str>) -> (Process, String) {
    let base = stub.openai_base_url();
    let mut env = vec![("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", base.as_str())];
    env.push(("AOMI_DATABASE_URL", database_url));
    if let Some(config) = config {
        env.push(("AOMI_CONFIG", config));
    }
    serve_in(&env)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_postgres_share_chats_and_running_turns() {
    let Some(pg) = TestPostgres::create().await else { return };
    let script = Script::new()
        // The title of the chat, asked once, in the background, by the instance that ran the turn.
        .rule(Match::LastUserContains("Title:".into()), Reply::text(r#"{"title": "Counting to fifteen"}"#))
        .rule(Match::LastUserContains("count".into()), Reply::text(LONG_ANSWER))
        .fallback(Reply::text("You asked me to count."))
        .timing(slow(10.0));
    let stub = StubModel::start(script).await.unwrap();
    let (_a, a) = postgres_server(&stub, pg.url(), None);
    let (_b, b) = postgres_server(&stub, pg.url(), None);
    let chat_id = new_chat_id();

    // A runs the turn; its client reads it all.
    let on_a = tokio::spawn(read_all(post(&a, &user_body(&chat_id, "please count")).await));
    // B follows it from the store: one client to the end, another drops after 5 parts and comes back.
    let stream_path = format!("/api/chat/{chat_id}/stream?owner={ALICE}");
    eventually("B sees the running turn", || async { get(&b, &stream_path).await.status() == 200 }).await;
    let on_b = tokio::spawn(read_all(get(&b, &stream_path).await));
    let dropped = read_until(get(&b, &stream_path).await, |parts| parts.len() >= 5).await;
    assert_eq!(dropped.len(), 5);
    let again = tokio::spawn(read_all(get(&b, &stream_path).await));

    // A second message to B while the turn runs on A is refused, and not stored.
    let refused = post(&b, &user_body(&chat_id, "and again")).await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "turn_running");

    let on_a = on_a.await.unwrap();
    let on_b = on_b.await.unwrap();
    let again = again.await.unwrap();
    assert_eq!(text_of(&on_a), LONG_ANSWER);
    assert_eq!(on_b, on_a, "B streams the same parts in the same order");
    assert_eq!(again, on_a, "a client that reconnects gets every part, none twice");
    assert_eq!(&on_a[..5], &dropped[..]);

    // The next turn, sent to B, sees the whole history.
    let parts = read_all(post(&b, &user_body(&chat_id, "what did I ask?")).await).await;
    assert_eq!(text_of(&parts), "You asked me to count.");
    let requests = stub.requests();
    let on_b_request = requests.iter().rev().find(|r| r.body.to_string().contains("what did I ask?")).unwrap();
    let on_b_request = on_b_request.body.to_string();
    for earlier in ["please count", "twenty-nine", "what did I ask?"] {
        assert!(on_b_request.contains(earlier), "the model call on B lacks {earlier:?}");
    }
    assert!(!on_b_request.contains("and again"), "the refused message was not stored");
    let texts: Vec<String> = messages(&a, &chat_id).await.iter().map(ChatMessage::text).collect();
    assert_eq!(texts, ["please count", LONG_ANSWER, "what did I ask?", "You asked me to count."]);

    // The title, generated once in the background, is seen from both instances.
    eventually("the chat gets its title", || async { chat(&b, &chat_id).await["title"] == "Counting to fifteen" })
        .await;
    let list: Value = get(&a, &format!("/api/chats?owner={ALICE}")).await.json().await.unwrap();
    assert_eq!(list["chats"][0]["title"], "Counting to fifteen");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_an_instance_dies_another_ends_its_turn_and_takes_the_chat() {
    let Some(pg) = TestPostgres::create().await else { return };
    let dir = TempDir::new();
    let config = dir.path().join("aomi.toml");
    std::fs::write(&config, "turn_lease_secs = 1\ntitles = \"first-message\"\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let stub = StubModel::start(tool_then_slow_text(8.0)).await.unwrap();
    let (mut a, a_url) = postgres_server(&stub, pg.url(), Some(&config));
    let (_b, b) = postgres_server(&stub, pg.url(), Some(&config));
    let chat_id = new_chat_id();

    let response = post(&a_url, &user_body(&chat_id, "what time is it?")).await;
    let seen = read_until(response, |parts| text_deltas(parts) >= 4).await;
    let following = get(&b, &format!("/api/chat/{chat_id}/stream?owner={ALICE}")).await;
    assert_eq!(following.status(), 200);
    a.child.kill().unwrap();
    a.child.wait().unwrap();

    // B's client sees what A published of the parts A streamed (A may have died before it
    // published the last ones), then a visible end once A's lease expired.
    let parts = read_all(following).await;
    let followed = parts.iter().position(|p| matches!(p, UiChunk::Error { .. })).unwrap_or(parts.len());
    let common = followed.min(seen.len());
    assert_eq!(&parts[..common], &seen[..common]);
    assert!(parts[..followed].iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })), "{parts:?}");
    let errors: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Error { error_text } => Some(error_text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{parts:?}");
    assert!(errors[0].contains("cut off"), "{errors:?}");

    let cut_off = assert_cut_off_after_the_tool_step(&b, &chat_id).await;
    assert_chat_goes_on(&b, &chat_id, &cut_off).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn titles_come_from_the_utility_model_when_one_is_set() {
    let script = Script::new()
        .rule(Match::LastUserContains("Title:".into()), Reply::text(r#"{"title": "Gas prices today"}"#))
        .fallback(Reply::text("Gas is cheap today."));
    let stub = StubModel::start(script).await.unwrap();
    let dir = TempDir::new();
    let base = stub.openai_base_url();
    let data_dir = dir.path().display().to_string();
    let (_server, url) = serve_in(&[
        ("AOMI_MODEL", "openai:big-model"),
        ("AOMI_UTILITY_MODEL", "openai:small-model"),
        ("OPENAI_BASE_URL", &base),
        ("AOMI_DATA_DIR", &data_dir),
    ]);
    let chat_id = new_chat_id();
    let parts = read_all(post(&url, &user_body(&chat_id, "how much is gas?")).await).await;
    assert_eq!(text_of(&parts), "Gas is cheap today.");
    eventually("the chat gets its title", || async { chat(&url, &chat_id).await["title"] == "Gas prices today" }).await;

    // The answer came from the main model, the title from the utility model.
    let models: Vec<(String, bool)> = stub
        .requests()
        .iter()
        .map(|r| (r.model().unwrap_or_default().to_owned(), r.body.to_string().contains("Title:")))
        .collect();
    assert!(models.contains(&("big-model".to_owned(), false)), "{models:?}");
    assert!(models.contains(&("small-model".to_owned(), true)), "{models:?}");
    assert!(!models.contains(&("big-model".to_owned(), true)), "the main model made no title: {models:?}");
}
