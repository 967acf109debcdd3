//! `aomi serve` and `aomi chat` on a real small model: llama-cpp-python's server with
//! SmolLM2-135M-Instruct (`tools/local-model.sh install`; these tests skip when it is not
//! installed, unless `AOMI_REQUIRE_LOCAL_MODEL=1`, as in CI). What the model says is never
//! asserted: only what every answer must be (streamed, finished, stored, of the asked shape), and
//! which server received which request.

use std::time::Duration;

use aomi_core::{MessagePart, Role, ToolState, UiChunk};
use aomi_store::testing::TempDir;
use aomi_testkit::local_model::MODEL_ALIAS;
use aomi_testkit::{LocalModel, RecordingProxy, Reply, Script, StubModel};
use eventsource_stream::Eventsource;
use futures::StreamExt;

use crate::persistence::{chat as chat_json, messages, new_chat_id, post, read_all, text_of, user_body};
use crate::{Process, serve_in};

/// The shared local model, or `None` (skip) when it is not installed and not required.
async fn local_model() -> Option<&'static LocalModel> {
    tokio::task::spawn_blocking(LocalModel::shared).await.unwrap()
}

/// `aomi serve` with `env`, a fresh data directory and a configuration file holding `config` and
/// the settings every test here needs: answers capped at 48 tokens (a 135M model may ramble to
/// the 8192 default, and the server answers one request at a time), and a model idle timeout
/// long enough to wait behind the other tests' requests.
fn serve(env: &[(&str, &str)], config: &str) -> (Process, String, TempDir) {
    let dir = TempDir::new();
    let data_dir = dir.path().join("data").display().to_string();
    let file = dir.path().join("aomi.toml");
    std::fs::write(&file, format!("model_max_tokens = 48\nmodel_idle_timeout_secs = 600\n{config}")).unwrap();
    let file = file.display().to_string();
    let mut env = env.to_vec();
    env.extend([("AOMI_DATA_DIR", data_dir.as_str()), ("AOMI_CONFIG", file.as_str())]);
    let (process, url) = serve_in(&env);
    (process, url, dir)
}

/// Polls `check` every 200 ms for up to three minutes (the local model answers one request at a
/// time, and other tests' requests may be ahead of this one).
async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..900 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never happened: {what}");
}

/// The request of issue 19 (`HTTP 500 … Input should be a valid string` before): a plain turn
/// through `aomi serve` streams the real model's text, ends with `finish`, and is stored; `aomi
/// chat` prints an answer from it too.
#[tokio::test(flavor = "multi_thread")]
async fn a_turn_on_the_real_model_streams_its_text_and_is_stored() {
    let Some(model) = local_model().await else { return };
    let base = model.openai_base_url();
    let spec = format!("openai:{MODEL_ALIAS}");
    let (_server, url, _dir) =
        serve(&[("AOMI_MODEL", &spec), ("OPENAI_BASE_URL", &base)], "titles = \"first-message\"\n");
    let chat_id = new_chat_id();
    let parts = read_all(post(&url, &user_body(&chat_id, "Hello! Please greet me in one sentence.")).await).await;
    let errors: Vec<&UiChunk> = parts.iter().filter(|p| matches!(p, UiChunk::Error { .. })).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let text = text_of(&parts);
    assert!(!text.trim().is_empty(), "the model said something: {parts:?}");
    assert!(parts.iter().filter(|p| matches!(p, UiChunk::TextDelta { .. })).count() > 1, "streamed in pieces");

    let stored = messages(&url, &chat_id).await;
    assert_eq!(stored.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User, Role::Assistant]);
    assert_eq!(stored[1].text(), text, "the history holds what was streamed");

    let chat_url = url.clone();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || crate::chat(&chat_url, "Say hello in three words.")).await.unwrap();
    assert!(ok, "{stderr}");
    assert!(!stdout.trim().is_empty() && !stdout.contains("error"), "{stdout}\n{stderr}");
}

