//! Dashboard accounts: sign-up, sign-in, sessions, throttling.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestServer, assert_problem, storage_tests, storage_tests_with};

storage_tests!(
    signup_creates_a_user_who_owns_a_new_organization_and_signs_them_in,
    signup_with_a_taken_email_is_a_conflict_whatever_its_case,
    signup_names_every_invalid_field,
    signup_with_a_missing_field_names_it,
    login_with_the_right_password_opens_a_new_session,
    login_answers_an_unknown_email_and_a_wrong_password_alike,
    logout_ends_the_session_at_once,
    dashboard_routes_without_a_token_are_missing_credentials,
    dashboard_routes_refuse_unknown_tokens_and_api_keys,
    tokens_and_passwords_are_never_stored_in_clear,
);

async fn signup_creates_a_user_who_owns_a_new_organization_and_signs_them_in(s: &TestServer) {
    let response = s
        .post_json(
            "/api/developer/signup",
            &json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "organization_name": " Acme Links "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("x-request-id").is_some());
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("pts_") && token.len() == 47, "{token}");
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert!(body["user"]["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(body["organization"]["name"], "Acme Links");
    assert!(body["organization"]["id"].as_str().unwrap().starts_with("org_"));
    let expires: chrono::DateTime<chrono::Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "sessions last 7 days, got {days} hours");

    let me = s.get_with_token("/api/developer/me", token).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"], body["user"]);
    assert_eq!(me["organization"], body["organization"]);
    assert_eq!(me["role"], "owner");
}

async fn signup_with_a_taken_email_is_a_conflict_whatever_its_case(s: &TestServer) {
    s.signup("grace@example.com").await;
    let again = s
        .post_json(
            "/api/developer/signup",
            &json!({"email": "GRACE@example.com", "password": "another password", "organization_name": "Other"}),
        )
        .await;
    let problem = assert_problem(again, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("email"));
}

