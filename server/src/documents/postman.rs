//! The Postman collection (v2.1), generated from the OpenAPI document.
//!
//! One folder per tag, one request per operation. The collection is safe to run on a real
//! account: it uses the `apiKey` (and, for dashboard routes, the `sessionToken`) it is given
//! and never replaces them; every folder runs alone, making what it acts on first and deleting
//! it last, so a run leaves the organisation as it found it. Signing up is the separate
//! *Demo organisation* folder, which runs only when `demo` is `true`: it signs up a throwaway
//! organisation and stores its session and a full-access key for the folders after it.
//! Dashboard requests skip themselves when no `sessionToken` is set, so an integrator with
//! only a key runs the collection green. Every request asserts the status the spec promises,
//! a request id and the body's required fields (for an error, a documented `code`).
//!
//! What is specific to this API's workflow — which response fields feed which variables, the
//! values that must be unique per run, the set-up and clean-up around each folder — is in
//! [`STEPS`], [`FOLDERS`] and [`DEMO`]; everything else (folders, names, descriptions, auth,
//! parameters, example bodies, expected statuses) comes from the document.

use serde_json::{Value, json};

use super::{example_body, resolve, text};
use crate::openapi::{operation_schemes, operations};

const SCHEMA: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

/// What the collection does around one operation beyond what the spec says.
#[derive(Clone, Copy)]
struct Step {
    operation_id: &'static str,
    /// Merged over the spec's example body (top-level keys; `null` removes one).
    body: Option<fn() -> Value>,
    /// Query parameters sent, with these values.
    query: &'static [(&'static str, &'static str)],
    /// The variable behind the path's id, when not the resource's own (`linkId`…).
    path_id: Option<&'static str>,
    /// The variable holding the bearer token, when not the operation's usual credential.
    token: Option<&'static str>,
    /// Collection variables set from the JSON response: `(variable, expression on json)`.
    captures: &'static [(&'static str, &'static str)],
    /// Create something to act on first; the request's path id then points at it
    /// (`{{disposableId}}`).
    disposable: Option<Disposable>,
    /// Conditions (JavaScript) the request runs under, each with why it is skipped otherwise.
    runs_if: &'static [(&'static str, &'static str)],
    /// Extra lines of the pre-request script.
    pre_request: &'static str,
    /// Extra lines of the test script.
    tests: &'static str,
}

impl Step {
    const fn of(operation_id: &'static str) -> Step {
        Step {
            operation_id,
            body: None,
            query: &[],
            path_id: None,
            token: None,
            captures: &[],
            disposable: None,
            runs_if: &[],
            pre_request: "",
            tests: "",
        }
    }
}

#[derive(Clone, Copy)]
struct Disposable {
    path: &'static str,
    /// The variable holding the credential that creates it.
    auth: &'static str,
    body: fn() -> Value,
    /// The response field that names what was made.
    capture: &'static str,
}

/// A request a folder makes around its own operations: an operation with a name and step of
/// its own (a set-up that makes what the folder acts on, a clean-up that deletes it).
struct Extra {
    name: &'static str,
    step: Step,
}

/// The set-up and clean-up requests of one folder.
struct Folder {
    tag: &'static str,
    setup: &'static [Extra],
    teardown: &'static [Extra],
}

/// Signing in needs the account's password, which a session token does not give.
const HAS_PASSWORD: (&str, &str) =
    ("pm.variables.get('email') && pm.variables.get('password')", "signing in needs `email` and `password`");
const HAS_SESSION: (&str, &str) =
    ("pm.variables.get('sessionToken')", "a dashboard request needs a `sessionToken`");
const DEMO_ASKED: (&str, &str) =
    ("pm.variables.get('demo') === 'true'", "set `demo` to `true` to sign up a demo organisation");

const LINK_CREATE: Step = Step {
    // Slugs are unique on a domain: one per run, on the default domain.
    body: Some(|| json!({"slug": "postman-{{runId}}", "domain": null})),
    captures: &[("linkId", "json.id"), ("slug", "json.slug")],
    ..Step::of("link_create")
};

const LINK_IMPORT: Step = Step { captures: &[("jobId", "json.id")], ..Step::of("link_import") };

