//! The state every handler can reach.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRef;

use crate::accounts::LoginThrottle;
use crate::config::Config;
use crate::db::Db;
use crate::http::observe::HttpMetrics;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub http_metrics: HttpMetrics,
    pub metrics_registry: Arc<prometheus_client::registry::Registry>,
    pub login_throttle: Arc<LoginThrottle>,
    /// The OpenAPI document, rendered once at start-up: the bytes `/openapi.json` serves.
    pub openapi_json: Bytes,
}

impl FromRef<AppState> for HttpMetrics {
    fn from_ref(state: &AppState) -> Self {
        state.http_metrics.clone()
    }
}
