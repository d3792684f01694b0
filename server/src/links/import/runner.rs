//! Running an import job: each stored row validated exactly as `POST /v1/links` validates
//! it, the links created in batches, each batch committed with the job's checkpoint.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use super::BATCH_ROWS;
use super::parse::{self, ImportRow};
use super::store::{self, CHUNK_ROWS, CommitBatch, commit_batch};
use crate::db::StoreError;
use crate::error::{FieldError, Validation};
use crate::ids::{Id, IdKind};
use crate::jobs::store::ClaimedJob;
use crate::jobs::{ImportResult, RowError};
use crate::links::types::{check_slug, check_tags, check_title, check_url};
use crate::state::AppState;

/// How a run of an import ended.
pub enum ImportOutcome {
    Done(ImportResult),
    /// The server is stopping; the job goes back to the queue at its checkpoint.
    Stopped,
    /// Another worker advanced the job (this one's lease had run out): leave it to that one.
    Superseded,
    /// The file itself is unusable; the job fails with this message.
    Invalid(String),
}

/// Where a job's rows come from: the chunks stored at upload, or (for jobs queued before
/// imports were streamed) the file kept with the job.
enum Rows {
    Chunked { job_id: String, loaded: Option<(usize, Vec<ImportRow>)> },
    Whole(Vec<ImportRow>),
}

impl Rows {
    /// Rows `from..to`, which lie within one chunk (batches divide chunks); `None` when their
    /// chunk is missing.
    async fn batch(
        &mut self,
        state: &AppState,
        from: usize,
        to: usize,
    ) -> Result<Option<&[ImportRow]>, StoreError> {
        match self {
            Self::Whole(rows) => Ok(Some(&rows[from.min(rows.len())..to.min(rows.len())])),
            Self::Chunked { job_id, loaded } => {
                let seq = from / CHUNK_ROWS;
                if loaded.as_ref().is_none_or(|(s, _)| *s != seq) {
                    let Some(rows) = store::load_chunk(&state.db, job_id, seq).await? else {
                        return Ok(None);
                    };
                    *loaded = Some((seq, rows));
                }
                let rows = loaded.as_ref().map(|(_, rows)| rows.as_slice()).unwrap_or_default();
                let (from, to) = (from - seq * CHUNK_ROWS, to - seq * CHUNK_ROWS);
                if to > rows.len() {
                    return Ok(None);
                }
                Ok(Some(&rows[from..to]))
            }
        }
    }
}

/// Runs (or resumes) an import job.
pub async fn run(
    state: &AppState,
    job: &ClaimedJob,
    stop: &CancellationToken,
    pause: std::time::Duration,
) -> Result<ImportOutcome, StoreError> {
    if let Some(message) = &job.input_error {
        return Ok(ImportOutcome::Invalid(message.clone()));
    }
    let (mut rows, total) = match job.input_rows {
        Some(total) => {
            let rows = Rows::Chunked { job_id: job.id.clone(), loaded: None };
            (rows, usize::try_from(total).unwrap_or(0))
        }
        None => match parse::parse_all(&job.input) {
            Ok(all) => {
                let total = all.len();
                (Rows::Whole(all), total)
            }
            Err(message) => return Ok(ImportOutcome::Invalid(message)),
        },
    };
    let scope: Vec<String> = serde_json::from_str(&job.domain_scope).unwrap_or_default();
    let mut result: ImportResult =
        job.result.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    let mut checkpoint = usize::try_from(job.checkpoint).unwrap_or(0);
    let mut registered: HashMap<String, bool> = HashMap::new();
    while checkpoint < total {
        if stop.is_cancelled() {
            return Ok(ImportOutcome::Stopped);
        }
        let end = (checkpoint + BATCH_ROWS).min(total);
        let mut valid: Vec<(u64, String, LinkValuesOwned)> = Vec::new();
        let mut batch_errors: Vec<RowError> = Vec::new();
        let Some(batch) = rows.batch(state, checkpoint, end).await? else {
            // The rows are gone: the job ended (or was taken over and ended) under this
            // worker, or the database lost them. Never an empty batch reported as done.
            if !crate::jobs::store::holds(&state.db, job).await? {
                return Ok(ImportOutcome::Superseded);
            }
            return Ok(ImportOutcome::Invalid(format!(
                "The import's stored rows {}–{} are missing; {} of {total} rows were processed.",
                checkpoint + 1,
                end,
                checkpoint
            )));
        };
        for row in batch {
            match validate_row(state, &job.organization_id, &scope, row, &mut registered).await? {
                Ok(values) => valid.push((row.number, Id::generate(IdKind::Link).into_string(), values)),
                Err(errors) => batch_errors.extend(errors.into_iter().map(|e| RowError {
                    row: row.number,
                    field: e.field,
                    message: e.message,
                })),
            }
        }
        let mut next = result.clone();
        let skipped_rows: std::collections::BTreeSet<u64> = batch_errors.iter().map(|e| e.row).collect();
        next.skipped += skipped_rows.len() as u64;
        let progress = i64::try_from(end * 100 / total.max(1)).unwrap_or(100);
        let committed = commit_batch(
            &state.db,
            &state.invalidations,
            job,
            CommitBatch {
                from: checkpoint,
                to: end,
                progress,
                links: &valid,
                errors: batch_errors,
                result: &mut next,
            },
        )
        .await?;
        if !committed {
            return Ok(ImportOutcome::Superseded);
        }
        result = next;
        checkpoint = end;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    Ok(ImportOutcome::Done(result))
}

/// A validated row's values, owned.
pub struct LinkValuesOwned {
    pub domain: String,
    pub slug: Option<String>,
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
}

async fn validate_row(
    state: &AppState,
    organization_id: &str,
    scope: &[String],
    row: &ImportRow,
    registered: &mut HashMap<String, bool>,
) -> Result<Result<LinkValuesOwned, Vec<FieldError>>, StoreError> {
    fn cell(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut v = Validation::new();
    let url = check_url(&mut v, "url", cell(&row.url).unwrap_or(""));
    let slug = cell(&row.slug).map(str::to_owned);
    if let Some(slug) = &slug {
        check_slug(&mut v, slug);
    }
    let title = check_title(&mut v, cell(&row.title));
    let tags: Vec<String> =
        cell(&row.tags).map(|t| t.split(';').map(str::to_owned).collect()).unwrap_or_default();
    let tags = check_tags(&mut v, &tags);
    let domain = match cell(&row.domain) {
        None => Some(state.public.default_domain.clone()),
        Some(name) => match crate::hostname::normalize(name) {
            Ok(host) => Some(host),
            Err(message) => {
                v.reject("domain", message);
                None
            }
        },
    };
    if let Some(host) = &domain {
        if !scope.is_empty() && !scope.contains(host) {
            v.reject("domain", "is outside the API key's domain scope");
        } else if host != &state.public.default_domain {
            let known = match registered.get(host) {
                Some(known) => *known,
                None => {
                    let known = crate::domains::is_registered_to(&state.db, organization_id, host).await?;
                    registered.insert(host.clone(), known);
                    known
                }
            };
            if !known {
                v.reject("domain", "is not one of the organisation's domains");
            }
        }
    }
    Ok(match v.finish() {
        Ok(()) => Ok(LinkValuesOwned { domain: domain.unwrap_or_default(), slug, url, title, tags }),
        Err(e) => Err(e.field_errors().to_vec()),
    })
}
