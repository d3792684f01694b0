//! One webhook attempt on the wire: the request signed per the Standard Webhooks spec, sent to
//! the address the SSRF guard checked, without following redirects.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::guard;
use super::store::Due;
use crate::state::AppState;

/// The `user-agent` of every delivery.
pub const USER_AGENT: &str = concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The Standard Webhooks signature of a message: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
/// the key being the base64 after `whsec_`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = BASE64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// What one attempt came to.
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency: Duration,
    /// The `webhook-timestamp` it was signed with; `None` when nothing was sent.
    pub timestamp: Option<i64>,
}

/// Sends one attempt, to the address the guard checked, without following redirects.
pub async fn post(state: &AppState, target: &str, secret: &str, due: &Due) -> Attempt {
    let started = Instant::now();
    let fail = |error: String, started: Instant| Attempt {
        status_code: None,
        error: Some(error),
        latency: started.elapsed(),
        timestamp: None,
    };
    let Ok(url) = url::Url::parse(target) else { return fail("the endpoint URL is invalid".into(), started) };
    let addr = match guard::check(&url, state.config.webhook_allow_private, &state.config.resolver).await {
        Ok(addr) => addr,
        Err(refused) => return fail(format!("refused: {refused}"), started),
    };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(state.config.webhook_timeout)
        .resolve(&host, addr)
        .user_agent(USER_AGENT)
        .build()
    {
        Ok(client) => client,
        Err(e) => return fail(format!("cannot build an HTTP client: {e}"), started),
    };
    // The wire timestamp is the real time: receivers check it against their own clocks.
    let timestamp = chrono::Utc::now().timestamp();
    let Some(signature) = sign(secret, &due.event_id, timestamp, &due.body) else {
        return fail("the endpoint's secret is malformed".into(), started);
    };
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &due.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(due.body.clone())
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (!response.status().is_success()).then(|| format!("the endpoint answered {status}"));
            Attempt {
                status_code: Some(status),
                error,
                latency: started.elapsed(),
                timestamp: Some(timestamp),
            }
        }
        Err(e) if e.is_timeout() => {
            Attempt { timestamp: Some(timestamp), ..fail("timed out".into(), started) }
        }
        Err(e) => Attempt {
            timestamp: Some(timestamp),
            ..fail(format!("could not deliver: {}", without_url(&e)), started)
        },
    }
}

/// A reqwest error's message without the URL (it is in the endpoint already).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut deepest = e.to_string();
    while let Some(s) = source {
        deepest = s.to_string();
        source = s.source();
    }
    deepest
}
