//! The chat's pending batch for the page: read it, remove a step; only its owner reaches it.

use aomi_testkit::{Reply, Script};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

const ALICE: &str = "0xA11CE00000000000000000000000000000000001";
const BOB: &str = "0xb0b0000000000000000000000000000000000002";

fn step(n: u64) -> Value {
    json!({ "chainId": 31337, "to": "0x00000000000000000000000000000000000000ff", "value": n.to_string(), "data": "0x", "description": format!("step {n}") })
}

async fn call(server: &TestServer, method: Method, path: &str) -> (u16, Value) {
    let response = server.http.request(method, format!("{}{path}", server.url)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn descriptions(batch: &Value) -> Vec<&str> {
    batch["steps"].as_array().unwrap().iter().map(|s| s["description"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_owner_reads_the_batch_and_removes_a_step_and_nobody_else_does() {
    let server = TestServer::start(Script::new().fallback(Reply::text("Noted.")), aomi_llm::Provider::OpenAi).await;
    let chat = aomi_store::NewChat {
        id: "alices".into(),
        owner: None,
        app: "default".into(),
        chain_id: Some(31337),
        model: None,
    };
    let owner = aomi_core::Address::parse(ALICE).unwrap();
    server.store.ensure_chat(aomi_store::NewChat { owner: Some(owner), ..chat }).await.unwrap();
    server.store.stage_batch_steps("alices", 31337, &[step(1), step(2), step(3)], 10).await.unwrap();

    let (status, batch) = call(&server, Method::GET, &format!("/api/chats/alices/batch?owner={ALICE}")).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["chainId"], 31337);
    assert_eq!(descriptions(&batch), ["step 1", "step 2", "step 3"]);
    assert_eq!(batch["steps"][0], step(1), "a step reads as the tools staged it");

    // Another wallet, or none: refused as every chat route refuses them, and nothing changes.
    for owner in [format!("?owner={BOB}"), String::new()] {
        let (status, body) = call(&server, Method::GET, &format!("/api/chats/alices/batch{owner}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
        let (status, _) = call(&server, Method::DELETE, &format!("/api/chats/alices/batch/steps/0{owner}")).await;
        assert_eq!(status, 403);
    }
    assert_eq!(server.store.pending_batch("alices").await.unwrap().len(), 3, "a refused removal removes nothing");
    // An unknown chat, a step the batch does not have, a place that is not a number.
    let (status, body) = call(&server, Method::GET, &format!("/api/chats/nope/batch?owner={ALICE}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(call(&server, Method::DELETE, &format!("/api/chats/nope/batch/steps/0?owner={ALICE}")).await.0, 404);
    let (status, body) = call(&server, Method::DELETE, &format!("/api/chats/alices/batch/steps/3?owner={ALICE}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(&server, Method::DELETE, &format!("/api/chats/alices/batch/steps/x?owner={ALICE}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not a place"), "{body}");

    let (status, batch) =
        call(&server, Method::DELETE, &format!("/api/chats/alices/batch/steps/1?owner={ALICE}")).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(descriptions(&batch), ["step 1", "step 3"], "the answer is the batch as it is now");
    let (_, again) = call(&server, Method::GET, &format!("/api/chats/alices/batch?owner={ALICE}")).await;
    assert_eq!(again, batch, "and that is what a re-read finds");
    for _ in 0..2 {
        call(&server, Method::DELETE, &format!("/api/chats/alices/batch/steps/0?owner={ALICE}")).await;
    }
    let (_, empty) = call(&server, Method::GET, &format!("/api/chats/alices/batch?owner={ALICE}")).await;
    assert_eq!(empty, json!({ "chainId": null, "steps": [] }));
}
