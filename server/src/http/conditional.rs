//! Conditional requests (RFC 9110 §13): resources carry a `version`, sent as a strong `ETag`
//! (`"3"`).
//!
//! - Updates may send it back in `If-Match` ([`IfMatch`]) and get 412 `version_mismatch` unless
//!   one of the listed tags is the current one. Comparison is strong, so a weak tag (`W/"3"`)
//!   never matches; `*` matches any current version; a well-formed tag that is not one of
//!   ours (`"stale-0"`) simply does not match. Only a header that is not a list of entity tags
//!   at all is 400 `invalid_request`.
//! - A GET whose answer carries an `ETag` answers 304 Not Modified to an `If-None-Match` that
//!   lists it (weak comparison, as §13.1.2 asks) — [`not_modified`], in the platform layer.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// The `ETag` of a version.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted integer is a valid header value")
}

/// An entity tag: its opaque value (without the quotes) and whether it was marked weak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

impl EntityTag {
    /// Strong comparison (§8.8.3.2): both strong, same opaque value.
    fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }
}

/// A field value that is neither `*` nor a list of entity tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// A parsed `If-Match` or `If-None-Match` field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `*`: any current representation.
    Any,
    /// One or more entity tags.
    Tags(Vec<EntityTag>),
}

impl Condition {
    /// Reads every line of a header as one list (§5.3). `Ok(None)` when the header is absent;
    /// `Err` when it is not `*` or a list of entity tags.
    pub fn from_headers(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<Self>, Malformed> {
        let mut tags = Vec::new();
        let mut any = false;
        let mut present = false;
        for value in headers.get_all(name) {
            present = true;
            let text = value.to_str().map_err(|_| Malformed)?.trim();
            if text == "*" {
                any = true;
            } else {
                parse_list(text, &mut tags)?;
            }
        }
        match (present, any) {
            (false, _) => Ok(None),
            // `*` may not be combined with tags.
            (true, true) if !tags.is_empty() => Err(Malformed),
            (true, true) => Ok(Some(Self::Any)),
            (true, false) if tags.is_empty() => Err(Malformed),
            (true, false) => Ok(Some(Self::Tags(tags))),
        }
    }
}

/// `#entity-tag`: comma-separated, optional whitespace, empty elements allowed (§5.6.1).
fn parse_list(mut rest: &str, out: &mut Vec<EntityTag>) -> Result<(), Malformed> {
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Ok(());
        }
        let (weak, tail) = match rest.strip_prefix("W/") {
            Some(tail) => (true, tail),
            None => (false, rest),
        };
        let tail = tail.strip_prefix('"').ok_or(Malformed)?;
        let end = tail.find('"').ok_or(Malformed)?;
        let opaque = &tail[..end];
        // etagc = %x21 / %x23-7E / obs-text
        if !opaque.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80) {
            return Err(Malformed);
        }
        out.push(EntityTag { weak, opaque: opaque.to_owned() });
        rest = tail[end + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return Err(Malformed);
        }
    }
}

/// The `If-Match` precondition of an update: absent, `*`, or a list of tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Option<Condition>);

impl IfMatch {
    /// 412 `version_mismatch` unless the precondition holds for the resource at `current`.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        let current_tag = EntityTag { weak: false, opaque: current.to_string() };
        match &self.0 {
            None | Some(Condition::Any) => Ok(()),
            Some(Condition::Tags(tags)) if tags.iter().any(|t| t.strong_eq(&current_tag)) => Ok(()),
            Some(Condition::Tags(tags)) => {
                let weak = tags.iter().any(|t| t.weak && t.opaque == current_tag.opaque);
                let hint = if weak {
                    " A weak tag (W/\"…\") never matches: send the strong ETag."
                } else {
                    " Read it again, then retry."
                };
                Err(ApiError::new(
                    ErrorCode::VersionMismatch,
                    format!(
                        "The resource is at version {current} (ETag \"{current}\"), which If-Match does not list.{hint}"
                    ),
                ))
            }
        }
    }
}

/// 412 for an `If-Match` that did not hold for the version read under the resource's lock
/// (`current`): the usual answer naming that version, or — had it held after all — that the
/// resource changed meanwhile.
pub fn precondition_failed(if_match: &IfMatch, current: i64, what: &str) -> ApiError {
    match if_match.check(current) {
        Err(e) => e,
        Ok(()) => changed_meanwhile(what),
    }
}

/// A resource's answer with its version as the `ETag`.
pub fn tagged<T>(version: i64, body: T) -> (HeaderMap, axum::Json<T>) {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(version));
    (headers, axum::Json(body))
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
        Condition::from_headers(&parts.headers, header::IF_MATCH).map(Self).map_err(|Malformed| {
            ApiError::bad_request(
                "If-Match must be `*` or a list of entity tags, each in double quotes: the resource's ETag, e.g. \"3\".",
            )
        })
    }
}

