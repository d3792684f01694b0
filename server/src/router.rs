//! The whole route table, in one screen, grouped by who uses the routes — and the layers
//! every request passes through.
//!
//! Every route is a utoipa-annotated handler registered with `routes!`, so nothing is
//! routable without being in the spec. The only routes outside the spec are Swagger UI's
//! static files under `/docs`.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use tower::ServiceBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::http::{conditional, observe, problem_fallback};
use crate::state::AppState;
use crate::{
    accounts, audit, dashboard, domains, jobs, keys, links, metering, openapi, organizations, pipeline,
    playground, system, webhooks,
};

/// The annotated routes, all audiences: the source of the OpenAPI document.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(Audience::Dashboard.routes())
        .merge(Audience::V1.routes())
        .merge(Audience::Public.routes())
        .merge(Audience::System.routes())
}

/// Who a group of routes is for. Each group declares its credentials once, for the spec, and
/// has its own layers in [`app`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The dashboard (`/api/developer`): a session token, `Authorization: Bearer pts_…`.
    Dashboard,
    /// The public API (`/v1`): an API key, as a bearer token or `x-api-key`; every request
    /// runs the [`pipeline`].
    V1,
    /// People and browsers, no credentials: signing up and in, short links, the dashboard page.
    Public,
    /// Operators and tools, no credentials: health, metrics, the API's documents.
    System,
}

impl Audience {
    /// The security schemes the group's operations take (none: public).
    fn security_schemes(self) -> &'static [&'static str] {
        match self {
            Self::Dashboard => &["session_token"],
            Self::V1 => &["api_key", "api_key_header"],
            Self::Public | Self::System => &[],
        }
    }

    /// The group's routes, each operation marked with the group's security schemes.
    pub fn routes(self) -> OpenApiRouter<AppState> {
        let mut router = match self {
            Self::Dashboard => OpenApiRouter::new()
                .routes(routes!(accounts::logout))
                .routes(routes!(accounts::me))
                .routes(routes!(accounts::switch_organization))
                // The team: members, invitations, settings; and who changed what.
                .routes(routes!(organizations::member_list))
                .routes(routes!(organizations::member_update, organizations::member_remove))
                .routes(routes!(organizations::invitation_list, organizations::invitation_create))
                .routes(routes!(organizations::invitation_revoke))
                .routes(routes!(organizations::invitation_accept))
                .routes(routes!(organizations::organization_get, organizations::organization_update))
                .routes(routes!(metering::dashboard_usage_get))
                .routes(routes!(metering::dashboard_request_list))
                .routes(routes!(metering::dashboard_request_get))
                // API keys are minted and managed with a session only.
                .routes(routes!(keys::apikey_create, keys::apikey_list))
                .routes(routes!(keys::apikey_get, keys::apikey_update, keys::apikey_revoke))
                .routes(routes!(keys::apikey_rotate))
                .routes(routes!(domains::dashboard_domain_list, domains::dashboard_domain_create))
                .routes(routes!(domains::dashboard_domain_get, domains::dashboard_domain_delete))
                .routes(routes!(webhooks::dashboard_webhook_create, webhooks::dashboard_webhook_list))
                .routes(routes!(
                    webhooks::dashboard_webhook_get,
                    webhooks::dashboard_webhook_update,
                    webhooks::dashboard_webhook_delete
                ))
                .routes(routes!(webhooks::dashboard_webhook_test))
                .routes(routes!(webhooks::dashboard_webhook_deliveries))
                .routes(routes!(webhooks::dashboard_webhook_delivery_get))
                .routes(routes!(webhooks::dashboard_webhook_delivery_resend))
                .routes(routes!(audit::dashboard_audit_log_list))
                // The playground runs `/v1` requests with a stored key.
                .routes(with_body_limit(
                    routes!(playground::playground_test),
                    playground::MAX_PLAYGROUND_BYTES,
                )),
            Self::V1 => OpenApiRouter::new()
                // The calling key, the organisation's keys.
                .routes(routes!(keys::key_introspect))
                .routes(routes!(keys::v1_apikey_list, keys::v1_apikey_create))
                .routes(routes!(keys::v1_apikey_get, keys::v1_apikey_revoke))
                // The product: custom domains and short links, imports as jobs.
                .routes(routes!(domains::domain_create, domains::domain_list))
                .routes(routes!(domains::domain_get, domains::domain_delete))
                .routes(routes!(links::link_create, links::link_list))
                .routes(routes!(links::link_get, links::link_update, links::link_delete))
                .routes(routes!(links::link_stats))
                .routes(with_body_limit(
                    routes!(links::import::link_import),
                    links::import::MAX_IMPORT_BYTES + 64 * 1024,
                ))
                .routes(routes!(jobs::job_list))
                .routes(routes!(jobs::job_get))
                // Webhook endpoints and their delivery log.
                .routes(routes!(webhooks::webhook_create, webhooks::webhook_list))
                .routes(routes!(webhooks::webhook_get, webhooks::webhook_update, webhooks::webhook_delete))
                .routes(routes!(webhooks::webhook_test))
                .routes(routes!(webhooks::webhook_deliveries))
                .routes(routes!(webhooks::webhook_delivery_get))
                .routes(routes!(webhooks::webhook_delivery_resend))
                // Usage and the request log.
                .routes(routes!(metering::usage_get))
                .routes(routes!(metering::request_list))
                .routes(routes!(metering::request_get))
                // Who changed what.
                .routes(routes!(audit::audit_log_list)),
            Self::Public => OpenApiRouter::new()
                .routes(routes!(accounts::signup))
                .routes(routes!(accounts::login))
                .routes(routes!(links::link_redirect))
                .routes(routes!(dashboard::dashboard)),
            Self::System => OpenApiRouter::new()
                .routes(routes!(system::healthz))
                .routes(routes!(system::readyz))
                .routes(routes!(system::metrics))
                .routes(routes!(system::openapi_json))
                .routes(routes!(system::openapi_v1))
                .routes(routes!(system::llms_txt))
                .routes(routes!(system::llms_full_txt))
                .routes(routes!(system::llm_txt))
                .routes(routes!(system::openapi_samples))
                .routes(routes!(system::operation_page))
                .routes(routes!(system::guide))
                .routes(routes!(system::postman_json))
                .routes(routes!(system::postman_v1)),
        };
        let schemes = self.security_schemes();
        if !schemes.is_empty() {
            let requirements: Vec<SecurityRequirement> = schemes
                .iter()
                .map(|scheme| SecurityRequirement::new(*scheme, Vec::<String>::new()))
                .collect();
            for item in router.get_openapi_mut().paths.paths.values_mut() {
                let operations = [
                    &mut item.get,
                    &mut item.put,
                    &mut item.post,
                    &mut item.delete,
                    &mut item.options,
                    &mut item.head,
                    &mut item.patch,
                    &mut item.trace,
                ];
                for operation in operations.into_iter().flatten() {
                    operation.security = Some(requirements.clone());
                }
            }
        }
        router
    }
}

