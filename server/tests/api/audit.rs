//! The audit log: every change says who made it, from where, and what it changed — and no
//! entry ever holds a secret.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestServer, assert_problem, storage_tests_with};
use crate::teams::{invite, signup_invited};

storage_tests_with!(
    |config| config.webhook_allow_private = true;
    every_change_is_audited_with_its_actor_source_and_diff,
    the_audit_log_filters_pages_exports_ndjson_and_holds_no_secret,
    a_poller_following_the_sequence_misses_no_entry,
);

/// The organisation's entries (newest first), through the dashboard.
async fn entries(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let response = s.get_with_token(&format!("/api/developer/audit-log?limit=100{query}"), token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

/// The newest entry with `action`.
fn find<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} entry in {entries:#?}"))
}

fn assert_user(entry: &Value, user: &str) {
    assert_eq!(entry["actor"], json!({"type": "user", "id": user}), "{entry}");
    assert_eq!(entry["source"], "dashboard", "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    assert!(entry["request_id"].as_str().unwrap().starts_with("req_"), "{entry}");
}

async fn every_change_is_audited_with_its_actor_source_and_diff(s: &TestServer) {
    let owner = s.signup("audit-owner@example.com").await;
    let token = owner["token"].as_str().unwrap().to_owned();
    let owner_id = owner["user"]["id"].as_str().unwrap().to_owned();
    let org = owner["organization"]["id"].as_str().unwrap().to_owned();
    let log = entries(s, &token, "").await;
    let created = find(&log, "organization.created");
    assert_user(created, &owner_id);
    assert_eq!(created["resource"], json!({"type": "organization", "id": org}));
    assert_eq!(created["changes"]["name"], json!([null, "Org of audit-owner@example.com"]));

    // Sign-ins, good and bad.
    let wrong = s
        .post_json(
            "/api/developer/login",
            &json!({"email": "audit-owner@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_problem(wrong, 401, "invalid_credentials").await;
    let good = s
        .post_json("/api/developer/login", &json!({"email": "audit-owner@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(good.status(), StatusCode::OK);
    let log = entries(s, &token, "").await;
    // Whoever failed is not known to be the member: an anonymous actor, and the email tried,
    // hashed.
    let failed = find(&log, "sign_in.failed");
    assert_eq!(failed["actor"], json!({"type": "anonymous", "id": null}), "{failed}");
    assert_eq!(failed["source"], "dashboard");
    assert_eq!(failed["ip"], "127.0.0.1");
    assert_eq!(failed["resource"], json!({"type": "user", "id": owner_id}));
    assert_eq!(
        failed["changes"],
        json!({"email_sha256": [null, portico::secret::sha256_hex("audit-owner@example.com")]})
    );
    assert_user(find(&log, "sign_in.succeeded"), &owner_id);

    // Keys: created, updated, blocked, unblocked, rotated — by the owner, in the dashboard.
    let response = s
        .session(Method::POST, "/api/developer/apikeys", &token)
        .header("user-agent", "audit-test/1.0")
        .json(&json!({"name": "Backend", "scopes": ["links:read"], "tags": ["team:payments"]}))
        .send()
        .await
        .unwrap();
    let key: Value = response.json().await.unwrap();
    let key_id = key["id"].as_str().unwrap().to_owned();
    let key_path = format!("/api/developer/apikeys/{key_id}");
    let response = s
        .session(Method::PATCH, &key_path, &token)
        .json(&json!({"name": "Production backend", "rate_limit_rpm": 600}))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["updated_by"], owner_id);
    s.session(Method::PATCH, &key_path, &token)
        .json(&json!({"blocked": true, "blocked_reason": "leaked in a log"}))
        .send()
        .await
        .unwrap();
    s.session(Method::PATCH, &key_path, &token).json(&json!({"blocked": false})).send().await.unwrap();
    let rotated: Value = s
        .session(Method::POST, &format!("{key_path}/rotate"), &token)
        .json(&json!({"grace_period_seconds": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = entries(s, &token, &format!("&resource_id={key_id}")).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["key.rotated", "key.unblocked", "key.blocked", "key.updated", "key.created"]);
    for entry in &log {
        assert_user(entry, &owner_id);
        assert_eq!(entry["resource"], json!({"type": "api_key", "id": key_id}));
    }
    let created = find(&log, "key.created");
    assert_eq!(created["user_agent"], "audit-test/1.0");
    assert_eq!(created["changes"]["name"], json!([null, "Backend"]));
    assert_eq!(created["changes"]["scopes"], json!([null, ["links:read"]]));
    assert_eq!(created["changes"]["tags"], json!([null, ["team:payments"]]));
    assert_eq!(created["changes"]["prefix"], json!([null, key["prefix"]]));
    let update = find(&log, "key.updated");
    assert_eq!(update["request_id"], request_id);
    assert_eq!(
        update["changes"],
        json!({"name": ["Backend", "Production backend"], "rate_limit_rpm": [null, 600]})
    );
    assert_eq!(
        find(&log, "key.blocked")["changes"],
        json!({"blocked": [false, true], "blocked_reason": [null, "leaked in a log"]})
    );
    assert_eq!(
        find(&log, "key.unblocked")["changes"],
        json!({"blocked": [true, false], "blocked_reason": ["leaked in a log", null]})
    );
    assert_eq!(find(&log, "key.rotated")["changes"]["prefix"], json!([key["prefix"], rotated["prefix"]]));

    // Revoked with another key, through /v1: the actor is that key, the source the API.
    let admin_key = s
        .create_key(
            &token,
            json!({"name": "ops", "scopes": ["keys:write", "domains:write", "webhooks:manage"]}),
        )
        .await;
    let admin_key_id = admin_key["id"].as_str().unwrap().to_owned();
    let admin_key = admin_key["key"].as_str().unwrap().to_owned();
    let response = s.v1(Method::DELETE, &format!("/v1/apikeys/{key_id}"), &admin_key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let revoked: Value = s.get_with_token(&key_path, &token).await.json().await.unwrap();
    assert_eq!(revoked["revoked_by"], admin_key_id);
    let log = entries(s, &token, "&action=key.revoked").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["actor"], json!({"type": "api_key", "id": admin_key_id}));
    assert_eq!(log[0]["source"], "api");
    assert_eq!(log[0]["changes"]["status"], json!(["active", "revoked"]));
    // Revoking again changes nothing and records nothing.
    s.v1(Method::DELETE, &format!("/v1/apikeys/{key_id}"), &admin_key).send().await.unwrap();
    assert_eq!(entries(s, &token, "&action=key.revoked").await.len(), 1);

    // Domains, from the dashboard and from /v1.
    let domain: Value = s
        .session(Method::POST, "/api/developer/domains", &token)
        .json(&json!({"hostname": "go.audit.example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s.v1(Method::DELETE, &format!("/v1/domains/{}", domain["id"].as_str().unwrap()), &admin_key)
        .send()
        .await
        .unwrap();
    let log = entries(s, &token, &format!("&resource_id={}", domain["id"].as_str().unwrap())).await;
    assert_eq!(log[0]["action"], "domain.deleted");
    assert_eq!(log[0]["actor"]["type"], "api_key");
    assert_eq!(log[0]["changes"], json!({"hostname": ["go.audit.example.com", null]}));
    assert_eq!(log[1]["action"], "domain.created");
    assert_user(&log[1], &owner_id);

    // Webhook endpoints: created, updated, deleted; the secret never recorded, nor
    // credentials inside the URL. A change that changes nothing is not an entry.
    let hook: Value = s
        .session(Method::POST, "/api/developer/webhooks", &token)
        .json(&json!({"url": "http://hook-user:hunter2@127.0.0.1:9/hook?token=s3cr3t&team=blue", "events": ["link.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook_path = format!("/api/developer/webhooks/{}", hook["id"].as_str().unwrap());
    s.session(Method::PATCH, &hook_path, &token)
        .json(&json!({"events": ["link.created", "link.deleted"], "enabled": false}))
        .send()
        .await
        .unwrap();
    let unchanged =
        s.session(Method::PATCH, &hook_path, &token).json(&json!({"enabled": false})).send().await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::OK);
    assert_eq!(unchanged.headers()["etag"], "\"2\"", "a change of nothing is no new version");
    s.session(Method::DELETE, &hook_path, &token).send().await.unwrap();
    let log = entries(s, &token, &format!("&resource_id={}", hook["id"].as_str().unwrap())).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["webhook.deleted", "webhook.updated", "webhook.created"]);
    assert_eq!(
        log[1]["changes"],
        json!({"events": [["link.created"], ["link.created", "link.deleted"]], "enabled": [true, false]})
    );
    let redacted = "http://REDACTED:REDACTED@127.0.0.1:9/hook?token=REDACTED&team=blue";
    assert_eq!(log[2]["changes"]["url"], json!([null, redacted]));
    assert_eq!(log[0]["changes"]["url"], json!([redacted, null]));
    let everything = serde_json::to_string(&entries(s, &token, "").await).unwrap();
    assert!(!everything.contains("hunter2") && !everything.contains("s3cr3t"), "{everything}");

    // Invitations and members.
    let invitation = invite(s, &token, "audit-dev@example.com", "developer").await;
    let invitation_id = invitation["invitation"]["id"].as_str().unwrap().to_owned();
    let joined: Value = signup_invited(s, "audit-dev@example.com", invitation["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let dev_id = joined["user"]["id"].as_str().unwrap().to_owned();
    let dropped = invite(s, &token, "audit-gone@example.com", "viewer").await;
    s.session(
        Method::DELETE,
        &format!("/api/developer/invitations/{}", dropped["invitation"]["id"].as_str().unwrap()),
        &token,
    )
    .send()
    .await
    .unwrap();
    let member_path = format!("/api/developer/members/{dev_id}");
    s.session(Method::PATCH, &member_path, &token).json(&json!({"role": "admin"})).send().await.unwrap();
    s.session(Method::DELETE, &member_path, &token).send().await.unwrap();
    let log = entries(s, &token, "").await;
    let created = find(&log, "invitation.created");
    assert_user(created, &owner_id);
    assert_eq!(created["resource"], json!({"type": "invitation", "id": dropped["invitation"]["id"]}));
    assert_eq!(created["changes"]["role"], json!([null, "viewer"]));
    let accepted = find(&log, "invitation.accepted");
    assert_eq!(accepted["actor"], json!({"type": "user", "id": dev_id}));
    assert_eq!(accepted["resource"]["id"], invitation_id);
    assert_eq!(accepted["changes"]["role"], json!([null, "developer"]));
    assert_eq!(find(&log, "invitation.revoked")["changes"]["status"], json!(["pending", "revoked"]));
    let changed = find(&log, "member.role_changed");
    assert_user(changed, &owner_id);
    assert_eq!(changed["resource"], json!({"type": "member", "id": dev_id}));
    assert_eq!(changed["changes"], json!({"role": ["developer", "admin"]}));
    assert_eq!(find(&log, "member.removed")["changes"]["role"], json!(["admin", null]));

    // Settings.
    s.session(Method::PATCH, "/api/developer/organization", &token)
        .json(&json!({"monthly_quota": 5000}))
        .send()
        .await
        .unwrap();
    let log = entries(s, &token, "&action=organization.updated").await;
    assert_user(&log[0], &owner_id);
    assert_eq!(log[0]["changes"], json!({"monthly_quota": [null, 5000]}));

    // Another organisation sees none of it.
    let other = s.signup("audit-other@example.com").await;
    let theirs = entries(s, other["token"].as_str().unwrap(), "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["action"], "organization.created");
}

async fn the_audit_log_filters_pages_exports_ndjson_and_holds_no_secret(s: &TestServer) {
    let owner = s.signup("export-owner@example.com").await;
    let token = owner["token"].as_str().unwrap().to_owned();
    let owner_id = owner["user"]["id"].as_str().unwrap().to_owned();
    // Secrets handed out along the way: none may appear in any entry.
    let mut secrets = vec![token.clone(), PASSWORD.to_owned()];
    let reader = s.create_key(&token, json!({"name": "siem", "scopes": ["audit:read"]})).await;
    let reader_key = reader["key"].as_str().unwrap().to_owned();
    secrets.push(reader_key.clone());
    for i in 0..5 {
        let key = s.create_key(&token, json!({"name": format!("key {i}"), "scopes": ["links:read"]})).await;
        secrets.push(key["key"].as_str().unwrap().to_owned());
        let rotated: Value = s
            .session(
                Method::POST,
                &format!("/api/developer/apikeys/{}/rotate", key["id"].as_str().unwrap()),
                &token,
            )
            .json(&json!({"grace_period_seconds": 60}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        secrets.push(rotated["key"].as_str().unwrap().to_owned());
    }
    let hook: Value = s
        .session(Method::POST, "/api/developer/webhooks", &token)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["link.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(hook["secret"].as_str().unwrap().to_owned());
    let invitation = invite(s, &token, "export-dev@example.com", "viewer").await;
    secrets.push(invitation["token"].as_str().unwrap().to_owned());
    let joined: Value = signup_invited(s, "export-dev@example.com", invitation["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    secrets.push(joined["token"].as_str().unwrap().to_owned());
    let login: Value = s
        .post_json(
            "/api/developer/login",
            &json!({"email": "export-owner@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
    secrets.push(login["token"].as_str().unwrap().to_owned());

    // Pages: newest first, `total` counts them all.
    let page: Value =
        s.get_with_token("/api/developer/audit-log?limit=3", &token).await.json().await.unwrap();
    let total = page["total"].as_u64().unwrap();
    // organization.created, 6 key.created, 5 key.rotated, webhook.created, invitation.created,
    // invitation.accepted, sign_in.succeeded.
    assert_eq!(total, 16);
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["data"][0]["action"], "sign_in.succeeded");
    let next: Value =
        s.get_with_token("/api/developer/audit-log?limit=3&offset=3", &token).await.json().await.unwrap();
    assert_ne!(next["data"][0]["id"], page["data"][0]["id"]);
    assert!(next["data"][0]["id"].as_str() < page["data"][2]["id"].as_str(), "newest first");

    // Filters.
    assert_eq!(entries(s, &token, "&action=key.rotated").await.len(), 5);
    assert_eq!(entries(s, &token, &format!("&actor_id={owner_id}")).await.len(), 15);
    assert_eq!(
        entries(s, &token, &format!("&actor_id={}", joined["user"]["id"].as_str().unwrap())).await.len(),
        1
    );
    let first = entries(s, &token, "&action=organization.created").await;
    let at = first[0]["created_at"].as_str().unwrap();
    assert_eq!(entries(s, &token, &format!("&to={}", at.replace('+', "%2B"))).await.len(), 0);
    assert_eq!(entries(s, &token, &format!("&from={}", at.replace('+', "%2B"))).await.len(), 16);
    let bad = s.get_with_token("/api/developer/audit-log?action=key.exploded", &token).await;
    assert_problem(bad, 400, "invalid_request").await;
    let bad = s
        .get_with_token("/api/developer/audit-log?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", &token)
        .await;
    assert_problem(bad, 422, "validation_failed").await;

    // NDJSON: every matching entry, oldest first, one per line — from the dashboard and /v1.
    let response = s
        .session(Method::GET, "/api/developer/audit-log", &token)
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 16);
    assert_eq!(lines[0]["action"], "organization.created");
    assert!(lines.windows(2).all(|w| w[0]["id"].as_str() < w[1]["id"].as_str()), "oldest first");
    let v1 = s
        .v1(Method::GET, "/v1/audit-log?action=key.created", &reader_key)
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status(), StatusCode::OK);
    assert_eq!(v1.text().await.unwrap().lines().count(), 6);
    let page: Value =
        s.v1(Method::GET, "/v1/audit-log?limit=1", &reader_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["total"], 16);

    // No secret, nor more of a key than its display prefix, anywhere in the log.
    let everything = text.clone() + &serde_json::to_string(&page).unwrap();
    for secret in &secrets {
        let shown = if secret.starts_with("ptk_") { &secret[..13] } else { secret.as_str() };
        assert!(!everything.contains(shown), "the audit log holds a secret: {shown}…");
    }

    // Keys need `audit:read`; viewers and developers cannot read the log.
    let plain = s.create_key(&token, json!({"name": "links", "scopes": ["links:read"]})).await;
    let response = s.v1(Method::GET, "/v1/audit-log", plain["key"].as_str().unwrap()).send().await.unwrap();
    assert_problem(response, 403, "insufficient_scope").await;
    let response = s.get_with_token("/api/developer/audit-log", joined["token"].as_str().unwrap()).await;
    assert_problem(response, 403, "insufficient_role").await;

    // Retention: entries older than it are purged, newer ones kept.
    s.advance_clock(Duration::from_secs(366 * 24 * 3600));
    let before = s.count("SELECT COUNT(*) FROM audit_log", &[]).await;
    let fresh = s
        .post_json(
            "/api/developer/login",
            &json!({"email": "export-owner@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let state = s.server().state();
    let purged =
        portico::audit::store::purge(&state.db, state.db.now() - chrono::TimeDelta::days(365)).await.unwrap();
    assert_eq!(purged as i64, before);
    assert_eq!(s.count("SELECT COUNT(*) FROM audit_log", &[]).await, 1);
    let kept = entries(s, fresh_token(fresh).await.as_str(), "").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["action"], "sign_in.succeeded");
}

async fn fresh_token(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Entries after `after` in the NDJSON export, in order.
async fn export_after(s: &TestServer, token: &str, after: i64) -> Vec<Value> {
    let response = s
        .session(Method::GET, &format!("/api/developer/audit-log?after={after}"), token)
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Four writers change keys at once while a poller follows the log with `after` = the last
/// `sequence` it has: it ends with every entry, each once, in commit order (1, 2, 3…).
async fn a_poller_following_the_sequence_misses_no_entry(s: &TestServer) {
    let owner = s.signup("audit-poller@example.com").await;
    let token = owner["token"].as_str().unwrap().to_owned();
    let mut keys = Vec::new();
    for i in 0..4 {
        let key =
            s.create_key(&token, json!({"name": format!("writer {i}"), "scopes": ["links:read"]})).await;
        keys.push(key["id"].as_str().unwrap().to_owned());
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers = keys.iter().enumerate().map(|(i, id)| {
        let path = format!("/api/developer/apikeys/{id}");
        let token = token.clone();
        async move {
            for n in 0..25 {
                let response = s
                    .session(Method::PATCH, &path, &token)
                    .json(&json!({"name": format!("writer {i} change {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
    });
    let writers = futures_util::future::join_all(writers);
    let poller = {
        let done = done.clone();
        let token = token.clone();
        async move {
            let mut seen: Vec<Value> = Vec::new();
            let mut last = 0;
            let mut polls = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                for entry in export_after(s, &token, last).await {
                    last = entry["sequence"].as_i64().unwrap();
                    seen.push(entry);
                }
                polls += 1;
                if finished || polls > 2000 {
                    return (seen, polls);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let ((), (seen, polls)) = tokio::join!(
        async {
            writers.await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        },
        poller
    );
    assert!(polls > 3, "the poller ran while the writers wrote ({polls} polls)");
    let everything = export_after(s, &token, 0).await;
    assert_eq!(everything.len(), 1 + 4 + 100, "the organisation, 4 keys, 100 changes");
    let ids =
        |entries: &[Value]| entries.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&seen), ids(&everything), "the poller saw every entry, once, in order");
    let sequences: Vec<i64> = everything.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (1..=everything.len() as i64).collect::<Vec<_>>());
}
