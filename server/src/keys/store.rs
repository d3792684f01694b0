//! Key queries, written once for both databases. Every query that reads or changes a key by
//! id is scoped to the caller's organisation: another organisation's key is simply not found.

use chrono::{DateTime, Utc};

use super::material::KeyHash;
use super::scope::Scope;
use super::types::{ApiKey, KeyStatus};
use crate::audit::{AuditAction, AuditContext, Changes, Resource, ResourceType};
use crate::db::{BeginWrite, Db, StoreError};
use crate::dispatch;
use crate::events::{EventType, NewEvent};
use crate::http::Pagination;
use crate::time::Timestamp;

/// A [`KeyRow`]'s columns, as a literal for `concat!`; `key_columns!("k.")` qualifies them.
macro_rules! key_columns {
    () => {
        key_columns!("")
    };
    ($t:literal) => {
        concat!(
            $t,
            "id, ",
            $t,
            "organization_id, ",
            $t,
            "name, ",
            $t,
            "prefix, ",
            $t,
            "scopes, ",
            $t,
            "domains, ",
            $t,
            "allowed_ips, ",
            $t,
            "expires_at, ",
            $t,
            "rate_limit_rpm, ",
            $t,
            "revoked_at, ",
            $t,
            "blocked, ",
            $t,
            "blocked_reason, ",
            $t,
            "last_used_at, ",
            $t,
            "last_used_ip, ",
            $t,
            "created_by, ",
            $t,
            "updated_by, ",
            $t,
            "revoked_by, ",
            $t,
            "tags, ",
            $t,
            "rotated_from, ",
            $t,
            "rotated_at, ",
            $t,
            "previous_secret_expires_at, ",
            $t,
            "created_at, ",
            $t,
            "updated_at, ",
            $t,
            "version"
        )
    };
}

/// A key row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub domains: String,
    pub allowed_ips: String,
    pub expires_at: Option<Timestamp>,
    pub rate_limit_rpm: Option<i64>,
    pub revoked_at: Option<Timestamp>,
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub created_by: String,
    pub updated_by: Option<String>,
    pub revoked_by: Option<String>,
    pub tags: String,
    pub rotated_from: Option<String>,
    pub rotated_at: Option<Timestamp>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    // Written by this module from validated values; an unreadable list would be a bug, and
    // the safest reading of one is "nothing granted".
    serde_json::from_str(text).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists of strings serialise")
}

impl KeyRow {
    pub fn scopes(&self) -> Vec<Scope> {
        json_list(&self.scopes)
    }

    pub fn domains(&self) -> Vec<String> {
        json_list(&self.domains)
    }

    pub fn allowed_ips(&self) -> Vec<String> {
        json_list(&self.allowed_ips)
    }

    pub fn tags(&self) -> Vec<String> {
        json_list(&self.tags)
    }

    pub fn status(&self, at: Timestamp) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= at) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }

    pub fn into_api_key(self, at: Timestamp) -> ApiKey {
        ApiKey {
            status: self.status(at),
            scopes: self.scopes(),
            domains: self.domains(),
            allowed_ips: self.allowed_ips(),
            tags: self.tags(),
            id: self.id,
            name: self.name,
            prefix: self.prefix,
            expires_at: self.expires_at,
            rate_limit_rpm: self.rate_limit_rpm,
            blocked: self.blocked,
            blocked_reason: self.blocked_reason,
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip,
            created_by: self.created_by,
            updated_by: self.updated_by,
            revoked_by: self.revoked_by,
            rotated_from: self.rotated_from,
            rotated_at: self.rotated_at,
            previous_secret_expires_at: self.previous_secret_expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// A secret to store: its hash, display prefix and sealed copy.
pub struct NewSecret<'a> {
    pub hash: KeyHash,
    pub prefix: &'a str,
    pub sealed: &'a [u8],
    pub master_key_id: &'a str,
}

/// A key to store, with its first secret.
pub struct NewKey<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub name: &'a str,
    pub scopes: &'a [Scope],
    pub domains: &'a [String],
    pub allowed_ips: &'a [String],
    pub expires_at: Option<Timestamp>,
    pub rate_limit_rpm: Option<i64>,
    pub tags: &'a [String],
    pub created_by: &'a str,
    pub secret: NewSecret<'a>,
}

