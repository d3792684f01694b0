//! Team queries, written once for both databases: members, invitations, settings.
//!
//! Changes that must leave an owner (demoting or removing one) first lock the organisation's
//! row (`UPDATE organizations SET name = name …`: a row lock on PostgreSQL; SQLite's write
//! transactions are serial anyway), so two owners demoting each other at once cannot leave
//! none.

use super::types::{Invitation, Member, OrganizationSettings};
use crate::accounts::{Organization, Role};
use crate::audit::{AuditAction, AuditContext, Changes, Resource, ResourceType};
use crate::db::{BeginWrite, Db, StoreError};
use crate::dispatch;
use crate::http::Pagination;
use crate::time::Timestamp;

const LOCK_ORGANIZATION: &str = "UPDATE organizations SET name = name WHERE id = $1";
const OWNERS: &str = "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'owner'";
const MEMBER: &str = "SELECT m.user_id, u.email, m.role, m.created_at AS joined_at \
     FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 AND m.user_id = $2";

pub async fn list_members(
    db: &Db,
    organization_id: &str,
    page: Pagination,
) -> Result<(Vec<Member>, u64), StoreError> {
    const LIST: &str = "SELECT m.user_id, u.email, m.role, m.created_at AS joined_at \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 \
         ORDER BY m.created_at, m.user_id LIMIT $2 OFFSET $3";
    const COUNT: &str = "SELECT COUNT(*) FROM memberships WHERE organization_id = $1";
    crate::db::page(db, LIST, COUNT, &[organization_id], page).await
}

pub async fn find_member(
    db: &Db,
    organization_id: &str,
    user_id: &str,
) -> Result<Option<Member>, StoreError> {
    crate::db::optional_row::<Member>(db, MEMBER, &[organization_id, user_id]).await
}

/// In a member-changing transaction: locks the organisation's row, then reads the member
/// (returning [`MemberChange::NotFound`] from the caller when there is none).
macro_rules! locked_member {
    ($tx:ident, $organization_id:expr, $user_id:expr) => {{
        sqlx::query(LOCK_ORGANIZATION).bind($organization_id).execute(&mut *$tx).await?;
        match sqlx::query_as::<_, Member>(MEMBER)
            .bind($organization_id)
            .bind($user_id)
            .fetch_optional(&mut *$tx)
            .await?
        {
            Some(member) => member,
            None => return Ok(MemberChange::NotFound),
        }
    }};
}

/// Whether the organisation has an owner besides one being demoted or removed.
macro_rules! another_owner {
    ($tx:ident, $organization_id:expr) => {{
        let owners: i64 = sqlx::query_scalar(OWNERS).bind($organization_id).fetch_one(&mut *$tx).await?;
        owners > 1
    }};
}

/// What changing or removing a member came to.
#[derive(Debug)]
pub enum MemberChange {
    Done(Option<Member>),
    NotFound,
    /// It would leave the organisation without an owner.
    LastOwner,
    /// The actor's role, as it is when the change commits, does not allow it: `needed`, and
    /// what they hold (`None`: they are no longer a member).
    Refused {
        needed: Role,
        held: Option<Role>,
    },
}

/// The role the change of `target` (to `new_role`, or removed when `None`) needs: an admin,
/// or an owner when an owner is made, demoted or removed.
fn needed_for(target: Role, new_role: Option<Role>) -> Role {
    if target == Role::Owner || new_role == Some(Role::Owner) { Role::Owner } else { Role::Admin }
}

/// In a member-changing transaction, after [`locked_member!`]: the actor's role read under
/// the same lock, so a promotion or demotion racing this change is seen. Returns
/// [`MemberChange::Refused`] from the caller when it does not allow the change.
macro_rules! actor_allowed {
    ($tx:ident, $organization_id:expr, $actor_id:expr, $needed:expr) => {{
        let needed: Role = $needed;
        let held: Option<Role> = sqlx::query_scalar::<_, String>(
            "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2",
        )
        .bind($organization_id)
        .bind($actor_id)
        .fetch_optional(&mut *$tx)
        .await?
        .and_then(|role| Role::parse(&role));
        if !held.is_some_and(|held| held.includes(needed)) {
            return Ok(MemberChange::Refused { needed, held });
        }
    }};
}

