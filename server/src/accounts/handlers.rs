//! The account routes: sign up, sign in, sign out, who am I.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::error::{ApiError, ErrorCode, Validation};
use crate::http::{ApiJson, ClientIp};
use crate::secret::{generate_token, sha256};
use crate::state::AppState;

use super::session::{DashboardSession, TOKEN_PREFIX};
use super::store::{self, Joining, NewAccount};
use super::types::{LoginRequest, Me, Membership, SessionCreated, SignupRequest, SwitchOrganizationRequest};
use crate::audit::{AuditContext, RequestOrigin};

/// Sign up
///
/// Creates a user and an organisation they own, and signs them in: the answer carries a
/// session token (`pts_…`) for the dashboard routes. With `invitation_token` the user joins
/// the organisation that invited them, with the invited role, instead (the email must be the
/// one invited, 409 `conflict`; a used, revoked or expired invitation is 404 `not_found`).
/// If the invited email has an account already, sign-up is 409 `conflict`: sign in with
/// `invitation_token` instead (or accept once signed in); sign-up never checks a password.
/// The password must be at least 10 characters; the email must not be in use (409
/// `conflict`). Sign-ups are throttled per client network (429 `rate_limited` with
/// `retry-after`); when the server is already hashing as many passwords as it can, 503
/// `unavailable` with `retry-after`.
#[utoipa::path(
    post,
    path = "/api/developer/signup",
    operation_id = "account_signup",
    tag = "account",
    request_body = SignupRequest,
    responses((status = 201, description = "Signed up and signed in.", body = SessionCreated)),
    extensions(("x-error-codes" = json!(["conflict", "not_found", "rate_limited", "unavailable"]))),
)]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    origin: RequestOrigin,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let email = normalize_email(&req.email);
    let mut v = Validation::new();
    if let Err(message) = check_email(&email) {
        v.reject("email", message);
    }
    let password_chars = req.password.expose().chars().count();
    v.check(password_chars >= 10, "password", "must be at least 10 characters");
    v.check(password_chars <= 1024, "password", "must be at most 1024 characters");
    let organization_name = match (&req.organization_name, &req.invitation_token) {
        (None, None) => {
            v.reject("organization_name", "is required unless `invitation_token` is given");
            String::new()
        }
        (Some(name), None) => v.name("organization_name", name),
        // Joining an organisation: the name is not used.
        (_, Some(_)) => String::new(),
    };
    v.finish()?;

    state.login_throttle.check(ip, None).await?;
    let pending = match &req.invitation_token {
        Some(token) => Some(crate::organizations::pending_invitation(&state, token, &email).await?),
        None => None,
    };
    // An invited email that has an account already signs in to accept (sign-in with
    // `invitation_token`, or `POST /api/developer/invitations/accept` once signed in): this
    // route never checks a password, so it cannot be used to guess one.
    if pending.is_some() && store::find_password(&state.db, &email).await?.is_some() {
        return Err(ApiError::conflict(
            "An account with this email already exists: sign in with it to accept the invitation.",
        ));
    }
    let token = generate_token(TOKEN_PREFIX);
    let expires_at = state.db.now() + state.config.session_ttl;
    let password_hash = state.hashers.hash(&req.password).await?;
    let joining = match &pending {
        Some(pending) => Joining::Invitation(pending),
        None => Joining::NewOrganization(&organization_name),
    };
    let created = store::create_account(
        &state.db,
        NewAccount {
            email: &email,
            password_hash: &password_hash,
            joining,
            session_token_hash: &sha256(token.expose()),
            session_expires_at: expires_at,
        },
        &origin,
    )
    .await?;
    let Some((user, organization)) = created else { return Err(crate::organizations::invitation_gone()) };
    state.login_throttle.remember(ip, &email).await;
    tracing::info!(user_id = %user.id, organization_id = %organization.id, invited = pending.is_some(), "signed up");
    let body = SessionCreated { token: token.expose().clone(), expires_at, user, organization };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Sign in
