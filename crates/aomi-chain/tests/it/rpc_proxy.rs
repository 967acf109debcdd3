//! A JSON-RPC proxy in front of anvil, for the tests and benchmarks of the simulation: it can hold
//! each request back (a stand-in for the round trip to a remote RPC), refuse methods the way a node
//! without them does (`-32601`), and count requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub struct RpcProxy {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
}

impl RpcProxy {
    /// Forwards to `upstream` after `delay`; methods in `refused` get "method not found".
    pub async fn start(upstream: &str, delay: Duration, refused: &'static [&'static str]) -> RpcProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (upstream, counter) = (upstream.to_owned(), Arc::clone(&requests));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (http, upstream, counter) = (http.clone(), upstream.clone(), Arc::clone(&counter));
                tokio::spawn(serve(stream, http, upstream, counter, delay, refused));
            }
        });
        RpcProxy { url, requests }
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// One keep-alive HTTP/1.1 connection: a POST with a JSON-RPC body per request.
async fn serve(
    stream: TcpStream,
    http: reqwest::Client,
    upstream: String,
    counter: Arc<AtomicUsize>,
    delay: Duration,
    refused: &'static [&'static str],
) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        counter.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(delay).await;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answer = match request["method"].as_str() {
            Some(method) if refused.contains(&method) => json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": { "code": -32601, "message": format!("the method {method} does not exist/is not available") }
            })
            .to_string(),
            _ => {
                let response = http.post(&upstream).header("content-type", "application/json").body(body).send().await;
                match response {
                    Ok(response) => response.text().await.unwrap_or_default(),
                    Err(_) => return,
                }
            }
        };
        // One write: a head and a body in two writes meet Nagle and delayed ACKs (40 ms).
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
