//! One storage layer over two databases: SQLite (WAL, in the data directory) is the embedded
//! default; PostgreSQL is for production and for several instances.
//!
//! Queries are written once, in SQL both databases accept (`$1` placeholders, no `ILIKE`, no
//! `now()`: times are bound from Rust), and run on the native pool of each backend through
//! [`dispatch!`](crate::dispatch), which expands the same code once per backend so that
//! each copy is typed against its own driver. Schemas live in `migrations/sqlite` and
//! `migrations/postgres`, kept in step by hand and by the test suite, which runs on both.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DatabaseTarget;
use crate::time::{Clock, Timestamp};

/// The database: a connection pool on one of the two backends, and the clock whose "now" the
/// stores bind (SQL never calls `now()`).
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    clock: Clock,
}

/// A connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool `db` holds: `dispatch!(db, |pool| …)`.
///
/// The body is expanded once per backend, so `pool` is a `&SqlitePool` in one copy and a
/// `&PgPool` in the other, and every query in it is checked against both drivers.
#[macro_export]
macro_rules! dispatch {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}

/// Beginning a transaction that will write, the same way in both copies of a
/// [`dispatch!`](crate::dispatch) body: `pool.begin_write().await?`.
///
/// On SQLite it is `BEGIN IMMEDIATE`. A deferred `BEGIN` whose transaction reads first and
/// writes later fails at once with `SQLITE_BUSY_SNAPSHOT` (517, "database is locked") when
/// another writer — the request log's flusher, say — committed in between: the busy timeout
/// does not retry that. `IMMEDIATE` takes the write lock up front.
///
/// SQLite has one writer at a time, and its busy handler is not fair: a writer that finds
/// the lock taken sleeps and retries, and one that commits back to back (an import, batch
/// after batch) can keep it for seconds — a request log that cannot write is one a hard kill
/// loses. So on SQLite write transactions first take this process's **turn** for the
/// database: a FIFO queue ([`tokio::sync::Mutex`] is fair), held until the transaction ends.
/// Each writer then waits only for those that asked before it. On PostgreSQL it is a plain
/// `BEGIN`: rows are locked, not the database.
pub trait BeginWrite {
    type Database: sqlx::Database;

    fn begin_write(&self) -> impl Future<Output = Result<WriteTx<Self::Database>, sqlx::Error>> + Send;
}

/// A write transaction, and (SQLite) this process's turn to write, held until it ends. Use
/// it as sqlx's: `&mut *tx` is the connection; `commit` and `rollback` end it.
pub struct WriteTx<DB: sqlx::Database> {
    tx: sqlx::Transaction<'static, DB>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: sqlx::Database> WriteTx<DB> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}

/// The write queue of each SQLite database this process opened, by file.
fn write_turns(pool: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, LazyLock, Mutex};
    static TURNS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let options = pool.connect_options();
    let file = options.get_filename();
    let mut turns = TURNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match turns.get(file) {
        Some(turn) => turn.clone(),
        None => turns.entry(file.to_path_buf()).or_default().clone(),
    }
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;

    fn begin_write(&self) -> impl Future<Output = Result<WriteTx<sqlx::Sqlite>, sqlx::Error>> + Send {
        let turns = write_turns(self);
        async move {
            let turn = turns.lock_owned().await;
            let tx = self.begin_with("BEGIN IMMEDIATE").await?;
            Ok(WriteTx { tx, _turn: Some(turn) })
        }
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;

    async fn begin_write(&self) -> Result<WriteTx<sqlx::Postgres>, sqlx::Error> {
        Ok(WriteTx { tx: self.begin().await?, _turn: None })
    }
}

/// Which backend a [`Db`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A storage failure, as business code sees it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the message says which, in API terms.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`] with `message`.
    pub fn on_unique(err: sqlx::Error, message: &str) -> Self {
        match err.as_database_error() {
            Some(db) if db.is_unique_violation() => Self::Conflict(message.to_owned()),
            _ => Self::Database(err),
        }
    }
}

/// The row `sql` selects with the text parameters `params` (`$1…$n`), if there is one: the
/// shape of every "this resource of this organisation" read.
pub async fn optional_row<T>(db: &Db, sql: &'static str, params: &[&str]) -> Result<Option<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    Ok(dispatch!(db, |pool| {
        let mut query = sqlx::query_as::<_, T>(sql);
        for param in params {
            query = query.bind(*param);
        }
        query.fetch_optional(pool).await
    })?)
}

