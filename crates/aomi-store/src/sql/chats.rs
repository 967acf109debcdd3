//! [`ChatStore`] on SQL: chats, messages, owners, search.

use aomi_core::{Address, ChatMessage};
use async_trait::async_trait;
use sqlx::Database;

use super::{Inner, SqlStore};
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::script::{Ran, Script, ScriptError};
use crate::values;
use crate::{ChatPage, ChatQuery, ChatRecord, ChatStore, NewChat, SearchHit, SearchQuery, StoreError, UserRecord};

/// What storing a message does when the chat holds one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Existing {
    /// Replace its content (a message saved again as it grows).
    Replace,
    /// Refuse it: the insert fails as a unique violation (a new message must have a new id).
    Refuse,
}

/// What a turn's start reads of its chat ([`Inner::read_chat_at_start`]).
pub(super) struct ChatAtStart {
    /// The chat.
    pub(super) chat: ChatRecord,
    /// How many messages it holds.
    pub(super) messages: u64,
    /// Whether a turn of the chat is marked running, live or stale.
    pub(super) any_running: bool,
}

/// A connection of dialect `D`.
pub(super) type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// A row of dialect `D`.
type DbRow<D> = <<D as Dialect>::Db as Database>::Row;

impl<D: Dialect> Inner<D> {
    /// Adds the statements that create the chat if it is new (and its owner's user row) to
    /// `script`, for a transaction; see [`ChatStore::ensure_chat`]. On PostgreSQL the upsert
    /// locks the chat's row. `touch` sets an existing chat's `updated_at` too, as storing a
    /// message does (see [`Inner::write_message`]).
    pub(super) fn upsert_chat(script: &mut Script<D::Db>, chat: &NewChat, touch: bool) -> Result<(), StoreError> {
        let owner = chat.owner.map(|owner| owner.to_lowercase_hex());
        let chain_id = chat.chain_id.map(values::chain_id).transpose()?;
        let now = Time(values::now());
        if let Some(owner) = &owner {
            script
                .push(
                    "INSERT INTO users (address, first_seen, last_seen) VALUES ($1, $2, $2)
                     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
                )
                .bind(owner.as_str())
                .bind(now);
        }
        script
            .push(
                "INSERT INTO chats (id, owner, app, chain_id, model, created_at, updated_at) VALUES ($1, $2, $3, $4, $6, $5, $5)
                 ON CONFLICT (id) DO UPDATE SET chain_id = COALESCE(excluded.chain_id, chats.chain_id),
                     updated_at = CASE WHEN $7 THEN excluded.updated_at ELSE chats.updated_at END",
            )
            .bind(chat.id.as_str())
            .bind(owner)
            .bind(chat.app.as_str())
            .bind(chain_id)
            .bind(now)
            .bind(chat.model.as_deref())
            .bind(touch);
        Ok(())
    }

    /// Adds the read of the chat as a turn's start sees it to `script`: one statement, with the
    /// number of messages the chat holds (its size checked without a statement of its own) and
    /// whether any of its turns is marked running (when none is, the claim reads no turn). Its
    /// result is read by [`chat_at_start_of`].
    pub(super) fn read_chat_at_start(&self, script: &mut Script<D::Db>, chat_id: &str) {
        self.push_live(script, &self.sql.chat_at_start).bind(chat_id);
    }

    /// Adds the read of the chat's messages, oldest first, to `script`; see
    /// [`ChatStore::messages`]. Its result is read by [`messages_of`].
    pub(super) fn read_messages(script: &mut Script<D::Db>, chat_id: &str) {
        script.push("SELECT id, role, parts, metadata FROM messages WHERE chat_id = $1 ORDER BY ordinal").bind(chat_id);
    }

    /// Adds the statements that store `message` in the chat to `script`, a message of the same
    /// id handled as `existing` says: two statements, read by [`chat_was_there`] and their
    /// errors by [`message_error`] (first in their script).
    pub(super) fn write_message(
        script: &mut Script<D::Db>,
        chat_id: &str,
        message: &ChatMessage,
        existing: Existing,
    ) -> Result<(), StoreError> {
        let now = Time(values::now());
        // Locks the chat's row: writers of one chat queue here, so the next ordinal is computed once.
        script.push("UPDATE chats SET updated_at = $2 WHERE id = $1").bind(chat_id).bind(now);
        Self::insert_message(script, chat_id, message, existing, now)
    }

