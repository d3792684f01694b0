//! Webhook queries.

use crate::audit::{AuditAction, AuditContext, Changes, Resource, ResourceType};
use chrono::{DateTime, Utc};

use super::send::Attempt;
use super::{DeliveryAttempt, PingQueued, WebhookEndpoint};
use crate::db::{BeginWrite, Db, Pool, StoreError};
use crate::dispatch;
use crate::events::EventType;
use crate::http::Pagination;
use crate::ids::{Id, IdKind};
use crate::time::Timestamp;

/// The row's columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, url, events, description, enabled, disabled_reason, secret_sealed, created_at, updated_at, version"
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
    pub version: i64,
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
            version: self.version,
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

/// Stores a new endpoint, with its `webhook.created` audit entry (the secret is not in it).
pub async fn insert(
    db: &Db,
    new: NewEndpoint<'_>,
    audit: &AuditContext,
) -> Result<WebhookEndpoint, StoreError> {
    const SQL: &str = "INSERT INTO webhook_endpoints (id, organization_id, url, events, description, enabled, \
         secret_sealed, master_key_id, consecutive_failures, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, 0, $8, $8)";
    let at = db.now();
    let events = serde_json::to_string(new.events).expect("serialises");
    let entry = audit.entry(
        new.organization_id,
        AuditAction::WebhookCreated,
        Resource::new(ResourceType::WebhookEndpoint, new.id),
        Changes::new()
            .created("url", redact_url(new.url))
            .created("events", new.events)
            .created("description", new.description)
            .created("enabled", true),
        at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(SQL)
            .bind(new.id)
            .bind(new.organization_id)
            .bind(new.url)
            .bind(&events)
            .bind(new.description)
            .bind(new.sealed)
            .bind(new.master_key_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await
    })?;
    Ok(WebhookEndpoint {
        id: new.id.to_owned(),
        url: new.url.to_owned(),
        events: new.events.to_vec(),
        description: new.description.map(str::to_owned),
        enabled: true,
        disabled_reason: None,
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

pub async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", columns!(), " FROM webhook_endpoints WHERE id = $1 AND organization_id = $2");
    crate::db::optional_row::<EndpointRow>(db, SQL, &[id, organization_id]).await
}

/// An endpoint by id alone (the delivery worker).
pub async fn get_any(db: &Db, id: &str) -> Result<Option<EndpointRow>, StoreError> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM webhook_endpoints WHERE id = $1");
    crate::db::optional_row::<EndpointRow>(db, SQL, &[id]).await
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

/// The settings a change gives (already checked); `None`: left as it is.
#[derive(Debug, Default)]
pub struct EndpointPatch<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [EventType]>,
    pub description: Option<Option<&'a str>>,
    pub enabled: Option<bool>,
}

/// What a change of an endpoint came to.
pub enum EndpointUpdate {
    /// The endpoint as it is now (unchanged, and nothing written, when the patch changed
    /// nothing).
    Done(EndpointRow),
    /// `If-Match` does not hold for the version read under the lock.
    Precondition(i64),
}

/// Locks the endpoint's row for the rest of a write transaction (a row lock on PostgreSQL;
/// SQLite's write transactions are serial) and reads it.
macro_rules! locked_endpoint {
    ($tx:ident, $organization_id:expr, $id:expr) => {{
        const LOCK: &str =
            "UPDATE webhook_endpoints SET version = version WHERE id = $1 AND organization_id = $2";
        const GET: &str =
            concat!("SELECT ", columns!(), " FROM webhook_endpoints WHERE id = $1 AND organization_id = $2");
        sqlx::query(LOCK).bind($id).bind($organization_id).execute(&mut *$tx).await?;
        sqlx::query_as::<_, EndpointRow>(GET)
            .bind($id)
            .bind($organization_id)
            .fetch_optional(&mut *$tx)
            .await?
    }};
}

/// Applies `patch` to the endpoint as it is when the change commits: locked, read, checked
/// against `if_match`, merged and diffed in one transaction, so two changes of different
/// fields made at once both stay. Writes the `webhook.updated` audit entry when something
/// changed. `None`: there is no such endpoint.
pub async fn update(
    db: &Db,
    organization_id: &str,
    id: &str,
    patch: &EndpointPatch<'_>,
    if_match: &crate::http::conditional::IfMatch,
    audit: &AuditContext,
) -> Result<Option<EndpointUpdate>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE webhook_endpoints SET url = $1, events = $2, description = $3, enabled = $4, \
         disabled_reason = CASE WHEN $4 THEN NULL ELSE COALESCE(disabled_reason, 'disabled by the organisation') END, \
         consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END, updated_at = $6, \
         version = version + 1 WHERE id = $7 AND organization_id = $8 RETURNING ",
        columns!()
    );
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let Some(current) = locked_endpoint!(tx, organization_id, id) else { return Ok(None) };
        if if_match.check(current.version).is_err() {
            return Ok(Some(EndpointUpdate::Precondition(current.version)));
        }
        let url = patch.url.unwrap_or(&current.url);
        let events = patch.events.map_or_else(|| current.events(), <[EventType]>::to_vec);
        let description = patch.description.unwrap_or(current.description.as_deref());
        let enabled = patch.enabled.unwrap_or(current.enabled);
        let changes = Changes::new()
            .field("url", redact_url(&current.url), redact_url(url))
            .field("events", current.events(), &events)
            .field("description", &current.description, description)
            .field("enabled", current.enabled, enabled);
        if changes.is_empty() && url == current.url {
            return Ok(Some(EndpointUpdate::Done(current)));
        }
        let reenabled = !current.enabled && enabled;
        let updated: EndpointRow = sqlx::query_as(SQL)
            .bind(url)
            .bind(serde_json::to_string(&events).expect("serialises"))
            .bind(description)
            .bind(enabled)
            .bind(reenabled)
            .bind(at)
            .bind(id)
            .bind(organization_id)
            .fetch_one(&mut *tx)
            .await?;
        if !changes.is_empty() {
            let entry = audit.entry(
                organization_id,
                AuditAction::WebhookUpdated,
                Resource::new(ResourceType::WebhookEndpoint, id),
                changes,
                at,
            );
            crate::insert_audit!(&mut *tx, &entry)?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(Some(EndpointUpdate::Done(updated)))
    })
}

