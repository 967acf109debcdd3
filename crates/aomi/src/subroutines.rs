//! Which model runs each typed subroutine: the `*_model` keys of `aomi.toml`.
//!
//! Each names `"chat"` (the model of the chat whose turn runs it; for the side jobs that belong to
//! no turn, titles and compaction, the default model), `"utility"` (`AOMI_UTILITY_MODEL`, else as
//! `"chat"`), or the id of a model chats may pick (`[[models]]`, `AOMI_MODELS`). The intent fast
//! path runs only on a model other than the chat's: with `intent_model = "chat"` (or `"utility"`
//! and no utility model) it stays off.

use aomi_llm::{LlmClient, ModelRoutes, SubroutineModel};

use crate::config::FileConfig;

/// Where a subroutine is routed, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Chat,
    Utility,
    Model(String),
}

impl Route {
    fn parse(value: &str) -> Route {
        match value.trim() {
            "chat" => Route::Chat,
            "utility" => Route::Utility,
            id => Route::Model(id.to_owned()),
        }
    }
}

/// A `*_model` key whose model id is not one the server allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{key} names the model \"{id}\", which is not configured: use \"chat\", \"utility\" or the id of a [[models]] entry"
)]
pub struct UnknownModel {
    /// The key.
    pub key: &'static str,
    /// The id it names.
    pub id: String,
}

/// The subroutines' keys, their values in `file`, and their defaults.
pub fn settings(file: &FileConfig) -> [(&'static str, Option<&str>, &'static str); 6] {
    [
        ("titles_model", file.titles_model.as_deref(), "utility"),
        ("compaction_model", file.compaction_model.as_deref(), "utility"),
        ("batch_plan_model", file.batch_plan_model.as_deref(), "chat"),
        ("explore_plan_model", file.explore_plan_model.as_deref(), "chat"),
        ("explore_judge_model", file.explore_judge_model.as_deref(), "utility"),
        ("intent_model", file.intent_model.as_deref(), "utility"),
    ]
}

/// Checks that every `*_model` key names `chat`, `utility`, or one of `ids`.
pub fn check(file: &FileConfig, ids: &[&str]) -> Vec<UnknownModel> {
    settings(file)
        .into_iter()
        .filter_map(|(key, value, _)| match Route::parse(value?) {
            Route::Model(id) if !ids.contains(&id.as_str()) => Some(UnknownModel { key, id }),
            _ => None,
        })
        .collect()
}

/// The models of the subroutines, resolved.
#[derive(Debug, Clone)]
pub struct SubroutineModels {
    /// Chat titles.
    pub titles: SubroutineModel,
    /// Compaction of long chats.
    pub compaction: SubroutineModel,
    /// The batch app's plan.
    pub batch_plan: SubroutineModel,
    /// The explore app's branches.
    pub explore_plan: SubroutineModel,
    /// The explore app's judge.
    pub explore_judge: SubroutineModel,
    /// The intent fast path's reader; it runs only on a model of its own (`Fixed`).
    pub intent: SubroutineModel,
}

impl SubroutineModels {
    /// Resolves the keys of `file` against the utility model and the allowed models.
    pub fn resolve(file: &FileConfig, utility: Option<&LlmClient>, models: &ModelRoutes) -> Result<Self, UnknownModel> {
        let [titles, compaction, batch_plan, explore_plan, explore_judge, intent] =
            settings(file).map(|(key, value, default)| match Route::parse(value.unwrap_or(default)) {
                Route::Chat => Ok(SubroutineModel::Chat),
                Route::Utility => Ok(utility.cloned().map_or(SubroutineModel::Chat, SubroutineModel::Fixed)),
                Route::Model(id) => models
                    .get(&id)
                    .map(|route| SubroutineModel::Fixed(route.client.clone()))
                    .ok_or(UnknownModel { key, id }),
            });
        Ok(SubroutineModels {
            titles: titles?,
            compaction: compaction?,
            batch_plan: batch_plan?,
            explore_plan: explore_plan?,
            explore_judge: explore_judge?,
            intent: intent?,
        })
    }
}

/// Whether the intent fast path has a model of its own with `file`'s `intent_model` when the
/// utility model is (`has_utility`) or is not set: `chat`, or `utility` without one, gives it none.
pub fn intent_has_model(file: &FileConfig, has_utility: bool) -> bool {
    match Route::parse(file.intent_model.as_deref().unwrap_or("utility")) {
        Route::Chat => false,
        Route::Utility => has_utility,
        Route::Model(_) => true,
    }
}

/// The model a side job that belongs to no chat calls: `model`'s, or the default model for `Chat`.
pub fn side_job_model(model: &SubroutineModel, default: Option<&LlmClient>) -> Option<LlmClient> {
    match model {
        SubroutineModel::Chat => default.cloned(),
        SubroutineModel::Fixed(model) => Some(model.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_are_checked_and_chat_and_utility_are_always_known() {
        let file = FileConfig {
            batch_plan_model: Some("local".into()),
            explore_judge_model: Some("chat".into()),
            titles_model: Some("utility".into()),
            compaction_model: Some("gone".into()),
            ..FileConfig::default()
        };
        assert_eq!(check(&file, &["local"]), [UnknownModel { key: "compaction_model", id: "gone".into() }]);
        let error = SubroutineModels::resolve(&file, None, &ModelRoutes::default()).unwrap_err();
        assert_eq!(error.key, "compaction_model", "the first unknown id, in the order of the keys");
        let routes = ModelRoutes::default();
        let file = FileConfig { batch_plan_model: Some("local".into()), ..FileConfig::default() };
        assert_eq!(SubroutineModels::resolve(&file, None, &routes).unwrap_err().key, "batch_plan_model");
        // The intent fast path needs a model of its own.
        let unset = FileConfig::default();
        assert!(!intent_has_model(&unset, false) && intent_has_model(&unset, true));
        let chat = FileConfig { intent_model: Some("chat".into()), ..FileConfig::default() };
        assert!(!intent_has_model(&chat, true));
        let local = FileConfig { intent_model: Some("local".into()), ..FileConfig::default() };
        assert!(intent_has_model(&local, false));
        assert!(matches!(SubroutineModels::resolve(&unset, None, &routes).unwrap().intent, SubroutineModel::Chat));
    }
}
