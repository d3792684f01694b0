//! Every answer the integration suite sees is checked against the OpenAPI document: the
//! status must be one the operation documents, the content type one it documents for that
//! status, and a JSON body must validate against the documented schema (JSON Schema 2020-12,
//! which OpenAPI 3.1 schemas are). The check is a layer around each route of the real router
//! (so it knows the route template), installed by `TestServer`; violations are collected and
//! fail the test when its server stops.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

/// The document, and a compiled validator per (method, route, status).
struct Spec {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static SPEC: LazyLock<Spec> =
    LazyLock::new(|| Spec { doc: portico::openapi::document(), validators: Mutex::new(HashMap::new()) });

/// The contract violations one test server has seen.
#[derive(Clone, Default)]
pub struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Wraps every route of `app` with the check.
pub fn wrap(app: axum::Router, violations: Violations) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(violations, check))
}

async fn check(State(violations): State<Violations>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_ascii_lowercase();
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let response = next.run(request).await;
    // Routes outside the spec (Swagger UI's files) and methods a path does not have (the
    // 405s) have nothing to check against.
    let Some(route) = route else { return response };
    let Some(op) = SPEC.doc["paths"].get(&route).and_then(|item| item.get(&method)) else {
        return response;
    };

    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    // A compressed document is checked as what the client reads once it is decoded.
    let gzipped = parts.headers.get(axum::http::header::CONTENT_ENCODING).is_some_and(|v| v == "gzip");
    let decoded = if gzipped {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).map(|_| out).ok()
    } else {
        None
    };
    let body_bytes: &[u8] = decoded.as_deref().unwrap_or(&bytes);
    let status = parts.status.as_u16().to_string();
    let what = format!("{} {route} → {status}", method.to_ascii_uppercase());
    let mut problems = Vec::new();
    match op["responses"].get(&status).map(|r| portico::openapi::resolve(&SPEC.doc, r)) {
        None => problems.push(format!("{what}: status not documented")),
        Some(documented) => {
            let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let content = documented.get("content").and_then(Value::as_object);
            match content {
                None if !body_bytes.is_empty() => {
                    problems.push(format!("{what}: a body ({content_type}) where none is documented"))
                }
                None => {}
                Some(content) => {
                    let media = content_type.split(';').next().unwrap_or("").trim();
                    let entry = content.iter().find(|(documented, _)| {
                        documented.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media)
                    });
                    match entry {
                        None => problems.push(format!(
                            "{what}: content type {content_type:?}, documented: {:?}",
                            content.keys().collect::<Vec<_>>()
                        )),
                        Some((documented, media)) if documented.contains("ndjson") => {
                            // One JSON document per line, each an instance of the schema.
                            let key = format!("{what} {documented}");
                            let validator = validator(&key, &media["x-itemSchema"]);
                            for line in body_bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                                match serde_json::from_slice::<Value>(line) {
                                    Err(e) => {
                                        problems.push(format!("{what}: an NDJSON line is not JSON: {e}"))
                                    }
                                    Ok(item) => problems.extend(validator.iter_errors(&item).map(|e| {
                                        format!("{what}: NDJSON line at {}: {e}", e.instance_path())
                                    })),
                                }
                            }
                        }
                        Some((documented, media)) if documented.contains("json") => {
                            match serde_json::from_slice::<Value>(body_bytes) {
                                Err(e) => problems.push(format!("{what}: body is not JSON: {e}")),
                                Ok(body) => {
                                    let key = format!("{what} {documented}");
                                    let validator = validator(&key, &media["schema"]);
                                    problems.extend(
                                        validator
                                            .iter_errors(&body)
                                            .map(|e| format!("{what}: at {}: {e}", e.instance_path())),
                                    );
                                }
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        violations.0.lock().unwrap().extend(problems);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// What is wrong with a webhook delivery by the document's `webhooks`: its type must be one
/// of them, its body must validate against that event's schema, and the Standard Webhooks
/// headers must be present and well-formed. Empty when the delivery keeps the contract.
pub fn webhook_violations(headers: &axum::http::HeaderMap, body: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return vec![format!("a delivery whose body is not JSON: {body:.200}")];
    };
    let kind = value["type"].as_str().unwrap_or_default().to_owned();
    let Some(op) = SPEC.doc["webhooks"].get(&kind).map(|w| &w["post"]) else {
        return vec![format!("a delivery of a type the document does not list: {kind:?}")];
    };
    let mut problems = Vec::new();
    for param in op["parameters"].as_array().into_iter().flatten() {
        let param = portico::openapi::resolve(&SPEC.doc, param);
        let name = param["name"].as_str().unwrap_or_default();
        match headers.get(name).and_then(|v| v.to_str().ok()) {
            None => problems.push(format!("{kind}: no {name} header")),
            Some(sent) => problems.extend(
                validator(&format!("webhook header {name}"), &param["schema"])
                    .iter_errors(&json!(sent))
                    .map(|e| format!("{kind}: header {name}: {e}")),
            ),
        }
    }
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    problems.extend(
        validator(&format!("webhook {kind}"), schema)
            .iter_errors(&value)
            .map(|e| format!("{kind}: at {}: {e}", e.instance_path())),
    );
    problems
}

/// The validator of one schema of the document: the schema with the document's components
/// beside it, so that its `$ref`s resolve.
fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    let mut cache = SPEC.validators.lock().unwrap();
    if let Some(v) = cache.get(key) {
        return v.clone();
    }
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": SPEC.doc["components"],
    });
    for (k, v) in schema.as_object().into_iter().flatten() {
        root[k] = v.clone();
    }
    let compiled = Arc::new(jsonschema::validator_for(&root).expect("the document's schemas compile"));
    cache.insert(key.to_owned(), compiled.clone());
    compiled
}

#[test]
fn a_body_that_breaks_its_schema_is_caught() {
    let link = validator("test: Link", &json!({"$ref": "#/components/schemas/Link"}));
    assert!(link.iter_errors(&json!({"id": 7})).count() > 0, "a link without its fields, and a numeric id");
    let problem = validator("test: Problem", &json!({"$ref": "#/components/schemas/Problem"}));
    let valid = json!({"type": "urn:portico:error:not_found", "title": "Not found", "status": 404,
        "detail": "No such link.", "code": "not_found", "request_id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"});
    assert_eq!(problem.iter_errors(&valid).count(), 0);
    // Codes are an open set: a client validating against the document keeps working when a
    // code is added. The server only sends codes the document lists (its codes are an enum).
    let mut later_code = valid.clone();
    later_code["code"] = json!("a_code_added_later");
    assert_eq!(problem.iter_errors(&later_code).count(), 0);
    let mut not_a_code = valid.clone();
    not_a_code["code"] = json!(7);
    assert!(problem.iter_errors(&not_a_code).count() > 0);
}

#[test]
fn a_delivery_that_breaks_its_webhook_schema_is_caught() {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("webhook-id", "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N".parse().unwrap());
    headers.insert("webhook-timestamp", "1764581400".parse().unwrap());
    headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse().unwrap());
    let good = json!({"type": "link.deleted", "timestamp": "2026-12-01T09:30:00Z",
        "data": {"id": "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N", "domain": "go.example.com", "slug": "spring", "deleted_at": "2026-12-01T09:30:00Z"}});
    assert_eq!(webhook_violations(&headers, &good.to_string()), Vec::<String>::new());
    let mut missing_field = good.clone();
    missing_field["data"].as_object_mut().unwrap().remove("slug");
    assert_eq!(webhook_violations(&headers, &missing_field.to_string()).len(), 1);
    let unknown = json!({"type": "link.renamed", "timestamp": "2026-12-01T09:30:00Z", "data": {}});
    assert_eq!(webhook_violations(&headers, &unknown.to_string()).len(), 1);
    headers.remove("webhook-signature");
    assert_eq!(
        webhook_violations(&headers, &good.to_string()),
        ["link.deleted: no webhook-signature header"]
    );
}
