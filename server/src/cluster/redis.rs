//! The shared Redis (`--redis-url`): one multiplexed connection, every call bounded by a short
//! timeout, and a health state that decides whether a call is tried at all.
//!
//! While Redis is up, limits, quotas and throttles are decided there (one atomic script per
//! decision). A call that fails or times out marks Redis down: that request, and every
//! request after it, is decided by the instance's own in-memory limiters — so an outage
//! never turns into 500s or into requests that each wait for a timeout. One warning is
//! logged per outage, `portico_redis_outages_total` counts them and
//! `portico_redis_fallback_decisions_total` the decisions made locally meanwhile. A
//! background probe ([`SharedRedis::watch`]) pings every half second while it is down and
//! brings the shared limits back when it answers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ScriptInvocation};
use tokio_util::sync::CancellationToken;

/// How often a down Redis is probed.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// A Redis shared by every instance.
pub struct SharedRedis {
    connection: ConnectionManager,
    timeout: Duration,
    /// What every key starts with (`--redis-prefix`).
    prefix: String,
    up: AtomicBool,
    /// Bumped at every switch between Redis and the per-instance limits (either way): what
    /// an instance decided alone belongs to one epoch.
    epoch: AtomicU64,
    /// Where it is, for the log (the URL without its password).
    location: String,
    outages: Counter,
    fallbacks: Counter,
}

impl std::fmt::Debug for SharedRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRedis").field("location", &self.location).field("up", &self.is_up()).finish()
    }
}

impl SharedRedis {
    /// A handle on the Redis at `url`. It connects lazily: Redis may be down at start (the
    /// instance then starts on local limits and [`watch`](Self::watch) connects later). `Err`
    /// only for a URL that is not a Redis URL.
    pub fn new(url: &str, prefix: &str, timeout: Duration, registry: &mut Registry) -> Result<Self, String> {
        let location = crate::config::redact_url(url);
        let client = redis::Client::open(url).map_err(|e| format!("{location:?} is not a Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Reconnection is this module's business (the probe), not each call's.
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("cannot use the Redis at {location}: {e}"))?;
        let outages = Counter::default();
        let fallbacks = Counter::default();
        registry.register(
            "portico_redis_outages",
            "Times the shared Redis stopped answering (limits fell back to per instance)",
            outages.clone(),
        );
        registry.register(
            "portico_redis_fallback_decisions",
            "Limit, quota and throttle decisions made per instance because Redis was down",
            fallbacks.clone(),
        );
        // Down until the first answer: the probe connects at once.
        Ok(Self {
            connection,
            timeout,
            prefix: prefix.to_owned(),
            up: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            location,
            outages,
            fallbacks,
        })
    }

    /// A key of this server's: the prefix, then `parts`.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = String::with_capacity(self.prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        key.push_str(&self.prefix);
        parts.iter().for_each(|p| key.push_str(p));
        key
    }

    /// Whether shared decisions are being made (the last call or probe succeeded).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Which stretch of up or down time this is: changes at every switch; 0 until Redis
    /// first answers.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Counts a decision made per instance because Redis is down.
    pub fn fell_back(&self) {
        self.fallbacks.inc();
    }

    /// Runs a script (`SCRIPT.key(…).arg(…)`); `None` when Redis is down, or the call fails or
    /// times out (which marks it down).
    pub async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> Option<T> {
        if !self.is_up() {
            self.fell_back();
            return None;
        }
        let mut connection = self.connection.clone();
        let outcome = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await;
        self.settle(outcome)
    }

    /// Runs one command; `None` as for [`run`](Self::run).
    pub async fn command<T: FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        if !self.is_up() {
            self.fell_back();
            return None;
        }
        let mut connection = self.connection.clone();
        let outcome = tokio::time::timeout(self.timeout, command.query_async(&mut connection)).await;
        self.settle(outcome)
    }

    fn settle<T>(&self, outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>) -> Option<T> {
        let error = match outcome {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        self.mark_down(&error);
        self.fell_back();
        None
    }

    fn mark_down(&self, error: &str) {
        if self.up.swap(false, Ordering::Relaxed) {
            self.epoch.fetch_add(1, Ordering::AcqRel);
            self.outages.inc();
            tracing::warn!(
                redis = %self.location,
                error,
                "Redis is not answering: rate limits, quotas and throttles are per instance until it returns"
            );
        }
    }

    async fn ping(&self) -> Result<(), String> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, redis::cmd("PING").query_async::<String>(&mut connection))
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    /// Probes Redis until `stop`: at once, then every half second while it is down. Shared
    /// decisions resume as soon as it answers.
    pub async fn watch(&self, stop: CancellationToken) {
        let mut first = true;
        loop {
            if !self.is_up() {
                match self.ping().await {
                    Ok(()) => {
                        self.epoch.fetch_add(1, Ordering::AcqRel);
                        self.up.store(true, Ordering::Relaxed);
                        if first {
                            tracing::info!(redis = %self.location, "rate limits, quotas and throttles are shared through Redis");
                        } else {
                            tracing::info!(redis = %self.location, "Redis answers again: limits are shared again");
                        }
                    }
                    Err(error) if first => {
                        self.outages.inc();
                        tracing::warn!(
                            redis = %self.location,
                            error,
                            "Redis is not answering at start: rate limits, quotas and throttles are per instance until it does"
                        );
                    }
                    Err(_) => {}
                }
                first = false;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(PROBE_EVERY) => {}
            }
        }
    }
}
