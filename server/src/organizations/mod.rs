//! Teams: an organisation's members and their roles, invitations, and its settings.
//!
//! Roles (`owner`, `admin`, `developer`, `viewer`) are enforced for every dashboard
//! operation by [`crate::accounts::roles`] from each operation's `x-required-role`; the
//! handlers here add the two rules a declared role cannot express: only owners may make,
//! invite, demote or remove owners, and the last owner stays one (409 `conflict`).
//!
//! Invitations are `pti_…` tokens, shown once (SHA-256 at rest), valid 7 days, for one email:
//! the person signs up with `invitation_token` or, signed in, accepts with
//! `POST /api/developer/invitations/accept`. The routes are here, the SQL in [`store`].

pub mod store;
mod types;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::TimeDelta;

pub use types::*;

use crate::accounts::roles::require;
use crate::accounts::{DashboardSession, Me, Role};
use crate::audit::AuditContext;
use crate::error::{ApiError, Validation};
use crate::http::conditional::{IfMatch, precondition_failed, tagged};
use crate::http::{ApiJson, ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::secret::{generate_token, sha256};
use crate::state::AppState;
use store::{Accepted, MemberChange};

/// The prefix of invitation tokens.
pub const INVITATION_PREFIX: &str = "pti";
/// How long an invitation works.
pub const INVITATION_TTL: TimeDelta = TimeDelta::days(7);

/// List members
///
/// The organisation's members with their roles, oldest first.
#[utoipa::path(
    get,
    path = "/api/developer/members",
    operation_id = "member_list",
    tag = "team",
    params(TeamListParams),
    responses((status = 200, description = "One page of members.", body = ListEnvelope<Member>)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn member_list(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<TeamListParams>,
) -> Result<Json<ListEnvelope<Member>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (members, total) = store::list_members(&state.db, &session.organization_id, page).await?;
    Ok(Json(ListEnvelope::new(members, total, page)))
}

/// Change a member's role
///
/// Gives a member another role. Admins manage developers, viewers and other admins; only
/// owners may make someone an owner or change an owner's role (403 `insufficient_role`). The
/// organisation's last owner cannot be demoted (409 `conflict`). Takes effect on the
/// member's next request.
#[utoipa::path(
    patch,
    path = "/api/developer/members/{user_id}",
    operation_id = "member_update",
    tag = "team",
    params(("user_id" = String, Path, description = "The member's user id (`usr_…`)", example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    request_body = UpdateMemberRequest,
    responses((status = 200, description = "The member with the new role.", body = Member)),
    extensions(("x-required-role" = json!("admin")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn member_update(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(user_id): Path<String>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<Member>, ApiError> {
    member_id(&user_id)?;
    let org = &session.organization_id;
    match store::set_role(&state.db, org, &session.user_id, &user_id, req.role, &audit).await? {
        MemberChange::Done(Some(member)) => Ok(Json(member)),
        MemberChange::Done(None) | MemberChange::NotFound => Err(ApiError::not_found("member")),
        MemberChange::LastOwner => Err(last_owner("demoted")),
        MemberChange::Refused { needed, held } => Err(refused(needed, held)),
    }
}

/// Remove a member
///
/// Removes someone from the organisation and ends their sessions in it at once. Only owners
/// may remove an owner (403 `insufficient_role`); the last owner cannot be removed (409
/// `conflict`).
#[utoipa::path(
    delete,
    path = "/api/developer/members/{user_id}",
    operation_id = "member_remove",
    tag = "team",
    params(("user_id" = String, Path, description = "The member's user id (`usr_…`)", example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 204, description = "Removed.")),
    extensions(("x-required-role" = json!("admin")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn member_remove(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    member_id(&user_id)?;
    match store::remove_member(&state.db, &session.organization_id, &session.user_id, &user_id, &audit)
        .await?
    {
        MemberChange::Done(_) => Ok(StatusCode::NO_CONTENT),
        MemberChange::NotFound => Err(ApiError::not_found("member")),
        MemberChange::LastOwner => Err(last_owner("removed")),
        MemberChange::Refused { needed, held } => Err(refused(needed, held)),
    }
}

/// 404 for what cannot be a member's id.
fn member_id(user_id: &str) -> Result<(), ApiError> {
    match Id::parse(IdKind::User, user_id) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("member")),
    }
}

/// The actor's role, read when the change was to commit, does not allow it.
fn refused(needed: Role, held: Option<Role>) -> ApiError {
    match held {
        Some(held) => crate::accounts::roles::insufficient_role(needed, held),
        None => ApiError::new(
            crate::error::ErrorCode::InvalidSession,
            "You are no longer a member of this organisation: sign in again.",
        ),
    }
}

fn last_owner(what: &str) -> ApiError {
    ApiError::conflict(format!(
        "This is the organisation's last owner and cannot be {what}: make another member an owner first."
    ))
}

/// List invitations
///
/// The organisation's pending invitations, newest first (accepted, revoked and expired ones
/// are not listed). Tokens are never shown again.
#[utoipa::path(
    get,
    path = "/api/developer/invitations",
    operation_id = "invitation_list",
    tag = "team",
    params(TeamListParams),
    responses((status = 200, description = "One page of pending invitations.", body = ListEnvelope<Invitation>)),
    extensions(("x-required-role" = json!("admin"))),
)]
pub async fn invitation_list(
    State(state): State<AppState>,
    session: DashboardSession,
    ApiQuery(params): ApiQuery<TeamListParams>,
) -> Result<Json<ListEnvelope<Invitation>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (invitations, total) = store::list_invitations(&state.db, &session.organization_id, page).await?;
    Ok(Json(ListEnvelope::new(invitations, total, page)))
}

/// Invite someone
///
/// Invites an email to the organisation with a role. The answer holds the invitation token
/// (`pti_…`) and a dashboard link carrying it — shown this once; send it to them. It works
/// for 7 days, once, for that email only. Only owners may invite owners (403
/// `insufficient_role`); a member or a pending invitation with the email is 409 `conflict`.
#[utoipa::path(
    post,
    path = "/api/developer/invitations",
    operation_id = "invitation_create",
    tag = "team",
    request_body = CreateInvitationRequest,
    responses((status = 201, description = "The invitation, and its token and link, shown once.", body = InvitationCreated)),
    extensions(("x-required-role" = json!("admin")), ("x-error-codes" = json!(["conflict"]))),
)]
pub async fn invitation_create(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateInvitationRequest>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    let email = crate::accounts::normalize_email(&req.email);
    let mut v = Validation::new();
    if let Err(message) = crate::accounts::check_email(&email) {
        v.reject("email", message);
    }
    v.finish()?;
    if req.role == Role::Owner {
        require(session.role, Role::Owner)?;
    }
    let at = state.db.now();
    let token = generate_token(INVITATION_PREFIX);
    let invitation = Invitation {
        id: Id::generate(IdKind::Invitation).into_string(),
        email,
        role: req.role,
        invited_by: session.user_id.clone(),
        created_at: at,
        expires_at: at + INVITATION_TTL,
    };
    store::create_invitation(
        &state.db,
        store::NewInvitation {
            invitation: &invitation,
            organization_id: &session.organization_id,
            token_hash: &sha256(token.expose()),
        },
        &audit,
    )
    .await?;
    tracing::info!(invitation_id = %invitation.id, role = %invitation.role, "invitation created");
    let url = format!("{}/#/join?token={}", state.public.base_url.trim_end_matches('/'), token.expose());
    Ok((StatusCode::CREATED, Json(InvitationCreated { token: token.expose().clone(), url, invitation })))
}

/// Revoke an invitation
///
/// The invitation's token stops working at once (404 for whoever tries it).
#[utoipa::path(
    delete,
    path = "/api/developer/invitations/{id}",
    operation_id = "invitation_revoke",
    tag = "team",
    params(("id" = String, Path, description = "The invitation's id (`inv_…`)", example = "inv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 204, description = "Revoked.")),
    extensions(("x-required-role" = json!("admin")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn invitation_revoke(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if Id::parse(IdKind::Invitation, &id).is_none()
        || !store::revoke_invitation(&state.db, &session.organization_id, &id, &audit).await?
    {
        return Err(ApiError::not_found("invitation"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation
///
/// The signed-in user joins the invitation's organisation with its role, and the session
/// moves to that organisation. The user's email must be the one invited (409 `conflict`);
/// a used, revoked, expired or unknown token is 404 `not_found`. The answer is the user with
/// all their memberships.
#[utoipa::path(
    post,
    path = "/api/developer/invitations/accept",
    operation_id = "invitation_accept",
    tag = "team",
    request_body = AcceptInvitationRequest,
    responses((status = 200, description = "Joined: the user, the organisation now active, and every membership.", body = Me)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn invitation_accept(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> Result<Json<Me>, ApiError> {
    let user = crate::accounts::store::find_user(&state.db, &session.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("the session's user is missing"))?;
    let pending = pending_invitation(&state, &req.token, &user.email).await?;
    match store::accept(&state.db, &pending, &user.id, &session.session_id, &audit).await? {
        Accepted::Joined => {}
        Accepted::Gone => return Err(invitation_gone()),
        Accepted::AlreadyMember => {
            return Err(ApiError::conflict("You are already a member of this organisation."));
        }
    }
    tracing::info!(invitation_id = %pending.invitation.id, user_id = %user.id, "invitation accepted");
    Ok(Json(crate::accounts::me_of(&state, &user.id, &pending.organization_id).await?))
}

/// The pending invitation `token` names, for `email`: 404 when there is none (used,
/// revoked, expired or unknown), 409 when it is for another email.
pub async fn pending_invitation(
    state: &AppState,
    token: &crate::secret::Secret<String>,
    email: &str,
) -> Result<store::PendingInvitation, ApiError> {
    if !token.expose().starts_with("pti_") {
        return Err(invitation_gone());
    }
    let pending = store::find_pending(&state.db, &sha256(token.expose()), state.db.now())
        .await?
        .ok_or_else(invitation_gone)?;
    if pending.invitation.email != email {
        return Err(ApiError::conflict(
            "This invitation is for another email address: sign in (or sign up) with the address it was sent to.",
        ));
    }
    Ok(pending)
}

pub fn invitation_gone() -> ApiError {
    ApiError::not_found("invitation (it may have been used, revoked or have expired)")
}

/// The organisation's settings
///
/// Its name, monthly quota and default rate limit (`null`: the deployment's default, shown in
/// `defaults`), and its version as the `ETag`.
#[utoipa::path(
    get,
    path = "/api/developer/organization",
    operation_id = "organization_get",
    tag = "team",
    responses((status = 200, description = "The settings.", body = OrganizationSettings,
        headers(("etag" = String, description = "The settings' version")))),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn organization_get(
    State(state): State<AppState>,
    session: DashboardSession,
) -> Result<(HeaderMap, Json<OrganizationSettings>), ApiError> {
    let current = settings(&state, &session.organization_id).await?;
    Ok(tagged(current.version, current.into_settings(defaults(&state))))
}

/// Change the organisation's settings
///
/// Renames the organisation, or sets its monthly quota or its default rate limit (for keys
/// without their own); `null` returns a limit to the deployment's default. Only the fields
/// given change: two admins changing different settings at once both keep theirs. Send the
/// `ETag` in `If-Match` to change them only if nobody has since you read them (412
/// `version_mismatch` otherwise). Both limits take effect at once on every instance.
#[utoipa::path(
    patch,
    path = "/api/developer/organization",
    operation_id = "organization_update",
    tag = "team",
    params(("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`")),
    request_body = UpdateOrganizationRequest,
    responses((status = 200, description = "The new settings.", body = OrganizationSettings,
        headers(("etag" = String, description = "The settings' new version")))),
    extensions(("x-required-role" = json!("admin")), ("x-error-codes" = json!(["version_mismatch"]))),
)]
pub async fn organization_update(
    State(state): State<AppState>,
    session: DashboardSession,
    audit: AuditContext,
    if_match: IfMatch,
    ApiJson(req): ApiJson<UpdateOrganizationRequest>,
) -> Result<(HeaderMap, Json<OrganizationSettings>), ApiError> {
    let mut v = Validation::new();
    let name = req.name.as_ref().map(|name| v.name("name", name));
    v.check(
        req.monthly_quota.flatten().is_none_or(|q| (0..=1_000_000_000_000).contains(&q)),
        "monthly_quota",
        "must be between 0 and 1000000000000",
    );
    v.check(
        req.default_rate_limit_rpm
            .flatten()
            .is_none_or(|r| (1..=crate::keys::MAX_RATE_LIMIT_RPM).contains(&r)),
        "default_rate_limit_rpm",
        "must be between 1 and 1000000",
    );
    v.finish()?;
    let patch = store::SettingsPatch {
        name,
        monthly_quota: req.monthly_quota,
        default_rate_limit_rpm: req.default_rate_limit_rpm,
    };
    let updated = store::update_settings(&state.db, &session.organization_id, &patch, &if_match, &audit)
        .await?
        .ok_or_else(|| ApiError::internal("the session's organisation is missing"))?;
    let (before, after) = match updated {
        store::SettingsUpdate::Done { before, after } => (before, after),
        store::SettingsUpdate::Precondition(current) => {
            return Err(precondition_failed(&if_match, current, "organisation's settings"));
        }
    };
    let limits_changed = (before.monthly_quota, before.default_rate_limit_rpm)
        != (after.monthly_quota, after.default_rate_limit_rpm);
    if limits_changed {
        state.invalidations.changed(&[crate::cluster::Change::Organization(after.id.clone())]).await;
    }
    Ok(tagged(after.version, after.into_settings(defaults(&state))))
}

async fn settings(state: &AppState, organization_id: &str) -> Result<store::SettingsRow, ApiError> {
    store::settings(&state.db, organization_id)
        .await?
        .ok_or_else(|| ApiError::internal("the session's organisation is missing"))
}

fn defaults(state: &AppState) -> DeploymentDefaults {
    DeploymentDefaults {
        monthly_quota: state.config.monthly_quota,
        rate_limit_rpm: state.config.default_rate_limit_rpm,
    }
}