/// Deletes the endpoint (its deliveries go with it) if `if_match` holds, with the
/// `webhook.deleted` audit entry. `None`: there is no such endpoint.
pub async fn delete(
    db: &Db,
    organization_id: &str,
    id: &str,
    if_match: &crate::http::conditional::IfMatch,
    audit: &AuditContext,
) -> Result<Option<EndpointUpdate>, StoreError> {
    const SQL: &str = "DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let Some(current) = locked_endpoint!(tx, organization_id, id) else { return Ok(None) };
        if if_match.check(current.version).is_err() {
            return Ok(Some(EndpointUpdate::Precondition(current.version)));
        }
        sqlx::query(SQL).bind(id).bind(organization_id).execute(&mut *tx).await?;
        let entry = audit.entry(
            organization_id,
            AuditAction::WebhookDeleted,
            Resource::new(ResourceType::WebhookEndpoint, id),
            Changes::new().removed("url", redact_url(&current.url)).removed("events", current.events()),
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Some(EndpointUpdate::Done(current)))
    })
}

/// A webhook URL as the audit log keeps it: credentials in it (`user:password@`) and query
/// values that look secret (under a name such as `token`, `secret`, `key`, `sig`, `auth`,
/// `password`, or long random-looking values) replaced by `REDACTED`. Entries are kept for a
/// year; a secret pasted into a URL should not be.
pub fn redact_url(raw: &str) -> String {
    const REDACTED: &str = "REDACTED";
    let Ok(mut url) = url::Url::parse(raw) else { return raw.to_owned() };
    if !url.username().is_empty() {
        let _ = url.set_username(REDACTED);
    }
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value =
                    if secret_looking(&name, &value) { REDACTED.to_owned() } else { value.into_owned() };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Whether a query parameter probably carries a credential.
fn secret_looking(name: &str, value: &str) -> bool {
    const NAMES: [&str; 10] =
        ["token", "secret", "key", "sig", "auth", "pass", "pwd", "credential", "session", "code"];
    let name = name.to_ascii_lowercase();
    let named = NAMES.iter().any(|n| name.contains(n));
    // Long and random-looking: letters and digits mixed, no spaces.
    let random = value.len() >= 20
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c))
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic());
    (named && !value.is_empty()) || random
}

