//! Settings: flags, environment variables, defaults, and the checks that turn a bad setting
//! into a one-line error naming it (exit code 2) instead of a panic.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;

use crate::secret::Secret;

/// The defaults of the settings, written once: the flags show them in `--help`, and
/// [`Config::new`] (what tests and embedders start from) uses them.
pub mod defaults {
    pub const REDIS_PREFIX: &str = "portico:";
    pub const REDIS_TIMEOUT_MS: u64 = 250;
    pub const CACHE_TTL_MS: u64 = 1000;
    pub const MAX_JSON_BYTES: usize = 1024 * 1024;
    pub const SESSION_TTL_HOURS: u64 = 24 * 7;
    pub const SHUTDOWN_TIMEOUT_SECONDS: u64 = 30;
    pub const DEFAULT_RATE_LIMIT_RPM: u32 = 600;
    pub const PLAYGROUND_RATE_LIMIT_RPM: u32 = 120;
    pub const MONTHLY_QUOTA: u64 = 1_000_000;
    pub const LOG_RETENTION_DAYS: u64 = 30;
    pub const AUDIT_RETENTION_DAYS: u64 = 365;
    pub const JOB_WORKERS: usize = 2;
    pub const JOB_LEASE_SECONDS: u64 = 30;
    pub const WEBHOOK_DISABLE_AFTER: u32 = 5;
    pub const PASSWORD_QUEUE: usize = 64;
    pub const HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
    pub const IDLE_TIMEOUT_SECONDS: u64 = 60;
    pub const BODY_READ_TIMEOUT_SECONDS: u64 = 30;
    pub const MAX_CONNECTIONS: usize = 10_000;
    pub const WRITE_TIMEOUT_SECONDS: u64 = 30;
    pub const BODY_MIN_RATE: u32 = 500;
}

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about = "Portico: the developer platform of an API product.")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve`, the default when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
}

/// The settings of `portico serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (`host:port`; port 0 picks a free one).
    #[arg(long, env = "PORTICO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// The data directory: holds `portico.db` (the embedded database) and generated secrets.
    #[arg(long, env = "PORTICO_DATA_DIR", default_value = "./.portico")]
    pub data_dir: PathBuf,
    /// A `postgres://` URL switches to PostgreSQL; without it Portico uses SQLite in the data
    /// directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A `redis://` URL: rate limits, quotas, sign-in throttles and the playground's bucket
    /// are then shared by every instance that names the same Redis (see docs/deploying.md).
    #[arg(long, env = "PORTICO_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// How long a call to Redis may take before the instance decides alone, in milliseconds.
    #[arg(long, env = "PORTICO_REDIS_TIMEOUT_MS", default_value_t = defaults::REDIS_TIMEOUT_MS)]
    pub redis_timeout_ms: u64,
    /// What every key this server writes in Redis starts with: deployments that share one
    /// Redis (staging and production, say) each need their own.
    #[arg(long, env = "PORTICO_REDIS_PREFIX", default_value = defaults::REDIS_PREFIX)]
    pub redis_prefix: String,
    /// How long a cached API key or redirect target may be used, in milliseconds: the safety
    /// net should a change's broadcast to the other instances be lost.
    #[arg(long, env = "PORTICO_CACHE_TTL_MS", default_value_t = defaults::CACHE_TTL_MS)]
    pub cache_ttl_ms: u64,
    /// The largest JSON request body accepted, in bytes.
    #[arg(long, env = "PORTICO_MAX_JSON_BYTES", default_value_t = defaults::MAX_JSON_BYTES)]
    pub max_json_bytes: usize,
    /// How long a dashboard session lasts, in hours.
    #[arg(long, env = "PORTICO_SESSION_TTL_HOURS", default_value_t = defaults::SESSION_TTL_HOURS)]
    pub session_ttl_hours: u64,
    /// How long shutdown waits for in-flight requests, in seconds.
    #[arg(long, env = "PORTICO_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = defaults::SHUTDOWN_TIMEOUT_SECONDS)]
    pub shutdown_timeout_seconds: u64,
    /// The deployment's public URL, used in short links on the default domain
    /// (default: `http://` + the listening address).
    #[arg(long, env = "PORTICO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The domain links go on when none is named (default: the host of the public URL).
    #[arg(long, env = "PORTICO_DEFAULT_DOMAIN")]
    pub default_domain: Option<String>,
    /// Requests per minute for keys without their own `rate_limit_rpm`.
    #[arg(long, env = "PORTICO_DEFAULT_RATE_LIMIT_RPM", default_value_t = defaults::DEFAULT_RATE_LIMIT_RPM)]
    pub default_rate_limit_rpm: u32,
    /// Playground requests per minute per dashboard user (on top of the key's own limit).
    #[arg(long, env = "PORTICO_PLAYGROUND_RATE_LIMIT_RPM", default_value_t = defaults::PLAYGROUND_RATE_LIMIT_RPM)]
    pub playground_rate_limit_rpm: u32,
    /// `/v1` calls per calendar month for organisations without their own quota.
    #[arg(long, env = "PORTICO_MONTHLY_QUOTA", default_value_t = defaults::MONTHLY_QUOTA)]
    pub monthly_quota: u64,
    /// How many days request-log rows (and raw clicks) are kept.
    #[arg(long, env = "PORTICO_LOG_RETENTION_DAYS", default_value_t = defaults::LOG_RETENTION_DAYS)]
    pub log_retention_days: u64,
    /// How many days audit-log entries are kept.
    #[arg(long, env = "PORTICO_AUDIT_RETENTION_DAYS", default_value_t = defaults::AUDIT_RETENTION_DAYS)]
    pub audit_retention_days: u64,
    /// Proxies (comma-separated IPs or CIDRs) whose `X-Forwarded-For` is believed.
    #[arg(long, env = "PORTICO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Job workers (imports and other async work).
    #[arg(long, env = "PORTICO_JOB_WORKERS", default_value_t = defaults::JOB_WORKERS)]
    pub job_workers: usize,
    /// Seconds a worker's claim on a job lasts without progress before another may take it over.
    #[arg(long, env = "PORTICO_JOB_LEASE_SECONDS", default_value_t = defaults::JOB_LEASE_SECONDS)]
    pub job_lease_seconds: u64,
    /// For tests only: a pause between a job's batches, in milliseconds.
    #[arg(long, env = "PORTICO_JOB_BATCH_PAUSE_MS", default_value_t = 0, hide = true)]
    pub job_batch_pause_ms: u64,
    /// Delays between webhook attempts, e.g. `5s,5m,30m,2h` (default: 5s, 5m, 30m, 2h, 5h,
    /// 10h, 14h, 20h, 24h).
    #[arg(long, env = "PORTICO_WEBHOOK_RETRY_SCHEDULE")]
    pub webhook_retry_schedule: Option<String>,
    /// Allow webhooks to private, loopback and link-local addresses (development only).
    /// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` (any case).
    #[arg(long, env = "PORTICO_WEBHOOK_ALLOW_PRIVATE", num_args = 0..=1, require_equals = true, default_value_t = false,
        default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private: bool,
    /// How webhook hosts are resolved: `system` (the machine's resolver), or
    /// `static:name=address,…` — only `localhost` and the names listed resolve, every other
    /// name is refused without a lookup (tests and CI).
    #[arg(long, env = "PORTICO_RESOLVE", default_value = "system")]
    pub resolve: String,
    /// Disable an endpoint after this many deliveries in a row failed for good.
    #[arg(long, env = "PORTICO_WEBHOOK_DISABLE_AFTER", default_value_t = defaults::WEBHOOK_DISABLE_AFTER)]
    pub webhook_disable_after: u32,
    /// Password hashes (argon2id, 19 MiB each) computed at once (default: one per core).
    #[arg(long, env = "PORTICO_PASSWORD_HASHERS")]
    pub password_hashers: Option<usize>,
    /// Sign-ins and sign-ups that may wait for a free hasher; past it they get 503.
    #[arg(long, env = "PORTICO_PASSWORD_QUEUE", default_value_t = defaults::PASSWORD_QUEUE)]
    pub password_queue: usize,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "PORTICO_HEADER_READ_TIMEOUT_SECONDS", default_value_t = defaults::HEADER_READ_TIMEOUT_SECONDS)]
    pub header_read_timeout_seconds: u64,
    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, env = "PORTICO_IDLE_TIMEOUT_SECONDS", default_value_t = defaults::IDLE_TIMEOUT_SECONDS)]
    pub idle_timeout_seconds: u64,
    /// Seconds a request body may pause between two chunks.
    #[arg(long, env = "PORTICO_BODY_READ_TIMEOUT_SECONDS", default_value_t = defaults::BODY_READ_TIMEOUT_SECONDS)]
    pub body_read_timeout_seconds: u64,
    /// Connections served at once; past it new ones are answered 503 and closed.
    #[arg(long, env = "PORTICO_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Connections one client address (an IPv4 address, an IPv6 /64) may hold at once; past it
    /// its new ones are answered 503 and closed. 0: a quarter of the connection cap. Trusted
    /// proxies are exempt.
    #[arg(long, env = "PORTICO_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 0)]
    pub max_connections_per_address: usize,
    /// Seconds an answer may wait for a client that does not read it before the connection is
    /// closed.
    #[arg(long, env = "PORTICO_WRITE_TIMEOUT_SECONDS", default_value_t = defaults::WRITE_TIMEOUT_SECONDS)]
    pub write_timeout_seconds: u64,
    /// The slowest a request body may arrive, in bytes per second on average once its first
    /// `PORTICO_BODY_READ_TIMEOUT_SECONDS` have passed (0: no minimum).
    #[arg(long, env = "PORTICO_BODY_MIN_RATE", default_value_t = defaults::BODY_MIN_RATE)]
    pub body_min_rate: u32,
    /// How durable the request log is: `batched` (written every 100 ms; a hard kill loses at
    /// most the last 100 ms) or `strict` (a `/v1` answer leaves only once its log row is
    /// committed).
    #[arg(long, env = "PORTICO_METERING_DURABILITY", value_enum, default_value_t = crate::metering::Durability::Batched)]
    pub metering_durability: crate::metering::Durability,
    /// For `cargo xtask bench` only: also mount the link-read handler with no platform layer
    /// at `/bench/links/{id}?org=…`, the baseline the pipeline's cost is measured against.
    #[arg(long, hide = true)]
    pub bench_baseline: bool,
}

