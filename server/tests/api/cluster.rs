//! Several instances as one: two servers on one database, sharing one Redis
//! (`PORTICO_TEST_REDIS_URL`), decide limits together; a change made on one is seen by the
//! other at once (PostgreSQL's broadcast); with Redis gone, both go on with limits of their
//! own and take the shared ones up again when it returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Backend, PASSWORD, TestServer, assert_problem};

/// Runs `$name(backend, redis_url)` on both databases when a test Redis is configured.
macro_rules! redis_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(redis) = $crate::support::test_redis_url() else { return };
                    super::$name($crate::support::Backend::Sqlite, redis).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(redis) = $crate::support::test_redis_url() else { return };
                    super::$name($crate::support::Backend::Postgres, redis).await;
                }
            )+
        }
    };
}

redis_tests!(
    a_keys_rate_limit_holds_across_instances,
    the_monthly_quota_is_exact_across_instances,
    sign_in_attempts_are_throttled_across_instances,
    shared_limits_resume_when_redis_returns,
    a_flapping_redis_never_hands_a_key_a_fresh_burst,
    a_quota_goes_on_from_its_count_when_redis_restarts_empty,
);

mod redis_gone {
    use crate::support::storage_tests_with;
    // A Redis that is not there (no test Redis needed): a loopback port nothing listens on.
    storage_tests_with!(
        |config| config.redis_url = Some(portico::secret::Secret::new(crate::cluster::nobody_listening()));
        without_redis_each_instance_limits_alone_and_says_so
    );
    use super::without_redis_each_instance_limits_alone_and_says_so;
}

/// `redis://` at a loopback port nothing listens on.
fn nobody_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("redis://{}", listener.local_addr().unwrap())
}

/// Two instances on one database; `None` when PostgreSQL is wanted but not configured.
async fn pair(
    backend: Backend,
    tweak: impl Fn(&mut portico::Config) + Copy,
) -> Option<(TestServer, TestServer)> {
    // A Redis namespace of the pair's own: runs before this one (and tests beside it) leave
    // buckets and throttles in the same Redis.
    let prefix = format!("portico-test:{}:", ulid::Ulid::new());
    let a = TestServer::start_with(backend, |c| {
        tweak(c);
        c.redis_prefix = prefix.clone();
    })
    .await?;
    let b = a
        .beside(|c| {
            tweak(c);
            c.redis_prefix = prefix.clone();
        })
        .await;
    Some((a, b))
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

async fn a_keys_rate_limit_holds_across_instances(backend: Backend, redis: String) {
    let Some((a, b)) =
        pair(backend, |c| c.redis_url = Some(portico::secret::Secret::new(redis.clone()))).await
    else {
        return;
    };
    wait_until_shared(&a).await;
    wait_until_shared(&b).await;
    let token = a.signup("limits@example.com").await["token"].as_str().unwrap().to_owned();
    let key =
        a.create_key(&token, json!({"name": "five", "scopes": ["full_access"], "rate_limit_rpm": 5})).await;
    let key = key["key"].as_str().unwrap();
    // Five calls spread over both instances spend one bucket: 4, 3, 2 left on one, 1, 0 on
    // the other; the sixth is refused wherever it goes.
    for (server, left) in [(&a, "4"), (&b, "3"), (&a, "2"), (&b, "1"), (&a, "0")] {
        let response = server.v1(Method::GET, "/v1/key", key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), "5");
        assert_eq!(header(&response, "x-ratelimit-remaining"), left);
        assert_eq!(header(&response, "ratelimit-policy"), "\"per-key\";q=5;w=60");
    }
    for server in [&b, &a] {
        let refused = server.v1(Method::GET, "/v1/key", key).send().await.unwrap();
        let retry_after: u64 = header(&refused, "retry-after").parse().expect("a retry-after");
        assert!((1..=12).contains(&retry_after), "retry-after {retry_after}");
        assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
        assert_problem(refused, 429, "rate_limited").await;
    }
    b.stop().await;
    a.stop().await;
}

