//! `ModelConfig::from_lookup`: which model the environment configures.

use std::collections::HashMap;

use aomi_llm::{ConfigError, ModelConfig, Provider};

fn lookup(vars: &[(&str, &str)]) -> Result<Option<ModelConfig>, ConfigError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ModelConfig::from_lookup(|name| vars.get(name).cloned())
}

fn configured(vars: &[(&str, &str)]) -> ModelConfig {
    match lookup(vars) {
        Ok(Some(config)) => config,
        other => panic!("expected a model for {vars:?}, got {other:?}"),
    }
}

#[test]
fn nothing_set_is_no_model() {
    assert_eq!(lookup(&[]), Ok(None));
    assert_eq!(lookup(&[("AOMI_MODEL", " "), ("ANTHROPIC_API_KEY", ""), ("OPENAI_BASE_URL", "")]), Ok(None));
    assert_eq!(lookup(&[("OPENAI_MODEL", "llama3.1")]), Ok(None));
}

#[test]
fn anthropic_key_alone_picks_sonnet() {
    let config = configured(&[("ANTHROPIC_API_KEY", "sk-ant"), ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/v1")]);
    assert_eq!(config.provider, Provider::Anthropic);
    assert_eq!(config.model, "claude-sonnet-4-5");
    assert_eq!(config.api_key.as_deref(), Some("sk-ant"));
    assert_eq!(config.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
}

#[test]
fn anthropic_wins_when_both_keys_are_set() {
    let config = configured(&[("ANTHROPIC_API_KEY", "a"), ("OPENAI_API_KEY", "o")]);
    assert_eq!(config.spec(), "anthropic:claude-sonnet-4-5");
}

#[test]
fn openai_key_or_base_url_picks_openai() {
    let config = configured(&[("OPENAI_API_KEY", "sk-o")]);
    assert_eq!((config.spec(), config.api_key.as_deref()), ("openai:gpt-4o".to_owned(), Some("sk-o")));
    let local = configured(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"), ("OPENAI_MODEL", "llama3.1")]);
    assert_eq!(local.spec(), "openai:llama3.1");
    assert_eq!(local.api_key, None);
    assert_eq!(local.base_url.as_deref(), Some("http://127.0.0.1:11434/v1"));
}

#[test]
fn aomi_model_chooses_and_takes_the_providers_variables() {
    let config = configured(&[
        ("AOMI_MODEL", "openai:qwen2.5"),
        ("ANTHROPIC_API_KEY", "a"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
        ("OPENAI_MODEL", "ignored"),
    ]);
    assert_eq!(config.spec(), "openai:qwen2.5");
    assert_eq!((config.api_key, config.base_url.as_deref()), (None, Some("http://127.0.0.1:8000/v1")));
    let config = configured(&[("AOMI_MODEL", "anthropic:claude-opus-4-1"), ("ANTHROPIC_API_KEY", "a")]);
    assert_eq!(
        (config.spec(), config.api_key.as_deref(), config.base_url),
        ("anthropic:claude-opus-4-1".into(), Some("a"), None)
    );
}

#[test]
fn anthropic_without_key_is_an_error() {
    let error = lookup(&[("AOMI_MODEL", "anthropic:claude-sonnet-4-5"), ("OPENAI_API_KEY", "o")]);
    assert!(matches!(&error, Err(ConfigError::MissingApiKey { var: "ANTHROPIC_API_KEY", .. })), "{error:?}");
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("ANTHROPIC_API_KEY"), "{message}");
}

#[test]
fn openai_without_key_or_url_is_an_error() {
    let error = lookup(&[("AOMI_MODEL", "openai:gpt-4o")]);
    assert!(matches!(error, Err(ConfigError::MissingOpenAiEndpoint { .. })), "{error:?}");
}

#[test]
fn bad_specs_are_clear_errors() {
    for spec in ["gpt-4o", "mistral:large", "openai:"] {
        let error = lookup(&[("AOMI_MODEL", spec), ("OPENAI_API_KEY", "o")]);
        let message = match &error {
            Err(invalid @ ConfigError::InvalidSpec { spec: given, .. }) if given == spec => invalid.to_string(),
            other => panic!("{spec}: expected an invalid spec, got {other:?}"),
        };
        assert!(message.contains("anthropic:<model>") && message.contains("openai:<model>"), "{message}");
    }
}

#[test]
fn bad_base_url_is_an_error() {
    let error = lookup(&[("OPENAI_BASE_URL", "127.0.0.1:11434")]);
    assert!(matches!(error, Err(ConfigError::InvalidBaseUrl { var: "OPENAI_BASE_URL", .. })), "{error:?}");
}

#[test]
fn the_utility_model_is_read_from_its_own_variable() {
    use aomi_llm::{ModelConfig, Provider};
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    };
    assert!(ModelConfig::utility_from_lookup(env(&[("ANTHROPIC_API_KEY", "k")])).unwrap().is_none());
    let config = ModelConfig::utility_from_lookup(env(&[
        ("AOMI_UTILITY_MODEL", "openai:qwen2.5"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!((config.provider, config.model.as_str()), (Provider::OpenAi, "qwen2.5"));
    assert_eq!(config.base_url.as_deref(), Some("http://127.0.0.1:11434/v1"));
    assert!(ModelConfig::utility_from_lookup(env(&[("AOMI_UTILITY_MODEL", "qwen")])).is_err());
}
