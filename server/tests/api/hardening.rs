//! What no unauthenticated caller may do: exhaust memory through password hashing, lock an
//! owner out of their account, hold connections open, or get an answer that is not a problem
//! document. Each test is a finding of the wave-2 security probe. Clients that must come from
//! distinct addresses bind to their own address in 127.0.0.0/8 (all loopback on Linux).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, PASSWORD, TestServer, assert_problem, storage_tests, storage_tests_with};

/// A client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn sign_in(s: &TestServer, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    client
        .post(s.url("/api/developer/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

mod flood {
    use super::*;

    storage_tests_with!(
        |config| {
            config.password_hashers = 1;
            config.password_queue = 1;
        };
        a_sign_in_flood_gets_503_past_the_hash_queue_while_health_answers
    );

    /// One hasher and a queue of one: a burst of 40 sign-ins from 40 addresses gets 401s for
    /// the ones hashed and 503 `unavailable` with `retry-after` for the rest, at once — never a
    /// pile-up of 19 MiB hashes — and `/healthz` answers throughout.
    async fn a_sign_in_flood_gets_503_past_the_hash_queue_while_health_answers(s: &TestServer) {
        s.signup("flooded@example.com").await;
        let attempts = (0..40).map(|n| {
            let client = client_from(&format!("127.0.1.{}", n + 1));
            async move { sign_in(s, &client, "flooded@example.com", "wrong password!").await }
        });
        let health = async {
            let started = Instant::now();
            let response = s.get("/healthz").await;
            (response.status(), started.elapsed())
        };
        let (answers, (health, health_took)) = tokio::join!(futures_util::future::join_all(attempts), health);
        assert_eq!(health, StatusCode::OK);
        assert!(health_took < Duration::from_secs(2), "/healthz took {health_took:?} under the flood");
        let (mut refused, mut checked) = (0, 0);
        for response in answers {
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(response.headers()["retry-after"], "1");
                assert_problem(response, 503, "unavailable").await;
                refused += 1;
            } else {
                assert_problem(response, 401, "invalid_credentials").await;
                checked += 1;
            }
        }
        assert!(refused > 0, "a queue of one cannot hold 40 sign-ins");
        assert!(checked > 0, "the hasher still works through the flood");
        let metrics = s.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains(&format!("portico_password_hashes_refused_total {refused}\n")), "{metrics}");
        // Afterwards the owner signs in as usual.
        assert_eq!(sign_in(s, &s.client, "flooded@example.com", PASSWORD).await.status(), StatusCode::OK);
    }
}

mod lockout {
    use super::*;

    storage_tests_with!(
        |config| {
            config.login_throttle.per_account_network_burst = 3;
            config.login_throttle.per_account_burst = 6;
        };
        strangers_cannot_lock_an_owner_out_of_their_account
    );

    async fn strangers_cannot_lock_an_owner_out_of_their_account(s: &TestServer) {
        // The owner signs up from 127.0.0.1 (the suite's client).
        s.signup("owner@example.com").await;
        // One address guessing: three wrong passwords, then held back — for this account only.
        let guesser = client_from("127.0.2.1");
        for _ in 0..3 {
            let response = sign_in(s, &guesser, "owner@example.com", "wrong password!").await;
            assert_problem(response, 401, "invalid_credentials").await;
        }
        let held =
            assert_problem(sign_in(s, &guesser, "owner@example.com", PASSWORD).await, 429, "rate_limited")
                .await;
        assert!(held["detail"].as_str().unwrap().contains("this address"), "{held}");
        // The owner, from their own address, is not affected.
        assert_eq!(sign_in(s, &s.client, "owner@example.com", PASSWORD).await.status(), StatusCode::OK);

        // Guessing from many addresses empties the account's softer cap (6, 3 spent above)…
        for n in 2..5 {
            let response =
                sign_in(s, &client_from(&format!("127.0.2.{n}")), "owner@example.com", "wrong!!!!!!").await;
            assert_problem(response, 401, "invalid_credentials").await;
        }
        // …which holds back every new address, even with the right password…
        let fresh = client_from("127.0.2.99");
        let held =
            assert_problem(sign_in(s, &fresh, "owner@example.com", PASSWORD).await, 429, "rate_limited")
                .await;
        assert!(held["detail"].as_str().unwrap().contains("signed in from before"), "{held}");
        // …but never the owner's own.
        assert_eq!(sign_in(s, &s.client, "owner@example.com", PASSWORD).await.status(), StatusCode::OK);
    }
}

