//! Webhooks: endpoints subscribe to event types and receive signed deliveries, per the
//! Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`),
//! retried on a schedule, every attempt in a delivery log. See `docs/webhooks.md`.

mod dashboard;
pub mod deliver;
pub mod guard;
mod send;
mod store;

pub use dashboard::*;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::AuditContext;
use crate::error::{ApiError, Validation};
use crate::events::EventType;
use crate::http::conditional::{IfMatch, precondition_failed, tagged};
use crate::http::{ApiJson, ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::secret::random_bytes;
use crate::state::AppState;

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    /// `whk_…`
    #[schema(example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    #[schema(example = "https://example.com/webhooks/portico")]
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types delivered to this endpoint.
    #[schema(example = json!(["job.succeeded", "link.created"]))]
    pub events: Vec<EventType>,
    /// A note for people; `null` when none.
    #[schema(required = true)]
    #[schema(example = "Production")]
    pub description: Option<String>,
    /// Deliveries are sent only while enabled; an endpoint answering 410, or failing too many
    /// deliveries in a row, is disabled (see `disabled_reason`).
    #[schema(example = true)]
    pub enabled: bool,
    /// Why the endpoint was disabled (`null` while enabled).
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub disabled_reason: Option<String>,
    /// When the endpoint was created.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
    /// The endpoint's version, also its `ETag`: send it in `If-Match` to change or delete it
    /// only if nobody has since you read it.
    #[schema(example = 3, minimum = 1)]
    pub version: i64,
}

/// A new endpoint and, this once, its signing secret.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpointCreated {
    /// The signing secret (`whsec_…`). Shown here only: store it to verify signatures.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
}

impl std::fmt::Debug for WebhookEndpointCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpointCreated")
            .field("secret", &"[redacted]")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/webhooks/portico", "events": ["job.succeeded", "link.created"], "description": "Production"}))]
pub struct CreateWebhookRequest {
    /// An `http(s)` URL on a public address.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// At least one event type.
    #[schema(min_items = 1)]
    pub events: Vec<EventType>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Changes to an endpoint; absent fields stay, `null` clears `description`. Enabling a
/// disabled endpoint clears its failure count.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": ["job.succeeded", "job.failed"], "enabled": true}))]
pub struct UpdateWebhookRequest {
    /// A new URL: `http(s)`, on a public address, at most 2048 characters.
    #[schema(format = "uri", max_length = 2048)]
    pub url: Option<String>,
    /// The new event types (at least one), replacing the old.
    #[schema(min_items = 1)]
    pub events: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<String>)]
    /// A new note (at most 500 characters); `null` clears it.
    pub description: Option<Option<String>>,
    /// Enable (clearing the failure count) or disable the endpoint.
    pub enabled: Option<bool>,
}

/// A test delivery, queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PingQueued {
    /// The delivery (`dlv_…`); its attempts appear in the endpoint's delivery log.
    #[schema(example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub delivery_id: String,
    /// The `webhook-id` the receiver will see.
    #[schema(example = "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub event_id: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct DeliveryAttempt {
    /// The delivery (`dlv_…`): one event to one endpoint, however many attempts it takes.
    #[schema(example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub delivery_id: String,
    /// The event (`webhook-id`), the same on every attempt of a delivery.
    #[schema(example = "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub event_id: String,
    #[schema(example = "job.succeeded")]
    /// The event's type.
    pub event_type: String,
    /// 1 for the first attempt.
    #[schema(example = 1)]
    pub attempt: i64,
    /// The receiver's status; `null` when there was no answer (refused, timeout…).
    #[schema(required = true)]
    #[schema(example = 200)]
    pub status_code: Option<i64>,
    /// How long the receiver took to answer (or to fail), in milliseconds.
    #[schema(example = 84.2)]
    pub latency_ms: f64,
    /// Why the attempt failed, when it did: a refused connection, a timeout, a non-2xx status.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub error: Option<String>,
    /// When the next attempt is due; `null` when there is none (success, or gave up).
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the attempt was made.
    #[schema(example = "2026-12-01T09:30:02Z")]
    pub attempted_at: DateTime<Utc>,
}

/// One delivery: the event as sent (the same body on every attempt), the headers the
/// receiver got, and each attempt with the timestamp and signature it carried.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// `dlv_…`
    #[schema(example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The event (`webhook-id`).
    #[schema(example = "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub event_id: String,
    /// The event's type.
    #[schema(example = "link.created")]
    pub event_type: String,
    /// `pending` (an attempt is due), `succeeded` or `failed` (no attempt left).
    #[schema(example = "succeeded")]
    pub status: String,
    /// The JSON body POSTed to the endpoint.
    #[schema(value_type = Object, example = json!({"type": "ping", "timestamp": "2026-12-01T09:30:00Z", "data": {"endpoint_id": "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}}))]
    pub payload: serde_json::Value,
    /// The headers every attempt carries (the timestamp and signature are per attempt).
    #[schema(example = json!({"content-type": "application/json", "webhook-id": "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}))]
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the next attempt is due; `null` when none is.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<SentAttempt>,
    /// When the delivery was queued.
    #[schema(example = "2026-12-01T09:30:00Z")]
    pub created_at: DateTime<Utc>,
}

