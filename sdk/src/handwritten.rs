//! The operations progenitor cannot generate, written by hand with the generated types:
//! the multipart import (`POST /v1/links/import`) and the redirect (`GET /r/{slug}`), whose
//! answers are a `Location` or an HTML page rather than JSON.

use progenitor_client::ClientInfo;
use reqwest::StatusCode;

use crate::error::{request_id, retry_after};
use crate::types::{JobAccepted, Problem};
use crate::{Client, Error, ResponseValue};

/// Where a short link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The link's destination (the `Location` header of the 302).
    pub location: String,
}

impl Client {
    /// Import links from a CSV file
    ///
    /// Uploads `csv` (a header row `url,slug,domain,title,tags`, tags `;`-separated; only `url`
    /// is required; at most 10 MiB) and answers at once with the job that imports it: follow it
    /// with [`Client::job_get`]. With `idempotency_key`, sending the same upload again answers
    /// the same job instead of importing twice.
    ///
    /// Sends a multipart `POST` request to `/v1/links/import`; needs the `links:write` scope.
    pub async fn link_import(
        &self,
        file_name: &str,
        csv: impl Into<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<ResponseValue<JobAccepted>, Error> {
        let part = reqwest::multipart::Part::bytes(csv.into())
            .file_name(file_name.to_owned())
            .mime_str("text/csv")
            .map_err(|e| Error::Config(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let mut request = self.client().post(format!("{}/v1/links/import", self.baseurl())).multipart(form);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await?;
        match response.status() {
            StatusCode::ACCEPTED => {
                let (status, headers) = (response.status(), response.headers().clone());
                let job = response.json::<JobAccepted>().await?;
                Ok(ResponseValue::new(job, status, headers))
            }
            _ => Err(problem(response).await),
        }
    }

    /// Follow a short link
    ///
    /// Where `/r/{slug}` on `host` (a registered domain; the deployment's default domain when
    /// `None`) redirects to. An unknown, deleted or expired link is [`Error::Api`] with code
    /// `not_found`.
    ///
    /// Needs a client that does not follow redirects, as the constructors of this crate build.
    pub async fn link_redirect(&self, slug: &str, host: Option<&str>) -> Result<Redirect, Error> {
        let mut request = self.client().get(format!("{}/r/{}", self.baseurl(), percent_encode(slug)));
        if let Some(host) = host {
            request = request.header(reqwest::header::HOST, host);
        }
        let response = request.send().await?;
        if response.status() == StatusCode::FOUND
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            let location =
                location.to_str().map_err(|_| Error::Transport("a Location that is not text".into()))?;
            return Ok(Redirect { location: location.to_owned() });
        }
        Err(problem(response).await)
    }
}

/// The error an answer stands for: its problem details when it has them.
async fn problem(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let request_id = request_id(response.headers());
    let is_problem = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/problem+json"));
    if is_problem && let Ok(problem) = response.json::<Problem>().await {
        return Error::Api { problem: Box::new(problem), retry_after };
    }
    if status == 404 {
        // The redirect's 404 is a page for people; say it the API's way.
        return Error::Api {
            problem: Box::new(Problem {
                code: crate::types::ErrorCode::NotFound.to_string(),
                detail: "No live link has this slug on this domain.".into(),
                errors: Vec::new(),
                request_id: request_id.unwrap_or_default(),
                status: 404,
                title: "Not found".into(),
                type_: "urn:portico:error:not_found".into(),
            }),
            retry_after,
        };
    }
    Error::Unexpected { status, request_id }
}

/// Slugs are `[A-Za-z0-9_-]`; anything else is escaped rather than sent raw.
fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
