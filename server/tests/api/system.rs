//! Health, readiness, metrics and the served documents.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Backend, TestServer, assert_problem, storage_tests};

storage_tests!(readiness_checks_the_database, metrics_count_requests_by_route_template);

async fn readiness_checks_the_database(s: &TestServer) {
    let response = s.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ready");

    s.server().state().db.close().await;
    let response = s.get("/readyz").await;
    assert_problem(response, 503, "unavailable").await;
    // Liveness does not depend on the database.
    assert_eq!(s.get("/healthz").await.status(), StatusCode::OK);
}

async fn metrics_count_requests_by_route_template(s: &TestServer) {
    for _ in 0..3 {
        s.get("/healthz").await;
    }
    s.get("/no/such/path/12345").await;
    let response = s.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"portico_http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "unmatched paths share one label");
    assert!(!text.contains("12345"), "raw paths never become labels");
    assert!(text.contains("portico_http_request_duration_seconds_bucket"));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn liveness_answers_ok() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let response = s.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
    s.stop().await;
}

#[tokio::test]
async fn the_spec_is_served_at_both_paths_as_the_same_openapi_3_1_document() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let a = s.get("/openapi.json").await;
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(a.headers()["content-type"], "application/json");
    let a = a.bytes().await.unwrap();
    let b = s.get("/api/v1/openapi").await.bytes().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a, portico::openapi::document_json().as_bytes());
    let doc: Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/developer/signup",
        "/api/developer/login",
        "/api/developer/logout",
        "/api/developer/me",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is in the spec");
    }
    for scheme in ["session_token", "api_key", "api_key_header"] {
        assert!(doc["components"]["securitySchemes"].get(scheme).is_some(), "{scheme}");
    }
    s.stop().await;
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs_with_persisted_authorization() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let redirect = s.get("/docs").await;
    assert!(redirect.status().is_redirection());
    let page = s.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let init = s.get("/docs/swagger-initializer.js").await.text().await.unwrap();
    assert!(init.contains("\"/openapi.json\""));
    assert!(init.contains("\"persistAuthorization\": true"));
    s.stop().await;
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_content_security_policy() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let page = s.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in ["script-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "base-uri 'none'"]
    {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/assets/app.js"></script>"#));

    let script = s.get("/assets/playground.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.headers().contains_key("content-security-policy"));
    assert_problem(s.get("/assets/secrets.js").await, 404, "not_found").await;
    assert_problem(s.get("/assets/..%2fCargo.toml").await, 404, "not_found").await;
    s.stop().await;
}

#[tokio::test]
async fn llms_txt_and_llms_full_txt_are_served_as_text() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    for (path, first_line) in [("/llms.txt", "# Portico"), ("/llms-full.txt", "# Portico")] {
        let response = s.get(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        let text = response.text().await.unwrap();
        assert_eq!(text.lines().next(), Some(first_line));
        assert!(text.contains("/v1/links"), "{path} lists the operations");
    }
    s.stop().await;
}

#[tokio::test]
async fn documents_are_served_compressed_and_conditionally() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    for path in [
        "/openapi.json",
        "/openapi.samples.json",
        "/llms.txt",
        "/llm.txt",
        "/llms-full.txt",
        "/postman.json",
        "/docs/md/link_create.md",
        "/docs/guides/webhooks.md",
    ] {
        let plain = s.get(path).await;
        assert_eq!(plain.status(), StatusCode::OK, "{path}");
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["vary"], "accept-encoding");
        let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
        let text = plain.bytes().await.unwrap();

        let zipped = s.request(Method::GET, path).header("accept-encoding", "br, gzip").send().await.unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        let zipped_etag = zipped.headers()["etag"].to_str().unwrap().to_owned();
        assert_ne!(zipped_etag, etag, "each encoding is its own representation");
        let compressed = zipped.bytes().await.unwrap();
        assert!(compressed.len() * 2 < text.len(), "{path}: {} of {} bytes", compressed.len(), text.len());
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text, "{path}");

        let again = s.request(Method::GET, path).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let page = s.get("/docs/md/link_create.md").await;
    assert_eq!(page.headers()["content-type"], "text/markdown; charset=utf-8");
    assert!(page.text().await.unwrap().starts_with("# POST /v1/links — Create a link"));
    assert_eq!(s.get("/llm.txt").await.text().await.unwrap(), s.get("/llms.txt").await.text().await.unwrap());
    assert_problem(s.get("/docs/md/no_such_operation.md").await, 404, "not_found").await;
    assert_problem(s.get("/docs/guides/..%2fCargo.toml").await, 404, "not_found").await;
    s.stop().await;
}
