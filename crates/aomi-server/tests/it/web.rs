//! The built web page is served beside the API, and never shadows it.

use aomi_llm::Provider;
use aomi_testkit::Script;
use serde_json::Value;

use crate::common::{Options, TestServer};

/// A directory holding a tiny built page.
fn built_page() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aomi-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>aomi page</title>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log('aomi')").unwrap();
    dir
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.http.get(format!("{}{path}", server.url)).send().await.unwrap()
}

#[tokio::test]
async fn serves_the_page_its_assets_and_its_routes() {
    let dir = built_page();
    let options = Options { web_dir: Some(dir.clone()), ..Options::new(Provider::OpenAi) };
    let server = TestServer::start_with(Script::new(), options).await;

    let index = get(&server, "/").await;
    assert_eq!(index.status(), 200);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(index.text().await.unwrap().contains("aomi page"));

    let asset = get(&server, "/assets/app.js").await;
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["content-type"].to_str().unwrap().contains("javascript"));

    // A page route (a chat's address) answers the page, so a reload works.
    let route = get(&server, "/chat/abc").await;
    assert_eq!(route.status(), 200);
    assert!(route.text().await.unwrap().contains("aomi page"));

    // The API keeps priority, and an unknown API path stays a JSON 404.
    assert_eq!(get(&server, "/healthz").await.status(), 200);
    assert_eq!(get(&server, "/api/apps").await.status(), 200);
    let unknown = get(&server, "/api/nope").await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_page_every_unknown_path_is_a_json_404() {
    let server = TestServer::start(Script::new(), Provider::OpenAi).await;
    for path in ["/", "/chat/abc", "/api/nope"] {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

/// Every answer carries the security headers: the page, an asset, the API, an error, a stream.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let dir = built_page();
    let options = Options { web_dir: Some(dir.clone()), ..Options::new(Provider::OpenAi) };
    let server = TestServer::start_with(Script::new(), options).await;
    let owner = "0x00000000000000000000000000000000000000aa";
    let chats = format!("/api/chats?owner={owner}");
    let mut answers = Vec::new();
    for path in ["/", "/assets/app.js", "/chat/abc", chats.as_str(), "/api/nope", "/api/chats?owner=nope"] {
        answers.push((path.to_owned(), get(&server, path).await));
    }
    let too_big = server
        .http
        .post(format!("{}/api/chat", server.url))
        .header("content-type", "application/json")
        .body(vec![b' '; aomi_server::DEFAULT_BODY_LIMIT + 1])
        .send()
        .await
        .unwrap();
    answers.push(("POST /api/chat (too big)".into(), too_big));
    let turn = server.post(&crate::common::user_body(&crate::common::new_chat_id(), "hi")).await;
    answers.push(("POST /api/chat".into(), turn));

    let statuses: Vec<u16> = answers.iter().map(|(_, r)| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 404, 400, 413, 200]);
    for (what, response) in &answers {
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let policy = header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(policy.split(';').any(|d| d.trim() == directive), "{what}: {directive} missing in {policy}");
        }
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"), "{what}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
