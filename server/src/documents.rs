//! Documents generated from the OpenAPI document, for tools that are not OpenAPI-aware:
//! `llms.txt` (the llmstxt.org index), `llms-full.txt` (every operation in full) and the
//! Postman collection. `cargo xtask gen` writes them to `spec/`; the server renders the same
//! bytes at start-up.

mod postman;

use std::fmt::Write as _;

use serde_json::Value;

use crate::openapi::operations;

pub use postman::postman_collection;

/// A string field of a JSON object, or "".
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The first line of a description, without the markdown line breaks of the rest.
fn one_line(s: &str) -> String {
    s.split("\n\n").next().unwrap_or("").replace('\n', " ").trim().to_owned()
}

/// The anchor of an operation in Swagger UI (`/docs/#/{tag}/{operationId}`).
fn link(op: &Value) -> String {
    let tag = op["tags"].get(0).and_then(Value::as_str).unwrap_or("default");
    format!("/docs/#/{tag}/{}", text(op, "operationId"))
}

/// `llms.txt`, per llmstxt.org: an H1, a blockquote summary, notes, one H2 section per tag of
/// `- [name](url): notes` items, and an `## Optional` section.
pub fn llms_txt(doc: &Value) -> String {
    let mut out = String::new();
    out.push_str("# Portico\n\n");
    out.push_str(
        "> The Portico API: short links on custom domains (links, domains, redirects, click stats), \
         with API keys, usage, async CSV imports and signed webhooks. Base URL: the server's origin \
         (e.g. http://127.0.0.1:8080). Auth: `/v1/*` takes an API key (`Authorization: Bearer ptk_…` or \
         `x-api-key`), `/api/developer/*` a dashboard session (`Bearer pts_…`). Errors are RFC 9457 \
         problem+json with a stable `code`. Lists take `limit` (1–100, default 20) and `offset` and \
         answer `{data, total, limit, offset}`. Rate limits are per key (`x-ratelimit-*` headers, 429 \
         `rate_limited` with `retry-after`); POST and PATCH accept `Idempotency-Key`.\n\n",
    );
    out.push_str(
        "Every operation below links to its entry in the Swagger UI; `/llms-full.txt` describes each \
         in full (parameters, schemas, error codes, a curl example) and `/openapi.json` is the \
         OpenAPI 3.1 document they all come from. Scopes: a key needs the scope an operation names; \
         `full_access` grants all, `…:write` grants `…:read`.\n",
    );
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = text(tag, "name");
        let ops: Vec<_> = operations(doc)
            .into_iter()
            .filter(|(_, _, op)| op["tags"].get(0).and_then(Value::as_str) == Some(name))
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = write!(out, "\n## {name}\n\n");
        for (method, path, op) in ops {
            let scope = op
                .get("x-required-scope")
                .and_then(Value::as_str)
                .map(|s| format!(" (scope: {s})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- [{}]({}): {} {path} — {}{scope}",
                text(op, "summary"),
                link(op),
                method.to_uppercase(),
                one_line(text(op, "description")),
            );
        }
    }
    out.push_str("\n## Optional\n\n");
    out.push_str(
        "- [llms-full.txt](/llms-full.txt): every operation in full, with schemas and curl examples\n",
    );
    out.push_str("- [OpenAPI document](/openapi.json): the OpenAPI 3.1 document (also at /api/v1/openapi)\n");
    out.push_str("- [Swagger UI](/docs/): try every operation in the browser\n");
    out.push_str(
        "- [Postman collection](/postman.json): every operation with example bodies and tests, runnable with newman\n",
    );
    out
}

