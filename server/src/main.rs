//! `portico`: run the server.

use std::process::ExitCode;

use clap::Parser;
use portico::config::{Cli, Command, Config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = std::env::var("PORTICO_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    init_logging(json_logs);
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let config = match Config::from_args(args) {
            Ok(config) => config,
            Err((setting, message)) => {
                eprintln!("error: {setting}: {message}");
                return ExitCode::from(2);
            }
        };
        let server = match portico::server::start(config).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(e.exit_code());
            }
        };
        announce(&server, json_logs);
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init();
    } else {
        builder.compact().init();
    }
}

/// Tells a person where to go. (With JSON logs the same goes out as one log event, so that
/// stdout stays machine-readable.)
fn announce(server: &portico::RunningServer, json_logs: bool) {
    let base = server.base_url();
    let data_dir = server.state().config.data_dir.display().to_string();
    let backend = match server.state().db.backend() {
        portico::db::Backend::Sqlite => format!("SQLite in {data_dir}"),
        portico::db::Backend::Postgres => "PostgreSQL".to_owned(),
    };
    if json_logs {
        tracing::info!(url = %base, docs = %format!("{base}/docs/"), openapi = %format!("{base}/openapi.json"), %backend, "ready");
        return;
    }
    println!();
    println!("  Portico is running on {base}  ({backend})");
    println!();
    println!("  Dashboard     {base}/");
    println!("  Swagger UI    {base}/docs/");
    println!("  OpenAPI       {base}/openapi.json");
    println!("  Health        {base}/healthz   {base}/readyz   {base}/metrics");
    println!();
    println!("  Press Ctrl-C to stop.");
    println!();
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
