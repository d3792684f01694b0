//! The shapes of the team routes: members, invitations, the organisation's settings.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::Role;
use crate::secret::Secret;
use crate::time::Timestamp;

/// A member of the organisation: a user and their role in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Member {
    /// The user (`usr_…`).
    #[schema(example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub user_id: String,
    /// Their sign-in email.
    #[schema(example = "grace@example.com")]
    pub email: String,
    /// Their role here.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// When they joined.
    #[schema(value_type = String, format = DateTime, example = "2026-11-01T10:00:00Z")]
    pub joined_at: Timestamp,
}

/// A new role for a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "developer"}))]
pub struct UpdateMemberRequest {
    /// The role to give. Only owners may make or unmake owners; the last owner stays one.
    pub role: Role,
}

/// A pending invitation. Its token is shown only when it is created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Invitation {
    /// `inv_…`
    #[schema(example = "inv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// Who may accept it: the email they sign up or sign in with.
    #[schema(example = "grace@example.com")]
    pub email: String,
    /// The role they get.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Who invited them (`usr_…`).
    #[schema(example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub invited_by: String,
    /// When it was made.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:30:00Z")]
    pub created_at: Timestamp,
    /// When it stops working: 7 days after it was made.
    #[schema(value_type = String, format = DateTime, example = "2026-12-08T09:30:00Z")]
    pub expires_at: Timestamp,
}

/// Invite someone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "grace@example.com", "role": "developer"}))]
pub struct CreateInvitationRequest {
    /// Their email: they accept by signing up or signing in with it.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The role they get. Only owners may invite owners.
    pub role: Role,
}

/// A new invitation and, this once, its token and link.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct InvitationCreated {
    /// The invitation token (`pti_…`). Shown here only; Portico keeps its SHA-256. Send it
    /// (or `url`) to the person invited.
    #[schema(example = "pti_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR")]
    pub token: String,
    /// The dashboard link that accepts it (the token is in the fragment, which browsers never
    /// send to a server).
    #[schema(
        example = "https://portico.example.com/#/join?token=pti_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR"
    )]
    pub url: String,
    /// The invitation.
    pub invitation: Invitation,
}

impl std::fmt::Debug for InvitationCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationCreated")
            .field("token", &"[redacted]")
            .field("invitation", &self.invitation)
            .finish()
    }
}

/// Accept an invitation as the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "pti_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR"}))]
pub struct AcceptInvitationRequest {
    /// The invitation token (`pti_…`).
    #[schema(value_type = String)]
    pub token: Secret<String>,
}

/// The organisation's settings. `null`: the deployment's default, shown in `defaults`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganizationSettings {
    /// `org_…`
    #[schema(example = "org_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The organisation's name.
    #[schema(example = "Acme Links")]
    pub name: String,
    /// `/v1` calls per calendar month (UTC); `null`: the deployment's default.
    #[schema(required = true, example = 1_000_000)]
    pub monthly_quota: Option<i64>,
    /// Requests per minute for keys without their own `rate_limit_rpm`; `null`: the
    /// deployment's default.
    #[schema(required = true, example = 600)]
    pub default_rate_limit_rpm: Option<i64>,
    /// The deployment's defaults, which apply where the settings are `null`.
    pub defaults: DeploymentDefaults,
    /// When the organisation was created.
    #[schema(value_type = String, format = DateTime, example = "2026-11-01T10:00:00Z")]
    pub created_at: Timestamp,
    /// The settings' version, also the `ETag`: send it in `If-Match` to change them only if
    /// nobody else has meanwhile.
    #[schema(example = 3, minimum = 1)]
    pub version: i64,
}

/// What applies where an organisation sets nothing of its own.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentDefaults {
    /// `/v1` calls per month.
    #[schema(example = 100_000)]
    pub monthly_quota: u64,
    /// Requests per minute per key.
    #[schema(example = 60)]
    pub rate_limit_rpm: u32,
}

/// Changes to the organisation's settings. Absent fields stay as they are; `null` returns
/// `monthly_quota` or `default_rate_limit_rpm` to the deployment's default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Links (EU)", "monthly_quota": 2_000_000, "default_rate_limit_rpm": null}))]
pub struct UpdateOrganizationRequest {
    /// A new name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    /// `/v1` calls per month, 0–10¹²; `null`: the deployment's default. Takes effect at once.
    pub monthly_quota: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    /// Requests per minute (1–1000000) for keys without their own limit; `null`: the
    /// deployment's default.
    pub default_rate_limit_rpm: Option<Option<i64>>,
}

/// One page of members or invitations.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamListParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}
