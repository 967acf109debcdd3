//! A scenario's spend guards: saved for its wallet before its first turn, the previous ones put
//! back after its last.
//!
//! Only the signed-in wallet may change its guards (`PUT /api/guards`), so the harness signs in as
//! the person would: it asks the server for the sign-in message (`POST /api/auth/challenge`), has
//! anvil sign it with `personal_sign` for the wallet's unlocked dev account, and sends it back
//! (`POST /api/auth/verify`) for the session cookie. Going through the routes rather than the store
//! keeps the harness working against any `aomi serve`, whatever its database.

use aomi_chain::alloy::primitives::{Address, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_tools::guard::GuardSettings;
use serde_json::{Value, json};

use crate::eval::chain::EvalChain;
use crate::eval::spec::DEVNET_CHAIN_ID;

/// The guards a scenario saved, and what to put back.
#[derive(Debug)]
pub struct SavedGuards {
    http: reqwest::Client,
    base: String,
    cookie: String,
    previous: Value,
}

/// Signs in as `wallet` (an unlocked dev account of the devnet) at the server `base_url` and saves
/// `settings` as its guards; the guards it had before are kept to put back.
pub async fn apply(
    base_url: &str,
    chain: &EvalChain,
    wallet: Address,
    settings: &GuardSettings,
) -> Result<SavedGuards, String> {
    let http = reqwest::Client::new();
    let base = base_url.trim_end_matches('/').to_owned();
    let devnet = chain.devnet(DEVNET_CHAIN_ID).ok_or("the guards need the devnet to sign in")?;
    let challenge: Value = answer(
        http.post(format!("{base}/api/auth/challenge")).json(&json!({ "address": wallet, "chainId": DEVNET_CHAIN_ID })),
        "the sign-in challenge",
    )
    .await?
    .json()
    .await
    .map_err(|e| format!("the sign-in challenge: {e}"))?;
    let message = challenge["message"].as_str().ok_or("the sign-in challenge has no message")?;
    let signature: String = devnet
        .provider
        .raw_request("personal_sign".into(), (hex::encode_prefixed(message.as_bytes()), wallet))
        .await
        .map_err(|e| format!("anvil did not sign the sign-in message for {wallet}: {e}"))?;
    let body = json!({ "message": message, "signature": signature, "challenge": challenge["challenge"] });
    let verified = answer(http.post(format!("{base}/api/auth/verify")).json(&body), "signing in").await?;
    let cookie = verified
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
        .ok_or("signing in set no session cookie")?;
    let current: Value =
        answer(http.get(format!("{base}/api/guards")).header(reqwest::header::COOKIE, &cookie), "reading the guards")
            .await?
            .json()
            .await
            .map_err(|e| format!("reading the guards: {e}"))?;
    let saved = SavedGuards { http, base, cookie, previous: current["settings"].clone() };
    let settings = serde_json::to_value(settings).map_err(|e| e.to_string())?;
    saved.put(&settings).await?;
    Ok(saved)
}

impl SavedGuards {
    /// Puts the wallet's previous guards back.
    pub async fn restore(self) -> Result<(), String> {
        self.put(&self.previous).await
    }

    async fn put(&self, settings: &Value) -> Result<(), String> {
        let request = self
            .http
            .put(format!("{}/api/guards", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .json(settings);
        answer(request, "saving the guards").await.map(drop)
    }
}

/// Sends `request`; an error saying what failed unless the server answered 2xx.
async fn answer(request: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, String> {
    let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(format!("{what}: the server answered {status}: {body}"))
}
