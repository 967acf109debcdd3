//! The `aomi` binary as a user runs it: `aomi serve` as a process, `aomi chat` against it, `aomi eval`
//! and `aomi bench` (whose full run is `make test-bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod config;
mod local_model;
mod persistence;
mod terminal;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use aomi_agent::NO_MODEL_MESSAGE;
use aomi_store::testing::TempDir;
use aomi_testkit::{Match, Reply, Script, StubModel};

/// A child process killed on drop, with the data directory it used.
pub struct Process {
    pub child: Child,
    dir: Option<TempDir>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take();
    }
}

/// Starts `aomi serve` on a free port with exactly these model and database variables (a fresh
/// data directory unless they name one); returns its URL.
fn serve(env: &[(&str, &str)]) -> (Process, String) {
    let dir = TempDir::new();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let mut env = env.to_vec();
    if !env.iter().any(|(key, _)| *key == "AOMI_DATA_DIR" || *key == "AOMI_DATABASE_URL") {
        env.push(("AOMI_DATA_DIR", &data_dir));
    }
    let (mut process, url) = serve_in(&env);
    process.dir = Some(dir);
    (process, url)
}

/// Starts `aomi serve` with exactly these variables.
pub fn serve_in(env: &[(&str, &str)]) -> (Process, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command.args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null());
    for key in [
        "AOMI_MODEL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AOMI_BIND",
        "AOMI_DATA_DIR",
        "AOMI_DATABASE_URL",
        "AOMI_TITLES",
        "AOMI_UTILITY_MODEL",
        "AOMI_UTILITY_BASE_URL",
        "AOMI_UTILITY_API_KEY",
        "AOMI_UTILITY_STRUCTURED_OUTPUT",
        "AOMI_UTILITY_MAX_TOKENS",
        "AOMI_CONFIG",
        "AOMI_WEB_DIR",
        "AOMI_CSP_CONNECT_SRC",
        "AOMI_MODELS",
    ] {
        command.env_remove(key);
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("aomi serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("the first line names the address").to_owned();
    (Process { child, dir: None }, url)
}

fn chat(url: &str, message: &str) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["chat", "--url", url, message])
        .output()
        .expect("aomi chat runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[test]
fn serve_without_a_model_starts_and_explains_how_to_configure_one() {
    let (_server, url) = serve(&[]);
    let (ok, stdout, stderr) = chat(&url, "hello");
    assert!(ok, "{stderr}");
    assert!(stdout.contains(NO_MODEL_MESSAGE), "{stdout}");
}

/// `aomi chat --model <id>` starts a chat on an allowed model (`AOMI_MODELS`): the stub is called
/// with that model's name, and without the flag with the default's; an unknown id is refused.
#[tokio::test(flavor = "multi_thread")]
async fn chat_with_a_model_runs_on_that_model() {
    let stub = StubModel::start(Script::new().fallback(Reply::text("Done."))).await.unwrap();
    let base = stub.openai_base_url();
    // Titles from the first message: a title is a call to the default model of its own.
    let env = [
        ("AOMI_MODEL", "openai:stub"),
        ("OPENAI_BASE_URL", &base),
        ("AOMI_MODELS", "fast=openai:stub-fast"),
        ("AOMI_TITLES", "first-message"),
    ];
    let (_server, url) = serve(&env);
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let output = Command::new(env!("CARGO_BIN_EXE_aomi")).args(args).output().expect("aomi chat runs");
            (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
        })
    };
    let args = |extra: &[&str]| {
        ["chat", "--url", url.as_str()].iter().chain(extra).map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let (ok, stderr) = run(args(&["--model", "fast", "hello"])).await.unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(stub.requests().last().and_then(|r| r.model().map(str::to_owned)).as_deref(), Some("stub-fast"));
    let (ok, stderr) = run(args(&["hello"])).await.unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(stub.requests().last().and_then(|r| r.model().map(str::to_owned)).as_deref(), Some("stub"));
    let calls = stub.requests().len();
    let (ok, stderr) = run(args(&["--model", "gpt-9", "hello"])).await.unwrap();
    assert!(!ok && stderr.contains("unknown model \"gpt-9\""), "{stderr}");
    assert_eq!(stub.requests().len(), calls);
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_streams_tool_calls_and_the_answer_from_a_real_server() {
    let script = Script::new()
        .rule(Match::LastUserContains("time".into()), Reply::tool_call("get_current_time", serde_json::json!({})))
        .rule(Match::LastToolResultContains("utc".into()), Reply::text("It is late."));
    let stub = StubModel::start(script).await.unwrap();
    let base = stub.openai_base_url();
    let (_server, url) = serve(&[("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", &base)]);
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || chat(&url, "what time is it?")).await.unwrap();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("⚙ get_current_time"), "{stdout}");
    assert!(stdout.contains("✓ It is "), "the tool's summary is shown: {stdout}");
    assert!(stdout.trim_end().ends_with("It is late."), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_an_answer_stops_it_and_keeps_what_was_said() {
    let answer = "one two three four five six seven eight nine ten ".repeat(40);
    let script = Script::new().fallback(Reply::text(answer.clone())).timing(aomi_testkit::Timing {
        tokens_per_second: Some(20.0),
        chars_per_token: 4,
        ..aomi_testkit::Timing::default()
    });
    let stub = StubModel::start(script).await.unwrap();
    let base = stub.openai_base_url();
    let (_server, url) = serve(&[("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", &base)]);
    let chat_url = url.clone();
    let stdout = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aomi"))
            .args(["chat", "--url", &chat_url, "--chat", "ctrl-c", "count slowly"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aomi chat runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // The answer has begun once its first word is printed.
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("one") {
            let read = stdout.fill_buf().unwrap().to_vec();
            assert!(!read.is_empty(), "aomi chat ended before answering");
            stdout.consume(read.len());
            seen.extend(read);
        }
        let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(interrupted.success());
        std::io::Read::read_to_end(&mut stdout, &mut seen).unwrap();
        assert!(child.wait().unwrap().success(), "aomi chat ends normally after a stop");
        String::from_utf8(seen).unwrap()
    })
    .await
    .unwrap();
    assert!(stdout.trim_end().ends_with("[stopped]"), "{stdout}");
    let said = stdout.trim_end().trim_end_matches("[stopped]").trim_end();
    assert!(said.len() < answer.len(), "the answer was cut short: {said}");

    let chat: serde_json::Value = reqwest::get(format!("{url}/api/chats/ctrl-c")).await.unwrap().json().await.unwrap();
    assert_eq!(chat["running"], false);
    assert_eq!(chat["messages"][1]["metadata"], serde_json::json!({ "incomplete": true, "stopped": true }));
    let stored: String =
        chat["messages"][1]["parts"].as_array().unwrap().iter().filter_map(|part| part["text"].as_str()).collect();
    assert!(!stored.is_empty() && answer.starts_with(&stored), "{chat}");
}

#[test]
fn chat_reports_a_server_that_is_not_there() {
    let (ok, _, stderr) = chat("http://127.0.0.1:9", "hello");
    assert!(!ok);
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[test]
fn serve_refuses_a_bad_model_spec_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["serve", "--bind", "127.0.0.1:0", "--model", "gpt-4o"])
        .env_remove("AOMI_MODEL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("anthropic:<model>") || stderr.contains("openai:<model>"), "{stderr}");
}

#[test]
fn serve_refuses_an_unknown_sign_in_mode_clearly() {
    let dir = aomi_store::testing::TempDir::new();
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["serve", "--bind", "127.0.0.1:0", "--auth", "sometimes"])
        .env("AOMI_DATA_DIR", dir.path())
        .env_remove("AOMI_AUTH")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(r#"auth must be "optional" or "required", not "sometimes""#), "{stderr}");
}

/// `aomi serve` with `args` and `env`, expected to refuse to start: its standard error.
fn serve_refusal(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = aomi_store::testing::TempDir::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command.arg("serve").args(args).env("AOMI_DATA_DIR", dir.path());
    for name in ["AOMI_AUTH", "AOMI_AUTH_SECRET", "AOMI_PUBLIC_URL", "AOMI_ALLOW_UNAUTHENTICATED", "AOMI_BIND"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A server that started anyway would run until killed: give it a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("aomi serve {args:?} started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_settings_that_would_expose_it() {
    // A non-loopback address without sign-in.
    let stderr = serve_refusal(&["--bind", "0.0.0.0:0"], &[]);
    assert!(stderr.contains("refusing to serve 0.0.0.0:0 without sign-in"), "{stderr}");
    assert!(stderr.contains("--allow-unauthenticated"), "it says how to accept it: {stderr}");
    // Required sign-in there, but no public address for the sign-in messages.
    let stderr = serve_refusal(&["--bind", "0.0.0.0:0", "--auth", "required"], &[]);
    assert!(stderr.contains("needs AOMI_PUBLIC_URL"), "{stderr}");
    // A secret too short to resist guessing.
    let stderr = serve_refusal(&["--bind", "127.0.0.1:0"], &[("AOMI_AUTH_SECRET", "hunter2")]);
    assert!(stderr.contains("AOMI_AUTH_SECRET is 7 bytes long; it must be at least 32"), "{stderr}");
    // A public URL with a path.
    let stderr = serve_refusal(&["--bind", "127.0.0.1:0"], &[("AOMI_PUBLIC_URL", "https://aomi.example/app")]);
    assert!(stderr.contains("must be an origin only"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_adds_configured_connect_sources_to_the_policy_and_refuses_bad_ones() {
    let (_server, url) = serve(&[("AOMI_CSP_CONNECT_SRC", "https://relay.example.org wss://relay.example.org")]);
    let response = reqwest::get(format!("{url}/healthz")).await.unwrap();
    let policy = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("connect-src 'self' https://relay.example.org wss://relay.example.org;"), "{policy}");

    let stderr = serve_refusal(&["--bind", "127.0.0.1:0"], &[("AOMI_CSP_CONNECT_SRC", "https://a.example;script-src")]);
    assert!(stderr.contains("is not a Content-Security-Policy source"), "{stderr}");
}

/// A child process stopped with SIGTERM on drop, so that aomi stops the anvil it started.
struct Graceful(Child);

impl Drop for Graceful {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// The first line a child prints on stdout.
fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    line.trim().to_owned()
}

#[test]
fn serve_with_a_devnet_answers_direct_commands_without_a_model() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command.args(["serve", "--bind", "127.0.0.1:0", "--devnet"]).stdout(Stdio::piped()).stderr(Stdio::null());
    for key in
        ["AOMI_MODEL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "AOMI_RPC_DEVNET", "ETHERSCAN_API_KEY"]
    {
        command.env_remove(key);
    }
    let data = aomi_store::testing::TempDir::new();
    command.env("AOMI_DATA_DIR", data.path());
    let mut child = Graceful(command.spawn().unwrap());
    let url = first_line(&mut child.0).strip_prefix("listening on ").expect("the address line").to_owned();
    // anvil's tenth dev account, which the deployment does not touch.
    let (ok, stdout, stderr) = chat(&url, "/balance 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("⚙ get_balance"), "{stdout}");
    assert!(stdout.contains("holds 10000 ETH on devnet"), "{stdout}");
    let (_, stdout, _) = chat(&url, "/network nowhere");
    assert!(stdout.contains("unknown network \"nowhere\""), "{stdout}");
    // The devnet's contracts are in the contract database, vouched for by their artifacts.
    let usdc = format!("{url}/api/contracts/devnet/0x5FbDB2315678afecb367f032d93F642f64180aa3");
    let record: serde_json::Value = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(&usdc).await.unwrap().json().await.unwrap() });
    assert_eq!(
        (record["name"].as_str(), record["verifiedBy"].as_str()),
        (Some("TestToken"), Some("artifact")),
        "{record}"
    );
}

#[test]
fn devnet_prints_where_its_contracts_are() {
    let mut child = Graceful(
        Command::new(env!("CARGO_BIN_EXE_aomi"))
            .args(["devnet", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let description: serde_json::Value = serde_json::from_str(&first_line(&mut child.0)).unwrap();
    assert_eq!(description["chainId"], 31337);
    assert!(description["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    for contract in ["usdc", "dai", "weth", "orderBook", "reverter"] {
        assert!(description["contracts"][contract].as_str().unwrap().starts_with("0x"), "{contract}");
    }
    assert_eq!(description["accounts"].as_array().unwrap().len(), 10);
}

/// One JSON-RPC call to `url`.
fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let answer: serde_json::Value =
            reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    })
}

fn devnet_json(args: &[&str], env: &[(&str, &str)]) -> (Graceful, serde_json::Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command.arg("devnet").args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    command.envs(env.iter().copied());
    let mut child = Graceful(command.spawn().unwrap());
    let description = serde_json::from_str(&first_line(&mut child.0)).unwrap();
    (child, description)
}

#[test]
fn a_fork_shows_the_origins_state_and_keeps_its_transactions() {
    let (_origin, origin) = devnet_json(&["--json"], &[]);
    let origin_url = origin["url"].as_str().unwrap().to_owned();
    // The tenth dev account gives 200 ETH to an address nothing else touches.
    let (from, stranger) = ("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720", "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
    let send = |url: &str, value: &str| {
        rpc(url, "eth_sendTransaction", serde_json::json!([{ "from": from, "to": stranger, "value": value }]))
    };
    send(&origin_url, "0xad78ebc5ac6200000");
    let balance = |url: &str| rpc(url, "eth_getBalance", serde_json::json!([stranger, "latest"]));

    // `aomi devnet --fork <url>`: the origin's state, its chain id; a transaction stays on the fork.
    let (_fork, fork) = devnet_json(&["--fork", &origin_url, "--json"], &[]);
    assert_eq!(fork["chainId"], 31337);
    assert_eq!(fork["fork"], origin_url);
    let fork_url = fork["url"].as_str().unwrap().to_owned();
    assert_eq!(balance(&fork_url), "0xad78ebc5ac6200000");
    send(&fork_url, "0x1");
    assert_eq!(balance(&fork_url), "0xad78ebc5ac6200001");
    assert_eq!(balance(&origin_url), "0xad78ebc5ac6200000", "the origin is untouched");

    // `aomi serve --fork devnet`: the devnet network's RPC is the fork's, the chats' network.
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command.args(["serve", "--bind", "127.0.0.1:0", "--fork", "devnet"]).stdout(Stdio::piped()).stderr(Stdio::null());
    for key in ["AOMI_MODEL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ETHERSCAN_API_KEY"] {
        command.env_remove(key);
    }
    let data = TempDir::new();
    command.env("AOMI_DATA_DIR", data.path()).env("AOMI_RPC_DEVNET", &origin_url);
    let mut server = Graceful(command.spawn().unwrap());
    let url = first_line(&mut server.0).strip_prefix("listening on ").expect("the address line").to_owned();
    // The origin moves on after the fork was taken: the chat reads the fork, not the origin.
    send(&origin_url, "0xde0b6b3a7640000");
    let (ok, stdout, stderr) = chat(&url, &format!("/balance {stranger}"));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("holds 200 ETH on devnet"), "{stdout}");
}

#[test]
fn anvil_stops_when_aomi_is_killed_with_sigkill() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["devnet", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let description: serde_json::Value = serde_json::from_str(&first_line(&mut child)).unwrap();
    let address = description["url"].as_str().unwrap().trim_start_matches("http://").trim_end_matches('/').to_owned();
    assert!(std::net::TcpStream::connect(&address).is_ok(), "anvil listens on {address}");
    // No chance to clean up: the kernel closes aomi's pipes, and the watchdog stops anvil.
    child.kill().unwrap();
    child.wait().unwrap();
    let stopped = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(&address).is_err()
    });
    assert!(stopped, "anvil still listens on {address} after aomi was killed");
}

#[test]
fn a_missing_anvil_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["serve", "--bind", "127.0.0.1:0", "--devnet"])
        .env("AOMI_ANVIL_BIN", "/nonexistent/anvil")
        .env_remove("AOMI_RPC_DEVNET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("npm install --prefix tools"), "{stderr}");
}

fn aomi(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env_remove("AOMI_MODEL")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("AOMI_RPC_DEVNET")
        .env_remove("AOMI_RPC_DEVNET_B")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

/// The devnets `aomi eval` said it started (its stderr line `devnets: devnet (chain id …) at URL, started; …`).
fn started_devnets(stderr: &str) -> Vec<String> {
    let line = stderr.lines().find_map(|line| line.strip_prefix("devnets: ")).unwrap_or_default();
    line.split("; ")
        .filter(|devnet| devnet.ends_with(", started"))
        .filter_map(|devnet| devnet.split(" at http://").nth(1))
        .map(|rest| rest.trim_end_matches(", started").to_owned())
        .collect()
}

/// Nothing listens at any of `addresses` any more: the anvils are stopped.
fn assert_stopped(addresses: &[String]) {
    for address in addresses {
        assert!(std::net::TcpStream::connect(address).is_err(), "anvil at {address} is still running");
    }
}

#[test]
fn eval_scripted_passes_the_repository_scenarios() {
    let (ok, stdout, stderr) = aomi(&["eval", "evals"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("| fifty-turn-chat | pass | 1/1 | 100% | 50 |"), "{stdout}");
    assert!(stdout.contains("| chain-wrap-eth | pass | 1/1 | 100% | 1 |"), "{stdout}");
    assert!(stdout.contains("| chain-network-switch | pass | 1/1 | 100% | 2 |"), "{stdout}");
    // Every scenario of the folder passed, none skipped.
    let scenarios = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../evals"))
        .unwrap()
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml")))
        .count();
    assert!(stdout.contains(&format!("{scenarios} passed, 0 failed, 0 skipped; overall pass rate 100.0%")), "{stdout}");
    assert!(stdout.contains("| chain-override-needs-user | pass | 1/1 | 100% | 2 |"), "{stdout}");
    let devnets = started_devnets(&stderr);
    assert_eq!(devnets.len(), 2, "the devnet and devnet-b: {stderr}");
    assert_stopped(&devnets);
}

#[test]
fn eval_fails_a_wrong_expected_delta_and_stops_the_devnet() {
    let (ok, stdout, stderr) = aomi(&["eval", "crates/aomi-bench/tests/fixtures/wrong-delta.toml"]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("a scripted scenario failed"), "{stderr}");
    assert!(
        stdout.contains(
            "check `the USDC balance of 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 changes by 1500001` failed: \
             expected a change of 1500001, it changed by 1500000"
        ),
        "{stdout}"
    );
    let devnets = started_devnets(&stderr);
    assert_eq!(devnets.len(), 1, "only the devnet: {stderr}");
    assert_stopped(&devnets);
}

#[test]
fn eval_fails_a_wrong_expectation_and_says_which_check_and_why() {
    let (ok, stdout, stderr) =
        aomi(&["eval", "evals/time-question.toml", "crates/aomi-bench/tests/fixtures/wrong-expectation.toml"]);
    assert!(!ok, "{stdout}");
    assert!(!stderr.contains("devnets:"), "no devnet without a scenario that needs one: {stderr}");
    assert!(stderr.contains("a scripted scenario failed"), "{stderr}");
    assert!(stdout.contains("| time-question | pass |"), "{stdout}");
    assert!(
        stdout.contains(
            "- wrong-expectation, turn 1 (\"What time is it right now in UTC?\"): check `the answer contains \"Mars\"` failed: the answer does not contain it"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("check `called get_current_time with timezone = \"UTC\"` failed"), "{stdout}");
}

#[test]
fn eval_and_bench_refuse_bad_input_clearly() {
    let (ok, _, stderr) = aomi(&["eval", "no-such-dir/x.toml"]);
    assert!(!ok && stderr.contains("cannot read no-such-dir/x.toml"), "{stderr}");
    let (ok, _, stderr) = aomi(&["eval", "--real", "evals"]);
    assert!(!ok && stderr.contains("no model is configured"), "{stderr}");
    let (ok, _, stderr) = aomi(&["eval", "--only", "nothing-like-this", "evals"]);
    assert!(!ok && stderr.contains("no scenario's name contains"), "{stderr}");

    let (ok, _, stderr) = aomi(&["bench", "--quick", "--baseline", "no-such-report.json"]);
    assert!(!ok && stderr.contains("cannot read the baseline no-such-report.json"), "{stderr}");
    let old = std::env::temp_dir().join(format!("aomi-old-report-{}.json", std::process::id()));
    std::fs::write(&old, r#"{"version": 0}"#).unwrap();
    let (ok, _, stderr) = aomi(&["bench", "--quick", "--baseline", old.to_str().unwrap()]);
    let _ = std::fs::remove_file(&old);
    assert!(!ok && stderr.contains("is a report of version Some(0)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_gives_the_default_app_the_tools_of_the_configured_mcp_servers() {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let script =
        Script::new().rule(Match::LastToolResultContains("reversed is".into()), Reply::text("Found it.")).rule(
            Match::LastUserContains("look up".into()),
            Reply::tool_call("ext_lookup", serde_json::json!({ "word": "aomi" })),
        );
    let stub = StubModel::start(script).await.unwrap();
    let base = stub.openai_base_url();
    // The external server of the MCP tests, written with the official TypeScript SDK.
    let server_script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/mcp/test-server.mjs");
    let dir = TempDir::new();
    let config = dir.path().join("aomi.toml");
    std::fs::write(
        &config,
        format!(
            "[[mcp_servers]]\nname = \"ext\"\ncommand = \"node\"\nargs = [\"{server_script}\"]\n\
             env = {{ AOMI_TEST_MCP_NONCE = \"{nonce}\" }}\ntimeout_secs = 5\napps = [\"default\"]\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let (_server, url) = serve(&[("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", &base), ("AOMI_CONFIG", &config)]);
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || chat(&url, "look up aomi")).await.unwrap();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("⚙ ext_lookup"), "the external tool's call is shown: {stdout}");
    assert!(stdout.trim_end().ends_with("Found it."), "{stdout}");
    // The model received the external server's answer (the title request may come after it).
    let answer = format!("aomi reversed is imoa (nonce {nonce})");
    let results: Vec<String> = stub.requests().into_iter().filter_map(|r| r.last_tool_result).collect();
    assert!(results.iter().any(|result| result.contains(&answer)), "{results:?}");
}

#[test]
fn a_wrongly_configured_mcp_server_stops_the_start_with_the_reason() {
    let dir = TempDir::new();
    let config = dir.path().join("aomi.toml");
    std::fs::write(&config, "[[mcp_servers]]\nname = \"both\"\ncommand = \"node\"\nurl = \"http://127.0.0.1:1/mcp\"\n")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config", config.to_str().unwrap()])
        .env("AOMI_DATA_DIR", dir.path())
        .env_remove("AOMI_MODEL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MCP server \"both\": give either `command` or `url`"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_request_id_of_each_request() {
    let dir = TempDir::new();
    let log_path = dir.path().join("aomi.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_aomi"));
    command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AOMI_DATA_DIR", dir.path().join("data"))
        .env("AOMI_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = Graceful(command.spawn().unwrap());
    let url = first_line(&mut child.0).strip_prefix("listening on ").expect("the address line").to_owned();

    // A proxy's id is kept; without one, aomi makes one and answers it.
    let client = reqwest::Client::new();
    let given = format!("proxy-{}", uuid::Uuid::new_v4());
    let answer = client.get(format!("{url}/healthz")).header("x-request-id", &given).send().await.unwrap();
    assert_eq!(answer.headers()["x-request-id"], given.as_str());
    let answer = client.get(format!("{url}/readyz")).send().await.unwrap();
    let made = answer.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    // Each request's access line is one JSON object in the request's span.
    let answered = |id: &str| {
        let log = std::fs::read_to_string(&log_path).unwrap();
        log.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["span"]["request_id"] == id && line["fields"]["message"] == "answered")
    };
    for (id, path) in [(given.as_str(), "/healthz"), (made.as_str(), "/readyz")] {
        let mut line = None;
        for _ in 0..100 {
            line = answered(id);
            if line.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let line = line.unwrap_or_else(|| {
            panic!("no access line with request id {id}:\n{}", std::fs::read_to_string(&log_path).unwrap())
        });
        assert_eq!(line["span"]["path"], path, "{line}");
        assert_eq!(line["fields"]["status"], 200, "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
    }
}
