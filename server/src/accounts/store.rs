//! Account queries, written once for both databases.

use crate::db::{BeginWrite, Db, StoreError};
use crate::dispatch;
use crate::ids::{Id, IdKind};
use crate::time::Timestamp;

use super::types::{Organization, Role, User};

/// A new session row: id, token hash, user, organisation, created, expires.
const INSERT_SESSION: &str = "INSERT INTO sessions (id, token_hash, user_id, organization_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// What sign-up writes, in one transaction.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    /// A new organisation (its name) the user will own, or the invitation they accept.
    pub joining: Joining<'a>,
    pub session_token_hash: &'a [u8],
    pub session_expires_at: Timestamp,
}

/// Where a new user lands.
pub enum Joining<'a> {
    NewOrganization(&'a str),
    Invitation(&'a crate::organizations::store::PendingInvitation),
}

/// Creates the user, their organisation (which they own) or their membership of the one that
/// invited them, and their first session, atomically, with the audit entry
/// (`organization.created` or `invitation.accepted`). A taken email is
/// [`StoreError::Conflict`]; an invitation used up meanwhile is `Ok(None)`.
pub async fn create_account(
    db: &Db,
    new: NewAccount<'_>,
    origin: &crate::audit::RequestOrigin,
) -> Result<Option<(User, Organization)>, StoreError> {
    use crate::audit::{AuditAction, AuditContext, Changes, Resource, ResourceType};
    use crate::organizations::store::Accepted;
    let created_at = db.now();
    let user = User { id: Id::generate(IdKind::User).into_string(), email: new.email.to_owned(), created_at };
    let audit = AuditContext::user(&user.id, origin.clone());
    let session_id = Id::generate(IdKind::Session).into_string();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(new.password_hash)
            .bind(user.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "An account with this email already exists."))?;
        let org = match new.joining {
            Joining::NewOrganization(name) => {
                let org = Organization {
                    id: Id::generate(IdKind::Organization).into_string(),
                    name: name.to_owned(),
                    created_at,
                };
                sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&org.id)
                    .bind(&org.name)
                    .bind(org.created_at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO memberships (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&org.id)
                .bind(&user.id)
                .bind(Role::Owner.as_str())
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
                let entry = audit.entry(
                    &org.id,
                    AuditAction::OrganizationCreated,
                    Resource::new(ResourceType::Organization, &org.id),
                    Changes::new().created("name", &org.name).created("owner", &user.id),
                    created_at,
                );
                crate::insert_audit!(&mut *tx, &entry)?;
                org
            }
            Joining::Invitation(pending) => {
                if crate::accept_in!(tx, pending, &user.id, &audit, created_at) != Accepted::Joined {
                    return Ok(None);
                }
                let org: Organization =
                    sqlx::query_as("SELECT id, name, created_at FROM organizations WHERE id = $1")
                        .bind(&pending.organization_id)
                        .fetch_one(&mut *tx)
                        .await?;
                org
            }
        };
        sqlx::query(INSERT_SESSION)
            .bind(&session_id)
            .bind(new.session_token_hash)
            .bind(&user.id)
            .bind(&org.id)
            .bind(created_at)
            .bind(new.session_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((user, org)))
    })
}

/// A user found by email, with their password hash and their organisation.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub user_id: String,
    pub email: String,
    pub password_hash: String,
    pub user_created_at: Timestamp,
    pub organization_id: String,
    pub organization_name: String,
    pub organization_created_at: Timestamp,
}

impl Credentials {
    pub fn user(&self) -> User {
        User { id: self.user_id.clone(), email: self.email.clone(), created_at: self.user_created_at }
    }

    pub fn organization(&self) -> Organization {
        Organization {
            id: self.organization_id.clone(),
            name: self.organization_name.clone(),
            created_at: self.organization_created_at,
        }
    }
}

pub async fn find_credentials(db: &Db, email: &str) -> Result<Option<Credentials>, StoreError> {
    const SQL: &str = "SELECT u.id AS user_id, u.email, u.password_hash, u.created_at AS user_created_at, \
            o.id AS organization_id, o.name AS organization_name, o.created_at AS organization_created_at \
         FROM users u \
         JOIN memberships m ON m.user_id = u.id \
         JOIN organizations o ON o.id = m.organization_id \
         WHERE u.email = $1 \
         ORDER BY m.created_at LIMIT 1";
    crate::db::optional_row::<Credentials>(db, SQL, &[email]).await
}

/// Starts a session, with the `sign_in.succeeded` audit entry.
pub async fn create_session(
    db: &Db,
    token_hash: &[u8],
    user_id: &str,
    organization_id: &str,
    expires_at: Timestamp,
    audit: &crate::audit::AuditContext,
) -> Result<(), StoreError> {
    use crate::audit::{AuditAction, Changes, Resource, ResourceType};
    let id = Id::generate(IdKind::Session).into_string();
    let at = db.now();
    let entry = audit.entry(
        organization_id,
        AuditAction::SignInSucceeded,
        Resource::new(ResourceType::User, user_id),
        Changes::new().created("session_expires_at", expires_at),
        at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(INSERT_SESSION)
            .bind(&id)
            .bind(token_hash)
            .bind(user_id)
            .bind(organization_id)
            .bind(at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await
    })?;
    Ok(())
}

