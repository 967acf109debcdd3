//! [`TelegramStore`] on SQL.

use aomi_core::Address;
use async_trait::async_trait;

use super::SqlStore;
use crate::dialect::Dialect;
use crate::engine::{Col, Sql};
use crate::telegram::{TelegramChat, TelegramStore};
use crate::{StoreError, values};

#[async_trait]
impl<D: Dialect> TelegramStore for SqlStore<D> {
    async fn telegram_chat(&self, telegram_chat: i64) -> Result<Option<TelegramChat>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT chat_id, chain_id FROM telegram_chats WHERE telegram_chat = $1")
            .bind(telegram_chat)
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let chain_id: i64 = row.col("chain_id")?;
        let chain_id =
            u64::try_from(chain_id).map_err(|_| StoreError::Corrupt(format!("a negative chain id {chain_id}")))?;
        Ok(Some(TelegramChat { chat_id: row.col("chat_id")?, chain_id }))
    }

    async fn set_telegram_chat(&self, telegram_chat: i64, chat: &TelegramChat) -> Result<(), StoreError> {
        let chain_id = i64::try_from(chat.chain_id)
            .map_err(|_| StoreError::InvalidInput(format!("chain id {} is too large", chat.chain_id)))?;
        let statement = Sql::<D::Db>::new(
            "INSERT INTO telegram_chats (telegram_chat, chat_id, chain_id) VALUES ($1, $2, $3)
             ON CONFLICT (telegram_chat) DO UPDATE SET chat_id = excluded.chat_id, chain_id = excluded.chain_id",
        )
        .bind(telegram_chat)
        .bind(chat.chat_id.clone())
        .bind(chain_id);
        self.write(move |db| async move { statement.execute(&mut *db.writer().await?).await.map(|_| ()) }).await
    }

    async fn telegram_wallet(&self, telegram_user: i64) -> Result<Option<Address>, StoreError> {
        let row = Sql::<D::Db>::new("SELECT address FROM telegram_wallets WHERE telegram_user = $1")
            .bind(telegram_user)
            .fetch_optional(&mut *self.inner.reader().await?)
            .await?;
        row.map(|row| values::stored_address(&row.col::<String>("address")?)).transpose()
    }

    async fn create_telegram_link(
        &self,
        token_hash: &str,
        telegram_user: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let prune = Sql::<D::Db>::new("DELETE FROM telegram_links WHERE expires_at < $1").bind(now);
        let insert =
            Sql::<D::Db>::new("INSERT INTO telegram_links (token_hash, telegram_user, expires_at) VALUES ($1, $2, $3)")
                .bind(token_hash.to_owned())
                .bind(telegram_user)
                .bind(expires_at);
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            prune.execute(&mut *tx).await?;
            insert.execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn redeem_telegram_link(
        &self,
        token_hash: &str,
        wallet: Address,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Deleting is what makes the link single-use: of two redeemers, one deletes the row.
        let take =
            Sql::<D::Db>::new("DELETE FROM telegram_links WHERE token_hash = $1 RETURNING telegram_user, expires_at")
                .bind(token_hash.to_owned());
        let address = wallet.to_lowercase_hex();
        self.write(move |db| async move {
            let mut tx = db.begin().await?;
            let Some(row) = take.fetch_optional(&mut *tx).await? else { return Ok(None) };
            let user: i64 = row.col("telegram_user")?;
            let expires_at: i64 = row.col("expires_at")?;
            if expires_at < now {
                // The expired link is gone too.
                tx.commit().await?;
                return Ok(None);
            }
            Sql::<D::Db>::new(
                "INSERT INTO telegram_wallets (telegram_user, address, bound_at) VALUES ($1, $2, $3)
                 ON CONFLICT (telegram_user) DO UPDATE SET address = excluded.address, bound_at = excluded.bound_at",
            )
            .bind(user)
            .bind(address)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(user))
        })
        .await
    }
}
