//! `cargo xtask bench [--quick] [--rounds N] [--strict] [--postgres | --database-url URL]`: the benchmark that holds
//! the platform to account, measured honestly.
//!
//! The server and the load generator never share a core: the release binary runs pinned to
//! one core (`taskset`), and the load comes from `wrk` — a lean C generator, installed from
//! Debian's packages when missing — pinned to another, as its own process. (Wave 1 drove load
//! from reqwest inside this process, which ate most of both cores and diluted the server's own
//! cost threefold.) On PostgreSQL the database runs on the server's core too.
//!
//! Scenarios, alternated round by round (and in reverse every other round) so that drift
//! falls on all alike:
//! - `floor` — `GET /healthz`: every outer layer, no work; what the machine can do at all;
//! - `baseline` — `GET /bench/links/{id}?org=…`: the link-read handler's work alone (its
//!   query, answer and ETag), no layer at all (mounted by the hidden `--bench-baseline` flag);
//! - `v1_read` — `GET /v1/links/{id}`: the same handler through the whole platform;
//! - `baseline_create` — `POST /bench/links`: the link-create handler alone;
//! - `v1_create` — `POST /v1/links` with a fresh `Idempotency-Key` each;
//! - `redirect` — `GET /r/{slug}`: the product's hot path.
//!
//! Then `webhook_latency`: 200 links created one after another, each a `link.created` event
//! to an endpoint on a local receiver; the delay from sending the create to the delivery's
//! arrival (p50, p99). The receiver runs in this process, pinned to the load core.
//!
//! It reports medians over the rounds (rps, p50, p99, errors), each scenario as a share of
//! the floor, the platform overhead (1 − v1/baseline, for reads and creates, of the medians
//! and round by round, where drift between rounds cancels), memory (idle,
//! and with 1,000 keep-alive connections), and checks that metering lost nothing: every `/v1`
//! request answered is in the request log, every redirect is a click. Results go to
//! `target/bench/results.json` (and `results-postgres.json`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::workspace_root;

struct Plan {
    rounds: usize,
    seconds: u64,
    connections: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Floor,
    Baseline,
    V1Read,
    BaselineCreate,
    V1Create,
    Redirect,
}

impl Scenario {
    const ALL: [Scenario; 6] =
        [Self::Floor, Self::Baseline, Self::V1Read, Self::BaselineCreate, Self::V1Create, Self::Redirect];

    fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Baseline => "baseline",
            Self::V1Read => "v1_read",
            Self::BaselineCreate => "baseline_create",
            Self::V1Create => "v1_create",
            Self::Redirect => "redirect",
        }
    }

    fn is_v1(self) -> bool {
        matches!(self, Self::V1Read | Self::V1Create)
    }
}

/// Where the server keeps its data.
enum Database {
    Sqlite,
    /// A URL given by the caller (an empty database).
    Url(String),
    /// A throwaway cluster this run starts (and removes).
    Throwaway,
}

/// The CPU cores the server (and its database) and the load generator are pinned to.
struct Cores {
    server: String,
    load: String,
}