/// The tag every imported link carries, so that the clean-up finds them.
const IMPORT_TAG: &str = "postman-import-{{runId}}";

const KEY_INTROSPECT: Step = Step { captures: &[("ownKeyId", "json.id")], ..Step::of("key_introspect") };

/// Signing up: only in the demo folder, only when asked.
const SIGNUP: Step = Step {
    body: Some(|| json!({"email": "postman-{{runId}}@example.com"})),
    captures: &[("sessionToken", "json.token")],
    runs_if: &[DEMO_ASKED],
    tests: "const sent = JSON.parse(pm.variables.replaceIn(pm.request.body.raw));\n\
            pm.collectionVariables.set('email', sent.email);\n\
            pm.collectionVariables.set('password', sent.password);",
    ..Step::of("account_signup")
};

/// The demo's second person (their own organisation), whom the team folder invites in.
const SIGNUP_INVITEE: Step = Step {
    body: Some(
        || json!({"email": "postman-{{runId}}-invitee@example.com", "organization_name": "Postman invitee {{runId}}"}),
    ),
    captures: &[("inviteeToken", "json.token")],
    runs_if: &[DEMO_ASKED],
    ..Step::of("account_signup")
};

const HAS_INVITEE: (&str, &str) = (
    "pm.collectionVariables.get('inviteeToken')",
    "accepting needs the demo's second person (`demo` = `true`)",
);
const HAS_MEMBER: (&str, &str) =
    ("pm.collectionVariables.get('memberId')", "no second member joined (`demo` = `true` invites one)");

/// The team folder's set-up: an invitation for the demo's second person, whom accepting
/// makes the member the folder changes and removes.
const INVITE_INVITEE: Step = Step {
    body: Some(|| json!({"email": "postman-{{runId}}-invitee@example.com", "role": "viewer"})),
    captures: &[("inviteeInvitation", "json.token")],
    runs_if: &[HAS_INVITEE],
    ..Step::of("invitation_create")
};

