//! Tests of the tool scheduler and the native tools (the chain tools against a real anvil).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aggregator;
mod bench;
mod chain;
mod chain_errors;
mod contract;
mod defi;
mod fixture;
mod fuzz;
mod knowledge;
mod scheduler;
mod schemas;
mod simulate;
