//! [`ContractStore`] on SQL.

use aomi_core::Address;
use async_trait::async_trait;

use super::SqlStore;
use crate::dialect::{Dialect, JsonText, Time};
use crate::engine::{Col, Sql};
use crate::values;
use crate::{ContractRecord, ContractStore, StoreError};

fn contract_record<D: Dialect>(row: &<D::Db as sqlx::Database>::Row) -> Result<ContractRecord, StoreError> {
    Ok(ContractRecord {
        chain_id: values::chain_id_from(row.col("chain_id")?)?,
        address: values::stored_address(&row.col::<String>("address")?)?,
        name: row.col("name")?,
        abi: row.col::<JsonText>("abi")?.decode("contract ABI")?,
        source: row.col("source")?,
        verified_by: row.col("verified_by")?,
        fetched_at: row.col::<Time>("fetched_at")?.0,
        implementation: row
            .col::<Option<String>>("implementation")?
            .as_deref()
            .map(values::stored_address)
            .transpose()?,
    })
}

#[async_trait]
impl<D: Dialect> ContractStore for SqlStore<D> {
    async fn put_contract(&self, contract: &ContractRecord) -> Result<(), StoreError> {
        let statement = Sql::<D::Db>::new(
            "INSERT INTO contracts (chain_id, address, name, abi, source, verified_by, fetched_at, implementation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (chain_id, address) DO UPDATE SET name = excluded.name, abi = excluded.abi,
                 source = excluded.source, verified_by = excluded.verified_by, fetched_at = excluded.fetched_at,
                 implementation = excluded.implementation",
        )
        .bind(values::chain_id(contract.chain_id)?)
        .bind(contract.address.to_lowercase_hex())
        .bind(contract.name.as_deref())
        .bind(JsonText::encode(&contract.abi)?)
        .bind(contract.source.as_deref())
        .bind(contract.verified_by.as_deref())
        .bind(Time(contract.fetched_at))
        .bind(contract.implementation.map(|address| address.to_lowercase_hex()));
        self.write(move |db| async move {
            statement.execute(&mut *db.writer().await?).await?;
            Ok(())
        })
        .await
    }

    async fn contract(&self, chain_id: u64, address: Address) -> Result<Option<ContractRecord>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT * FROM contracts WHERE chain_id = $1 AND address = $2")
            .bind(values::chain_id(chain_id)?)
            .bind(address.to_lowercase_hex())
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.as_ref().map(contract_record::<D>).transpose()
    }

    async fn contracts_named(&self, chain_id: u64, name: &str, limit: u32) -> Result<Vec<ContractRecord>, StoreError> {
        let rows = Sql::<D::Db>::new(
            "SELECT * FROM contracts WHERE chain_id = $1 AND lower(name) LIKE $2 ESCAPE '\\'
             ORDER BY lower(name), address LIMIT $3",
        )
        .bind(values::chain_id(chain_id)?)
        .bind(values::like_prefix(name))
        .bind(values::limit(limit)?)
        .fetch_all(&mut *self.inner.reader().await?)
        .await?;
        rows.iter().map(contract_record::<D>).collect()
    }
}
