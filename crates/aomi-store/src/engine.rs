//! What the one SQL store needs of a sqlx database, named once.
//!
//! sqlx's traits are generic over the database, but every use asks for a bound of its own
//! (`&str: Encode<'_, DB>`, `&mut DB::Connection: Executor`, …), and Rust does not carry such
//! bounds from a trait to the code that uses it. [`Engine`] gathers them as supertraits, which Rust
//! does carry, and is implemented for every database that meets them (SQLite and PostgreSQL): so
//! the store's code is generic over one bound, `D: Dialect`, and never repeats sqlx's.
//!
//! [`Sql`] is a statement with its arguments; [`Col::col`] reads a column.

use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::query::Query;
use sqlx::{
    Arguments, AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, SqlSafeStr, Type,
};

use crate::StoreError;
use crate::dialect::{JsonText, Span, Time};

/// A sqlx query of `DB` with its arguments.
pub type Q<DB> = Query<'static, DB, <DB as Database>::Arguments>;

/// The rows and results of a query, as [`Engine::fetch_many`] streams them.
pub type Results<'c, DB> = futures::stream::BoxStream<
    'c,
    Result<sqlx::Either<<DB as Database>::QueryResult, <DB as Database>::Row>, sqlx::Error>,
>;

/// A boxed future, as the [`Engine`] methods return (they are called from `async_trait` methods,
/// whose futures are `Send`).
pub type Fut<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// `DB` takes a `T` as a statement argument.
pub trait Binds<T>: Database {
    /// Adds `value` as the next argument.
    fn bind_value(query: Q<Self>, value: T) -> Q<Self>;
    /// Adds `value` to `arguments` (for a [`crate::script::Script`]).
    fn add_value(arguments: &mut Self::Arguments, value: T) -> Result<(), BoxDynError>;
}

impl<DB: Database, T> Binds<T> for DB
where
    T: for<'t> Encode<'t, DB> + Type<DB>,
{
    fn bind_value(query: Q<Self>, value: T) -> Q<Self> {
        query.bind(value)
    }

    fn add_value(arguments: &mut Self::Arguments, value: T) -> Result<(), BoxDynError> {
        arguments.add(value)
    }
}

/// `DB` reads a `T` from a column.
pub trait Reads<T>: Database {
    /// The value of `column` in `row`.
    fn read(row: &Self::Row, column: &str) -> Result<T, sqlx::Error>;
}

impl<DB: Database, T> Reads<T> for DB
where
    T: for<'r> Decode<'r, DB> + Type<DB>,
    for<'c> &'c str: ColumnIndex<DB::Row>,
{
    fn read(row: &Self::Row, column: &str) -> Result<T, sqlx::Error> {
        row.try_get(column)
    }
}

/// A value a statement takes. sqlx's arguments own their values (`'static`), so borrowed text is
/// copied; everything else is taken as it is.
pub trait Arg {
    /// What is bound.
    type Owned;
    /// The value to bind.
    fn owned(self) -> Self::Owned;
}

impl Arg for &str {
    type Owned = String;
    fn owned(self) -> String {
        self.to_owned()
    }
}

