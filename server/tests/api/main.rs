//! The server's integration tests: one binary, one module per route group. Each test starts
//! the real server on port 0 and speaks HTTP to it. Tests that touch storage run twice, on
//! SQLite and on PostgreSQL (see `support`).

mod contract;
mod support;

mod accounts;
mod audit;
mod cli;
mod cluster;
mod dashboard;
mod errors;
mod hardening;
mod jobs;
mod keys;
mod links;
mod metering;
mod playground;
mod schema;
mod system;
mod teams;
mod webhooks;
