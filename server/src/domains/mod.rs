//! Custom domains: hostnames an organisation registers for its short links. A hostname
//! belongs to one organisation in the whole deployment. The deployment's default domain needs
//! no registration and serves every organisation.
//!
//! The routes are here; the SQL is in [`store`], the wire shapes in [`types`].

pub mod store;
mod types;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

pub use store::{is_registered, is_registered_to};
pub use types::{CreateDomainRequest, Domain, ListDomainsParams};

use crate::audit::AuditContext;
use crate::error::{ApiError, ErrorCode, Validation};
use crate::http::{ApiJson, ApiQuery, ListEnvelope, Pagination};
use crate::ids::{Id, IdKind};
use crate::pipeline::ApiPrincipal;
use crate::state::AppState;

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
    request_body = CreateDomainRequest,
    responses((status = 201, description = "The registered domain.", body = Domain,
        headers(("location" = String, description = "The domain's URL")))),
    extensions(("x-required-scope" = json!("domains:write")), ("x-error-codes" = json!(["conflict", "domain_not_allowed"]))),
)]
pub async fn domain_create(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateDomainRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Domain>), ApiError> {
    let organization_id = &principal.key().organization_id;
    let domain =
        register(&state, organization_id, &req, |hostname| principal.allows_domain(hostname), &audit).await?;
    Ok(created(domain, "/v1/domains"))
}

/// Register a domain (dashboard)
///
/// The same as `POST /v1/domains`, for the signed-in user's organisation: the hostname is
/// checked (lower-cased, IDNA, no port, path or trailing dot) and registered once in the whole
/// deployment (409 `conflict`).
#[utoipa::path(
    post,
    path = "/api/developer/domains",
    operation_id = "dashboard_domain_create",
    tag = "domains",
    request_body = CreateDomainRequest,
    responses((status = 201, description = "The registered domain.", body = Domain,
        headers(("location" = String, description = "The domain's URL")))),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["conflict"]))),
)]
pub async fn dashboard_domain_create(
    State(state): State<AppState>,
    session: crate::accounts::DashboardSession,
    audit: AuditContext,
    ApiJson(req): ApiJson<CreateDomainRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Domain>), ApiError> {
    let domain = register(&state, &session.organization_id, &req, |_| true, &audit).await?;
    Ok(created(domain, "/api/developer/domains"))
}

/// Checks and registers a hostname for an organisation; `allowed` says whether the caller
/// may act on it.
async fn register(
    state: &AppState,
    organization_id: &str,
    req: &CreateDomainRequest,
    allowed: impl Fn(&str) -> bool,
    audit: &AuditContext,
) -> Result<Domain, ApiError> {
    let hostname = match crate::hostname::normalize(&req.hostname) {
        Ok(h) => h,
        Err(message) => {
            let mut v = Validation::new();
            v.reject("hostname", message);
            return Err(v.finish().expect_err("one field was rejected"));
        }
    };
    if !allowed(&hostname) {
        return Err(domain_not_allowed(&hostname));
    }
    if hostname == state.public.default_domain {
        return Err(ApiError::conflict(format!(
            "{hostname} is this deployment's default domain; it needs no registration."
        )));
    }
    let domain =
        Domain { id: Id::generate(IdKind::Domain).into_string(), hostname, created_at: state.db.now() };
    store::insert(&state.db, organization_id, &domain, audit).await?;
    state.invalidations.changed(&[crate::cluster::Change::Domain(domain.hostname.clone())]).await;
    Ok(domain)
}

/// 201 with the domain and its `Location` under `collection`.
fn created(domain: Domain, collection: &str) -> (StatusCode, HeaderMap, Json<Domain>) {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("{collection}/{}", domain.id)) {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, Json(domain))
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
    let (domains, total) = store::list(&state.db, &key.organization_id, &key.domains, page).await?;
    Ok(Json(ListEnvelope::new(domains, total, page)))
}

