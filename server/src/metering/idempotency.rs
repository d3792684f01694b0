//! Idempotency keys on `POST` and `PATCH` under `/v1`.
//!
//! A request with `Idempotency-Key` claims the key — scoped to (organisation, API key,
//! method, route) — *in the database*, with an insert that only one request can win, so
//! concurrent retries on any number of instances run the handler exactly once:
//!
//! - the winner runs; its answer (status, the headers that matter, body) is stored for 24 h.
//!   A 5xx answer releases the claim instead, so the request can be retried;
//! - a retry after completion gets the stored answer with `idempotent-replayed: true`;
//! - a retry while the first is running gets 409 `idempotency_in_progress`;
//! - the same key with a different request (method, route, query or body — JSON compared by
//!   content, not formatting) gets 422 `idempotency_key_reused`.
//!
//! A claim whose holder died (crashed instance) is taken over after its lease (60 s) ends.
//!
//! The stored answer is sealed with the master key: an answer can hold a secret shown once
//! (a webhook's signing secret, a dashboard key), and the database never holds one in plain.
//!
//! The dashboard's session routes use the same, scoped to the signed-in user instead of a key
//! (see [`crate::accounts::roles::guard`]).

use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::error::{ApiError, ErrorCode};
use crate::time::Timestamp;

/// Binds the five scope parameters `$1…$5` (a macro, so it works on every query type of
/// either database).
macro_rules! bind_scope {
    ($query:expr, $scope:expr) => {
        $query
            .bind($scope.organization_id)
            .bind($scope.key_id)
            .bind($scope.method)
            .bind($scope.route)
            .bind($scope.idempotency_key)
    };
}

/// The request header.
pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// How long answers are kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
const LEASE: Duration = Duration::from_secs(60);
/// The answer headers a replay repeats.
const STORED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The `Idempotency-Key` of a request: `None` when absent; 400 when not 1–255 printable
/// ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(ApiError::bad_request("Idempotency-Key must be 1–255 printable ASCII characters."));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Who and what an idempotency key is scoped to.
pub struct Scope<'a> {
    pub organization_id: &'a str,
    pub key_id: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub idempotency_key: &'a str,
}

enum Claim {
    Won,
    Replay { status: u16, headers: String, body: Vec<u8> },
    Mismatch,
    InProgress,
}

/// Runs the request under its idempotency key (see the module documentation); stored answers
/// are sealed with `sealer`.
pub async fn run(
    db: &Db,
    sealer: &crate::keys::MasterKey,
    scope: Scope<'_>,
    body_limit: usize,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, body_limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
                .into_response();
        }
    };
    let print = fingerprint(scope.method, scope.route, parts.uri.query(), &parts.headers, &bytes).await;
    let claim = match claim(db, &scope, &print).await {
        Ok(claim) => claim,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match claim {
        Claim::Mismatch => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used with a different request; use a new key for a new request.",
        )
        .into_response(),
        Claim::InProgress => ApiError::new(
            ErrorCode::IdempotencyInProgress,
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )
        .into_response(),
        Claim::Replay { status, headers, body } => {
            // Stored sealed; an answer stored before sealing began is kept as it was.
            let body = sealer.unseal_bytes(&body).unwrap_or(body);
            replay(status, &headers, body)
        }
        Claim::Won => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (mut parts, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let outcome = if parts.status.is_server_error() {
                release(db, &scope).await
            } else {
                complete(db, &scope, parts.status, &parts.headers, &sealer.seal(&body)).await
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, "could not store the idempotent answer");
            }
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(body))
        }
    }
}

