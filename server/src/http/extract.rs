//! Extractors that answer bad input with problem+json instead of axum's plain-text
//! rejections.
//!
//! - [`ApiJson`]: a JSON request body. Wrong content type → 415 `unsupported_media_type`;
//!   too large → 413 `payload_too_large`; not JSON → 400 `invalid_request`; JSON of the wrong
//!   shape (not an object, missing field, wrong type) → 422 `validation_failed` naming the
//!   field.
//! - [`ApiQuery`]: a query string. Unparseable values → 400 `invalid_request` naming the
//!   parameter; range checks are the handler's, as 422 `validation_failed`.
//! - [`is_multipart`], [`open_multipart`], [`multipart_error`]: uploads, whose malformed or
//!   oversized bodies answer 400 or 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError};

/// Whether the request's body is `multipart/form-data`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Opens a multipart body (the caller checked [`is_multipart`]).
pub async fn open_multipart<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<axum::extract::Multipart, ApiError> {
    axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("The multipart body is malformed: {}.", e.body_text())))
}

/// A multipart read failure as a problem: 413 past the route's body limit, else 400.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "The upload is larger than 10 MiB.")
    } else {
        ApiError::bad_request(format!("The multipart body is malformed: {}.", e.body_text()))
    }
}

/// A JSON request body, deserialised into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_json_content_type(&req)?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned> ApiJson<T> {
    /// A JSON body read with a limit of its own, for a route whose body limit is set for
    /// something larger (the playground's uploads): past `limit` bytes, 413.
    pub async fn read_with_limit(req: Request, limit: usize) -> Result<Self, ApiError> {
        check_json_content_type(&req)?;
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(err) = source {
                if err.is::<http_body_util::LengthLimitError>() {
                    return too_large();
                }
                source = err.source();
            }
            ApiError::bad_request("The request body could not be read.")
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn check_json_content_type(req: &Request) -> Result<(), ApiError> {
    if is_json_content_type(req.headers().get(header::CONTENT_TYPE)) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "This operation takes a JSON body: send `content-type: application/json`.",
        ))
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
}

/// Parses a JSON document into `T`, telling syntax errors (400) from shape errors (422).
///
/// A first pass checks only that the body is one well-formed JSON document (cheap: nothing
/// is built), so that a body which is both malformed and of the wrong shape is reported as
/// malformed; the second builds `T` and names the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request body is empty; send a JSON object."));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| syntax_error(&e))?;
    // serde reads a struct from an array of its fields in order (`["a@b.c", "pw"]`): every
    // body this API takes is an object, so anything else is the wrong shape.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::validation(vec![FieldError::new("body", "must be a JSON object")]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = serde_path_to_error::deserialize(&mut de);
    let err = match first {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    // JSON Schema's `integer` is any number with a zero fractional part: `4.0` is 4. serde
    // refuses a float where an integer goes, so a body that failed on one is read again with
    // every whole float as an integer (only then: the usual body pays nothing).
    if err.inner().to_string().contains("invalid type: floating point") {
        let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| syntax_error(&e))?;
        if integral_floats_to_integers(&mut value)
            && let Ok(parsed) = serde_path_to_error::deserialize(value)
        {
            return Ok(parsed);
        }
    }
    let path = err.path().to_string();
    let inner = err.into_inner();
    let (field, message) = describe_data_error(&path, &inner.to_string());
    Err(ApiError::validation(vec![FieldError::new(field, message)]))
}

/// Rewrites every float with no fractional part (within ±2⁵³, where floats are exact) as an
/// integer; whether any was.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = Value::from(f as i64);
                true
            } else {
                false
            }
        }
        // Every element is rewritten (no short circuit).
        Value::Array(items) => items.iter_mut().map(integral_floats_to_integers).fold(false, |a, b| a | b),
        Value::Object(fields) => {
            fields.values_mut().map(integral_floats_to_integers).fold(false, |a, b| a | b)
        }
        _ => false,
    }
}

fn syntax_error(err: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("The request body is not valid JSON: {err}."))
}

/// Turns serde's message into a field path and a message for that field.
fn describe_data_error(path: &str, message: &str) -> (String, String) {
    // serde_json appends " at line L column C"; the field path says more to an API user.
    let message = message.split(" at line ").next().unwrap_or(message);
    let parent = if path == "." { "" } else { path };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let field = if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
        return (field, "is required".to_owned());
    }
    let field = if parent.is_empty() { "body".to_owned() } else { parent.to_owned() };
    (field, message.to_owned())
}

fn is_json_content_type(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// For PATCH bodies, with `#[serde(default, deserialize_with = "…::nullable")]`: tells an
/// absent field (`None`, through `default`) from an explicit `null` (`Some(None)`).
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A query string, deserialised into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let reason = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                let mut err = ApiError::bad_request(format!("The query string is invalid: {reason}."));
                if let Some((field, message)) = reason.split_once(": ") {
                    err = err.with_field_error(FieldError::new(field, message));
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Signup {
        email: String,
        tags: Vec<String>,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_are_422_naming_the_field() {
        let err = parse_json::<Signup>(b"{\"email\": ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);

        let err = parse_json::<Signup>(b"{\"tags\": []}").unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert_eq!(err.field_errors()[0].field, "email");
        assert_eq!(err.field_errors()[0].message, "is required");

        let err = parse_json::<Signup>(b"{\"email\": \"a@b.c\", \"tags\": [1]}").unwrap_err();
        assert_eq!(err.field_errors()[0].field, "tags[0]");

        let err = parse_json::<Signup>(b"   ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert!(err.detail().contains("empty"));

        let err = parse_json::<Signup>(b"{\"email\": \"a\", \"tags\": []} trailing").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);

        for not_an_object in [&b"[\"a@b.c\", []]"[..], b" []", b"\"a@b.c\"", b"null", b"7"] {
            let err = parse_json::<Signup>(not_an_object).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ValidationFailed);
            assert_eq!(err.field_errors()[0].field, "body");
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        use axum::http::HeaderValue;
        let ok = |v: &'static str| is_json_content_type(Some(&HeaderValue::from_static(v)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("multipart/form-data; boundary=x"));
        assert!(!is_json_content_type(None));
    }
}
