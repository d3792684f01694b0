//! Async jobs: CSV link imports answered 202, polled to the end, exact counts and row errors,
//! idempotent uploads, the upload's errors, and tenancy.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    an_import_creates_the_good_rows_and_reports_the_bad,
    an_import_respects_the_keys_domain_scope,
    uploads_that_are_not_csv_files_are_refused,
    a_retried_upload_with_an_idempotency_key_starts_one_job,
    jobs_are_listed_and_private_to_their_organization,
    a_large_import_is_stored_in_chunks_that_go_when_the_job_ends,
    a_job_queued_before_imports_were_chunked_still_runs,
);

// Slow batches, so that a job outlives its lease while the test moves the clock.
mod slow {
    use super::*;
    storage_tests_with!(
        |config| config.job_batch_pause = std::time::Duration::from_millis(60);
        an_import_that_outlives_its_lease_many_times_finishes_once_with_every_row,
        an_import_whose_stored_rows_vanish_fails_instead_of_succeeding,
    );
}

/// Runs a `SELECT COUNT(*)`-style query on the test server's database.
async fn count(s: &TestServer, sql: &'static str) -> i64 {
    s.count(sql, &[]).await
}

/// 2,500 rows span three stored chunks; rows keep their line numbers across chunk
/// boundaries, and the chunks are deleted when the job ends.
async fn a_large_import_is_stored_in_chunks_that_go_when_the_job_ends(s: &TestServer) {
    let (_, key, _) = s.org_with_key("chunks@example.com", &["full_access"]).await;
    let mut csv = String::from("slug,url\n");
    for i in 0..2500 {
        // Rows on lines 1001 and 2002 (the 1,000th and 2,001st data rows) are invalid.
        let url =
            if i == 999 || i == 2000 { "not a url".to_owned() } else { format!("https://example.com/{i}") };
        csv.push_str(&format!("big-{i},{url}\n"));
    }
    let accepted = upload(s, &key, &csv).await;
    let job = finished(s, &key, accepted["poll_url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["created"], 2498);
    assert_eq!(job["result"]["skipped"], 2);
    let rows: Vec<u64> =
        job["result"]["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [1001, 2002]);
    let links: Value =
        s.v1(Method::GET, "/v1/links?search=big-2499", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(links["data"][0]["url"], "https://example.com/2499");
    assert_eq!(count(s, "SELECT COUNT(*) FROM job_chunks").await, 0, "the rows are spent");
}

/// A job stored with its whole file in `input` (as before imports were chunked) still runs.
async fn a_job_queued_before_imports_were_chunked_still_runs(s: &TestServer) {
    let (token, key, key_id) = s.org_with_key("legacy@example.com", &["full_access"]).await;
    let me: Value = s.get_with_token("/api/developer/me", &token).await.json().await.unwrap();
    let organization_id = me["organization"]["id"].as_str().unwrap().to_owned();
    let id = "job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N";
    const SQL: &str = "INSERT INTO jobs (id, organization_id, key_id, kind, status, progress, input, domain_scope, \
         checkpoint, result, attempts, created_at) VALUES ($1, $2, $3, 'link_import', 'queued', 0, $4, '[]', 0, NULL, 0, $5)";
    let file = b"url,slug\nhttps://example.com/old,old-style\nnope,bad\n".to_vec();
    let at = chrono::Utc::now();
    match s.server().state().db.pool() {
        portico::db::Pool::Sqlite(pool) => {
            let q = sqlx::query(SQL).bind(id).bind(&organization_id).bind(&key_id).bind(&file).bind(at);
            q.execute(pool).await.map(drop)
        }
        portico::db::Pool::Postgres(pool) => {
            let q = sqlx::query(SQL).bind(id).bind(&organization_id).bind(&key_id).bind(&file).bind(at);
            q.execute(pool).await.map(drop)
        }
    }
    .unwrap();
    let job = finished(s, &key, &format!("/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["created"], 1);
    assert_eq!(job["result"]["errors"][0]["row"], 3);
}

fn csv_form(csv: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(csv.as_bytes().to_vec()).file_name("links.csv").mime_str("text/csv").unwrap(),
    )
}

pub async fn upload(s: &TestServer, key: &str, csv: &str) -> Value {
    let response = s.v1(Method::POST, "/v1/links/import", key).multipart(csv_form(csv)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["poll_url"], location);
    assert!(accepted["id"].as_str().unwrap().starts_with("job_"));
    accepted
}

/// Polls a job until it ends.
pub async fn finished(s: &TestServer, key: &str, poll_url: &str) -> Value {
    for _ in 0..200 {
        let job: Value = s.v1(Method::GET, poll_url, key).send().await.unwrap().json().await.unwrap();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job at {poll_url} did not finish");
}

async fn an_import_creates_the_good_rows_and_reports_the_bad(s: &TestServer) {
    let (_, key, _) = s.org_with_key("import@example.com", &["full_access"]).await;
    let existing = s
        .v1(Method::POST, "/v1/links", &key)
        .json(&json!({"url": "https://example.com", "slug": "taken"}))
        .send()
        .await
        .unwrap();
    assert_eq!(existing.status(), StatusCode::CREATED);
    let csv = "url,slug,domain,title,tags\n\
               https://example.com/a,alpha,,Alpha,one;two\n\
               ftp://example.com/b,beta,,,\n\
               https://example.com/c,,,Gamma,\n\
               https://example.com/d,has space,,,\n\
               https://example.com/e,taken,,,\n\
               https://example.com/f,foxtrot,unregistered.example.com,,\n\
               https://example.com/g,golf,,,\n";
    let accepted = upload(s, &key, csv).await;
    let job = finished(s, &key, accepted["poll_url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "link_import");
    assert_eq!(job["progress"], 100);
    assert!(job["started_at"].is_string() && job["finished_at"].is_string());
    assert_eq!(job["result"]["created"], 3);
    assert_eq!(job["result"]["skipped"], 4);
    let errors: Vec<(u64, &str)> = job["result"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "url"), (5, "slug"), (6, "slug"), (7, "domain")]);

    let links: Value =
        s.v1(Method::GET, "/v1/links?limit=100", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(links["total"], 4, "the 3 imported and the one that was there");
    let alpha = links["data"].as_array().unwrap().iter().find(|l| l["slug"] == "alpha").unwrap();
    assert_eq!(alpha["title"], "Alpha");
    assert_eq!(alpha["tags"], json!(["one", "two"]));
    assert_eq!(s.get("/r/golf").await.status(), StatusCode::FOUND);

    // A file without a url column fails the job, with the reason.
    let accepted = upload(s, &key, "link,slug\nhttps://example.com,x\n").await;
    let job = finished(s, &key, accepted["poll_url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("url"));
}

async fn an_import_respects_the_keys_domain_scope(s: &TestServer) {
    let (token, full, _) = s.org_with_key("import-scope@example.com", &["full_access"]).await;
    for host in ["a.example.com", "b.example.com"] {
        let response =
            s.v1(Method::POST, "/v1/domains", &full).json(&json!({"hostname": host})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let scoped = s
        .create_key(
            &token,
            json!({"name": "a", "scopes": ["links:write", "jobs:read"], "domains": ["a.example.com"]}),
        )
        .await;
    let scoped = scoped["key"].as_str().unwrap();
    let csv = "url,domain\nhttps://example.com/1,a.example.com\nhttps://example.com/2,b.example.com\nhttps://example.com/3,\n";
    let accepted = upload(s, scoped, csv).await;
    let job = finished(s, scoped, accepted["poll_url"].as_str().unwrap()).await;
    assert_eq!(job["result"]["created"], 1);
    assert_eq!(job["result"]["skipped"], 2);
    let rows: Vec<u64> =
        job["result"]["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [3, 4]);
}

async fn uploads_that_are_not_csv_files_are_refused(s: &TestServer) {
    let (_, key, _) = s.org_with_key("upload-errors@example.com", &["full_access"]).await;
    let json_body = s
        .v1(Method::POST, "/v1/links/import", &key)
        .json(&json!({"file": "url\nhttps://x.io"}))
        .send()
        .await
        .unwrap();
    assert_problem(json_body, 415, "unsupported_media_type").await;
    let no_file = s
        .v1(Method::POST, "/v1/links/import", &key)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(no_file, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "other", "a part that is not the file is refused, not ignored");
    let empty = s
        .v1(Method::POST, "/v1/links/import", &key)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(empty, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "file");
    let big = "url\n".to_owned()
        + &"https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n".repeat(260_000);
    let too_big =
        s.v1(Method::POST, "/v1/links/import", &key).multipart(csv_form(&big)).send().await.unwrap();
    assert_problem(too_big, 413, "payload_too_large").await;
    let (_, reader, _) = s.org_with_key("upload-reader@example.com", &["links:read"]).await;
    let refused = s
        .v1(Method::POST, "/v1/links/import", &reader)
        .multipart(csv_form("url\nhttps://x.io\n"))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, "insufficient_scope").await;
}

async fn a_retried_upload_with_an_idempotency_key_starts_one_job(s: &TestServer) {
    let (_, key, _) = s.org_with_key("import-idem@example.com", &["full_access"]).await;
    let csv = "url\nhttps://example.com/once\n";
    let send = || {
        s.v1(Method::POST, "/v1/links/import", &key)
            .header("idempotency-key", "upload-1")
            .multipart(csv_form(csv))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    // reqwest draws a new multipart boundary for every request: the same upload still matches.
    let second = send().await.unwrap();
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap()["id"], first["id"]);
    finished(s, &key, first["poll_url"].as_str().unwrap()).await;
    let links: Value = s.v1(Method::GET, "/v1/links", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(links["total"], 1);
}

async fn jobs_are_listed_and_private_to_their_organization(s: &TestServer) {
    let (_, key, _) = s.org_with_key("jobs-a@example.com", &["full_access"]).await;
    let first = upload(s, &key, "url\nhttps://example.com/1\n").await;
    let second = upload(s, &key, "url\nhttps://example.com/2\n").await;
    let list: Value = s.v1(Method::GET, "/v1/jobs", &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["data"][0]["id"], second["id"], "newest first");
    assert_problem(
        s.v1(Method::GET, "/v1/jobs?limit=0", &key).send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;

    let (_, other, _) = s.org_with_key("jobs-b@example.com", &["full_access"]).await;
    let path = first["poll_url"].as_str().unwrap();
    assert_problem(s.v1(Method::GET, path, &other).send().await.unwrap(), 404, "not_found").await;
    assert_problem(s.v1(Method::GET, "/v1/jobs/job_nope", &other).send().await.unwrap(), 404, "not_found")
        .await;
    let theirs: Value = s.v1(Method::GET, "/v1/jobs", &other).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["total"], 0);
}

/// Uploads a CSV of `header` and `rows` to a hand-started server; returns the job's poll URL.
async fn upload_rows(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    header: &str,
    rows: &[String],
) -> String {
    let csv = std::iter::once(header.to_owned()).chain(rows.iter().cloned()).collect::<Vec<_>>().join("\n");
    let form = Form::new().part("file", Part::bytes(csv.into_bytes()).file_name("links.csv"));
    let response =
        client.post(format!("{base}/v1/links/import")).bearer_auth(key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    accepted["poll_url"].as_str().unwrap().to_owned()
}

/// The binary with a short job lease and a pause between import batches.
fn start_binary(data_dir: &std::path::Path, database_url: Option<&str>) -> (std::process::Child, String) {
    crate::support::start_binary(
        data_dir,
        &[
            ("PORTICO_JOB_LEASE_SECONDS", "1"),
            ("PORTICO_JOB_BATCH_PAUSE_MS", "100"),
            ("DATABASE_URL", database_url.unwrap_or_default()),
        ],
    )
}

/// Kill -9 mid-import, restart: the job completes, and no row is imported twice.
async fn an_import_survives_a_hard_kill(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, base) = start_binary(dir.path(), database_url.as_deref());
    let client = reqwest::Client::new();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "crash@example.com", &["full_access"]).await;
    let rows = 2000;
    let lines: Vec<String> = (0..rows).map(|i| format!("https://example.com/{i},row-{i}")).collect();
    let poll_url = upload_rows(&client, &base, &key, "url,slug", &lines).await;
    // Wait until it is part-way, then kill the process without warning.
    loop {
        let job: Value = crate::support::get_json(&client, format!("{base}{poll_url}"), &key).await;
        let progress = job["progress"].as_i64().unwrap();
        assert_ne!(job["status"], "succeeded", "the import finished before it could be interrupted");
        if progress >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, base) = start_binary(dir.path(), database_url.as_deref());
    let mut job = Value::Null;
    for _ in 0..300 {
        job = crate::support::get_json(&client, format!("{base}{poll_url}"), &key).await;
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["created"], rows);
    assert_eq!(job["result"]["skipped"], 0);
    let links: Value = crate::support::get_json(&client, format!("{base}/v1/links?limit=1"), &key).await;
    assert_eq!(links["total"], rows, "every row exactly once");
    let _ = std::process::Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_import_survives_a_hard_kill_and_restart() {
    an_import_survives_a_hard_kill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_import_survives_a_hard_kill_and_restart() {
    if let Some(url) = crate::support::fresh_postgres_database().await {
        an_import_survives_a_hard_kill(Some(url)).await;
    }
}

/// A graceful stop mid-import hands the job back to the queue; the next start finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_interrupted_by_a_graceful_stop_resumes_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = portico::Config::new("127.0.0.1:0", dir.path());
        config.job_batch_pause = Duration::from_millis(100);
        config
    };
    let server = portico::server::start(config()).await.unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let (_, key) =
        crate::support::account_with_key(&client, &base, "graceful@example.com", &["full_access"]).await;
    let lines: Vec<String> = (0..1000).map(|i| format!("https://example.com/{i}")).collect();
    let poll_url = upload_rows(&client, &base, &key, "url", &lines).await;
    loop {
        let job: Value = crate::support::get_json(&client, format!("{base}{poll_url}"), &key).await;
        if job["progress"].as_i64().unwrap() >= 20 {
            assert_eq!(job["status"], "running");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown().await;

    let server = portico::server::start(config()).await.unwrap();
    let base = server.base_url();
    let mut job = Value::Null;
    for _ in 0..300 {
        job = crate::support::get_json(&client, format!("{base}{poll_url}"), &key).await;
        if job["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["created"], 1000);
    let links: Value = crate::support::get_json(&client, format!("{base}/v1/links?limit=1"), &key).await;
    assert_eq!(links["total"], 1000);
    server.shutdown().await;
}

/// A CSV of `n` valid rows, slugs `{prefix}-0…`.
pub fn rows_csv(prefix: &str, n: usize) -> String {
    let mut csv = String::from("slug,url\n");
    for i in 0..n {
        csv.push_str(&format!("{prefix}-{i},https://example.com/{i}\n"));
    }
    csv
}

/// The job's `job.succeeded` and `job.failed` events.
async fn job_events(s: &TestServer, job_id: &str) -> i64 {
    let pattern = format!("%{job_id}%");
    s.count(
        "SELECT COUNT(*) FROM events WHERE type IN ('job.succeeded', 'job.failed') AND data LIKE $1",
        &[&pattern],
    )
    .await
}

/// The clock jumps past the lease again and again while an import runs (as if its worker
/// stalled each time): the other worker takes it over, the holder's next write is refused,
/// and each committed batch renews the lease. A takeover after progress is no failed
/// attempt, so the job is never given up; it ends once, with every row, one event.
async fn an_import_that_outlives_its_lease_many_times_finishes_once_with_every_row(s: &TestServer) {
    let (_, key, _) = s.org_with_key("lease@example.com", &["full_access"]).await;
    let accepted = upload(s, &key, &rows_csv("lease", 5000)).await;
    let poll_url = accepted["poll_url"].as_str().unwrap();
    let lease = Duration::from_secs(31);
    let mut jumps = 0;
    let job = loop {
        let job: Value = s.v1(Method::GET, poll_url, &key).send().await.unwrap().json().await.unwrap();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        assert!(jumps < 400, "the import did not end: {job}");
        s.advance_clock(lease);
        jumps += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert!(jumps >= 6, "the job ran through {jumps} lease expiries (at least 6 wanted)");
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], 100);
    assert_eq!(job["result"]["created"], 5000, "{job}");
    assert_eq!(job["result"]["skipped"], 0, "{job}");
    assert_eq!(job["result"]["errors"], json!([]));
    assert_eq!(count(s, "SELECT COUNT(*) FROM links WHERE slug LIKE 'lease-%'").await, 5000);
    let id = accepted["id"].as_str().unwrap();
    // The superseded workers have long stopped: give any late write a moment to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job_events(s, id).await, 1, "exactly one job event");
    let again: Value = s.v1(Method::GET, poll_url, &key).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["status"], "succeeded", "a terminal status never changes");
    assert_eq!(again["finished_at"], job["finished_at"]);
}

/// Rows the job has not reached are deleted under it: the job fails and says which rows are
/// missing — never `succeeded` with rows silently dropped.
async fn an_import_whose_stored_rows_vanish_fails_instead_of_succeeding(s: &TestServer) {
    let (_, key, _) = s.org_with_key("vanish@example.com", &["full_access"]).await;
    let accepted = upload(s, &key, &rows_csv("vanish", 3000)).await;
    let id = accepted["id"].as_str().unwrap();
    // The third chunk (rows 2001–3000) goes before the job reaches it (60 ms a batch).
    assert_eq!(s.execute("DELETE FROM job_chunks WHERE job_id = $1 AND seq = 2", &[id]).await, 1);
    let job = finished(s, &key, accepted["poll_url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("rows 2001–2100 are missing"), "{error}");
    assert_eq!(job["result"]["created"], 2000, "{job}");
    assert_eq!(job_events(s, id).await, 1);
}
