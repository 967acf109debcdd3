//! [`BranchStore`] on SQL, and the set-aside of a line that an edited message starts.

use async_trait::async_trait;

use super::chats::Conn;
use super::{Inner, SqlStore};
use crate::dialect::{Dialect, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{BranchRecord, BranchStore, Fork, StoreError};

impl<D: Dialect> Inner<D> {
    /// Sets aside the chat's line from user message `message_id` on, inside a transaction: the
    /// messages move to a new branch that follows the message before it.
    pub(super) async fn set_aside_in(
        &self,
        conn: &mut Conn<D>,
        chat_id: &str,
        message_id: &str,
    ) -> Result<(), StoreError> {
        let row = Sql::<D::Db>::new(
            "SELECT CAST(ordinal AS BIGINT) AS ordinal, role FROM messages WHERE chat_id = $1 AND id = $2",
        )
        .bind(chat_id)
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await?;
        let not_on_line =
            || StoreError::InvalidInput(format!("message {message_id} is not a user message of this chat"));
        let Some(row) = row else { return Err(not_on_line()) };
        if row.col::<String>("role")? != "user" {
            return Err(not_on_line());
        }
        let ordinal: i64 = row.col("ordinal")?;
        self.move_line_out(conn, chat_id, ordinal).await
    }

    /// Moves the line's messages from `ordinal` on into a new branch (nothing when there are
    /// none).
    async fn move_line_out(&self, conn: &mut Conn<D>, chat_id: &str, ordinal: i64) -> Result<(), StoreError> {
        let parent = Sql::<D::Db>::new("SELECT id FROM messages WHERE chat_id = $1 AND ordinal = $2")
            .bind(chat_id)
            .bind(ordinal - 1)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.col::<String>("id"))
            .transpose()?;
        let branch_id = format!("br_{}", uuid::Uuid::new_v4().simple());
        Sql::<D::Db>::new("INSERT INTO branches (id, chat_id, parent_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(branch_id.as_str())
            .bind(chat_id)
            .bind(parent)
            .bind(Time(values::now()))
            .execute(&mut *conn)
            .await?;
        // (The column lists of the two tables are the same.)
        let moved = Sql::<D::Db>::new(
            "INSERT INTO branch_messages (branch_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
             SELECT $1, id, ordinal, role, parts, metadata, text, created_at, updated_at
             FROM messages WHERE chat_id = $2 AND ordinal >= $3",
        )
        .bind(branch_id.as_str())
        .bind(chat_id)
        .bind(ordinal)
        .execute(&mut *conn)
        .await?;
        if moved == 0 {
            Sql::<D::Db>::new("DELETE FROM branches WHERE id = $1")
                .bind(branch_id.as_str())
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        Sql::<D::Db>::new("DELETE FROM messages WHERE chat_id = $1 AND ordinal >= $2")
            .bind(chat_id)
            .bind(ordinal)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> BranchStore for SqlStore<D> {
    async fn branches(&self, chat_id: &str) -> Result<Vec<BranchRecord>, StoreError> {
        let rows = Sql::<D::Db>::new(
            "SELECT b.id, b.parent_id, b.created_at, first.id AS first_id, first.created_at AS first_created_at,
                    (SELECT COUNT(*) FROM branch_messages m WHERE m.branch_id = b.id) AS messages
             FROM branches b
             JOIN branch_messages first ON first.branch_id = b.id
                 AND first.ordinal = (SELECT MIN(ordinal) FROM branch_messages m WHERE m.branch_id = b.id)
             WHERE b.chat_id = $1
             ORDER BY b.created_at, b.id",
        )
        .bind(chat_id)
        .fetch_all(&mut *self.inner.reader().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BranchRecord {
                    id: row.col("id")?,
                    parent_id: row.col("parent_id")?,
                    first_message_id: row.col("first_id")?,
                    first_created_at: row.col::<Time>("first_created_at")?.0,
                    messages: values::count(row.col("messages")?)?,
                    created_at: row.col::<Time>("created_at")?.0,
                })
            })
            .collect()
    }

    async fn forks(&self, chat_id: &str) -> Result<Vec<Fork>, StoreError> {
        let branches = self.branches(chat_id).await?;
        if branches.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Sql::<D::Db>::new("SELECT id, created_at FROM messages WHERE chat_id = $1 ORDER BY ordinal")
            .bind(chat_id)
            .fetch_all(&mut *self.inner.reader().await?)
            .await?;
        let line = rows
            .iter()
            .map(|row| Ok((row.col::<String>("id")?, row.col::<Time>("created_at")?.0)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Each fork: its place on the line, and its alternatives with when each was first written.
        let mut forks: Vec<(usize, Vec<(chrono::DateTime<chrono::Utc>, Option<String>)>)> = Vec::new();
        for branch in branches {
            let place = match &branch.parent_id {
                None => 0,
                Some(parent) => match line.iter().position(|(id, _)| id == parent) {
                    Some(index) => index + 1,
                    None => continue,
                },
            };
            let Some((_, line_time)) = line.get(place) else { continue };
            match forks.iter_mut().find(|(at, _)| *at == place) {
                Some((_, alternatives)) => alternatives.push((branch.first_created_at, Some(branch.id))),
                None => forks.push((place, vec![(*line_time, None), (branch.first_created_at, Some(branch.id))])),
            }
        }
        forks.sort_by_key(|(place, _)| *place);
        Ok(forks
            .into_iter()
            .map(|(place, mut alternatives)| {
                alternatives.sort_by_key(|(time, _)| *time);
                Fork {
                    message_id: line[place].0.clone(),
                    alternatives: alternatives.into_iter().map(|(_, id)| id).collect(),
                }
            })
            .collect())
    }

    async fn switch_branch(&self, chat_id: &str, branch_id: &str) -> Result<(), StoreError> {
        let (chat_id, branch_id) = (chat_id.to_owned(), branch_id.to_owned());
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            // The chat's row first: a turn that starts now queues behind this switch.
            let touched = Sql::<D::Db>::new("UPDATE chats SET updated_at = $2 WHERE id = $1")
                .bind(chat_id.as_str())
                .bind(Time(values::now()))
                .execute(&mut *tx)
                .await?;
            if touched == 0 {
                return Err(StoreError::ChatNotFound(chat_id));
            }
            let running = db.live(&db.sql.running_turn_locked).bind(chat_id.as_str()).fetch_optional(&mut *tx).await?;
            if let Some(row) = running
                && !row.col::<bool>("stale")?
            {
                return Err(StoreError::TurnRunning(chat_id));
            }
            let branch = Sql::<D::Db>::new(
                "SELECT b.parent_id,
                        (SELECT CAST(MIN(ordinal) AS BIGINT) FROM branch_messages m WHERE m.branch_id = b.id) AS first
                 FROM branches b WHERE b.id = $1 AND b.chat_id = $2",
            )
            .bind(branch_id.as_str())
            .bind(chat_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::BranchNotFound(branch_id.clone()))?;
            let parent: Option<String> = branch.col("parent_id")?;
            let first: i64 = branch
                .col::<Option<i64>>("first")?
                .ok_or_else(|| StoreError::Corrupt(format!("branch {branch_id} holds no message")))?;
            // The branch goes back only where it came from: after its parent, on the line.
            let before = Sql::<D::Db>::new("SELECT id FROM messages WHERE chat_id = $1 AND ordinal = $2")
                .bind(chat_id.as_str())
                .bind(first - 1)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.col::<String>("id"))
                .transpose()?;
            if before != parent {
                return Err(StoreError::InvalidInput(format!(
                    "branch {branch_id} follows a message that is not on the chat's line; switch to its parent's branch first"
                )));
            }
            db.move_line_out(&mut tx, &chat_id, first).await?;
            Sql::<D::Db>::new(
                "INSERT INTO messages (chat_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
                 SELECT $1, id, ordinal, role, parts, metadata, text, created_at, updated_at
                 FROM branch_messages WHERE branch_id = $2",
            )
            .bind(chat_id.as_str())
            .bind(branch_id.as_str())
            .execute(&mut *tx)
            .await?;
            Sql::<D::Db>::new("DELETE FROM branches WHERE id = $1").bind(branch_id.as_str()).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
