//! Tests of the protocol types against the protocol's own examples.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod assemble;
mod fuzz;
mod message;
mod stream;
