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
    /// A user's role in their organisation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum Role {
        /// Created the organisation; can do everything.
        Owner = "owner",
    }
}

/// Sign up: a new user and the organisation they own.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "email": "ada@example.com",
    "password": "correct horse battery staple",
    "organization_name": "Acme Links"
}))]
pub struct SignupRequest {
    /// The sign-in email; must be unused.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// At least 10 characters (at most 1024).
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 1024)]
    pub password: Secret<String>,
    /// The new organisation's name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub organization_name: String,
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

/// The signed-in user, their organisation and their role in it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The signed-in user.
    pub user: User,
    /// Their organisation.
    pub organization: Organization,
    /// Their role in it.
    pub role: Role,
}