const INSERT_SECRET: &str = "INSERT INTO api_key_secrets (key_hash, key_id, prefix, sealed, master_key_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Stores a new key and its first secret, with its `key.created` audit entry.
pub async fn insert_key(db: &Db, new: NewKey<'_>, audit: &AuditContext) -> Result<ApiKey, StoreError> {
    let at = db.now();
    let row = KeyRow {
        id: new.id.to_owned(),
        organization_id: new.organization_id.to_owned(),
        name: new.name.to_owned(),
        prefix: new.secret.prefix.to_owned(),
        scopes: to_json(&new.scopes),
        domains: to_json(&new.domains),
        allowed_ips: to_json(&new.allowed_ips),
        expires_at: new.expires_at,
        rate_limit_rpm: new.rate_limit_rpm,
        revoked_at: None,
        blocked: false,
        blocked_reason: None,
        last_used_at: None,
        last_used_ip: None,
        created_by: new.created_by.to_owned(),
        updated_by: None,
        revoked_by: None,
        tags: to_json(&new.tags),
        rotated_from: None,
        rotated_at: None,
        previous_secret_expires_at: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    const INSERT_KEY: &str = "INSERT INTO api_keys (id, organization_id, name, prefix, scopes, domains, \
         allowed_ips, expires_at, rate_limit_rpm, blocked, created_by, created_at, updated_at, version, tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    let entry = audit.entry(
        new.organization_id,
        AuditAction::KeyCreated,
        Resource::new(ResourceType::ApiKey, new.id),
        Changes::new()
            .created("name", new.name)
            .created("prefix", new.secret.prefix)
            .created("scopes", new.scopes)
            .created("domains", new.domains)
            .created("allowed_ips", new.allowed_ips)
            .created("expires_at", new.expires_at)
            .created("rate_limit_rpm", new.rate_limit_rpm)
            .created("tags", new.tags),
        at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(INSERT_KEY)
            .bind(&row.id)
            .bind(&row.organization_id)
            .bind(&row.name)
            .bind(&row.prefix)
            .bind(&row.scopes)
            .bind(&row.domains)
            .bind(&row.allowed_ips)
            .bind(row.expires_at)
            .bind(row.rate_limit_rpm)
            .bind(false)
            .bind(&row.created_by)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.version)
            .bind(&row.tags)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(&mut *tx, &entry)?;
        sqlx::query(INSERT_SECRET)
            .bind(&new.secret.hash.0[..])
            .bind(&row.id)
            .bind(new.secret.prefix)
            .bind(new.secret.sealed)
            .bind(new.secret.master_key_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })?;
    Ok(row.into_api_key(at))
}

pub async fn get_key(db: &Db, organization_id: &str, id: &str) -> Result<Option<KeyRow>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", key_columns!(), " FROM api_keys WHERE id = $1 AND organization_id = $2");
    crate::db::optional_row::<KeyRow>(db, SQL, &[id, organization_id]).await
}

