//! The shapes of the key routes, and the validation of what callers send.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::scope::Scope;
use crate::error::Validation;

/// The largest `rate_limit_rpm` a key can have.
pub const MAX_RATE_LIMIT_RPM: i64 = 1_000_000;
/// The longest rotation grace period: 30 days.
pub const MAX_GRACE_PERIOD_SECONDS: i64 = 30 * 24 * 3600;

/// Whether a key can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

/// An API key's metadata. The key itself is never part of it (see `ApiKeyCreated`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// `key_…`; stays the same across rotations.
    #[schema(example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    #[schema(example = "Production backend")]
    /// The key's name, for people: 1–100 characters.
    pub name: String,
    /// The first 12 characters of the current secret, to tell keys apart.
    #[schema(example = "ptk_3xY9aQ2b")]
    pub prefix: String,
    /// What the key may do: `full_access`, or `{resource}:read` / `{resource}:write`.
    #[schema(example = json!(["links:read", "links:write"]))]
    pub scopes: Vec<Scope>,
    /// The hostnames the key may act on; empty means all of the organisation's domains.
    #[schema(example = json!(["links.example.com"]))]
    pub domains: Vec<String>,
    /// The IP addresses and CIDR ranges the key may be used from; empty means anywhere.
    #[schema(example = json!(["203.0.113.7", "10.0.0.0/8"]))]
    pub allowed_ips: Vec<String>,
    /// When the key stops working; `null` means never.
    #[schema(required = true)]
    #[schema(example = "2027-03-01T00:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute; `null` means the deployment's default.
    #[schema(example = 600)]
    #[schema(required = true)]
    pub rate_limit_rpm: Option<i64>,
    /// `active`, `revoked` or `expired`; blocking is separate (`blocked`).
    pub status: KeyStatus,
    /// A blocked key is refused (403 `key_blocked`) until unblocked.
    pub blocked: bool,
    /// Why the key was blocked, for people; `null` when not blocked or no reason was given.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub blocked_reason: Option<String>,
    /// When the key was last used (recorded within a few seconds of use).
    #[schema(required = true)]
    #[schema(example = "2026-12-01T09:30:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The address it was last used from.
    #[schema(required = true)]
    #[schema(example = "203.0.113.7")]
    pub last_used_ip: Option<String>,
    /// The user who created the key (`usr_…`).
    #[schema(example = "usr_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub created_by: String,
    /// Who changed the key last — its settings, its block or its secret: a user (`usr_…`) or
    /// an API key (`key_…`); `null` until the first change.
    #[schema(required = true, example = json!(null))]
    pub updated_by: Option<String>,
    /// Who revoked the key: a user (`usr_…`) or an API key (`key_…`); `null` while it is not
    /// revoked.
    #[schema(required = true, example = json!(null))]
    pub revoked_by: Option<String>,
    /// Free-form labels (team, environment, customer…): at most 20 of 1–50 letters, digits,
    /// spaces and `-_.:/`. Filter the lists with `?tag=`.
    #[schema(example = json!(["team:payments", "production"]))]
    pub tags: Vec<String>,
    /// The prefix of the secret the last rotation replaced.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub rotated_from: Option<String>,
    /// When the key was last rotated; `null` if never.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret the last rotation replaced (`rotated_from`) keeps working: the
    /// end of its grace period, in the past once it has ended; `null` if never rotated.
    #[schema(required = true)]
    #[schema(example = json!(null))]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When the key was created.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the key's metadata last changed.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; send it back in `If-Match` to update safely.
    #[schema(example = 1)]
    pub version: i64,
}

/// A key just created or rotated: its metadata and, this once, the key itself.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The API key. Shown here only: store it now, in a secret manager.
    #[schema(example = "ptk_3xY9aQ2bW7cE1dF5gH8iJ0kL4mN6oP2qR9sT3uV5wX7yZ1a8Kq2Mz")]
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

