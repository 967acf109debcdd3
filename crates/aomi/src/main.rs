//! `aomi`: the command line of aomi.
//!
//! - `aomi serve`: the HTTP/SSE chat server.
//! - `aomi config check`: the configuration `aomi serve` would run with, checked.
//! - `aomi chat`: a terminal client of the same HTTP protocol (a full-screen UI in a terminal,
//!   `--json` lines for scripts, plain lines in a pipe).
//! - `aomi devnet`: a local anvil with the project's contracts.
//! - `aomi bench`: the serving benchmark (latency, throughput, memory) against the stub model.
//! - `aomi eval`: the agent's eval scenarios, scripted or with a real model.
//! - `aomi mcp`: aomi's tools and a wallet's chat history as an MCP server on stdio.
//! - `aomi telegram`: the server with a Telegram bot on the same chats.

mod bench;
mod bench_instructions;
mod bench_soak;
mod chat;
mod check;
mod config;
mod devnet;
mod eval;
mod knowledge;
mod mcp;
mod models;
mod progress;
mod serve;
mod subroutines;
mod telegram;

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
    /// Asks a server whether it is ready (`GET /readyz`): exits 0 when it is, 1 otherwise. The
    /// container's health check (the image has no shell and no curl).
    Probe {
        /// The readiness URL.
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// The configuration: `aomi config check`.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Chats with a running server from the terminal: a full-screen UI when stdin and stdout are a
    /// terminal, plain lines otherwise or with a message, `--json` for one stream part per line.
    Chat(chat::ChatArgs),
    /// Runs a local anvil devnet with the project's contracts deployed, until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Benchmarks a server: latency through aomi against the model called directly, many users,
    /// memory. Writes a Markdown and a JSON report and SVG plots.
    Bench(bench::BenchArgs),
    /// A bare relay of a model's stream, which `aomi bench` starts for the floor under aomi's CPU
    /// per turn (not for use on its own).
    #[command(hide = true)]
    BenchRelay {
        /// The OpenAI-compatible base URL (`…/v1`) of the model.
        #[arg(long)]
        upstream: String,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
    },
    /// Runs the eval scenarios (evals/*.toml) with the scripted stub model or a real model.
    Eval(eval::EvalArgs),
    /// Serves aomi's read tools, `simulate`, `get_contract` and a wallet's chat history over MCP
    /// (stdio), for another assistant.
    Mcp(mcp::McpArgs),
    /// Runs the server with a Telegram bot beside it (long polling): each Telegram chat is an
    /// aomi chat (docs/telegram.md).
    Telegram(telegram::TelegramArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Checks the configuration `aomi serve` would run with (the same flags, the file they name,
    /// the environment): prints each problem with its key, what is wrong and how to fix it.
    /// Exits 1 on an error (which `aomi serve` would refuse to start with), 0 otherwise.
    Check {
        /// Prints the problems as one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        serve: serve::ServeArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
        Command::Config(ConfigCommand::Check { json, serve }) => config_check(&serve, json),
        Command::Probe { url, timeout_secs } => probe(&url, timeout_secs).await,
        Command::Chat(args) => chat::run(args).await,
        Command::Devnet(args) => devnet::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchRelay { upstream, bind } => bench::run_relay(&upstream, bind).await,
        Command::Eval(args) => eval::run(args).await,
        Command::Mcp(args) => mcp::run(args).await,
        Command::Telegram(args) => serve::run_with(args.serve, Some(args.bot)).await,
    }
}

/// `aomi probe`: 0 when the URL answers 2xx in time, 1 (with the reason on stderr) otherwise.
async fn probe(url: &str, timeout_secs: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(timeout_secs)).build()?;
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => {
            let status = response.status();
            eprintln!("{url}: {status} {}", response.text().await.unwrap_or_default());
            std::process::exit(1);
        }
        Err(error) => {
            eprintln!("{url}: {error}");
            std::process::exit(1);
        }
    }
}

/// `aomi config check`: the report on stdout; exit status 1 on an error.
fn config_check(args: &serve::ServeArgs, json: bool) -> anyhow::Result<()> {
    let report = check::check(args, &|name| std::env::var(name).ok());
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.problems.is_empty() {
        println!("the configuration is fine: no problem found");
    } else {
        print!("{}", report.render());
    }
    if report.has_errors() {
        std::process::exit(1);
    }
    Ok(())
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
