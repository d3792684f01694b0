//! The SDK against a live server: every operation of the spec called through `portico-sdk`,
//! its answer parsed into the generated types (so a response that breaks the spec fails here).
//! One test per tag of the spec, each on a server of its own, each checking from that
//! server's request metrics that it called every operation of its tag; and a test that every
//! tag has one — a new route without an SDK round trip fails this suite.

use std::collections::BTreeSet;
use std::time::Duration;

use portico_sdk::types::{self, ErrorCode, EventType, JobStatus, Scope};
use portico_sdk::{Client, Error, retry};

const PASSWORD: &str = "correct horse battery staple";

/// A server with a signed-up account and a `full_access` key: the clients each tag's test uses.
struct Fixture {
    server: portico::RunningServer,
    _dir: tempfile::TempDir,
    base: String,
    anonymous: Client,
    /// Signed in (`session.token`).
    dashboard: Client,
    session: types::SessionCreated,
    /// The `full_access` key `api` uses.
    key: types::ApiKeyCreated,
    api: Client,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = portico::Config::new("127.0.0.1:0", dir.path());
    // The webhook endpoint below is on loopback; no other name is ever looked up.
    config.webhook_allow_private = true;
    config.resolver = portico::webhooks::guard::Resolver::parse("static:").unwrap();
    let server = portico::server::start(config).await.unwrap();
    let base = server.base_url();
    let anonymous = Client::anonymous(&base).unwrap();
    let signup = types::SignupRequest::builder()
        .email("sdk@example.com")
        .password(PASSWORD)
        .organization_name("SDK round trip".to_owned());
    let session = anonymous.account_signup().body(signup).send().await.unwrap().into_inner();
    let dashboard = Client::with_session_token(&base, &session.token).unwrap();
    let full = types::CreateApiKeyRequest::builder().name("round trip").scopes(vec![Scope::FullAccess]);
    let key = dashboard.apikey_create().body(full).send().await.unwrap().into_inner();
    let api = Client::with_api_key(&base, &key.key).unwrap();
    Fixture { server, _dir: dir, base, anonymous, dashboard, session, key, api }
}

impl Fixture {
    /// Fails unless this server answered every operation tagged `tag`; then stops it.
    async fn called_every_operation_of(self, tag: &str) {
        let metrics = reqwest::get(format!("{}/metrics", self.base)).await.unwrap().text().await.unwrap();
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
            .filter(|(_, _, op)| op["tags"][0] == tag)
            .map(|(method, path, _)| (method.to_ascii_uppercase(), path.to_owned()))
            .filter(|op| !called.contains(op))
            .map(|(method, path)| format!("{method} {path}"))
            .collect();
        assert!(uncalled.is_empty(), "{tag}: operations its SDK round trip does not call: {uncalled:?}");
        self.server.shutdown().await;
    }

    /// Registers `hostname` through the SDK.
    async fn domain(&self, hostname: &str) -> types::Domain {
        let request = types::CreateDomainRequest::builder().hostname(hostname);
        self.api.domain_create().body(request).send().await.unwrap().into_inner()
    }

    /// A link on a newly registered domain, made through the SDK.
    async fn link(&self, hostname: &str, slug: &str) -> types::Link {
        self.domain(hostname).await;
        self.api
            .link_create()
            .body(
                types::CreateLinkRequest::builder()
                    .url(format!("https://example.com/{slug}"))
                    .domain(Some(hostname.parse::<types::Hostname>().expect("a valid hostname")))
                    .slug(Some(slug.parse::<types::CreateLinkRequestSlug>().expect("a valid slug"))),
            )
            .send()
            .await
            .unwrap()
            .into_inner()
    }

    /// Imports a three-row CSV (one bad row) and follows the job until it ends.
    async fn import(&self) -> types::Job {
        let csv = "url,slug\nhttps://example.com/one,one\nhttps://example.com/two,two\nnot a url,three\n";
        let accepted = self.api.link_import("links.csv", csv, None).await.unwrap().into_inner();
        // The job runs on a worker: follow it as a client would (at most 10 s).
        for _ in 0..200 {
            let job = self.api.job_get().id(&accepted.id).send().await.unwrap().into_inner();
            if matches!(job.status, JobStatus::Succeeded | JobStatus::Failed) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the import did not finish");
    }
}

/// The tags that have a round-trip test below.
const TESTED_TAGS: [&str; 12] = [
    "system",
    "account",
    "team",
    "audit",
    "apikeys",
    "domains",
    "links",
    "redirects",
    "jobs",
    "webhooks",
    "usage",
    "playground",
];

#[test]
fn every_tag_of_the_spec_has_a_round_trip_test() {
    let doc = portico::openapi::document();
    let tags: BTreeSet<&str> =
        doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tags, TESTED_TAGS.into_iter().collect::<BTreeSet<_>>());
}

