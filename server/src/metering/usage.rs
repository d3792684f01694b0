//! Usage and the request log, for integrators (`/v1/usage`, `/v1/requests*`) and the
//! dashboard (`/api/developer/usage`). Usage reads the daily roll-up, so it stays fast at
//! millions of requests; the request log is the raw record, kept for the retention period.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store;
use crate::accounts::DashboardSession;
use crate::error::{ApiError, Validation};
use crate::http::{ApiQuery, ListEnvelope, Pagination};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

/// What `/v1/usage` groups by, besides the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Day,
    Route,
    Status,
}

/// The query of usage.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// First day (UTC, `YYYY-MM-DD`), inclusive; default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (UTC, `YYYY-MM-DD`), inclusive; default today.
    pub to: Option<NaiveDate>,
    /// Only this key's calls.
    pub key_id: Option<String>,
    /// `day` (default): one point per day; `route`: per day and route; `status`: per day and
    /// status class.
    #[param(inline)]
    pub group_by: Option<GroupBy>,
}

/// A point of a usage series.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsagePoint {
    #[schema(value_type = String, format = Date, example = "2026-11-22")]
    /// The day (UTC).
    pub date: NaiveDate,
    /// With `group_by=route`: the route template.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/v1/links")]
    pub route: Option<String>,
    /// With `group_by=status`: `2xx`, `4xx`…
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2xx")]
    pub status_class: Option<String>,
    /// Calls on that day (in that group).
    #[schema(example = 1520)]
    pub count: i64,
}

/// Calls over a range of days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Calls in the range (all statuses, refused ones included).
    #[schema(example = 1520)]
    pub total: i64,
    /// Calls left in the organisation's monthly quota.
    #[schema(example = 998480)]
    pub quota_remaining: u64,
    #[schema(value_type = String, format = Date)]
    /// The range's first day (UTC), inclusive.
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    /// The range's last day (UTC), inclusive.
    pub to: NaiveDate,
    /// Oldest first. With `group_by=day`, every day of the range is present.
    pub series: Vec<UsagePoint>,
}

/// One logged `/v1` request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct RequestLogEntry {
    /// The request id the caller saw in `x-request-id`.
    #[schema(example = "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    #[schema(example = "POST")]
    /// The HTTP method.
    pub method: String,
    /// The route template.
    #[schema(example = "/v1/links/{id}")]
    pub route: String,
    #[schema(example = "/v1/links/lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    /// The path as requested, without the query.
    pub path: String,
    #[schema(example = 200)]
    /// The status answered.
    pub status: i64,
    /// Time from arrival to answer, in milliseconds.
    #[schema(example = 3.4)]
    pub latency_ms: f64,
    /// The key used (`key_…`); `null` when no valid key was presented.
    #[schema(required = true)]
    #[schema(example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub key_id: Option<String>,
    #[schema(example = "203.0.113.7")]
    /// The caller's address.
    pub ip: String,
    /// The `Idempotency-Key` sent, if any.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub idempotency_key: Option<String>,
    /// When the request arrived: the time its key's expiry was checked against and the month
    /// its quota was spent in.
    #[schema(example = "2026-12-01T09:30:00Z")]
    pub created_at: DateTime<Utc>,
}

/// The query of the request log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Only this key's requests.
    pub key_id: Option<String>,
    /// Only this status (e.g. `429`): 100–599.
    #[param(minimum = 100, maximum = 599)]
    pub status: Option<u16>,
    /// Only this route template (e.g. `/v1/links/{id}`).
    pub route: Option<String>,
    /// Only requests that arrived at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub from: Option<DateTime<Utc>>,
    /// Only requests that arrived before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-02T00:00:00Z")]
    pub to: Option<DateTime<Utc>>,
}

/// Usage
///
/// The organisation's calls per day between `from` and `to` (default: the last 30 days),
/// optionally for one key and split by route or status class, with the calls left in this
/// month's quota. Written within about a second of each call.
#[utoipa::path(
    get,
    path = "/v1/usage",
    operation_id = "usage_get",
    tag = "usage",
    params(UsageParams),
    responses((status = 200, description = "Calls per day.", body = Usage)),
    extensions(("x-required-scope" = json!("analytics:read"))),
)]
pub async fn usage_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> Result<Json<Usage>, ApiError> {
    Ok(Json(usage(&state, &principal.key().organization_id, &params).await?))
}