/// Which database to use.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// SQLite in the data directory (the embedded default), or at an explicit `sqlite:` URL.
    Sqlite { url: String },
    /// PostgreSQL at a `postgres://` URL.
    Postgres { url: String },
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite { url } => write!(f, "Sqlite({url})"),
            Self::Postgres { url } => write!(f, "Postgres({})", redact_url(url)),
        }
    }
}

/// The resolved settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port` as given; resolved when binding.
    pub addr: String,
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// The shared Redis (`None`: limits are per instance). Secret: it may hold a password.
    pub redis_url: Option<Secret<String>>,
    /// How long a call to Redis may take.
    pub redis_timeout: Duration,
    /// What every key in Redis starts with.
    pub redis_prefix: String,
    pub max_json_bytes: usize,
    pub session_ttl: Duration,
    pub shutdown_timeout: Duration,
    pub login_throttle: ThrottleConfig,
    /// Password hashes computed at once (each holds 19 MiB while it runs).
    pub password_hashers: usize,
    /// Sign-ins and sign-ups that may wait for a hasher; past it, 503 `unavailable`.
    pub password_queue: usize,
    /// Timeouts and the cap on connections.
    pub connections: ConnectionLimits,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The master key, from `PORTICO_MASTER_KEY`; `None`: `master.key` in the data directory.
    pub master_key: Option<Secret<String>>,
    /// How long a verified API key is cached (changes made elsewhere show within this).
    pub key_cache_ttl: Duration,
    /// How long a cached redirect target may lag changes made by other instances.
    pub redirect_cache_ttl: Duration,
    /// How often `last_used_at` stamps are written.
    pub last_used_flush: Duration,
    /// The public URL (`None`: `http://` + the bound address).
    pub public_url: Option<String>,
    /// The default link domain (`None`: the public URL's host).
    pub default_domain: Option<String>,
    /// How often queued clicks are written.
    pub click_flush: Duration,
    /// Requests per minute for keys without their own `rate_limit_rpm`.
    pub default_rate_limit_rpm: u32,
    /// Playground requests per minute per dashboard user.
    pub playground_rate_limit_rpm: u32,
    /// `/v1` calls per calendar month for organisations without their own quota.
    pub monthly_quota: u64,
    /// How long request-log rows (and raw clicks) are kept.
    pub request_log_retention: Duration,
    /// How long audit-log entries are kept.
    pub audit_retention: Duration,
    /// How often queued request-log entries are written (batched durability).
    pub request_log_flush: Duration,
    /// Batched or strict request-log durability.
    pub metering_durability: crate::metering::Durability,
    /// Mount the benchmark's baseline route (never in the spec, never by default).
    pub bench_baseline: bool,
    /// Job workers.
    pub job_workers: usize,
    /// How long a worker's claim on a job lasts without progress before another may take it.
    pub job_lease: Duration,
    /// A pause between a job's batches (tests use it to catch a job mid-way).
    pub job_batch_pause: Duration,
    /// Delays between webhook attempts; a delivery gives up after the last.
    pub webhook_retry_schedule: Vec<Duration>,
    /// Lift the SSRF guard (development and tests only).
    pub webhook_allow_private: bool,
    /// How webhook hosts' names are resolved.
    pub resolver: crate::webhooks::guard::Resolver,
    /// Disable an endpoint after this many deliveries in a row failed for good.
    pub webhook_disable_after: u32,
    /// How long a webhook attempt may take.
    pub webhook_timeout: Duration,
}

