//! aomi-bench against a real aomi server (in this process) and the stub model.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bench;
mod common;
mod eval;