/// Records a failed sign-in with a member's email in each of their organisations. The actor
/// is anonymous (whoever tried is not known to be the account's owner); the entry holds the
/// SHA-256 of the email tried, so an admin can match it to an address they know.
pub async fn record_failed_sign_in(
    db: &Db,
    user_id: &str,
    email: &str,
    audit: &crate::audit::AuditContext,
) -> Result<(), StoreError> {
    use crate::audit::{AuditAction, Changes, Resource, ResourceType};
    const ORGS: &str = "SELECT organization_id FROM memberships WHERE user_id = $1 ORDER BY organization_id";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let orgs: Vec<String> = sqlx::query_scalar(ORGS).bind(user_id).fetch_all(&mut *tx).await?;
        for org in &orgs {
            let entry = audit.entry(
                org,
                AuditAction::SignInFailed,
                Resource::new(ResourceType::User, user_id),
                Changes::new().created("email_sha256", crate::secret::sha256_hex(email)),
                at,
            );
            crate::insert_audit!(&mut *tx, &entry)?;
        }
        tx.commit().await
    })?;
    Ok(())
}

/// A live session, found by its token's hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: String,
    pub user_id: String,
    pub organization_id: String,
    pub role: String,
}

pub async fn find_live_session(db: &Db, token_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
    const SQL: &str = "SELECT s.id AS session_id, s.user_id, s.organization_id, m.role \
         FROM sessions s \
         JOIN memberships m ON m.user_id = s.user_id AND m.organization_id = s.organization_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";
    let at = db.now();
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, SessionRow>(SQL)
        .bind(token_hash)
        .bind(at)
        .fetch_optional(pool)
        .await)?)
}

pub async fn revoke_session(db: &Db, session_id: &str) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    dispatch!(db, |pool| sqlx::query(SQL).bind(session_id).bind(db.now()).execute(pool).await.map(drop))?;
    Ok(())
}

/// A user's id and password hash by email, whether or not they belong to an organisation.
pub async fn find_password(db: &Db, email: &str) -> Result<Option<(String, String)>, StoreError> {
    const SQL: &str = "SELECT id, password_hash FROM users WHERE email = $1";
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, (String, String)>(SQL)
        .bind(email)
        .fetch_optional(pool)
        .await)?)
}

/// An existing user signs in and accepts an invitation: they join, and a session starts in
/// the organisation that invited them (`invitation.accepted` and `sign_in.succeeded` there).
/// `Ok(None)` when the invitation was used up meanwhile, `Err(Conflict)` when they are a
/// member already.
pub async fn join_with_session(
    db: &Db,
    pending: &crate::organizations::store::PendingInvitation,
    user_id: &str,
    session_token_hash: &[u8],
    session_expires_at: Timestamp,
    audit: &crate::audit::AuditContext,
) -> Result<Option<(User, Organization)>, StoreError> {
    use crate::audit::{AuditAction, Changes, Resource, ResourceType};
    use crate::organizations::store::Accepted;
    let at = db.now();
    let signed_in = audit.entry(
        &pending.organization_id,
        AuditAction::SignInSucceeded,
        Resource::new(ResourceType::User, user_id),
        Changes::new().created("session_expires_at", session_expires_at),
        at,
    );
    let session_id = Id::generate(IdKind::Session).into_string();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        match crate::accept_in!(tx, pending, user_id, audit, at) {
            Accepted::Joined => {}
            Accepted::Gone => return Ok(None),
            Accepted::AlreadyMember => {
                return Err(StoreError::Conflict(
                    "You are already a member of this organisation: sign in without the invitation.".into(),
                ));
            }
        }
        crate::insert_audit!(&mut *tx, &signed_in)?;
        sqlx::query(INSERT_SESSION)
            .bind(&session_id)
            .bind(session_token_hash)
            .bind(user_id)
            .bind(&pending.organization_id)
            .bind(at)
            .bind(session_expires_at)
            .execute(&mut *tx)
            .await?;
        let user: User = sqlx::query_as("SELECT id, email, created_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        let org: Organization =
            sqlx::query_as("SELECT id, name, created_at FROM organizations WHERE id = $1")
                .bind(&pending.organization_id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(Some((user, org)))
    })
}

pub async fn find_user(db: &Db, user_id: &str) -> Result<Option<User>, StoreError> {
    const SQL: &str = "SELECT id, email, created_at FROM users WHERE id = $1";
    crate::db::optional_row::<User>(db, SQL, &[user_id]).await
}

pub async fn find_organization(db: &Db, organization_id: &str) -> Result<Option<Organization>, StoreError> {
    const SQL: &str = "SELECT id, name, created_at FROM organizations WHERE id = $1";
    crate::db::optional_row::<Organization>(db, SQL, &[organization_id]).await
}

/// Deletes sessions that expired, or were ended, more than `keep` ago. Returns how many.
pub async fn purge_sessions(db: &Db, keep: chrono::TimeDelta) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1";
    let before = db.now() - keep;
    let done =
        dispatch!(db, |pool| sqlx::query(SQL).bind(before).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
