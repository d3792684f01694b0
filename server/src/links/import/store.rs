//! The import's storage: the uploaded rows in chunks, and each batch's links committed with
//! the job's checkpoint.

use super::parse::ImportRow;
use super::{LinkValuesOwned, MAX_REPORTED_ERRORS};
use crate::db::{BeginWrite, Db, StoreError};
use crate::dispatch;
use crate::jobs::store::ClaimedJob;
use crate::jobs::{ImportResult, RowError};
use crate::links::store::{NewLink, insert_link};
use crate::time::Timestamp;

/// Rows per stored chunk. A multiple of the job's batch, so a batch never spans two chunks.
pub const CHUNK_ROWS: usize = 1000;

/// Stores one chunk of an upload's rows (before its job exists).
pub async fn insert_chunk(db: &Db, job_id: &str, seq: usize, rows: &[ImportRow]) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO job_chunks (job_id, seq, rows, created_at) VALUES ($1, $2, $3, $4)";
    let json = serde_json::to_string(rows).expect("rows serialise");
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    dispatch!(db, |pool| sqlx::query(SQL)
        .bind(job_id)
        .bind(seq)
        .bind(&json)
        .bind(db.now())
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

/// One stored chunk of a job's rows; `None` when it is not there (the job ended and its
/// rows were deleted, or the database was edited by hand): never an empty batch.
pub async fn load_chunk(db: &Db, job_id: &str, seq: usize) -> Result<Option<Vec<ImportRow>>, StoreError> {
    const SQL: &str = "SELECT rows FROM job_chunks WHERE job_id = $1 AND seq = $2";
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let json: Option<String> =
        dispatch!(db, |pool| sqlx::query_scalar(SQL).bind(job_id).bind(seq).fetch_optional(pool).await)?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// Deletes an upload's chunks (it failed, or its job has ended).
pub async fn delete_chunks(db: &Db, job_id: &str) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM job_chunks WHERE job_id = $1";
    dispatch!(db, |pool| sqlx::query(SQL).bind(job_id).execute(pool).await.map(drop))?;
    Ok(())
}

/// Deletes chunks older than `before` that no job owns: uploads cut off by a crash.
pub async fn purge_orphan_chunks(db: &Db, before: Timestamp) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM job_chunks WHERE created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_chunks.job_id)";
    let n =
        dispatch!(db, |pool| sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n)
}

pub struct CommitBatch<'a> {
    pub from: usize,
    pub to: usize,
    pub progress: i64,
    pub links: &'a [(u64, String, LinkValuesOwned)],
    pub errors: Vec<RowError>,
    pub result: &'a mut ImportResult,
}

/// Creates a batch's links and advances the job's checkpoint, in one transaction that also
/// renews the claim's lease. A slug taken meanwhile skips its row. `false` (nothing written)
/// when the caller no longer holds the job: another worker took it over, or it ended.
/// The links created are forgotten by every instance's redirect cache once committed.
pub async fn commit_batch(
    db: &Db,
    invalidations: &crate::cluster::Invalidations,
    job: &ClaimedJob,
    batch: CommitBatch<'_>,
) -> Result<bool, StoreError> {
    const ADVANCE: &str = concat!(
        "UPDATE jobs SET checkpoint = $1, progress = $2, result = $3, lease_until = $6 WHERE ",
        crate::jobs::store::held_by!("$4", "$7"),
        " AND checkpoint = $5"
    );
    let at = db.now();
    let mut errors = batch.errors;
    let mut created = 0u64;
    let mut made: Vec<(&str, String)> = Vec::new();
    let outcome = dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        for (row, id, link) in batch.links {
            let new = NewLink {
                id,
                organization_id: &job.organization_id,
                domain: &link.domain,
                slug: link.slug.as_deref(),
                url: &link.url,
                title: link.title.as_deref(),
                tags: &link.tags,
                expires_at: None,
                at,
            };
            match insert_link!(tx, &new)? {
                Some(inserted) => {
                    created += 1;
                    made.push((link.domain.as_str(), inserted.slug));
                }
                None => errors.push(RowError {
                    row: *row,
                    field: "slug".into(),
                    message: "is already used by a live link on this domain".into(),
                }),
            }
        }
        let skipped_now = batch.links.len() as u64 - created;
        batch.result.created += created;
        batch.result.skipped += skipped_now;
        let room = MAX_REPORTED_ERRORS.saturating_sub(batch.result.errors.len());
        errors.sort_by_key(|e| e.row);
        batch.result.errors.extend(errors.into_iter().take(room));
        let result_json = serde_json::to_string(&*batch.result).expect("serialises");
        let advanced = sqlx::query(ADVANCE)
            .bind(i64::try_from(batch.to).unwrap_or(i64::MAX))
            .bind(batch.progress)
            .bind(&result_json)
            .bind(&job.id)
            .bind(i64::try_from(batch.from).unwrap_or(i64::MAX))
            .bind(at + job.lease)
            .bind(&job.claim_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if advanced != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok::<_, StoreError>(true)
    })?;
    if outcome {
        let changes: Vec<_> = made
            .into_iter()
            .map(|(domain, slug)| crate::cluster::Change::Link { domain: domain.to_owned(), slug })
            .collect();
        invalidations.changed(&changes).await;
    }
    Ok(outcome)
}
