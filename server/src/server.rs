//! Starting and stopping the server: settings checked up front (a bad one is a one-line error
//! naming it), the database opened and migrated, the listener bound, background tasks
//! started; and on shutdown, in order: stop accepting, finish in-flight requests, stop the
//! background tasks (which flush what they buffer), close the database.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::accounts::{self, LoginThrottle};
use crate::batch::Intake;
use crate::cluster::{Invalidations, SharedRedis};
use crate::config::{Config, DatabaseTarget, redact_url};
use crate::db::Db;
use crate::http::observe::HttpMetrics;
use crate::http::serve::ConnectionMetrics;
use crate::keys::{MasterKey, Verifier};
use crate::links::PublicUrls;
use crate::links::clicks::{self, Click, ClickRecorder};
use crate::metering::{LogEntry, Quotas, RateLimits, RequestLog, request_log};
use crate::pipeline::RouteScopes;
use crate::state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is wrong: the message names it. Exit code 2.
    #[error("{setting}: {message}")]
    Setting { setting: &'static str, message: String },
    /// Something else failed (migrations, say). Exit code 1.
    #[error("{0}")]
    Other(String),
}

impl StartupError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Setting { .. } => 2,
            Self::Other(_) => 1,
        }
    }

    fn setting(setting: &'static str, message: impl Into<String>) -> Self {
        Self::Setting { setting, message: message.into() }
    }
}

const ADDR: &str = "--addr (PORTICO_ADDR)";
const DATA_DIR: &str = "--data-dir (PORTICO_DATA_DIR)";
const DATABASE_URL: &str = "--database-url (DATABASE_URL)";
const REDIS_URL: &str = "--redis-url (PORTICO_REDIS_URL)";

/// A started server.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    /// Stops accepting connections.
    stop_serving: CancellationToken,
    /// Stops the background tasks — only once no request can still hand them work.
    stop_background: CancellationToken,
    server: tokio::task::JoinHandle<()>,
    background: JoinSet<()>,
}

/// Starts the server: checks the settings, opens and migrates the database, binds, serves.
pub async fn start(config: Config) -> Result<RunningServer, StartupError> {
    start_with(config, |app| app).await
}

