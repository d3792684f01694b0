//! Custom domains: hostnames an organisation registers for its short links. A hostname
//! belongs to one organisation in the whole deployment. The deployment's default domain needs
//! no registration and serves every organisation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{BeginWrite, Db, StoreError};
use crate::dispatch;
use crate::error::{ApiError, ErrorCode, Validation};
use crate::http::{ApiJson, ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

/// A custom domain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Domain {
    /// `dom_…`
    #[schema(example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The hostname, lower-case.
    #[schema(example = "go.example.com")]
    pub hostname: String,
    pub created_at: DateTime<Utc>,
}

/// A domain to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hostname": "go.example.com"}))]
pub struct CreateDomainRequest {
    /// A DNS hostname; stored lower-case, without a trailing dot.
    pub hostname: String,
}

/// The query of the domain list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDomainsParams {
    /// How many domains to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many domains to skip.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// Register a domain
///
/// Registers a hostname for the organisation's short links. Point its DNS at this
/// deployment; redirects on it then resolve the organisation's slugs. A hostname can be
/// registered once in the whole deployment (409 `conflict`), and a domain-scoped key may only
/// register hostnames in its scope (403 `domain_not_allowed`).
#[utoipa::path(
    post,
    path = "/v1/domains",
    operation_id = "domain_create",
    tag = "domains",
    security(("api_key" = []), ("api_key_header" = [])),
    request_body = CreateDomainRequest,
    responses((status = 201, description = "The registered domain.", body = Domain,
        headers(("location" = String, description = "The domain's URL")))),
    extensions(("x-required-scope" = json!("domains:write")), ("x-error-codes" = json!(["conflict", "domain_not_allowed"]))),
)]
pub async fn domain_create(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiJson(req): ApiJson<CreateDomainRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Domain>), ApiError> {
    let hostname = match crate::hostname::normalize(&req.hostname) {
        Ok(h) => h,
        Err(message) => {
            let mut v = Validation::new();
            v.reject("hostname", message);
            return Err(v.finish().expect_err("one field was rejected"));
        }
    };
    if !principal.allows_domain(&hostname) {
        return Err(domain_not_allowed(&hostname));
    }
    if hostname == state.public.default_domain {
        return Err(ApiError::conflict(format!(
            "{hostname} is this deployment's default domain; it needs no registration."
        )));
    }
    let domain =
        Domain { id: Id::generate(IdKind::Domain).into_string(), hostname, created_at: state.db.now() };
    insert(&state.db, &principal.key().organization_id, &domain).await?;
    state.invalidations.changed(&[crate::cluster::Change::Domain(domain.hostname.clone())]).await;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/domains/{}", domain.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(domain)))
}

/// List domains
///
/// The organisation's registered domains, newest first. A domain-scoped key sees only the
/// domains in its scope.
#[utoipa::path(
    get,
    path = "/v1/domains",
    operation_id = "domain_list",
    tag = "domains",
    security(("api_key" = []), ("api_key_header" = [])),
    params(ListDomainsParams),
    responses((status = 200, description = "One page of domains.", body = ListEnvelope<Domain>)),
    extensions(("x-required-scope" = json!("domains:read"))),
)]
pub async fn domain_list(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    ApiQuery(params): ApiQuery<ListDomainsParams>,
) -> Result<Json<ListEnvelope<Domain>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let key = principal.key();
    let (domains, total) = list(&state.db, &key.organization_id, &key.domains, page).await?;
    Ok(Json(ListEnvelope::new(domains, total, page)))
}

/// List domains (dashboard)
///
/// The organisation's registered domains, newest first: what the dashboard offers as a new
/// key's domain scope. Domains are registered with `POST /v1/domains`.
#[utoipa::path(
    get,
    path = "/api/developer/domains",
    operation_id = "dashboard_domain_list",
    tag = "domains",
    security(("session_token" = [])),
    params(ListDomainsParams),
    responses((status = 200, description = "One page of domains.", body = ListEnvelope<Domain>)),
)]
pub async fn dashboard_domain_list(
    State(state): State<AppState>,
    session: crate::accounts::DashboardSession,
    ApiQuery(params): ApiQuery<ListDomainsParams>,
) -> Result<Json<ListEnvelope<Domain>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (domains, total) = list(&state.db, &session.organization_id, &[], page).await?;
    Ok(Json(ListEnvelope::new(domains, total, page)))
}

