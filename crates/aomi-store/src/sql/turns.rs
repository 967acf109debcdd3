//! [`TurnStore`] on SQL: claims, liveness, interruption, parts.

use std::sync::Arc;
use std::time::Duration;

use aomi_core::{ChatMessage, UiChunk};
use async_trait::async_trait;
use tokio::sync::broadcast;

use super::chats::{ChatAtStart, Conn, Existing, chat_at_start_of, chat_was_there, message_error, messages_of};
use super::compactions::compaction_of;
use super::{Inner, SqlStore, stmt};
use crate::dialect::{Dialect, JsonText, Span, Time};
use crate::engine::{Col, Sql};
use crate::script::{Script, ScriptError};
use crate::turn::TurnEvent;
use crate::values;
use crate::{NewTurn, StoreError, TurnRecord, TurnStart, TurnStarted, TurnState, TurnStore};

/// The turn and whether it is stale.
fn turn_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<(TurnRecord, bool), StoreError> {
    let turn = TurnRecord {
        id: row.col("id")?,
        chat_id: row.col("chat_id")?,
        message_id: row.col("message_id")?,
        instance: row.col("instance")?,
        state: TurnState::parse(&row.col::<String>("state")?)?,
        started_at: row.col::<Time>("started_at")?.0,
        ended_at: row.col::<Option<Time>>("ended_at")?.map(|time| time.0),
    };
    Ok((turn, row.col("stale")?))
}

/// The error of [`Inner::insert_turn`]'s statement.
fn claim_error(error: ScriptError, chat_id: &str) -> StoreError {
    if values::is_unique_violation(&error.error) {
        // Another instance claimed the chat between our look and our insert.
        StoreError::TurnRunning(chat_id.to_owned())
    } else if values::is_foreign_key_violation(&error.error) {
        StoreError::ChatNotFound(chat_id.to_owned())
    } else {
        error.into()
    }
}

impl<D: Dialect> Inner<D> {
    /// The turn chosen by `statement` (`$2` its key), read with whether it is stale.
    async fn read_turn(&self, statement: &Arc<str>, key: &str) -> Result<Option<(TurnRecord, bool)>, StoreError> {
        let row = self.live(statement).bind(key).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(turn_record::<D>).transpose()
    }

    /// Clears the way for a new turn in the chat inside a transaction: a stale running turn is
    /// interrupted (its id returned, to wake its followers once committed), a live one refuses
    /// ([`StoreError::TurnRunning`]). See [`TurnStore::begin_turn`].
    async fn clear_running_in(&self, conn: &mut Conn<D>, chat_id: &str) -> Result<Option<String>, StoreError> {
        let running = self.live(&self.sql.running_turn_locked).bind(chat_id).fetch_optional(&mut *conn).await?;
        let Some((running, stale)) = running.as_ref().map(turn_record::<D>).transpose()? else { return Ok(None) };
        if !stale {
            return Err(StoreError::TurnRunning(chat_id.to_owned()));
        }
        tracing::warn!(turn = %running.id, chat = %running.chat_id, instance = %running.instance,
            "interrupting a turn whose instance stopped");
        self.interrupt_in(conn, &running).await?;
        Ok(Some(running.id))
    }

    /// Adds the insert of `turn`, running, to `script`; its error is read by [`claim_error`].
    fn insert_turn(&self, script: &mut Script<D::Db>, turn: &NewTurn) {
        script
            .push(&self.sql.insert_turn)
            .bind(turn.id.as_str())
            .bind(turn.chat_id.as_str())
            .bind(turn.message_id.as_str())
            .bind(self.instance.as_str());
    }

    /// Marks the turn interrupted and its message incomplete (stored empty if the turn stored
    /// none), inside a transaction, and wakes other instances' followers.
    async fn interrupt_in(&self, conn: &mut Conn<D>, turn: &TurnRecord) -> Result<(), StoreError> {
        let stored = Self::message_in(conn, &turn.chat_id, &turn.message_id).await?;
        let mut script = self.script();
        Self::write_message(
            &mut script,
            &turn.chat_id,
            &values::interrupted(stored, &turn.message_id),
            Existing::Replace,
        )?;
        script.push(&self.sql.interrupt_turn).bind(turn.id.as_str());
        Self::notify(&mut script, &turn.id);
        let ran = script.run(conn).await.map_err(|error| message_error(error, &turn.chat_id))?;
        chat_was_there(&ran, &turn.chat_id)
    }

    /// Interrupts the turn if it is (still) stale.
    async fn interrupt_if_stale(&self, turn_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = self.live(&self.sql.turn_by_id_locked).bind(turn_id).fetch_optional(&mut tx).await?;
        let stale = match row.as_ref().map(turn_record::<D>).transpose()? {
            Some((turn, true)) => {
                tracing::warn!(turn = %turn.id, chat = %turn.chat_id, instance = %turn.instance,
                    "interrupting a turn whose instance stopped");
                self.interrupt_in(&mut tx, &turn).await?;
                true
            }
            _ => false,
        };
        tx.commit().await?;
        if stale {
            self.notify_committed(turn_id);
        }
        Ok(())
    }

