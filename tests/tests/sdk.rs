//! The SDK against a live server: every operation of the spec called through `portico-sdk`,
//! its answer parsed into the generated types (so a response that breaks the spec fails here),
//! and then a check, from the server's own request metrics, that no operation of the spec
//! went uncalled — a new route without an SDK round trip fails this suite.

use std::collections::BTreeSet;
use std::time::Duration;

use portico_sdk::types::{self, ErrorCode, EventType, JobStatus, Scope};
use portico_sdk::{Client, Error, retry};

const PASSWORD: &str = "correct horse battery staple";

async fn start() -> (portico::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = portico::Config::new("127.0.0.1:0", dir.path());
    // The webhook endpoint below is on loopback.
    config.webhook_allow_private = true;
    (portico::server::start(config).await.unwrap(), dir)
}

/// The problem code of a failed call.
fn code<T>(result: Result<T, portico_sdk::Error>) -> ErrorCode {
    match result {
        Ok(_) => panic!("the call should have been refused"),
        Err(e) => e.code().unwrap_or_else(|| panic!("a problem with a code, not {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trips_through_the_sdk() {
    let (server, _dir) = start().await;
    let base = server.base_url();
    let anonymous = Client::anonymous(&base).unwrap();

    // --- system: the documents and probes -----------------------------------------------
    let home = anonymous.dashboard_get().send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(anonymous.health_check().send().await.unwrap().into_inner().status, "ok");
    assert_eq!(anonymous.readiness_check().send().await.unwrap().status(), 200);
    assert_eq!(anonymous.metrics_get().send().await.unwrap().status(), 200);
    for spec in [
        anonymous.openapi_get().send().await.unwrap().into_inner(),
        anonymous.openapi_get_v1().send().await.unwrap().into_inner(),
    ] {
        assert_eq!(spec["openapi"], "3.1.0");
    }
    for collection in [
        anonymous.postman_get().send().await.unwrap().into_inner(),
        anonymous.postman_get_v1().send().await.unwrap().into_inner(),
    ] {
        assert_eq!(
            collection["info"]["schema"],
            "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        );
    }
    for response in
        [anonymous.llms_txt_get().send().await.unwrap(), anonymous.llms_full_txt_get().send().await.unwrap()]
    {
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    }

    // --- account ------------------------------------------------------------------------
    let signup = types::SignupRequest::builder()
        .email("sdk@example.com")
        .password(PASSWORD)
        .organization_name("SDK round trip");
    let session = anonymous.account_signup().body(signup).send().await.unwrap().into_inner();
    assert!(session.token.starts_with(portico_sdk::SESSION_TOKEN_PREFIX));
    let login = types::LoginRequest::builder().email("sdk@example.com").password(PASSWORD);
    let second = anonymous.session_create().body(login).send().await.unwrap().into_inner();
    let dashboard = Client::with_session_token(&base, &session.token).unwrap();
    let me = dashboard.account_get().send().await.unwrap().into_inner();
    assert_eq!(me.user.email, "sdk@example.com");
    assert_eq!(me.organization.id, session.organization.id);

    // --- API keys: the dashboard's side -------------------------------------------------
    let full = types::CreateApiKeyRequest::builder().name("round trip").scopes(vec![Scope::FullAccess]);
    let created = dashboard.apikey_create().body(full).send().await.unwrap().into_inner();
    assert!(created.key.starts_with(portico_sdk::API_KEY_PREFIX));
    let spare = types::CreateApiKeyRequest::builder().name("spare").scopes(vec![Scope::LinksRead]);
    let spare = dashboard.apikey_create().body(spare).send().await.unwrap().into_inner();
    let another = types::CreateApiKeyRequest::builder().name("another").scopes(vec![Scope::LinksRead]);
    let another = dashboard.apikey_create().body(another).send().await.unwrap().into_inner();
    let keys = dashboard.apikey_list().limit(50).send().await.unwrap().into_inner();
    assert_eq!(keys.total, 3);
    let key = dashboard.apikey_get().id(&created.id).send().await.unwrap();
    assert!(key.headers().contains_key("etag"));
    let renamed = dashboard
        .apikey_update()
        .id(&created.id)
        .body(types::UpdateApiKeyRequest::builder().name(Some("round trip (renamed)".to_owned())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "round trip (renamed)");
    let rotated = dashboard
        .apikey_rotate()
        .id(&created.id)
        .body(types::RotateApiKeyRequest::builder().grace_period_seconds(0))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.id, created.id);
    assert_ne!(rotated.key, created.key);
    assert_eq!(dashboard.apikey_revoke().id(&spare.id).send().await.unwrap().status(), 204);

    // --- API keys: the key's own side ----------------------------------------------------
    let api = Client::with_api_key(&base, &rotated.key).unwrap();
    let old = Client::with_api_key(&base, &created.key).unwrap();
    assert_eq!(code(old.key_introspect().send().await.map_err(Error::from)), ErrorCode::KeyExpired);
    let introspected = api.key_introspect().send().await.unwrap().into_inner();
    assert_eq!(introspected.id, created.id);
    // The revoked one is listed only on request.
    assert_eq!(api.v1_apikey_list().send().await.unwrap().into_inner().total, 2);
    assert_eq!(api.v1_apikey_list().include_inactive(true).send().await.unwrap().into_inner().total, 3);
    assert_eq!(
        api.v1_apikey_get().id(&created.id).send().await.unwrap().into_inner().name,
        "round trip (renamed)"
    );
    assert_eq!(code(api.v1_apikey_create().send().await.map_err(Error::from)), ErrorCode::ApiKeyForbidden);
    assert_eq!(api.v1_apikey_revoke().id(&another.id).send().await.unwrap().status(), 204);

    // --- domains ------------------------------------------------------------------------
    let domain = api
        .domain_create()
        .body(types::CreateDomainRequest::builder().hostname("go.sdk.example.com"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(api.domain_list().send().await.unwrap().into_inner().total, 1);
    assert_eq!(
        api.domain_get().id(&domain.id).send().await.unwrap().into_inner().hostname,
        "go.sdk.example.com"
    );
    let doomed = api
        .domain_create()
        .body(types::CreateDomainRequest::builder().hostname("gone.sdk.example.com"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(api.domain_delete().id(&doomed.id).send().await.unwrap().status(), 204);
    let listed = dashboard.dashboard_domain_list().send().await.unwrap().into_inner();
    assert_eq!(listed.data.iter().map(|d| d.hostname.as_str()).collect::<Vec<_>>(), ["go.sdk.example.com"]);

    // --- links (create retried safely under one idempotency key) ------------------------
    let link = retry::idempotent(retry::Policy::default(), |key| {
        api.link_create()
            .idempotency_key(key)
            .body(
                types::CreateLinkRequest::builder()
                    .url("https://example.com/spring")
                    .domain(Some(domain.hostname.clone()))
                    .slug(Some("spring".to_owned()))
                    .tags(vec!["sdk".to_owned()]),
            )
            .send()
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(link.short_url, "https://go.sdk.example.com/r/spring");
    let redirect = anonymous.link_redirect("spring", Some(&domain.hostname)).await.unwrap();
    assert_eq!(redirect.location, "https://example.com/spring");
    assert_eq!(anonymous.link_redirect("nope", None).await.unwrap_err().code(), Some(ErrorCode::NotFound));
    let listed = api.link_list().tag("sdk").send().await.unwrap().into_inner();
    assert_eq!(listed.data.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), [link.id.as_str()]);
    let fetched = api.link_get().id(&link.id).send().await.unwrap();
    let etag = fetched.headers()["etag"].to_str().unwrap().to_owned();
    let updated = api
        .link_update()
        .id(&link.id)
        .if_match(etag.clone())
        .body(types::UpdateLinkRequest::builder().title(Some("Spring".to_owned())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title.as_deref(), Some("Spring"));
    let stale = api
        .link_update()
        .id(&link.id)
        .if_match(etag)
        .body(types::UpdateLinkRequest::builder().title(Some("Stale".to_owned())))
        .send()
        .await;
    assert_eq!(code(stale.map_err(Error::from)), ErrorCode::VersionMismatch);
    let stats = api.link_stats().id(&link.id).send().await.unwrap().into_inner();
    assert!(stats.to >= stats.from);

    // --- an import, followed as a job ---------------------------------------------------
    let csv = "url,slug\nhttps://example.com/one,one\nhttps://example.com/two,two\nnot a url,three\n";
    let accepted = api.link_import("links.csv", csv, None).await.unwrap().into_inner();
    let job = loop {
        let job = api.job_get().id(&accepted.id).send().await.unwrap().into_inner();
        if matches!(job.status, JobStatus::Succeeded | JobStatus::Failed) {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job.status, JobStatus::Succeeded);
    let result = job.result.expect("a finished import has a result");
    assert_eq!((result.created, result.errors.len()), (2, 1));
    assert_eq!(api.job_list().send().await.unwrap().into_inner().total, 1);
    let gone =
        api.link_create().body(types::CreateLinkRequest::builder().url("https://example.com/x")).send();
    let gone = gone.await.unwrap().into_inner();
    assert_eq!(api.link_delete().id(&gone.id).send().await.unwrap().status(), 204);
    assert_eq!(code(api.link_get().id(&gone.id).send().await.map_err(Error::from)), ErrorCode::NotFound);

    // --- webhooks -----------------------------------------------------------------------
    let endpoint = api
        .webhook_create()
        .body(
            types::CreateWebhookRequest::builder()
                .url("http://127.0.0.1:9/hooks")
                .events(vec![EventType::LinkCreated, EventType::JobSucceeded]),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(endpoint.secret.starts_with("whsec_"));
    assert_eq!(api.webhook_list().send().await.unwrap().into_inner().total, 1);
    assert_eq!(
        api.webhook_get().id(&endpoint.id).send().await.unwrap().into_inner().url,
        "http://127.0.0.1:9/hooks"
    );
    let changed = api
        .webhook_update()
        .id(&endpoint.id)
        .body(types::UpdateWebhookRequest::builder().description(Some("SDK".to_owned())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.description.as_deref(), Some("SDK"));
    let ping = api.webhook_test().id(&endpoint.id).send().await.unwrap().into_inner();
    assert!(ping.delivery_id.starts_with("dlv_"));
    let deliveries = api.webhook_deliveries().id(&endpoint.id).send().await.unwrap().into_inner();
    assert!(deliveries.total >= 0);
    assert_eq!(api.webhook_delete().id(&endpoint.id).send().await.unwrap().status(), 204);

    // --- usage and the request log ------------------------------------------------------
    let usage = api.usage_get().send().await.unwrap().into_inner();
    assert!(usage.to >= usage.from);
    let dashboard_usage = dashboard.dashboard_usage_get().send().await.unwrap().into_inner();
    assert_eq!(dashboard_usage.from, usage.from);
    let logged = loop {
        let page = api.request_list().limit(100).send().await.unwrap().into_inner();
        if page.total > 0 {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let entry = api.request_get().id(&logged.data[0].id).send().await.unwrap().into_inner();
    assert_eq!(entry.id, logged.data[0].id);

    // --- the playground runs a /v1 call with the stored key ----------------------------
    let tried = dashboard
        .playground_test()
        .body(
            types::PlaygroundRequest::builder()
                .api_key_id(created.id.clone())
                .method(types::PlaygroundMethod::Get)
                .endpoint("/v1/links")
                .query(
                    [("tag".to_owned(), "sdk".to_owned())]
                        .into_iter()
                        .collect::<std::collections::HashMap<_, _>>(),
                ),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tried.status_code, 200);
    assert_eq!(tried.body["total"], 1);
    assert!(!serde_json::to_string(&tried).unwrap().contains(&rotated.key));

    // --- signing out ends that session only ---------------------------------------------
    let other = Client::with_session_token(&base, &second.token).unwrap();
    assert_eq!(other.session_delete().send().await.unwrap().status(), 204);
    assert_eq!(code(other.account_get().send().await.map_err(Error::from)), ErrorCode::InvalidSession);
    assert!(dashboard.account_get().send().await.is_ok());

    // --- and nothing in the spec went uncalled ------------------------------------------
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let called: BTreeSet<(String, String)> = metrics
        .lines()
        .filter(|line| line.starts_with("portico_http_requests_total{"))
        .filter_map(|line| {
            let label = |name: &str| {
                let start = line.find(&format!("{name}=\""))? + name.len() + 2;
                let end = start + line[start..].find('"')?;
                Some(line[start..end].to_owned())
            };
            Some((label("method")?, label("route")?))
        })
        .collect();
    let doc = portico::openapi::document();
    let uncalled: Vec<String> = portico::openapi::operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method.to_ascii_uppercase(), path.to_owned()))
        .filter(|op| !called.contains(op))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(uncalled.is_empty(), "operations no SDK round trip calls: {uncalled:?}");
    server.shutdown().await;
}
