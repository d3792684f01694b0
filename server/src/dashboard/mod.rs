//! The dashboard at `/`: a page and a few JavaScript modules, compiled into the binary (no
//! CDN, no build step, nothing fetched at build time).
//!
//! Everything it serves carries a strict Content-Security-Policy — scripts, styles and
//! connections from this origin only, no inline script, no framing — plus the headers that go
//! with it. The session token lives in the browser's storage and travels only in the
//! `Authorization` header, never in a URL; stored API keys never reach the browser (the
//! playground injects them server-side).

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The page and its modules: (name, content type, bytes).
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("assets/api.js")),
    ("ui.js", "text/javascript; charset=utf-8", include_str!("assets/ui.js")),
    ("keys.js", "text/javascript; charset=utf-8", include_str!("assets/keys.js")),
    ("playground.js", "text/javascript; charset=utf-8", include_str!("assets/playground.js")),
    ("usage.js", "text/javascript; charset=utf-8", include_str!("assets/usage.js")),
    ("docs.js", "text/javascript; charset=utf-8", include_str!("assets/docs.js")),
    ("webhooks.js", "text/javascript; charset=utf-8", include_str!("assets/webhooks.js")),
    ("domains.js", "text/javascript; charset=utf-8", include_str!("assets/domains.js")),
    ("roles.js", "text/javascript; charset=utf-8", include_str!("assets/roles.js")),
    ("team.js", "text/javascript; charset=utf-8", include_str!("assets/team.js")),
    ("audit.js", "text/javascript; charset=utf-8", include_str!("assets/audit.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

const INDEX: &str = include_str!("assets/index.html");

/// The policy: this origin only; no inline script or style elements, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn secured(content_type: &'static str, body: &'static str) -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Served from the binary: a new version is a new binary, so revalidate each load.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Dashboard
///
/// The developer dashboard: sign up or in, manage API keys, try requests in the playground,
/// read usage and the request log, browse these docs, manage webhooks. A page for people
/// (HTML; its scripts are served from `/assets/`).
#[utoipa::path(
    get,
    path = "/",
    operation_id = "dashboard_get",
    tag = "system",
    responses((status = 200, description = "The dashboard page.", content_type = "text/html", body = String, example = "<!doctype html><html lang=\"en\"><title>Portico</title>…</html>")),
)]
pub async fn dashboard() -> Response {
    secured("text/html; charset=utf-8", INDEX)
}

/// One of the dashboard's files (outside the spec, like Swagger UI's).
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, content_type, body)| secured(content_type, body))
        .ok_or_else(|| ApiError::not_found("dashboard file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        let sources: String = ASSETS.iter().map(|(_, _, body)| *body).chain([INDEX]).collect();
        for import in sources.split(['\'', '"']).filter(|s| s.starts_with("./") || s.starts_with("/assets/"))
        {
            let name = import.trim_start_matches("./").trim_start_matches("/assets/");
            assert!(ASSETS.iter().any(|(file, _, _)| *file == name), "{import} is imported but not served");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="), "the CSP forbids inline code");
        for (name, _, body) in ASSETS {
            assert!(!body.contains("innerHTML"), "{name}: build DOM nodes, do not parse HTML");
        }
    }
}
