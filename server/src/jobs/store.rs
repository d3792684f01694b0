//! Job queries. Claiming differs by backend (PostgreSQL skips rows other transactions hold);
//! everything else is shared SQL.

use chrono::TimeDelta;

use super::{ImportResult, Job, JobKind, JobStatus};
use crate::db::{BeginWrite, Db, Pool, StoreError};
use crate::dispatch;
use crate::events::{EventType, NewEvent};
use crate::http::Pagination;
use crate::time::Timestamp;

/// The row's columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, kind, status, progress, result, error, created_at, started_at, finished_at"
    };
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    status: String,
    progress: i64,
    result: Option<String>,
    error: Option<String>,
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        let _ = row.kind;
        Job {
            id: row.id,
            kind: JobKind::LinkImport,
            status: JobStatus::parse(&row.status).unwrap_or(JobStatus::Queued),
            progress: row.progress,
            result: row.result.and_then(|r| serde_json::from_str(&r).ok()),
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// A new job.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub key_id: &'a str,
    pub kind: JobKind,
    /// Rows stored in `job_chunks` under the job's id.
    pub input_rows: u64,
    /// Why the input is unusable: the job fails with it.
    pub input_error: Option<&'a str>,
    pub domain_scope: &'a [String],
}

pub async fn enqueue(db: &Db, new: NewJob<'_>) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO jobs (id, organization_id, key_id, kind, status, progress, input, input_rows, \
         input_error, domain_scope, checkpoint, result, attempts, created_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, 0, $9, 0, $10)";
    const NO_INPUT: &[u8] = &[];
    let scope = serde_json::to_string(new.domain_scope).expect("strings serialise");
    let result = serde_json::to_string(&ImportResult::default()).expect("serialises");
    dispatch!(db, |pool| sqlx::query(SQL)
        .bind(new.id)
        .bind(new.organization_id)
        .bind(new.key_id)
        .bind(new.kind.as_str())
        .bind(NO_INPUT)
        .bind(i64::try_from(new.input_rows).unwrap_or(i64::MAX))
        .bind(new.input_error)
        .bind(&scope)
        .bind(&result)
        .bind(db.now())
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

pub async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<Job>, StoreError> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM jobs WHERE id = $1 AND organization_id = $2");
    let row = crate::db::optional_row::<JobRow>(db, SQL, &[id, organization_id]).await?;
    Ok(row.map(Job::from))
}

pub async fn list(db: &Db, organization_id: &str, page: Pagination) -> Result<(Vec<Job>, u64), StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM jobs WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    );
    const COUNT: &str = "SELECT COUNT(*) FROM jobs WHERE organization_id = $1";
    let (rows, total) = crate::db::page::<JobRow>(db, SQL, COUNT, &[organization_id], page).await?;
    Ok((rows.into_iter().map(Job::from).collect(), total))
}

/// A claimed job, with what its worker needs.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: String,
    pub organization_id: String,
    pub key_id: String,
    pub kind: String,
    /// The whole file, for jobs queued before imports were stored in chunks (else empty).
    pub input: Vec<u8>,
    /// Rows in `job_chunks`; `None` for jobs that keep their file in `input`.
    pub input_rows: Option<i64>,
    pub input_error: Option<String>,
    pub domain_scope: String,
    pub checkpoint: i64,
    pub result: Option<String>,
    pub attempts: i64,
}

/// Claims the oldest runnable job — queued, or running with an expired lease (its worker
/// died) — for `lease`. `None` when there is nothing to do.
pub async fn claim(db: &Db, lease: TimeDelta) -> Result<Option<ClaimedJob>, StoreError> {
    const SQLITE: &str = "UPDATE jobs SET status = 'running', lease_until = $1, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $2) \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < $2) \
                     ORDER BY created_at LIMIT 1) \
         RETURNING id, organization_id, key_id, kind, input, input_rows, input_error, domain_scope, checkpoint, \
         result, attempts";
    const POSTGRES: &str = "UPDATE jobs SET status = 'running', lease_until = $1, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $2) \
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < $2) \
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, organization_id, key_id, kind, input, input_rows, input_error, domain_scope, checkpoint, \
         result, attempts";
    let at = db.now();
    let claimed = match db.pool() {
        Pool::Sqlite(pool) => {
            sqlx::query_as::<_, ClaimedJob>(SQLITE).bind(at + lease).bind(at).fetch_optional(pool).await?
        }
        Pool::Postgres(pool) => {
            sqlx::query_as::<_, ClaimedJob>(POSTGRES).bind(at + lease).bind(at).fetch_optional(pool).await?
        }
    };
    Ok(claimed)
}

/// Ends a job.
pub async fn finish(
    db: &Db,
    id: &str,
    status: JobStatus,
    result: Option<&ImportResult>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE jobs SET status = $1, progress = CASE WHEN $1 = 'succeeded' THEN 100 ELSE progress END, \
         result = COALESCE($2, result), error = $3, finished_at = $4, lease_until = NULL WHERE id = $5 \
         RETURNING organization_id, kind, result";
    let (status, kind) = match status {
        JobStatus::Succeeded => ("succeeded", EventType::JobSucceeded),
        _ => ("failed", EventType::JobFailed),
    };
    let result = result.map(|r| serde_json::to_string(r).expect("serialises"));
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let finished: Option<(String, String, Option<String>)> = sqlx::query_as(SQL)
            .bind(status)
            .bind(&result)
            .bind(error)
            .bind(at)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((organization_id, job_kind, stored)) = finished {
            let stored: Option<crate::jobs::ImportResult> =
                stored.and_then(|r| serde_json::from_str(&r).ok());
            let data = crate::events::JobFinishedData {
                id: id.to_owned(),
                kind: JobKind::parse(&job_kind).unwrap_or(JobKind::LinkImport),
                status: if kind == EventType::JobSucceeded {
                    JobStatus::Succeeded
                } else {
                    JobStatus::Failed
                },
                result: stored,
                error: error.map(str::to_owned),
                finished_at: at,
            };
            let event = NewEvent::new(&organization_id, kind, crate::events::data(&data), at);
            crate::insert_event!(&mut *tx, &event)?;
        }
        // The job's rows are spent.
        sqlx::query("DELETE FROM job_chunks WHERE job_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

/// Gives a job back to the queue (a worker stopping with the server), keeping its checkpoint.
/// The run does not count as a failed attempt.
pub async fn release(db: &Db, id: &str) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE jobs SET status = 'queued', lease_until = NULL, attempts = attempts - 1 \
         WHERE id = $1 AND status = 'running'";
    dispatch!(db, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(drop))?;
    Ok(())
}
