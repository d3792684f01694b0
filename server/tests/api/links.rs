//! The product API: domains, links, redirects, clicks and stats — validation, pagination and
//! search, ETags, soft delete, domain scope in all its forms, and tenancy.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    domains_are_registered_once_listed_and_removed_when_unused,
    domain_registration_validates_the_hostname,
    a_link_on_the_default_domain_gets_a_generated_slug_and_redirects,
    link_creation_names_every_invalid_field,
    a_taken_slug_is_a_conflict_until_its_link_is_deleted,
    lists_search_filter_and_paginate,
    updates_honour_if_match_and_can_move_a_link,
    if_match_and_if_none_match_follow_rfc_9110,
    redirects_resolve_on_the_domain_named_by_host,
    missing_expired_and_deleted_links_get_an_html_404,
    a_burst_of_redirects_is_counted_in_full,
    domain_scope_limits_what_a_key_sees_creates_and_moves,
    organizations_never_see_each_others_links_or_domains,
);

async fn key(s: &TestServer, email: &str) -> String {
    s.org_with_key(email, &["full_access"]).await.1
}

async fn create_link(s: &TestServer, key: &str, body: Value) -> Value {
    let response = s.v1(Method::POST, "/v1/links", key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
    response.json().await.unwrap()
}

async fn create_domain(s: &TestServer, key: &str, hostname: &str) -> Value {
    let response =
        s.v1(Method::POST, "/v1/domains", key).json(&json!({"hostname": hostname})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "registering {hostname}");
    response.json().await.unwrap()
}

async fn domains_are_registered_once_listed_and_removed_when_unused(s: &TestServer) {
    let key = key(s, "domains@example.com").await;
    let response = s
        .v1(Method::POST, "/v1/domains", &key)
        .json(&json!({"hostname": "Go.Example.COM."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let domain: Value = response.json().await.unwrap();
    assert_eq!(domain["hostname"], "go.example.com");
    assert!(domain["id"].as_str().unwrap().starts_with("dom_"));
    assert_eq!(location, format!("/v1/domains/{}", domain["id"].as_str().unwrap()));
    let again = s
        .v1(Method::POST, "/v1/domains", &key)
        .json(&json!({"hostname": "go.example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "conflict").await;
    let default =
        s.v1(Method::POST, "/v1/domains", &key).json(&json!({"hostname": "127.0.0.1"})).send().await.unwrap();
    let problem = assert_problem(default, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("default domain"));

    create_domain(s, &key, "b.example.com").await;
    let list: Value =
        s.v1(Method::GET, "/v1/domains?limit=1", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!((list["total"].as_u64(), list["data"].as_array().unwrap().len()), (Some(2), 1));
    assert_eq!(list["data"][0]["hostname"], "b.example.com", "newest first");
    let got: Value = s.v1(Method::GET, &location, &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(got, domain);

    // In use: 409; once the link is gone, the domain can go.
    let link = create_link(s, &key, json!({"url": "https://example.com", "domain": "go.example.com"})).await;
    assert_problem(s.v1(Method::DELETE, &location, &key).send().await.unwrap(), 409, "conflict").await;
    let link_path = format!("/v1/links/{}", link["id"].as_str().unwrap());
    assert_eq!(s.v1(Method::DELETE, &link_path, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(s.v1(Method::DELETE, &location, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, &location, &key).send().await.unwrap(), 404, "not_found").await;
}

async fn domain_registration_validates_the_hostname(s: &TestServer) {
    let key = key(s, "hostnames@example.com").await;
    for bad in
        [json!({"hostname": "not a host"}), json!({"hostname": "-x.example.com"}), json!({"hostname": ""})]
    {
        let response = s.v1(Method::POST, "/v1/domains", &key).json(&bad).send().await.unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "hostname", "{bad}");
    }
    let missing = s.v1(Method::POST, "/v1/domains", &key).json(&json!({})).send().await.unwrap();
    assert_problem(missing, 422, "validation_failed").await;
    let scoped = s
        .v1(Method::POST, "/v1/domains", &key)
        .json(&json!({"hostname": "ok.example.com", "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(scoped, 422, "validation_failed").await;
}

async fn a_link_on_the_default_domain_gets_a_generated_slug_and_redirects(s: &TestServer) {
    let key = key(s, "default@example.com").await;
    let response = s
        .v1(Method::POST, "/v1/links", &key)
        .json(&json!({"url": "https://example.com/landing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let link: Value = response.json().await.unwrap();
    let slug = link["slug"].as_str().unwrap();
    assert_eq!(slug.len(), 7);
    assert_eq!(link["domain"], "127.0.0.1");
    assert_eq!(link["short_url"], format!("{}/r/{slug}", s.base));
    assert_eq!(link["clicks"], 0);
    assert_eq!(link["tags"], json!([]));
    assert!(link["title"].is_null() && link["expires_at"].is_null());
    assert_eq!(location, format!("/v1/links/{}", link["id"].as_str().unwrap()));

    let redirect = s.get(&format!("/r/{slug}")).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(redirect.headers()["location"], "https://example.com/landing");
    assert_eq!(redirect.headers()["cache-control"], "no-store");

    let full = create_link(
        s,
        &key,
        json!({"url": "https://example.com/spring", "slug": "spring", "title": " Spring sale ", "tags": ["a", "b", "a"],
               "expires_at": (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339()}),
    )
    .await;
    assert_eq!(full["slug"], "spring");
    assert_eq!(full["title"], "Spring sale");
    assert_eq!(full["tags"], json!(["a", "b"]));
    assert!(full["expires_at"].is_string());
    let got =
        s.v1(Method::GET, &format!("/v1/links/{}", full["id"].as_str().unwrap()), &key).send().await.unwrap();
    assert_eq!(got.headers()["etag"], "\"1\"");
    assert_eq!(got.json::<Value>().await.unwrap(), full);
}

async fn link_creation_names_every_invalid_field(s: &TestServer) {
    let key = key(s, "invalid-links@example.com").await;
    let post = |body: Value| s.v1(Method::POST, "/v1/links", &key).json(&body).send();
    let cases = [
        (json!({"url": "ftp://example.com/file"}), "url"),
        (json!({"url": "javascript:alert(1)"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": format!("https://example.com/{}", "a".repeat(2048))}), "url"),
        (json!({"url": "https://example.com", "slug": "has space"}), "slug"),
        (json!({"url": "https://example.com", "slug": "x".repeat(65)}), "slug"),
        (json!({"url": "https://example.com", "slug": "docs"}), "slug"),
        (json!({"url": "https://example.com", "title": "t".repeat(201)}), "title"),
        (json!({"url": "https://example.com", "tags": ["ok", "bad\"quote"]}), "tags[1]"),
        (
            json!({"url": "https://example.com", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tags",
        ),
        (json!({"url": "https://example.com", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (json!({"url": "https://example.com", "domain": "unregistered.example.com"}), "domain"),
        (json!({"url": "https://example.com", "domain": "bad host"}), "domain"),
        (json!({"slug": "nourl"}), "url"),
        (json!({"url": 5}), "url"),
        (json!({"url": "https://example.com", "clicks": 100}), "clicks"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(post(body.clone()).await.unwrap(), 422, "validation_failed").await;
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{body} should name {field}: {problem}");
    }
    let several =
        post(json!({"url": "ftp://x", "slug": "a b", "expires_at": "2001-01-01T00:00:00Z"})).await.unwrap();
    let problem = assert_problem(several, 422, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);
}

async fn a_taken_slug_is_a_conflict_until_its_link_is_deleted(s: &TestServer) {
    let key = key(s, "slugs@example.com").await;
    let first = create_link(s, &key, json!({"url": "https://example.com/1", "slug": "promo"})).await;
    let taken = s
        .v1(Method::POST, "/v1/links", &key)
        .json(&json!({"url": "https://example.com/2", "slug": "promo"}))
        .send()
        .await
        .unwrap();
    assert_problem(taken, 409, "conflict").await;
    // Slugs are case-sensitive.
    create_link(s, &key, json!({"url": "https://example.com/3", "slug": "Promo"})).await;

    let path = format!("/v1/links/{}", first["id"].as_str().unwrap());
    assert_eq!(s.v1(Method::DELETE, &path, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, &path, &key).send().await.unwrap(), 404, "not_found").await;
    assert_problem(s.v1(Method::DELETE, &path, &key).send().await.unwrap(), 404, "not_found").await;
    let patch = s.v1(Method::PATCH, &path, &key).json(&json!({"title": "x"})).send().await.unwrap();
    assert_problem(patch, 404, "not_found").await;
    let reused = create_link(s, &key, json!({"url": "https://example.com/4", "slug": "promo"})).await;
    assert_ne!(reused["id"], first["id"]);
    let redirect = s.get("/r/promo").await;
    assert_eq!(redirect.headers()["location"], "https://example.com/4");
    // The deleted row is kept.
    if let portico::db::Pool::Sqlite(pool) = s.server().state().db.pool() {
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM links WHERE deleted_at IS NOT NULL")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(kept, 1);
    }
}

async fn lists_search_filter_and_paginate(s: &TestServer) {
    let key = key(s, "lists-links@example.com").await;
    create_domain(s, &key, "go.example.com").await;
    create_link(
        s,
        &key,
        json!({"url": "https://shop.example.com/été", "title": "Été 50% off", "tags": ["summer", "sale"]}),
    )
    .await;
    create_link(
        s,
        &key,
        json!({"url": "https://example.com/winter", "slug": "WINTER_sale", "tags": ["winter"]}),
    )
    .await;
    create_link(s, &key, json!({"url": "https://example.com/blog", "domain": "go.example.com", "title": "Blog", "tags": ["sale"]})).await;
    for i in 0..3 {
        create_link(
            s,
            &key,
            json!({"url": format!("https://example.com/p{i}"), "title": format!("Page {i}")}),
        )
        .await;
    }
    let list = |query: String| {
        let key = key.clone();
        async move {
            let response = s.v1(Method::GET, &format!("/v1/links{query}"), &key).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            response.json::<Value>().await.unwrap()
        }
    };
    let titles = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap_or(l["slug"].as_str().unwrap()).to_owned())
            .collect()
    };
    let all = list(String::new()).await;
    assert_eq!(all["total"], 6);
    assert_eq!(titles(&all)[0], "Page 2", "newest first");

    assert_eq!(
        titles(&list("?search=%C3%89T%C3%89".into()).await),
        ["Été 50% off"],
        "case-insensitive beyond ASCII"
    );
    assert_eq!(
        list("?search=SALE".into()).await["total"],
        1,
        "title, url or slug: only WINTER_sale's slug says sale"
    );
    assert_eq!(list("?search=50%25".into()).await["total"], 1, "% is literal");
    assert_eq!(list("?search=_".into()).await["total"], 1, "_ is literal");
    assert_eq!(list("?search=example.com/p".into()).await["total"], 3);
    assert_eq!(list("?tag=sale".into()).await["total"], 2);
    assert_eq!(list("?tag=sal".into()).await["total"], 0, "tags match whole");
    assert_eq!(titles(&list("?domain=GO.example.com".into()).await), ["Blog"]);
    assert_eq!(list("?tag=sale&domain=127.0.0.1".into()).await["total"], 1);

    let page = list("?limit=2&offset=2".into()).await;
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()),
        (Some(6), Some(2), Some(2))
    );
    assert_eq!(titles(&page), ["Page 0", "Blog"]);
    let past = list("?offset=6".into()).await;
    assert_eq!((past["data"].as_array().unwrap().len(), past["total"].as_u64()), (0, Some(6)));
    assert_eq!(list("?limit=100".into()).await["data"].as_array().unwrap().len(), 6);
    assert_eq!(list("?limit=1".into()).await["data"].as_array().unwrap().len(), 1);
    for bad in ["?limit=0", "?limit=101", "?offset=-1", "?domain=not%20a%20host"] {
        assert_problem(
            s.v1(Method::GET, &format!("/v1/links{bad}"), &key).send().await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
    }
    assert_problem(
        s.v1(Method::GET, "/v1/links?limit=many", &key).send().await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
}

async fn updates_honour_if_match_and_can_move_a_link(s: &TestServer) {
    let key = key(s, "patch-links@example.com").await;
    create_domain(s, &key, "go.example.com").await;
    let link =
        create_link(s, &key, json!({"url": "https://example.com/a", "slug": "move-me", "title": "A"})).await;
    create_link(
        s,
        &key,
        json!({"url": "https://example.com/b", "slug": "taken", "domain": "go.example.com"}),
    )
    .await;
    let path = format!("/v1/links/{}", link["id"].as_str().unwrap());

    let moved = s
        .v1(Method::PATCH, &path, &key)
        .header("if-match", "\"1\"")
        .json(&json!({"domain": "go.example.com", "url": "https://example.com/a2", "title": null, "tags": ["moved"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(moved.headers()["etag"], "\"2\"");
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["domain"], "go.example.com");
    assert_eq!(moved["short_url"], "https://go.example.com/r/move-me");
    assert!(moved["title"].is_null());
    assert_eq!(moved["tags"], json!(["moved"]));
    assert_eq!(moved["slug"], "move-me");
    assert_eq!(moved["created_at"], link["created_at"]);

    let stale = s
        .v1(Method::PATCH, &path, &key)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "B"}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    let clash = s.v1(Method::PATCH, &path, &key).json(&json!({"slug": "taken"})).send().await.unwrap();
    assert_problem(clash, 409, "conflict").await;
    let invalid = s
        .v1(Method::PATCH, &path, &key)
        .json(&json!({"url": "mailto:x@y.z", "domain": "nope.example.com"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(invalid, 422, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    let unknown = s.v1(Method::PATCH, &path, &key).json(&json!({"clicks": 0})).send().await.unwrap();
    assert_problem(unknown, 422, "validation_failed").await;

    // The redirect follows the move.
    let on_new = s.request(Method::GET, "/r/move-me").header("host", "go.example.com").send().await.unwrap();
    assert_eq!(on_new.headers()["location"], "https://example.com/a2");
    let on_old = s.get("/r/move-me").await;
    assert_eq!(on_old.status(), StatusCode::NOT_FOUND);
}

async fn redirects_resolve_on_the_domain_named_by_host(s: &TestServer) {
    let key = key(s, "hosts@example.com").await;
    create_domain(s, &key, "go.example.com").await;
    create_link(
        s,
        &key,
        json!({"url": "https://example.com/custom", "slug": "same", "domain": "go.example.com"}),
    )
    .await;
    create_link(s, &key, json!({"url": "https://example.com/default", "slug": "same"})).await;
    let via = |host: &'static str| s.request(Method::GET, "/r/same").header("host", host).send();
    for host in ["go.example.com", "GO.example.com:443"] {
        let response = via(host).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{host}");
        assert_eq!(response.headers()["location"], "https://example.com/custom", "{host}");
    }
    // An unregistered host falls back to the default domain.
    for host in ["unknown.example.net", "127.0.0.1"] {
        let response = via(host).await.unwrap();
        assert_eq!(response.headers()["location"], "https://example.com/default", "{host}");
    }
}

async fn missing_expired_and_deleted_links_get_an_html_404(s: &TestServer) {
    let key = key(s, "gone@example.com").await;
    let soon = (chrono::Utc::now() + chrono::TimeDelta::milliseconds(1200)).to_rfc3339();
    create_link(s, &key, json!({"url": "https://example.com/x", "slug": "brief", "expires_at": soon})).await;
    let deleted = create_link(s, &key, json!({"url": "https://example.com/y", "slug": "deleted"})).await;
    s.v1(Method::DELETE, &format!("/v1/links/{}", deleted["id"].as_str().unwrap()), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(s.get("/r/brief").await.status(), StatusCode::FOUND);
    s.advance_clock(Duration::from_millis(1300));
    for slug in ["brief", "deleted", "never-existed"] {
        let response = s.get(&format!("/r/{slug}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{slug}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("<h1>"));
    }
}

async fn a_burst_of_redirects_is_counted_in_full(s: &TestServer) {
    let key = key(s, "clicks@example.com").await;
    let link = create_link(s, &key, json!({"url": "https://example.com/popular", "slug": "popular"})).await;
    let id = link["id"].as_str().unwrap();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..40 {
        let mut request = s.request(Method::GET, "/r/popular");
        if i % 2 == 0 {
            request = request
                .header("referer", "https://news.example.org/item?id=1")
                .header("user-agent", "curl/8.4.0");
        }
        let (client, request) = (s.client.clone(), request.build().unwrap());
        burst.spawn(async move { client.execute(request).await.unwrap().status() });
    }
    while let Some(status) = burst.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::FOUND);
    }
    s.flush().await;
    let link: Value =
        s.v1(Method::GET, &format!("/v1/links/{id}"), &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(link["clicks"], 40);
    let stats: Value =
        s.v1(Method::GET, &format!("/v1/links/{id}/stats"), &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["total"], 40);
    let series = stats["series"].as_array().unwrap();
    assert_eq!(series.len(), 30);
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(series.last().unwrap(), &json!({"date": today, "clicks": 40}));
    let ranged: Value = s
        .v1(Method::GET, &format!("/v1/links/{id}/stats?from=2020-01-01&to=2020-01-03"), &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ranged["total"], 0);
    assert_eq!(ranged["series"].as_array().unwrap().len(), 3);
    for bad in ["?from=2026-02-01&to=2026-01-01", "?from=2020-01-01&to=2026-01-01"] {
        let response = s.v1(Method::GET, &format!("/v1/links/{id}/stats{bad}"), &key).send().await.unwrap();
        assert_problem(response, 422, "validation_failed").await;
    }
    let response =
        s.v1(Method::GET, &format!("/v1/links/{id}/stats?from=yesterday"), &key).send().await.unwrap();
    assert_problem(response, 400, "invalid_request").await;
    // What a click keeps: the referrer's host and the user agent's family, no address.
    if let portico::db::Pool::Sqlite(pool) = s.server().state().db.pool() {
        let rows: Vec<(Option<String>, String)> =
            sqlx::query_as("SELECT referrer_host, user_agent_family FROM clicks")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(rows.len(), 40);
        assert!(rows.contains(&(Some("news.example.org".into()), "curl".into())));
        let text = format!("{rows:?}");
        assert!(!text.contains("127.0.0.1"));
    }
}

async fn domain_scope_limits_what_a_key_sees_creates_and_moves(s: &TestServer) {
    let (token, full, _) = s.org_with_key("scope-links@example.com", &["full_access"]).await;
    create_domain(s, &full, "a.example.com").await;
    let b = create_domain(s, &full, "b.example.com").await;
    let on_a =
        create_link(s, &full, json!({"url": "https://example.com/a", "domain": "a.example.com"})).await;
    let on_b =
        create_link(s, &full, json!({"url": "https://example.com/b", "domain": "b.example.com"})).await;
    create_link(s, &full, json!({"url": "https://example.com/default"})).await;
    let scoped = s
        .create_key(
            &token,
            json!({"name": "a only", "scopes": ["full_access"], "domains": ["a.example.com"]}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Listing shows only allowed domains' links, and only allowed domains.
    let links: Value = s.v1(Method::GET, "/v1/links", &scoped).send().await.unwrap().json().await.unwrap();
    assert_eq!(links["total"], 1);
    assert_eq!(links["data"][0]["id"], on_a["id"]);
    let listed_b: Value = s
        .v1(Method::GET, "/v1/links?domain=b.example.com", &scoped)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed_b["total"], 0);
    let domains: Value =
        s.v1(Method::GET, "/v1/domains", &scoped).send().await.unwrap().json().await.unwrap();
    assert_eq!(domains["total"], 1);
    assert_eq!(domains["data"][0]["hostname"], "a.example.com");

    // Reading elsewhere is 404.
    let b_path = format!("/v1/links/{}", on_b["id"].as_str().unwrap());
    assert_problem(s.v1(Method::GET, &b_path, &scoped).send().await.unwrap(), 404, "not_found").await;
    assert_problem(
        s.v1(Method::GET, &format!("{b_path}/stats"), &scoped).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(s.v1(Method::DELETE, &b_path, &scoped).send().await.unwrap(), 404, "not_found").await;
    let b_domain = format!("/v1/domains/{}", b["id"].as_str().unwrap());
    assert_problem(s.v1(Method::GET, &b_domain, &scoped).send().await.unwrap(), 404, "not_found").await;

    // Creating or moving elsewhere is 403.
    for body in [
        json!({"url": "https://example.com", "domain": "b.example.com"}),
        json!({"url": "https://example.com"}),
    ] {
        let response = s.v1(Method::POST, "/v1/links", &scoped).json(&body).send().await.unwrap();
        assert_problem(response, 403, "domain_not_allowed").await;
    }
    let a_path = format!("/v1/links/{}", on_a["id"].as_str().unwrap());
    let moved =
        s.v1(Method::PATCH, &a_path, &scoped).json(&json!({"domain": "b.example.com"})).send().await.unwrap();
    assert_problem(moved, 403, "domain_not_allowed").await;
    let domain = s
        .v1(Method::POST, "/v1/domains", &scoped)
        .json(&json!({"hostname": "c.example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(domain, 403, "domain_not_allowed").await;
    // Within scope, all is well.
    create_link(s, &scoped, json!({"url": "https://example.com/a2", "domain": "a.example.com"})).await;
}

async fn organizations_never_see_each_others_links_or_domains(s: &TestServer) {
    let key_a = key(s, "a@links-tenant.example").await;
    let key_b = key(s, "b@links-tenant.example").await;
    let domain = create_domain(s, &key_a, "a-only.example.com").await;
    let link =
        create_link(s, &key_a, json!({"url": "https://example.com/a", "domain": "a-only.example.com"})).await;
    let path = format!("/v1/links/{}", link["id"].as_str().unwrap());
    assert_problem(s.v1(Method::GET, &path, &key_b).send().await.unwrap(), 404, "not_found").await;
    assert_problem(
        s.v1(Method::PATCH, &path, &key_b).json(&json!({"title": "mine"})).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(s.v1(Method::DELETE, &path, &key_b).send().await.unwrap(), 404, "not_found").await;
    assert_problem(
        s.v1(Method::GET, &format!("{path}/stats"), &key_b).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let domain_path = format!("/v1/domains/{}", domain["id"].as_str().unwrap());
    assert_problem(s.v1(Method::GET, &domain_path, &key_b).send().await.unwrap(), 404, "not_found").await;
    assert_problem(s.v1(Method::DELETE, &domain_path, &key_b).send().await.unwrap(), 404, "not_found").await;
    // B cannot use or take A's domain.
    let on_a = s
        .v1(Method::POST, "/v1/links", &key_b)
        .json(&json!({"url": "https://example.com", "domain": "a-only.example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(on_a, 422, "validation_failed").await;
    let take = s
        .v1(Method::POST, "/v1/domains", &key_b)
        .json(&json!({"hostname": "a-only.example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(take, 409, "conflict").await;
    let list: Value = s.v1(Method::GET, "/v1/links", &key_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 0);
    let list: Value = s.v1(Method::GET, "/v1/domains", &key_b).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 0);
    // A's link is intact.
    let mine: Value = s.v1(Method::GET, &path, &key_a).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["title"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_still_queued_at_shutdown_are_written_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let start = |dir: std::path::PathBuf| async move {
        let mut config = portico::Config::new("127.0.0.1:0", dir);
        // Nothing is written on the timer during the test: only the shutdown drain can save them.
        config.click_flush = Duration::from_secs(3600);
        portico::server::start(config).await.unwrap()
    };
    let server = start(dir.path().to_owned()).await;
    let base = server.base_url();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "drain@example.com", &["full_access"]).await;
    let link: Value = client
        .post(format!("{base}/v1/links"))
        .bearer_auth(&key)
        .json(&json!({"url": "https://example.com", "slug": "drain"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for _ in 0..15 {
        assert_eq!(client.get(format!("{base}/r/drain")).send().await.unwrap().status(), StatusCode::FOUND);
    }
    server.shutdown().await;

    let server = start(dir.path().to_owned()).await;
    let base = server.base_url();
    let link: Value =
        crate::support::get_json(&client, format!("{base}/v1/links/{}", link["id"].as_str().unwrap()), &key)
            .await;
    assert_eq!(link["clicks"], 15);
    server.shutdown().await;
}

mod redirect_cache {
    use super::*;

    // An hour-long cache: only invalidation, not expiry, can make these pass.
    storage_tests_with!(
        |config| config.redirect_cache_ttl = std::time::Duration::from_secs(3600);
        a_cached_redirect_follows_every_change_on_the_next_request
    );

    async fn a_cached_redirect_follows_every_change_on_the_next_request(s: &TestServer) {
        let key = key(s, "cache@example.com").await;
        let location = |path: &'static str| async move {
            let response = s.get(path).await;
            match response.status() {
                StatusCode::FOUND => Some(response.headers()["location"].to_str().unwrap().to_owned()),
                StatusCode::NOT_FOUND => None,
                other => panic!("{path}: {other}"),
            }
        };
        // A miss is cached, then the link is created: it redirects at once.
        assert_eq!(location("/r/fresh").await, None);
        let link = create_link(s, &key, json!({"url": "https://example.com/one", "slug": "fresh"})).await;
        assert_eq!(location("/r/fresh").await.as_deref(), Some("https://example.com/one"));
        let path = format!("/v1/links/{}", link["id"].as_str().unwrap());
        // A new URL, then a new slug.
        let patch = |body: Value| s.v1(Method::PATCH, &path, &key).json(&body).send();
        assert_eq!(patch(json!({"url": "https://example.com/two"})).await.unwrap().status(), StatusCode::OK);
        assert_eq!(location("/r/fresh").await.as_deref(), Some("https://example.com/two"));
        assert_eq!(location("/r/renamed").await, None);
        assert_eq!(patch(json!({"slug": "renamed"})).await.unwrap().status(), StatusCode::OK);
        assert_eq!(location("/r/fresh").await, None);
        assert_eq!(location("/r/renamed").await.as_deref(), Some("https://example.com/two"));
        // Deleted: gone on the next request.
        assert_eq!(s.v1(Method::DELETE, &path, &key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(location("/r/renamed").await, None);
        // Imported over a cached miss.
        assert_eq!(location("/r/imported").await, None);
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"url,slug\nhttps://example.com/three,imported\n".to_vec())
                .file_name("links.csv"),
        );
        let accepted: Value = s
            .v1(Method::POST, "/v1/links/import", &key)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let job = s.poll(accepted["poll_url"].as_str().unwrap(), &key, |j| j["status"] == "succeeded").await;
        assert_eq!(job["result"]["created"], 1, "{job}");
        assert_eq!(location("/r/imported").await.as_deref(), Some("https://example.com/three"));
    }
}

async fn if_match_and_if_none_match_follow_rfc_9110(s: &TestServer) {
    let key = key(s, "conditional@example.com").await;
    let link = create_link(s, &key, json!({"url": "https://example.com/c", "slug": "conditional"})).await;
    let path = format!("/v1/links/{}", link["id"].as_str().unwrap());
    let patch = |if_match: &'static str, title: &'static str| {
        s.v1(Method::PATCH, &path, &key).header("if-match", if_match).json(&json!({"title": title})).send()
    };

    // Well-formed tags that are not current — foreign, weak, stale — are 412, not 400.
    for (if_match, why) in
        [("\"stale-0\"", "a foreign tag"), ("W/\"1\"", "a weak tag"), ("\"7\", \"8\"", "no listed tag")]
    {
        let problem = assert_problem(patch(if_match, "never").await.unwrap(), 412, "version_mismatch").await;
        assert!(problem["detail"].as_str().unwrap().contains("version 1"), "{why}: {problem}");
    }
    let garbled = patch("yesterday", "never").await.unwrap();
    assert_problem(garbled, 400, "invalid_request").await;

    // A list matches when one of its tags is current; `*` matches any version.
    let listed = patch("\"9\", \"1\"", "listed").await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.headers()["etag"], "\"2\"");
    let any = patch("*", "any").await.unwrap();
    assert_eq!(any.status(), StatusCode::OK);
    assert_eq!(any.headers()["etag"], "\"3\"");
    let current: Value = s.v1(Method::GET, &path, &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(current["title"], "any");
    assert_eq!(current["version"], 3);

    // GET answers 304 to an If-None-Match that lists the current tag (weak comparison).
    for if_none_match in ["\"3\"", "W/\"3\"", "\"1\", \"3\"", "*"] {
        let response =
            s.v1(Method::GET, &path, &key).header("if-none-match", if_none_match).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{if_none_match}");
        assert_eq!(response.headers()["etag"], "\"3\"");
        assert!(response.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
        // A 304 spent a call: it says so, as every /v1 answer does.
        for header in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "ratelimit",
            "x-api-calls-remaining",
        ] {
            assert!(response.headers().get(header).is_some(), "{header} on a 304");
        }
        assert!(response.headers().get("content-type").is_none());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    for if_none_match in ["\"2\"", "garbled"] {
        let response =
            s.v1(Method::GET, &path, &key).header("if-none-match", if_none_match).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{if_none_match}");
        assert_eq!(response.json::<Value>().await.unwrap()["version"], 3);
    }
    // Unconditional methods ignore If-None-Match; a 304 is never given for a write.
    let write = s
        .v1(Method::PATCH, &path, &key)
        .header("if-none-match", "\"3\"")
        .json(&json!({"title": "written"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::OK);

    // DELETE honours If-Match too: a stale tag leaves the link where it is.
    let stale = s.v1(Method::DELETE, &path, &key).header("if-match", "\"999\"").send().await.unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    let still: Value = s.v1(Method::GET, &path, &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(still["version"], 4);
    let deleted = s.v1(Method::DELETE, &path, &key).header("if-match", "\"4\"").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(s.v1(Method::GET, &path, &key).send().await.unwrap(), 404, "not_found").await;
}