    /// Ends the turn; see [`TurnStore::end_turn`].
    pub(super) async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        self.end_turn_in(&mut conn, turn_id, state).await?;
        self.notify_committed(turn_id);
        Ok(())
    }

    /// Ends the turn on `conn` and wakes its followers on other instances when that commits.
    async fn end_turn_in(&self, conn: &mut Conn<D>, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        let mut script = self.script();
        self.mark_turn_ended(&mut script, turn_id, state);
        script.run(conn).await?;
        Ok(())
    }

    /// Adds the statements that end the turn and wake its followers on other instances (when
    /// they commit) to `script`.
    fn mark_turn_ended(&self, script: &mut Script<D::Db>, turn_id: &str, state: TurnState) {
        script.push(&self.sql.end_turn).bind(turn_id).bind(state.as_str());
        Self::notify(script, turn_id);
    }

    /// Stores the message and ends the turn in one transaction; see
    /// [`TurnStore::end_turn_with_message`].
    pub(super) async fn end_turn_with_message(
        &self,
        turn_id: &str,
        state: TurnState,
        chat_id: &str,
        message: &ChatMessage,
    ) -> Result<(), StoreError> {
        let mut script = self.script();
        Self::write_message(&mut script, chat_id, message, Existing::Replace)?;
        self.mark_turn_ended(&mut script, turn_id, state);
        // A missing chat fails the message's insert (its foreign key), before the COMMIT.
        let ran = self.transact(script, |error| message_error(error, chat_id)).await?;
        chat_was_there(&ran, chat_id)?;
        self.notify_committed(turn_id);
        Ok(())
    }
}

impl<D: Dialect> SqlStore<D> {
    /// The turn as it is once a stale one is interrupted.
    async fn fresh(&self, turn: Option<(TurnRecord, bool)>) -> Result<Option<TurnRecord>, StoreError> {
        match turn {
            Some((turn, true)) => self.interrupt_stale(turn.id).await,
            other => Ok(other.map(|(turn, _)| turn)),
        }
    }

    /// Interrupts the turn if it is stale, and returns it as it is then.
    async fn interrupt_stale(&self, turn_id: String) -> Result<Option<TurnRecord>, StoreError> {
        self.write(move |db| async move {
            db.interrupt_if_stale(&turn_id).await?;
            Ok(db.read_turn(&db.sql.turn_by_id, &turn_id).await?.map(|(turn, _)| turn))
        })
        .await
    }
}

#[async_trait]
impl<D: Dialect> TurnStore for SqlStore<D> {
    fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    fn is_shared(&self) -> bool {
        D::NOTIFY.is_some()
    }

    fn heartbeat_interval(&self) -> Duration {
        self.inner.dialect.heartbeat_interval()
    }

    async fn begin_turn(&self, turn: &NewTurn) -> Result<(), StoreError> {
        let turn = turn.clone();
        self.claim(&turn.id.clone(), move |db| async move {
            let mut tx = db.begin().await?;
            let interrupted = db.clear_running_in(&mut tx, &turn.chat_id).await?;
            let mut script = db.script();
            db.insert_turn(&mut script, &turn);
            tx.commit_with(script, |error| claim_error(error, &turn.chat_id)).await?;
            if let Some(id) = interrupted {
                db.notify_committed(&id);
            }
            Ok(())
        })
        .await
    }

