//! The committed spec is what the server serves, and the SDK's constants match the server.

use std::time::Duration;

use serde_json::json;

async fn start() -> (portico::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = portico::Config::new("127.0.0.1:0", dir.path());
    config.resolver = portico::webhooks::guard::Resolver::parse("static:").unwrap();
    let server = portico::server::start(config).await.unwrap();
    (server, dir)
}

#[tokio::test]
async fn every_committed_document_is_byte_for_byte_what_the_server_serves() {
    let (server, _dir) = start().await;
    let documents = [
        ("openapi.json", "/openapi.json"),
        ("openapi.json", "/api/v1/openapi"),
        ("openapi.samples.json", "/openapi.samples.json"),
        ("llms.txt", "/llms.txt"),
        ("llms-full.txt", "/llms-full.txt"),
        ("postman_collection.json", "/postman.json"),
        ("postman_collection.json", "/api/v1/postman"),
    ];
    for (file, path) in documents {
        let committed = std::fs::read(format!("{}/../spec/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("spec/{file} is committed (run `cargo xtask gen`): {e}"));
        let served =
            reqwest::get(format!("{}{path}", server.base_url())).await.unwrap().bytes().await.unwrap();
        assert!(
            served.as_ref() == committed.as_slice(),
            "{path} differs from spec/{file}: run `cargo xtask gen` and commit"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_sdk_names_the_credentials_and_headers_the_server_uses() {
    let (server, _dir) = start().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let response = client
        .post(format!("{}/api/developer/signup", server.base_url()))
        .json(&json!({"email": "sdk@example.com", "password": "correct horse battery", "organization_name": "SDK"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key(portico_sdk::REQUEST_ID_HEADER));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().starts_with(portico_sdk::SESSION_TOKEN_PREFIX));
    server.shutdown().await;
}
