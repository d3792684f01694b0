//! The `/v1` request pipeline, top to bottom. Every request to a `/v1` route passes here
//! before its handler runs:
//!
//! 1. **Request id** — assigned by the outermost layer (`http::request_id`).
//! 2. **Credentials** — `Authorization: Bearer ptk_…` or `x-api-key: ptk_…`; none is 401
//!    `missing_credentials`; both, naming different keys, is 400 `invalid_request`.
//! 3. **Key checks**, in order, each with its own code: format and checksum
//!    (`invalid_api_key`), unknown (`invalid_api_key`), revoked (`key_revoked`), expired
//!    (`key_expired`), blocked (`key_blocked`), IP allowlist (`ip_not_allowed`) — see
//!    [`keys::Verifier`] — then the operation's scope (`insufficient_scope`, naming it).
//!    The scope each operation needs is its `x-required-scope` in the spec: the handler's
//!    annotation is the one place it is written.
//! 4. **Rate limit** — the key's `rate_limit_rpm` (GCRA); then the organisation's **monthly
//!    quota**. Every response from here on carries `x-ratelimit-*`, `RateLimit-Policy`,
//!    `RateLimit` and `x-api-calls-remaining`; 429 `rate_limited` / `quota_exceeded` otherwise.
//! 5. **Idempotency** — `POST`/`PATCH` with `Idempotency-Key` run at most once
//!    ([`crate::metering::idempotency`]).
//! 6. The **handler** runs with an [`ApiPrincipal`] — organisation, key, scopes, domains — and
//!    never reads credentials itself. Handlers that touch domains check the domain scope
//!    (`domain_not_allowed`) with [`ApiPrincipal::allows_domain`]. It runs in a task of its
//!    own ([`crate::http::in_own_task`]): its database wake-ups do not re-poll the layers.
//! 7. The **request log** records the request — refused ones too — off the request path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::http::RequestId;
use crate::http::client_ip::client_ip;
use crate::keys::{self, KeyRecord, Refusal, RequiredScope};
use crate::metering::{self, LogEntry, Refused, idempotency, quota};
use crate::secret::Secret;
use crate::state::AppState;
use crate::time::Timestamp;

/// The caller of a `/v1` operation: a verified API key.
#[derive(Debug, Clone)]
pub struct ApiPrincipal(Arc<KeyRecord>);

impl ApiPrincipal {
    pub fn key(&self) -> &KeyRecord {
        &self.0
    }

    /// Whether the key may act on `hostname` (an empty domain scope allows every domain).
    pub fn allows_domain(&self, hostname: &str) -> bool {
        self.0.domains.is_empty() || self.0.domains.iter().any(|d| d == hostname)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ApiPrincipal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a /v1 handler ran without the /v1 pipeline"))
    }
}

/// The scope each `/v1` operation needs, read from the spec's `x-required-scope`.
#[derive(Debug, Default)]
pub struct RouteScopes(HashMap<String, Vec<Operation>>);

/// One `/v1` operation: its scope, and its method and route template as the request log
/// stores them (shared, so that logging a request copies no string).
#[derive(Debug)]
struct Operation {
    method: Method,
    scope: RequiredScope,
    method_name: Arc<str>,
    route: Arc<str>,
}

impl RouteScopes {
    /// Builds the table from the finished OpenAPI document. Panics if a `/v1` operation does
    /// not declare a valid scope: `openapi::check` refuses such a document first.
    pub fn from_document(doc: &Value) -> Self {
        let mut table: HashMap<String, Vec<Operation>> = HashMap::new();
        for (method, path, op) in crate::openapi::operations(doc) {
            if !crate::openapi::takes_api_key(op) {
                continue;
            }
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
            let scope = op["x-required-scope"]
                .as_str()
                .and_then(RequiredScope::parse)
                .unwrap_or_else(|| panic!("{method} {path} declares no valid x-required-scope"));
            let operation =
                Operation { method_name: method.as_str().into(), method, scope, route: path.into() };
            table.entry(path.to_owned()).or_default().push(operation);
        }
        Self(table)
    }

    fn operation(&self, method: &Method, route: &str) -> Option<&Operation> {
        let operations = self.0.get(route)?;
        let method = if method == Method::HEAD { &Method::GET } else { method };
        operations.iter().find(|o| o.method == method)
    }

    #[cfg(test)]
    fn get(&self, method: &Method, route: &str) -> Option<RequiredScope> {
        self.operation(method, route).map(|o| o.scope)
    }
}

