//! Timestamps: UTC, microsecond precision (what PostgreSQL stores, so a value read back equals
//! the value written), RFC 3339 on the wire.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// A point in time. (Types in the spec spell it `DateTime<Utc>`, which utoipa recognises.)
pub type Timestamp = DateTime<Utc>;

/// Now, truncated to microseconds.
pub fn now() -> Timestamp {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}
