//! `aomi config check` and the same check at `aomi serve`'s start: a good configuration passes, and
//! each kind of bad one is named with its key, what is wrong and how to fix it.

use std::path::Path;
use std::process::{Command, Output};

use aomi_store::testing::TempDir;
use serde_json::Value;

/// `aomi config check --json` with exactly these variables (and PATH): its exit status and report.
fn check(args: &[&str], env: &[(&str, &str)]) -> (bool, Vec<Value>) {
    let output = run(&["config", "check", "--json"], args, env);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), report["problems"].as_array().unwrap().clone())
}

fn run(command: &[&str], args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aomi"))
        .args(command)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The one problem of `kind` in the report, with its key.
fn problem<'a>(problems: &'a [Value], kind: &str, key: &str) -> &'a Value {
    problems
        .iter()
        .find(|p| p["kind"] == kind && p["key"] == key)
        .unwrap_or_else(|| panic!("no {kind} problem at {key}: {problems:#?}"))
}

fn said(problem: &Value, what: &str, fix: &str) {
    assert!(problem["what"].as_str().unwrap().contains(what), "{problem:#}");
    assert!(problem["fix"].as_str().unwrap().contains(fix), "{problem:#}");
}

#[test]
fn a_good_configuration_and_the_documented_example_pass() {
    let dir = TempDir::new();
    let networks = write(
        dir.path(),
        "networks.toml",
        "[networks.my-rollup]\nchain_id = 424242\nrpc_urls = [\"http://127.0.0.1:9545\"]\n",
    );
    let config = write(
        dir.path(),
        "aomi.toml",
        &format!(
            r#"
bind = "0.0.0.0:8080"
model = "openai:gpt-4o"
titles = "first-message"
auth = "required"
public_url = "https://aomi.example"
database_url = "postgres://aomi@db.internal:5432/aomi"
networks_file = "{networks}"
default_network = "my-rollup"
shutdown_grace_secs = 20
csp_connect_src = ["wss://relay.example.org"]
[limits]
ip_rate = 50
trusted_proxies = ["10.0.0.2"]
tool_output_bytes = 4096
"#
        ),
    );
    let secret = "0123456789abcdef0123456789abcdef";
    let env = [("OPENAI_API_KEY", "sk-test"), ("AOMI_AUTH_SECRET", secret), ("AOMI_LOG_FORMAT", "json")];
    let (ok, problems) = check(&["--config", &config], &env);
    assert!(ok && problems.is_empty(), "{problems:#?}");

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../aomi.example.toml");
    let (ok, problems) = check(&["--config", example], &[]);
    assert!(ok && problems.is_empty(), "{problems:#?}");
    let text = run(&["config", "check"], &["--config", example], &[]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("no problem found"));
}

