//! The account routes: sign up, sign in, sign out, who am I.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::error::{ApiError, ErrorCode, Validation};
use crate::http::{ApiJson, ClientIp};
use crate::secret::{generate_token, sha256};
use crate::state::AppState;

use super::session::{DashboardSession, TOKEN_PREFIX};
use super::store::{self, NewAccount};
use super::types::{LoginRequest, Me, SessionCreated, SignupRequest};

/// Sign up
///
/// Creates a user and an organisation they own, and signs them in: the answer carries a
/// session token (`pts_…`) for the dashboard routes. The password must be at least 10
/// characters; the email must not be in use (409 `conflict`). Sign-ups are throttled per
/// client network (429 `rate_limited` with `retry-after`); when the server is already hashing
/// as many passwords as it can, 503 `unavailable` with `retry-after`.
#[utoipa::path(
    post,
    path = "/api/developer/signup",
    operation_id = "account_signup",
    tag = "account",
    request_body = SignupRequest,
    responses((status = 201, description = "Signed up and signed in.", body = SessionCreated)),
    extensions(("x-error-codes" = json!(["conflict", "rate_limited", "unavailable"]))),
)]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let email = normalize_email(&req.email);
    let organization_name = req.organization_name.trim();
    let mut v = Validation::new();
    if let Err(message) = check_email(&email) {
        v.reject("email", message);
    }
    let password_chars = req.password.expose().chars().count();
    v.check(password_chars >= 10, "password", "must be at least 10 characters");
    v.check(password_chars <= 1024, "password", "must be at most 1024 characters");
    v.check(!organization_name.is_empty(), "organization_name", "must not be empty");
    v.check(organization_name.chars().count() <= 100, "organization_name", "must be at most 100 characters");
    v.finish()?;

    state.login_throttle.check(ip, None).await?;
    let password_hash = state.hashers.hash(&req.password).await?;
    let token = generate_token(TOKEN_PREFIX);
    let expires_at = state.db.now() + state.config.session_ttl;
    let (user, organization) = store::create_account(
        &state.db,
        NewAccount {
            email: &email,
            password_hash: &password_hash,
            organization_name,
            session_token_hash: &sha256(token.expose()),
            session_expires_at: expires_at,
        },
    )
    .await?;
    state.login_throttle.remember(ip, &email).await;
    tracing::info!(user_id = %user.id, organization_id = %organization.id, "signed up");
    let body = SessionCreated { token: token.expose().clone(), expires_at, user, organization };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Sign in
///
/// Exchanges an email and password for a session token (`pts_…`). A wrong password and an
/// unknown email get the same answer, 401 `invalid_credentials`. Attempts are throttled per
/// client network (an IPv4 address or an IPv6 /64), per account and network, and per account
/// from networks it has not signed in from before (429 `rate_limited` with `retry-after`), so
/// a stranger cannot lock an owner out. When the server is already hashing as many passwords
/// as it can, 503 `unavailable` with `retry-after`.
#[utoipa::path(
    post,
    path = "/api/developer/login",
    operation_id = "session_create",
    tag = "account",
    request_body = LoginRequest,
    responses((status = 200, description = "Signed in.", body = SessionCreated)),
    extensions(("x-error-codes" = json!(["invalid_credentials", "rate_limited", "unavailable"]))),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<SessionCreated>, ApiError> {
    let email = normalize_email(&req.email);
    state.login_throttle.check(ip, Some(&email)).await?;

    let found = store::find_credentials(&state.db, &email).await?;
    let stored_hash = found.as_ref().map(|c| c.password_hash.clone());
    let valid = state.hashers.verify(&req.password, stored_hash).await?;
    let Some(credentials) = found.filter(|_| valid) else {
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "The email or password is wrong."));
    };

    let token = generate_token(TOKEN_PREFIX);
    let expires_at = state.db.now() + state.config.session_ttl;
    store::create_session(
        &state.db,
        &sha256(token.expose()),
        &credentials.user_id,
        &credentials.organization_id,
        expires_at,
    )
    .await?;
    state.login_throttle.remember(ip, &email).await;
    tracing::info!(user_id = %credentials.user_id, "signed in");
    Ok(Json(SessionCreated {
        token: token.expose().clone(),
        expires_at,
        user: credentials.user(),
        organization: credentials.organization(),
    }))
}

/// Sign out
///
/// Ends the session whose token authenticates the request; the token stops working at once.
#[utoipa::path(
    post,
    path = "/api/developer/logout",
    operation_id = "session_delete",
    tag = "account",
    responses((status = 204, description = "Signed out.")),
)]
pub async fn logout(
    State(state): State<AppState>,
    session: DashboardSession,
) -> Result<StatusCode, ApiError> {
    store::revoke_session(&state.db, &session.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I
///
/// The signed-in user, their organisation and their role in it.
#[utoipa::path(
    get,
    path = "/api/developer/me",
    operation_id = "account_get",
    tag = "account",
    responses((status = 200, description = "The signed-in user.", body = Me)),
)]
pub async fn me(State(state): State<AppState>, session: DashboardSession) -> Result<Json<Me>, ApiError> {
    let user = store::find_user(&state.db, &session.user_id).await?;
    let organization = store::find_organization(&state.db, &session.organization_id).await?;
    match (user, organization) {
        (Some(user), Some(organization)) => Ok(Json(Me { user, organization, role: session.role })),
        // The session row references both, with cascading deletes: this cannot happen unless
        // the database was edited by hand.
        _ => Err(ApiError::internal("session references a missing user or organisation")),
    }
}

/// Emails compare case-insensitively: stored and looked up trimmed and lower-cased.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A deliberately simple email check: one `@`, something before it, a dotted domain after
/// it, no spaces, at most 254 characters. Real proof of an address is a confirmation mail.
fn check_email(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("must not be empty");
    }
    if email.len() > 254 {
        return Err("must be at most 254 characters");
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid { Ok(()) } else { Err("must be an email address") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
        assert!(check_email("ada@example.com").is_ok());
        for bad in
            ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@b@c.d", "ada@.com"]
        {
            assert!(check_email(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
