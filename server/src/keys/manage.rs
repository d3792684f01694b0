//! What the dashboard and the `/v1` key routes share: reading, listing and revoking an
//! organisation's keys.

use axum::Json;
use axum::http::{HeaderMap, header};

use super::store;
use super::types::{ApiKey, ListApiKeysParams};
use crate::error::ApiError;
use crate::http::conditional::{IfMatch, etag, precondition_failed};
use crate::http::{ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::state::AppState;

/// The organisation's key `id`, or 404 (also for ids that cannot be key ids).
pub async fn find(state: &AppState, organization_id: &str, id: &str) -> Result<store::KeyRow, ApiError> {
    if Id::parse(IdKind::ApiKey, id).is_none() {
        return Err(ApiError::not_found("API key"));
    }
    store::get_key(&state.db, organization_id, id).await?.ok_or_else(|| ApiError::not_found("API key"))
}

/// A key with its `ETag`.
pub fn with_etag(key: ApiKey) -> (HeaderMap, Json<ApiKey>) {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(key.version));
    (headers, Json(key))
}

pub async fn list(
    state: &AppState,
    organization_id: &str,
    params: &ListApiKeysParams,
) -> Result<ListEnvelope<ApiKey>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let include_inactive = params.include_inactive.unwrap_or(false);
    if let Some(tag) = &params.tag {
        let mut v = crate::error::Validation::new();
        v.check((1..=50).contains(&tag.chars().count()), "tag", "must be 1–50 characters");
        v.finish()?;
    }
    let (rows, total) =
        store::list_keys(&state.db, organization_id, include_inactive, params.tag.as_deref(), page).await?;
    let at = state.db.now();
    Ok(ListEnvelope::new(rows.into_iter().map(|r| r.into_api_key(at)).collect(), total, page))
}

pub async fn get(state: &AppState, organization_id: &str, id: &str) -> Result<ApiKey, ApiError> {
    Ok(find(state, organization_id, id).await?.into_api_key(state.db.now()))
}

/// Revokes the key; every instance refuses it on the next request (this one at once, others
/// within the verification cache's lifetime).
pub async fn revoke(
    state: &AppState,
    organization_id: &str,
    id: &str,
    if_match: &IfMatch,
    audit: &crate::audit::AuditContext,
) -> Result<(), ApiError> {
    if Id::parse(IdKind::ApiKey, id).is_none() {
        return Err(ApiError::not_found("API key"));
    }
    // With `If-Match`, only the version named is revoked (a revoked key's version too: a
    // stale one is 412, not a silent success).
    let expected = match &if_match.0 {
        None => None,
        Some(_) => {
            let current = find(state, organization_id, id).await?;
            if_match.check(current.version)?;
            Some(current.version)
        }
    };
    match store::revoke_key(&state.db, organization_id, id, expected, audit).await? {
        store::Revoked::Now => {}
        store::Revoked::Already => return Ok(()),
        store::Revoked::NotFound => return Err(ApiError::not_found("API key")),
        store::Revoked::VersionMoved(current) => return Err(precondition_failed(if_match, current, "key")),
    }
    state.events_committed();
    state.invalidations.changed(&[crate::cluster::Change::Key(id.to_owned())]).await;
    tracing::info!(key_id = %id, "API key revoked");
    Ok(())
}
