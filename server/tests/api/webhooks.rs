//! Webhooks: signed deliveries verified with the Standard Webhooks algorithm, retries with the
//! same `webhook-id`, 410 and repeated failures disabling an endpoint, the SSRF guard, the
//! endpoint routes, and deliveries that survive a hard kill.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

/// A local webhook receiver: records what it gets, answers from a queue of statuses (then 200).
#[derive(Clone)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<(HeaderMap, String, u16)>>>,
    pub answers: Arc<Mutex<VecDeque<u16>>>,
    pub url: String,
    /// How many requests arrived, for waiting without polling.
    arrived: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Receiver {
    pub async fn start(answers: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, answers)
    }

    pub fn serve(listener: tokio::net::TcpListener, answers: &[u16]) -> Self {
        let receiver = Receiver {
            url: format!("http://{}/hooks", listener.local_addr().unwrap()),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            received: Arc::default(),
            arrived: Arc::new(tokio::sync::watch::Sender::new(0)),
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let status = state.answers.lock().unwrap().pop_front().unwrap_or(200);
                    let count = {
                        let mut received = state.received.lock().unwrap();
                        received.push((headers, body, status));
                        received.len()
                    };
                    state.arrived.send_replace(count);
                    AxumStatus::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until at least `n` requests arrived (10 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String, u16)> {
        let mut arrived = self.arrived.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(10), arrived.wait_for(|count| *count >= n)).await;
        let received = self.received.lock().unwrap().clone();
        assert!(received.len() >= n, "expected {n} deliveries, got {}", received.len());
        // Every delivery keeps the spec's `webhooks`: its schema and its signature headers.
        for (headers, body, _) in &received {
            let violations = crate::contract::webhook_violations(headers, body);
            assert!(violations.is_empty(), "a delivery breaks spec/openapi.json: {violations:#?}");
        }
        received
    }
}

/// Verifies a delivery as a receiver would, per the Standard Webhooks spec.
pub fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let id = headers["webhook-id"].to_str().unwrap();
    let timestamp = headers["webhook-timestamp"].to_str().unwrap();
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    headers["webhook-signature"].to_str().unwrap().split(' ').any(|s| s == expected)
}

