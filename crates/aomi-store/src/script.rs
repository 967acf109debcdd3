//! [`Script`]: statements that follow each other with nothing decided between them, sent
//! together.
//!
//! Every statement on a SQLite connection is a hop to the connection's own thread and back: two
//! thread wakes, and most of a short statement's cost (docs/benchmarks.md). SQLite runs several
//! statements of one query string in a row, so a script is one hop there: its statements are
//! joined, each one's `$n` renumbered after the arguments of those before it. PostgreSQL's
//! protocol takes one statement per prepared query: there a script runs its statements one after
//! the other, as they would run alone. Either way a statement that fails stops the script, and
//! the error says which one it was.

use futures::StreamExt;
use sqlx::Arguments;
use sqlx::Either;
use sqlx::error::BoxDynError;

use crate::engine::{Arg, Binds, Engine, RowsAffected};

/// Statements sent together; see the [module docs](self).
pub(crate) struct Script<DB: Engine> {
    /// Joined into one query (SQLite), or each its own.
    joined: bool,
    /// The queries and their arguments: one when joined.
    queries: Vec<(String, DB::Arguments)>,
    /// How many statements.
    statements: usize,
    /// The first argument that could not be encoded, and its statement.
    unencodable: Option<(usize, BoxDynError)>,
}

/// What one statement of a script did.
pub(crate) struct Ran<DB: Engine> {
    /// The rows it returned.
    pub(crate) rows: Vec<DB::Row>,
    /// How many rows it changed.
    pub(crate) changed: u64,
}

/// A statement of a script failed; the ones before it ran, the ones after it did not.
#[derive(Debug)]
pub(crate) struct ScriptError {
    /// Which statement (from 0, in the order they were added).
    pub(crate) at: usize,
    /// Its error.
    pub(crate) error: sqlx::Error,
}

impl<DB: Engine> Script<DB> {
    /// An empty script: its statements `joined` into one query, or not.
    pub(crate) fn new(joined: bool) -> Self {
        Script { joined, queries: Vec::new(), statements: 0, unencodable: None }
    }

    /// Adds the statement `sql`, whose `$1`, `$2`, … are the arguments bound next.
    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        match self.queries.last_mut() {
            Some((query, arguments)) if self.joined => {
                query.push_str(";\n");
                renumber(sql, arguments.len(), query);
            }
            _ => self.queries.push((sql.to_owned(), DB::Arguments::default())),
        }
        self.statements += 1;
        self
    }

    /// Binds the next argument of the last statement added.
    pub(crate) fn bind<T: Arg>(&mut self, value: T) -> &mut Self
    where
        DB: Binds<T::Owned>,
    {
        if let Some((_, arguments)) = self.queries.last_mut()
            && let Err(error) = DB::add_value(arguments, value.owned())
            && self.unencodable.is_none()
        {
            self.unencodable = Some((self.statements.saturating_sub(1), error));
        }
        self
    }

    /// Runs its statements on `conn`, in order; what each did, in the same order.
    pub(crate) async fn run(self, conn: &mut DB::Connection) -> Result<Vec<Ran<DB>>, ScriptError> {
        let statements = self.statements;
        self.run_between(conn, None, None).await.map_err(|failure| match failure {
            Failure::Statement(error) => error,
            // Nothing runs around the script: this is a count of results past its statements.
            Failure::Around(error) => ScriptError { at: statements, error },
        })
    }

    /// [`Script::run`] with `before` run first and `after` last: statements without arguments
    /// or rows, a transaction's `BEGIN` and `COMMIT`. Joined, they go in the same call as the
    /// script; `after` runs only if every statement did.
    pub(crate) async fn run_between(
        mut self,
        conn: &mut DB::Connection,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<Vec<Ran<DB>>, Failure> {
        if let Some((at, error)) = self.unencodable {
            return Err(Failure::Statement(ScriptError { at, error: sqlx::Error::Encode(error) }));
        }
        let skip = usize::from(before.is_some());
        let results = self.statements + skip + usize::from(after.is_some());
        if let Some(before) = before {
            match self.queries.first_mut() {
                Some((query, _)) if self.joined => query.insert_str(0, &format!("{before};\n")),
                _ => self.queries.insert(0, (before.to_owned(), DB::Arguments::default())),
            }
        }
        if let Some(after) = after {
            match self.queries.last_mut() {
                Some((query, _)) if self.joined => {
                    query.push_str(";\n");
                    query.push_str(after);
                }
                _ => self.queries.push((after.to_owned(), DB::Arguments::default())),
            }
        }
        let mut ran = Vec::with_capacity(self.statements);
        let (mut done, mut rows) = (0, Vec::new());
        // The statement that failed, or `before` or `after`.
        let failed = |done: usize, error| match done.checked_sub(skip) {
            Some(at) if at < self.statements => Failure::Statement(ScriptError { at, error }),
            _ => Failure::Around(error),
        };
        for (query, arguments) in self.queries {
            let mut stream = DB::fetch_many(conn, DB::query_with(query, arguments));
            while let Some(result) = stream.next().await {
                match result {
                    // Each statement ends with its result, after its rows.
                    Ok(Either::Left(result)) => {
                        if (skip..skip + self.statements).contains(&done) {
                            ran.push(Ran { rows: std::mem::take(&mut rows), changed: result.rows_affected() });
                        }
                        done += 1;
                    }
                    Ok(Either::Right(row)) => rows.push(row),
                    Err(error) => return Err(failed(done, error)),
                }
            }
        }
        if done != results {
            return Err(failed(done, sqlx::Error::Protocol(format!("{done} of {results} statements reported"))));
        }
        Ok(ran)
    }
}

