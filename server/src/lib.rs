//! Portico: the developer platform of an API product, in one server.
//!
//! The crate is laid out by capability; each module owns its routes, its storage queries
//! and its tests. The cross-cutting pieces every capability uses live once:
//!
//! - [`http`]: request ids, JSON and query extraction, pagination, the observability layer
//!   (logs and metrics) and the fallbacks that keep every answer problem+json;
//! - [`error`]: the one error type, RFC 9457 problem details with stable codes;
//! - [`db`]: one storage layer over SQLite (embedded default) and PostgreSQL;
//! - [`ids`], [`time`], [`secret`]: typed ids, timestamps and secret material.
//!
//! The capabilities: [`accounts`] (dashboard sign-up, sessions), [`keys`] (API keys and their
//! verification), [`domains`] and [`links`] (the product API: short links on custom domains,
//! redirects, click analytics) and [`system`] (health, metrics, the served documents). [`pipeline`] is the
//! `/v1` request pipeline, readable top to bottom. [`router`] holds the whole route table in one screen, and
//! [`openapi`] turns the annotated handlers into the published spec. [`server`] starts it all.

pub mod accounts;
pub mod audit;
pub mod batch;
pub mod cluster;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod documents;
pub mod domains;
pub mod error;
pub mod events;
pub mod hostname;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod keys;
pub mod links;
pub mod metering;
pub mod openapi;
pub mod organizations;
pub mod pipeline;
pub mod playground;
pub mod router;
pub mod secret;
pub mod server;
pub mod state;
pub mod system;
pub mod time;
pub mod webhooks;
pub mod wire;

pub use config::Config;
pub use server::{RunningServer, StartupError};