/// One attempt of a delivery, with the headers that differ per attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SentAttempt {
    /// 1 for the first attempt.
    #[schema(example = 1)]
    pub attempt: i64,
    /// The receiver's status; `null` when there was no answer.
    #[schema(required = true)]
    #[schema(example = 200)]
    pub status_code: Option<i64>,
    /// How long the receiver took to answer (or to fail), in milliseconds.
    #[schema(example = 84.2)]
    pub latency_ms: f64,
    /// Why the attempt failed, when it did.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub error: Option<String>,
    /// When the attempt was made.
    #[schema(example = "2026-12-01T09:30:02Z")]
    pub attempted_at: DateTime<Utc>,
    /// `webhook-timestamp` and `webhook-signature` as sent; empty when nothing was sent (the
    /// endpoint was disabled, or its address refused).
    #[schema(example = json!({"webhook-timestamp": "1764581402", "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}))]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// The query of lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWebhooksParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// A new signing secret: `whsec_` + 32 random bytes in base64.
fn new_secret() -> String {
    format!("whsec_{}", BASE64.encode(random_bytes::<32>()))
}

/// Validates a target URL, the SSRF guard included; returns it normalised.
async fn check_url(state: &AppState, v: &mut Validation, input: &str) -> String {
    match crate::links::types::parse_http_url(input) {
        Ok(url) => {
            if let Err(refused) =
                guard::check(&url, state.config.webhook_allow_private, &state.config.resolver).await
            {
                v.reject("url", format!("is not allowed: {refused}"));
            }
            url.to_string()
        }
        Err(message) => {
            v.reject("url", message);
            input.to_owned()
        }
    }
}

fn check_events(v: &mut Validation, events: &[EventType]) -> Vec<EventType> {
    v.check(!events.is_empty(), "events", "must list at least one event type");
    let mut out: Vec<EventType> = Vec::new();
    for e in events {
        if !out.contains(e) {
            out.push(*e);
        }
    }
    out
}

fn check_description(v: &mut Validation, description: Option<&str>) -> Option<String> {
    let d = description.map(str::trim).filter(|d| !d.is_empty())?;
    v.check(d.chars().count() <= 500, "description", "must be at most 500 characters");
    Some(d.to_owned())
}

async fn find(state: &AppState, organization_id: &str, id: &str) -> Result<store::EndpointRow, ApiError> {
    if Id::parse(IdKind::Webhook, id).is_none() {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    store::get(&state.db, organization_id, id).await?.ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// Create a webhook endpoint
///
/// Subscribes a URL to event types. The answer holds the signing secret (`whsec_…`), shown
/// this once. The URL must resolve to a public address (private, loopback and link-local
/// targets are refused with 422, unless the operator allows them).
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    operation_id = "webhook_create",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "The endpoint and its secret, shown once.", body = WebhookEndpointCreated,
        headers(("location" = String, description = "The endpoint's URL")))),
    extensions(("x-required-scope" = json!("webhooks:manage"))),
)]
pub async fn webhook_create(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, HeaderMap, Json<WebhookEndpointCreated>), ApiError> {
    create(&state, &principal.key().organization_id, &req, "/v1/webhooks", &audit).await
}

/// A new endpoint for the organisation, its `Location` under `collection`.
async fn create(
    state: &AppState,
    organization_id: &str,
    req: &CreateWebhookRequest,
    collection: &str,
    audit: &AuditContext,
) -> Result<(StatusCode, HeaderMap, Json<WebhookEndpointCreated>), ApiError> {
    let mut v = Validation::new();
    let url = check_url(state, &mut v, &req.url).await;
    let events = check_events(&mut v, &req.events);
    let description = check_description(&mut v, req.description.as_deref());
    v.finish()?;
    let secret = new_secret();
    let sealed = state.master_key.seal(secret.as_bytes());
    let id = Id::generate(IdKind::Webhook).into_string();
    let endpoint = store::insert(
        &state.db,
        store::NewEndpoint {
            id: &id,
            organization_id,
            url: &url,
            events: &events,
            description: description.as_deref(),
            sealed: &sealed,
            master_key_id: state.master_key.id(),
        },
        audit,
    )
    .await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("{collection}/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(WebhookEndpointCreated { secret, endpoint })))
}

/// List webhook endpoints
///
/// The organisation's webhook endpoints, newest first, with the events each receives and
/// whether it is enabled. Signing secrets are never listed.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "webhook_list",
    tag = "webhooks",
    params(ListWebhooksParams),
    responses((status = 200, description = "One page of endpoints.", body = ListEnvelope<WebhookEndpoint>)),
    extensions(("x-required-scope" = json!("webhooks:manage"))),
)]
pub async fn webhook_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<ListWebhooksParams>,
) -> Result<Json<ListEnvelope<WebhookEndpoint>>, ApiError> {
    list(&state, &principal.key().organization_id, &params).await.map(Json)
}

