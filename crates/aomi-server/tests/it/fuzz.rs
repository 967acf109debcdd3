//! Fuzz target of the request bodies: generated bodies posted to a real in-process server (the
//! stub model behind it). Properties (docs/fuzzing.md):
//! - every body of `POST /api/chat` (arbitrary JSON, chat-shaped JSON with fields missing,
//!   mistyped or hostile, text that is not JSON) is answered 2xx or 4xx, never 5xx, within the
//!   client's timeout; a 4xx carries the `{"error": {"code", "message"}}` body, and a 200 is a UI
//!   message stream that ends with `finish` and `[DONE]`;
//! - the same for `PATCH /api/chats/{id}` bodies.
//!
//! Cases per property: `PROPTEST_CASES` (200 by default: each case is one HTTP exchange, often a
//! whole turn). Sign-in bodies are fuzzed with the sign-in code.

use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aomi_testkit::fuzz::{arb_json, config, hostile_strings, text};
use aomi_testkit::{Reply, Script};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::{Options, TestServer, read_stream};

/// The client's timeout: an answer (a whole turn included) that takes longer counts as a hang.
const HANG: Duration = Duration::from_secs(30);

/// One server for all cases, on a runtime of its own; cases take turns.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    http: reqwest::Client,
}

fn fixture() -> MutexGuard<'static, Fixture> {
    static FIXTURE: LazyLock<Mutex<Fixture>> = LazyLock::new(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        Mutex::new(Fixture::start(runtime, options()))
    });
    FIXTURE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The test server's options with the request rates off: hundreds of requests from one address
/// would otherwise be 429s, which hide what the bodies do. Every other limit stays at its default.
fn options() -> Options {
    let mut options = Options::new(aomi_llm::Provider::Anthropic);
    options.limits = Some(aomi_server::limits::Limits {
        ip_rate: 0,
        ip_burst: 0,
        session_rate: 0,
        session_burst: 0,
        ..aomi_server::limits::Limits::default()
    });
    options
}

impl Fixture {
    /// A server with `options` on `runtime`, with one chat for the PATCH cases to find.
    fn start(runtime: tokio::runtime::Runtime, options: Options) -> Fixture {
        let server = runtime.block_on(TestServer::start_with(Script::new().fallback(Reply::text("ok")), options));
        let http = {
            let _entered = runtime.enter();
            reqwest::Client::builder().timeout(HANG).build().unwrap()
        };
        runtime.block_on(async {
            let response = server.post(&crate::common::user_body("fuzz-known", "hello")).await;
            read_stream(response).await;
        });
        Fixture { runtime, server, http }
    }
}

/// What a case sends.
#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    /// Bytes with a JSON content type.
    Raw(Vec<u8>),
}

impl Fixture {
    /// Sends `body` with `method` to `path` and checks the answer.
    fn check(&self, method: reqwest::Method, path: &str, body: &Body) -> Result<(), TestCaseError> {
        let url = format!("{}{path}", self.server.url);
        let request = self.http.request(method, url).header("content-type", "application/json");
        let request = match body {
            Body::Json(value) => request.body(value.to_string()),
            Body::Raw(bytes) => request.body(bytes.clone()),
        };
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
            let status = response.status();
            prop_assert!(!status.is_server_error(), "{} for {:?}: {:?}", status, body, response.text().await);
            if status.is_client_error() {
                let error: Value =
                    response.json().await.map_err(|e| TestCaseError::fail(format!("{status}: not JSON: {e}")))?;
                prop_assert!(
                    error["error"]["code"].is_string() && error["error"]["message"].is_string(),
                    "{}: {}",
                    status,
                    error
                );
            } else if response.headers().contains_key("x-vercel-ai-ui-message-stream") {
                // A turn: its stream ends properly (read_stream checks `finish` and `[DONE]`).
                read_stream(response).await;
            } else {
                let _ = response.bytes().await.map_err(|e| TestCaseError::fail(format!("{status}: {e}")))?;
            }
            Ok(())
        })
    }
}

fn chat_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => "[a-zA-Z0-9_-]{1,20}".prop_map(Value::String),
        1 => Just(json!("fuzz-known")),
        1 => "[a-z0-9]{129}".prop_map(Value::String),
        2 => arb_json(),
    ]
}