///
/// Exchanges an email and password for a session token (`pts_…`), in the user's first
/// organisation (switch with `PUT /api/developer/me/organization`). A wrong password and an
/// unknown email get the same answer, 401 `invalid_credentials`. Attempts are throttled per
/// client network (an IPv4 address or an IPv6 /64), per account and network, and per account
/// from networks it has not signed in from before (429 `rate_limited` with `retry-after`), so
/// a stranger cannot lock an owner out. When the server is already hashing as many passwords
/// as it can, 503 `unavailable` with `retry-after`. Successful and failed sign-ins of members
/// are in the audit log. With `invitation_token` the sign-in also accepts that invitation
/// (for this account's email: else 409 `conflict`; used, revoked or expired: 404
/// `not_found`) and the session starts in the inviting organisation. An account that belongs
/// to no organisation can sign in only so: without an invitation it is 409 `conflict`.
#[utoipa::path(
    post,
    path = "/api/developer/login",
    operation_id = "session_create",
    tag = "account",
    request_body = LoginRequest,
    responses((status = 200, description = "Signed in.", body = SessionCreated)),
    extensions(("x-error-codes" = json!(["invalid_credentials", "conflict", "not_found", "rate_limited", "unavailable"]))),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    origin: RequestOrigin,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<SessionCreated>, ApiError> {
    let email = normalize_email(&req.email);
    state.login_throttle.check(ip, Some(&email)).await?;

    // Every account, whether or not it belongs to an organisation: one that belongs nowhere
    // can still sign in to accept an invitation.
    let found = store::find_password(&state.db, &email).await?;
    let valid = state.hashers.verify(&req.password, found.as_ref().map(|(_, hash)| hash.clone())).await?;
    let user_id = match found {
        Some((user_id, _)) if valid => user_id,
        Some((user_id, _)) => {
            let audit = AuditContext::anonymous(origin);
            store::record_failed_sign_in(&state.db, &user_id, &email, &audit).await?;
            return Err(ApiError::new(ErrorCode::InvalidCredentials, "The email or password is wrong."));
        }
        None => return Err(ApiError::new(ErrorCode::InvalidCredentials, "The email or password is wrong.")),
    };

    let token = generate_token(TOKEN_PREFIX);
    let expires_at = state.db.now() + state.config.session_ttl;
    let audit = AuditContext::user(&user_id, origin);
    let (user, organization) = match &req.invitation_token {
        Some(invitation) => {
            let pending = crate::organizations::pending_invitation(&state, invitation, &email).await?;
            store::join_with_session(
                &state.db,
                &pending,
                &user_id,
                &sha256(token.expose()),
                expires_at,
                &audit,
            )
            .await?
            .ok_or_else(crate::organizations::invitation_gone)?
        }
        None => {
            let Some(credentials) = store::find_credentials(&state.db, &email).await? else {
                return Err(ApiError::conflict(
                    "This account belongs to no organisation: open an invitation link to join one.",
                ));
            };
            store::create_session(
                &state.db,
                &sha256(token.expose()),
                &user_id,
                &credentials.organization_id,
                expires_at,
                &audit,
            )
            .await?;
            (credentials.user(), credentials.organization())
        }
    };
    state.login_throttle.remember(ip, &email).await;
    tracing::info!(user_id = %user.id, organization_id = %organization.id, invited = req.invitation_token.is_some(), "signed in");
    Ok(Json(SessionCreated { token: token.expose().clone(), expires_at, user, organization }))
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
    extensions(("x-required-role" = json!("viewer"))),
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
/// The signed-in user, the organisation the session acts in and their role in it, and every
/// organisation they belong to (`memberships`).
#[utoipa::path(
    get,
    path = "/api/developer/me",
    operation_id = "account_get",
    tag = "account",
    responses((status = 200, description = "The signed-in user.", body = Me)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn me(State(state): State<AppState>, session: DashboardSession) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, &session.user_id, &session.organization_id).await?))
}

/// Switch organisation
///
/// Moves the session to another organisation the user belongs to, without signing in again:
/// every dashboard route then acts there, with the user's role there. Not a member: 404
/// `not_found`.
#[utoipa::path(
    put,
    path = "/api/developer/me/organization",
    operation_id = "account_switch_organization",
    tag = "account",
    request_body = SwitchOrganizationRequest,
    responses((status = 200, description = "Switched: the user in the organisation now active.", body = Me)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn switch_organization(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiJson(req): ApiJson<SwitchOrganizationRequest>,
) -> Result<Json<Me>, ApiError> {
    let valid = crate::ids::Id::parse(crate::ids::IdKind::Organization, &req.organization_id).is_some();
    if !valid
        || !crate::organizations::store::switch(
            &state.db,
            &session.session_id,
            &session.user_id,
            &req.organization_id,
        )
        .await?
    {
        return Err(ApiError::not_found("organisation (you are not a member of it)"));
    }
    Ok(Json(me_of(&state, &session.user_id, &req.organization_id).await?))
}

/// The user `user_id` acting in `organization_id`, with all their memberships.
pub async fn me_of(state: &AppState, user_id: &str, organization_id: &str) -> Result<Me, ApiError> {
    let user = store::find_user(&state.db, user_id).await?;
    let memberships = crate::organizations::store::memberships(&state.db, user_id).await?;
    let active = memberships.iter().find(|(org, _)| org.id == organization_id).cloned();
    match (user, active) {
        (Some(user), Some((organization, role))) => Ok(Me {
            user,
            organization,
            role,
            memberships: memberships
                .into_iter()
                .map(|(organization, role)| Membership { organization, role })
                .collect(),
        }),
        // The session row references both, with cascading deletes, and the session is only
        // found while the membership exists.
        _ => Err(ApiError::internal("session references a missing user or membership")),
    }
}

/// Emails compare case-insensitively: stored and looked up trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A deliberately simple email check: one `@`, something before it, a dotted domain after
/// it, no spaces, at most 254 characters. Real proof of an address is a confirmation mail.
pub fn check_email(email: &str) -> Result<(), &'static str> {
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