/// A failure of [`Script::run_between`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// One of the script's statements.
    Statement(ScriptError),
    /// The statement before or after them.
    Around(sqlx::Error),
}

/// Appends `sql` to `out` with each placeholder `$n` outside quotes written `$(n + by)`. Runs for
/// every statement but a query's first, on every call: the text between placeholders is copied
/// whole.
fn renumber(sql: &str, by: usize, out: &mut String) {
    use std::fmt::Write as _;
    if by == 0 {
        out.push_str(sql);
        return;
    }
    let bytes = sql.as_bytes();
    let (mut copied, mut at) = (0, 0);
    let mut quote = None;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if byte == b'\'' || byte == b'"' => quote = Some(byte),
            None if byte == b'$' && bytes.get(at).is_some_and(u8::is_ascii_digit) => {
                let digits = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
                // Only ASCII digits: the parse fails only past usize, left as written.
                let Ok(n) = sql[at..at + digits].parse::<usize>() else {
                    at += digits;
                    continue;
                };
                out.push_str(&sql[copied..at - 1]);
                // Writing to a String cannot fail.
                let _ = write!(out, "${}", n + by);
                at += digits;
                copied = at;
            }
            None => {}
        }
    }
    out.push_str(&sql[copied..]);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Sqlite};

    use super::*;
    use crate::engine::Col;

    #[test]
    fn placeholders_are_renumbered_outside_quotes_only() {
        let mut out = String::new();
        renumber("SELECT $1, '$2', \"$3\", $10, json_extract(x, '$.a') WHERE y = $2", 4, &mut out);
        assert_eq!(out, "SELECT $5, '$2', \"$3\", $14, json_extract(x, '$.a') WHERE y = $6");
        out.clear();
        renumber("SELECT 'it''s $1' || $1 || 'é$'", 2, &mut out);
        assert_eq!(out, "SELECT 'it''s $1' || $3 || 'é$'");
    }

    /// Joined or not, a script's statements see their own arguments, report their own rows and
    /// changes, and a failure names its statement and stops the ones after it.
    #[tokio::test]
    async fn a_script_runs_its_statements_in_order_and_names_the_one_that_failed() {
        for joined in [true, false] {
            let mut conn = SqliteConnectOptions::new().in_memory(true).connect().await.unwrap();
            sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)").execute(&mut conn).await.unwrap();
            let mut script = Script::<Sqlite>::new(joined);
            script.push("INSERT INTO t (k, v) VALUES ($1, $2), ($3, $2)").bind("a").bind(1i64).bind("b");
            script.push("UPDATE t SET v = $2 WHERE k = $1").bind("b").bind(5i64);
            script.push("SELECT k, v FROM t WHERE v >= $1 ORDER BY k").bind(1i64);
            let ran = script.run(&mut conn).await.unwrap();
            assert_eq!(ran.iter().map(|r| r.changed).collect::<Vec<_>>()[..2], [2, 1], "joined: {joined}");
            let read: Vec<(String, i64)> =
                ran[2].rows.iter().map(|row| (row.col("k").unwrap(), row.col("v").unwrap())).collect();
            assert_eq!(read, [("a".to_owned(), 1), ("b".to_owned(), 5)], "joined: {joined}");

            let mut script = Script::<Sqlite>::new(joined);
            script.push("UPDATE t SET v = $1 WHERE k = 'a'").bind(7i64);
            script.push("INSERT INTO t (k, v) VALUES ($1, $2)").bind("b").bind(0i64);
            script.push("UPDATE t SET v = $1 WHERE k = 'b'").bind(9i64);
            let error = script.run(&mut conn).await.err().unwrap();
            assert_eq!(error.at, 1, "joined: {joined}: {error:?}");
            let values: Vec<i64> = sqlx::query_scalar("SELECT v FROM t ORDER BY k").fetch_all(&mut conn).await.unwrap();
            assert_eq!(values, [7, 5], "joined: {joined}: the statement after the failure ran");
        }
    }
}
