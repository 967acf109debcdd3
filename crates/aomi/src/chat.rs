//! `aomi chat`: a terminal client of the server's HTTP protocol, in three modes: the full-screen
//! UI when stdin and stdout are a terminal ([`tui`]), `--json` (one prompt per line in, one stream
//! part per line out, for scripts) and the plain line mode otherwise (pipes, or a message given on
//! the command line).

mod client;
mod tui;

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use aomi_core::{UiChunk, WalletContext};
use clap::Args;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use self::client::Client;

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
    /// The model a new chat runs on: an id the server allows (`GET /api/models`) [default: the
    /// server's default model]. A chat continued with --chat keeps its own.
    #[arg(long)]
    model: Option<String>,
    /// The chain id of the wallet context.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// The wallet address of the context (mixed case must be a valid EIP-55 checksum).
    #[arg(long)]
    address: Option<aomi_core::Address>,
    /// Print each part of the answers' streams as one JSON object per line (the parts the page
    /// receives), reading one message per line on stdin unless a message is given.
    #[arg(long)]
    json: bool,
    /// Send this message and exit; without it, read messages from the terminal.
    message: Vec<String>,
}

/// Runs the client.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.url, args.address).with_model(args.model.clone());
    let chat_id = args.chat.clone().unwrap_or_else(tui::state::new_chat_id);
    let mut wallet = WalletContext { address: args.address, chain_id: args.chain_id };
    let given = (!args.message.is_empty()).then(|| args.message.join(" "));
    if args.json {
        return json_lines(&client, &args, &chat_id, &mut wallet, given).await;
    }
    if let Some(message) = given {
        return send(&client, &args, &chat_id, &wallet, &message).await.map(|_| ());
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return tui::run(client, chat_id, args.app, wallet).await;
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

/// `--json`: each message (the given one, else each line of stdin) is sent in turn, and each part
/// of its answer printed as the JSON object the server streamed, one per line. A failed request
/// is printed as an `error` part, so that a script reads one kind of line.
async fn json_lines(
    client: &Client,
    args: &ChatArgs,
    chat_id: &str,
    wallet: &mut WalletContext,
    given: Option<String>,
) -> anyhow::Result<()> {
    let mut lines = stdin_lines();
    let mut out = std::io::stdout().lock();
    let mut given = given;
    let mut failed = false;
    loop {
        let text = match given.take() {
            Some(text) => text,
            None if args.message.is_empty() => match lines.recv().await {
                Some(line) if line.trim().is_empty() => continue,
                Some(line) => line,
                None => break,
            },
            None => break,
        };
        let result = async {
            let mut parts = std::pin::pin!(client.send(chat_id, &args.app, wallet, text.trim()).await?);
            while let Some(part) = parts.next().await {
                let part = part?;
                if let Some(chain_id) = switched_to(&part.chunk) {
                    wallet.chain_id = chain_id;
                }
                writeln!(out, "{}", part.raw)?;
                out.flush()?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(error) = result {
            failed = true;
            writeln!(out, "{}", UiChunk::Error { error_text: format!("{error:#}") }.to_json())?;
            out.flush()?;
        }
    }
    if failed {
        anyhow::bail!("a message failed (its `error` line says why)");
    }
    Ok(())
}

/// The chain id a `data-network` part asks the wallet to switch to.
fn switched_to(chunk: &UiChunk) -> Option<u64> {
    match chunk {
        UiChunk::Data { name, data, .. } if name == "network" => data.get("chainId").and_then(Value::as_u64),
        _ => None,
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

/// Sends one message and prints the streamed answer. Ctrl-C asks the server to stop the answer
/// (what was said stays in the chat); a second Ctrl-C stops waiting for it. Returns the chain id a
/// `data-network` part asked the wallet to switch to, if any.
async fn send(
    client: &Client,
    args: &ChatArgs,
    chat_id: &str,
    wallet: &WalletContext,
    text: &str,
) -> anyhow::Result<Option<u64>> {
    let mut parts = std::pin::pin!(client.send(chat_id, &args.app, wallet, text).await?);
    let mut out = std::io::stdout();
    let mut switched = None;
    let mut stopping = false;
    // One listener for the whole answer: a listener made anew each time round the loop would miss
    // a Ctrl-C that arrives while a part is being printed.
    let mut interrupt = Box::pin(tokio::signal::ctrl_c());
    loop {
        let part = tokio::select! {
            part = parts.next() => part,
            signal = &mut interrupt => {
                signal.context("cannot listen for Ctrl-C")?;
                interrupt = Box::pin(tokio::signal::ctrl_c());
                if stopping {
                    writeln!(out, "\n[no longer waiting for the answer to stop]")?;
                    return Ok(switched);
                }
                stopping = true;
                if let Err(error) = client.stop(chat_id).await {
                    eprintln!("\ncannot stop the answer: {error:#}");
                }
                continue;
            }
        };
        let Some(part) = part else { break };
        let chunk = part?.chunk;
        if let Some(chain_id) = switched_to(&chunk) {
            switched = Some(chain_id);
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