/// `actor_id` gives a member a new role, with the `member.role_changed` audit entry. The
/// rules — only owners make or demote owners, the last owner stays, the actor is an admin —
/// are applied to both members' roles as they are under the organisation's lock.
pub async fn set_role(
    db: &Db,
    organization_id: &str,
    actor_id: &str,
    user_id: &str,
    role: Role,
    audit: &AuditContext,
) -> Result<MemberChange, StoreError> {
    const UPDATE: &str = "UPDATE memberships SET role = $1 WHERE organization_id = $2 AND user_id = $3";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let current = locked_member!(tx, organization_id, user_id);
        actor_allowed!(tx, organization_id, actor_id, needed_for(current.role, Some(role)));
        if current.role == role {
            return Ok(MemberChange::Done(Some(current)));
        }
        if current.role == Role::Owner && !another_owner!(tx, organization_id) {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(UPDATE).bind(role.as_str()).bind(organization_id).bind(user_id).execute(&mut *tx).await?;
        let entry = audit.entry(
            organization_id,
            AuditAction::MemberRoleChanged,
            Resource::new(ResourceType::Member, user_id),
            Changes::new().field("role", current.role, role),
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(MemberChange::Done(Some(Member { role, ..current })))
    })
}

/// `actor_id` removes a member and ends their sessions in the organisation, with the
/// `member.removed` audit entry; the rules are applied as in [`set_role`].
pub async fn remove_member(
    db: &Db,
    organization_id: &str,
    actor_id: &str,
    user_id: &str,
    audit: &AuditContext,
) -> Result<MemberChange, StoreError> {
    const DELETE: &str = "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2";
    const SESSIONS: &str = "DELETE FROM sessions WHERE organization_id = $1 AND user_id = $2";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let current = locked_member!(tx, organization_id, user_id);
        actor_allowed!(tx, organization_id, actor_id, needed_for(current.role, None));
        if current.role == Role::Owner && !another_owner!(tx, organization_id) {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(DELETE).bind(organization_id).bind(user_id).execute(&mut *tx).await?;
        sqlx::query(SESSIONS).bind(organization_id).bind(user_id).execute(&mut *tx).await?;
        let entry = audit.entry(
            organization_id,
            AuditAction::MemberRemoved,
            Resource::new(ResourceType::Member, user_id),
            Changes::new().removed("email", &current.email).removed("role", current.role),
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(MemberChange::Done(None))
    })
}

/// The organisation's pending invitations (not accepted, revoked or expired), newest first.
pub async fn list_invitations(
    db: &Db,
    organization_id: &str,
    page: Pagination,
) -> Result<(Vec<Invitation>, u64), StoreError> {
    macro_rules! pending {
        () => {
            "organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        };
    }
    const LIST: &str = concat!(
        "SELECT id, email, role, invited_by, created_at, expires_at FROM invitations WHERE ",
        pending!(),
        " ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    const COUNT: &str = concat!("SELECT COUNT(*) FROM invitations WHERE ", pending!());
    crate::page_with!(db, LIST, COUNT, page, organization_id, db.now())
}

/// An invitation to store.
pub struct NewInvitation<'a> {
    pub invitation: &'a Invitation,
    pub organization_id: &'a str,
    pub token_hash: &'a [u8],
}

/// Stores an invitation, with its `invitation.created` audit entry. A member with the email,
/// or a pending invitation for it, is [`StoreError::Conflict`].
pub async fn create_invitation(
    db: &Db,
    new: NewInvitation<'_>,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    const IS_MEMBER: &str = "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND u.email = $2";
    const PENDING: &str = "SELECT COUNT(*) FROM invitations WHERE organization_id = $1 AND email = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3";
    const INSERT: &str = "INSERT INTO invitations (id, organization_id, email, role, token_hash, invited_by, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let inv = new.invitation;
    let entry = audit.entry(
        new.organization_id,
        AuditAction::InvitationCreated,
        Resource::new(ResourceType::Invitation, &inv.id),
        Changes::new()
            .created("email", &inv.email)
            .created("role", inv.role)
            .created("expires_at", inv.expires_at),
        inv.created_at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let members: i64 = sqlx::query_scalar(IS_MEMBER)
            .bind(new.organization_id)
            .bind(&inv.email)
            .fetch_one(&mut *tx)
            .await?;
        if members > 0 {
            return Err(StoreError::Conflict(format!(
                "{} is already a member of the organisation.",
                inv.email
            )));
        }
        let pending: i64 = sqlx::query_scalar(PENDING)
            .bind(new.organization_id)
            .bind(&inv.email)
            .bind(inv.created_at)
            .fetch_one(&mut *tx)
            .await?;
        if pending > 0 {
            return Err(StoreError::Conflict(format!(
                "{} already has a pending invitation; revoke it to send a new one.",
                inv.email
            )));
        }
        sqlx::query(INSERT)
            .bind(&inv.id)
            .bind(new.organization_id)
            .bind(&inv.email)
            .bind(inv.role.as_str())
            .bind(new.token_hash)
            .bind(&inv.invited_by)
            .bind(inv.created_at)
            .bind(inv.expires_at)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok(())
    })
}

