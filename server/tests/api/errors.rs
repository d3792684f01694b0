//! The error format everywhere: problem+json with a stable code and the request id, for
//! errors handlers write and for those they do not (unknown paths, wrong methods, bad bodies).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, PASSWORD, TestServer, assert_problem};

#[tokio::test]
async fn every_response_carries_a_unique_request_id() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for path in ["/healthz", "/readyz", "/nowhere", "/api/developer/me", "/openapi.json", "/docs/"] {
        let response = s.get(path).await;
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(id.starts_with("req_") && id.len() == 30, "{path}: {id}");
        assert!(ulid::Ulid::from_string(&id[4..]).is_ok(), "{id}");
        assert!(seen.insert(id), "request ids are unique");
    }
    s.stop().await;
}

#[tokio::test]
async fn client_sent_request_ids_are_not_echoed() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let response =
        s.request(Method::GET, "/healthz").header("x-request-id", "client-chosen-id").send().await.unwrap();
    assert!(response.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
    s.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_problem_not_found() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    for path in ["/nowhere", "/api/developer/nothing", "/v1/nothing", "/docs/missing.js"] {
        let response = s.get(path).await;
        assert_problem(response, 404, "not_found").await;
    }
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_method_is_problem_method_not_allowed_with_allow() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let response = s.request(Method::DELETE, "/api/developer/signup").send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(response, 405, "method_not_allowed").await;
    let response = s.request(Method::POST, "/healthz").send().await.unwrap();
    assert!(response.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_problem(response, 405, "method_not_allowed").await;
    s.stop().await;
}

#[tokio::test]
async fn malformed_json_is_invalid_request() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    for body in ["{\"email\": ", "not json", "{\"email\": \"a@b.co\"} {}", ""] {
        let response = s
            .request(Method::POST, "/api/developer/login")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400, "invalid_request").await;
        assert!(problem.get("errors").is_none());
    }
    s.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media_type() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let form = s
        .request(Method::POST, "/api/developer/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%40b.co&password=x")
        .send()
        .await
        .unwrap();
    assert_problem(form, 415, "unsupported_media_type").await;
    let none = s.request(Method::POST, "/api/developer/login").body("{}").send().await.unwrap();
    assert_problem(none, 415, "unsupported_media_type").await;
    s.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_payload_too_large() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let padding = "x".repeat(1024 * 1024 + 1);
    let body = json!({"email": "big@example.com", "password": PASSWORD, "organization_name": padding});
    let response = s.post_json("/api/developer/signup", &body).await;
    assert_problem(response, 413, "payload_too_large").await;
    // Just under the limit is read (and then validated).
    let padding = "x".repeat(1024 * 1024 - 200);
    let body = json!({"email": "big@example.com", "password": PASSWORD, "organization_name": padding});
    let response = s.post_json("/api/developer/signup", &body).await;
    assert_problem(response, 422, "validation_failed").await;
    s.stop().await;
}

#[tokio::test]
async fn the_json_body_limit_is_configurable() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.max_json_bytes = 64).await.unwrap();
    let body =
        json!({"email": "someone@example.com", "password": PASSWORD, "organization_name": "An organisation"});
    assert_problem(s.post_json("/api/developer/signup", &body).await, 413, "payload_too_large").await;
    s.stop().await;
}

#[tokio::test]
async fn errors_leak_no_internals() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    // Take the database away under the server: the failure must be a clean problem.
    s.server().state().db.close().await;
    let response =
        s.post_json("/api/developer/login", &json!({"email": "a@example.com", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let problem = assert_problem(response, 500, "internal").await;
    let text = problem.to_string().to_lowercase();
    for internal in ["sqlx", "pool", "sqlite", "select", "closed"] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }
    s.stop().await;
}

/// serde reads a struct from an array of its fields; the API takes objects only. One row per
/// JSON operation in the spec, so a new operation is covered the day it is added.
#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_validation_failed_on_every_json_operation() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let (token, key, _) = s.org_with_key("shapes@example.com", &["full_access"]).await;
    let doc = portico::openapi::document();
    let mut checked = 0;
    for (method, path, op) in portico::openapi::operations(&doc) {
        if op["requestBody"]["content"].get("application/json").is_none() {
            continue;
        }
        let schemes = portico::openapi::operation_schemes(op);
        let credential = if schemes.contains(&"api_key") { key.as_str() } else { token.as_str() };
        // Path parameters need not name anything: the body is read before any lookup.
        let path = path.replace("{id}", "01JD0Q8Y4T8W6Q0C4X5M9Z2B7N");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        for body in ["[]", "[\"someone@example.com\", \"a password\"]", "\"text\"", "null", "42"] {
            let response = s
                .request(method.clone(), &path)
                .bearer_auth(credential)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "body", "{method} {path} with {body}");
            assert_eq!(problem["errors"][0]["message"], "must be a JSON object", "{method} {path}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} JSON operations found");
    s.stop().await;
}
