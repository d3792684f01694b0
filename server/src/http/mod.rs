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
    name: &axum::http::HeaderName,
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
/// reads per core while the layers' futures were large; with the request's future boxed once
/// (`router::platform`) the two are within noise (docs/performance.md). The task keeps the
/// request's id and span; a panic becomes the usual 500 problem; if the request is dropped
/// (the client went away), the task is aborted, as the handler would have been.
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

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;

    #[tokio::test]
    async fn a_handler_in_its_own_task_keeps_the_request_id() {
        let id = request_id::RequestId::generate();
        let response = request_id::within(
            id.clone(),
            in_own_task(async {
                request_id::current().map(|id| id.to_string()).unwrap_or_default().into_response()
            }),
        )
        .await;
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert_eq!(body, id.as_str());
    }

    #[tokio::test]
    async fn a_panic_in_a_handler_task_is_a_500_problem_naming_the_request() {
        let id = request_id::RequestId::generate();
        let response = request_id::within(id.clone(), in_own_task(async { panic!("secret detail") })).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal");
        assert_eq!(problem["request_id"], id.as_str());
        assert!(!problem.to_string().contains("secret detail"));
    }
}