mod ipv6 {
    use super::*;

    storage_tests_with!(
        |config| {
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            config.login_throttle.per_ip_burst = 3;
        };
        ipv6_clients_are_throttled_by_their_64
    );

    /// One host can draw any number of addresses from its /64: they share one bucket.
    async fn ipv6_clients_are_throttled_by_their_64(s: &TestServer) {
        let attempt = |from: &'static str| async move {
            s.request(Method::POST, "/api/developer/login")
                .header("x-forwarded-for", from)
                .json(&json!({"email": "v6@example.com", "password": "wrong password!"}))
                .send()
                .await
                .unwrap()
        };
        for from in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"] {
            assert_problem(attempt(from).await, 401, "invalid_credentials").await;
        }
        let held = assert_problem(attempt("2001:db8:1:2:abcd::9").await, 429, "rate_limited").await;
        assert!(held["detail"].as_str().unwrap().contains("address"));
        // The next /64 is someone else.
        assert_problem(attempt("2001:db8:1:3::1").await, 401, "invalid_credentials").await;
    }
}

storage_tests!(a_repeated_credential_header_is_refused_not_first_wins);

/// Two `Authorization` (or `x-api-key`) headers naming different keys used to be served as
/// the first; now, like the mixed case, 400.
async fn a_repeated_credential_header_is_refused_not_first_wins(s: &TestServer) {
    let (token, key, _) = s.org_with_key("twice@example.com", &["full_access"]).await;
    let other = s.create_key(&token, json!({"name": "other", "scopes": ["links:read"]})).await;
    let other = other["key"].as_str().unwrap();
    for (name, first, second) in [
        ("authorization", format!("Bearer {key}"), format!("Bearer {other}")),
        ("x-api-key", key.clone(), other.to_owned()),
        ("authorization", format!("Bearer {key}"), format!("Bearer {key}")),
    ] {
        let response = s
            .request(Method::GET, "/v1/key")
            .header(name, first.as_str())
            .header(name, second.as_str())
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400, "invalid_request").await;
        assert!(problem["detail"].as_str().unwrap().contains(name), "{problem}");
        assert!(!problem.to_string().contains(&key), "the key is not echoed");
    }
    // The dashboard's session header, too.
    let response = s
        .request(Method::GET, "/api/developer/me")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "Bearer pts_someone_else")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid_request").await;
}

/// Connects to the test server.
async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.server().local_addr()).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes: a failure); returns
/// what was read and how long the close took.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open past {limit:?}");
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

/// Splits a raw HTTP/1.1 answer into (status, headers lower-cased, body).
fn parse_answer(raw: &str) -> (u16, String, Value) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not an HTTP answer: {raw:?}"));
    let status = head[9..12].parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), body)
}

/// A problem document written on the connection: status, content type, code, and the
/// request id in the header and the body alike.
fn assert_raw_problem(raw: &str, status: u16, code: &str) {
    let (got, head, body) = parse_answer(raw);
    assert_eq!(got, status, "{raw}");
    assert!(head.contains("content-type: application/problem+json"), "{head}");
    assert_eq!(body["code"], code, "{raw}");
    assert_eq!(body["status"], status);
    let id = body["request_id"].as_str().unwrap();
    assert!(
        id.starts_with("req_") && head.contains(&format!("x-request-id: {}", id.to_ascii_lowercase())),
        "{raw}"
    );
}

