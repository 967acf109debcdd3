//! Typed one-shot subroutines: a model call whose answer is a value of a Rust type.
//!
//! Small jobs (a chat title, pulling an amount and a token out of a sentence, classifying a
//! request) do not need the main model or a conversation: they go to the utility model
//! (`AOMI_UTILITY_MODEL`, a cheaper or local one) as one call that must answer with JSON matching
//! the type's schema. The answer is parsed into the type; an answer that does not parse is sent
//! back once with the parse error, so a model that slipped gets one chance to correct itself.
//!
//! The schema is always in the prompt. Where the model's configuration says its server supports
//! constrained decoding ([`StructuredOutput`](crate::StructuredOutput), `AOMI_UTILITY_STRUCTURED_OUTPUT`),
//! it also goes as the request's `response_format`, so that even a small local model can only
//! answer JSON of that shape.

use aomi_core::ChatMessage;
use rig::schemars::{JsonSchema, schema_for};
use serde::de::DeserializeOwned;

use crate::client::{LlmClient, ModelRequest};
use crate::error::LlmError;

/// How many times an answer that does not parse is sent back for correction.
const CORRECTIONS: usize = 1;

/// Why a subroutine produced no value.
#[derive(Debug, thiserror::Error)]
pub enum SubroutineError {
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] LlmError),
    /// The model's answers never matched the type.
    #[error("the model's answer is not a valid {type_name}: {reason}")]
    InvalidAnswer {
        /// The type asked for.
        type_name: &'static str,
        /// The last parse error.
        reason: String,
    },
}

impl LlmClient {
    /// Runs one subroutine: `instructions` say what to do with `input`; the answer must be a `T`.
    pub async fn run_subroutine<T: DeserializeOwned + JsonSchema>(
        &self,
        instructions: &str,
        input: &str,
    ) -> Result<T, SubroutineError> {
        self.run_checked_subroutine(instructions, input, |_: &T| Ok(())).await
    }

    /// Runs one subroutine whose answer must also pass `check` (rules a schema cannot say, such as
    /// "names one of these tools"): an answer that parses but fails it is sent back once with the
    /// reason, as one that does not parse is.
    pub async fn run_checked_subroutine<T: DeserializeOwned + JsonSchema>(
        &self,
        instructions: &str,
        input: &str,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, SubroutineError> {
        let schema_value = schema_for!(T).to_value();
        let schema = serde_json::to_string(&schema_value).unwrap_or_default();
        let system = format!(
            "{instructions}\n\nAnswer with one JSON value that matches this JSON schema, and nothing else \
             (no prose, no code fence):\n{schema}"
        );
        let mut messages = vec![ChatMessage::user_text("input", input)];
        let type_name = std::any::type_name::<T>().rsplit("::").next().unwrap_or("value");
        let mut reason = String::new();
        for attempt in 0..=CORRECTIONS {
            // The schema also goes as `response_format` where the model's configuration says its
            // server constrains the answer to it (ignored otherwise).
            let request =
                ModelRequest::new(system.clone(), messages.clone()).with_response_schema(schema_value.clone());
            let answer = self.complete(request).await?;
            match parse_answer::<T>(&answer).and_then(|value| check(&value).map(|()| value)) {
                Ok(value) => return Ok(value),
                Err(error) => {
                    reason = error;
                    tracing::debug!(attempt, %reason, "subroutine answer did not parse");
                    let mut wrong = ChatMessage::assistant(format!("answer-{attempt}"));
                    wrong.parts.push(aomi_core::MessagePart::text(answer));
                    messages.push(wrong);
                    messages.push(ChatMessage::user_text(
                        format!("correction-{attempt}"),
                        format!("That answer is not valid: {reason}. Answer again with only the JSON value."),
                    ));
                }
            }
        }
        Err(SubroutineError::InvalidAnswer { type_name, reason })
    }
}

/// Parses an answer, tolerating a Markdown code fence or prose around one JSON value.
fn parse_answer<T: DeserializeOwned>(answer: &str) -> Result<T, String> {
    let trimmed = answer.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    match serde_json::from_str(unfenced) {
        Ok(value) => Ok(value),
        Err(first) => {
            // A value embedded in prose: from the first opening bracket to the last closing one.
            let start = unfenced.find(['{', '[']);
            let end = unfenced.rfind(['}', ']']);
            match (start, end) {
                (Some(start), Some(end)) if start < end => {
                    serde_json::from_str(&unfenced[start..=end]).map_err(|e| e.to_string())
                }
                _ => Err(first.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_answer;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Title {
        title: String,
    }

    #[test]
    fn answers_parse_plain_fenced_or_wrapped_in_prose() {
        let want = Title { title: "USDC balance".into() };
        assert_eq!(parse_answer::<Title>(r#"{"title":"USDC balance"}"#), Ok(want));
        assert!(parse_answer::<Title>("```json\n{\"title\":\"x\"}\n```").is_ok());
        assert!(parse_answer::<Title>("Sure! {\"title\":\"x\"} Hope that helps.").is_ok());
        assert!(parse_answer::<Title>(r#"{"name":"x"}"#).unwrap_err().contains("title"));
        assert!(parse_answer::<Title>("no json here").is_err());
    }
}