/// The chat title as the real model's typed answer (the schema as `response_format`), and model
/// switching: the chat answers from the stub, the title from the local model, each asserted on
/// the requests it received.
#[tokio::test(flavor = "multi_thread")]
async fn chat_on_the_stub_titles_on_the_real_model() {
    let Some(model) = local_model().await else { return };
    let stub = StubModel::start(Script::new().fallback(Reply::text("Gas is cheap today."))).await.unwrap();
    let proxy = RecordingProxy::start(model.url()).await.unwrap();
    let (stub_base, local_base) = (stub.openai_base_url(), proxy.openai_base_url());
    let utility = format!("openai:{MODEL_ALIAS}");
    let (_server, url, _dir) = serve(
        &[
            ("AOMI_MODEL", "openai:stub-chat"),
            ("OPENAI_BASE_URL", &stub_base),
            ("AOMI_UTILITY_MODEL", &utility),
            ("AOMI_UTILITY_BASE_URL", &local_base),
            ("AOMI_UTILITY_STRUCTURED_OUTPUT", "json_object"),
            ("AOMI_UTILITY_MAX_TOKENS", "64"),
        ],
        "",
    );
    let chat_id = new_chat_id();
    let parts = read_all(post(&url, &user_body(&chat_id, "how much does gas cost on mainnet right now?")).await).await;
    assert_eq!(text_of(&parts), "Gas is cheap today.");
    // The title job's calls (one, or two with its correction round) are done once the chat has
    // a title: the model's or, when both answers failed, the first message.
    wait_for("the chat has a title", || async { chat_json(&url, &chat_id).await["title"].is_string() }).await;

    // The stub got the chat and nothing else; the local model got the title and nothing else.
    let chat_requests = stub.requests();
    assert_eq!(chat_requests.len(), 1, "{chat_requests:?}");
    assert_eq!(chat_requests[0].model(), Some("stub-chat"));
    assert!(!chat_requests[0].body.to_string().contains("Title:"));
    let exchanges = proxy.exchanges();
    assert!(!exchanges.is_empty());
    for (request, _) in &exchanges {
        assert_eq!(request.model(), Some(MODEL_ALIAS));
        assert_eq!(request.path, "/v1/chat/completions");
        // The transcript to title is the first user message; a correction round (when the
        // model's answer was cut off or not JSON) adds the answer and the correction after it.
        let first_user = request.body["messages"]
            .as_array()
            .and_then(|messages| messages.iter().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str());
        assert!(first_user.is_some_and(|t| t.contains("Title:")), "{:?}", request.body);
        let format = &request.body["response_format"];
        assert_eq!(format["type"], "json_object", "the schema constrains the answer: {format}");
        assert_eq!(format["schema"]["required"], serde_json::json!(["title"]));
    }
    for (request, _) in exchanges.iter().skip(1) {
        let last = request.last_user_text.as_deref().unwrap_or_default();
        assert!(last.starts_with("That answer is not valid"), "a second call is the correction round: {last:?}");
    }

    // The model's answers were streamed JSON; the chat's title is the first that is an object
    // with a usable `title` string (a 64-token cap can cut one), else the first message.
    let stored = chat_json(&url, &chat_id).await["title"].as_str().unwrap_or_default().to_owned();
    let mut titles = Vec::new();
    for (_, answer) in &exchanges {
        let text = streamed_text(answer).await;
        let title = serde_json::from_str::<serde_json::Value>(text.trim())
            .ok()
            .and_then(|typed| typed.get("title").and_then(serde_json::Value::as_str).map(str::to_owned));
        titles.push((text, title));
    }
    let first_usable = titles.iter().find_map(|(_, title)| title.as_deref()).map(str::trim).filter(|t| !t.is_empty());
    match first_usable {
        Some(title) => {
            let kept: String = title.trim_matches(['"', '\'', '*', '#', '`', ' ']).chars().take(30).collect();
            // The stored title drops a final period.
            assert!(stored.contains(kept.trim().trim_end_matches('.')), "{stored:?} is not the model's {title:?}");
        }
        None => assert_eq!(stored, "how much does gas cost on mainnet right now?", "{titles:?}"),
    }
}

/// The content deltas of an OpenAI stream, joined.
async fn streamed_text(sse: &str) -> String {
    let stream = futures::stream::iter([Ok::<_, std::convert::Infallible>(sse.as_bytes().to_vec())]);
    let mut events = stream.eventsource();
    let mut text = String::new();
    while let Some(Ok(event)) = events.next().await {
        let Ok(chunk) = serde_json::from_str::<serde_json::Value>(&event.data) else { continue };
        if let Some(piece) = chunk.pointer("/choices/0/delta/content").and_then(serde_json::Value::as_str) {
            text.push_str(piece);
        }
    }
    text
}

/// A tool turn on the real model (the call forced by the test configuration `first_tool`, as a
/// small model on llama-cpp-python needs): `get_current_time` runs, the model's answer follows,
/// the stream ends with `finish`, and the chat takes the next message.
#[tokio::test(flavor = "multi_thread")]
async fn a_tool_turn_on_the_real_model_runs_the_tool_and_the_chat_goes_on() {
    let Some(model) = local_model().await else { return };
    let base = model.openai_base_url();
    let spec = format!("openai:{MODEL_ALIAS}");
    let config = "first_tool = \"get_current_time\"\ntitles = \"first-message\"\n";
    let (_server, url, _dir) = serve(&[("AOMI_MODEL", &spec), ("OPENAI_BASE_URL", &base)], config);
    let chat_id = new_chat_id();
    let parts = read_all(post(&url, &user_body(&chat_id, "What time is it now?")).await).await;
    let ran = parts.iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { .. }));
    assert!(ran, "the tool ran: {parts:?}");
    let errors: Vec<&UiChunk> = parts.iter().filter(|p| matches!(p, UiChunk::Error { .. })).collect();
    assert!(errors.is_empty(), "{errors:?}");

    let stored = messages(&url, &chat_id).await;
    let answer = stored.last().unwrap();
    let tool = answer.parts.iter().find_map(|p| match p {
        MessagePart::Tool(tool) => Some(tool),
        _ => None,
    });
    let tool = tool.unwrap_or_else(|| panic!("{answer:?}"));
    assert_eq!((tool.tool_name.as_str(), tool.state), ("get_current_time", ToolState::OutputAvailable));
    let after_tool = answer.parts.iter().skip_while(|p| !matches!(p, MessagePart::Tool(_))).skip(1);
    let said: String = after_tool
        .filter_map(|p| match p {
            MessagePart::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(!said.trim().is_empty(), "the model answered after the tool: {answer:?}");

    // The chat goes on: the next message gets a finished answer as well.
    let next = read_all(post(&url, &user_body(&chat_id, "Thank you!")).await).await;
    assert!(next.iter().any(|p| matches!(p, UiChunk::Finish { .. })));
    assert_eq!(messages(&url, &chat_id).await.len(), 4);
}
