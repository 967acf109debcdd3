//! A bare relay of the model's stream: the least a server standing between the user and the model
//! can cost, measured on the same machine in the same run as aomi.
//!
//! The relay takes a chat completions request, sends it on to the model unchanged, and streams
//! the reply's bytes back as they arrive. It parses nothing and stores nothing, on the same HTTP
//! stack as `aomi serve` (axum and hyper in, reqwest out). Run as its own process (`aomi bench`
//! starts one, [`RelayProcess`]), its CPU per turn is what the connections alone cost: a request
//! in, a request out, every frame read once and written once. aomi's CPU per turn is read against
//! it ([`crate::report::LoadPoint::relay`]).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::process::Command;

use crate::Error;
use crate::server::{Target, listening_child};

/// Where the relay sends what it is given.
struct Upstream {
    http: reqwest::Client,
    /// The model's chat completions URL.
    url: String,
}

/// The relay's routes: `POST /v1/chat/completions`, sent on to `upstream_base_url` (an
/// OpenAI-compatible base URL, `…/v1`).
pub fn router(upstream_base_url: &str) -> Router {
    let upstream = Upstream {
        http: reqwest::Client::new(),
        url: format!("{}/chat/completions", upstream_base_url.trim_end_matches('/')),
    };
    Router::new().route("/v1/chat/completions", post(relay)).with_state(Arc::new(upstream))
}

/// Serves [`router`] on `listener` until the process ends.
pub fn serve(
    listener: tokio::net::TcpListener,
    upstream_base_url: &str,
) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
    let routes = router(upstream_base_url);
    async move { axum::serve(listener, routes).await }
}

async fn relay(State(upstream): State<Arc<Upstream>>, body: Bytes) -> Response {
    let reply = upstream.http.post(&upstream.url).header(header::CONTENT_TYPE, "application/json").body(body).send();
    let reply = match reply.await {
        Ok(reply) => reply,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("the model cannot be reached: {error}")).into_response();
        }
    };
    let status = reply.status();
    let content_type = reply
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Body::from_stream(reply.bytes_stream()).into_response();
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    response
}

/// `aomi bench-relay` as a child process on a free port; killed when dropped.
#[derive(Debug)]
pub struct RelayProcess {
    _child: tokio::process::Child,
    target: Target,
}

impl RelayProcess {
    /// Starts `program bench-relay --upstream <upstream_base_url> --bind 127.0.0.1:0` (`program` is
    /// the `aomi` binary) and waits until it prints its address.
    pub async fn spawn(program: &Path, upstream_base_url: &str) -> Result<RelayProcess, Error> {
        let mut command = Command::new(program);
        command.args(["bench-relay", "--upstream", upstream_base_url, "--bind", "127.0.0.1:0"]);
        let (child, target) = listening_child(command, None).await?;
        Ok(RelayProcess { _child: child, target })
    }

    /// Where it listens (its OpenAI-compatible base URL is this with `/v1`) and its process id.
    pub fn target(&self) -> &Target {
        &self.target
    }
}
