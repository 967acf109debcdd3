//! The PostgreSQL dialect: one database shared by any number of aomi instances.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::PgInterval;
use sqlx::postgres::{
    PgArgumentBuffer, PgConnectOptions, PgConnection, PgListener, PgTypeInfo, PgValueFormat, PgValueRef,
};
use sqlx::types::Json;
use sqlx::{Decode, Encode, Pool, Postgres, Type, ValueRef};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::dialect::{Dialect, Events, JsonText, Span, Time};
use crate::engine::{Bind, Sql};
use crate::sql::SqlStore;
use crate::turn::ANY_TURN;
use crate::write_conn::WritePath;
use crate::{StoreConfig, StoreError, StoreKind, migrate};

/// The NOTIFY channel of turn events; the payload is a turn id.
const CHANNEL: &str = "aomi_turns";

/// The PostgreSQL store.
///
/// Turns are live while their instance refreshes the heartbeat within the lease, measured by
/// the database's clock (instances' clocks may differ). Parts of running turns go to
/// `turn_parts`, each batch with a `NOTIFY aomi_turns, '<turn id>'` in the same statement; a
/// store that is subscribed holds one `LISTEN` connection (besides the pool) and relays the
/// notifications to its subscribers. Times are `timestamptz`, JSON is `jsonb`, search is a
/// `tsvector`.
pub type PgStore = SqlStore<PgDialect>;

/// What only PostgreSQL needs: the turn lease, the LISTEN task, where the database is.
#[derive(Debug)]
pub struct PgDialect {
    lease: Duration,
    listener: OnceCell<JoinHandle<()>>,
    target: String,
}

impl Drop for PgDialect {
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
        let pool = config
            .pool_options::<Postgres>()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target: target.clone(), source })?;
        migrate::migrator(migrate::POSTGRES).run(&pool).await?;
        let dialect = PgDialect { lease: config.turn_lease, listener: OnceCell::new(), target };
        Ok(SqlStore::new(dialect, pool.clone(), WritePath::Pool(pool), None, None))
    }
}

impl Dialect for PgDialect {
    type Db = Postgres;

    const KIND: StoreKind = StoreKind::Postgres;

    const BEGIN: &'static str = "BEGIN";

    // A prepared query holds one statement.
    const JOINS_SCRIPTS: bool = false;

    // Live while its instance's heartbeat is within the lease, by the database's clock.
    const LIVE_TURN: &'static str = "t.heartbeat_at >= now() - $1";

    const NOW: &'static str = "now()";

    const LOCK_ROW: &'static str = " FOR UPDATE";

    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify('aomi_turns', $1)");

    const SEARCH: &'static str = r#"SELECT m.chat_id, c.title, c.archived, m.id, m.role, m.created_at,
            ts_headline('simple', m.text, q,
                'StartSel="**", StopSel="**", MinWords=8, MaxWords=24, MaxFragments=1') AS snippet
        FROM messages m
        JOIN chats c ON c.id = m.chat_id
        CROSS JOIN to_tsquery('simple', $1) AS q
        WHERE c.owner = $2 AND m.search @@ q
        ORDER BY ts_rank(m.search, q) DESC, m.created_at DESC
        LIMIT $3"#;

    fn search_query(terms: &[String]) -> String {
        // The terms are letters and digits only, so they cannot form tsquery operators.
        terms.iter().map(|term| format!("{term}:*")).collect::<Vec<_>>().join(" & ")
    }

