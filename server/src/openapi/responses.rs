//! The parts every operation shares, written once in `components` and referenced by `$ref`:
//! error responses (one per set of codes), an example per error code, response headers
//! (`x-request-id`, the rate-limit and quota fields, `retry-after`, `ETag`) and the
//! conditional and idempotency request headers. Before this pass, each operation carried its
//! own copy of all of them: two thirds of the document.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use super::{operations_mut, pascal, schemes};
use crate::error::ErrorCode;

const HEADERS: &str = "#/components/headers/";
const PARAMETERS: &str = "#/components/parameters/";
const RESPONSES: &str = "#/components/responses/";

fn reference(prefix: &str, name: &str) -> Value {
    json!({ "$ref": format!("{prefix}{name}") })
}

/// The response headers, by component name: (header name, description, schema).
fn headers() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let integer = json!({"type": "integer", "minimum": 0});
    let string = json!({"type": "string"});
    vec![
        (
            "RequestId",
            "x-request-id",
            "The request's id (`req_` + a ULID), on every answer, errors included: quote it when asking for help. Ids clients send are not echoed.",
            json!({"type": "string", "pattern": "^req_[0-9A-HJKMNP-TV-Z]{26}$", "example": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}),
        ),
        ("RateLimitLimit", "x-ratelimit-limit", "The key's requests per minute.", integer.clone()),
        (
            "RateLimitRemaining",
            "x-ratelimit-remaining",
            "Requests left before the key is rate limited.",
            integer.clone(),
        ),
        (
            "RateLimitReset",
            "x-ratelimit-reset",
            "Seconds until the key's full allowance is back.",
            integer.clone(),
        ),
        (
            "RateLimitPolicy",
            "RateLimit-Policy",
            "The rate limit policy (IETF draft `RateLimit` header fields), e.g. `\"per-key\";q=600;w=60`.",
            string.clone(),
        ),
        (
            "RateLimit",
            "RateLimit",
            "The rate limit state (IETF draft `RateLimit` header fields), e.g. `\"per-key\";r=599;t=1`.",
            string.clone(),
        ),
        (
            "ApiCallsRemaining",
            "x-api-calls-remaining",
            "Calls left in the organisation's monthly quota.",
            integer.clone(),
        ),
        (
            "RetryAfter",
            "retry-after",
            "On `rate_limited` (and `unavailable` when the server knows): whole seconds to wait before retrying.",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "RateLimitRetryAfter",
            "x-ratelimit-retry-after",
            "On `rate_limited`: the same seconds as `retry-after`.",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "ETag",
            "etag",
            "The resource's version as a strong entity tag (`\"3\"`): send it back in `If-Match` to update safely, or in `If-None-Match` to get 304 when nothing changed.",
            json!({"type": "string", "pattern": "^\"[0-9]+\"$", "example": "\"3\""}),
        ),
        (
            "DocumentETag",
            "etag",
            "The document's digest as a strong entity tag; its gzip-compressed bytes have a tag of their own (`-gzip`). Send it in `If-None-Match` to get 304 when nothing changed.",
            json!({"type": "string", "pattern": "^\"[0-9a-f]{24}(-gzip)?\"$", "example": "\"627f362e5628d01139881f2e\""}),
        ),
        (
            "WwwAuthenticate",
            "www-authenticate",
            "The authentication challenge: `Bearer`.",
            json!({"type": "string", "example": "Bearer"}),
        ),
        (
            "IdempotentReplayed",
            "idempotent-replayed",
            "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
            json!({"type": "string", "enum": ["true"]}),
        ),
    ]
}

/// The metering headers on every answer the `/v1` pipeline lets through, by component name.
const METERING: [&str; 6] = [
    "RateLimitLimit",
    "RateLimitRemaining",
    "RateLimitReset",
    "RateLimitPolicy",
    "RateLimit",
    "ApiCallsRemaining",
];

/// The request headers that are components, by name.
fn parameters() -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "IdempotencyKey".into(),
        json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Makes a retry safe: the first request runs, retries with the same key get its stored answer (with `idempotent-replayed: true`) for 24 hours. 1–255 printable ASCII characters.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"}
        }),
    );
    out.insert(
        "IfMatch".into(),
        json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "Update only if the resource is still at a version you name (RFC 9110): the `ETag` you read (`\"3\"`), a list of them (`\"3\", \"4\"`), or `*`. A tag that is not current — or weak (`W/\"3\"`): comparison is strong — answers 412 `version_mismatch`; a value that is not a list of entity tags, 400 `invalid_request`.",
            "schema": {"type": "string"},
            "example": "\"1\""
        }),
    );
    out.insert(
        "IfNoneMatch".into(),
        json!({
            "name": "If-None-Match",
            "in": "header",
            "required": false,
            "description": "Answer 304 Not Modified, with no body, when the resource's `ETag` is one you name (or `*`): a cheap way to poll for changes.",
            "schema": {"type": "string"},
            "example": "\"1\""
        }),
    );
    out
}

