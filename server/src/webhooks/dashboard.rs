//! The webhook routes for the dashboard: the same operations as `/v1/webhooks*`, for the
//! signed-in user's organisation, so that managing endpoints needs no API key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::{
    CreateWebhookRequest, Delivery, DeliveryAttempt, ListWebhooksParams, PingQueued, UpdateWebhookRequest,
    WebhookEndpoint, WebhookEndpointCreated,
};
use crate::accounts::DashboardSession;
use crate::audit::AuditContext;
use crate::error::ApiError;
use crate::http::conditional::IfMatch;
use crate::http::{ApiJson, ApiQuery, ListEnvelope};
use crate::state::AppState;

/// Create a webhook endpoint (dashboard)
///
/// The same as `POST /v1/webhooks`: the answer holds the signing secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/developer/webhooks",
    operation_id = "dashboard_webhook_create",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "The endpoint and its secret, shown once.", body = WebhookEndpointCreated,
        headers(("location" = String, description = "The endpoint's URL")))),
    extensions(("x-required-role" = json!("developer"))),
)]
pub async fn dashboard_webhook_create(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, HeaderMap, Json<WebhookEndpointCreated>), ApiError> {
    super::create(&state, &session.organization_id, &req, "/api/developer/webhooks", &audit).await
}

/// List webhook endpoints (dashboard)
///
/// The same as `GET /v1/webhooks`, for the signed-in user's organisation.
#[utoipa::path(
    get,
    path = "/api/developer/webhooks",
    operation_id = "dashboard_webhook_list",
    tag = "webhooks",
    params(ListWebhooksParams),
    responses((status = 200, description = "One page of endpoints.", body = ListEnvelope<WebhookEndpoint>)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn dashboard_webhook_list(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<ListWebhooksParams>,
) -> Result<Json<ListEnvelope<WebhookEndpoint>>, ApiError> {
    super::list(&state, &session.organization_id, &params).await.map(Json)
}

/// Get a webhook endpoint (dashboard)
///
/// The same as `GET /v1/webhooks/{id}`, for the signed-in user's organisation.
#[utoipa::path(
    get,
    path = "/api/developer/webhooks/{id}",
    operation_id = "dashboard_webhook_get",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The endpoint.", body = WebhookEndpoint,
        headers(("etag" = String, description = "The endpoint's version")))),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_get(
    State(state): State<AppState>,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    super::get(&state, &session.organization_id, &id).await
}

/// Update a webhook endpoint (dashboard)
///
/// The same as `PATCH /v1/webhooks/{id}`: the URL is checked again by the SSRF guard, only
/// the fields given change, and `If-Match` is honoured.
#[utoipa::path(
    patch,
    path = "/api/developer/webhooks/{id}",
    operation_id = "dashboard_webhook_update",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "The updated endpoint.", body = WebhookEndpoint,
        headers(("etag" = String, description = "The endpoint's new version")))),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_update(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(req): ApiJson<UpdateWebhookRequest>,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    super::update(&state, &session.organization_id, &id, &if_match, &req, &audit).await
}

/// Delete a webhook endpoint (dashboard)
///
/// The same as `DELETE /v1/webhooks/{id}`: the endpoint, its pending deliveries and its log;
/// `If-Match` is honoured.
#[utoipa::path(
    delete,
    path = "/api/developer/webhooks/{id}",
    operation_id = "dashboard_webhook_delete",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    responses((status = 204, description = "Deleted.")),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_delete(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    super::delete(&state, &session.organization_id, &id, &if_match, &audit).await
}

/// Send a test event (dashboard)
///
/// The same as `POST /v1/webhooks/{id}/test`: a signed `ping` delivery is queued.
#[utoipa::path(
    post,
    path = "/api/developer/webhooks/{id}/test",
    operation_id = "dashboard_webhook_test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 202, description = "The ping is queued.", body = PingQueued)),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_test(
    State(state): State<AppState>,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    super::ping(&state, &session.organization_id, &id).await
}

/// The delivery log (dashboard)
///
/// The same as `GET /v1/webhooks/{id}/deliveries`: every attempt, newest first.
#[utoipa::path(
    get,
    path = "/api/developer/webhooks/{id}/deliveries",
    operation_id = "dashboard_webhook_deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"), ListWebhooksParams),
    responses((status = 200, description = "One page of attempts.", body = ListEnvelope<DeliveryAttempt>)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_deliveries(
    State(state): State<AppState>,
    session: DashboardSession,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ListWebhooksParams>,
) -> Result<Json<ListEnvelope<DeliveryAttempt>>, ApiError> {
    super::deliveries(&state, &session.organization_id, &id, &params).await.map(Json)
}

/// One delivery (dashboard)
///
/// The same as `GET /v1/webhooks/{id}/deliveries/{delivery_id}`: payload, headers, attempts.
#[utoipa::path(
    get,
    path = "/api/developer/webhooks/{id}/deliveries/{delivery_id}",
    operation_id = "dashboard_webhook_delivery_get",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("delivery_id" = String, Path, description = "The delivery's id (`dlv_…`)", example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
    ),
    responses((status = 200, description = "The delivery.", body = Delivery)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_delivery_get(
    State(state): State<AppState>,
    session: DashboardSession,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<Delivery>, ApiError> {
    super::delivery(&state, &session.organization_id, &id, &delivery_id).await.map(Json)
}

/// Resend a delivery (dashboard)
///
/// The same as `POST /v1/webhooks/{id}/deliveries/{delivery_id}/resend`.
#[utoipa::path(
    post,
    path = "/api/developer/webhooks/{id}/deliveries/{delivery_id}/resend",
    operation_id = "dashboard_webhook_delivery_resend",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("delivery_id" = String, Path, description = "The delivery's id (`dlv_…`)", example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
    ),
    responses((status = 202, description = "The new delivery is queued.", body = PingQueued)),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_webhook_delivery_resend(
    State(state): State<AppState>,
    session: DashboardSession,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    super::resend(&state, &session.organization_id, &id, &delivery_id).await
}