/// One page of a filtered list and its total count, the same parameters bound to both
/// statements (`list` takes `LIMIT` and `OFFSET` after them), on either backend:
/// `page_with!(db, LIST, COUNT, page, organization_id, at)` evaluates to
/// `Result<(Vec<T>, u64), StoreError>`. For lists whose parameters are not all text; see
/// [`page`] for those that are.
#[macro_export]
macro_rules! page_with {
    ($db:expr, $list:expr, $count:expr, $page:expr, $($param:expr),+ $(,)?) => {
        $crate::dispatch!($db, |pool| {
            let rows = sqlx::query_as($list)
                $(.bind($param))+
                .bind($page.sql_limit())
                .bind($page.sql_offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar($count)$(.bind($param))+.fetch_one(pool).await?;
            Ok::<_, sqlx::Error>((rows, u64::try_from(total).unwrap_or(0)))
        })
        .map_err($crate::db::StoreError::from)
    };
}

/// One page of a list and the total count, for the many lists filtered only by text
/// parameters: `list_sql` takes `params` as `$1…$n` then `LIMIT $n+1 OFFSET $n+2`;
/// `count_sql` takes the same `params`.
pub async fn page<T>(
    db: &Db,
    list_sql: &str,
    count_sql: &str,
    params: &[&str],
    page: crate::http::Pagination,
) -> Result<(Vec<T>, u64), StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let (rows, total) = dispatch!(db, |pool| {
        let mut list = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(list_sql.to_owned()));
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql.to_owned()));
        for param in params {
            list = list.bind(*param);
            count = count.bind(*param);
        }
        let rows = list.bind(page.sql_limit()).bind(page.sql_offset()).fetch_all(pool).await?;
        let total = count.fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

/// A `LIKE … ESCAPE '\'` pattern that matches a JSON array of strings (as stored) holding
/// `element` — exactly, since the strings stored this way hold no quotes.
pub fn json_element_pattern(element: &str) -> String {
    let quoted = serde_json::to_string(element).expect("a string serialises");
    format!("%{}%", like_escape(&quoted))
}

/// `text` with `LIKE`'s wildcards (and the escape character) escaped by `\`.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `$start, $start+1, …` for `n` values.
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The most rows of one multi-row `INSERT … VALUES` of the batch writers ([`SqliteMultiInsert`]).
pub const ROWS_PER_INSERT: usize = 512;

/// Splits a batch into the pieces its multi-row inserts take: [`ROWS_PER_INSERT`] rows at a
/// time, then the rest in powers of two. So a writer uses at most ten statement shapes, each
/// prepared once and kept in the connection's statement cache — a remainder of any other size
/// would be a new statement to compile on every flush.
pub fn insert_chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = if items.len() >= ROWS_PER_INSERT { ROWS_PER_INSERT } else { 1 << items.len().ilog2() };
        let (chunk, rest) = items.split_at(n);
        items = rest;
        Some(chunk)
    })
}

/// A multi-row SQLite insert, `{head} (?, …), (?, …) {tail}`, for the batch writers. Its text
/// is built once per chunk size of [`insert_chunks`] and kept: a 512-row statement is tens of
/// kilobytes, and formatting it on every flush cost more than binding its rows.
///
/// Parameters are anonymous `?`, bound by position: sqlx looks numbered ones up by a linear walk
/// of the statement's names, so wide statements with them cost quadratic time.
pub struct SqliteMultiInsert {
    head: &'static str,
    columns: usize,
    tail: &'static str,
    /// Index `i`: the text for `2^i` rows (`ROWS_PER_INSERT` is `2^9`).
    texts: [std::sync::OnceLock<String>; 10],
}

impl SqliteMultiInsert {
    pub const fn new(head: &'static str, columns: usize, tail: &'static str) -> Self {
        Self { head, columns, tail, texts: [const { std::sync::OnceLock::new() }; 10] }
    }

    /// The statement for `rows` rows: a chunk size of [`insert_chunks`] (built on every call
    /// for any other size).
    pub fn sql(&self, rows: usize) -> std::borrow::Cow<'_, str> {
        let build = || {
            let tuple = format!("({})", vec!["?"; self.columns].join(", "));
            let values = vec![tuple.as_str(); rows].join(", ");
            [self.head, values.as_str(), self.tail]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self.texts.get(rows.max(1).ilog2() as usize) {
            Some(text) if rows.is_power_of_two() => std::borrow::Cow::Borrowed(text.get_or_init(build)),
            _ => std::borrow::Cow::Owned(build()),
        }
    }
}

/// Rows in PostgreSQL's `COPY … FROM STDIN` text format: fields separated by tabs, rows ended
/// by a newline, `\N` for NULL, and backslash, tab, newline and carriage return escaped.
#[derive(Debug, Default)]
pub struct CopyRows {
    data: Vec<u8>,
    in_row: bool,
}

impl CopyRows {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { data: Vec::with_capacity(bytes), in_row: false }
    }

    /// Appends one field to the current row.
    pub fn field(&mut self, value: Option<&str>) -> &mut Self {
        if self.in_row {
            self.data.push(b'\t');
        }
        self.in_row = true;
        let Some(value) = value else {
            self.data.extend_from_slice(b"\\N");
            return self;
        };
        for &b in value.as_bytes() {
            match b {
                b'\\' => self.data.extend_from_slice(b"\\\\"),
                b'\t' => self.data.extend_from_slice(b"\\t"),
                b'\n' => self.data.extend_from_slice(b"\\n"),
                b'\r' => self.data.extend_from_slice(b"\\r"),
                _ => self.data.push(b),
            }
        }
        self
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        self.data.push(b'\n');
        self.in_row = false;
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// Sends the rows through `statement` (`COPY table (columns) FROM STDIN`) on `conn`.
    pub async fn copy_in(self, conn: &mut sqlx::PgConnection, statement: &str) -> Result<(), sqlx::Error> {
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(self.data).await?;
        copy.finish().await?;
        Ok(())
    }
}