/// Shared headers and parameters, metering headers on `/v1` answers, `x-request-id` on every
/// answer, 304 on ETagged GETs, the error responses, `security: []` on public operations.
pub(super) fn share(doc: &mut Value) {
    let mut header_components = Map::new();
    for (component, _name, description, schema) in headers() {
        header_components.insert(component.into(), json!({"description": description, "schema": schema}));
    }
    let mut examples = Map::new();
    let mut responses: BTreeMap<String, Value> = BTreeMap::new();

    // Which schemas are versioned resources (have a `version`), by reference.
    let schema_index: BTreeMap<String, bool> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            // Directly, or through the parts of an `allOf` (a flattened struct).
            let parts = std::iter::once(s).chain(s["allOf"].as_array().into_iter().flatten());
            let versioned = parts.clone().any(|p| p["properties"].get("version").is_some())
                || parts.filter_map(|p| p["$ref"].as_str()).any(|r| {
                    let target = r.trim_start_matches("#/components/schemas/");
                    doc["components"]["schemas"][target]["properties"].get("version").is_some()
                });
            (format!("#/components/schemas/{name}"), versioned)
        })
        .collect();
    for (method, _path, op) in operations_mut(doc) {
        let takes_api_key = schemes(op).contains(&"api_key");
        if !op.contains_key("security") {
            // Public: say so, rather than inherit a default.
            op.insert("security".into(), json!([]));
        }
        // `Idempotency-Key` is honoured on every POST and PATCH of `/v1` (the pipeline), and on
        // every POST of the dashboard's session routes that creates something — answers 201
        // or 202 (their guard reads this declaration).
        let creates =
            op["responses"].as_object().is_some_and(|r| r.contains_key("201") || r.contains_key("202"));
        let idempotent = (takes_api_key && matches!(method.as_str(), "post" | "patch"))
            || (op.contains_key("x-required-role") && method == "post" && creates);
        share_request_headers(op, idempotent);
        let etagged_get = method == "get" && has_etag(op);
        for (status, response) in op.get_mut("responses").and_then(Value::as_object_mut).into_iter().flatten()
        {
            let Some(response) = response.as_object_mut() else { continue };
            response.entry("headers").or_insert_with(|| json!({}));
            // Headers a handler declared by name become references to the shared ones. An
            // `ETag` is a resource's version when the body is a resource with a `version`;
            // otherwise it is a published document's digest.
            let versioned = response
                .get("content")
                .and_then(|c| c.pointer("/application~1json/schema/$ref"))
                .and_then(Value::as_str)
                .and_then(|r| schema_index.get(r))
                .copied()
                .unwrap_or(false);
            let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) else { continue };
            for (component, name, _, _) in self::headers() {
                if component == "DocumentETag" {
                    continue;
                }
                if headers.remove(name).is_some() {
                    let component =
                        if component == "ETag" && !versioned { "DocumentETag" } else { component };
                    headers.insert(name.into(), reference(HEADERS, component));
                }
            }
            if takes_api_key && status.starts_with('2') {
                for component in METERING {
                    headers.insert(headers_of(component).into(), reference(HEADERS, component));
                }
            }
            if idempotent && status.starts_with('2') {
                headers.insert("idempotent-replayed".into(), reference(HEADERS, "IdempotentReplayed"));
            }
            headers.insert("x-request-id".into(), reference(HEADERS, "RequestId"));
        }
        if etagged_get {
            add_not_modified(op, takes_api_key);
        }
        add_error_responses(op, &mut examples, &mut responses);
    }
    let shared_parameters = share_parameters(doc);
    let components = doc["components"].as_object_mut().expect("the document has components");
    components.insert("headers".into(), Value::Object(header_components));
    let mut parameter_components = parameters();
    parameter_components.extend(shared_parameters);
    components.insert("parameters".into(), Value::Object(parameter_components));
    components.insert("examples".into(), Value::Object(examples));
    components.insert("responses".into(), Value::Object(responses.into_iter().collect()));
}

