//! [`CompactionStore`] on SQL.

use async_trait::async_trait;

use super::{Inner, SqlStore};
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::script::{Ran, Script};
use crate::values;
use crate::{CompactionRecord, CompactionStore, StoreError};

fn compaction_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<CompactionRecord, StoreError> {
    Ok(CompactionRecord {
        chat_id: row.col("chat_id")?,
        summary: row.col("summary")?,
        covers_through: row.col("covers_through")?,
        covered: values::count(row.col("covered")?)?,
        state: row.col::<JsonText>("state")?.decode("compaction state")?,
        updated_at: row.col::<Time>("updated_at")?.0,
    })
}

/// The read of a chat's compaction.
const READ_COMPACTION: &str = "SELECT * FROM chat_compactions WHERE chat_id = $1";

impl<D: Dialect> Inner<D> {
    /// Adds the read of the chat's compaction to `script`; its result is read by
    /// [`compaction_of`].
    pub(super) fn read_compaction(script: &mut Script<D::Db>, chat_id: &str) {
        script.push(READ_COMPACTION).bind(chat_id);
    }
}

/// The compaction that [`Inner::read_compaction`]'s statement read, if the chat has one.
pub(super) fn compaction_of<D: Dialect>(ran: &Ran<D::Db>) -> Result<Option<CompactionRecord>, StoreError> {
    ran.rows.first().map(compaction_record::<D>).transpose()
}

#[async_trait]
impl<D: Dialect> CompactionStore for SqlStore<D> {
    async fn compaction(&self, chat_id: &str) -> Result<Option<CompactionRecord>, StoreError> {
        let row = Sql::<D::Db>::new(READ_COMPACTION)
            .bind(chat_id.to_owned())
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.as_ref().map(compaction_record::<D>).transpose()
    }

    async fn put_compaction(&self, record: &CompactionRecord) -> Result<CompactionRecord, StoreError> {
        if !record.state.is_object() {
            return Err(StoreError::InvalidInput("a compaction state must be a JSON object".into()));
        }
        let covered = i64::try_from(record.covered)
            .map_err(|_| StoreError::InvalidInput(format!("count {} is too large", record.covered)))?;
        let now = values::now();
        let statement = Sql::<D::Db>::new(
            "INSERT INTO chat_compactions (chat_id, summary, covers_through, covered, state, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (chat_id) DO UPDATE SET summary = excluded.summary,
                 covers_through = excluded.covers_through, covered = excluded.covered,
                 state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(record.chat_id.clone())
        .bind(D::text(&record.summary).into_owned())
        .bind(record.covers_through.clone())
        .bind(covered)
        .bind(JsonText::encode(&record.state)?)
        .bind(Time(now));
        self.write(move |db| async move { statement.execute(&mut *db.writer().await?).await.map(|_| ()) }).await?;
        Ok(CompactionRecord { updated_at: now, ..record.clone() })
    }
}