impl Db {
    /// Connects (creating the SQLite file if needed), on the system clock. Fails fast when the
    /// database is unreachable rather than retrying for minutes.
    pub async fn connect(target: &DatabaseTarget) -> Result<Self, sqlx::Error> {
        Self::connect_with_clock(target, Clock::system()).await
    }

    /// [`Db::connect`], stamping times from `clock`.
    pub async fn connect_with_clock(target: &DatabaseTarget, clock: Clock) -> Result<Self, sqlx::Error> {
        let pool = Self::open(target).await?;
        Ok(Self { pool, clock })
    }

    async fn open(target: &DatabaseTarget) -> Result<Pool, sqlx::Error> {
        match target {
            DatabaseTarget::Sqlite { url } => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    // `LIKE` is case-sensitive on PostgreSQL: the same here, so that a tag
                    // filter matches alike on both (searches compare lower-cased text anyway).
                    .pragma("case_sensitive_like", "ON");
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                Ok(Pool::Sqlite(pool))
            }
            DatabaseTarget::Postgres { url } => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?;
                Ok(Pool::Postgres(pool))
            }
        }
    }

    /// Applies the backend's migrations.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
    }

    /// The pool, for [`dispatch!`](crate::dispatch) and the few queries written per backend.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The clock the stores stamp and compare times with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, by [`Db::clock`].
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A round trip to the database (readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        dispatch!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(self, |pool| pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction that reads, then writes, while another writer commits in between: with
    /// a deferred `BEGIN` SQLite refuses its write (517, "database is locked"); with
    /// [`BeginWrite`] the other writer waits for it instead.
    #[tokio::test]
    async fn a_write_transaction_that_reads_first_survives_a_concurrent_writer() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let Pool::Sqlite(pool) = Db::open(&DatabaseTarget::Sqlite { url }).await.unwrap() else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&pool).await.unwrap();

        // The deferred kind, to show what goes wrong: the other writer commits first.
        let mut deferred = pool.begin().await.unwrap();
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut *deferred).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await.unwrap();
        let refused = sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *deferred).await.unwrap_err();
        assert!(refused.to_string().contains("locked"), "{refused}");
        deferred.rollback().await.unwrap();

        let mut tx = pool.begin_write().await.unwrap();
        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut *tx).await.unwrap();
        let other = tokio::spawn({
            let pool = pool.clone();
            async move { sqlx::query("INSERT INTO t VALUES (3)").execute(&pool).await }
        });
        // Give the other writer the chance to commit first, as it did above.
        tokio::task::yield_now().await;
        sqlx::query("INSERT INTO t VALUES (4)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&pool).await.unwrap();
        assert_eq!((seen, total), (1, 3));
    }

    #[test]
    fn copy_text_escapes_what_would_break_a_row() {
        let mut rows = CopyRows::default();
        rows.field(Some("a\tb")).field(None).field(Some("c\\d\ne\r"));
        rows.end_row();
        // Empty fields still take their place: the next row has three.
        rows.field(Some("")).field(Some("")).field(Some("x"));
        rows.end_row();
        assert_eq!(rows.into_bytes(), b"a\\tb\t\\N\tc\\\\d\\ne\\r\n\t\tx\n");
    }

    #[test]
    fn batches_split_into_few_statement_shapes() {
        let items: Vec<u32> = (0..1_300).collect();
        let sizes: Vec<usize> = insert_chunks(&items).map(<[u32]>::len).collect();
        assert_eq!(sizes, [512, 512, 256, 16, 4]);
        let joined: Vec<u32> = insert_chunks(&items).flatten().copied().collect();
        assert_eq!(joined, items);
        assert_eq!(insert_chunks::<u32>(&[]).count(), 0);
        assert_eq!(insert_chunks(&[1]).map(<[i32]>::len).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn multi_row_inserts_are_positional_and_built_once_per_chunk_size() {
        static INSERT: SqliteMultiInsert =
            SqliteMultiInsert::new("INSERT INTO t (a, b, c) VALUES", 3, "ON CONFLICT DO NOTHING");
        assert_eq!(
            INSERT.sql(2),
            "INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT DO NOTHING"
        );
        assert_eq!(INSERT.sql(1), "INSERT INTO t (a, b, c) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
        assert!(matches!(INSERT.sql(512), std::borrow::Cow::Borrowed(_)));
        assert_eq!(INSERT.sql(512).matches('?').count(), 512 * 3);
        // Not a chunk size: still right, just not kept.
        assert!(matches!(INSERT.sql(3), std::borrow::Cow::Owned(_)));
        assert_eq!(INSERT.sql(3).matches('?').count(), 9);
    }
}
