//! Offset pagination, as every list in the API does it: `limit` (1–100, default 20) and
//! `offset` (≥ 0, default 0) in; `{data, total, limit, offset}` out.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Validation};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// Validated pagination. Each list's query type has its own `limit` and `offset` fields
/// (serde's `flatten` does not mix with query strings, and each describes its own items) and
/// calls [`Pagination::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub limit: u32,
    pub offset: u64,
}

impl Default for Pagination {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, offset: 0 }
    }
}

impl Pagination {
    /// Validates `limit` and `offset`; out-of-range values are 422 `validation_failed`.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ApiError> {
        let mut v = Validation::new();
        let limit = limit.unwrap_or(i64::from(DEFAULT_LIMIT));
        let offset = offset.unwrap_or(0);
        v.check((1..=i64::from(MAX_LIMIT)).contains(&limit), "limit", "must be between 1 and 100");
        v.check(offset >= 0, "offset", "must be 0 or more");
        v.finish()?;
        Ok(Self { limit: limit as u32, offset: offset as u64 })
    }

    /// `LIMIT` as the databases want it.
    pub fn sql_limit(self) -> i64 {
        i64::from(self.limit)
    }

    /// `OFFSET` as the databases want it (offsets past `i64::MAX` clamp; they return nothing).
    pub fn sql_offset(self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListEnvelope<T> {
    /// The items on this page.
    pub data: Vec<T>,
    /// How many items match in all (not only on this page).
    #[schema(example = 1)]
    pub total: u64,
    /// The `limit` that was applied.
    #[schema(example = 20)]
    pub limit: u32,
    /// The `offset` that was applied.
    #[schema(example = 0)]
    pub offset: u64,
}

impl<T> ListEnvelope<T> {
    pub fn new(data: Vec<T>, total: u64, page: Pagination) -> Self {
        Self { data, total, limit: page.limit, offset: page.offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn defaults_apply_when_absent() {
        assert_eq!(Pagination::new(None, None).unwrap(), Pagination { limit: 20, offset: 0 });
    }

    #[test]
    fn limit_bounds_are_inclusive() {
        assert_eq!(Pagination::new(Some(1), None).unwrap().limit, 1);
        assert_eq!(Pagination::new(Some(100), None).unwrap().limit, 100);
        for bad in [0, 101, -5] {
            let err = Pagination::new(Some(bad), None).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ValidationFailed);
            assert_eq!(err.field_errors()[0].field, "limit");
        }
    }

    #[test]
    fn negative_offsets_are_refused_and_both_fields_are_reported() {
        let err = Pagination::new(Some(0), Some(-1)).unwrap_err();
        let fields: Vec<_> = err.field_errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "offset"]);
    }

    #[test]
    fn huge_offsets_clamp_for_sql() {
        let page = Pagination { limit: 20, offset: u64::MAX };
        assert_eq!(page.sql_offset(), i64::MAX);
    }
}