const STEPS: &[Step] = &[
    SIGNUP,
    Step {
        // The invited person accepts, signed in to their own organisation.
        operation_id: "invitation_accept",
        body: Some(|| json!({"token": "{{inviteeInvitation}}"})),
        token: Some("inviteeToken"),
        captures: &[("memberId", "json.user.id")],
        runs_if: &[HAS_INVITEE],
        ..Step::of("invitation_accept")
    },
    Step {
        // An invitation the folder revokes again.
        operation_id: "invitation_create",
        body: Some(|| json!({"email": "postman-{{runId}}-colleague@example.com", "role": "developer"})),
        captures: &[("invitationId", "json.invitation.id")],
        ..Step::of("invitation_create")
    },
    Step {
        operation_id: "member_update",
        body: Some(|| json!({"role": "developer"})),
        runs_if: &[HAS_MEMBER],
        ..Step::of("member_update")
    },
    Step { runs_if: &[HAS_MEMBER], ..Step::of("member_remove") },
    Step {
        // The settings as they are: renamed to the name it has, nothing else sent.
        operation_id: "organization_get",
        captures: &[("organizationName", "json.name")],
        ..Step::of("organization_get")
    },
    Step {
        operation_id: "organization_update",
        body: Some(
            || json!({"name": "{{organizationName}}", "monthly_quota": null, "default_rate_limit_rpm": null}),
        ),
        ..Step::of("organization_update")
    },
    Step { captures: &[("organizationId", "json.organization.id")], ..Step::of("account_get") },
    Step {
        // Switching to the organisation the session is in: it stays where it is.
        operation_id: "account_switch_organization",
        body: Some(|| json!({"organization_id": "{{organizationId}}"})),
        ..Step::of("account_switch_organization")
    },
    Step {
        // A session of its own, which sign-out then ends: the given one is never touched.
        operation_id: "session_create",
        body: Some(|| json!({"email": "{{email}}", "password": "{{password}}"})),
        captures: &[("signedInToken", "json.token")],
        runs_if: &[HAS_PASSWORD],
        pre_request: "pm.collectionVariables.unset('signedInToken');",
        ..Step::of("session_create")
    },
    Step {
        operation_id: "session_delete",
        token: Some("signedInToken"),
        runs_if: &[("pm.collectionVariables.get('signedInToken')", "sign-in was skipped")],
        ..Step::of("session_delete")
    },
    Step {
        // A key of the folder's own, to read, change, rotate and revoke.
        operation_id: "apikey_create",
        body: Some(
            || json!({"name": "Postman {{runId}}", "scopes": ["links:read"], "domains": [], "allowed_ips": []}),
        ),
        captures: &[("apiKeyId", "json.id")],
        ..Step::of("apikey_create")
    },
    Step {
        operation_id: "apikey_update",
        body: Some(|| json!({"name": "Postman {{runId}} (renamed)", "allowed_ips": []})),
        ..Step::of("apikey_update")
    },
    KEY_INTROSPECT,
    // The key making the call, which it may read.
    Step { path_id: Some("ownKeyId"), ..Step::of("v1_apikey_get") },
    Step {
        operation_id: "v1_apikey_revoke",
        disposable: Some(Disposable {
            path: "/api/developer/apikeys",
            auth: "sessionToken",
            body: || json!({"name": "Postman {{runId}} (to revoke)", "scopes": ["links:read"]}),
            capture: "id",
        }),
        ..Step::of("v1_apikey_revoke")
    },
    Step {
        // Hostnames are unique across the deployment: one per run.
        operation_id: "domain_create",
        body: Some(|| json!({"hostname": "go-{{runId}}.example.com"})),
        captures: &[("domainId", "json.id")],
        ..Step::of("domain_create")
    },
    Step {
        operation_id: "dashboard_domain_create",
        body: Some(|| json!({"hostname": "dash-{{runId}}.example.com"})),
        captures: &[("domainId", "json.id")],
        ..Step::of("dashboard_domain_create")
    },
    LINK_CREATE,
    Step {
        operation_id: "link_update",
        body: Some(|| json!({"slug": "postman-{{runId}}-renamed"})),
        captures: &[("slug", "json.slug")],
        ..Step::of("link_update")
    },
    LINK_IMPORT,
    Step {
        operation_id: "webhook_create",
        // Webhook URLs must resolve to a public address; set `webhookUrl` to one you own.
        body: Some(|| json!({"url": "{{webhookUrl}}"})),
        captures: &[("webhookId", "json.id")],
        ..Step::of("webhook_create")
    },
    Step {
        operation_id: "dashboard_webhook_create",
        body: Some(|| json!({"url": "{{webhookUrl}}"})),
        captures: &[("webhookId", "json.id")],
        ..Step::of("dashboard_webhook_create")
    },
    // A test ping makes the delivery that the delivery routes read and resend.
    Step { captures: &[("deliveryId", "json.delivery_id")], ..Step::of("webhook_test") },
    Step { captures: &[("deliveryId", "json.delivery_id")], ..Step::of("dashboard_webhook_test") },
    Step {
        // A read through the playground, with the key the collection is given.
        operation_id: "playground_test",
        body: Some(
            || json!({"api_key_id": "{{ownKeyId}}", "method": "GET", "endpoint": "/v1/links", "headers": {}, "query": {"limit": "5"}, "body": null}),
        ),
        ..Step::of("playground_test")
    },
    Step {
        // The request log is written in batches within about a second of each request.
        operation_id: "request_list",
        captures: &[("requestId", "json.data[0].id")],
        pre_request: "setTimeout(() => {}, 1500);",
        ..Step::of("request_list")
    },
    Step {
        operation_id: "dashboard_request_list",
        captures: &[("requestId", "json.data[0].id")],
        pre_request: "setTimeout(() => {}, 1500);",
        ..Step::of("dashboard_request_list")
    },
];

/// Waits (at most 10 s) for the import job to finish, so that every link it made is listed.
const WAIT_FOR_IMPORT: &str = "\
const waitForJob = (attempt) => pm.sendRequest({
  url: pm.variables.replaceIn('{{baseUrl}}/v1/jobs/{{jobId}}'),
  header: {authorization: 'Bearer ' + pm.variables.get('apiKey')},
}, (err, res) => {
  const status = !err && res.code === 200 ? res.json().status : 'unknown';
  if (!['succeeded', 'failed'].includes(status) && attempt < 50) {
    setTimeout(() => waitForJob(attempt + 1), 200);
  } else {
    pm.test('the import has finished', () => pm.expect(status).to.be.oneOf(['succeeded', 'failed']));
  }
});
waitForJob(0);";

