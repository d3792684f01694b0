//! Click recording, off the request path: a redirect hands its click to a bounded queue and
//! answers at once; a background task ([`crate::batch`]) writes clicks in batches — raw rows,
//! the daily roll-up behind the stats, and each link's running total — at least every second,
//! and drains the queue on shutdown. A full queue makes redirects wait (backpressure) rather
//! than drop a click; a failed write is kept and retried.
//!
//! What a click keeps: the time, the referrer's host and the user agent's family. Never the
//! IP address, never the raw user agent.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header;
use tokio_util::sync::CancellationToken;

use crate::batch::{Intake, Queue};
use crate::db::{BeginWrite, Db, Pool, SqliteMultiInsert, StoreError, insert_chunks};
use crate::time::Timestamp;

/// One redirect.
#[derive(Debug, Clone)]
pub struct Click {
    pub link_id: String,
    pub at: Timestamp,
    pub referrer_host: Option<String>,
    pub user_agent_family: &'static str,
}

impl Click {
    pub fn new(link_id: String, at: Timestamp, headers: &HeaderMap) -> Self {
        let referrer_host = headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Self { link_id, at, referrer_host, user_agent_family: user_agent_family(user_agent) }
    }
}

/// The family of a user agent: enough for analytics, not enough to fingerprint anyone.
pub fn user_agent_family(ua: &str) -> &'static str {
    let lower = ua.to_ascii_lowercase();
    if ua.is_empty() {
        "unknown"
    } else if ["bot", "crawl", "spider", "slurp", "preview"].iter().any(|b| lower.contains(b)) {
        "bot"
    } else if lower.starts_with("curl/") {
        "curl"
    } else if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "other"
    }
}

/// The sending side, held by the redirect handler.
#[derive(Clone)]
pub struct ClickRecorder {
    queue: Queue<Click>,
}

impl ClickRecorder {
    /// A recorder and the receiving side for [`run_flusher`].
    pub fn new(capacity: usize) -> (Self, Intake<Click>) {
        let (queue, intake) = crate::batch::queue(capacity);
        (Self { queue }, intake)
    }

    /// Queues a click; waits if the queue is full.
    pub async fn record(&self, click: Click) {
        if self.queue.items().send(click).await.is_err() {
            // Only after shutdown, when no request is served any more.
            tracing::error!("click queue closed; a click was not recorded");
        }
    }

    /// Writes every click recorded so far, and waits until it is committed.
    pub async fn flush_now(&self) -> bool {
        self.queue.flush_now().await
    }
}

/// Writes queued clicks every `period` until `stop`, then drains the queue (see [`crate::batch`]).
pub async fn run_flusher(db: Db, intake: Intake<Click>, period: Duration, stop: CancellationToken) {
    crate::batch::run("clicks", intake, crate::batch::Flush::Periodic(period), stop, |batch: Vec<Click>| {
        let db = db.clone();
        async move {
            let result = write(&db, &batch).await;
            (batch, result)
        }
    })
    .await;
}

/// Writes a batch in one transaction: the raw clicks (one `COPY` on PostgreSQL, up to 512
/// rows a statement on SQLite), the daily roll-up and the links' totals (aggregated here, one
/// statement per distinct row).
async fn write(db: &Db, clicks: &[Click]) -> Result<(), StoreError> {
    const DAILY: &str = "INSERT INTO link_clicks_daily (link_id, day, clicks) VALUES ($1, $2, $3) \
         ON CONFLICT (link_id, day) DO UPDATE SET clicks = link_clicks_daily.clicks + excluded.clicks";
    const TOTAL: &str = "UPDATE links SET clicks = clicks + $1 WHERE id = $2";
    let mut per_day: HashMap<(&str, chrono::NaiveDate), i64> = HashMap::new();
    let mut per_link: HashMap<&str, i64> = HashMap::new();
    for click in clicks {
        *per_day.entry((click.link_id.as_str(), click.at.date_naive())).or_default() += 1;
        *per_link.entry(click.link_id.as_str()).or_default() += 1;
    }
    macro_rules! rollups {
        ($tx:ident) => {
            for ((link_id, day), n) in &per_day {
                sqlx::query(DAILY)
                    .bind(*link_id)
                    .bind(day.format("%Y-%m-%d").to_string())
                    .bind(*n)
                    .execute(&mut *$tx)
                    .await?;
            }
            for (link_id, n) in &per_link {
                sqlx::query(TOTAL).bind(*n).bind(*link_id).execute(&mut *$tx).await?;
            }
        };
    }
    match db.pool() {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            for chunk in insert_chunks(clicks) {
                static INSERT: SqliteMultiInsert = SqliteMultiInsert::new(
                    "INSERT INTO clicks (link_id, clicked_at, referrer_host, user_agent_family) VALUES",
                    4,
                    "",
                );
                let sql = INSERT.sql(chunk.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(&*sql));
                for click in chunk {
                    query = query
                        .bind(&click.link_id)
                        .bind(click.at)
                        .bind(&click.referrer_host)
                        .bind(click.user_agent_family);
                }
                query.execute(&mut *tx).await?;
            }
            rollups!(tx);
            tx.commit().await?;
        }
        Pool::Postgres(pool) => {
            // The whole batch as one `COPY`: the cheapest way into PostgreSQL.
            let mut rows = crate::db::CopyRows::with_capacity(clicks.len() * 96);
            for click in clicks {
                rows.field(Some(&click.link_id))
                    .field(Some(&click.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
                    .field(click.referrer_host.as_deref())
                    .field(Some(click.user_agent_family));
                rows.end_row();
            }
            let mut tx = pool.begin_write().await?;
            rows.copy_in(
                &mut tx,
                "COPY clicks (link_id, clicked_at, referrer_host, user_agent_family) FROM STDIN",
            )
            .await?;
            rollups!(tx);
            tx.commit().await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::user_agent_family;

    #[test]
    fn user_agents_are_reduced_to_their_family() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(user_agent_family(chrome), "Chrome");
        assert_eq!(
            user_agent_family("Mozilla/5.0 (Macintosh) AppleWebKit/605 Version/17 Safari/605.1"),
            "Safari"
        );
        assert_eq!(user_agent_family("Mozilla/5.0 (X11; rv:120.0) Gecko/20100101 Firefox/120.0"), "Firefox");
        assert_eq!(user_agent_family(&format!("{chrome} Edg/120.0")), "Edge");
        assert_eq!(user_agent_family("Googlebot/2.1 (+http://www.google.com/bot.html)"), "bot");
        assert_eq!(user_agent_family("curl/8.4.0"), "curl");
        assert_eq!(user_agent_family(""), "unknown");
        assert_eq!(user_agent_family("Something"), "other");
    }
}
