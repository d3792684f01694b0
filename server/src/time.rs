//! Timestamps: UTC, microsecond precision (what PostgreSQL stores, so a value read back equals
//! the value written), RFC 3339 on the wire.

use chrono::{DateTime, Timelike, Utc};

/// A point in time. (Types in the spec spell it `DateTime<Utc>`, which utoipa recognises.)
pub type Timestamp = DateTime<Utc>;

/// Now, truncated to microseconds.
pub fn now() -> Timestamp {
    let now = Utc::now();
    let nanos = now.timestamp_subsec_nanos();
    now.with_nanosecond(nanos - nanos % 1_000).unwrap_or(now)
}
