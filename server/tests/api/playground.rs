//! The playground proxy: `/v1` calls run in-process with a stored key injected server-side.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    the_stored_key_is_injected_and_never_returned,
    every_refused_endpoint_form_is_endpoint_not_allowed,
    a_key_of_another_organisation_is_not_found,
    the_playground_needs_a_session,
    a_multipart_upload_runs_an_import_through_the_playground,
    a_post_without_an_idempotency_key_gets_one,
    playground_calls_are_metered_like_direct_calls,
    a_revoked_key_answers_401_inside_the_playground,
    credentials_and_framing_headers_cannot_be_set,
    an_oversized_json_call_is_payload_too_large,
);

mod limited {
    use super::*;
    storage_tests_with!(|config| config.playground_rate_limit_rpm = 2; the_playground_has_its_own_rate_limit_per_user);
}

/// A playground request with the session `token`; add the JSON or multipart body.
fn playground(s: &TestServer, token: &str) -> reqwest::RequestBuilder {
    s.request(Method::POST, "/api/developer/playground/test").bearer_auth(token)
}

async fn run(s: &TestServer, token: &str, call: Value) -> reqwest::Response {
    playground(s, token).json(&call).send().await.unwrap()
}

async fn run_ok(s: &TestServer, token: &str, call: Value) -> Value {
    let response = run(s, token, call.clone()).await;
    assert_eq!(response.status(), StatusCode::OK, "the playground ran {call}");
    response.json().await.unwrap()
}

async fn the_stored_key_is_injected_and_never_returned(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("play@example.com", &["full_access"]).await;
    let response =
        run(s, &token, json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&key), "the key must not appear in the playground's answer");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["status_code"], 200);
    assert_eq!(answer["body"]["id"], key_id.as_str());
    assert_eq!(answer["upstream_url"], format!("{}/v1/key", s.base));
    assert!(answer["latency_ms"].as_f64().unwrap() >= 0.0);
    let headers = &answer["headers"];
    assert!(headers["x-request-id"].as_str().unwrap().starts_with("req_"));
    assert!(headers["x-ratelimit-limit"].is_string(), "the key's own limit applies: {headers}");
    assert_eq!(headers["content-type"], "application/json");

    // Query parameters from the map and from the endpoint both arrive.
    let answer = run_ok(
        s,
        &token,
        json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/links?limit=1", "query": {"offset": "0"}}),
    )
    .await;
    assert_eq!(answer["status_code"], 200);
    assert_eq!(answer["body"]["limit"], 1);
    assert_eq!(answer["upstream_url"], format!("{}/v1/links?limit=1&offset=0", s.base));
}

async fn every_refused_endpoint_form_is_endpoint_not_allowed(s: &TestServer) {
    let (token, _key, key_id) = s.org_with_key("refuse@example.com", &["full_access"]).await;
    for endpoint in [
        "https://example.com/v1/links",
        "http://127.0.0.1/v1/key",
        "//evil.example.com/v1/key",
        "/v1/../api/developer/apikeys",
        "/v1/%2e%2e/api/developer/me",
        "/v1/%2E%2E/api/developer/me",
        "/v1/links%2f..%2f..%2fapi%2fdeveloper%2fme",
        "/v1/%252e%252e/api/developer/me",
        "/v1\\..\\api\\developer\\me",
        "/v1/./key",
        "/v1//key",
        "/api/developer/apikeys",
        "/healthz",
        "/r/spring",
        "/v1",
        "v1/key",
        "",
    ] {
        let response =
            run(s, &token, json!({"api_key_id": key_id, "method": "GET", "endpoint": endpoint})).await;
        let problem = assert_problem(response, 400, "endpoint_not_allowed").await;
        assert!(problem["detail"].as_str().unwrap().contains("/v1/"), "{endpoint:?}: {problem}");
    }
}

async fn a_key_of_another_organisation_is_not_found(s: &TestServer) {
    let (token, _key, _id) = s.org_with_key("mine@example.com", &["full_access"]).await;
    let (_other_token, _other_key, other_id) = s.org_with_key("theirs@example.com", &["full_access"]).await;
    let response =
        run(s, &token, json!({"api_key_id": other_id, "method": "GET", "endpoint": "/v1/key"})).await;
    assert_problem(response, 404, "not_found").await;
    let response =
        run(s, &token, json!({"api_key_id": "key_nope", "method": "GET", "endpoint": "/v1/key"})).await;
    assert_problem(response, 404, "not_found").await;
}

async fn the_playground_needs_a_session(s: &TestServer) {
    let (_token, key, key_id) = s.org_with_key("nosession@example.com", &["full_access"]).await;
    let call = json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key"});
    let response = s.post_json("/api/developer/playground/test", &call).await;
    assert_problem(response, 401, "missing_credentials").await;
    // An API key is not a session.
    let response = playground(s, &key).json(&call).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn a_multipart_upload_runs_an_import_through_the_playground(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("upload@example.com", &["full_access"]).await;
    let csv = "url,slug\nhttps://example.com/p1,play-one\nhttps://example.com/p2,play-two\n";
    let form = Form::new()
        .text("api_key_id", key_id.clone())
        .text("method", "POST")
        .text("endpoint", "/v1/links/import")
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("links.csv").mime_str("text/csv").unwrap(),
        );
    let response = playground(s, &token).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status_code"], 202, "{answer}");
    let job_id = answer["body"]["id"].as_str().unwrap().to_owned();
    let job = s.poll(&format!("/v1/jobs/{job_id}"), &key, |j| j["status"] == "succeeded").await;
    assert_eq!(job["result"]["created"], 2, "{job}");

    // A multipart call without the file is a validation failure, naming it.
    let form =
        Form::new().text("api_key_id", key_id).text("method", "POST").text("endpoint", "/v1/links/import");
    let response = playground(s, &token).multipart(form).send().await.unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "file");
}

