//! Sign-in with the wallet: anvil's unlocked dev accounts sign the EIP-4361 message with
//! `personal_sign` as a wallet would, smart accounts (deployed, and not deployed yet) sign through
//! their owner, and the session then speaks for that wallet — and for nobody else.

use std::sync::Arc;

use aomi_chain::alloy::network::TransactionBuilder;
use aomi_chain::alloy::primitives::{Address, B256, Bytes, eip191_hash_message, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::alloy::sol_types::{SolCall, SolValue};
use aomi_chain::contracts::Artifact;
use aomi_chain::signature::ERC6492_SUFFIX;
use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::ChatBackend;
use aomi_llm::Provider as ModelProvider;
use aomi_server::auth::{Auth, AuthConfig, AuthMode};
use aomi_testkit::{Reply, Script};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

pub(crate) const SECRET: &str = "a test secret of at least thirty-two bytes";

aomi_chain::alloy::sol! {
    interface ITestAccountFactory {
        function createAccount(address owner, bytes32 salt) external returns (address account);
        function accountAddress(address owner, bytes32 salt) external view returns (address);
    }
}

pub(crate) fn auth(mode: AuthMode) -> Auth {
    Auth::new(AuthConfig { mode, secret: Some(SECRET.into()), ..AuthConfig::default() }).unwrap()
}

async fn server(mode: AuthMode) -> TestServer {
    let options = Options { auth: Some(auth(mode)), ..Options::new(ModelProvider::OpenAi) };
    TestServer::start_with(Script::new().fallback(Reply::text("Hello.")), options).await
}

/// A server in required mode that reads `devnet` (contract wallets are asked there).
async fn server_on(devnet: &Devnet) -> TestServer {
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let options =
        Options { auth: Some(auth(AuthMode::Required)), chain: Some(sessions), ..Options::new(ModelProvider::OpenAi) };
    TestServer::start_with(Script::new().fallback(Reply::text("Hello.")), options).await
}

pub(crate) async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<&Value>,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = server.http.request(method, format!("{}{path}", server.url));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn post_json(server: &TestServer, path: &str, body: &Value, cookie: Option<&str>) -> reqwest::Response {
    send(server, Method::POST, path, Some(body), cookie).await
}

pub(crate) async fn get_with(server: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    send(server, Method::GET, path, None, cookie).await
}

async fn challenge(server: &TestServer, address: Address) -> Value {
    let response =
        post_json(server, "/api/auth/challenge", &json!({ "address": address, "chainId": 31337 }), None).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `personal_sign` of `data` by anvil's unlocked account `signer`.
async fn personal_sign(devnet: &Devnet, signer: Address, data: &[u8]) -> String {
    devnet
        .provider()
        .raw_request("personal_sign".into(), (hex::encode_prefixed(data), signer))
        .await
        .expect("anvil signs with an unlocked account")
}

async fn verify(server: &TestServer, challenge: &Value, signature: &str) -> reqwest::Response {
    let body = json!({ "message": challenge["message"], "signature": signature, "challenge": challenge["challenge"] });
    post_json(server, "/api/auth/verify", &body, None).await
}

/// Asks a challenge for `address`, has anvil's account `signer` sign it, and sends it back.
pub(crate) async fn sign_in(
    server: &TestServer,
    devnet: &Devnet,
    address: Address,
    signer: Address,
) -> reqwest::Response {
    let challenge = challenge(server, address).await;
    let signature = personal_sign(devnet, signer, challenge["message"].as_str().unwrap().as_bytes()).await;
    verify(server, &challenge, &signature).await
}

/// The `name=value` of the response's session cookie.
pub(crate) fn session_cookie(response: &reqwest::Response) -> String {
    let header = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"), "{header}");
    header.split(';').next().unwrap().to_owned()
}

pub(crate) async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap_or_default().to_owned()
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
    assert_eq!(error_code(response).await, "sign_in_required");
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
    assert!(!response.headers()["set-cookie"].to_str().unwrap().contains("Secure"), "plain http locally");
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

/// Finding 1: a challenge token sent back as the session cookie opened the victim's history.
#[tokio::test]
async fn a_challenge_is_never_a_session() {
    let server = server(AuthMode::Required).await;
    let victim = "0xa11ce00000000000000000000000000000000001";
    let challenge = challenge(&server, victim.parse().unwrap()).await;
    let forged = format!("aomi_session={}", challenge["challenge"].as_str().unwrap());
    let session: Value = get_with(&server, "/api/auth/session", Some(&forged)).await.json().await.unwrap();
    assert_eq!(session["address"], Value::Null);
    let response = get_with(&server, &format!("/api/chats?owner={victim}"), Some(&forged)).await;
    assert_eq!(response.status(), 401);
}

/// Finding 2: the sign-in message named whatever host the request said, and a signed message
/// could be verified again and again.
#[tokio::test]
async fn sign_in_names_only_this_server_and_a_signed_message_opens_one_session() {
    let devnet = Devnet::start().await.unwrap();
    let server = server(AuthMode::Required).await;
    let alice = devnet.accounts()[1];

    let body = json!({ "address": alice, "chainId": 31337 });
    let phishing = server
        .http
        .post(format!("{}/api/auth/challenge", server.url))
        .header("host", "evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(phishing.status(), 403);
    assert_eq!(error_code(phishing).await, "wrong_origin");
    let cross = server
        .http
        .post(format!("{}/api/auth/challenge", server.url))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "another site's page cannot ask for a sign-in message");

    let challenge = challenge(&server, alice).await;
    let host = server.url.trim_start_matches("http://");
    assert!(challenge["message"].as_str().unwrap().starts_with(&format!("{host} wants you to sign in")));
    let signature = personal_sign(&devnet, alice, challenge["message"].as_str().unwrap().as_bytes()).await;
    assert_eq!(verify(&server, &challenge, &signature).await.status(), 200);
    let replay = verify(&server, &challenge, &signature).await;
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("used already"), "{body}");
}

/// Finding 3, and every route that touches a chat: in required mode, no session is 401 and
/// another wallet's session is 403, route by route.
#[tokio::test]
async fn every_chat_route_refuses_a_stranger_and_another_wallet() {
    let devnet = Devnet::start().await.unwrap();
    let server = server(AuthMode::Required).await;
    let (alice, mallory) = (devnet.accounts()[1], devnet.accounts()[2]);
    let alice_cookie = session_cookie(&sign_in(&server, &devnet, alice, alice).await);
    let mallory_cookie = session_cookie(&sign_in(&server, &devnet, mallory, mallory).await);
    let owner = format!("{alice:#x}");
    let chat_id = new_chat_id();
    let response = post_json(&server, "/api/chat", &user_body(&chat_id, "hi"), Some(&alice_cookie)).await;
    assert_eq!(response.status(), 200, "a signed-in turn needs no wallet address in the body");
    read_stream(response).await;
    assert_eq!(
        server.backend.chat(&chat_id).await.unwrap().unwrap().owner.map(|a| a.to_lowercase_hex()).as_deref(),
        Some(owner.as_str())
    );

    let message = user_body(&chat_id, "let me in");
    let rename = json!({ "title": "mine now" });
    let routes: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::POST, "/api/chat".into(), Some(&message)),
        (Method::GET, format!("/api/chat/{chat_id}/stream"), None),
        (Method::POST, format!("/api/chat/{chat_id}/stop"), None),
        (Method::GET, format!("/api/chats/{chat_id}"), None),
        (Method::PATCH, format!("/api/chats/{chat_id}"), Some(&rename)),
        (Method::DELETE, format!("/api/chats/{chat_id}"), None),
        (Method::GET, format!("/api/chats?owner={owner}"), None),
        (Method::GET, format!("/api/search?owner={owner}&q=hi"), None),
    ];
    for (method, path, body) in &routes {
        let response = send(&server, method.clone(), path, *body, None).await;
        assert_eq!(response.status(), 401, "{method} {path} without a session");
        let response = send(&server, method.clone(), path, *body, Some(&mallory_cookie)).await;
        assert_eq!(response.status(), 403, "{method} {path} with another wallet's session");
    }
    // Routes that spend the operator's quotas need a session too.
    let simulate = json!({ "chainId": 31337, "from": owner, "to": owner });
    assert_eq!(post_json(&server, "/api/simulate", &simulate, None).await.status(), 401);
    assert_eq!(get_with(&server, &format!("/api/contracts/31337/{owner}"), None).await.status(), 401);
    // A turn without any wallet named is refused as well: no anonymous chats here.
    assert_eq!(server.post(&json!({ "id": new_chat_id(), "message": user("hi") })).await.status(), 401);

    // Nothing was changed by the refused requests.
    let chat: Value =
        get_with(&server, &format!("/api/chats/{chat_id}"), Some(&alice_cookie)).await.json().await.unwrap();
    assert_eq!(chat["title"], "hi", "not renamed: {chat}");
    assert_eq!(chat["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_wallet() {
    let devnet = Devnet::start().await.unwrap();
    let server = server(AuthMode::Required).await;
    let alice = devnet.accounts()[1];
    let laptop = session_cookie(&sign_in(&server, &devnet, alice, alice).await);
    let phone = session_cookie(&sign_in(&server, &devnet, alice, alice).await);
    assert_eq!(get_with(&server, "/api/chats", Some(&phone)).await.status(), 200);

    assert_eq!(send(&server, Method::DELETE, "/api/auth/sessions", None, None).await.status(), 401);
    let response = send(&server, Method::DELETE, "/api/auth/sessions", None, Some(&laptop)).await;
    assert_eq!(response.status(), 204);
    for cookie in [&laptop, &phone] {
        assert_eq!(get_with(&server, "/api/chats", Some(cookie)).await.status(), 401, "every older session ended");
    }
    let again = session_cookie(&sign_in(&server, &devnet, alice, alice).await);
    assert_eq!(get_with(&server, "/api/chats", Some(&again)).await.status(), 200, "a new sign-in works");
}

#[tokio::test]
async fn a_cross_site_request_riding_the_session_cookie_is_refused() {
    let devnet = Devnet::start().await.unwrap();
    let server = server(AuthMode::Required).await;
    let alice = devnet.accounts()[1];
    let cookie = session_cookie(&sign_in(&server, &devnet, alice, alice).await);
    let response = server
        .http
        .post(format!("{}/api/chat", server.url))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&user_body(&new_chat_id(), "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "wrong_origin");
    let response = server
        .http
        .post(format!("{}/api/chat", server.url))
        .header("cookie", &cookie)
        .header("origin", &server.url)
        .json(&user_body(&new_chat_id(), "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the server's own page may");
    read_stream(response).await;
}

#[tokio::test]
async fn a_smart_account_signs_in_deployed_or_not_yet_deployed() {
    let devnet = Devnet::start().await.unwrap();
    let server = server_on(&devnet).await;
    let provider = devnet.provider();
    let (deployer, owner, stranger) = (devnet.accounts()[0], devnet.accounts()[3], devnet.accounts()[4]);
    let factory_artifact = Artifact::test_account_factory().unwrap();
    let deploy = TransactionRequest::default().from(deployer).with_deploy_code(factory_artifact.bytecode.clone());
    let receipt = provider.send_transaction(deploy).await.unwrap().get_receipt().await.unwrap();
    let factory = receipt.contract_address.unwrap();
    let account_of = |salt: B256| {
        let provider = provider.clone();
        async move {
            let call = ITestAccountFactory::accountAddressCall { owner, salt }.abi_encode();
            let answer = provider.call(TransactionRequest::default().to(factory).input(call.into())).await.unwrap();
            Address::abi_decode(&answer).unwrap()
        }
    };
    // The account checks a `personal_sign` of the message's EIP-191 hash by its owner.
    let devnet = &devnet;
    let signature_by = |signer: Address, message: &Value| {
        let hash = eip191_hash_message(message.as_str().unwrap().as_bytes());
        async move { personal_sign(devnet, signer, hash.as_slice()).await }
    };

    // Deployed: EIP-1271.
    let salt = B256::repeat_byte(1);
    let deployed = account_of(salt).await;
    let create = ITestAccountFactory::createAccountCall { owner, salt }.abi_encode();
    let tx = TransactionRequest::default().from(deployer).to(factory).input(create.clone().into());
    provider.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    assert!(!provider.get_code_at(deployed).await.unwrap().is_empty());
    let challenge_1271 = challenge(&server, deployed).await;
    let signature = signature_by(owner, &challenge_1271["message"]).await;
    let response = verify(&server, &challenge_1271, &signature).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    // A stranger's signature is refused by the contract.
    let challenge_bad = challenge(&server, deployed).await;
    let bad = signature_by(stranger, &challenge_bad["message"]).await;
    let response = verify(&server, &challenge_bad, &bad).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("does not accept"), "{body}");

    // Not deployed yet: ERC-6492 wraps the factory call around the owner's signature.
    let salt = B256::repeat_byte(2);
    let counterfactual = account_of(salt).await;
    assert!(provider.get_code_at(counterfactual).await.unwrap().is_empty());
    let create = ITestAccountFactory::createAccountCall { owner, salt }.abi_encode();
    let challenge_6492 = challenge(&server, counterfactual).await;
    let inner = signature_by(owner, &challenge_6492["message"]).await;
    let wrap = |inner: &str| {
        let inner = Bytes::from(hex::decode(inner).unwrap());
        let wrapped = (factory, Bytes::from(create.clone()), inner).abi_encode_params();
        hex::encode_prefixed([wrapped, ERC6492_SUFFIX.to_vec()].concat())
    };
    let response = verify(&server, &challenge_6492, &wrap(&inner)).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let cookie = session_cookie(&response);
    let session: Value = get_with(&server, "/api/auth/session", Some(&cookie)).await.json().await.unwrap();
    assert_eq!(session["address"], format!("{counterfactual:#x}"));
    assert!(provider.get_code_at(counterfactual).await.unwrap().is_empty(), "nothing was deployed by the check");
    // The stranger's signature in the same wrapper is refused.
    let challenge_bad = challenge(&server, counterfactual).await;
    let bad = signature_by(stranger, &challenge_bad["message"]).await;
    assert_eq!(verify(&server, &challenge_bad, &wrap(&bad)).await.status(), 401);
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
    let address = "0xa11ce00000000000000000000000000000000001";
    let response =
        post_json(&server, "/api/auth/challenge", &json!({ "address": address, "chainId": u64::MAX }), None).await;
    assert_eq!(response.status(), 400, "a chain id past 2^53 is refused");
    let response = post_json(
        &server,
        "/api/auth/verify",
        &json!({ "message": "x", "signature": "0x00", "challenge": "forged" }),
        None,
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "sign_in_failed");
    let response = post_json(&server, "/api/auth/verify", &json!({ "message": "x" }), None).await;
    assert_eq!(response.status(), 422, "a missing field is refused as the other routes refuse it");
    // A forged cookie is no session.
    let response = get_with(&server, "/api/chats", Some("aomi_session=00.00")).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let devnet = Devnet::start().await.unwrap();
    let auth = Auth::new(AuthConfig {
        mode: AuthMode::Required,
        secret: Some(SECRET.into()),
        secure_cookie: Some(true),
        ..AuthConfig::default()
    })
    .unwrap();
    let options = Options { auth: Some(auth), ..Options::new(ModelProvider::OpenAi) };
    let server = TestServer::start_with(Script::new().fallback(Reply::text("Hello.")), options).await;
    let alice = devnet.accounts()[1];
    let response = sign_in(&server, &devnet, alice, alice).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
}