async fn the_monthly_quota_is_exact_across_instances(backend: Backend, redis: String) {
    let Some((a, b)) = pair(backend, |c| {
        c.redis_url = Some(portico::secret::Secret::new(redis.clone()));
        c.monthly_quota = 7;
    })
    .await
    else {
        return;
    };
    wait_until_shared(&a).await;
    wait_until_shared(&b).await;
    let (token, key, _) = a.org_with_key("quota@example.com", &["full_access"]).await;
    // Seven calls in all, alternating instances: each answer counts the other's calls too.
    for n in 0..7u64 {
        let server = if n % 2 == 0 { &a } else { &b };
        let response = server.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
        assert_eq!(response.status(), 200, "call {n}");
        assert_eq!(header(&response, "x-api-calls-remaining"), (6 - n).to_string(), "call {n}");
    }
    for server in [&a, &b] {
        let refused = server.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
        assert_eq!(header(&refused, "x-api-calls-remaining"), "0");
        assert_problem(refused, 429, "quota_exceeded").await;
    }
    // The dashboard's usage report, from either instance, says the same.
    for server in [&a, &b] {
        let usage = server.get_with_token("/api/developer/usage", &token).await;
        assert_eq!(usage.status(), 200);
        let usage: Value = usage.json().await.unwrap();
        assert_eq!(usage["quota_remaining"], 0, "{usage}");
    }
    b.stop().await;
    a.stop().await;
}

