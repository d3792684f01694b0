//! Roles on the dashboard's routes: each operation declares the least role it needs in its
//! `x-required-role` annotation (`viewer`, `developer`, `admin` or `owner`); the table is read
//! from the finished spec at start-up and enforced here, in the dashboard route group's one
//! layer ([`guard`]) — as `x-required-scope` is for `/v1` in [`crate::pipeline`].
//!
//! The guard authenticates the session (401 `missing_credentials` / `invalid_session`), then
//! compares the member's role in the session's organisation with the operation's (403
//! `insufficient_role`, naming the role needed), then hands the handler a
//! [`DashboardSession`]. A few operations check more than their declared role in the handler:
//! only owners may make, invite or remove owners.

use std::collections::HashMap;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::session::DashboardSession;
use super::types::Role;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The role each dashboard operation needs, by route template and method, and whether it
/// honours `Idempotency-Key` (it declares it: the POSTs that create).
#[derive(Debug, Default)]
pub struct RouteRoles(HashMap<String, Vec<(Method, Role, bool)>>);

impl RouteRoles {
    /// Builds the table from the finished OpenAPI document. Panics if a session operation
    /// declares no valid role: `openapi::check` refuses such a document first.
    pub fn from_document(doc: &Value) -> Self {
        let mut table: HashMap<String, Vec<(Method, Role, bool)>> = HashMap::new();
        for (method, path, op) in crate::openapi::operations(doc) {
            if !crate::openapi::takes_session(op) {
                continue;
            }
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
            let role = required_role(op)
                .unwrap_or_else(|| panic!("{method} {path} declares no valid x-required-role"));
            let idempotent = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey");
            table.entry(path.to_owned()).or_default().push((method, role, idempotent));
        }
        Self(table)
    }

    /// The role `method` on `route` needs; `None` when it is not a dashboard operation.
    pub fn get(&self, method: &Method, route: &str) -> Option<Role> {
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.0.get(route)?.iter().find(|(m, _, _)| m == method).map(|(_, role, _)| *role)
    }

    /// Whether `method` on `route` runs under its `Idempotency-Key`.
    pub fn idempotent(&self, method: &Method, route: &str) -> bool {
        self.0.get(route).is_some_and(|ops| ops.iter().any(|(m, _, idempotent)| m == method && *idempotent))
    }
}

/// The role an operation of the spec declares.
pub fn required_role(op: &Value) -> Option<Role> {
    op.get("x-required-role").and_then(Value::as_str).and_then(Role::parse)
}

/// 403 `insufficient_role`: what the operation needs, and what the member has.
pub fn insufficient_role(needed: Role, held: Role) -> ApiError {
    ApiError::new(
        ErrorCode::InsufficientRole,
        format!(
            "This needs {} {needed} (or a higher role) in the organisation; you are {} {held}.",
            needed.article(),
            held.article()
        ),
    )
}

/// Refuses unless `held` includes `needed` (for the checks a handler makes beyond its
/// declared role).
pub fn require(held: Role, needed: Role) -> Result<(), ApiError> {
    if held.includes(needed) { Ok(()) } else { Err(insufficient_role(needed, held)) }
}

/// Middleware, the dashboard route group's layer (see [`crate::router::Audience::Dashboard`]):
/// the session, then the role. A method the route does not have passes through to the
/// router's 405.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(route) = req.extensions().get::<MatchedPath>().map(|r| r.as_str().to_owned()) else {
        return next.run(req).await;
    };
    let Some(needed) = state.route_roles.get(req.method(), &route) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let session = match DashboardSession::authenticate(&parts, &state).await {
        Ok(session) => session,
        Err(e) => return e.into_response(),
    };
    if !session.role.includes(needed) {
        return insufficient_role(needed, session.role).into_response();
    }
    // A POST that creates, with `Idempotency-Key`, runs once per key and user: a retried
    // "create" (a key, an invitation, an endpoint) makes one thing, and the retry gets its
    // answer.
    let idempotency_key = match state.route_roles.idempotent(&parts.method, &route) {
        false => None,
        true => match crate::metering::idempotency::key_of(&parts.headers) {
            Ok(key) => key,
            Err(e) => return e.into_response(),
        },
    };
    let user_id = session.user_id.clone();
    let organization_id = session.organization_id.clone();
    parts.extensions.insert(session);
    let req = Request::from_parts(parts, body);
    match idempotency_key {
        None => next.run(req).await,
        Some(idempotency_key) => {
            let method = req.method().clone();
            let scope = crate::metering::idempotency::Scope {
                organization_id: &organization_id,
                key_id: &user_id,
                method: method.as_str(),
                route: &route,
                idempotency_key: &idempotency_key,
            };
            let limit = state.config.max_json_bytes.max(crate::pipeline::IDEMPOTENT_BODY_LIMIT);
            Box::pin(crate::metering::idempotency::run(&state.db, &state.master_key, scope, limit, req, next))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_includes_the_ones_below_it() {
        use Role::*;
        for (held, needed, allowed) in [
            (Owner, Owner, true),
            (Owner, Viewer, true),
            (Admin, Owner, false),
            (Admin, Developer, true),
            (Developer, Admin, false),
            (Developer, Developer, true),
            (Viewer, Developer, false),
            (Viewer, Viewer, true),
        ] {
            assert_eq!(held.includes(needed), allowed, "{held} for {needed}");
        }
    }

    #[test]
    fn every_session_operation_declares_a_role() {
        let doc = crate::openapi::document();
        let roles = RouteRoles::from_document(&doc);
        assert_eq!(roles.get(&Method::POST, "/api/developer/apikeys"), Some(Role::Developer));
        assert_eq!(roles.get(&Method::GET, "/api/developer/apikeys"), Some(Role::Viewer));
        assert_eq!(roles.get(&Method::GET, "/api/developer/audit-log"), Some(Role::Admin));
        assert_eq!(roles.get(&Method::GET, "/v1/links"), None);
    }

    #[test]
    fn refusals_name_the_role_needed() {
        let e = insufficient_role(Role::Developer, Role::Viewer);
        assert_eq!(e.code(), ErrorCode::InsufficientRole);
        assert!(e.detail().contains("a developer"), "{}", e.detail());
    }
}
