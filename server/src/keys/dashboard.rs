//! The dashboard's key routes (`/api/developer/apikeys*`): the only place keys are minted.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::TimeDelta;

use super::manage::{self, with_etag};
use super::material;
use super::scope::check_role_may_hold;
use super::store::{self, KeyChanges, NewKey, NewSecret};
use super::types::*;
use crate::accounts::DashboardSession;
use crate::audit::AuditContext;
use crate::error::{ApiError, Validation};
use crate::http::conditional::{IfMatch, changed_meanwhile, etag};
use crate::http::{ApiJson, ApiQuery, ListEnvelope};
use crate::ids::{Id, IdKind};
use crate::state::AppState;

/// Create an API key
///
/// Mints a key for the signed-in user's organisation. The answer holds the key itself
/// (`key`, `ptk_…`) — the only time it is ever shown — and its metadata. A key never grants
/// more than its creator's role may do: `audit:read` and `full_access` (which includes it)
/// need an admin or owner (403 `insufficient_role`).
#[utoipa::path(
    post,
    path = "/api/developer/apikeys",
    operation_id = "apikey_create",
    tag = "apikeys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "The key, shown once, and its metadata.", body = ApiKeyCreated,
        headers(("location" = String, description = "The key's URL"), ("etag" = String, description = "The key's version")))),
    extensions(("x-required-role" = json!("developer"))),
)]
pub async fn apikey_create(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, HeaderMap, Json<ApiKeyCreated>), ApiError> {
    let at = state.db.now();
    let mut v = Validation::new();
    let name = check_name(&mut v, &req.name);
    let tags = crate::links::check_tags(&mut v, &req.tags);
    v.check(!req.scopes.is_empty(), "scopes", "must list at least one scope");
    let mut scopes = req.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let domains = check_domains(&mut v, &req.domains);
    let allowed_ips = check_allowed_ips(&mut v, &req.allowed_ips);
    check_expires_at(&mut v, req.expires_at, at);
    if let Some(days) = req.expires_in_days {
        v.check((1..=3650).contains(&days), "expires_in_days", "must be between 1 and 3650");
        v.check(req.expires_at.is_none(), "expires_in_days", "give expires_at or expires_in_days, not both");
    }
    check_rate_limit(&mut v, req.rate_limit_rpm);
    v.finish()?;
    check_role_may_hold(session.role, &scopes, "create")?;
    let expires_at = req.expires_at.or_else(|| req.expires_in_days.map(|d| at + TimeDelta::days(d)));

    let id = Id::generate(IdKind::ApiKey).into_string();
    let key = material::generate();
    let sealed = state.master_key.seal(key.secret().expose().as_bytes());
    let api_key = store::insert_key(
        &state.db,
        NewKey {
            id: &id,
            organization_id: &session.organization_id,
            name: &name,
            scopes: &scopes,
            domains: &domains,
            allowed_ips: &allowed_ips,
            expires_at,
            rate_limit_rpm: req.rate_limit_rpm,
            tags: &tags,
            created_by: &session.user_id,
            secret: NewSecret {
                hash: key.hash(),
                prefix: key.display_prefix(),
                sealed: &sealed,
                master_key_id: state.master_key.id(),
            },
        },
        &audit,
    )
    .await?;
    tracing::info!(key_id = %id, prefix = %api_key.prefix, "API key created");
    let headers = created_headers(&api_key);
    Ok((StatusCode::CREATED, headers, Json(ApiKeyCreated { key: key.secret().expose().clone(), api_key })))
}

fn created_headers(key: &ApiKey) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(key.version));
    if let Ok(location) = HeaderValue::from_str(&format!("/api/developer/apikeys/{}", key.id)) {
        headers.insert(header::LOCATION, location);
    }
    headers
}

