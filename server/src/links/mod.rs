//! The product API: short links on custom domains, their redirects and click analytics.
//!
//! Every link lives on a domain — one the organisation registered, or the deployment's
//! default — under a slug unique there among live links. Deleting a link is a soft delete:
//! the row stays, the slug is free again. Redirects (`GET /r/{slug}`) count clicks off the
//! request path ([`clicks`]); stats read the daily roll-up, never the raw clicks.

pub mod clicks;
pub mod import;
mod redirect;
pub mod store;
pub mod types;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{NaiveDate, TimeDelta};

pub use redirect::*;
use store::{LinkRow, LinkValues, ListFilter, NewLink};
pub use types::*;

use crate::domains::{self, domain_not_allowed};
use crate::error::{ApiError, Validation};
use crate::http::conditional::{IfMatch, changed_meanwhile, etag};
use crate::http::{ApiJson, ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::secret::{base62, random_bytes};
use crate::state::AppState;
use crate::time::Timestamp;

/// Where short links are served: the public base URL and the default domain.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// The deployment's own URL (`PORTICO_PUBLIC_URL`, else `http://` + the listening address).
    pub base_url: String,
    /// The domain links go on when none is named (`PORTICO_DEFAULT_DOMAIN`, else the host of
    /// the base URL).
    pub default_domain: String,
}

impl PublicUrls {
    /// The short URL of `slug` on `domain`.
    pub fn short_url(&self, domain: &str, slug: &str) -> String {
        if domain == self.default_domain {
            format!("{}/r/{slug}", self.base_url)
        } else {
            format!("https://{domain}/r/{slug}")
        }
    }
}

fn to_link(state: &AppState, row: LinkRow) -> Link {
    Link {
        short_url: state.public.short_url(&row.domain, &row.slug),
        tags: row.tags(),
        id: row.id,
        url: row.url,
        domain: row.domain,
        slug: row.slug,
        title: row.title,
        expires_at: row.expires_at,
        clicks: row.clicks,
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    }
}

fn with_etag(status: StatusCode, link: Link) -> (StatusCode, HeaderMap, Json<Link>) {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(link.version));
    (status, headers, Json(link))
}

/// The domain a link goes on: the one named (normalised, registered to the organisation, in
/// the key's scope) or the default. Field errors go to `v`.
async fn resolve_domain(
    state: &AppState,
    org: &str,
    domains: &[String],
    requested: Option<&str>,
    v: &mut Validation,
) -> Result<Option<String>, ApiError> {
    let host = match requested {
        None => state.public.default_domain.clone(),
        Some(name) => match crate::hostname::normalize(name) {
            Ok(host) => host,
            Err(message) => {
                v.reject("domain", message);
                return Ok(None);
            }
        },
    };
    if !domains.is_empty() && !domains.contains(&host) {
        return Err(domain_not_allowed(&host));
    }
    if host != state.public.default_domain && !domains::is_registered_to(&state.db, org, &host).await? {
        v.reject("domain", "is not one of the organisation's domains (register it with POST /v1/domains)");
        return Ok(None);
    }
    Ok(Some(host))
}

/// A random, unguessable slug: 7 base62 characters (62⁷ ≈ 3.5 × 10¹²).
fn generate_slug() -> String {
    let mut slug = String::with_capacity(7);
    while slug.len() < 7 {
        for byte in random_bytes::<16>() {
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
            if byte < 248 && slug.len() < 7 {
                slug.push(base62::ALPHABET[(byte % 62) as usize] as char);
            }
        }
    }
    slug
}

/// Create a link
///
/// Creates a short link to `url` on `domain` (default: the deployment's default domain) under
/// `slug` (generated when absent: short and unguessable). The slug must be free on the domain
/// among live links (409 `conflict`). A domain-scoped key may only create links on its
/// domains (403 `domain_not_allowed`).
#[utoipa::path(
    post,
    path = "/v1/links",
    operation_id = "link_create",
    tag = "links",
    request_body = CreateLinkRequest,
    responses((status = 201, description = "The new link.", body = Link,
        headers(("location" = String, description = "The link's URL"), ("etag" = String, description = "The link's version")))),
    extensions(("x-required-scope" = json!("links:write")), ("x-error-codes" = json!(["conflict", "domain_not_allowed"]))),
)]
pub async fn link_create(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiJson(req): ApiJson<CreateLinkRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
    let key = principal.key();
    create(&state, &key.organization_id, &key.domains, req).await
}

