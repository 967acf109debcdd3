//! Editing a message and asking for another answer: the old line stays reachable as a branch, the
//! model reads only the line the chat is on, and only the chat's owner can switch.

use aomi_testkit::{Match, Reply, Script};
use serde_json::{Value, json};

use crate::common::*;

const ALICE: &str = "0xA11CE00000000000000000000000000000000001";
const BOB: &str = "0xb0b0000000000000000000000000000000000002";

impl TestServer {
    async fn say(&self, body: Value) -> Vec<aomi_core::UiChunk> {
        read_stream(self.post(&body).await).await
    }

    async fn json_of(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn chat_of(&self, chat_id: &str, owner: &str) -> Value {
        let (status, chat) =
            self.json_of(self.http.get(format!("{}/api/chats/{chat_id}?owner={owner}", self.url))).await;
        assert_eq!(status, 200, "{chat}");
        chat
    }

    async fn switch(&self, chat_id: &str, owner: &str, branch: &str) -> (u16, Value) {
        let url = format!("{}/api/chats/{chat_id}/branch?owner={owner}", self.url);
        self.json_of(self.http.post(url).json(&json!({ "branchId": branch }))).await
    }
}

/// The texts of a chat's messages, in order.
fn texts(chat: &Value) -> Vec<String> {
    chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["parts"].as_array().unwrap().iter().filter_map(|p| p["text"].as_str()).collect::<String>())
        .collect()
}

#[tokio::test]
async fn an_edit_branches_the_chat_and_the_old_answer_stays_reachable() {
    let script = Script::new()
        .rule(Match::LastUserContains("ETH".into()), Reply::text("ETH is ether."))
        .rule(Match::LastUserContains("USDC".into()), Reply::text("USDC is a dollar."))
        .fallback(Reply::text("Noted."));
    let server = TestServer::start(script, aomi_llm::Provider::OpenAi).await;
    let chat = new_chat_id();

    let first = user("hello");
    server.say(json!({ "id": chat, "message": first, "wallet": { "chainId": 31337, "address": ALICE } })).await;
    let question = user("what is ETH?");
    server.say(json!({ "id": chat, "message": question, "wallet": { "chainId": 31337, "address": ALICE } })).await;
    assert_eq!(texts(&server.chat_of(&chat, ALICE).await), ["hello", "Noted.", "what is ETH?", "ETH is ether."]);

    // The question, edited.
    let edited = user("what is USDC?");
    let parts = server
        .say(json!({
            "id": chat, "message": edited, "replaces": question["id"],
            "wallet": { "chainId": 31337, "address": ALICE },
        }))
        .await;
    assert_eq!(text_of(&parts), "USDC is a dollar.");
    let view = server.chat_of(&chat, ALICE).await;
    assert_eq!(texts(&view), ["hello", "Noted.", "what is USDC?", "USDC is a dollar."]);
    // The model read the line the chat is on: the old question is not in its last request.
    let asked = server.stub.requests().last().unwrap().body.to_string();
    assert!(asked.contains("what is USDC?") && !asked.contains("what is ETH?"), "{asked}");

    // One fork, at the edited message: the old line first, then the one shown.
    let forks = view["forks"].as_array().unwrap();
    assert_eq!(forks.len(), 1);
    assert_eq!(forks[0]["messageId"], edited["id"]);
    let alternatives = forks[0]["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 2);
    assert!(alternatives[1].is_null(), "{alternatives:?}");
    let old = alternatives[0].as_str().unwrap().to_owned();

    // Another wallet cannot switch Alice's chat; an unknown branch is a 404.
    assert_eq!(server.switch(&chat, BOB, &old).await.0, 403);
    assert_eq!(server.switch(&chat, ALICE, "br_nope").await.0, 404);
    assert_eq!(server.switch(&chat, ALICE, "").await.0, 400);

    // Back to the old line, whole; the edit is the alternative now.
    assert_eq!(server.switch(&chat, ALICE, &old).await.0, 204);
    let view = server.chat_of(&chat, ALICE).await;
    assert_eq!(texts(&view), ["hello", "Noted.", "what is ETH?", "ETH is ether."]);
    let alternatives = view["forks"][0]["alternatives"].as_array().unwrap().clone();
    assert!(alternatives[0].is_null() && alternatives[1].is_string(), "{alternatives:?}");

    // Another answer to the same words: the message sent again, replacing itself.
    let again = json!({ "id": "u-again", "role": "user", "parts": [{ "type": "text", "text": "what is ETH?" }] });
    server.say(json!({ "id": chat, "message": again, "replaces": question["id"], "wallet": { "chainId": 31337, "address": ALICE } })).await;
    let view = server.chat_of(&chat, ALICE).await;
    assert_eq!(texts(&view), ["hello", "Noted.", "what is ETH?", "ETH is ether."]);
    assert_eq!(view["forks"][0]["alternatives"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn only_a_user_message_of_the_chat_can_be_replaced() {
    let server = TestServer::start(Script::new().fallback(Reply::text("Noted.")), aomi_llm::Provider::OpenAi).await;
    let chat = new_chat_id();
    read_stream(server.post(&user_body(&chat, "hello")).await).await;
    let answer_id = server.messages(&chat).await[1].id.clone();
    for (replaces, why) in
        [(json!(answer_id), "an answer"), (json!("u-missing"), "no such message"), (json!(""), "empty")]
    {
        let response = server
            .post(
                &json!({ "id": chat, "message": user("edited"), "replaces": replaces, "wallet": { "chainId": 31337 } }),
            )
            .await;
        assert_eq!(response.status(), 400, "{why}");
    }
    // Nothing changed.
    assert_eq!(server.messages(&chat).await.len(), 2);
}