    /// [`Inner::write_message`]'s insert alone, for a transaction that has already touched the
    /// chat's row (and so holds its lock on PostgreSQL). `now` is its time.
    pub(super) fn insert_message(
        script: &mut Script<D::Db>,
        chat_id: &str,
        message: &ChatMessage,
        existing: Existing,
        now: Time,
    ) -> Result<(), StoreError> {
        // The message goes at the chat's next ordinal; the statements differ in what a conflict does.
        macro_rules! insert_message {
            ($on_conflict:literal) => {
                concat!(
                    "INSERT INTO messages (chat_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
                     VALUES ($1, $2, (SELECT COALESCE(MAX(ordinal) + 1, 0) FROM messages WHERE chat_id = $1), $3, $4, $5, $6, $7, $7)",
                    $on_conflict
                )
            };
        }
        let statement = match existing {
            Existing::Replace => insert_message!(
                " ON CONFLICT (chat_id, id) DO UPDATE SET parts = excluded.parts, metadata = excluded.metadata,
                     text = excluded.text, updated_at = excluded.updated_at"
            ),
            Existing::Refuse => insert_message!(""),
        };
        script
            .push(statement)
            .bind(chat_id)
            .bind(message.id.as_str())
            .bind(message.role.as_str())
            .bind(JsonText::encode(&message.parts)?)
            .bind(message.metadata.as_ref().map(JsonText::encode).transpose()?)
            .bind(D::text(&values::searchable_text(message)).into_owned())
            .bind(now);
        Ok(())
    }

    /// The message `message_id` of the chat, if stored.
    pub(super) async fn message_in(
        conn: &mut Conn<D>,
        chat_id: &str,
        message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT id, role, parts, metadata FROM messages WHERE chat_id = $1 AND id = $2")
            .bind(chat_id)
            .bind(message_id)
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(message::<D>).transpose()
    }
}

/// The chat as [`Inner::read_chat_at_start`] read it.
pub(super) fn chat_at_start_of<D: Dialect>(ran: &Ran<D::Db>) -> Result<ChatAtStart, StoreError> {
    let row = ran.rows.first().ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
    Ok(ChatAtStart {
        chat: chat_record::<D>(row)?,
        messages: values::count(row.col("messages")?)?,
        any_running: row.col("any_running")?,
    })
}

/// The messages as [`Inner::read_messages`] read them.
pub(super) fn messages_of<D: Dialect>(ran: &Ran<D::Db>) -> Result<Vec<ChatMessage>, StoreError> {
    ran.rows.iter().map(message::<D>).collect()
}

/// The chat of [`Inner::write_message`]'s statements, the first of the script that `ran`, was
/// there (its touch changed a row), else [`StoreError::ChatNotFound`].
pub(super) fn chat_was_there<DB: crate::engine::Engine>(ran: &[Ran<DB>], chat_id: &str) -> Result<(), StoreError> {
    match ran.first() {
        Some(touched) if touched.changed > 0 => Ok(()),
        _ => Err(StoreError::ChatNotFound(chat_id.to_owned())),
    }
}

/// The error of a script that begins with [`Inner::write_message`]'s statements: a message
/// inserted into a chat that is not there (its second statement) is [`StoreError::ChatNotFound`].
pub(super) fn message_error(error: ScriptError, chat_id: &str) -> StoreError {
    match error {
        ScriptError { at: 1, error } if values::is_foreign_key_violation(&error) => {
            StoreError::ChatNotFound(chat_id.to_owned())
        }
        ScriptError { error, .. } => error.into(),
    }
}

fn chat_record<D: Dialect>(row: &DbRow<D>) -> Result<ChatRecord, StoreError> {
    Ok(ChatRecord {
        id: row.col("id")?,
        owner: row.col::<Option<String>>("owner")?.as_deref().map(values::stored_address).transpose()?,
        app: row.col("app")?,
        title: row.col("title")?,
        chain_id: row.col::<Option<i64>>("chain_id")?.map(values::chain_id_from).transpose()?,
        created_at: row.col::<Time>("created_at")?.0,
        updated_at: row.col::<Time>("updated_at")?.0,
        archived: row.col("archived")?,
        running: row.col("running")?,
        model: row.col("model")?,
    })
}

fn message<D: Dialect>(row: &DbRow<D>) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        id: row.col("id")?,
        role: values::role(&row.col::<String>("role")?)?,
        parts: row.col::<JsonText>("parts")?.decode("message parts")?,
        metadata: row.col::<Option<JsonText>>("metadata")?.map(|m| m.decode("message metadata")).transpose()?,
    })
}

fn search_hit<D: Dialect>(row: &DbRow<D>) -> Result<SearchHit, StoreError> {
    Ok(SearchHit {
        chat_id: row.col("chat_id")?,
        chat_title: row.col("title")?,
        archived: row.col("archived")?,
        message_id: row.col("id")?,
        role: values::role(&row.col::<String>("role")?)?,
        snippet: row.col("snippet")?,
        created_at: row.col::<Time>("created_at")?.0,
    })
}

