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

/// A job that has failed this many runs (each a crash or lost lease) is given up.
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
        let message = format!("gave up after {MAX_ATTEMPTS} attempts");
        if store::finish(&state.db, &job.id, JobStatus::Failed, None, Some(&message)).await.is_ok() {
            state.events_committed();
        }
        return;
    }
    let outcome = match job.kind.as_str() {
        "link_import" => import::run(state, &job, stop, state.config.job_batch_pause).await,
        other => Ok(ImportOutcome::Invalid(format!("unknown job kind {other}"))),
    };
    let finished = matches!(outcome, Ok(ImportOutcome::Done(_) | ImportOutcome::Invalid(_)));
    let written = match outcome {
        Ok(ImportOutcome::Done(result)) => {
            tracing::info!(created = result.created, skipped = result.skipped, "job succeeded");
            store::finish(&state.db, &job.id, JobStatus::Succeeded, Some(&result), None).await
        }
        Ok(ImportOutcome::Invalid(message)) => {
            tracing::info!(%message, "job failed");
            store::finish(&state.db, &job.id, JobStatus::Failed, None, Some(&message)).await
        }
        Ok(ImportOutcome::Stopped) => store::release(&state.db, &job.id).await,
        Ok(ImportOutcome::Superseded) => Ok(()),
        // Left running: when its lease runs out, a worker takes it over from its checkpoint.
        Err(e) => Err(e),
    };
    match written {
        // `finish` wrote the job's event.
        Ok(()) if finished => state.events_committed(),
        Ok(()) => {}
        Err(e) => tracing::warn!(error = %e, "job interrupted by a storage error; it will be retried"),
    }
}
