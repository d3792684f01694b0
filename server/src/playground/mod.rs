//! The playground: `POST /api/developer/playground/test` runs a `/v1` request on behalf of a
//! signed-in dashboard user, with one of their organisation's stored keys unsealed and
//! injected server-side — so the browser never holds the key.
//!
//! The request runs in-process through the whole application (request id, metrics, the `/v1`
//! pipeline with its key checks, rate limit, quota, idempotency and request log), so it is
//! metered exactly like a direct call. The playground has its own per-user rate limit on top.
//! What it answers — status, headers, body, latency — never contains the injected key: the key
//! is scrubbed from the answer even if an endpoint were to echo it.

pub mod endpoint;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;
use utoipa::ToSchema;

use crate::accounts::DashboardSession;
use crate::error::{ApiError, ErrorCode, Validation};
use crate::http::extract::{ApiJson, is_multipart, multipart_error, open_multipart};
use crate::keys::store::current_sealed_secret;
use crate::links::import::MAX_IMPORT_BYTES;
use crate::state::AppState;

/// The largest answer the playground shows in full; a larger body is cut, and says so.
const MAX_SHOWN_BYTES: usize = 2 * 1024 * 1024;

/// The application the playground calls into: set once the router is built, cleared at
/// shutdown (the router holds the state that holds it).
#[derive(Default)]
pub struct InnerApp(RwLock<Option<Router>>);

impl InnerApp {
    pub fn set(&self, app: Router) {
        *self.0.write().expect("not poisoned") = Some(app);
    }

    pub fn clear(&self) {
        self.0.write().expect("not poisoned").take();
    }

    fn get(&self) -> Option<Router> {
        self.0.read().expect("not poisoned").clone()
    }
}

/// The methods the playground sends.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum PlaygroundMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl PlaygroundMethod {
    fn as_method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Patch => Method::PATCH,
            Self::Delete => Method::DELETE,
        }
    }
}

/// A request for the playground to run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "api_key_id": "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
    "method": "POST",
    "endpoint": "/v1/links",
    "headers": {"accept-language": "en"},
    "query": {},
    "body": {"url": "https://example.com/launch", "tags": ["playground"]}
}))]
pub struct PlaygroundRequest {
    /// The stored key to call with (`key_…`, one of the organisation's): unsealed and injected
    /// server-side; it never reaches the browser.
    pub api_key_id: String,
    /// The HTTP method of the call.
    pub method: PlaygroundMethod,
    /// A normalised path under `/v1/` (`/v1/links`, `/v1/links/lnk_…`), optionally with a
    /// query string. Anything else is 400 `endpoint_not_allowed`.
    #[schema(pattern = "^/v1/", example = "/v1/links")]
    pub endpoint: String,
    /// Extra request headers. Credentials, `host`, `content-length`, cookies and forwarding
    /// headers are refused: the playground sets those.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters, added to any query string in `endpoint`.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The JSON body, sent as `application/json`.
    #[serde(default)]
    pub body: Option<Value>,
}

