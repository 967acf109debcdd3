//! Which model to talk to, and how: [`ModelConfig`], read from a model spec
//! (`anthropic:claude-sonnet-4-5`) and the environment.

use std::fmt;
use std::time::Duration;

/// The model aomi uses when only `ANTHROPIC_API_KEY` is set.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";

/// The model aomi uses when only `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set
/// and `OPENAI_MODEL` names none.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o";

/// Default cap on the tokens of one answer.
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

/// Default time a stream may stay silent before it fails with
/// [`LlmError::Timeout`](crate::LlmError::Timeout).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default number of retries of a request the provider answered with 429 or
/// 5xx before any output.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The forms a model spec takes, for error messages.
const SPEC_FORMS: &str = "\"anthropic:<model>\" (e.g. anthropic:claude-sonnet-4-5) or \"openai:<model>\" \
     (e.g. openai:gpt-4o, or openai:llama3.1 with OPENAI_BASE_URL pointing at an OpenAI-compatible \
     server such as Ollama, vLLM or llama.cpp)";

/// Whether and how a model call that asks for a typed answer (a subroutine) gets the server's
/// constrained decoding: the answer's JSON schema sent as `response_format`, so that the server
/// only samples tokens that keep the answer valid. Only for `openai:` models; a server that does
/// not support it must be left at [`StructuredOutput::None`], where the schema is in the prompt
/// only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StructuredOutput {
    /// The schema goes in the prompt only (every model).
    #[default]
    None,
    /// OpenAI's form, `{"type": "json_schema", "json_schema": {"name", "strict", "schema"}}`
    /// (OpenAI, vLLM, Ollama, llama.cpp's `llama-server`).
    JsonSchema,
    /// `{"type": "json_object", "schema": …}`, the form llama-cpp-python's server reads (it
    /// refuses `json_schema`); llama.cpp's `llama-server` reads it too.
    JsonObject,
}

impl StructuredOutput {
    /// The setting's spelling: `none`, `json_schema` or `json_object`.
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredOutput::None => "none",
            StructuredOutput::JsonSchema => "json_schema",
            StructuredOutput::JsonObject => "json_object",
        }
    }
}

impl std::str::FromStr for StructuredOutput {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(StructuredOutput::None),
            "json_schema" => Ok(StructuredOutput::JsonSchema),
            "json_object" => Ok(StructuredOutput::JsonObject),
            _ => Err(ConfigError::InvalidStructuredOutput { value: value.to_owned() }),
        }
    }
}

/// A model provider, by the wire protocol it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// The Anthropic Messages API (`POST /v1/messages`).
    Anthropic,
    /// The OpenAI chat completions API (`POST /chat/completions`), as served by
    /// OpenAI and by compatible servers (Ollama, vLLM, llama.cpp, …).
    OpenAi,
}

impl Provider {
    /// The provider's name in a model spec: `anthropic` or `openai`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }

    /// The environment variable holding the provider's API key.
    pub fn api_key_var(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenAi => "OPENAI_API_KEY",
        }
    }

    /// The environment variable overriding the provider's base URL.
    pub fn base_url_var(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::OpenAi => "OPENAI_BASE_URL",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a model configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The model spec is not `<provider>:<model>` with a known provider.
    #[error("invalid model \"{spec}\": {reason}; use {SPEC_FORMS}")]
    InvalidSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The provider needs an API key and none is configured.
    #[error("{provider} model \"{model}\" needs an API key: set {var}")]
    MissingApiKey {
        /// The provider.
        provider: Provider,
        /// The model asked for.
        model: String,
        /// The variable to set.
        var: &'static str,
    },
    /// An OpenAI model without a key and without a base URL: the official API
    /// needs a key, and no local server was named.
    #[error(
        "openai model \"{model}\" needs OPENAI_API_KEY, or OPENAI_BASE_URL pointing at an \
         OpenAI-compatible server (e.g. http://127.0.0.1:11434/v1 for Ollama)"
    )]
    MissingOpenAiEndpoint {
        /// The model asked for.
        model: String,
    },
    /// A structured-output setting that is not one of the known ones.
    #[error(
        "invalid structured output \"{value}\" in AOMI_UTILITY_STRUCTURED_OUTPUT: use none, json_schema or json_object"
    )]
    InvalidStructuredOutput {
        /// The value as given.
        value: String,
    },
    /// A token cap that is not a positive number.
    #[error("invalid AOMI_UTILITY_MAX_TOKENS \"{value}\": it must be a positive number of tokens")]
    InvalidMaxTokens {
        /// The value as given.
        value: String,
    },
    /// Constrained decoding asked of a provider whose wire aomi does not send it on.
    #[error("structured output {setting} is for openai: models only, not {spec}")]
    StructuredOutputUnsupported {
        /// The setting.
        setting: &'static str,
        /// The model spec.
        spec: String,
    },
    /// A base URL that is not an `http://` or `https://` URL.
    #[error("invalid base URL \"{url}\" in {var}: it must start with http:// or https://")]
    InvalidBaseUrl {
        /// The variable (or setting) it came from.
        var: &'static str,
        /// The URL as given.
        url: String,
    },
}

