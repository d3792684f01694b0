//! The Postman collection (v2.1), generated from the OpenAPI document.
//!
//! One folder per tag, one request per operation, in an order that lets `newman run` walk the
//! whole API against a fresh server with nothing but `baseUrl` set: the run signs up (a new
//! organisation per run), creates a full-access key, and each later request finds what it
//! needs in the collection variables the earlier ones set (`linkId`, `jobId`, …). Every request
//! asserts the status the spec promises. Operations that destroy something (revoke, delete,
//! sign out) destroy a *disposable* resource their pre-request script creates, so that the
//! order of the folders never matters to them.
//!
//! What is specific to this API's workflow — which response fields feed which variables, the
//! example values that must be unique per run — is in [`STEPS`]; everything else (folders,
//! names, descriptions, auth, parameters, example bodies, expected statuses) comes from the
//! document.

use serde_json::{Value, json};

use super::{example_body, resolve, text};
use crate::openapi::{operation_schemes, operations};

const SCHEMA: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

/// What the collection does around one operation beyond what the spec says.
struct Step {
    operation_id: &'static str,
    /// Merged over the spec's example body (JSON merge, top-level keys).
    body: Option<fn() -> Value>,
    /// Collection variables set from the JSON response: `(variable, expression on json)`.
    captures: &'static [(&'static str, &'static str)],
    /// Create something to act on first: `(method, path, auth variable, body)`; the
    /// request's path id then points at it (`{{disposableId}}`).
    disposable: Option<Disposable>,
    /// Extra lines of the pre-request script.
    pre_request: &'static str,
}

struct Disposable {
    path: &'static str,
    auth: &'static str,
    body: fn() -> Value,
    /// The response field that names what was made.
    capture: &'static str,
    /// Where the disposable goes: the path id (`{{disposableId}}`) or the request's bearer
    /// token (`{{disposableToken}}`).
    into_token: bool,
}

/// A key made to be revoked (by the dashboard route and by `/v1`).
const DISPOSABLE_KEY: Disposable = Disposable {
    path: "/api/developer/apikeys",
    auth: "sessionToken",
    body: || json!({"name": "Disposable {{runId}}", "scopes": ["links:read"]}),
    capture: "id",
    into_token: false,
};