impl Arg for Option<&str> {
    type Owned = Option<String>;
    fn owned(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

/// Owned values are bound as they are.
macro_rules! owned_args {
    ($($t:ty),* $(,)?) => {
        $(impl Arg for $t {
            type Owned = $t;
            fn owned(self) -> $t {
                self
            }
        })*
    };
}

owned_args!(
    String,
    Option<String>,
    i64,
    Option<i64>,
    bool,
    Time,
    Option<Time>,
    Span,
    JsonText,
    Option<JsonText>,
    Vec<i64>,
    Vec<String>
);

/// How many rows a statement changed: sqlx has it per database, not in a trait.
pub trait RowsAffected {
    /// The count.
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// A sqlx database the store runs on: the value types it binds and reads, and how statements run.
pub trait Engine:
    Database<QueryResult: RowsAffected>
    + Binds<String>
    + Binds<Option<String>>
    + Binds<i64>
    + Binds<Option<i64>>
    + Binds<bool>
    + Binds<Time>
    + Binds<Option<Time>>
    + Binds<Span>
    + Binds<JsonText>
    + Binds<Option<JsonText>>
    + Reads<String>
    + Reads<Option<String>>
    + Reads<i64>
    + Reads<Option<i64>>
    + Reads<bool>
    + Reads<Time>
    + Reads<Option<Time>>
    + Reads<JsonText>
    + Reads<Option<JsonText>>
{
    /// Runs `query` for its effect.
    fn execute(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Self::QueryResult>;
    /// Runs `query` for at most one row.
    fn fetch_optional(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Option<Self::Row>>;
    /// Runs `query` for all its rows.
    fn fetch_all(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Vec<Self::Row>>;
    /// Runs `query`, which may hold several statements: each one's rows, then its result.
    fn fetch_many(conn: &mut Self::Connection, query: Q<Self>) -> Results<'_, Self>;
    /// The query `sql` with `arguments`.
    fn query_with(sql: String, arguments: Self::Arguments) -> Q<Self>;
}

impl<DB> Engine for DB
where
    DB: Database<QueryResult: RowsAffected>
        + Binds<String>
        + Binds<Option<String>>
        + Binds<i64>
        + Binds<Option<i64>>
        + Binds<bool>
        + Binds<Time>
        + Binds<Option<Time>>
        + Binds<Span>
        + Binds<JsonText>
        + Binds<Option<JsonText>>
        + Reads<String>
        + Reads<Option<String>>
        + Reads<i64>
        + Reads<Option<i64>>
        + Reads<bool>
        + Reads<Time>
        + Reads<Option<Time>>
        + Reads<JsonText>
        + Reads<Option<JsonText>>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    fn execute(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Self::QueryResult> {
        conn.execute(query)
    }

    fn fetch_optional(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Option<Self::Row>> {
        conn.fetch_optional(query)
    }

    fn fetch_all(conn: &mut Self::Connection, query: Q<Self>) -> Fut<'_, Vec<Self::Row>> {
        conn.fetch_all(query)
    }

    fn fetch_many(conn: &mut Self::Connection, query: Q<Self>) -> Results<'_, Self> {
        conn.fetch_many(query)
    }

    fn query_with(sql: String, arguments: Self::Arguments) -> Q<Self> {
        // Scripts are joined from the store's own statements, never from input.
        sqlx::query_with(AssertSqlSafe(sql), arguments)
    }
}

/// A statement and its arguments, bound in order (`$1`, `$2`, …: both databases number them so).
pub struct Sql<DB: Engine>(Q<DB>);

impl<DB: Engine> Sql<DB> {
    /// The statement `sql`.
    pub(crate) fn new(sql: impl SqlSafeStr) -> Self {
        Sql(sqlx::query(sql))
    }

    /// Adds the next argument.
    pub(crate) fn bind<T: Arg>(self, value: T) -> Self
    where
        DB: Binds<T::Owned>,
    {
        Sql(DB::bind_value(self.0, value.owned()))
    }

    /// Runs it; returns how many rows it changed.
    pub(crate) async fn execute(self, conn: &mut DB::Connection) -> Result<u64, StoreError> {
        Ok(DB::execute(conn, self.0).await?.rows_affected())
    }

    /// Runs it; the error is sqlx's, for a caller that tells constraint violations apart.
    pub(crate) async fn try_execute(self, conn: &mut DB::Connection) -> Result<u64, sqlx::Error> {
        Ok(DB::execute(conn, self.0).await?.rows_affected())
    }

    /// Runs it for at most one row.
    pub(crate) async fn fetch_optional(self, conn: &mut DB::Connection) -> Result<Option<DB::Row>, StoreError> {
        Ok(DB::fetch_optional(conn, self.0).await?)
    }

    /// Runs it for exactly one row.
    pub(crate) async fn fetch_one(self, conn: &mut DB::Connection) -> Result<DB::Row, StoreError> {
        DB::fetch_optional(conn, self.0).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs it for all its rows.
    pub(crate) async fn fetch_all(self, conn: &mut DB::Connection) -> Result<Vec<DB::Row>, StoreError> {
        Ok(DB::fetch_all(conn, self.0).await?)
    }
}

/// What arguments are bound to, in order: a [`Sql`], or the last statement of a
/// [`crate::script::Script`].
pub trait Bind<DB: Engine> {
    /// Adds the next argument.
    fn bind_next<T: Arg>(self, value: T) -> Self
    where
        DB: Binds<T::Owned>;
}

impl<DB: Engine> Bind<DB> for Sql<DB> {
    fn bind_next<T: Arg>(self, value: T) -> Self
    where
        DB: Binds<T::Owned>,
    {
        self.bind(value)
    }
}

impl<DB: Engine> Bind<DB> for &mut crate::script::Script<DB> {
    fn bind_next<T: Arg>(self, value: T) -> Self
    where
        DB: Binds<T::Owned>,
    {
        self.bind(value)
    }
}

/// Reads a column of a row as a `T` its database [`Reads`].
pub trait Col: Row {
    /// The value of `column`.
    fn col<T>(&self, column: &str) -> Result<T, sqlx::Error>
    where
        Self::Database: Reads<T>,
    {
        <Self::Database as Reads<T>>::read(self, column)
    }
}

impl<R: Row> Col for R {}