async fn sign_in_attempts_are_throttled_across_instances(backend: Backend, redis: String) {
    let Some((a, b)) = pair(backend, |c| {
        c.redis_url = Some(portico::secret::Secret::new(redis.clone()));
        c.login_throttle.per_account_network_burst = 3;
        c.login_throttle.per_account_network_refill = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    wait_until_shared(&a).await;
    wait_until_shared(&b).await;
    // A unique address per run: the buckets outlive the test in the shared Redis.
    let email = format!("throttled-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    a.post_json(
        "/api/developer/signup",
        &json!({"email": email, "password": PASSWORD, "organization_name": "Throttled"}),
    )
    .await;
    let wrong = json!({"email": email, "password": "not the password"});
    for server in [&a, &b, &a] {
        let response = server.post_json("/api/developer/login", &wrong).await;
        assert_problem(response, 401, "invalid_credentials").await;
    }
    // The fourth guess from this address is refused by the other instance: the bucket is one.
    let refused = b.post_json("/api/developer/login", &wrong).await;
    assert!(!header(&refused, "retry-after").is_empty());
    assert_problem(refused, 429, "rate_limited").await;
    b.stop().await;
    a.stop().await;
}

async fn without_redis_each_instance_limits_alone_and_says_so(s: &TestServer) {
    let token = s.signup("alone@example.com").await["token"].as_str().unwrap().to_owned();
    let key =
        s.create_key(&token, json!({"name": "two", "scopes": ["full_access"], "rate_limit_rpm": 2})).await;
    let key = key["key"].as_str().unwrap();
    for left in ["1", "0"] {
        let started = Instant::now();
        let response = s.v1(Method::GET, "/v1/key", key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-remaining"), left);
        assert!(started.elapsed() < Duration::from_secs(2), "a call waited {:?}", started.elapsed());
    }
    assert_problem(s.v1(Method::GET, "/v1/key", key).send().await.unwrap(), 429, "rate_limited").await;
    // Ready all the same, and saying why limits are per instance.
    let ready = s.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready, json!({"status": "ready", "redis": "unavailable"}));
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(counter(&metrics, "portico_redis_outages_total") >= 1.0, "{metrics}");
    assert!(counter(&metrics, "portico_redis_fallback_decisions_total") >= 3.0, "{metrics}");
}

async fn shared_limits_resume_when_redis_returns(backend: Backend, redis: String) {
    let redis_addr = redis_address(&redis);
    let proxy = SwitchableProxy::start(redis_addr).await;

    let through_proxy = format!("redis://{}", proxy.addr);
    let Some((a, b)) = pair(backend, |c| {
        c.redis_url = Some(portico::secret::Secret::new(through_proxy.clone()));
        // Long enough that a loaded machine does not turn a slow answer into an outage.
        c.redis_timeout = Duration::from_millis(1000);
    })
    .await
    else {
        return;
    };
    wait_until_shared(&a).await;
    wait_until_shared(&b).await;
    let token = a.signup("returns@example.com").await["token"].as_str().unwrap().to_owned();
    let key =
        a.create_key(&token, json!({"name": "k", "scopes": ["full_access"], "rate_limit_rpm": 4})).await;
    let key = key["key"].as_str().unwrap();
    let remaining = |server: &TestServer| {
        let request = server.v1(Method::GET, "/v1/key", key);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            header(&response, "x-ratelimit-remaining")
        }
    };
    assert_eq!(remaining(&a).await, "3");
    assert_eq!(remaining(&b).await, "2");

    // Redis goes away: both instances keep answering, each from a bucket of its own — which
    // starts empty (it refills at the key's rate, one call every 15 s here), so the switch
    // hands out no fresh burst.
    proxy.set_up(false);
    for server in [&a, &b] {
        let refused = server.v1(Method::GET, "/v1/key", key).send().await.unwrap();
        assert_problem(refused, 429, "rate_limited").await;
        let ready: Value = server.get("/readyz").await.json().await.unwrap();
        assert_eq!(ready["redis"], "unavailable");
    }

    // It returns: the probe finds it and the shared bucket is used again.
    proxy.set_up(true);
    wait_until_shared(&a).await;
    wait_until_shared(&b).await;
    assert_eq!(remaining(&a).await, "1");
    assert_eq!(remaining(&b).await, "0");
    b.stop().await;
    a.stop().await;
}

/// Redis goes away and comes back three times while a client calls as fast as it can with a
/// 60-a-minute key. Each switch used to start a full bucket (60 more calls each time); now a
/// local bucket starts empty and what it allows is charged to the shared one when Redis
/// returns, so the key never gets past its burst plus its rate over the whole run.
async fn a_flapping_redis_never_hands_a_key_a_fresh_burst(backend: Backend, redis: String) {
    let proxy = SwitchableProxy::start(redis_address(&redis)).await;
    let through_proxy = format!("redis://{}", proxy.addr);
    let Some(s) = TestServer::start_with(backend, |c| {
        c.redis_url = Some(portico::secret::Secret::new(through_proxy.clone()));
        c.redis_timeout = Duration::from_millis(1000);
        c.redis_prefix = format!("portico-test:{}:", ulid::Ulid::new());
    })
    .await
    else {
        return;
    };
    wait_until_shared(&s).await;
    let token = s.signup("flapping@example.com").await["token"].as_str().unwrap().to_owned();
    let key =
        s.create_key(&token, json!({"name": "k", "scopes": ["full_access"], "rate_limit_rpm": 60})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let mut allowed = 0u32;
    let call = || {
        let request = s.v1(Method::GET, "/v1/key", &key);
        async move {
            let status = request.send().await.unwrap().status();
            assert!(status == 200 || status == 429, "{status}");
            status == 200
        }
    };
    // The burst, through Redis.
    for _ in 0..60 {
        allowed += u32::from(call().await);
    }
    for _ in 0..3 {
        proxy.set_up(false);
        let down = Instant::now();
        while down.elapsed() < Duration::from_millis(1500) {
            allowed += u32::from(call().await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        proxy.set_up(true);
        wait_until_shared(&s).await;
        for _ in 0..20 {
            allowed += u32::from(call().await);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // GCRA's bound: the burst, plus one call a second (and the one in progress).
    let bound = 60 + elapsed.ceil() as u32 + 1;
    assert!(allowed <= bound, "{allowed} calls allowed in {elapsed:.1} s; at most {bound} may be");
    assert!(allowed >= 60, "the burst itself is allowed ({allowed})");
    s.stop().await;
}

/// Redis restarts empty (its counter is gone) after an organisation has used 6 of its 10
/// calls: the counter goes on from 6 — the larger of the database's count and what the
/// instance has seen — not from a database count read before those calls.
async fn a_quota_goes_on_from_its_count_when_redis_restarts_empty(backend: Backend, redis: String) {
    let prefix = format!("portico-test:{}:", ulid::Ulid::new());
    let Some(s) = TestServer::start_with(backend, |c| {
        c.redis_url = Some(portico::secret::Secret::new(redis.clone()));
        c.redis_prefix = prefix.clone();
        c.monthly_quota = 10;
    })
    .await
    else {
        return;
    };
    wait_until_shared(&s).await;
    let (_, key, _) = s.org_with_key("restart@example.com", &["full_access"]).await;
    for n in 0..6u64 {
        let response = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
        assert_eq!(header(&response, "x-api-calls-remaining"), (9 - n).to_string());
    }
    // Redis loses every key of this run, as a restart without persistence would.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}quota:*")).query_async(&mut connection).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut connection).await.unwrap();
    let mut allowed = 0;
    for _ in 0..10 {
        let response = s.v1(Method::GET, "/v1/key", &key).send().await.unwrap();
        if response.status() == 200 {
            allowed += 1;
        } else {
            assert_problem(response, 429, "quota_exceeded").await;
        }
    }
    assert_eq!(allowed, 4, "the quota of 10 allows 4 more after 6, Redis restarted or not");
    s.stop().await;
}

/// Waits (at most 5 s) until `server` decides limits in Redis.
async fn wait_until_shared(server: &TestServer) {
    for _ in 0..100 {
        let ready: Value = server.get("/readyz").await.json().await.unwrap();
        if ready["redis"] == "ok" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not reach Redis within 5 s");
}

/// The value of a counter in the metrics text.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn redis_address(url: &str) -> SocketAddr {
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let host = rest.rsplit('@').next().unwrap().split('/').next().unwrap();
    host.parse().expect("PORTICO_TEST_REDIS_URL names host:port as an IP address")
}

/// A TCP forwarder to Redis that can be switched off (it closes every connection and refuses
/// new ones) and on again: Redis going away and coming back, without touching the shared
/// Redis other tests use.
struct SwitchableProxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl SwitchableProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(tokio::sync::watch::channel(0u64).0);
        let task = tokio::spawn({
            let (up, generation) = (up.clone(), generation.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else { return };
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: refused
                    }
                    let mut cut = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(target).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            }
        });
        Self { addr, up, generation, task }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

impl Drop for SwitchableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A change made on one instance is seen by the other within 250 ms, though its caches would
/// keep the old copy for a minute: the broadcast, not the TTL (PostgreSQL: SQLite runs one
/// instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_is_seen_by_the_others_at_once() {
    let long_ttl = |c: &mut portico::Config| {
        c.key_cache_ttl = Duration::from_secs(60);
        c.redirect_cache_ttl = Duration::from_secs(60);
    };
    let Some((a, b)) = pair(Backend::Postgres, long_ttl).await else { return };
    let (token, key, key_id) = a.org_with_key("broadcast@example.com", &["full_access"]).await;

    // A link, resolved (and cached) by the other instance.
    let link: Value = a
        .v1(Method::POST, "/v1/links", &key)
        .json(&json!({"url": "https://example.com/first"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slug = link["slug"].as_str().unwrap();
    let redirect = |server: &TestServer| {
        let request = server.request(Method::GET, &format!("/r/{slug}"));
        async move {
            request.send().await.unwrap().headers().get("location").map(|l| l.to_str().unwrap().to_owned())
        }
    };
    assert_eq!(redirect(&b).await.as_deref(), Some("https://example.com/first"));
    let id = link["id"].as_str().unwrap();
    let patched = a
        .v1(Method::PATCH, &format!("/v1/links/{id}"), &key)
        .header("if-match", header_etag(&link))
        .json(&json!({"url": "https://example.com/second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let seen = within(Duration::from_millis(250), || async {
        redirect(&b).await.as_deref() == Some("https://example.com/second")
    })
    .await;
    assert!(seen, "the other instance still redirected to the old URL after 250 ms");

    // The key, verified (and cached) by the other instance, then revoked here.
    assert_eq!(b.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status(), 200);
    let revoked = a
        .request(Method::DELETE, &format!("/api/developer/apikeys/{key_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let seen = within(Duration::from_millis(250), || async {
        b.v1(Method::GET, "/v1/key", &key).send().await.unwrap().status() == 401
    })
    .await;
    assert!(seen, "the revoked key still worked on the other instance after 250 ms");
    assert_problem(b.v1(Method::GET, "/v1/key", &key).send().await.unwrap(), 401, "key_revoked").await;
    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(counter(&metrics, "portico_invalidations_received_total") >= 2.0, "{metrics}");
    b.stop().await;
    a.stop().await;
}

/// The link's entity tag, as `If-Match` wants it.
fn header_etag(link: &Value) -> String {
    format!("\"{}\"", link["version"])
}

/// Whether `check` holds within `limit`, trying every 10 ms.
async fn within<F, Fut>(limit: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