/// The one layer around every route, outermost first: observe (request id, span, access log,
/// metrics), the panic catcher, the problem fallback, and 304 Not Modified for a GET whose
/// `If-None-Match` lists the answer's `ETag`. One middleware rather than three: each
/// layer costs a boxed future and a cloned service per request, and is polled again on every
/// wake-up of a request that waits on the database.
async fn platform(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let metrics = state.http_metrics.clone();
    // Boxed once here: each wrapper around the request's future (span, request id, the
    // middleware's own) would otherwise move all of it again.
    observe::observed(&metrics, req, |req| {
        let condition = conditional::if_none_match(&req);
        Box::pin(async move {
            conditional::not_modified(condition, problem_fallback::guarded(next.run(req)).await)
        })
    })
    .await
}

/// Gives one route a body limit of its own (uploads), instead of the JSON default.
fn with_body_limit(
    (schemas, paths, method_router): utoipa_axum::router::UtoipaMethodRouter<AppState>,
    bytes: usize,
) -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    (schemas, paths, method_router.layer(DefaultBodyLimit::max(bytes)))
}

/// The application: the routes, Swagger UI, the fallback, and the layers, outermost first:
///
/// 1. request id and observe — the id first, so everything after it (logs, errors, panics)
///    can name the request; then span, access log and metrics, timing everything below;
/// 2. catch panic — a panicking handler becomes a 500 problem, still with its request id;
/// 3. problem fallback — bare error responses (405s, plain-text rejections) rewritten;
/// 4. body limit — the JSON body cap, enforced by the extractors;
/// 5. on the `/v1` group only, the [`pipeline`]: API key, scope, limits, idempotency, log;
///    on the dashboard group, [`accounts::roles::guard`]: the session and its role.
///
/// 1–3 run as one middleware (`platform`).
pub fn app(state: AppState) -> Router {
    // The `/v1` pipeline is the `/v1` group's own layer: it runs for the routes it matched, so
    // nothing else needs to ask whether a request is `/v1`.
    let v1 = Audience::V1.routes().route_layer(from_fn_with_state(state.clone(), pipeline::v1));
    // Likewise the dashboard's: the session and the role each operation declares.
    let dashboard =
        Audience::Dashboard.routes().route_layer(from_fn_with_state(state.clone(), accounts::roles::guard));
    let (routes, _spec) = dashboard
        .merge(v1)
        .merge(Audience::Public.routes())
        .merge(Audience::System.routes())
        .split_for_parts();
    let swagger = SwaggerUi::new("/docs")
        .config(SwaggerConfig::new(["/openapi.json"]).persist_authorization(true).display_operation_id(true));
    let layers = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), platform))
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes));
    let bench_baseline = state.config.bench_baseline;
    // The dashboard's files are, like Swagger UI's, outside the spec.
    let assets = Router::new().route("/assets/{name}", axum::routing::get(dashboard::asset));
    let app = routes.merge(swagger).merge(assets).fallback(problem_fallback::not_found).layer(layers);
    // Merged after the layers, so that it runs with none of them.
    let app = if bench_baseline { app.merge(links::bench_baseline_router()) } else { app };
    app.with_state(state)
}
