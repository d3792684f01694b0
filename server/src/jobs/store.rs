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
    /// This claim: only its holder may advance, renew, release or finish the job.
    pub claim_id: String,
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
    /// How long the claim lasts unrenewed: each committed step renews it for this long.
    #[sqlx(skip)]
    pub lease: TimeDelta,
}

/// Claims the oldest runnable job — queued, or running with an expired lease (its worker
/// died or stalled) — for `lease`, under a new claim id. `None` when there is nothing to do.
///
/// A takeover counts as a failed attempt only when the previous holder made no progress
/// since its claim: a long job whose worker keeps committing is never given up.
pub async fn claim(db: &Db, lease: TimeDelta) -> Result<Option<ClaimedJob>, StoreError> {
    macro_rules! claim_sql {
        ($lock:literal) => {
            concat!(
                "UPDATE jobs SET status = 'running', lease_until = $1, claim_id = $3, \
                 attempts = CASE WHEN status = 'running' AND checkpoint > claim_checkpoint \
                     THEN attempts ELSE attempts + 1 END, \
                 claim_checkpoint = checkpoint, started_at = COALESCE(started_at, $2) \
                 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < $2) \
                             ORDER BY created_at LIMIT 1",
                $lock,
                ") RETURNING id, claim_id, organization_id, key_id, kind, input, input_rows, input_error, \
                 domain_scope, checkpoint, result, attempts"
            )
        };
    }
    const SQLITE: &str = claim_sql!("");
    const POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");
    let at = db.now();
    let claim_id = crate::ids::Id::generate(crate::ids::IdKind::Job).into_string();
    let claimed = match db.pool() {
        Pool::Sqlite(pool) => {
            sqlx::query_as::<_, ClaimedJob>(SQLITE)
                .bind(at + lease)
                .bind(at)
                .bind(&claim_id)
                .fetch_optional(pool)
                .await?
        }
        Pool::Postgres(pool) => {
            sqlx::query_as::<_, ClaimedJob>(POSTGRES)
                .bind(at + lease)
                .bind(at)
                .bind(&claim_id)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(claimed.map(|job| ClaimedJob { lease, ..job }))
}

/// Whether the caller still holds the job (it is running under this claim).
pub async fn holds(db: &Db, job: &ClaimedJob) -> Result<bool, StoreError> {
    const SQL: &str = concat!("SELECT COUNT(*) FROM jobs WHERE ", held_by!("$1", "$2"));
    let n: i64 = dispatch!(db, |pool| sqlx::query_scalar(SQL)
        .bind(&job.id)
        .bind(&job.claim_id)
        .fetch_one(pool)
        .await)?;
    Ok(n > 0)
}

/// The condition every write of a claimed job adds: the job is running and `$claim` holds it.
macro_rules! held_by {
    ($id:literal, $claim:literal) => {
        concat!("id = ", $id, " AND status = 'running' AND claim_id = ", $claim)
    };
}
pub(crate) use held_by;

/// Ends a job the caller still holds, with its one `job.succeeded` or `job.failed` event.
/// `false` (nothing written) when the claim was lost — another worker took the job over,
/// or it ended: a terminal status never changes.
pub async fn finish(
    db: &Db,
    job: &ClaimedJob,
    status: JobStatus,
    result: Option<&ImportResult>,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    const SQL: &str = concat!(
        "UPDATE jobs SET status = $1, progress = CASE WHEN $1 = 'succeeded' THEN 100 ELSE progress END, \
         result = COALESCE($2, result), error = $3, finished_at = $4, lease_until = NULL, claim_id = NULL WHERE ",
        held_by!("$5", "$6"),
        " RETURNING organization_id, kind, result"
    );
    let id = job.id.as_str();
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
            .bind(&job.claim_id)
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
        } else {
            tx.rollback().await?;
            return Ok(false);
        }
        // The job's rows are spent.
        sqlx::query("DELETE FROM job_chunks WHERE job_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(true)
    })
}

/// Gives a job the caller holds back to the queue (a worker stopping with the server),
/// keeping its checkpoint. The run does not count as a failed attempt.
pub async fn release(db: &Db, job: &ClaimedJob) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "UPDATE jobs SET status = 'queued', lease_until = NULL, claim_id = NULL, attempts = attempts - 1 WHERE ",
        held_by!("$1", "$2")
    );
    dispatch!(db, |pool| sqlx::query(SQL).bind(&job.id).bind(&job.claim_id).execute(pool).await.map(drop))?;
    Ok(())
}
