//! The `aomi-stub-model` binary.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{PATIENCE, anthropic_request, post};

#[tokio::test]
async fn serves_a_script_file() {
    let dir = std::env::temp_dir().join(format!("aomi-stub-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.json");
    std::fs::write(&script, r#"{"steps": [{"text": "from a file"}], "fallback": {"text": "done"}}"#).unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aomi-stub-model"))
        .arg("--script")
        .arg(&script)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(PATIENCE, lines.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("listening on ").expect("the announced line").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let message: Value =
        post(&format!("{url}/v1/messages"), &anthropic_request("hi", false)).await.json().await.unwrap();
    assert_eq!(message["content"][0]["text"], "from a file");
    let message: Value =
        post(&format!("{url}/v1/messages"), &anthropic_request("hi", false)).await.json().await.unwrap();
    assert_eq!(message["content"][0]["text"], "done");

    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rejects_a_bad_script() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_aomi-stub-model"))
        .args(["--script", "/nonexistent/script.json"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read script file"));
}
