//! Step 4 of the `/v1` pipeline: the key's rate limit, then the organisation's monthly quota
//! (a rate-limited call spends no quota). With Redis both are decided by one script — one
//! round trip per request instead of two; without it (or while it is down) by
//! [`RateLimits::check`] and [`Quotas::spend`], each instance on its own.

use std::sync::Arc;

use super::quota::Quotas;
use super::rate_limit::{RateLimitStatus, RateLimits};
use crate::cluster::limits;
use crate::error::ApiError;
use crate::keys::KeyRecord;
use crate::time::Timestamp;

/// Why a call was not admitted.
#[derive(Debug)]
pub enum Refused {
    /// The key's rate limit (429 `rate_limited`).
    RateLimited(ApiError),
    /// The monthly quota (429 `quota_exceeded`), or its count could not be read; the rate
    /// limit allowed the call, so its headers go onto the answer.
    Quota { error: ApiError, rate: RateLimitStatus },
    /// The quota's count could not be read before anything was decided.
    Unavailable(ApiError),
}

/// Spends one call of `key`'s rate limit and its organisation's quota for the month of `at`;
/// returns the rate-limit state and the calls remaining.
pub async fn admit(
    rate_limits: &RateLimits,
    quotas: &Quotas,
    key: &KeyRecord,
    at: Timestamp,
) -> Result<(RateLimitStatus, u64), Refused> {
    if let (Some(redis), Some(_)) = (rate_limits.shared_redis(), quotas.shared_redis()) {
        let rate = rate_limits.plan(&key.id, key.rate_limit_rpm);
        let organization: &Arc<str> = &key.organization_id;
        let quota =
            quotas.plan(organization, super::quota::Month::of(at)).await.map_err(Refused::Unavailable)?;
        let debt = rate_limits.debt(&key.id);
        let decided = limits::admit(
            redis,
            (&rate.bucket, rate.per_request, rate.rpm, debt),
            (&quota.counter, quota.limit, quota.stored),
        )
        .await;
        let (status, remaining) = match decided {
            Some((decision, spent)) => {
                let status = rate_limits.decided(&rate, decision).map_err(Refused::RateLimited)?;
                // An allowed call always went on to the quota in the same script.
                let remaining = match spent {
                    Some(spent) => quotas.settle(organization, &quota, spent),
                    None => quotas.spend_here(organization, &quota),
                };
                (status, remaining)
            }
            // Redis is down: this instance decides alone.
            None => {
                rate_limits.unpaid(&key.id, debt);
                let status = rate_limits.check_here(&key.id, &rate).map_err(Refused::RateLimited)?;
                (status, quotas.spend_here(organization, &quota))
            }
        };
        return remaining
            .map(|remaining| (status, remaining))
            .map_err(|error| Refused::Quota { error, rate: status });
    }
    let status = rate_limits.check(&key.id, key.rate_limit_rpm).await.map_err(Refused::RateLimited)?;
    match quotas.spend(&key.organization_id, at).await {
        Ok(remaining) => Ok((status, remaining)),
        Err(error) => Err(Refused::Quota { error, rate: status }),
    }
}
