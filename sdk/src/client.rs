//! Constructors: the generated client with the credential set once, as a default header that
//! is marked sensitive (so it never shows up in `Debug` output).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};

use crate::{Client, Error};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// A client for the `/v1` routes, authenticated with an API key (`ptk_…`).
    pub fn with_api_key(base_url: &str, api_key: &str) -> Result<Self, Error> {
        Self::with_bearer(base_url, Some(api_key))
    }

    /// A client for the dashboard routes (`/api/developer/*`), authenticated with a session
    /// token (`pts_…`) from [`Client::account_signup`] or [`Client::session_create`].
    pub fn with_session_token(base_url: &str, token: &str) -> Result<Self, Error> {
        Self::with_bearer(base_url, Some(token))
    }

    /// A client without credentials: sign-up, sign-in, health, the documents, redirects.
    pub fn anonymous(base_url: &str) -> Result<Self, Error> {
        Self::with_bearer(base_url, None)
    }

    fn with_bearer(base_url: &str, credential: Option<&str>) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        headers
            .insert(USER_AGENT, HeaderValue::from_static(concat!("portico-sdk/", env!("CARGO_PKG_VERSION"))));
        if let Some(credential) = credential {
            let mut value = HeaderValue::from_str(&format!("Bearer {credential}")).map_err(|_| {
                Error::Config("the credential contains characters a header cannot carry".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The API never redirects except `/r/{slug}`, whose redirect is the answer.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::new_with_client(base_url.trim_end_matches('/'), http))
    }
}