async fn start_with_limits(tweak: impl FnOnce(&mut portico::config::ConnectionLimits)) -> TestServer {
    TestServer::start_with(Backend::Sqlite, |config| tweak(&mut config.connections)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let s = start_with_limits(|l| l.header_read_timeout = Duration::from_secs(1)).await;
    let connected = Instant::now();
    let mut silent = connect(&s).await;
    let mut half = connect(&s).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    for stream in [&mut silent, &mut half] {
        let (read, _) = read_to_close(stream, Duration::from_secs(5)).await;
        assert!(read.is_empty(), "nothing is answered to half a request: {read:?}");
    }
    let took = connected.elapsed();
    assert!(took >= Duration::from_millis(900), "closed before the timeout: {took:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let s = start_with_limits(|l| {
        l.header_read_timeout = Duration::from_secs(30);
        l.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stream = connect(&s).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = vec![0u8; 4096];
    let n = stream.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    // Within the idle time, the connection still serves.
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = stream.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let (rest, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(rest.is_empty());
    assert!(took < Duration::from_secs(5), "closed by the idle timeout, not the header timeout: {took:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_answered_and_closed() {
    let s = start_with_limits(|l| l.body_read_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&s).await;
    stream
        .write_all(
            b"POST /api/developer/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\": ",
        )
        .await
        .unwrap();
    let (raw, took) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_raw_problem(&raw, 400, "invalid_request");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_get_a_503_problem() {
    let s = start_with_limits(|l| l.max_connections = 3).await;
    // Three keep-alive connections, each having served a request, hold the three places.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&s).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut fourth = connect(&s).await;
    let (raw, _) = read_to_close(&mut fourth, Duration::from_secs(5)).await;
    assert_raw_problem(&raw, 503, "unavailable");
    assert!(raw.to_ascii_lowercase().contains("retry-after: 1"), "{raw}");
    // The refusal is counted (read over one of the held connections: no place is free).
    let stream = &mut held[0];
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut metrics = Vec::new();
    let mut buf = [0u8; 65536];
    while !String::from_utf8_lossy(&metrics).contains("# EOF") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the metrics answer ended early");
        metrics.extend_from_slice(&buf[..n]);
    }
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("portico_connections_refused_total 1\n"), "{metrics}");
    assert!(metrics.contains("portico_connections_open 3\n"), "{metrics}");
    // A place freed is a place for the next client.
    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        if s.client.get(s.url("/healthz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "a freed place is reused");
    drop(held);
    s.stop().await;
}

/// The server's metrics, read by `client`.
async fn metrics_text(s: &TestServer, client: &reqwest::Client) -> String {
    client.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// Waits (bounded) until the metrics, read by `client`, contain `line`.
async fn wait_for_metric(s: &TestServer, client: &reqwest::Client, line: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let metrics = metrics_text(s, client).await;
        if metrics.contains(line) {
            return;
        }
        assert!(started.elapsed() < limit, "no `{line}` within {limit:?}:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_its_answers_is_disconnected() {
    let s = start_with_limits(|l| l.write_timeout = Duration::from_secs(1)).await;
    // A tiny receive window and forty large answers asked for at once, never read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(s.server().local_addr()).await.unwrap();
    let requests = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(40);
    stream.write_all(requests.as_bytes()).await.unwrap();
    let observer = client_from("127.0.0.2");
    wait_for_metric(&s, &observer, "portico_connections_write_timed_out_total 1\n", Duration::from_secs(15))
        .await;
    // The connection is gone: the server no longer counts it.
    wait_for_metric(&s, &observer, "portico_connections_open 1\n", Duration::from_secs(5)).await;
    drop(stream);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_below_the_minimum_rate_is_cut_off() {
    let s = start_with_limits(|l| {
        l.body_read_timeout = Duration::from_secs(1);
        l.body_min_rate = 1000;
    })
    .await;
    let mut stream = connect(&s).await;
    stream
        .write_all(
            b"POST /api/developer/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    // One byte every 400 ms: never a pause long enough for the per-gap timeout.
    let started = Instant::now();
    let mut answer = Vec::new();
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let (rest, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let raw = format!("{}{rest}", String::from_utf8_lossy(&answer));
    assert!(started.elapsed() < Duration::from_secs(6), "cut off at about 1 s, not {:?}", started.elapsed());
    assert_raw_problem(&raw, 400, "invalid_request");
    let metrics = metrics_text(&s, &s.client).await;
    assert!(metrics.contains("portico_request_bodies_too_slow_total 1\n"), "{metrics}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let s = start_with_limits(|l| {
        l.max_connections = 20;
        l.max_connections_per_address = 5;
    })
    .await;
    // Eight silent connections from 127.0.0.1: five hold its share, three are refused.
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(connect(&s).await);
    }
    // The refusals are written at accept: once counted, their answers are waiting.
    let other = client_from("127.0.0.2");
    wait_for_metric(&s, &other, "portico_connections_refused_per_address_total 3\n", Duration::from_secs(10))
        .await;
    let mut refused = 0;
    for stream in &mut silent {
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await
            && n > 0
        {
            assert_raw_problem(&String::from_utf8_lossy(&buf[..n]), 503, "unavailable");
            refused += 1;
        }
    }
    assert_eq!(refused, 3);
    // Another address is served as usual.
    let response = other.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let metrics = metrics_text(&s, &other).await;
    assert!(metrics.contains("portico_connections_refused_per_address_total 3\n"), "{metrics}");
    assert!(metrics.contains("portico_connections_refused_total 0\n"), "{metrics}");
    drop(silent);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_do_not_stop_real_requests() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut stream = connect(&s).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(stream);
    }
    for _ in 0..10 {
        let started = Instant::now();
        let response = s.get("/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
    drop(slow);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_hyper_answers_itself_are_problem_documents() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let many_headers =
        format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", "X-Filler: abcdefghijklmnop\r\n".repeat(150));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "DEL in a header value",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Type: text/\x7fplain\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "NUL in a header value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "a bad content-length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "two content-lengths",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        ("a junk request line", b"HELLO THERE\r\n\r\n".to_vec(), 400, "invalid_request"),
        (
            "a space in a header name",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n".to_vec(),
            400,
            "invalid_request",
        ),
        ("a URI too long", long_uri.into_bytes(), 414, "uri_too_long"),
        ("a header section too large", many_headers.into_bytes(), 431, "headers_too_large"),
    ];
    for (what, request, status, code) in cases {
        let mut stream = connect(&s).await;
        // The server may answer and close before the whole of a huge request is sent.
        let _ = stream.write_all(&request).await;
        let (raw, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
        assert!(!raw.is_empty(), "{what}: no answer");
        assert_raw_problem(&raw, status, code);
    }
    // A well-formed request on a fresh connection is served as usual.
    assert_eq!(s.get("/healthz").await.status(), StatusCode::OK);
    s.stop().await;
}

/// Runs `call` from 8 concurrent callers (at most 5,000 calls each) until 400 calls are
/// acknowledged (or 20 s pass), then kills `server` with SIGKILL while they call; returns what
/// the calls answered before the kill.
/// `call` yields `Ok(Some(_))` for an acknowledged call; before the kill every call must be.
async fn call_then_kill<T, F, Fut>(server: &mut std::process::Child, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<T, String>> + Send,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const BEFORE_THE_KILL: usize = 400;
    let killed = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(tokio::sync::Notify::new());
    let callers: Vec<_> = (0..8u64)
        .map(|caller| {
            let (call, killed) = (call.clone(), killed.clone());
            let (acknowledged, enough) = (acknowledged.clone(), enough.clone());
            tokio::spawn(async move {
                let mut answered = Vec::new();
                for n in 0..5_000 {
                    match call(caller * 10_000 + n).await {
                        Ok(answer) => {
                            answered.push(answer);
                            if acknowledged.fetch_add(1, Ordering::Relaxed) + 1 == BEFORE_THE_KILL {
                                enough.notify_one();
                            }
                        }
                        // The kill: the connection breaks (or the body is cut).
                        Err(_) if killed.load(Ordering::Relaxed) => break,
                        Err(e) => panic!("a call failed before the kill: {e}"),
                    }
                }
                answered
            })
        })
        .collect();
    let _ = tokio::time::timeout(Duration::from_secs(20), enough.notified()).await;
    killed.store(true, Ordering::Relaxed);
    server.kill().unwrap();
    server.wait().unwrap();
    let mut answered = Vec::new();
    for caller in callers {
        answered.extend(caller.await.unwrap());
    }
    assert!(answered.len() >= 50, "only {} calls were answered before the kill", answered.len());
    answered
}

/// Creates links from 8 concurrent writers, kills the binary with SIGKILL mid-load, restarts
/// it, and checks that every link answered 201 is there: an acknowledged write is durable.
async fn acknowledged_links_survive_a_hard_kill_under_write_load(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", database_url.as_deref().unwrap_or_default()),
        ("PORTICO_DEFAULT_RATE_LIMIT_RPM", "10000000"),
    ];
    let (mut first, base) = crate::support::start_binary(dir.path(), &env);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "kill9@example.com", &["full_access"]).await;
    let create = {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        move |n: u64| {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            async move {
                let response = client
                    .post(format!("{base}/v1/links"))
                    .bearer_auth(&key)
                    .json(&json!({"url": format!("https://example.com/{n}")}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status() != StatusCode::CREATED {
                    return Err(format!("answered {}", response.status()));
                }
                let link: Value = response.json().await.map_err(|e| e.to_string())?;
                link["id"].as_str().map(str::to_owned).ok_or_else(|| "no id".to_owned())
            }
        }
    };
    let acknowledged = call_then_kill(&mut first, create).await;

    let (mut second, base) = crate::support::start_binary(dir.path(), &env);
    let mut missing = Vec::new();
    for id in &acknowledged {
        let response = client.get(format!("{base}/v1/links/{id}")).bearer_auth(&key).send().await.unwrap();
        if response.status() != StatusCode::OK {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged links lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    let total: Value = crate::support::get_json(&client, format!("{base}/v1/links?limit=1"), &key).await;
    assert!(total["total"].as_u64().unwrap() >= acknowledged.len() as u64);
    let _ = std::process::Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_links_survive_a_hard_kill_under_write_load() {
    acknowledged_links_survive_a_hard_kill_under_write_load(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_links_survive_a_hard_kill_under_write_load() {
    if let Some(url) = crate::support::fresh_postgres_database().await {
        acknowledged_links_survive_a_hard_kill_under_write_load(Some(url)).await;
    }
}

/// With strict metering durability, every `/v1` request answered before a kill -9 is in the
/// request log after the restart (the answer left only once its row was committed).
async fn answered_requests_survive_a_hard_kill_with_strict_metering(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", database_url.as_deref().unwrap_or_default()),
        ("PORTICO_DEFAULT_RATE_LIMIT_RPM", "10000000"),
        ("PORTICO_METERING_DURABILITY", "strict"),
    ];
    let (mut first, base) = crate::support::start_binary(dir.path(), &env);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "strict@example.com", &["full_access"]).await;
    let introspect = {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        move |_: u64| {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            async move {
                let response = client
                    .get(format!("{base}/v1/key"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status() != StatusCode::OK {
                    return Err(format!("answered {}", response.status()));
                }
                Ok(())
            }
        }
    };
    let answered = call_then_kill(&mut first, introspect).await.len() as u64;

    let (mut second, base) = crate::support::start_binary(dir.path(), &env);
    // The count is taken before this request is logged: it does not count itself.
    let log: Value = crate::support::get_json(&client, format!("{base}/v1/requests?limit=1"), &key).await;
    let logged = log["total"].as_u64().unwrap();
    assert!(logged >= answered, "{answered} calls answered, only {logged} in the request log");
    let _ = std::process::Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answered_requests_survive_a_hard_kill_with_strict_metering() {
    answered_requests_survive_a_hard_kill_with_strict_metering(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answered_requests_survive_a_hard_kill_with_strict_metering() {
    if let Some(url) = crate::support::fresh_postgres_database().await {
        answered_requests_survive_a_hard_kill_with_strict_metering(Some(url)).await;
    }
}