/// Queues a `ping` for one endpoint (it does not go through the outbox: it concerns only it).
pub async fn queue_ping(db: &Db, endpoint_id: &str) -> Result<PingQueued, StoreError> {
    let at = db.now();
    let event_id = Id::generate(IdKind::Event).into_string();
    let delivery_id = Id::generate(IdKind::Delivery).into_string();
    let data = crate::events::PingData { endpoint_id: endpoint_id.to_owned() };
    let body = serde_json::json!({"type": "ping", "timestamp": at, "data": data}).to_string();
    dispatch!(db, |pool| sqlx::query(INSERT_DELIVERY)
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

/// A delivery as stored: what was (or will be) sent, and where it stands.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub body: String,
    pub status: String,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One attempt of a delivery, with the timestamp it was signed with.
#[derive(Debug, Clone)]
pub struct SentRow {
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub attempted_at: Timestamp,
    pub webhook_timestamp: Option<i64>,
}

/// A delivery joined with one of its attempts (none when it has none yet).
#[derive(sqlx::FromRow)]
struct DeliveryAttemptRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    attempt: Option<i64>,
    status_code: Option<i64>,
    latency_ms: Option<f64>,
    error: Option<String>,
    attempted_at: Option<Timestamp>,
    webhook_timestamp: Option<i64>,
}

/// A delivery to `endpoint_id` and its attempts, oldest first — read in one statement, so
/// that its state and its attempts agree.
pub async fn delivery(
    db: &Db,
    endpoint_id: &str,
    delivery_id: &str,
) -> Result<Option<(DeliveryRow, Vec<SentRow>)>, StoreError> {
    const SQL: &str = "SELECT d.id, d.event_id, d.event_type, d.body, d.status, d.next_attempt_at, d.created_at, \
         a.attempt, a.status_code, a.latency_ms, a.error, a.attempted_at, a.webhook_timestamp \
         FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id \
         WHERE d.id = $1 AND d.endpoint_id = $2 ORDER BY a.attempt";
    let rows: Vec<DeliveryAttemptRow> =
        dispatch!(db, |pool| sqlx::query_as(SQL).bind(delivery_id).bind(endpoint_id).fetch_all(pool).await)?;
    let Some(first) = rows.first() else { return Ok(None) };
    let delivery = first.delivery.clone();
    let attempts = rows
        .into_iter()
        .filter_map(|r| {
            Some(SentRow {
                attempt: r.attempt?,
                status_code: r.status_code,
                latency_ms: r.latency_ms.unwrap_or_default(),
                error: r.error,
                attempted_at: r.attempted_at?,
                webhook_timestamp: r.webhook_timestamp,
            })
        })
        .collect();
    Ok(Some((delivery, attempts)))
}

/// Queues the same event to the same endpoint again: a new delivery with the same
/// `webhook-id` and body, due at once.
pub async fn resend(db: &Db, endpoint_id: &str, original: &DeliveryRow) -> Result<PingQueued, StoreError> {
    let delivery_id = Id::generate(IdKind::Delivery).into_string();
    let at = db.now();
    dispatch!(db, |pool| sqlx::query(INSERT_DELIVERY)
        .bind(&delivery_id)
        .bind(endpoint_id)
        .bind(&original.event_id)
        .bind(&original.event_type)
        .bind(&original.body)
        .bind(at)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(PingQueued { delivery_id, event_id: original.event_id.clone() })
}

// --- delivery: the fan-out, the senders' claims and their records -------------------------

/// How long a sender's claim on a delivery lasts (longer than the 15 s request timeout).
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The insert of a delivery, due at once: `$1` id, `$2` endpoint, `$3` event, `$4` type,
/// `$5` body, `$6` now.
pub const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, \
     status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)";

/// How many events one pass of the fan-out takes.
pub const FAN_OUT_BATCH: usize = 100;

/// What one pass of the fan-out did.
pub struct FannedOut {
    /// Events read (a full batch: there may be more).
    pub events: usize,
    /// Deliveries queued.
    pub deliveries: usize,
}

/// Turns up to [`FAN_OUT_BATCH`] new events into deliveries.
pub async fn fan_out(db: &Db) -> Result<FannedOut, StoreError> {
    const PENDING: &str = "SELECT id, organization_id, type, data, created_at FROM events WHERE fanned_out = FALSE ORDER BY created_at LIMIT $1";
    let limit = i64::try_from(FAN_OUT_BATCH).unwrap_or(i64::MAX);
    let events: Vec<(String, String, String, String, Timestamp)> =
        dispatch!(db, |pool| sqlx::query_as(PENDING).bind(limit).fetch_all(pool).await)?;
    let mut done = FannedOut { events: events.len(), deliveries: 0 };
    for (id, organization_id, kind, data, created_at) in events {
        let data: serde_json::Value = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
        let body = serde_json::json!({"type": kind, "timestamp": created_at, "data": data}).to_string();
        done.deliveries += fan_out_one(db, &id, &organization_id, &kind, &body).await?;
    }
    Ok(done)
}

/// Queues one event's deliveries and marks it done, in one transaction.
async fn fan_out_one(
    db: &Db,
    id: &str,
    organization_id: &str,
    kind: &str,
    body: &str,
) -> Result<usize, StoreError> {
    const MARK: &str = "UPDATE events SET fanned_out = TRUE WHERE id = $1 AND fanned_out = FALSE";
    const ENDPOINTS: &str =
        "SELECT id, events FROM webhook_endpoints WHERE organization_id = $1 AND enabled = TRUE";
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        // Whoever marks the event fans it out; another instance racing for it skips it.
        if sqlx::query(MARK).bind(id).execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(0);
        }
        let endpoints: Vec<(String, String)> =
            sqlx::query_as(ENDPOINTS).bind(organization_id).fetch_all(&mut *tx).await?;
        let mut n = 0;
        for (endpoint_id, subscribed) in endpoints {
            let subscribed: Vec<String> = serde_json::from_str(&subscribed).unwrap_or_default();
            if !subscribed.iter().any(|t| t == kind) {
                continue;
            }
            sqlx::query(INSERT_DELIVERY)
                .bind(Id::generate(IdKind::Delivery).into_string())
                .bind(&endpoint_id)
                .bind(id)
                .bind(kind)
                .bind(body)
                .bind(db.now())
                .execute(&mut *tx)
                .await?;
            n += 1;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(n)
    })
}

