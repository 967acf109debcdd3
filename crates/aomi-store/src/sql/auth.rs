//! [`AuthStore`] on SQL.

use aomi_core::Address;
use async_trait::async_trait;

use super::SqlStore;
use crate::dialect::Dialect;
use crate::engine::{Col, Sql};
use crate::{AuthStore, StoreError};

/// A generation as stored (BIGINT) to the type callers use.
fn generation(stored: i64) -> Result<u64, StoreError> {
    u64::try_from(stored).map_err(|_| StoreError::Corrupt(format!("a negative session generation {stored}")))
}

#[async_trait]
impl<D: Dialect> AuthStore for SqlStore<D> {
    async fn use_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool, StoreError> {
        let statement = Sql::<D::Db>::new(
            "INSERT INTO auth_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(expires_at);
        self.write(move |db| async move { Ok(statement.execute(&mut *db.writer().await?).await? == 1) }).await
    }

    async fn session_generation(&self, address: Address) -> Result<u64, StoreError> {
        let row = Sql::<D::Db>::new("SELECT generation FROM auth_wallets WHERE address = $1")
            .bind(address.to_lowercase_hex())
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        generation(row.map(|row| row.col::<i64>("generation")).transpose()?.unwrap_or(0))
    }

    async fn revoke_sessions(&self, address: Address) -> Result<u64, StoreError> {
        let statement = Sql::<D::Db>::new(
            "INSERT INTO auth_wallets (address, generation) VALUES ($1, 1)
             ON CONFLICT (address) DO UPDATE SET generation = auth_wallets.generation + 1 RETURNING generation",
        )
        .bind(address.to_lowercase_hex());
        self.write(move |db| async move {
            generation(statement.fetch_one(&mut *db.writer().await?).await?.col("generation")?)
        })
        .await
    }

    async fn prune_nonces(&self, now: i64) -> Result<u64, StoreError> {
        let statement = Sql::<D::Db>::new("DELETE FROM auth_nonces WHERE expires_at < $1").bind(now);
        self.write(move |db| async move { statement.execute(&mut *db.writer().await?).await }).await
    }
}