impl<D: Dialect> SqlStore<D> {
    /// A statement on one chat that fails with [`StoreError::ChatNotFound`] when it changes nothing.
    async fn update_chat(&self, id: &str, statement: Sql<D::Db>) -> Result<(), StoreError> {
        self.update_one(statement, StoreError::ChatNotFound(id.to_owned())).await
    }
}

#[async_trait]
impl<D: Dialect> ChatStore for SqlStore<D> {
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError> {
        self.write(move |db| async move {
            let mut script = db.script();
            Inner::<D>::upsert_chat(&mut script, &chat, false)?;
            db.push_live(&mut script, &db.sql.chat_by_id).bind(chat.id.as_str());
            let ran = db.transact(script, StoreError::from).await?;
            let row = ran.last().and_then(|read| read.rows.first()).ok_or(sqlx::Error::RowNotFound)?;
            chat_record::<D>(row)
        })
        .await
    }

    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        let db = &self.inner;
        let row = db.live(&db.sql.chat_by_id).bind(id).fetch_optional(&mut *db.reader().await?).await?;
        row.as_ref().map(chat_record::<D>).transpose()
    }

    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
        let (chat_id, message) = (chat_id.to_owned(), message.clone());
        self.write(move |db| async move {
            let mut script = db.script();
            Inner::<D>::write_message(&mut script, &chat_id, &message, Existing::Replace)?;
            let ran = db.transact(script, |error| message_error(error, &chat_id)).await?;
            chat_was_there(&ran, &chat_id)
        })
        .await
    }

    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let mut script = self.inner.script();
        Inner::<D>::read_messages(&mut script, chat_id);
        let ran = script.run(&mut *self.inner.reader().await?).await?;
        ran.first().map_or(Ok(Vec::new()), messages_of::<D>)
    }

    async fn message_count(&self, chat_id: &str) -> Result<u64, StoreError> {
        let row = Sql::<D::Db>::new("SELECT COUNT(*) AS n FROM messages WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_one(&mut *self.inner.reader().await?)
            .await?;
        values::count(row.col("n")?)
    }

    async fn list_chats(&self, query: &ChatQuery) -> Result<ChatPage, StoreError> {
        let limit = values::limit(query.limit)?;
        let db = &self.inner;
        let rows = db
            .live(&db.sql.chats_page)
            .bind(query.owner.to_lowercase_hex())
            .bind(query.archived)
            .bind(query.after.as_ref().map(|cursor| Time(cursor.updated_at)))
            .bind(query.after.as_ref().map(|cursor| cursor.id.as_str()))
            .bind(limit + 1)
            .fetch_all(&mut *db.reader().await?)
            .await?;
        let mut chats = rows.iter().map(chat_record::<D>).collect::<Result<Vec<_>, _>>()?;
        let next = values::page_end(&mut chats, limit);
        Ok(ChatPage { chats, next })
    }

    async fn rename_chat(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let statement =
            Sql::new("UPDATE chats SET title = $2 WHERE id = $1").bind(id).bind(D::text(title).into_owned());
        self.update_chat(id, statement).await
    }

    async fn set_title_if_missing(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        let statement = Sql::<D::Db>::new("UPDATE chats SET title = $2 WHERE id = $1 AND title IS NULL")
            .bind(id)
            .bind(D::text(title).into_owned());
        self.write(move |db| async move { Ok(statement.execute(&mut *db.writer().await?).await? == 1) }).await
    }

    async fn set_archived(&self, id: &str, archived: bool) -> Result<(), StoreError> {
        self.update_chat(id, Sql::new("UPDATE chats SET archived = $2 WHERE id = $1").bind(id).bind(archived)).await
    }

    async fn delete_chat(&self, id: &str) -> Result<(), StoreError> {
        self.update_chat(id, Sql::new("DELETE FROM chats WHERE id = $1").bind(id)).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let limit = values::limit(query.limit)?;
        let terms = values::search_terms(&query.text)?;
        let rows = Sql::<D::Db>::new(D::SEARCH)
            .bind(D::search_query(&terms))
            .bind(query.owner.to_lowercase_hex())
            .bind(limit)
            .fetch_all(&mut *self.inner.reader().await?)
            .await?;
        rows.iter().map(search_hit::<D>).collect()
    }

    async fn user(&self, address: Address) -> Result<Option<UserRecord>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT address, first_seen, last_seen FROM users WHERE address = $1")
            .bind(address.to_lowercase_hex())
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.map(|row| {
            Ok(UserRecord {
                address: values::stored_address(&row.col::<String>("address")?)?,
                first_seen: row.col::<Time>("first_seen")?.0,
                last_seen: row.col::<Time>("last_seen")?.0,
            })
        })
        .transpose()
    }
}