    fn text(text: &str) -> Cow<'_, str> {
        without_nul(text)
    }

    fn bind_liveness<B: Bind<Postgres>>(&self, statement: B, _instance: &str) -> B {
        statement.bind_next(Span(self.lease))
    }

    fn heartbeat_interval(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }

    fn describe(&self) -> String {
        format!("PostgreSQL at {}", self.target)
    }

    async fn append_parts(
        conn: &mut PgConnection,
        turn_id: &str,
        parts: Vec<(i64, JsonText)>,
    ) -> Result<(), StoreError> {
        let (seqs, parts): (Vec<i64>, Vec<String>) =
            parts.iter().map(|(seq, part)| (*seq, json_without_nul(&part.0).into_owned())).unzip();
        // One statement: the parts and the notification commit together.
        Sql::<Postgres>::new(
            "WITH added AS (
                 INSERT INTO turn_parts (turn_id, seq, part)
                 SELECT $1, seq, part::jsonb FROM UNNEST($2::bigint[], $3::text[]) AS p (seq, part)
             )
             SELECT pg_notify('aomi_turns', $1)",
        )
        .bind(turn_id)
        .bind(seqs)
        .bind(parts)
        .fetch_optional(conn)
        .await?;
        Ok(())
    }

    async fn listen(&self, pool: &Pool<Postgres>, events: &Events) -> Result<(), StoreError> {
        self.listener.get_or_try_init(|| relay(pool, events.clone())).await?;
        Ok(())
    }
}

/// A task that relays the notifications of [`CHANNEL`] to `events`.
async fn relay(pool: &Pool<Postgres>, events: Events) -> Result<JoinHandle<()>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
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

/// `text` without NUL characters. PostgreSQL's TEXT and JSONB refuse NUL (U+0000), which a user's
/// message, a model's answer, a tool's output or an explorer's ABI may hold (a `bytes32` name
/// padded with zeros): each becomes U+FFFD. SQLite keeps NULs as they are.
fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "\u{fffd}")) } else { Cow::Borrowed(text) }
}

/// JSON text without NUL characters in its strings and keys (see [`without_nul`]). JSON writes a
/// NUL as the escape `\u0000`; only a text that holds one is parsed and rewritten.
fn json_without_nul(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u0000") {
        return Cow::Borrowed(json);
    }
    match serde_json::from_str::<Value>(json) {
        Ok(mut value) => {
            replace_nul(&mut value);
            Cow::Owned(value.to_string())
        }
        Err(_) => Cow::Borrowed(json),
    }
}

fn replace_nul(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\0') => *text = without_nul(text).into_owned(),
        Value::Array(items) => items.iter_mut().for_each(replace_nul),
        Value::Object(map) if map.keys().any(|key| key.contains('\0')) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(key, mut item)| {
                    replace_nul(&mut item);
                    (without_nul(&key).into_owned(), item)
                })
                .collect();
        }
        Value::Object(map) => map.values_mut().for_each(replace_nul),
        _ => {}
    }
}

// Times: timestamptz.

impl Type<Postgres> for Time {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Time {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Time {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Postgres>>::decode(value).map(Time)
    }
}

// Spans: interval.

impl Type<Postgres> for Span {
    fn type_info() -> PgTypeInfo {
        <PgInterval as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Span {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let microseconds = i64::try_from(self.0.as_micros()).unwrap_or(i64::MAX);
        Encode::<Postgres>::encode_by_ref(&PgInterval { months: 0, days: 0, microseconds }, buf)
    }
}

// JSON: jsonb (binary: a version byte, 1, then the text), NULs replaced.

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        <Json<Value> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <Json<Value> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for JsonText {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.push(1);
        buf.extend_from_slice(json_without_nul(&self.0).as_bytes());
        Ok(IsNull::No)
    }
}

impl<'r> Decode<'r, Postgres> for JsonText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let binary_jsonb = value.format() == PgValueFormat::Binary
            && *value.type_info() == <Json<Value> as Type<Postgres>>::type_info();
        let mut bytes = value.as_bytes()?;
        if binary_jsonb {
            match bytes.split_first() {
                Some((1, rest)) => bytes = rest,
                _ => return Err("unsupported JSONB format version (expected 1)".into()),
            }
        }
        Ok(JsonText(std::str::from_utf8(bytes)?.to_owned()))
    }
}
