//! Sign-in throttling: a token bucket (GCRA, by `governor`) per client IP and per email
//! address, in memory. Both buckets are spent on every attempt, before any password work, so
//! a flood costs the server almost nothing. Stale entries are dropped by a background task.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::ThrottleConfig;
use crate::error::ApiError;

/// The sign-in throttle.
pub struct LoginThrottle {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).expect("burst is at least 1");
    Quota::with_period(refill.max(Duration::from_millis(1)))
        .expect("the refill period is positive")
        .allow_burst(burst)
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            by_ip: RateLimiter::keyed(quota(config.per_ip_burst, config.per_ip_refill)),
            by_email: RateLimiter::keyed(quota(config.per_email_burst, config.per_email_refill)),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one attempt for the IP (and the email, when given); 429 `rate_limited` with
    /// `retry-after` when either bucket is empty.
    pub fn check(&self, ip: IpAddr, email: Option<&str>) -> Result<(), ApiError> {
        if let Err(not_until) = self.by_ip.check_key(&ip) {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(ApiError::rate_limited(
                "Too many sign-in attempts from this address; try again later.",
                wait.as_secs_f64().ceil() as u64,
            ));
        }
        if let Some(email) = email
            && let Err(not_until) = self.by_email.check_key(&email.to_owned())
        {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(ApiError::rate_limited(
                "Too many sign-in attempts for this account; try again later.",
                wait.as_secs_f64().ceil() as u64,
            ));
        }
        Ok(())
    }

    /// Forgets buckets that have refilled completely (called periodically).
    pub fn forget_idle(&self) {
        self.by_ip.retain_recent();
        self.by_email.retain_recent();
        self.by_ip.shrink_to_fit();
        self.by_email.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn the_email_bucket_empties_after_its_burst() {
        let throttle = LoginThrottle::new(ThrottleConfig {
            per_ip_burst: 100,
            per_ip_refill: Duration::from_secs(1),
            per_email_burst: 3,
            per_email_refill: Duration::from_secs(60),
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            throttle.check(ip, Some("a@example.com")).unwrap();
        }
        let err = throttle.check(ip, Some("a@example.com")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        // Another account from the same address is unaffected.
        throttle.check(ip, Some("b@example.com")).unwrap();
    }
}