/// A claimed delivery.
#[derive(sqlx::FromRow)]
pub struct Due {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub body: String,
    pub attempts: i64,
}

/// Claims the most overdue pending delivery with a lease (another sender takes it over when
/// the lease runs out).
pub async fn claim(db: &Db) -> Result<Option<Due>, StoreError> {
    const SQLITE: &str = "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = (SELECT id FROM webhook_deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         ORDER BY next_attempt_at LIMIT 1) RETURNING id, endpoint_id, event_id, body, attempts";
    const POSTGRES: &str = "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = (SELECT id FROM webhook_deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
         ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, endpoint_id, event_id, body, attempts";
    let at = db.now();
    Ok(match db.pool() {
        Pool::Sqlite(pool) => {
            sqlx::query_as::<_, Due>(SQLITE).bind(at + LEASE).bind(at).fetch_optional(pool).await?
        }
        Pool::Postgres(pool) => {
            sqlx::query_as::<_, Due>(POSTGRES).bind(at + LEASE).bind(at).fetch_optional(pool).await?
        }
    })
}

/// An attempt and what follows from it, for [`record`].
pub struct AttemptRecord<'a> {
    pub delivery_id: &'a str,
    pub endpoint_id: &'a str,
    pub attempt: i64,
    pub attempt_result: &'a Attempt,
    pub status: &'static str,
    pub next_attempt_at: Option<Timestamp>,
    pub disable_reason: Option<String>,
    pub disable_after: i64,
}

