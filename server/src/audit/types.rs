//! The shapes of the audit log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::time::Timestamp;

crate::wire_enum! {
    /// What an audit entry records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    pub enum AuditAction {
        /// An organisation was created at sign-up.
        OrganizationCreated = "organization.created",
        /// The organisation's settings (name, quota, default rate limit) changed.
        OrganizationUpdated = "organization.updated",
        /// An API key was created.
        KeyCreated = "key.created",
        /// An API key's settings changed (name, tags, domains, IP allowlist, expiry, rate limit).
        KeyUpdated = "key.updated",
        /// An API key was blocked (with any other changes made at the same time).
        KeyBlocked = "key.blocked",
        /// An API key was unblocked.
        KeyUnblocked = "key.unblocked",
        /// An API key got a new secret.
        KeyRotated = "key.rotated",
        /// An API key was revoked.
        KeyRevoked = "key.revoked",
        /// Someone was invited to the organisation.
        InvitationCreated = "invitation.created",
        /// A pending invitation was revoked.
        InvitationRevoked = "invitation.revoked",
        /// An invitation was accepted: its user joined the organisation.
        InvitationAccepted = "invitation.accepted",
        /// A member's role changed.
        MemberRoleChanged = "member.role_changed",
        /// A member was removed from the organisation.
        MemberRemoved = "member.removed",
        /// A custom domain was registered.
        DomainCreated = "domain.created",
        /// A custom domain was removed.
        DomainDeleted = "domain.deleted",
        /// A webhook endpoint was created.
        WebhookCreated = "webhook.created",
        /// A webhook endpoint's settings changed (its secret is never recorded).
        WebhookUpdated = "webhook.updated",
        /// A webhook endpoint was deleted.
        WebhookDeleted = "webhook.deleted",
        /// A member signed in to the dashboard.
        SignInSucceeded = "sign_in.succeeded",
        /// A sign-in with a member's email failed (wrong password). The actor is `anonymous`;
        /// `changes.email_sha256` holds the SHA-256 (hex) of the email tried.
        SignInFailed = "sign_in.failed",
    }
}

crate::wire_enum! {
    /// Who acted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ActorType {
        /// A dashboard user (`usr_…`).
        User = "user",
        /// An API key (`key_…`), through `/v1`.
        ApiKey = "api_key",
        /// Portico itself (housekeeping).
        System = "system",
        /// Someone not signed in (a failed sign-in: whoever tried is not known).
        Anonymous = "anonymous",
    }
}

crate::wire_enum! {
    /// Through what the change was made.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum Source {
        /// The dashboard's routes (`/api/developer/*`), with a session.
        Dashboard = "dashboard",
        /// The public API (`/v1`), with a key.
        Api = "api",
        /// Portico itself.
        System = "system",
    }
}

crate::wire_enum! {
    /// What kind of thing an entry is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ResourceType {
        Organization = "organization",
        ApiKey = "api_key",
        Invitation = "invitation",
        /// A user's membership of the organisation (its id is the user's).
        Member = "member",
        Domain = "domain",
        WebhookEndpoint = "webhook_endpoint",
        /// A dashboard user (sign-ins).
        User = "user",
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    /// `user`, `api_key`, `system` or `anonymous`.
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The user (`usr_…`) or key (`key_…`); `null` for `system` and `anonymous`.
    #[schema(required = true, example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: Option<String>,
}

impl Actor {
    pub fn user(id: &str) -> Self {
        Self { kind: ActorType::User, id: Some(id.to_owned()) }
    }
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Resource {
    /// The kind of thing.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// Its id (`key_…`, `inv_…`, `usr_…`, `dom_…`, `whk_…`, `org_…`).
    #[schema(example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
}

impl Resource {
    pub fn new(kind: ResourceType, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }
}

/// One audit entry: an action, who took it, from where, on what, and what it changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "aud_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
    "action": "key.updated",
    "actor": {"type": "user", "id": "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"},
    "source": "dashboard",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "request_id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
    "resource": {"type": "api_key", "id": "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"},
    "changes": {"name": ["Backend", "Production backend"], "rate_limit_rpm": [null, 600]},
    "created_at": "2026-12-01T09:30:00Z",
    "sequence": 42
}))]
pub struct AuditEntry {
    /// `aud_…`; ids sort by time.
    pub id: String,
    /// What happened.
    pub action: AuditAction,
    /// Who did it.
    pub actor: Actor,
    /// Through the dashboard, the API, or Portico itself.
    pub source: Source,
    /// The client address (`null` for `system`).
    #[schema(required = true)]
    pub ip: Option<String>,
    /// The client's `User-Agent`, cut at 256 characters; `null` when none was sent.
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// The request that made the change (`x-request-id`); `null` for `system`.
    #[schema(required = true)]
    pub request_id: Option<String>,
    /// What it was done to.
    pub resource: Resource,
    /// What changed: field → `[before, after]` (`null` for a field that did not exist
    /// before or no longer does). Never holds a secret.
    #[schema(value_type = Object, additional_properties = true)]
    pub changes: BTreeMap<String, Value>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The entry's place in the organisation's log, in the order entries were committed
    /// (1, 2, 3…). `created_at` is stamped when a change starts, so two changes made at
    /// once can commit in the other order; `sequence` cannot. Poll with `after` set to the
    /// last `sequence` you have, and you miss no entry.
    #[schema(example = 42, minimum = 1)]
    pub sequence: i64,
}

/// The audit log's filters and page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditLogParams {
    /// How many entries to return, 1–100 (ignored for NDJSON, which streams them all).
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many entries to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Only this action.
    #[param(value_type = Option<AuditAction>)]
    pub action: Option<AuditAction>,
    /// Only what this user (`usr_…`) or key (`key_…`) did.
    pub actor_id: Option<String>,
    /// Only entries about this resource (any id: `key_…`, `usr_…`, `whk_…`…).
    pub resource_id: Option<String>,
    /// Only entries made at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub from: Option<Timestamp>,
    /// Only entries made before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-02T00:00:00Z")]
    pub to: Option<Timestamp>,
    /// Only entries committed after the one with this `sequence`: the cursor to poll with
    /// (entries appear in `sequence` order as they commit, so none is ever skipped).
    #[param(minimum = 0, example = 42)]
    pub after: Option<i64>,
}