pub fn run(args: &[&str]) -> ExitCode {
    let mut plan = Plan { rounds: 3, seconds: 4, connections: 32 };
    let mut database = Database::Sqlite;
    let mut strict = false;
    let mut redis = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match *arg {
            "--quick" => plan = Plan { rounds: 2, seconds: 2, connections: 32 },
            // More rounds for a steadier median: on a shared VM a repeat run of 3 rounds moves
            // the read overhead by several points.
            "--rounds" => match iter.next().and_then(|n| n.parse().ok()).filter(|n| (1..=50).contains(n)) {
                Some(rounds) => plan.rounds = rounds,
                None => return usage(),
            },
            "--postgres" => database = Database::Throwaway,
            "--strict" => strict = true,
            "--redis" => redis = true,
            "--database-url" => match iter.next() {
                Some(url) => database = Database::Url((*url).to_owned()),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    match bench(&plan, database, strict, redis) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask bench [--quick] [--rounds N (1–50)] [--strict] [--redis] [--postgres | --database-url postgres://…]"
    );
    ExitCode::from(2)
}

fn bench(plan: &Plan, database: Database, strict: bool, redis: bool) -> Result<(), String> {
    let root = workspace_root();
    ensure_installed("wrk", "wrk")?;
    if redis {
        ensure_installed("redis-server", "redis-server")?;
    }
    let cores = pick_cores()?;
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
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    let binary = target_dir.join("release").join("portico");
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;

    let mut cluster = None;
    let (backend, database_url) = match database {
        Database::Sqlite => ("sqlite", None),
        Database::Url(url) => ("postgres", Some(url)),
        Database::Throwaway => {
            let started = Cluster::start(work.path(), &cores.server)?;
            let url = started.url.clone();
            cluster = Some(started);
            ("postgres", Some(url))
        }
    };
    // On PostgreSQL, after the runs that write many rows (the creates): `VACUUM ANALYZE` and a
    // `CHECKPOINT`, so that autovacuum and the checkpointer do not wake during the next runs
    // and land on the server's core as the next scenario's cost. (Without it, the first read
    // run after the creates measured 2–5 times slower than the same run in other rounds.)
    let psql = cluster.as_ref().map_or_else(|| PathBuf::from("psql"), |c| c.bin.join("psql"));
    let tidy = || {
        if let Some(url) = &database_url {
            let done = Command::new(&psql)
                .arg(url)
                .args(["-q", "-c", "VACUUM ANALYZE", "-c", "CHECKPOINT"])
                .stdout(Stdio::null())
                .status();
            if !done.is_ok_and(|s| s.success()) {
                eprintln!(
                    "warning: could not VACUUM the database with psql; the next runs may measure its upkeep"
                );
            }
        }
    };
    let outcome = (|| {
        let mut server =
            Server::start(&binary, work.path(), database_url.as_deref(), &cores.server, strict, None)?;
        let mut result = measure(plan, &cores, &server, work.path(), &tidy);
        if redis && let Ok(report) = &mut result {
            match shared_limiter_cost(plan, &cores, &binary, work.path(), database_url.as_deref(), &server) {
                Ok(cost) => report["shared_limiter"] = cost,
                Err(e) => result = Err(format!("the shared-limiter runs failed: {e}")),
            }
        }
        server.stop();
        result
    })();
    if let Some(cluster) = cluster {
        cluster.stop();
    }
    let mut report = outcome?;
    report["backend"] = json!(backend);
    report["metering_durability"] = json!(if strict { "strict" } else { "batched" });

    let out_dir = target_dir.join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let name = match (backend, strict) {
        ("sqlite", false) => "results",
        ("sqlite", true) => "results-strict",
        (_, false) => "results-postgres",
        (_, true) => "results-postgres-strict",
    };
    let path = out_dir.join(format!("{name}{}.json", if redis { "-redis" } else { "" }));
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON") + "\n")
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Installs `tool` from Debian's `package` when it is missing.
fn ensure_installed(tool: &str, package: &str) -> Result<(), String> {
    if Command::new(tool).arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("installing {package} (apt-get)…");
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    for args in [&["apt-get", "update", "-qq"][..], &["apt-get", "install", "-y", "-qq", package][..]] {
        let all: Vec<&str> = sudo.iter().chain(args).copied().collect();
        let status = Command::new(all[0]).args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive").status();
        if !status.is_ok_and(|s| s.success()) {
            return Err(format!("{tool} is missing and could not be installed (apt-get install {package})"));
        }
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The server gets core 0 and the load generator the last core; with one core only, the
/// measurement would not be honest, so it refuses.
fn pick_cores() -> Result<Cores, String> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 {
        return Err("the benchmark needs two cores: one for the server, one for the load generator".into());
    }
    if Command::new("taskset").arg("-V").output().is_err() {
        return Err("taskset (util-linux) is needed to pin the server and the load apart".into());
    }
    Ok(Cores { server: "0".into(), load: (cpus - 1).to_string() })
}

/// The server under test: the release binary pinned to its core.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(
        binary: &Path,
        work: &Path,
        database_url: Option<&str>,
        core: &str,
        strict: bool,
        redis_url: Option<&str>,
    ) -> Result<Self, String> {
        let mut command = Command::new("taskset");
        command
            .args(["-c", core])
            .arg(binary)
            .args(["serve", "--addr", "127.0.0.1:0", "--bench-baseline", "--monthly-quota", "1000000000000"])
            .arg("--data-dir")
            .arg(work.join(if redis_url.is_some() { "data-redis" } else { "data" }))
            // sqlx warns of statements over 1 s: background pollers on a saturated core.
            .env("RUST_LOG", "warn,sqlx=error")
            .env("PORTICO_METERING_DURABILITY", if strict { "strict" } else { "batched" })
            // The webhook-latency receiver listens on loopback.
            .env("PORTICO_WEBHOOK_ALLOW_PRIVATE", "true")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        if let Some(url) = redis_url {
            command.args(["--redis-url", url]);
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let base = read_base_url(&mut child)?;
        Ok(Self { child, base })
    }

    /// The server's resident memory (`VmRSS`) in MiB.
    fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id()).unwrap_or(0.0)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A process's resident memory (`VmRSS`) in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse::<f64>()
        .ok()?;
    Some(kib / 1024.0)
}

/// The server prints `Portico is running on http://…`; wait for it.
fn read_base_url(server: &mut Child) -> Result<String, String> {
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

/// A throwaway PostgreSQL cluster (PostgreSQL refuses to run as root: as root it runs as an
/// unprivileged system user), pinned to the server's core.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    url: String,
}

impl Cluster {
    /// `runuser -u portico-bench --` as root (PostgreSQL refuses root), nothing otherwise.
    fn as_user() -> Vec<String> {
        if is_root() {
            let _ = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "portico-bench"])
                .stderr(Stdio::null())
                .status();
            ["runuser", "-u", "portico-bench", "--"].map(String::from).to_vec()
        } else {
            Vec::new()
        }
    }

    fn start(work: &Path, core: &str) -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| "PostgreSQL is not installed (apt-get install postgresql)".to_owned())?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .ok_or("PostgreSQL's initdb not found")?;
        let dir = work.join("pg");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let user = Self::as_user();
        if is_root() {
            let _ = Command::new("chown").args(["-R", "portico-bench"]).arg(&dir).status();
        }
        let port = free_port()?;
        // Run under taskset, the server and every backend it forks stay on the core.
        let tool = |name: &str| {
            let mut command = Command::new("taskset");
            command.args(["-c", core]).args(&user).arg(bin.join(name)).arg("-D").arg(dir.join("data"));
            command.stdout(Stdio::null());
            command
        };
        let initdb = tool("initdb").args(["-U", "portico", "--auth=trust", "--encoding=UTF8"]).status();
        if !initdb.is_ok_and(|s| s.success()) {
            return Err("initdb failed".into());
        }
        let options =
            format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", dir.display());
        let started = tool("pg_ctl")
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "start", "-o", &options])
            .status();
        if !started.is_ok_and(|s| s.success()) {
            return Err("pg_ctl start failed".into());
        }
        Ok(Self { bin, dir, url: format!("postgres://portico@127.0.0.1:{port}/postgres") })
    }

    fn stop(self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = match Self::as_user().split_first() {
            Some((runuser, rest)) => {
                let mut c = Command::new(runuser);
                c.args(rest).arg(&pg_ctl);
                c
            }
            None => Command::new(&pg_ctl),
        };
        let _ = command
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// What the seeding made: a key, a link to read, its slug, the organisation.
struct Seed {
    key: String,
    link_id: String,
    slug: String,
    organization_id: String,
    /// `/v1` requests the seeding sent (they are in the request log too).
    v1_sent: u64,
}

/// One wrk run's figures.
#[derive(Debug, Default, Clone)]
struct Run {
    requests: u64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

fn measure(
    plan: &Plan,
    cores: &Cores,
    server: &Server,
    work: &Path,
    tidy: &dyn Fn(),
) -> Result<Value, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let seed = runtime.block_on(seed(&server.base))?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = server.rss_mib();

    let mut runs: Vec<Vec<Run>> = Scenario::ALL.iter().map(|_| Vec::new()).collect();
    let (mut v1_answered, mut redirects) = (0u64, 0u64);
    for round in 0..plan.rounds {
        let mut order = Scenario::ALL.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for scenario in order {
            // Let the previous run's queued writes (log, clicks) land first, so that one
            // scenario's background work is not measured as another's cost.
            std::thread::sleep(Duration::from_millis(1500));
            let script = write_script(work, scenario, &seed, round)?;
            let run = wrk(cores, &server.base, &script, plan.connections, plan.seconds, scenario)?;
            if scenario.is_v1() {
                v1_answered += run.requests;
            }
            if scenario == Scenario::Redirect {
                redirects += run.requests;
            }
            if matches!(scenario, Scenario::BaselineCreate | Scenario::V1Create) {
                tidy();
            }
            eprintln!(
                "  round {} {:<16} {:>9.0} rps  p50 {:>7.0} µs  p99 {:>7.0} µs  errors {}",
                round + 1,
                scenario.name(),
                run.rps,
                run.p50_us,
                run.p99_us,
                run.errors
            );
            runs[Scenario::ALL.iter().position(|s| *s == scenario).expect("listed")].push(run);
        }
    }

    // Memory with 1,000 keep-alive connections on the read path.
    let script = write_script(work, Scenario::V1Read, &seed, plan.rounds)?;
    let peak = std::sync::Arc::new(std::sync::Mutex::new(0.0f64));
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pid) = (peak.clone(), sampling.clone(), server.child.id());
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(mib) = rss_mib(pid) {
                    let mut peak = peak.lock().expect("not poisoned");
                    *peak = peak.max(mib);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let thousand = wrk(cores, &server.base, &script, 1000, plan.seconds.max(3), Scenario::V1Read)?;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();
    v1_answered += thousand.requests;
    let rss_1000 = *peak.lock().expect("not poisoned");

    pin_to(&cores.load)?;
    let webhooks = runtime.block_on(webhook_latency(&server.base, &seed))?;
    v1_answered += webhooks.v1_sent;

    // Metering lost nothing? Let the writers flush, then count (these reads are not logged
    // before they are answered, so they do not count themselves).
    std::thread::sleep(Duration::from_secs(3));
    let (logged, clicks) = runtime.block_on(metered(&server.base, &seed))?;
    let sent = v1_answered + seed.v1_sent;
    // wrk counts answers it received; requests in flight when a run ends are answered (and
    // logged) after wrk stops counting, so the log may hold up to one per connection more.
    let slack = (plan.connections * plan.rounds * 2 + 1000) as u64;
    let log_ok = logged >= sent && logged <= sent + slack;
    let clicks_ok = clicks >= redirects && clicks <= redirects + (plan.connections * plan.rounds) as u64;

    let summary: Vec<(Scenario, Run)> = Scenario::ALL
        .iter()
        .zip(&runs)
        .map(|(s, r)| {
            (
                *s,
                Run {
                    requests: r.iter().map(|x| x.requests).sum(),
                    rps: median(r.iter().map(|x| x.rps).collect()),
                    p50_us: median(r.iter().map(|x| x.p50_us).collect()),
                    p99_us: median(r.iter().map(|x| x.p99_us).collect()),
                    errors: r.iter().map(|x| x.errors).sum(),
                },
            )
        })
        .collect();
    let rps = |s: Scenario| summary.iter().find(|(x, _)| *x == s).map_or(0.0, |(_, r)| r.rps);
    let floor = rps(Scenario::Floor).max(1.0);
    let read_overhead = 1.0 - rps(Scenario::V1Read) / rps(Scenario::Baseline).max(1.0);
    let create_overhead = 1.0 - rps(Scenario::V1Create) / rps(Scenario::BaselineCreate).max(1.0);
    // Each round's v1 run sits next to its baseline run, so drift between rounds (the
    // database's own background work, the machine's neighbours) cancels in the pair.
    let paired = |v1: Scenario, baseline: Scenario| -> Vec<f64> {
        let of = |s: Scenario| &runs[Scenario::ALL.iter().position(|x| *x == s).expect("listed")];
        of(v1).iter().zip(of(baseline)).map(|(v, b)| 1.0 - v.rps / b.rps.max(1.0)).collect()
    };
    let read_rounds = paired(Scenario::V1Read, Scenario::Baseline);
    let create_rounds = paired(Scenario::V1Create, Scenario::BaselineCreate);
    let percent =
        |values: &[f64]| values.iter().map(|v| format!("{:.1}", v * 100.0)).collect::<Vec<_>>().join(", ");
    let thousandths =
        |values: &[f64]| values.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>();

    println!();
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "scenario", "rps", "p50 µs", "p99 µs", "errors", "of floor"
    );
    let mut scenarios = Vec::new();
    for (scenario, run) in &summary {
        let share = run.rps / floor;
        println!(
            "{:<16} {:>9.0} {:>9.0} {:>9.0} {:>7} {:>8.1}%",
            scenario.name(),
            run.rps,
            run.p50_us,
            run.p99_us,
            run.errors,
            share * 100.0
        );
        scenarios.push(json!({
            "name": scenario.name(), "rps": run.rps.round(), "p50_us": run.p50_us.round(),
            "p99_us": run.p99_us.round(), "errors": run.errors, "share_of_floor": (share * 1000.0).round() / 1000.0,
            "rounds": runs[Scenario::ALL.iter().position(|s| s == scenario).expect("listed")]
                .iter().map(|r| r.rps.round()).collect::<Vec<_>>(),
        }));
    }
    println!();
    println!(
        "platform overhead, reads   (1 - v1_read/baseline):          {:.1} % (round by round: {} %; median {:.1} %)",
        read_overhead * 100.0,
        percent(&read_rounds),
        median(read_rounds.clone()) * 100.0
    );
    println!(
        "platform overhead, creates (1 - v1_create/baseline_create): {:.1} % (round by round: {} %; median {:.1} %)",
        create_overhead * 100.0,
        percent(&create_rounds),
        median(create_rounds.clone()) * 100.0
    );
    println!("redirect: {:.1} % of the floor", rps(Scenario::Redirect) / floor * 100.0);
    println!("memory: idle {idle_rss:.1} MiB; with 1,000 keep-alive connections {rss_1000:.1} MiB");
    println!(
        "webhooks: from a link's create to its link.created delivery, p50 {:.1} ms, p99 {:.1} ms ({} events)",
        webhooks.p50_ms, webhooks.p99_ms, webhooks.events
    );
    println!(
        "metered: {sent} /v1 requests answered, {logged} in the request log ({}); {redirects} redirects, {clicks} clicks ({})",
        if log_ok { "none lost" } else { "MISMATCH" },
        if clicks_ok { "none lost" } else { "MISMATCH" }
    );
    Ok(json!({
        "scenarios": scenarios,
        "overhead": {
            "v1_read": (read_overhead * 1000.0).round() / 1000.0,
            "v1_create": (create_overhead * 1000.0).round() / 1000.0,
            "v1_read_rounds": thousandths(&read_rounds),
            "v1_create_rounds": thousandths(&create_rounds),
            "v1_read_median_of_rounds": (median(read_rounds.clone()) * 1000.0).round() / 1000.0,
            "v1_create_median_of_rounds": (median(create_rounds.clone()) * 1000.0).round() / 1000.0,
        },
        "redirect_share_of_floor": (rps(Scenario::Redirect) / floor * 1000.0).round() / 1000.0,
        "webhook_latency_ms": {"p50": (webhooks.p50_ms * 10.0).round() / 10.0, "p99": (webhooks.p99_ms * 10.0).round() / 10.0, "events": webhooks.events},
        "memory_mib": {"idle": (idle_rss * 10.0).round() / 10.0, "with_1000_connections": (rss_1000 * 10.0).round() / 10.0},
        "metered": {"v1_answered": sent, "logged": logged, "lossless": log_ok, "redirects": redirects, "clicks": clicks, "clicks_lossless": clicks_ok},
        "method": {
            "server_core": cores.server, "load_core": cores.load, "generator": "wrk -t1",
            "rounds": plan.rounds, "seconds_per_run": plan.seconds, "connections": plan.connections,
            "cpus": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        },
    }))
}

