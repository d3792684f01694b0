//! Errors: one type, one wire format, stable codes.
//!
//! Every error Portico answers is an RFC 9457 `application/problem+json` document:
//!
//! ```json
//! {
//!   "type": "urn:portico:error:validation_failed",
//!   "title": "Validation failed",
//!   "status": 422,
//!   "detail": "The request body has 1 invalid field.",
//!   "code": "validation_failed",
//!   "request_id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
//!   "errors": [{ "field": "password", "message": "must be at least 10 characters" }]
//! }
//! ```
//!
//! `code` is the contract: it is stable, machine-readable and listed in the spec for every
//! operation that can answer it. `title` is the code's human name; `detail` says what went
//! wrong with *this* request in words a developer can act on. `request_id` is the same value
//! as the `x-request-id` response header, so a user can quote it and an operator can find
//! the request in the logs.
//!
//! Business code returns [`ApiError`] (usually through the small constructors below, never
//! ad hoc), and nothing else turns into an HTTP error. Internal failures (a database that
//! went away, a bug) become `500 internal` with a detail that says nothing about the
//! internals: the cause is logged with the request id instead. Extractor rejections (bad
//! JSON, oversized bodies) are mapped in [`crate::http::extract`], and responses produced
//! outside handlers (unknown paths, wrong methods, panics) are rewritten into the same format
//! by [`crate::http::problem_fallback`].

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::request_id;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What an error code carries: the HTTP status it is always answered with, the problem
/// document's `title`, and what it means (its documentation in the spec).
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub status: StatusCode,
    pub title: &'static str,
    pub meaning: &'static str,
}