/// Which model to call and how.
///
/// Build one with [`ModelConfig::parse`] (then set the key and base URL), or
/// read one from the environment with [`ModelConfig::from_env`].
#[derive(Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// The provider, which fixes the wire protocol.
    pub provider: Provider,
    /// The model id the provider knows (`claude-sonnet-4-5`, `gpt-4o`, `llama3.1`).
    pub model: String,
    /// The API key; `None` for a local OpenAI-compatible server that needs none.
    pub api_key: Option<String>,
    /// Where the API lives, when not at the provider's default. For OpenAI
    /// this includes the version segment (`http://127.0.0.1:11434/v1`); for
    /// Anthropic a trailing `/v1` is accepted and ignored.
    pub base_url: Option<String>,
    /// Cap on the tokens of one answer.
    pub max_tokens: u64,
    /// How long a stream may stay silent (no event at all) before it fails
    /// with [`LlmError::Timeout`](crate::LlmError::Timeout).
    pub idle_timeout: Duration,
    /// How often a request answered with 429 or 5xx before any output is retried.
    pub max_retries: u32,
    /// Whether typed answers use the server's constrained decoding ([`StructuredOutput`]).
    pub structured_output: StructuredOutput,
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("max_tokens", &self.max_tokens)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .field("structured_output", &self.structured_output)
            .finish()
    }
}

impl ModelConfig {
    /// A configuration for `model` at `provider`, with no key, the provider's
    /// default URL and default limits.
    pub fn new(provider: Provider, model: impl Into<String>) -> Self {
        ModelConfig {
            provider,
            model: model.into(),
            api_key: None,
            base_url: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            structured_output: StructuredOutput::None,
        }
    }

