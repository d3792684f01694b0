//! Domains in the database.

use super::Domain;
use crate::audit::{AuditAction, AuditContext, Changes, Resource, ResourceType};
use crate::db::{BeginWrite, Db, StoreError, placeholders};
use crate::dispatch;
use crate::http::Pagination;

/// Registers the domain, with its `domain.created` audit entry.
pub async fn insert(
    db: &Db,
    organization_id: &str,
    domain: &Domain,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO domains (id, organization_id, hostname, created_at) VALUES ($1, $2, $3, $4)";
    let entry = audit.entry(
        organization_id,
        AuditAction::DomainCreated,
        Resource::new(ResourceType::Domain, &domain.id),
        Changes::new().created("hostname", &domain.hostname),
        domain.created_at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(SQL)
            .bind(&domain.id)
            .bind(organization_id)
            .bind(&domain.hostname)
            .bind(domain.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "This hostname is already registered."))?;
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

pub async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<Domain>, StoreError> {
    const SQL: &str = "SELECT id, hostname, created_at FROM domains WHERE id = $1 AND organization_id = $2";
    crate::db::optional_row::<Domain>(db, SQL, &[id, organization_id]).await
}

pub async fn list(
    db: &Db,
    organization_id: &str,
    scope: &[String],
    page: Pagination,
) -> Result<(Vec<Domain>, u64), StoreError> {
    let mut filter = "organization_id = $1".to_owned();
    if !scope.is_empty() {
        filter.push_str(&format!(" AND hostname IN ({})", placeholders(2, scope.len())));
    }
    let n = 2 + scope.len();
    let list_sql = format!(
        "SELECT id, hostname, created_at FROM domains WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let count_sql = format!("SELECT COUNT(*) FROM domains WHERE {filter}");
    let params: Vec<&str> =
        std::iter::once(organization_id).chain(scope.iter().map(String::as_str)).collect();
    crate::db::page(db, &list_sql, &count_sql, &params, page).await
}

/// Deletes the domain unless live links use it (checked and deleted in one transaction).
/// With its `domain.deleted` audit entry.
pub async fn delete_unused(
    db: &Db,
    organization_id: &str,
    domain: &Domain,
    audit: &AuditContext,
) -> Result<bool, StoreError> {
    const IN_USE: &str = "SELECT COUNT(*) FROM links WHERE domain = $1 AND deleted_at IS NULL";
    const DELETE: &str = "DELETE FROM domains WHERE id = $1 AND organization_id = $2";
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let used: i64 = sqlx::query_scalar(IN_USE).bind(&domain.hostname).fetch_one(&mut *tx).await?;
        if used > 0 {
            return Ok(false);
        }
        let deleted = sqlx::query(DELETE)
            .bind(&domain.id)
            .bind(organization_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted > 0 {
            let entry = audit.entry(
                organization_id,
                AuditAction::DomainDeleted,
                Resource::new(ResourceType::Domain, &domain.id),
                Changes::new().removed("hostname", &domain.hostname),
                db.now(),
            );
            crate::insert_audit!(&mut *tx, &entry)?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Whether `hostname` is registered by `organization_id`.
pub async fn is_registered_to(db: &Db, organization_id: &str, hostname: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM domains WHERE hostname = $1 AND organization_id = $2";
    let n: i64 = dispatch!(db, |pool| sqlx::query_scalar(SQL)
        .bind(hostname)
        .bind(organization_id)
        .fetch_one(pool)
        .await)?;
    Ok(n > 0)
}

/// Whether `hostname` is registered by anyone (redirects resolve on it when it is).
pub async fn is_registered(db: &Db, hostname: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM domains WHERE hostname = $1";
    let n: i64 = dispatch!(db, |pool| sqlx::query_scalar(SQL).bind(hostname).fetch_one(pool).await)?;
    Ok(n > 0)
}
