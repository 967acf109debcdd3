//! aomi's benchmark and eval harness.
//!
//! **Benchmark** ([`runner::run`]): drives an `aomi serve` ([`server::ServeProcess`], or any
//! [`server::Target`]) whose model is the stub model ([`stub::bench_script`], paced by a set time to
//! first token and token rate), through the same HTTP and SSE a browser uses ([`client::ChatClient`]).
//! The same model calls are also made to the stub directly ([`direct::DirectChat`]), in the same run,
//! so aomi's overhead shows as a ratio; and through a bare relay of the stream ([`relay`]), so
//! aomi's CPU per turn shows against the least a server in the stream's path costs. Scenarios
//! ([`scenario::BenchConfig`]): the same turn at growing positions of one chat, many users at once,
//! turns with several parallel tool calls. Every turn is checked: it must end with `finish` and
//! `[DONE]`, say exactly the scripted text, and be stored whole ([`report::Integrity`]). The results ([`report::BenchReport`]) are JSON for regression
//! comparison, Markdown for people, and SVG plots ([`plot::write_plots`]).
//!
//! **A real model** ([`local::run`]): time to first token and tokens per second of a model
//! (a local one) called through aomi and directly with aomi's own requests, in one run.
//!
//! **Load and abuse** ([`abuse::run`]): many sessions at once while one client floods the server
//! past its rate: the flood must be refused with 429 while the sessions lose nothing.
//!
//! **Soak** ([`soak::run`]): users open new chats all along for minutes while the server's RSS is
//! sampled; whether it is flat once warmed up, and the RSS an idle chat keeps.
//!
//! **Instances on one PostgreSQL** ([`instances::run`]): users split between instances sharing a
//! database, and a follower of a turn on another instance than the one running it.
//!
//! **Instructions per turn** ([`instructions::run`]): the server under valgrind's callgrind, its
//! instruction count per text turn, command turn and tool call: a CPU figure that the machine's
//! load does not move, compared with a committed baseline.
//!
//! **Evals** ([`eval`]): scenarios in TOML files (user messages, the wallet, the network, checks
//! on the tools called and the answer's text), run with the scripted stub model (proves the
//! harness and the plumbing of every scenario) or with a real model (a pass rate).
//!
//! The `aomi bench` and `aomi eval` commands are thin layers over this crate.

pub mod abuse;
pub mod chain;
pub mod client;
pub mod direct;
pub mod eval;
pub mod instances;
pub mod instructions;
pub mod local;
pub mod plot;
pub mod relay;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod soak;
pub mod stats;
pub mod stub;

/// Why a benchmark or an eval could not run (a failing turn is a result, not this error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The devnet could not be started or read.
    #[error("chain: {0}")]
    Chain(String),
    /// The server could not be started or reached.
    #[error("server: {0}")]
    Server(String),
    /// An HTTP request to the server failed.
    #[error("{0}")]
    Http(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A scenario file is not valid.
    #[error("{0}")]
    Scenario(String),
    /// A baseline report cannot be compared with this one.
    #[error("baseline: {0}")]
    Baseline(String),
}