/// List domains (dashboard)
///
/// The organisation's registered domains, newest first: what the dashboard offers as a new
/// key's domain scope.
#[utoipa::path(
    get,
    path = "/api/developer/domains",
    operation_id = "dashboard_domain_list",
    tag = "domains",
    params(ListDomainsParams),
    responses((status = 200, description = "One page of domains.", body = ListEnvelope<Domain>)),
    extensions(("x-required-role" = json!("viewer"))),
)]
pub async fn dashboard_domain_list(
    State(state): State<AppState>,
    session: crate::accounts::DashboardSession,
    ApiQuery(params): ApiQuery<ListDomainsParams>,
) -> Result<Json<ListEnvelope<Domain>>, ApiError> {
    let page = Pagination::new(params.limit, params.offset)?;
    let (domains, total) = store::list(&state.db, &session.organization_id, &[], page).await?;
    Ok(Json(ListEnvelope::new(domains, total, page)))
}

/// Get a domain
///
/// One of the organisation's registered domains, by id.
#[utoipa::path(
    get,
    path = "/v1/domains/{id}",
    operation_id = "domain_get",
    tag = "domains",
    params(("id" = String, Path, description = "The domain's id (`dom_…`)", example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
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
    params(("id" = String, Path, description = "The domain's id (`dom_…`)", example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 204, description = "Removed.")),
    extensions(("x-required-scope" = json!("domains:write")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn domain_delete(
    State(state): State<AppState>,
    principal: ApiPrincipal,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let domain = find_visible(&state, &principal, &id).await?;
    remove(&state, &principal.key().organization_id, domain, &audit).await
}

/// Get a domain (dashboard)
///
/// One of the organisation's registered domains, by id.
#[utoipa::path(
    get,
    path = "/api/developer/domains/{id}",
    operation_id = "dashboard_domain_get",
    tag = "domains",
    params(("id" = String, Path, description = "The domain's id (`dom_…`)", example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 200, description = "The domain.", body = Domain)),
    extensions(("x-required-role" = json!("viewer")), ("x-error-codes" = json!(["not_found"]))),
)]
pub async fn dashboard_domain_get(
    State(state): State<AppState>,
    session: crate::accounts::DashboardSession,
    Path(id): Path<String>,
) -> Result<Json<Domain>, ApiError> {
    Ok(Json(find_owned(&state, &session.organization_id, &id).await?))
}

/// Remove a domain (dashboard)
///
/// The same as `DELETE /v1/domains/{id}`, for the signed-in user's organisation: refused with
/// 409 `conflict` while live links use the domain.
#[utoipa::path(
    delete,
    path = "/api/developer/domains/{id}",
    operation_id = "dashboard_domain_delete",
    tag = "domains",
    params(("id" = String, Path, description = "The domain's id (`dom_…`)", example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")),
    responses((status = 204, description = "Removed.")),
    extensions(("x-required-role" = json!("developer")), ("x-error-codes" = json!(["not_found", "conflict"]))),
)]
pub async fn dashboard_domain_delete(
    State(state): State<AppState>,
    session: crate::accounts::DashboardSession,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let domain = find_owned(&state, &session.organization_id, &id).await?;
    remove(&state, &session.organization_id, domain, &audit).await
}

/// Unregisters a domain no live link uses.
async fn remove(
    state: &AppState,
    organization_id: &str,
    domain: Domain,
    audit: &AuditContext,
) -> Result<StatusCode, ApiError> {
    if !store::delete_unused(&state.db, organization_id, &domain, audit).await? {
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

/// The organisation's domain `id`, if the key's domain scope lets it see it.
async fn find_visible(state: &AppState, principal: &ApiPrincipal, id: &str) -> Result<Domain, ApiError> {
    let domain = find_owned(state, &principal.key().organization_id, id).await?;
    if principal.allows_domain(&domain.hostname) { Ok(domain) } else { Err(ApiError::not_found("domain")) }
}

/// The organisation's domain `id`.
async fn find_owned(state: &AppState, organization_id: &str, id: &str) -> Result<Domain, ApiError> {
    if Id::parse(IdKind::Domain, id).is_none() {
        return Err(ApiError::not_found("domain"));
    }
    store::get(&state.db, organization_id, id).await?.ok_or_else(|| ApiError::not_found("domain"))
}