/// The multipart form of a playground request with a file (for upload endpoints such as
/// `/v1/links/import`): the fields of the JSON form, `headers` and `query` as JSON objects,
/// and the file, sent on as the upload's `file` part.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlaygroundForm {
    /// The stored key to call with (`key_…`), as in the JSON form.
    api_key_id: String,
    /// The HTTP method of the call.
    method: PlaygroundMethod,
    /// A path under `/v1/` that takes an upload, e.g. `/v1/links/import`.
    endpoint: String,
    /// A JSON object of extra headers.
    headers: Option<String>,
    /// A JSON object of query parameters.
    query: Option<String>,
    /// The file, sent on as the call's `file` part (at most 10 MiB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// What the call answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "status_code": 201,
    "latency_ms": 4.2,
    "upstream_url": "http://127.0.0.1:8080/v1/links",
    "headers": {"content-type": "application/json", "x-request-id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N", "x-ratelimit-remaining": "599"},
    "body": {"id": "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N", "url": "https://example.com/launch"}
}))]
pub struct PlaygroundResponse {
    /// The status the API answered.
    pub status_code: u16,
    /// How long the call took inside the server, in milliseconds.
    pub latency_ms: f64,
    /// The public URL the same call would have had.
    pub upstream_url: String,
    /// The answer's headers (names lower-case; repeated headers joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// The answer's body: JSON when it was JSON, else text (`null` when empty).
    pub body: Value,
    /// Whether `body` was cut at 2 MiB.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// An uploaded file to pass on.
struct Upload {
    file_name: String,
    content_type: String,
    bytes: Bytes,
}

/// Headers the caller may not set: the playground sets credentials, framing and forwarding.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Try a request
///
/// Runs a `/v1` request with one of the organisation's stored keys, injected server-side,
/// through the whole `/v1` pipeline: authentication, scopes, rate limit, quota, idempotency
/// and the request log apply exactly as for a direct call (a revoked key answers 401 here
/// too). `endpoint` must be a normalised path under `/v1/` — absolute URLs, `//`, traversal
/// (`..`, encoded or not) and other paths are 400 `endpoint_not_allowed`. A POST without an
/// `Idempotency-Key` header gets one. Send JSON, or `multipart/form-data` with a `file` for
/// upload endpoints. The playground has its own rate limit per user (429 `rate_limited`).
/// It runs only keys the session's role may hold: a key with `audit:read` or `full_access`
/// needs an admin or owner (403 `insufficient_role`). The answer never contains the key.
#[utoipa::path(
    post,
    path = "/api/developer/playground/test",
    operation_id = "playground_test",
    tag = "playground",
    request_body(content(
        (PlaygroundRequest = "application/json"),
        (PlaygroundForm = "multipart/form-data"),
    )),
    responses((status = 200, description = "The call ran; this is what it answered.", body = PlaygroundResponse)),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["endpoint_not_allowed", "not_found", "rate_limited"]))),
)]
pub async fn playground_test(
    State(state): State<AppState>,
    session: DashboardSession,
    request: Request,
) -> Result<Json<PlaygroundResponse>, ApiError> {
    state.playground_limits.check(&Arc::from(session.user_id.as_str()), None).await?;
    let connect_info = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().cloned();
    let forwarded_for = request.headers().get("x-forwarded-for").cloned();
    let (call, upload) = read_call(request, &state).await?;

    let endpoint = endpoint::parse(&call.endpoint)?;
    let headers = check_headers(&call.headers)?;
    let (sealed, scopes) = current_sealed_secret(&state.db, &session.organization_id, &call.api_key_id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    // A developer cannot borrow an admin's key: the playground runs only keys the session's
    // role may hold, and so only the operations that role may use.
    crate::keys::scope::check_role_may_hold(session.role, &scopes, "use")?;
    let secret = state.master_key.unseal(&sealed).ok_or_else(|| {
        ApiError::internal(std::io::Error::other("a stored key does not open with the master key"))
    })?;
    let path_and_query = path_and_query(&endpoint, &call.query);
    let mut inner = inner_request(&call, upload, &path_and_query, &headers, secret.expose(), forwarded_for)?;
    // The caller's address: IP allowlists apply to the person at the dashboard.
    if let Some(connect_info) = connect_info {
        inner.extensions_mut().insert(connect_info);
    }

    let app = state
        .playground_app
        .get()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "The server is stopping."))?;
    let started = Instant::now();
    let response = app.oneshot(inner).await.expect("the router is infallible");
    let (parts, body) = response.into_parts();
    let (bytes, truncated) = match to_bytes(body, MAX_SHOWN_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::from_static(b"(the body is larger than 2 MiB and is not shown)"), true),
    };
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let (headers, body) = shown(&parts.headers, &bytes, truncated, secret.expose());
    Ok(Json(PlaygroundResponse {
        status_code: parts.status.as_u16(),
        latency_ms,
        upstream_url: format!("{}{path_and_query}", state.public.base_url),
        headers,
        body,
        truncated,
    }))
}

/// The endpoint's path with its own query and the call's `query` pairs appended.
fn path_and_query(endpoint: &endpoint::Endpoint, pairs: &BTreeMap<String, String>) -> String {
    let mut query = endpoint.query.clone().unwrap_or_default();
    if !pairs.is_empty() {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(pairs);
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&serializer.finish());
    }
    if query.is_empty() { endpoint.path.clone() } else { format!("{}?{query}", endpoint.path) }
}

