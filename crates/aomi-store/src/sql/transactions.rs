//! [`TransactionStore`] on SQL.

use async_trait::async_trait;
use serde_json::Value;

use super::SqlStore;
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{NewTransaction, StoreError, TransactionOutcome, TransactionRecord, TransactionStore};

pub(super) fn transaction_record<D: Dialect>(
    row: &<D::Db as sqlx::Database>::Row,
) -> Result<TransactionRecord, StoreError> {
    Ok(TransactionRecord {
        request: NewTransaction {
            id: row.col("id")?,
            chat_id: row.col("chat_id")?,
            message_id: row.col("message_id")?,
            chain_id: values::chain_id_from(row.col("chain_id")?)?,
            from: row.col::<Option<String>>("from_address")?.as_deref().map(values::stored_address).transpose()?,
            request: row.col::<JsonText>("request")?.decode("transaction request")?,
            simulation: row
                .col::<Option<JsonText>>("simulation")?
                .map(|s| s.decode("simulation report"))
                .transpose()?,
        },
        outcome: TransactionOutcome::from_columns(&row.col::<String>("status")?, row.col("detail")?)?,
        created_at: row.col::<Time>("created_at")?.0,
        updated_at: row.col::<Time>("updated_at")?.0,
    })
}

impl<D: Dialect> SqlStore<D> {
    /// A statement on one transaction request that fails with [`StoreError::TransactionNotFound`]
    /// when it changes nothing.
    async fn update_transaction(&self, id: &str, statement: Sql<D::Db>) -> Result<(), StoreError> {
        self.update_one(statement, StoreError::TransactionNotFound(id.to_owned())).await
    }
}

#[async_trait]
impl<D: Dialect> TransactionStore for SqlStore<D> {
    async fn put_transaction(&self, transaction: &NewTransaction) -> Result<(), StoreError> {
        let now = Time(values::now());
        let statement = Sql::<D::Db>::new(
            "INSERT INTO transactions
                 (id, chat_id, message_id, chain_id, from_address, request, simulation, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
        )
        .bind(transaction.id.as_str())
        .bind(transaction.chat_id.as_str())
        .bind(transaction.message_id.as_deref())
        .bind(values::chain_id(transaction.chain_id)?)
        .bind(transaction.from.map(|address| address.to_lowercase_hex()))
        .bind(JsonText::encode(&transaction.request)?)
        .bind(transaction.simulation.as_ref().map(JsonText::encode).transpose()?)
        .bind(now);
        let transaction = transaction.clone();
        self.write(move |db| async move {
            statement
                .try_execute(&mut *db.writer().await?)
                .await
                .map_err(|error| values::transaction_insert_error(error, &transaction))?;
            Ok(())
        })
        .await
    }

    async fn set_simulation(&self, id: &str, report: &Value) -> Result<(), StoreError> {
        let statement = Sql::new("UPDATE transactions SET simulation = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(JsonText::encode(report)?)
            .bind(Time(values::now()));
        self.update_transaction(id, statement).await
    }

    async fn set_transaction_outcome(&self, id: &str, outcome: &TransactionOutcome) -> Result<(), StoreError> {
        let statement = Sql::new("UPDATE transactions SET status = $2, detail = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(outcome.status())
            .bind(outcome.detail())
            .bind(Time(values::now()));
        self.update_transaction(id, statement).await
    }

    async fn transaction(&self, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT * FROM transactions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.as_ref().map(transaction_record::<D>).transpose()
    }

    async fn chat_transactions(&self, chat_id: &str) -> Result<Vec<TransactionRecord>, StoreError> {
        let rows = Sql::<D::Db>::new("SELECT * FROM transactions WHERE chat_id = $1 ORDER BY created_at, id")
            .bind(chat_id)
            .fetch_all(&mut *self.inner.reader().await?)
            .await?;
        rows.iter().map(transaction_record::<D>).collect()
    }
}