/// What the shared limiter costs: a second server with `--redis-url` (Redis pinned to the
/// server's core, like the database) against the first, `v1_read` alternating between them
/// round by round. Every `/v1` request then makes one Redis round trip (rate limit and quota in one script).
fn shared_limiter_cost(
    plan: &Plan,
    cores: &Cores,
    binary: &Path,
    work: &Path,
    database_url: Option<&str>,
    local: &Server,
) -> Result<Value, String> {
    let port = free_port()?;
    let redis_dir = work.join("redis");
    std::fs::create_dir_all(&redis_dir).map_err(|e| e.to_string())?;
    let mut redis = Command::new("taskset")
        .args(["-c", &cores.server, "redis-server", "--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(&redis_dir)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e}"))?;
    let outcome = (|| {
        std::thread::sleep(Duration::from_millis(500));
        let url = format!("redis://127.0.0.1:{port}");
        let mut shared = Server::start(binary, work, database_url, &cores.server, false, Some(&url))?;
        let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        let result = (|| {
            let local_seed = runtime.block_on(seed(&local.base))?;
            let shared_seed = runtime.block_on(seed(&shared.base))?;
            let (mut without, mut with) = (Vec::new(), Vec::new());
            for round in 0..plan.rounds {
                let mut order = [(&local.base, &local_seed, false), (&shared.base, &shared_seed, true)];
                if round % 2 == 1 {
                    order.reverse();
                }
                for (base, seed, is_shared) in order {
                    std::thread::sleep(Duration::from_millis(1500));
                    let script = write_script(work, Scenario::V1Read, seed, round)?;
                    let run = wrk(cores, base, &script, plan.connections, plan.seconds, Scenario::V1Read)?;
                    eprintln!(
                        "  round {} v1_read {:<14} {:>9.0} rps  p50 {:>7.0} µs  p99 {:>7.0} µs  errors {}",
                        round + 1,
                        if is_shared { "(Redis)" } else { "(per instance)" },
                        run.rps,
                        run.p50_us,
                        run.p99_us,
                        run.errors
                    );
                    if is_shared { with.push(run) } else { without.push(run) }
                }
            }
            let summary = |runs: &[Run]| {
                (
                    median(runs.iter().map(|r| r.rps).collect()),
                    median(runs.iter().map(|r| r.p50_us).collect()),
                    median(runs.iter().map(|r| r.p99_us).collect()),
                    runs.iter().map(|r| r.errors).sum::<u64>(),
                )
            };
            let (a, b) = (summary(&without), summary(&with));
            let cost: f64 = 1.0 - b.0 / a.0.max(1.0);
            println!();
            println!("shared limiter (v1_read, medians):");
            println!(
                "  per instance  {:>9.0} rps  p50 {:>7.0} µs  p99 {:>7.0} µs  errors {}",
                a.0, a.1, a.2, a.3
            );
            println!(
                "  with Redis    {:>9.0} rps  p50 {:>7.0} µs  p99 {:>7.0} µs  errors {}",
                b.0, b.1, b.2, b.3
            );
            println!("  added cost: {:.1} % of throughput, +{:.0} µs p50", cost * 100.0, b.1 - a.1);
            let side = |s: (f64, f64, f64, u64), runs: &[Run]| {
                json!({"rps": s.0.round(), "p50_us": s.1.round(), "p99_us": s.2.round(), "errors": s.3,
                       "rounds": runs.iter().map(|r| r.rps.round()).collect::<Vec<_>>()})
            };
            Ok(json!({
                "per_instance": side(a, &without),
                "with_redis": side(b, &with),
                "throughput_cost": (cost * 1000.0).round() / 1000.0,
            }))
        })();
        shared.stop();
        result
    })();
    let _ = redis.kill();
    let _ = redis.wait();
    outcome
}

