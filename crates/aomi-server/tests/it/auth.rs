//! Sign-in with the wallet: anvil's unlocked dev accounts sign the EIP-4361 message with
//! `personal_sign` as a wallet would, and the session then speaks for that wallet.

use aomi_chain::Devnet;
use aomi_chain::alloy::primitives::{Address, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_llm::Provider as ModelProvider;
use aomi_server::auth::{Auth, AuthMode};
use aomi_testkit::{Reply, Script};
use serde_json::{Value, json};

use crate::common::*;

async fn server(mode: AuthMode) -> TestServer {
    let options = Options { auth: Some(Auth::new(mode, Some("test secret"))), ..Options::new(ModelProvider::OpenAi) };
    TestServer::start_with(Script::new().fallback(Reply::text("Hello.")), options).await
}

async fn post_json(server: &TestServer, path: &str, body: &Value, cookie: Option<&str>) -> reqwest::Response {
    let mut request = server.http.post(format!("{}{path}", server.url)).json(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn get_with(server: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = server.http.get(format!("{}{path}", server.url));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Asks a challenge for `address`, has anvil's account `signer` sign it, and sends it back.
async fn sign_in(server: &TestServer, devnet: &Devnet, address: Address, signer: Address) -> reqwest::Response {
    let response =
        post_json(server, "/api/auth/challenge", &json!({ "address": address, "chainId": 31337 }), None).await;
    assert_eq!(response.status(), 200);
    let challenge: Value = response.json().await.unwrap();
    let message = challenge["message"].as_str().unwrap();
    let signature: String = devnet
        .provider()
        .raw_request("personal_sign".into(), (format!("0x{}", hex::encode(message)), signer))
        .await
        .expect("anvil signs with an unlocked account");
    let body = json!({ "message": message, "signature": signature, "challenge": challenge["challenge"] });
    post_json(server, "/api/auth/verify", &body, None).await
}

/// The `name=value` of the response's session cookie.
fn session_cookie(response: &reqwest::Response) -> String {
    let header = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"), "{header}");
    header.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_signed_in_wallet_opens_its_history_and_nobody_else_can() {
    let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
    let server = server(AuthMode::Required).await;
    let alice = devnet.accounts()[1];
    let mallory = devnet.accounts()[2];
    let owner = format!("{alice:#x}");

    // Without a session, naming the wallet is not enough.
    let response = get_with(&server, &format!("/api/chats?owner={owner}"), None).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sign_in_required");
    let response = server.post(&user_body_from(&new_chat_id(), "hi", &owner)).await;
    assert_eq!(response.status(), 401, "a turn cannot speak for a wallet it has not proved");

    // Another key signing Alice's challenge gets no session.
    let response = sign_in(&server, &devnet, alice, mallory).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("set-cookie").is_none());
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("was made by"), "{body}");

    // Alice signs: her session speaks for her.
    let response = sign_in(&server, &devnet, alice, alice).await;
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["address"], owner);
    let session: Value = get_with(&server, "/api/auth/session", Some(&cookie)).await.json().await.unwrap();
    assert_eq!(session, json!({ "address": owner, "required": true }));

    let chat_id = new_chat_id();
    let response = post_json(&server, "/api/chat", &user_body_from(&chat_id, "hi", &owner), Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text_of(&read_stream(response).await), "Hello.");
    let list: Value = get_with(&server, "/api/chats", Some(&cookie)).await.json().await.unwrap();
    assert_eq!(list["chats"][0]["id"], chat_id, "the session alone names the owner");
    assert_eq!(list["chats"][0]["owner"], owner);

    // The chat is Alice's: not Mallory's by naming her, nor by asking in Alice's name.
    let mallory_cookie = session_cookie(&sign_in(&server, &devnet, mallory, mallory).await);
    let response = get_with(&server, &format!("/api/chats/{chat_id}"), Some(&mallory_cookie)).await;
    assert_eq!(response.status(), 403);
    let response = get_with(&server, &format!("/api/chats?owner={owner}"), Some(&mallory_cookie)).await;
    assert_eq!(response.status(), 403);
    let response = get_with(&server, &format!("/api/chats/{chat_id}?owner={owner}"), None).await;
    assert_eq!(response.status(), 401);

    // Signing out clears the cookie.
    let response = server.http.delete(format!("{}/api/auth/session", server.url)).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn without_required_sign_in_a_request_may_still_name_its_wallet() {
    let server = server(AuthMode::Optional).await;
    let owner = "0xa11ce00000000000000000000000000000000001";
    let chat_id = new_chat_id();
    let response = server.post(&user_body_from(&chat_id, "hi", owner)).await;
    assert_eq!(response.status(), 200);
    read_stream(response).await;
    let list: Value = server.get(&format!("/api/chats?owner={owner}")).await.json().await.unwrap();
    assert_eq!(list["chats"][0]["id"], chat_id);
    let session: Value = server.get("/api/auth/session").await.json().await.unwrap();
    assert_eq!(session, json!({ "address": null, "required": false }));
}

#[tokio::test]
async fn bad_sign_in_requests_get_clear_errors() {
    let server = server(AuthMode::Required).await;
    let response = post_json(&server, "/api/auth/challenge", &json!({ "address": "alice.eth" }), None).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("not a wallet address"), "{body}");
    let response = post_json(
        &server,
        "/api/auth/verify",
        &json!({ "message": "x", "signature": "0x00", "challenge": "forged" }),
        None,
    )
    .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sign_in_failed");
    let response = post_json(&server, "/api/auth/verify", &json!({ "message": "x" }), None).await;
    assert_eq!(response.status(), 422, "a missing field is refused as the other routes refuse it");
    // A forged cookie is no session.
    let response = get_with(&server, "/api/chats", Some("aomi_session=00.00")).await;
    assert_eq!(response.status(), 400, "no session and no owner: the list needs a wallet");
}
