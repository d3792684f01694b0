//! Audit queries, written once for both databases. Entries are only ever inserted (inside
//! the transaction of the change, [`insert_audit!`](crate::insert_audit)), read and purged.

use std::collections::BTreeMap;

use serde_json::Value;

use super::types::{Actor, ActorType, AuditAction, AuditEntry, Resource, ResourceType, Source};
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::http::Pagination;
use crate::ids::{Id, IdKind};
use crate::time::Timestamp;

/// An entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub action: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub source: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
    pub changes: String,
    pub created_at: Timestamp,
    pub seq: i64,
}

impl AuditRow {
    /// The entry on the wire; `None` for a row this version cannot read (written by a newer
    /// one), which listing skips rather than failing the page.
    pub fn into_entry(self) -> Option<AuditEntry> {
        let changes: BTreeMap<String, Value> = serde_json::from_str(&self.changes).unwrap_or_default();
        Some(AuditEntry {
            id: self.id,
            action: AuditAction::parse(&self.action)?,
            actor: Actor { kind: ActorType::parse(&self.actor_type)?, id: self.actor_id },
            source: Source::parse(&self.source)?,
            ip: self.ip,
            user_agent: self.user_agent,
            request_id: self.request_id,
            resource: Resource { kind: ResourceType::parse(&self.resource_type)?, id: self.resource_id },
            changes,
            created_at: self.created_at,
            sequence: self.seq,
        })
    }
}

/// What to list.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub actor_id: Option<String>,
    pub resource_id: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Only entries after this `seq`.
    pub after: Option<i64>,
}

macro_rules! matching {
    () => {
        "organization_id = $1 AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR actor_id = $3) \
         AND ($4 IS NULL OR resource_id = $4) AND ($5 IS NULL OR id >= $5) AND ($6 IS NULL OR id < $6) \
         AND seq > $7"
    };
}

/// The columns of a row.
macro_rules! columns {
    () => {
        "SELECT id, action, actor_type, actor_id, source, ip, user_agent, request_id, resource_type, \
         resource_id, changes, created_at, seq FROM audit_log WHERE "
    };
}

/// The id bounds of a time range: ids sort by time, so a range of times is one of the key.
fn bounds(filter: &AuditFilter) -> (Option<String>, Option<String>) {
    let at = |t: Timestamp| Id::first_at(IdKind::AuditEntry, t);
    (filter.from.map(at), filter.to.map(at))
}

/// One page of the organisation's entries, newest first, and how many match in all.
pub async fn list(
    db: &Db,
    organization_id: &str,
    filter: &AuditFilter,
    page: Pagination,
) -> Result<(Vec<AuditRow>, u64), StoreError> {
    const LIST: &str = concat!(columns!(), matching!(), " ORDER BY seq DESC LIMIT $8 OFFSET $9");
    const COUNT: &str = concat!("SELECT COUNT(*) FROM audit_log WHERE ", matching!());
    let (from, to) = bounds(filter);
    crate::page_with!(
        db,
        LIST,
        COUNT,
        page,
        organization_id,
        filter.action.map(AuditAction::as_str),
        filter.actor_id.as_deref(),
        filter.resource_id.as_deref(),
        from.as_deref(),
        to.as_deref(),
        filter.after.unwrap_or(0)
    )
}

/// Up to `limit` matching entries after sequence number `after` (0: from the first), in
/// commit order: the pages of an export.
pub async fn after(
    db: &Db,
    organization_id: &str,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    const SQL: &str = concat!(columns!(), matching!(), " ORDER BY seq LIMIT $8");
    let (from, to) = bounds(filter);
    let action = filter.action.map(AuditAction::as_str);
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, AuditRow>(SQL)
        .bind(organization_id)
        .bind(action)
        .bind(filter.actor_id.as_deref())
        .bind(filter.resource_id.as_deref())
        .bind(from.as_deref())
        .bind(to.as_deref())
        .bind(after.max(filter.after.unwrap_or(0)))
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// Deletes entries made before `before`; returns how many. Each organisation's old entries
/// are a range of its primary key.
pub async fn purge(db: &Db, before: Timestamp) -> Result<u64, StoreError> {
    const ORGS: &str = "SELECT DISTINCT organization_id FROM audit_log";
    const DELETE: &str = "DELETE FROM audit_log WHERE organization_id = $1 AND id < $2";
    let first_kept = Id::first_at(IdKind::AuditEntry, before);
    Ok(dispatch!(db, |pool| {
        let orgs: Vec<String> = sqlx::query_scalar(ORGS).fetch_all(pool).await?;
        let mut purged = 0;
        for org in &orgs {
            purged += sqlx::query(DELETE).bind(org).bind(&first_kept).execute(pool).await?.rows_affected();
        }
        Ok::<_, sqlx::Error>(purged)
    })?)
}
