//! Limits decided in Redis, one atomic script per decision, so that every instance spends from
//! the same allowance: GCRA buckets (per-key rate limits, the playground's bucket, sign-in and
//! sign-up throttles) and the monthly quota counters.
//!
//! Time is Redis's own (`TIME` inside the script): instances whose clocks differ still agree.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::redis::SharedRedis;

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

/// The GCRA step, as a Lua function: spends a cell of the bucket `key` (its theoretical
/// arrival time, µs) of `burst` cells, one back every `interval` µs. `debt` cells are taken
/// first, whatever the answer: calls an instance allowed on its own while Redis was down,
/// so that the shared bucket does not refill what was spent meanwhile. Returns allowed
/// (1/0), remaining, reset µs, retry-after µs.
const GCRA_STEP: &str = r"
local function gcra(key, interval, burst, debt)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tolerance = interval * burst
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  if debt > 0 then
    tat = math.min(tat + debt * interval, now + tolerance)
    redis.call('SET', key, tat, 'PX', math.ceil((tat - now) / 1000) + 1)
  end
  local ahead = tat + interval - now
  if ahead > tolerance then
    return 0, 0, tat - now, ahead - tolerance
  end
  redis.call('SET', key, tat + interval, 'PX', math.ceil(ahead / 1000) + 1)
  return 1, math.floor((tolerance - ahead) / interval), ahead, 0
end
";

/// The quota step, as a Lua function: spends a call of the month's counter `key` if fewer
/// than `limit` were used. `floor` is the durable count (what the database already holds —
/// after a Redis restart the counter starts there); `lifetime` (s) is set when the counter is
/// made. Returns allowed (1/0), used.
const QUOTA_STEP: &str = r"
local function quota(key, limit, floor, lifetime)
  local stored = redis.call('GET', key)
  local used = tonumber(stored or '0')
  if used < floor then
    used = floor
    redis.call('SET', key, used, 'EX', lifetime)
    stored = true
  end
  if used >= limit then
    return 0, used
  end
  used = redis.call('INCR', key)
  if not stored then
    redis.call('EXPIRE', key, lifetime)
  end
  return 1, used
end
";

/// KEYS[1]: the bucket; ARGV: interval µs, burst, debt. Returns {allowed, remaining, reset,
/// retry}.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{GCRA_STEP}
local a, r, s, w = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return {{a, r, s, w}}"
    ))
});

/// KEYS[1]: the counter; ARGV: limit, floor, lifetime. Returns {allowed, used}.
static QUOTA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{QUOTA_STEP}
local a, u = quota(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
return {{a, u}}"
    ))
});

/// Both steps in one round trip, the quota only when the rate limit allows: KEYS[1] the
/// bucket, KEYS[2] the counter; ARGV: interval µs, burst, limit, floor, lifetime, debt.
/// Returns {allowed, remaining, reset, retry, quota allowed (-1: not tried), used}.
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{GCRA_STEP}{QUOTA_STEP}
local a, r, s, w = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[6]))
if a == 0 then
  return {{a, r, s, w, -1, 0}}
end
local qa, u = quota(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
return {{a, r, s, w, qa, u}}"
    ))
});

/// Spends a cell of `bucket` (a key named with [`SharedRedis::key`]), after `debt` cells
/// spent while Redis was down; `None` when Redis is down.
pub async fn gcra(
    redis: &SharedRedis,
    bucket: &str,
    interval: Duration,
    burst: u32,
    debt: u32,
) -> Option<Gcra> {
    let answer: (i64, i64, i64, i64) =
        redis.run(GCRA.key(bucket).arg(micros_of(interval)).arg(burst.max(1)).arg(debt)).await?;
    Some(Gcra::from(answer))
}

/// An interval in whole µs, at least 1.
fn micros_of(interval: Duration) -> i64 {
    i64::try_from(interval.as_micros()).unwrap_or(i64::MAX).max(1)
}

impl From<(i64, i64, i64, i64)> for Gcra {
    /// The script's {allowed, remaining, reset µs, retry-after µs}.
    fn from((allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64)) -> Self {
        let micros = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
        Self {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset: micros(reset_us),
            retry_after: micros(retry_us),
        }
    }
}

/// What spending a quota call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSpend {
    pub allowed: bool,
    /// Calls used this month, this one included when allowed.
    pub used: u64,
}

/// How long a month's counter outlives its month's start (it is read only during the month).
const QUOTA_LIFETIME: Duration = Duration::from_secs(40 * 24 * 3600);

/// Spends one call of `counter`'s month (a key named with [`SharedRedis::key`]) if fewer than `limit` were
/// used; `None` when Redis is down.
pub async fn spend_quota(redis: &SharedRedis, counter: &str, limit: u64, floor: u64) -> Option<QuotaSpend> {
    let mut invocation = QUOTA.key(counter);
    invocation.arg(saturating_i64(limit)).arg(saturating_i64(floor)).arg(QUOTA_LIFETIME.as_secs());
    let (allowed, used): (i64, i64) = redis.run(&invocation).await?;
    Some(QuotaSpend { allowed: allowed == 1, used: u64::try_from(used).unwrap_or(0) })
}

/// A rate-limit decision and, when it allowed the call, the quota spend: one round trip for
/// what [`gcra`] and [`spend_quota`] would do in two. `None` when Redis is down.
pub async fn admit(
    redis: &SharedRedis,
    rate: (&str, Duration, u32, u32),
    quota: (&str, u64, u64),
) -> Option<(Gcra, Option<QuotaSpend>)> {
    let ((bucket, interval, burst, debt), (counter, limit, floor)) = (rate, quota);
    let mut invocation = ADMIT.key(bucket);
    invocation.key(counter).arg(micros_of(interval)).arg(burst.max(1));
    invocation.arg(saturating_i64(limit)).arg(saturating_i64(floor)).arg(QUOTA_LIFETIME.as_secs());
    invocation.arg(debt);
    let (a, r, s, w, quota_allowed, used): (i64, i64, i64, i64, i64, i64) = redis.run(&invocation).await?;
    let spent = (quota_allowed >= 0)
        .then(|| QuotaSpend { allowed: quota_allowed == 1, used: u64::try_from(used).unwrap_or(0) });
    Some((Gcra::from((a, r, s, w)), spent))
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
