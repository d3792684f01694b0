//! The published OpenAPI 3.1 document, generated from the annotated handlers.
//!
//! [`document`] takes what utoipa collects from the handlers and finishes it in one pass:
//!
//! - every operation gets its error responses, all `application/problem+json` with the one
//!   shared [`Problem`] schema, grouped by status, each code listed with an example. The codes
//!   come from what the operation does — `internal` always; missing or invalid credentials
//!   when it has a security requirement; the body errors when it takes a body; `invalid_request`
//!   when it takes query parameters — plus the codes its handler lists in its
//!   `x-error-codes` extension. The complete list is left in `x-error-codes` for tools.
//! - [`check`] enforces the rules the SDK generator relies on: every operation has a unique
//!   snake_case `operationId` and at least one tag.
//!
//! `cargo xtask gen` writes [`document_json`] to `spec/openapi.json`; the server serves the same
//! bytes.

pub mod examples;
mod responses;
pub mod webhooks;

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorCode, FieldError, Problem};

/// The document's fixed parts: info, tags, shared schemas, security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico API",
        description = include_str!("intro.md"),
        contact(name = "Portico", url = "https://github.com/portico-dev/portico"),
    ),
    servers((url = "/", description = "The server that serves this document.")),
    components(schemas(
        Problem,
        FieldError,
        ErrorCode,
        crate::events::LinkCreatedData,
        crate::events::LinkDeletedData,
        crate::events::KeyRevokedData,
        crate::events::JobFinishedData,
        crate::events::PingData,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "account", description = "Dashboard accounts: sign up, sign in and out. Dashboard routes take a session token: `Authorization: Bearer pts_…`."),
        (name = "team", description = "An organisation's people: members and their roles (`owner`, `admin`, `developer`, `viewer`), invitations (`pti_…` tokens, shown once, valid 7 days), and the organisation's settings. What each role may do is each dashboard operation's `x-required-role`."),
        (name = "audit", description = "The audit log: who created, changed, rotated, blocked or revoked keys; invited, promoted or removed members; changed domains, webhook endpoints and settings; and every sign-in. Append-only, written with each change, never holding a secret; pages of JSON or an NDJSON export."),
        (name = "apikeys", description = "API keys: minted and managed in the dashboard (session); listed, introspected and revoked with a key under `/v1`. Keys look like `ptk_` + 49 letters and digits and are shown once."),
        (name = "domains", description = "Custom domains for short links. A hostname belongs to one organisation; the deployment's default domain needs no registration."),
        (name = "links", description = "Short links on custom domains: create, search, update (with `If-Match`), soft-delete, and click stats."),
        (name = "redirects", description = "The short links themselves (`/r/{slug}`): public redirects that count clicks."),
        (name = "jobs", description = "Async jobs (link imports): 202 at once, then poll until `succeeded` or `failed`."),
        (name = "webhooks", description = "Webhook endpoints: subscribe a URL to events (`job.succeeded`, `job.failed`, `link.created`, `link.deleted`, `key.revoked`) and receive deliveries signed per the Standard Webhooks spec, retried on a schedule, every attempt in a delivery log."),
        (name = "usage", description = "Usage per day (by route or status class), the monthly quota, and the request log of every `/v1` call."),
        (name = "playground", description = "Try `/v1` requests from the dashboard with a stored key, injected server-side: the browser never holds the key, and the call is metered like any other."),
        (name = "system", description = "Health, readiness and metrics for operators; the API's own documents for tools."),
    )
)]
struct BaseDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pts_…")
                    .description(Some(
                        "A dashboard session token from `POST /api/developer/login` or `/signup`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ptk_…")
                    .description(Some("An API key, as `Authorization: Bearer ptk_…`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "An API key, as `x-api-key: ptk_…` (an alternative to the bearer form).",
            ))),
        );
    }
}

/// The base document the router adds its paths to.
pub fn base() -> utoipa::openapi::OpenApi {
    BaseDoc::openapi()
}