/// Limits on sign-in attempts: token buckets per client network (an IPv4 address or an IPv6
/// /64), per (email, network), and per email (see `accounts::throttle`).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Attempts (sign-ins and sign-ups) a network may make in a burst.
    pub per_ip_burst: u32,
    /// One more attempt from a network is allowed every this long.
    pub per_ip_refill: Duration,
    /// Sign-ins to one account from one network in a burst.
    pub per_account_network_burst: u32,
    /// One more such attempt is allowed every this long.
    pub per_account_network_refill: Duration,
    /// Sign-ins to one account from networks it has never signed in from, in a burst.
    pub per_account_burst: u32,
    /// One more such attempt is allowed every this long.
    pub per_account_refill: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            per_ip_burst: 30,
            per_ip_refill: Duration::from_secs(2),
            per_account_network_burst: 10,
            per_account_network_refill: Duration::from_secs(30),
            per_account_burst: 50,
            per_account_refill: Duration::from_secs(20),
        }
    }
}

/// Limits on connections, against clients that are slow or idle on purpose.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The longest a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// The longest a request body may pause between two chunks.
    pub body_read_timeout: Duration,
    /// The slowest a body may arrive, in bytes per second on average: its deadline is
    /// `body_read_timeout` after the request began, plus a second for every `body_min_rate`
    /// bytes received (0: none).
    pub body_min_rate: u32,
    /// How long a write may wait for a client that does not read.
    pub write_timeout: Duration,
    /// Connections served at once; past it new ones get 503 and are closed.
    pub max_connections: usize,
    /// Connections one address (an IPv4 address, an IPv6 /64) may hold at once; trusted
    /// proxies are exempt.
    pub max_connections_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(defaults::HEADER_READ_TIMEOUT_SECONDS),
            idle_timeout: Duration::from_secs(defaults::IDLE_TIMEOUT_SECONDS),
            body_read_timeout: Duration::from_secs(defaults::BODY_READ_TIMEOUT_SECONDS),
            body_min_rate: defaults::BODY_MIN_RATE,
            write_timeout: Duration::from_secs(defaults::WRITE_TIMEOUT_SECONDS),
            max_connections: defaults::MAX_CONNECTIONS,
            max_connections_per_address: defaults::MAX_CONNECTIONS / 4,
        }
    }
}

