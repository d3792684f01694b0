//! Monthly quotas: each organisation may make a number of (non-rate-limited) `/v1` calls per
//! calendar month (UTC) — the deployment's default, or its own `monthly_quota`.
//!
//! The request log's writer persists the count (`quota_usage`) with each batch: that is the
//! durable count. On the request path:
//!
//! - **With Redis** (`--redis-url`) every call is spent from one counter per organisation and
//!   month in Redis, atomically ([`crate::cluster::limits::spend_quota`]): exact across
//!   instances. The counter never falls below what the instance knows — the durable count,
//!   or the highest count Redis or its own fallback gave it, whichever is larger — so a Redis
//!   that restarts empty starts again from there; and when Redis comes back after an outage
//!   each instance reads the durable count afresh before its next spend (the database lags
//!   by at most a flush period).
//! - **Without it** (or while it is down) each instance counts in memory. An organisation's
//!   counter is loaded from the database the first time it is seen in a month and re-read
//!   every 30 seconds (taking the larger of the two), so a restart loses nothing and
//!   instances sharing PostgreSQL converge within about that long: across N instances the
//!   limit is approximate by up to 30 s of the others' traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::Datelike;

use crate::cluster::SharedRedis;
use crate::cluster::limits::{self, QuotaSpend};
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::error::{ApiError, ErrorCode};
use crate::time::Timestamp;

const REFRESH: Duration = Duration::from_secs(30);

/// A calendar month (UTC), shown as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn of(at: Timestamp) -> Self {
        Self { year: at.year(), month: at.month() }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

struct Counter {
    month: Month,
    limit: u64,
    used: u64,
    /// The count in the database when it was last read.
    stored: u64,
    synced_at: Instant,
    /// The Redis epoch it was read in (0 without Redis): a switch reads the database again.
    epoch: u64,
}

impl Counter {
    fn spend(&mut self) -> Result<u64, ApiError> {
        if self.used >= self.limit {
            return Err(exceeded(self.limit, self.month));
        }
        self.used += 1;
        Ok(self.limit - self.used)
    }

    fn is_fresh(&self, month: Month) -> bool {
        self.month == month && self.synced_at.elapsed() < REFRESH
    }

    /// The count the shared counter must not fall below: the durable count, or more if this
    /// instance has seen more.
    fn floor(&self) -> u64 {
        self.stored.max(self.used)
    }
}

/// What spending needs to know of an organisation's month ([`Quotas::plan`]).
pub(super) struct QuotaPlan {
    pub month: Month,
    pub limit: u64,
    /// The floor of the shared counter: the durable count, or the highest count this
    /// instance has seen.
    pub stored: u64,
    /// The counter's name in Redis.
    pub counter: String,
}

/// The organisation's counter for `month` in Redis.
fn shared_counter(redis: &SharedRedis, organization_id: &str, month: Month) -> String {
    redis.key(&["quota:", organization_id, ":", &month.to_string()])
}

/// The 429 `quota_exceeded` answer.
fn exceeded(limit: u64, month: Month) -> ApiError {
    ApiError::new(
        ErrorCode::QuotaExceeded,
        format!(
            "The organisation has used its {limit} API calls for {month}; the quota renews on the 1st (UTC)."
        ),
    )
    .with_header(X_API_CALLS_REMAINING, HeaderValue::from(0u64))
}

/// The quota counters of all organisations.
pub struct Quotas {
    db: Db,
    default_limit: u64,
    counters: Mutex<HashMap<Arc<str>, Counter>>,
    /// Where the counters live when they are shared.
    shared: Option<Arc<SharedRedis>>,
}

const X_API_CALLS_REMAINING: HeaderName = HeaderName::from_static("x-api-calls-remaining");

/// `x-api-calls-remaining`.
pub fn apply_remaining(headers: &mut HeaderMap, remaining: u64) {
    headers.insert(X_API_CALLS_REMAINING, HeaderValue::from(remaining));
}

impl Quotas {
    pub fn new(db: Db, default_limit: u64) -> Self {
        Self { db, default_limit, counters: Mutex::new(HashMap::new()), shared: None }
    }

    /// The same quotas, counted in `redis` while it answers.
    pub fn shared(mut self, redis: Option<Arc<SharedRedis>>) -> Self {
        self.shared = redis;
        self
    }

    /// Spends one call of the organisation's month (that of `at`); returns the calls remaining, or 429
    /// `quota_exceeded` (which spends nothing). Without Redis: one lock and no allocation when
    /// the counter is fresh; the database is read only to load or refresh it. With Redis: one
    /// script ([`limits::spend_quota`]; the `/v1` pipeline spends through
    /// [`super::admit`] instead, which joins it to the rate limit's).
    pub async fn spend(&self, organization_id: &Arc<str>, at: Timestamp) -> Result<u64, ApiError> {
        let month = Month::of(at);
        if let Some(redis) = &self.shared {
            let plan = self.plan(organization_id, month).await?;
            // While Redis is down this answers `None` at once (and counts the fallback).
            return match limits::spend_quota(redis, &plan.counter, plan.limit, plan.stored).await {
                Some(spent) => self.settle(organization_id, &plan, spent),
                None => self.spend_here(organization_id, &plan),
            };
        }
        {
            let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(counter) = counters.get_mut(organization_id).filter(|c| c.is_fresh(month)) {
                return counter.spend();
            }
        }
        let (limit, stored) = self.refresh(organization_id, month).await?;
        self.spend_here(organization_id, &QuotaPlan { month, limit, stored, counter: String::new() })
    }

