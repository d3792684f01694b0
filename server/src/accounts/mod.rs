//! Dashboard accounts: sign-up (a user and the organisation they own), sign-in, sessions.
//!
//! Passwords are hashed with argon2id and never stored, logged or echoed. Sessions are opaque
//! `pts_…` tokens; the database holds only their SHA-256, so a leaked database cannot be
//! replayed. Sign-in answers an unknown email and a wrong password alike (same code, same
//! work), is throttled per client network and per account without letting strangers lock an
//! owner out (`throttle`), and hashes on a bounded set of threads (`password`).

mod handlers;
mod password;
pub mod roles;
mod session;
pub mod store;
mod throttle;
mod types;

pub use handlers::*;
pub use password::Hashers;
pub use roles::{RouteRoles, require};
pub use session::DashboardSession;
pub use store::purge_sessions;
pub use throttle::LoginThrottle;
pub use types::*;
