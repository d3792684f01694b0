//! Documents generated from the OpenAPI document, for tools that are not OpenAPI-aware:
//! `llms.txt` (the llmstxt.org index), `llms-full.txt` (every operation in full) and the
//! Postman collection. `cargo xtask gen` writes them to `spec/`; the server renders the same
//! bytes at start-up.

mod permissions;
mod postman;
mod published;
pub mod samples;

use std::fmt::Write as _;

use serde_json::Value;

use crate::openapi::operations;

pub use postman::postman_collection;
pub use published::{Library, Published};

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
const MARKDOWN: &str = "text/markdown; charset=utf-8";

/// Every published document, by the path it is served at.
pub use permissions::permissions_md;

pub fn library(doc: &Value) -> Library {
    let mut library = Library::default();
    library.insert("/openapi.json", Published::new(JSON, crate::openapi::render(doc)));
    library.insert("/llms.txt", Published::new(TEXT, llms_txt(doc)));
    library.insert("/llms-full.txt", Published::new(TEXT, llms_full_txt(doc)));
    library.insert("/postman.json", Published::new(JSON, postman_collection(doc)));
    library.insert(
        "/openapi.samples.json",
        Published::new(JSON, crate::openapi::render(&samples::with_code_samples(doc))),
    );
    for (method, path, op) in operations(doc) {
        library.insert(page_path(op), Published::new(MARKDOWN, operation_page(doc, method, path, op)));
    }
    for (name, _, body) in GUIDES {
        library.insert(format!("/docs/guides/{name}.md"), Published::new(MARKDOWN, served_guide(body)));
    }
    library
}

/// A guide as the server serves it: its links to other guides work there (`keys.md`), its
/// links to files of the repository (`../server/src/router.rs`) would not — they become the
/// text with the file named, `router (server/src/router.rs in the repository)`.
fn served_guide(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("](../") {
        let Some(open) = rest[..at].rfind('[') else { break };
        let Some(end) = rest[at..].find(')').map(|e| at + e) else { break };
        let (text, target) = (&rest[open + 1..at], &rest[at + 5..end]);
        out.push_str(&rest[..open]);
        out.push_str(&format!("{text} (`{target}` in the repository)"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A string field of a JSON object, or "".
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The first line of a description, without the markdown line breaks of the rest.
fn one_line(s: &str) -> String {
    s.split("\n\n").next().unwrap_or("").replace('\n', " ").trim().to_owned()
}

/// The markdown page of an operation, as linked from `llms.txt`.
pub fn page_path(op: &Value) -> String {
    format!("/docs/md/{}.md", text(op, "operationId"))
}

/// The guides in `docs/`, served as markdown at `/docs/guides/{name}.md`: (name, title, text).
pub const GUIDES: &[(&str, &str, &str)] = &[
    ("getting-started", "Getting started", include_str!("../../../docs/getting-started.md")),
    ("integrating", "Integrating", include_str!("../../../docs/integrating.md")),
    ("keys", "API keys", include_str!("../../../docs/keys.md")),
    ("links", "Links and domains", include_str!("../../../docs/links.md")),
    ("webhooks", "Webhooks", include_str!("../../../docs/webhooks.md")),
    ("errors", "Errors", include_str!("../../../docs/errors.md")),
    ("usage-and-limits", "Usage and limits", include_str!("../../../docs/usage-and-limits.md")),
    ("dashboard", "The dashboard", include_str!("../../../docs/dashboard.md")),
    ("teams", "Teams and the audit log", include_str!("../../../docs/teams.md")),
    ("permissions", "Roles and permissions", include_str!("../../../docs/permissions.md")),
    ("deploying", "Deploying", include_str!("../../../docs/deploying.md")),
    ("operating", "Operating", include_str!("../../../docs/operating.md")),
    ("architecture", "Architecture", include_str!("../../../docs/architecture.md")),
    ("performance", "Performance", include_str!("../../../docs/performance.md")),
];

/// The sections of a guide from `## {from}` up to the next `## ` heading.
fn guide_section(guide: &str, heading: &str) -> String {
    let (_, _, body) = GUIDES.iter().find(|(name, _, _)| *name == guide).expect("a known guide");
    let start = body
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("docs/{guide}.md has no section {heading:?}"));
    let rest = &body[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].trim_end().to_owned()
}

/// `llms.txt`, per llmstxt.org: an H1, a blockquote summary, notes, one H2 section per tag of
/// `- [name](url): notes` items, the guides, and an `## Optional` section. Every link is to
/// markdown the server serves: an LLM that follows one gets text, not a JavaScript shell.
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
        "Every operation below links to its own markdown page (parameters, body, answers, error codes \
         and samples in curl, JavaScript, Python and Rust); `/llms-full.txt` is all of them in one file, \
         with webhook signature verification, and `/openapi.json` is the OpenAPI 3.1 document they all \
         come from. Scopes: a key needs the scope an operation names; `full_access` grants all, \
         `…:write` grants `…:read`.\n",
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
                page_path(op),
                method.to_uppercase(),
                one_line(text(op, "description")),
            );
        }
    }
    out.push_str("\n## Guides\n\n");
    for (name, title, body) in GUIDES {
        let _ = writeln!(out, "- [{title}](/docs/guides/{name}.md): {}", guide_summary(body));
    }
    out.push_str("\n## Optional\n\n");
    out.push_str(
        "- [llms-full.txt](/llms-full.txt): every operation in full, with schemas, code samples and webhook verification\n",
    );
    out.push_str("- [OpenAPI document](/openapi.json): the OpenAPI 3.1 document (also at /api/v1/openapi)\n");
    out.push_str(
        "- [OpenAPI document with code samples](/openapi.samples.json): the same, with `x-codeSamples` for Redoc and Scalar\n",
    );
    out.push_str(
        "- [Postman collection](/postman.json): every operation with example bodies and tests, runnable with newman\n",
    );
    out
}