#[test]
fn unknown_keys_are_named_with_the_closest_known_one() {
    let dir = TempDir::new();
    let config =
        write(dir.path(), "aomi.toml", "bnid = \"127.0.0.1:1\"\nip_rate = 3\n[limits]\nturns_totl = 4\nzebra = 1\n");
    let (ok, problems) = check(&["--config", &config], &[]);
    assert!(!ok);
    said(problem(&problems, "unknown-key", "bnid"), "not a key", "did you mean `bind`?");
    said(problem(&problems, "unknown-key", "ip_rate"), "not a key", "belongs in the [limits] table");
    said(problem(&problems, "unknown-key", "limits.turns_totl"), "not a key", "did you mean `limits.turns_total`?");
    said(problem(&problems, "unknown-key", "limits.zebra"), "not a key", "aomi.example.toml");
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

#[test]
fn bad_values_are_named_by_key_and_every_one_is_found() {
    let dir = TempDir::new();
    let config = write(
        dir.path(),
        "aomi.toml",
        "max_steps = \"ten\"\nbind = \"localhost\"\ntitles = \"poem\"\n[limits]\nip_rate = -1\ntool_output_bytes = 10\n",
    );
    let (ok, problems) =
        check(&["--config", &config], &[("AOMI_LIMIT_TURNS_TOTAL", "many"), ("AOMI_LOG_FORMAT", "xml")]);
    assert!(!ok);
    said(problem(&problems, "bad-value", "max_steps"), "invalid type: string \"ten\"", "type");
    said(problem(&problems, "bad-value", "limits.ip_rate"), "invalid value", "type");
    said(problem(&problems, "bad-value", "bind"), "\"localhost\" is not an address and port", "127.0.0.1:8080");
    said(problem(&problems, "bad-value", "titles"), "not \"poem\"", "first-message");
    said(problem(&problems, "bad-value", "limits.tool_output_bytes"), "must be at least 1024", "1024 or more");
    said(problem(&problems, "bad-value", "AOMI_LIMIT_TURNS_TOTAL"), "is not a number", "whole number");
    said(problem(&problems, "bad-value", "AOMI_LOG_FORMAT"), "not \"xml\"", "json");
}

#[test]
fn bad_urls_are_refused_with_the_form_that_works() {
    let dir = TempDir::new();
    let config = write(
        dir.path(),
        "aomi.toml",
        "database_url = \"mysql://db/aomi\"\npublic_url = \"https://aomi.example/app\"\n",
    );
    let (ok, problems) = check(
        &["--config", &config],
        &[
            ("AOMI_MODEL", "openai:gpt-4o"),
            ("OPENAI_BASE_URL", "ftp://models.example"),
            ("AOMI_RPC_ETHEREUM", "wss://node.example"),
        ],
    );
    assert!(!ok);
    said(problem(&problems, "bad-url", "database_url"), "mysql://db/aomi", "postgres://");
    said(problem(&problems, "bad-url", "public_url"), "must be an origin only", "https://aomi.example");
    said(problem(&problems, "bad-url", "OPENAI_BASE_URL"), "ftp://models.example", "http://");
    said(problem(&problems, "bad-url", "AOMI_RPC_ETHEREUM"), "http or https", "http(s) URLs");
}

#[test]
fn a_network_without_an_rpc_is_refused() {
    let dir = TempDir::new();
    let networks = write(
        dir.path(),
        "networks.toml",
        "[networks.my-rollup]\nchain_id = 424242\n\n[networks.ethereum]\nrpc_urls = []\n",
    );
    let (ok, problems) = check(&["--networks", &networks], &[]);
    assert!(!ok);
    said(problem(&problems, "network-without-rpc", "networks.my-rollup.rpc_urls"), "has no RPC URL", "rpc_urls = [");
    said(
        problem(&problems, "network-without-rpc", "networks.ethereum.rpc_urls"),
        "has no RPC URL",
        "[networks.ethereum]",
    );
    // The devnet as the default network with no devnet to reach: a warning only.
    let (ok, problems) = check(&["--default-network", "devnet"], &[]);
    assert!(ok);
    said(problem(&problems, "network-without-rpc", "default_network"), "no devnet is started", "--devnet");
}

#[test]
fn sign_in_settings_unsafe_for_the_address_are_refused() {
    let (ok, problems) = check(&["--bind", "0.0.0.0:8080"], &[]);
    assert!(!ok);
    said(
        problem(&problems, "unsafe-auth", "auth"),
        "refusing to serve 0.0.0.0:8080 without sign-in",
        "AOMI_AUTH=required",
    );
    let (ok, problems) = check(&["--bind", "0.0.0.0:8080"], &[("AOMI_AUTH", "required")]);
    assert!(!ok);
    said(problem(&problems, "unsafe-auth", "public_url"), "needs AOMI_PUBLIC_URL", "AOMI_PUBLIC_URL");
    // Allowed explicitly: a warning.
    let (ok, problems) = check(&["--bind", "0.0.0.0:8080", "--allow-unauthenticated"], &[]);
    assert!(ok);
    assert_eq!(problem(&problems, "unsafe-auth", "auth")["severity"], "warning");
    // On loopback, optional sign-in is fine.
    let (ok, problems) = check(&["--bind", "127.0.0.1:8080"], &[]);
    assert!(ok && problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_missing_secret_is_named_with_where_to_set_it() {
    // Required sign-in on a shared store: every instance must sign with the same key.
    let env = [("AOMI_AUTH", "required"), ("AOMI_DATABASE_URL", "postgres://aomi@db:5432/aomi")];
    let (ok, problems) = check(&[], &env);
    assert!(!ok);
    let missing = problem(&problems, "missing-secret", "AOMI_AUTH_SECRET");
    assert_eq!(missing["severity"], "error");
    said(missing, "shared PostgreSQL store needs AOMI_AUTH_SECRET", "openssl rand -hex 32");
    // One instance on SQLite: it works, but sessions end at each restart.
    let dir = TempDir::new();
    let (ok, problems) = check(&[], &[("AOMI_AUTH", "required"), ("AOMI_DATA_DIR", dir.path().to_str().unwrap())]);
    assert!(ok);
    assert_eq!(problem(&problems, "missing-secret", "AOMI_AUTH_SECRET")["severity"], "warning");
    // A model without its key, and a secret too short.
    let (ok, problems) = check(&["--model", "anthropic:claude-sonnet-4-5"], &[("AOMI_AUTH_SECRET", "hunter2")]);
    assert!(!ok);
    said(problem(&problems, "missing-secret", "ANTHROPIC_API_KEY"), "needs an API key", "set ANTHROPIC_API_KEY");
    said(problem(&problems, "bad-value", "AOMI_AUTH_SECRET"), "7 bytes long", "openssl rand -hex 32");
}

#[test]
fn the_intent_fast_path_without_a_utility_model_is_a_warning() {
    let (ok, problems) = check(&[], &[("AOMI_INTENT_FAST_PATH", "true")]);
    assert!(ok);
    let warning = problem(&problems, "bad-value", "AOMI_INTENT_FAST_PATH");
    assert_eq!(warning["severity"], "warning");
    said(warning, "needs a model other than the chat's", "AOMI_UTILITY_MODEL");
    let env = [("AOMI_INTENT_FAST_PATH", "true"), ("AOMI_UTILITY_MODEL", "openai:small"), ("OPENAI_API_KEY", "k")];
    let (_, problems) = check(&[], &env);
    assert!(problems.iter().all(|p| p["key"] != "AOMI_INTENT_FAST_PATH"), "{problems:#?}");
    // With a utility model but `intent_model = "chat"`, the chat's own model: still a warning.
    let dir = TempDir::new();
    let config = write(dir.path(), "aomi.toml", "intent_model = \"chat\"\n");
    let (_, problems) = check(&["--config", &config], &env);
    said(problem(&problems, "bad-value", "AOMI_INTENT_FAST_PATH"), "other than the chat's", "intent_model");
}

#[test]
fn an_unreadable_file_is_an_error() {
    let (ok, problems) = check(&["--config", "/nonexistent/aomi.toml"], &[]);
    assert!(!ok);
    said(problem(&problems, "unreadable", "/nonexistent/aomi.toml"), "cannot read", "--config");
    let dir = TempDir::new();
    let config = write(dir.path(), "aomi.toml", "bind = \n");
    let (ok, problems) = check(&["--config", &config], &[]);
    assert!(!ok);
    said(problem(&problems, "unreadable", &config), "not valid TOML", "syntax");
}

#[test]
fn serve_refuses_to_start_on_an_error_and_names_every_one() {
    let dir = TempDir::new();
    let config = write(dir.path(), "aomi.toml", "bnid = \"127.0.0.1:0\"\n[limits]\ntool_output_bytes = 10\n");
    let data = dir.path().join("data");
    let output = run(&["serve"], &["--config", &config], &[("AOMI_DATA_DIR", data.to_str().unwrap())]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error[unknown-key] bnid: not a key of the configuration"), "{stderr}");
    assert!(stderr.contains("fix: did you mean `bind`?"), "{stderr}");
    assert!(stderr.contains("error[bad-value] limits.tool_output_bytes"), "{stderr}");
    assert!(stderr.contains("refusing to start: the configuration has 2 error(s)"), "{stderr}");
    assert!(!data.exists(), "nothing was opened before the check");
}

#[test]
fn the_models_a_chat_may_pick_are_checked() {
    let dir = TempDir::new();
    let good = write(
        dir.path(),
        "models.toml",
        "model = \"openai:big\"\n[[models]]\nmodel = \"openai:small\"\nid = \"small\"\nlabel = \"Small\"\n",
    );
    let (ok, problems) = check(&["--config", &good], &[("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")]);
    assert!(ok, "{problems:#?}");

    // A spec that is not one, and a model whose key is missing: each named where it was listed.
    let env = [("AOMI_MODEL", "openai:big"), ("OPENAI_API_KEY", "sk-test"), ("AOMI_MODELS", "gemini:pro")];
    let (ok, problems) = check(&[], &env);
    assert!(!ok);
    said(problem(&problems, "bad-value", "AOMI_MODELS"), "unknown provider \"gemini\"", "anthropic:<model>");
    let env =
        [("AOMI_MODEL", "openai:big"), ("OPENAI_API_KEY", "sk-test"), ("AOMI_MODELS", "anthropic:claude-haiku-4-5")];
    let (_, problems) = check(&[], &env);
    said(problem(&problems, "missing-secret", "ANTHROPIC_API_KEY"), "claude-haiku-4-5", "ANTHROPIC_API_KEY");

    // Two models under one id, and models without a default.
    let env = [("AOMI_MODEL", "openai:big"), ("OPENAI_API_KEY", "sk-test"), ("AOMI_MODELS", "x=openai:a,x=openai:b")];
    let (_, problems) = check(&[], &env);
    said(problem(&problems, "bad-value", "AOMI_MODELS"), "given to two models", "its own id");
    let alone =
        write(dir.path(), "alone.toml", "[[models]]\nmodel = \"openai:a\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n");
    let (_, problems) = check(&["--config", &alone], &[]);
    said(problem(&problems, "bad-value", "models[0]"), "no default model", "set a default model");
}
