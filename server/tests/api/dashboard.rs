//! The dashboard's own routes for what `/v1` also offers — domains, the request log, webhook
//! endpoints — with a session instead of a key: the same checks, answers and tenancy.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests_with};

storage_tests_with!(
    |config| config.webhook_allow_private = true;
    a_session_registers_reads_and_removes_domains_once_no_link_uses_them,
    a_session_reads_the_request_log_by_key_status_route_and_time,
    a_session_manages_webhook_endpoints_without_a_key,
);

async fn a_session_registers_reads_and_removes_domains_once_no_link_uses_them(s: &TestServer) {
    let (token, key, _) = s.org_with_key("dash-domains@example.com", &["full_access"]).await;
    let response = s
        .session(Method::POST, "/api/developer/domains", &token)
        .json(&json!({"hostname": "go.dash.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let domain: Value = response.json().await.unwrap();
    assert_eq!(domain["hostname"], "go.dash.example.com");
    assert_eq!(location, format!("/api/developer/domains/{}", domain["id"].as_str().unwrap()));
    let shown: Value = s.get_with_token(&location, &token).await.json().await.unwrap();
    assert_eq!(shown, domain);

    // The same rules as `/v1/domains`: one registration per hostname, a checked hostname.
    let again = s
        .session(Method::POST, "/api/developer/domains", &token)
        .json(&json!({"hostname": "go.dash.example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "conflict").await;
    let bad = s
        .session(Method::POST, "/api/developer/domains", &token)
        .json(&json!({"hostname": "not a hostname"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "hostname");
    let anonymous = s.post_json("/api/developer/domains", &json!({"hostname": "x.example.com"})).await;
    assert_problem(anonymous, 401, "missing_credentials").await;

    // Keys see it; another organisation does not.
    let listed: Value = s.v1(Method::GET, "/v1/domains", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"][0]["id"], domain["id"]);
    let other = s.signup("dash-domains-other@example.com").await["token"].as_str().unwrap().to_owned();
    assert_problem(s.get_with_token(&location, &other).await, 404, "not_found").await;
    let response = s.session(Method::DELETE, &location, &other).send().await.unwrap();
    assert_problem(response, 404, "not_found").await;

    // Removal waits until no live link uses the domain.
    let link: Value = s
        .v1(Method::POST, "/v1/links", &key)
        .json(&json!({"url": "https://example.com/", "domain": "go.dash.example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let busy = s.session(Method::DELETE, &location, &token).send().await.unwrap();
    assert_problem(busy, 409, "conflict").await;
    let link_path = format!("/v1/links/{}", link["id"].as_str().unwrap());
    assert_eq!(s.v1(Method::DELETE, &link_path, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let removed = s.session(Method::DELETE, &location, &token).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_problem(s.get_with_token(&location, &token).await, 404, "not_found").await;
    assert_problem(s.get_with_token("/api/developer/domains/nope", &token).await, 404, "not_found").await;
}

async fn a_session_reads_the_request_log_by_key_status_route_and_time(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("dash-log@example.com", &["full_access"]).await;
    let other = s.create_key(&token, json!({"name": "second", "scopes": ["links:read"]})).await;
    let started = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    assert_eq!(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(), StatusCode::OK);
    let missing =
        s.v1(Method::GET, "/v1/links/lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N", other["key"].as_str().unwrap());
    assert_eq!(missing.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    s.flush().await;

    let read = |query: &str| {
        let path = format!("/api/developer/requests{query}");
        let token = token.clone();
        async move {
            let response = s.get_with_token(&path, &token).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let all = read("").await;
    assert_eq!(all["total"], 2, "{all}");
    assert_eq!(all["data"][0]["status"], 404, "newest first");
    assert_eq!(read(&format!("?key_id={key_id}")).await["data"][0]["route"], "/v1/key");
    assert_eq!(read("?status=404").await["data"][0]["key_id"], other["id"]);
    assert_eq!(read("?route=/v1/links/%7Bid%7D").await["total"], 1);
    assert_eq!(read("?limit=1&offset=1").await["data"][0]["status"], 200, "paged");
    let since = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(read(&format!("?from={since}")).await["total"], 2);
    assert_eq!(read(&format!("?to={since}")).await["total"], 0);
    let later =
        (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(read(&format!("?from={later}")).await["total"], 0);

    let backwards =
        s.get_with_token(&format!("/api/developer/requests?from={later}&to={since}"), &token).await;
    let problem = assert_problem(backwards, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "from");
    let garbled = s.get_with_token("/api/developer/requests?from=yesterday", &token).await;
    assert_problem(garbled, 400, "invalid_request").await;

    let id = all["data"][0]["id"].as_str().unwrap();
    let one: Value =
        s.get_with_token(&format!("/api/developer/requests/{id}"), &token).await.json().await.unwrap();
    assert_eq!(one, all["data"][0]);
    let stranger = s.signup("dash-log-other@example.com").await["token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.get_with_token("/api/developer/requests", &stranger).await.json::<Value>().await.unwrap()["total"],
        0
    );
    assert_problem(
        s.get_with_token(&format!("/api/developer/requests/{id}"), &stranger).await,
        404,
        "not_found",
    )
    .await;
}

async fn a_session_manages_webhook_endpoints_without_a_key(s: &TestServer) {
    let (token, key, _) = s.org_with_key("dash-hooks@example.com", &["full_access"]).await;
    let response = s
        .session(Method::POST, "/api/developer/webhooks", &token)
        .json(&json!({"url": "http://127.0.0.1:9/hooks", "events": ["link.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(location, format!("/api/developer/webhooks/{}", created["id"].as_str().unwrap()));
    let shown: Value = s.get_with_token(&location, &token).await.json().await.unwrap();
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    let via_key: Value = s.v1(Method::GET, "/v1/webhooks", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(via_key["data"][0]["id"], created["id"], "the same endpoints as /v1");

    let bad = s
        .session(Method::POST, "/api/developer/webhooks", &token)
        .json(&json!({"url": "ftp://example.com/", "events": []}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["url", "events"]);

    let updated: Value = s
        .session(Method::PATCH, &location, &token)
        .json(&json!({"events": ["link.created", "link.deleted"], "description": "Dashboard"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["events"], json!(["link.created", "link.deleted"]));
    assert_eq!(updated["description"], "Dashboard");
    let listed: Value = s.get_with_token("/api/developer/webhooks", &token).await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0], updated);

    let ping = s.session(Method::POST, &format!("{location}/test"), &token).send().await.unwrap();
    assert_eq!(ping.status(), StatusCode::ACCEPTED);
    let ping: Value = ping.json().await.unwrap();
    assert!(ping["delivery_id"].as_str().unwrap().starts_with("dlv_"));
    let deliveries = s.get_with_token(&format!("{location}/deliveries"), &token).await;
    assert_eq!(deliveries.status(), StatusCode::OK);

    let stranger = s.signup("dash-hooks-other@example.com").await["token"].as_str().unwrap().to_owned();
    assert_problem(s.get_with_token(&location, &stranger).await, 404, "not_found").await;
    assert_eq!(
        s.session(Method::DELETE, &location, &token).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(s.get_with_token(&location, &token).await, 404, "not_found").await;
}
