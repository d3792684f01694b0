//! The worker pool: each worker claims the oldest runnable job, runs it, and waits for the
//! next (woken at once when a job is enqueued, or every half second). On shutdown a worker
//! stops between batches and hands its job back to the queue at its checkpoint.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::JobStatus;
use super::store::{self, ClaimedJob};
use crate::links::import::{self, ImportOutcome};
use crate::state::AppState;

/// A job taken over this many times without progress (each a crash or lost lease) is given up.
const MAX_ATTEMPTS: i64 = 5;

pub async fn run(state: AppState, wake: Arc<Notify>, stop: CancellationToken) {
    let lease = chrono::TimeDelta::from_std(state.config.job_lease).unwrap_or(chrono::TimeDelta::seconds(30));
    while !stop.is_cancelled() {
        match store::claim(&state.db, lease).await {
            Ok(Some(job)) => process(&state, job, &stop).await,
            Ok(None) => {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed; will retry");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn process(state: &AppState, job: ClaimedJob, stop: &CancellationToken) {
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
    let _entered = span.enter();
    tracing::info!(checkpoint = job.checkpoint, "job claimed");
    if job.attempts > MAX_ATTEMPTS {
        let message = format!("gave up after {MAX_ATTEMPTS} attempts that made no progress");
        match store::finish(&state.db, &job, JobStatus::Failed, None, Some(&message)).await {
            Ok(true) => state.events_committed(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "giving up a job failed; it will be retried"),
        }
        return;
    }
    let outcome = match job.kind.as_str() {
        "link_import" => import::run(state, &job, stop, state.config.job_batch_pause).await,
        other => Ok(ImportOutcome::Invalid(format!("unknown job kind {other}"))),
    };
    // Only the claim's holder writes: a worker whose job was taken over (its lease ran out
    // while it stalled) or ended writes nothing, so a terminal status never changes.
    let finished = match outcome {
        Ok(ImportOutcome::Done(result)) => {
            tracing::info!(created = result.created, skipped = result.skipped, "job succeeded");
            store::finish(&state.db, &job, JobStatus::Succeeded, Some(&result), None).await
        }
        Ok(ImportOutcome::Invalid(message)) => {
            tracing::info!(%message, "job failed");
            store::finish(&state.db, &job, JobStatus::Failed, None, Some(&message)).await
        }
        Ok(ImportOutcome::Stopped) => store::release(&state.db, &job).await.map(|()| false),
        Ok(ImportOutcome::Superseded) => {
            tracing::info!("job taken over by another worker, or ended; leaving it");
            Ok(false)
        }
        // Left running: when its lease runs out, a worker takes it over from its checkpoint.
        Err(e) => Err(e),
    };
    match finished {
        // `finish` wrote the job's event.
        Ok(true) => state.events_committed(),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "job interrupted by a storage error; it will be retried"),
    }
}