fn replay(status: u16, headers: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let stored: serde_json::Map<String, Value> = serde_json::from_str(headers).unwrap_or_default();
    for (name, value) in stored {
        if let (Ok(name), Some(Ok(value))) =
            (HeaderName::try_from(name), value.as_str().map(HeaderValue::from_str))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert(const { HeaderName::from_static("idempotent-replayed") }, HeaderValue::from_static("true"));
    response
}

/// SHA-256 of what makes two requests "the same": method, route, query (parameter order
/// ignored) and body — JSON by content (key order and whitespace ignored), multipart by its
/// fields (the boundary, which clients draw at random, ignored).
async fn fingerprint(
    method: &str,
    route: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(route.as_bytes());
    hasher.update(b"\n");
    let mut pairs: Vec<&str> = query.unwrap_or("").split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    hasher.update(pairs.join("&").as_bytes());
    hasher.update(b"\n");
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_json = content_type.split(';').next().is_some_and(|e| e.trim().ends_with("json"));
    if let Some(json) = serde_json::from_slice::<Value>(body).ok().filter(|_| is_json) {
        hasher.update(serde_json::to_vec(&canonical(json)).expect("JSON serialises"));
    } else if let Some(fields) = multipart_fields(content_type, body).await {
        for (name, file_name, data) in fields {
            for part in [name.as_bytes(), b"\0", file_name.as_bytes(), b"\0", &data, b"\0"] {
                hasher.update(part);
            }
        }
    } else {
        hasher.update(body);
    }
    hasher.finalize().to_vec()
}

/// The fields of a multipart body — (name, file name, content) — or `None` if it is not one.
async fn multipart_fields(content_type: &str, body: &Bytes) -> Option<Vec<(String, String, Bytes)>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let body = body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("").to_owned();
        fields.push((name, file_name, field.bytes().await.ok()?));
    }
    Some(fields)
}

/// JSON with every object's keys sorted.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// The record of one scope (bound by `bind_scope!`), as a literal for `concat!`.
macro_rules! scope_matches {
    () => {
        "organization_id = $1 AND key_id = $2 AND method = $3 AND route = $4 AND idempotency_key = $5"
    };
}

#[derive(sqlx::FromRow)]
struct Record {
    fingerprint: Vec<u8>,
    state: String,
    locked_until: Timestamp,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    expires_at: Timestamp,
}