/// The problem code of a failed call.
fn code<T>(result: Result<T, portico_sdk::Error>) -> ErrorCode {
    match result {
        Ok(_) => panic!("the call should have been refused"),
        Err(e) => e.code().unwrap_or_else(|| panic!("a problem with a code, not {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_operations_round_trip() {
    let f = fixture().await;
    let home = f.anonymous.dashboard_get().send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(f.anonymous.health_check().send().await.unwrap().into_inner().status, "ok");
    assert_eq!(f.anonymous.readiness_check().send().await.unwrap().status(), 200);
    assert_eq!(f.anonymous.metrics_get().send().await.unwrap().status(), 200);
    for spec in [
        f.anonymous.openapi_get().send().await.unwrap().into_inner(),
        f.anonymous.openapi_get_v1().send().await.unwrap().into_inner(),
        f.anonymous.openapi_samples_get().send().await.unwrap().into_inner(),
    ] {
        assert_eq!(spec["openapi"], "3.1.0");
    }
    for collection in [
        f.anonymous.postman_get().send().await.unwrap().into_inner(),
        f.anonymous.postman_get_v1().send().await.unwrap().into_inner(),
    ] {
        assert_eq!(
            collection["info"]["schema"],
            "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        );
    }
    for response in [
        f.anonymous.llms_txt_get().send().await.unwrap(),
        f.anonymous.llm_txt_get().send().await.unwrap(),
        f.anonymous.llms_full_txt_get().send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    }
    for response in [
        f.anonymous.operation_page_get().page("link_create.md").send().await.unwrap(),
        f.anonymous.guide_get().page("webhooks.md").send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    }
    let Err(missing) = f.anonymous.guide_get().page("nope.md").send().await else {
        panic!("an unknown guide is found")
    };
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404));
    f.called_every_operation_of("system").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_operations_round_trip() {
    let f = fixture().await;
    let login = types::LoginRequest::builder().email("sdk@example.com").password(PASSWORD);
    let second = f.anonymous.session_create().body(login).send().await.unwrap().into_inner();
    assert!(second.token.starts_with(portico_sdk::SESSION_TOKEN_PREFIX));
    let me = f.dashboard.account_get().send().await.unwrap().into_inner();
    assert_eq!(me.user.email, "sdk@example.com");
    assert_eq!(me.organization.id, f.session.organization.id);
    // Signing out ends that session only.
    let other = Client::with_session_token(&f.base, &second.token).unwrap();
    assert_eq!(other.session_delete().send().await.unwrap().status(), 204);
    assert_eq!(code(other.account_get().send().await.map_err(Error::from)), ErrorCode::InvalidSession);
    assert!(f.dashboard.account_get().send().await.is_ok());
    assert_eq!(me.memberships.len(), 1);
    // Switching to the organisation the session is in already is a no-op that answers it.
    let switch = types::SwitchOrganizationRequest::builder().organization_id(me.organization.id.clone());
    let switched = f.dashboard.account_switch_organization().body(switch).send().await.unwrap().into_inner();
    assert_eq!((switched.organization.id, switched.role), (me.organization.id, types::Role::Owner));
    f.called_every_operation_of("account").await;
}

/// An invitation made through the SDK.
async fn invite(f: &Fixture, email: &str, role: types::Role) -> types::InvitationCreated {
    let body = types::CreateInvitationRequest::builder()
        .email(email.parse::<types::CreateInvitationRequestEmail>().unwrap())
        .role(role);
    f.dashboard.invitation_create().body(body).send().await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_operations_round_trip() {
    let f = fixture().await;
    // Invited, then signed up with the invitation: a developer of the same organisation.
    let invited = invite(&f, "sdk-member@example.com", types::Role::Developer).await;
    assert!(invited.token.starts_with("pti_"));
    assert_eq!(f.dashboard.invitation_list().send().await.unwrap().into_inner().total, 1);
    let signup = types::SignupRequest::builder()
        .email("sdk-member@example.com")
        .password(PASSWORD)
        .invitation_token(Some(invited.token.clone()));
    let member = f.anonymous.account_signup().body(signup).send().await.unwrap().into_inner();
    assert_eq!(member.organization.id, f.session.organization.id);
    // A user of another organisation accepts, signed in.
    let guest = types::SignupRequest::builder()
        .email("sdk-guest@example.com")
        .password(PASSWORD)
        .organization_name("Guests".to_owned());
    let guest = f.anonymous.account_signup().body(guest).send().await.unwrap().into_inner();
    let guest_client = Client::with_session_token(&f.base, &guest.token).unwrap();
    let invited = invite(&f, "sdk-guest@example.com", types::Role::Viewer).await;
    let accept = types::AcceptInvitationRequest::builder().token(invited.token);
    let me = guest_client.invitation_accept().body(accept).send().await.unwrap().into_inner();
    assert_eq!(
        (me.organization.id.as_str(), me.role, me.memberships.len()),
        (f.session.organization.id.as_str(), types::Role::Viewer, 2)
    );

    let members = f.dashboard.member_list().send().await.unwrap().into_inner();
    assert_eq!(members.total, 3);
    let update = types::UpdateMemberRequest::builder().role(types::Role::Admin);
    let promoted =
        f.dashboard.member_update().user_id(&member.user.id).body(update).send().await.unwrap().into_inner();
    assert_eq!(promoted.role, types::Role::Admin);
    assert_eq!(f.dashboard.member_remove().user_id(&guest.user.id).send().await.unwrap().status(), 204);
    // The last owner stays.
    let demote = types::UpdateMemberRequest::builder().role(types::Role::Viewer);
    let refused = f.dashboard.member_update().user_id(&f.session.user.id).body(demote).send().await;
    assert_eq!(code(refused.map_err(Error::from)), ErrorCode::Conflict);
    // An invitation revoked.
    let dropped = invite(&f, "sdk-dropped@example.com", types::Role::Viewer).await;
    assert_eq!(
        f.dashboard.invitation_revoke().id(&dropped.invitation.id).send().await.unwrap().status(),
        204
    );

    let settings = f.dashboard.organization_get().send().await.unwrap().into_inner();
    assert_eq!(settings.monthly_quota, None);
    let change = types::UpdateOrganizationRequest::builder().monthly_quota(Some(5000));
    let changed = f.dashboard.organization_update().body(change).send().await.unwrap().into_inner();
    assert_eq!(changed.monthly_quota, Some(5000));
    f.called_every_operation_of("team").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_operations_round_trip() {
    let f = fixture().await;
    let page = f
        .dashboard
        .dashboard_audit_log_list()
        .action(types::AuditAction::KeyCreated)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].actor.id.as_deref(), Some(f.session.user.id.as_str()));
    // The fixture's key has `full_access`, which grants `audit:read`.
    let all = f.api.audit_log_list().limit(100).send().await.unwrap().into_inner();
    assert_eq!(all.total, 2, "organization.created and key.created");
    assert_eq!(all.data[1].action, types::AuditAction::OrganizationCreated);
    f.called_every_operation_of("audit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_operations_round_trip() {
    let f = fixture().await;
    let created = f.key.clone();
    assert!(created.key.starts_with(portico_sdk::API_KEY_PREFIX));
    let spare = types::CreateApiKeyRequest::builder().name("spare").scopes(vec![Scope::LinksRead]);
    let spare = f.dashboard.apikey_create().body(spare).send().await.unwrap().into_inner();
    let another = types::CreateApiKeyRequest::builder().name("another").scopes(vec![Scope::LinksRead]);
    let another = f.dashboard.apikey_create().body(another).send().await.unwrap().into_inner();
    let keys = f.dashboard.apikey_list().limit(50).send().await.unwrap().into_inner();
    assert_eq!(keys.total, 3);
    let key = f.dashboard.apikey_get().id(&created.id).send().await.unwrap();
    assert!(key.headers().contains_key("etag"));
    let renamed = f
        .dashboard
        .apikey_update()
        .id(&created.id)
        .body(types::UpdateApiKeyRequest::builder().name(Some(
            "round trip (renamed)".parse::<types::UpdateApiKeyRequestName>().expect("a valid name"),
        )))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "round trip (renamed)");
    let rotated = f
        .dashboard
        .apikey_rotate()
        .id(&created.id)
        .body(types::RotateApiKeyRequest::builder().grace_period_seconds(0))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.id, created.id);
    assert_ne!(rotated.key, created.key);
    assert_eq!(f.dashboard.apikey_revoke().id(&spare.id).send().await.unwrap().status(), 204);

    let api = Client::with_api_key(&f.base, &rotated.key).unwrap();
    let old = Client::with_api_key(&f.base, &created.key).unwrap();
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
    f.called_every_operation_of("apikeys").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_operations_round_trip() {
    let f = fixture().await;
    let domain = f.domain("go.sdk.example.com").await;
    assert_eq!(f.api.domain_list().send().await.unwrap().into_inner().total, 1);
    assert_eq!(
        f.api.domain_get().id(&domain.id).send().await.unwrap().into_inner().hostname,
        "go.sdk.example.com"
    );
    let doomed = f.domain("gone.sdk.example.com").await;
    assert_eq!(f.api.domain_delete().id(&doomed.id).send().await.unwrap().status(), 204);
    let listed = f.dashboard.dashboard_domain_list().send().await.unwrap().into_inner();
    assert_eq!(listed.data.iter().map(|d| d.hostname.as_str()).collect::<Vec<_>>(), ["go.sdk.example.com"]);
    // The dashboard manages domains with a session.
    let request = types::CreateDomainRequest::builder().hostname("dash.sdk.example.com");
    let added = f.dashboard.dashboard_domain_create().body(request).send().await.unwrap().into_inner();
    let read = f.dashboard.dashboard_domain_get().id(&added.id).send().await.unwrap().into_inner();
    assert_eq!(read.hostname, "dash.sdk.example.com");
    assert_eq!(f.dashboard.dashboard_domain_delete().id(&added.id).send().await.unwrap().status(), 204);
    f.called_every_operation_of("domains").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_operations_round_trip() {
    let f = fixture().await;
    let domain = f.domain("go.sdk.example.com").await;
    let link = retry::idempotent(retry::Policy::default(), |key| {
        f.api
            .link_create()
            .idempotency_key(key)
            .body(
                types::CreateLinkRequest::builder()
                    .url("https://example.com/spring")
                    .domain(Some(domain.hostname.parse::<types::Hostname>().expect("a valid hostname")))
                    .slug(Some("spring".parse::<types::CreateLinkRequestSlug>().expect("a valid slug")))
                    .tags(vec![types::Tag::try_from("sdk").unwrap()]),
            )
            .send()
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(link.short_url, "https://go.sdk.example.com/r/spring");
    let listed = f.api.link_list().tag("sdk").send().await.unwrap().into_inner();
    assert_eq!(listed.data.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), [link.id.as_str()]);
    let fetched = f.api.link_get().id(&link.id).send().await.unwrap();
    let etag = fetched.headers()["etag"].to_str().unwrap().to_owned();
    let updated = f
        .api
        .link_update()
        .id(&link.id)
        .if_match(etag.clone())
        .body(types::UpdateLinkRequest::builder().title(Some("Spring".to_owned())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title.as_deref(), Some("Spring"));
    let stale = f
        .api
        .link_update()
        .id(&link.id)
        .if_match(etag)
        .body(types::UpdateLinkRequest::builder().title(Some("Stale".to_owned())))
        .send()
        .await;
    assert_eq!(code(stale.map_err(Error::from)), ErrorCode::VersionMismatch);
    let stats = f.api.link_stats().id(&link.id).send().await.unwrap().into_inner();
    assert!(stats.to >= stats.from);

    let accepted = f.api.link_import("links.csv", "url\nhttps://example.com/imported\n", None).await.unwrap();
    assert!(accepted.into_inner().id.starts_with("job_"));
    let gone =
        f.api.link_create().body(types::CreateLinkRequest::builder().url("https://example.com/x")).send();
    let gone = gone.await.unwrap().into_inner();
    assert_eq!(f.api.link_delete().id(&gone.id).send().await.unwrap().status(), 204);
    assert_eq!(code(f.api.link_get().id(&gone.id).send().await.map_err(Error::from)), ErrorCode::NotFound);
    f.called_every_operation_of("links").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_round_trips() {
    let f = fixture().await;
    let link = f.link("go.sdk.example.com", "spring").await;
    assert_eq!(link.short_url, "https://go.sdk.example.com/r/spring");
    let redirect = f.anonymous.link_redirect("spring", Some("go.sdk.example.com")).await.unwrap();
    assert_eq!(redirect.location, "https://example.com/spring");
    assert_eq!(f.anonymous.link_redirect("nope", None).await.unwrap_err().code(), Some(ErrorCode::NotFound));
    f.called_every_operation_of("redirects").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_operations_round_trip() {
    let f = fixture().await;
    let job = f.import().await;
    assert_eq!(job.status, JobStatus::Succeeded);
    let result = job.result.expect("a finished import has a result");
    assert_eq!((result.created, result.errors.len()), (2, 1));
    assert_eq!(f.api.job_list().send().await.unwrap().into_inner().total, 1);
    f.called_every_operation_of("jobs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_operations_round_trip() {
    let f = fixture().await;
    let endpoint = f
        .api
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
    assert_eq!(f.api.webhook_list().send().await.unwrap().into_inner().total, 1);
    assert_eq!(
        f.api.webhook_get().id(&endpoint.id).send().await.unwrap().into_inner().url,
        "http://127.0.0.1:9/hooks"
    );
    let changed = f
        .api
        .webhook_update()
        .id(&endpoint.id)
        .body(types::UpdateWebhookRequest::builder().description(Some("SDK".to_owned())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.description.as_deref(), Some("SDK"));
    let ping = f.api.webhook_test().id(&endpoint.id).send().await.unwrap().into_inner();
    assert!(ping.delivery_id.starts_with("dlv_"));
    let deliveries = f.api.webhook_deliveries().id(&endpoint.id).send().await.unwrap().into_inner();
    assert!(deliveries.total >= 0);
    let delivery = f
        .api
        .webhook_delivery_get()
        .id(&endpoint.id)
        .delivery_id(&ping.delivery_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(delivery.event_id, ping.event_id);
    let resent = f
        .api
        .webhook_delivery_resend()
        .id(&endpoint.id)
        .delivery_id(&ping.delivery_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resent.event_id, ping.event_id);
    assert_eq!(f.api.webhook_delete().id(&endpoint.id).send().await.unwrap().status(), 204);

    // The same operations with a dashboard session.
    let d = &f.dashboard;
    let body = types::CreateWebhookRequest::builder()
        .url("http://127.0.0.1:9/dash")
        .events(vec![EventType::LinkCreated]);
    let endpoint = d.dashboard_webhook_create().body(body).send().await.unwrap().into_inner();
    assert_eq!(d.dashboard_webhook_list().send().await.unwrap().into_inner().total, 1);
    assert_eq!(
        d.dashboard_webhook_get().id(&endpoint.id).send().await.unwrap().into_inner().url,
        "http://127.0.0.1:9/dash"
    );
    let change = types::UpdateWebhookRequest::builder().enabled(Some(false));
    assert!(
        !d.dashboard_webhook_update()
            .id(&endpoint.id)
            .body(change)
            .send()
            .await
            .unwrap()
            .into_inner()
            .enabled
    );
    let ping = d.dashboard_webhook_test().id(&endpoint.id).send().await.unwrap().into_inner();
    assert!(d.dashboard_webhook_deliveries().id(&endpoint.id).send().await.unwrap().into_inner().total >= 0);
    let id = &endpoint.id;
    let delivery = d
        .dashboard_webhook_delivery_get()
        .id(id)
        .delivery_id(&ping.delivery_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(delivery.id, ping.delivery_id);
    let resent =
        d.dashboard_webhook_delivery_resend().id(id).delivery_id(&ping.delivery_id).send().await.unwrap();
    assert_eq!(resent.into_inner().event_id, ping.event_id);
    assert_eq!(d.dashboard_webhook_delete().id(id).send().await.unwrap().status(), 204);
    f.called_every_operation_of("webhooks").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_operations_round_trip() {
    let f = fixture().await;
    let usage = f.api.usage_get().send().await.unwrap().into_inner();
    assert!(usage.to >= usage.from);
    let dashboard_usage = f.dashboard.dashboard_usage_get().send().await.unwrap().into_inner();
    assert_eq!(dashboard_usage.from, usage.from);
    f.server.state().flush_now().await.unwrap();
    let logged = f.api.request_list().limit(100).send().await.unwrap().into_inner();
    assert!(logged.total > 0);
    let entry = f.api.request_get().id(&logged.data[0].id).send().await.unwrap().into_inner();
    assert_eq!(entry.id, logged.data[0].id);
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let seen = f.dashboard.dashboard_request_list().from(since).limit(100).send().await.unwrap().into_inner();
    assert_eq!(seen.total, logged.total, "the dashboard reads the same log");
    let same = f.dashboard.dashboard_request_get().id(&entry.id).send().await.unwrap().into_inner();
    assert_eq!(same.id, entry.id);
    f.called_every_operation_of("usage").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_round_trips() {
    let f = fixture().await;
    f.link("go.sdk.example.com", "tagged").await;
    f.api
        .link_create()
        .body(
            types::CreateLinkRequest::builder()
                .url("https://example.com/sdk")
                .tags(vec![types::Tag::try_from("sdk").unwrap()]),
        )
        .send()
        .await
        .unwrap();
    let tried = f
        .dashboard
        .playground_test()
        .body(
            types::PlaygroundRequest::builder()
                .api_key_id(f.key.id.clone())
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
    assert!(!serde_json::to_string(&tried).unwrap().contains(&f.key.key));
    f.called_every_operation_of("playground").await;
}
