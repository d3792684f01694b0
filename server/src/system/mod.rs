//! The operator's and tool user's routes: liveness, readiness, metrics, the published
//! documents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The answer of the health checks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` when alive; `ready` when ready to serve.
    #[schema(example = "ok")]
    pub status: String,
    /// Readiness only, when Redis is configured (`--redis-url`): `ok` while limits, quotas
    /// and throttles are shared through it; `unavailable` while it does not answer — the
    /// server stays ready and each instance limits on its own until Redis returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ok")]
    pub redis: Option<String>,
}

/// Liveness
///
/// Answers 200 while the process is up and serving HTTP. It does not touch the database:
/// use `/readyz` for that.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health_check",
    tag = "system",
    responses((status = 200, description = "The server is alive.", body = HealthStatus)),
)]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok".to_owned(), redis: None })
}

/// Readiness
///
/// Answers 200 when the server can serve requests: the database answers a query. Otherwise
/// 503 `unavailable`, so a load balancer stops sending traffic here. With Redis configured,
/// `redis` says whether limits are shared right now; a Redis outage does not make the server
/// unready (requests are then limited per instance).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readiness_check",
    tag = "system",
    responses((status = 200, description = "The server and its database are ready.", body = HealthStatus)),
    extensions(("x-error-codes" = json!(["unavailable"]))),
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    match state.db.ping().await {
        Ok(()) => {
            let redis = state.redis.as_ref().map(|r| if r.is_up() { "ok" } else { "unavailable" }.to_owned());
            Ok(Json(HealthStatus { status: "ready".to_owned(), redis }))
        }
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed: database unreachable");
            Err(ApiError::new(ErrorCode::Unavailable, "The database is not answering."))
        }
    }
}

/// Metrics
///
/// Prometheus metrics in the OpenMetrics text format: HTTP requests by route template,
/// method and status (`portico_http_requests_total`), and their latency
/// (`portico_http_request_duration_seconds`).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics_get",
    tag = "system",
    responses((
        status = 200,
        description = "The metrics.",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body = String,
        example = "# TYPE http_requests counter\nhttp_requests_total{route=\"/v1/links\",status=\"200\"} 1520\n# EOF\n",
    )),
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut text = String::with_capacity(16 * 1024);
    prometheus_client::encoding::text::encode(&mut text, &state.metrics_registry)
        .map_err(ApiError::internal)?;
    let content_type = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// OpenAPI document
///
/// This API's OpenAPI 3.1 document: the same bytes as `spec/openapi.json` in the repository.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_get",
    tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = json!({"openapi": "3.1.0", "info": {"title": "Portico API", "version": "0.1.0"}, "paths": {}}))),
)]
pub async fn openapi_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/openapi.json", &headers)
}

/// OpenAPI document (versioned path)
///
/// The same document as `/openapi.json`, at the path some tools expect.
#[utoipa::path(
    get,
    path = "/api/v1/openapi",
    operation_id = "openapi_get_v1",
    tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = json!({"openapi": "3.1.0", "info": {"title": "Portico API", "version": "0.1.0"}, "paths": {}}))),
)]
pub async fn openapi_v1(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/openapi.json", &headers)
}

/// A published document: the bytes rendered at start-up, gzip-compressed when the client
/// accepts it, with an `ETag` for `If-None-Match`.
fn published(state: &AppState, path: &str, headers: &HeaderMap) -> Response {
    match state.documents.get(path) {
        Some(document) => document.respond(headers),
        None => {
            ApiError::new(ErrorCode::NotFound, "No such document: /llms.txt lists them all.").into_response()
        }
    }
}

/// llms.txt
///
/// The API for LLM tools, in the llmstxt.org format: a summary, then every operation as a
/// link with one line. The same bytes as `spec/llms.txt`.
#[utoipa::path(
    get,
    path = "/llms.txt",
    operation_id = "llms_txt_get",
    tag = "system",
    responses((status = 200, description = "llms.txt.", content_type = "text/plain; charset=utf-8", body = String, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = "# Portico\n\n> The Portico API: short links on custom domains…\n")),
)]
pub async fn llms_txt(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/llms.txt", &headers)
}

/// llms-full.txt
///
/// Every operation in full — parameters, request and response schemas, error codes, a curl
/// example — and every schema, readable with no other context. The same bytes as
/// `spec/llms-full.txt`.
#[utoipa::path(
    get,
    path = "/llms-full.txt",
    operation_id = "llms_full_txt_get",
    tag = "system",
    responses((status = 200, description = "llms-full.txt.", content_type = "text/plain; charset=utf-8", body = String, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = "# Portico\n\n> The Portico API: short links on custom domains…\n\n## GET /v1/links — List links\n")),
)]
pub async fn llms_full_txt(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/llms-full.txt", &headers)
}