/// Parameters declared the same way by several operations (`limit`, `offset`, a resource's
/// `{id}`) become one component each: `Limit`, `Offset`, `LinkId` (named after the kind of
/// id its example is).
fn share_parameters(doc: &mut Value) -> Map<String, Value> {
    let mut uses: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for (_method, _path, op) in operations_mut(doc) {
        for param in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            if param.get("$ref").is_none() {
                uses.entry(param.to_string()).or_insert_with(|| (param.clone(), 0)).1 += 1;
            }
        }
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut components = Map::new();
    for (key, (param, count)) in uses {
        let Some(name) = parameter_name(&param).filter(|_| count > 1) else { continue };
        if components.contains_key(&name) {
            continue;
        }
        components.insert(name.clone(), param);
        names.insert(key, name);
    }
    for (_method, _path, op) in operations_mut(doc) {
        for param in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(name) = names.get(&param.to_string()) {
                *param = reference(PARAMETERS, name);
            }
        }
    }
    components
}

/// The component name of a shared parameter: `LinkId` for a path id whose example is
/// `lnk_…`, `Limit` for the query's `limit`.
fn parameter_name(param: &Value) -> Option<String> {
    let name = param["name"].as_str()?;
    if param["in"] == "path" {
        let prefix = param["example"].as_str()?.split('_').next()?;
        let kind = crate::ids::IdKind::from_prefix(prefix)?;
        return Some(format!("{kind:?}Id"));
    }
    (param["in"] == "query").then(|| pascal(name))
}

/// The header name of a shared header component.
fn headers_of(component: &str) -> &'static str {
    headers().into_iter().find(|h| h.0 == component).map(|h| h.1).expect("a shared header")
}

fn has_etag(op: &Map<String, Value>) -> bool {
    op["responses"]["200"]["headers"].as_object().is_some_and(|h| h.contains_key("etag"))
}

