//! The audit log: who changed what, when, from where — one append-only entry per change to
//! keys, members, invitations, domains, webhook endpoints and the organisation's settings,
//! and per sign-in.
//!
//! An entry is written in the same transaction as the change it records (as events are, see
//! [`crate::events`]): an entry exists if and only if its change was committed. Handlers get
//! an [`AuditContext`] (the actor, where the request came from) and give the store a
//! [`NewAuditEntry`]; the store writes it with [`insert_audit!`](crate::insert_audit) inside
//! its transaction. `changes` holds field → `[before, after]` for fields that are not secret:
//! no entry ever holds a key, token, password or webhook secret, nor more of a key than its
//! display prefix.
//!
//! Entries are kept for the deployment's retention (`PORTICO_AUDIT_RETENTION_DAYS`, 365 days by
//! default) and then purged. The routes are in [`routes`], the SQL in [`store`].

mod routes;
pub mod store;
mod types;

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;

pub use routes::*;
pub use types::*;

use crate::accounts::DashboardSession;
use crate::error::ApiError;
use crate::http::RequestId;
use crate::http::client_ip::client_ip;
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;
use crate::time::Timestamp;

/// The longest user agent kept (longer ones are cut).
const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a request came from: its client address, user agent and request id.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestOrigin {
    fn of(parts: &Parts, state: &AppState) -> Self {
        let ip = client_ip(&parts.extensions, &parts.headers, &state.config.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect::<String>())
            .filter(|ua| !ua.is_empty());
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.as_str().to_owned());
        Self { ip: Some(ip.to_string()), user_agent, request_id }
    }
}

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, state))
    }
}

/// Who is making a change and from where: what every audit entry of the request shares.
/// Extracted from the dashboard session (a user, `dashboard`) or the `/v1` key (`api`).
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: Actor,
    pub source: Source,
    pub origin: RequestOrigin,
}

impl AuditContext {
    /// A user acting through the dashboard (sign-up and sign-in, before there is a session).
    pub fn user(user_id: &str, origin: RequestOrigin) -> Self {
        Self { actor: Actor::user(user_id), source: Source::Dashboard, origin }
    }

    /// Someone not signed in (a failed sign-in), through the dashboard's routes.
    pub fn anonymous(origin: RequestOrigin) -> Self {
        Self { actor: Actor { kind: ActorType::Anonymous, id: None }, source: Source::Dashboard, origin }
    }

    /// The entry for `action` on `resource`, made now (`at`).
    pub fn entry(
        &self,
        organization_id: &str,
        action: AuditAction,
        resource: Resource,
        changes: Changes,
        at: Timestamp,
    ) -> NewAuditEntry {
        NewAuditEntry {
            id: Id::generate_at(IdKind::AuditEntry, at).into_string(),
            organization_id: organization_id.to_owned(),
            action: action.as_str(),
            actor_type: self.actor.kind.as_str(),
            actor_id: self.actor.id.clone(),
            source: self.source.as_str(),
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.clone(),
            request_id: self.origin.request_id.clone(),
            resource_type: resource.kind.as_str(),
            resource_id: resource.id,
            changes: changes.to_json(),
            created_at: at,
        }
    }

    /// The actor's id as the `…_by` fields of a key hold it (`usr_…` or `key_…`).
    pub fn actor_id(&self) -> &str {
        self.actor.id.as_deref().unwrap_or("system")
    }
}

impl FromRequestParts<AppState> for AuditContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let origin = RequestOrigin::of(parts, state);
        if let Some(session) = parts.extensions.get::<DashboardSession>() {
            return Ok(Self { actor: Actor::user(&session.user_id), source: Source::Dashboard, origin });
        }
        if let Some(principal) = parts.extensions.get::<ApiPrincipal>() {
            let actor = Actor { kind: ActorType::ApiKey, id: Some(principal.key().id.to_string()) };
            return Ok(Self { actor, source: Source::Api, origin });
        }
        Err(ApiError::internal("an audited handler ran without a session or an API key"))
    }
}

/// What a change did, field by field: name → `[before, after]`. Only fields that changed
/// are kept; secrets are never given to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(BTreeMap<&'static str, (Value, Value)>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` going from `before` to `after`, if they differ.
    pub fn field(mut self, field: &'static str, before: impl Serialize, after: impl Serialize) -> Self {
        let (before, after) = (to_value(before), to_value(after));
        if before != after {
            self.0.insert(field, (before, after));
        }
        self
    }

    /// Records a field of something new: `[null, value]`.
    pub fn created(self, field: &'static str, value: impl Serialize) -> Self {
        self.field(field, Value::Null, value)
    }

    /// Records a field of something removed: `[value, null]`.
    pub fn removed(self, field: &'static str, value: impl Serialize) -> Self {
        self.field(field, value, Value::Null)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn to_json(&self) -> String {
        let map: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(k, (b, a))| ((*k).to_owned(), Value::Array(vec![b.clone(), a.clone()])))
            .collect();
        Value::Object(map).to_string()
    }
}

fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub id: String,
    pub organization_id: String,
    pub action: &'static str,
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub source: &'static str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub changes: String,
    pub created_at: Timestamp,
}

/// Takes the organisation's next audit sequence number, for [`insert_audit!`]. The counter
/// is on the organisation's row, so the transaction holds that row (PostgreSQL) — or the
/// database's write lock (SQLite) — until it commits: `seq` follows commit order.
pub const NEXT_SEQ: &str =
    "UPDATE organizations SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq";

/// The insert, for [`insert_audit!`](crate::insert_audit) inside a caller's transaction.
pub const INSERT: &str = "INSERT INTO audit_log (organization_id, id, action, actor_type, actor_id, source, ip, \
     user_agent, request_id, resource_type, resource_id, changes, created_at, seq) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// Writes an audit entry on a connection or transaction of either backend:
/// `insert_audit!(&mut *tx, &entry)?`. It takes the organisation's next sequence number
/// first ([`NEXT_SEQ`]): write it last in the transaction, so the organisation's row is held
/// only for the commit.
#[macro_export]
macro_rules! insert_audit {
    ($conn:expr, $entry:expr) => {{
        let conn = $conn;
        let entry: &$crate::audit::NewAuditEntry = $entry;
        match sqlx::query_scalar::<_, i64>($crate::audit::NEXT_SEQ)
            .bind(&entry.organization_id)
            .fetch_one(&mut *conn)
            .await
        {
            Err(e) => Err(e),
            Ok(seq) => {
                sqlx::query($crate::audit::INSERT)
                    .bind(&entry.organization_id)
                    .bind(&entry.id)
                    .bind(entry.action)
                    .bind(entry.actor_type)
                    .bind(&entry.actor_id)
                    .bind(entry.source)
                    .bind(&entry.ip)
                    .bind(&entry.user_agent)
                    .bind(&entry.request_id)
                    .bind(entry.resource_type)
                    .bind(&entry.resource_id)
                    .bind(&entry.changes)
                    .bind(entry.created_at)
                    .bind(seq)
                    .execute(conn)
                    .await
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_keep_only_what_changed_as_before_and_after() {
        let changes = Changes::new()
            .field("name", "old", "new")
            .field("blocked", false, false)
            .created("scopes", ["links:read"])
            .removed("role", "viewer");
        assert_eq!(
            serde_json::from_str::<Value>(&changes.to_json()).unwrap(),
            serde_json::json!({"name": ["old", "new"], "scopes": [null, ["links:read"]], "role": ["viewer", null]})
        );
        assert!(Changes::new().field("x", 1, 1).is_empty());
    }
}
