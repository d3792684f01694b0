//! Timestamps and the clock: UTC, microsecond precision (what PostgreSQL stores, so a value
//! read back equals the value written), RFC 3339 on the wire.
//!
//! Every "now" the application stamps or compares — key expiry, rotation grace, sessions,
//! links, idempotency windows, webhook schedules — comes from one [`Clock`], held by the
//! database handle ([`Db::now`](crate::db::Db::now)) and so by the application state. A test
//! moves it forward with [`Clock::advance`] instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

/// A point in time. (Types in the spec spell it `DateTime<Utc>`, which utoipa recognises.)
pub type Timestamp = DateTime<Utc>;

/// The application's clock: the system's, plus an offset that only tests change. Clones share
/// the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system time.
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, truncated to microseconds.
    pub fn now(&self) -> Timestamp {
        let now = Utc::now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed));
        let nanos = now.timestamp_subsec_nanos();
        now.with_nanosecond(nanos - nanos % 1_000).unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) forward by `by`; time keeps running from there.
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_moves_every_clone_and_keeps_running() {
        let clock = Clock::system();
        let clone = clock.clone();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        let after = clone.now();
        assert!(after - before >= TimeDelta::hours(1));
        assert!(after - before < TimeDelta::hours(1) + TimeDelta::seconds(5));
        assert_eq!(after.timestamp_subsec_nanos() % 1_000, 0, "microsecond precision");
        assert!(clone.now() >= after);
    }
}
