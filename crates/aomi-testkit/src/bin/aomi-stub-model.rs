//! `aomi-stub-model --script script.json [--bind 127.0.0.1:0]`: serve a
//! scripted stub model (Anthropic Messages and OpenAI chat completions)
//! until killed. Prints one line, `listening on http://ADDR`, when ready.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use aomi_testkit::{Script, StubModel};

const USAGE: &str = "usage: aomi-stub-model --script <script.json> [--bind <addr:port>]";

/// The command line.
struct Args {
    script: String,
    bind: SocketAddr,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut script = None;
    let mut bind = SocketAddr::from(([127, 0, 0, 1], 0));
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--script" => script = Some(value()?),
            "--bind" => {
                let text = value()?;
                bind = text.parse().map_err(|error| format!("invalid --bind {text}: {error}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let script = script.ok_or("--script is required")?;
    Ok(Args { script, bind })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("aomi-stub-model: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let script = match Script::from_json_file(&args.script) {
        Ok(script) => script,
        Err(error) => {
            eprintln!("aomi-stub-model: {error}");
            return ExitCode::FAILURE;
        }
    };
    let stub = match StubModel::start_on(args.bind, script).await {
        Ok(stub) => stub,
        Err(error) => {
            eprintln!("aomi-stub-model: cannot listen on {}: {error}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", stub.url()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("aomi-stub-model: cannot wait for Ctrl-C: {error}");
        std::future::pending::<()>().await;
    }
    drop(stub);
    ExitCode::SUCCESS
}
