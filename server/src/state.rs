//! The state every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::accounts::LoginThrottle;
use crate::config::Config;
use crate::db::Db;
use crate::http::observe::HttpMetrics;
use crate::keys::{MasterKey, Verifier};
use crate::links::PublicUrls;
use crate::links::clicks::ClickRecorder;
use crate::metering::{Quotas, RateLimits, RequestLog};
use crate::pipeline::RouteScopes;

/// Shared application state. Handlers and layers clone it for every request, so it is one
/// `Arc`: a clone is a single atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }

    /// The clock every stamp and expiry check reads; tests move it with
    /// [`Clock::advance`](crate::time::Clock::advance) instead of sleeping.
    pub fn clock(&self) -> &crate::time::Clock {
        self.db.clock()
    }

    /// Tells the webhook fan-out that a committed transaction wrote events, so they go out now
    /// rather than at its next poll. (Other instances find them at their poll; any instance
    /// may fan an event out, and exactly one does.)
    pub fn events_committed(&self) {
        self.fanout_wake.notify_one();
    }

    /// Writes everything the batch writers hold — the request log (with usage and quota
    /// counts), link clicks, keys' last-used stamps — and waits until it is committed.
    pub async fn flush_now(&self) -> Result<(), FlushFailed> {
        let (log, clicks) = tokio::join!(self.request_log.flush_now(), self.clicks.flush_now());
        self.keys.flush_last_used().await?;
        if log && clicks { Ok(()) } else { Err(FlushFailed::Stopped) }
    }
}

/// Why [`AppState::flush_now`] could not write everything.
#[derive(Debug, thiserror::Error)]
pub enum FlushFailed {
    /// A batch writer has stopped (the server is shutting down), or could not write before it did.
    #[error("a batch writer has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] crate::db::StoreError),
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What the state holds.
pub struct AppParts {
    pub config: Arc<Config>,
    pub db: Db,
    pub http_metrics: HttpMetrics,
    pub metrics_registry: Arc<prometheus_client::registry::Registry>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Hashes and verifies passwords on a bounded set of threads.
    pub hashers: crate::accounts::Hashers,
    /// Verifies API keys (with its cache and the batched last-used stamps).
    pub keys: Arc<Verifier>,
    /// Seals the stored copy of every API key.
    pub master_key: Arc<MasterKey>,
    /// Where short links are served.
    pub public: Arc<PublicUrls>,
    /// What short links resolve to, kept in memory.
    pub redirects: Arc<crate::links::RedirectCache>,
    /// Queues redirects' clicks for the background writer.
    pub clicks: ClickRecorder,
    /// Per-key rate limits.
    pub rate_limits: Arc<RateLimits>,
    /// The playground's own limits, per dashboard user.
    pub playground_limits: Arc<RateLimits>,
    /// The application the playground runs requests through.
    pub playground_app: crate::playground::InnerApp,
    /// Monthly quotas.
    pub quotas: Arc<Quotas>,
    /// The shared Redis, when one is configured (limits, quotas and throttles use it).
    pub redis: Option<Arc<crate::cluster::SharedRedis>>,
    /// Drops cached copies of what changed, here and on every other instance.
    pub invalidations: Arc<crate::cluster::Invalidations>,
    /// Queues `/v1` requests for the request log.
    pub request_log: RequestLog,
    /// Wakes the webhook senders (a ping was queued, or the fan-out queued deliveries).
    pub webhooks_wake: Arc<tokio::sync::Notify>,
    /// Wakes the webhook fan-out: events were committed ([`AppState::events_committed`]).
    pub fanout_wake: Arc<tokio::sync::Notify>,
    /// Wakes a job worker when a job is enqueued.
    pub jobs_wake: Arc<tokio::sync::Notify>,
    /// The scope each `/v1` operation needs, from the spec.
    pub route_scopes: Arc<RouteScopes>,
    /// The role each dashboard operation needs, from the spec.
    pub route_roles: Arc<crate::accounts::RouteRoles>,
    /// The published documents — the OpenAPI document and everything generated from it —
    /// rendered once at start-up, by path.
    pub documents: Arc<crate::documents::Library>,
}

impl FromRef<AppState> for HttpMetrics {
    fn from_ref(state: &AppState) -> Self {
        state.http_metrics.clone()
    }
}
