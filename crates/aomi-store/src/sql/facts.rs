//! [`FactStore`] and [`AnswerCache`] on SQL.

use std::time::Duration;

use aomi_core::Address;
use async_trait::async_trait;
use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::SqlStore;
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{AnswerCache, FactKind, FactQuery, FactRecord, FactStore, StoreError};

/// Most subjects one [`FactStore::facts_about`] asks for: a bound on the statement's size.
const MAX_SUBJECTS: usize = 500;

/// The stored owner: `''` for a global fact.
fn owner_column(owner: Option<Address>) -> String {
    owner.map(|address| address.to_lowercase_hex()).unwrap_or_default()
}

fn fact_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<FactRecord, StoreError> {
    let owner: String = row.col("owner")?;
    Ok(FactRecord {
        owner: (!owner.is_empty()).then(|| values::stored_address(&owner)).transpose()?,
        kind: FactKind::parse(&row.col::<String>("kind")?)?,
        chain_id: values::chain_id_from(row.col("chain_id")?)?,
        subject: row.col("subject")?,
        value: row.col("value")?,
        source: row.col("source")?,
        updated_at: row.col::<Time>("updated_at")?.0,
    })
}

/// `%text%`, escaped for `LIKE … ESCAPE '\'`.
fn like_contains(text: &str) -> String {
    format!("%{}", values::like_prefix(text.trim()))
}

#[async_trait]
impl<D: Dialect> FactStore for SqlStore<D> {
    async fn put_fact(&self, fact: &FactRecord) -> Result<(), StoreError> {
        if fact.subject.trim().is_empty() || fact.value.trim().is_empty() {
            return Err(StoreError::InvalidInput("a fact needs a subject and a value".into()));
        }
        let statement = Sql::<D::Db>::new(
            "INSERT INTO facts (owner, kind, chain_id, subject, value, source, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (owner, kind, chain_id, subject) DO UPDATE SET value = excluded.value,
                 source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(owner_column(fact.owner))
        .bind(fact.kind.as_str())
        .bind(values::chain_id(fact.chain_id)?)
        .bind(fact.subject.as_str())
        .bind(fact.value.as_str())
        .bind(fact.source.as_str())
        .bind(Time(fact.updated_at));
        self.write(move |db| async move {
            statement.execute(&mut *db.writer().await?).await?;
            Ok(())
        })
        .await
    }

    async fn delete_fact(
        &self,
        owner: Option<Address>,
        kind: FactKind,
        chain_id: u64,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let statement =
            Sql::<D::Db>::new("DELETE FROM facts WHERE owner = $1 AND kind = $2 AND chain_id = $3 AND subject = $4")
                .bind(owner_column(owner))
                .bind(kind.as_str())
                .bind(values::chain_id(chain_id)?)
                .bind(subject);
        self.write(move |db| async move { Ok(statement.execute(&mut *db.writer().await?).await? > 0) }).await
    }

    async fn facts_about(
        &self,
        owner: Option<Address>,
        kind: FactKind,
        chain_id: u64,
        subjects: &[String],
    ) -> Result<Vec<FactRecord>, StoreError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        if subjects.len() > MAX_SUBJECTS {
            return Err(StoreError::InvalidInput(format!(
                "at most {MAX_SUBJECTS} subjects at once, not {}",
                subjects.len()
            )));
        }
        let placeholders: Vec<String> = (0..subjects.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "SELECT * FROM facts WHERE kind = $1 AND chain_id IN (0, $2) AND (owner = '' OR owner = $3)
                 AND subject IN ({})
             ORDER BY owner = '', subject, chain_id DESC",
            placeholders.join(", ")
        );
        let mut statement = Sql::<D::Db>::new(AssertSqlSafe(sql))
            .bind(kind.as_str())
            .bind(values::chain_id(chain_id)?)
            .bind(owner_column(owner));
        for subject in subjects {
            statement = statement.bind(subject.as_str());
        }
        let rows = statement.fetch_all(&mut *self.inner.reader().await?).await?;
        rows.iter().map(fact_record::<D>).collect()
    }

    async fn find_facts(&self, query: &FactQuery) -> Result<Vec<FactRecord>, StoreError> {
        let rows = Sql::<D::Db>::new(
            "SELECT * FROM facts WHERE (owner = '' OR owner = $1) AND ($2 = '' OR kind = $2)
                 AND ($3 OR chain_id IN (0, $4))
                 AND (lower(subject) LIKE $5 ESCAPE '\\' OR lower(value) LIKE $5 ESCAPE '\\')
             ORDER BY owner = '', subject, chain_id LIMIT $6",
        )
        .bind(owner_column(query.owner))
        .bind(query.kind.map(FactKind::as_str).unwrap_or_default())
        .bind(query.chain_id.is_none())
        .bind(values::chain_id(query.chain_id.unwrap_or_default())?)
        .bind(like_contains(&query.text))
        .bind(values::limit(query.limit)?)
        .fetch_all(&mut *self.inner.reader().await?)
        .await?;
        rows.iter().map(fact_record::<D>).collect()
    }

    async fn count_facts(&self, owner: Option<Address>) -> Result<u64, StoreError> {
        let row = Sql::<D::Db>::new("SELECT COUNT(*) AS n FROM facts WHERE owner = $1")
            .bind(owner_column(owner))
            .fetch_one(&mut *self.inner.reader().await?)
            .await?;
        let count: i64 = row.col("n")?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

#[async_trait]
impl<D: Dialect> AnswerCache for SqlStore<D> {
    async fn cached_answer(&self, key: &str, max_age: Duration) -> Result<Option<Value>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT value, fetched_at FROM answer_cache WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let fetched_at = row.col::<Time>("fetched_at")?.0;
        let age = values::now().signed_duration_since(fetched_at);
        if age.to_std().is_ok_and(|age| age >= max_age) {
            return Ok(None);
        }
        Ok(Some(row.col::<JsonText>("value")?.decode("cached answer")?))
    }

    async fn put_answer(&self, key: &str, value: &Value, keep: Duration) -> Result<(), StoreError> {
        let now = values::now();
        let oldest =
            chrono::TimeDelta::from_std(keep).ok().and_then(|keep| now.checked_sub_signed(keep)).unwrap_or(now);
        let forget = Sql::<D::Db>::new("DELETE FROM answer_cache WHERE fetched_at < $1").bind(Time(oldest));
        let put = Sql::<D::Db>::new(
            "INSERT INTO answer_cache (key, value, fetched_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
        )
        .bind(key)
        .bind(JsonText::encode(value)?)
        .bind(Time(now));
        self.write(move |db| async move {
            let mut writer = db.writer().await?;
            forget.execute(&mut *writer).await?;
            put.execute(&mut *writer).await?;
            Ok(())
        })
        .await
    }
}
