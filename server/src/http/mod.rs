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

pub use client_ip::ClientIp;
pub use extract::{ApiJson, ApiQuery};
pub use pagination::{ListEnvelope, Pagination};
pub use request_id::RequestId;