async fn list(
    state: &AppState,
    organization_id: &str,
    params: &ListWebhooksParams,
) -> Result<ListEnvelope<WebhookEndpoint>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (rows, total) = store::list(&state.db, organization_id, page).await?;
    Ok(ListEnvelope::new(rows.into_iter().map(store::EndpointRow::into_endpoint).collect(), total, page))
}

/// Get a webhook endpoint
///
/// One endpoint, by id: its URL, events, and whether it is enabled (with the reason when it
/// was disabled). The signing secret is shown only when the endpoint is created.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    operation_id = "webhook_get",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The endpoint.", body = WebhookEndpoint,
        headers(("etag" = String, description = "The endpoint's version")))),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    get(&state, &principal.key().organization_id, &id).await
}

async fn get(
    state: &AppState,
    organization_id: &str,
    id: &str,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    let endpoint = find(state, organization_id, id).await?.into_endpoint();
    Ok(tagged(endpoint.version, endpoint))
}

/// Update a webhook endpoint
///
/// Changes the URL (checked again by the SSRF guard), the event types, the description, or
/// enables/disables the endpoint. The secret never changes. Only the fields given change:
/// two changes of different fields made at once both stay. Send the `ETag` in `If-Match` to
/// change it only if nobody has since you read it (412 `version_mismatch` otherwise).
#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    operation_id = "webhook_update",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "The updated endpoint.", body = WebhookEndpoint,
        headers(("etag" = String, description = "The endpoint's new version")))),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_update(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(req): ApiJson<UpdateWebhookRequest>,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    update(&state, &principal.key().organization_id, &id, &if_match, &req, &audit).await
}

async fn update(
    state: &AppState,
    organization_id: &str,
    id: &str,
    if_match: &IfMatch,
    req: &UpdateWebhookRequest,
    audit: &AuditContext,
) -> Result<(HeaderMap, Json<WebhookEndpoint>), ApiError> {
    if Id::parse(IdKind::Webhook, id).is_none() {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    let mut v = Validation::new();
    let url = match &req.url {
        Some(url) => Some(check_url(state, &mut v, url).await),
        None => None,
    };
    let events = req.events.as_ref().map(|events| check_events(&mut v, events));
    let description = req.description.as_ref().map(|d| check_description(&mut v, d.as_deref()));
    v.finish()?;
    let patch = store::EndpointPatch {
        url: url.as_deref(),
        events: events.as_deref(),
        description: description.as_ref().map(Option::as_deref),
        enabled: req.enabled,
    };
    match store::update(&state.db, organization_id, id, &patch, if_match, audit).await? {
        None => Err(ApiError::not_found("webhook endpoint")),
        Some(store::EndpointUpdate::Done(row)) => Ok(tagged(row.version, row.into_endpoint())),
        Some(store::EndpointUpdate::Precondition(current)) => {
            Err(precondition_failed(if_match, current, "webhook endpoint"))
        }
    }
}

/// Delete a webhook endpoint
///
/// Removes the endpoint, its pending deliveries and its delivery log. With `If-Match`, only
/// if it is still at that version (412 `version_mismatch` otherwise).
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    operation_id = "webhook_delete",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    responses((status = 204, description = "Deleted.")),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_delete(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    delete(&state, &principal.key().organization_id, &id, &if_match, &audit).await
}

async fn delete(
    state: &AppState,
    organization_id: &str,
    id: &str,
    if_match: &IfMatch,
    audit: &AuditContext,
) -> Result<StatusCode, ApiError> {
    if Id::parse(IdKind::Webhook, id).is_none() {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    match store::delete(&state.db, organization_id, id, if_match, audit).await? {
        None => Err(ApiError::not_found("webhook endpoint")),
        Some(store::EndpointUpdate::Done(_)) => Ok(StatusCode::NO_CONTENT),
        Some(store::EndpointUpdate::Precondition(current)) => {
            Err(precondition_failed(if_match, current, "webhook endpoint"))
        }
    }
}

/// Send a test event
///
/// Queues a `ping` delivery to the endpoint (`{"type": "ping", …}`), signed like every other;
/// its attempts appear in the delivery log.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/test",
    operation_id = "webhook_test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 202, description = "The ping is queued.", body = PingQueued)),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_test(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    ping(&state, &principal.key().organization_id, &id).await
}

async fn ping(
    state: &AppState,
    organization_id: &str,
    id: &str,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    let endpoint = find(state, organization_id, id).await?;
    let queued = store::queue_ping(&state.db, &endpoint.id).await?;
    state.webhooks_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

/// The delivery log
///
/// Every delivery attempt to the endpoint, newest first: status code, latency, error and when
/// the next attempt is due.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    operation_id = "webhook_deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"), ListWebhooksParams),
    responses((status = 200, description = "One page of attempts.", body = ListEnvelope<DeliveryAttempt>)),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ListWebhooksParams>,
) -> Result<Json<ListEnvelope<DeliveryAttempt>>, ApiError> {
    deliveries(&state, &principal.key().organization_id, &id, &params).await.map(Json)
}

async fn deliveries(
    state: &AppState,
    organization_id: &str,
    id: &str,
    params: &ListWebhooksParams,
) -> Result<ListEnvelope<DeliveryAttempt>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let endpoint = find(state, organization_id, id).await?;
    let (attempts, total) = store::attempts(&state.db, &endpoint.id, page).await?;
    Ok(ListEnvelope::new(attempts, total, page))
}

