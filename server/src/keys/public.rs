//! The `/v1` key routes: a key can see itself, and — with `keys:read` / `keys:write` — list
//! and revoke its organisation's keys. It can never mint one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::manage::{self, with_etag};
use super::types::{ApiKey, ListApiKeysParams};
use crate::error::{ApiError, ErrorCode};
use crate::http::{ApiQuery, ListEnvelope};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

/// The calling key
///
/// Introspection: the metadata of the key that authenticates this request — its scopes,
/// domain scope, IP allowlist, expiry and rate limit. Any valid key may call it.
#[utoipa::path(
    get,
    path = "/v1/key",
    operation_id = "key_introspect",
    tag = "apikeys",
    responses((status = 200, description = "The calling key's metadata.", body = ApiKey)),
    extensions(("x-required-scope" = json!("any"))),
)]
pub async fn key_introspect(
    State(state): State<AppState>,
    principal: ApiPrincipal,
) -> Result<(HeaderMap, Json<ApiKey>), ApiError> {
    // The pipeline verified this key moments ago: its row is at hand, no read needed.
    Ok(with_etag(principal.key().row.clone().into_api_key(state.db.now())))
}

/// List the organisation's API keys
///
/// The keys of the calling key's organisation, newest first; `include_inactive=true` adds
/// revoked and expired ones. Metadata only.
#[utoipa::path(
    get,
    path = "/v1/apikeys",
    operation_id = "v1_apikey_list",
    tag = "apikeys",
    params(ListApiKeysParams),
    responses((status = 200, description = "One page of keys.", body = ListEnvelope<ApiKey>)),
    extensions(("x-required-scope" = json!("keys:read"))),
)]
pub async fn v1_apikey_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<ListApiKeysParams>,
) -> Result<Json<ListEnvelope<ApiKey>>, ApiError> {
    Ok(Json(manage::list(&state, &principal.key().organization_id, &params).await?))
}

/// Get an API key
///
/// One key of the calling key's organisation.
#[utoipa::path(
    get,
    path = "/v1/apikeys/{id}",
    operation_id = "v1_apikey_get",
    tag = "apikeys",
    params(("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The key's metadata.", body = ApiKey,
        headers(("etag" = String, description = "The key's version")))),
    extensions(("x-required-scope" = json!("keys:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn v1_apikey_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<(HeaderMap, Json<ApiKey>), ApiError> {
    Ok(with_etag(manage::get(&state, &principal.key().organization_id, &id).await?))
}

/// Revoke an API key
///
/// Revokes a key of the calling key's organisation — possibly itself. It stops working on its
/// next request. With `If-Match`, only if the key is still at that version (412
/// `version_mismatch` otherwise).
#[utoipa::path(
    delete,
    path = "/v1/apikeys/{id}",
    operation_id = "v1_apikey_revoke",
    tag = "apikeys",
    params(
        ("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    responses((status = 204, description = "Revoked.")),
    extensions(("x-required-scope" = json!("keys:write")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn v1_apikey_revoke(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: crate::audit::AuditContext,
    Path(id): Path<String>,
    if_match: crate::http::conditional::IfMatch,
) -> Result<StatusCode, ApiError> {
    manage::revoke(&state, &principal.key().organization_id, &id, &if_match, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API key (not with a key)
///
/// Always refused for API key callers with 403 `api_key_forbidden`: keys are minted only in
/// the dashboard (`POST /api/developer/apikeys`, with a session), so a leaked key can never
/// mint more.
#[utoipa::path(
    post,
    path = "/v1/apikeys",
    operation_id = "v1_apikey_create",
    tag = "apikeys",
    responses((status = 403, description = "Always: `api_key_forbidden`.", body = crate::error::Problem, content_type = "application/problem+json")),
    extensions(("x-required-scope" = json!("any")), ("x-error-codes" = json!(["api_key_forbidden"]))),
)]
pub async fn v1_apikey_create(_principal: ApiPrincipal) -> ApiError {
    ApiError::new(
        ErrorCode::ApiKeyForbidden,
        "API keys cannot create API keys: create them in the dashboard (POST /api/developer/apikeys).",
    )
}
