//! `POST /v1/links/import`: links from a CSV file, as an async job.
//!
//! The file (`url,slug,domain,title,tags`, tags `;`-separated, columns in any order, only
//! `url` required) is stored with the job; a worker validates each row exactly as
//! `POST /v1/links` does — the enqueuing key's domain scope included — and creates the links in
//! batches. Each batch commits together with the job's checkpoint and running result, so a
//! job taken over after a crash resumes after the last committed row: no row is imported twice.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::store::{self, LinkValues};
use super::types::{check_slug, check_tags, check_title, check_url};
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::error::{ApiError, ErrorCode, FieldError, Validation};
use crate::http::extract::{is_multipart, multipart_error, open_multipart};
use crate::ids::{Id, IdKind};
use crate::jobs::store::{ClaimedJob, NewJob};
use crate::jobs::{ImportResult, JobAccepted, JobKind, JobStatus, RowError};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;
use crate::time::now;

/// The largest import file.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// Rows per committed batch.
const BATCH_ROWS: usize = 100;
/// Row errors kept in the result (the count in `skipped` is always exact).
const MAX_REPORTED_ERRORS: usize = 1000;

/// The multipart form of an import.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// A CSV file with a header row: `url,slug,domain,title,tags` (tags `;`-separated; only
    /// `url` is required). At most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Import links from CSV
///
/// Accepts a CSV file and answers 202 at once with a job to poll (`poll_url`, also the
/// `Location` header). The job validates every row like `POST /v1/links` — and against the
/// calling key's domain scope — creates the valid ones, and reports `created`, `skipped` and
/// each skipped row's error (row number, field, message). Send `Idempotency-Key` to make a
/// retried upload start one job, not two.
#[utoipa::path(
    post,
    path = "/v1/links/import",
    operation_id = "link_import",
    tag = "links",
    security(("api_key" = []), ("api_key_header" = [])),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 202, description = "Accepted: the import runs as a job.", body = JobAccepted,
        headers(("location" = String, description = "The job's URL")))),
    extensions(("x-required-scope" = json!("links:write"))),
)]
pub async fn link_import(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<JobAccepted>), ApiError> {
    if !is_multipart(request.headers()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Upload the CSV as multipart/form-data with a `file` field.",
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BYTES + 64 * 1024) {
        // Read (and drop) what the client is sending, up to a point, so that it sees the 413
        // instead of a connection closed under its upload.
        drain(request.into_body(), 64 * 1024 * 1024).await;
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "The import file is larger than 10 MiB."));
    }
    let mut form = open_multipart(request, &state).await?;
    let mut file = None;
    loop {
        let field = form.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else { break };
        if field.name() == Some("file") {
            file = Some(field.bytes().await.map_err(multipart_error)?);
        }
    }
    let Some(file) = file else {
        return Err(ApiError::validation(vec![FieldError::new(
            "file",
            "is required: the CSV file to import",
        )]));
    };
    if file.len() > MAX_IMPORT_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "The import file is larger than 10 MiB."));
    }

    let key = principal.key();
    let id = Id::generate(IdKind::Job).into_string();
    crate::jobs::store::enqueue(
        &state.db,
        NewJob {
            id: &id,
            organization_id: &key.organization_id,
            key_id: &key.id,
            kind: JobKind::LinkImport,
            input: &file,
            domain_scope: &key.domains,
        },
    )
    .await?;
    state.jobs_wake.notify_one();
    let poll_url = format!("/v1/jobs/{id}");
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&poll_url) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::ACCEPTED, headers, Json(JobAccepted { id, status: JobStatus::Queued, poll_url })))
}

/// Reads and discards a body, up to `cap` bytes.
async fn drain(body: axum::body::Body, cap: usize) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut seen = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > cap {
            break;
        }
    }
}

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

/// One parsed row: its number and cells by column name.
#[derive(Debug)]
struct Row {
    number: u64,
    cells: HashMap<String, String>,
}

