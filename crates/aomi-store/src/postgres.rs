//! The PostgreSQL store: one database shared by any number of aomi instances.

use std::str::FromStr;
use std::time::Duration;

use aomi_core::{ChatMessage, UiChunk};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use tokio::sync::{OnceCell, broadcast};
use tokio::task::JoinHandle;

use crate::auth;
use crate::turn::{ANY_TURN, TurnEvent};
use crate::values;
use crate::{
    AuthStore, ChatPage, ChatQuery, ChatRecord, ChatStore, ContractRecord, ContractStore, NewChat, NewTransaction,
    NewTurn, SearchHit, SearchQuery, Store, StoreConfig, StoreError, StoreKind, TransactionOutcome, TransactionRecord,
    TransactionStore, TurnRecord, TurnStart, TurnState, TurnStore, UserRecord, migrate,
};

/// The NOTIFY channel of turn events; the payload is a turn id.
const CHANNEL: &str = "aomi_turns";

/// The columns of a [`ChatRecord`]; `$1` is the turn lease in seconds (a running turn with an
/// older heartbeat is not live).
macro_rules! select_chat {
    () => {
        "SELECT c.id, c.owner, c.app, c.title, c.chain_id, c.archived, c.created_at, c.updated_at,
                EXISTS (SELECT 1 FROM turns t WHERE t.chat_id = c.id AND t.state = 'running'
                        AND t.heartbeat_at >= now() - make_interval(secs => $1)) AS running
         FROM chats c "
    };
}

/// The columns of a [`TurnRecord`] and whether it is stale; `$1` is the lease in seconds.
macro_rules! select_turn {
    () => {
        "SELECT id, chat_id, message_id, instance, state, started_at, ended_at,
                (state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)) AS stale
         FROM turns "
    };
}

/// The PostgreSQL store.
///
/// Turns are live while their instance refreshes the heartbeat within the lease, measured by
/// the database's clock (instances' clocks may differ). Parts of running turns go to
/// `turn_parts`, each batch with a `NOTIFY aomi_turns, '<turn id>'` in the same statement; a
/// store that is subscribed holds one `LISTEN` connection (besides the pool) and relays the
/// notifications to its subscribers.
#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    instance: String,
    lease_secs: f64,
    events: broadcast::Sender<TurnEvent>,
    listener: OnceCell<JoinHandle<()>>,
    target: String,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub async fn open(url: &str, config: &StoreConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
            target: "the PostgreSQL URL (it does not parse)".into(),
            source,
        })?;
        let target = format!(
            "postgres://{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target: target.clone(), source })?;
        migrate::migrator(migrate::POSTGRES).run(&pool).await?;
        let (events, _) = broadcast::channel(1024);
        Ok(PgStore {
            pool,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            lease_secs: config.turn_lease.as_secs_f64(),
            events,
            listener: OnceCell::new(),
            target,
        })
    }

    async fn select_turn(
        &self,
        conn: &mut PgConnection,
        turn_id: &str,
    ) -> Result<Option<(TurnRecord, bool)>, StoreError> {
        let row = sqlx::query(concat!(select_turn!(), "WHERE id = $2"))
            .bind(self.lease_secs)
            .bind(turn_id)
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(turn_record).transpose()
    }

    /// Interrupts the turn if it is stale, and returns it as it is then.
    async fn fresh_turn(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let turn = match self.select_turn(&mut tx, turn_id).await? {
            Some((turn, true)) => {
                tracing::warn!(turn = %turn.id, chat = %turn.chat_id, instance = %turn.instance,
                    "interrupting a turn whose instance stopped sending heartbeats");
                interrupt_in(&mut tx, &turn.id, &turn.chat_id, &turn.message_id).await?;
                self.select_turn(&mut tx, turn_id).await?.map(|(turn, _)| turn)
            }
            other => other.map(|(turn, _)| turn),
        };
        tx.commit().await?;
        Ok(turn)
    }

    async fn listen(&self) -> Result<JoinHandle<()>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let events = self.events.clone();
        Ok(tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let _ = events.send(notification.payload().into());
                    }
                    // The connection dropped (and reconnects): notifications may have been missed.
                    Ok(None) => {
                        let _ = events.send(ANY_TURN.into());
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::warn!(%error, "the LISTEN connection failed; retrying");
                        let _ = events.send(ANY_TURN.into());
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }))
    }
}