/// The median of `values` (the upper one of an even count); 0 for none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if values.is_empty() { 0.0 } else { values[values.len() / 2] }
}

/// Runs wrk pinned to the load core; the Lua script prints the figures as JSON at the end.
fn wrk(
    cores: &Cores,
    base: &str,
    script: &Path,
    connections: usize,
    seconds: u64,
    scenario: Scenario,
) -> Result<Run, String> {
    let output = Command::new("taskset")
        .args(["-c", &cores.load, "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(base)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("wrk printed no result for {}: {text}", scenario.name()))?;
    let v: Value = serde_json::from_str(line).map_err(|e| format!("wrk's result: {e}: {line}"))?;
    let requests = v["requests"].as_u64().unwrap_or(0);
    let seconds = v["duration_us"].as_f64().unwrap_or(1.0) / 1e6;
    Ok(Run {
        requests,
        rps: requests as f64 / seconds.max(1e-9),
        p50_us: v["p50"].as_f64().unwrap_or(0.0),
        p99_us: v["p99"].as_f64().unwrap_or(0.0),
        errors: v["errors"].as_u64().unwrap_or(0),
    })
}

/// The wrk script of a scenario: the request, and a `done` that prints the figures.
fn write_script(work: &Path, scenario: Scenario, seed: &Seed, round: usize) -> Result<PathBuf, String> {
    let auth = format!("[\"Authorization\"] = \"Bearer {}\"", seed.key);
    let request = match scenario {
        Scenario::Floor => "wrk.path = \"/healthz\"".to_owned(),
        Scenario::Baseline => {
            format!("wrk.path = \"/bench/links/{}?org={}\"", seed.link_id, seed.organization_id)
        }
        Scenario::V1Read => format!("wrk.path = \"/v1/links/{}\"\nwrk.headers = {{ {auth} }}", seed.link_id),
        Scenario::Redirect => format!("wrk.path = \"/r/{}\"", seed.slug),
        Scenario::BaselineCreate | Scenario::V1Create => {
            let (path, headers) = if scenario == Scenario::V1Create {
                ("/v1/links".to_owned(), format!("{auth}, [\"Idempotency-Key\"] = \"bench-{round}-\" .. n,"))
            } else {
                (format!("/bench/links?org={}", seed.organization_id), String::new())
            };
            format!(
                "local n = 0\n\
                 request = function()\n\
                 \x20 n = n + 1\n\
                 \x20 local body = '{{\"url\": \"https://example.com/{}/{round}/' .. n .. '\", \"tags\": [\"bench\"]}}'\n\
                 \x20 return wrk.format(\"POST\", \"{path}\", {{ {headers} [\"Content-Type\"] = \"application/json\" }}, body)\n\
                 end",
                scenario.name()
            )
        }
    };
    let done = "done = function(summary, latency, requests)\n\
        \x20 local e = summary.errors\n\
        \x20 io.write(string.format('RESULT {\"requests\": %d, \"duration_us\": %d, \"errors\": %d, \"p50\": %d, \"p99\": %d}\\n',\n\
        \x20   summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,\n\
        \x20   latency:percentile(50), latency:percentile(99)))\n\
        end\n";
    let path = work.join(format!("{}-{round}.lua", scenario.name()));
    std::fs::write(&path, format!("{request}\n{done}")).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Signs up, creates a key (with a rate limit high enough not to interfere) and links.
async fn seed(base: &str) -> Result<Seed, String> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
    let fail = |e: reqwest::Error| e.to_string();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let session: Value = post(
        "/api/developer/signup",
        None,
        // A fresh address per seeding: the shared-limiter runs seed a second time.
        json!({"email": format!("bench-{}@example.com", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())),
               "password": "correct horse battery", "organization_name": "Bench"}),
    )
    .await
    .map_err(fail)?
    .json()
    .await
    .map_err(fail)?;
    let token = session["token"].as_str().ok_or("sign-up failed")?.to_owned();
    let organization_id = session["organization"]["id"].as_str().ok_or("no organisation")?.to_owned();
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
    let mut v1_sent = 0;
    let mut last = Value::Null;
    for i in 0..20 {
        last = post(
            "/v1/links",
            Some(&key),
            json!({"url": format!("https://example.com/seed/{i}"), "title": "Seed"}),
        )
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
        v1_sent += 1;
    }
    let link_id = last["id"].as_str().ok_or("link creation failed")?.to_owned();
    let slug = last["slug"].as_str().ok_or("no slug")?.to_owned();
    Ok(Seed { key, link_id, slug, organization_id, v1_sent })
}

/// Pins every thread of this process to `core` (the load generator's), so that what runs here
/// — the webhook receiver — takes nothing from the server's core.
fn pin_to(core: &str) -> Result<(), String> {
    let pid = std::process::id().to_string();
    let done = Command::new("taskset").args(["-a", "-cp", core, &pid]).stdout(Stdio::null()).status();
    if done.is_ok_and(|s| s.success()) {
        Ok(())
    } else {
        Err(format!("cannot pin this process to core {core}"))
    }
}

/// What [`webhook_latency`] measured.
struct WebhookLatency {
    p50_ms: f64,
    p99_ms: f64,
    events: usize,
    /// `/v1` requests it sent (they are in the request log too).
    v1_sent: u64,
}

/// Creates links one at a time, each delivered as `link.created` to a receiver here; the
/// delay from sending each create to its delivery's arrival.
async fn webhook_latency(base: &str, seed: &Seed) -> Result<WebhookLatency, String> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    const EVENTS: usize = 200;

    type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;
    let arrivals: Arrivals = Arc::default();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let receiver_url = format!("http://{}/hooks", listener.local_addr().map_err(|e| e.to_string())?);
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post({
            let (arrivals, arrived) = (arrivals.clone(), arrived.clone());
            move |body: String| async move {
                let at = Instant::now();
                let payload: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if let Some(id) = payload["data"]["id"].as_str() {
                    arrivals.lock().expect("not poisoned").insert(id.to_owned(), at);
                    arrived.notify_one();
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let receiving = tokio::spawn(async move { axum::serve(listener, app).await });

    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
    let fail = |e: reqwest::Error| e.to_string();
    let post = |path: &str, body: Value| {
        client.post(format!("{base}{path}")).bearer_auth(&seed.key).json(&body).send()
    };
    let endpoint: Value = post("/v1/webhooks", json!({"url": receiver_url, "events": ["link.created"]}))
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let endpoint_id = endpoint["id"].as_str().ok_or(format!("creating the endpoint failed: {endpoint}"))?;
    let mut delays = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let sent = Instant::now();
        let link: Value = post("/v1/links", json!({"url": format!("https://example.com/hooked/{i}")}))
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)?;
        let id = link["id"].as_str().ok_or(format!("creating a link failed: {link}"))?.to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let at = loop {
            let notified = arrived.notified();
            if let Some(at) = arrivals.lock().expect("not poisoned").get(&id) {
                break *at;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("the delivery of link {id} did not arrive within 10 s"));
            }
        };
        delays.push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    let _ = client.delete(format!("{base}/v1/webhooks/{endpoint_id}")).bearer_auth(&seed.key).send().await;
    receiving.abort();
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    Ok(WebhookLatency { p50_ms: at(0.5), p99_ms: at(0.99), events: EVENTS, v1_sent: EVENTS as u64 + 2 })
}

/// The request log's total and the benchmark link's clicks.
async fn metered(base: &str, seed: &Seed) -> Result<(u64, u64), String> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let key = seed.key.clone();
        async move {
            let value: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(key)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<Value, String>(value)
        }
    };
    let log = get("/v1/requests?limit=1".to_owned()).await?;
    let link = get(format!("/v1/links/{}", seed.link_id)).await?;
    Ok((log["total"].as_u64().unwrap_or(0), link["clicks"].as_u64().unwrap_or(0)))
}
