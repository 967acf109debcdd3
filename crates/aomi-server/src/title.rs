//! Chat titles: made once per chat from its first exchange, in the background.

use std::sync::Arc;
use std::time::Duration;

use aomi_core::ChatMessage;
use aomi_llm::LlmClient;
use aomi_store::Store;

/// Longest title kept, in characters.
const MAX_TITLE_CHARS: usize = 80;

/// Longest title made from the first message, in characters (before the ellipsis).
const FIRST_MESSAGE_TITLE_CHARS: usize = 60;

/// How much of the exchange the model reads, in characters per side.
const EXCERPT_CHARS: usize = 1500;

/// How long the model may take before the first message is used instead.
const MODEL_TIMEOUT: Duration = Duration::from_secs(30);

const PROMPT: &str = "You name chat conversations. Give a title of at most six words that says what the \
                      conversation is about, in the language of the user: no quotes, no final period.";

/// The title, as the model answers it: a typed subroutine, so that a server with constrained
/// decoding (`AOMI_UTILITY_STRUCTURED_OUTPUT`) can only answer this shape.
#[derive(Debug, serde::Deserialize, aomi_llm::schemars::JsonSchema)]
#[schemars(crate = "aomi_llm::schemars")]
struct ChatTitle {
    /// At most six words saying what the conversation is about.
    title: String,
}

/// How titles are made.
#[derive(Debug, Clone, Default)]
pub enum Titler {
    /// A model call; the first message when it fails or answers nothing usable.
    Model(LlmClient),
    /// The first message, cut at a word boundary.
    #[default]
    FirstMessage,
}

impl Titler {
    /// Sets the chat's title from its first exchange, unless it has one by then. Errors are
    /// logged: a missing title is not worth a failure.
    pub(crate) async fn title_chat(
        &self,
        store: Arc<dyn Store>,
        chat_id: String,
        user: ChatMessage,
        answer: ChatMessage,
    ) {
        let title = self.title(&user.text(), &answer.text()).await;
        if title.is_empty() {
            return;
        }
        match store.set_title_if_missing(&chat_id, &title).await {
            Ok(set) => tracing::debug!(%chat_id, set, "chat title"),
            Err(error) => tracing::warn!(%chat_id, %error, "could not store the chat title"),
        }
    }

    async fn title(&self, user: &str, answer: &str) -> String {
        if let Titler::Model(model) = self {
            let exchange = format!(
                "User: {}\n\nAssistant: {}\n\nTitle:",
                excerpt(user, EXCERPT_CHARS),
                excerpt(answer, EXCERPT_CHARS)
            );
            match tokio::time::timeout(MODEL_TIMEOUT, model.run_subroutine::<ChatTitle>(PROMPT, &exchange)).await {
                Ok(Ok(answer)) => {
                    if let Some(title) = clean(&answer.title) {
                        return title;
                    }
                }
                Ok(Err(error)) => tracing::warn!(%error, "the model could not title the chat"),
                Err(_) => tracing::warn!("the model took too long to title the chat"),
            }
        }
        from_first_message(user)
    }
}

/// The first usable line of a model's answer, without quotes, a `Title:` prefix or a final period.
fn clean(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    let line = line.strip_prefix("Title:").or_else(|| line.strip_prefix("title:")).unwrap_or(line);
    let line = line.trim().trim_matches(|c: char| matches!(c, '"' | '\'' | '*' | '#' | '`' | '“' | '”')).trim();
    let line = line.strip_suffix('.').unwrap_or(line).trim();
    (!line.is_empty()).then(|| excerpt(line, MAX_TITLE_CHARS))
}

/// The first message as a title: whitespace collapsed, cut at a word boundary.
pub(crate) fn from_first_message(text: &str) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    excerpt(&words, FIRST_MESSAGE_TITLE_CHARS)
}

/// At most `max` characters of `text`, cut at a word boundary when possible, `…` marking a cut.
fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > max / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_answers_are_cleaned() {
        assert_eq!(clean("\n\"Swapping USDC for ETH.\"\nmore").as_deref(), Some("Swapping USDC for ETH"));
        assert_eq!(clean("Title: **Gas prices**").as_deref(), Some("Gas prices"));
        assert_eq!(clean("  \n \" \" "), None);
    }

    #[test]
    fn first_messages_are_cut_at_a_word() {
        assert_eq!(from_first_message("  what   time is it? "), "what time is it?");
        let long = "please tell me everything about the uniswap v3 pool of usdc and weth on mainnet today";
        let title = from_first_message(long);
        assert!(title.ends_with('…') && title.chars().count() <= FIRST_MESSAGE_TITLE_CHARS + 1, "{title}");
        assert!(long.starts_with(title.trim_end_matches('…')));
        assert_eq!(from_first_message(&"é".repeat(100)).chars().count(), FIRST_MESSAGE_TITLE_CHARS + 1);
    }
}
