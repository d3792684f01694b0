//! Retrying a POST safely: one `Idempotency-Key` for every attempt, so that a request the
//! server already carried out is answered again (`idempotent-replayed: true`) instead of being
//! done twice.
//!
//! ```no_run
//! # async fn run(client: portico_sdk::Client) -> Result<(), portico_sdk::Error> {
//! use portico_sdk::{retry, types};
//!
//! let link = retry::idempotent(retry::Policy::default(), |key| {
//!     client
//!         .link_create()
//!         .idempotency_key(key)
//!         .body(types::CreateLinkRequest::builder().url("https://example.com/launch"))
//!         .send()
//! })
//! .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use crate::Error;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles, up to `max_delay`.
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self { attempts: 4, initial_delay: Duration::from_millis(250), max_delay: Duration::from_secs(8) }
    }
}

/// A fresh idempotency key (`idem_` and a ULID).
pub fn new_key() -> String {
    format!("idem_{}", ulid::Ulid::new())
}

/// Runs `call` with one new idempotency key until it succeeds, fails for good (a problem that
/// retrying cannot fix, such as `validation_failed`), or runs out of attempts. Waits between
/// attempts double, and honour the server's `retry-after`.
pub async fn idempotent<T, E, F, Fut>(policy: Policy, mut call: F) -> Result<T, Error>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    let key = new_key();
    let mut delay = policy.initial_delay;
    let mut attempt = 1;
    loop {
        match call(key.clone()).await.map_err(Into::into) {
            Ok(value) => return Ok(value),
            Err(error) if error.is_retryable() && attempt < policy.attempts => {
                let wait = error.retry_after().unwrap_or(delay).min(policy.max_delay);
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(policy.max_delay);
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}
