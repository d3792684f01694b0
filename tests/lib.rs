//! Cross-crate tests for Portico live in `tests/` (this crate has no code of its own): the
//! committed artifacts in `spec/` against the running server, and the SDK against the
//! server.
