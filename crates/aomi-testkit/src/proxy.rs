//! [`RecordingProxy`]: an HTTP proxy on 127.0.0.1 in front of a real model server, which records
//! every request it forwards, so that a test can assert what a real model was sent, as it does
//! with the stub's [`StubModel::requests`](crate::StubModel::requests).

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde_json::Value;

use crate::served::Served;
use crate::server::{Protocol, RecordedRequest};

/// One forwarded request and the bytes of its answer so far.
type Exchange = (RecordedRequest, Arc<Mutex<Vec<u8>>>);

struct Shared {
    upstream: String,
    http: reqwest::Client,
    exchanges: Mutex<Vec<Exchange>>,
}

/// A recording proxy. It stops when dropped.
#[derive(Debug)]
pub struct RecordingProxy {
    server: Served,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("upstream", &self.upstream).finish_non_exhaustive()
    }
}

impl RecordingProxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `upstream` (`http://127.0.0.1:PORT`):
    /// the path and query are kept, the body streams back as it comes.
    pub async fn start(upstream: &str) -> std::io::Result<RecordingProxy> {
        let http = reqwest::Client::builder().build().map_err(std::io::Error::other)?;
        let shared =
            Arc::new(Shared { upstream: upstream.trim_end_matches('/').to_owned(), http, exchanges: Mutex::default() });
        let app = axum::Router::new().fallback(forward).with_state(Arc::clone(&shared));
        let server = Served::start(app, "recording proxy").await?;
        Ok(RecordingProxy { server, shared })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://127.0.0.1:PORT/v1`, for an OpenAI client.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Every request forwarded so far, in order (as the stub records them, protocol OpenAI).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.exchanges().into_iter().map(|(request, _)| request).collect()
    }

    /// Every request forwarded so far with the answer's body as received so far (an event
    /// stream's text, `data: [DONE]` at its end once complete).
    pub fn exchanges(&self) -> Vec<(RecordedRequest, String)> {
        let exchanges = self.shared.exchanges.lock().unwrap_or_else(PoisonError::into_inner);
        exchanges
            .iter()
            .map(|(request, body)| {
                let body = body.lock().unwrap_or_else(PoisonError::into_inner);
                (request.clone(), String::from_utf8_lossy(&body).into_owned())
            })
            .collect()
    }
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).ok().filter(Value::is_object);
    let conversation = parsed.as_ref().map(crate::conversation::openai).unwrap_or_default();
    let record = RecordedRequest {
        protocol: Protocol::OpenAi,
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: parsed.unwrap_or(Value::Null),
        last_user_text: conversation.last_user_text,
        last_tool_result: conversation.last_tool_result,
    };
    let answer = Arc::new(Mutex::new(Vec::new()));
    shared.exchanges.lock().unwrap_or_else(PoisonError::into_inner).push((record, Arc::clone(&answer)));
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared.http.request(method, format!("{}{path}", shared.upstream)).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let reply = match request.send().await {
        Ok(reply) => reply,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("the proxy could not reach upstream: {error}")).into_response();
        }
    };
    let mut response = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    let stream = reply.bytes_stream().map_err(std::io::Error::other).inspect_ok(move |chunk| {
        answer.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(chunk);
    });
    response.body(Body::from_stream(stream)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