/// Records an attempt and its consequences in one transaction: the attempt row, the
/// delivery's state, and the endpoint's health (a success resets its failure count; a final
/// failure adds one and disables the endpoint at the limit; a 410 disables it at once).
/// `false` when there is nothing to record it on: the endpoint (and so the delivery) was
/// deleted while the attempt was under way.
pub async fn record(db: &Db, r: AttemptRecord<'_>) -> Result<bool, StoreError> {
    const ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error, \
         next_attempt_at, attempted_at, webhook_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
    const DELIVERY: &str = "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, \
         lease_until = NULL WHERE id = $4";
    const SUCCESS: &str = "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1";
    const FAILURE: &str = "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, \
         enabled = CASE WHEN consecutive_failures + 1 >= $2 THEN FALSE ELSE enabled END, \
         disabled_reason = CASE WHEN consecutive_failures + 1 >= $2 AND enabled \
             THEN 'too many consecutive deliveries failed' ELSE disabled_reason END, updated_at = $3 WHERE id = $1";
    const DISABLE: &str =
        "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3 WHERE id = $1";
    let at = db.now();
    let a = r.attempt_result;
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let delivery = sqlx::query(DELIVERY)
            .bind(r.status)
            .bind(r.attempt)
            .bind(r.next_attempt_at)
            .bind(r.delivery_id)
            .execute(&mut *tx)
            .await?;
        if delivery.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(ATTEMPT)
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(a.status_code.map(i64::from))
            .bind(a.latency.as_secs_f64() * 1000.0)
            .bind(a.error.as_deref())
            .bind(r.next_attempt_at)
            .bind(at)
            .bind(a.timestamp)
            .execute(&mut *tx)
            .await?;
        if let Some(reason) = &r.disable_reason {
            sqlx::query(DISABLE).bind(r.endpoint_id).bind(reason).bind(at).execute(&mut *tx).await?;
        } else if r.status == "succeeded" {
            sqlx::query(SUCCESS).bind(r.endpoint_id).execute(&mut *tx).await?;
        } else if r.status == "failed" {
            sqlx::query(FAILURE).bind(r.endpoint_id).bind(r.disable_after).bind(at).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(true)
    })
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_and_secret_looking_query_values_are_redacted() {
        assert_eq!(
            redact_url("https://ada:hunter2@hooks.example.com/in?token=abc&team=blue"),
            "https://REDACTED:REDACTED@hooks.example.com/in?token=REDACTED&team=blue"
        );
        assert_eq!(
            redact_url("https://hooks.example.com/in?x=8f2k1m9q0z7c3v5b6n4l2p"),
            "https://hooks.example.com/in?x=REDACTED"
        );
        assert_eq!(redact_url("https://hooks.example.com/in?page=2"), "https://hooks.example.com/in?page=2");
        assert_eq!(redact_url("https://hooks.example.com/portico"), "https://hooks.example.com/portico");
    }
}