/// The `If-None-Match` of a GET or HEAD, for [`not_modified`]; `None` for other methods, when
/// absent, or when malformed (ignored, as a cache would).
pub fn if_none_match(request: &Request) -> Option<Condition> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return None;
    }
    Condition::from_headers(request.headers(), header::IF_NONE_MATCH).ok().flatten()
}

/// A 200 answer with an `ETag` becomes 304 Not Modified (no body; the same `ETag`,
/// `Cache-Control`, `Vary` and `x-request-id`) when the request's `If-None-Match` lists that
/// tag or is `*`. Run by the platform layer around every route.
pub fn not_modified(condition: Option<Condition>, response: Response) -> Response {
    let Some(condition) = condition else { return response };
    if response.status() != StatusCode::OK {
        return response;
    }
    let Some(current) = response.headers().get(header::ETAG) else { return response };
    let mut parsed = Vec::new();
    let Ok(()) = current.to_str().map_err(|_| Malformed).and_then(|t| parse_list(t, &mut parsed)) else {
        return response;
    };
    let [current_tag] = parsed.as_slice() else { return response };
    let matches = match &condition {
        Condition::Any => true,
        // Weak comparison (§8.8.3.2): the opaque values alone.
        Condition::Tags(tags) => tags.iter().any(|t| t.opaque == current_tag.opaque),
    };
    if !matches {
        return response;
    }
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        // RFC 9110 §15.4.5's fields, and what every answer carries here: its request id and,
        // on `/v1`, the rate-limit and quota state (a 304 spent a call like a 200).
        let kept =
            [header::ETAG, header::CACHE_CONTROL, header::VARY, header::CONTENT_LOCATION, header::EXPIRES]
                .contains(name)
                || matches!(
                    name.as_str(),
                    "x-request-id"
                        | "x-ratelimit-limit"
                        | "x-ratelimit-remaining"
                        | "x-ratelimit-reset"
                        | "ratelimit"
                        | "ratelimit-policy"
                        | "x-api-calls-remaining"
                );
        if kept {
            headers.append(name.clone(), value.clone());
        }
    }
    (StatusCode::NOT_MODIFIED, headers).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(values: &[&str]) -> Result<IfMatch, ApiError> {
        let mut builder = axum::http::Request::builder();
        for value in values {
            builder = builder.header("if-match", *value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        IfMatch::from_request_parts(&mut parts, &()).await
    }

    fn tag(weak: bool, opaque: &str) -> EntityTag {
        EntityTag { weak, opaque: opaque.into() }
    }

    #[tokio::test]
    async fn if_match_is_a_list_of_entity_tags_or_a_star() {
        assert_eq!(parse(&["\"3\""]).await.unwrap(), IfMatch(Some(Condition::Tags(vec![tag(false, "3")]))));
        assert_eq!(
            parse(&["\"1\", W/\"2\" ,,\"3\""]).await.unwrap(),
            IfMatch(Some(Condition::Tags(vec![tag(false, "1"), tag(true, "2"), tag(false, "3")])))
        );
        assert_eq!(
            parse(&["\"1\"", "\"2\""]).await.unwrap(),
            IfMatch(Some(Condition::Tags(vec![tag(false, "1"), tag(false, "2")]))),
            "repeated lines are one list"
        );
        assert_eq!(parse(&["*"]).await.unwrap(), IfMatch(Some(Condition::Any)));
        assert_eq!(parse(&[]).await.unwrap(), IfMatch(None));
        assert_eq!(
            parse(&["\"stale-0\""]).await.unwrap(),
            IfMatch(Some(Condition::Tags(vec![tag(false, "stale-0")])))
        );
        for garbled in ["3", "yesterday", "\"3", "\"3\" x", "*, \"3\"", "", "\"a b\""] {
            let err = parse(&[garbled]).await.unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest, "{garbled:?}");
        }
    }

    #[test]
    fn if_match_compares_strongly() {
        let check =
            |tags: Vec<EntityTag>| IfMatch(Some(Condition::Tags(tags))).check(3).map_err(|e| e.code());
        assert_eq!(check(vec![tag(false, "3")]), Ok(()));
        assert_eq!(check(vec![tag(false, "1"), tag(false, "3")]), Ok(()));
        assert_eq!(check(vec![tag(true, "3")]), Err(ErrorCode::VersionMismatch), "weak never matches");
        assert_eq!(check(vec![tag(false, "2")]), Err(ErrorCode::VersionMismatch));
        assert_eq!(check(vec![tag(false, "stale-0")]), Err(ErrorCode::VersionMismatch));
        assert_eq!(IfMatch(Some(Condition::Any)).check(3).map_err(|e| e.code()), Ok(()));
        assert_eq!(IfMatch(None).check(3).map_err(|e| e.code()), Ok(()));
    }
}