/// The finished document.
pub fn document() -> Value {
    let (_, api) = crate::router::api_router().split_for_parts();
    let mut doc = serde_json::to_value(&api).expect("the OpenAPI document serialises");
    describe_error_codes(&mut doc);
    describe_auth(&mut doc);
    responses::share(&mut doc);
    name_lists(&mut doc);
    examples::add(&mut doc);
    webhooks::add(&mut doc);
    hoist_descriptions(&mut doc);
    let examples = doc["components"]["examples"].clone();
    for (_method, _path, op) in operations_mut(&mut doc) {
        describe_streams(op, &examples);
        sort_extensions(op);
    }
    prune_examples(&mut doc);
    either_or(&mut doc);
    doc
}

/// Rules between fields that a struct's annotations cannot state, stated in its schema.
fn either_or(doc: &mut Value) {
    // A key expires at a time or after a number of days, not both.
    if let Some(schema) =
        doc["components"]["schemas"].get_mut("CreateApiKeyRequest").and_then(Value::as_object_mut)
    {
        schema.insert("not".into(), json!({"required": ["expires_at", "expires_in_days"]}));
    }
}

/// Drops shared examples nothing refers to any more (a stream's example is inlined as text).
fn prune_examples(doc: &mut Value) {
    fn refs<'a>(value: &'a Value, out: &mut std::collections::HashSet<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                    out.insert(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let used: Vec<String> = {
        let mut found = std::collections::HashSet::new();
        refs(doc, &mut found);
        found
            .into_iter()
            .filter_map(|r| r.strip_prefix("#/components/examples/"))
            .map(str::to_owned)
            .collect()
    };
    if let Some(examples) = doc["components"].get_mut("examples").and_then(Value::as_object_mut) {
        examples.retain(|name, _| used.contains(name));
    }
}

/// An `application/x-ndjson` answer is a stream of items, not one: its body is text, one JSON
/// document per line, each an instance of `x-itemSchema` — OpenAPI 3.2's `itemSchema`, as an
/// extension in this 3.1 document. (Declared as the item's schema, tools validate the whole
/// stream as one object and type it as a union.)
fn describe_streams(op: &mut Map<String, Value>, examples: &Value) {
    let responses = op.get_mut("responses").and_then(Value::as_object_mut).into_iter().flatten();
    for (_status, response) in responses {
        let Some(media) =
            response.pointer_mut("/content/application~1x-ndjson").and_then(Value::as_object_mut)
        else {
            continue;
        };
        let Some(item) = media.remove("schema") else { continue };
        let name = item["$ref"].as_str().and_then(|r| r.rsplit('/').next()).unwrap_or("item").to_owned();
        media.insert(
            "schema".into(),
            json!({
                "type": "string",
                "description": format!("Newline-delimited JSON (NDJSON): one `{name}` per line (`x-itemSchema`), oldest first."),
            }),
        );
        media.insert("x-itemSchema".into(), item);
        // An example item becomes an example stream: its line.
        let example = match media.remove("examples") {
            Some(named) => named.as_object().and_then(|named| named.values().next()).map(|e| {
                let shared = e["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(|n| &examples[n]);
                shared.unwrap_or(e)["value"].clone()
            }),
            None => media.remove("example"),
        };
        if let Some(example) = example.filter(|e| !e.is_null()) {
            media.insert("example".into(), Value::String(format!("{example}\n")));
        }
    }
}

/// A wire name as a component name: `not_found` → `NotFound`, `link.created` → `LinkCreated`.
fn pascal(name: &str) -> String {
    name.split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// utoipa writes an optional reference's description inside its `oneOf` branch
/// (`{oneOf: [{$ref, description}, {type: null}]}`): lift it to the property, where readers
/// and tools look.
fn hoist_descriptions(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for schema in schemas.values_mut() {
        for property in schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            let Some(property) = property.as_object_mut() else { continue };
            if property.contains_key("description") {
                continue;
            }
            let branches = property.get_mut("oneOf").and_then(Value::as_array_mut).into_iter().flatten();
            let lifted = branches.filter_map(|b| b.as_object_mut()?.remove("description")).next();
            if let Some(description) = lifted {
                property.insert("description".into(), description);
            }
        }
    }
}

/// utoipa keeps extensions in a hash map: put them last, in name order, so the document is
/// byte-for-byte the same on every run.
fn sort_extensions(op: &mut Map<String, Value>) {
    let mut extensions: Vec<(String, Value)> = Vec::new();
    let names: Vec<String> = op.keys().filter(|k| k.starts_with("x-")).cloned().collect();
    for name in names {
        if let Some(value) = op.remove(&name) {
            extensions.push((name, value));
        }
    }
    extensions.sort_by(|a, b| a.0.cmp(&b.0));
    op.extend(extensions);
}

/// utoipa names a generic list `ListEnvelope_ApiKey`; the SDK reads better with `ApiKeyList`.
fn name_lists(doc: &mut Value) {
    fn rename(name: &str) -> Option<String> {
        name.strip_prefix("ListEnvelope_").map(|item| format!("{item}List"))
    }
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref")
                    && let Some(name) = reference.strip_prefix("#/components/schemas/").and_then(rename)
                {
                    *reference = format!("#/components/schemas/{name}");
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        let renamed: Vec<(String, Value)> = std::mem::take(schemas)
            .into_iter()
            .map(|(name, schema)| (rename(&name).unwrap_or(name), schema))
            .collect();
        schemas.extend(renamed);
        // utoipa inlines the item schema into each list; point at the named schema instead,
        // so that clients see one `Link` type, not a `Link` and a `LinkListDataItem`.
        let names: Vec<String> = schemas.keys().filter(|n| n.ends_with("List")).cloned().collect();
        for name in names {
            let item = name.trim_end_matches("List");
            let Some(named) = schemas.get(item).cloned() else { continue };
            if let Some(items) = schemas.get_mut(&name).and_then(|s| s.pointer_mut("/properties/data/items"))
                && *items == named
            {
                *items = json!({ "$ref": format!("#/components/schemas/{item}") });
            }
        }
    }
}

/// A `$ref`ed object (`#/components/…`) resolved in `doc`, or the value itself.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).unwrap_or(value),
        None => value,
    }
}

