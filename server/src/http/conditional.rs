//! Optimistic concurrency: resources carry a `version`, sent as the `ETag` (`"3"`); updates
//! may send it back in `If-Match` and get 412 `version_mismatch` when it is stale.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use crate::error::{ApiError, ErrorCode};

/// The `ETag` of a version.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted integer is a valid header value")
}

/// The `If-Match` precondition of a request: `None` when absent (or `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    /// 412 `version_mismatch` unless the precondition holds for `current`.
    pub fn check(self, current: i64) -> Result<(), ApiError> {
        match self.0 {
            Some(expected) if expected != current => Err(ApiError::new(
                ErrorCode::VersionMismatch,
                format!("The resource is at version {current}, not {expected}: read it again, then retry."),
            )),
            _ => Ok(()),
        }
    }
}

/// 412 `version_mismatch` for an update that lost a race: the resource changed between the
/// read and the write.
pub fn changed_meanwhile(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::VersionMismatch,
        format!("The {what} changed while this update was being made: read it again, then retry."),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(Self(None)) };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return Ok(Self(None));
        }
        let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
        bare.parse::<i64>()
            .map(|v| Self(Some(v)))
            .map_err(|_| ApiError::bad_request("If-Match must be the ETag of the resource, e.g. \"3\"."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(value: &str) -> Result<IfMatch, ApiError> {
        let request = axum::http::Request::builder().header("if-match", value).body(()).unwrap();
        let (mut parts, ()) = request.into_parts();
        IfMatch::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn etags_are_read_in_their_usual_spellings() {
        assert_eq!(parse("\"3\"").await.unwrap(), IfMatch(Some(3)));
        assert_eq!(parse("3").await.unwrap(), IfMatch(Some(3)));
        assert_eq!(parse("W/\"3\"").await.unwrap(), IfMatch(Some(3)));
        assert_eq!(parse("*").await.unwrap(), IfMatch(None));
        assert_eq!(parse("\"abc\"").await.unwrap_err().code(), ErrorCode::InvalidRequest);
        assert_eq!(IfMatch(Some(2)).check(3).unwrap_err().code(), ErrorCode::VersionMismatch);
        IfMatch(Some(3)).check(3).unwrap();
    }
}
