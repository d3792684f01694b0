//! Monthly quotas: each organisation may make a number of (non-rate-limited) `/v1` calls per
//! calendar month (UTC) — the deployment's default, or its own `monthly_quota`.
//!
//! Counting happens in memory on the request path; the request log's writer persists the
//! count (`quota_usage`) with each batch. An organisation's counter is loaded from the database
//! the first time it is seen in a month and re-read every 30 seconds (taking the larger of the
//! two), so a restart loses nothing and instances sharing PostgreSQL converge within about
//! that long. Across instances the limit is therefore approximate by a few seconds of traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::Datelike;

use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::error::{ApiError, ErrorCode};
use crate::time::{Timestamp, now};

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
    synced_at: Instant,
}

impl Counter {
    fn spend(&mut self) -> Result<u64, ApiError> {
        if self.used >= self.limit {
            return Err(ApiError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "The organisation has used its {} API calls for {}; the quota renews on the 1st (UTC).",
                    self.limit, self.month
                ),
            )
            .with_header(X_API_CALLS_REMAINING, HeaderValue::from(0u64)));
        }
        self.used += 1;
        Ok(self.limit - self.used)
    }
}

/// The quota counters of all organisations.
pub struct Quotas {
    db: Db,
    default_limit: u64,
    counters: Mutex<HashMap<Arc<str>, Counter>>,
}

const X_API_CALLS_REMAINING: HeaderName = HeaderName::from_static("x-api-calls-remaining");

/// `x-api-calls-remaining`.
pub fn apply_remaining(headers: &mut HeaderMap, remaining: u64) {
    headers.insert(X_API_CALLS_REMAINING, HeaderValue::from(remaining));
}

impl Quotas {
    pub fn new(db: Db, default_limit: u64) -> Self {
        Self { db, default_limit, counters: Mutex::new(HashMap::new()) }
    }

    /// Spends one call of the organisation's month (that of `at`); returns the calls remaining, or 429
    /// `quota_exceeded` (which spends nothing). One lock and no allocation when the counter is
    /// fresh; the database is read only to load or refresh it.
    pub async fn spend(&self, organization_id: &Arc<str>, at: Timestamp) -> Result<u64, ApiError> {
        let month = Month::of(at);
        {
            let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(counter) = counters.get_mut(organization_id)
                && counter.month == month
                && counter.synced_at.elapsed() < REFRESH
            {
                return counter.spend();
            }
        }
        let (limit, used) = self.load(organization_id, month).await?;
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let counter = counters.entry(organization_id.clone()).or_insert_with(|| Counter {
            month,
            limit,
            used,
            synced_at: Instant::now(),
        });
        if counter.month != month {
            *counter = Counter { month, limit, used, synced_at: Instant::now() };
        } else {
            counter.limit = limit;
            counter.used = counter.used.max(used);
            counter.synced_at = Instant::now();
        }
        counter.spend()
    }

    /// The calls left, from memory only (for headers on answers that spend nothing).
    pub fn peek(&self, organization_id: &str) -> Option<u64> {
        let month = Month::of(now());
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.get(organization_id).filter(|c| c.month == month).map(|c| c.limit.saturating_sub(c.used))
    }

    /// The calls the organisation has left this month (for `/v1/usage`), without spending.
    pub async fn remaining(&self, organization_id: &str) -> Result<u64, ApiError> {
        let month = Month::of(now());
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
