//! Sign-in throttling, in memory, spent before any password work so a flood costs almost
//! nothing. The policy follows the OWASP Authentication Cheat Sheet: slow guessing down
//! without letting a stranger lock an owner out of their account.
//!
//! Client addresses are counted by *network*: an IPv4 address alone, an IPv6 address by its
//! /64 (one subscriber's allocation: a single host can draw 2^64 addresses from it). Three
//! token buckets (GCRA, by `governor`):
//!
//! 1. **per network** — every attempt from it, sign-ups included;
//! 2. **per (email, network)** — strict: guessing one account's password from one place;
//! 3. **per email** — a softer cap on distributed guessing against one account, from many
//!    networks. It is *not* applied to a network that has signed in to that account (or
//!    signed it up) before: whoever empties it cannot keep the owner out from their own
//!    address. Known pairs are remembered for 30 days (in memory, up to 100,000).
//!
//! With Redis (`--redis-url`) the buckets and the known pairs live there, shared by every
//! instance — N instances do not give an attacker N times the attempts. Emails are stored
//! only as SHA-256 digests. While Redis is down each instance throttles on its own.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::cluster::{SharedRedis, limits};
use crate::config::ThrottleConfig;
use crate::error::ApiError;
pub use crate::http::client_ip::Network;

/// The sign-in throttle.
pub struct LoginThrottle {
    by_network: DefaultKeyedRateLimiter<Network>,
    by_account_network: DefaultKeyedRateLimiter<(String, Network)>,
    by_account: DefaultKeyedRateLimiter<String>,
    /// (email, network) pairs that have signed in: exempt from the per-email cap.
    known: moka::sync::Cache<(String, Network), ()>,
    clock: DefaultClock,
    config: ThrottleConfig,
    /// Where the buckets live when they are shared.
    shared: Option<Arc<SharedRedis>>,
}

