//! Per-key rate limits: GCRA, a smooth limiter — a key of N requests per minute may burst N,
//! then gets one more every 60/N seconds; there are no window boundaries to double-burst
//! across.
//!
//! With Redis (`--redis-url`) the bucket lives there and every instance spends from it
//! ([`crate::cluster::limits::gcra`], one atomic script per decision); without it, or while
//! Redis is down, each instance keeps its own (by `governor`), with the same semantics and
//! the same headers.
//!
//! A switch must not hand out a fresh burst: when Redis stops answering a key's local bucket
//! starts **empty** (it refills at the key's rate), one per outage — unless Redis has not
//! answered since the instance started, when there was no shared bucket to go on from and
//! the bucket starts full as without Redis; and the calls an instance
//! allowed on its own are charged to the shared bucket at the key's first decision once
//! Redis answers again. Flapping Redis therefore never lets a key past its burst plus its
//! rate over time.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use moka::sync::Cache;

use crate::cluster::SharedRedis;
use crate::cluster::limits::{self, Gcra};
use crate::error::{ApiError, ErrorCode};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

struct KeyLimiter {
    rpm: u32,
    limiter: Limiter,
    /// The Redis epoch it was made in (shared limits only: a new outage starts a new bucket).
    epoch: u64,
    /// Calls it allowed while Redis was down, not yet charged to the shared bucket.
    unpaid: AtomicU32,
}

/// The rate limit state a response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

impl RateLimitStatus {
    /// `x-ratelimit-*` and the IETF draft `RateLimit-Policy` / `RateLimit` fields. Numbers
    /// are written with `itoa` straight into each header's own buffer: this runs on every
    /// `/v1` answer.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let (mut a, mut b, mut c) = (itoa::Buffer::new(), itoa::Buffer::new(), itoa::Buffer::new());
        let (limit, remaining, reset) =
            (a.format(self.limit), b.format(self.remaining), c.format(self.reset_secs));
        let field = |parts: &[&str]| {
            HeaderValue::from_maybe_shared(axum::body::Bytes::from(parts.concat()))
                .expect("digits and quotes are a valid header value")
        };
        headers.reserve(5);
        // (Names as constants: `from_static` outside a const context checks the name at run time.)
        const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
        const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
        const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
        const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
        const STATE: HeaderName = HeaderName::from_static("ratelimit");
        headers.insert(LIMIT, field(&[limit]));
        headers.insert(REMAINING, field(&[remaining]));
        headers.insert(RESET, field(&[reset]));
        headers.insert(POLICY, field(&["\"per-key\";q=", limit, ";w=60"]));
        headers.insert(STATE, field(&["\"per-key\";r=", remaining, ";t=", reset]));
    }
}

/// What deciding for one key needs ([`RateLimits::plan`]).
pub(super) struct RatePlan {
    pub rpm: u32,
    pub per_request: Duration,
    /// The bucket's name in Redis (empty when not shared).
    pub bucket: String,
}

/// The per-key limiters. Idle ones are forgotten after ten minutes (by then they are full
/// again anyway).
pub struct RateLimits {
    /// What the limit applies to, for the 429's detail and the `RateLimit-Policy` name.
    subject: Subject,
    default_rpm: u32,
    limiters: Cache<Arc<str>, Arc<KeyLimiter>>,
    clock: DefaultClock,
    /// Where the buckets live when they are shared.
    shared: Option<Arc<SharedRedis>>,
    /// Whether any local bucket may owe the shared one (set on the first call allowed while
    /// Redis is down): until then the shared path looks nothing up.
    owing: AtomicBool,
}

/// Whose allowance a set of limiters keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `/v1` calls, per API key.
    ApiKey,
    /// Playground runs, per dashboard user.
    PlaygroundUser,
}

impl RateLimits {
    /// Per-key limits for `/v1`.
    pub fn new(default_rpm: u32) -> Self {
        Self::for_subject(Subject::ApiKey, default_rpm)
    }

    pub fn for_subject(subject: Subject, default_rpm: u32) -> Self {
        Self {
            subject,
            default_rpm: default_rpm.max(1),
            limiters: Cache::builder().max_capacity(1_000_000).time_to_idle(Duration::from_secs(600)).build(),
            clock: DefaultClock::default(),
            shared: None,
            owing: AtomicBool::new(false),
        }
    }

    /// The same limits, kept in `redis` while it answers.
    pub fn shared(mut self, redis: Option<Arc<SharedRedis>>) -> Self {
        self.shared = redis;
        self
    }

    /// Spends one request of `key_id`'s allowance (`rpm`, or the default). `Err` is the 429
    /// `rate_limited` answer, with `retry-after` and the rate limit headers.
    pub async fn check(&self, key_id: &Arc<str>, rpm: Option<i64>) -> Result<RateLimitStatus, ApiError> {
        let plan = self.plan(key_id, rpm);
        if let Some(redis) = &self.shared {
            let debt = self.debt(key_id);
            if let Some(decision) = limits::gcra(redis, &plan.bucket, plan.per_request, plan.rpm, debt).await
            {
                return self.decided(&plan, decision);
            }
            self.unpaid(key_id, debt);
        }
        self.check_here(key_id, &plan)
    }

    /// The calls `key_id`'s local bucket allowed while Redis was down, taken to be charged to
    /// the shared bucket by the decision about to be made (see [`Self::unpaid`] if it cannot).
    pub(super) fn debt(&self, key_id: &str) -> u32 {
        if !self.owing.load(Ordering::Relaxed) {
            return 0;
        }
        self.limiters.get(key_id).map_or(0, |entry| entry.unpaid.swap(0, Ordering::AcqRel))
    }

