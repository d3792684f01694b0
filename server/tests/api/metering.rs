//! Metering: rate limits, quotas, idempotency keys, the request log and usage — counted in
//! full, on both databases, across a graceful restart too.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    the_sixth_call_of_a_five_per_minute_key_is_rate_limited_with_headers,
    an_idempotent_retry_replays_the_first_answer,
    an_idempotency_key_reused_for_another_request_is_refused,
    a_retry_while_the_first_is_running_is_a_conflict,
    eight_concurrent_retries_create_one_resource,
    the_request_log_and_usage_count_every_call,
    usage_and_log_queries_validate_their_parameters,
    the_retention_purge_deletes_only_old_log_rows,
    a_log_batch_written_twice_is_stored_once_with_its_text_intact,
);

// SQLite only: it has one writer at a time, so a writer waits for the others; PostgreSQL locks
// rows, and an import does not hold up the request log there at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_request_log_waits_its_turn_behind_an_import_not_the_whole_import() {
    let s = TestServer::start(crate::support::Backend::Sqlite).await.unwrap();
    the_request_log_waits_its_turn_behind_an_import_not_the_whole_import(&s).await;
    s.stop().await;
}

async fn a_log_batch_written_twice_is_stored_once_with_its_text_intact(s: &TestServer) {
    use std::sync::Arc;
    let signup = s.signup("batch@example.com").await;
    let token = signup["token"].as_str().unwrap();
    let created = s.create_key(token, json!({"name": "batch", "scopes": ["full_access"]})).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let (org, key_id): (Arc<str>, Arc<str>) =
        (signup["organization"]["id"].as_str().unwrap().into(), created["id"].as_str().unwrap().into());
    let ids: Vec<String> = (0..3).map(|_| format!("req_{}", ulid::Ulid::new())).collect();
    // Tabs, backslashes and newlines (an idempotency key may hold a tab) come back intact —
    // text that would break a row of PostgreSQL's COPY format unless escaped.
    let awkward = "tab\there, back\\slash, new\nline";
    let batch = || {
        ids.iter()
            .map(|id| portico::metering::LogEntry {
                id: id.as_str().into(),
                organization_id: Some(org.clone()),
                key_id: Some(key_id.clone()),
                method: "POST".into(),
                route: "/v1/links".into(),
                path: "/v1/links".to_owned(),
                status: 201,
                latency_ms: 1.5,
                ip: "203.0.113.7".parse().unwrap(),
                idempotency_key: Some(awkward.to_owned()),
                at: s.server().state().clock().now(),
                billable: true,
                committed: None,
            })
            .collect::<Vec<_>>()
    };
    let db = &s.server().state().db;
    portico::metering::request_log::write_batch(db, &batch()).await.unwrap();
    portico::metering::request_log::write_batch(db, &batch())
        .await
        .expect("a batch written again is not an error");
    for id in &ids {
        let response = s.v1(Method::GET, &format!("/v1/requests/{id}"), &key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let entry: Value = response.json().await.unwrap();
        assert_eq!(entry["idempotency_key"], awkward);
        assert_eq!(entry["status"], 201);
        assert_eq!(entry["ip"], "203.0.113.7");
    }
    let listed: Value =
        s.v1(Method::GET, "/v1/requests?limit=100", &key).send().await.unwrap().json().await.unwrap();
    let copies =
        listed["data"].as_array().unwrap().iter().filter(|e| ids.iter().any(|id| e["id"] == *id)).count();
    assert_eq!(copies, 3, "each request once");
}

async fn the_retention_purge_deletes_only_old_log_rows(s: &TestServer) {
    let (token, key, _) = s.org_with_key("purge@example.com", &["full_access"]).await;
    for _ in 0..3 {
        s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
    }
    assert_eq!(usage_total(s, &token, "").await["total"], 3);
    let db = &s.server().state().db;
    let now = chrono::Utc::now();
    let purged = portico::metering::request_log::purge(db, now - chrono::TimeDelta::hours(1)).await.unwrap();
    assert_eq!(purged, 0, "nothing is older than an hour");
    let purged =
        portico::metering::request_log::purge(db, now + chrono::TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(purged, 3);
    // The roll-up is not the log: usage still counts them.
    assert_eq!(usage_total(s, &token, "").await["total"], 3);
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

async fn the_sixth_call_of_a_five_per_minute_key_is_rate_limited_with_headers(s: &TestServer) {
    let token = s.signup("limits@example.com").await["token"].as_str().unwrap().to_owned();
    let key =
        s.create_key(&token, json!({"name": "slow", "scopes": ["full_access"], "rate_limit_rpm": 5})).await;
    let key = key["key"].as_str().unwrap();
    let mut quota_left = Vec::new();
    for remaining in (0..5).rev() {
        let response = s.v1(Method::GET, "/v1/key", key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), "5");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining.to_string());
        assert!(header(&response, "x-ratelimit-reset").parse::<u64>().unwrap() <= 60);
        assert_eq!(header(&response, "ratelimit-policy"), "\"per-key\";q=5;w=60");
        assert!(header(&response, "ratelimit").starts_with(&format!("\"per-key\";r={remaining};t=")));
        quota_left.push(header(&response, "x-api-calls-remaining").parse::<u64>().unwrap());
    }
    assert!(quota_left.windows(2).all(|w| w[1] == w[0] - 1), "each call spends one: {quota_left:?}");

    let refused = s.v1(Method::GET, "/v1/key", key).send().await.unwrap();
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=12).contains(&retry_after), "one call every 12 s: {retry_after}");
    assert_eq!(header(&refused, "x-ratelimit-retry-after"), retry_after.to_string());
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&refused, "x-api-calls-remaining"), quota_left[4].to_string(), "a 429 spends no quota");
    assert_problem(refused, 429, "rate_limited").await;

    // Another key of the same organisation has its own allowance (the default, 600).
    let other = s.create_key(&token, json!({"name": "fast", "scopes": ["full_access"]})).await;
    let response = s.v1(Method::GET, "/v1/key", other["key"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(header(&response, "x-ratelimit-limit"), "600");
}

async fn an_idempotent_retry_replays_the_first_answer(s: &TestServer) {
    let (_, key, _) = s.org_with_key("idem@example.com", &["full_access"]).await;
    let body = json!({"url": "https://example.com/once", "title": "Once"});
    let send = |body: Value| {
        s.v1(Method::POST, "/v1/links", &key).header("idempotency-key", "order-42").json(&body).send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = header(&first, "location").to_owned();
    let first: Value = first.json().await.unwrap();

    // Same request, reformatted: replayed.
    let retry = s
        .v1(Method::POST, "/v1/links", &key)
        .header("idempotency-key", "order-42")
        .header("content-type", "application/json")
        .body("{ \"title\": \"Once\",\n  \"url\": \"https://example.com/once\" }")
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(header(&retry, "idempotent-replayed"), "true");
    assert_eq!(header(&retry, "location"), location);
    assert_eq!(header(&retry, "etag"), "\"1\"");
    assert!(retry.headers().contains_key("x-ratelimit-remaining"));
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let list: Value = s.v1(Method::GET, "/v1/links", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1, "the retry created nothing");

    // The same key on another route is another key.
    let domain = s
        .v1(Method::POST, "/v1/domains", &key)
        .header("idempotency-key", "order-42")
        .json(&json!({"hostname": "idem.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(domain.status(), StatusCode::CREATED);
    assert!(domain.headers().get("idempotent-replayed").is_none());

    // Errors are stored too (a 422 replays as a 422, its body — request id included — as it
    // was first answered); malformed keys are refused.
    let invalid = || {
        s.v1(Method::POST, "/v1/links", &key)
            .header("idempotency-key", "bad-1")
            .json(&json!({"url": "ftp://nope"}))
            .send()
    };
    let a = invalid().await.unwrap();
    assert_eq!(a.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let a: Value = a.json().await.unwrap();
    let b = invalid().await.unwrap();
    assert_eq!(b.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(header(&b, "idempotent-replayed"), "true");
    assert_eq!(header(&b, "content-type"), "application/problem+json");
    assert_eq!(b.json::<Value>().await.unwrap(), a);
    for bad in ["k".repeat(256), String::new()] {
        let response = s
            .v1(Method::POST, "/v1/links", &key)
            .header("idempotency-key", bad)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_request").await;
    }
}

async fn an_idempotency_key_reused_for_another_request_is_refused(s: &TestServer) {
    let (_, key, _) = s.org_with_key("reuse@example.com", &["full_access"]).await;
    let send = |url: &'static str| {
        s.v1(Method::POST, "/v1/links", &key)
            .header("idempotency-key", "same-key")
            .json(&json!({"url": url}))
            .send()
    };
    assert_eq!(send("https://example.com/a").await.unwrap().status(), StatusCode::CREATED);
    assert_problem(send("https://example.com/b").await.unwrap(), 422, "idempotency_key_reused").await;
}

async fn a_retry_while_the_first_is_running_is_a_conflict(s: &TestServer) {
    let (_, key, _) = s.org_with_key("running@example.com", &["full_access"]).await;
    let send = || {
        s.v1(Method::POST, "/v1/links", &key)
            .header("idempotency-key", "busy")
            .json(&json!({"url": "https://example.com"}))
            .send()
    };
    assert_eq!(send().await.unwrap().status(), StatusCode::CREATED);
    // Make the record look like a request still running elsewhere (its holder's lease is
    // live), as when two instances race.
    let at = chrono::Utc::now();
    let running = "UPDATE idempotency_records SET state = 'running', response_status = NULL, response_body = NULL, \
         locked_until = $1 WHERE idempotency_key = 'busy'";
    let set_lease = |until: chrono::DateTime<chrono::Utc>| async move {
        match s.server().state().db.pool() {
            portico::db::Pool::Sqlite(pool) => sqlx::query(running).bind(until).execute(pool).await.map(drop),
            portico::db::Pool::Postgres(pool) => {
                sqlx::query(running).bind(until).execute(pool).await.map(drop)
            }
        }
        .unwrap()
    };
    set_lease(at + chrono::TimeDelta::seconds(60)).await;
    assert_problem(send().await.unwrap(), 409, "idempotency_in_progress").await;

    // The holder died: once its lease is over, a retry takes the claim over and runs.
    set_lease(at - chrono::TimeDelta::seconds(1)).await;
    let taken_over = send().await.unwrap();
    assert_eq!(taken_over.status(), StatusCode::CREATED);
    assert!(taken_over.headers().get("idempotent-replayed").is_none());
    let replay = send().await.unwrap();
    assert_eq!(header(&replay, "idempotent-replayed"), "true");
}

async fn eight_concurrent_retries_create_one_resource(s: &TestServer) {
    let (_, key, _) = s.org_with_key("race@example.com", &["full_access"]).await;
    let requests = (0..8).map(|_| {
        s.v1(Method::POST, "/v1/links", &key)
            .header("idempotency-key", "race-1")
            .json(&json!({"url": "https://example.com/race", "slug": "race"}))
            .build()
            .unwrap()
    });
    let created = one_resource_from(&s.client, requests.collect()).await;
    assert!(created.iter().all(|id| id == &created[0]), "every 201 is the same link: {created:?}");
    let list: Value = s.v1(Method::GET, "/v1/links", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1);
}

/// Sends `requests` (retries of one create under one idempotency key) at once; each answers
/// 201 or 409 `idempotency_in_progress`. Returns the ids the 201s carried (at least one).
async fn one_resource_from(client: &reqwest::Client, requests: Vec<reqwest::Request>) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for request in requests {
        let client = client.clone();
        tasks.spawn(async move {
            let response = client.execute(request).await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        });
    }
    let mut created = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        match status {
            201 => created.push(body["id"].as_str().unwrap().to_owned()),
            409 => assert_eq!(body["code"], "idempotency_in_progress", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!created.is_empty(), "no request created the resource");
    created
}

/// The dashboard usage (which is not itself logged), once the request log is written.
async fn usage_total(s: &TestServer, token: &str, query: &str) -> Value {
    s.flush().await;
    s.get_with_token(&format!("/api/developer/usage{query}"), token).await.json().await.unwrap()
}

async fn the_request_log_and_usage_count_every_call(s: &TestServer) {
    let token = s.signup("log@example.com").await["token"].as_str().unwrap().to_owned();
    let full = s.create_key(&token, json!({"name": "full", "scopes": ["full_access"]})).await;
    let (full_key, full_id) = (full["key"].as_str().unwrap(), full["id"].as_str().unwrap());
    let narrow = s.create_key(&token, json!({"name": "narrow", "scopes": ["keys:read"]})).await;
    let narrow_key = narrow["key"].as_str().unwrap();

    let mut request_ids = Vec::new();
    for i in 0..6 {
        let response = s
            .v1(Method::POST, "/v1/links", full_key)
            .header("idempotency-key", format!("log-{i}"))
            .json(&json!({"url": format!("https://example.com/{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        request_ids.push(header(&response, "x-request-id").to_owned());
    }
    let missing =
        s.v1(Method::GET, "/v1/links/lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N", full_key).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let forbidden = s.v1(Method::GET, "/v1/links", narrow_key).send().await.unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let forbidden_id = header(&forbidden, "x-request-id").to_owned();
    // An unidentifiable key is logged, but belongs to no organisation.
    let unknown = s.v1(Method::GET, "/v1/links", "ptk_nope").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    let usage = usage_total(s, &token, "").await;
    assert_eq!(usage["total"], 8, "{usage}");
    assert_eq!(usage["series"].as_array().unwrap().len(), 30);
    let by_status = usage_total(s, &token, "?group_by=status").await;
    let classes: Vec<(String, i64)> = by_status["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["status_class"].as_str().unwrap().to_owned(), p["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(classes, [("2xx".to_owned(), 6), ("4xx".to_owned(), 2)]);
    let by_route = usage_total(s, &token, "?group_by=route").await;
    let routes: Vec<&str> =
        by_route["series"].as_array().unwrap().iter().map(|p| p["route"].as_str().unwrap()).collect();
    assert_eq!(routes, ["/v1/links", "/v1/links/{id}"]);
    let one_key = usage_total(s, &token, &format!("?key_id={full_id}")).await;
    assert_eq!(one_key["total"], 7);
    assert!(usage["quota_remaining"].as_u64().unwrap() < 1_000_000);

    // The log, newest first, filtered; each entry findable by the id its caller saw.
    let log: Value = s
        .v1(Method::GET, "/v1/requests?route=/v1/links&limit=100", full_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["total"], 7, "6 creates and the 403");
    assert_eq!(log["data"][0]["id"], forbidden_id.as_str());
    assert_eq!(log["data"][0]["status"], 403);
    let only_201: Value =
        s.v1(Method::GET, "/v1/requests?status=201", full_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(only_201["total"], 6);
    let entry: Value = s
        .v1(Method::GET, &format!("/v1/requests/{}", request_ids[2]), full_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["route"], "/v1/links");
    assert_eq!(entry["path"], "/v1/links");
    assert_eq!(entry["status"], 201);
    assert_eq!(entry["key_id"], full_id);
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["idempotency_key"], "log-2");
    assert!(entry["latency_ms"].as_f64().unwrap() >= 0.0);

    // Another organisation sees none of it.
    let (_, other, _) = s.org_with_key("log-other@example.com", &["full_access"]).await;
    let theirs = s.v1(Method::GET, &format!("/v1/requests/{}", request_ids[2]), &other).send().await.unwrap();
    assert_problem(theirs, 404, "not_found").await;
}

async fn usage_and_log_queries_validate_their_parameters(s: &TestServer) {
    let (token, key, _) = s.org_with_key("params@example.com", &["full_access"]).await;
    for bad in ["?from=2026-02-01&to=2026-01-01", "?from=2020-01-01&to=2026-01-01"] {
        assert_problem(
            s.v1(Method::GET, &format!("/v1/usage{bad}"), &key).send().await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
    }
    for bad in ["?group_by=week", "?from=soon"] {
        assert_problem(
            s.v1(Method::GET, &format!("/v1/usage{bad}"), &key).send().await.unwrap(),
            400,
            "invalid_request",
        )
        .await;
    }
    assert_problem(
        s.v1(Method::GET, "/v1/requests?status=abc", &key).send().await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        s.v1(Method::GET, "/v1/requests?limit=500", &key).send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_problem(s.get("/api/developer/usage").await, 401, "missing_credentials").await;
    let ok = s.get_with_token("/api/developer/usage?from=2026-01-01&to=2026-01-07", &token).await;
    let usage: Value = ok.json().await.unwrap();
    assert_eq!(usage["series"].as_array().unwrap().len(), 7);
}

/// An import writes batch after batch; the request log's writer, asked to write meanwhile,
/// gets the database within a few of the import's batches (writers take turns in the order
/// they asked), not after the import has run on for thousands of rows — the window a hard
/// kill could lose. Counted in the import's rows, not timed.
async fn the_request_log_waits_its_turn_behind_an_import_not_the_whole_import(s: &TestServer) {
    let (_, key, _) = s.org_with_key("turns@example.com", &["full_access"]).await;
    let accepted = crate::jobs::upload(s, &key, &crate::jobs::rows_csv("turn", 30_000)).await;
    let id = accepted["id"].as_str().unwrap().to_owned();
    let checkpoint = || async { s.count("SELECT checkpoint FROM jobs WHERE id = $1", &[&id]).await };
    let mut rounds = Vec::new();
    for _ in 0..5 {
        // Wait (bounded) until the import is writing.
        for _ in 0..200 {
            if checkpoint().await > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for _ in 0..20 {
            let response = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let before = checkpoint().await;
        assert!(s.server().state().request_log.flush_now().await, "the request log is written");
        let after = checkpoint().await;
        if after >= 30_000 {
            break;
        }
        rounds.push(after - before);
    }
    assert!(!rounds.is_empty(), "the import ended before the request log was flushed");
    // Rows the import committed while the log's writer waited for the database: a batch is
    // 100 rows; a few batches ahead in the queue are fair, a thousand rows are starvation.
    for rows in &rounds {
        assert!(*rows <= 500, "the import committed {rows} rows while the request log waited: {rounds:?}");
    }
}

mod quotas {
    use super::*;

    storage_tests_with!(|config| config.monthly_quota = 3; a_spent_quota_answers_quota_exceeded);

    async fn a_spent_quota_answers_quota_exceeded(s: &TestServer) {
        let (_, key, _) = s.org_with_key("quota@example.com", &["full_access"]).await;
        for left in [2, 1, 0] {
            let response = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, "x-api-calls-remaining"), left.to_string());
        }
        let refused = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
        assert_eq!(header(&refused, "x-api-calls-remaining"), "0");
        assert!(refused.headers().contains_key("x-ratelimit-limit"));
        assert_problem(refused, 429, "quota_exceeded").await;
        // Other organisations have their own quota.
        let (_, other, _) = s.org_with_key("quota-other@example.com", &["full_access"]).await;
        assert_eq!(s.v1(Method::GET, "/v1/key", &other).send().await.unwrap().status(), StatusCode::OK);
    }
}

mod strict {
    use super::*;

    storage_tests_with!(
        |config| {
            config.metering_durability = portico::metering::Durability::Strict;
            // Nothing but the strict path can write the log in time.
            config.request_log_flush = std::time::Duration::from_secs(3600);
        };
        with_strict_durability_an_answered_request_is_already_in_the_log
    );

    async fn with_strict_durability_an_answered_request_is_already_in_the_log(s: &TestServer) {
        let (_, key, _) = s.org_with_key("strict-log@example.com", &["full_access"]).await;
        for n in 1..=3u64 {
            let answered = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
            assert_eq!(answered.status(), StatusCode::OK);
            let request_id = header(&answered, "x-request-id").to_owned();
            // No wait, no flush: the answer came after the commit.
            let log: Value =
                s.v1(Method::GET, "/v1/requests", &key).send().await.unwrap().json().await.unwrap();
            assert_eq!(log["total"], 2 * n - 1, "{log}");
            assert!(log["data"].as_array().unwrap().iter().any(|e| e["id"] == request_id.as_str()));
        }
    }
}

/// Usage, the log and quotas survive a graceful restart with nothing lost, even when the
/// restart comes before the periodic flush.
async fn counts_survive_a_restart(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = portico::Config::new("127.0.0.1:0", dir.path());
        config.database_url = database_url.clone();
        // Only the shutdown drain can write the log in time.
        config.request_log_flush = Duration::from_secs(3600);
        config
    };
    let server = portico::server::start(config()).await.unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let (token, key) =
        crate::support::account_with_key(&client, &base, "restart@example.com", &["full_access"]).await;
    let calls = 25;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let (client, url, key) = (client.clone(), format!("{base}/v1/key"), key.clone());
        tasks.spawn(async move { client.get(url).bearer_auth(key).send().await.unwrap().status() });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    server.shutdown().await;

    let server = portico::server::start(config()).await.unwrap();
    let base = server.base_url();
    let usage: Value = crate::support::get_json(&client, format!("{base}/api/developer/usage"), &token).await;
    assert_eq!(usage["total"], calls);
    assert_eq!(usage["quota_remaining"], 1_000_000 - calls);
    let log: Value =
        crate::support::get_json(&client, format!("{base}/v1/requests?route=/v1/key"), &key).await;
    assert_eq!(log["total"], calls);
    // The quota carries on from where it was: this call is the 27th of the month.
    let response = client.get(format!("{base}/v1/key")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(header(&response, "x-api-calls-remaining"), (1_000_000 - calls - 2).to_string());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_counts_survive_a_graceful_restart() {
    counts_survive_a_restart(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_counts_survive_a_graceful_restart() {
    if let Some(url) = crate::support::fresh_postgres_database().await {
        counts_survive_a_restart(Some(url)).await;
    }
}

/// Two instances on one PostgreSQL: concurrent retries spread over both still create one
/// resource, because the idempotency claim is made in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_across_two_instances_create_one_resource() {
    let Some(url) = crate::support::fresh_postgres_database().await else { return };
    let master_key = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = |dir: &std::path::Path| {
        let mut config = portico::Config::new("127.0.0.1:0", dir);
        config.database_url = Some(url.clone());
        config.master_key = Some(portico::secret::Secret::new(master_key.to_owned()));
        config
    };
    let a = portico::server::start(config(dir_a.path())).await.unwrap();
    let b = portico::server::start(config(dir_b.path())).await.unwrap();
    let client = reqwest::Client::new();
    let (_, key) =
        crate::support::account_with_key(&client, &a.base_url(), "two@example.com", &["full_access"]).await;
    let requests = (0..8).map(|i| {
        let base = if i % 2 == 0 { a.base_url() } else { b.base_url() };
        client
            .post(format!("{base}/v1/links"))
            .bearer_auth(&key)
            .header("idempotency-key", "two-instances")
            .json(&json!({"url": "https://example.com/once"}))
            .build()
            .unwrap()
    });
    let ids = one_resource_from(&client, requests.collect()).await;
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let list: Value = crate::support::get_json(&client, format!("{}/v1/links", b.base_url()), &key).await;
    assert_eq!(list["total"], 1);
    a.shutdown().await;
    b.shutdown().await;
}
