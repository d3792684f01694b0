//! Batched writes off the request path: requests hand items to a bounded queue and go on;
//! one background task writes them in batches — every `period`, taking all that is queued
//! (no wake-up per item), or at once when asked to (group commit) — and, when the server
//! stops, drains the queue and writes what is left. A failed
//! write keeps its batch and is retried on the next tick: what was queued is not dropped.
//!
//! Used for the request log and for link clicks. [`Queue::flush_now`] writes what is queued at
//! once and waits for it: for tests (no waiting out a period) and for anything that must read
//! its own writes.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::db::StoreError;

/// How many items one write takes at most.
pub const BATCH: usize = 2000;
/// How many items the writer holds at most (the queue behind it is bounded too).
const MAX_PENDING: usize = 65_536;

/// When the writer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Every `period`, taking all that is queued (nobody is woken per item).
    Periodic(Duration),
    /// As soon as anything is queued: group commit — what arrives during a write goes in the
    /// next one, so each write takes everything that waited for it.
    Eager,
}

/// The sending side of a writer's queue.
#[derive(Debug)]
pub struct Queue<T> {
    items: mpsc::Sender<T>,
    flushes: mpsc::Sender<oneshot::Sender<()>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self { items: self.items.clone(), flushes: self.flushes.clone() }
    }
}

/// The receiving side, for [`run`].
#[derive(Debug)]
pub struct Intake<T> {
    items: mpsc::Receiver<T>,
    flushes: mpsc::Receiver<oneshot::Sender<()>>,
}

/// A queue of at most `capacity` items and its intake.
pub fn queue<T>(capacity: usize) -> (Queue<T>, Intake<T>) {
    let (items, items_rx) = mpsc::channel(capacity);
    let (flushes, flushes_rx) = mpsc::channel(16);
    (Queue { items, flushes }, Intake { items: items_rx, flushes: flushes_rx })
}

impl<T> Queue<T> {
    /// The items' channel.
    pub fn items(&self) -> &mpsc::Sender<T> {
        &self.items
    }

    /// Has the writer write everything queued before this call, and waits until it is
    /// committed. False when the writer has stopped, or could not write before stopping.
    pub async fn flush_now(&self) -> bool {
        let (done, written) = oneshot::channel();
        self.flushes.send(done).await.is_ok() && written.await.is_ok()
    }
}

/// Runs the writer until `stop`, then drains. `write` must write all of a batch or nothing.
pub async fn run<T, W, Fut>(
    what: &'static str,
    intake: Intake<T>,
    flush_when: Flush,
    stop: CancellationToken,
    write: W,
) where
    W: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = (Vec<T>, Result<(), StoreError>)>,
    T: Send,
{
    let Intake { items: mut rx, mut flushes } = intake;
    let mut pending: Vec<T> = Vec::new();
    // Asked for a flush: told once everything queued before they asked is written.
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    // Eager writers still tick, to retry a failed write.
    let period = match flush_when {
        Flush::Periodic(period) => period,
        Flush::Eager => Duration::from_millis(100),
    };
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if pending.is_empty() {
            for done in waiting.drain(..) {
                let _ = done.send(());
            }
        }
        match flush_when {
            // The writer wakes on its tick, not per item: a request that queues an item wakes
            // nobody. Each tick takes everything queued.
            Flush::Periodic(_) => tokio::select! {
                _ = stop.cancelled() => break,
                Some(done) = flushes.recv() => {
                    waiting.push(done);
                    take_queued(&mut rx, &mut pending);
                    pending = flush(what, pending, &write).await;
                }
                _ = ticker.tick() => {
                    take_queued(&mut rx, &mut pending);
                    pending = flush(what, pending, &write).await;
                }
            },
            Flush::Eager => tokio::select! {
                _ = stop.cancelled() => break,
                Some(done) = flushes.recv() => {
                    waiting.push(done);
                    take_queued(&mut rx, &mut pending);
                    pending = flush(what, pending, &write).await;
                }
                _ = ticker.tick() => pending = flush(what, pending, &write).await,
                received = rx.recv_many(&mut pending, BATCH) => {
                    if received == 0 {
                        break;
                    }
                    pending = flush(what, pending, &write).await;
                }
            },
        }
    }
    rx.close();
    while rx.recv_many(&mut pending, BATCH).await > 0 {}
    for attempt in 1..=5u32 {
        pending = flush(what, pending, &write).await;
        if pending.is_empty() {
            for done in waiting {
                let _ = done.send(());
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(200) * attempt).await;
    }
    tracing::error!(what, items = pending.len(), "could not write before stopping");
}

/// Moves what is queued into `pending`. Bounded: while writes fail, the queue fills and
/// requests wait for room.
fn take_queued<T>(rx: &mut mpsc::Receiver<T>, pending: &mut Vec<T>) {
    while pending.len() < MAX_PENDING
        && let Ok(item) = rx.try_recv()
    {
        pending.push(item);
    }
}

/// Writes `pending` in batches; returns what could not be written (to retry).
async fn flush<T, W, Fut>(what: &'static str, mut pending: Vec<T>, write: &W) -> Vec<T>
where
    W: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = (Vec<T>, Result<(), StoreError>)>,
{
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(BATCH));
        let (batch, result) = write(pending).await;
        match result {
            Ok(()) => pending = rest,
            Err(e) => {
                tracing::warn!(what, error = %e, items = batch.len() + rest.len(), "batched write failed; will retry");
                let mut kept = batch;
                kept.extend(rest);
                return kept;
            }
        }
    }
    pending
}
