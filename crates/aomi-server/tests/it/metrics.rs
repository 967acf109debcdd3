//! GET /metrics: what the turns, the tools and the routes did, in the Prometheus text format.

use aomi_llm::Provider as ModelProvider;
use aomi_testkit::{Match, Reply, Script};
use serde_json::json;

use crate::common::*;

/// The value of the sample that starts with `sample` (its name and labels), if present.
fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn turns_tools_and_routes_are_counted() {
    let script = Script::new()
        .rule(Match::LastToolResultContains("utc".into()), Reply::text("It is late."))
        .rule(Match::LastUserContains("time".into()), Reply::tool_call("get_current_time", json!({})))
        .fallback(Reply::text("Hello."));
    let server = TestServer::start(script, ModelProvider::OpenAi).await;
    let chat = new_chat_id();
    assert_eq!(text_of(&server.turn(&chat, "what time is it?").await), "It is late.");
    assert_eq!(text_of(&server.turn(&chat, "hi").await), "Hello.");
    assert_eq!(server.get(&format!("/api/chats/{chat}")).await.status(), 200);
    assert_eq!(server.get("/api/nothing-here").await.status(), 404);

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(sample(&text, r#"aomi_turns_total{outcome="finished"}"#), Some(2.0), "{text}");
    assert_eq!(sample(&text, "aomi_turns_running"), Some(0.0));
    assert_eq!(sample(&text, "aomi_turn_duration_seconds_count"), Some(2.0));
    assert_eq!(sample(&text, "aomi_turn_first_text_seconds_count"), Some(2.0));
    assert_eq!(sample(&text, r#"aomi_tool_calls_total{tool="get_current_time",outcome="ok"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"aomi_http_requests_total{method="POST",route="/api/chat",status="200"}"#), Some(2.0));
    // Routes are counted by their pattern, never by a chat id.
    assert_eq!(
        sample(&text, r#"aomi_http_requests_total{method="GET",route="/api/chats/{id}",status="200"}"#),
        Some(1.0)
    );
    assert!(!text.contains(&chat), "no chat id in a label");
    assert_eq!(sample(&text, r#"aomi_http_requests_total{method="GET",route="/api/{*rest}",status="404"}"#), Some(1.0));
}

#[tokio::test]
async fn failed_tools_and_turns_are_counted_as_errors() {
    // The tool result first: after the tool, the last user message still asks for it.
    let script = Script::new()
        .rule(Match::LastToolResultContains("".into()), Reply::text("That failed."))
        .rule(Match::LastUserContains("explode".into()), Reply::tool_call("explode", json!({})))
        .rule(Match::LastUserContains("fail".into()), Reply::error(500, "boom"));
    let server = TestServer::start(script, ModelProvider::Anthropic).await;
    server.turn(&new_chat_id(), "please explode").await;
    server.turn(&new_chat_id(), "please fail").await;
    let text = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(sample(&text, r#"aomi_tool_calls_total{tool="explode",outcome="error"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"aomi_turns_total{outcome="error"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"aomi_turns_total{outcome="finished"}"#), Some(1.0), "{text}");
}

#[tokio::test]
async fn unknown_methods_and_invented_tools_are_counted_as_other() {
    let script = Script::new()
        .rule(Match::LastToolResultContains("".into()), Reply::text("No such tool."))
        .rule(Match::LastUserContains("invent".into()), Reply::tool_call("made_up_tool_42", json!({})));
    let server = TestServer::start(script, ModelProvider::OpenAi).await;
    server.turn(&new_chat_id(), "please invent a tool").await;
    let method = reqwest::Method::from_bytes(b"BREW").unwrap();
    server.http.request(method, format!("{}/api/apps", server.url)).send().await.unwrap();
    let text = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(sample(&text, r#"aomi_tool_calls_total{tool="other",outcome="error"}"#), Some(1.0), "{text}");
    assert!(!text.contains("made_up_tool_42"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("BREW"), "{text}");
}

#[tokio::test]
async fn metrics_need_their_token_when_one_is_set_and_are_hidden_in_required_mode_without_one() {
    let mut options = Options::new(ModelProvider::OpenAi);
    options.metrics_token = Some("scrape-secret".into());
    let server = TestServer::start_with(Script::new(), options).await;
    let url = format!("{}/metrics", server.url);
    let status = |auth: Option<&'static str>| {
        let mut request = server.http.get(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some("Bearer wrong")).await, 401);
    assert_eq!(status(Some("scrape-secret")).await, 401);
    assert_eq!(status(Some("Bearer scrape-secret")).await, 200);

    let mut options = Options::new(ModelProvider::OpenAi);
    options.auth = Some(aomi_server::auth::Auth::random_key(aomi_server::auth::AuthMode::Required, None));
    let required = TestServer::start_with(Script::new(), options).await;
    assert_eq!(required.get("/metrics").await.status(), 404);
}

/// The sample Grafana dashboard of docs/ops/ asks only for metrics the server exports.
#[tokio::test]
async fn the_sample_dashboard_names_only_exported_metrics() {
    // A turn with a tool call, so that every family has a sample (an empty one is not listed).
    let script = Script::new()
        .rule(Match::LastToolResultContains("utc".into()), Reply::text("It is late."))
        .rule(Match::LastUserContains("time".into()), Reply::tool_call("get_current_time", json!({})));
    let server = TestServer::start(script, ModelProvider::OpenAi).await;
    assert_eq!(text_of(&server.turn(&new_chat_id(), "what time is it?").await), "It is late.");
    let text = server.get("/metrics").await.text().await.unwrap();
    let dashboard = include_str!("../../../../docs/ops/grafana-dashboard.json");
    let mut names: Vec<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("aomi_"))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 5, "the dashboard's metrics: {names:?}");
    for name in names {
        let family =
            ["_total", "_bucket", "_sum", "_count"].iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(name);
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "the dashboard asks for {name}, which /metrics lacks:\n{text}"
        );
    }
}