/// Creates a link for `org`, within the domain scope `domains` (empty: every domain).
async fn create(
    state: &AppState,
    org: &str,
    domains: &[String],
    req: CreateLinkRequest,
) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
    let at = state.db.now();
    let mut v = Validation::new();
    let url = check_url(&mut v, "url", &req.url);
    if let Some(slug) = &req.slug {
        check_slug(&mut v, slug);
    }
    let title = check_title(&mut v, req.title.as_deref());
    let tags = check_tags(&mut v, &req.tags);
    if req.expires_at.is_some_and(|e| e <= at) {
        v.reject("expires_at", "must be in the future");
    }
    let domain = resolve_domain(state, org, domains, req.domain.as_deref(), &mut v).await?;
    v.finish()?;
    let domain = domain.expect("validation passed, so the domain resolved");

    let id = Id::generate(IdKind::Link).into_string();
    let new = NewLink {
        id: &id,
        organization_id: org,
        domain: &domain,
        slug: req.slug.as_deref(),
        url: &url,
        title: title.as_deref(),
        tags: &tags,
        expires_at: req.expires_at,
        at,
    };
    let row = store::insert(&state.db, &new).await?;
    state.events_committed();
    // A miss cached for this slug must not outlive the link's creation.
    let change = crate::cluster::Change::Link { domain: row.domain.clone(), slug: row.slug.clone() };
    state.invalidations.changed(&[change]).await;
    let link = to_link(state, row);
    let (status, mut headers, body) = with_etag(StatusCode::CREATED, link);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/links/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((status, headers, body))
}

/// List links
///
/// The organisation's live links, newest first, with the exact `total`. `search` looks in the
/// title, URL and slug (case-insensitive); `domain` and `tag` filter. A domain-scoped key sees
/// only links on its domains.
#[utoipa::path(
    get,
    path = "/v1/links",
    operation_id = "link_list",
    tag = "links",
    params(ListLinksParams),
    responses((status = 200, description = "One page of links.", body = ListEnvelope<Link>)),
    extensions(("x-required-scope" = json!("links:read"))),
)]
pub async fn link_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<ListLinksParams>,
) -> Result<Json<ListEnvelope<Link>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let mut v = Validation::new();
    let search = params.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    v.check(search.is_none_or(|s| s.chars().count() <= 200), "search", "must be at most 200 characters");
    let domain = match params.domain.as_deref() {
        Some(d) => match crate::hostname::normalize(d) {
            Ok(host) => Some(host),
            Err(message) => {
                v.reject("domain", message);
                None
            }
        },
        None => None,
    };
    let tag = params.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    v.finish()?;
    let key = principal.key();
    let filter = ListFilter { search, domain: domain.as_deref(), tag, scope: &key.domains };
    let (rows, total) = store::list(&state.db, &key.organization_id, &filter, page).await?;
    let links = rows.into_iter().map(|r| to_link(&state, r)).collect();
    Ok(Json(ListEnvelope::new(links, total, page)))
}

/// The organisation's live link `id`, if the key may see it; else 404.
async fn find_visible(state: &AppState, principal: &ApiPrincipal, id: &str) -> Result<LinkRow, ApiError> {
    find_in(state, &principal.key().organization_id, |domain| principal.allows_domain(domain), id).await
}

/// A live link of the organisation whose domain `visible` allows.
async fn find_in(
    state: &AppState,
    organization_id: &str,
    visible: impl Fn(&str) -> bool,
    id: &str,
) -> Result<LinkRow, ApiError> {
    if Id::parse(IdKind::Link, id).is_none() {
        return Err(ApiError::not_found("link"));
    }
    match store::get(&state.db, organization_id, id).await? {
        Some(row) if visible(&row.domain) => Ok(row),
        _ => Err(ApiError::not_found("link")),
    }
}