/// A message part: the modelled kinds with fields right, missing or wrong, or anything.
fn part() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        4 => Just(json!("text")),
        1 => Just(json!("reasoning")),
        1 => Just(json!("step-start")),
        1 => Just(json!("tool-send_transaction_to_wallet")),
        1 => Just(json!("tool-echo")),
        1 => Just(json!("dynamic-tool")),
        1 => Just(json!("source-url")),
        1 => Just(json!("data-x")),
        1 => Just(json!("file")),
        1 => text().prop_map(Value::String),
        1 => arb_json(),
    ];
    let field = prop_oneof![
        Just("text"),
        Just("toolCallId"),
        Just("toolName"),
        Just("state"),
        Just("input"),
        Just("output"),
        Just("errorText"),
        Just("data"),
        Just("id"),
        Just("url"),
        Just("sourceId"),
    ];
    let value = prop_oneof![
        4 => text().prop_map(Value::String),
        1 => Just(json!("output-available")),
        1 => Just(json!("output-error")),
        1 => Just(json!("/time")),
        1 => Just(json!("/balance 0x0000000000000000000000000000000000000001")),
        2 => arb_json(),
    ];
    (kind, proptest::collection::vec((field, value), 0..5)).prop_map(|(kind, fields)| {
        let mut map: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        map.insert("type".into(), kind);
        Value::Object(map)
    })
}

fn message() -> impl Strategy<Value = Value> {
    let role = prop_oneof![
        4 => Just(json!("user")),
        2 => Just(json!("assistant")),
        1 => Just(json!("system")),
        1 => arb_json(),
    ];
    let id = prop_oneof![4 => "[a-z0-9]{1,12}".prop_map(Value::String), 1 => arb_json()];
    let parts = prop_oneof![
        6 => proptest::collection::vec(part(), 0..4).prop_map(Value::Array),
        1 => arb_json(),
    ];
    (id, role, parts, proptest::option::of(arb_json()), any::<u8>()).prop_map(|(id, role, parts, metadata, drop)| {
        let mut map = Map::new();
        for (i, (key, value)) in
            [("id", Some(id)), ("role", Some(role)), ("parts", Some(parts)), ("metadata", metadata)]
                .into_iter()
                .enumerate()
        {
            // Now and then a required field is missing.
            if let Some(value) = value
                && drop % 7 != i as u8
            {
                map.insert(key.to_owned(), value);
            }
        }
        Value::Object(map)
    })
}

fn wallet() -> impl Strategy<Value = Value> {
    let chain_id = prop_oneof![
        Just(json!(31337)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(u64::MAX)),
        Just(json!(1.5)),
        arb_json()
    ];
    let address = prop_oneof![
        Just(json!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")),
        "0x[0-9a-fA-F]{0,42}".prop_map(Value::String),
        arb_json(),
    ];
    (chain_id, proptest::option::of(address)).prop_map(|(chain_id, address)| {
        let mut wallet = json!({ "chainId": chain_id });
        if let Some(address) = address {
            wallet["address"] = address;
        }
        wallet
    })
}

/// Bodies of `POST /api/chat`: chat-shaped with hostile fields, arbitrary JSON, or not JSON.
fn chat_body() -> impl Strategy<Value = Body> {
    let shaped = (
        chat_id(),
        message(),
        proptest::option::of(proptest::collection::vec(message(), 0..3)),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(json!("default")), Just(json!("")), arb_json()]),
        proptest::option::of(wallet()),
        proptest::option::of((text(), arb_json())),
    )
        .prop_map(|(id, message, messages, single, app, wallet, extra)| {
            let mut body = json!({ "id": id });
            match messages {
                // The AI SDK's default body: the whole list, the last one new.
                Some(mut list) if !single => {
                    list.push(message);
                    body["messages"] = Value::Array(list);
                }
                _ => body["message"] = message,
            }
            if let Some(app) = app {
                body["app"] = app;
            }
            if let Some(wallet) = wallet {
                body["wallet"] = wallet;
            }
            if let Some((key, value)) = extra {
                body[key] = value;
            }
            Body::Json(body)
        });
    let hostile = proptest::sample::select(hostile_strings()).prop_map(|s| Body::Raw(s.into_bytes()));
    prop_oneof![
        8 => shaped,
        2 => arb_json().prop_map(Body::Json),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Body::Raw),
        1 => hostile,
    ]
}

