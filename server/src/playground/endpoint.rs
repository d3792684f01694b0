//! What the playground may call: a normalised path under `/v1/`, nothing else.
//!
//! The endpoint comes from a browser and is run in-process with a stored key injected, so it
//! is checked as a path, not a URL: absolute and scheme-relative URLs, traversal (`..`, `.`,
//! empty segments), encoded separators and dots (`%2e`, `%2f`, `%5c`, double encoding via
//! `%25`), backslashes, whitespace and control characters are all refused — 400
//! `endpoint_not_allowed` — rather than "cleaned up", so what runs is exactly what was asked.

use crate::error::{ApiError, ErrorCode};

/// The most an endpoint may be.
const MAX_LEN: usize = 2048;

/// A checked endpoint: a path under `/v1/` and the query string it carried, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub path: String,
    pub query: Option<String>,
}

fn refuse(why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::EndpointNotAllowed,
        format!("The playground calls paths under `/v1/` only, such as `/v1/links`: {why}."),
    )
}

/// Checks `endpoint` (`/v1/links?limit=5`).
pub fn parse(endpoint: &str) -> Result<Endpoint, ApiError> {
    if endpoint.len() > MAX_LEN {
        return Err(refuse("this endpoint is longer than 2048 characters"));
    }
    if endpoint.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("the endpoint contains whitespace or control characters"));
    }
    if endpoint.contains('\\') {
        return Err(refuse("the endpoint contains a backslash"));
    }
    if endpoint.contains("://") || endpoint.starts_with("//") {
        return Err(refuse("absolute and scheme-relative URLs are not allowed"));
    }
    if endpoint.contains('#') {
        return Err(refuse("the endpoint has a fragment (`#`)"));
    }
    let (path, query) = match endpoint.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (endpoint, None),
    };
    let lowered = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%25", "%00"].iter().any(|encoded| lowered.contains(encoded)) {
        return Err(refuse(
            "encoded dots, slashes, backslashes or percent signs are not allowed in the path",
        ));
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(refuse("the path is not under `/v1/`"));
    };
    if rest.is_empty() {
        return Err(refuse("the path names nothing under `/v1/`"));
    }
    if rest.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(refuse("the path is not normalised (empty, `.` or `..` segments)"));
    }
    Ok(Endpoint { path: path.to_owned(), query: query.filter(|q| !q.is_empty()).map(str::to_owned) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(endpoint: &str) -> bool {
        parse(endpoint).is_err_and(|e| e.code() == ErrorCode::EndpointNotAllowed)
    }

    #[test]
    fn paths_under_v1_are_allowed_with_their_query() {
        assert_eq!(parse("/v1/key").unwrap(), Endpoint { path: "/v1/key".into(), query: None });
        assert_eq!(
            parse("/v1/links?limit=5&tag=a%20b").unwrap(),
            Endpoint { path: "/v1/links".into(), query: Some("limit=5&tag=a%20b".into()) }
        );
        assert!(parse("/v1/links/lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N/stats").is_ok());
    }

    #[test]
    fn everything_outside_v1_is_refused() {
        for endpoint in [
            "",
            "/",
            "/v1",
            "/v1/",
            "v1/links",
            "/v2/links",
            "/api/developer/apikeys",
            "/V1/links",
            "/healthz",
            "/r/spring",
            "https://example.com/v1/links",
            "http://127.0.0.1:8080/v1/links",
            "//example.com/v1/links",
            "javascript://%0aalert(1)",
        ] {
            assert!(refused(endpoint), "{endpoint:?} should be refused");
        }
    }

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        for endpoint in [
            "/v1/../api/developer/apikeys",
            "/v1/links/../../api/developer/me",
            "/v1/./links",
            "/v1//links",
            "/v1/links/",
            "/v1/%2e%2e/api/developer/me",
            "/v1/%2E%2E/api/developer/me",
            "/v1/links%2f..%2f..%2fapi",
            "/v1/%252e%252e/api",
            "/v1/links%5c..%5capi",
            "/v1\\..\\api",
            "/v1/links/..",
            "/v1/links#/../../api",
            "/v1/links\n",
            "/v1/ links",
            "/v1/links%00",
        ] {
            assert!(refused(endpoint), "{endpoint:?} should be refused");
        }
    }

    #[test]
    fn very_long_endpoints_are_refused() {
        assert!(refused(&format!("/v1/{}", "a".repeat(3000))));
    }
}