async fn signup_names_every_invalid_field(s: &TestServer) {
    let response = s
        .post_json(
            "/api/developer/signup",
            &json!({"email": "not-an-email", "password": "short", "organization_name": "   "}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password", "organization_name"]);
    for error in problem["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let long = "x".repeat(1025);
    let response = s
        .post_json(
            "/api/developer/signup",
            &json!({"email": "long@example.com", "password": long, "organization_name": "y".repeat(101)}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "password");
    assert_eq!(problem["errors"][1]["field"], "organization_name");
}

async fn signup_with_a_missing_field_names_it(s: &TestServer) {
    let response = s
        .post_json("/api/developer/signup", &json!({"email": "a@example.com", "organization_name": "A"}))
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"], json!([{"field": "password", "message": "is required"}]));

    let response = s
        .post_json(
            "/api/developer/signup",
            &json!({"email": 42, "password": PASSWORD, "organization_name": "A"}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "email");
}

async fn login_with_the_right_password_opens_a_new_session(s: &TestServer) {
    let signed_up = s.signup("lin@example.com").await;
    let response =
        s.post_json("/api/developer/login", &json!({"email": "LIN@example.com", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["token"], signed_up["token"], "a new session, not the old token");
    assert_eq!(body["user"], signed_up["user"]);
    assert_eq!(body["organization"], signed_up["organization"]);
    // Both sessions work.
    for token in [&body["token"], &signed_up["token"]] {
        let me = s.get_with_token("/api/developer/me", token.as_str().unwrap()).await;
        assert_eq!(me.status(), StatusCode::OK);
    }
}

async fn login_answers_an_unknown_email_and_a_wrong_password_alike(s: &TestServer) {
    s.signup("known@example.com").await;
    let wrong = s
        .post_json(
            "/api/developer/login",
            &json!({"email": "known@example.com", "password": "wrong password"}),
        )
        .await;
    let wrong = assert_problem(wrong, 401, "invalid_credentials").await;
    let unknown = s
        .post_json("/api/developer/login", &json!({"email": "nobody@example.com", "password": PASSWORD}))
        .await;
    let unknown = assert_problem(unknown, 401, "invalid_credentials").await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
}

async fn logout_ends_the_session_at_once(s: &TestServer) {
    let token = s.signup("out@example.com").await["token"].as_str().unwrap().to_owned();
    let response = s.request(Method::POST, "/api/developer/logout").bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().get("x-request-id").is_some());

    let me = s.get_with_token("/api/developer/me", &token).await;
    let problem = assert_problem(me, 401, "invalid_session").await;
    assert!(problem["detail"].as_str().unwrap().contains("sign in"));
    let again = s.request(Method::POST, "/api/developer/logout").bearer_auth(&token).send().await.unwrap();
    assert_problem(again, 401, "invalid_session").await;
}

async fn dashboard_routes_without_a_token_are_missing_credentials(s: &TestServer) {
    let response = s.get("/api/developer/me").await;
    assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_problem(response, 401, "missing_credentials").await;
    let response = s.request(Method::POST, "/api/developer/logout").send().await.unwrap();
    assert_problem(response, 401, "missing_credentials").await;
}

async fn dashboard_routes_refuse_unknown_tokens_and_api_keys(s: &TestServer) {
    let unknown =
        s.get_with_token("/api/developer/me", "pts_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR").await;
    assert_problem(unknown, 401, "invalid_session").await;

    let api_key =
        s.get_with_token("/api/developer/me", "ptk_4Jx1mQ8dTt0yZ2cV7bN5rL9wK3hF6gS1aE8uO2iP4qR000000").await;
    let problem = assert_problem(api_key, 401, "invalid_session").await;
    assert!(problem["detail"].as_str().unwrap().contains("API keys"));

    let basic = s
        .request(Method::GET, "/api/developer/me")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401, "invalid_session").await;
}

async fn tokens_and_passwords_are_never_stored_in_clear(s: &TestServer) {
    let body = s.signup("vault@example.com").await;
    let token = body["token"].as_str().unwrap();
    let login: Value = s
        .post_json("/api/developer/login", &json!({"email": "vault@example.com", "password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();
    let second = login["token"].as_str().unwrap();

    let dump = dump_database(s).await;
    for secret in [PASSWORD, token, second, &token[4..], &second[4..]] {
        assert!(!dump.contains(secret), "the database holds a secret in clear");
    }
    assert!(dump.contains("$argon2id$"), "passwords are stored as argon2id hashes");
}

/// Everything in the database as text: the SQLite files' bytes, or every PostgreSQL row.
async fn dump_database(s: &TestServer) -> String {
    match s.server().state().db.pool() {
        portico::db::Pool::Sqlite(pool) => {
            // Make sure the WAL's content is in the main file too, then read every file.
            sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(pool).await.unwrap();
            let mut text = String::new();
            for entry in std::fs::read_dir(s.data_dir.path()).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
            text
        }
        portico::db::Pool::Postgres(pool) => {
            let mut text = String::new();
            for table in ["organizations", "users", "memberships", "sessions"] {
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT CAST(t AS TEXT) FROM {table} t")))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                for (row,) in rows {
                    text.push_str(&row);
                    text.push('\n');
                }
            }
            text
        }
    }
}

mod expiring_sessions {
    use super::*;
    use std::time::Duration;

    storage_tests_with!(|config| config.session_ttl = std::time::Duration::from_secs(1); an_expired_session_is_refused_without_a_restart);

    async fn an_expired_session_is_refused_without_a_restart(s: &TestServer) {
        let token = s.signup("brief@example.com").await["token"].as_str().unwrap().to_owned();
        assert_eq!(s.get_with_token("/api/developer/me", &token).await.status(), StatusCode::OK);
        s.advance_clock(Duration::from_millis(1100));
        let me = s.get_with_token("/api/developer/me", &token).await;
        assert_problem(me, 401, "invalid_session").await;
    }
}

mod throttling {
    use super::*;

    storage_tests_with!(
        |config| {
            config.login_throttle.per_account_network_burst = 3;
            config.login_throttle.per_ip_burst = 6;
        };
        sign_in_is_throttled_per_email_then_per_address
    );

    async fn sign_in_is_throttled_per_email_then_per_address(s: &TestServer) {
        let attempt = |email: &'static str| async move {
            s.post_json("/api/developer/login", &json!({"email": email, "password": "wrong password"})).await
        };
        for _ in 0..3 {
            assert_problem(attempt("target@example.com").await, 401, "invalid_credentials").await;
        }
        let throttled = attempt("Target@Example.com").await;
        let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry_after), "retry-after {retry_after}");
        let problem = assert_problem(throttled, 429, "rate_limited").await;
        assert!(problem["detail"].as_str().unwrap().contains("account"));

        // Other accounts from this address still get answers until the address's bucket
        // (6 attempts, 4 spent) runs dry too.
        assert_problem(attempt("other@example.com").await, 401, "invalid_credentials").await;
        assert_problem(attempt("third@example.com").await, 401, "invalid_credentials").await;
        let throttled = attempt("fourth@example.com").await;
        assert!(throttled.headers().contains_key("retry-after"));
        let problem = assert_problem(throttled, 429, "rate_limited").await;
        assert!(problem["detail"].as_str().unwrap().contains("address"));

        // Sign-up shares the address's bucket.
        let signup = s
            .post_json(
                "/api/developer/signup",
                &json!({"email": "new@example.com", "password": PASSWORD, "organization_name": "N"}),
            )
            .await;
        assert_problem(signup, 429, "rate_limited").await;
    }
}
