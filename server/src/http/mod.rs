//! The cross-cutting HTTP pieces every capability uses: request ids, extraction that answers
//! problem+json, pagination, the observability layer and the fallbacks. The order in which
//! they wrap a request is set in one place, [`crate::router::app`].

pub mod client_ip;
pub mod conditional;
pub mod extract;
pub mod observe;
pub mod pagination;
pub mod problem_fallback;
pub mod request_id;
pub mod serve;

pub use client_ip::ClientIp;
pub use extract::{ApiJson, ApiQuery};
pub use pagination::{ListEnvelope, Pagination};
pub use request_id::RequestId;

/// The one value of a header that must appear at most once (a credential, say): `None` when
/// absent; 400 `invalid_request` when repeated, rather than silently reading the first.
pub fn single_header<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
) -> Result<Option<&'a axum::http::HeaderValue>, crate::error::ApiError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(crate::error::ApiError::bad_request(format!(
            "The {name} header appears more than once: send it once."
        )));
    }
    Ok(first)
}
