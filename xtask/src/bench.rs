//! `cargo xtask bench [--quick]`: the benchmark that holds the `/v1` pipeline to account.
//!
//! 1. Builds the release binary and starts it on SQLite in a temporary directory, with the
//!    hidden `--bench-baseline` flag that also mounts the link-read handler with no platform
//!    layer at all.
//! 2. Seeds an organisation, a key (with a rate limit high enough not to interfere) and links.
//! 3. Drives load from this process — many concurrent keep-alive connections — through three
//!    scenarios, alternated round by round so that drift (thermal, page cache, the other
//!    core) falls on all of them alike:
//!    - `baseline_link_read`: `GET /bench/links/{id}`, the handler alone;
//!    - `authed_link_read`: `GET /v1/links/{id}` through the whole pipeline;
//!    - `authed_link_create`: `POST /v1/links` with a fresh idempotency key each.
//! 4. Checks metering lost nothing: the request log must hold every `/v1` request sent.
//! 5. Prints a table and writes `target/bench/results.json`.

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::workspace_root;

struct Plan {
    rounds: usize,
    per_scenario: Duration,
    connections: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    BaselineLinkRead,
    AuthedLinkRead,
    AuthedLinkCreate,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Self::BaselineLinkRead, Self::AuthedLinkRead, Self::AuthedLinkCreate];

    fn name(self) -> &'static str {
        match self {
            Self::BaselineLinkRead => "baseline_link_read",
            Self::AuthedLinkRead => "authed_link_read",
            Self::AuthedLinkCreate => "authed_link_create",
        }
    }

    fn is_v1(self) -> bool {
        self != Self::BaselineLinkRead
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    elapsed: Duration,
}

