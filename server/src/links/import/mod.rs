//! `POST /v1/links/import`: links from a CSV file, as an async job.
//!
//! The file (`url,slug,domain,title,tags`, tags `;`-separated, columns in any order, only
//! `url` required) is parsed as it arrives ([`parse`]) and stored in chunks of rows
//! ([`store`]), so memory stays flat whatever its size; the job is queued once the whole file
//! is in. A worker validates each row exactly as `POST /v1/links` does — the enqueuing key's
//! domain scope included — and creates the links in batches. Each batch commits together with
//! the job's checkpoint and running result, so a job taken over after a crash resumes after
//! the last committed row: no row is imported twice.

pub mod parse;
mod runner;
pub mod store;

pub use runner::{ImportOutcome, LinkValuesOwned, run};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use utoipa::ToSchema;

use self::parse::{CsvRows, ImportRow};
use self::store::CHUNK_ROWS;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::http::extract::{is_multipart, multipart_error, open_multipart};
use crate::ids::{Id, IdKind};
use crate::jobs::store::NewJob;
use crate::jobs::{JobAccepted, JobKind, JobStatus};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

/// The largest import file.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// Rows per committed batch.
const BATCH_ROWS: usize = 100;
/// Row errors kept in the result (the count in `skipped` is always exact).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// The multipart form of an import: the `file` part only (any other part is 422).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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
    let form = open_multipart(request, &state).await?;
    let id = Id::generate(IdKind::Job).into_string();
    let upload = match receive(&state, &id, form).await {
        Ok(upload) => upload,
        Err(e) => {
            // Whatever was stored of a refused upload goes (a crash here leaves it to the
            // hourly purge of chunks no job owns).
            if let Err(cleanup) = store::delete_chunks(&state.db, &id).await {
                tracing::warn!(error = %cleanup, "could not delete a refused upload's rows");
            }
            return Err(e);
        }
    };

    let key = principal.key();
    crate::jobs::store::enqueue(
        &state.db,
        NewJob {
            id: &id,
            organization_id: &key.organization_id,
            key_id: &key.id,
            kind: JobKind::LinkImport,
            input_rows: upload.rows,
            input_error: upload.error.as_deref(),
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

/// What an upload left stored: its rows, or why the file is unusable.
struct Upload {
    rows: u64,
    error: Option<String>,
}

/// Reads the multipart form, parsing the `file` field as it arrives and storing its rows in
/// chunks under the job's id. An unusable file (not CSV, no `url` column) is still an upload:
/// its job fails with the reason, as the job would have had it read the file itself.
async fn receive(
    state: &AppState,
    job_id: &str,
    mut form: axum::extract::Multipart,
) -> Result<Upload, ApiError> {
    let mut upload = None;
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            let name = field.name().unwrap_or("").to_owned();
            return Err(ApiError::validation(vec![crate::error::FieldError::new(
                name,
                "is not part of an import: send the CSV as the `file` part, and nothing else",
            )]));
        }
        if upload.is_some() {
            return Err(ApiError::validation(vec![crate::error::FieldError::new(
                "file",
                "must be sent once",
            )]));
        }
        let mut parser = CsvRows::default();
        let mut rows: Vec<ImportRow> = Vec::with_capacity(CHUNK_ROWS);
        let (mut chunks, mut bytes) = (0, 0);
        let mut error = None;
        while let Some(piece) = field.chunk().await.map_err(multipart_error)? {
            bytes += piece.len();
            if bytes > MAX_IMPORT_BYTES {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "The import file is larger than 10 MiB.",
                ));
            }
            if error.is_some() {
                continue; // read to the end, so that the client gets its answer
            }
            error = parser.feed(&piece, &mut rows).err();
            while rows.len() >= CHUNK_ROWS {
                let rest = rows.split_off(CHUNK_ROWS);
                store::insert_chunk(&state.db, job_id, chunks, &rows).await?;
                chunks += 1;
                rows = rest;
            }
        }
        if error.is_none() {
            error = parser.finish(&mut rows).err();
        }
        if error.is_none() && !rows.is_empty() {
            store::insert_chunk(&state.db, job_id, chunks, &rows).await?;
        }
        upload = Some(Upload { rows: parser.rows(), error });
    }
    upload.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new("file", "is required: the CSV file to import")])
    })
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
