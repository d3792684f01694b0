//! Code samples for every operation, generated from the spec: curl, JavaScript (`fetch`),
//! Python (`requests`) and Rust (`portico-sdk`). Each reads the server's origin and the
//! credential from the environment (`PORTICO_URL`, and `PORTICO_API_KEY` or
//! `PORTICO_SESSION`), fills path parameters, `If-Match` and the body from the spec's
//! examples, and prints what came back. They appear in the document Redoc and Scalar read
//! (`x-codeSamples`), on the markdown pages, in `llms-full.txt` and on the dashboard's docs
//! page. CI compiles every Rust sample (`tests/src/samples.rs`, written by `cargo xtask gen`)
//! and runs the Python samples of a representative set against a live server.

use serde_json::{Value, json};

use super::{example_body, text};

/// One sample: the language (as Redoc and Scalar name it), a label, the source.
pub struct Sample {
    pub lang: &'static str,
    pub label: &'static str,
    pub source: String,
}

/// What a sample needs to know of an operation.
struct Call {
    method: String,
    /// The path with its parameters filled in from their examples.
    path: String,
    credential: Option<&'static str>,
    if_match: Option<String>,
    json: Option<Value>,
    multipart: bool,
    /// The request body's schema name, for the Rust type.
    body_type: Option<String>,
    /// Whether the success answer is JSON.
    answers_json: bool,
    operation_id: String,
    path_params: Vec<(String, String)>,
}

fn call(doc: &Value, method: &str, path: &str, op: &Value) -> Call {
    let mut filled = path.to_owned();
    let mut path_params = Vec::new();
    let mut if_match = None;
    for param in op["parameters"].as_array().into_iter().flatten() {
        let param = crate::openapi::resolve(doc, param);
        let example = param.get("example").and_then(Value::as_str).unwrap_or_default().to_owned();
        match text(param, "in") {
            "path" => {
                filled = filled.replace(&format!("{{{}}}", text(param, "name")), &example);
                path_params.push((text(param, "name").to_owned(), example));
            }
            "header" if text(param, "name").eq_ignore_ascii_case("if-match") => if_match = Some(example),
            _ => {}
        }
    }
    let schemes = crate::openapi::operation_schemes(op);
    let credential = if schemes.contains(&"api_key") {
        Some("PORTICO_API_KEY")
    } else if schemes.contains(&"session_token") {
        Some("PORTICO_SESSION")
    } else {
        None
    };
    let content = op["requestBody"]["content"].as_object();
    let json_schema = content.and_then(|c| c.get("application/json")).map(|j| &j["schema"]);
    let multipart = content.is_some_and(|c| c.contains_key("multipart/form-data")) && json_schema.is_none();
    let answers_json = op["responses"].as_object().into_iter().flatten().any(|(status, response)| {
        status.starts_with('2')
            && crate::openapi::resolve(doc, response)["content"].get("application/json").is_some()
    });
    Call {
        method: method.to_uppercase(),
        path: filled,
        credential,
        if_match,
        json: json_schema.map(|schema| example_body(doc, schema)),
        multipart,
        body_type: json_schema
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_owned),
        answers_json,
        operation_id: text(op, "operationId").to_owned(),
        path_params,
    }
}

/// The four samples of an operation.
pub fn samples(doc: &Value, method: &str, path: &str, op: &Value) -> Vec<Sample> {
    let call = call(doc, method, path, op);
    vec![
        Sample { lang: "Shell", label: "curl", source: curl(&call) },
        Sample { lang: "JavaScript", label: "fetch", source: javascript(&call) },
        Sample { lang: "Python", label: "requests", source: python(&call) },
        Sample { lang: "Rust", label: "portico-sdk", source: rust(&call) },
    ]
}

/// The samples as `x-codeSamples`.
pub fn code_samples(doc: &Value, method: &str, path: &str, op: &Value) -> Value {
    let samples = samples(doc, method, path, op);
    Value::Array(
        samples.into_iter().map(|s| json!({"lang": s.lang, "label": s.label, "source": s.source})).collect(),
    )
}

fn curl(call: &Call) -> String {
    let mut parts = vec![format!("curl -X {} \"$PORTICO_URL{}\"", call.method, call.path)];
    if let Some(credential) = call.credential {
        parts.push(format!("-H \"authorization: Bearer ${credential}\""));
    }
    if let Some(tag) = &call.if_match {
        parts.push(format!("-H 'if-match: {tag}'"));
    }
    if call.multipart {
        parts.push("-F \"file=@links.csv\"".into());
    }
    if let Some(body) = &call.json {
        parts.push("-H \"content-type: application/json\"".into());
        parts.push(format!("-d '{body}'"));
    }
    parts.join(" \\\n  ")
}

