//! `portico-sdk`: the typed Rust client for the Portico API.
//!
//! The client is generated from `spec/openapi.json` by `cargo xtask gen` (with progenitor);
//! that generation arrives with the SDK work. Until then this crate holds the one piece the
//! generated client will share with hand-written code: the constants that name the API's
//! credentials.

/// The prefix of API keys (`ptk_…`), sent as `Authorization: Bearer …` or `x-api-key: …`.
pub const API_KEY_PREFIX: &str = "ptk_";

/// The prefix of dashboard session tokens (`pts_…`), sent as `Authorization: Bearer …`.
pub const SESSION_TOKEN_PREFIX: &str = "pts_";

/// The header carrying the request id of every response; quote it when reporting a problem.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
