//! GET /api/openapi.json: the API described from the code, and the committed copy the page's
//! TypeScript types are generated from.

use std::path::PathBuf;

use aomi_llm::Provider as ModelProvider;
use aomi_testkit::{Reply, Script};
use serde_json::Value;

use crate::common::*;

/// The committed document (docs/openapi.json); `AOMI_UPDATE_OPENAPI=1` rewrites it.
fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let server = TestServer::start(Script::new().fallback(Reply::text("Hello.")), ModelProvider::OpenAi).await;
    let response = server.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    let served = format!("{served}\n");
    if std::env::var_os("AOMI_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed(), &served).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed()).unwrap_or_default();
    // Not assert_eq!: a diff of two whole documents is unreadable; say what to do instead.
    assert!(
        served == on_disk,
        "docs/openapi.json is not the document the server serves: run `AOMI_UPDATE_OPENAPI=1 cargo test -p aomi-server \
         --test it openapi` and `npm run --prefix web generate:api`, and commit both"
    );
}

#[test]
fn every_route_and_method_is_described() {
    let document = serde_json::to_value(aomi_server::openapi()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    let expected = [
        ("/api/chat", "post"),
        ("/api/chat/{id}/stream", "get"),
        ("/api/chat/{id}/stop", "post"),
        ("/api/chats", "get"),
        ("/api/chats/{id}", "get"),
        ("/api/chats/{id}", "patch"),
        ("/api/chats/{id}", "delete"),
        ("/api/chats/{id}/branch", "post"),
        ("/api/chats/{id}/batch", "get"),
        ("/api/chats/{id}/batch/steps/{index}", "delete"),
        ("/api/search", "get"),
        ("/api/apps", "get"),
        ("/api/models", "get"),
        ("/api/auth/challenge", "post"),
        ("/api/auth/verify", "post"),
        ("/api/auth/session", "get"),
        ("/api/auth/session", "delete"),
        ("/api/auth/sessions", "delete"),
        ("/api/commands", "get"),
        ("/api/networks", "get"),
        ("/api/simulate", "post"),
        ("/api/contracts/{chain}/{address}", "get"),
        ("/api/telegram/link", "post"),
        ("/api/guards", "get"),
        ("/api/guards", "put"),
        ("/api/openapi.json", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} is not in the document"))[method];
        assert!(operation.is_object(), "{method} {path} is not in the document");
        let responses = operation["responses"].as_object().unwrap();
        // Every JSON answer has a typed schema: a bare `{}` would let any answer pass.
        for (status, response) in responses {
            if let Some(schema) = response.pointer("/content/application~1json/schema")
                && path != "/api/openapi.json"
            {
                assert_ne!(schema, &Value::Object(Default::default()), "{method} {path} {status} is untyped");
            }
        }
        // Every error status answers the one error shape.
        for (status, response) in responses.iter().filter(|(status, _)| status.starts_with(['4', '5'])) {
            if path == "/readyz" {
                continue;
            }
            let schema = response.pointer("/content/application~1json/schema/$ref").and_then(Value::as_str);
            assert_eq!(schema, Some("#/components/schemas/ErrorBody"), "{method} {path} {status}");
        }
    }
    let operations: usize = paths.values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(operations, expected.len(), "a route is described that this test does not know: {:?}", paths.keys());
}
