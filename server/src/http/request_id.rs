//! The request id: `req_` + a ULID, assigned to every request before anything else runs and
//! returned in `x-request-id` on every response, including errors and 404s.
//!
//! The id is also held in a task-local for the duration of the request, so that an error
//! built deep inside a handler (or a panic caught by the outer layer) can put it into the
//! problem document without every function threading it through.

use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::ids::{Id, IdKind};

/// The response header carrying the request id.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request (`req_…`). Shared, not copied: the span, the task-local, the
/// response header and the request log all hold the same string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    pub fn generate() -> Self {
        Self(Id::generate(IdKind::Request).into_string().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a shared string (for the request log).
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Middleware: assigns the id, makes it available to the request (extension and task-local)
/// and stamps it on the response. Client-sent `x-request-id` headers are ignored: the id is
/// ours, so it is unique and safe to log.
pub async fn assign(req: Request, next: Next) -> Response {
    let (req, id) = attach(req);
    within(id, next.run(req)).await
}

/// Gives `req` a fresh id (as an extension); returns it too.
pub fn attach(mut req: Request) -> (Request, RequestId) {
    let id = RequestId::generate();
    req.extensions_mut().insert(id.clone());
    (req, id)
}

/// Runs `answer` with `id`, if any, as its task's current request id (for work moved to a task
/// of its own).
pub async fn scoped<T>(id: Option<RequestId>, answer: impl Future<Output = T>) -> T {
    match id {
        Some(id) => CURRENT.scope(id, answer).await,
        None => answer.await,
    }
}

/// Runs `answer` with `id` as the task's current request id and stamps the id on its response.
pub async fn within(id: RequestId, answer: impl Future<Output = Response>) -> Response {
    let header = HeaderValue::from_str(id.as_str()).expect("request ids are ASCII");
    let mut response = CURRENT.scope(id, answer).await;
    response.headers_mut().insert(HEADER, header);
    response
}
