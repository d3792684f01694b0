//! Async jobs: long work answers 202 at once and finishes in the background; callers poll
//! `GET /v1/jobs/{id}`.
//!
//! Jobs are rows in the database, claimed by a pool of workers with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL). A job works in batches, each committed together
//! with the job's checkpoint, so a job whose process died (its lease runs out) is taken over
//! and resumes where the last batch ended: its effects happen exactly once.

pub mod store;
pub mod worker;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::http::{ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

crate::wire_enum! {
    /// Where a job is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

crate::wire_enum! {
    /// What a job does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum JobKind {
        /// `POST /v1/links/import`: links from a CSV file.
        LinkImport = "link_import",
    }
}

/// One row of an import that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// The row's number in the file (the header is row 1).
    #[schema(example = 7)]
    pub row: u64,
    #[schema(example = "url")]
    /// The column at fault.
    pub field: String,
    #[schema(example = "must be an http or https URL")]
    /// What is wrong with it.
    pub message: String,
}

/// What an import did (so far, while it runs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// Links created.
    #[schema(example = 998)]
    pub created: u64,
    /// Rows not imported (see `errors`).
    #[schema(example = 2)]
    pub skipped: u64,
    /// Why rows were skipped (the first 1000).
    pub errors: Vec<RowError>,
}

/// An async job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// `job_…`
    #[schema(example = "job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// What the job does: `link_import`.
    pub kind: JobKind,
    /// `queued`, `running`, then `succeeded` or `failed`.
    pub status: JobStatus,
    /// 0–100.
    #[schema(example = 40)]
    pub progress: i64,
    /// For imports: what was created and skipped, growing while the job runs.
    #[schema(required = true)]
    pub result: Option<ImportResult>,
    /// Why the job failed, when it did.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub error: Option<String>,
    /// When the job was accepted.
    #[schema(example = "2026-12-01T09:30:00Z")]
    pub created_at: DateTime<Utc>,
    /// When a worker started it; `null` while queued.
    #[schema(required = true)]
    #[schema(example = "2026-12-01T09:30:01Z")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it succeeded or failed; `null` until then.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job just accepted: poll `poll_url` (also the `Location` header).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobAccepted {
    #[schema(example = "job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    /// The job (`job_…`).
    pub id: String,
    /// `queued`.
    pub status: JobStatus,
    #[schema(example = "/v1/jobs/job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    /// Where to poll the job (`GET`), relative to the server.
    pub poll_url: String,
}

/// The query of the job list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobsParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// List jobs
///
/// The organisation's jobs, newest first.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    operation_id = "job_list",
    tag = "jobs",
    params(ListJobsParams),
    responses((status = 200, description = "One page of jobs.", body = ListEnvelope<Job>)),
    extensions(("x-required-scope" = json!("jobs:read"))),
)]
pub async fn job_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<ListJobsParams>,
) -> Result<Json<ListEnvelope<Job>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (jobs, total) = store::list(&state.db, &principal.key().organization_id, page).await?;
    Ok(Json(ListEnvelope::new(jobs, total, page)))
}

/// Get a job
///
/// A job's status, progress and — for imports — what it created and skipped so far. Poll it
/// until `status` is `succeeded` or `failed`.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    operation_id = "job_get",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id (`job_…`)", example = "job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The job.", body = Job)),
    extensions(("x-required-scope" = json!("jobs:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn job_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    if Id::parse(IdKind::Job, &id).is_none() {
        return Err(ApiError::not_found("job"));
    }
    store::get(&state.db, &principal.key().organization_id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("job"))
}
