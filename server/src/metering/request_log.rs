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
#[derive(Debug, Clone)]
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

/// Writes queued entries every `period` until `stop`, then drains the queue.
pub async fn run_flusher(db: Db, rx: mpsc::Receiver<LogEntry>, period: Duration, stop: CancellationToken) {
    crate::batch::run("request log", rx, period, stop, |batch: Vec<LogEntry>| {
        let db = db.clone();
        async move {
            let result = write(&db, &batch).await;
            (batch, result)
        }
    })
    .await;
}

/// `2xx`, `4xx`… of a status.
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// Rows per multi-row insert. PostgreSQL gains from few round trips; SQLite looks each bound
/// parameter up by a linear walk, so very wide statements cost it quadratic time — and it is
/// in-process anyway.
fn rows_per_insert(db: &Db) -> usize {
    match db {
        Db::Sqlite(_) => 10,
        Db::Postgres(_) => 200,
    }
}

/// Writes a batch in one transaction: the log rows, the usage roll-up, the quota counts.
async fn write(db: &Db, entries: &[LogEntry]) -> Result<(), StoreError> {
    const DAILY: &str = "INSERT INTO usage_daily (organization_id, key_id, route, status_class, day, count) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (organization_id, day, key_id, route, status_class) \
         DO UPDATE SET count = usage_daily.count + excluded.count";
    const QUOTA: &str = "INSERT INTO quota_usage (organization_id, month, used) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_id, month) DO UPDATE SET used = quota_usage.used + excluded.used";
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
    let rows = rows_per_insert(db);
    let statements: Vec<String> = entries.chunks(rows).map(|chunk| insert_sql(chunk.len())).collect();
    dispatch!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (chunk, sql) in entries.chunks(rows).zip(&statements) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for e in chunk {
                query = query
                    .bind(e.organization_id.as_deref().unwrap_or(""))
                    .bind(&e.id)
                    .bind(e.key_id.as_deref())
                    .bind(&e.method)
                    .bind(&e.route)
                    .bind(&e.path)
                    .bind(i64::from(e.status))
                    .bind(e.latency_ms)
                    .bind(e.ip.to_string())
                    .bind(e.idempotency_key.as_deref())
                    .bind(e.at);
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

/// A multi-row insert of `rows` log entries. (Request ids are unique; a retried batch that
/// was in fact written is skipped rather than failing forever.)
fn insert_sql(rows: usize) -> String {
    const COLUMNS: usize = 11;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=COLUMNS).map(|c| format!("${}", r * COLUMNS + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO request_log (organization_id, id, key_id, method, route, path, status, latency_ms, ip, \
         idempotency_key, created_at) VALUES {} ON CONFLICT (organization_id, id) DO NOTHING",
        values.join(", ")
    )
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
    fn multi_row_inserts_number_their_parameters() {
        let sql = insert_sql(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11), ($12,"));
        assert!(sql.ends_with(
            "($12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) ON CONFLICT (organization_id, id) DO NOTHING"
        ));
        assert_eq!(status_class(429), "4xx");
    }
}