/// Creates the chat if it is new (and its owner's user row), inside a transaction; see
/// [`ChatStore::ensure_chat`].
async fn ensure_chat_in(conn: &mut PgConnection, lease_secs: f64, chat: &NewChat) -> Result<ChatRecord, StoreError> {
    let owner = chat.owner.as_deref().map(values::address).transpose()?;
    let chain_id = chat.chain_id.map(values::chain_id).transpose()?;
    let now = values::now();
    if let Some(owner) = &owner {
        sqlx::query(
            "INSERT INTO users (address, first_seen, last_seen) VALUES ($1, $2, $2)
             ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(owner)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO chats (id, owner, app, chain_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (id) DO UPDATE SET chain_id = COALESCE(excluded.chain_id, chats.chain_id)",
    )
    .bind(&chat.id)
    .bind(&owner)
    .bind(&chat.app)
    .bind(chain_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(concat!(select_chat!(), "WHERE c.id = $2"))
        .bind(lease_secs)
        .bind(&chat.id)
        .fetch_one(&mut *conn)
        .await?;
    chat_record(&row)
}

/// Claims the chat for `turn` inside a transaction, interrupting a stale turn; see
/// [`TurnStore::begin_turn`].
async fn begin_turn_in(
    conn: &mut PgConnection,
    lease_secs: f64,
    instance: &str,
    turn: &NewTurn,
) -> Result<(), StoreError> {
    let running = sqlx::query(concat!(select_turn!(), "WHERE chat_id = $2 AND state = 'running' FOR UPDATE"))
        .bind(lease_secs)
        .bind(&turn.chat_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some((running, stale)) = running.as_ref().map(turn_record).transpose()? {
        if !stale {
            return Err(StoreError::TurnRunning(turn.chat_id.clone()));
        }
        tracing::warn!(turn = %running.id, chat = %running.chat_id, instance = %running.instance,
            "interrupting a turn whose instance stopped sending heartbeats");
        interrupt_in(conn, &running.id, &running.chat_id, &running.message_id).await?;
    }
    sqlx::query(
        "INSERT INTO turns (id, chat_id, message_id, instance, state, started_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, 'running', now(), now())",
    )
    .bind(&turn.id)
    .bind(&turn.chat_id)
    .bind(&turn.message_id)
    .bind(instance)
    .execute(&mut *conn)
    .await
    .map_err(|error| {
        if values::is_unique_violation(&error) {
            // Another instance claimed the chat between our look and our insert.
            StoreError::TurnRunning(turn.chat_id.clone())
        } else if values::is_foreign_key_violation(&error) {
            StoreError::ChatNotFound(turn.chat_id.clone())
        } else {
            error.into()
        }
    })?;
    Ok(())
}

/// Stores `message` in the chat inside a transaction; see [`ChatStore::put_message`].
async fn put_message_in(conn: &mut PgConnection, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
    let now = values::now();
    // Locks the chat's row: writers of one chat queue here, so the next ordinal is computed once.
    let touched = sqlx::query("UPDATE chats SET updated_at = $2 WHERE id = $1")
        .bind(chat_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if touched.rows_affected() == 0 {
        return Err(StoreError::ChatNotFound(chat_id.to_owned()));
    }
    sqlx::query(
        "INSERT INTO messages (chat_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
         VALUES ($1, $2, (SELECT COALESCE(MAX(ordinal) + 1, 0) FROM messages WHERE chat_id = $1), $3, $4, $5, $6, $7, $7)
         ON CONFLICT (chat_id, id) DO UPDATE SET
             parts = excluded.parts, metadata = excluded.metadata, text = excluded.text, updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(&message.id)
    .bind(message.role.as_str())
    .bind(Json(&message.parts))
    .bind(message.metadata.as_ref().map(Json))
    .bind(values::searchable_text(message))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the turn interrupted and its message incomplete, and wakes its followers, inside a
/// transaction.
async fn interrupt_in(
    conn: &mut PgConnection,
    turn_id: &str,
    chat_id: &str,
    message_id: &str,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT id, role, parts::text AS parts, metadata::text AS metadata FROM messages WHERE chat_id = $1 AND id = $2",
    )
    .bind(chat_id)
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    let stored = row.as_ref().map(message_from_row).transpose()?;
    put_message_in(conn, chat_id, &values::interrupted(stored, message_id)).await?;
    sqlx::query(
        "WITH ended AS (UPDATE turns SET state = 'interrupted', ended_at = now() WHERE id = $1 AND state = 'running')
         SELECT pg_notify($2, $1)",
    )
    .bind(turn_id)
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn chat_record(row: &PgRow) -> Result<ChatRecord, StoreError> {
    Ok(ChatRecord {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        app: row.try_get("app")?,
        title: row.try_get("title")?,
        chain_id: row.try_get::<Option<i64>, _>("chain_id")?.map(values::chain_id_from).transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        archived: row.try_get("archived")?,
        running: row.try_get("running")?,
    })
}

fn message_from_row(row: &PgRow) -> Result<ChatMessage, StoreError> {
    let role: String = row.try_get("role")?;
    let parts: String = row.try_get("parts")?;
    let metadata: Option<String> = row.try_get("metadata")?;
    values::message(row.try_get("id")?, &role, &parts, metadata.as_deref())
}

/// The turn and whether it is stale.
fn turn_record(row: &PgRow) -> Result<(TurnRecord, bool), StoreError> {
    let state: String = row.try_get("state")?;
    let turn = TurnRecord {
        id: row.try_get("id")?,
        chat_id: row.try_get("chat_id")?,
        message_id: row.try_get("message_id")?,
        instance: row.try_get("instance")?,
        state: TurnState::parse(&state)?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
    };
    Ok((turn, row.try_get("stale")?))
}

fn contract_record(row: &PgRow) -> Result<ContractRecord, StoreError> {
    Ok(ContractRecord {
        chain_id: values::chain_id_from(row.try_get("chain_id")?)?,
        address: row.try_get("address")?,
        name: row.try_get("name")?,
        abi: row.try_get::<Json<Value>, _>("abi")?.0,
        source: row.try_get("source")?,
        verified_by: row.try_get("verified_by")?,
        fetched_at: row.try_get("fetched_at")?,
        implementation: row.try_get("implementation")?,
    })
}

fn transaction_record(row: &PgRow) -> Result<TransactionRecord, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(TransactionRecord {
        request: NewTransaction {
            id: row.try_get("id")?,
            chat_id: row.try_get("chat_id")?,
            message_id: row.try_get("message_id")?,
            chain_id: values::chain_id_from(row.try_get("chain_id")?)?,
            from: row.try_get("from_address")?,
            request: row.try_get::<Json<Value>, _>("request")?.0,
            simulation: row.try_get::<Option<Json<Value>>, _>("simulation")?.map(|json| json.0),
        },
        outcome: TransactionOutcome::from_columns(&status, row.try_get("detail")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl ChatStore for PgStore {
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let record = ensure_chat_in(&mut tx, self.lease_secs, &chat).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        let row = sqlx::query(concat!(select_chat!(), "WHERE c.id = $2"))
            .bind(self.lease_secs)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(chat_record).transpose()
    }

    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        put_message_in(&mut tx, chat_id, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, role, parts::text AS parts, metadata::text AS metadata
             FROM messages WHERE chat_id = $1 ORDER BY ordinal",
        )
        .bind(chat_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn list_chats(&self, query: &ChatQuery) -> Result<ChatPage, StoreError> {
        let limit = values::limit(query.limit)?;
        let owner = values::address(&query.owner)?;
        let (after_time, after_id) = match &query.after {
            Some(cursor) => (Some(cursor.updated_at), Some(cursor.id.as_str())),
            None => (None, None),
        };
        let rows = sqlx::query(concat!(
            select_chat!(),
            "WHERE c.owner = $2 AND c.archived = $3
                 AND ($4::timestamptz IS NULL OR (c.updated_at, c.id) < ($4, $5::text))
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $6"
        ))
        .bind(self.lease_secs)
        .bind(&owner)
        .bind(query.archived)
        .bind(after_time)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut chats = rows.iter().map(chat_record).collect::<Result<Vec<_>, _>>()?;
        let next = values::page_end(&mut chats, limit);
        Ok(ChatPage { chats, next })
    }

    async fn rename_chat(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE chats SET title = $2 WHERE id = $1").bind(id).bind(title).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn set_title_if_missing(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE chats SET title = $2 WHERE id = $1 AND title IS NULL")
            .bind(id)
            .bind(title)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_archived(&self, id: &str, archived: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE chats SET archived = $2 WHERE id = $1")
            .bind(id)
            .bind(archived)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn delete_chat(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM chats WHERE id = $1").bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let limit = values::limit(query.limit)?;
        let owner = values::address(&query.owner)?;
        // Every word, each as a word or a word's beginning: "swap" finds "swapped". The terms are
        // letters and digits only, so they cannot form tsquery operators.
        let terms = values::search_terms(&query.text)?;
        let tsquery = terms.iter().map(|term| format!("{term}:*")).collect::<Vec<_>>().join(" & ");
        let rows = sqlx::query(
            r#"SELECT m.chat_id, c.title, c.archived, m.id, m.role, m.created_at,
                      ts_headline('simple', m.text, q,
                          'StartSel="**", StopSel="**", MinWords=8, MaxWords=24, MaxFragments=1') AS snippet
               FROM messages m
               JOIN chats c ON c.id = m.chat_id
               CROSS JOIN to_tsquery('simple', $1) AS q
               WHERE c.owner = $2 AND m.search @@ q
               ORDER BY ts_rank(m.search, q) DESC, m.created_at DESC
               LIMIT $3"#,
        )
        .bind(tsquery)
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(SearchHit {
                    chat_id: row.try_get("chat_id")?,
                    chat_title: row.try_get("title")?,
                    archived: row.try_get("archived")?,
                    message_id: row.try_get("id")?,
                    role: values::role(&role)?,
                    snippet: row.try_get("snippet")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn user(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        let address = values::address(address)?;
        let row = sqlx::query("SELECT address, first_seen, last_seen FROM users WHERE address = $1")
            .bind(&address)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(UserRecord {
                address: row.try_get("address")?,
                first_seen: row.try_get("first_seen")?,
                last_seen: row.try_get("last_seen")?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl TurnStore for PgStore {
    fn instance_id(&self) -> &str {
        &self.instance
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs_f64(self.lease_secs / 3.0).max(Duration::from_millis(100))
    }

    async fn begin_turn(&self, turn: &NewTurn) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        begin_turn_in(&mut tx, self.lease_secs, &self.instance, turn).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_turn(&self, start: &TurnStart) -> Result<ChatRecord, StoreError> {
        start.check()?;
        let mut tx = self.pool.begin().await?;
        let chat = ensure_chat_in(&mut tx, self.lease_secs, &start.chat).await?;
        begin_turn_in(&mut tx, self.lease_secs, &self.instance, &start.turn).await?;
        if let Some(message) = &start.message {
            let exists = sqlx::query("SELECT 1 FROM messages WHERE chat_id = $1 AND id = $2")
                .bind(&start.chat.id)
                .bind(&message.id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_some() {
                return Err(StoreError::DuplicateMessage(message.id.clone()));
            }
            put_message_in(&mut tx, &start.chat.id, message).await?;
        }
        tx.commit().await?;
        Ok(chat)
    }

    async fn heartbeat_turn(&self, turn_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE turns SET heartbeat_at = now() WHERE id = $1 AND state = 'running'")
            .bind(turn_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        sqlx::query(
            "WITH ended AS (UPDATE turns SET state = $2, ended_at = now() WHERE id = $1 AND state = 'running')
             SELECT pg_notify($3, $1)",
        )
        .bind(turn_id)
        .bind(state.as_str())
        .bind(CHANNEL)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn turn(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        self.fresh_turn(turn_id).await
    }

    async fn running_turn(&self, chat_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM turns WHERE chat_id = $1 AND state = 'running'")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(id) = id else { return Ok(None) };
        Ok(self.fresh_turn(&id).await?.filter(|turn| turn.state == TurnState::Running))
    }

    async fn interrupt_stale_turns(&self) -> Result<Vec<TurnRecord>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM turns WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)",
        )
        .bind(self.lease_secs)
        .fetch_all(&self.pool)
        .await?;
        let mut interrupted = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(turn) = self.fresh_turn(&id).await?.filter(|turn| turn.state == TurnState::Interrupted) {
                interrupted.push(turn);
            }
        }
        Ok(interrupted)
    }

    async fn append_turn_parts(&self, turn_id: &str, first_seq: u64, parts: &[UiChunk]) -> Result<(), StoreError> {
        let seqs = (first_seq..).take(parts.len()).map(values::seq_to_i64).collect::<Result<Vec<_>, _>>()?;
        let parts: Vec<String> = parts.iter().map(UiChunk::to_json).collect();
        // One statement: the parts and the notification commit together.
        sqlx::query(
            "WITH added AS (
                 INSERT INTO turn_parts (turn_id, seq, part)
                 SELECT $1, seq, part::jsonb FROM UNNEST($2::bigint[], $3::text[]) AS p (seq, part)
             )
             SELECT pg_notify($4, $1)",
        )
        .bind(turn_id)
        .bind(seqs)
        .bind(parts)
        .bind(CHANNEL)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn turn_parts(&self, turn_id: &str, from_seq: u64) -> Result<Vec<UiChunk>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT part::text FROM turn_parts WHERE turn_id = $1 AND seq >= $2 ORDER BY seq")
                .bind(turn_id)
                .bind(values::seq_to_i64(from_seq)?)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|part| values::part(part)).collect()
    }

    async fn subscribe_turns(&self) -> Result<broadcast::Receiver<TurnEvent>, StoreError> {
        let receiver = self.events.subscribe();
        self.listener.get_or_try_init(|| self.listen()).await?;
        Ok(receiver)
    }

    async fn prune_turn_parts(&self, older_than: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM turn_parts WHERE turn_id IN
                 (SELECT id FROM turns WHERE state <> 'running' AND ended_at < now() - make_interval(secs => $1))",
        )
        .bind(older_than.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ContractStore for PgStore {
    async fn put_contract(&self, contract: &ContractRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO contracts (chain_id, address, name, abi, source, verified_by, fetched_at, implementation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (chain_id, address) DO UPDATE SET name = excluded.name, abi = excluded.abi,
                 source = excluded.source, verified_by = excluded.verified_by, fetched_at = excluded.fetched_at,
                 implementation = excluded.implementation",
        )
        .bind(values::chain_id(contract.chain_id)?)
        .bind(values::address(&contract.address)?)
        .bind(&contract.name)
        .bind(Json(&contract.abi))
        .bind(&contract.source)
        .bind(&contract.verified_by)
        .bind(contract.fetched_at)
        .bind(contract.implementation.as_deref().map(values::address).transpose()?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn contract(&self, chain_id: u64, address: &str) -> Result<Option<ContractRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM contracts WHERE chain_id = $1 AND address = $2")
            .bind(values::chain_id(chain_id)?)
            .bind(values::address(address)?)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(contract_record).transpose()
    }

    async fn contracts_named(&self, chain_id: u64, name: &str, limit: u32) -> Result<Vec<ContractRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM contracts WHERE chain_id = $1 AND lower(name) LIKE $2 ESCAPE '\\'
             ORDER BY lower(name), address LIMIT $3",
        )
        .bind(values::chain_id(chain_id)?)
        .bind(values::like_prefix(name))
        .bind(values::limit(limit)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contract_record).collect()
    }
}

#[async_trait]
impl TransactionStore for PgStore {
    async fn put_transaction(&self, transaction: &NewTransaction) -> Result<(), StoreError> {
        let now = values::now();
        sqlx::query(
            "INSERT INTO transactions
                 (id, chat_id, message_id, chain_id, from_address, request, simulation, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
        )
        .bind(&transaction.id)
        .bind(&transaction.chat_id)
        .bind(&transaction.message_id)
        .bind(values::chain_id(transaction.chain_id)?)
        .bind(transaction.from.as_deref().map(values::address).transpose()?)
        .bind(Json(&transaction.request))
        .bind(transaction.simulation.as_ref().map(Json))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|error| values::transaction_insert_error(error, transaction))?;
        Ok(())
    }

    async fn set_simulation(&self, id: &str, report: &Value) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE transactions SET simulation = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(Json(report))
            .bind(values::now())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TransactionNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn set_transaction_outcome(&self, id: &str, outcome: &TransactionOutcome) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE transactions SET status = $2, detail = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(outcome.status())
            .bind(outcome.detail())
            .bind(values::now())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TransactionNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn transaction(&self, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM transactions WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(transaction_record).transpose()
    }

    async fn chat_transactions(&self, chat_id: &str) -> Result<Vec<TransactionRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM transactions WHERE chat_id = $1 ORDER BY created_at, id")
            .bind(chat_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(transaction_record).collect()
    }
}

#[async_trait]
impl AuthStore for PgStore {
    async fn use_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(auth::sql::USE_NONCE).bind(nonce).bind(expires_at).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_generation(&self, address: &str) -> Result<u64, StoreError> {
        let stored: Option<i64> = sqlx::query_scalar(auth::sql::GENERATION)
            .bind(values::address(address)?)
            .fetch_optional(&self.pool)
            .await?;
        auth::generation(stored.unwrap_or(0))
    }

    async fn revoke_sessions(&self, address: &str) -> Result<u64, StoreError> {
        let stored: i64 =
            sqlx::query_scalar(auth::sql::REVOKE).bind(values::address(address)?).fetch_one(&self.pool).await?;
        auth::generation(stored)
    }

    async fn prune_nonces(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(auth::sql::PRUNE).bind(now).execute(&self.pool).await?.rows_affected())
    }
}

#[async_trait]
impl Store for PgStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Postgres
    }

    fn describe(&self) -> String {
        format!("PostgreSQL at {}", self.target)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
