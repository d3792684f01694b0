//! The audit log's routes: the dashboard's (admins and owners) and `/v1`'s (`audit:read`).
//! Both answer a page of JSON, or with `Accept: application/x-ndjson` every matching entry,
//! oldest first, one JSON object per line — for a SIEM.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::store::{self, AuditFilter};
use super::types::{AuditEntry, AuditLogParams};
use crate::accounts::DashboardSession;
use crate::db::Db;
use crate::error::{ApiError, Validation};
use crate::http::{ApiQuery, ListEnvelope, Pagination};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

/// The media type of an export.
pub const NDJSON: &str = "application/x-ndjson";

/// Entries read per query of an export.
const EXPORT_BATCH: i64 = 500;

/// The audit log (dashboard)
///
/// The organisation's audit entries, newest first: who created, changed, rotated, blocked or
/// revoked keys; invited, promoted or removed members; registered domains; changed webhook
/// endpoints and settings; and every sign-in, successful or not. Filter by `action`,
/// `actor_id`, `resource_id` and time (`from`, `to`). With `Accept: application/x-ndjson`
/// every matching entry is streamed instead, oldest first, one per line. Each entry has a
/// `sequence` in commit order: poll with `after` = the last one you have and you miss none.
/// Entries hold no secret and are kept for the deployment's audit retention (365 days by
/// default).
#[utoipa::path(
    get,
    path = "/api/developer/audit-log",
    operation_id = "dashboard_audit_log_list",
    tag = "audit",
    params(AuditLogParams),
    responses((status = 200, description = "One page of entries, or (NDJSON) all of them.", content(
        (ListEnvelope<AuditEntry> = "application/json"),
        (AuditEntry = "application/x-ndjson"),
    ))),
    extensions(("x-required-role" = json!("admin"))),
)]
pub async fn dashboard_audit_log_list(
    State(state): State<AppState>,
    session: DashboardSession,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<AuditLogParams>,
) -> Result<Response, ApiError> {
    answer(&state, &session.organization_id, &headers, params).await
}

/// The audit log
///
/// The same entries as the dashboard's audit log, for the calling key's organisation, with
/// the same filters; `Accept: application/x-ndjson` streams every matching entry, oldest
/// first. To follow the log, poll with `after` set to the last entry's `sequence`: entries
/// appear in `sequence` order as they commit, so a poller misses none.
#[utoipa::path(
    get,
    path = "/v1/audit-log",
    operation_id = "audit_log_list",
    tag = "audit",
    params(AuditLogParams),
    responses((status = 200, description = "One page of entries, or (NDJSON) all of them.", content(
        (ListEnvelope<AuditEntry> = "application/json"),
        (AuditEntry = "application/x-ndjson"),
    ))),
    extensions(("x-required-scope" = json!("audit:read"))),
)]
pub async fn audit_log_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<AuditLogParams>,
) -> Result<Response, ApiError> {
    answer(&state, &principal.key().organization_id, &headers, params).await
}

async fn answer(
    state: &AppState,
    organization_id: &str,
    headers: &HeaderMap,
    params: AuditLogParams,
) -> Result<Response, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let mut v = Validation::new();
    if let (Some(from), Some(to)) = (params.from, params.to) {
        v.check(from <= to, "from", "must not be after `to`");
    }
    for (field, value) in [("actor_id", &params.actor_id), ("resource_id", &params.resource_id)] {
        v.check(value.as_ref().is_none_or(|id| id.len() <= 64), field, "must be at most 64 characters");
    }
    v.check(params.after.is_none_or(|after| after >= 0), "after", "must be at least 0");
    v.finish()?;
    let filter = AuditFilter {
        action: params.action,
        actor_id: params.actor_id,
        resource_id: params.resource_id,
        from: params.from,
        to: params.to,
        after: params.after,
    };
    if wants_ndjson(headers) {
        return Ok(export(state.db.clone(), organization_id.to_owned(), filter));
    }
    let (rows, total) = store::list(&state.db, organization_id, &filter, page).await?;
    let entries = rows.into_iter().filter_map(store::AuditRow::into_entry).collect();
    Ok(Json(ListEnvelope::new(entries, total, page)).into_response())
}

/// Whether the client asked for NDJSON (and prefers it to JSON).
fn wants_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| media.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(NDJSON))
}

/// Every matching entry, oldest first, one JSON object per line, read in batches as the
/// client takes them (memory stays at one batch however long the log).
fn export(db: Db, organization_id: String, filter: AuditFilter) -> Response {
    struct Cursor {
        db: Db,
        organization_id: String,
        filter: AuditFilter,
        after: i64,
        done: bool,
    }
    let start = Cursor { db, organization_id, filter, after: 0, done: false };
    let stream = futures_util::stream::unfold(start, |mut cursor| async move {
        if cursor.done {
            return None;
        }
        let batch =
            store::after(&cursor.db, &cursor.organization_id, &cursor.filter, cursor.after, EXPORT_BATCH)
                .await;
        let rows = match batch {
            Ok(rows) => rows,
            Err(e) => {
                // The status line is sent: cutting the stream short is the only way left to
                // say so; the client sees a truncated body, never a silently short one.
                tracing::error!(error = %e, "the audit-log export failed part-way");
                cursor.done = true;
                return Some((Err(std::io::Error::other("the audit-log export failed")), cursor));
            }
        };
        cursor.done = rows.len() < EXPORT_BATCH as usize;
        cursor.after = rows.last().map_or(cursor.after, |r| r.seq);
        let mut chunk = Vec::with_capacity(rows.len() * 400);
        for entry in rows.into_iter().filter_map(store::AuditRow::into_entry) {
            serde_json::to_writer(&mut chunk, &entry).expect("entries serialise");
            chunk.push(b'\n');
        }
        Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), cursor))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    response
}