impl std::fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCreated").field("key", &"[redacted]").field("api_key", &self.api_key).finish()
    }
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Production backend",
    "scopes": ["links:read", "links:write"],
    "domains": ["links.example.com"],
    "allowed_ips": ["203.0.113.0/24"],
    "expires_in_days": 90,
    "rate_limit_rpm": 600
}))]
pub struct CreateApiKeyRequest {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At least one.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    /// Hostnames the key may act on; empty or absent means all.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<crate::hostname::Hostname>)]
    pub domains: Vec<String>,
    /// IP addresses or CIDR ranges (v4 or v6); empty or absent means anywhere.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<IpOrCidr>)]
    pub allowed_ips: Vec<String>,
    /// An expiry time in the future. Give this or `expires_in_days`, not both.
    pub expires_at: Option<DateTime<Utc>>,
    /// Expire this many days from now (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
    /// Requests per minute (1–1000000); absent means the organisation's default (or the
    /// deployment's).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub rate_limit_rpm: Option<i64>,
    /// Free-form labels: at most 20 of 1–50 letters, digits, spaces and `-_.:/`.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<crate::links::Tag>)]
    pub tags: Vec<String>,
}

/// An IP address or a CIDR range, v4 or v6 (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, max_length = 49, pattern = r"^[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?$", example = "203.0.113.0/24")]
#[allow(dead_code)]
pub struct IpOrCidr(String);

/// Changes to a key. Absent fields stay as they are; `null` clears `expires_at`,
/// `rate_limit_rpm` and `blocked_reason`. The scopes and the key itself cannot change:
/// create a new key for that.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Production backend (EU)", "allowed_ips": ["203.0.113.0/24"], "expires_at": null}))]
pub struct UpdateApiKeyRequest {
    /// A new name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The hostnames the key may act on (at most 100); empty means all.
    #[schema(max_items = 100, value_type = Option<Vec<crate::hostname::Hostname>>)]
    pub domains: Option<Vec<String>>,
    /// IP addresses or CIDR ranges (at most 100); empty means anywhere.
    #[schema(max_items = 100, value_type = Option<Vec<IpOrCidr>>)]
    pub allowed_ips: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    /// A new expiry in the future; `null`: never expires.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    /// Requests per minute (1–1000000); `null`: the organisation's default (or the deployment's).
    pub rate_limit_rpm: Option<Option<i64>>,
    /// Block (`true`) or unblock (`false`) the key.
    pub blocked: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::extract::nullable")]
    #[schema(value_type = Option<String>)]
    /// Why the key is blocked, at most 500 characters; `null` clears it.
    pub blocked_reason: Option<Option<String>>,
    /// New tags, replacing the old (at most 20); `[]` removes them all.
    #[schema(max_items = 20, value_type = Option<Vec<crate::links::Tag>>)]
    pub tags: Option<Vec<String>>,
}

/// Rotation: a new secret for the same key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grace_period_seconds": 3600}))]
pub struct RotateApiKeyRequest {
    /// How long the old secret keeps working (0–2592000 seconds); 0, the default, ends it at
    /// once.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub grace_period_seconds: i64,
}

/// The query of key lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListApiKeysParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Include revoked and expired keys (default: active keys only).
    #[param(default = false)]
    pub include_inactive: Option<bool>,
    /// Only keys with this tag (exact match).
    #[param(min_length = 1, max_length = 50)]
    pub tag: Option<String>,
}

/// Validates a key name.
pub fn check_name(v: &mut Validation, name: &str) -> String {
    v.name("name", name)
}

/// Validates and normalises a domain scope: hostnames, lower-cased, without duplicates.
pub fn check_domains(v: &mut Validation, domains: &[String]) -> Vec<String> {
    v.check(domains.len() <= 100, "domains", "must list at most 100 hostnames");
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for (i, domain) in domains.iter().enumerate() {
        match crate::hostname::normalize(domain) {
            Ok(host) if !out.contains(&host) => out.push(host),
            Ok(_) => {}
            Err(message) => v.reject(format!("domains[{i}]"), message),
        }
    }
    out
}