/// Get a link
///
/// One live link. The `ETag` header carries its version, for `If-Match` on updates.
#[utoipa::path(
    get,
    path = "/v1/links/{id}",
    operation_id = "link_get",
    tag = "links",
    params(("id" = String, Path, description = "The link's id (`lnk_…`)", example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The link.", body = Link, headers(("etag" = String, description = "The link's version")))),
    extensions(("x-required-scope" = json!("links:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn link_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
    let row = find_visible(&state, &principal, &id).await?;
    Ok(with_etag(StatusCode::OK, to_link(&state, row)))
}

/// Update a link
///
/// Changes a link's URL, domain, slug, title, tags or expiry; absent fields stay. Send the
/// `ETag` in `If-Match` to get 412 `version_mismatch` rather than overwrite a change you have
/// not seen. Moving a link onto a domain outside the key's scope is 403 `domain_not_allowed`.
#[utoipa::path(
    patch,
    path = "/v1/links/{id}",
    operation_id = "link_update",
    tag = "links",
    params(
        ("id" = String, Path, description = "The link's id (`lnk_…`)", example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    request_body = UpdateLinkRequest,
    responses((status = 200, description = "The updated link.", body = Link, headers(("etag" = String, description = "The link's new version")))),
    extensions(("x-required-scope" = json!("links:write")), ("x-error-codes" = json!(["not_found", "conflict", "version_mismatch", "domain_not_allowed"]))),
)]
pub async fn link_update(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(req): ApiJson<UpdateLinkRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
    let current = find_visible(&state, &principal, &id).await?;
    let at = state.db.now();
    let mut v = Validation::new();
    let url = match &req.url {
        Some(url) => check_url(&mut v, "url", url),
        None => current.url.clone(),
    };
    let slug = req.slug.clone().unwrap_or_else(|| current.slug.clone());
    if req.slug.is_some() {
        check_slug(&mut v, &slug);
    }
    let title = match &req.title {
        Some(title) => check_title(&mut v, title.as_deref()),
        None => current.title.clone(),
    };
    let tags = match &req.tags {
        Some(tags) => check_tags(&mut v, tags),
        None => current.tags(),
    };
    let expires_at = req.expires_at.unwrap_or(current.expires_at);
    if matches!(req.expires_at, Some(Some(e)) if e <= at) {
        v.reject("expires_at", "must be in the future");
    }
    let domain = match &req.domain {
        Some(requested) => {
            let key = principal.key();
            resolve_domain(&state, &key.organization_id, &key.domains, Some(requested), &mut v).await?
        }
        None => Some(current.domain.clone()),
    };
    // The body is judged first (422), then the version it would apply to (412).
    v.finish()?;
    if_match.check(current.version)?;
    let domain = domain.expect("validation passed, so the domain resolved");
    let values = LinkValues {
        domain: &domain,
        slug: &slug,
        url: &url,
        title: title.as_deref(),
        tags: &tags,
        expires_at,
    };
    let org = &principal.key().organization_id;
    let Some(row) = store::update(&state.db, org, &id, current.version, &values, at).await? else {
        return Err(changed_meanwhile("link"));
    };
    state
        .invalidations
        .changed(&[
            crate::cluster::Change::Link { domain: current.domain.clone(), slug: current.slug.clone() },
            crate::cluster::Change::Link { domain: domain.clone(), slug: slug.clone() },
        ])
        .await;
    Ok(with_etag(StatusCode::OK, to_link(&state, row)))
}

/// Delete a link
///
/// Soft-deletes a link: it stops redirecting at once and its slug is free for a new link. The
/// record is kept. With `If-Match`, only if the link is still at that version (412
/// `version_mismatch` otherwise).
#[utoipa::path(
    delete,
    path = "/v1/links/{id}",
    operation_id = "link_delete",
    tag = "links",
    params(
        ("id" = String, Path, description = "The link's id (`lnk_…`)", example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"),
        ("if-match" = Option<String>, Header, description = "The version you read (the `ETag`), e.g. `\"3\"`"),
    ),
    responses((status = 204, description = "Deleted.")),
    extensions(("x-required-scope" = json!("links:write")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn link_delete(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    let link = find_visible(&state, &principal, &id).await?;
    if_match.check(link.version)?;
    let expected = if_match.0.is_some().then_some(link.version);
    let org = &principal.key().organization_id;
    if !store::soft_delete(&state.db, org, &id, expected, state.db.now()).await? {
        // Gone meanwhile, or changed under a precondition.
        return Err(match find_visible(&state, &principal, &id).await {
            Ok(_) => changed_meanwhile("link"),
            Err(e) => e,
        });
    }
    state.events_committed();
    state
        .invalidations
        .changed(&[crate::cluster::Change::Link { domain: link.domain, slug: link.slug }])
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Link stats
///
/// Clicks on a link per day (UTC) between `from` and `to` (default: the last 30 days), from
/// the daily roll-up. Every day of the range is listed, days without clicks as 0. At most 366
/// days per request.
#[utoipa::path(
    get,
    path = "/v1/links/{id}/stats",
    operation_id = "link_stats",
    tag = "links",
    params(("id" = String, Path, description = "The link's id (`lnk_…`)", example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"), StatsParams),
    responses((status = 200, description = "Clicks per day.", body = LinkStats)),
    extensions(("x-required-scope" = json!("analytics:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn link_stats(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Json<LinkStats>, ApiError> {
    let (from, to) = stats_range(&params, state.db.now())?;
    let link = find_visible(&state, &principal, &id).await?;
    let days = store::daily_clicks(&state.db, &link.id, from, to).await?;
    Ok(Json(dense_series(from, to, &days)))
}

fn stats_range(params: &StatsParams, at: Timestamp) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = params.to.unwrap_or_else(|| at.date_naive());
    let from = params.from.unwrap_or(to - TimeDelta::days(29));
    let mut v = Validation::new();
    v.check(from <= to, "from", "must not be after `to`");
    v.check((to - from).num_days() < 366, "to", "the range must be at most 366 days");
    v.finish()?;
    Ok((from, to))
}

/// Every day from `from` to `to`, with the counts of the days that have any.
fn dense_series(from: NaiveDate, to: NaiveDate, days: &[(String, i64)]) -> LinkStats {
    let counts: std::collections::HashMap<&str, i64> = days.iter().map(|(d, n)| (d.as_str(), *n)).collect();
    let series: Vec<DailyClicks> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| DailyClicks {
            date,
            clicks: counts.get(date.format("%Y-%m-%d").to_string().as_str()).copied().unwrap_or(0),
        })
        .collect();
    LinkStats { total: series.iter().map(|d| d.clicks).sum(), from, to, series }
}

/// The benchmark's baselines: the link read and the link create with no platform layer — no
/// request id, no metrics, no key, no limits, no idempotency, no log. The create acts for the
/// organisation named in `?org=`. Mounted only with the hidden `--bench-baseline` flag; not in
/// the spec.
pub fn bench_baseline_router() -> axum::Router<AppState> {
    #[derive(serde::Deserialize)]
    struct Org {
        org: String,
    }
    // `link_get`'s work exactly — the same query, the same answer and ETag — for the
    // organisation named in the query string instead of the key's.
    async fn read(
        State(state): State<AppState>,
        Path(id): Path<String>,
        axum::extract::Query(Org { org }): axum::extract::Query<Org>,
    ) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
        let row = find_in(&state, &org, |_| true, &id).await?;
        Ok(with_etag(StatusCode::OK, to_link(&state, row)))
    }
    async fn create_for(
        State(state): State<AppState>,
        axum::extract::Query(Org { org }): axum::extract::Query<Org>,
        ApiJson(req): ApiJson<CreateLinkRequest>,
    ) -> Result<(StatusCode, HeaderMap, Json<Link>), ApiError> {
        create(&state, &org, &[], req).await
    }
    axum::Router::new()
        .route("/bench/links/{id}", axum::routing::get(read))
        .route("/bench/links", axum::routing::post(create_for))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_slugs_are_seven_base62_characters_and_differ() {
        let a = generate_slug();
        assert_eq!(a.len(), 7);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, generate_slug());
    }

    #[test]
    fn stats_default_to_the_last_30_days_and_fill_gaps() {
        let at: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let (from, to) = stats_range(&StatsParams::default(), at).unwrap();
        assert_eq!((from.to_string(), to.to_string()), ("2026-10-24".into(), "2026-11-22".into()));
        let stats = dense_series(from, to, &[("2026-11-20".into(), 3), ("2026-11-22".into(), 2)]);
        assert_eq!(stats.series.len(), 30);
        assert_eq!(stats.total, 5);
        assert_eq!(stats.series[27].clicks, 3);
        let backwards = StatsParams { from: Some(to), to: Some(from) };
        assert!(stats_range(&backwards, at).is_err());
    }
}
