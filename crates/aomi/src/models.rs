//! The models a chat may pick beside the default one: the file's `[[models]]` tables, or
//! `AOMI_MODELS`, read into model configurations. `aomi serve` builds its routes from them and
//! `aomi config check` reports what is wrong with them, through the same reading.

use anyhow::Context;
use aomi_llm::{ConfigError, LlmClient, ModelConfig, ModelRoute, ModelRoutes};
use serde::{Deserialize, Serialize};

use crate::config::FileConfig;

/// One `[[models]]` table: a model chats may pick.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The model: `anthropic:<model>` or `openai:<model>`.
    pub model: String,
    /// The id a request names (`"model"` of `POST /api/chat`, `aomi chat --model`); default: the
    /// spec (`openai:gpt-4o-mini`).
    pub id: Option<String>,
    /// A name for people (the page's menu); default: the id.
    pub label: Option<String>,
    /// Its server's base URL, when not the provider's variable's (`OPENAI_BASE_URL`): a local
    /// model beside a hosted one.
    pub base_url: Option<String>,
    /// The environment variable that holds its key, when not the provider's
    /// (`OPENAI_API_KEY`); never the key itself.
    pub api_key_env: Option<String>,
}

/// An allowed model, read: its id, label and configuration.
#[derive(Debug, Clone)]
pub struct AllowedModel {
    /// The id a request names.
    pub id: String,
    /// A name for people.
    pub label: String,
    /// How to call it.
    pub config: ModelConfig,
    /// Where it was configured (`models[1]`, `AOMI_MODELS`), for messages.
    pub key: String,
}

/// A listed model that cannot be used, and where it was listed.
#[derive(Debug)]
pub struct EntryProblem {
    /// Where it was configured (`models[1]`, `AOMI_MODELS`).
    pub key: String,
    /// What is wrong.
    pub error: ConfigError,
}

/// The models of `AOMI_MODELS` (comma-separated specs, each optionally named `id=spec`), which
/// wins over the file's `[[models]]` tables, else the file's. Keys and base URLs come from the
/// environment through `env`. Each entry that cannot be used is returned as a problem, the others
/// as models.
pub fn allowed_models(
    file: &FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Vec<AllowedModel>, Vec<EntryProblem>) {
    let var = |name: &str| env(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
    let entries: Vec<(String, ModelEntry)> = match var("AOMI_MODELS") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                // `id=spec`; a spec itself holds ':' but never '='.
                let (id, spec) = match item.split_once('=') {
                    Some((id, spec)) => (Some(id.trim().to_owned()), spec.trim().to_owned()),
                    None => (None, item.to_owned()),
                };
                let entry = ModelEntry { model: spec, id, label: None, base_url: None, api_key_env: None };
                ("AOMI_MODELS".to_owned(), entry)
            })
            .collect(),
        None => {
            file.models.iter().enumerate().map(|(index, entry)| (format!("models[{index}]"), entry.clone())).collect()
        }
    };
    let mut models = Vec::new();
    let mut problems = Vec::new();
    for (key, entry) in entries {
        match read_entry(&entry, &var) {
            Ok(config) => {
                let id = entry.id.clone().filter(|id| !id.is_empty()).unwrap_or_else(|| config.spec());
                let label = entry.label.clone().filter(|label| !label.is_empty()).unwrap_or_else(|| id.clone());
                models.push(AllowedModel { id, label, config, key });
            }
            Err(error) => problems.push(EntryProblem { key, error }),
        }
    }
    (models, problems)
}

/// One entry's configuration: its spec, with its key and base URL from its own settings or the
/// provider's variables.
fn read_entry(entry: &ModelEntry, var: &dyn Fn(&str) -> Option<String>) -> Result<ModelConfig, ConfigError> {
    let mut config = ModelConfig::parse(&entry.model)?;
    let key_var = entry.api_key_env.as_deref().unwrap_or(config.provider.api_key_var());
    config.api_key = var(key_var);
    config.base_url =
        entry.base_url.clone().filter(|url| !url.is_empty()).or_else(|| var(config.provider.base_url_var()));
    config.validate()?;
    Ok(config)
}

/// The routes of `aomi serve`: the default model (`default`) and the allowed ones. An allowed
/// model that is the default (same spec, same server) names the default route (its id and label)
/// instead of being a second one.
pub fn routes(default: Option<LlmClient>, allowed: &[AllowedModel]) -> anyhow::Result<ModelRoutes> {
    let mut default = default.map(ModelRoute::of);
    let mut others = Vec::new();
    for model in allowed {
        if let Some(route) = &mut default
            && route.client.config().spec() == model.config.spec()
            && route.client.config().base_url == model.config.base_url
        {
            route.id.clone_from(&model.id);
            route.label.clone_from(&model.label);
            continue;
        }
        let client = LlmClient::new(model.config.clone())
            .with_context(|| format!("cannot set up the model client of {} ({})", model.id, model.key))?;
        others.push(ModelRoute { id: model.id.clone(), label: model.label.clone(), client });
    }
    Ok(ModelRoutes::new(default, others)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn the_variable_wins_and_names_its_models() {
        let file: FileConfig = toml::from_str(
            "[[models]]\nmodel = \"openai:file-model\"\nid = \"file\"\nlabel = \"From the file\"\n\
             base_url = \"http://127.0.0.1:1/v1\"\n",
        )
        .unwrap();
        let (from_file, problems) = allowed_models(&file, &env(&[]));
        assert!(problems.is_empty());
        let read: Vec<(&str, &str, String)> =
            from_file.iter().map(|m| (m.id.as_str(), m.label.as_str(), m.config.spec())).collect();
        assert_eq!(read, [("file", "From the file", "openai:file-model".to_owned())]);
        assert_eq!(from_file[0].config.base_url.as_deref(), Some("http://127.0.0.1:1/v1"));

        let vars =
            env(&[("AOMI_MODELS", "fast=openai:small, openai:big"), ("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")]);
        let (from_env, problems) = allowed_models(&file, &vars);
        assert!(problems.is_empty());
        let ids: Vec<(&str, &str)> = from_env.iter().map(|m| (m.id.as_str(), m.label.as_str())).collect();
        assert_eq!(ids, [("fast", "fast"), ("openai:big", "openai:big")]);
    }

    #[test]
    fn an_unusable_entry_is_a_problem_where_it_was_listed() {
        let vars = env(&[("AOMI_MODELS", "anthropic:claude-haiku-4-5,gemini:pro")]);
        let (models, problems) = allowed_models(&FileConfig::default(), &vars);
        assert!(models.is_empty());
        assert_eq!(problems.len(), 2);
        assert!(matches!(problems[0].error, ConfigError::MissingApiKey { .. }), "{:?}", problems[0]);
        assert!(matches!(problems[1].error, ConfigError::InvalidSpec { .. }), "{:?}", problems[1]);
        assert_eq!(problems[1].key, "AOMI_MODELS");
    }

    #[test]
    fn the_default_listed_again_names_the_default_route() {
        let vars = env(&[("AOMI_MODELS", "main=openai:a,b=openai:b"), ("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")]);
        let (models, _) = allowed_models(&FileConfig::default(), &vars);
        let default = LlmClient::new(models[0].config.clone()).unwrap();
        let built = routes(Some(default), &models).unwrap();
        let ids: Vec<&str> = built.routes().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["main", "b"]);
        assert!(routes(None, &models).is_err(), "allowed models need a default one");
    }
}
