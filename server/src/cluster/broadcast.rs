//! Invalidation broadcast: a change made on one instance drops every instance's cached copy.
//!
//! Each instance caches verified keys ([`crate::keys::Verifier`]) and redirect targets
//! ([`crate::links::RedirectCache`]). The instance that makes a change drops its own entries
//! before it answers; on PostgreSQL it then sends `NOTIFY portico_invalidate`, and every
//! instance — listening on a connection of its own — drops its copies as the notification
//! arrives (milliseconds; the target is under 250 ms). PostgreSQL carries the broadcast
//! whether or not Redis is configured: every instance already has it, and one engine fewer
//! can fail.
//!
//! A lost notification is covered twice: a listener that loses its connection reconnects,
//! resubscribes and drops *everything* it caches (what it missed is unknown), and every
//! entry still lives at most the cache TTL (`PORTICO_CACHE_TTL_MS`, 1 s by default).
//! Dashboard sessions are not cached — each request reads its session — so a sign-out is
//! seen by every instance at once without a broadcast.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::db::{Db, Pool};
use crate::keys::Verifier;
use crate::links::RedirectCache;

/// The PostgreSQL channel.
pub const CHANNEL: &str = "portico_invalidate";
/// Room left in a notification's payload (PostgreSQL allows 8,000 bytes).
const PAYLOAD_BYTES: usize = 7_000;

/// Something cached that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An API key (revoked, updated, blocked, rotated): every cached secret of it.
    Key(String),
    /// What a short link on `domain` with `slug` resolves to.
    Link { domain: String, slug: String },
    /// Whether `hostname` is a registered domain.
    Domain(String),
    /// An organisation's limits (its quota, its keys' default rate limit).
    Organization(String),
}

impl Change {
    /// One line of a notification's payload. Ids, hostnames and slugs hold no whitespace.
    fn line(&self) -> String {
        match self {
            Self::Key(id) => format!("key {id}"),
            Self::Link { domain, slug } => format!("link {domain} {slug}"),
            Self::Domain(hostname) => format!("domain {hostname}"),
            Self::Organization(id) => format!("org {id}"),
        }
    }

    fn parse(line: &str) -> Option<Self> {
        let mut words = line.split(' ');
        let change = match (words.next()?, words.next()?, words.next()) {
            ("key", id, None) => Self::Key(id.to_owned()),
            ("link", domain, Some(slug)) => Self::Link { domain: domain.to_owned(), slug: slug.to_owned() },
            ("domain", hostname, None) => Self::Domain(hostname.to_owned()),
            ("org", id, None) => Self::Organization(id.to_owned()),
            _ => return None,
        };
        words.next().is_none().then_some(change)
    }
}

/// The payloads that carry `changes`, each within PostgreSQL's limit.
fn payloads(changes: &[Change]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for line in changes.iter().map(Change::line) {
        if !current.is_empty() && current.len() + 1 + line.len() > PAYLOAD_BYTES {
            payloads.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

/// This instance's caches, and the broadcast to the others.
pub struct Invalidations {
    db: Db,
    keys: Arc<Verifier>,
    redirects: Arc<RedirectCache>,
    quotas: Arc<crate::metering::Quotas>,
    sent: Counter,
    received: Counter,
    resets: Counter,
}

impl Invalidations {
    pub fn new(
        db: Db,
        keys: Arc<Verifier>,
        redirects: Arc<RedirectCache>,
        quotas: Arc<crate::metering::Quotas>,
        registry: &mut Registry,
    ) -> Self {
        let (sent, received, resets) = (Counter::default(), Counter::default(), Counter::default());
        registry.register(
            "portico_invalidations_sent",
            "Cache invalidations broadcast to the other instances",
            sent.clone(),
        );
        registry.register(
            "portico_invalidations_received",
            "Cache invalidations received from instances (this one's included)",
            received.clone(),
        );
        registry.register(
            "portico_invalidation_resets",
            "Times every cache was dropped because the broadcast's connection was lost",
            resets.clone(),
        );
        Self { db, keys, redirects, quotas, sent, received, resets }
    }

    /// Drops this instance's copies of what `changes` name, then tells the other instances
    /// (PostgreSQL). Call it after the change is committed. A broadcast that fails is logged:
    /// the other instances then see the change within the cache TTL.
    pub async fn changed(&self, changes: &[Change]) {
        for change in changes {
            self.apply(change);
        }
        let Pool::Postgres(pool) = self.db.pool() else { return };
        for payload in payloads(changes) {
            match sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(pool).await {
                Ok(_) => {
                    self.sent.inc();
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "could not broadcast a cache invalidation; other instances see the change within the cache TTL"
                ),
            }
        }
    }

    fn apply(&self, change: &Change) {
        match change {
            Change::Key(id) => self.keys.forget(id),
            Change::Link { domain, slug } => self.redirects.forget(domain, slug),
            Change::Domain(hostname) => self.redirects.forget_domain(hostname),
            Change::Organization(id) => {
                self.keys.forget_organization(id);
                self.quotas.forget(id);
            }
        }
    }

    fn forget_everything(&self) {
        self.resets.inc();
        self.keys.forget_all();
        self.redirects.forget_all();
    }

    /// Listens for other instances' changes until `stop` (PostgreSQL only; on SQLite there
    /// is one instance and this returns at once).
    pub async fn listen(self: Arc<Self>, stop: CancellationToken) {
        let Pool::Postgres(pool) = self.db.pool() else { return };
        let mut connected = false;
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for cache invalidations; retrying");
                        if pause(&stop).await {
                            return;
                        }
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect to listen for cache invalidations; retrying");
                    if pause(&stop).await {
                        return;
                    }
                    continue;
                }
            };
            if connected {
                // Reconnected: whatever was broadcast meanwhile is lost.
                self.forget_everything();
                tracing::info!("listening for cache invalidations again; every cache was dropped");
            }
            connected = true;
            loop {
                let received = tokio::select! {
                    _ = stop.cancelled() => return,
                    received = listener.try_recv() => received,
                };
                match received {
                    Ok(Some(notification)) => {
                        for change in notification.payload().lines().filter_map(Change::parse) {
                            self.received.inc();
                            self.apply(&change);
                        }
                    }
                    // The connection was lost and has been re-established.
                    Ok(None) => {
                        self.forget_everything();
                        tracing::info!("the invalidation listener reconnected; every cache was dropped");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the invalidation listener failed; reconnecting");
                        break;
                    }
                }
            }
            if pause(&stop).await {
                return;
            }
        }
    }
}

/// Waits before a retry; `true` when the server is stopping.
async fn pause(stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(Duration::from_millis(500)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_payloads_within_the_limit() {
        let mut changes = vec![Change::Key("key_01".into()), Change::Domain("go.example.com".into())];
        changes.extend(
            (0..2_000).map(|i| Change::Link { domain: "go.example.com".into(), slug: format!("slug-{i}") }),
        );
        let payloads = payloads(&changes);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= PAYLOAD_BYTES));
        let back: Vec<Change> = payloads.iter().flat_map(|p| p.lines().filter_map(Change::parse)).collect();
        assert_eq!(back, changes);
    }

    #[test]
    fn malformed_lines_are_ignored() {
        for line in ["", "key", "key a b", "link d", "link d s x", "other x", "domain a b"] {
            assert_eq!(Change::parse(line), None, "{line:?}");
        }
    }
}