/// `If-Match` (declared by the handlers' extractor) and `Idempotency-Key` (on `/v1` writes)
/// as references.
fn share_request_headers(op: &mut Map<String, Value>, idempotent: bool) {
    let params = op.entry("parameters").or_insert_with(|| json!([]));
    let Some(params) = params.as_array_mut() else { return };
    for param in params.iter_mut() {
        if param["in"] == "header"
            && param["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("if-match"))
        {
            *param = reference(PARAMETERS, "IfMatch");
        }
    }
    if idempotent {
        params.push(reference(PARAMETERS, "IdempotencyKey"));
    }
    if params.is_empty() {
        op.remove("parameters");
    }
}

/// A GET whose answer carries an `ETag`: `If-None-Match`, and its 304.
fn add_not_modified(op: &mut Map<String, Value>, takes_api_key: bool) {
    let etag = op["responses"]["200"]["headers"]["etag"].clone();
    let mut headers = Map::new();
    headers.insert("etag".into(), etag);
    headers.insert("x-request-id".into(), reference(HEADERS, "RequestId"));
    // A 304 on `/v1` spent a call like a 200: it carries the same rate-limit and quota state.
    if takes_api_key {
        for component in METERING {
            headers.insert(headers_of(component).into(), reference(HEADERS, component));
        }
    }
    let params = op.entry("parameters").or_insert_with(|| json!([]));
    if let Some(params) = params.as_array_mut() {
        params.push(reference(PARAMETERS, "IfNoneMatch"));
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        responses.insert(
            "304".into(),
            json!({
                "description": "Not modified: the resource is still at the version `If-None-Match` named. No body.",
                "headers": headers,
            }),
        );
    }
}

/// The codes an operation can answer, in [`ErrorCode::ALL`] order.
fn error_codes(op: &Map<String, Value>) -> Vec<ErrorCode> {
    let mut codes = HashSet::from([ErrorCode::Internal]);
    let schemes = schemes(op);
    if !schemes.is_empty() {
        codes.insert(ErrorCode::MissingCredentials);
    }
    if schemes.contains(&"session_token") {
        // A repeated `Authorization` header is 400 `invalid_request`.
        codes.extend([ErrorCode::InvalidRequest, ErrorCode::InvalidSession]);
        if op.get("x-required-role").and_then(Value::as_str).is_some_and(|r| r != "viewer") {
            codes.insert(ErrorCode::InsufficientRole);
        }
    }
    if schemes.contains(&"api_key") {
        codes.extend([
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidApiKey,
            ErrorCode::KeyRevoked,
            ErrorCode::KeyExpired,
            ErrorCode::KeyBlocked,
            ErrorCode::IpNotAllowed,
        ]);
        if op.get("x-required-scope").and_then(Value::as_str).is_some_and(|s| s != "any") {
            codes.insert(ErrorCode::InsufficientScope);
        }
        codes.extend([ErrorCode::RateLimited, ErrorCode::QuotaExceeded]);
    }
    let params: Vec<&Value> = op.get("parameters").and_then(Value::as_array).into_iter().flatten().collect();
    if params.iter().any(|p| p["$ref"] == format!("{PARAMETERS}IfMatch")) {
        codes.extend([ErrorCode::InvalidRequest, ErrorCode::VersionMismatch]);
    }
    if params.iter().any(|p| p["$ref"] == format!("{PARAMETERS}IdempotencyKey")) {
        codes.extend([
            ErrorCode::InvalidRequest,
            ErrorCode::IdempotencyInProgress,
            ErrorCode::IdempotencyKeyReused,
        ]);
    }
    if op.contains_key("requestBody") {
        codes.extend([
            ErrorCode::InvalidRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::ValidationFailed,
        ]);
    }
    if params.iter().any(|p| p["in"] == "query") {
        codes.extend([ErrorCode::InvalidRequest, ErrorCode::ValidationFailed]);
    }
    for listed in op.get("x-error-codes").and_then(Value::as_array).into_iter().flatten() {
        let code: ErrorCode = serde_json::from_value(listed.clone())
            .unwrap_or_else(|_| panic!("x-error-codes lists an unknown code: {listed}"));
        codes.insert(code);
    }
    ErrorCode::ALL.into_iter().filter(|c| codes.contains(c)).collect()
}

/// The shared response for one status and the codes an operation answers with it, named
/// after the codes (`NotFound`, `RateLimitedOrQuotaExceeded`).
fn error_response(status: u16, codes: &[ErrorCode], examples: &mut Map<String, Value>) -> (String, Value) {
    let name = codes.iter().map(|c| pascal(c.as_str())).collect::<Vec<_>>().join("Or");
    let description =
        codes.iter().map(|c| format!("`{}`: {}", c.as_str(), c.meaning())).collect::<Vec<_>>().join("\n\n");
    let mut refs = Map::new();
    for code in codes {
        let example = json!({
            "type": code.type_uri(),
            "title": code.title(),
            "status": status,
            "detail": code.meaning(),
            "code": code.as_str(),
            "request_id": "req_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
        });
        examples.insert(code.as_str().into(), json!({ "summary": code.title(), "value": example }));
        refs.insert(
            code.as_str().into(),
            json!({ "$ref": format!("#/components/examples/{}", code.as_str()) }),
        );
    }
    let mut headers = Map::new();
    headers.insert("x-request-id".into(), reference(HEADERS, "RequestId"));
    if codes.contains(&ErrorCode::RateLimited) || codes.contains(&ErrorCode::Unavailable) {
        headers.insert("retry-after".into(), reference(HEADERS, "RetryAfter"));
    }
    if codes.contains(&ErrorCode::RateLimited) {
        headers.insert("x-ratelimit-retry-after".into(), reference(HEADERS, "RateLimitRetryAfter"));
    }
    if codes.contains(&ErrorCode::QuotaExceeded) {
        headers.insert("x-api-calls-remaining".into(), reference(HEADERS, "ApiCallsRemaining"));
    }
    if status == 401 {
        headers.insert("www-authenticate".into(), reference(HEADERS, "WwwAuthenticate"));
    }
    let response = json!({
        "description": description,
        "headers": headers,
        "content": {
            crate::error::PROBLEM_JSON: {
                "schema": { "$ref": "#/components/schemas/Problem" },
                "examples": refs,
            }
        }
    });
    (name, response)
}

fn add_error_responses(
    op: &mut Map<String, Value>,
    examples: &mut Map<String, Value>,
    shared: &mut BTreeMap<String, Value>,
) {
    let codes = error_codes(op);
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in &codes {
        by_status.entry(code.status().as_u16()).or_default().push(*code);
    }
    let responses =
        op.entry("responses").or_insert_with(|| json!({})).as_object_mut().expect("responses is an object");
    for (status, codes) in by_status {
        let (name, response) = error_response(status, &codes, examples);
        shared.entry(name.clone()).or_insert(response);
        responses.insert(status.to_string(), reference(RESPONSES, &name));
    }
    let listed: Vec<Value> = codes.iter().map(|c| Value::String(c.as_str().to_owned())).collect();
    op.insert("x-error-codes".into(), Value::Array(listed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_are_named_after_their_codes() {
        let mut examples = Map::new();
        let (name, response) =
            error_response(429, &[ErrorCode::RateLimited, ErrorCode::QuotaExceeded], &mut examples);
        assert_eq!(name, "RateLimitedOrQuotaExceeded");
        assert!(response["headers"]["retry-after"].is_object());
        assert_eq!(examples["quota_exceeded"]["value"]["status"], 429);
        assert_eq!(pascal("not_found"), "NotFound");
    }
}