/// List API keys
///
/// The organisation's keys, newest first: active ones, or all with `include_inactive=true`.
/// Metadata only; keys themselves are never shown again.
#[utoipa::path(
    get,
    path = "/api/developer/apikeys",
    operation_id = "apikey_list",
    tag = "apikeys",
    params(ListApiKeysParams),
    responses((status = 200, description = "One page of keys.", body = ListEnvelope<ApiKey>)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn apikey_list(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<ListApiKeysParams>,
) -> Result<Json<ListEnvelope<ApiKey>>, ApiError> {
    Ok(Json(manage::list(&state, &session.organization_id, &params).await?))
}

/// Get an API key
///
/// One key's metadata. The `ETag` header carries its version, for `If-Match` on updates.
#[utoipa::path(
    get,
    path = "/api/developer/apikeys/{id}",
    operation_id = "apikey_get",
    tag = "apikeys",
    params(("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The key's metadata.", body = ApiKey,
        headers(("etag" = String, description = "The key's version")))),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn apikey_get(
    State(state): State<AppState>,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Result<(HeaderMap, Json<ApiKey>), ApiError> {
    Ok(with_etag(manage::get(&state, &session.organization_id, &id).await?))
}

/// Update an API key
///
/// Changes a key's name, domain scope, IP allowlist, expiry, rate limit or blocked state —
/// not its scopes and not the key itself. Absent fields stay as they are. Send the `ETag` in
/// `If-Match` to be sure nobody changed the key since you read it (412 `version_mismatch`
/// otherwise). Takes effect on the next request made with the key.
#[utoipa::path(
    patch,
    path = "/api/developer/apikeys/{id}",
    operation_id = "apikey_update",
    tag = "apikeys",
    params(
        ("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    request_body = UpdateApiKeyRequest,
    responses((status = 200, description = "The updated key.", body = ApiKey,
        headers(("etag" = String, description = "The key's new version")))),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found", "conflict", "version_mismatch"]))),
)]
pub async fn apikey_update(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(req): ApiJson<UpdateApiKeyRequest>,
) -> Result<(HeaderMap, Json<ApiKey>), ApiError> {
    let org = &session.organization_id;
    let current = manage::find(&state, org, &id).await?;
    let mut v = Validation::new();
    let changes = KeyChanges {
        name: req.name.as_deref().map_or_else(|| current.name.clone(), |n| check_name(&mut v, n)),
        domains: req.domains.as_deref().map_or_else(|| current.domains(), |d| check_domains(&mut v, d)),
        allowed_ips: req
            .allowed_ips
            .as_deref()
            .map_or_else(|| current.allowed_ips(), |ips| check_allowed_ips(&mut v, ips)),
        expires_at: req.expires_at.unwrap_or(current.expires_at),
        rate_limit_rpm: req.rate_limit_rpm.unwrap_or(current.rate_limit_rpm),
        blocked: req.blocked.unwrap_or(current.blocked),
        blocked_reason: req.blocked_reason.clone().unwrap_or_else(|| current.blocked_reason.clone()),
        tags: req.tags.as_deref().map_or_else(|| current.tags(), |t| crate::links::check_tags(&mut v, t)),
    };
    if let Some(new_expiry) = req.expires_at {
        check_expires_at(&mut v, new_expiry, state.db.now());
    }
    check_rate_limit(&mut v, changes.rate_limit_rpm);
    if let Some(Some(reason)) = &req.blocked_reason {
        v.check(reason.chars().count() <= 500, "blocked_reason", "must be at most 500 characters");
    }
    // The body is judged first (422), then the state it would apply to (412, 409).
    v.finish()?;
    if_match.check(current.version)?;
    if current.revoked_at.is_some() {
        return Err(ApiError::conflict("The key is revoked; revoked keys cannot be changed."));
    }
    let changes = KeyChanges {
        // Unblocking clears the reason unless a new one is given.
        blocked_reason: if changes.blocked { changes.blocked_reason } else { None },
        ..changes
    };
    let Some(row) = store::update_key(&state.db, &current, &changes, &audit).await? else {
        return Err(changed_meanwhile("key"));
    };
    state.invalidations.changed(&[crate::cluster::Change::Key(id.clone())]).await;
    Ok(with_etag(row.into_api_key(state.db.now())))
}

/// Revoke an API key
///
/// The key stops working on its very next request (401 `key_revoked`). Revoking a revoked
/// key succeeds and changes nothing. With `If-Match`, only if the key is still at that
/// version (412 `version_mismatch` otherwise).
#[utoipa::path(
    delete,
    path = "/api/developer/apikeys/{id}",
    operation_id = "apikey_revoke",
    tag = "apikeys",
    params(
        ("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    responses((status = 204, description = "Revoked.")),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn apikey_revoke(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    manage::revoke(&state, &session.organization_id, &id, &if_match, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an API key
///
/// Issues a new secret for the same key (same id, same settings) and answers it, once. The
/// old secret keeps working for `grace_period_seconds` (0: it stops at once), so you can
/// deploy the new one without downtime; after that it is refused with `key_expired`. The new
/// secret carries the key's scopes: rotating a key with `audit:read` or `full_access` needs
/// an admin or owner, as creating one does (403 `insufficient_role`).
#[utoipa::path(
    post,
    path = "/api/developer/apikeys/{id}/rotate",
    operation_id = "apikey_rotate",
    tag = "apikeys",
    params(
        ("id" = String, Path, description = "The key's id (`key_…`)", example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    request_body = RotateApiKeyRequest,
    responses((status = 201, description = "The new secret, shown once, and the key's metadata.", body = ApiKeyCreated,
        headers(("etag" = String, description = "The key's new version")))),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn apikey_rotate(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(req): ApiJson<RotateApiKeyRequest>,
) -> Result<(StatusCode, HeaderMap, Json<ApiKeyCreated>), ApiError> {
    let org = &session.organization_id;
    let current = manage::find(&state, org, &id).await?;
    let mut v = Validation::new();
    v.check(
        (0..=MAX_GRACE_PERIOD_SECONDS).contains(&req.grace_period_seconds),
        "grace_period_seconds",
        "must be between 0 and 2592000 (30 days)",
    );
    v.finish()?;
    if_match.check(current.version)?;
    // A new secret is the key's power handed over: the same rule as creating it.
    check_role_may_hold(session.role, &current.scopes(), "rotate")?;
    let at = state.db.now();
    if current.status(at) != KeyStatus::Active {
        return Err(ApiError::conflict("Only active keys can be rotated; this one is revoked or expired."));
    }
    let key = material::generate();
    let sealed = state.master_key.seal(key.secret().expose().as_bytes());
    let old_expires_at = at + TimeDelta::seconds(req.grace_period_seconds);
    let row = store::rotate_key(
        &state.db,
        &current,
        NewSecret {
            hash: key.hash(),
            prefix: key.display_prefix(),
            sealed: &sealed,
            master_key_id: state.master_key.id(),
        },
        old_expires_at,
        &audit,
    )
    .await?
    .ok_or_else(|| changed_meanwhile("key"))?;
    state.invalidations.changed(&[crate::cluster::Change::Key(id.clone())]).await;
    tracing::info!(key_id = %id, grace_period_seconds = req.grace_period_seconds, "API key rotated");
    let api_key = row.into_api_key(state.db.now());
    let mut headers = created_headers(&api_key);
    headers.remove(header::LOCATION);
    Ok((StatusCode::CREATED, headers, Json(ApiKeyCreated { key: key.secret().expose().clone(), api_key })))
}