/// The finished document as the bytes that are served and committed (see [`render`]), with
/// a final newline. Deterministic: the same code always produces the same bytes.
pub fn document_json() -> String {
    render(&document())
}

/// A document as served and committed bytes: each operation, each component and each
/// webhook on a line of its own, compact within — a third the size of pretty-printing (for
/// the tools, the LLMs and the wire), and still one line of diff per changed operation.
/// `jq .` prints it in full.
pub fn render(doc: &Value) -> String {
    /// Objects above this depth are laid out one entry per line.
    const EXPANDED: usize = 3;
    fn write(out: &mut String, value: &Value, depth: usize) {
        match value {
            Value::Object(map) if depth < EXPANDED && !map.is_empty() => {
                out.push_str("{\n");
                for (i, (key, child)) in map.iter().enumerate() {
                    out.push_str(&" ".repeat(depth + 1));
                    out.push_str(&serde_json::to_string(key).expect("a key serialises"));
                    out.push(':');
                    write(out, child, depth + 1);
                    out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(depth));
                out.push('}');
            }
            other => out.push_str(&serde_json::to_string(other).expect("the OpenAPI document serialises")),
        }
    }
    let mut text = String::new();
    write(&mut text, doc, 0);
    text.push('\n');
    text
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every operation, in document order: (method, path, operation).
pub fn operations(doc: &Value) -> Vec<(&'static str, &str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method, path.as_str(), op));
            }
        }
    }
    out
}

fn operations_mut(doc: &mut Value) -> impl Iterator<Item = (&String, &String, &mut Map<String, Value>)> {
    doc["paths"].as_object_mut().into_iter().flat_map(|paths| {
        paths.iter_mut().flat_map(|(path, item)| {
            item.as_object_mut().into_iter().flat_map(move |item| {
                item.iter_mut()
                    .filter(|(method, _)| METHODS.contains(&method.as_str()))
                    .filter_map(move |(method, op)| op.as_object_mut().map(|op| (method, path, op)))
            })
        })
    })
}

/// The security schemes an operation (as JSON) accepts.
pub fn operation_schemes(op: &Value) -> Vec<&str> {
    op.as_object().map(schemes).unwrap_or_default()
}

/// The security schemes an operation accepts.
/// Whether the operation takes an API key: a `/v1` operation (the `/v1` route group declares
/// it, see [`crate::router::Audience`]), metered and scoped by the pipeline.
pub fn takes_api_key(op: &Value) -> bool {
    op.as_object().is_some_and(|op| schemes(op).contains(&"api_key"))
}

/// Whether the operation takes a dashboard session (the dashboard route group declares it):
/// one whose `x-required-role` the dashboard's layer enforces.
pub fn takes_session(op: &Value) -> bool {
    op.as_object().is_some_and(|op| schemes(op).contains(&"session_token"))
}