proptest! {
    #![proptest_config(config(file!(), 200))]

    #[test]
    fn chat_bodies_never_get_a_server_error(body in chat_body()) {
        fixture().check(reqwest::Method::POST, "/api/chat", &body)?;
    }

    #[test]
    fn chat_changes_never_get_a_server_error(
        id in prop_oneof![Just("fuzz-known".to_owned()), "[a-zA-Z0-9_-]{1,12}", "%[0-9A-F]{2}[a-z]{0,4}"],
        body in prop_oneof![
            (proptest::option::of(prop_oneof![text().prop_map(Value::String), arb_json()]),
             proptest::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), arb_json()]))
                .prop_map(|(title, archived)| {
                    let mut body = Map::new();
                    if let Some(title) = title { body.insert("title".into(), title); }
                    if let Some(archived) = archived { body.insert("archived".into(), archived); }
                    Body::Json(Value::Object(body))
                }),
            arb_json().prop_map(Body::Json),
        ],
    ) {
        fixture().check(reqwest::Method::PATCH, &format!("/api/chats/{id}"), &body)?;
    }
}

/// The seed corpus: bodies that are almost right, and hostile ones.
fn seed_bodies() -> Vec<Body> {
    let user = |parts: Value| json!({ "id": "fuzz-seed", "message": { "id": "m", "role": "user", "parts": parts } });
    let mut bodies = vec![
        Body::Raw(Vec::new()),
        Body::Raw(b"{".to_vec()),
        Body::Raw(b"\xff\xfe{}".to_vec()),
        Body::Raw(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        Body::Json(json!(null)),
        Body::Json(json!([])),
        Body::Json(json!({ "id": "" })),
        Body::Json(json!({ "id": "x", "messages": [] })),
        Body::Json(json!({ "id": "x", "message": null })),
        Body::Json(json!({ "id": "x", "message": {} })),
        Body::Json(user(json!([{ "type": "text", "text": "\u{0}" }]))),
        // Regression: PostgreSQL's JSONB refuses NUL, and this was a 500 there.
        Body::Json(user(json!([{ "type": "text", "text": "a\u{0}b" }, { "type": "x\u{0}", "\u{0}": "\u{0}" }]))),
        Body::Json(json!({ "id": "fuzz-nul", "message": { "id": "m\u{0}", "role": "user",
            "parts": [{ "type": "text", "text": "hi" }], "metadata": { "\u{0}": "\u{0}" } } })),
        Body::Json(user(json!([{ "type": "text", "text": " \u{200b} " }]))),
        Body::Json(user(json!([{ "type": "text", "text": "a".repeat(70_000) }]))),
        Body::Json(user(json!([{ "type": "text", "text": "/" }]))),
        Body::Json(user(json!([{ "type": "text", "text": "/balance \"" }]))),
        Body::Json(user(
            json!([{ "type": "text", "text": "/call 0x \"f(uint256[][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][])\" 1" }]),
        )),
        Body::Json(user(json!([{ "type": "text", "text": "hi" }, { "type": "tool-x" }]))),
        Body::Json(user(json!([{ "type": "text", "text": "hi" }, { "type": "data-x", "data": "\u{0}" }]))),
        Body::Json(json!({ "id": "x", "message": { "id": "m", "role": "assistant", "parts": [
            { "type": "tool-send_transaction_to_wallet", "toolCallId": "\u{0}", "state": "output-available", "output": {} }
        ] } })),
        Body::Json(
            json!({ "id": "x", "message": { "id": "m", "role": "user", "parts": [{ "type": "text", "text": "hi" }] },
            "wallet": { "chainId": u64::MAX, "address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" } }),
        ),
        Body::Json(
            json!({ "id": "x", "message": { "id": "m", "role": "user", "parts": [{ "type": "text", "text": "hi" }] },
            "app": "\u{202e}" }),
        ),
    ];
    bodies.extend(hostile_strings().into_iter().map(|s| Body::Json(user(json!([{ "type": "text", "text": s }])))));
    bodies
}

#[test]
fn hostile_chat_bodies_get_client_errors() {
    let fixture = fixture();
    for body in &seed_bodies() {
        if let Err(error) = fixture.check(reqwest::Method::POST, "/api/chat", body) {
            panic!("{error}");
        }
    }
}

/// The seed corpus against a server on PostgreSQL, whose JSONB and TEXT refuse what SQLite takes
/// (a NUL character). Passes without a word when PostgreSQL is unreachable, unless
/// `AOMI_REQUIRE_POSTGRES=1`.
#[test]
fn hostile_chat_bodies_on_postgres() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let Some(pg) = runtime.block_on(aomi_store::testing::TestPostgres::create()) else { return };
    let mut options = options();
    options.database_url = Some(pg.url().to_owned());
    let fixture = Fixture::start(runtime, options);
    for body in &seed_bodies() {
        if let Err(error) = fixture.check(reqwest::Method::POST, "/api/chat", body) {
            panic!("on PostgreSQL: {error}");
        }
    }
}
