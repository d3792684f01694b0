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
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use super::quota::month_of;
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::time::Timestamp;

/// One logged request.
#[derive(Debug)]
pub struct LogEntry {
    pub id: String,
    pub organization_id: Option<Arc<str>>,
    pub key_id: Option<Arc<str>>,
    pub method: String,
    pub route: String,
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
    tx: mpsc::Sender<LogEntry>,
    recorded: Counter,
    waited: Counter,
}

impl RequestLog {
    pub fn new(capacity: usize, registry: &mut Registry) -> (Self, mpsc::Receiver<LogEntry>) {
        let (tx, rx) = mpsc::channel(capacity);
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
        (Self { tx, recorded, waited }, rx)
    }

    /// Queues an entry; when the queue is full, waits for room.
    pub async fn record(&self, entry: LogEntry) {
        self.recorded.inc();
        match self.tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(entry)) => {
                self.waited.inc();
                if self.tx.send(entry).await.is_err() {
                    tracing::error!("request log closed; an entry was not recorded");
                }
            }
            Err(TrySendError::Closed(_)) => tracing::error!("request log closed; an entry was not recorded"),
        }
    }
}

/// Writes queued entries — every `period` (batched) or as they come (strict) — until `stop`,
/// then drains the queue. Each entry's `committed` is told once its batch is.
pub async fn run_flusher(
    db: Db,
    rx: mpsc::Receiver<LogEntry>,
    durability: Durability,
    period: Duration,
    stop: CancellationToken,
) {
    let flush = match durability {
        Durability::Batched => crate::batch::Flush::Periodic(period),
        Durability::Strict => crate::batch::Flush::Eager,
    };
    crate::batch::run("request log", rx, flush, stop, |mut batch: Vec<LogEntry>| {
        let db = db.clone();
        async move {
            let result = write(&db, &batch).await;
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

/// `2xx`, `4xx`… of a status.
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// One log row as the batch's JSON carries it (short names: the batch is one parameter).
#[derive(serde::Serialize)]
struct Row<'a> {
    o: &'a str,
    i: &'a str,
    k: Option<&'a str>,
    m: &'a str,
    r: &'a str,
    p: &'a str,
    s: u16,
    l: f64,
    a: String,
    ik: Option<&'a str>,
    /// RFC 3339 as sqlx writes timestamps to SQLite (so that both sort and compare alike).
    c: String,
}

/// The whole batch in one statement on PostgreSQL: one JSON parameter expanded by
/// `jsonb_to_recordset`. (Request ids are unique; a retried batch that was in fact written is
/// skipped rather than failing forever.)
const INSERT_POSTGRES: &str = "INSERT INTO request_log (organization_id, id, key_id, method, route, path, status, \
     latency_ms, ip, idempotency_key, created_at) \
     SELECT o, i, k, m, r, p, s, l, a, ik, c \
     FROM jsonb_to_recordset($1::jsonb) AS t(o TEXT, i TEXT, k TEXT, m TEXT, r TEXT, p TEXT, s BIGINT, \
          l DOUBLE PRECISION, a TEXT, ik TEXT, c TIMESTAMPTZ) \
     ON CONFLICT (organization_id, id) DO NOTHING";

/// Rows per statement on SQLite: multi-row `VALUES` with anonymous `?` parameters, which
/// SQLite binds by position. (Numbered `$N` parameters are looked up by a linear walk of the
/// statement's names, so wide statements with them cost quadratic time; and `json_each` with
/// `->>` re-parses each row's JSON text once per column — both measured slower.)
const SQLITE_ROWS: usize = 500;

fn insert_sqlite(rows: usize) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let values = vec![row; rows].join(", ");
    format!(
        "INSERT INTO request_log (organization_id, id, key_id, method, route, path, status, latency_ms, ip, \
         idempotency_key, created_at) VALUES {values} ON CONFLICT (organization_id, id) DO NOTHING"
    )
}

/// Writes a batch in one transaction: the log rows (one statement), the usage roll-up and the
/// quota counts (aggregated here, one upsert per distinct row).
async fn write(db: &Db, entries: &[LogEntry]) -> Result<(), StoreError> {
    const DAILY: &str = "INSERT INTO usage_daily (organization_id, key_id, route, status_class, day, count) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (organization_id, day, key_id, route, status_class) \
         DO UPDATE SET count = usage_daily.count + excluded.count";
    const QUOTA: &str = "INSERT INTO quota_usage (organization_id, month, used) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_id, month) DO UPDATE SET used = quota_usage.used + excluded.used";
    if entries.is_empty() {
        return Ok(());
    }
    let mut daily: HashMap<(&str, &str, &str, String, String), i64> = HashMap::new();
    let mut quota: HashMap<(&str, String), i64> = HashMap::new();
    for entry in entries {
        let (Some(org), Some(key)) = (&entry.organization_id, &entry.key_id) else { continue };
        let day = entry.at.format("%Y-%m-%d").to_string();
        *daily.entry((org, key, &entry.route, status_class(entry.status), day)).or_default() += 1;
        if entry.billable {
            *quota.entry((org, month_of(entry.at))).or_default() += 1;
        }
    }
    let rows: Vec<Row<'_>> = entries
        .iter()
        .map(|e| Row {
            o: e.organization_id.as_deref().unwrap_or(""),
            i: &e.id,
            k: e.key_id.as_deref(),
            m: &e.method,
            r: &e.route,
            p: &e.path,
            s: e.status,
            l: e.latency_ms,
            a: e.ip.to_string(),
            ik: e.idempotency_key.as_deref(),
            c: e.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
        })
        .collect();
    let sqlite_statements: Vec<String> = match db {
        Db::Sqlite(_) => rows.chunks(SQLITE_ROWS).map(|chunk| insert_sqlite(chunk.len())).collect(),
        Db::Postgres(_) => Vec::new(),
    };
    let batch = match db {
        Db::Sqlite(_) => String::new(),
        Db::Postgres(_) => serde_json::to_string(&rows).expect("log rows serialise"),
    };
    dispatch!(db, |pool| {
        let mut tx = pool.begin().await?;
        if sqlite_statements.is_empty() {
            sqlx::query(INSERT_POSTGRES).bind(&batch).execute(&mut *tx).await?;
        }
        for (chunk, sql) in rows.chunks(SQLITE_ROWS).zip(&sqlite_statements) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for r in chunk {
                query = query
                    .bind(r.o)
                    .bind(r.i)
                    .bind(r.k)
                    .bind(r.m)
                    .bind(r.r)
                    .bind(r.p)
                    .bind(i64::from(r.s))
                    .bind(r.l)
                    .bind(&r.a)
                    .bind(r.ik)
                    .bind(&r.c);
            }
            query.execute(&mut *tx).await?;
        }
        for ((org, key, route, class, day), n) in &daily {
            sqlx::query(DAILY)
                .bind(*org)
                .bind(*key)
                .bind(*route)
                .bind(class)
                .bind(day)
                .bind(*n)
                .execute(&mut *tx)
                .await?;
        }
        for ((org, month), n) in &quota {
            sqlx::query(QUOTA).bind(*org).bind(month).bind(*n).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

/// Deletes log rows older than `before`; returns how many.
///
/// Request ids are `req_` + a ULID, and ULIDs sort by time, so the primary key (organisation,
/// id) finds each organisation's old rows: the log needs no index of its own on `created_at`.
pub async fn purge(db: &Db, before: Timestamp) -> Result<u64, StoreError> {
    const ORGS: &str = "SELECT DISTINCT organization_id FROM request_log";
    const LOG: &str = "DELETE FROM request_log WHERE organization_id = $1 AND id < $2";
    let millis = u64::try_from(before.timestamp_millis()).unwrap_or(0);
    let first_kept = format!("req_{}", ulid::Ulid::from_parts(millis, 0));
    const IDEMPOTENCY: &str = "DELETE FROM idempotency_records WHERE expires_at < $1";
    const CLICKS: &str = "DELETE FROM clicks WHERE clicked_at < $1";
    let at = crate::time::now();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(201), "2xx");
    }
}