fn javascript(call: &Call) -> String {
    let mut headers = Vec::new();
    if let Some(credential) = call.credential {
        headers.push(format!("authorization: `Bearer ${{process.env.{credential}}}`"));
    }
    if let Some(tag) = &call.if_match {
        headers.push(format!("\"if-match\": {}", json!(tag)));
    }
    let mut options = vec![format!("method: \"{}\"", call.method)];
    let mut setup = String::new();
    if call.multipart {
        setup = "const form = new FormData();\nform.append(\"file\", new Blob([\"url,slug\\nhttps://example.com/a,a\\n\"], {type: \"text/csv\"}), \"links.csv\");\n".into();
        options.push("body: form".into());
    }
    if let Some(body) = &call.json {
        headers.push("\"content-type\": \"application/json\"".into());
        options.push(format!("body: JSON.stringify({body})"));
    }
    if !headers.is_empty() {
        options.insert(1, format!("headers: {{{}}}", headers.join(", ")));
    }
    let read = if call.answers_json { "await response.json()" } else { "await response.text()" };
    format!(
        "{setup}const response = await fetch(`${{process.env.PORTICO_URL}}{}`, {{\n  {},\n}});\nconsole.log(response.status, {read});",
        call.path,
        options.join(",\n  "),
    )
}

fn python(call: &Call) -> String {
    let mut args = vec![format!("f\"{{os.environ['PORTICO_URL']}}{}\"", call.path)];
    let mut headers = Vec::new();
    if let Some(credential) = call.credential {
        headers.push(format!("\"authorization\": f\"Bearer {{os.environ['{credential}']}}\""));
    }
    if let Some(tag) = &call.if_match {
        headers.push(format!("\"if-match\": {}", json!(tag)));
    }
    if !headers.is_empty() {
        args.push(format!("headers={{{}}}", headers.join(", ")));
    }
    if call.multipart {
        args.push(
            "files={\"file\": (\"links.csv\", b\"url,slug\\nhttps://example.com/a,a\\n\", \"text/csv\")}"
                .into(),
        );
    }
    if let Some(body) = &call.json {
        args.push(format!("json={}", python_literal(body)));
    }
    args.push("allow_redirects=False".into());
    let read = if call.answers_json { "response.json()" } else { "response.text" };
    format!(
        "import os\n\nimport requests\n\nresponse = requests.{}(\n    {},\n)\nresponse.raise_for_status()\nprint(response.status_code, {read})",
        call.method.to_lowercase(),
        args.join(",\n    "),
    )
}

/// A JSON value as a Python literal (`null` → `None`, `true` → `True`).
fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Array(items) => {
            format!("[{}]", items.iter().map(python_literal).collect::<Vec<_>>().join(", "))
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", json!(k), python_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn rust(call: &Call) -> String {
    let client = match call.credential {
        Some("PORTICO_API_KEY") => {
            "Client::with_api_key(&std::env::var(\"PORTICO_URL\")?, &std::env::var(\"PORTICO_API_KEY\")?)?"
        }
        Some(_) => {
            "Client::with_session_token(&std::env::var(\"PORTICO_URL\")?, &std::env::var(\"PORTICO_SESSION\")?)?"
        }
        None => "Client::anonymous(&std::env::var(\"PORTICO_URL\")?)?",
    };
    let uses = if call.body_type.is_some() {
        "use portico_sdk::{Client, types};"
    } else {
        "use portico_sdk::Client;"
    };
    let mut lines = vec![uses.to_owned(), String::new(), format!("let client = {client};")];
    let id = call.operation_id.as_str();
    if id == "link_import" {
        lines.push("let csv = \"url,slug\\nhttps://example.com/a,a\\n\";".into());
        lines.push("let response = client.link_import(\"links.csv\", csv, None).await?;".into());
        lines.push("println!(\"{:#?}\", response.into_inner());".into());
        return lines.join("\n");
    }
    if id == "link_redirect" {
        let slug = call.path_params.first().map(|(_, v)| v.as_str()).unwrap_or("launch");
        lines.push(format!("let redirect = client.link_redirect(\"{slug}\", None).await?;"));
        lines.push("println!(\"{redirect:#?}\");".into());
        return lines.join("\n");
    }
    if let (Some(body), Some(body_type)) = (&call.json, &call.body_type) {
        let pretty = serde_json::to_string(body).unwrap_or_default();
        lines.push(format!(
            "let body: types::{body_type} = serde_json::from_value(serde_json::json!({pretty}))?;"
        ));
    }
    let mut chain = format!("let response = client.{id}()");
    for (name, value) in &call.path_params {
        chain.push_str(&format!(".{name}(\"{value}\")"));
    }
    if let Some(tag) = &call.if_match {
        chain.push_str(&format!(".if_match({})", json!(tag)));
    }
    if call.json.is_some() {
        chain.push_str(".body(body)");
    }
    chain.push_str(".send().await?;");
    lines.push(chain);
    if call.answers_json {
        lines.push("println!(\"{:#?}\", response.into_inner());".into());
    } else {
        lines.push("println!(\"{}\", response.status());".into());
    }
    lines.join("\n")
}

/// The document with every operation's samples as `x-codeSamples` (Redoc, Scalar): served at
/// `/openapi.samples.json` and written to `spec/openapi.samples.json`. `/openapi.json` leaves
/// them out, to stay small for the tools and LLMs that read the contract.
pub fn with_code_samples(doc: &Value) -> Value {
    let mut out = doc.clone();
    for (method, path, op) in crate::openapi::operations(doc) {
        let samples = code_samples(doc, method, path, op);
        if let Some(target) = out["paths"][path][method].as_object_mut() {
            target.insert("x-codeSamples".into(), samples);
        }
    }
    out
}