    /// What a shared spend needs: the organisation's limit and durable count (read from the
    /// database at most every 30 s) and its counter's name in Redis.
    pub(super) async fn plan(&self, organization_id: &Arc<str>, month: Month) -> Result<QuotaPlan, ApiError> {
        let epoch = self.epoch();
        let known = {
            let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            counters
                .get(organization_id)
                .filter(|c| c.is_fresh(month) && c.epoch == epoch)
                .map(|c| (c.limit, c.floor()))
        };
        let (limit, stored) = match known {
            Some(known) => known,
            None => self.refresh(organization_id, month).await?,
        };
        let counter = self
            .shared
            .as_ref()
            .map(|redis| shared_counter(redis, organization_id, month))
            .unwrap_or_default();
        Ok(QuotaPlan { month, limit, stored, counter })
    }

    /// The answer to a spend Redis decided. The count is kept here too: the count to go on
    /// from should Redis stop answering.
    pub(super) fn settle(
        &self,
        organization_id: &str,
        plan: &QuotaPlan,
        spent: QuotaSpend,
    ) -> Result<u64, ApiError> {
        self.with_counter(organization_id, plan.month, |c| c.used = c.used.max(spent.used));
        match spent.allowed {
            true => Ok(plan.limit.saturating_sub(spent.used)),
            false => Err(exceeded(plan.limit, plan.month)),
        }
    }

    /// Spends from this instance's own counter.
    pub(super) fn spend_here(&self, organization_id: &str, plan: &QuotaPlan) -> Result<u64, ApiError> {
        self.with_counter(organization_id, plan.month, Counter::spend)
            .unwrap_or_else(|| Err(exceeded(plan.limit, plan.month)))
    }

    /// The Redis the counters are shared in, if any.
    pub(super) fn shared_redis(&self) -> Option<&Arc<SharedRedis>> {
        self.shared.as_ref()
    }

    /// Reads the organisation's limit and stored count for `month` into its counter.
    /// Returns the limit and the count to go on from (the larger of the database's and what
    /// this instance has seen).
    async fn refresh(&self, organization_id: &Arc<str>, month: Month) -> Result<(u64, u64), ApiError> {
        let epoch = self.epoch();
        let (limit, stored) = self.load(organization_id, month).await?;
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = || Counter { month, limit, used: stored, stored, synced_at: Instant::now(), epoch };
        let counter = counters.entry(organization_id.clone()).or_insert_with(fresh);
        if counter.month != month {
            *counter = fresh();
        } else {
            counter.limit = limit;
            counter.used = counter.used.max(stored);
            counter.stored = stored;
            counter.synced_at = Instant::now();
            counter.epoch = epoch;
        }
        Ok((limit, counter.floor()))
    }

    /// The Redis epoch (0 without Redis).
    fn epoch(&self) -> u64 {
        self.shared.as_ref().map_or(0, |redis| redis.epoch())
    }

    /// Runs `f` on the organisation's counter for `month`, if there is one.
    fn with_counter<T>(
        &self,
        organization_id: &str,
        month: Month,
        f: impl FnOnce(&mut Counter) -> T,
    ) -> Option<T> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.get_mut(organization_id).filter(|c| c.month == month).map(f)
    }

    /// Drops the organisation's counter, so that the next call reads its limit afresh (its
    /// quota was changed). The count is not lost: it is read back from the database.
    pub fn forget(&self, organization_id: &str) {
        self.counters.lock().unwrap_or_else(|p| p.into_inner()).remove(organization_id);
    }

    /// The calls left, from memory only (for headers on answers that spend nothing).
    pub fn peek(&self, organization_id: &str) -> Option<u64> {
        let month = Month::of(self.db.now());
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.get(organization_id).filter(|c| c.month == month).map(|c| c.limit.saturating_sub(c.used))
    }

    /// The calls the organisation has left this month (for `/v1/usage`), without spending.
    pub async fn remaining(&self, organization_id: &str) -> Result<u64, ApiError> {
        let month = Month::of(self.db.now());
        if let Some(redis) = self.shared.as_ref().filter(|redis| redis.is_up()) {
            let counter = shared_counter(redis, organization_id, month);
            if let Some(used) = redis.command::<Option<u64>>(redis::cmd("GET").arg(&counter)).await {
                let (limit, stored) = self.load(organization_id, month).await?;
                return Ok(limit.saturating_sub(used.unwrap_or(0).max(stored)));
            }
        }
        if let Some(counter) = self.counters.lock().unwrap_or_else(|p| p.into_inner()).get(organization_id)
            && counter.month == month
        {
            return Ok(counter.limit.saturating_sub(counter.used));
        }
        let (limit, used) = self.load(organization_id, month).await?;
        Ok(limit.saturating_sub(used))
    }

    async fn load(&self, organization_id: &str, month: Month) -> Result<(u64, u64), StoreError> {
        const LIMIT: &str = "SELECT monthly_quota FROM organizations WHERE id = $1";
        const USED: &str = "SELECT used FROM quota_usage WHERE organization_id = $1 AND month = $2";
        let (limit, used) = dispatch!(&self.db, |pool| {
            let limit: Option<Option<i64>> =
                sqlx::query_scalar(LIMIT).bind(organization_id).fetch_optional(pool).await?;
            let used: Option<i64> = sqlx::query_scalar(USED)
                .bind(organization_id)
                .bind(month.to_string())
                .fetch_optional(pool)
                .await?;
            Ok::<_, sqlx::Error>((limit.flatten(), used))
        })?;
        let limit = limit.and_then(|l| u64::try_from(l).ok()).unwrap_or(self.default_limit);
        Ok((limit, used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0)))
    }
}
