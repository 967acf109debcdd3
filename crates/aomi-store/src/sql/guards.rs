//! [`GuardStore`] on SQL.

use aomi_core::Address;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::SqlStore;
use super::transactions::transaction_record;
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{GuardRecord, GuardStore, StoreError, TransactionRecord};

fn guard_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<GuardRecord, StoreError> {
    Ok(GuardRecord {
        owner: values::stored_address(&row.col::<String>("owner")?)?,
        settings: row.col::<JsonText>("settings")?.decode("guard settings")?,
        updated_at: row.col::<Time>("updated_at")?.0,
    })
}

#[async_trait]
impl<D: Dialect> GuardStore for SqlStore<D> {
    async fn guards(&self, owner: Address) -> Result<Option<GuardRecord>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT * FROM guards WHERE owner = $1")
            .bind(owner.to_lowercase_hex())
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.as_ref().map(guard_record::<D>).transpose()
    }

    async fn put_guards(&self, owner: Address, settings: &Value) -> Result<GuardRecord, StoreError> {
        if !settings.is_object() {
            return Err(StoreError::InvalidInput("guard settings must be a JSON object".into()));
        }
        let now = values::now();
        let statement = Sql::<D::Db>::new(
            "INSERT INTO guards (owner, settings, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (owner) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(owner.to_lowercase_hex())
        .bind(JsonText::encode(settings)?)
        .bind(Time(now));
        self.write(move |db| async move {
            statement.try_execute(&mut *db.writer().await?).await?;
            Ok(())
        })
        .await?;
        Ok(GuardRecord { owner, settings: settings.clone(), updated_at: now })
    }

    async fn spending_requests(
        &self,
        from: Address,
        since: DateTime<Utc>,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        let rows = Sql::<D::Db>::new(
            "SELECT * FROM transactions WHERE from_address = $1 AND created_at >= $2
                 AND status IN ('sent', 'pending') ORDER BY created_at, id",
        )
        .bind(from.to_lowercase_hex())
        .bind(Time(since))
        .fetch_all(&mut *self.inner.reader().await?)
        .await?;
        rows.iter().map(transaction_record::<D>).collect()
    }
}