/// How long a known (email, network) pair is remembered.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// An email as Redis sees it: a digest, never the address.
fn digest(email: &str) -> String {
    let hash = Sha256::digest(email.as_bytes());
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Which bucket an attempt is spent from.
#[derive(Clone, Copy)]
enum Bucket {
    Network,
    AccountNetwork,
    Account,
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
            by_network: RateLimiter::keyed(quota(config.per_ip_burst, config.per_ip_refill)),
            by_account_network: RateLimiter::keyed(quota(
                config.per_account_network_burst,
                config.per_account_network_refill,
            )),
            by_account: RateLimiter::keyed(quota(config.per_account_burst, config.per_account_refill)),
            known: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(KNOWN_FOR).build(),
            clock: DefaultClock::default(),
            config,
            shared: None,
        }
    }

    /// The same throttle, kept in `redis` while it answers.
    pub fn shared(mut self, redis: Option<Arc<SharedRedis>>) -> Self {
        self.shared = redis;
        self
    }

    /// Spends one attempt for the client's network (and, for a sign-in, the account's
    /// buckets); 429 `rate_limited` with `retry-after` when one is empty.
    pub async fn check(&self, ip: IpAddr, email: Option<&str>) -> Result<(), ApiError> {
        let network = Network::from(ip);
        self.spend(Bucket::Network, network, email).await.map_err(|wait| {
            ApiError::rate_limited("Too many sign-in attempts from this address; try again later.", wait)
        })?;
        let Some(email) = email else { return Ok(()) };
        self.spend(Bucket::AccountNetwork, network, Some(email)).await.map_err(|wait| {
            ApiError::rate_limited(
                "Too many sign-in attempts for this account from this address; try again later.",
                wait,
            )
        })?;
        if !self.is_known(email, network).await {
            self.spend(Bucket::Account, network, Some(email)).await.map_err(|wait| {
                ApiError::rate_limited(
                    "Too many sign-in attempts for this account; try again later, or from an \
                     address you have signed in from before.",
                    wait,
                )
            })?;
        }
        Ok(())
    }

    /// Spends one attempt from `bucket`; `Err` holds the seconds to wait.
    async fn spend(&self, bucket: Bucket, network: Network, email: Option<&str>) -> Result<(), u64> {
        let email = email.unwrap_or("");
        if let Some(redis) = &self.shared {
            let c = &self.config;
            let (name, burst, refill) = match bucket {
                Bucket::Network => (format!("net:{network}"), c.per_ip_burst, c.per_ip_refill),
                Bucket::AccountNetwork => (
                    format!("pair:{}:{network}", digest(email)),
                    c.per_account_network_burst,
                    c.per_account_network_refill,
                ),
                Bucket::Account => {
                    (format!("account:{}", digest(email)), c.per_account_burst, c.per_account_refill)
                }
            };
            let bucket = redis.key(&["throttle:", &name]);
            let refill = refill.max(Duration::from_millis(1));
            if let Some(decision) = limits::gcra(redis, &bucket, refill, burst, 0).await {
                return match decision.allowed {
                    true => Ok(()),
                    false => Err(decision.retry_after.as_secs_f64().ceil() as u64),
                };
            }
        }
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(self.clock.now()).as_secs_f64().ceil() as u64;
        match bucket {
            Bucket::Network => self.by_network.check_key(&network).map_err(wait),
            Bucket::AccountNetwork => {
                self.by_account_network.check_key(&(email.to_owned(), network)).map_err(wait)
            }
            Bucket::Account => self.by_account.check_key(&email.to_owned()).map_err(wait),
        }
    }

    async fn is_known(&self, email: &str, network: Network) -> bool {
        if let Some(redis) = &self.shared
            && let Some(known) = limits::exists(redis, &Self::known_key(redis, email, network)).await
        {
            return known;
        }
        self.known.contains_key(&(email.to_owned(), network))
    }

    fn known_key(redis: &SharedRedis, email: &str, network: Network) -> String {
        redis.key(&["throttle:known:", &digest(email), ":", &network.to_string()])
    }

    /// Remembers that `email` signed in (or up) from `ip`'s network.
    pub async fn remember(&self, ip: IpAddr, email: &str) {
        let network = Network::from(ip);
        self.known.insert((email.to_owned(), network), ());
        if let Some(redis) = &self.shared {
            limits::mark(redis, &Self::known_key(redis, email, network), KNOWN_FOR).await;
        }
    }

    /// Forgets buckets that have refilled completely (called periodically).
    pub fn forget_idle(&self) {
        self.by_network.retain_recent();
        self.by_account_network.retain_recent();
        self.by_account.retain_recent();
        self.by_network.shrink_to_fit();
        self.by_account_network.shrink_to_fit();
        self.by_account.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleConfig {
            per_ip_burst: 1000,
            per_ip_refill: Duration::from_secs(1),
            per_account_network_burst: 3,
            per_account_network_refill: Duration::from_secs(60),
            per_account_burst: 5,
            per_account_refill: Duration::from_secs(60),
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn ipv6_addresses_count_by_their_64() {
        assert_eq!(Network::from(ip("2001:db8:1:2::1")), Network::from(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(Network::from(ip("2001:db8:1:2::1")), Network::from(ip("2001:db8:1:3::1")));
        assert_eq!(Network::from(ip("::ffff:10.0.0.1")), Network::from(ip("10.0.0.1")));
        assert_ne!(Network::from(ip("10.0.0.1")), Network::from(ip("10.0.0.2")));

        let throttle = LoginThrottle::new(ThrottleConfig { per_ip_burst: 3, ..ThrottleConfig::default() });
        for n in 0..3 {
            throttle.check(ip(&format!("2001:db8::{n:x}")), None).await.unwrap();
        }
        let err = throttle.check(ip("2001:db8::ffff:1"), None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        throttle.check(ip("2001:db8:0:1::1"), None).await.unwrap();
    }

    #[tokio::test]
    async fn one_address_guessing_one_account_is_stopped_without_locking_out_others() {
        let throttle = throttle();
        for _ in 0..3 {
            throttle.check(ip("198.51.100.1"), Some("a@example.com")).await.unwrap();
        }
        let err = throttle.check(ip("198.51.100.1"), Some("a@example.com")).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        // The same account from elsewhere, and another account from the same address, go on.
        throttle.check(ip("203.0.113.7"), Some("a@example.com")).await.unwrap();
        throttle.check(ip("198.51.100.1"), Some("b@example.com")).await.unwrap();
    }

    #[tokio::test]
    async fn strangers_cannot_lock_the_owner_out_from_their_own_address() {
        let throttle = throttle();
        let owner = ip("192.0.2.10");
        throttle.remember(owner, "a@example.com").await;
        // Guessing from many addresses empties the per-account cap…
        for n in 0..5 {
            throttle.check(ip(&format!("198.51.100.{n}")), Some("a@example.com")).await.unwrap();
        }
        let err = throttle.check(ip("198.51.100.99"), Some("a@example.com")).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        // …which holds back new addresses, but not the owner's.
        throttle.check(owner, Some("a@example.com")).await.unwrap();
        throttle.check(ip("192.0.2.10"), Some("a@example.com")).await.unwrap();
    }
}