/// The sealed copy of a key's current secret (not one rotated away) and the key's scopes, if
/// the key is the organisation's.
pub async fn current_sealed_secret(
    db: &Db,
    organization_id: &str,
    id: &str,
) -> Result<Option<(Vec<u8>, Vec<Scope>)>, StoreError> {
    const SQL: &str = "SELECT s.sealed, k.scopes FROM api_key_secrets s JOIN api_keys k ON k.id = s.key_id \
        WHERE k.id = $1 AND k.organization_id = $2 AND s.expires_at IS NULL \
        ORDER BY s.created_at DESC LIMIT 1";
    let found = dispatch!(db, |pool| sqlx::query_as::<_, (Vec<u8>, String)>(SQL)
        .bind(id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await)?;
    Ok(found.map(|(sealed, scopes)| (sealed, json_list(&scopes))))
}

/// One page of the organisation's keys, newest first, and how many there are in all.
pub async fn list_keys(
    db: &Db,
    organization_id: &str,
    include_inactive: bool,
    tag: Option<&str>,
    page: Pagination,
) -> Result<(Vec<KeyRow>, u64), StoreError> {
    // `$3`: whether revoked and expired keys are listed too; `$4`: a tag, as a `LIKE` pattern
    // matching one quoted element of the JSON array (tags hold no quotes).
    macro_rules! matching {
        () => {
            "organization_id = $1 AND ($3 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2))) \
             AND ($4 IS NULL OR tags LIKE $4 ESCAPE '\\')"
        };
    }
    const LIST: &str = concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE ",
        matching!(),
        " ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    const COUNT: &str = concat!("SELECT COUNT(*) FROM api_keys WHERE ", matching!());
    let tag = tag.map(crate::db::json_element_pattern);
    crate::page_with!(db, LIST, COUNT, page, organization_id, db.now(), include_inactive, tag.as_deref())
}

/// The new values of a key's editable fields (already validated).
pub struct KeyChanges {
    pub name: String,
    pub domains: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<Timestamp>,
    pub rate_limit_rpm: Option<i64>,
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    pub tags: Vec<String>,
}

impl KeyChanges {
    /// What the audit log records of going from `current` to these values, and as what:
    /// `key.blocked` / `key.unblocked` when the block changes, `key.updated` otherwise.
    fn audited(&self, current: &KeyRow) -> (AuditAction, Changes) {
        let action = match (current.blocked, self.blocked) {
            (false, true) => AuditAction::KeyBlocked,
            (true, false) => AuditAction::KeyUnblocked,
            _ => AuditAction::KeyUpdated,
        };
        let changes = Changes::new()
            .field("name", &current.name, &self.name)
            .field("domains", current.domains(), &self.domains)
            .field("allowed_ips", current.allowed_ips(), &self.allowed_ips)
            .field("expires_at", current.expires_at, self.expires_at)
            .field("rate_limit_rpm", current.rate_limit_rpm, self.rate_limit_rpm)
            .field("blocked", current.blocked, self.blocked)
            .field("blocked_reason", &current.blocked_reason, &self.blocked_reason)
            .field("tags", current.tags(), &self.tags);
        (action, changes)
    }
}

/// Writes `changes` to `current` if the key is still at its version, with the audit entry;
/// `None` when it moved on meanwhile. Changes that change nothing write nothing (no new
/// version, no audit entry).
pub async fn update_key(
    db: &Db,
    current: &KeyRow,
    changes: &KeyChanges,
    audit: &AuditContext,
) -> Result<Option<KeyRow>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE api_keys SET name = $1, domains = $2, allowed_ips = $3, expires_at = $4, \
         rate_limit_rpm = $5, blocked = $6, blocked_reason = $7, updated_at = $8, tags = $12, \
         updated_by = $13, version = version + 1 \
         WHERE id = $9 AND organization_id = $10 AND version = $11 RETURNING ",
        key_columns!()
    );
    let domains = to_json(&changes.domains);
    let allowed_ips = to_json(&changes.allowed_ips);
    let tags = to_json(&changes.tags);
    let at = db.now();
    let (action, diff) = changes.audited(current);
    if diff.is_empty() {
        return Ok(Some(current.clone()));
    }
    let entry = audit.entry(
        &current.organization_id,
        action,
        Resource::new(ResourceType::ApiKey, &current.id),
        diff,
        at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, KeyRow>(SQL)
            .bind(&changes.name)
            .bind(&domains)
            .bind(&allowed_ips)
            .bind(changes.expires_at)
            .bind(changes.rate_limit_rpm)
            .bind(changes.blocked)
            .bind(&changes.blocked_reason)
            .bind(at)
            .bind(&current.id)
            .bind(&current.organization_id)
            .bind(current.version)
            .bind(&tags)
            .bind(audit.actor_id())
            .fetch_optional(&mut *tx)
            .await?;
        if row.is_some() {
            crate::insert_audit!(&mut *tx, &entry)?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(row)
    })
}

/// Revokes a key (idempotent), writing the `key.revoked` event and audit entry in the same
/// transaction. `false` when the organisation has no such key. Revoking a revoked key changes
/// nothing and records nothing.
pub async fn revoke_key(
    db: &Db,
    organization_id: &str,
    id: &str,
    expected_version: Option<i64>,
    audit: &AuditContext,
) -> Result<Revoked, StoreError> {
    const REVOKE: &str = "UPDATE api_keys SET revoked_at = $1, updated_at = $1, revoked_by = $4, \
         version = version + 1 WHERE id = $2 AND organization_id = $3 AND revoked_at IS NULL \
         AND ($5 IS NULL OR version = $5) RETURNING name, prefix";
    const VERSION: &str = "SELECT version FROM api_keys WHERE id = $1 AND organization_id = $2";
    let at = db.now();
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let revoked: Option<(String, String)> = sqlx::query_as(REVOKE)
            .bind(at)
            .bind(id)
            .bind(organization_id)
            .bind(audit.actor_id())
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((name, prefix)) = revoked else {
            let version: Option<i64> =
                sqlx::query_scalar(VERSION).bind(id).bind(organization_id).fetch_optional(&mut *tx).await?;
            return Ok(match version {
                None => Revoked::NotFound,
                Some(version) if expected_version.is_some_and(|e| e != version) => {
                    Revoked::VersionMoved(version)
                }
                Some(_) => Revoked::Already,
            });
        };
        let entry = audit.entry(
            organization_id,
            AuditAction::KeyRevoked,
            Resource::new(ResourceType::ApiKey, id),
            Changes::new().field("status", KeyStatus::Active, KeyStatus::Revoked).created("revoked_at", at),
            at,
        );
        crate::insert_audit!(&mut *tx, &entry)?;
        let event = NewEvent::new(
            organization_id,
            EventType::KeyRevoked,
            crate::events::data(&crate::events::KeyRevokedData {
                id: id.to_owned(),
                name,
                prefix,
                revoked_at: at,
            }),
            at,
        );
        crate::insert_event!(&mut *tx, &event)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Revoked::Now)
    })
}

