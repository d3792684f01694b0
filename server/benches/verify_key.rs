//! Micro-benchmark of API key verification on the request path, on a cache hit: parse and
//! checksum, SHA-256, cache lookup, the checks, the last-used stamp. Run with
//! `cargo bench -p portico --bench verify_key`.
//!
//! A cache hit never awaits, so the future is polled once with a no-op waker: what is
//! measured is the verification, not an async runtime.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

fn poll_once<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("verification awaited: not a cache hit"),
    }
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = portico::Config::new("127.0.0.1:0", dir.path());
    // Long enough that the whole measurement is served from the cache.
    config.key_cache_ttl = std::time::Duration::from_secs(3600);
    let server = runtime.block_on(portico::server::start(config)).unwrap();
    let key = runtime.block_on(async {
        let client = reqwest::Client::new();
        let base = server.base_url();
        let signup: Value = client
            .post(format!("{base}/api/developer/signup"))
            .json(&json!({"email": "bench@example.com", "password": "correct horse battery", "organization_name": "Bench"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let created: Value = client
            .post(format!("{base}/api/developer/apikeys"))
            .bearer_auth(signup["token"].as_str().unwrap())
            .json(&json!({"name": "bench", "scopes": ["links:read"], "allowed_ips": ["127.0.0.0/8"], "domains": ["a.example.com"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["key"].as_str().unwrap().to_owned()
    });
    let verifier = server.state().keys.clone();
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // Warm the cache (the first lookup reads the database).
    runtime.block_on(verifier.verify(&key, ip, portico::time::Clock::system().now())).unwrap();

    c.bench_function("verify_key_cache_hit", |b| {
        b.iter(|| {
            poll_once(verifier.verify(std::hint::black_box(&key), ip, portico::time::Clock::system().now()))
                .unwrap()
        });
    });
    c.bench_function("parse_key_format_and_checksum", |b| {
        b.iter(|| portico::keys::material::parse(std::hint::black_box(&key)).is_ok());
    });
    runtime.block_on(server.shutdown());
}

criterion_group!(benches, verification);
criterion_main!(benches);
