//! Checks and conversions of values, the same on every database.

use aomi_core::{Address, ChatMessage, MessagePart, Role};
use chrono::{DateTime, Utc};

use crate::{ChatCursor, ChatRecord, MAX_PAGE, NewTransaction, StoreError};

/// Now, to the microsecond: what both databases keep, so a value reads back equal.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A stored address read back: written lower case by this store, so anything else is corruption.
pub(crate) fn stored_address(text: &str) -> Result<Address, StoreError> {
    Address::parse(text).map_err(|e| StoreError::Corrupt(format!("stored address: {e}")))
}

/// Chain ids are stored as signed 64-bit integers; every real chain id fits (EIP-2294).
pub(crate) fn chain_id(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::InvalidInput(format!("chain id {id} is too large")))
}

pub(crate) fn chain_id_from(id: i64) -> Result<u64, StoreError> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative chain id {id}")))
}

/// A `COUNT(*)` read back (a signed 64-bit integer on both databases).
pub(crate) fn count(stored: i64) -> Result<u64, StoreError> {
    u64::try_from(stored).map_err(|_| StoreError::Corrupt(format!("a negative count {stored}")))
}

pub(crate) fn limit(limit: u32) -> Result<i64, StoreError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(i64::from(limit))
    } else {
        Err(StoreError::InvalidInput(format!("limit must be between 1 and {MAX_PAGE}, not {limit}")))
    }
}

pub(crate) fn role(text: &str) -> Result<Role, StoreError> {
    match text {
        "system" => Ok(Role::System),
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        other => Err(StoreError::Corrupt(format!("unknown role \"{other}\""))),
    }
}

/// The searchable text of a message: its text parts, one per line.
pub(crate) fn searchable_text(message: &ChatMessage) -> String {
    let texts: Vec<&str> = message
        .parts
        .iter()
        .filter_map(|part| match part {
            MessagePart::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n")
}

/// The words of a search, lower case: runs of letters and digits, at most eight.
pub(crate) fn search_terms(text: &str) -> Result<Vec<String>, StoreError> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .take(8)
        .collect();
    if terms.is_empty() {
        return Err(StoreError::InvalidInput("the search needs at least one word (letters or digits)".into()));
    }
    Ok(terms)
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored {what} does not parse: {e}")))
}

/// The message an interrupted turn leaves: what it had stored, or an empty answer, marked
/// incomplete.
pub(crate) fn interrupted(stored: Option<ChatMessage>, message_id: &str) -> ChatMessage {
    let mut message = stored.unwrap_or_else(|| ChatMessage::assistant(message_id));
    message.mark_incomplete();
    message
}

/// True when the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// True when the error is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Cuts a page fetched with one row too many; returns the cursor of the next page if there is one.
pub(crate) fn page_end(chats: &mut Vec<ChatRecord>, limit: i64) -> Option<ChatCursor> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if chats.len() <= limit {
        return None;
    }
    chats.truncate(limit);
    chats.last().map(|last| ChatCursor { updated_at: last.updated_at, id: last.id.clone() })
}

pub(crate) fn seq_to_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::InvalidInput(format!("part number {seq} is too large")))
}

/// The error of a failed transaction insert, in the caller's terms.
pub(crate) fn transaction_insert_error(error: sqlx::Error, transaction: &NewTransaction) -> StoreError {
    if is_foreign_key_violation(&error) {
        StoreError::ChatNotFound(transaction.chat_id.clone())
    } else if is_unique_violation(&error) {
        StoreError::InvalidInput(format!("a transaction request with id {} is already recorded", transaction.id))
    } else {
        error.into()
    }
}