/// Deletes every link the answer lists.
const DELETE_LISTED_LINKS: &str = "\
pm.response.json().data.forEach((link) => pm.sendRequest({
  url: pm.variables.replaceIn('{{baseUrl}}/v1/links/') + link.id,
  method: 'DELETE',
  header: {authorization: 'Bearer ' + pm.variables.get('apiKey')},
}, (err, res) => pm.test('an imported link is deleted', () => pm.expect(res && res.code).to.equal(204))));";

/// After an import: its links, found by their tag, deleted.
const DELETE_IMPORTED: Extra = Extra {
    name: "Clean up: delete the imported links",
    step: Step {
        query: &[("tag", IMPORT_TAG), ("limit", "100")],
        pre_request: WAIT_FOR_IMPORT,
        tests: DELETE_LISTED_LINKS,
        ..Step::of("link_list")
    },
};

const FOLDERS: &[Folder] = &[
    Folder { tag: "links", setup: &[], teardown: &[DELETE_IMPORTED] },
    Folder {
        tag: "redirects",
        setup: &[Extra { name: "Set up: a link to follow", step: LINK_CREATE }],
        teardown: &[Extra { name: "Clean up: delete the link", step: Step::of("link_delete") }],
    },
    Folder {
        tag: "jobs",
        setup: &[Extra { name: "Set up: an import to follow", step: LINK_IMPORT }],
        teardown: &[DELETE_IMPORTED],
    },
    Folder {
        tag: "team",
        setup: &[Extra { name: "Set up: invite the demo's second person", step: INVITE_INVITEE }],
        teardown: &[],
    },
    Folder {
        tag: "playground",
        setup: &[Extra { name: "Set up: which key this is", step: KEY_INTROSPECT }],
        teardown: &[],
    },
];

/// The folder that signs up, only when asked (`demo` = `true`).
const DEMO: &[Extra] = &[
    Extra { name: "Sign up a demo organisation", step: SIGNUP },
    Extra {
        name: "Create the demo's full-access key",
        step: Step {
            body: Some(
                || json!({"name": "Postman demo {{runId}}", "scopes": ["full_access"], "domains": [], "allowed_ips": []}),
            ),
            captures: &[("apiKey", "json.key")],
            runs_if: &[DEMO_ASKED],
            ..Step::of("apikey_create")
        },
    },
    Extra { name: "Sign up a second person, to invite", step: SIGNUP_INVITEE },
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
        Some("invitations") => "invitationId",
        Some("members") => "memberId",
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
    // What a request under a resource made (a webhook's deliveries) exists only after it.
    if path.matches('{').count() > 1 {
        return 4;
    }
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

/// One request of the collection: the operation at `method path`, with its step (the
/// collection's default for the operation, or a set-up's or clean-up's own) and a name.
fn request_item(doc: &Value, method: &str, path: &str, op: &Value, step: &Step, name: Option<&str>) -> Value {
    let (query, variables, mut headers) = parameters(doc, path, op, step);
    let mut request = json!({
        "method": method.to_ascii_uppercase(),
        "description": text(op, "description"),
    });
    // Auth: API-key operations inherit the collection's; the others say what they take.
    match (step.token, credential(op)) {
        (Some(variable), _) => request["auth"] = bearer(variable),
        (None, Some("apiKey")) => {}
        (None, Some(variable)) => request["auth"] = bearer(variable),
        (None, None) => request["auth"] = json!({"type": "noauth"}),
    }
    if let Some(body) = request_body(doc, op, step, &mut headers) {
        request["body"] = body;
    }
    request["header"] = Value::Array(headers);
    request["url"] = url(path, query, variables);

    let status = expected_status(op);
    let mut events = Vec::new();
    let pre = pre_request(op, step);
    if !pre.is_empty() {
        events.push(script("prerequest", &pre));
    }
    events.push(script("test", &tests(doc, op, status, step)));

    let name = name.or_else(|| op.get("summary").and_then(Value::as_str)).unwrap_or(step.operation_id);
    let mut item = json!({"name": name, "request": request, "event": events});
    if (300..400).contains(&status) {
        // Show the redirect itself rather than where it points.
        item["protocolProfileBehavior"] = json!({"followRedirects": false});
    }
    item
}

/// The operation's parameters as Postman has them: `(query, path variables, headers)`.
fn parameters(doc: &Value, path: &str, op: &Value, step: &Step) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let mut query = Vec::new();
    let mut variables = Vec::new();
    let mut headers = Vec::new();
    for parameter in op["parameters"].as_array().into_iter().flatten() {
        let parameter = resolve(doc, parameter);
        let name = text(parameter, "name");
        let description = text(parameter, "description");
        match text(parameter, "in") {
            "path" => {
                let value = match name {
                    _ if step.disposable.is_some() => "{{disposableId}}".to_owned(),
                    "slug" => "{{slug}}".to_owned(),
                    "delivery_id" => "{{deliveryId}}".to_owned(),
                    // A name, not an id: its example names a real document.
                    "page" => parameter["example"].as_str().unwrap_or_default().to_owned(),
                    _ => format!("{{{{{}}}}}", step.path_id.unwrap_or_else(|| id_variable(path))),
                };
                variables.push(json!({"key": name, "value": value, "description": description}));
            }
            "query" => {
                let given =
                    step.query.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned());
                let required = parameter["required"].as_bool().unwrap_or(false);
                query.push(json!({
                    "key": name,
                    "disabled": !required && given.is_none(),
                    "value": given.unwrap_or_else(|| parameter_value(doc, parameter)),
                    "description": description,
                }));
            }
            "header" => {
                // Optional headers are shown, off: `Host` would pick a custom domain the
                // account may not have, `Idempotency-Key` is a fresh guid when switched on.
                let value = match name.to_ascii_lowercase().as_str() {
                    "idempotency-key" => "{{$guid}}".to_owned(),
                    _ => parameter_value(doc, parameter),
                };
                headers
                    .push(json!({"key": name, "value": value, "description": description, "disabled": true}));
            }
            _ => {}
        }
    }
    (query, variables, headers)
}

