//! The apps: agent logic behind the [`AomiApp`](aomi_core::AomiApp) trait, and the registry that
//! finds an app by name.
//!
//! [`DefaultApp`] is a linear loop: model → tool calls (run concurrently by the
//! [`ToolScheduler`](aomi_tools::ToolScheduler)) → results → model, until the model answers in
//! text or the step limit is hit.

mod default_app;
mod registry;
mod sink;

pub use default_app::{DefaultApp, DefaultAppConfig, NO_MODEL_MESSAGE};
pub use registry::AppRegistry;
