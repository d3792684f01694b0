//! API keys: the material, the master key that seals stored copies, scopes, storage,
//! verification on the request path, and the routes — dashboard routes that mint and manage
//! keys (session only), and `/v1` routes where a key can see itself, list and revoke.
//!
//! See `docs/keys.md` for the user's view.

mod dashboard;
mod manage;
pub mod master;
pub mod material;
mod public;
pub mod scope;
pub mod store;
pub mod types;
pub mod verify;

pub use dashboard::*;
pub use master::MasterKey;
pub use public::*;
pub use scope::{RequiredScope, Scope, ScopeSet};
pub use types::*;
pub use verify::{KeyRecord, Refusal, Verifier};