/// Runs (or resumes) an import job.
pub async fn run(
    state: &AppState,
    job: &ClaimedJob,
    stop: &CancellationToken,
    pause: std::time::Duration,
) -> Result<ImportOutcome, StoreError> {
    let rows = match parse_csv(&job.input) {
        Ok(rows) => rows,
        Err(message) => return Ok(ImportOutcome::Invalid(message)),
    };
    let scope: Vec<String> = serde_json::from_str(&job.domain_scope).unwrap_or_default();
    let mut result: ImportResult =
        job.result.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    let mut checkpoint = usize::try_from(job.checkpoint).unwrap_or(0);
    let mut registered: HashMap<String, bool> = HashMap::new();
    while checkpoint < rows.len() {
        if stop.is_cancelled() {
            return Ok(ImportOutcome::Stopped);
        }
        let end = (checkpoint + BATCH_ROWS).min(rows.len());
        let mut valid: Vec<(u64, String, LinkValuesOwned)> = Vec::new();
        let mut batch_errors: Vec<RowError> = Vec::new();
        for row in &rows[checkpoint..end] {
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
        let progress = i64::try_from(end * 100 / rows.len().max(1)).unwrap_or(100);
        let committed = commit_batch(
            &state.db,
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
struct LinkValuesOwned {
    domain: String,
    slug: Option<String>,
    url: String,
    title: Option<String>,
    tags: Vec<String>,
}

async fn validate_row(
    state: &AppState,
    organization_id: &str,
    scope: &[String],
    row: &Row,
    registered: &mut HashMap<String, bool>,
) -> Result<Result<LinkValuesOwned, Vec<FieldError>>, StoreError> {
    let cell = |name: &str| row.cells.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut v = Validation::new();
    let url = check_url(&mut v, "url", cell("url").unwrap_or(""));
    let slug = cell("slug").map(str::to_owned);
    if let Some(slug) = &slug {
        check_slug(&mut v, slug);
    }
    let title = check_title(&mut v, cell("title"));
    let tags: Vec<String> =
        cell("tags").map(|t| t.split(';').map(str::to_owned).collect()).unwrap_or_default();
    let tags = check_tags(&mut v, &tags);
    let domain = match cell("domain") {
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

struct CommitBatch<'a> {
    from: usize,
    to: usize,
    progress: i64,
    links: &'a [(u64, String, LinkValuesOwned)],
    errors: Vec<RowError>,
    result: &'a mut ImportResult,
}

/// Creates a batch's links and advances the job's checkpoint, in one transaction. A slug taken
/// meanwhile skips its row. `false` when another worker already advanced the job.
async fn commit_batch(db: &Db, job: &ClaimedJob, batch: CommitBatch<'_>) -> Result<bool, StoreError> {
    const ADVANCE: &str =
        "UPDATE jobs SET checkpoint = $1, progress = $2, result = $3 WHERE id = $4 AND checkpoint = $5";
    let at = now();
    let mut errors = batch.errors;
    let mut created = 0u64;
    let outcome = dispatch!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (row, id, link) in batch.links {
            let mut attempts = if link.slug.is_some() { 1 } else { 5 };
            loop {
                let slug = link.slug.clone().unwrap_or_else(super::generate_slug);
                let values = LinkValues {
                    domain: &link.domain,
                    slug: &slug,
                    url: &link.url,
                    title: link.title.as_deref(),
                    tags: &link.tags,
                    expires_at: None,
                };
                let inserted = sqlx::query(store::INSERT_IF_FREE)
                    .bind(id.as_str())
                    .bind(job.organization_id.as_str())
                    .bind(values.domain)
                    .bind(values.slug)
                    .bind(values.url)
                    .bind(values.title)
                    .bind(store::tags_json(values.tags))
                    .bind(store::search_text(values.title, values.url, values.slug))
                    .bind(values.expires_at)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                attempts -= 1;
                if inserted {
                    created += 1;
                    break;
                }
                if attempts == 0 {
                    errors.push(RowError {
                        row: *row,
                        field: "slug".into(),
                        message: "is already used by a live link on this domain".into(),
                    });
                    break;
                }
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
    Ok(outcome)
}

/// Parses the CSV: a header row naming the columns (`url` required), then one link per row.
/// Row numbers count the header as row 1, as a spreadsheet shows them.
fn parse_csv(input: &[u8]) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the file is not readable CSV: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    if !headers.iter().any(|h| h == "url") {
        return Err("the CSV has no `url` column (expected a header row: url,slug,domain,title,tags)".into());
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {} is not readable CSV: {e}", i + 2))?;
        // The line the record starts on: blank lines (which the reader skips) still count.
        let number = record.position().map_or(i as u64 + 2, csv::Position::line);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells = headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        rows.push(Row { number, cells });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv_rows_are_numbered_like_a_spreadsheet_and_blank_rows_skipped() {
        let rows =
            parse_csv(b"\xef\xbb\xbfURL,Slug,tags\nhttps://a.example,a,x;y\n\n,,\nhttps://b.example\n")
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].number, 2);
        assert_eq!(rows[0].cells["slug"], "a");
        assert_eq!(rows[1].number, 5);
        assert!(parse_csv(b"link,slug\nx,y\n").unwrap_err().contains("no `url` column"));
    }
}
