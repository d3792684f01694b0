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

/// Runs a `/v1` handler as a task of its own and waits for its answer.
///
/// A handler that waits on the database is woken several times per request (sqlx's SQLite
/// driver hands every statement to a worker thread); each wake-up polls the whole stack of
/// futures above it — observe, panic catcher, pipeline — again. In its own task only the
/// handler is polled, and the layers once, when it answers: measured, about 6 % more `/v1`
/// reads per core (docs/performance.md). The task keeps the request's id and span; a panic
/// becomes the usual 500 problem; if the request is dropped (the client went away), the task
/// is aborted, as the handler would have been.
pub async fn in_own_task(
    answer: impl Future<Output = axum::response::Response> + Send + 'static,
) -> axum::response::Response {
    use tracing::Instrument;

    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    let task =
        tokio::spawn(request_id::scoped(request_id::current(), answer).instrument(tracing::Span::current()));
    let _abort = AbortOnDrop(task.abort_handle());
    match task.await {
        Ok(response) => response,
        Err(e) if e.is_panic() => problem_fallback::panic_response(e.into_panic()),
        Err(_) => axum::response::IntoResponse::into_response(crate::error::ApiError::new(
            crate::error::ErrorCode::Unavailable,
            "The server is shutting down.",
        )),
    }
}