const STEPS: &[Step] = &[
    Step {
        operation_id: "account_signup",
        body: Some(|| json!({"email": "postman-{{runId}}@example.com"})),
        captures: &[("sessionToken", "json.token")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "session_create",
        body: Some(|| json!({"email": "postman-{{runId}}@example.com"})),
        captures: &[("sessionToken", "json.token")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "session_delete",
        body: None,
        captures: &[],
        disposable: Some(Disposable {
            path: "/api/developer/login",
            auth: "",
            body: || json!({"email": "postman-{{runId}}@example.com", "password": "correct horse battery staple"}),
            capture: "token",
            into_token: true,
        }),
        pre_request: "",
    },
    Step {
        // The key the rest of the run uses: full access, from anywhere, on every domain.
        operation_id: "apikey_create",
        body: Some(
            || json!({"name": "Postman run {{runId}}", "scopes": ["full_access"], "domains": [], "allowed_ips": []}),
        ),
        captures: &[("apiKey", "json.key"), ("apiKeyId", "json.id")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "apikey_update",
        // Keep the run's key usable from here.
        body: Some(|| json!({"allowed_ips": []})),
        captures: &[],
        disposable: None,
        pre_request: "",
    },
    Step {
        // The run's key gets a new secret; the next requests use it.
        operation_id: "apikey_rotate",
        body: None,
        captures: &[("apiKey", "json.key")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "apikey_revoke",
        body: None,
        captures: &[],
        disposable: Some(DISPOSABLE_KEY),
        pre_request: "",
    },
    Step {
        operation_id: "v1_apikey_revoke",
        body: None,
        captures: &[],
        disposable: Some(DISPOSABLE_KEY),
        pre_request: "",
    },
    Step {
        // Hostnames are unique across the deployment: one per run.
        operation_id: "domain_create",
        body: Some(|| json!({"hostname": "go-{{runId}}.example.com"})),
        captures: &[("domainId", "json.id"), ("domainHostname", "json.hostname")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "domain_delete",
        body: None,
        captures: &[],
        disposable: Some(Disposable {
            path: "/v1/domains",
            auth: "apiKey",
            body: || json!({"hostname": "gone-{{runId}}.example.com"}),
            capture: "id",
            into_token: false,
        }),
        pre_request: "",
    },
    Step {
        operation_id: "link_create",
        body: Some(|| json!({"domain": "{{domainHostname}}"})),
        captures: &[("linkId", "json.id"), ("slug", "json.slug")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "link_update",
        body: None,
        captures: &[("slug", "json.slug")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "link_delete",
        body: None,
        captures: &[],
        disposable: Some(Disposable {
            path: "/v1/links",
            auth: "apiKey",
            body: || json!({"url": "https://example.com/short-lived"}),
            capture: "id",
            into_token: false,
        }),
        pre_request: "",
    },
    Step {
        operation_id: "link_import",
        body: None,
        captures: &[("jobId", "json.id")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "webhook_create",
        // Webhook URLs must resolve to a public address; set `webhookUrl` to one you own.
        body: Some(|| json!({"url": "{{webhookUrl}}"})),
        captures: &[("webhookId", "json.id")],
        disposable: None,
        pre_request: "",
    },
    Step {
        operation_id: "webhook_delete",
        body: None,
        captures: &[],
        disposable: Some(Disposable {
            path: "/v1/webhooks",
            auth: "apiKey",
            body: || json!({"url": "{{webhookUrl}}", "events": ["link.created"]}),
            capture: "id",
            into_token: false,
        }),
        pre_request: "",
    },
    Step {
        // The playground runs a call with the run's stored key.
        operation_id: "playground_test",
        body: Some(|| json!({"api_key_id": "{{apiKeyId}}"})),
        captures: &[],
        disposable: None,
        pre_request: "",
    },
    Step {
        // The request log is written in batches within about a second of each request.
        operation_id: "request_list",
        body: None,
        captures: &[("requestId", "json.data[0].id")],
        disposable: None,
        pre_request: "setTimeout(() => {}, 1500);",
    },
];

/// The collection variable that names the resource behind a path's `{id}`.
fn id_variable(path: &str) -> &'static str {
    let resource = path.trim_start_matches("/api/developer").trim_start_matches("/v1");
    match resource.split('/').nth(1) {
        Some("apikeys") => "apiKeyId",
        Some("domains") => "domainId",
        Some("links") => "linkId",
        Some("jobs") => "jobId",
        Some("requests") => "requestId",
        Some("webhooks") => "webhookId",
        _ => "id",
    }
}

/// The status a successful call answers: the first 2xx or 3xx the operation documents, or
/// (for operations that always refuse) the first status it documents.
fn expected_status(op: &Value) -> u16 {
    let statuses: Vec<u16> = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(status, _)| status.parse().ok())
        .collect();
    statuses.iter().copied().find(|s| (200..400).contains(s)).or(statuses.first().copied()).unwrap_or(200)
}

/// Which credential an operation takes: `Some("apiKey")`, `Some("sessionToken")` or `None`.
fn credential(op: &Value) -> Option<&'static str> {
    let schemes = operation_schemes(op);
    if schemes.contains(&"api_key") {
        Some("apiKey")
    } else if schemes.contains(&"session_token") {
        Some("sessionToken")
    } else {
        None
    }
}

fn bearer(variable: &str) -> Value {
    json!({"type": "bearer", "bearer": [{"key": "token", "value": format!("{{{{{variable}}}}}"), "type": "string"}]})
}

/// The order of requests inside a folder: creation first, destruction last.
fn rank(method: &str, path: &str) -> u8 {
    let has_id = path.contains('{');
    match (method, has_id) {
        ("post", false) => 0,
        ("get", false) => 1,
        ("get", true) => 2,
        ("patch", _) | ("put", _) => 3,
        ("post", true) => 4,
        _ => 5,
    }
}

fn script(kind: &str, lines: &[String]) -> Value {
    json!({"listen": kind, "script": {"type": "text/javascript", "exec": lines}})
}

fn url(path: &str, query: Vec<Value>, variables: Vec<Value>) -> Value {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => format!(":{name}"),
            None => s.to_owned(),
        })
        .collect();
    let mut raw = format!("{{{{baseUrl}}}}/{}", segments.join("/"));
    let enabled: Vec<String> = query
        .iter()
        .filter(|q| !q["disabled"].as_bool().unwrap_or(false))
        .map(|q| format!("{}={}", text(q, "key"), text(q, "value")))
        .collect();
    if !enabled.is_empty() {
        raw = format!("{raw}?{}", enabled.join("&"));
    }
    let mut url = json!({"raw": raw, "host": ["{{baseUrl}}"], "path": segments});
    if !query.is_empty() {
        url["query"] = Value::Array(query);
    }
    if !variables.is_empty() {
        url["variable"] = Value::Array(variables);
    }
    url
}

fn parameter_value(doc: &Value, parameter: &Value) -> String {
    let schema = resolve(doc, &parameter["schema"]);
    let value = parameter
        .get("example")
        .or_else(|| schema.get("example"))
        .or_else(|| schema.get("default"))
        .or_else(|| schema["enum"].get(0));
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn request_item(doc: &Value, method: &str, path: &str, op: &Value) -> Value {
    let operation_id = text(op, "operationId");
    let step = STEPS.iter().find(|s| s.operation_id == operation_id);
    let disposable = step.and_then(|s| s.disposable.as_ref());

    let (query, variables, mut headers) = parameters(doc, path, op, disposable);
    let mut request = json!({
        "method": method.to_ascii_uppercase(),
        "description": text(op, "description"),
    });
    // Auth: API-key operations inherit the collection's; the others say what they take.
    match (credential(op), disposable) {
        (_, Some(d)) if d.into_token => request["auth"] = bearer("disposableToken"),
        (Some("apiKey"), _) => {}
        (Some(variable), _) => request["auth"] = bearer(variable),
        (None, _) => request["auth"] = json!({"type": "noauth"}),
    }
    if let Some(body) = request_body(doc, op, step, &mut headers) {
        request["body"] = body;
    }
    request["header"] = Value::Array(headers);
    request["url"] = url(path, query, variables);

    let status = expected_status(op);
    let mut events = Vec::new();
    let pre = pre_request(step, disposable);
    if !pre.is_empty() {
        events.push(script("prerequest", &pre));
    }
    events.push(script("test", &tests(doc, op, status, step)));

    let name = op.get("summary").and_then(Value::as_str).unwrap_or(operation_id);
    let mut item = json!({"name": name, "request": request, "event": events});
    if (300..400).contains(&status) {
        // Show the redirect itself rather than where it points.
        item["protocolProfileBehavior"] = json!({"followRedirects": false});
    }
    item
}

/// The operation's parameters as Postman has them: `(query, path variables, headers)`.
fn parameters(
    doc: &Value,
    path: &str,
    op: &Value,
    disposable: Option<&Disposable>,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let mut query = Vec::new();
    let mut variables = Vec::new();
    let mut headers = Vec::new();
    for parameter in op["parameters"].as_array().into_iter().flatten() {
        let parameter = resolve(doc, parameter);
        let name = text(parameter, "name");
        let description = text(parameter, "description");
        match text(parameter, "in") {
            "path" => {
                let value = match (name, disposable) {
                    (_, Some(d)) if !d.into_token => "{{disposableId}}".to_owned(),
                    ("slug", _) => "{{slug}}".to_owned(),
                    // A name, not an id: its example names a real document.
                    ("page", _) => parameter["example"].as_str().unwrap_or_default().to_owned(),
                    _ => format!("{{{{{}}}}}", id_variable(path)),
                };
                variables.push(json!({"key": name, "value": value, "description": description}));
            }
            "query" => {
                let required = parameter["required"].as_bool().unwrap_or(false);
                query.push(json!({
                    "key": name,
                    "value": parameter_value(doc, parameter),
                    "description": description,
                    "disabled": !required,
                }));
            }
            "header" => {
                let (value, disabled) = match name.to_ascii_lowercase().as_str() {
                    "idempotency-key" => ("{{$guid}}".to_owned(), true),
                    "host" => ("{{domainHostname}}".to_owned(), false),
                    _ => (parameter_value(doc, parameter), true),
                };
                headers.push(
                    json!({"key": name, "value": value, "description": description, "disabled": disabled}),
                );
            }
            _ => {}
        }
    }
    (query, variables, headers)
}

/// The request body — JSON from the schema's example (with the step's own fields), or a
/// multipart form — adding the `Content-Type` header JSON needs.
fn request_body(doc: &Value, op: &Value, step: Option<&Step>, headers: &mut Vec<Value>) -> Option<Value> {
    let content = &op["requestBody"]["content"];
    if let Some(media) = content.get("application/json") {
        let mut body = example_body(doc, &media["schema"]);
        if let (Some(extra), Value::Object(fields)) = (step.and_then(|s| s.body), &mut body) {
            for (key, value) in extra().as_object().into_iter().flatten() {
                fields.insert(key.clone(), value.clone());
            }
        }
        headers.push(json!({"key": "Content-Type", "value": "application/json"}));
        Some(json!({
            "mode": "raw",
            "raw": serde_json::to_string_pretty(&body).expect("JSON renders"),
            "options": {"raw": {"language": "json"}},
        }))
    } else if let Some(media) = content.get("multipart/form-data") {
        let schema = resolve(doc, &media["schema"]);
        let fields: Vec<Value> = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                // Files are sent as text parts so that the collection runs anywhere; in Postman,
                // switch the part to "File" to upload one from disk.
                let value = if property["format"] == "binary" {
                    "url,slug,title,tags\nhttps://example.com/imported-1,,First import,imported\nhttps://example.com/imported-2,,Second import,imported\n"
                } else {
                    ""
                };
                json!({
                    "key": name,
                    "value": value,
                    "type": "text",
                    "contentType": "text/csv",
                    "description": text(property, "description"),
                })
            })
            .collect();
        Some(json!({"mode": "formdata", "formdata": fields}))
    } else {
        None
    }
}

/// The required fields of a JSON answer's schema (through `$ref` and `allOf`).
fn required_fields(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut fields: Vec<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        fields.extend(required_fields(doc, part));
    }
    fields
}

/// The test script: the expected status, a request id, the body's required fields (for an
/// error, its code among those documented for the status), and the step's captured
/// variables.
fn tests(doc: &Value, op: &Value, status: u16, step: Option<&Step>) -> Vec<String> {
    let mut tests = vec![format!("pm.test('answers {status}', () => pm.response.to.have.status({status}));")];
    tests.push(
        "pm.test('carries a request id', () => pm.response.to.have.header('x-request-id'));".to_owned(),
    );
    let response = resolve(doc, &op["responses"][status.to_string()]);
    let content = response["content"].as_object();
    let json = content.and_then(|c| c.get("application/json").or_else(|| c.get(crate::error::PROBLEM_JSON)));
    if let Some(json) = json {
        let fields = required_fields(doc, &json["schema"]);
        if !fields.is_empty() {
            tests.push(format!(
                "pm.test('the body has its required fields', () => pm.expect(pm.response.json()).to.include.all.keys({}));",
                serde_json::to_string(&fields).expect("JSON renders")
            ));
        }
        if status >= 400 {
            let codes: Vec<&String> =
                json["examples"].as_object().into_iter().flat_map(|e| e.keys()).collect();
            tests.push(format!(
                "pm.test('the problem names a documented code', () => pm.expect(pm.response.json().code).to.be.oneOf({}));",
                serde_json::to_string(&codes).expect("JSON renders")
            ));
        }
    }
    let captures = step.map(|s| s.captures).unwrap_or_default();
    if !captures.is_empty() {
        tests.push("const json = pm.response.json();".to_owned());
        for (variable, expression) in captures {
            tests.push(format!("pm.collectionVariables.set('{variable}', {expression});"));
        }
    }
    tests
}

/// The pre-request script: a disposable resource made first (so that this request never
/// takes away what others need), then the step's own lines.
fn pre_request(step: Option<&Step>, disposable: Option<&Disposable>) -> Vec<String> {
    let mut pre = Vec::new();
    if let Some(d) = disposable {
        let auth = if d.auth.is_empty() {
            String::new()
        } else {
            format!(", authorization: 'Bearer ' + pm.variables.get('{}')", d.auth)
        };
        let body = serde_json::to_string(&(d.body)()).expect("JSON renders");
        let target = if d.into_token { "disposableToken" } else { "disposableId" };
        pre.extend([
            "// Make something to remove, so that this request never takes away what others need.".to_owned(),
            "pm.sendRequest({".to_owned(),
            format!("  url: pm.variables.replaceIn('{{{{baseUrl}}}}{}'),", d.path),
            "  method: 'POST',".to_owned(),
            format!("  header: {{'content-type': 'application/json'{auth}}},"),
            format!(
                "  body: {{mode: 'raw', raw: pm.variables.replaceIn({})}},",
                serde_json::to_string(&body).expect("JSON renders")
            ),
            "}, (err, res) => {".to_owned(),
            "  pm.test('the disposable resource is created', () => {".to_owned(),
            "    pm.expect(err).to.equal(null);".to_owned(),
            "    pm.expect(res.code).to.be.oneOf([200, 201]);".to_owned(),
            "  });".to_owned(),
            format!("  pm.variables.set('{target}', res.json().{});", d.capture),
            "});".to_owned(),
        ]);
    }
    if let Some(extra) = step.map(|s| s.pre_request).filter(|s| !s.is_empty()) {
        pre.push(extra.to_owned());
    }
    pre
}

/// The Postman collection (v2.1) for the whole API, as pretty-printed JSON.
pub fn postman_collection(doc: &Value) -> String {
    let mut folders = Vec::new();
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = text(tag, "name");
        let mut ops: Vec<_> = operations(doc)
            .into_iter()
            .filter(|(_, _, op)| op["tags"].get(0).and_then(Value::as_str) == Some(name))
            .collect();
        if ops.is_empty() {
            continue;
        }
        // Dashboard routes before `/v1` ones (they make the key), then by kind of step, then
        // in the order of STEPS (sign up before signing in).
        ops.sort_by_key(|(method, path, op)| {
            let listed = STEPS.iter().position(|s| s.operation_id == text(op, "operationId"));
            (!path.starts_with("/api/developer"), rank(method, path), listed.unwrap_or(usize::MAX))
        });
        let items: Vec<Value> =
            ops.into_iter().map(|(method, path, op)| request_item(doc, method, path, op)).collect();
        folders.push(json!({"name": name, "description": text(tag, "description"), "item": items}));
    }

    let info = &doc["info"];
    let variable = |key: &str, value: &str, description: &str| json!({"key": key, "value": value, "type": "string", "description": description});
    let collection = json!({
        "info": {
            "name": text(info, "title"),
            "description": format!(
                "{}\n**Running it.** `newman run postman_collection.json --env-var baseUrl=http://127.0.0.1:8080` \
                 walks the whole API against a running server: it signs up (a new organisation per run), \
                 creates a full-access key, and each request stores what later ones need. Set `webhookUrl` \
                 to an endpoint on a public address you own (the server refuses private ones).",
                text(info, "description")
            ),
            "version": text(info, "version"),
            "schema": SCHEMA,
        },
        "auth": bearer("apiKey"),
        "event": [script("prerequest", &[
            "// One run, one organisation: unique email and hostnames.".to_owned(),
            "if (!pm.collectionVariables.get('runId')) {".to_owned(),
            "  pm.collectionVariables.set('runId', Date.now().toString(36) + Math.random().toString(36).slice(2, 6));".to_owned(),
            "}".to_owned(),
        ])],
        "variable": [
            variable("baseUrl", "http://127.0.0.1:8080", "The server's origin."),
            variable("apiKey", "", "An API key (`ptk_…`); the run creates one."),
            variable("sessionToken", "", "A dashboard session token (`pts_…`); sign-up or sign-in sets it."),
            variable("webhookUrl", "https://example.com/webhooks/portico", "Where test webhooks go: a public http(s) URL."),
            variable("runId", "", "Set by the run: makes emails and hostnames unique."),
        ],
        "item": folders,
    });
    let mut out = serde_json::to_string_pretty(&collection).expect("JSON renders");
    out.push('\n');
    out
}
