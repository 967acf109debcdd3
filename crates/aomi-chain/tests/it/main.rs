//! Tests of the chain layer against a real anvil (the devnet fixture).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod abi;
mod devnet;
mod network;
mod session;