/// Middleware, the `/v1` route group's layer (see [`crate::router::Audience::V1`]): runs the
/// pipeline for the request. A method the route does not have passes through to the router's
/// 405.
pub async fn v1(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(route) = req.extensions().get::<MatchedPath>() else { return next.run(req).await };
    let Some(operation) = state.route_scopes.operation(req.method(), route.as_str()) else {
        // Wrong method on a /v1 path: the router answers 405.
        return next.run(req).await;
    };
    let started = Instant::now();
    let ip = client_ip(req.extensions(), req.headers(), &state.config.trusted_proxies);
    let request_id = req.extensions().get::<RequestId>().map(RequestId::shared);
    let method = if req.method() == Method::HEAD { Arc::from("HEAD") } else { operation.method_name.clone() };
    let path = req.uri().path().to_owned();
    let idempotency_key =
        req.headers().get(idempotency::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);

    let at = state.db.now();
    let outcome =
        run(&state, req, next, Call { route: &operation.route, required: operation.scope, ip, at }).await;

    // 7. The request log — every request, refused ones included. With strict durability the
    //    answer waits until its row is committed.
    let (committed, written) = match state.config.metering_durability {
        crate::metering::Durability::Strict => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            (Some(tx), Some(rx))
        }
        crate::metering::Durability::Batched => (None, None),
    };
    state
        .request_log
        .record(LogEntry {
            id: request_id.unwrap_or_else(|| RequestId::generate().shared()),
            organization_id: outcome.key.as_ref().map(|k| k.organization_id.clone()),
            key_id: outcome.key.as_ref().map(|k| k.id.clone()),
            method,
            route: operation.route.clone(),
            path,
            status: outcome.response.status().as_u16(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            ip,
            idempotency_key: idempotency_key.filter(|k| k.len() <= 255),
            at,
            billable: outcome.billable,
            committed,
        })
        .await;
    if let Some(written) = written
        && written.await.is_err()
    {
        tracing::error!("the request log stopped before this request's entry was committed");
    }
    outcome.response
}

/// What the pipeline did with a request.
struct Outcome {
    response: Response,
    /// The key, when one was identified (also for most refusals).
    key: Option<Arc<KeyRecord>>,
    /// Whether the call was counted against the monthly quota.
    billable: bool,
}

/// What the pipeline knows of a call before it runs.
struct Call<'a> {
    route: &'a str,
    required: RequiredScope,
    ip: IpAddr,
    /// The request's time: what expiry is checked against, the month its quota is spent
    /// in, its `created_at` in the log.
    at: Timestamp,
}

/// Steps 2–6.
async fn run(state: &AppState, mut req: Request, next: Next, call: Call<'_>) -> Outcome {
    let Call { route, required, ip, at } = call;
    let refused = |error: ApiError, key: Option<Arc<KeyRecord>>| Outcome {
        response: error.into_response(),
        key,
        billable: false,
    };

    // 2–3. Credentials and key checks.
    let key = match authenticate(&state.keys, req.headers(), ip, required, at).await {
        Ok(key) => key,
        Err(Refusal { error, key }) => return refused(error, key),
    };
    let idempotency_key = match idempotency::key_of(req.headers()) {
        Ok(k) => k,
        Err(error) => return refused(error, Some(key)),
    };

    // 4. The key's rate limit, then the organisation's monthly quota (a rate-limited call
    //    spends no quota). Their headers go onto whatever answer leaves.
    let (rate, remaining) = match metering::admit(&state.rate_limits, &state.quotas, &key, at).await {
        Ok(admitted) => admitted,
        Err(Refused::RateLimited(error)) => {
            let mut outcome = refused(error, Some(key.clone()));
            if let Some(remaining) = state.quotas.peek(&key.organization_id) {
                quota::apply_remaining(outcome.response.headers_mut(), remaining);
            }
            return outcome;
        }
        Err(Refused::Quota { error, rate }) => {
            let mut outcome = refused(error, Some(key.clone()));
            rate.apply(outcome.response.headers_mut());
            return outcome;
        }
        Err(Refused::Unavailable(error)) => return refused(error, Some(key.clone())),
    };

    // 5–6. The handler — under its idempotency key for POST and PATCH.
    req.extensions_mut().insert(ApiPrincipal(key.clone()));
    let method = req.method().clone();
    let mut response = match idempotency_key {
        Some(idempotency_key) if method == Method::POST || method == Method::PATCH => {
            let scope = idempotency::Scope {
                organization_id: &key.organization_id,
                key_id: &key.id,
                method: method.as_str(),
                route,
                idempotency_key: &idempotency_key,
            };
            // Boxed: the idempotent path's future is large, and the pipeline's own future is
            // moved through every layer above it.
            Box::pin(idempotency::run(
                &state.db,
                &state.master_key,
                scope,
                state.config.max_json_bytes.max(IDEMPOTENT_BODY_LIMIT),
                req,
                next,
            ))
            .await
        }
        _ => crate::http::in_own_task(next.run(req)).await,
    };
    rate.apply(response.headers_mut());
    quota::apply_remaining(response.headers_mut(), remaining);
    Outcome { response, key: Some(key), billable: true }
}

