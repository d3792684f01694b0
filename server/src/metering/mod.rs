//! Metering: what the `/v1` pipeline does after a key is verified and before (and after) the
//! handler runs — the per-key rate limit, the organisation's monthly quota, idempotency keys,
//! and the request log with its usage roll-up — plus the routes that report usage.

mod admit;
pub mod idempotency;
pub mod quota;
pub mod rate_limit;
pub mod request_log;
mod store;
mod usage;

pub use admit::{Refused, admit};
pub use quota::Quotas;
pub use rate_limit::RateLimits;
pub use request_log::{Durability, LogEntry, RequestLog};
pub use usage::*;