/// What a guide is about, for `llms.txt`: its first paragraph of prose (not a heading, a
/// table, a list or code), on one line, cut after the last whole sentence within 300
/// characters — never mid-sentence.
fn guide_summary(body: &str) -> String {
    let mut paragraphs = body.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    let prose = paragraphs
        .find(|p| {
            !p.starts_with(['#', '|', '-', '*', '>', '<', '!'])
                && !p.starts_with("```")
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
        .unwrap_or("");
    let text = without_links(&prose.split_whitespace().collect::<Vec<_>>().join(" "));
    // A paragraph that leads into a list or a block ends with a colon: its sentences before.
    let whole = !text.ends_with(':') && text.chars().count() <= 300;
    if whole {
        return text;
    }
    let cut: String = text.chars().take(300).collect();
    match cut.rfind(". ").map(|end| end + 1).or_else(|| cut.ends_with('.').then_some(cut.len())) {
        Some(end) => cut[..end].to_owned(),
        None => text.trim_end_matches(':').to_owned(),
    }
}

/// Markdown links as their text (a summary stands outside the guide its links are relative to).
fn without_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else { break };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else { break };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One operation in markdown, under a heading of `level` (`#` for its page, `##` in
/// `llms-full.txt`).
pub fn operation_markdown(doc: &Value, method: &str, path: &str, op: &Value, level: &str) -> String {
    let mut out = String::new();
    let method = method.to_uppercase();
    let _ = write!(out, "{level} {method} {path} — {}\n\n", text(op, "summary"));
    let _ = writeln!(
        out,
        "Operation id: `{}`. Tag: `{}`.\n",
        text(op, "operationId"),
        op["tags"][0].as_str().unwrap_or("")
    );
    let _ = writeln!(out, "{}\n", text(op, "description").trim());
    let params: Vec<&Value> =
        op["parameters"].as_array().into_iter().flatten().map(|p| resolve(doc, p)).collect();
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
        let response = resolve(doc, response);
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
    out.push_str("\nSamples (set `PORTICO_URL`, and `PORTICO_API_KEY` or `PORTICO_SESSION`):\n");
    for sample in samples::samples(doc, &method, path, op) {
        let fence = match sample.lang {
            "Shell" => "sh",
            "JavaScript" => "js",
            "Python" => "python",
            _ => "rust",
        };
        let _ = write!(out, "\n{} ({}):\n\n```{fence}\n{}\n```\n", sample.lang, sample.label, sample.source);
    }
    out
}

/// The markdown page of one operation: the operation, then the schemas it names.
pub fn operation_page(doc: &Value, method: &str, path: &str, op: &Value) -> String {
    let mut out = operation_markdown(doc, method, path, op, "#");
    let mut names = std::collections::BTreeSet::new();
    collect_schema_names(doc, op, &mut names);
    if !names.is_empty() {
        out.push_str("\n## Schemas\n");
        for name in names {
            let schema = &doc["components"]["schemas"][&name];
            let _ = write!(
                out,
                "\n### {name}\n\n```json\n{}\n```\n",
                serde_json::to_string_pretty(schema).unwrap_or_default()
            );
        }
    }
    let _ = write!(
        out,
        "\nAll operations: [/llms.txt](/llms.txt). The whole API in one file: [/llms-full.txt](/llms-full.txt).\n"
    );
    out
}

/// The schemas an operation names, and the schemas they name, except `Problem`'s.
fn collect_schema_names(doc: &Value, value: &Value, names: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    if names.insert(name.to_owned()) {
                        collect_schema_names(doc, &doc["components"]["schemas"][name], names);
                    }
                } else if let Some(target) = doc.pointer(reference.trim_start_matches('#'))
                    && !reference.starts_with("#/components/responses/")
                {
                    collect_schema_names(doc, target, names);
                }
            }
            map.values().for_each(|v| collect_schema_names(doc, v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_schema_names(doc, v, names)),
        _ => {}
    }
}

/// `llms-full.txt`: every operation in full, webhook deliveries and their verification, then
/// every schema, readable with no other context.
pub fn llms_full_txt(doc: &Value) -> String {
    let mut out = llms_txt(doc).split("\n## ").next().unwrap_or("").to_owned();
    out.push_str(
        "\nThis file describes every operation of the API in full, then webhook deliveries and how to \
         verify them, then every schema.\n",
    );
    for (method, path, op) in operations(doc) {
        out.push('\n');
        out.push_str(&operation_markdown(doc, method, path, op, "##"));
    }
    out.push_str("\n## Webhooks: deliveries and their signatures\n\n");
    for heading in ["Events", "What a delivery looks like", "Verifying the signature"] {
        let section = guide_section("webhooks", heading);
        // One level down, under this file's H2.
        let section = section
            .lines()
            .map(|l| if l.starts_with('#') { format!("#{l}") } else { l.to_owned() })
            .collect::<Vec<_>>()
            .join("\n");
        let _ = write!(out, "{section}\n\n");
    }
    out.push_str("## Schemas\n");
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

pub(crate) use crate::openapi::resolve;

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
    fn served_guides_name_repository_files_instead_of_linking_to_them() {
        let body = "See [the router](../server/src/router.rs) and [keys](keys.md).";
        assert_eq!(
            served_guide(body),
            "See the router (`server/src/router.rs` in the repository) and [keys](keys.md)."
        );
        for (name, _, body) in GUIDES {
            assert!(!served_guide(body).contains("](../"), "docs/{name}.md still links out of /docs/guides/");
        }
    }

    #[test]
    fn a_guide_is_summed_up_by_whole_sentences_of_its_first_prose() {
        let body =
            "# Title\n\n## Settings\n\n| a | b |\n\nPortico is one server. It runs\non SQLite.\n\nMore.";
        assert_eq!(guide_summary(body), "Portico is one server. It runs on SQLite.");
        let leads = "# T\n\nKeys are secrets. See [keys](keys.md) for how:\n\n- one";
        assert_eq!(guide_summary(leads), "Keys are secrets.");
        let long = format!("# T\n\n{} And the end.", "A sentence of words. ".repeat(30));
        let summary = guide_summary(&long);
        assert!(summary.ends_with('.') && summary.chars().count() <= 300, "{summary}");
        for (_, _, body) in GUIDES {
            let summary = guide_summary(body);
            assert!(!summary.is_empty() && !summary.starts_with('#'), "{summary}");
            assert!(summary.ends_with(['.', ')', '`']) || summary.chars().count() < 300, "{summary}");
        }
    }

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
        assert!(text.contains("- [Create a link](/docs/md/link_create.md): POST /v1/links — "));
        // Every link is to a document the server publishes.
        let library = library(&doc);
        for item in text.lines().filter(|l| l.starts_with("- [")) {
            let target = item.split("](").nth(1).and_then(|rest| rest.split(')').next()).unwrap();
            assert!(library.get(target).is_some(), "{target} is not published");
        }
        assert!(text.contains("- [Webhooks](/docs/guides/webhooks.md): "));
    }

    #[test]
    fn every_operation_has_a_page_with_samples_in_four_languages() {
        let doc = crate::openapi::document();
        let library = library(&doc);
        for (_method, path, op) in operations(&doc) {
            let page = library.get(&page_path(op)).unwrap_or_else(|| panic!("{path}: no page"));
            let page = std::str::from_utf8(page.bytes()).unwrap();
            for fence in ["```sh\ncurl", "```js\n", "```python\nimport os", "```rust\nuse portico_sdk::"] {
                assert!(page.contains(fence), "{path}: no {fence:?} sample");
            }
        }
        let create = std::str::from_utf8(library.get("/docs/md/link_create.md").unwrap().bytes()).unwrap();
        assert!(create.starts_with("# POST /v1/links — Create a link\n"));
        assert!(create.contains("### CreateLinkRequest") && create.contains("### Link"));
    }

    #[test]
    fn llms_full_txt_has_every_operation_with_a_curl_example() {
        let doc = crate::openapi::document();
        let full = llms_full_txt(&doc);
        for (method, path, _) in operations(&doc) {
            assert!(full.contains(&format!("## {} {path} — ", method.to_uppercase())), "{method} {path}");
        }
        assert!(full.contains("curl -X POST \"$PORTICO_URL/v1/links\""));
        assert!(full.contains("### Problem"));
        assert!(full.contains("### Verifying the signature"), "llms-full explains webhook signatures");
    }
}