/// Revokes a pending invitation, with the `invitation.revoked` audit entry; `false` when the
/// organisation has no such pending invitation.
pub async fn revoke_invitation(
    db: &Db,
    organization_id: &str,
    id: &str,
    audit: &AuditContext,
) -> Result<bool, StoreError> {
    const REVOKE: &str = "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND organization_id = $3 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1 RETURNING email, role";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let revoked: Option<(String, String)> =
            sqlx::query_as(REVOKE).bind(at).bind(id).bind(organization_id).fetch_optional(&mut *tx).await?;
        let Some((email, role)) = revoked else { return Ok(false) };
        let entry = audit.entry(
            organization_id,
            AuditAction::InvitationRevoked,
            Resource::new(ResourceType::Invitation, id),
            Changes::new()
                .field("status", "pending", "revoked")
                .removed("email", &email)
                .removed("role", &role),
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(true)
    })
}

/// A pending invitation found by its token's hash, with its organisation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInvitation {
    #[sqlx(flatten)]
    pub invitation: Invitation,
    pub organization_id: String,
}

pub async fn find_pending(
    db: &Db,
    token_hash: &[u8],
    at: Timestamp,
) -> Result<Option<PendingInvitation>, StoreError> {
    const SQL: &str = "SELECT id, email, role, invited_by, created_at, expires_at, organization_id FROM invitations \
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2";
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, PendingInvitation>(SQL)
        .bind(token_hash)
        .bind(at)
        .fetch_optional(pool)
        .await)?)
}

/// What accepting an invitation came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    Joined,
    /// Used, revoked or expired meanwhile.
    Gone,
    /// The user is a member already.
    AlreadyMember,
}

/// Accepts an invitation inside `tx`: the user joins with its role, the invitation is used
/// up, the `invitation.accepted` entry is written. For sign-up's transaction and for
/// [`accept`].
#[macro_export]
macro_rules! accept_in {
    ($tx:expr, $pending:expr, $user_id:expr, $audit:expr, $at:expr) => {{
        let pending: &$crate::organizations::store::PendingInvitation = $pending;
        let used = sqlx::query(
            "UPDATE invitations SET accepted_at = $1, accepted_by = $2 WHERE id = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind($at)
        .bind($user_id)
        .bind(&pending.invitation.id)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if used == 0 {
            $crate::organizations::store::Accepted::Gone
        } else {
            let joined = sqlx::query(
                "INSERT INTO memberships (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&pending.organization_id)
            .bind($user_id)
            .bind(pending.invitation.role.as_str())
            .bind($at)
            .execute(&mut *$tx)
            .await;
            match joined {
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                    $crate::organizations::store::Accepted::AlreadyMember
                }
                Err(e) => return Err(e.into()),
                Ok(_) => {
                    let entry = $audit.entry(
                        &pending.organization_id,
                        $crate::audit::AuditAction::InvitationAccepted,
                        $crate::audit::Resource::new($crate::audit::ResourceType::Invitation, &pending.invitation.id),
                        $crate::audit::Changes::new()
                            .field("status", "pending", "accepted")
                            .created("user_id", $user_id)
                            .created("role", pending.invitation.role),
                        $at,
                    );
                    $crate::insert_audit!(&mut *$tx, &entry)?;
                    $crate::organizations::store::Accepted::Joined
                }
            }
        }
    }};
}

/// The signed-in user accepts: joins the organisation, and the session moves to it.
pub async fn accept(
    db: &Db,
    pending: &PendingInvitation,
    user_id: &str,
    session_id: &str,
    audit: &AuditContext,
) -> Result<Accepted, StoreError> {
    const SWITCH: &str = "UPDATE sessions SET organization_id = $1 WHERE id = $2";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let outcome = crate::accept_in!(tx, pending, user_id, audit, at);
        if outcome == Accepted::Joined {
            sqlx::query(SWITCH).bind(&pending.organization_id).bind(session_id).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok::<_, StoreError>(outcome)
    })
}

/// The organisations a user belongs to, oldest membership first.
pub async fn memberships(db: &Db, user_id: &str) -> Result<Vec<(Organization, Role)>, StoreError> {
    const SQL: &str = "SELECT o.id, o.name, o.created_at, m.role FROM memberships m \
         JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 ORDER BY m.created_at, o.id";
    let rows: Vec<(String, String, Timestamp, String)> =
        dispatch!(db, |pool| sqlx::query_as(SQL).bind(user_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, created_at, role)| {
            Some((Organization { id, name, created_at }, Role::parse(&role)?))
        })
        .collect())
}

