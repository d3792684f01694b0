//! The `portico` binary: bad settings end with a one-line error naming the setting and exit
//! code 2; SIGTERM stops it gracefully with exit code 0; JSON logs are JSON; secrets stay out
//! of the logs. Plus graceful shutdown of the in-process server with a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{Backend, PASSWORD, TestServer};

fn portico() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
    for var in ["PORTICO_ADDR", "PORTICO_DATA_DIR", "DATABASE_URL", "PORTICO_LOG", "RUST_LOG"] {
        command.env_remove(var);
    }
    // Tests never ask DNS about a name that is not on this machine.
    command.env("PORTICO_RESOLVE", crate::support::RESOLVE);
    command
}

/// Runs the binary to completion (it should fail fast) and returns (exit code, stderr).
fn run_failing(args: &[&str]) -> (i32, String) {
    let output = portico().args(args).output().expect("the binary runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn assert_one_line_naming(stderr: &str, setting: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(setting), "the error names {setting}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unparseable_address_exits_2_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) =
        run_failing(&["--addr", "not an address", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_one_line_naming(&stderr, "--addr");
}

#[test]
fn an_unwritable_data_dir_exits_2_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let inside_a_file = file.join("data");
    let (code, stderr) =
        run_failing(&["serve", "--addr", "127.0.0.1:0", "--data-dir", inside_a_file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_one_line_naming(&stderr, "--data-dir");
}

#[test]
fn an_unreachable_database_exits_2_without_printing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_failing(&[
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--database-url",
        "postgres://portico:hunter2secret@127.0.0.1:1/portico",
    ]);
    assert_eq!(code, 2);
    assert_one_line_naming(&stderr, "--database-url");
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
}

#[test]
fn an_unknown_database_scheme_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico()
        .args(["--addr", "127.0.0.1:0", "--data-dir", dir.path().to_str().unwrap()])
        .env("DATABASE_URL", "mysql://root:pw@localhost/db")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_one_line_naming(&String::from_utf8_lossy(&output.stderr), "DATABASE_URL");
}

#[test]
fn sigterm_stops_the_server_gracefully_and_logs_are_json_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = portico()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir.to_str().unwrap()])
        .env("PORTICO_LOG", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // With JSON logs, the start-up announcement is a log event carrying the URL.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let base = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited early: {seen}");
        seen.push_str(&line);
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if let Some(url) = event["url"].as_str() {
            break url.to_owned();
        }
    };
    assert!(data_dir.join("portico.db").exists(), "the SQLite database is in the data directory");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, keys) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let signup = client
            .post(format!("{base}/api/developer/signup"))
            .json(&json!({"email": "logs@example.com", "password": PASSWORD, "organization_name": "Logs"}))
            .send()
            .await
            .unwrap();
        assert_eq!(signup.status(), 201);
        let body: serde_json::Value = signup.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_owned();
        // Mint a key, use it (right and wrong), rotate it, use the new one.
        let created: serde_json::Value = client
            .post(format!("{base}/api/developer/apikeys"))
            .bearer_auth(&token)
            .json(&json!({"name": "scan me", "scopes": ["keys:read"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = created["key"].as_str().unwrap().to_owned();
        let id = created["id"].as_str().unwrap();
        for presented in [key.as_str(), &key[..52]] {
            client.get(format!("{base}/v1/key")).bearer_auth(presented).send().await.unwrap();
        }
        let rotated: serde_json::Value = client
            .post(format!("{base}/api/developer/apikeys/{id}/rotate"))
            .bearer_auth(&token)
            .json(&json!({"grace_period_seconds": 60}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let new_key = rotated["key"].as_str().unwrap().to_owned();
        let me = client.get(format!("{base}/v1/key")).header("x-api-key", &new_key).send().await.unwrap();
        assert_eq!(me.status(), 200);
        (token, [key, new_key])
    });

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert_eq!(exit, Some(0), "exit code after SIGTERM");

    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let logs = seen + &rest;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let _: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
    }
    assert!(logs.contains("portico stopped"));
    assert!(!logs.contains(PASSWORD), "the password is not logged");
    assert!(!logs.contains(&token) && !logs.contains(&token[4..]), "the session token is not logged");
    // No API key, nor its secret part, in the logs or anywhere in the data directory.
    let mut stored = String::new();
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        stored.push_str(&String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()));
    }
    for key in &keys {
        let secret_part = &key[12..];
        assert!(!logs.contains(secret_part), "an API key is in the logs");
        assert!(!stored.contains(secret_part), "an API key is in the data directory in clear");
    }
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(stdout.trim().is_empty(), "with JSON logs stdout stays clean: {stdout}");
}

fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the server did not stop within {timeout:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_request_finishes_during_graceful_shutdown() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let addr = s.server().local_addr();
    let body =
        json!({"email": "late@example.com", "password": PASSWORD, "organization_name": "Late"}).to_string();
    let (head, tail) = body.split_at(10);
    let (head, tail) = (head.to_owned(), tail.to_owned());

    // Send the headers and part of the body: the request is now in flight.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/developer/signup HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Begin shutting down, then finish the request.
    let shutdown = tokio::spawn(s.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the in-flight request");
    let response = tokio::task::spawn_blocking(move || {
        stream.write_all(tail.as_bytes()).unwrap();
        let mut response = String::new();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = stream.read_to_string(&mut response);
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    tokio::time::timeout(Duration::from_secs(20), shutdown).await.unwrap().unwrap();
}