/// [`start`], with the application's router passed through `wrap` before it serves: for an
/// embedder's own layers, or a test suite's (the contract suite checks every answer against
/// the spec this way).
pub async fn start_with(
    config: Config,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Result<RunningServer, StartupError> {
    let target = config.database().map_err(|m| StartupError::setting(DATABASE_URL, m))?;
    let addr = resolve_addr(&config.addr).await?;
    prepare_data_dir(&config)?;

    let db = Db::connect(&target).await.map_err(|e| match &target {
        DatabaseTarget::Sqlite { url } => {
            StartupError::setting(DATA_DIR, format!("cannot open the SQLite database {url}: {e}"))
        }
        DatabaseTarget::Postgres { url } => {
            StartupError::setting(DATABASE_URL, format!("cannot connect to {}: {e}", redact_url(url)))
        }
    })?;
    db.migrate().await.map_err(|e| StartupError::Other(format!("database migration failed: {e}")))?;
    let master_key = load_master_key(&config, &db).await?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::setting(ADDR, format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| StartupError::Other(e.to_string()))?;
    let public = public_urls(&config, addr)?;
    let (state, intakes, connection_metrics) = build_state(config, db, master_key, public)?;

    let stop_serving = CancellationToken::new();
    let stop_background = CancellationToken::new();
    let app = wrap(crate::router::app(state.clone()));
    state.playground_app.set(app.clone());
    let mut limits = state.config.connections;
    limits.max_connections = crate::http::serve::fit_connection_cap(limits.max_connections);
    let server = tokio::spawn(crate::http::serve::serve(
        listener,
        app,
        limits,
        std::sync::Arc::from(state.config.trusted_proxies.as_slice()),
        connection_metrics,
        stop_serving.clone(),
    ));
    let background = spawn_background(&state, intakes, &stop_background);
    tracing::info!(%addr, backend = ?state.db.backend(), "portico is serving");
    Ok(RunningServer { addr, state, stop_serving, stop_background, server, background })
}

/// The receiving ends of the batch writers' queues, for their flushers.
struct Intakes {
    request_log: Intake<LogEntry>,
    clicks: Intake<Click>,
}

/// The application state — caches, limiters, the shared Redis, the invalidation broadcast,
/// the metrics registry, the documents rendered once — and the connection metrics the
/// listener reports to.
fn build_state(
    config: Config,
    db: Db,
    master_key: MasterKey,
    public: PublicUrls,
) -> Result<(AppState, Intakes, ConnectionMetrics), StartupError> {
    let (click_recorder, clicks) = ClickRecorder::new(65_536);

    let mut registry = Registry::default();
    let http_metrics = HttpMetrics::register(&mut registry);
    let connection_metrics = ConnectionMetrics::register(&mut registry);
    let hash_refusals = prometheus_client::metrics::counter::Counter::default();
    registry.register(
        "portico_password_hashes_refused",
        "Sign-ins and sign-ups answered 503 because every password hasher was busy",
        hash_refusals.clone(),
    );
    let (request_log, request_log_intake) = RequestLog::new(65_536, &mut registry);
    let redis = match &config.redis_url {
        Some(url) => Some(Arc::new(
            SharedRedis::new(url.expose(), &config.redis_prefix, config.redis_timeout, &mut registry)
                .map_err(|m| StartupError::setting(REDIS_URL, m))?,
        )),
        None => {
            if db.backend() == crate::db::Backend::Postgres {
                tracing::warn!(
                    "no --redis-url: rate limits, quotas and sign-in throttles are per instance; \
                     instances sharing this database each allow the full limit"
                );
            }
            None
        }
    };
    let keys = Arc::new(Verifier::new(db.clone(), 100_000, config.key_cache_ttl));
    let redirects = Arc::new(crate::links::RedirectCache::new(100_000, config.redirect_cache_ttl));
    let quotas = Arc::new(Quotas::new(db.clone(), config.monthly_quota).shared(redis.clone()));
    let invalidations = Arc::new(Invalidations::new(
        db.clone(),
        keys.clone(),
        redirects.clone(),
        quotas.clone(),
        &mut registry,
    ));
    let document = crate::openapi::document();
    let state = AppState::new(crate::state::AppParts {
        login_throttle: Arc::new(LoginThrottle::new(config.login_throttle).shared(redis.clone())),
        hashers: accounts::Hashers::start(config.password_hashers, config.password_queue, hash_refusals),
        keys,
        master_key: Arc::new(master_key),
        route_scopes: Arc::new(RouteScopes::from_document(&document)),
        route_roles: Arc::new(accounts::RouteRoles::from_document(&document)),
        public: Arc::new(public),
        rate_limits: Arc::new(RateLimits::new(config.default_rate_limit_rpm).shared(redis.clone())),
        playground_limits: Arc::new(
            RateLimits::for_subject(
                crate::metering::rate_limit::Subject::PlaygroundUser,
                config.playground_rate_limit_rpm,
            )
            .shared(redis.clone()),
        ),
        playground_app: Default::default(),
        quotas,
        request_log,
        jobs_wake: Arc::new(tokio::sync::Notify::new()),
        webhooks_wake: Arc::new(tokio::sync::Notify::new()),
        fanout_wake: Arc::new(tokio::sync::Notify::new()),
        clicks: click_recorder,
        redirects,
        redis,
        invalidations,
        config: Arc::new(config),
        db,
        http_metrics,
        metrics_registry: Arc::new(registry),
        documents: Arc::new(crate::documents::library(&document)),
    });
    Ok((state, Intakes { request_log: request_log_intake, clicks }, connection_metrics))
}

impl RunningServer {
    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The application state (tests use it to reach the database).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops gracefully: no new connections, in-flight requests finish (up to the shutdown
    /// timeout), background tasks stop and flush, the database closes.
    pub async fn shutdown(mut self) {
        self.stop_serving.cancel();
        let timeout = self.state.config.shutdown_timeout;
        match tokio::time::timeout(timeout, &mut self.server).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the server task failed"),
            Err(_) => {
                tracing::warn!(?timeout, "in-flight requests did not finish in time; stopping anyway");
                self.server.abort();
            }
        }
        // Every request has been answered: the flushers can now write what they hold, once
        // more, and stop.
        self.stop_background.cancel();
        while self.background.join_next().await.is_some() {}
        // The router holds the state that holds the router: break the cycle.
        self.state.playground_app.clear();
        self.state.db.close().await;
        tracing::info!("portico stopped");
    }
}

async fn resolve_addr(addr: &str) -> Result<SocketAddr, StartupError> {
    if let Ok(parsed) = addr.parse::<SocketAddr>() {
        return Ok(parsed);
    }
    let invalid = || {
        StartupError::setting(
            ADDR,
            format!("{addr:?} is not an address to listen on (expected host:port, e.g. 127.0.0.1:8080)"),
        )
    };
    if !addr.contains(':') {
        return Err(invalid());
    }
    match tokio::net::lookup_host(addr).await {
        Ok(mut addrs) => addrs.next().ok_or_else(invalid),
        Err(_) => Err(invalid()),
    }
}

const MASTER_KEY: &str = "PORTICO_MASTER_KEY";

/// The public base URL and the default link domain, from the settings or the bound address.
fn public_urls(config: &Config, addr: SocketAddr) -> Result<PublicUrls, StartupError> {
    const PUBLIC_URL: &str = "--public-url (PORTICO_PUBLIC_URL)";
    const DEFAULT_DOMAIN: &str = "--default-domain (PORTICO_DEFAULT_DOMAIN)";
    let base_url = match &config.public_url {
        Some(text) => {
            let parsed = url::Url::parse(text.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    StartupError::setting(PUBLIC_URL, format!("{text:?} is not an http(s) URL"))
                })?;
            parsed.as_str().trim_end_matches('/').to_owned()
        }
        None => format!("http://{addr}"),
    };
    let default_domain = match &config.default_domain {
        Some(name) => crate::hostname::normalize(name)
            .map_err(|m| StartupError::setting(DEFAULT_DOMAIN, format!("{name:?} {m}")))?,
        None => url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()))
            .unwrap_or_else(|| addr.ip().to_string()),
    };
    Ok(PublicUrls { base_url, default_domain })
}