impl Config {
    /// Defaults for everything but where to listen and keep data.
    pub fn new(addr: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: addr.into(),
            data_dir: data_dir.into(),
            database_url: None,
            redis_url: None,
            redis_timeout: Duration::from_millis(defaults::REDIS_TIMEOUT_MS),
            redis_prefix: defaults::REDIS_PREFIX.to_owned(),
            max_json_bytes: defaults::MAX_JSON_BYTES,
            session_ttl: Duration::from_secs(defaults::SESSION_TTL_HOURS * 3600),
            shutdown_timeout: Duration::from_secs(defaults::SHUTDOWN_TIMEOUT_SECONDS),
            login_throttle: ThrottleConfig::default(),
            password_hashers: std::thread::available_parallelism().map_or(2, usize::from),
            password_queue: defaults::PASSWORD_QUEUE,
            connections: ConnectionLimits::default(),
            trusted_proxies: Vec::new(),
            master_key: None,
            key_cache_ttl: Duration::from_millis(defaults::CACHE_TTL_MS),
            redirect_cache_ttl: Duration::from_millis(defaults::CACHE_TTL_MS),
            last_used_flush: Duration::from_secs(2),
            public_url: None,
            default_domain: None,
            click_flush: Duration::from_millis(100),
            default_rate_limit_rpm: defaults::DEFAULT_RATE_LIMIT_RPM,
            playground_rate_limit_rpm: defaults::PLAYGROUND_RATE_LIMIT_RPM,
            monthly_quota: defaults::MONTHLY_QUOTA,
            request_log_retention: Duration::from_secs(defaults::LOG_RETENTION_DAYS * 24 * 3600),
            audit_retention: Duration::from_secs(defaults::AUDIT_RETENTION_DAYS * 24 * 3600),
            request_log_flush: Duration::from_millis(100),
            metering_durability: crate::metering::Durability::Batched,
            bench_baseline: false,
            job_workers: defaults::JOB_WORKERS,
            job_lease: Duration::from_secs(defaults::JOB_LEASE_SECONDS),
            job_batch_pause: Duration::ZERO,
            webhook_retry_schedule: [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400]
                .map(Duration::from_secs)
                .to_vec(),
            webhook_allow_private: false,
            resolver: crate::webhooks::guard::Resolver::System,
            webhook_disable_after: defaults::WEBHOOK_DISABLE_AFTER,
            webhook_timeout: Duration::from_secs(15),
        }
    }

    /// The settings from the command line and the environment; the error names the setting.
    pub fn from_args(args: ServeArgs) -> Result<Self, (&'static str, String)> {
        let mut trusted_proxies = Vec::with_capacity(args.trusted_proxies.len());
        for entry in args.trusted_proxies.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = crate::keys::types::parse_ip_entry(entry).ok_or_else(|| {
                (
                    "--trusted-proxies (PORTICO_TRUSTED_PROXIES)",
                    format!("{entry:?} is not an IP address or CIDR range"),
                )
            })?;
            trusted_proxies.push(net);
        }
        let master_key =
            std::env::var(crate::keys::master::ENV).ok().filter(|v| !v.trim().is_empty()).map(Secret::new);
        let webhook_retry_schedule =
            match args.webhook_retry_schedule.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(text) => crate::webhooks::deliver::parse_schedule(text)
                    .map_err(|m| ("--webhook-retry-schedule (PORTICO_WEBHOOK_RETRY_SCHEDULE)", m))?,
                None => Self::new("", "").webhook_retry_schedule,
            };
        let resolver = crate::webhooks::guard::Resolver::parse(&args.resolve)
            .map_err(|m| ("--resolve (PORTICO_RESOLVE)", m))?;
        Ok(Self {
            webhook_retry_schedule,
            resolver,
            public_url: args.public_url.filter(|u| !u.trim().is_empty()),
            default_domain: args.default_domain.filter(|d| !d.trim().is_empty()),
            trusted_proxies,
            master_key,
            default_rate_limit_rpm: args.default_rate_limit_rpm.max(1),
            playground_rate_limit_rpm: args.playground_rate_limit_rpm.max(1),
            monthly_quota: args.monthly_quota,
            bench_baseline: args.bench_baseline,
            job_workers: args.job_workers.max(1),
            job_lease: Duration::from_secs(args.job_lease_seconds.max(1)),
            job_batch_pause: Duration::from_millis(args.job_batch_pause_ms),
            webhook_allow_private: args.webhook_allow_private,
            webhook_disable_after: args.webhook_disable_after.max(1),
            request_log_retention: Duration::from_secs(
                args.log_retention_days.max(1).saturating_mul(24 * 3600),
            ),
            audit_retention: Duration::from_secs(args.audit_retention_days.max(1).saturating_mul(24 * 3600)),
            password_hashers: args
                .password_hashers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
                .max(1),
            password_queue: args.password_queue,
            metering_durability: args.metering_durability,
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds.max(1)),
                idle_timeout: Duration::from_secs(args.idle_timeout_seconds.max(1)),
                body_read_timeout: Duration::from_secs(args.body_read_timeout_seconds.max(1)),
                body_min_rate: args.body_min_rate,
                write_timeout: Duration::from_secs(args.write_timeout_seconds.max(1)),
                max_connections: args.max_connections.max(1),
                max_connections_per_address: match args.max_connections_per_address {
                    0 => (args.max_connections / 4).max(1),
                    n => n,
                },
            },
            database_url: args.database_url.filter(|u| !u.trim().is_empty()),
            redis_url: args.redis_url.filter(|u| !u.trim().is_empty()).map(Secret::new),
            redis_timeout: Duration::from_millis(args.redis_timeout_ms.max(1)),
            redis_prefix: args.redis_prefix,
            key_cache_ttl: Duration::from_millis(args.cache_ttl_ms.max(1)),
            redirect_cache_ttl: Duration::from_millis(args.cache_ttl_ms.max(1)),
            max_json_bytes: args.max_json_bytes,
            session_ttl: Duration::from_secs(args.session_ttl_hours.saturating_mul(3600)),
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout_seconds),
            ..Self::new(args.addr, args.data_dir)
        })
    }

    /// The database to use, or an error naming the setting.
    pub fn database(&self) -> Result<DatabaseTarget, String> {
        match self.database_url.as_deref() {
            None => {
                let path = self.data_dir.join("portico.db");
                Ok(DatabaseTarget::Sqlite { url: format!("sqlite://{}", path.display()) })
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(DatabaseTarget::Postgres { url: url.to_owned() })
            }
            Some(url) if url.starts_with("sqlite:") => Ok(DatabaseTarget::Sqlite { url: url.to_owned() }),
            Some(url) => Err(format!(
                "{:?} is not a database URL Portico understands (use postgres://… or sqlite:…)",
                redact_url(url)
            )),
        }
    }
}

