//! Verifying a presented key, fast: parse and checksum (no I/O), SHA-256, then an in-memory
//! cache keyed by the hash, falling back to the database on a miss. Unknown hashes are cached
//! too, so a flood of made-up (but well-formed) keys does not reach the database.
//!
//! Freshness: a change made here (revoke, patch, rotate, block) drops the key's entries at
//! once, so the very next request sees it; on PostgreSQL the change is broadcast and every
//! other instance drops its entries too, within milliseconds ([`crate::cluster::broadcast`]).
//! Entries live at most `ttl` (1 s by default): the safety net for a lost notification.
//! Expiry is checked against the clock on every request, never cached.
//!
//! No database write happens on the request path: `last_used_at` and the address are
//! collected in memory and written in one transaction every few seconds, and on shutdown.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use moka::sync::Cache;

use super::material::{self, KeyHash};
use super::scope::{Scope, ScopeSet};
use super::store;
use super::types::parse_ip_entry;
use crate::db::{Db, StoreError};
use crate::error::{ApiError, ErrorCode};
use crate::time::Timestamp;

/// What the pipeline knows of a key: everything the checks need, parsed once.
#[derive(Debug)]
pub struct KeyRecord {
    pub id: Arc<str>,
    pub organization_id: Arc<str>,
    pub name: String,
    pub prefix: String,
    pub scopes: ScopeSet,
    pub scope_list: Vec<Scope>,
    /// Empty: all domains.
    pub domains: Vec<String>,
    /// Empty: anywhere.
    pub allowed_ips: Vec<IpNet>,
    pub expires_at: Option<Timestamp>,
    /// Set on a secret that a rotation replaced: the end of its grace period.
    pub secret_expires_at: Option<Timestamp>,
    pub revoked: bool,
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    /// The limit that applies: the key's own, else its organisation's default.
    pub rate_limit_rpm: Option<i64>,
    /// The key's row as verified: what `GET /v1/key` answers, without reading it again.
    pub row: store::KeyRow,
}

impl From<store::VerificationRow> for KeyRecord {
    fn from(row: store::VerificationRow) -> Self {
        let scope_list = row.key.scopes();
        let stored = row.key.clone();
        Self {
            row: stored,
            id: row.key.id.as_str().into(),
            organization_id: row.key.organization_id.as_str().into(),
            scopes: ScopeSet::from_scopes(&scope_list),
            scope_list,
            domains: row.key.domains(),
            allowed_ips: row.key.allowed_ips().iter().filter_map(|e| parse_ip_entry(e)).collect(),
            name: row.key.name,
            prefix: row.key.prefix,
            expires_at: row.key.expires_at,
            secret_expires_at: row.secret_expires_at,
            revoked: row.key.revoked_at.is_some(),
            blocked: row.key.blocked,
            blocked_reason: row.key.blocked_reason,
            // The key's own limit, else its organisation's default (else, in the rate
            // limiter, the deployment's).
            rate_limit_rpm: row.key.rate_limit_rpm.or(row.organization_rate_limit_rpm),
        }
    }
}

/// A refused key: the answer, and the key when it was identified (so that the refusal is
/// logged under its organisation).
#[derive(Debug)]
pub struct Refusal {
    pub error: ApiError,
    pub key: Option<Arc<KeyRecord>>,
}

/// Verifies keys; shared by every request.
pub struct Verifier {
    db: Db,
    cache: Cache<KeyHash, Option<Arc<KeyRecord>>>,
    last_used: Mutex<HashMap<Arc<str>, (Timestamp, IpAddr)>>,
}

impl Verifier {
    pub fn new(db: Db, capacity: u64, ttl: Duration) -> Self {
        let cache =
            Cache::builder().max_capacity(capacity).time_to_live(ttl).support_invalidation_closures().build();
        Self { db, cache, last_used: Mutex::new(HashMap::new()) }
    }