/// Loads the master key (from the environment, or the data directory's `master.key`,
/// generated on first start) and makes sure it opens the keys already stored.
async fn load_master_key(config: &Config, db: &Db) -> Result<MasterKey, StartupError> {
    let sealed = crate::keys::store::sealing_keys(db)
        .await
        .map_err(|e| StartupError::Other(format!("cannot read the stored API keys: {e}")))?;
    let (master_key, setting) = match &config.master_key {
        Some(text) => (
            MasterKey::from_base64(text).map_err(|e| StartupError::setting(MASTER_KEY, e.to_string()))?,
            MASTER_KEY,
        ),
        None => {
            let (key, generated) = MasterKey::load_or_generate(&config.data_dir, sealed.is_empty())
                .map_err(|e| StartupError::setting(DATA_DIR, e.to_string()))?;
            if generated {
                tracing::info!(master_key_id = key.id(), "generated a master key in the data directory");
            }
            (key, DATA_DIR)
        }
    };
    for (id, sample) in sealed {
        if id != master_key.id() || master_key.unseal(&sample).is_none() {
            return Err(StartupError::setting(
                setting,
                format!(
                    "the master key ({}) cannot open the stored API keys (sealed with {id}); \
                     configure the master key they were sealed with",
                    master_key.id()
                ),
            ));
        }
    }
    Ok(master_key)
}

