//! An example on every success response, composed from the examples the annotated types
//! give their fields (`#[schema(example = …)]`), kept once in `components/examples` (named
//! after the schema) and referenced from each response that returns it. Composition fails
//! loudly on a string field with neither an example nor a format it can fill: an example made
//! up here would be a placeholder. `the_examples_match_their_schemas` checks every one.

use serde_json::{Map, Value, json};

use super::operations_mut;

const EXAMPLES: &str = "#/components/examples/";

/// An example of `schema`, from the examples of its parts.
pub fn compose(doc: &Value, schema: &Value, at: &str) -> Value {
    compose_at(doc, schema, at, 0)
}

fn compose_at(doc: &Value, schema: &Value, at: &str, depth: usize) -> Value {
    assert!(depth < 16, "{at}: the schema nests too deep for an example");
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let target = doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{at}: {reference} is missing"));
        return compose_at(doc, target, name, depth + 1);
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(fields) = compose_at(doc, part, at, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(variants) = schema.get(keyword).and_then(Value::as_array) {
            let variant =
                variants.iter().find(|v| v.get("type") != Some(&json!("null"))).unwrap_or(&Value::Null);
            return compose_at(doc, variant, at, depth + 1);
        }
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    let main = types.iter().copied().find(|t| *t != "null");
    if main.is_none() && nullable {
        return Value::Null;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let fields = properties
            .iter()
            .map(|(name, property)| {
                (name.clone(), compose_at(doc, property, &format!("{at}.{name}"), depth + 1))
            })
            .collect();
        return Value::Object(fields);
    }
    match main {
        Some("array") => {
            let item = schema.get("items").map(|items| compose_at(doc, items, &format!("{at}[]"), depth + 1));
            Value::Array(item.into_iter().collect())
        }
        Some("object") => json!({}),
        Some("integer") => schema.get("minimum").cloned().unwrap_or(json!(0)),
        Some("number") => schema.get("minimum").cloned().unwrap_or(json!(0.0)),
        Some("boolean") => json!(false),
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2026-12-01T09:30:00Z"),
            Some("date") => json!("2026-12-01"),
            _ if nullable => Value::Null,
            _ => panic!("{at}: a string with no example: give the field `#[schema(example = …)]`"),
        },
        _ if nullable => Value::Null,
        other => panic!("{at}: cannot make an example of a {other:?}"),
    }
}

/// Every JSON success response gets `examples` referring to its schema's example.
pub(super) fn add(doc: &mut Value) {
    let snapshot = doc.clone();
    let mut components = Map::new();
    for (method, path, op) in operations_mut(doc) {
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
        for (status, response) in op.get_mut("responses").and_then(Value::as_object_mut).into_iter().flatten()
        {
            if !status.starts_with('2') {
                continue;
            }
            for (media, content) in
                response.get_mut("content").and_then(Value::as_object_mut).into_iter().flatten()
            {
                let Some(content) = content.as_object_mut() else { continue };
                if content.contains_key("example") || content.contains_key("examples") {
                    continue;
                }
                let schema = content.get("schema").cloned().unwrap_or(Value::Null);
                let at = format!("{} {path} → {status} {media}", method.to_uppercase());
                let Some(name) =
                    schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next())
                else {
                    panic!("{at} ({id}): an inline response schema needs an `example` in its annotation");
                };
                let name = name.to_owned();
                if !components.contains_key(&name) {
                    let value = compose(&snapshot, &schema, &at);
                    components
                        .insert(name.clone(), json!({ "summary": format!("A {name}"), "value": value }));
                }
                content.insert("examples".into(), json!({ &name: { "$ref": format!("{EXAMPLES}{name}") } }));
            }
        }
    }
    let examples = doc["components"]
        .as_object_mut()
        .expect("the document has components")
        .entry("examples")
        .or_insert_with(|| json!({}));
    if let Some(examples) = examples.as_object_mut() {
        examples.extend(components);
    }
}
