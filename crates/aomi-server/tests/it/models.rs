//! A chat's model: the server's allowed models (`GET /api/models`), a new chat's pick
//! (`"model"` of `POST /api/chat`), stored with the chat and used by each of its turns, on SQLite
//! and on PostgreSQL. The allowed models are one stub under three model names, so the stub's
//! requests tell which model each turn called.

use aomi_llm::Provider;
use aomi_testkit::{Reply, Script};
use serde_json::{Value, json};

use crate::common::*;

/// The default model's name at the stub (the harness's `openai:stub-model`).
const DEFAULT: &str = "stub-model";

fn options(database_url: Option<String>) -> Options {
    let mut options = Options::new(Provider::OpenAi);
    options.database_url = database_url;
    options.models = vec![("a", "Model A", "model-a"), ("b", "Model B", "model-b")];
    options
}

/// A user message to a chat, on `model` when given.
fn body(chat_id: &str, text: &str, model: Option<&str>) -> Value {
    let mut body = user_body(chat_id, text);
    if let Some(model) = model {
        body["model"] = json!(model);
    }
    body
}

impl TestServer {
    /// Sends a message and reads its answer; the model name the stub was called with.
    async fn turn_on(&self, chat_id: &str, text: &str, model: Option<&str>) -> String {
        let before = self.stub.requests().len();
        let response = self.post(&body(chat_id, text, model)).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        assert_eq!(text_of(&read_stream(response).await), "Done.");
        let requests = self.stub.requests();
        assert_eq!(requests.len(), before + 1, "one model call per turn");
        requests.last().and_then(|r| r.model()).unwrap_or_default().to_owned()
    }
}

async fn a_chat_runs_on_its_model(database_url: Option<String>) {
    let server = TestServer::start_with(Script::new().fallback(Reply::text("Done.")), options(database_url)).await;

    let listed: Value = server.get("/api/models").await.json().await.unwrap();
    assert_eq!(
        listed,
        json!({ "models": [
            { "id": "openai:stub-model", "label": "openai:stub-model", "default": true },
            { "id": "a", "label": "Model A", "default": false },
            { "id": "b", "label": "Model B", "default": false },
        ] })
    );

    // A chat created on B sends every turn to B: the later turns name no model, or another one.
    let on_b = new_chat_id();
    assert_eq!(server.turn_on(&on_b, "first", Some("b")).await, "model-b");
    assert_eq!(server.chat(&on_b).await["model"], "b");
    assert_eq!(server.turn_on(&on_b, "second", None).await, "model-b");
    assert_eq!(server.turn_on(&on_b, "third", Some("a")).await, "model-b", "a chat keeps its model");
    assert_eq!(server.chat(&on_b).await["model"], "b");

    // A chat that names no model runs on the default, and says so with `null`.
    let plain = new_chat_id();
    assert_eq!(server.turn_on(&plain, "hello", None).await, DEFAULT);
    assert_eq!(server.chat(&plain).await["model"], Value::Null);
    // The default named by its id is the default.
    let named = new_chat_id();
    assert_eq!(server.turn_on(&named, "hello", Some("openai:stub-model")).await, DEFAULT);

    // An unknown model is refused before anything is stored or called.
    let calls = server.stub.requests().len();
    let refused = new_chat_id();
    let response = server.post(&body(&refused, "hello", Some("gpt-9"))).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unknown_model", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"gpt-9\"") && message.contains("openai:stub-model, a, b"), "{message}");
    assert_eq!(server.get(&format!("/api/chats/{refused}")).await.status(), 404, "no chat stored");
    assert!(server.store.chat(&refused).await.unwrap().is_none());
    // Nor is the message of an existing chat that names one.
    let response = server.post(&body(&on_b, "fourth", Some("gpt-9"))).await;
    assert_eq!(response.status(), 400);
    assert_eq!(server.messages(&on_b).await.len(), 6, "three turns, no fourth message");
    assert_eq!(server.stub.requests().len(), calls, "no model was called");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_runs_on_its_model_sqlite() {
    a_chat_runs_on_its_model(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_runs_on_its_model_postgres() {
    let Some(pg) = aomi_store::testing::TestPostgres::create().await else { return };
    a_chat_runs_on_its_model(Some(pg.url().to_owned())).await;
}

/// A server without a model lists none and refuses any model a request names.
#[tokio::test]
async fn without_a_model_none_is_listed_and_none_may_be_named() {
    let mut options = Options::new(Provider::OpenAi);
    options.with_model = false;
    let server = TestServer::start_with(Script::new(), options).await;
    let listed: Value = server.get("/api/models").await.json().await.unwrap();
    assert_eq!(listed, json!({ "models": [] }));
    let response = server.post(&body(&new_chat_id(), "hello", Some("a"))).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("allowed models: none"), "{error}");
}
