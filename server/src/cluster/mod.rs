//! Several instances as one. Instances that share one PostgreSQL already agree on everything
//! stored there (jobs are leased, webhooks claimed, idempotency keys unique). What each
//! instance keeps in memory needs more:
//!
//! - **Limits** — per-key rate limits, the monthly quota, the sign-in and sign-up throttles
//!   and the playground's bucket — are decided in Redis when `--redis-url` is set
//!   ([`limits`], over [`redis::SharedRedis`]), so the configured limit holds across
//!   instances. Without Redis, or while it is down, each instance decides alone.
//! - **Caches** — verified keys, redirect targets — are invalidated on every instance by a
//!   broadcast over PostgreSQL's `LISTEN`/`NOTIFY` ([`broadcast`]).
//!
//! docs/deploying.md tells an operator how to run several instances, and what is exact and
//! what is approximate.

pub mod broadcast;
pub mod limits;
pub mod redis;

pub use broadcast::{Change, Invalidations};
pub use redis::SharedRedis;