/// Validates and normalises an IP allowlist: single addresses stay bare, ranges become their
/// network (`10.1.2.3/8` → `10.0.0.0/8`), duplicates go.
pub fn check_allowed_ips(v: &mut Validation, entries: &[String]) -> Vec<String> {
    v.check(entries.len() <= 100, "allowed_ips", "must list at most 100 entries");
    let mut out: Vec<String> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        match parse_ip_entry(entry) {
            Some(net) => {
                let text = if net.prefix_len() == net.max_prefix_len() {
                    net.addr().to_string()
                } else {
                    net.trunc().to_string()
                };
                if !out.contains(&text) {
                    out.push(text);
                }
            }
            None => v.reject(
                format!("allowed_ips[{i}]"),
                "must be an IP address or CIDR range, e.g. 203.0.113.7 or 10.0.0.0/8",
            ),
        }
    }
    out
}

/// An allowlist entry as a network: a bare address is a /32 (or /128).
pub fn parse_ip_entry(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry.parse::<IpNet>().ok().or_else(|| entry.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// Validates a rate limit.
pub fn check_rate_limit(v: &mut Validation, rpm: Option<i64>) {
    if let Some(rpm) = rpm {
        v.check((1..=MAX_RATE_LIMIT_RPM).contains(&rpm), "rate_limit_rpm", "must be between 1 and 1000000");
    }
}

/// Validates an expiry time: it must be in the future.
pub fn check_expires_at(v: &mut Validation, at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    if let Some(at) = at {
        v.check(at > now, "expires_at", "must be in the future");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_accept_addresses_and_ranges_of_both_families() {
        let mut v = Validation::new();
        let out = check_allowed_ips(
            &mut v,
            &[
                "127.0.0.1".into(),
                "10.1.2.3/8".into(),
                "::1".into(),
                "2001:db8::/32".into(),
                "127.0.0.1".into(),
            ],
        );
        v.finish().unwrap();
        assert_eq!(out, ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"]);
    }

    #[test]
    fn allowlists_name_each_bad_entry() {
        let mut v = Validation::new();
        check_allowed_ips(&mut v, &["10.0.0.0/33".into(), "ok".into(), "1.2.3.4".into()]);
        let err = v.finish().unwrap_err();
        let fields: Vec<_> = err.field_errors().iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["allowed_ips[0]", "allowed_ips[1]"]);
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let created = ApiKeyCreated {
            key: "ptk_secretsecret".into(),
            api_key: ApiKey {
                id: "key_1".into(),
                name: "n".into(),
                prefix: "ptk_secr".into(),
                scopes: vec![],
                domains: vec![],
                allowed_ips: vec![],
                expires_at: None,
                rate_limit_rpm: None,
                status: KeyStatus::Active,
                blocked: false,
                blocked_reason: None,
                last_used_at: None,
                last_used_ip: None,
                created_by: "usr_1".into(),
                updated_by: None,
                revoked_by: None,
                tags: vec![],
                rotated_from: None,
                rotated_at: None,
                previous_secret_expires_at: None,
                created_at: Utc::now(),
                updated_at: Utc::now(),
                version: 1,
            },
        };
        assert!(!format!("{created:?}").contains("secretsecret"));
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let absent: UpdateApiKeyRequest = serde_json::from_str("{}").unwrap();
        assert!(absent.expires_at.is_none());
        let null: UpdateApiKeyRequest = serde_json::from_str(r#"{"expires_at": null}"#).unwrap();
        assert_eq!(null.expires_at, Some(None));
        assert!(serde_json::from_str::<UpdateApiKeyRequest>(r#"{"scopes": []}"#).is_err());
    }
}
