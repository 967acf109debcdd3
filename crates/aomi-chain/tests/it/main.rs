//! Tests of the chain layer against a real anvil (the devnet fixture).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod abi;
mod bench;
mod devnet;
mod dex;
mod explorer;
mod fuzz;
mod limited;
mod network;
mod risk;
mod rpc_proxy;
mod session;
mod simulation;
mod typed_data;
