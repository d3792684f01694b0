//! Reading usage and the request log. (The request log and the roll-ups are written by the
//! batch writer in [`request_log`](super::request_log).) Every statement is constant text;
//! optional filters are `($n IS NULL OR column = $n)`.

use chrono::NaiveDate;

use super::{GroupBy, RequestLogEntry};
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::http::Pagination;

/// The columns of a [`RequestLogEntry`], as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, method, route, path, status, latency_ms, key_id, ip, idempotency_key, created_at"
    };
}

/// Calls per day in `from..=to`, with the grouping's dimension (`''` for days alone):
/// `(day, dimension, count)`, ordered by day then dimension.
pub async fn usage(
    db: &Db,
    organization_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    key_id: Option<&str>,
    group_by: GroupBy,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    // (PostgreSQL refuses a constant in GROUP BY, so the day-only grouping names no dimension.)
    const BY_DAY: &str = "SELECT day, '' AS dimension, CAST(SUM(count) AS BIGINT) AS count FROM usage_daily \
         WHERE organization_id = $1 AND day >= $2 AND day <= $3 AND ($4 IS NULL OR key_id = $4) \
         GROUP BY day ORDER BY day";
    const BY_ROUTE: &str = "SELECT day, route AS dimension, CAST(SUM(count) AS BIGINT) AS count FROM usage_daily \
         WHERE organization_id = $1 AND day >= $2 AND day <= $3 AND ($4 IS NULL OR key_id = $4) \
         GROUP BY day, route ORDER BY day, route";
    const BY_STATUS: &str = "SELECT day, status_class AS dimension, CAST(SUM(count) AS BIGINT) AS count FROM usage_daily \
         WHERE organization_id = $1 AND day >= $2 AND day <= $3 AND ($4 IS NULL OR key_id = $4) \
         GROUP BY day, status_class ORDER BY day, status_class";
    let sql = match group_by {
        GroupBy::Day => BY_DAY,
        GroupBy::Route => BY_ROUTE,
        GroupBy::Status => BY_STATUS,
    };
    let (from, to) = (from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string());
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, (String, String, i64)>(sql)
        .bind(organization_id)
        .bind(&from)
        .bind(&to)
        .bind(key_id)
        .fetch_all(pool)
        .await)?)
}

/// Which logged requests to list.
#[derive(Debug, Default)]
pub struct RequestFilter<'a> {
    pub key_id: Option<&'a str>,
    pub route: Option<&'a str>,
    pub status: Option<u16>,
    /// Requests that arrived at or after this time.
    pub from: Option<crate::time::Timestamp>,
    /// Requests that arrived before this time.
    pub to: Option<crate::time::Timestamp>,
}

/// One page of the organisation's logged requests, newest first, and how many match.
pub async fn list_requests(
    db: &Db,
    organization_id: &str,
    filter: &RequestFilter<'_>,
    page: Pagination,
) -> Result<(Vec<RequestLogEntry>, u64), StoreError> {
    macro_rules! matching {
        () => {
            "organization_id = $1 AND ($2 IS NULL OR key_id = $2) AND ($3 IS NULL OR route = $3) \
             AND ($4 IS NULL OR status = $4) AND ($5 IS NULL OR id >= $5) AND ($6 IS NULL OR id < $6)"
        };
    }
    const LIST: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM request_log WHERE ",
        matching!(),
        " ORDER BY id DESC LIMIT $7 OFFSET $8"
    );
    const COUNT: &str = concat!("SELECT COUNT(*) FROM request_log WHERE ", matching!());
    let status = filter.status.map(i64::from);
    // Ids sort by arrival time, so a time range is a range of the primary key.
    let from = filter.from.map(super::request_log::first_id_at);
    let to = filter.to.map(super::request_log::first_id_at);
    crate::page_with!(
        db,
        LIST,
        COUNT,
        page,
        organization_id,
        filter.key_id,
        filter.route,
        status,
        from.as_deref(),
        to.as_deref()
    )
}

/// A logged request of the organisation's, by its id.
pub async fn get_request(
    db: &Db,
    organization_id: &str,
    id: &str,
) -> Result<Option<RequestLogEntry>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", columns!(), " FROM request_log WHERE organization_id = $1 AND id = $2");
    crate::db::optional_row::<RequestLogEntry>(db, SQL, &[organization_id, id]).await
}