fn schemes(op: &Map<String, Value>) -> Vec<&str> {
    op.get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|req| req.keys().map(String::as_str))
        .collect()
}

/// Ends each operation's description with how to authenticate (and, for `/v1`, the scope),
/// so that every reader of the spec — people, Swagger UI, LLM tools — sees it.
fn describe_auth(doc: &mut Value) {
    for (_method, _path, op) in operations_mut(doc) {
        let schemes = schemes(op);
        let line = if schemes.contains(&"api_key") {
            match op.get("x-required-scope").and_then(Value::as_str) {
                Some("any") | None => "**Authentication:** any valid API key.".to_owned(),
                Some(scope) => {
                    format!("**Authentication:** an API key with the `{scope}` scope (or `full_access`).")
                }
            }
        } else if schemes.contains(&"session_token") {
            match op.get("x-required-role").and_then(Value::as_str) {
                Some("viewer") | None => {
                    "**Authentication:** a dashboard session (`Authorization: Bearer pts_…`), any role."
                        .to_owned()
                }
                Some(role) => format!(
                    "**Authentication:** a dashboard session (`Authorization: Bearer pts_…`) of a member whose role is `{role}` or higher."
                ),
            }
        } else {
            "**Authentication:** none.".to_owned()
        };
        let description = op.get("description").and_then(Value::as_str).unwrap_or("");
        let description = if description.is_empty() { line } else { format!("{description}\n\n{line}") };
        op.insert("description".into(), Value::String(description));
    }
}

fn describe_error_codes(doc: &mut Value) {
    // The meaning of each code is written once, in the shared error responses that list it
    // (`components/responses`) and in the errors guide; here, the codes and their statuses.
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|code| format!("`{}` ({})", code.as_str(), code.status().as_u16()))
        .collect();
    let text = format!(
        "A stable, machine-readable error code. The known codes, with the status each is answered with: {}. \
         What each means is in the error responses that list it and in /docs/guides/errors.md.",
        codes.join(", ")
    );
    if let Some(schema) = doc.pointer_mut("/components/schemas/ErrorCode").and_then(Value::as_object_mut) {
        schema.insert("description".into(), Value::String(text));
    }
}

