//! Getting events to endpoints: the fan-out (each new event becomes one delivery per enabled,
//! subscribed endpoint) and the senders (each claims a due delivery with a lease, signs and
//! sends it, records the attempt, and schedules the next one or gives up). Deliveries are rows,
//! so they survive restarts; a sender that died mid-delivery loses its lease and another
//! sends again — receivers deduplicate on `webhook-id`, as the Standard Webhooks spec asks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{guard, store};
use crate::db::{BeginWrite, Db, Pool, StoreError};
use crate::dispatch;
use crate::ids::{Id, IdKind};
use crate::secret::random_bytes;
use crate::state::AppState;
use crate::time::Timestamp;

/// How long a sender's claim on a delivery lasts (longer than the 15 s request timeout).
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The insert of a delivery, due at once: `$1` id, `$2` endpoint, `$3` event, `$4` type,
/// `$5` body, `$6` now.
pub const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, \
     status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)";

/// The Standard Webhooks signature of a message: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
/// the key being the base64 after `whsec_`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = BASE64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// How many senders each instance runs.
pub const SENDERS: usize = 2;

/// Runs the fan-out until `stop`: woken by [`AppState::events_committed`], and every 250 ms
/// for events other instances wrote.
pub async fn run_fanout(db: Db, wake: Arc<Notify>, senders: Arc<Notify>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let more = match fan_out(&db).await {
            Ok(FannedOut { events, deliveries }) => {
                // A permit for each sender that may be between looking and waiting.
                for _ in 0..deliveries.min(SENDERS) {
                    senders.notify_one();
                }
                events == FAN_OUT_BATCH
            }
            Err(e) => {
                tracing::warn!(error = %e, "webhook fan-out failed; will retry");
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// How many events one pass of the fan-out takes.
const FAN_OUT_BATCH: usize = 100;

/// What one pass of the fan-out did.
struct FannedOut {
    /// Events read (a full batch: there may be more).
    events: usize,
    /// Deliveries queued.
    deliveries: usize,
}

/// Turns up to [`FAN_OUT_BATCH`] new events into deliveries.
async fn fan_out(db: &Db) -> Result<FannedOut, StoreError> {
    const PENDING: &str = "SELECT id, organization_id, type, data, created_at FROM events WHERE fanned_out = FALSE ORDER BY created_at LIMIT 100";
    let events: Vec<(String, String, String, String, Timestamp)> =
        dispatch!(db, |pool| sqlx::query_as(PENDING).fetch_all(pool).await)?;
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
struct Due {
    id: String,
    endpoint_id: String,
    event_id: String,
    body: String,
    attempts: i64,
}

/// Runs a sender until `stop`.
pub async fn run_sender(state: AppState, wake: Arc<Notify>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match claim(&state.db).await {
            Ok(Some(due)) => {
                if let Err(e) = send(&state, due).await {
                    tracing::warn!(error = %e, "recording a webhook attempt failed; the delivery will be retried");
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a webhook delivery failed; will retry");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn claim(db: &Db) -> Result<Option<Due>, StoreError> {
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

/// What one attempt came to.
struct Attempt {
    status_code: Option<u16>,
    error: Option<String>,
    latency: Duration,
}

async fn send(state: &AppState, due: Due) -> Result<(), StoreError> {
    let attempt_number = due.attempts + 1;
    let Some(endpoint) = store::get_any(&state.db, &due.endpoint_id).await? else { return Ok(()) };
    let attempt = if !endpoint.enabled {
        Attempt { status_code: None, error: Some("the endpoint is disabled".into()), latency: Duration::ZERO }
    } else {
        match state.master_key.unseal(&endpoint.secret_sealed) {
            Some(secret) => post(state, &endpoint.url, secret.expose(), &due).await,
            None => Attempt {
                status_code: None,
                error: Some("the endpoint's secret cannot be unsealed with this master key".into()),
                latency: Duration::ZERO,
            },
        }
    };
    let succeeded = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
    let gone = attempt.status_code == Some(410);
    let schedule = &state.config.webhook_retry_schedule;
    let retry_in = (!succeeded && !gone && endpoint.enabled)
        .then(|| schedule.get(usize::try_from(due.attempts).unwrap_or(usize::MAX)))
        .flatten()
        .map(|base| with_jitter(*base));
    let at = state.db.now();
    let next_attempt_at = retry_in.and_then(|d| chrono::TimeDelta::from_std(d).ok()).map(|d| at + d);
    let status = if succeeded {
        "succeeded"
    } else if next_attempt_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    let disable_reason = if gone { Some("the endpoint answered 410 Gone".to_owned()) } else { None };
    record(
        &state.db,
        Record {
            delivery_id: &due.id,
            endpoint_id: &due.endpoint_id,
            attempt: attempt_number,
            attempt_result: &attempt,
            status,
            next_attempt_at,
            disable_reason,
            disable_after: i64::from(state.config.webhook_disable_after),
        },
    )
    .await?;
    tracing::info!(
        delivery = %due.id, event = %due.event_id, attempt = attempt_number, status, code = ?attempt.status_code,
        "webhook attempt"
    );
    Ok(())
}

/// The schedule's delay, ±10 %.
fn with_jitter(base: Duration) -> Duration {
    let [byte] = random_bytes::<1>();
    let factor = 0.9 + 0.2 * (f64::from(byte) / 255.0);
    base.mul_f64(factor)
}

/// Sends one attempt, to the address the guard checked, without following redirects.
async fn post(state: &AppState, target: &str, secret: &str, due: &Due) -> Attempt {
    let started = Instant::now();
    let fail = |error: String, started: Instant| Attempt {
        status_code: None,
        error: Some(error),
        latency: started.elapsed(),
    };
    let Ok(url) = url::Url::parse(target) else { return fail("the endpoint URL is invalid".into(), started) };
    let addr = match guard::check(&url, state.config.webhook_allow_private).await {
        Ok(addr) => addr,
        Err(refused) => return fail(format!("refused: {refused}"), started),
    };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(state.config.webhook_timeout)
        .resolve(&host, addr)
        .user_agent(concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => return fail(format!("cannot build an HTTP client: {e}"), started),
    };
    // The wire timestamp is the real time: receivers check it against their own clocks.
    let timestamp = chrono::Utc::now().timestamp();
    let Some(signature) = sign(secret, &due.event_id, timestamp, &due.body) else {
        return fail("the endpoint's secret is malformed".into(), started);
    };
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &due.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(due.body.clone())
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (!response.status().is_success()).then(|| format!("the endpoint answered {status}"));
            Attempt { status_code: Some(status), error, latency: started.elapsed() }
        }
        Err(e) if e.is_timeout() => fail("timed out".into(), started),
        Err(e) => fail(format!("could not deliver: {}", without_url(&e)), started),
    }
}

/// A reqwest error's message without the URL (it is in the endpoint already).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut deepest = e.to_string();
    while let Some(s) = source {
        deepest = s.to_string();
        source = s.source();
    }
    deepest
}

struct Record<'a> {
    delivery_id: &'a str,
    endpoint_id: &'a str,
    attempt: i64,
    attempt_result: &'a Attempt,
    status: &'static str,
    next_attempt_at: Option<Timestamp>,
    disable_reason: Option<String>,
    disable_after: i64,
}

/// Records an attempt and its consequences in one transaction: the attempt row, the
/// delivery's state, and the endpoint's health (a success resets its failure count; a final
/// failure adds one and disables the endpoint at the limit; a 410 disables it at once).
async fn record(db: &Db, r: Record<'_>) -> Result<(), StoreError> {
    const ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error, \
         next_attempt_at, attempted_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
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
        sqlx::query(ATTEMPT)
            .bind(r.delivery_id)
            .bind(r.attempt)
            .bind(a.status_code.map(i64::from))
            .bind(a.latency.as_secs_f64() * 1000.0)
            .bind(a.error.as_deref())
            .bind(r.next_attempt_at)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DELIVERY)
            .bind(r.status)
            .bind(r.attempt)
            .bind(r.next_attempt_at)
            .bind(r.delivery_id)
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
        Ok::<_, StoreError>(())
    })
}

/// Parses a retry schedule: `5s,5m,30m,2h`.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (number, unit) =
                item.split_at(item.find(|c: char| !c.is_ascii_digit()).unwrap_or(item.len()));
            let n: u64 =
                number.parse().map_err(|_| format!("{item:?} is not a duration like 5s, 5m or 2h"))?;
            let seconds = match unit {
                "ms" => return Ok(Duration::from_millis(n)),
                "s" | "" => n,
                "m" => n * 60,
                "h" => n * 3600,
                _ => return Err(format!("{item:?} is not a duration like 5s, 5m or 2h")),
            };
            Ok(Duration::from_secs(seconds))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks reference implementations.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1614265330;
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, timestamp, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(sign("not-a-secret", id, timestamp, body).is_none());
    }

    #[test]
    fn schedules_parse_with_units() {
        let s = parse_schedule("5s, 5m,30m,2h,250ms").unwrap();
        assert_eq!(
            s,
            [5, 300, 1800, 7200]
                .map(Duration::from_secs)
                .into_iter()
                .chain([Duration::from_millis(250)])
                .collect::<Vec<_>>()
        );
        assert!(parse_schedule("5 parsecs").is_err());
    }
}
