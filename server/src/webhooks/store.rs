//! Webhook queries.

use chrono::{DateTime, Utc};

use super::{DeliveryAttempt, PingQueued, WebhookEndpoint};
use crate::db::{Db, StoreError};
use crate::dispatch;
use crate::events::EventType;
use crate::http::Pagination;
use crate::ids::{Id, IdKind};

/// The row's columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, url, events, description, enabled, disabled_reason, secret_sealed, created_at, updated_at"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointRow {
    pub fn events(&self) -> Vec<EventType> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn into_endpoint(self) -> WebhookEndpoint {
        WebhookEndpoint {
            events: self.events(),
            id: self.id,
            url: self.url,
            description: self.description,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub struct NewEndpoint<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub url: &'a str,
    pub events: &'a [EventType],
    pub description: Option<&'a str>,
    pub sealed: &'a [u8],
    pub master_key_id: &'a str,
}

pub async fn insert(db: &Db, new: NewEndpoint<'_>) -> Result<WebhookEndpoint, StoreError> {
    const SQL: &str = "INSERT INTO webhook_endpoints (id, organization_id, url, events, description, enabled, \
         secret_sealed, master_key_id, consecutive_failures, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, 0, $8, $8)";
    let at = db.now();
    let events = serde_json::to_string(new.events).expect("serialises");
    dispatch!(db, |pool| sqlx::query(SQL)
        .bind(new.id)
        .bind(new.organization_id)
        .bind(new.url)
        .bind(&events)
        .bind(new.description)
        .bind(new.sealed)
        .bind(new.master_key_id)
        .bind(at)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(WebhookEndpoint {
        id: new.id.to_owned(),
        url: new.url.to_owned(),
        events: new.events.to_vec(),
        description: new.description.map(str::to_owned),
        enabled: true,
        disabled_reason: None,
        created_at: at,
        updated_at: at,
    })
}

pub async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", columns!(), " FROM webhook_endpoints WHERE id = $1 AND organization_id = $2");
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, EndpointRow>(SQL)
        .bind(id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await)?)
}

/// An endpoint by id alone (the delivery worker).
pub async fn get_any(db: &Db, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM webhook_endpoints WHERE id = $1");
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, EndpointRow>(SQL).bind(id).fetch_optional(pool).await)?)
}

pub async fn list(
    db: &Db,
    organization_id: &str,
    page: Pagination,
) -> Result<(Vec<EndpointRow>, u64), StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    );
    const COUNT: &str = "SELECT COUNT(*) FROM webhook_endpoints WHERE organization_id = $1";
    crate::db::page(db, SQL, COUNT, &[organization_id], page).await
}

#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    organization_id: &str,
    id: &str,
    url: &str,
    events: &[EventType],
    description: Option<&str>,
    enabled: bool,
    reenabled: bool,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE webhook_endpoints SET url = $1, events = $2, description = $3, enabled = $4, \
         disabled_reason = CASE WHEN $4 THEN NULL ELSE COALESCE(disabled_reason, 'disabled by the organisation') END, \
         consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END, updated_at = $6 \
         WHERE id = $7 AND organization_id = $8";
    let events = serde_json::to_string(events).expect("serialises");
    dispatch!(db, |pool| sqlx::query(SQL)
        .bind(url)
        .bind(&events)
        .bind(description)
        .bind(enabled)
        .bind(reenabled)
        .bind(db.now())
        .bind(id)
        .bind(organization_id)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

pub async fn delete(db: &Db, organization_id: &str, id: &str) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2";
    dispatch!(db, |pool| sqlx::query(SQL).bind(id).bind(organization_id).execute(pool).await.map(drop))?;
    Ok(())
}

/// Queues a `ping` for one endpoint (it does not go through the outbox: it concerns only it).
pub async fn queue_ping(db: &Db, endpoint_id: &str) -> Result<PingQueued, StoreError> {
    let at = db.now();
    let event_id = Id::generate(IdKind::Event).into_string();
    let delivery_id = Id::generate(IdKind::Delivery).into_string();
    let body = serde_json::json!({"type": "ping", "timestamp": at, "data": {"endpoint_id": endpoint_id}})
        .to_string();
    dispatch!(db, |pool| sqlx::query(super::deliver::INSERT_DELIVERY)
        .bind(&delivery_id)
        .bind(endpoint_id)
        .bind(&event_id)
        .bind("ping")
        .bind(&body)
        .bind(at)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(PingQueued { delivery_id, event_id })
}

pub async fn attempts(
    db: &Db,
    endpoint_id: &str,
    page: Pagination,
) -> Result<(Vec<DeliveryAttempt>, u64), StoreError> {
    const SQL: &str = "SELECT a.delivery_id, d.event_id, d.event_type, a.attempt, a.status_code, a.latency_ms, a.error, \
         a.next_attempt_at, a.attempted_at \
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.endpoint_id = $1 ORDER BY a.attempted_at DESC, a.attempt DESC LIMIT $2 OFFSET $3";
    const COUNT: &str = "SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.endpoint_id = $1";
    let (rows, total) = dispatch!(db, |pool| {
        let rows = sqlx::query_as::<_, DeliveryAttempt>(SQL)
            .bind(endpoint_id)
            .bind(page.sql_limit())
            .bind(page.sql_offset())
            .fetch_all(pool)
            .await?;
        let total: i64 = sqlx::query_scalar(COUNT).bind(endpoint_id).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}