async fn a_post_without_an_idempotency_key_gets_one(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("idem@example.com", &["full_access"]).await;
    let call = json!({"api_key_id": key_id, "method": "POST", "endpoint": "/v1/links",
        "body": {"url": "https://example.com/auto-idempotent"}});
    let answer = run_ok(s, &token, call).await;
    assert_eq!(answer["status_code"], 201, "{answer}");
    let request_id = answer["headers"]["x-request-id"].as_str().unwrap().to_owned();
    let entry = s.poll(&format!("/v1/requests/{request_id}"), &key, |e| e["id"] == request_id.as_str()).await;
    assert!(entry["idempotency_key"].as_str().unwrap().starts_with("playground_"), "{entry}");

    // One the caller gives is kept: the same call twice is one link, replayed.
    let call = json!({"api_key_id": key_id, "method": "POST", "endpoint": "/v1/links",
        "headers": {"Idempotency-Key": "mine-1"}, "body": {"url": "https://example.com/once"}});
    let first = run_ok(s, &token, call.clone()).await;
    let second = run_ok(s, &token, call).await;
    assert_eq!(first["body"]["id"], second["body"]["id"]);
    assert_eq!(second["headers"]["idempotent-replayed"], "true");
}

async fn playground_calls_are_metered_like_direct_calls(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("meter@example.com", &["full_access"]).await;
    for _ in 0..3 {
        run_ok(s, &token, json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key"})).await;
    }
    // Three playground calls and the polling calls themselves, all in the request log and usage.
    let usage = s.poll("/v1/usage", &key, |u| u["total"].as_i64().unwrap_or(0) >= 3).await;
    assert!(usage["total"].as_i64().unwrap() >= 3, "{usage}");
    let log = s.poll("/v1/requests?route=/v1/key", &key, |l| l["total"].as_i64().unwrap_or(0) >= 3).await;
    assert_eq!(log["total"], 3, "{log}");
    assert!(log["data"].as_array().unwrap().iter().all(|e| e["key_id"] == key_id.as_str()));
}

async fn a_revoked_key_answers_401_inside_the_playground(s: &TestServer) {
    let (token, _key, key_id) = s.org_with_key("revoked@example.com", &["full_access"]).await;
    let revoked = s
        .request(Method::DELETE, &format!("/api/developer/apikeys/{key_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let answer =
        run_ok(s, &token, json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key"})).await;
    assert_eq!(answer["status_code"], 401);
    assert_eq!(answer["body"]["code"], "key_revoked");
}

async fn credentials_and_framing_headers_cannot_be_set(s: &TestServer) {
    let (token, _key, key_id) = s.org_with_key("headers@example.com", &["full_access"]).await;
    for header in ["Authorization", "x-api-key", "Host", "X-Forwarded-For", "Content-Length", "Cookie"] {
        let call =
            json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key", "headers": {header: "x"}});
        let problem = assert_problem(run(s, &token, call).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], format!("headers.{header}"));
    }
    let call = json!({"api_key_id": key_id, "method": "TRACE", "endpoint": "/v1/key"});
    let problem = assert_problem(run(s, &token, call).await, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "method");
}

async fn the_playground_has_its_own_rate_limit_per_user(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("limited@example.com", &["full_access"]).await;
    let call = json!({"api_key_id": key_id, "method": "GET", "endpoint": "/v1/key"});
    run_ok(s, &token, call.clone()).await;
    run_ok(s, &token, call.clone()).await;
    let response = run(s, &token, call).await;
    assert!(response.headers().contains_key("retry-after"));
    let problem = assert_problem(response, 429, "rate_limited").await;
    assert!(problem["detail"].as_str().unwrap().contains("playground"), "{problem}");
    // The key's own allowance is separate: direct calls still work.
    let direct = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}

async fn an_oversized_json_call_is_payload_too_large(s: &TestServer) {
    let (token, _key, key_id) = s.org_with_key("oversized@example.com", &["full_access"]).await;
    // 10 MB: under the route's upload limit, far over the JSON limit a JSON call is held to.
    let padding = "x".repeat(10_000_000);
    let call =
        json!({"api_key_id": key_id, "method": "POST", "endpoint": "/v1/links", "body": {"url": padding}});
    let bytes = serde_json::to_vec(&call).unwrap();
    // Over raw TCP: the server may answer 413 and close before the whole body is sent, which
    // an HTTP client reports as a broken pipe instead of the answer.
    let declared = format!("content-length: {}", bytes.len());
    let answer = oversized_post(s, &token, &declared, bytes.chunks(256 * 1024).map(<[u8]>::to_vec)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{}", &answer[..answer.len().min(200)]);
    assert!(answer.contains("payload_too_large"));
    // Without a content-length up front (chunked), the limit holds while reading.
    let chunked = bytes.chunks(256 * 1024).map(|chunk| {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        framed
    });
    let answer =
        oversized_post(s, &token, "transfer-encoding: chunked", chunked.chain([b"0\r\n\r\n".to_vec()])).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{}", &answer[..answer.len().min(200)]);
    assert!(answer.contains("payload_too_large"));
}

/// POSTs a JSON playground call over a raw connection, with `framing` (a `content-length` or
/// `transfer-encoding` header) and the body in pieces; stops writing when the server closes,
/// and returns what it answered.
async fn oversized_post(
    s: &TestServer,
    token: &str,
    framing: &str,
    pieces: impl Iterator<Item = Vec<u8>>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = s.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/developer/playground/test HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\n{framing}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in pieces {
        if stream.write_all(&piece).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}
