//! Keeping every error problem+json, even those no handler wrote: unknown paths (404), wrong
//! methods (405, keeping axum's `Allow` header), panics (500), and any plain-text rejection a
//! layer might produce.

use std::any::Any;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// The router's fallback: 404 `not_found` for any path no route matches.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "There is no such path. The API is described at /openapi.json.")
}

/// The panic catcher's answer: a panic is a bug, answered as 500 `internal`, logged.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

/// Runs `answer`, answering a panic as a 500 problem and rewriting a bare error answer as one
/// (the app's panic catcher and problem fallback, [`crate::router::app`]).
pub async fn guarded(answer: impl Future<Output = Response>) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(answer).catch_unwind().await {
        Ok(response) => to_problem(response),
        Err(panic) => panic_response(panic),
    }
}

/// Rewrites a bare error response (not problem+json, and not a page meant for people, such as
/// HTML) as a problem, keeping its status and its meaningful headers; anything else unchanged.
pub fn to_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || !needs_rewrite(&response) {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "There is no such path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This path does not support this method; the `allow` header lists those it does.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "The request body's content type is not accepted here.")
        }
        StatusCode::UNPROCESSABLE_ENTITY => (ErrorCode::ValidationFailed, "The request is invalid."),
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "Too many requests."),
        StatusCode::SERVICE_UNAVAILABLE => (ErrorCode::Unavailable, "The service is unavailable."),
        s if s.is_server_error() => (
            ErrorCode::Internal,
            "Something went wrong on our side. Quote the request id if you contact support.",
        ),
        _ => (ErrorCode::InvalidRequest, "The request is invalid."),
    };
    let mut error = ApiError::new(code, detail);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        for value in response.headers().get_all(&name) {
            error = error.with_header(name.clone(), value.clone());
        }
    }
    error.into_response()
}

fn needs_rewrite(response: &Response) -> bool {
    match response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(ct) => {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("text/plain")
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::middleware::{Next, from_fn};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::http::request_id;

    async fn boom() -> &'static str {
        panic!("the database password is hunter2")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_problem_that_hides_the_panic() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(from_fn(|req: Request<Body>, next: Next| guarded(next.run(req))))
            .layer(from_fn(request_id::assign));
        let response = app.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], crate::error::PROBLEM_JSON);
        let header_id = response.headers()[request_id::HEADER].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal");
        assert_eq!(problem["request_id"], header_id);
        assert!(!problem.to_string().contains("hunter2"));
    }
}
