//! `portico-sdk`: the typed Rust client for the Portico API.
//!
//! Every operation of the API is a method on [`Client`] that returns a request builder:
//!
//! ```no_run
//! # async fn run() -> Result<(), portico_sdk::Error> {
//! use portico_sdk::{Client, types};
//!
//! let client = Client::with_api_key("http://127.0.0.1:8080", "ptk_…")?;
//! let link = client
//!     .link_create()
//!     .body(types::CreateLinkRequest::builder().url("https://example.com/launch"))
//!     .send()
//!     .await?
//!     .into_inner();
//! println!("{} → {}", link.short_url, link.url);
//! # Ok(()) }
//! ```
//!
//! - The client and the types in [`types`] are generated from `spec/openapi.json` by
//!   `cargo xtask gen` (progenitor); they change only when the API does.
//! - [`Client::with_api_key`] is for `/v1` routes, [`Client::with_session_token`] for the
//!   dashboard routes (`/api/developer/*`), [`Client::anonymous`] for sign-up, sign-in and the
//!   public documents.
//! - Failures convert into [`Error`] (`?` does it): the server's problem details are typed
//!   ([`Error::code`], [`Error::request_id`]).
//! - [`Client::link_import`] (a multipart upload) and [`Client::link_redirect`] are written by
//!   hand, with the generated types.
//! - [`retry::idempotent`] retries a POST safely under one `Idempotency-Key`.

mod client;
mod error;
#[rustfmt::skip]
mod generated;
mod handwritten;
pub mod retry;

pub use error::Error;
pub use generated::{Client, ResponseValue, builder, types};
pub use handwritten::Redirect;

/// The prefix of API keys (`ptk_…`), sent as `Authorization: Bearer …` or `x-api-key: …`.
pub const API_KEY_PREFIX: &str = "ptk_";

/// The prefix of dashboard session tokens (`pts_…`), sent as `Authorization: Bearer …`.
pub const SESSION_TOKEN_PREFIX: &str = "pts_";

/// The header carrying the request id of every response; quote it when reporting a problem.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
