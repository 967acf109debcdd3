//! The apps: agent logic behind the [`AomiApp`](aomi_core::AomiApp) trait, and the registry that
//! finds an app by name.
//!
//! [`DefaultApp`] is a linear loop ([`linear`]): model → tool calls (run concurrently by the
//! [`ToolScheduler`](aomi_tools::ToolScheduler)) → results → model, until the model answers in
//! text or the step limit is hit. Given an [`IntentFastPath`] ([`intent`]), it prepares a clear
//! wallet action ("send 500 USDC to 0x…") read by the utility model through the same tools,
//! without calling the chat's model, and falls back to the loop when anything is unclear. [`AnalystApp`] runs the same loop over the tools without the
//! client's (no wallet request), with a preamble of its own. [`BatchApp`] plans first (a typed [`BatchPlan`]), runs the planned
//! reads at the same time and answers from them. [`ExploreApp`] searches a tree: candidate branches of
//! reads run at the same time within a budget, a typed judge picks the best, and the answer is built from it. The loop's pieces are public building blocks for other apps: [`step`]
//! (one model step, one round of tools, the app's own text, token counts) and [`sink`] (the
//! assistant message so far, for the model's next step). The per-turn hooks of an app's tools
//! ([`AomiApp::turn_hooks`](aomi_core::AomiApp::turn_hooks)) are run by the backend, not the app.

mod analyst_app;
mod batch_app;
mod default_app;
mod explore;
pub mod intent;
pub mod linear;
mod registry;
pub mod sink;
pub mod step;

pub use analyst_app::{ANALYST_APP, AnalystApp};
pub use batch_app::{BATCH_APP, BatchApp, BatchAppConfig, BatchPlan, DEFAULT_MAX_READS, PlannedCall};
pub use default_app::{DefaultApp, DefaultAppConfig, NO_MODEL_MESSAGE};
pub use explore::{
    BranchScore, DEFAULT_MAX_BRANCHES, DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, EXPLORE_APP, ExploreApp, ExploreAppConfig,
    ExploreError, ExplorePlan, Judgement, MAX_SCORE, PlannedBranch,
};
pub use intent::IntentFastPath;
pub use registry::AppRegistry;