/// What is wrong with a document, for the SDK generator's sake: operations without a unique
/// snake_case id or without a tag. Empty when all is well.
pub fn check(doc: &Value) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    let empty = Map::new();
    for (_method, path, op) in operations(doc) {
        let op = op.as_object().unwrap_or(&empty);
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
        let snake = !id.is_empty()
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !id.starts_with('_');
        if !snake {
            problems.push(format!("{path}: operationId {id:?} is not snake_case"));
        }
        if !seen.insert(id.to_owned()) {
            problems.push(format!("{path}: operationId {id:?} is used twice"));
        }
        let tagged = op.get("tags").and_then(Value::as_array).is_some_and(|t| !t.is_empty());
        if !tagged {
            problems.push(format!("{path}: operation {id:?} has no tag"));
        }
        // The pipeline scopes exactly the operations that take an API key, and all of them
        // live under `/v1`.
        let scope = op.get("x-required-scope").and_then(Value::as_str);
        match (schemes(op).contains(&"api_key"), path.starts_with("/v1/")) {
            (true, true) if scope.and_then(crate::keys::RequiredScope::parse).is_none() => {
                problems.push(format!("{path}: /v1 operation {id:?} declares no valid x-required-scope"));
            }
            (true, true) => {}
            (true, false) => problems.push(format!("{path}: operation {id:?} takes an API key outside /v1")),
            (false, true) => problems.push(format!("{path}: /v1 operation {id:?} does not take an API key")),
            (false, false) if scope.is_some() => {
                problems.push(format!("{path}: operation {id:?} declares a scope but takes no API key"))
            }
            (false, false) => {}
        }
        // The dashboard's layer enforces the role of exactly the operations that take a
        // session.
        let role = op.get("x-required-role");
        match (schemes(op).contains(&"session_token"), role) {
            (true, Some(role)) if role.as_str().and_then(crate::accounts::Role::parse).is_some() => {}
            (true, _) => {
                problems.push(format!("{path}: session operation {id:?} declares no valid x-required-role"))
            }
            (false, Some(_)) => {
                problems.push(format!("{path}: operation {id:?} declares a role but takes no session"))
            }
            (false, None) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_passes_its_own_rules() {
        let doc = document();
        assert_eq!(check(&doc), Vec::<String>::new());
        assert_eq!(doc["openapi"], "3.1.0");
    }

    #[test]
    fn every_write_that_honours_idempotency_keys_and_preconditions_declares_them() {
        let doc = document();
        let declares = |op: &Value, name: &str| {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["$ref"] == format!("#/components/parameters/{name}"))
        };
        for (method, path, op) in operations(&doc) {
            let v1 = op.get("x-required-scope").is_some() && (method == "post" || method == "patch");
            let creates = op["responses"].get("201").is_some() || op["responses"].get("202").is_some();
            let dashboard = op.get("x-required-role").is_some() && method == "post" && creates;
            assert_eq!(
                declares(op, "IdempotencyKey"),
                v1 || dashboard,
                "{method} {path} and Idempotency-Key"
            );
        }
        // Every change of a resource that has an ETag evaluates If-Match.
        for (method, path) in [
            ("delete", "/v1/links/{id}"),
            ("patch", "/v1/links/{id}"),
            ("delete", "/v1/apikeys/{id}"),
            ("delete", "/api/developer/apikeys/{id}"),
            ("patch", "/api/developer/apikeys/{id}"),
            ("post", "/api/developer/apikeys/{id}/rotate"),
            ("patch", "/v1/webhooks/{id}"),
            ("delete", "/v1/webhooks/{id}"),
            ("patch", "/api/developer/webhooks/{id}"),
            ("delete", "/api/developer/webhooks/{id}"),
            ("patch", "/api/developer/organization"),
        ] {
            assert!(declares(&doc["paths"][path][method], "IfMatch"), "{method} {path} evaluates If-Match");
        }
    }

    #[test]
    fn every_error_response_is_problem_json_with_the_shared_schema() {
        let doc = document();
        let mut count = 0;
        for (_method, path, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = resolve(&doc, response);
                // The one exception: a missing short link is a page for people, not an API error.
                let for_people = response["content"].get("text/html").is_some() && path == "/r/{slug}";
                if (status.starts_with('4') || status.starts_with('5')) && !for_people {
                    let schema = &response["content"][crate::error::PROBLEM_JSON]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Problem", "{path} {status}");
                    assert!(response["headers"]["x-request-id"].is_object(), "{path} {status}");
                    count += 1;
                }
            }
            assert!(op["responses"].get("500").is_some(), "{path} documents no 500");
        }
        assert!(count > 0);
    }

    #[test]
    fn session_routes_document_their_auth_errors() {
        let doc = document();
        let me = &doc["paths"]["/api/developer/me"]["get"];
        let codes: Vec<&str> =
            me["x-error-codes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(codes, ["invalid_request", "missing_credentials", "invalid_session", "internal"]);
        assert_eq!(
            me["responses"]["401"]["$ref"],
            "#/components/responses/MissingCredentialsOrInvalidSession"
        );
        let signup = &doc["paths"]["/api/developer/signup"]["post"];
        let invalid = resolve(&doc, &signup["responses"]["422"]);
        assert!(invalid["description"].as_str().unwrap().contains("validation_failed"));
        assert!(signup["responses"]["409"].is_object());
        assert_eq!(signup["security"], json!([]), "public operations say so");
    }

    #[test]
    fn limits_and_retries_are_declared_on_429() {
        let doc = document();
        let create = &doc["paths"]["/v1/links"]["post"];
        let limited = resolve(&doc, &create["responses"]["429"]);
        assert_eq!(limited["headers"]["retry-after"]["$ref"], "#/components/headers/RetryAfter");
        let created = &create["responses"]["201"]["headers"];
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "RateLimit",
            "x-api-calls-remaining",
            "x-request-id",
        ] {
            assert!(created[name]["$ref"].is_string(), "{name}");
        }
        let get = &doc["paths"]["/v1/links/{id}"]["get"];
        assert!(get["responses"]["304"].is_object());
        assert!(
            get["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["$ref"] == "#/components/parameters/IfNoneMatch")
        );
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(value: &Value, doc: &Value, broken: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(reference)) = map.get("$ref") {
                        let pointer = reference.trim_start_matches('#');
                        if doc.pointer(pointer).is_none() {
                            broken.push(reference.clone());
                        }
                    }
                    map.values().for_each(|v| walk(v, doc, broken));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc, broken)),
                _ => {}
            }
        }
        let doc = document();
        let mut broken = Vec::new();
        walk(&doc, &doc, &mut broken);
        assert_eq!(broken, Vec::<String>::new());
    }

    /// Every example in the document — of a response, a request body, a parameter — is valid
    /// against the schema it illustrates.
    #[test]
    fn the_examples_match_their_schemas() {
        let doc = document();
        let validate = |schema: &Value, example: &Value, what: &str| {
            let mut root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "components": doc["components"]});
            for (k, v) in schema.as_object().into_iter().flatten() {
                root[k] = v.clone();
            }
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .expect("the schema compiles");
            let errors: Vec<String> =
                validator.iter_errors(example).map(|e| format!("{}: {e}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{what}: {errors:?}");
        };
        let mut checked = 0;
        for (method, path, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = resolve(&doc, response);
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    let what = format!("{method} {path} {status} {media}");
                    for example in
                        content["examples"].as_object().into_iter().flatten().map(|(_, e)| resolve(&doc, e))
                    {
                        validate(&content["schema"], &example["value"], &what);
                        checked += 1;
                    }
                    if let Some(example) = content.get("example") {
                        if media.contains("json") {
                            validate(&content["schema"], example, &what);
                        }
                        checked += 1;
                    }
                    if status.starts_with('2') {
                        assert!(
                            content.get("example").is_some() || content.get("examples").is_some(),
                            "{what}: no example"
                        );
                    }
                }
            }
            for param in op["parameters"].as_array().into_iter().flatten().map(|p| resolve(&doc, p)) {
                let what = format!("{method} {path} parameter {}", param["name"]);
                match param.get("example") {
                    Some(example) => validate(&param["schema"], example, &what),
                    None => assert_ne!(param["in"], "path", "{what}: a path parameter needs an example"),
                }
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if let Some(example) = schema.get("example") {
                validate(&json!({"$ref": format!("#/components/schemas/{name}")}), example, name);
                checked += 1;
            }
        }
        assert!(checked > 60, "{checked} examples");
    }

    #[test]
    fn every_operation_and_property_is_described() {
        let doc = document();
        let mut missing = Vec::new();
        for (method, path, op) in operations(&doc) {
            if op["description"].as_str().is_none_or(|d| d.starts_with("**Authentication")) {
                missing.push(format!("{method} {path}"));
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            let parts = std::iter::once(schema).chain(schema["allOf"].as_array().into_iter().flatten());
            for part in parts {
                for (field, property) in part["properties"].as_object().into_iter().flatten() {
                    if property.get("description").is_none() {
                        missing.push(format!("{name}.{field}"));
                    }
                }
            }
        }
        assert_eq!(missing, Vec::<String>::new());
    }

    /// The document was 534,312 bytes for 56 operations when every operation carried its own
    /// copy of the error responses; the contract for tools and LLMs must stay under a third of
    /// that per operation, however many operations the API grows. Code samples live in
    /// `/openapi.samples.json`, not here.
    #[test]
    fn the_document_stays_under_a_third_of_its_old_size_per_operation() {
        let size = document_json().len();
        let count = operations(&document()).len();
        assert!(size * 56 * 3 < 534_312 * count, "spec/openapi.json is {size} bytes for {count} operations");
    }

    #[test]
    fn webhooks_document_every_event_with_its_payload_and_signature_headers() {
        let doc = document();
        for event in crate::events::EventType::ALL.iter().map(|e| e.as_str()).chain(["ping"]) {
            let post = &doc["webhooks"][event]["post"];
            let schema = resolve(&doc, &post["requestBody"]["content"]["application/json"]["schema"]);
            assert_eq!(schema["properties"]["type"]["const"], event);
            let data = resolve(&doc, &schema["properties"]["data"]);
            assert!(data["properties"].as_object().is_some_and(|p| !p.is_empty()), "{event}");
            let headers: Vec<&str> = post["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| resolve(&doc, p)["name"].as_str().unwrap())
                .collect();
            assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"]);
        }
    }

    #[test]
    fn the_document_is_deterministic() {
        assert_eq!(document_json(), document_json());
    }
}
