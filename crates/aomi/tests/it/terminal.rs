//! `aomi chat` as a person and a script use it: the full-screen UI in a pseudo-terminal, and
//! `--json` lines, both against a real server answering with the scripted stub model.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aomi_testkit::{Reply, Script, StubModel, Timing};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde_json::Value;

use super::serve;

/// How long the UI may take to show what a step waits for (a slow machine, not a measure).
const PATIENCE: Duration = Duration::from_secs(60);

/// The UI in a pseudo-terminal: everything it wrote, and the screen that makes.
struct Screen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Screen {
    /// Reads what the UI wrote until the screen satisfies `done`; panics with the screen if not.
    fn wait_for(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let contents = self.parser.screen().contents();
            if done(&contents) {
                return contents;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => {
                    self.parser.process(&bytes);
                    self.raw.extend(bytes);
                }
                Err(_) => panic!("the screen never showed {what}:\n{contents}"),
            }
        }
    }

    /// Everything left until the UI's side of the terminal closes.
    fn drain(&mut self) {
        while let Ok(bytes) = self.output.recv_timeout(PATIENCE) {
            self.parser.process(&bytes);
            self.raw.extend(bytes);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_ui_streams_an_answer_and_ctrl_c_stops_it_and_restores_the_terminal() {
    // A long answer at 20 tokens a second: it is still streaming when Ctrl-C comes.
    let answer = "one two three four five six seven eight nine ten ".repeat(40);
    let script = Script::new().fallback(Reply::text(answer.clone())).timing(Timing {
        tokens_per_second: Some(20.0),
        chars_per_token: 4,
        ..Timing::default()
    });
    let stub = StubModel::start(script).await.unwrap();
    let base = stub.openai_base_url();
    let (_server, url) = serve(&[("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", &base)]);
    let chat_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let pty =
            native_pty_system().openpty(PtySize { rows: 30, cols: 110, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_aomi"));
        command.args(["chat", "--url", &chat_url, "--chat", "tui-pty"]);
        command.env("TERM", "xterm-256color");
        command.env("RUST_LOG", "error");
        let mut child = pty.slave.spawn_command(command).unwrap();
        // The UI's side stays open in the child only: the reads end when it exits.
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let mut keys = pty.master.take_writer().unwrap();
        let (sender, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = reader.read(&mut buffer) {
                if sender.send(buffer[..read].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut screen = Screen {
            parser: vt100::Parser::new(30.try_into().unwrap(), 110.try_into().unwrap(), 0),
            raw: Vec::new(),
            output,
        };

        screen.wait_for("the status bar", |s| s.contains("aomi · ") && s.contains(" ready "));
        keys.write_all(b"count slowly\r").unwrap();
        keys.flush().unwrap();
        let shown = screen.wait_for("the streamed answer", |s| s.contains("one two three four"));
        assert!(shown.contains("you › count slowly"), "{shown}");
        assert!(shown.contains("answering"), "the answer is still streaming: {shown}");

        // Ctrl-C: raw mode delivers it as a key, which stops the answer and quits.
        keys.write_all(b"\x03").unwrap();
        keys.flush().unwrap();
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "aomi chat did not quit on Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        };
        screen.drain();
        assert!(status.success(), "exit code {}", status.exit_code());
        let raw = String::from_utf8_lossy(&screen.raw);
        let entered = raw.find("\x1b[?1049h").expect("the UI entered the alternate screen");
        let left = raw.rfind("\x1b[?1049l").expect("the UI left the alternate screen");
        assert!(entered < left);
        // Raw mode is off again: the terminal echoes and translates newlines (the pty's own mode).
        assert!(!screen.parser.screen().alternate_screen(), "back on the main screen");
    })
    .await
    .unwrap();

    // The server took the stop: the answer is kept, cut short and marked stopped.
    let client = reqwest::Client::new();
    let mut chat = Value::Null;
    for _ in 0..200 {
        chat = client.get(format!("{url}/api/chats/tui-pty")).send().await.unwrap().json().await.unwrap();
        if chat["running"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(chat["running"], false, "{chat}");
    assert_eq!(chat["messages"][1]["metadata"]["stopped"], true, "{chat}");
    let stored: String =
        chat["messages"][1]["parts"].as_array().unwrap().iter().filter_map(|part| part["text"].as_str()).collect();
    assert!(!stored.is_empty() && stored.len() < answer.len(), "{stored}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_mode_prints_each_part_of_each_answer_as_a_json_line() {
    let stub = StubModel::start(Script::new().fallback(Reply::text("Hello from the stub."))).await.unwrap();
    let base = stub.openai_base_url();
    let (_server, url) = serve(&[("AOMI_MODEL", "openai:stub"), ("OPENAI_BASE_URL", &base)]);
    let chat_url = url.clone();
    let stdout = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aomi"))
            .args(["chat", "--url", &chat_url, "--chat", "json-lines", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"first question\n\nsecond question\n").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap();
    let parts: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    let kinds: Vec<&str> = parts.iter().map(|part| part["type"].as_str().unwrap()).collect();
    // Two messages (the blank line is skipped), two answers: each starts and finishes.
    assert_eq!(kinds.iter().filter(|k| **k == "start").count(), 2, "{stdout}");
    assert_eq!(kinds.iter().filter(|k| **k == "finish").count(), 2, "{stdout}");
    assert_eq!(kinds.last(), Some(&"finish"), "{stdout}");
    let finish = parts.last().unwrap();
    assert_eq!(finish["finishReason"], "stop", "{finish}");
    let deltas: Vec<&Value> = parts.iter().filter(|part| part["type"] == "text-delta").collect();
    assert!(deltas.iter().all(|d| d["id"].is_string() && d["delta"].is_string()), "{stdout}");
    let text: String = deltas.iter().filter_map(|d| d["delta"].as_str()).collect();
    assert_eq!(text, "Hello from the stub.Hello from the stub.", "{stdout}");
    // Both went to the one chat.
    let chat: Value = reqwest::get(format!("{url}/api/chats/json-lines")).await.unwrap().json().await.unwrap();
    assert_eq!(chat["messages"].as_array().unwrap().len(), 4, "{chat}");
}
