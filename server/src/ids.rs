//! Type-prefixed, sortable ids: `org_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N`.
//!
//! The prefix says what an id names, so a user who pastes a key id where a link id belongs
//! gets a clear 404 and support can tell ids apart at a glance; the ULID makes ids unique
//! without coordination and sortable by creation time.

use std::fmt;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// What an id names; its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Organization,
    User,
    Session,
    ApiKey,
    Link,
    Domain,
    Job,
    Webhook,
    Event,
    Delivery,
    Request,
    Invitation,
    AuditEntry,
}

impl IdKind {
    const ALL: [IdKind; 13] = [
        Self::Organization,
        Self::User,
        Self::Session,
        Self::ApiKey,
        Self::Link,
        Self::Domain,
        Self::Job,
        Self::Webhook,
        Self::Event,
        Self::Delivery,
        Self::Request,
        Self::Invitation,
        Self::AuditEntry,
    ];

    /// The kind an id prefix names (`lnk` → `Link`).
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.prefix() == prefix)
    }

    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Organization => "org",
            Self::User => "usr",
            Self::Session => "ses",
            Self::ApiKey => "key",
            Self::Link => "lnk",
            Self::Domain => "dom",
            Self::Job => "job",
            Self::Webhook => "whk",
            Self::Event => "evt",
            Self::Delivery => "dlv",
            Self::Request => "req",
            Self::Invitation => "inv",
            Self::AuditEntry => "aud",
        }
    }
}

/// An id: `{prefix}_{ULID}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// A new id of the given kind.
    pub fn generate(kind: IdKind) -> Self {
        // Assembled by hand rather than `format!`: every request gets an id.
        let mut ulid = [0; ulid::ULID_LEN];
        let ulid = Ulid::new().array_to_str(&mut ulid);
        let mut id = String::with_capacity(kind.prefix().len() + 1 + ulid.len());
        id.push_str(kind.prefix());
        id.push('_');
        id.push_str(ulid);
        Self(id)
    }

    /// A new id of the given kind whose time part is `at` (the application clock's "now"), so
    /// that ids compare as their records' times do even where a test moved the clock.
    pub fn generate_at(kind: IdKind, at: crate::time::Timestamp) -> Self {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let ulid = Ulid::from_parts(millis, Ulid::new().random());
        Self(format!("{}_{ulid}", kind.prefix()))
    }

    /// The smallest id of the given kind made at `at` or later (a time range is an id range).
    pub fn first_at(kind: IdKind, at: crate::time::Timestamp) -> String {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        format!("{}_{}", kind.prefix(), Ulid::from_parts(millis, 0))
    }

    /// Parses an id of the given kind; `None` when the prefix or the ULID is wrong (which
    /// handlers answer as 404: an id that cannot exist names nothing).
    pub fn parse(kind: IdKind, s: &str) -> Option<Self> {
        let rest = s.strip_prefix(kind.prefix())?.strip_prefix('_')?;
        Ulid::from_string(rest).ok()?;
        Some(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = Id::generate(IdKind::Organization);
        assert!(id.as_str().starts_with("org_"));
        assert_eq!(id.as_str().len(), 4 + 26);
        assert_eq!(Id::parse(IdKind::Organization, id.as_str()), Some(id.clone()));
        assert_eq!(Id::parse(IdKind::User, id.as_str()), None);
        assert_eq!(Id::parse(IdKind::Organization, "org_nope"), None);
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = Id::generate(IdKind::Link);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = Id::generate(IdKind::Link);
        assert!(a < b);
    }
}