/// A database URL with its password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_settings_take_the_usual_spellings() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(std::iter::once("portico").chain(args.iter().copied())).unwrap();
            cli.serve.webhook_allow_private
        };
        assert!(!parse(&[]));
        assert!(parse(&["--webhook-allow-private"]));
        for yes in ["true", "1", "yes", "on", "TRUE", "Y"] {
            assert!(parse(&[&format!("--webhook-allow-private={yes}")]), "{yes}");
        }
        for no in ["false", "0", "no", "off", "N"] {
            assert!(!parse(&[&format!("--webhook-allow-private={no}")]), "{no}");
        }
        assert!(Cli::try_parse_from(["portico", "--webhook-allow-private=perhaps"]).is_err());
    }

    #[test]
    fn database_urls_choose_the_backend() {
        let mut c = Config::new("127.0.0.1:0", "/tmp/x");
        assert!(
            matches!(c.database(), Ok(DatabaseTarget::Sqlite { url }) if url == "sqlite:///tmp/x/portico.db")
        );
        c.database_url = Some("postgres://u:p@localhost/db".into());
        assert!(matches!(c.database(), Ok(DatabaseTarget::Postgres { .. })));
        c.database_url = Some("mysql://u:hunter2@h/db".into());
        let err = c.database().unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://me:s3cret@db:5432/x"), "postgres://me:***@db:5432/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        let target = DatabaseTarget::Postgres { url: "postgres://me:s3cret@db/x".into() };
        assert!(!format!("{target:?}").contains("s3cret"));
    }
}
