//! The deliveries Portico sends, as OpenAPI 3.1 `webhooks`: one entry per event type (and
//! `ping`), each a POST with the event's envelope schema — `type`, `timestamp` and the typed
//! `data` the server builds (`crate::events`) — and the three Standard Webhooks headers. The
//! webhook tests validate every delivery they receive against these schemas.

use serde_json::{Map, Value, json};

use super::pascal;
use crate::events::EventType;

const PARAMETERS: &str = "#/components/parameters/";

/// The schema name of an event type's envelope (`LinkCreatedEvent`).
pub fn envelope_schema(event: &str) -> String {
    format!("{}Event", pascal(event))
}

fn headers() -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "WebhookIdHeader".into(),
        json!({"name": "webhook-id", "in": "header", "required": true,
            "description": "The event's id: the same on every retry of a delivery — use it to ignore duplicates. Part of the signed content.",
            "schema": {"type": "string"}, "example": "evt_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N"}),
    );
    out.insert(
        "WebhookTimestampHeader".into(),
        json!({"name": "webhook-timestamp", "in": "header", "required": true,
            "description": "When this attempt was signed, in Unix seconds. Refuse deliveries more than five minutes from your clock (replays). Part of the signed content.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"}, "example": "1764581400"}),
    );
    out.insert(
        "WebhookSignatureHeader".into(),
        json!({"name": "webhook-signature", "in": "header", "required": true,
            "description": "Space-separated signatures, each `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded secret after `whsec_` (Standard Webhooks). Accept the delivery if any one matches, compared in constant time.",
            "schema": {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"}, "example": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}),
    );
    out
}

/// Adds `webhooks`, the envelope schemas, the header parameters and an example per event.
pub(super) fn add(doc: &mut Value) {
    let mut events: Vec<(String, String, String)> = EventType::ALL
        .iter()
        .map(|e| (e.as_str().to_owned(), e.data_schema().to_owned(), e.description().to_owned()))
        .collect();
    events.push((
        "ping".into(),
        "PingData".into(),
        "A test delivery, sent by `POST /v1/webhooks/{id}/test` to that endpoint only, whatever its events."
            .into(),
    ));
    let mut webhooks = Map::new();
    for (event, data, description) in events {
        let name = envelope_schema(&event);
        let schema = json!({
            "type": "object",
            "description": format!("The body of a `{event}` delivery."),
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"const": event, "description": "The event type."},
                "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened.", "example": "2026-12-01T09:30:00Z"},
                "data": {"$ref": format!("#/components/schemas/{data}"), "description": "What happened."},
            }
        });
        doc["components"]["schemas"][&name] = schema.clone();
        let mut example = super::examples::compose(doc, &schema, &name);
        match event.as_str() {
            "job.succeeded" => example["data"]["status"] = json!("succeeded"),
            "job.failed" => {
                example["data"]["status"] = json!("failed");
                example["data"]["result"] = Value::Null;
                example["data"]["error"] = json!("the file is not CSV: line 1 has no `url` column");
            }
            _ => {}
        }
        doc["components"]["examples"][&name] =
            json!({"summary": format!("A {event} delivery"), "value": example});
        let parameters: Vec<Value> = ["WebhookIdHeader", "WebhookTimestampHeader", "WebhookSignatureHeader"]
            .iter()
            .map(|p| json!({"$ref": format!("{PARAMETERS}{p}")}))
            .collect();
        webhooks.insert(
            event.clone(),
            json!({"post": {
                "tags": ["webhooks"],
                "summary": format!("The {event} event"),
                "description": format!("{description} Signed per Standard Webhooks; answer 2xx to acknowledge."),
                "operationId": format!("webhook_{}", event.replace('.', "_")),
                "parameters": parameters,
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {
                        "schema": {"$ref": format!("#/components/schemas/{name}")},
                        "examples": {&name: {"$ref": format!("#/components/examples/{name}")}},
                    }},
                },
                "responses": {
                    "200": {"$ref": "#/components/responses/WebhookAcknowledged"},
                    "410": {"$ref": "#/components/responses/WebhookGone"},
                },
                "security": [],
            }}),
        );
    }
    doc["webhooks"] = Value::Object(webhooks);
    doc["components"]["responses"]["WebhookAcknowledged"] = json!({
        "description": "Acknowledged: any 2xx within 10 seconds does (the body is ignored). Anything else — another status, a timeout, a refused connection — is retried on a schedule with the same `webhook-id`."
    });
    doc["components"]["responses"]["WebhookGone"] =
        json!({"description": "Gone: Portico disables the endpoint and sends it nothing more."});
    if let Some(parameters) = doc["components"]["parameters"].as_object_mut() {
        parameters.extend(headers());
    }
}