    /// Reads a model spec: `anthropic:<model>` or `openai:<model>` (the
    /// provider name is case-insensitive). Key and base URL are left unset.
    pub fn parse(spec: &str) -> Result<ModelConfig, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidSpec { spec: spec.to_owned(), reason: reason.to_owned() };
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let Some((provider, model)) = trimmed.split_once(':') else {
            return Err(invalid("it names no provider"));
        };
        let provider = match provider.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Provider::Anthropic,
            "openai" => Provider::OpenAi,
            other => return Err(invalid(&format!("unknown provider \"{other}\""))),
        };
        let model = model.trim();
        if model.is_empty() {
            return Err(invalid("it names no model"));
        }
        Ok(ModelConfig::new(provider, model))
    }

    /// Reads the configuration from the process environment; see
    /// [`ModelConfig::from_lookup`] for the rules.
    pub fn from_env() -> Result<Option<ModelConfig>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get`, which answers an environment
    /// variable's value (an empty value counts as unset):
    ///
    /// - `AOMI_MODEL` (`anthropic:<model>` | `openai:<model>`) picks the model;
    ///   the key and base URL come from `ANTHROPIC_API_KEY`/`ANTHROPIC_BASE_URL`
    ///   or `OPENAI_API_KEY`/`OPENAI_BASE_URL`.
    /// - Without `AOMI_MODEL`: `anthropic:claude-sonnet-4-5` when
    ///   `ANTHROPIC_API_KEY` is set, else `openai:<OPENAI_MODEL or gpt-4o>` when
    ///   `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set, else `Ok(None)`: no model
    ///   is configured.
    ///
    /// An Anthropic model without a key is an error; an OpenAI model needs a
    /// key or a base URL (a local server often needs no key).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<ModelConfig>, ConfigError> {
        let var = |name: &str| get(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let mut config = match var("AOMI_MODEL") {
            Some(spec) => Self::parse(&spec)?,
            None => {
                if var(Provider::Anthropic.api_key_var()).is_some() {
                    ModelConfig::new(Provider::Anthropic, DEFAULT_ANTHROPIC_MODEL)
                } else if var(Provider::OpenAi.api_key_var()).is_some()
                    || var(Provider::OpenAi.base_url_var()).is_some()
                {
                    let model = var("OPENAI_MODEL").unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned());
                    ModelConfig::new(Provider::OpenAi, model)
                } else {
                    return Ok(None);
                }
            }
        };
        config.api_key = var(config.provider.api_key_var());
        config.base_url = var(config.provider.base_url_var());
        config.validate()?;
        Ok(Some(config))
    }

    /// The utility model for typed subroutines (the route of side jobs such as titles), read
    /// through `get` like [`ModelConfig::from_lookup`]:
    ///
    /// - `AOMI_UTILITY_MODEL` (`anthropic:<model>` | `openai:<model>`) picks it;
    /// - `AOMI_UTILITY_BASE_URL` and `AOMI_UTILITY_API_KEY`, when set, win over the provider's
    ///   variables, so the chat and the utility model can be two servers of one provider (a
    ///   hosted chat model and a local small model);
    /// - `AOMI_UTILITY_MAX_TOKENS` caps its answers (default 8192: typed answers are short, and
    ///   a small local model may ramble until the cap);
    /// - `AOMI_UTILITY_STRUCTURED_OUTPUT` (`none`, `json_schema`, `json_object`; default `none`)
    ///   says whether and in which form the server takes a JSON schema to constrain its answer
    ///   ([`StructuredOutput`]).
    ///
    /// `Ok(None)` when `AOMI_UTILITY_MODEL` is unset: callers then use the main model.
    pub fn utility_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<ModelConfig>, ConfigError> {
        let var = |name: &str| get(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let Some(spec) = var("AOMI_UTILITY_MODEL") else { return Ok(None) };
        let mut config = Self::parse(&spec)?;
        config.api_key = var("AOMI_UTILITY_API_KEY").or_else(|| var(config.provider.api_key_var()));
        config.base_url = var("AOMI_UTILITY_BASE_URL").or_else(|| var(config.provider.base_url_var()));
        if let Some(setting) = var("AOMI_UTILITY_STRUCTURED_OUTPUT") {
            config.structured_output = setting.parse()?;
        }
        if let Some(tokens) = var("AOMI_UTILITY_MAX_TOKENS") {
            config.max_tokens = tokens
                .parse()
                .ok()
                .filter(|tokens| *tokens > 0)
                .ok_or(ConfigError::InvalidMaxTokens { value: tokens })?;
        }
        config.validate()?;
        Ok(Some(config))
    }

    /// Checks that the configuration can reach its model: a key where one is
    /// needed, and a well-formed base URL.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.base_url {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return Err(ConfigError::InvalidBaseUrl { var: self.provider.base_url_var(), url: url.clone() });
            }
        }
        if self.provider != Provider::OpenAi && self.structured_output != StructuredOutput::None {
            return Err(ConfigError::StructuredOutputUnsupported {
                setting: self.structured_output.as_str(),
                spec: self.spec(),
            });
        }
        let has_key = self.api_key.as_deref().is_some_and(|key| !key.is_empty());
        match self.provider {
            Provider::Anthropic if !has_key => Err(ConfigError::MissingApiKey {
                provider: Provider::Anthropic,
                model: self.model.clone(),
                var: Provider::Anthropic.api_key_var(),
            }),
            Provider::OpenAi if !has_key && self.base_url.is_none() => {
                Err(ConfigError::MissingOpenAiEndpoint { model: self.model.clone() })
            }
            _ => Ok(()),
        }
    }

    /// The model spec: `anthropic:claude-sonnet-4-5`.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_providers() {
        let anthropic = ModelConfig::parse("anthropic:claude-sonnet-4-5");
        assert_eq!(
            anthropic.as_ref().map(|c| (c.provider, c.model.as_str())),
            Ok((Provider::Anthropic, "claude-sonnet-4-5"))
        );
        let openai = ModelConfig::parse(" OpenAI:llama3.1:8b ");
        assert_eq!(openai.as_ref().map(|c| (c.provider, c.model.as_str())), Ok((Provider::OpenAi, "llama3.1:8b")));
        let defaults = ModelConfig::parse("openai:gpt-4o");
        assert_eq!(
            defaults.map(|c| (c.max_tokens, c.idle_timeout, c.max_retries, c.api_key, c.base_url)),
            Ok((DEFAULT_MAX_TOKENS, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_RETRIES, None, None))
        );
    }

    #[test]
    fn rejects_bad_specs_listing_the_forms() {
        for spec in ["claude-sonnet-4-5", "gemini:pro", "anthropic:", "", "openai:  "] {
            let error = ModelConfig::parse(spec).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("anthropic:<model>") && error.contains("openai:<model>"), "{spec}: {error}");
        }
        let unknown = ModelConfig::parse("gemini:pro").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(unknown.contains("unknown provider \"gemini\""), "{unknown}");
    }

    #[test]
    fn debug_redacts_the_key() {
        let mut config = ModelConfig::new(Provider::Anthropic, "m");
        config.api_key = Some("sk-secret".into());
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
    }

    #[test]
    fn spec_round_trips() {
        assert_eq!(ModelConfig::new(Provider::OpenAi, "gpt-4o").spec(), "openai:gpt-4o");
    }
}