/// Postman collection
///
/// The whole API as a Postman collection (v2.1): one folder per tag, example bodies, and test
/// scripts. Run it with your own `apiKey` (and `sessionToken`): each folder makes what it acts
/// on and deletes it, so it is safe on a real account; `demo=true` signs up a throwaway
/// organisation first. The same bytes as `spec/postman_collection.json`.
#[utoipa::path(
    get,
    path = "/postman.json",
    operation_id = "postman_get",
    tag = "system",
    responses((status = 200, description = "The Postman collection.", body = Object, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = json!({"info": {"name": "Portico API", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": []}))),
)]
pub async fn postman_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/postman.json", &headers)
}

/// Postman collection (versioned path)
///
/// The same collection as `/postman.json`.
#[utoipa::path(
    get,
    path = "/api/v1/postman",
    operation_id = "postman_get_v1",
    tag = "system",
    responses((status = 200, description = "The Postman collection.", body = Object, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = json!({"info": {"name": "Portico API", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": []}))),
)]
pub async fn postman_v1(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/postman.json", &headers)
}

/// llm.txt
///
/// The same document as `/llms.txt`, at the name some tools and integrators use.
#[utoipa::path(
    get,
    path = "/llm.txt",
    operation_id = "llm_txt_get",
    tag = "system",
    responses((status = 200, description = "llms.txt.", content_type = "text/plain; charset=utf-8", body = String, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = "# Portico\n\n> The Portico API: short links on custom domains…\n")),
)]
pub async fn llm_txt(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/llms.txt", &headers)
}

/// OpenAPI document with code samples
///
/// The OpenAPI document with samples in curl, JavaScript, Python and Rust on every operation
/// (`x-codeSamples`, which Redoc and Scalar show). `/openapi.json` is the same contract
/// without them. The same bytes as `spec/openapi.samples.json`.
#[utoipa::path(
    get,
    path = "/openapi.samples.json",
    operation_id = "openapi_samples_get",
    tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document, with code samples.", body = Object, headers(("etag" = String, description = "The document's version; gzip-compressed bytes have a tag of their own")), example = json!({"openapi": "3.1.0", "info": {"title": "Portico API", "version": "0.1.0"}, "paths": {}}))),
)]
pub async fn openapi_samples(State(state): State<AppState>, headers: HeaderMap) -> Response {
    published(&state, "/openapi.samples.json", &headers)
}

/// An operation's page
///
/// One operation in markdown — parameters, body, answers, error codes, samples in curl,
/// JavaScript, Python and Rust, and the schemas it uses — generated from the spec. `llms.txt`
/// links every operation to its page.
#[utoipa::path(
    get,
    path = "/docs/md/{page}",
    operation_id = "operation_page_get",
    tag = "system",
    params(("page" = String, Path, description = "The operation's id, with `.md`", example = "link_create.md")),
    responses((status = 200, description = "The page.", content_type = "text/markdown; charset=utf-8", body = String, headers(("etag" = String, description = "The page's version; gzip-compressed bytes have a tag of their own")), example = "# POST /v1/links — Create a link\n\nOperation id: `link_create`. Tag: `links`.\n")),
    extensions(("x-error-codes" = json!(["not_found"]))),
)]
pub async fn operation_page(
    State(state): State<AppState>,
    Path(page): Path<String>,
    headers: HeaderMap,
) -> Response {
    published(&state, &format!("/docs/md/{page}"), &headers)
}

/// A guide
///
/// One of the guides (getting started, integrating, keys, links, webhooks, errors, usage
/// and limits…) in markdown, as in `docs/` in the repository. `llms.txt` lists them all.
#[utoipa::path(
    get,
    path = "/docs/guides/{page}",
    operation_id = "guide_get",
    tag = "system",
    params(("page" = String, Path, description = "The guide's name, with `.md`", example = "webhooks.md")),
    responses((status = 200, description = "The guide.", content_type = "text/markdown; charset=utf-8", body = String, headers(("etag" = String, description = "The guide's version; gzip-compressed bytes have a tag of their own")), example = "# Webhooks\n\nSubscribe a URL to events and Portico POSTs each one to it…\n")),
    extensions(("x-error-codes" = json!(["not_found"]))),
)]
pub async fn guide(State(state): State<AppState>, Path(page): Path<String>, headers: HeaderMap) -> Response {
    published(&state, &format!("/docs/guides/{page}"), &headers)
}
