//! The request log: every `/v1` request — refused ones included — recorded off the request
//! path through a bounded queue and written in batches (see [`crate::batch`]) with the daily
//! usage roll-up behind `/v1/usage` and the quota counts. A full queue makes requests wait
//! for room (backpressure, counted in `/metrics`); nothing is dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use chrono::NaiveDate;

use super::quota::Month;
use crate::batch::{Intake, Queue};
use crate::db::{BeginWrite, Db, Pool, SqliteMultiInsert, StoreError, insert_chunks};
use crate::dispatch;
use crate::time::Timestamp;

/// One logged request. The shared strings are the request's own (its id, key, organisation,
/// route): logging a request copies only its path.
#[derive(Debug)]
pub struct LogEntry {
    pub id: Arc<str>,
    pub organization_id: Option<Arc<str>>,
    pub key_id: Option<Arc<str>>,
    pub method: Arc<str>,
    pub route: Arc<str>,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub ip: IpAddr,
    pub idempotency_key: Option<String>,
    pub at: Timestamp,
    /// Counted against the organisation's monthly quota.
    pub billable: bool,
    /// Told when the entry is committed (strict durability).
    pub committed: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How durable the request log is (`PORTICO_METERING_DURABILITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// Written in batches every 100 ms: a hard kill loses at most the last 100 ms of entries
    /// (a graceful stop loses nothing).
    #[default]
    Batched,
    /// A `/v1` answer leaves only once its log row is committed (group commit: each write
    /// takes every entry that waited for it): a hard kill loses nothing that was answered.
    Strict,
}

/// The sending side, used by the pipeline.
#[derive(Clone)]
pub struct RequestLog {
    queue: Queue<LogEntry>,
    recorded: Counter,
    waited: Counter,
}

impl RequestLog {
    pub fn new(capacity: usize, registry: &mut Registry) -> (Self, Intake<LogEntry>) {
        let (queue, intake) = crate::batch::queue(capacity);
        let recorded = Counter::default();
        let waited = Counter::default();
        registry.register(
            "portico_request_log_entries",
            "Requests handed to the request log",
            recorded.clone(),
        );
        registry.register(
            "portico_request_log_backpressure",
            "Requests that waited for room in the full request-log queue",
            waited.clone(),
        );
        (Self { queue, recorded, waited }, intake)
    }

    /// Queues an entry; when the queue is full, waits for room.
    pub async fn record(&self, entry: LogEntry) {
        self.recorded.inc();
        match self.queue.items().try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(entry)) => {
                self.waited.inc();
                if self.queue.items().send(entry).await.is_err() {
                    tracing::error!("request log closed; an entry was not recorded");
                }
            }
            Err(TrySendError::Closed(_)) => tracing::error!("request log closed; an entry was not recorded"),
        }
    }

    /// Writes every entry recorded so far, and waits until it is committed.
    pub async fn flush_now(&self) -> bool {
        self.queue.flush_now().await
    }
}

/// Writes queued entries — every `period` (batched) or as they come (strict) — until `stop`,
/// then drains the queue. Each entry's `committed` is told once its batch is.
pub async fn run_flusher(
    db: Db,
    intake: Intake<LogEntry>,
    durability: Durability,
    period: Duration,
    stop: CancellationToken,
) {
    let flush = match durability {
        Durability::Batched => crate::batch::Flush::Periodic(period),
        Durability::Strict => crate::batch::Flush::Eager,
    };
    crate::batch::run("request log", intake, flush, stop, |mut batch: Vec<LogEntry>| {
        let db = db.clone();
        async move {
            let result = write_batch(&db, &batch).await;
            if result.is_ok() {
                for entry in &mut batch {
                    if let Some(committed) = entry.committed.take() {
                        let _ = committed.send(());
                    }
                }
            }
            (batch, result)
        }
    })
    .await;
}

/// A batch in one statement on PostgreSQL, one array per column zipped by `UNNEST`, skipping
/// rows already written (request ids are unique): the fallback when `COPY` meets a batch that
/// was in fact written before.
const INSERT_POSTGRES: &str = "INSERT INTO request_log (organization_id, id, key_id, method, route, path, status, \
     latency_ms, ip, idempotency_key, created_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], \
          $8::float8[], $9::text[], $10::text[], $11::timestamptz[]) \
     ON CONFLICT (organization_id, id) DO NOTHING";

/// The batch as `COPY` text rows, the cheapest way into PostgreSQL (about half the database's
/// work of an `INSERT`: rows are written to the table in bulk).
async fn copy_postgres(conn: &mut sqlx::PgConnection, entries: &[LogEntry]) -> Result<(), sqlx::Error> {
    let mut rows = crate::db::CopyRows::with_capacity(entries.len() * 256);
    for e in entries {
        rows.field(Some(e.organization_id.as_deref().unwrap_or("")))
            .field(Some(&e.id))
            .field(e.key_id.as_deref())
            .field(Some(&e.method))
            .field(Some(&e.route))
            .field(Some(&e.path))
            .field(Some(&e.status.to_string()))
            .field(Some(&e.latency_ms.to_string()))
            .field(Some(&e.ip.to_string()))
            .field(e.idempotency_key.as_deref())
            .field(Some(&e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
        rows.end_row();
    }
    rows.copy_in(
        conn,
        "COPY request_log (organization_id, id, key_id, method, route, path, status, latency_ms, ip, \
         idempotency_key, created_at) FROM STDIN",
    )
    .await
}

/// The batch as one `INSERT … UNNEST` that skips rows already written.
async fn insert_postgres(conn: &mut sqlx::PgConnection, entries: &[LogEntry]) -> Result<(), sqlx::Error> {
    let column = |f: fn(&LogEntry) -> Option<&str>| entries.iter().map(f).collect::<Vec<_>>();
    sqlx::query(INSERT_POSTGRES)
        .bind(column(|e| Some(e.organization_id.as_deref().unwrap_or(""))))
        .bind(column(|e| Some(&*e.id)))
        .bind(column(|e| e.key_id.as_deref()))
        .bind(column(|e| Some(&*e.method)))
        .bind(column(|e| Some(&*e.route)))
        .bind(column(|e| Some(e.path.as_str())))
        .bind(entries.iter().map(|e| i64::from(e.status)).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.latency_ms).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.ip.to_string()).collect::<Vec<_>>())
        .bind(column(|e| e.idempotency_key.as_deref()))
        .bind(entries.iter().map(|e| e.at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}

/// The rows of a batch on SQLite, up to [`crate::db::ROWS_PER_INSERT`] a statement ([`insert_chunks`]). (One JSON parameter
/// expanded by `json_each` was measured slower: `->>` re-parses each row's text per column.)
static INSERT_SQLITE: SqliteMultiInsert = SqliteMultiInsert::new(
    "INSERT INTO request_log (organization_id, id, key_id, method, route, path, status, latency_ms, ip, \
     idempotency_key, created_at) VALUES",
    11,
    "ON CONFLICT (organization_id, id) DO NOTHING",
);

/// Writes a batch in one transaction: the log rows (one `COPY` on PostgreSQL, up to 512 rows a
/// statement on SQLite), the usage roll-up and the quota counts (aggregated here, one upsert
/// per distinct row). What the flusher does with each batch; a batch written again (a retry
/// after a commit whose answer was lost) adds no second row.
pub async fn write_batch(db: &Db, entries: &[LogEntry]) -> Result<(), StoreError> {
    const DAILY: &str = "INSERT INTO usage_daily (organization_id, key_id, route, status_class, day, count) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (organization_id, day, key_id, route, status_class) \
         DO UPDATE SET count = usage_daily.count + excluded.count";
    const QUOTA: &str = "INSERT INTO quota_usage (organization_id, month, used) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_id, month) DO UPDATE SET used = quota_usage.used + excluded.used";
    if entries.is_empty() {
        return Ok(());
    }
    // Aggregated by value — a batch's entries share their day and month, and their strings
    // are shared — and formatted once per distinct row.
    let mut daily: HashMap<(&str, &str, &str, u16, NaiveDate), i64> = HashMap::new();
    let mut quota: HashMap<(&str, Month), i64> = HashMap::new();
    for entry in entries {
        let (Some(org), Some(key)) = (&entry.organization_id, &entry.key_id) else { continue };
        *daily.entry((org, key, &entry.route, entry.status / 100, entry.at.date_naive())).or_default() += 1;
        if entry.billable {
            *quota.entry((org, Month::of(entry.at))).or_default() += 1;
        }
    }
    // The roll-ups, in the batch's transaction, on either backend.
    macro_rules! rollups {
        ($tx:ident) => {
            for ((org, key, route, class, day), n) in &daily {
                sqlx::query(DAILY)
                    .bind(*org)
                    .bind(*key)
                    .bind(*route)
                    .bind(format!("{class}xx"))
                    .bind(day.format("%Y-%m-%d").to_string())
                    .bind(*n)
                    .execute(&mut *$tx)
                    .await?;
            }
            for ((org, month), n) in &quota {
                sqlx::query(QUOTA).bind(*org).bind(month.to_string()).bind(*n).execute(&mut *$tx).await?;
            }
        };
    }
    match db.pool() {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            for chunk in insert_chunks(entries) {
                let sql = INSERT_SQLITE.sql(chunk.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(&*sql));
                for e in chunk {
                    // Shared strings bound by value: no copy until SQLite's own.
                    query = query
                        .bind(e.organization_id.clone().unwrap_or_else(|| Arc::from("")))
                        .bind(e.id.clone())
                        .bind(e.key_id.clone())
                        .bind(e.method.clone())
                        .bind(e.route.clone())
                        .bind(e.path.as_str())
                        .bind(i64::from(e.status))
                        .bind(e.latency_ms)
                        .bind(e.ip.to_string())
                        .bind(e.idempotency_key.as_deref())
                        .bind(e.at);
                }
                query.execute(&mut *tx).await?;
            }
            rollups!(tx);
            tx.commit().await?;
        }
        Pool::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            let mut tx = match copy_postgres(&mut tx, entries).await {
                Ok(()) => tx,
                // A retried batch that was in fact written (its commit's answer was lost):
                // insert what is missing instead.
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                    tx.rollback().await?;
                    let mut tx = pool.begin_write().await?;
                    insert_postgres(&mut tx, entries).await?;
                    tx
                }
                Err(e) => return Err(e.into()),
            };
            rollups!(tx);
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The smallest request id of a request that arrived at `at` or later: request ids are
/// `req_` + a ULID, which sorts by time.
pub fn first_id_at(at: Timestamp) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    format!("req_{}", ulid::Ulid::from_parts(millis, 0))
}

/// Deletes log rows older than `before`; returns how many.
///
/// Request ids are `req_` + a ULID, and ULIDs sort by time, so the primary key (organisation,
/// id) finds each organisation's old rows: the log needs no index of its own on `created_at`.
pub async fn purge(db: &Db, before: Timestamp) -> Result<u64, StoreError> {
    const ORGS: &str = "SELECT DISTINCT organization_id FROM request_log";
    const LOG: &str = "DELETE FROM request_log WHERE organization_id = $1 AND id < $2";
    let first_kept = first_id_at(before);
    const IDEMPOTENCY: &str = "DELETE FROM idempotency_records WHERE expires_at < $1";
    const CLICKS: &str = "DELETE FROM clicks WHERE clicked_at < $1";
    let at = db.now();
    Ok(dispatch!(db, |pool| {
        let orgs: Vec<String> = sqlx::query_scalar(ORGS).fetch_all(pool).await?;
        let mut log = 0;
        for org in &orgs {
            log += sqlx::query(LOG).bind(org).bind(&first_kept).execute(pool).await?.rows_affected();
        }
        sqlx::query(IDEMPOTENCY).bind(at).execute(pool).await?;
        sqlx::query(CLICKS).bind(before).execute(pool).await?;
        Ok::<_, sqlx::Error>(log)
    })?)
}