    /// Checks a presented key at `at` (the request's time), in the documented order: format
    /// and checksum, unknown, revoked, expired, blocked, IP allowlist. (Scopes and domains are
    /// the caller's.)
    pub async fn verify(
        &self,
        presented: &str,
        ip: IpAddr,
        at: Timestamp,
    ) -> Result<Arc<KeyRecord>, Refusal> {
        let unknown = |error| Refusal { error, key: None };
        let parsed = material::parse(presented).map_err(|_| {
            unknown(ApiError::unauthorized(
                ErrorCode::InvalidApiKey,
                "The API key is malformed: Portico keys look like ptk_ followed by 49 letters and digits.",
            ))
        })?;
        let record = self.lookup(parsed.hash()).await.map_err(unknown)?.ok_or_else(|| {
            unknown(ApiError::unauthorized(ErrorCode::InvalidApiKey, "The API key is not valid."))
        })?;
        if let Err(error) = check(&record, ip, at) {
            return Err(Refusal { error, key: Some(record) });
        }
        self.stamp(&record.id, ip, at);
        Ok(record)
    }

    async fn lookup(&self, hash: KeyHash) -> Result<Option<Arc<KeyRecord>>, ApiError> {
        if let Some(hit) = self.cache.get(&hash) {
            return Ok(hit);
        }
        let found = store::find_by_hash(&self.db, &hash).await?.map(|row| Arc::new(KeyRecord::from(row)));
        self.cache.insert(hash, found.clone());
        Ok(found)
    }

    /// Drops every cached entry of a key (each of its secrets), so the next request reads it
    /// afresh. Called after every change to a key.
    pub fn forget(&self, key_id: &str) {
        let key_id: Arc<str> = key_id.into();
        let _ =
            self.cache.invalidate_entries_if(move |_, entry| entry.as_ref().is_some_and(|r| r.id == key_id));
    }

    /// Drops every cached entry of an organisation's keys (its default rate limit changed).
    pub fn forget_organization(&self, organization_id: &str) {
        let organization_id: Arc<str> = organization_id.into();
        let _ = self.cache.invalidate_entries_if(move |_, entry| {
            entry.as_ref().is_some_and(|r| r.organization_id == organization_id)
        });
    }

    /// Drops every cached entry (the invalidation broadcast lost its connection: what changed
    /// meanwhile is unknown).
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }

    fn stamp(&self, key_id: &Arc<str>, ip: IpAddr, at: Timestamp) {
        let mut pending = self.last_used.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.insert(key_id.clone(), (at, ip));
    }

    /// Writes the collected `last_used_at` stamps. On failure they are put back (unless a newer
    /// stamp arrived meanwhile) and the next flush tries again.
    pub async fn flush_last_used(&self) -> Result<usize, StoreError> {
        let taken = std::mem::take(&mut *self.last_used.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(0);
        }
        let rows: Vec<(String, Timestamp, String)> =
            taken.iter().map(|(id, (at, ip))| (id.to_string(), *at, ip.to_string())).collect();
        match store::record_last_used(&self.db, &rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                let mut pending = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
                for (id, stamp) in taken {
                    pending.entry(id).or_insert(stamp);
                }
                Err(e)
            }
        }
    }
}

/// The checks after the lookup, in order.
fn check(record: &KeyRecord, ip: IpAddr, at: Timestamp) -> Result<(), ApiError> {
    if record.revoked {
        return Err(ApiError::unauthorized(ErrorCode::KeyRevoked, "The API key was revoked."));
    }
    let expired =
        record.expires_at.is_some_and(|e| e <= at) || record.secret_expires_at.is_some_and(|e| e <= at);
    if expired {
        let detail = if record.secret_expires_at.is_some_and(|e| e <= at) {
            "This API key secret was replaced by a rotation and its grace period is over; use the new secret."
        } else {
            "The API key has expired."
        };
        return Err(ApiError::unauthorized(ErrorCode::KeyExpired, detail));
    }
    if record.blocked {
        let detail = match &record.blocked_reason {
            Some(reason) => format!("The API key is blocked: {reason}"),
            None => "The API key is blocked.".to_owned(),
        };
        return Err(ApiError::new(ErrorCode::KeyBlocked, detail));
    }
    if !record.allowed_ips.is_empty() && !record.allowed_ips.iter().any(|net| net.contains(&ip)) {
        return Err(ApiError::new(
            ErrorCode::IpNotAllowed,
            format!("The API key may not be used from {ip}: it is not in the key's IP allowlist."),
        ));
    }
    Ok(())
}
