//! API keys: minting in the dashboard, the `/v1` pipeline's checks (each code from its own
//! cause), rotation, revocation, expiry, allowlists, scopes, and tenancy on every key route.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    a_new_key_is_shown_once_and_lists_show_only_metadata,
    key_creation_names_every_invalid_field,
    a_key_authenticates_as_bearer_or_x_api_key,
    conflicting_credentials_are_an_invalid_request,
    malformed_unknown_and_missing_keys_each_get_their_code,
    a_revoked_key_is_refused_on_the_next_request,
    an_expiry_takes_effect_without_a_restart,
    a_blocked_key_is_refused_with_its_reason_until_unblocked,
    ip_allowlists_take_addresses_and_cidrs,
    scopes_are_enforced_and_the_missing_one_is_named,
    keys_cannot_mint_keys,
    rotation_without_grace_ends_the_old_secret_at_once,
    rotation_with_grace_keeps_both_secrets_until_it_ends,
    updates_honour_if_match_and_bump_the_version,
    rotation_and_revocation_honour_if_match,
    a_retried_key_creation_with_an_idempotency_key_makes_one_key,
    whole_numbers_written_as_floats_are_integers,
    lists_paginate_and_hide_inactive_keys_unless_asked,
    introspection_describes_the_calling_key,
    organizations_never_see_each_others_keys,
    keys_carry_tags_and_who_changed_them_and_both_lists_filter_by_tag,
);

