//! `aomi`: the command line of aomi.
//!
//! - `aomi serve`: the HTTP/SSE chat server.
//! - `aomi chat`: a terminal client of the same HTTP protocol.
//! - `aomi devnet`: a local anvil with the project's contracts.
//! - `aomi bench`: the serving benchmark (latency, throughput, memory) against the stub model.
//! - `aomi eval`: the agent's eval scenarios, scripted or with a real model.
//! - `aomi mcp`: aomi's tools and a wallet's chat history as an MCP server on stdio.

mod bench;
mod chat;
mod config;
mod devnet;
mod eval;
mod mcp;
mod progress;
mod serve;

use clap::{Parser, Subcommand};

/// aomi: a chat assistant for EVM blockchains.
#[derive(Debug, Parser)]
#[command(name = "aomi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the chat server.
    Serve(serve::ServeArgs),
    /// Chats with a running server from the terminal.
    Chat(chat::ChatArgs),
    /// Runs a local anvil devnet with the project's contracts deployed, until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Benchmarks a server: latency through aomi against the model called directly, many users,
    /// memory. Writes a Markdown and a JSON report and SVG plots.
    Bench(bench::BenchArgs),
    /// Runs the eval scenarios (evals/*.toml) with the scripted stub model or a real model.
    Eval(eval::EvalArgs),
    /// Serves aomi's read tools, `simulate`, `get_contract` and a wallet's chat history over MCP
    /// (stdio), for another assistant.
    Mcp(mcp::McpArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
        Command::Chat(args) => chat::run(args).await,
        Command::Devnet(args) => devnet::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Eval(args) => eval::run(args).await,
        Command::Mcp(args) => mcp::run(args).await,
    }
}

/// Logs to stderr; `RUST_LOG` filters, `AOMI_LOG_FORMAT=json` gives one JSON object per line.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("AOMI_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