crate::wire_enum! {
    /// A stable, machine-readable error code: the `code` field of every problem document.
    /// What each means is [`ErrorCode::meaning`]; the status it comes with is [`ErrorCode::status`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    pub enum ErrorCode => info: CodeInfo {
        InvalidRequest = "invalid_request" => CodeInfo {
            status: StatusCode::BAD_REQUEST,
            title: "Invalid request",
            meaning: "The request is malformed (bad JSON, bad query string, conflicting headers).",
        },
        EndpointNotAllowed = "endpoint_not_allowed" => CodeInfo {
            status: StatusCode::BAD_REQUEST,
            title: "Endpoint not allowed",
            meaning: "The playground was asked to call something outside `/v1/`.",
        },
        MissingCredentials = "missing_credentials" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "Missing credentials",
            meaning: "No credentials were sent.",
        },
        InvalidApiKey = "invalid_api_key" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "Invalid API key",
            meaning: "The API key is malformed, fails its checksum, or is unknown.",
        },
        KeyRevoked = "key_revoked" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "API key revoked",
            meaning: "The API key was revoked.",
        },
        KeyExpired = "key_expired" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "API key expired",
            meaning: "The API key has expired.",
        },
        InvalidSession = "invalid_session" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "Invalid session",
            meaning: "The dashboard session token is unknown, expired or ended.",
        },
        InvalidCredentials = "invalid_credentials" => CodeInfo {
            status: StatusCode::UNAUTHORIZED,
            title: "Invalid credentials",
            meaning: "The email or password is wrong.",
        },
        InsufficientScope = "insufficient_scope" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "Insufficient scope",
            meaning: "The API key lacks the scope the operation needs.",
        },
        InsufficientRole = "insufficient_role" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "Insufficient role",
            meaning: "The signed-in user's role in the organisation does not allow the operation; the detail names the role it needs.",
        },
        IpNotAllowed = "ip_not_allowed" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "IP address not allowed",
            meaning: "The caller's IP address is not in the key's allowlist.",
        },
        DomainNotAllowed = "domain_not_allowed" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "Domain not allowed",
            meaning: "The key is limited to other domains.",
        },
        KeyBlocked = "key_blocked" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "API key blocked",
            meaning: "The key is blocked.",
        },
        ApiKeyForbidden = "api_key_forbidden" => CodeInfo {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed with an API key",
            meaning: "API keys cannot do this; it needs a dashboard session.",
        },
        NotFound = "not_found" => CodeInfo {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            meaning: "No such resource (or not in the caller's organisation).",
        },
        MethodNotAllowed = "method_not_allowed" => CodeInfo {
            status: StatusCode::METHOD_NOT_ALLOWED,
            title: "Method not allowed",
            meaning: "The path exists but not with this method.",
        },
        Conflict = "conflict" => CodeInfo {
            status: StatusCode::CONFLICT,
            title: "Conflict",
            meaning: "The request conflicts with the current state (a duplicate, a resource in use).",
        },
        IdempotencyInProgress = "idempotency_in_progress" => CodeInfo {
            status: StatusCode::CONFLICT,
            title: "Idempotent request in progress",
            meaning: "A request with the same idempotency key is still being processed.",
        },
        VersionMismatch = "version_mismatch" => CodeInfo {
            status: StatusCode::PRECONDITION_FAILED,
            title: "Version mismatch",
            meaning: "The `If-Match` version is not the current one.",
        },
        PayloadTooLarge = "payload_too_large" => CodeInfo {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "Payload too large",
            meaning: "The request body is too large.",
        },
        UriTooLong = "uri_too_long" => CodeInfo {
            status: StatusCode::URI_TOO_LONG,
            title: "URI too long",
            meaning: "The request's URI is longer than the server reads.",
        },
        UnsupportedMediaType = "unsupported_media_type" => CodeInfo {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            title: "Unsupported media type",
            meaning: "The request body's content type is not accepted here.",
        },
        HeadersTooLarge = "headers_too_large" => CodeInfo {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            title: "Header section too large",
            meaning: "The request's header section is larger than the server reads.",
        },
        ValidationFailed = "validation_failed" => CodeInfo {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Validation failed",
            meaning: "The request is well-formed but some fields are invalid (see `errors`).",
        },
        IdempotencyKeyReused = "idempotency_key_reused" => CodeInfo {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Idempotency key reused",
            meaning: "The idempotency key was used before with a different request.",
        },
        RateLimited = "rate_limited" => CodeInfo {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Rate limited",
            meaning: "Too many requests; retry after `retry-after` seconds.",
        },
        QuotaExceeded = "quota_exceeded" => CodeInfo {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Quota exceeded",
            meaning: "The organisation's monthly quota is spent.",
        },
        Internal = "internal" => CodeInfo {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Internal error",
            meaning: "Something failed inside Portico; quote the request id.",
        },
        Unavailable = "unavailable" => CodeInfo {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Service unavailable",
            meaning: "The server cannot take the request now: a dependency (the database) is down, or \
                 it is at capacity (connections, sign-ins); retry after `retry-after` when given.",
        },
    }
}

impl ErrorCode {
    /// The HTTP status this code is always answered with.
    pub const fn status(self) -> StatusCode {
        self.info().status
    }