/// What revoking a key came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now.
    Now,
    /// It was revoked already: nothing changed.
    Already,
    /// The organisation has no such key.
    NotFound,
    /// The key is not at the version the caller named (it is at this one).
    VersionMoved(i64),
}

/// Gives a key a new secret; the current one keeps working until `old_expires_at`.
/// The caller has checked that the key exists and is active.
///
/// Replaced secrets are kept for 30 days after their grace period ends, so that using one
/// is answered `key_expired` ("replaced by a rotation") rather than "unknown"; older ones
/// are deleted here.
pub async fn rotate_key(
    db: &Db,
    current: &KeyRow,
    secret: NewSecret<'_>,
    old_expires_at: Timestamp,
    audit: &AuditContext,
) -> Result<Option<KeyRow>, StoreError> {
    let (id, old_prefix) = (current.id.as_str(), current.prefix.as_str());
    const RETIRE: &str = "UPDATE api_key_secrets SET expires_at = $1 \
         WHERE key_id = $2 AND (expires_at IS NULL OR expires_at > $1)";
    const PURGE: &str = "DELETE FROM api_key_secrets WHERE key_id = $1 AND expires_at <= $2";
    const UPDATE_KEY: &str = concat!(
        "UPDATE api_keys SET prefix = $1, rotated_from = $2, rotated_at = $3, \
         previous_secret_expires_at = $5, updated_at = $3, updated_by = $6, version = version + 1 \
         WHERE id = $4 AND version = $7 RETURNING ",
        key_columns!()
    );
    let at = db.now();
    let entry = audit.entry(
        &current.organization_id,
        AuditAction::KeyRotated,
        Resource::new(ResourceType::ApiKey, id),
        Changes::new().field("prefix", old_prefix, secret.prefix).field(
            "previous_secret_expires_at",
            current.previous_secret_expires_at,
            Some(old_expires_at),
        ),
        at,
    );
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        // The key first: only a rotation of the version the caller read goes on (two at once:
        // one wins, the other is told the key changed).
        let Some(row) = sqlx::query_as::<_, KeyRow>(UPDATE_KEY)
            .bind(secret.prefix)
            .bind(old_prefix)
            .bind(at)
            .bind(id)
            .bind(old_expires_at)
            .bind(audit.actor_id())
            .bind(current.version)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(RETIRE).bind(old_expires_at).bind(id).execute(&mut *tx).await?;
        sqlx::query(PURGE).bind(id).bind(at - chrono::TimeDelta::days(30)).execute(&mut *tx).await?;
        sqlx::query(INSERT_SECRET)
            .bind(&secret.hash.0[..])
            .bind(id)
            .bind(secret.prefix)
            .bind(secret.sealed)
            .bind(secret.master_key_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(&mut *tx, &entry)?;
        tx.commit().await?;
        Ok::<_, StoreError>(Some(row))
    })
}

/// What verification needs of a key, found by a secret's hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerificationRow {
    #[sqlx(flatten)]
    pub key: KeyRow,
    pub secret_expires_at: Option<Timestamp>,
    /// The organisation's default rate limit, for a key without its own.
    pub organization_rate_limit_rpm: Option<i64>,
}

pub async fn find_by_hash(db: &Db, hash: &KeyHash) -> Result<Option<VerificationRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        key_columns!("k."),
        ", s.expires_at AS secret_expires_at, o.default_rate_limit_rpm AS organization_rate_limit_rpm \
         FROM api_key_secrets s JOIN api_keys k ON k.id = s.key_id \
         JOIN organizations o ON o.id = k.organization_id WHERE s.key_hash = $1"
    );
    Ok(dispatch!(db, |pool| sqlx::query_as::<_, VerificationRow>(SQL)
        .bind(&hash.0[..])
        .fetch_optional(pool)
        .await)?)
}

/// Records when (and from where) keys were last used; an older stamp never overwrites a newer.
pub async fn record_last_used(db: &Db, stamps: &[(String, DateTime<Utc>, String)]) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 \
         WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)";
    if stamps.is_empty() {
        return Ok(());
    }
    dispatch!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        for (id, at, ip) in stamps {
            sqlx::query(SQL).bind(*at).bind(ip).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

/// The master key ids that sealed stored secrets, and one sealed value for each.
pub async fn sealing_keys(db: &Db) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    const IDS: &str = "SELECT DISTINCT master_key_id FROM api_key_secrets";
    const SAMPLE: &str = "SELECT sealed FROM api_key_secrets WHERE master_key_id = $1 LIMIT 1";
    Ok(dispatch!(db, |pool| {
        let ids: Vec<String> = sqlx::query_scalar(IDS).fetch_all(pool).await?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let sealed: Vec<u8> = sqlx::query_scalar(SAMPLE).bind(&id).fetch_one(pool).await?;
            found.push((id, sealed));
        }
        Ok::<_, sqlx::Error>(found)
    })?)
}
