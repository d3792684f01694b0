//! Limits decided in Redis, one atomic script per decision, so that every instance spends from
//! the same allowance: GCRA buckets (per-key rate limits, the playground's bucket, sign-in and
//! sign-up throttles) and the monthly quota counters.
//!
//! Time is Redis's own (`TIME` inside the script): instances whose clocks differ still agree.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::redis::SharedRedis;

/// Every key this server writes starts with this.
pub const PREFIX: &str = "portico:";

/// A GCRA decision: the same semantics as `governor`'s in-memory limiter — a bucket of
/// `burst` cells, one cell back every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub allowed: bool,
    /// Cells left after this request.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// Refused: until a cell is back.
    pub retry_after: Duration,
}

/// KEYS[1]: the bucket's theoretical arrival time (µs). ARGV[1]: the emission interval (µs),
/// ARGV[2]: the burst (cells). Returns {allowed, remaining, reset µs, retry-after µs}.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead > tolerance then
  return {0, 0, tat - now, ahead - tolerance}
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(ahead / 1000) + 1)
return {1, math.floor((tolerance - ahead) / interval), ahead, 0}
",
    )
});

/// Spends a cell of `bucket` (a key under [`PREFIX`]); `None` when Redis is down.
pub async fn gcra(redis: &SharedRedis, bucket: &str, interval: Duration, burst: u32) -> Option<Gcra> {
    let interval_us = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX).max(1);
    let (allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64) =
        redis.run(GCRA.key(bucket).arg(interval_us).arg(burst.max(1))).await?;
    let micros = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
    Some(Gcra {
        allowed: allowed == 1,
        remaining: u32::try_from(remaining).unwrap_or(0),
        reset: micros(reset_us),
        retry_after: micros(retry_us),
    })
}

/// What spending a quota call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSpend {
    pub allowed: bool,
    /// Calls used this month, this one included when allowed.
    pub used: u64,
}

/// KEYS[1]: the month's counter. ARGV[1]: the limit, ARGV[2]: the durable count (the floor:
/// what the database already holds — after a Redis restart the counter starts there),
/// ARGV[3]: the counter's lifetime (s), set when the counter is made. Returns {allowed, used}.
static QUOTA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local stored = redis.call('GET', KEYS[1])
local used = tonumber(stored or '0')
local floor = tonumber(ARGV[2])
if used < floor then
  used = floor
  redis.call('SET', KEYS[1], used, 'EX', ARGV[3])
  stored = true
end
if used >= tonumber(ARGV[1]) then
  return {0, used}
end
used = redis.call('INCR', KEYS[1])
if not stored then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {1, used}
",
    )
});

/// How long a month's counter outlives its month's start (it is read only during the month).
const QUOTA_LIFETIME: Duration = Duration::from_secs(40 * 24 * 3600);

/// Spends one call of `counter`'s month (a key under [`PREFIX`]) if fewer than `limit` were
/// used; `None` when Redis is down.
pub async fn spend_quota(redis: &SharedRedis, counter: &str, limit: u64, floor: u64) -> Option<QuotaSpend> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut invocation = QUOTA.key(counter);
    invocation.arg(as_i64(limit)).arg(as_i64(floor)).arg(QUOTA_LIFETIME.as_secs());
    let (allowed, used): (i64, i64) = redis.run(&invocation).await?;
    Some(QuotaSpend { allowed: allowed == 1, used: u64::try_from(used).unwrap_or(0) })
}

/// Whether `key` exists; `None` when Redis is down.
pub async fn exists(redis: &SharedRedis, key: &str) -> Option<bool> {
    redis.command(redis::cmd("EXISTS").arg(key)).await
}

/// Sets `key` for `lifetime`.
pub async fn mark(redis: &SharedRedis, key: &str, lifetime: Duration) {
    let _: Option<()> =
        redis.command(redis::cmd("SET").arg(key).arg(1).arg("EX").arg(lifetime.as_secs().max(1))).await;
}