/// Moves a session to another organisation of its user; `false` when they are not a member.
pub async fn switch(
    db: &Db,
    session_id: &str,
    user_id: &str,
    organization_id: &str,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE sessions SET organization_id = $1 WHERE id = $2 AND user_id = $3 \
         AND EXISTS (SELECT 1 FROM memberships WHERE organization_id = $1 AND user_id = $3)";
    let done = dispatch!(db, |pool| sqlx::query(SQL)
        .bind(organization_id)
        .bind(session_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The organisation's settings as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub id: String,
    pub name: String,
    pub monthly_quota: Option<i64>,
    pub default_rate_limit_rpm: Option<i64>,
    pub created_at: Timestamp,
    pub version: i64,
}

const SETTINGS: &str = "SELECT id, name, monthly_quota, default_rate_limit_rpm, created_at, version FROM organizations WHERE id = $1";

pub async fn settings(db: &Db, organization_id: &str) -> Result<Option<SettingsRow>, StoreError> {
    crate::db::optional_row::<SettingsRow>(db, SETTINGS, &[organization_id]).await
}

/// The fields a settings change gives (already checked); `None`: left as it is.
#[derive(Debug, Default)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub monthly_quota: Option<Option<i64>>,
    pub default_rate_limit_rpm: Option<Option<i64>>,
}

/// What a settings change came to.
pub enum SettingsUpdate {
    /// The settings before and after (the same when nothing changed: then nothing was
    /// written, not even an audit entry).
    Done { before: SettingsRow, after: SettingsRow },
    /// `If-Match` does not hold for the version read under the lock.
    Precondition(i64),
}

/// Applies `patch` to the organisation's settings as they are when the change commits: the
/// row is locked, read, checked against `if_match`, merged and diffed in one transaction, so
/// two admins changing different fields at once both keep their change. Writes the
/// `organization.updated` audit entry when something changed.
pub async fn update_settings(
    db: &Db,
    organization_id: &str,
    patch: &SettingsPatch,
    if_match: &crate::http::conditional::IfMatch,
    audit: &AuditContext,
) -> Result<Option<SettingsUpdate>, StoreError> {
    const UPDATE: &str = "UPDATE organizations SET name = $1, monthly_quota = $2, default_rate_limit_rpm = $3, \
         version = version + 1 WHERE id = $4 RETURNING version";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(LOCK_ORGANIZATION).bind(organization_id).execute(&mut *tx).await?;
        let Some(before) =
            sqlx::query_as::<_, SettingsRow>(SETTINGS).bind(organization_id).fetch_optional(&mut *tx).await?
        else {
            return Ok(None);
        };
        if if_match.check(before.version).is_err() {
            return Ok(Some(SettingsUpdate::Precondition(before.version)));
        }
        let mut after = SettingsRow {
            name: patch.name.clone().unwrap_or_else(|| before.name.clone()),
            monthly_quota: patch.monthly_quota.unwrap_or(before.monthly_quota),
            default_rate_limit_rpm: patch.default_rate_limit_rpm.unwrap_or(before.default_rate_limit_rpm),
            ..before.clone()
        };
        let changes = Changes::new()
            .field("name", &before.name, &after.name)
            .field("monthly_quota", before.monthly_quota, after.monthly_quota)
            .field("default_rate_limit_rpm", before.default_rate_limit_rpm, after.default_rate_limit_rpm);
        if changes.is_empty() {
            return Ok(Some(SettingsUpdate::Done { before, after }));
        }
        after.version = sqlx::query_scalar(UPDATE)
            .bind(&after.name)
            .bind(after.monthly_quota)
            .bind(after.default_rate_limit_rpm)
            .bind(organization_id)
            .fetch_one(&mut *tx)
            .await?;
        let entry = audit.entry(
            organization_id,
            AuditAction::OrganizationUpdated,
            Resource::new(ResourceType::Organization, organization_id),
            changes,
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Some(SettingsUpdate::Done { before, after }))
    })
}

impl SettingsRow {
    pub fn into_settings(self, defaults: super::types::DeploymentDefaults) -> OrganizationSettings {
        OrganizationSettings {
            id: self.id,
            name: self.name,
            monthly_quota: self.monthly_quota,
            default_rate_limit_rpm: self.default_rate_limit_rpm,
            defaults,
            created_at: self.created_at,
            version: self.version,
        }
    }
}