async fn claim(db: &Db, scope: &Scope<'_>, print: &[u8]) -> Result<Claim, StoreError> {
    const INSERT: &str = "INSERT INTO idempotency_records (organization_id, key_id, method, route, idempotency_key, \
         fingerprint, state, locked_until, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9) ON CONFLICT DO NOTHING";
    const SELECT: &str = concat!(
        "SELECT fingerprint, state, locked_until, response_status, response_headers, response_body, expires_at \
         FROM idempotency_records WHERE ",
        scope_matches!()
    );
    const EXPIRE: &str =
        concat!("DELETE FROM idempotency_records WHERE ", scope_matches!(), " AND expires_at <= $6");
    const TAKE_OVER: &str = concat!(
        "UPDATE idempotency_records SET locked_until = $6 WHERE ",
        scope_matches!(),
        " AND state = 'running' AND locked_until = $7"
    );
    for _ in 0..2 {
        let at = db.now();
        let inserted = dispatch!(db, |pool| sqlx::query(INSERT)
            .bind(scope.organization_id)
            .bind(scope.key_id)
            .bind(scope.method)
            .bind(scope.route)
            .bind(scope.idempotency_key)
            .bind(print)
            .bind(at + LEASE)
            .bind(at)
            .bind(at + RETENTION)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if inserted == 1 {
            return Ok(Claim::Won);
        }
        let record = dispatch!(db, |pool| bind_scope!(sqlx::query_as::<_, Record>(SELECT), scope)
            .fetch_optional(pool)
            .await)?;
        let Some(record) = record else { continue };
        if record.expires_at <= at {
            dispatch!(db, |pool| bind_scope!(sqlx::query(EXPIRE), scope)
                .bind(at)
                .execute(pool)
                .await
                .map(drop))?;
            continue;
        }
        if record.fingerprint != print {
            return Ok(Claim::Mismatch);
        }
        if record.state == "completed" {
            return Ok(Claim::Replay {
                status: record.response_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                headers: record.response_headers.unwrap_or_default(),
                body: record.response_body.unwrap_or_default(),
            });
        }
        if record.locked_until > at {
            return Ok(Claim::InProgress);
        }
        let taken = dispatch!(db, |pool| bind_scope!(sqlx::query(TAKE_OVER), scope)
            .bind(at + LEASE)
            .bind(record.locked_until)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        return Ok(if taken == 1 { Claim::Won } else { Claim::InProgress });
    }
    Ok(Claim::InProgress)
}

async fn complete(
    db: &Db,
    scope: &Scope<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "UPDATE idempotency_records SET state = 'completed', response_status = $6, response_headers = $7, \
         response_body = $8 WHERE ",
        scope_matches!()
    );
    let stored: serde_json::Map<String, Value> = STORED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), Value::String(value.to_owned())))
        })
        .collect();
    let stored = Value::Object(stored).to_string();
    dispatch!(db, |pool| bind_scope!(sqlx::query(SQL), scope)
        .bind(i64::from(status.as_u16()))
        .bind(&stored)
        .bind(body)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

async fn release(db: &Db, scope: &Scope<'_>) -> Result<(), StoreError> {
    const SQL: &str =
        concat!("DELETE FROM idempotency_records WHERE ", scope_matches!(), " AND state = 'running'");
    dispatch!(db, |pool| bind_scope!(sqlx::query(SQL), scope).execute(pool).await.map(drop))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h
    }

    #[tokio::test]
    async fn fingerprints_ignore_json_formatting_and_query_order() {
        let h = json_headers();
        let body = |b: &'static [u8]| Bytes::from_static(b);
        let a =
            fingerprint("POST", "/v1/links", Some("a=1&b=2"), &h, &body(br#"{"url":"x","slug":"y"}"#)).await;
        let b = fingerprint(
            "POST",
            "/v1/links",
            Some("b=2&a=1"),
            &h,
            &body(b"{ \"slug\": \"y\",\n \"url\": \"x\" }"),
        )
        .await;
        assert_eq!(a, b);
        let c =
            fingerprint("POST", "/v1/links", Some("a=1&b=2"), &h, &body(br#"{"url":"x","slug":"z"}"#)).await;
        assert_ne!(a, c);
        let d =
            fingerprint("PATCH", "/v1/links", Some("a=1&b=2"), &h, &body(br#"{"url":"x","slug":"y"}"#)).await;
        assert_ne!(a, d);
    }

    #[tokio::test]
    async fn multipart_fingerprints_ignore_the_boundary() {
        let form = |boundary: &str, content: &str| {
            let mut headers = HeaderMap::new();
            let ct = format!("multipart/form-data; boundary={boundary}");
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
            let body = format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n{content}\r\n--{boundary}--\r\n"
            );
            (headers, Bytes::from(body))
        };
        let (h1, b1) = form("aaaa1111", "url\nhttps://x.io");
        let (h2, b2) = form("bbbb2222", "url\nhttps://x.io");
        let (h3, b3) = form("cccc3333", "url\nhttps://y.io");
        let p1 = fingerprint("POST", "/v1/links/import", None, &h1, &b1).await;
        assert_eq!(p1, fingerprint("POST", "/v1/links/import", None, &h2, &b2).await);
        assert_ne!(p1, fingerprint("POST", "/v1/links/import", None, &h3, &b3).await);
    }

    #[test]
    fn keys_must_be_short_printable_ascii() {
        let mut h = HeaderMap::new();
        assert_eq!(key_of(&h).unwrap(), None);
        h.insert(HEADER, HeaderValue::from_static("order-42"));
        assert_eq!(key_of(&h).unwrap().as_deref(), Some("order-42"));
        h.insert(HEADER, HeaderValue::from_str(&"k".repeat(256)).unwrap());
        assert_eq!(key_of(&h).unwrap_err().code(), ErrorCode::InvalidRequest);
        h.insert(HEADER, HeaderValue::from_static(""));
        assert!(key_of(&h).is_err());
    }
}