pub fn run(quick: bool) -> ExitCode {
    let plan = if quick {
        Plan { rounds: 2, per_scenario: Duration::from_secs(4), connections: 32 }
    } else {
        Plan { rounds: 5, per_scenario: Duration::from_secs(10), connections: 64 }
    };
    match bench(&plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(plan: &Plan) -> Result<(), String> {
    let root = workspace_root();
    eprintln!("building the release binary…");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "portico", "--bin", "portico"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("the release build failed".into());
    }
    let target_dir =
        std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or_else(|_| root.join("target"));
    let binary = target_dir.join("release").join("portico");
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;

    let mut server = Command::new(&binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--bench-baseline", "--monthly-quota", "1000000000000"])
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let base = read_base_url(&mut server)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let result = runtime.block_on(drive(plan, &base));
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let report = result?;

    let out_dir = root.join("target").join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON") + "\n")
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The server prints `Portico is running on http://…`; wait for it.
fn read_base_url(server: &mut std::process::Child) -> Result<String, String> {
    use std::io::BufRead;
    let stdout = server.stdout.take().ok_or("no stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(rest) = line.trim().strip_prefix("Portico is running on ") {
            let url = rest.split_whitespace().next().unwrap_or("").to_owned();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    Err("the server exited before announcing its address".into())
}

async fn drive(plan: &Plan, base: &str) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let (key, link_id, mut sent_v1) = seed(&client, base).await?;

    let mut tallies: Vec<Tally> = Scenario::ALL.iter().map(|_| Tally::default()).collect();
    let counter = Arc::new(AtomicU64::new(0));
    for round in 0..plan.rounds {
        // Alternate the order each round as well.
        let mut order = Scenario::ALL.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for scenario in order {
            let tally = load(&client, base, &key, &link_id, scenario, plan, &counter).await;
            if scenario.is_v1() {
                sent_v1 += tally.requests;
            }
            let slot = &mut tallies[Scenario::ALL.iter().position(|s| *s == scenario).unwrap()];
            slot.requests += tally.requests;
            slot.errors += tally.errors;
            slot.elapsed += tally.elapsed;
            slot.latencies_us.extend(tally.latencies_us);
        }
    }

    // Metering lost nothing? Wait for the log's flush, then count (this query is not yet in it).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let log: Value = client
        .get(format!("{base}/v1/requests?limit=1"))
        .bearer_auth(&key)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let logged = log["total"].as_u64().unwrap_or(0);

    let mut scenarios = Vec::new();
    println!();
    println!("{:<22} {:>10} {:>10} {:>10} {:>8}", "scenario", "rps", "p50 µs", "p99 µs", "errors");
    for (scenario, tally) in Scenario::ALL.iter().zip(&mut tallies) {
        tally.latencies_us.sort_unstable();
        let rps = tally.requests as f64 / tally.elapsed.as_secs_f64().max(1e-9);
        let p50 = percentile(&tally.latencies_us, 0.50);
        let p99 = percentile(&tally.latencies_us, 0.99);
        println!("{:<22} {:>10.0} {:>10} {:>10} {:>8}", scenario.name(), rps, p50, p99, tally.errors);
        scenarios.push(json!({"name": scenario.name(), "rps": rps.round(), "p50_us": p50, "p99_us": p99, "errors": tally.errors}));
    }
    let rps = |i: usize| scenarios[i]["rps"].as_f64().unwrap_or(0.0);
    let overhead = if rps(0) > 0.0 { 1.0 - rps(1) / rps(0) } else { 0.0 };
    println!();
    println!("platform overhead (1 - authed/baseline rps): {:.1} %", overhead * 100.0);
    println!("metered: sent {sent_v1} /v1 requests, the request log holds {logged}");
    if logged != sent_v1 {
        eprintln!("warning: metering lost {} requests", sent_v1 as i64 - logged as i64);
    }
    Ok(json!({
        "scenarios": scenarios,
        "platform_overhead": (overhead * 1000.0).round() / 1000.0,
        "metered": {"sent": sent_v1, "logged": logged},
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS},
        "plan": {"rounds": plan.rounds, "seconds_per_scenario": plan.per_scenario.as_secs(), "connections": plan.connections},
    }))
}

/// Signs up, creates a key and a link; returns (key, link id, /v1 requests sent).
async fn seed(client: &reqwest::Client, base: &str) -> Result<(String, String, u64), String> {
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let fail = |e: reqwest::Error| e.to_string();
    let session: Value = post(
        "/api/developer/signup",
        None,
        json!({"email": "bench@example.com", "password": "correct horse battery", "organization_name": "Bench"}),
    )
    .await
    .map_err(fail)?
    .json()
    .await
    .map_err(fail)?;
    let token = session["token"].as_str().ok_or("sign-up failed")?.to_owned();
    let created: Value = post(
        "/api/developer/apikeys",
        Some(&token),
        json!({"name": "bench", "scopes": ["full_access"], "rate_limit_rpm": 1_000_000}),
    )
    .await
    .map_err(fail)?
    .json()
    .await
    .map_err(fail)?;
    let key = created["key"].as_str().ok_or("key creation failed")?.to_owned();
    let mut sent = 0;
    let mut link_id = String::new();
    for i in 0..20 {
        let link: Value = post(
            "/v1/links",
            Some(&key),
            json!({"url": format!("https://example.com/seed/{i}"), "title": "Seed"}),
        )
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
        sent += 1;
        link_id = link["id"].as_str().ok_or("link creation failed")?.to_owned();
    }
    Ok((key, link_id, sent))
}

async fn load(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    link_id: &str,
    scenario: Scenario,
    plan: &Plan,
    counter: &Arc<AtomicU64>,
) -> Tally {
    let started = Instant::now();
    let deadline = started + plan.per_scenario;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.connections {
        let (client, base, key, link_id, counter) =
            (client.clone(), base.to_owned(), key.to_owned(), link_id.to_owned(), counter.clone());
        workers.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let request = match scenario {
                    Scenario::BaselineLinkRead => client.get(format!("{base}/bench/links/{link_id}")),
                    Scenario::AuthedLinkRead => {
                        client.get(format!("{base}/v1/links/{link_id}")).bearer_auth(&key)
                    }
                    Scenario::AuthedLinkCreate => {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        client
                            .post(format!("{base}/v1/links"))
                            .bearer_auth(&key)
                            .header("idempotency-key", format!("bench-{n}"))
                            .json(
                                &json!({"url": format!("https://example.com/bench/{n}"), "tags": ["bench"]}),
                            )
                    }
                };
                let sent_at = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                tally.latencies_us.push(sent_at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                tally.requests += 1;
                if !ok {
                    tally.errors += 1;
                }
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(Ok(tally)) = workers.join_next().await {
        total.requests += tally.requests;
        total.errors += tally.errors;
        total.latencies_us.extend(tally.latencies_us);
    }
    total.elapsed = started.elapsed();
    total
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
