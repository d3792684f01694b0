//! Getting events to endpoints: the fan-out (each new event becomes one delivery per enabled,
//! subscribed endpoint) and the senders (each claims a due delivery with a lease, signs and
//! sends it, records the attempt, and schedules the next one or gives up). Deliveries are rows,
//! so they survive restarts; a sender that died mid-delivery loses its lease and another
//! sends again — receivers deduplicate on `webhook-id`, as the Standard Webhooks spec asks.

//!
//! This module schedules; the SQL is in [`store`](super::store), the signed HTTP request in
//! [`send`](super::send).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::send::{Attempt, post};
use super::store::{self, AttemptRecord, Due, FAN_OUT_BATCH, FannedOut, claim, fan_out, record};
use crate::db::{Db, StoreError};
use crate::secret::random_bytes;
use crate::state::AppState;

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

async fn send(state: &AppState, due: Due) -> Result<(), StoreError> {
    let attempt_number = due.attempts + 1;
    let Some(endpoint) = store::get_any(&state.db, &due.endpoint_id).await? else { return Ok(()) };
    let attempt = if !endpoint.enabled {
        Attempt {
            status_code: None,
            error: Some("the endpoint is disabled".into()),
            latency: Duration::ZERO,
            timestamp: None,
        }
    } else {
        match state.master_key.unseal(&endpoint.secret_sealed) {
            Some(secret) => post(state, &endpoint.url, secret.expose(), &due).await,
            None => Attempt {
                status_code: None,
                error: Some("the endpoint's secret cannot be unsealed with this master key".into()),
                latency: Duration::ZERO,
                timestamp: None,
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
    let recorded = record(
        &state.db,
        AttemptRecord {
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
    if !recorded {
        tracing::info!(delivery = %due.id, "the endpoint was deleted during this attempt: nothing to record or retry");
        return Ok(());
    }
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
    use crate::webhooks::send::sign;

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
