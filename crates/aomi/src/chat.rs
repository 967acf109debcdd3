//! `aomi chat`: a terminal client of the server's HTTP protocol.

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use aomi_core::stream::DONE;
use aomi_core::{ChatMessage, UiChunk, WalletContext};
use clap::Args;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Flags of `aomi chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The server's base URL.
    #[arg(long, env = "AOMI_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Continue this chat (a new one by default).
    #[arg(long)]
    chat: Option<String>,
    /// The app that answers.
    #[arg(long, default_value = "default")]
    app: String,
    /// The chain id of the wallet context.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// The wallet address of the context (mixed case must be a valid EIP-55 checksum).
    #[arg(long)]
    address: Option<aomi_core::Address>,
    /// Send this message and exit; without it, read messages from the terminal.
    message: Vec<String>,
}

/// Runs the client.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let chat_id = args.chat.clone().unwrap_or_else(|| format!("cli-{}", uuid_like()));
    let mut wallet = WalletContext { address: args.address, chain_id: args.chain_id };
    if !args.message.is_empty() {
        return send(&client, &args, &chat_id, &wallet, &args.message.join(" ")).await.map(|_| ());
    }
    eprintln!(
        "aomi chat {chat_id} on {} — type a message, /quit or Ctrl-C to leave; Ctrl-C during an answer stops it",
        args.url
    );
    let mut lines = stdin_lines();
    loop {
        eprint!("> ");
        std::io::stderr().flush().ok();
        // Ctrl-C is caught while an answer streams (it stops the answer), which replaces the
        // default handler for the whole process: at the prompt it has to end the session here.
        let line = tokio::select! {
            line = lines.recv() => match line {
                Some(line) => line,
                None => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!();
                return Ok(());
            }
        };
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" => return Ok(()),
            text => {
                match send(&client, &args, &chat_id, &wallet, text).await {
                    // The server asked to switch networks: this terminal plays the wallet and follows.
                    Ok(Some(chain_id)) => wallet.chain_id = chain_id,
                    Ok(None) => {}
                    Err(error) => eprintln!("error: {error:#}"),
                }
            }
        }
    }
}

/// The lines typed on stdin, read on a thread of their own (a blocking read cannot be cancelled,
/// and a thread does not keep the process alive once `run` returns).
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (lines, received) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    received
}

/// Asks the server to stop the chat's running turn; the answer's stream then ends by itself.
async fn stop(client: &reqwest::Client, args: &ChatArgs, chat_id: &str) -> anyhow::Result<()> {
    let mut url = format!("{}/api/chat/{chat_id}/stop", args.url.trim_end_matches('/'));
    if let Some(owner) = &args.address {
        url.push_str(&format!("?owner={}", owner.to_lowercase_hex()));
    }
    let response = client.post(&url).send().await.with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        bail!("the server answered {status}: {}", body["error"]["message"].as_str().unwrap_or("no details"));
    }
    Ok(())
}

/// Sends one message and prints the streamed answer. Ctrl-C asks the server to stop the answer
/// (what was said stays in the chat); a second Ctrl-C stops waiting for it. Returns the chain id a `data-network` part
/// asked the wallet to switch to, if any.
async fn send(
    client: &reqwest::Client,
    args: &ChatArgs,
    chat_id: &str,
    wallet: &WalletContext,
    text: &str,
) -> anyhow::Result<Option<u64>> {
    let message = ChatMessage::user_text(format!("m-{}", uuid_like()), text);
    let body = json!({ "id": chat_id, "message": message, "app": args.app, "wallet": wallet });
    let url = format!("{}/api/chat", args.url.trim_end_matches('/'));
    let response = client.post(&url).json(&body).send().await.with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        bail!("the server answered {status}: {message}");
    }
    let mut events = response.bytes_stream().eventsource();
    let mut out = std::io::stdout();
    let mut switched = None;
    let mut stopping = false;
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            signal = tokio::signal::ctrl_c() => {
                signal.context("cannot listen for Ctrl-C")?;
                if stopping {
                    writeln!(out, "\n[no longer waiting for the answer to stop]")?;
                    return Ok(switched);
                }
                stopping = true;
                if let Err(error) = stop(client, args, chat_id).await {
                    eprintln!("\ncannot stop the answer: {error:#}");
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        let event = event.context("the stream broke")?;
        if event.data == DONE {
            break;
        }
        let chunk: UiChunk = serde_json::from_str(&event.data).context("the server sent an unknown part")?;
        if let UiChunk::Data { name, data, .. } = &chunk
            && name == "network"
        {
            switched = data.get("chainId").and_then(Value::as_u64);
        }
        write!(out, "{}", render(&chunk))?;
        out.flush()?;
    }
    writeln!(out)?;
    Ok(switched)
}

/// How a part looks in the terminal.
fn render(chunk: &UiChunk) -> String {
    match chunk {
        UiChunk::TextDelta { delta, .. } => delta.clone(),
        UiChunk::ToolInputAvailable { tool_name, input, .. } => format!("\n⚙ {tool_name} {input}\n"),
        UiChunk::ToolOutputAvailable { output, .. } => {
            let summary = output.get("summary").and_then(Value::as_str).map(str::to_owned);
            format!("  ✓ {}\n", summary.unwrap_or_else(|| output.to_string()))
        }
        UiChunk::ToolOutputError { error_text, .. } => format!("  ✗ {error_text}\n"),
        UiChunk::Data { name, data, .. } if name == "tool-progress" => {
            format!("  … {}\n", data.get("message").and_then(Value::as_str).unwrap_or_default())
        }
        UiChunk::Data { name, data, .. } if name == "network" => format!(
            "  ⇄ now on {} (chain id {})\n",
            data.get("name").and_then(Value::as_str).unwrap_or("?"),
            data.get("chainId").and_then(Value::as_u64).unwrap_or_default()
        ),
        UiChunk::Data { name, data, .. } if name == "wallet-request" => format!(
            "  ⏳ {}\n     request: {}\n     (a terminal cannot sign: use the web page with a wallet)\n",
            data.get("summary").and_then(Value::as_str).unwrap_or_default(),
            data.get("request").cloned().unwrap_or_default()
        ),
        UiChunk::Error { error_text } => format!("\n[error] {error_text}\n"),
        UiChunk::Abort { .. } => "\n[stopped]\n".to_owned(),
        _ => String::new(),
    }
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
