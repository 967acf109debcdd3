//! Tests of the tool scheduler and the native tools.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod scheduler;