    /// What the code means and what to do about it: its documentation in the spec.
    pub const fn meaning(self) -> &'static str {
        self.info().meaning
    }

    /// The human name of the code: the problem document's `title`.
    pub const fn title(self) -> &'static str {
        self.info().title
    }

    /// The problem document's `type` URI for this code.
    pub fn type_uri(self) -> String {
        format!("urn:portico:error:{}", self.as_str())
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field, as a path into the request (`password`, `tags[2]`, or a query parameter
    /// such as `limit`).
    #[schema(example = "password")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "must be at least 10 characters")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// An error, as RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:portico:error:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "The request has 1 invalid field.",
    "code": "validation_failed",
    "request_id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
    "errors": [{"field": "password", "message": "must be at least 10 characters"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:portico:error:{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The code's human name; the same for every occurrence of a code.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
    /// The stable, machine-readable error code: branch on this, not on `title` or `detail`.
    /// The known codes are listed in `ErrorCode`; new ones may be added in any release, so a
    /// client must treat a code it does not know by its `status`.
    #[schema(schema_with = open_error_code)]
    pub code: ErrorCode,
    /// The request id (also in the `x-request-id` header); quote it when asking for help.
    pub request_id: String,
    /// For validation failures: each invalid field and what is wrong with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// `Problem.code` in the spec: one of the known codes, or any other string — clients generated
/// from it (progenitor, openapi-python-client) keep working when a code is added.
fn open_error_code() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Ref, Schema, Type};
    let schema = AnyOfBuilder::new()
        .item(Ref::from_schema_name("ErrorCode"))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("A code added after this document.")),
        )
        .description(Some(
            "The stable, machine-readable error code: branch on this, not on `title` or `detail`. The known \
             codes are listed in `ErrorCode`; new ones may be added in any release, so a client must treat \
             a code it does not know by its `status`.",
        ))
        .examples([serde_json::json!("validation_failed")])
        .build();
    Schema::AnyOf(schema)
}

/// The error every handler and extractor returns. Converts into a problem+json response.
pub struct ApiError {
    code: ErrorCode,
    detail: Cow<'static, str>,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// For `internal` errors: the cause, logged (never sent).
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self { code, detail: detail.into(), errors: Vec::new(), headers: Vec::new(), cause: None }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Adds a header to the error response (`retry-after`, `www-authenticate`, `allow`…).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Names a field in the error (a bad query parameter on a 400, say).
    pub fn with_field_error(mut self, error: FieldError) -> Self {
        self.errors.push(error);
        self
    }

    /// 400 `invalid_request`.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, detail)
    }

    /// 404 `not_found`, naming the kind of thing that was not found.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    /// 409 `conflict`.
    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    /// 422 `validation_failed` with the invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("The request has an invalid field: {} {}.", one.field, one.message),
            many => format!("The request has {} invalid fields.", many.len()),
        };
        Self { errors, ..Self::new(ErrorCode::ValidationFailed, detail) }
    }

    /// 429 `rate_limited`, with `retry-after` in whole seconds (at least 1).
    pub fn rate_limited(detail: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> Self {
        Self::new(ErrorCode::RateLimited, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)))
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, detail).with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 500 `internal`: the cause is logged with the request id, never sent.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                ErrorCode::Internal,
                "Something went wrong on our side. Quote the request id if you contact support.",
            )
        }
    }

    /// Builds the problem document for the current request.
    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: self.code.type_uri(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone().into_owned(),
            code: self.code,
            request_id: request_id::current().map(|id| id.to_string()).unwrap_or_default(),
            errors: self.errors.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("errors", &self.errors)
            .field("cause", &self.cause.as_ref().map(|c| c.to_string()))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(code = %self.code, error = %cause, "request failed");
        }
        let problem = self.to_problem();
        let body = serde_json::to_vec(&problem).expect("a problem document always serialises");
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 1);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        (self.code.status(), headers, body).into_response()
    }
}

impl From<crate::db::StoreError> for ApiError {
    fn from(err: crate::db::StoreError) -> Self {
        match err {
            crate::db::StoreError::Conflict(detail) => Self::conflict(detail),
            crate::db::StoreError::Database(e) => Self::internal(e),
        }
    }
}

/// Collects field errors while validating a request, then answers 422 if there were any.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid.
    pub fn reject(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records `message` for `field` unless `ok` holds.
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.reject(field, message);
        }
    }

    /// A name for people (a key's, an organisation's): trimmed, 1–100 characters.
    pub fn name(&mut self, field: &str, value: &str) -> String {
        let name = value.trim();
        self.check(!name.is_empty(), field, "must not be empty");
        self.check(name.chars().count() <= 100, field, "must be at most 100 characters");
        name.to_owned()
    }

    /// `Ok(())` when every check passed, else 422 `validation_failed` listing the fields.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            let back: ErrorCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::internal(std::io::Error::other("secret table users_pw exploded"));
        let problem = err.to_problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("users_pw"));
    }

    #[test]
    fn a_single_validation_error_is_named_in_the_detail() {
        let err = ApiError::validation(vec![FieldError::new("email", "must be an email address")]);
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert!(err.detail().contains("email must be an email address"));
    }
}