/// The rows the import uploads: tagged so that the clean-up finds the links they make.
fn import_csv() -> String {
    format!(
        "url,slug,title,tags\nhttps://example.com/imported-1,,First import,{IMPORT_TAG}\n\
         https://example.com/imported-2,,Second import,{IMPORT_TAG}\n"
    )
}

/// The request body — JSON from the schema's example (with the step's own fields), or a
/// multipart form — adding the `Content-Type` header JSON needs.
fn request_body(doc: &Value, op: &Value, step: &Step, headers: &mut Vec<Value>) -> Option<Value> {
    let content = &op["requestBody"]["content"];
    if let Some(media) = content.get("application/json") {
        let mut body = example_body(doc, &media["schema"]);
        if let (Some(extra), Value::Object(fields)) = (step.body, &mut body) {
            for (key, value) in extra().as_object().into_iter().flatten() {
                match value {
                    Value::Null => fields.remove(key),
                    _ => fields.insert(key.clone(), value.clone()),
                };
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
                let value = if property["format"] == "binary" { import_csv() } else { String::new() };
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
/// error, its code among those documented for the status), the step's captured variables
/// and its own lines.
fn tests(doc: &Value, op: &Value, status: u16, step: &Step) -> Vec<String> {
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
    if !step.captures.is_empty() {
        tests.push("const json = pm.response.json();".to_owned());
        for (variable, expression) in step.captures {
            tests.push(format!("pm.collectionVariables.set('{variable}', {expression});"));
        }
    }
    tests.extend(step.tests.lines().filter(|l| !l.is_empty()).map(str::to_owned));
    tests
}

/// The pre-request script: skip the request when a condition it runs under does not hold;
/// otherwise make the disposable resource it removes (so that it never takes away what
/// others need), then the step's own lines.
fn pre_request(op: &Value, step: &Step) -> Vec<String> {
    let mut body = Vec::new();
    if let Some(d) = &step.disposable {
        let body_json = serde_json::to_string(&(d.body)()).expect("JSON renders");
        body.extend([
            "// Make something to remove, so that this request never takes away what others need.".to_owned(),
            "pm.sendRequest({".to_owned(),
            format!("  url: pm.variables.replaceIn('{{{{baseUrl}}}}{}'),", d.path),
            "  method: 'POST',".to_owned(),
            format!(
                "  header: {{'content-type': 'application/json', authorization: 'Bearer ' + pm.variables.get('{}')}},",
                d.auth
            ),
            format!(
                "  body: {{mode: 'raw', raw: pm.variables.replaceIn({})}},",
                serde_json::to_string(&body_json).expect("JSON renders")
            ),
            "}, (err, res) => {".to_owned(),
            "  pm.test('the disposable resource is created', () => {".to_owned(),
            "    pm.expect(err).to.equal(null);".to_owned(),
            "    pm.expect(res.code).to.be.oneOf([200, 201]);".to_owned(),
            "  });".to_owned(),
            format!("  pm.variables.set('disposableId', res.json().{});", d.capture),
            "});".to_owned(),
        ]);
    }
    body.extend(step.pre_request.lines().map(str::to_owned));

    let mut conditions: Vec<(&str, &str)> = step.runs_if.to_vec();
    let needs_session = step.token.is_none() && credential(op) == Some("sessionToken")
        || step.disposable.is_some_and(|d| d.auth == "sessionToken");
    if needs_session {
        conditions.push(HAS_SESSION);
    }
    if conditions.is_empty() {
        return body;
    }
    let mut pre = vec!["const unmet = [".to_owned()];
    for (condition, reason) in conditions {
        pre.push(format!("  [{condition}, {}],", serde_json::to_string(reason).expect("JSON renders")));
    }
    pre.extend([
        "].find(([met]) => !met);".to_owned(),
        "if (unmet) {".to_owned(),
        "  console.info(`Skipped: ${unmet[1]}.`);".to_owned(),
        "  pm.execution.skipRequest();".to_owned(),
        "} else {".to_owned(),
    ]);
    pre.extend(body.into_iter().map(|line| format!("  {line}")));
    pre.push("}".to_owned());
    pre
}

/// The request of a set-up or clean-up.
fn extra_item(doc: &Value, extra: &Extra) -> Value {
    let (method, path, op) = operations(doc)
        .into_iter()
        .find(|(_, _, op)| text(op, "operationId") == extra.step.operation_id)
        .unwrap_or_else(|| panic!("no operation {}", extra.step.operation_id));
    request_item(doc, method, path, op, &extra.step, Some(extra.name))
}

/// Whether an operation runs only in the demo folder (signing up).
fn demo_only(operation_id: &str) -> bool {
    STEPS.iter().any(|s| s.operation_id == operation_id && s.runs_if.contains(&DEMO_ASKED))
}

/// The Postman collection (v2.1) for the whole API, as pretty-printed JSON.
pub fn postman_collection(doc: &Value) -> String {
    let mut folders = vec![json!({
        "name": "Demo organisation",
        "description": "Runs only when `demo` is `true` (otherwise both requests are skipped): signs up a \
            throwaway organisation and stores its session in `sessionToken`, its email and password, and \
            a new full-access key in `apiKey`, for the folders after it. With newman, name it with the \
            folders to run: `--env-var demo=true --folder \"Demo organisation\" --folder links`.",
        "item": DEMO.iter().map(|extra| extra_item(doc, extra)).collect::<Vec<_>>(),
    })];
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = text(tag, "name");
        let mut ops: Vec<_> = operations(doc)
            .into_iter()
            .filter(|(_, _, op)| op["tags"].get(0).and_then(Value::as_str) == Some(name))
            .filter(|(_, _, op)| !demo_only(text(op, "operationId")))
            .collect();
        if ops.is_empty() {
            continue;
        }
        // Dashboard routes before `/v1` ones, then by kind of step (creation first,
        // destruction last), then in the order of STEPS (sign in before signing out).
        ops.sort_by_key(|(method, path, op)| {
            let listed = STEPS.iter().position(|s| s.operation_id == text(op, "operationId"));
            (!path.starts_with("/api/developer"), rank(method, path), listed.unwrap_or(usize::MAX))
        });
        let plan = FOLDERS.iter().find(|f| f.tag == name);
        let mut items: Vec<Value> =
            plan.into_iter().flat_map(|f| f.setup).map(|e| extra_item(doc, e)).collect();
        for (method, path, op) in ops {
            let operation_id = text(op, "operationId");
            let default = Step::of("");
            let step = STEPS.iter().find(|s| s.operation_id == operation_id).unwrap_or(&default);
            items.push(request_item(doc, method, path, op, step, None));
        }
        items.extend(plan.into_iter().flat_map(|f| f.teardown).map(|e| extra_item(doc, e)));
        folders.push(json!({"name": name, "description": text(tag, "description"), "item": items}));
    }

    let info = &doc["info"];
    let variable = |key: &str, value: &str, description: &str| json!({"key": key, "value": value, "type": "string", "description": description});
    let collection = json!({
        "info": {
            "name": text(info, "title"),
            "description": format!(
                "{}\n**Running it on your account.** Set `baseUrl`, `apiKey` (a key with the scopes the \
                 folders use; `full_access` covers them all) and, for the dashboard routes, `sessionToken` \
                 in an environment, then run the collection or any one folder: \
                 `newman run postman_collection.json --env-var baseUrl=… --env-var apiKey=ptk_… \
                 --env-var sessionToken=pts_…`. Your key and session are used, never replaced; each folder \
                 makes what it acts on and deletes it before it ends, so the organisation is left as it was \
                 (job records and the request log remain, as they do for every call). Without a \
                 `sessionToken` the dashboard requests are skipped; sign-in runs when `email` and \
                 `password` are set.\n\n\
                 **A demo organisation.** Only when `demo` is `true` does the first folder sign up a new \
                 organisation and use its session and a new full-access key.\n\n\
                 Set `webhookUrl` to an endpoint on a public address you own (the server refuses private \
                 ones).",
                text(info, "description")
            ),
            "version": text(info, "version"),
            "schema": SCHEMA,
        },
        "auth": bearer("apiKey"),
        "event": [script("prerequest", &[
            "// One run, one set of names: unique slugs, hostnames and emails.".to_owned(),
            "if (!pm.collectionVariables.get('runId')) {".to_owned(),
            "  pm.collectionVariables.set('runId', Date.now().toString(36) + Math.random().toString(36).slice(2, 6));".to_owned(),
            "}".to_owned(),
        ])],
        "variable": [
            variable("baseUrl", "http://127.0.0.1:8080", "The server's origin."),
            variable("apiKey", "", "Your API key (`ptk_…`), used as given."),
            variable("sessionToken", "", "Your dashboard session token (`pts_…`), for the dashboard routes; without one they are skipped."),
            variable("email", "", "Your sign-in email: with `password`, sign-in and sign-out run (on a session of their own)."),
            variable("password", "", "Your password (keep it in an environment's current value, not here)."),
            variable("demo", "false", "`true` signs up a demo organisation first and runs against it."),
            variable("webhookUrl", "https://example.com/webhooks/portico", "Where test webhooks go: a public http(s) URL."),
            variable("runId", "", "Set by the run: makes slugs, hostnames and emails unique."),
        ],
        "item": folders,
    });
    let mut out = serde_json::to_string_pretty(&collection).expect("JSON renders");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection() -> Value {
        serde_json::from_str(&postman_collection(&crate::openapi::document()))
            .expect("the collection is JSON")
    }

    fn items(folder: &Value) -> &[Value] {
        folder["item"].as_array().map(Vec::as_slice).unwrap_or_default()
    }

    /// `METHOD path/with/:vars` of a request.
    fn route(item: &Value) -> String {
        let request = &item["request"];
        let path: Vec<&str> =
            request["url"]["path"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        format!("{} {}", text(request, "method"), path.join("/"))
    }

    fn scripts(item: &Value, kind: &str) -> String {
        let events = item["event"].as_array().unwrap();
        let event = events.iter().find(|e| e["listen"] == kind);
        event
            .map(|e| {
                e["script"]["exec"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    fn is_extra(item: &Value) -> bool {
        let name = text(item, "name");
        name.starts_with("Set up: ") || name.starts_with("Clean up: ")
    }

    #[test]
    fn every_operation_is_one_request_of_the_folder_of_its_tag() {
        let doc = crate::openapi::document();
        let collection = collection();
        let mut routes: Vec<String> = collection["item"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|folder| items(folder).iter().filter(|item| !is_extra(item)))
            .map(route)
            .collect();
        routes.sort();
        let mut expected: Vec<String> = operations(&doc)
            .into_iter()
            .map(|(method, path, _)| {
                let path = path.trim_start_matches('/').replace('{', ":").replace('}', "");
                format!("{} {path}", method.to_ascii_uppercase())
            })
            .collect();
        // The demo folder's key is a second `POST /api/developer/apikeys`, and the person it
        // signs up to invite a second sign-up.
        expected.push("POST api/developer/apikeys".to_owned());
        expected.push("POST api/developer/signup".to_owned());
        expected.sort();
        assert_eq!(routes, expected);
    }

    #[test]
    fn only_the_demo_folder_signs_up_or_sets_the_credentials_and_only_when_asked() {
        let collection = collection();
        let demo = &collection["item"][0];
        assert_eq!(demo["name"], "Demo organisation");
        assert_eq!(route(&items(demo)[0]), "POST api/developer/signup");
        for folder in collection["item"].as_array().unwrap() {
            let demo = folder["name"] == "Demo organisation";
            for item in items(folder) {
                let (pre, tests) = (scripts(item, "prerequest"), scripts(item, "test"));
                let sets_credentials = ["apiKey", "sessionToken"]
                    .iter()
                    .any(|v| tests.contains(&format!("collectionVariables.set('{v}'")));
                let signs_up = route(item) == "POST api/developer/signup";
                assert!(demo || !sets_credentials, "{}", text(item, "name"));
                assert!(demo || !signs_up, "{}", text(item, "name"));
                assert_eq!(
                    demo,
                    pre.contains("pm.variables.get('demo') === 'true'"),
                    "{}",
                    text(item, "name")
                );
            }
        }
    }

    #[test]
    fn every_folder_deletes_what_it_creates() {
        // What a request makes, and the request that takes it away again.
        let made_and_gone = [
            ("POST v1/links", "DELETE v1/links/:id"),
            ("POST v1/domains", "DELETE v1/domains/:id"),
            ("POST api/developer/domains", "DELETE api/developer/domains/:id"),
            ("POST v1/webhooks", "DELETE v1/webhooks/:id"),
            ("POST api/developer/webhooks", "DELETE api/developer/webhooks/:id"),
            ("POST api/developer/apikeys", "DELETE api/developer/apikeys/:id"),
            ("POST api/developer/login", "POST api/developer/logout"),
            ("POST api/developer/invitations", "DELETE api/developer/invitations/:id"),
            ("POST api/developer/invitations/accept", "DELETE api/developer/members/:user_id"),
            ("POST v1/links/import", "GET v1/links"),
        ];
        let collection = collection();
        for folder in
            collection["item"].as_array().unwrap().iter().filter(|f| f["name"] != "Demo organisation")
        {
            let routes: Vec<(String, &Value)> =
                items(folder).iter().map(|item| (route(item), item)).collect();
            for (position, (made, _)) in routes.iter().enumerate() {
                let Some((_, gone)) = made_and_gone.iter().find(|(m, _)| m == made) else { continue };
                let cleaned = routes[position + 1..].iter().any(|(route, item)| {
                    route == gone
                        && (!made.ends_with("import") || scripts(item, "test").contains("method: 'DELETE'"))
                });
                assert!(cleaned, "folder {}: `{made}` is not undone by a later `{gone}`", folder["name"]);
            }
        }
    }

    #[test]
    fn dashboard_requests_skip_themselves_without_a_session() {
        let collection = collection();
        for folder in collection["item"].as_array().unwrap() {
            for item in items(folder) {
                let auth = item["request"]["auth"]["bearer"][0]["value"].as_str().unwrap_or("");
                let pre = scripts(item, "prerequest");
                let needs_session =
                    auth == "{{sessionToken}}" || pre.contains("pm.variables.get('sessionToken')");
                if needs_session {
                    assert!(pre.contains("[pm.variables.get('sessionToken'), "), "{}", text(item, "name"));
                    assert!(pre.contains("pm.execution.skipRequest()"), "{}", text(item, "name"));
                }
            }
        }
    }
}
