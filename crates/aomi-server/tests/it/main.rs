//! Integration tests of the chat server: a real HTTP server, the real rig clients, the stub model.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod apps;
mod auth;
mod batch;
mod branches;
mod chain;
mod commands;
mod common;
mod compaction;
mod contract_db;
mod contracts;
mod explore;
mod faults;
mod fuzz;
mod guards;
mod history;
mod intent;
mod knowledge;
mod lifecycle;
mod limits;
mod mcp;
mod metrics;
mod models;
mod openapi;
mod resume;
mod second_app;
mod signatures;
mod simulation;
mod stop;
mod telegram;
mod turn;
mod validation;
mod web;