async fn a_new_key_is_shown_once_and_lists_show_only_metadata(s: &TestServer) {
    let token = s.signup("mint@example.com").await["token"].as_str().unwrap().to_owned();
    let response = s
        .session(Method::POST, "/api/developer/apikeys", &token)
        .json(&json!({
            "name": "  Production backend ",
            "scopes": ["links:write", "links:read", "links:read"],
            "domains": ["Links.Example.com", "links.example.com"],
            "allowed_ips": ["127.0.0.1", "10.1.2.3/8"],
            "expires_in_days": 30,
            "rate_limit_rpm": 120
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id_location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    let pattern_ok =
        key.len() == 53 && key.starts_with("ptk_") && key[4..].bytes().all(|b| b.is_ascii_alphanumeric());
    assert!(pattern_ok, "{key}");
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    assert_eq!(id_location, format!("/api/developer/apikeys/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["name"], "Production backend");
    assert_eq!(created["prefix"], &key[..12]);
    assert_eq!(created["scopes"], json!(["links:read", "links:write"]));
    assert_eq!(created["domains"], json!(["links.example.com"]));
    assert_eq!(created["allowed_ips"], json!(["127.0.0.1", "10.0.0.0/8"]));
    assert_eq!(created["rate_limit_rpm"], 120);
    assert_eq!(created["status"], "active");
    assert_eq!(created["blocked"], false);
    assert_eq!(created["version"], 1);
    assert!(created["last_used_at"].is_null());
    let expires: chrono::DateTime<chrono::Utc> = created["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - chrono::Utc::now()).num_days(), 29);

    let list: Value =
        s.session(Method::GET, "/api/developer/apikeys", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1);
    let listed = &list["data"][0];
    assert!(listed.get("key").is_none(), "lists never show the key");
    assert!(!list.to_string().contains(&key[12..]), "nor any part of it beyond the prefix");
    let one = s.session(Method::GET, &id_location, &token).send().await.unwrap();
    assert_eq!(one.headers()["etag"], "\"1\"");
    let one: Value = one.json().await.unwrap();
    assert!(one.get("key").is_none());
    assert_eq!(&one, listed);
}

async fn key_creation_names_every_invalid_field(s: &TestServer) {
    let token = s.signup("invalid@example.com").await["token"].as_str().unwrap().to_owned();
    let post = |body: Value| s.session(Method::POST, "/api/developer/apikeys", &token).json(&body).send();
    let problem = assert_problem(
        post(json!({
            "name": "",
            "scopes": [],
            "domains": ["not a host"],
            "allowed_ips": ["10.0.0.0/33"],
            "expires_at": "2001-01-01T00:00:00Z",
            "expires_in_days": 0,
            "rate_limit_rpm": 0
        }))
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "scopes",
            "domains[0]",
            "allowed_ips[0]",
            "expires_at",
            "expires_in_days",
            "expires_in_days",
            "rate_limit_rpm"
        ]
    );

    let unknown_scope = post(json!({"name": "k", "scopes": ["links:read", "root"]})).await.unwrap();
    let problem = assert_problem(unknown_scope, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "scopes[1]");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("full_access"));

    let smuggled = post(json!({"name": "k", "scopes": ["links:read"], "key": "ptk_mine"})).await.unwrap();
    assert_problem(smuggled, 422, "validation_failed").await;
}

async fn a_key_authenticates_as_bearer_or_x_api_key(s: &TestServer) {
    let (_, key, id) = s.org_with_key("both@example.com", &["keys:read"]).await;
    let bearer = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(bearer.json::<Value>().await.unwrap()["id"], id);
    let header = s.request(Method::GET, "/v1/key").header("x-api-key", &key).send().await.unwrap();
    assert_eq!(header.status(), StatusCode::OK);
    let same = s.v1(Method::GET, "/v1/key", &key).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(same.status(), StatusCode::OK, "the same key in both headers is fine");
}

async fn conflicting_credentials_are_an_invalid_request(s: &TestServer) {
    let (_, key, _) = s.org_with_key("conflict@example.com", &["keys:read"]).await;
    let (_, other, _) = s.org_with_key("conflict2@example.com", &["keys:read"]).await;
    let response = s.v1(Method::GET, "/v1/key", &key).header("x-api-key", &other).send().await.unwrap();
    assert_problem(response, 400, "invalid_request").await;
}

async fn malformed_unknown_and_missing_keys_each_get_their_code(s: &TestServer) {
    let (_, key, _) = s.org_with_key("codes@example.com", &["keys:read"]).await;
    let missing = s.get("/v1/key").await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_problem(missing, 401, "missing_credentials").await;

    let mut corrupted = key.clone().into_bytes();
    corrupted[10] = if corrupted[10] == b'A' { b'B' } else { b'A' };
    let corrupted = String::from_utf8(corrupted).unwrap();
    for bad in ["nonsense", "ptk_short", &key[..52], &corrupted, &key.replacen("ptk_", "pts_", 1)] {
        let response = s.v1(Method::GET, "/v1/key", bad).send().await.unwrap();
        let problem = assert_problem(response, 401, "invalid_api_key").await;
        assert!(problem["detail"].as_str().unwrap().contains("malformed"), "{bad}: {problem}");
    }
    // Well-formed, right checksum, never issued.
    let unknown = portico::keys::material::generate().secret().expose().clone();
    let response = s.v1(Method::GET, "/v1/key", &unknown).send().await.unwrap();
    let problem = assert_problem(response, 401, "invalid_api_key").await;
    assert!(!problem["detail"].as_str().unwrap().contains("malformed"));
    let basic =
        s.request(Method::GET, "/v1/key").header("authorization", "Basic a2V5Og==").send().await.unwrap();
    assert_problem(basic, 401, "invalid_api_key").await;
}

async fn a_revoked_key_is_refused_on_the_next_request(s: &TestServer) {
    let (token, key, id) = s.org_with_key("revoke@example.com", &["keys:read", "keys:write"]).await;
    assert_eq!(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(), StatusCode::OK);
    let revoke =
        s.session(Method::DELETE, &format!("/api/developer/apikeys/{id}"), &token).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap(), 401, "key_revoked").await;
    let again =
        s.session(Method::DELETE, &format!("/api/developer/apikeys/{id}"), &token).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT, "revoking twice is harmless");

    // A key can revoke itself through /v1, and is refused right after.
    let created = s.create_key(&token, json!({"name": "self", "scopes": ["keys:write"]})).await;
    let (key, id) = (created["key"].as_str().unwrap(), created["id"].as_str().unwrap());
    let response = s.v1(Method::DELETE, &format!("/v1/apikeys/{id}"), key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, "/v1/key", key).send().await.unwrap(), 401, "key_revoked").await;
    let listed: Value = s
        .session(Method::GET, &format!("/api/developer/apikeys/{id}"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["status"], "revoked");
}

async fn an_expiry_takes_effect_without_a_restart(s: &TestServer) {
    let token = s.signup("expiry@example.com").await["token"].as_str().unwrap().to_owned();
    let expires_at = (chrono::Utc::now() + chrono::TimeDelta::milliseconds(1500)).to_rfc3339();
    let created = s
        .create_key(&token, json!({"name": "brief", "scopes": ["keys:read"], "expires_at": expires_at}))
        .await;
    let key = created["key"].as_str().unwrap();
    assert_eq!(s.v1(Method::GET, "/v1/key", key).send().await.unwrap().status(), StatusCode::OK);
    s.advance_clock(Duration::from_millis(1700));
    assert_problem(s.v1(Method::GET, "/v1/key", key).send().await.unwrap(), 401, "key_expired").await;
    let id = created["id"].as_str().unwrap();
    let shown: Value = s
        .session(Method::GET, &format!("/api/developer/apikeys/{id}"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "expired");
    let rotate = s
        .session(Method::POST, &format!("/api/developer/apikeys/{id}/rotate"), &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(rotate, 409, "conflict").await;
}

async fn a_blocked_key_is_refused_with_its_reason_until_unblocked(s: &TestServer) {
    let (token, key, id) = s.org_with_key("blocked@example.com", &["keys:read"]).await;
    let path = format!("/api/developer/apikeys/{id}");
    let block = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"blocked": true, "blocked_reason": "suspicious traffic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(block.status(), StatusCode::OK);
    let problem =
        assert_problem(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap(), 403, "key_blocked").await;
    assert!(problem["detail"].as_str().unwrap().contains("suspicious traffic"));
    let unblock =
        s.session(Method::PATCH, &path, &token).json(&json!({"blocked": false})).send().await.unwrap();
    let unblocked: Value = unblock.json().await.unwrap();
    assert_eq!(unblocked["blocked"], false);
    assert!(unblocked["blocked_reason"].is_null());
    assert_eq!(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(), StatusCode::OK);
}

async fn ip_allowlists_take_addresses_and_cidrs(s: &TestServer) {
    let token = s.signup("ips@example.com").await["token"].as_str().unwrap().to_owned();
    let key_with = |ips: Value| {
        let token = token.clone();
        async move {
            let created = s
                .create_key(&token, json!({"name": "ips", "scopes": ["keys:read"], "allowed_ips": ips}))
                .await;
            created["key"].as_str().unwrap().to_owned()
        }
    };
    // The tests call from 127.0.0.1.
    for allowed in
        [json!(["127.0.0.0/8"]), json!(["127.0.0.1"]), json!(["10.0.0.0/8", "127.0.0.1/32"]), json!([])]
    {
        let key = key_with(allowed.clone()).await;
        assert_eq!(
            s.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(),
            StatusCode::OK,
            "{allowed}"
        );
    }
    for refused in [json!(["10.0.0.0/8"]), json!(["::1"]), json!(["127.0.0.2"])] {
        let key = key_with(refused.clone()).await;
        let problem =
            assert_problem(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap(), 403, "ip_not_allowed")
                .await;
        assert!(problem["detail"].as_str().unwrap().contains("127.0.0.1"), "{refused}");
    }
}

async fn scopes_are_enforced_and_the_missing_one_is_named(s: &TestServer) {
    let token = s.signup("scopes@example.com").await["token"].as_str().unwrap().to_owned();
    let links = s.create_key(&token, json!({"name": "links", "scopes": ["links:read"]})).await;
    let links_key = links["key"].as_str().unwrap();
    let problem = assert_problem(
        s.v1(Method::GET, "/v1/apikeys", links_key).send().await.unwrap(),
        403,
        "insufficient_scope",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("`keys:read`"));
    // Any valid key may introspect itself.
    assert_eq!(s.v1(Method::GET, "/v1/key", links_key).send().await.unwrap().status(), StatusCode::OK);

    let reader = s.create_key(&token, json!({"name": "reader", "scopes": ["keys:read"]})).await;
    let reader_key = reader["key"].as_str().unwrap();
    assert_eq!(s.v1(Method::GET, "/v1/apikeys", reader_key).send().await.unwrap().status(), StatusCode::OK);
    let id = links["id"].as_str().unwrap();
    let problem = assert_problem(
        s.v1(Method::DELETE, &format!("/v1/apikeys/{id}"), reader_key).send().await.unwrap(),
        403,
        "insufficient_scope",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("`keys:write`"));

    // keys:write includes keys:read; full_access includes everything.
    for scopes in [json!(["keys:write"]), json!(["full_access"])] {
        let key = s.create_key(&token, json!({"name": "w", "scopes": scopes})).await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            s.v1(Method::GET, "/v1/apikeys", &key).send().await.unwrap().status(),
            StatusCode::OK,
            "{scopes}"
        );
    }
}

async fn keys_cannot_mint_keys(s: &TestServer) {
    let (_, key, id) = s.org_with_key("nomint@example.com", &["full_access"]).await;
    let body = json!({"name": "child", "scopes": ["full_access"]});
    let response = s.v1(Method::POST, "/v1/apikeys", &key).json(&body).send().await.unwrap();
    assert_problem(response, 403, "api_key_forbidden").await;
    // Nor through the dashboard routes: a key is not a session.
    let response = s.v1(Method::POST, "/api/developer/apikeys", &key).json(&body).send().await.unwrap();
    assert_problem(response, 401, "invalid_session").await;
    let response = s
        .v1(Method::POST, &format!("/api/developer/apikeys/{id}/rotate"), &key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "invalid_session").await;
    // Without any credentials, the pipeline answers first.
    let response = s.post_json("/v1/apikeys", &body).await;
    assert_problem(response, 401, "missing_credentials").await;
}

async fn rotation_without_grace_ends_the_old_secret_at_once(s: &TestServer) {
    let (token, old, id) = s.org_with_key("rotate0@example.com", &["keys:read"]).await;
    let response = s
        .session(Method::POST, &format!("/api/developer/apikeys/{id}/rotate"), &token)
        .json(&json!({"grace_period_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let rotated: Value = response.json().await.unwrap();
    let new = rotated["key"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(rotated["id"], id, "rotation keeps the key's id");
    assert_eq!(rotated["prefix"], &new[..12]);
    assert_eq!(rotated["rotated_from"], &old[..12]);
    assert_eq!(rotated["version"], 2);
    assert_eq!(rotated["scopes"], json!(["keys:read"]));
    let me: Value = s.v1(Method::GET, "/v1/key", new).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["id"], id);
    assert_problem(s.v1(Method::GET, "/v1/key", &old).send().await.unwrap(), 401, "key_expired").await;
}

async fn rotation_with_grace_keeps_both_secrets_until_it_ends(s: &TestServer) {
    let (token, old, id) = s.org_with_key("rotate1@example.com", &["keys:read"]).await;
    let path = format!("/api/developer/apikeys/{id}/rotate");
    let bad = s
        .session(Method::POST, &path, &token)
        .json(&json!({"grace_period_seconds": -1}))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await;
    let rotated: Value = s
        .session(Method::POST, &path, &token)
        .json(&json!({"grace_period_seconds": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rotated["key"].as_str().unwrap();
    // The key says until when the replaced secret works: the end of the grace period.
    let rotated_at: chrono::DateTime<chrono::Utc> = rotated["rotated_at"].as_str().unwrap().parse().unwrap();
    let ends: chrono::DateTime<chrono::Utc> =
        rotated["previous_secret_expires_at"].as_str().expect("a grace period's end").parse().unwrap();
    let off = (ends - rotated_at - chrono::TimeDelta::seconds(2)).num_milliseconds();
    assert!(off.abs() < 200, "the grace period ends 2 s after the rotation ({off} ms off)");
    let shown: Value =
        s.get_with_token(&format!("/api/developer/apikeys/{id}"), &token).await.json().await.unwrap();
    assert_eq!(shown["previous_secret_expires_at"], rotated["previous_secret_expires_at"]);
    for secret in [new, old.as_str()] {
        let me: Value = s.v1(Method::GET, "/v1/key", secret).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["id"], id, "both secrets resolve to the same key");
    }
    s.advance_clock(Duration::from_millis(2200));
    assert_problem(s.v1(Method::GET, "/v1/key", &old).send().await.unwrap(), 401, "key_expired").await;
    assert_eq!(s.v1(Method::GET, "/v1/key", new).send().await.unwrap().status(), StatusCode::OK);
}

async fn updates_honour_if_match_and_bump_the_version(s: &TestServer) {
    let (token, key, id) = s.org_with_key("patch@example.com", &["keys:read"]).await;
    let path = format!("/api/developer/apikeys/{id}");
    let response = s.session(Method::PATCH, &path, &token)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "renamed", "domains": ["a.example.com"], "allowed_ips": ["127.0.0.1"], "rate_limit_rpm": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["domains"], json!(["a.example.com"]));
    assert_eq!(updated["rate_limit_rpm"], 60);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["scopes"], json!(["keys:read"]), "scopes cannot change");

    let stale = s
        .session(Method::PATCH, &path, &token)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "lost"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    let garbled = s
        .session(Method::PATCH, &path, &token)
        .header("if-match", "yesterday")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(garbled, 400, "invalid_request").await;
    let scopes = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"scopes": ["full_access"]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(scopes, 422, "validation_failed").await;
    assert!(problem["detail"].as_str().unwrap().contains("scopes"));
    let invalid = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"allowed_ips": ["nope"], "rate_limit_rpm": -1}))
        .send()
        .await
        .unwrap();
    assert_problem(invalid, 422, "validation_failed").await;

    // null clears; the change applies to the next request.
    let cleared: Value = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"rate_limit_rpm": null, "allowed_ips": ["10.0.0.0/8"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cleared["rate_limit_rpm"].is_null());
    assert_eq!(cleared["version"], 3);
    assert_problem(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap(), 403, "ip_not_allowed").await;
}

async fn lists_paginate_and_hide_inactive_keys_unless_asked(s: &TestServer) {
    let token = s.signup("lists@example.com").await["token"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for i in 0..5 {
        let created = s.create_key(&token, json!({"name": format!("k{i}"), "scopes": ["keys:read"]})).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    s.session(Method::DELETE, &format!("/api/developer/apikeys/{}", ids[0]), &token).send().await.unwrap();
    let list = |query: &'static str| {
        let token = token.clone();
        async move {
            let response = s
                .session(Method::GET, &format!("/api/developer/apikeys{query}"), &token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            response.json::<Value>().await.unwrap()
        }
    };
    let page = list("?limit=2").await;
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()),
        (Some(4), Some(2), Some(0))
    );
    let names: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["k4", "k3"], "newest first");
    let page = list("?limit=2&offset=3").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let past = list("?offset=50").await;
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["total"], 4);
    let all = list("?include_inactive=true&limit=100").await;
    assert_eq!(all["total"], 5);
    for bad in ["?limit=0", "?limit=101", "?offset=-1"] {
        let response =
            s.session(Method::GET, &format!("/api/developer/apikeys{bad}"), &token).send().await.unwrap();
        assert_problem(response, 422, "validation_failed").await;
    }
    for bad in ["?limit=ten", "?include_inactive=maybe"] {
        let response =
            s.session(Method::GET, &format!("/api/developer/apikeys{bad}"), &token).send().await.unwrap();
        assert_problem(response, 400, "invalid_request").await;
    }
}

async fn introspection_describes_the_calling_key(s: &TestServer) {
    let token = s.signup("intro@example.com").await["token"].as_str().unwrap().to_owned();
    let created = s
        .create_key(&token, json!({"name": "scoped", "scopes": ["links:read"], "domains": ["go.example.com"], "rate_limit_rpm": 30}))
        .await;
    let response = s.v1(Method::GET, "/v1/key", created["key"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let me: Value = response.json().await.unwrap();
    for field in
        ["id", "name", "prefix", "scopes", "domains", "allowed_ips", "expires_at", "rate_limit_rpm", "status"]
    {
        assert_eq!(me[field], created[field], "{field}");
    }
    assert!(me.get("key").is_none());
}

async fn organizations_never_see_each_others_keys(s: &TestServer) {
    let (token_a, _key_a, id_a) = s.org_with_key("a@tenant.example", &["full_access"]).await;
    let (token_b, key_b, _id_b) = s.org_with_key("b@tenant.example", &["full_access"]).await;

    // Org B's session on org A's key: 404 on every dashboard route.
    let path = format!("/api/developer/apikeys/{id_a}");
    assert_problem(s.session(Method::GET, &path, &token_b).send().await.unwrap(), 404, "not_found").await;
    let patch =
        s.session(Method::PATCH, &path, &token_b).json(&json!({"name": "mine"})).send().await.unwrap();
    assert_problem(patch, 404, "not_found").await;
    assert_problem(s.session(Method::DELETE, &path, &token_b).send().await.unwrap(), 404, "not_found").await;
    let rotate =
        s.session(Method::POST, &format!("{path}/rotate"), &token_b).json(&json!({})).send().await.unwrap();
    assert_problem(rotate, 404, "not_found").await;

    // Org B's key on org A's key: 404 on every /v1 route.
    let v1 = format!("/v1/apikeys/{id_a}");
    assert_problem(s.v1(Method::GET, &v1, &key_b).send().await.unwrap(), 404, "not_found").await;
    assert_problem(s.v1(Method::DELETE, &v1, &key_b).send().await.unwrap(), 404, "not_found").await;

    // Lists show only one's own.
    let list_b: Value = s.v1(Method::GET, "/v1/apikeys", &key_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(list_b["total"], 1);
    assert!(!list_b.to_string().contains(&id_a));
    let list_b: Value = s
        .session(Method::GET, "/api/developer/apikeys", &token_b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list_b.to_string().contains(&id_a));

    // And org A's key still works, untouched.
    let a: Value = s.session(Method::GET, &path, &token_a).send().await.unwrap().json().await.unwrap();
    assert_eq!(a["status"], "active");
    assert_eq!(a["name"], "test key");
    // Ids of the wrong kind, or made up, are 404 too.
    for bogus in [
        "/v1/apikeys/usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
        "/v1/apikeys/key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N",
        "/v1/apikeys/x",
    ] {
        assert_problem(s.v1(Method::GET, bogus, &key_b).send().await.unwrap(), 404, "not_found").await;
    }
}

mod last_used {
    use super::*;

    storage_tests_with!(|config| config.last_used_flush = std::time::Duration::from_millis(100); last_use_is_recorded_off_the_request_path);

    async fn last_use_is_recorded_off_the_request_path(s: &TestServer) {
        let (token, key, id) = s.org_with_key("stamp@example.com", &["keys:read"]).await;
        let before = chrono::Utc::now();
        assert_eq!(s.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(), StatusCode::OK);
        let path = format!("/api/developer/apikeys/{id}");
        s.flush().await;
        let shown: Value =
            s.request(Method::GET, &path).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let used: chrono::DateTime<chrono::Utc> =
            shown["last_used_at"].as_str().expect("stamped").parse().unwrap();
        assert!(used >= before - chrono::TimeDelta::seconds(1));
        assert_eq!(shown["last_used_ip"], "127.0.0.1");
        assert_eq!(shown["version"], 1, "a stamp is not a change to the key");
    }
}

mod trusted_proxies {
    use super::*;

    storage_tests_with!(
        |config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        forwarded_addresses_count_only_from_trusted_proxies
    );

    async fn forwarded_addresses_count_only_from_trusted_proxies(s: &TestServer) {
        let token = s.signup("proxy@example.com").await["token"].as_str().unwrap().to_owned();
        let created = s
            .create_key(
                &token,
                json!({"name": "p", "scopes": ["keys:read"], "allowed_ips": ["203.0.113.0/24"]}),
            )
            .await;
        let key = created["key"].as_str().unwrap();
        // The peer (127.0.0.1) is a trusted proxy: the forwarded client address counts.
        let ok = s
            .v1(Method::GET, "/v1/key", key)
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let refused = s
            .v1(Method::GET, "/v1/key", key)
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.1")
            .send()
            .await
            .unwrap();
        assert_problem(refused, 403, "ip_not_allowed").await;
    }
}

/// Starts a server on `dir` (SQLite) with an optional `PORTICO_MASTER_KEY`.
async fn start_on(
    dir: &std::path::Path,
    master_key: Option<&str>,
) -> Result<portico::RunningServer, portico::StartupError> {
    let mut config = portico::Config::new("127.0.0.1:0", dir);
    config.master_key = master_key.map(|k| portico::secret::Secret::new(k.to_owned()));
    portico::server::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_key_is_generated_once_and_never_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(dir.path(), None).await.unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    crate::support::account_with_key(&client, &base, "mk@example.com", &["keys:read"]).await;
    server.shutdown().await;

    let master_file = dir.path().join("master.key");
    let original = std::fs::read_to_string(&master_file).unwrap();

    // Restarting reuses it.
    start_on(dir.path(), None).await.unwrap().shutdown().await;
    assert_eq!(std::fs::read_to_string(&master_file).unwrap(), original);

    // A different master key cannot open the stored keys: a clear start-up error.
    let other = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let err = start_on(dir.path(), Some(other)).await.err().expect("refused");
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("PORTICO_MASTER_KEY") && err.to_string().contains("cannot open"),
        "{err}"
    );
    // The right one, given in the environment, works.
    start_on(dir.path(), Some(original.trim())).await.unwrap().shutdown().await;
    // A malformed one is refused.
    let err = start_on(dir.path(), Some("not base64")).await.err().expect("refused");
    assert!(err.to_string().contains("PORTICO_MASTER_KEY"), "{err}");

    // Losing the file is not papered over with a new key.
    std::fs::remove_file(&master_file).unwrap();
    let err = start_on(dir.path(), None).await.err().expect("refused");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("master.key is missing"), "{err}");
    assert!(!master_file.exists());
}

async fn keys_carry_tags_and_who_changed_them_and_both_lists_filter_by_tag(s: &TestServer) {
    let (token, admin_key, admin_id) = s.org_with_key("tags@example.com", &["keys:write"]).await;
    let me: Value = s.get_with_token("/api/developer/me", &token).await.json().await.unwrap();
    let user = me["user"]["id"].as_str().unwrap();
    let payments = s
        .create_key(&token, json!({"name": "payments", "scopes": ["links:read"], "tags": ["team:payments", " prod ", "prod"]}))
        .await;
    assert_eq!(payments["tags"], json!(["team:payments", "prod"]), "trimmed, without duplicates");
    assert_eq!(
        (payments["created_by"].as_str(), &payments["updated_by"], &payments["revoked_by"]),
        (Some(user), &Value::Null, &Value::Null)
    );
    let search = s
        .create_key(
            &token,
            json!({"name": "search", "scopes": ["links:read"], "tags": ["team:search", "prod"]}),
        )
        .await;

    let ids = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap().to_owned()).collect()
    };
    let dashboard: Value =
        s.get_with_token("/api/developer/apikeys?tag=prod", &token).await.json().await.unwrap();
    assert_eq!(ids(&dashboard), [search["id"].as_str().unwrap(), payments["id"].as_str().unwrap()]);
    assert_eq!(dashboard["total"], 2);
    let v1: Value = s
        .v1(Method::GET, "/v1/apikeys?tag=team:payments", &admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&v1), [payments["id"].as_str().unwrap()]);
    // Exact: a tag is not a substring search, and `_` / `%` are not wildcards.
    let none: Value = s.get_with_token("/api/developer/apikeys?tag=team", &token).await.json().await.unwrap();
    assert_eq!(none["total"], 0);
    let none: Value =
        s.get_with_token("/api/developer/apikeys?tag=pro%25", &token).await.json().await.unwrap();
    assert_eq!(none["total"], 0);
    // And case-sensitive, on both databases.
    let none: Value = s.get_with_token("/api/developer/apikeys?tag=PROD", &token).await.json().await.unwrap();
    assert_eq!(none["total"], 0);

    // Updating tags replaces them and says who.
    let path = format!("/api/developer/apikeys/{}", payments["id"].as_str().unwrap());
    let updated: Value = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"tags": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((&updated["tags"], updated["updated_by"].as_str()), (&json!([]), Some(user)));
    let bad = s
        .session(Method::PATCH, &path, &token)
        .json(&json!({"tags": ["ok", "no\"quotes"]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "tags[1]");
    // Revoked through /v1: `revoked_by` is the key that did it.
    s.v1(Method::DELETE, &format!("/v1/apikeys/{}", search["id"].as_str().unwrap()), &admin_key)
        .send()
        .await
        .unwrap();
    let revoked: Value = s
        .get_with_token(&format!("/api/developer/apikeys/{}", search["id"].as_str().unwrap()), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoked["revoked_by"], admin_id);
}

/// Rotating and revoking are changes of a versioned key: a stale `If-Match` is 412 on the
/// dashboard's rotate and revoke and on `/v1`'s revoke, and the key is left as it was.
async fn rotation_and_revocation_honour_if_match(s: &TestServer) {
    let (token, _, _) = s.org_with_key("conditional-keys@example.com", &["keys:read"]).await;
    let created = s.create_key(&token, json!({"name": "target", "scopes": ["links:read"]})).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/developer/apikeys/{id}");
    let rotate = |if_match: &'static str| {
        s.session(Method::POST, &format!("{path}/rotate"), &token)
            .header("if-match", if_match)
            .json(&json!({"grace_period_seconds": 0}))
            .send()
    };
    assert_problem(rotate("\"7\"").await.unwrap(), 412, "version_mismatch").await;
    let rotated = rotate("\"1\"").await.unwrap();
    assert_eq!(rotated.status(), StatusCode::CREATED);
    assert_eq!(rotated.headers()["etag"], "\"2\"");
    // The old secret was not replaced by the refused rotation: exactly one rotation happened.
    assert_problem(
        s.v1(Method::GET, "/v1/key", created["key"].as_str().unwrap()).send().await.unwrap(),
        401,
        "key_expired",
    )
    .await;

    let (_, admin_key, _) =
        ("", s.create_key(&token, json!({"name": "ops", "scopes": ["keys:write"]})).await, ());
    let admin_key = admin_key["key"].as_str().unwrap();
    let v1_path = format!("/v1/apikeys/{id}");
    let stale = s.v1(Method::DELETE, &v1_path, admin_key).header("if-match", "\"1\"").send().await.unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    let stale = s.session(Method::DELETE, &path, &token).header("if-match", "\"1\"").send().await.unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    let listed: Value = s.get_with_token(&path, &token).await.json().await.unwrap();
    assert_eq!(listed["status"], "active", "a refused revocation revokes nothing");
    let revoked = s.v1(Method::DELETE, &v1_path, admin_key).header("if-match", "\"2\"").send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    // Revoked: its version moved on; the old tag no longer matches, the new one does (a no-op).
    let again = s.session(Method::DELETE, &path, &token).header("if-match", "\"2\"").send().await.unwrap();
    assert_problem(again, 412, "version_mismatch").await;
    let again = s.session(Method::DELETE, &path, &token).header("if-match", "\"3\"").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

/// The dashboard honours `Idempotency-Key` on creation: a retried "create key" makes one
/// key, and the retry gets the first answer — the key itself included, which is stored
/// sealed, never in plain.
async fn a_retried_key_creation_with_an_idempotency_key_makes_one_key(s: &TestServer) {
    let token = s.signup("idempotent-keys@example.com").await["token"].as_str().unwrap().to_owned();
    let create = || {
        s.session(Method::POST, "/api/developer/apikeys", &token)
            .header("idempotency-key", "create-backend-key-1")
            .json(&json!({"name": "backend", "scopes": ["links:read"]}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let second = create().await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!((&second["id"], &second["key"]), (&first["id"], &first["key"]));
    let listed: Value = s.get_with_token("/api/developer/apikeys", &token).await.json().await.unwrap();
    assert_eq!(listed["total"], 1, "one key for one idempotency key");
    // The same key with another body is refused.
    let other = s
        .session(Method::POST, "/api/developer/apikeys", &token)
        .header("idempotency-key", "create-backend-key-1")
        .json(&json!({"name": "another", "scopes": ["links:read"]}))
        .send()
        .await
        .unwrap();
    assert_problem(other, 422, "idempotency_key_reused").await;
    // The stored answer does not hold the key in plain.
    let secret = first["key"].as_str().unwrap().as_bytes();
    const BODIES: &str = "SELECT response_body FROM idempotency_records WHERE response_body IS NOT NULL";
    let bodies: Vec<Vec<u8>> = portico::dispatch!(s.server().state().db, |pool| {
        sqlx::query_scalar(BODIES).fetch_all(pool).await.unwrap()
    });
    assert_eq!(bodies.len(), 1);
    assert!(bodies.iter().all(|b| !b.windows(secret.len()).any(|w| w == secret)), "the key is stored sealed");
}

/// JSON Schema's `integer` is any whole number: `4.0` and `58.0` are accepted where integers
/// go (and `4.5` still refused).
async fn whole_numbers_written_as_floats_are_integers(s: &TestServer) {
    let token = s.signup("floats@example.com").await["token"].as_str().unwrap().to_owned();
    let created = s
        .session(Method::POST, "/api/developer/apikeys", &token)
        .json(&json!({"name": "floaty", "scopes": ["links:read"], "rate_limit_rpm": 60.0, "expires_in_days": 30.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["rate_limit_rpm"], 60);
    let rotated = s
        .session(
            Method::POST,
            &format!("/api/developer/apikeys/{}/rotate", created["id"].as_str().unwrap()),
            &token,
        )
        .json(&json!({"grace_period_seconds": 58.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::CREATED);
    let settings = s
        .session(Method::PATCH, "/api/developer/organization", &token)
        .json(&json!({"monthly_quota": 4.0, "default_rate_limit_rpm": 58.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), StatusCode::OK);
    let settings: Value = settings.json().await.unwrap();
    assert_eq!(
        (settings["monthly_quota"].as_i64(), settings["default_rate_limit_rpm"].as_i64()),
        (Some(4), Some(58))
    );
    let fractional = s
        .session(Method::PATCH, "/api/developer/organization", &token)
        .json(&json!({"monthly_quota": 4.5}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(fractional, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "monthly_quota");
}
