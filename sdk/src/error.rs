//! One error type for every call: the server's problem details, typed, or what kept the call
//! from getting an answer.

use std::time::Duration;

use crate::types::{ErrorCode, Problem};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a problem (RFC 9457): see [`Error::code`] and
    /// [`Error::request_id`].
    #[error("{} {}: {} (request {})", .problem.status, .problem.code, .problem.detail, .problem.request_id)]
    Api {
        /// The problem details, as the server sent them.
        problem: Box<Problem>,
        /// When the server said to try again (`retry-after` on 429 and 503).
        retry_after: Option<Duration>,
    },
    /// An answer the API does not document (a proxy's error page, say).
    #[error("unexpected answer {status}{}", .request_id.as_ref().map(|id| format!(" (request {id})")).unwrap_or_default())]
    Unexpected { status: u16, request_id: Option<String> },
    /// The request could not be sent, or its answer could not be read.
    #[error("{0}")]
    Transport(String),
    /// The client could not be set up (a credential that is not a valid header, say).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The problem's stable code, when the server answered with one this SDK knows. A code
    /// added to the server after this SDK was built is `None` here (see [`Error::code_str`]):
    /// treat it by its [`Error::status`].
    pub fn code(&self) -> Option<ErrorCode> {
        self.code_str().and_then(|code| code.parse().ok())
    }

    /// The problem's code as sent, known to this SDK or not.
    pub fn code_str(&self) -> Option<&str> {
        match self {
            Self::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }

    /// The id of the request (`x-request-id`), to quote when asking for help.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { problem, .. } => Some(&problem.request_id),
            Self::Unexpected { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { problem, .. } => u16::try_from(problem.status).ok(),
            Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again may succeed: transport failures, 429, 409
    /// `idempotency_in_progress`, and server errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Api { problem, .. } => {
                matches!(self.code(), Some(ErrorCode::RateLimited | ErrorCode::IdempotencyInProgress))
                    || problem.status >= 500
            }
            Self::Unexpected { status, .. } => *status >= 500,
            Self::Config(_) => false,
        }
    }

    /// How long the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get(crate::REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl From<progenitor_client::Error<Problem>> for Error {
    fn from(error: progenitor_client::Error<Problem>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let retry_after = retry_after(response.headers());
                Self::Api { problem: Box::new(response.into_inner()), retry_after }
            }
            E::UnexpectedResponse(response) => Self::Unexpected {
                status: response.status().as_u16(),
                request_id: request_id(response.headers()),
            },
            E::InvalidResponsePayload(_, e) => Self::Transport(format!("the answer does not parse: {e}")),
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Self::Transport(e.to_string())
            }
            E::InvalidRequest(e) | E::Custom(e) => Self::Config(e),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        Self::Transport(error.to_string())
    }
}