    /// A debt taken by [`Self::debt`] that Redis did not take: owed again.
    pub(super) fn unpaid(&self, key_id: &str, debt: u32) {
        if debt > 0
            && let Some(entry) = self.limiters.get(key_id)
        {
            entry.unpaid.fetch_add(debt, Ordering::AcqRel);
        }
    }

    /// What deciding for `key_id` needs: its limit and, when shared, its bucket's name.
    pub(super) fn plan(&self, key_id: &str, rpm: Option<i64>) -> RatePlan {
        let rpm = rpm.and_then(|r| u32::try_from(r).ok()).filter(|r| *r > 0).unwrap_or(self.default_rpm);
        let bucket = match &self.shared {
            None => String::new(),
            Some(redis) => {
                let subject = match self.subject {
                    Subject::ApiKey => "key",
                    Subject::PlaygroundUser => "playground",
                };
                // The limit is part of the bucket's name: a changed limit starts afresh, as
                // it does here.
                let mut rpm_text = itoa::Buffer::new();
                redis.key(&["rl:", subject, ":", key_id, ":", rpm_text.format(rpm)])
            }
        };
        RatePlan { rpm, per_request: Duration::from_secs(60) / rpm, bucket }
    }

    /// The answer to a decision Redis made.
    pub(super) fn decided(&self, plan: &RatePlan, decision: Gcra) -> Result<RateLimitStatus, ApiError> {
        match decision.allowed {
            true => Ok(RateLimitStatus {
                limit: plan.rpm,
                remaining: decision.remaining,
                reset_secs: decision.reset.as_secs_f64().ceil() as u64,
            }),
            false => Err(self.refusal(plan.rpm, decision.retry_after, plan.per_request)),
        }
    }

    /// The Redis the buckets are shared in, if any.
    pub(super) fn shared_redis(&self) -> Option<&Arc<SharedRedis>> {
        self.shared.as_ref()
    }

    /// The decision by this instance's own limiter. When limits are shared (Redis is down), a
    /// key's bucket starts empty in each outage and what it allows is owed to the shared one.
    pub(super) fn check_here(&self, key_id: &Arc<str>, plan: &RatePlan) -> Result<RateLimitStatus, ApiError> {
        let (rpm, per_request) = (plan.rpm, plan.per_request);
        let epoch = self.shared.as_ref().map_or(0, |redis| redis.epoch());
        let entry = match self.limiters.get(key_id) {
            Some(entry) if entry.rpm == rpm && entry.epoch == epoch => entry,
            previous => {
                let quota = Quota::per_minute(NonZeroU32::new(rpm).expect("rpm is positive"));
                let limiter = RateLimiter::direct(quota).with_middleware();
                if epoch > 0 {
                    // Falling back after Redis answered: no fresh burst on top of what the key
                    // had there. (Down since start, there was no shared bucket to go on from.)
                    let _ = limiter.check_n(NonZeroU32::new(rpm).expect("rpm is positive"));
                }
                let unpaid = previous.map_or(0, |p| p.unpaid.load(Ordering::Acquire));
                let fresh = Arc::new(KeyLimiter { rpm, limiter, epoch, unpaid: AtomicU32::new(unpaid) });
                self.limiters.insert(key_id.clone(), fresh.clone());
                fresh
            }
        };
        match entry.limiter.check() {
            Ok(snapshot) => {
                if self.shared.is_some() {
                    entry.unpaid.fetch_add(1, Ordering::AcqRel);
                    self.owing.store(true, Ordering::Relaxed);
                }
                let remaining = snapshot.remaining_burst_capacity();
                let used = rpm - remaining;
                Ok(RateLimitStatus {
                    limit: rpm,
                    remaining,
                    reset_secs: (per_request * used).as_secs_f64().ceil() as u64,
                })
            }
            Err(not_until) => Err(self.refusal(rpm, not_until.wait_time_from(self.clock.now()), per_request)),
        }
    }

    /// The 429 `rate_limited` answer, with `retry-after` and the rate limit headers.
    fn refusal(&self, rpm: u32, wait: Duration, per_request: Duration) -> ApiError {
        let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
        let status = RateLimitStatus { limit: rpm, remaining: 0, reset_secs: (per_request * rpm).as_secs() };
        let whose = match self.subject {
            Subject::ApiKey => "The API key's rate limit",
            Subject::PlaygroundUser => "Your playground rate limit",
        };
        let mut error = ApiError::new(
            ErrorCode::RateLimited,
            format!("{whose} ({rpm} requests per minute) is reached; retry in {retry_after} s."),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
        .with_header(HeaderName::from_static("x-ratelimit-retry-after"), HeaderValue::from(retry_after));
        let mut headers = HeaderMap::new();
        status.apply(&mut headers);
        for (name, value) in &headers {
            error = error.with_header(name.clone(), value.clone());
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sixth_call_of_a_five_per_minute_key_is_refused() {
        let limits = RateLimits::new(600);
        let key: Arc<str> = "key_a".into();
        for expected_remaining in (0..5).rev() {
            let status = limits.check(&key, Some(5)).await.unwrap();
            assert_eq!((status.limit, status.remaining), (5, expected_remaining));
        }
        let refused = limits.check(&key, Some(5)).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::RateLimited);
        // Another key is unaffected; the default applies without a per-key limit.
        let status = limits.check(&"key_b".into(), None).await.unwrap();
        assert_eq!((status.limit, status.remaining), (600, 599));
    }

    #[tokio::test]
    async fn a_changed_limit_takes_effect() {
        let limits = RateLimits::new(600);
        let key: Arc<str> = "key_c".into();
        limits.check(&key, Some(1)).await.unwrap();
        assert!(limits.check(&key, Some(1)).await.is_err());
        assert!(limits.check(&key, Some(100)).await.is_ok());
    }
}
