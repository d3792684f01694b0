//! The shapes of the account routes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::Secret;
use chrono::{DateTime, Utc};

/// A person who signs in to the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct User {
    /// `usr_…`
    #[schema(example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The sign-in email, lower-cased.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// When the user signed up.
    #[schema(example = "2026-11-01T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// An organisation: owns the keys, links and everything else in the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Organization {
    /// `org_…`
    #[schema(example = "org_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    #[schema(example = "Acme Links")]
    /// The organisation's name, 1–100 characters.
    pub name: String,
    /// When the organisation was created.
    #[schema(example = "2026-11-01T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

crate::wire_enum! {
    /// A user's role in an organisation. Each role can do everything the roles below it can:
    /// `viewer` reads; `developer` also manages keys, domains and webhooks and uses the
    /// playground; `admin` also manages members, invitations and the organisation's
    /// settings, and reads the audit log; `owner` also manages owners.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    pub enum Role {
        /// Everything, including making and removing owners.
        Owner = "owner",
        /// Members, invitations, settings and the audit log, besides what developers do.
        Admin = "admin",
        /// Keys, domains, webhooks and the playground, besides what viewers do.
        Developer = "developer",
        /// Reads keys, usage, the request log, docs and webhooks; changes nothing.
        Viewer = "viewer",
    }
}

impl Role {
    /// 0 for `viewer` up to 3 for `owner`.
    const fn rank(self) -> u8 {
        match self {
            Self::Viewer => 0,
            Self::Developer => 1,
            Self::Admin => 2,
            Self::Owner => 3,
        }
    }

    /// The article it takes in a sentence ("an admin", "a viewer").
    pub const fn article(self) -> &'static str {
        match self {
            Self::Owner | Self::Admin => "an",
            Self::Developer | Self::Viewer => "a",
        }
    }

    /// Whether this role may do what `needed` may.
    pub const fn includes(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

/// As stored (`memberships.role`, `invitations.role`), for `#[sqlx(try_from = "String")]`.
impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Role::parse(&value).ok_or_else(|| format!("unknown role {value:?}"))
    }
}

/// Sign up: a new user and the organisation they own — or, with `invitation_token`, the
/// organisation that invited them.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "email": "ada@example.com",
    "password": "correct horse battery staple",
    "organization_name": "Acme Links"
}))]
pub struct SignupRequest {
    /// The sign-in email; must be unused (and, with `invitation_token`, the one invited: an
    /// email that has an account signs in with the invitation instead).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// At least 10 characters (at most 1024).
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 1024)]
    pub password: Secret<String>,
    /// The new organisation's name, 1–100 characters. Required unless `invitation_token` is
    /// given (then it is not used).
    #[schema(example = "Acme Links")]
    pub organization_name: Option<String>,
    /// An invitation (`pti_…`): join its organisation with its role instead of creating one.
    #[schema(value_type = Option<String>, example = json!(null))]
    pub invitation_token: Option<Secret<String>>,
}

/// Sign in with email and password.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    /// The sign-in email (any case).
    pub email: String,
    #[schema(value_type = String, format = Password)]
    /// The account's password.
    pub password: Secret<String>,
    /// An invitation (`pti_…`) for this account's email: signing in accepts it, and the
    /// session starts in the organisation that invited them.
    #[schema(value_type = Option<String>, example = json!(null))]
    #[serde(default)]
    pub invitation_token: Option<Secret<String>>,
}

/// A new dashboard session. The token is shown here only; send it as
/// `Authorization: Bearer pts_…` on dashboard routes.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SessionCreated {
    /// The session token (`pts_…`). Store it like a password.
    #[schema(example = "pts_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR")]
    pub token: String,
    /// When the session ends unless the user signs out first.
    #[schema(example = "2026-12-08T10:00:00Z")]
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
    /// Their organisation.
    pub organization: Organization,
}

impl std::fmt::Debug for SessionCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCreated")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .field("organization", &self.organization)
            .finish()
    }
}

/// The signed-in user, the organisation the session acts in and their role in it, and every
/// organisation they belong to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The signed-in user.
    pub user: User,
    /// The organisation the session acts in (switch with `PUT /api/developer/me/organization`).
    pub organization: Organization,
    /// Their role in it.
    pub role: Role,
    /// Every organisation they belong to, with their role in each, oldest first.
    pub memberships: Vec<Membership>,
}

/// A user's place in one organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    /// The organisation.
    pub organization: Organization,
    /// The user's role in it.
    pub role: Role,
}

/// Switch the session to another of the user's organisations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organization_id": "org_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}))]
pub struct SwitchOrganizationRequest {
    /// One of the user's organisations (`org_…`, from `memberships`).
    pub organization_id: String,
}