async fn create_endpoint(s: &TestServer, key: &str, url: &str, events: Value) -> Value {
    let response = s
        .v1(Method::POST, "/v1/webhooks", key)
        .json(&json!({"url": url, "events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

mod delivery {
    use super::*;

    storage_tests_with!(
        |config| {
            config.webhook_allow_private = true;
            config.webhook_retry_schedule = vec![std::time::Duration::from_millis(300), std::time::Duration::from_millis(300)];
            config.webhook_disable_after = 2;
        };
        a_delivery_verifies_with_the_standard_webhooks_algorithm,
        a_failed_delivery_is_retried_with_the_same_webhook_id,
        an_endpoint_answering_410_is_disabled,
        repeated_failed_deliveries_disable_an_endpoint,
        a_test_ping_is_delivered_and_logged,
        a_delivery_shows_what_was_sent_and_can_be_resent,
        events_follow_the_changes_that_cause_them,
    );

    async fn a_delivery_shows_what_was_sent_and_can_be_resent(s: &TestServer) {
        let receiver = Receiver::start(&[]).await;
        let (token, key, _) = s.org_with_key("resend@example.com", &["full_access"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["link.created"])).await;
        let id = endpoint["id"].as_str().unwrap();
        let queued: Value = s
            .v1(Method::POST, &format!("/v1/webhooks/{id}/test"), &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (headers, body, _) = receiver.wait_for(1).await.remove(0);
        let path = format!("/v1/webhooks/{id}/deliveries/{}", queued["delivery_id"].as_str().unwrap());
        // The sender records the attempt just after the receiver answers it.
        let delivery = s.poll(&path, &key, |d| d["attempts"].as_array().is_some_and(|a| !a.is_empty())).await;
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(delivery["event_id"], queued["event_id"]);
        assert_eq!(delivery["payload"], serde_json::from_str::<Value>(&body).unwrap(), "the payload as sent");
        assert_eq!(delivery["headers"]["webhook-id"], headers["webhook-id"].to_str().unwrap());
        assert_eq!(delivery["headers"]["content-type"], "application/json");
        let attempt = &delivery["attempts"][0];
        assert_eq!(attempt["status_code"], 200);
        assert_eq!(attempt["headers"]["webhook-timestamp"], headers["webhook-timestamp"].to_str().unwrap());
        assert_eq!(attempt["headers"]["webhook-signature"], headers["webhook-signature"].to_str().unwrap());
        let dashboard: Value =
            s.get_with_token(&format!("/api/developer{}", &path[3..]), &token).await.json().await.unwrap();
        assert_eq!(dashboard, delivery, "the dashboard reads the same delivery");

        // Resend: a new delivery of the same event, with the same webhook-id.
        let response = s.v1(Method::POST, &format!("{path}/resend"), &key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let again: Value = response.json().await.unwrap();
        assert_eq!(again["event_id"], queued["event_id"]);
        assert_ne!(again["delivery_id"], queued["delivery_id"]);
        let received = receiver.wait_for(2).await;
        assert_eq!(received[1].0["webhook-id"], headers["webhook-id"]);
        assert_eq!(received[1].1, body, "the same body");
        let resent = s
            .request(Method::POST, &format!("/api/developer{}/resend", &path[3..]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resent.status(), StatusCode::ACCEPTED);

        let unknown = format!("/v1/webhooks/{id}/deliveries/dlv_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N");
        assert_problem(s.v1(Method::GET, &unknown, &key).send().await.unwrap(), 404, "not_found").await;
        let garbled = format!("/v1/webhooks/{id}/deliveries/nope/resend");
        assert_problem(s.v1(Method::POST, &garbled, &key).send().await.unwrap(), 404, "not_found").await;
        let (_, stranger, _) = s.org_with_key("resend-other@example.com", &["full_access"]).await;
        assert_problem(s.v1(Method::GET, &path, &stranger).send().await.unwrap(), 404, "not_found").await;
    }

    async fn a_delivery_verifies_with_the_standard_webhooks_algorithm(s: &TestServer) {
        let receiver = Receiver::start(&[]).await;
        let (_, key, _) = s.org_with_key("hooks@example.com", &["full_access"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["link.created"])).await;
        let secret = endpoint["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && BASE64.decode(&secret[6..]).unwrap().len() >= 24);
        let link: Value = s
            .v1(Method::POST, "/v1/links", &key)
            .json(&json!({"url": "https://example.com/hook"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        let (headers, body, _) = receiver.wait_for(1).await.remove(0);
        assert!(verify(secret, &headers, &body), "the signature verifies");
        assert!(
            !verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &headers, &body),
            "and only with the right secret"
        );
        assert!(headers["webhook-id"].to_str().unwrap().starts_with("evt_"));
        let timestamp: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 30);
        assert_eq!(headers["content-type"], "application/json");
        let payload: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(payload["type"], "link.created");
        assert_eq!(payload["data"]["id"], link["id"]);
        assert_eq!(payload["data"]["url"], "https://example.com/hook");
        assert!(payload["timestamp"].is_string());
    }

    async fn a_failed_delivery_is_retried_with_the_same_webhook_id(s: &TestServer) {
        let receiver = Receiver::start(&[500]).await;
        let (_, key, _) = s.org_with_key("retry@example.com", &["full_access"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["link.created"])).await;
        s.v1(Method::POST, "/v1/links", &key)
            .json(&json!({"url": "https://example.com/r"}))
            .send()
            .await
            .unwrap();
        let received = receiver.wait_for(2).await;
        assert_eq!((received[0].2, received[1].2), (500, 200));
        assert_eq!(
            received[0].0["webhook-id"], received[1].0["webhook-id"],
            "the same event id on every attempt"
        );
        assert!(verify(endpoint["secret"].as_str().unwrap(), &received[1].0, &received[1].1));

        let id = endpoint["id"].as_str().unwrap();
        // The sender records the second attempt just after the receiver answers it.
        let log = s
            .poll(&format!("/v1/webhooks/{id}/deliveries"), &key, |l| {
                l["data"].as_array().is_some_and(|d| d.len() == 2)
            })
            .await;
        assert_eq!(log["total"], 2, "{log}");
        let newest = &log["data"][0];
        let oldest = &log["data"][1];
        assert_eq!(
            (oldest["attempt"].as_i64(), oldest["status_code"].as_i64()),
            (Some(1), Some(500)),
            "{log}"
        );
        assert!(oldest["next_attempt_at"].is_string());
        assert!(oldest["error"].as_str().unwrap().contains("500"));
        assert_eq!(
            (newest["attempt"].as_i64(), newest["status_code"].as_i64()),
            (Some(2), Some(200)),
            "{log}"
        );
        assert!(newest["next_attempt_at"].is_null());
        assert_eq!(newest["event_type"], "link.created");
        assert!(newest["latency_ms"].as_f64().unwrap() >= 0.0);
    }

    async fn an_endpoint_answering_410_is_disabled(s: &TestServer) {
        let receiver = Receiver::start(&[410]).await;
        let (_, key, _) = s.org_with_key("gone@example.com", &["full_access"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["link.created"])).await;
        s.v1(Method::POST, "/v1/links", &key)
            .json(&json!({"url": "https://example.com/1"}))
            .send()
            .await
            .unwrap();
        receiver.wait_for(1).await;
        let path = format!("/v1/webhooks/{}", endpoint["id"].as_str().unwrap());
        let current = s.poll(&path, &key, |e| e["enabled"] == false).await;
        assert_eq!(current["enabled"], false);
        assert!(current["disabled_reason"].as_str().unwrap().contains("410"));
        // Nothing more is sent to it: once a second endpoint has the next event, the fan-out
        // has passed it (for every endpoint at once) and queued nothing for the disabled one.
        let witness = Receiver::start(&[]).await;
        create_endpoint(s, &key, &witness.url, json!(["link.created"])).await;
        s.v1(Method::POST, "/v1/links", &key)
            .json(&json!({"url": "https://example.com/2"}))
            .send()
            .await
            .unwrap();
        witness.wait_for(1).await;
        const QUEUED: &str = "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1";
        assert_eq!(s.count(QUEUED, &[endpoint["id"].as_str().unwrap()]).await, 1);
        assert_eq!(receiver.count(), 1);
    }

    async fn repeated_failed_deliveries_disable_an_endpoint(s: &TestServer) {
        let receiver = Receiver::start(&[500; 20]).await;
        let (_, key, _) = s.org_with_key("failing@example.com", &["full_access"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["link.created"])).await;
        for i in 0..2 {
            s.v1(Method::POST, "/v1/links", &key)
                .json(&json!({"url": format!("https://example.com/{i}")}))
                .send()
                .await
                .unwrap();
        }
        // Two events × three attempts (first + two retries), then disabled after 2 failed events.
        receiver.wait_for(6).await;
        let path = format!("/v1/webhooks/{}", endpoint["id"].as_str().unwrap());
        let current = s.poll(&path, &key, |e| e["enabled"] == false).await;
        assert_eq!(current["enabled"], false, "{current}");
        assert!(current["disabled_reason"].as_str().unwrap().contains("consecutive"));
        // Re-enabling resets it.
        let enabled: Value = s
            .v1(Method::PATCH, &path, &key)
            .json(&json!({"enabled": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(enabled["enabled"], true);
        assert!(enabled["disabled_reason"].is_null());
    }

    async fn a_test_ping_is_delivered_and_logged(s: &TestServer) {
        let receiver = Receiver::start(&[]).await;
        let (_, key, _) = s.org_with_key("ping@example.com", &["webhooks:manage"]).await;
        let endpoint = create_endpoint(s, &key, &receiver.url, json!(["job.succeeded"])).await;
        let id = endpoint["id"].as_str().unwrap();
        let response = s.v1(Method::POST, &format!("/v1/webhooks/{id}/test"), &key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let queued: Value = response.json().await.unwrap();
        let (headers, body, _) = receiver.wait_for(1).await.remove(0);
        assert_eq!(headers["webhook-id"].to_str().unwrap(), queued["event_id"].as_str().unwrap());
        assert!(verify(endpoint["secret"].as_str().unwrap(), &headers, &body));
        let payload: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(payload["type"], "ping");
    }

    async fn events_follow_the_changes_that_cause_them(s: &TestServer) {
        let receiver = Receiver::start(&[]).await;
        let (token, key, _) = s.org_with_key("events@example.com", &["full_access"]).await;
        create_endpoint(
            s,
            &key,
            &receiver.url,
            json!(["link.deleted", "key.revoked", "job.succeeded", "job.failed"]),
        )
        .await;
        let link: Value = s
            .v1(Method::POST, "/v1/links", &key)
            .json(&json!({"url": "https://example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s.v1(Method::DELETE, &format!("/v1/links/{}", link["id"].as_str().unwrap()), &key)
            .send()
            .await
            .unwrap();
        let other = s.create_key(&token, json!({"name": "doomed", "scopes": ["keys:read"]})).await;
        s.v1(Method::DELETE, &format!("/v1/apikeys/{}", other["id"].as_str().unwrap()), &key)
            .send()
            .await
            .unwrap();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"url\nhttps://example.com/i\n".to_vec()).file_name("a.csv"),
        );
        s.v1(Method::POST, "/v1/links/import", &key).multipart(form).send().await.unwrap();
        let received = receiver.wait_for(3).await;
        let mut types: Vec<String> = received
            .iter()
            .map(|(_, body, _)| {
                serde_json::from_str::<Value>(body).unwrap()["type"].as_str().unwrap().to_owned()
            })
            .collect();
        types.sort();
        assert_eq!(types, ["job.succeeded", "key.revoked", "link.deleted"], "link.created is not subscribed");
        let revoked = received
            .iter()
            .map(|(_, b, _)| serde_json::from_str::<Value>(b).unwrap())
            .find(|p| p["type"] == "key.revoked")
            .unwrap();
        assert_eq!(revoked["data"]["id"], other["id"]);
        assert_eq!(revoked["data"]["prefix"], other["prefix"]);
    }
}

storage_tests!(
    endpoints_are_managed_validated_and_private,
    the_guard_refuses_private_targets_without_the_flag
);

async fn endpoints_are_managed_validated_and_private(s: &TestServer) {
    let (_, key, _) = s.org_with_key("manage@example.com", &["webhooks:manage"]).await;
    for (body, field) in [
        (json!({"url": "ftp://example.com", "events": ["link.created"]}), "url"),
        (json!({"url": "https://93.184.216.34/hooks", "events": []}), "events"),
        (json!({"url": "https://93.184.216.34/hooks", "events": ["link.exploded"]}), "events[0]"),
        (
            json!({"url": "https://93.184.216.34/hooks", "events": ["link.created"], "description": "d".repeat(501)}),
            "description",
        ),
    ] {
        let response = s.v1(Method::POST, "/v1/webhooks", &key).json(&body).send().await.unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    // A public IP literal passes the guard without any lookup (and nothing is sent to it here).
    let created =
        create_endpoint(s, &key, "https://93.184.216.34/hooks", json!(["link.created", "link.created"]))
            .await;
    assert_eq!(created["events"], json!(["link.created"]));
    assert_eq!(created["enabled"], true);
    let path = format!("/v1/webhooks/{}", created["id"].as_str().unwrap());
    let got: Value = s.v1(Method::GET, &path, &key).send().await.unwrap().json().await.unwrap();
    assert!(got.get("secret").is_none(), "the secret is shown once");
    let list: Value = s.v1(Method::GET, "/v1/webhooks", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert!(list["data"][0].get("secret").is_none());
    let patched: Value = s
        .v1(Method::PATCH, &path, &key)
        .json(&json!({"events": ["job.failed"], "description": "ops", "enabled": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["events"], json!(["job.failed"]));
    assert_eq!(patched["description"], "ops");
    assert_eq!(patched["enabled"], false);
    let log: Value =
        s.v1(Method::GET, &format!("{path}/deliveries"), &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(log["total"], 0);

    let (_, other, _) = s.org_with_key("manage-other@example.com", &["full_access"]).await;
    for method in [Method::GET, Method::DELETE] {
        assert_problem(s.v1(method, &path, &other).send().await.unwrap(), 404, "not_found").await;
    }
    assert_problem(
        s.v1(Method::POST, &format!("{path}/test"), &other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let (_, reader, _) = s.org_with_key("manage-reader@example.com", &["links:read"]).await;
    assert_problem(
        s.v1(Method::GET, "/v1/webhooks", &reader).send().await.unwrap(),
        403,
        "insufficient_scope",
    )
    .await;

    assert_eq!(s.v1(Method::DELETE, &path, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, &path, &key).send().await.unwrap(), 404, "not_found").await;
}

async fn the_guard_refuses_private_targets_without_the_flag(s: &TestServer) {
    let (_, key, _) = s.org_with_key("guard@example.com", &["webhooks:manage"]).await;
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://[::1]:9/hooks",
        "http://10.0.0.1/hooks",
        "http://169.254.169.254/latest",
        "http://localhost:9/hooks",
        // IPv6 forms that embed an internal IPv4 address (the security probe's findings).
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:0:7f00:1]/",
        "http://[100::1]/",
        "http://[2001::a9fe:a9fe]/",
    ] {
        let response = s
            .v1(Method::POST, "/v1/webhooks", &key)
            .json(&json!({"url": url, "events": ["link.created"]}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}");
        assert!(
            problem["errors"][0]["message"].as_str().unwrap().contains("not allowed"),
            "{url}: {problem}"
        );
    }
    let created = create_endpoint(s, &key, "https://93.184.216.34/hooks", json!(["link.created"])).await;
    let path = format!("/v1/webhooks/{}", created["id"].as_str().unwrap());
    for url in ["http://127.0.0.1/x", "http://[64:ff9b::a9fe:a9fe]/latest"] {
        let moved = s.v1(Method::PATCH, &path, &key).json(&json!({"url": url})).send().await.unwrap();
        assert_problem(moved, 422, "validation_failed").await;
    }
}

/// A delivery pending when the server is killed (-9) is sent after the restart.
async fn a_pending_delivery_survives_a_hard_kill(database_url: Option<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = Receiver::serve(listener, &[500; 1]);
    let dir = tempfile::tempdir().unwrap();
    let url = database_url.clone().unwrap_or_default();
    let env = [
        ("PORTICO_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("PORTICO_WEBHOOK_RETRY_SCHEDULE", "3s"),
        ("DATABASE_URL", url.as_str()),
    ];
    let start = || crate::support::start_binary(dir.path(), &env);
    let (mut first, base) = start();
    let client = reqwest::Client::new();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "survive@example.com", &["full_access"]).await;
    let endpoint: Value = client
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url, "events": ["link.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .post(format!("{base}/v1/links"))
        .bearer_auth(&key)
        .json(&json!({"url": "https://example.com"}))
        .send()
        .await
        .unwrap();
    receiver.wait_for(1).await;
    // Once the failed attempt is recorded (the retry is 3 s away), kill the server outright.
    let log_url = format!("{base}/v1/webhooks/{}/deliveries", endpoint["id"].as_str().unwrap());
    for _ in 0..100 {
        let log: Value = crate::support::get_json(&client, &log_url, &key).await;
        if log["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, _base) = start();
    let received = receiver.wait_for(2).await;
    assert_eq!(received[1].2, 200);
    assert_eq!(received[0].0["webhook-id"], received[1].0["webhook-id"]);
    assert!(verify(endpoint["secret"].as_str().unwrap(), &received[1].0, &received[1].1));
    let _ = std::process::Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_pending_delivery_survives_a_hard_kill() {
    a_pending_delivery_survives_a_hard_kill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_pending_delivery_survives_a_hard_kill() {
    if let Some(url) = crate::support::fresh_postgres_database().await {
        a_pending_delivery_survives_a_hard_kill(Some(url)).await;
    }
}

mod concurrency {
    use super::*;

    storage_tests_with!(
        |config| config.webhook_allow_private = true;
        two_changes_of_an_endpoint_at_once_both_stay_and_if_match_guards_it,
    );

    /// Two writers change different fields of one endpoint at once, 20 times: both changes
    /// stay every time (the row is read, merged and written under its lock), and each is
    /// one audit entry. A stale `If-Match` is refused on PATCH and DELETE.
    async fn two_changes_of_an_endpoint_at_once_both_stay_and_if_match_guards_it(s: &TestServer) {
        let (token, key, _) = s.org_with_key("hook-race@example.com", &["webhooks:manage"]).await;
        let endpoint = create_endpoint(s, &key, "http://127.0.0.1:9/race", json!(["link.created"])).await;
        let id = endpoint["id"].as_str().unwrap().to_owned();
        let v1_path = format!("/v1/webhooks/{id}");
        let dashboard_path = format!("/api/developer/webhooks/{id}");
        for round in 0..20 {
            let description = format!("round {round}");
            let events = if round % 2 == 0 { json!(["link.deleted"]) } else { json!(["link.created"]) };
            let by_key =
                s.v1(Method::PATCH, &v1_path, &key).json(&json!({"description": description})).send();
            let by_session =
                s.session(Method::PATCH, &dashboard_path, &token).json(&json!({"events": events})).send();
            let (a, b) = tokio::join!(by_key, by_session);
            assert_eq!(a.unwrap().status(), StatusCode::OK);
            assert_eq!(b.unwrap().status(), StatusCode::OK);
            let now: Value = s.v1(Method::GET, &v1_path, &key).send().await.unwrap().json().await.unwrap();
            assert_eq!(
                (&now["description"], &now["events"]),
                (&json!(description), &events),
                "round {round}"
            );
        }
        let audit: Value = s
            .get_with_token(
                &format!("/api/developer/audit-log?resource_id={id}&action=webhook.updated&limit=100"),
                &token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(audit["total"], 40, "one entry per change");

        let current = s.v1(Method::GET, &v1_path, &key).send().await.unwrap();
        let etag = current.headers()["etag"].to_str().unwrap().to_owned();
        let version = current.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
        assert_eq!(etag, format!("\"{version}\""));
        let stale = format!("\"{}\"", version - 1);
        let refused = s
            .v1(Method::PATCH, &v1_path, &key)
            .header("if-match", &stale)
            .json(&json!({"description": "stale"}))
            .send()
            .await
            .unwrap();
        assert_problem(refused, 412, "version_mismatch").await;
        let refused = s
            .session(Method::DELETE, &dashboard_path, &token)
            .header("if-match", &stale)
            .send()
            .await
            .unwrap();
        assert_problem(refused, 412, "version_mismatch").await;
        let refused =
            s.v1(Method::DELETE, &v1_path, &key).header("if-match", "\"999\"").send().await.unwrap();
        assert_problem(refused, 412, "version_mismatch").await;
        let changed = s
            .v1(Method::PATCH, &v1_path, &key)
            .header("if-match", &etag)
            .json(&json!({"description": "fresh"}))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.headers()["etag"].to_str().unwrap(), format!("\"{}\"", version + 1));
        let deleted = s
            .session(Method::DELETE, &dashboard_path, &token)
            .header("if-match", format!("\"{}\"", version + 1))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_problem(s.v1(Method::GET, &v1_path, &key).send().await.unwrap(), 404, "not_found").await;
    }
}

mod names {
    use super::*;

    storage_tests_with!(
        |config| {
            config.webhook_allow_private = true;
            config.resolver =
                portico::webhooks::guard::Resolver::parse("static:receiver.portico.test=127.0.0.1").unwrap();
        };
        webhook_hosts_resolve_from_the_configured_map_and_nothing_else_is_looked_up,
    );

    /// With `PORTICO_RESOLVE=static:…` a name in the map is delivered to its address; any
    /// other name is refused at once, without asking DNS.
    async fn webhook_hosts_resolve_from_the_configured_map_and_nothing_else_is_looked_up(s: &TestServer) {
        let receiver = Receiver::start(&[]).await;
        let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
        let (_, key, _) = s.org_with_key("names@example.com", &["webhooks:manage"]).await;
        let named = format!("http://receiver.portico.test:{port}/hooks");
        let endpoint = create_endpoint(s, &key, &named, json!(["job.succeeded"])).await;
        let id = endpoint["id"].as_str().unwrap();
        let response = s.v1(Method::POST, &format!("/v1/webhooks/{id}/test"), &key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let (_, body, _) = receiver.wait_for(1).await.remove(0);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["type"], "ping");
        for url in ["https://hooks.example.com/portico", "http://receiver.portico.test.example/hooks"] {
            let response = s
                .v1(Method::POST, "/v1/webhooks", &key)
                .json(&json!({"url": url, "events": ["job.succeeded"]}))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert!(
                problem["errors"][0]["message"].as_str().unwrap().contains("does not resolve"),
                "{problem}"
            );
        }
    }
}