/// Get a domain
#[utoipa::path(
    get,
    path = "/v1/domains/{id}",
    operation_id = "domain_get",
    tag = "domains",
    security(("api_key" = []), ("api_key_header" = [])),
    params(("id" = String, Path, description = "The domain's id (`dom_…`)")),
    responses((status = 200, description = "The domain.", body = Domain)),
    extensions(("x-required-scope" = json!("domains:read")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn domain_get(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Domain>, ApiError> {
    Ok(Json(find_visible(&state, &principal, &id).await?))
}

/// Remove a domain
///
/// Unregisters a domain. Refused with 409 `conflict` while live links use it: delete or move
/// them first.
#[utoipa::path(
    delete,
    path = "/v1/domains/{id}",
    operation_id = "domain_delete",
    tag = "domains",
    security(("api_key" = []), ("api_key_header" = [])),
    params(("id" = String, Path, description = "The domain's id (`dom_…`)")),
    responses((status = 204, description = "Removed.")),
    extensions(("x-required-scope" = json!("domains:write")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn domain_delete(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let domain = find_visible(&state, &principal, &id).await?;
    if !delete_unused(&state.db, &principal.key().organization_id, &domain).await? {
        return Err(ApiError::conflict(format!(
            "Live links use {}; delete or move them before removing the domain.",
            domain.hostname
        )));
    }
    state.invalidations.changed(&[crate::cluster::Change::Domain(domain.hostname)]).await;
    Ok(StatusCode::NO_CONTENT)
}

/// 403 `domain_not_allowed` for `hostname`.
pub fn domain_not_allowed(hostname: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DomainNotAllowed,
        format!("The API key may not act on {hostname}: it is outside the key's domain scope."),
    )
}

async fn find_visible(state: &AppState, principal: &ApiPrincipal, id: &str) -> Result<Domain, ApiError> {
    if Id::parse(IdKind::Domain, id).is_none() {
        return Err(ApiError::not_found("domain"));
    }
    match get(&state.db, &principal.key().organization_id, id).await? {
        Some(domain) if principal.allows_domain(&domain.hostname) => Ok(domain),
        _ => Err(ApiError::not_found("domain")),
    }
}

// --- storage -----------------------------------------------------------------------------

async fn insert(db: &Db, organization_id: &str, domain: &Domain) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO domains (id, organization_id, hostname, created_at) VALUES ($1, $2, $3, $4)";
    dispatch!(db, |pool| sqlx::query(SQL)
        .bind(&domain.id)
        .bind(organization_id)
        .bind(&domain.hostname)
        .bind(domain.created_at)
        .execute(pool)
        .await
        .map(drop))
    .map_err(|e| StoreError::on_unique(e, "This hostname is already registered."))
}

async fn get(db: &Db, organization_id: &str, id: &str) -> Result<Option<Domain>, StoreError> {
    const SQL: &str = "SELECT id, hostname, created_at FROM domains WHERE id = $1 AND organization_id = $2";
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, Domain>(SQL)
        .bind(id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await)?)
}

/// `$start, $start+1, …` for `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

async fn list(
    db: &Db,
    organization_id: &str,
    scope: &[String],
    page: Pagination,
) -> Result<(Vec<Domain>, u64), StoreError> {
    let mut filter = "organization_id = $1".to_owned();
    if !scope.is_empty() {
        filter.push_str(&format!(" AND hostname IN ({})", placeholders(2, scope.len())));
    }
    let n = 2 + scope.len();
    let list_sql = format!(
        "SELECT id, hostname, created_at FROM domains WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let count_sql = format!("SELECT COUNT(*) FROM domains WHERE {filter}");
    let params: Vec<&str> =
        std::iter::once(organization_id).chain(scope.iter().map(String::as_str)).collect();
    crate::db::page(db, &list_sql, &count_sql, &params, page).await
}

/// Deletes the domain unless live links use it (checked and deleted in one transaction).
async fn delete_unused(db: &Db, organization_id: &str, domain: &Domain) -> Result<bool, StoreError> {
    const IN_USE: &str = "SELECT COUNT(*) FROM links WHERE domain = $1 AND deleted_at IS NULL";
    const DELETE: &str = "DELETE FROM domains WHERE id = $1 AND organization_id = $2";
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let used: i64 = sqlx::query_scalar(IN_USE).bind(&domain.hostname).fetch_one(&mut *tx).await?;
        if used > 0 {
            return Ok(false);
        }
        sqlx::query(DELETE).bind(&domain.id).bind(organization_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Whether `hostname` is registered by `organization_id`.
pub async fn is_registered_to(db: &Db, organization_id: &str, hostname: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM domains WHERE hostname = $1 AND organization_id = $2";
    let n: i64 = dispatch!(db, |pool| sqlx::query_scalar(SQL)
        .bind(hostname)
        .bind(organization_id)
        .fetch_one(pool)
        .await)?;
    Ok(n > 0)
}

/// Whether `hostname` is registered by anyone (redirects resolve on it when it is).
pub async fn is_registered(db: &Db, hostname: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM domains WHERE hostname = $1";
    let n: i64 = dispatch!(db, |pool| sqlx::query_scalar(SQL).bind(hostname).fetch_one(pool).await)?;
    Ok(n > 0)
}
