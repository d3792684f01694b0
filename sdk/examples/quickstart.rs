//! Quickstart: sign up, create an API key, create and list links, import a CSV and follow the
//! job — against a running server.
//!
//! ```text
//! cargo run --release                                    # in one terminal: the server
//! cargo run -p portico-sdk --example quickstart          # in another
//! PORTICO_URL=https://links.example.com cargo run -p portico-sdk --example quickstart
//! ```

use std::time::Duration;

use portico_sdk::types::{self, JobStatus, Scope};
use portico_sdk::{Client, Error, retry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base_url = std::env::var("PORTICO_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());

    // 1. Sign up: a user, their organisation, and a dashboard session.
    let email = format!("quickstart-{}@example.com", chrono::Utc::now().timestamp_millis());
    let session = Client::anonymous(&base_url)?
        .account_signup()
        .body(
            types::SignupRequest::builder()
                .email(email.clone())
                .password("correct horse battery staple")
                .organization_name("Quickstart".to_owned()),
        )
        .send()
        .await?
        .into_inner();
    println!("signed up as {email} in {}", session.organization.name);

    // 2. An API key, through the dashboard routes. The key is shown this once.
    let dashboard = Client::with_session_token(&base_url, &session.token)?;
    let created = dashboard
        .apikey_create()
        .body(types::CreateApiKeyRequest::builder().name("quickstart").scopes(vec![Scope::FullAccess]))
        .send()
        .await?
        .into_inner();
    println!("created key {} ({}…)", created.id, created.prefix);

    // 3. Links, with the key. The POST is retried safely under one idempotency key.
    let api = Client::with_api_key(&base_url, &created.key)?;
    let link = retry::idempotent(retry::Policy::default(), |key| {
        api.link_create()
            .idempotency_key(key)
            .body(types::CreateLinkRequest::builder().url("https://example.com/launch").title(
                "Launch".parse::<types::CreateLinkRequestTitle>().expect("a title of at most 200 characters"),
            ))
            .send()
    })
    .await?
    .into_inner();
    println!("created {} → {}", link.short_url, link.url);

    let links = api.link_list().limit(10).send().await?.into_inner();
    println!("{} link(s) in the organisation", links.total);

    // 4. An import runs as a job: follow it until it ends.
    let csv = "url,slug,title,tags\nhttps://example.com/a,,A,imported\nhttps://example.com/b,,B,imported\n";
    let accepted = api.link_import("links.csv", csv, Some(&retry::new_key())).await?.into_inner();
    let job = loop {
        let job = api.job_get().id(&accepted.id).send().await?.into_inner();
        if matches!(job.status, JobStatus::Succeeded | JobStatus::Failed) {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let result = job.result.as_ref();
    println!(
        "import {}: {} created, {} rejected",
        job.status,
        result.map_or(0, |r| r.created),
        result.map_or(0, |r| r.errors.len())
    );

    // 5. A problem is typed: its code and request id.
    match api.link_get().id("lnk_01J00000000000000000000000").send().await {
        Err(e) => {
            let e = Error::from(e);
            println!("as expected: {:?} (request {})", e.code(), e.request_id().unwrap_or("-"));
        }
        Ok(_) => println!("unexpected: a link that does not exist was found"),
    }
    Ok(())
}
