//! Integration tests of the stub model server, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod binary;
mod common;
mod openai;
mod rig_clients;
mod script;
mod timing;
