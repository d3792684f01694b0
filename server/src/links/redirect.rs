//! `GET /r/{slug}`: the short link itself. Public, no key. The slug is looked up on the domain
//! the `Host` header names when that is a registered domain, else on the default domain.
//!
//! Served from memory ([`RedirectCache`]): (domain, slug) → target, and hostname → registered,
//! each read from the database once and then kept. This instance's own changes invalidate
//! their entries before they are answered — a changed, deleted or new link redirects (or stops)
//! on the very next request — and broadcast them to the other instances on PostgreSQL
//! ([`crate::cluster::broadcast`]); an entry lives at most `ttl` (1 s), the safety net for a
//! lost notification. Expiry is checked on every request against the cached time.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::clicks::Click;
use super::store;
use crate::db::StoreError;
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::Timestamp;

/// Where a live link goes.
#[derive(Clone)]
struct Target {
    link_id: Arc<str>,
    location: HeaderValue,
    expires_at: Option<Timestamp>,
}

/// The redirects' read-through cache (see the module documentation).
pub struct RedirectCache {
    /// `None`: no live link there (a miss is cached too, and invalidated like a hit).
    targets: moka::sync::Cache<(String, String), Option<Target>>,
    registered: moka::sync::Cache<String, bool>,
}

impl RedirectCache {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            targets: moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
            registered: moka::sync::Cache::builder()
                .max_capacity(capacity / 10 + 1)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Forgets what `domain`/`slug` resolves to (a link there was created, changed or deleted).
    pub fn forget(&self, domain: &str, slug: &str) {
        self.targets.invalidate(&(domain.to_owned(), slug.to_owned()));
    }

    /// Forgets whether `hostname` is registered.
    pub fn forget_domain(&self, hostname: &str) {
        self.registered.invalidate(hostname);
    }

    /// Forgets everything (the invalidation broadcast lost its connection).
    pub fn forget_all(&self) {
        self.targets.invalidate_all();
        self.registered.invalidate_all();
    }

    async fn is_registered(&self, state: &AppState, host: &str) -> Result<bool, StoreError> {
        if let Some(known) = self.registered.get(host) {
            return Ok(known);
        }
        let known = crate::domains::is_registered(&state.db, host).await?;
        self.registered.insert(host.to_owned(), known);
        Ok(known)
    }

    async fn target(
        &self,
        state: &AppState,
        domain: &str,
        slug: &str,
        at: Timestamp,
    ) -> Result<Option<Target>, ApiError> {
        let key = (domain.to_owned(), slug.to_owned());
        let cached = match self.targets.get(&key) {
            Some(cached) => cached,
            None => {
                let found = match store::resolve_live(&state.db, domain, slug).await? {
                    Some((link_id, url, expires_at)) => {
                        let Ok(location) = HeaderValue::from_str(&url) else {
                            return Err(ApiError::internal(format!(
                                "link {link_id} has a URL that is not a valid header"
                            )));
                        };
                        Some(Target { link_id: link_id.into(), location, expires_at })
                    }
                    None => None,
                };
                self.targets.insert(key, found.clone());
                found
            }
        };
        Ok(cached.filter(|t| t.expires_at.is_none_or(|e| e > at)))
    }
}

/// Follow a short link
///
/// Redirects (302) to the link's URL and counts a click. Unknown, deleted and expired links
/// get a small HTML page with status 404. Nothing is cached (`Cache-Control: no-store`), so
/// every visit is counted and changes to a link apply at once.
#[utoipa::path(
    get,
    path = "/r/{slug}",
    operation_id = "link_redirect",
    tag = "redirects",
    params(
        ("slug" = String, Path, description = "The link's slug", example = "launch"),
        ("host" = Option<String>, Header, description = "The short link's domain; a registered domain selects its links"),
    ),
    responses(
        (status = 302, description = "To the link's URL.", headers(("location" = String, description = "The link's URL"))),
        (status = 404, description = "No live link here: an HTML page for people.", content_type = "text/html", body = String),
    ),
)]
pub async fn link_redirect(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| strip_port(h).trim_end_matches('.').to_ascii_lowercase());
    let cache = &state.redirects;
    let domain = match host {
        Some(host) if host != state.public.default_domain && cache.is_registered(&state, &host).await? => {
            host
        }
        _ => state.public.default_domain.clone(),
    };
    let at = state.db.now();
    let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let Some(target) = cache.target(&state, &domain, &slug, at).await? else {
        return Ok((StatusCode::NOT_FOUND, [no_store], axum::response::Html(NOT_FOUND_PAGE)).into_response());
    };
    state.clicks.record(Click::new(target.link_id.to_string(), at, &headers)).await;
    Ok((StatusCode::FOUND, [(header::LOCATION, target.location), no_store]).into_response())
}

/// `host` without a `:port` (IPv6 literals keep their brackets' content).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host })
}

const NOT_FOUND_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not found</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:6rem auto;padding:0 1rem;text-align:center;color:#374151}
h1{font-size:1.5rem;color:#111827}</style></head>
<body><h1>This link doesn't go anywhere</h1>
<p>The short link you followed does not exist, has expired, or was removed.</p></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("go.example.com:8080"), "go.example.com");
        assert_eq!(strip_port("go.example.com"), "go.example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }
}
