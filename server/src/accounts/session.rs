//! The dashboard session extractor: `Authorization: Bearer pts_…` → the signed-in user.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::{ApiError, ErrorCode};
use crate::secret::{Secret, sha256};
use crate::state::AppState;

use super::store;
use super::types::Role;

/// The prefix of session tokens.
pub const TOKEN_PREFIX: &str = "pts";

/// A signed-in dashboard user. Extracting it answers 401 `missing_credentials` without a
/// token and 401 `invalid_session` for an unknown, expired or ended one.
#[derive(Debug, Clone)]
pub struct DashboardSession {
    pub session_id: String,
    pub user_id: String,
    pub organization_id: String,
    pub role: Role,
}

impl DashboardSession {
    /// The session a request's `Authorization: Bearer pts_…` names, with the member's role in
    /// the session's organisation. 401 `missing_credentials` without a token and 401
    /// `invalid_session` for an unknown, expired or ended one — or one whose user is no longer
    /// a member of the organisation.
    pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        if !token.expose().starts_with("pts_") {
            let detail = if token.expose().starts_with("ptk_") {
                "Dashboard routes take a session token (pts_…) from /api/developer/login; API keys (ptk_…) are for /v1 routes."
            } else {
                "The session token is not valid; sign in again."
            };
            return Err(ApiError::unauthorized(ErrorCode::InvalidSession, detail));
        }
        let row = store::find_live_session(&state.db, &sha256(token.expose())).await?.ok_or_else(|| {
            ApiError::unauthorized(
                ErrorCode::InvalidSession,
                "The session has expired or ended; sign in again.",
            )
        })?;
        let role = Role::parse(&row.role)
            .ok_or_else(|| ApiError::internal(format!("unknown role {:?} in memberships", row.role)))?;
        Ok(Self {
            session_id: row.session_id,
            user_id: row.user_id,
            organization_id: row.organization_id,
            role,
        })
    }
}

/// The session the dashboard's layer ([`super::roles::guard`]) authenticated and checked.
impl FromRequestParts<AppState> for DashboardSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<DashboardSession>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a dashboard handler ran without the dashboard's layer"))
    }
}

/// The bearer token of a request, as a secret.
fn bearer_token(parts: &Parts) -> Result<Secret<String>, ApiError> {
    let Some(value) = crate::http::single_header(&parts.headers, &header::AUTHORIZATION)? else {
        return Err(ApiError::unauthorized(
            ErrorCode::MissingCredentials,
            "This route needs a dashboard session: send `Authorization: Bearer pts_…`.",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                ErrorCode::InvalidSession,
                "The Authorization header must be `Bearer pts_…`.",
            )
        })?;
    Ok(Secret::new(token.to_owned()))
}