fn prepare_data_dir(config: &Config) -> Result<(), StartupError> {
    let dir = &config.data_dir;
    let fail = |what: &str, e: std::io::Error| {
        StartupError::setting(DATA_DIR, format!("{what} {}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot create", e))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(|e| fail("cannot write to", e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Every background task; each stops when `shutdown` is cancelled (the flushers after writing
/// what they hold): the batch writers, the job workers, the webhook fan-out and senders, the
/// Redis probe, the invalidation listener, and periodic housekeeping.
fn spawn_background(state: &AppState, intakes: Intakes, shutdown: &CancellationToken) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(request_log::run_flusher(
        state.db.clone(),
        intakes.request_log,
        state.config.metering_durability,
        state.config.request_log_flush,
        shutdown.clone(),
    ));
    for _ in 0..state.config.job_workers {
        tasks.spawn(crate::jobs::worker::run(state.clone(), state.jobs_wake.clone(), shutdown.clone()));
    }
    tasks.spawn(crate::webhooks::deliver::run_fanout(
        state.db.clone(),
        state.fanout_wake.clone(),
        state.webhooks_wake.clone(),
        shutdown.clone(),
    ));
    for _ in 0..crate::webhooks::deliver::SENDERS {
        tasks.spawn(crate::webhooks::deliver::run_sender(
            state.clone(),
            state.webhooks_wake.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(redis) = state.redis.clone() {
        let stop = shutdown.clone();
        tasks.spawn(async move { redis.watch(stop).await });
    }
    tasks.spawn(state.invalidations.clone().listen(shutdown.clone()));
    tasks.spawn(clicks::run_flusher(
        state.db.clone(),
        intakes.clicks,
        state.config.click_flush,
        shutdown.clone(),
    ));

    spawn_housekeeping(&mut tasks, state, shutdown);
    tasks
}

/// Periodic housekeeping: last-used stamps, idle throttle entries, retention purges.
fn spawn_housekeeping(tasks: &mut JoinSet<()>, state: &AppState, shutdown: &CancellationToken) {
    // `last_used_at` stamps: written every few seconds and once more on the way out.
    let keys = state.keys.clone();
    let flush_every = state.config.last_used_flush;
    tasks.spawn(every(flush_every, shutdown.clone(), Finally::RunOnceMore, move || {
        let keys = keys.clone();
        async move {
            if let Err(e) = keys.flush_last_used().await {
                tracing::warn!(error = %e, "writing last-used stamps failed; will retry");
            }
        }
    }));

    let throttle = state.login_throttle.clone();
    tasks.spawn(every(Duration::from_secs(60), shutdown.clone(), Finally::Stop, move || {
        let throttle = throttle.clone();
        async move { throttle.forget_idle() }
    }));

    let db = state.db.clone();
    let log_db = state.db.clone();
    let retention = chrono::TimeDelta::from_std(state.config.request_log_retention)
        .unwrap_or(chrono::TimeDelta::days(30));
    tasks.spawn(every(Duration::from_secs(3600), shutdown.clone(), Finally::Stop, move || {
        let db = log_db.clone();
        async move {
            match request_log::purge(&db, db.now() - retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "purged request-log rows past retention"),
                Err(e) => tracing::warn!(error = %e, "purging the request log failed; will retry"),
            }
        }
    }));

    let audit_db = state.db.clone();
    let audit_retention =
        chrono::TimeDelta::from_std(state.config.audit_retention).unwrap_or(chrono::TimeDelta::days(365));
    tasks.spawn(every(Duration::from_secs(3600), shutdown.clone(), Finally::Stop, move || {
        let db = audit_db.clone();
        async move {
            match crate::audit::store::purge(&db, db.now() - audit_retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "purged audit-log entries past retention"),
                Err(e) => tracing::warn!(error = %e, "purging the audit log failed; will retry"),
            }
        }
    }));

    tasks.spawn(every(Duration::from_secs(3600), shutdown.clone(), Finally::Stop, move || {
        let db = db.clone();
        async move {
            // Ended and expired sessions are kept a day for investigation, then deleted.
            match accounts::purge_sessions(&db, chrono::TimeDelta::days(1)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "purged ended sessions"),
                Err(e) => tracing::warn!(error = %e, "purging sessions failed; will retry"),
            }
            // Rows of uploads that a crash cut off before their job was queued.
            let before = db.now() - chrono::TimeDelta::hours(1);
            match crate::links::import::store::purge_orphan_chunks(&db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(chunks = n, "purged the rows of unfinished uploads"),
                Err(e) => tracing::warn!(error = %e, "purging unfinished uploads failed; will retry"),
            }
        }
    }));
}

/// What a periodic task does when the server stops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finally {
    /// Nothing: housekeeping that can wait for the next start.
    Stop,
    /// Run once more: flushers, so that nothing buffered is lost.
    RunOnceMore,
}

async fn every<F, Fut>(period: Duration, shutdown: CancellationToken, finally: Finally, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => task().await,
        }
    }
    if finally == Finally::RunOnceMore {
        task().await;
    }
}
