//! [`ChatStore`] on SQL: chats, messages, owners, search.

use aomi_core::{Address, ChatMessage};
use async_trait::async_trait;
use sqlx::Database;

use super::{Inner, SqlStore};
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{ChatPage, ChatQuery, ChatRecord, ChatStore, NewChat, SearchHit, SearchQuery, StoreError, UserRecord};

/// What storing a message does when the chat holds one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Existing {
    /// Replace its content (a message saved again as it grows).
    Replace,
    /// Keep it and write nothing (a new message must have a new id).
    Keep,
}

/// What a turn's start reads of its chat ([`Inner::chat_at_start_in`]).
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
    /// Creates the chat if it is new (and its owner's user row), inside a transaction; see
    /// [`ChatStore::ensure_chat`]. On PostgreSQL the upsert locks the chat's row. `touch` sets an
    /// existing chat's `updated_at` too, as storing a message does (see
    /// [`Inner::insert_message_in`]).
    pub(super) async fn upsert_chat_in(
        &self,
        conn: &mut Conn<D>,
        chat: &NewChat,
        touch: bool,
    ) -> Result<(), StoreError> {
        let owner = chat.owner.map(|owner| owner.to_lowercase_hex());
        let chain_id = chat.chain_id.map(values::chain_id).transpose()?;
        let now = Time(values::now());
        if let Some(owner) = &owner {
            Sql::<D::Db>::new(
                "INSERT INTO users (address, first_seen, last_seen) VALUES ($1, $2, $2)
                 ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
            )
            .bind(owner.as_str())
            .bind(now)
            .execute(conn)
            .await?;
        }
        Sql::<D::Db>::new(
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
        .bind(touch)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The chat as a turn's start reads it, in one statement inside its transaction: with the
    /// number of messages it holds (its size checked without a statement of its own) and whether
    /// any of its turns is marked running (when none is, the claim reads no turn).
    pub(super) async fn chat_at_start_in(&self, conn: &mut Conn<D>, chat_id: &str) -> Result<ChatAtStart, StoreError> {
        let row = self.live(&self.sql.chat_at_start).bind(chat_id).fetch_one(conn).await?;
        Ok(ChatAtStart {
            chat: chat_record::<D>(&row)?,
            messages: values::count(row.col("messages")?)?,
            any_running: row.col("any_running")?,
        })
    }

    /// The chat's messages, oldest first, on `conn`; see [`ChatStore::messages`].
    pub(super) async fn messages_in(conn: &mut Conn<D>, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let rows =
            Sql::<D::Db>::new("SELECT id, role, parts, metadata FROM messages WHERE chat_id = $1 ORDER BY ordinal")
                .bind(chat_id)
                .fetch_all(conn)
                .await?;
        rows.iter().map(message::<D>).collect()
    }

    /// Stores `message` in the chat inside a transaction; see [`ChatStore::put_message`].
    pub(super) async fn put_message_in(
        &self,
        conn: &mut Conn<D>,
        chat_id: &str,
        message: &ChatMessage,
    ) -> Result<(), StoreError> {
        self.write_message_in(conn, chat_id, message, Existing::Replace).await.map(|_| ())
    }

    /// Stores `message` in the chat inside a transaction, a message of the same id handled as
    /// `existing` says. Returns whether the message was written (`false`: kept as it was).
    pub(super) async fn write_message_in(
        &self,
        conn: &mut Conn<D>,
        chat_id: &str,
        message: &ChatMessage,
        existing: Existing,
    ) -> Result<bool, StoreError> {
        let now = Time(values::now());
        // Locks the chat's row: writers of one chat queue here, so the next ordinal is computed once.
        let touched = Sql::<D::Db>::new("UPDATE chats SET updated_at = $2 WHERE id = $1")
            .bind(chat_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        if touched == 0 {
            return Err(StoreError::ChatNotFound(chat_id.to_owned()));
        }
        Self::insert_message_in(conn, chat_id, message, existing, now).await
    }

    /// [`Inner::write_message_in`] in a transaction that has already touched the chat's row (and
    /// so holds its lock): the message alone, one statement fewer, stored at `now`.
    pub(super) async fn insert_message_in(
        conn: &mut Conn<D>,
        chat_id: &str,
        message: &ChatMessage,
        existing: Existing,
        now: Time,
    ) -> Result<bool, StoreError> {
        // The message goes at the chat's next ordinal; the statements differ in what a conflict does.
        macro_rules! insert_message {
            ($on_conflict:literal) => {
                concat!(
                    "INSERT INTO messages (chat_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
                     VALUES ($1, $2, (SELECT COALESCE(MAX(ordinal) + 1, 0) FROM messages WHERE chat_id = $1), $3, $4, $5, $6, $7, $7)
                     ON CONFLICT (chat_id, id) ",
                    $on_conflict
                )
            };
        }
        let statement = match existing {
            Existing::Replace => insert_message!(
                "DO UPDATE SET parts = excluded.parts, metadata = excluded.metadata, text = excluded.text,
                     updated_at = excluded.updated_at"
            ),
            Existing::Keep => insert_message!("DO NOTHING"),
        };
        let written = Sql::<D::Db>::new(statement)
            .bind(chat_id)
            .bind(message.id.as_str())
            .bind(message.role.as_str())
            .bind(JsonText::encode(&message.parts)?)
            .bind(message.metadata.as_ref().map(JsonText::encode).transpose()?)
            .bind(D::text(&values::searchable_text(message)).into_owned())
            .bind(now)
            .execute(conn)
            .await?;
        Ok(written > 0)
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
            let mut tx = db.begin().await?;
            db.upsert_chat_in(&mut tx, &chat, false).await?;
            let row = db.live(&db.sql.chat_by_id).bind(chat.id.as_str()).fetch_one(&mut *tx).await?;
            let record = chat_record::<D>(&row)?;
            tx.commit().await?;
            Ok(record)
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
            let mut tx = db.begin().await?;
            db.put_message_in(&mut tx, &chat_id, &message).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        Inner::<D>::messages_in(&mut *self.inner.reader().await?, chat_id).await
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