/// The request as the browser would have sent it with the key: the caller's headers, the key
/// as a (sensitive) bearer token, an idempotency key for a POST without one, and the body —
/// the JSON, or the upload as a multipart form.
fn inner_request(
    call: &PlaygroundRequest,
    upload: Option<Upload>,
    path_and_query: &str,
    headers: &HeaderMap,
    key: &str,
    forwarded_for: Option<HeaderValue>,
) -> Result<axum::http::Request<Body>, ApiError> {
    let method = call.method.as_method();
    let mut builder = axum::http::Request::builder().method(method.clone()).uri(path_and_query);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let mut bearer = HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| ApiError::internal(std::io::Error::other("a stored key is not a header value")))?;
    bearer.set_sensitive(true);
    builder = builder.header(header::AUTHORIZATION, bearer);
    if method == Method::POST && !headers.contains_key("idempotency-key") {
        builder = builder.header("idempotency-key", format!("playground_{}", ulid::Ulid::new()));
    }
    if let Some(forwarded_for) = forwarded_for {
        builder = builder.header("x-forwarded-for", forwarded_for);
    }
    let body = match (upload, &call.body) {
        (Some(upload), _) => {
            let boundary = format!("portico-playground-{}", ulid::Ulid::new());
            builder =
                builder.header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
            Body::from(multipart_body(&boundary, &upload))
        }
        (None, Some(json)) => {
            if !headers.contains_key(header::CONTENT_TYPE) {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
            }
            Body::from(serde_json::to_vec(json).expect("a JSON value serialises"))
        }
        (None, None) => Body::empty(),
    };
    builder.body(body).map_err(|e| ApiError::bad_request(format!("The request cannot be built: {e}.")))
}

/// The answer as the dashboard shows it: headers joined by name, the body as JSON when it is
/// JSON (and whole), else as text; the key replaced by `[key]` wherever it appears.
fn shown(headers: &HeaderMap, bytes: &[u8], truncated: bool, key: &str) -> (BTreeMap<String, String>, Value) {
    let mut shown_headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).replace(key, "[key]");
        shown_headers
            .entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let is_json =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("json"));
    let text = String::from_utf8_lossy(bytes).replace(key, "[key]");
    let body = if text.is_empty() {
        Value::Null
    } else if is_json && !truncated {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    (shown_headers, body)
}

/// The call, from a JSON body or a multipart form.
async fn read_call(
    request: Request,
    state: &AppState,
) -> Result<(PlaygroundRequest, Option<Upload>), ApiError> {
    if !is_multipart(request.headers()) {
        // Without an upload, the call is JSON and held to the JSON limit (with room for the
        // envelope around the body it carries), not the upload's.
        let limit = state.config.max_json_bytes + PLAYGROUND_ENVELOPE_BYTES;
        let ApiJson(call) = ApiJson::<PlaygroundRequest>::read_with_limit(request, limit).await?;
        return Ok((call, None));
    }
    let mut form = open_multipart(request, state).await?;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut upload = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_owned();
            let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
            let bytes = field.bytes().await.map_err(multipart_error)?;
            upload = Some(Upload { file_name, content_type, bytes });
        } else {
            let text = field.text().await.map_err(multipart_error)?;
            fields.insert(name, text);
        }
    }
    let mut call = serde_json::Map::new();
    let mut validation = Validation::new();
    for (name, text) in fields {
        let value = match name.as_str() {
            "headers" | "query" | "body" => match serde_json::from_str::<Value>(&text) {
                Ok(value) => value,
                Err(_) => {
                    validation.reject(name.as_str(), "must be JSON");
                    continue;
                }
            },
            _ => Value::String(text),
        };
        call.insert(name, value);
    }
    validation.finish()?;
    let call =
        crate::http::extract::parse_json::<PlaygroundRequest>(&serde_json::to_vec(&call).expect("JSON"))?;
    if upload.is_none() {
        return Err(ApiError::validation(vec![crate::error::FieldError::new(
            "file",
            "a multipart playground request carries the file to upload",
        )]));
    }
    Ok((call, upload))
}

/// The extra headers, checked: valid names and values, none the playground sets itself.
fn check_headers(headers: &BTreeMap<String, String>) -> Result<HeaderMap, ApiError> {
    let mut validation = Validation::new();
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let field = format!("headers.{name}");
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            validation.reject(field, "is set by the playground (the key is injected server-side)");
            continue;
        }
        match (HeaderName::from_bytes(lower.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            (Err(_), _) => validation.reject(field, "is not a valid header name"),
            (_, Err(_)) => validation.reject(field, "is not a valid header value"),
        }
    }
    validation.finish()?;
    Ok(map)
}

/// A one-part multipart body: the upload as `file`.
fn multipart_body(boundary: &str, upload: &Upload) -> Vec<u8> {
    let clean = |s: &str| s.chars().filter(|c| !matches!(c, '"' | '\r' | '\n' | '\\')).collect::<String>();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
        clean(&upload.file_name),
        clean(&upload.content_type),
    )
    .into_bytes();
    body.extend_from_slice(&upload.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// Room for the method, path, headers and query around a JSON playground call's body.
const PLAYGROUND_ENVELOPE_BYTES: usize = 64 * 1024;

/// The body limit of the playground route: an upload and its form fields.
pub const MAX_PLAYGROUND_BYTES: usize = MAX_IMPORT_BYTES + 1024 * 1024;