/// One delivery
///
/// A delivery to the endpoint: the payload as sent, the headers the receiver got (the
/// signature recomputed with the endpoint's secret for each attempt's timestamp) and every
/// attempt.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries/{delivery_id}",
    operation_id = "webhook_delivery_get",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("delivery_id" = String, Path, description = "The delivery's id (`dlv_…`)", example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
    ),
    responses((status = 200, description = "The delivery.", body = Delivery)),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_delivery_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<Delivery>, ApiError> {
    delivery(&state, &principal.key().organization_id, &id, &delivery_id).await.map(Json)
}

/// Resend a delivery
///
/// Queues the delivery's event to the endpoint again, now: the same body and `webhook-id`
/// (receivers that deduplicate by it see a repeat), a new delivery with attempts of its own.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/deliveries/{delivery_id}/resend",
    operation_id = "webhook_delivery_resend",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`whk_…`)", example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("delivery_id" = String, Path, description = "The delivery's id (`dlv_…`)", example = "dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
    ),
    responses((status = 202, description = "The new delivery is queued.", body = PingQueued)),
    extensions(("x-required-scope" = json!("webhooks:manage")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn webhook_delivery_resend(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    resend(&state, &principal.key().organization_id, &id, &delivery_id).await
}

async fn find_delivery(
    state: &AppState,
    organization_id: &str,
    id: &str,
    delivery_id: &str,
) -> Result<(store::EndpointRow, store::DeliveryRow, Vec<store::SentRow>), ApiError> {
    let endpoint = find(state, organization_id, id).await?;
    if Id::parse(IdKind::Delivery, delivery_id).is_none() {
        return Err(ApiError::not_found("delivery"));
    }
    let (row, attempts) = store::delivery(&state.db, &endpoint.id, delivery_id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok((endpoint, row, attempts))
}

async fn delivery(
    state: &AppState,
    organization_id: &str,
    id: &str,
    delivery_id: &str,
) -> Result<Delivery, ApiError> {
    let (endpoint, row, sent) = find_delivery(state, organization_id, id, delivery_id).await?;
    let secret = state.master_key.unseal(&endpoint.secret_sealed);
    let attempts = sent
        .into_iter()
        .map(|a| {
            let mut headers = std::collections::BTreeMap::new();
            if let Some(timestamp) = a.webhook_timestamp {
                headers.insert("webhook-timestamp".to_owned(), timestamp.to_string());
                if let Some(signature) =
                    secret.as_ref().and_then(|s| send::sign(s.expose(), &row.event_id, timestamp, &row.body))
                {
                    headers.insert("webhook-signature".to_owned(), signature);
                }
            }
            SentAttempt {
                attempt: a.attempt,
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error,
                attempted_at: a.attempted_at,
                headers,
            }
        })
        .collect();
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("user-agent", send::USER_AGENT.to_owned()),
        ("webhook-id", row.event_id.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    Ok(Delivery {
        payload: serde_json::from_str(&row.body).unwrap_or(serde_json::Value::String(row.body.clone())),
        id: row.id,
        event_id: row.event_id,
        event_type: row.event_type,
        status: row.status,
        headers,
        next_attempt_at: row.next_attempt_at,
        attempts,
        created_at: row.created_at,
    })
}

async fn resend(
    state: &AppState,
    organization_id: &str,
    id: &str,
    delivery_id: &str,
) -> Result<(StatusCode, Json<PingQueued>), ApiError> {
    let (endpoint, row, _) = find_delivery(state, organization_id, id, delivery_id).await?;
    let queued = store::resend(&state.db, &endpoint.id, &row).await?;
    state.webhooks_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