/// `llms-full.txt`: every operation in full, then every schema, readable with no other context.
pub fn llms_full_txt(doc: &Value) -> String {
    let mut out = llms_txt(doc).split("\n## ").next().unwrap_or("").to_owned();
    out.push_str("\nThis file describes every operation of the API in full, then every schema they use.\n");
    for (method, path, op) in operations(doc) {
        let method = method.to_uppercase();
        let _ = write!(out, "\n## {method} {path} — {}\n\n", text(op, "summary"));
        let _ = writeln!(
            out,
            "Operation id: `{}`. Tag: `{}`.\n",
            text(op, "operationId"),
            op["tags"][0].as_str().unwrap_or("")
        );
        let _ = writeln!(out, "{}\n", text(op, "description").trim());
        let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
        if !params.is_empty() {
            out.push_str("Parameters:\n");
            for p in params {
                let _ = writeln!(
                    out,
                    "- `{}` ({}, {}{}): {}",
                    text(p, "name"),
                    text(p, "in"),
                    schema_name(&p["schema"]),
                    if p["required"] == true { ", required" } else { "" },
                    one_line(text(p, "description")),
                );
            }
            out.push('\n');
        }
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for (media, body) in content {
                let _ = writeln!(out, "Request body ({media}): {}\n", schema_name(&body["schema"]));
            }
        }
        out.push_str("Responses:\n");
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            let schemas: Vec<String> = response["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(media, c)| format!("{media} {}", schema_name(&c["schema"])))
                .collect();
            let what = if status.starts_with('2') || status.starts_with('3') {
                one_line(text(response, "description"))
            } else {
                "error (see codes below)".to_owned()
            };
            let _ = writeln!(
                out,
                "- {status}: {what}{}",
                if schemas.is_empty() { String::new() } else { format!(" — {}", schemas.join(", ")) }
            );
        }
        let codes: Vec<&str> =
            op["x-error-codes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if !codes.is_empty() {
            let _ = writeln!(
                out,
                "\nError codes: {}.",
                codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            );
        }
        let _ = writeln!(out, "\nExample:\n\n```sh\n{}\n```", curl(doc, &method, path, op));
    }
    out.push_str("\n## Schemas\n");
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "\n### {name}\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(schema).unwrap_or_default()
        );
    }
    out
}

/// A schema's name (`ApiKey`), or its type (`string`, `array of Link`).
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    match &schema["type"] {
        Value::String(t) if t == "array" => format!("array of {}", schema_name(&schema["items"])),
        Value::String(t) => t.clone(),
        Value::Array(types) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        _ => "object".to_owned(),
    }
}

/// A curl command for an operation, with the request body's example.
fn curl(doc: &Value, method: &str, path: &str, op: &Value) -> String {
    let mut parts = vec![format!("curl -X {method} \"$BASE{path}\"")];
    let schemes = crate::openapi::operation_schemes(op);
    if schemes.contains(&"api_key") {
        parts.push("-H \"authorization: Bearer $PORTICO_API_KEY\"".into());
    } else if schemes.contains(&"session_token") {
        parts.push("-H \"authorization: Bearer $PORTICO_SESSION\"".into());
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        if content.contains_key("multipart/form-data") {
            parts.push("-F \"file=@links.csv\"".into());
        } else if let Some(json) = content.get("application/json") {
            let example = example_body(doc, &json["schema"]);
            parts.push("-H \"content-type: application/json\"".into());
            parts.push(format!("-d '{example}'"));
        }
    }
    parts.join(" \\\n  ")
}

/// Follows a local `$ref` (`#/components/…`).
pub(crate) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).unwrap_or(value),
        None => value,
    }
}

/// The example of a request body's schema: its own `example`, or one built from the
/// examples, defaults and enums of its properties.
pub(crate) fn example_body(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    let mut body = serde_json::Map::new();
    let required: Vec<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let property = resolve(doc, property);
        let value = property
            .get("example")
            .or_else(|| property.get("default"))
            .or_else(|| property["enum"].get(0))
            .cloned();
        match value {
            Some(value) => {
                body.insert(name.clone(), value);
            }
            None if required.contains(&name.as_str()) => {
                body.insert(name.clone(), Value::String(String::new()));
            }
            None => {}
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llms_txt_follows_the_llmstxt_grammar() {
        let doc = crate::openapi::document();
        let text = llms_txt(&doc);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("# Portico"));
        assert_eq!(lines.next(), Some(""));
        assert!(lines.next().unwrap().starts_with("> "));
        // Only H2 sections after the H1, every list item a link with notes, Optional last.
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(sections.last(), Some(&"## Optional"));
        assert!(!text.lines().any(|l| l.starts_with("### ") || l.starts_with("# ") && l != "# Portico"));
        for item in text.lines().filter(|l| l.starts_with("- ")) {
            assert!(item.starts_with("- [") && item.contains("](") && item.contains("): "), "{item}");
        }
        assert!(text.contains("- [Create a link](/docs/#/links/link_create): POST /v1/links — "));
    }

    #[test]
    fn llms_full_txt_has_every_operation_with_a_curl_example() {
        let doc = crate::openapi::document();
        let full = llms_full_txt(&doc);
        for (method, path, _) in operations(&doc) {
            assert!(full.contains(&format!("## {} {path} — ", method.to_uppercase())), "{method} {path}");
        }
        assert!(full.contains("curl -X POST \"$BASE/v1/links\""));
        assert!(full.contains("### Problem"));
    }
}
