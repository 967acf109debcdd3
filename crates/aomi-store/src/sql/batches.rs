//! [`BatchStore`] on SQL.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::{Inner, SqlStore};
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{BatchStepRecord, BatchStore, StageOutcome, StoreError};

type Conn<D> = <<D as Dialect>::Db as sqlx::Database>::Connection;

fn step_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<BatchStepRecord, StoreError> {
    Ok(BatchStepRecord {
        ordinal: row.col("ordinal")?,
        chain_id: values::chain_id_from(row.col("chain_id")?)?,
        step: row.col::<JsonText>("step")?.decode("batch step")?,
    })
}

impl<D: Dialect> Inner<D> {
    /// The chat's steps, in order.
    async fn batch_in(&self, conn: &mut Conn<D>, chat_id: &str) -> Result<Vec<BatchStepRecord>, StoreError> {
        let rows =
            Sql::<D::Db>::new("SELECT ordinal, chain_id, step FROM batch_steps WHERE chat_id = $1 ORDER BY ordinal")
                .bind(chat_id)
                .fetch_all(conn)
                .await?;
        rows.iter().map(step_record::<D>).collect()
    }

    /// Locks the chat's row until the transaction ends (so that two instances changing one batch
    /// queue); [`StoreError::ChatNotFound`] for an unknown chat.
    async fn lock_chat(&self, conn: &mut Conn<D>, chat_id: &str) -> Result<(), StoreError> {
        let statement = format!("SELECT id FROM chats WHERE id = $1{}", D::LOCK_ROW);
        match Sql::<D::Db>::new(AssertSqlSafe(statement)).bind(chat_id).fetch_optional(conn).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::ChatNotFound(chat_id.to_owned())),
        }
    }
}

#[async_trait]
impl<D: Dialect> BatchStore for SqlStore<D> {
    async fn pending_batch(&self, chat_id: &str) -> Result<Vec<BatchStepRecord>, StoreError> {
        self.inner.batch_in(&mut *self.inner.reader().await?, chat_id).await
    }

    async fn stage_batch_steps(
        &self,
        chat_id: &str,
        chain_id: u64,
        steps: &[Value],
        max_steps: usize,
    ) -> Result<StageOutcome, StoreError> {
        let (chat_id, steps) = (chat_id.to_owned(), steps.to_vec());
        let stored_chain = values::chain_id(chain_id)?;
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            db.lock_chat(&mut tx, &chat_id).await?;
            let held = db.batch_in(&mut tx, &chat_id).await?;
            if let Some(first) = held.first()
                && first.chain_id != chain_id
            {
                return Ok(StageOutcome::OtherChain { chain_id: first.chain_id });
            }
            if held.len() + steps.len() > max_steps {
                return Ok(StageOutcome::Full { max_steps, held: held.len() });
            }
            let last = held.last().map(|s| s.ordinal).unwrap_or_default();
            let now = Time(values::now());
            for (ordinal, step) in (last + 1..).zip(&steps) {
                Sql::<D::Db>::new(
                    "INSERT INTO batch_steps (chat_id, ordinal, chain_id, step, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(chat_id.as_str())
                .bind(ordinal)
                .bind(stored_chain)
                .bind(JsonText::encode(step)?)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let batch = db.batch_in(&mut tx, &chat_id).await?;
            tx.commit().await?;
            Ok(StageOutcome::Staged(batch))
        })
        .await
    }

    async fn remove_batch_step(&self, chat_id: &str, index: usize) -> Result<Option<Vec<BatchStepRecord>>, StoreError> {
        let chat_id = chat_id.to_owned();
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            let held = db.batch_in(&mut tx, &chat_id).await?;
            let Some(step) = held.get(index) else { return Ok(None) };
            Sql::<D::Db>::new("DELETE FROM batch_steps WHERE chat_id = $1 AND ordinal = $2")
                .bind(chat_id.as_str())
                .bind(step.ordinal)
                .execute(&mut *tx)
                .await?;
            let batch = db.batch_in(&mut tx, &chat_id).await?;
            tx.commit().await?;
            Ok(Some(batch))
        })
        .await
    }

    async fn take_batch(&self, chat_id: &str, expected: &[BatchStepRecord]) -> Result<bool, StoreError> {
        let (chat_id, expected) = (chat_id.to_owned(), expected.to_vec());
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            if db.batch_in(&mut tx, &chat_id).await? != expected {
                return Ok(false);
            }
            Sql::<D::Db>::new("DELETE FROM batch_steps WHERE chat_id = $1")
                .bind(chat_id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }
}
