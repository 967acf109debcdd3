//! What a turn looks like in Telegram: its parts as plain text, cut into messages Telegram takes.
//!
//! The bot sends plain text (no `parse_mode`), so nothing the model writes can break a message's
//! markup or need escaping; Telegram still makes links clickable. A message holds at most
//! [`MAX_MESSAGE`] UTF-16 code units (Telegram's count, in which an emoji outside the BMP is
//! two): a longer answer is cut into several, at a line break where one is near, never inside
//! a character.

use aomi_core::UiChunk;
use serde_json::Value;

/// Telegram's limit on a message's text, in UTF-16 code units.
pub const MAX_MESSAGE: usize = 4096;

/// The longest tool summary shown on a tool's line.
const MAX_SUMMARY: usize = 200;

/// Cuts `text` into pieces of at most `max` UTF-16 code units, each cut at the last line break
/// (else space) in the piece's second half, else where the limit falls; no piece is empty.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let max = max.max(2);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut units = 0;
        let mut end = rest.len();
        for (index, ch) in rest.char_indices() {
            if units + ch.len_utf16() > max {
                end = index;
                break;
            }
            units += ch.len_utf16();
        }
        if end < rest.len() {
            let half = rest[..end].char_indices().nth(rest[..end].chars().count() / 2).map_or(0, |(i, _)| i);
            let window = &rest[half..end];
            if let Some(cut) = window.rfind('\n').or_else(|| window.rfind(' ')) {
                end = half + cut + 1;
            }
        }
        let (piece, tail) = rest.split_at(end);
        if !piece.trim().is_empty() {
            pieces.push(piece.to_owned());
        }
        rest = tail;
    }
    pieces
}

/// `text` cut to `max` characters, with "…" when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

/// A line of the answer, started on a fresh line.
fn line(text: String) -> String {
    format!("\n{text}\n")
}

/// How a part shows in the answer's text (empty for parts that show nothing); `review` is the
/// page's link to the chat, where a wallet request is reviewed and signed.
pub fn render(chunk: &UiChunk, review: Option<&str>) -> String {
    match chunk {
        UiChunk::TextDelta { delta, .. } => delta.clone(),
        UiChunk::ToolInputAvailable { tool_name, .. } => line(format!("⚙ {tool_name}")),
        UiChunk::ToolOutputAvailable { output, .. } => {
            let summary = output.get("summary").and_then(Value::as_str).map(str::to_owned);
            line(format!("✓ {}", short(&summary.unwrap_or_else(|| output.to_string()), MAX_SUMMARY)))
        }
        UiChunk::ToolOutputError { error_text, .. } => line(format!("✗ {}", short(error_text, MAX_SUMMARY))),
        UiChunk::Data { name, data, .. } if name == "network" => line(format!(
            "⇄ now on {} (chain id {})",
            data.get("name").and_then(Value::as_str).unwrap_or("?"),
            data.get("chainId").and_then(Value::as_u64).unwrap_or_default()
        )),
        UiChunk::Data { name, data, .. } if name == "wallet-request" => {
            let summary = data.get("summary").and_then(Value::as_str).unwrap_or("a transaction");
            let link = match review {
                Some(link) => {
                    format!("Review and sign it on the page (your wallet signs there, never in Telegram):\n{link}")
                }
                None => "Open aomi's page to review and sign it (the bot has no public page URL set).".to_owned(),
            };
            line(format!("⏳ {summary}\n{link}"))
        }
        UiChunk::Error { error_text } => line(format!("⚠ {error_text}")),
        UiChunk::Abort { .. } => line("[stopped]".to_owned()),
        _ => String::new(),
    }
}

/// The chain id a `data-network` part moved the chat to, if it is one.
pub fn switched_chain(chunk: &UiChunk) -> Option<u64> {
    match chunk {
        UiChunk::Data { name, data, .. } if name == "network" => data.get("chainId").and_then(Value::as_u64),
        _ => None,
    }
}

/// The answer's text as it is sent: blank lines squeezed, trimmed.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0;
    for ch in text.trim().chars() {
        if ch == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else {
            newlines = 0;
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn units(text: &str) -> usize {
        text.encode_utf16().count()
    }

    #[test]
    fn a_long_text_is_cut_at_line_breaks_within_the_limit() {
        let paragraph = "word ".repeat(30) + "\n";
        let text = paragraph.repeat(100);
        let pieces = split(&text, MAX_MESSAGE);
        assert!(pieces.len() >= 4, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|p| units(p) <= MAX_MESSAGE));
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.ends_with('\n')), "cut at a line break");
        assert_eq!(pieces.concat(), text, "nothing lost");
    }

    #[test]
    fn emoji_count_as_two_units_and_are_never_cut() {
        let text = "🦀".repeat(3000); // 6000 UTF-16 units, no break anywhere
        let pieces = split(&text, MAX_MESSAGE);
        assert_eq!(pieces.len(), 2);
        assert_eq!(units(&pieces[0]), MAX_MESSAGE);
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn a_short_text_is_one_piece_and_blank_is_none() {
        assert_eq!(split("hello", MAX_MESSAGE), vec!["hello".to_owned()]);
        assert!(split("", MAX_MESSAGE).is_empty());
    }

    #[test]
    fn markup_characters_pass_as_plain_text() {
        // No parse_mode: what the model writes is shown as written.
        let chunk = UiChunk::TextDelta { id: "t".into(), delta: "*bold* _x_ [a](b) <b>".into() };
        assert_eq!(render(&chunk, None), "*bold* _x_ [a](b) <b>");
    }

    #[test]
    fn tidy_squeezes_blank_lines() {
        assert_eq!(tidy("\n\na\n\n\n\nb\n"), "a\n\nb");
    }
}