/// The largest body an idempotent request may have (it is buffered to fingerprint it).
pub(crate) const IDEMPOTENT_BODY_LIMIT: usize = 11 * 1024 * 1024;

async fn authenticate(
    verifier: &keys::Verifier,
    headers: &HeaderMap,
    ip: IpAddr,
    required: RequiredScope,
    at: Timestamp,
) -> Result<Arc<KeyRecord>, Refusal> {
    let presented = credentials(headers).map_err(|error| Refusal { error, key: None })?;
    let key = verifier.verify(presented.expose(), ip, at).await?;
    if let RequiredScope::Scope(scope) = required
        && !key.scopes.grants(scope)
    {
        let error = ApiError::new(
            ErrorCode::InsufficientScope,
            format!("This operation needs the `{}` scope, which the API key does not have.", scope.as_str()),
        );
        return Err(Refusal { error, key: Some(key) });
    }
    Ok(key)
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The presented key, from `Authorization: Bearer` or `x-api-key`.
fn credentials(headers: &HeaderMap) -> Result<Secret<String>, ApiError> {
    let bearer = match crate::http::single_header(headers, &header::AUTHORIZATION)? {
        None => None,
        Some(value) => {
            let value = value.to_str().unwrap_or("");
            let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "));
            match token.map(str::trim).filter(|t| !t.is_empty()) {
                Some(token) => Some(token),
                None => {
                    return Err(ApiError::unauthorized(
                        ErrorCode::InvalidApiKey,
                        "The Authorization header must be `Bearer ptk_…`.",
                    ));
                }
            }
        }
    };
    let header_key =
        crate::http::single_header(headers, &X_API_KEY)?.map(|v| v.to_str().unwrap_or("").trim());
    match (bearer, header_key) {
        (None, None) => Err(ApiError::unauthorized(
            ErrorCode::MissingCredentials,
            "Send an API key: `Authorization: Bearer ptk_…` or `x-api-key: ptk_…`.",
        )),
        (Some(a), Some(b)) if a != b => Err(ApiError::bad_request(
            "The Authorization and x-api-key headers name different keys: send one of them.",
        )),
        (Some(key), _) | (None, Some(key)) => Ok(Secret::new(key.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_either_header_and_must_agree() {
        let mut headers = HeaderMap::new();
        assert_eq!(credentials(&headers).unwrap_err().code(), ErrorCode::MissingCredentials);
        headers.insert("x-api-key", "ptk_a".parse().unwrap());
        assert_eq!(credentials(&headers).unwrap().expose(), "ptk_a");
        headers.insert("authorization", "Bearer ptk_a".parse().unwrap());
        assert_eq!(credentials(&headers).unwrap().expose(), "ptk_a");
        headers.insert("authorization", "Bearer ptk_b".parse().unwrap());
        assert_eq!(credentials(&headers).unwrap_err().code(), ErrorCode::InvalidRequest);
        headers.remove("x-api-key");
        headers.insert("authorization", "Basic dTpw".parse().unwrap());
        assert_eq!(credentials(&headers).unwrap_err().code(), ErrorCode::InvalidApiKey);
    }

    #[test]
    fn a_repeated_credential_header_is_refused_not_read_first_wins() {
        for name in ["authorization", "x-api-key"] {
            let value = if name == "authorization" { "Bearer ptk_" } else { "ptk_" };
            let mut headers = HeaderMap::new();
            headers.append(name, format!("{value}a").parse().unwrap());
            headers.append(name, format!("{value}b").parse().unwrap());
            let err = credentials(&headers).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest, "{name}");
            assert!(err.detail().contains(name), "{}", err.detail());
        }
    }

    #[test]
    fn every_v1_operation_in_the_spec_declares_its_scope() {
        let table = RouteScopes::from_document(&crate::openapi::document());
        assert_eq!(table.get(&Method::GET, "/v1/apikeys"), Some(RequiredScope::Scope(keys::Scope::KeysRead)));
        assert_eq!(table.get(&Method::HEAD, "/v1/key"), Some(RequiredScope::AnyValidKey));
        assert_eq!(table.get(&Method::PUT, "/v1/key"), None);
    }
}