    async fn start_turn(&self, start: &TurnStart) -> Result<TurnStarted, StoreError> {
        start.check()?;
        let start = start.clone();
        self.claim(&start.turn.id.clone(), move |db| async move {
            let chat_id = start.chat.id.as_str();
            // Two scripts, each one call to SQLite with the transaction's BEGIN or COMMIT: what
            // the checks read, then what they allow. A new message touches the chat in the
            // upsert, which locks its row on PostgreSQL: the owner read after it is final.
            let mut script = db.script();
            Inner::<D>::upsert_chat(&mut script, &start.chat, start.message.is_some())?;
            db.read_chat_at_start(&mut script, chat_id);
            let (mut tx, ran) = db.begin_with(script, StoreError::from).await?;
            let ChatAtStart { chat, messages, any_running } =
                ran.last().map_or(Err(StoreError::Database(sqlx::Error::RowNotFound)), chat_at_start_of::<D>)?;
            if chat.owner.is_some_and(|owner| start.chat.owner != Some(owner)) {
                return Err(StoreError::NotOwner(chat.id));
            }
            if start.message.is_some() && start.max_messages.is_some_and(|max| messages >= max) {
                return Err(StoreError::ChatFull { chat_id: chat.id, count: messages });
            }
            // When no turn of the chat is marked running, none is read again; the insert still
            // refuses a second running turn (a unique index).
            let interrupted = if any_running { db.clear_running_in(&mut tx, chat_id).await? } else { None };
            if let Some(replaced) = &start.replaces {
                db.set_aside_in(&mut tx, chat_id, replaced).await?;
            }
            let mut script = db.script();
            db.insert_turn(&mut script, &start.turn);
            if let Some(message) = &start.message {
                Inner::<D>::insert_message(&mut script, chat_id, message, Existing::Refuse, Time(values::now()))?;
            }
            Inner::<D>::read_messages(&mut script, chat_id);
            Inner::<D>::read_compaction(&mut script, chat_id);
            let ran = tx
                .commit_with(script, |error| match (error.at, &start.message) {
                    (0, _) => claim_error(error, chat_id),
                    (1, Some(message)) if values::is_unique_violation(&error.error) => {
                        StoreError::DuplicateMessage(message.id.clone())
                    }
                    _ => error.into(),
                })
                .await?;
            let [.., messages, compaction] = ran.as_slice() else {
                return Err(StoreError::Database(sqlx::Error::RowNotFound));
            };
            let (history, compaction) = (messages_of::<D>(messages)?, compaction_of::<D>(compaction)?);
            if let Some(id) = interrupted {
                db.notify_committed(&id);
            }
            Ok(TurnStarted { chat, history, compaction })
        })
        .await
    }

    async fn heartbeat_turn(&self, turn_id: &str) -> Result<(), StoreError> {
        let turn_id = turn_id.to_owned();
        self.write(move |db| async move {
            stmt::<D::Db>(&db.sql.heartbeat).bind(turn_id.as_str()).execute(&mut *db.writer().await?).await?;
            Ok(())
        })
        .await
    }

    async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        let turn_id = turn_id.to_owned();
        self.write(move |db| async move { db.end_turn(&turn_id, state).await }).await
    }

    async fn end_turn_with_message(
        &self,
        turn_id: &str,
        state: TurnState,
        chat_id: &str,
        message: &ChatMessage,
    ) -> Result<(), StoreError> {
        let (turn_id, chat_id, message) = (turn_id.to_owned(), chat_id.to_owned(), message.clone());
        self.write(move |db| async move { db.end_turn_with_message(&turn_id, state, &chat_id, &message).await }).await
    }

    async fn turn(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let turn = self.inner.read_turn(&self.inner.sql.turn_by_id, turn_id).await?;
        self.fresh(turn).await
    }

    async fn running_turn(&self, chat_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let turn = self.inner.read_turn(&self.inner.sql.running_turn, chat_id).await?;
        Ok(self.fresh(turn).await?.filter(|turn| turn.state == TurnState::Running))
    }

    async fn interrupt_stale_turns(&self) -> Result<Vec<TurnRecord>, StoreError> {
        let db = &self.inner;
        let rows = db.live(&db.sql.stale_turns).fetch_all(&mut *db.reader().await?).await?;
        let mut interrupted = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.col("id")?;
            let turn = self.interrupt_stale(id).await?;
            interrupted.extend(turn.filter(|turn| turn.state == TurnState::Interrupted));
        }
        Ok(interrupted)
    }

    async fn append_turn_parts(&self, turn_id: &str, first_seq: u64, parts: &[UiChunk]) -> Result<(), StoreError> {
        let parts = (first_seq..)
            .zip(parts)
            .map(|(seq, part)| Ok((values::seq_to_i64(seq)?, JsonText::encode(part)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let turn_id = turn_id.to_owned();
        self.write(move |db| async move {
            D::append_parts(&mut *db.writer().await?, &turn_id, parts).await?;
            db.notify_committed(&turn_id);
            Ok(())
        })
        .await
    }

    async fn turn_parts(&self, turn_id: &str, from_seq: u64) -> Result<Vec<UiChunk>, StoreError> {
        let rows = Sql::<D::Db>::new("SELECT part FROM turn_parts WHERE turn_id = $1 AND seq >= $2 ORDER BY seq")
            .bind(turn_id)
            .bind(values::seq_to_i64(from_seq)?)
            .fetch_all(&mut *self.inner.reader().await?)
            .await?;
        rows.iter().map(|row| row.col::<JsonText>("part")?.decode("turn part")).collect()
    }

    async fn subscribe_turns(&self) -> Result<broadcast::Receiver<TurnEvent>, StoreError> {
        let receiver = self.inner.events.subscribe();
        self.inner.dialect.listen(&self.inner.read, &self.inner.events).await?;
        Ok(receiver)
    }

    async fn prune_turn_parts(&self, older_than: Duration) -> Result<u64, StoreError> {
        self.write(move |db| async move {
            stmt::<D::Db>(&db.sql.prune_parts).bind(Span(older_than)).execute(&mut *db.writer().await?).await
        })
        .await
    }
}