/// Usage (dashboard)
///
/// The same as `GET /v1/usage`, for the signed-in user's organisation.
#[utoipa::path(
    get,
    path = "/api/developer/usage",
    operation_id = "dashboard_usage_get",
    tag = "usage",
    params(UsageParams),
    responses((status = 200, description = "Calls per day.", body = Usage)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn dashboard_usage_get(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> Result<Json<Usage>, ApiError> {
    Ok(Json(usage(&state, &session.organization_id, &params).await?))
}

async fn usage(state: &AppState, organization_id: &str, params: &UsageParams) -> Result<Usage, ApiError> {
    let to = params.to.unwrap_or_else(|| state.db.now().date_naive());
    let from = params.from.unwrap_or(to - TimeDelta::days(29));
    let mut v = Validation::new();
    v.check(from <= to, "from", "must not be after `to`");
    v.check((to - from).num_days() < 366, "to", "the range must be at most 366 days");
    v.finish()?;
    let group_by = params.group_by.unwrap_or_default();
    let rows = store::usage(&state.db, organization_id, from, to, params.key_id.as_deref(), group_by).await?;
    let mut series: Vec<UsagePoint> = Vec::with_capacity(rows.len());
    for (day, dimension, count) in rows {
        let Ok(date) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else { continue };
        let (route, status_class) = match group_by {
            GroupBy::Day => (None, None),
            GroupBy::Route => (Some(dimension), None),
            GroupBy::Status => (None, Some(dimension)),
        };
        series.push(UsagePoint { date, route, status_class, count });
    }
    if group_by == GroupBy::Day {
        series = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|date| {
                let count = series.iter().find(|p| p.date == date).map_or(0, |p| p.count);
                UsagePoint { date, route: None, status_class: None, count }
            })
            .collect();
    }
    Ok(Usage {
        total: series.iter().map(|p| p.count).sum(),
        quota_remaining: state.quotas.remaining(organization_id).await?,
        from,
        to,
        series,
    })
}

/// The request log
///
/// The organisation's `/v1` requests, newest first — refused ones (401, 403, 429) included —
/// filtered by key, status or route. Entries appear within about a second and are kept for
/// the deployment's retention period (30 days by default).
#[utoipa::path(
    get,
    path = "/v1/requests",
    operation_id = "request_list",
    tag = "usage",
    params(RequestsParams),
    responses((status = 200, description = "One page of the request log.", body = ListEnvelope<RequestLogEntry>)),
    extensions(("x-required-scope" = json!("analytics:read"))),
)]
pub async fn request_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<RequestsParams>,
) -> Result<Json<ListEnvelope<RequestLogEntry>>, ApiError> {
    Ok(Json(requests(&state, &principal.key().organization_id, &params).await?))
}

/// The request log (dashboard)
///
/// The same as `GET /v1/requests`, for the signed-in user's organisation: no key needed.
#[utoipa::path(
    get,
    path = "/api/developer/requests",
    operation_id = "dashboard_request_list",
    tag = "usage",
    params(RequestsParams),
    responses((status = 200, description = "One page of the request log.", body = ListEnvelope<RequestLogEntry>)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn dashboard_request_list(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<RequestsParams>,
) -> Result<Json<ListEnvelope<RequestLogEntry>>, ApiError> {
    Ok(Json(requests(&state, &session.organization_id, &params).await?))
}

async fn requests(
    state: &AppState,
    organization_id: &str,
    params: &RequestsParams,
) -> Result<ListEnvelope<RequestLogEntry>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let mut v = Validation::new();
    v.check(
        params.status.is_none_or(|s| (100..=599).contains(&s)),
        "status",
        "must be an HTTP status, 100–599",
    );
    if let (Some(from), Some(to)) = (params.from, params.to) {
        v.check(from <= to, "from", "must not be after `to`");
    }
    v.finish()?;
    let filter = store::RequestFilter {
        key_id: params.key_id.as_deref(),
        route: params.route.as_deref(),
        status: params.status,
        from: params.from,
        to: params.to,
    };
    let (rows, total) = store::list_requests(&state.db, organization_id, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// One logged request
///
/// A request of the organisation's, by the id its caller saw in `x-request-id`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}",
    operation_id = "request_get",
    tag = "usage",
    params(("id" = String, Path, description = "The request id (`req_…`)", example = "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The logged request.", body = RequestLogEntry)),
    extensions(("x-required-scope" = json!("analytics:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn request_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<RequestLogEntry>, ApiError> {
    logged(&state, &principal.key().organization_id, &id).await.map(Json)
}

/// One logged request (dashboard)
///
/// The same as `GET /v1/requests/{id}`, for the signed-in user's organisation.
#[utoipa::path(
    get,
    path = "/api/developer/requests/{id}",
    operation_id = "dashboard_request_get",
    tag = "usage",
    params(("id" = String, Path, description = "The request id (`req_…`)", example = "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The logged request.", body = RequestLogEntry)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_request_get(
    State(state): State<AppState>,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Result<Json<RequestLogEntry>, ApiError> {
    logged(&state, &session.organization_id, &id).await.map(Json)
}

async fn logged(state: &AppState, organization_id: &str, id: &str) -> Result<RequestLogEntry, ApiError> {
    let found = store::get_request(&state.db, organization_id, id).await?;
    found.ok_or_else(|| ApiError::not_found("logged request"))
}
