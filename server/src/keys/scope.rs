//! Scopes: what an API key may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Role;
use crate::error::{ApiError, ErrorCode};

crate::wire_enum! {
    /// A permission an API key can hold. `full_access` grants everything; a `…:write` scope also
    /// grants the matching `…:read`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    pub enum Scope {
        FullAccess = "full_access",
        LinksRead = "links:read",
        LinksWrite = "links:write",
        DomainsRead = "domains:read",
        DomainsWrite = "domains:write",
        AnalyticsRead = "analytics:read",
        WebhooksManage = "webhooks:manage",
        JobsRead = "jobs:read",
        KeysRead = "keys:read",
        KeysWrite = "keys:write",
        AuditRead = "audit:read",
    }
}

impl Scope {
    const fn bit(self) -> u16 {
        1 << self as u16
    }

    /// The scopes that grant this one: itself, its `write` sibling for a `read`, and
    /// `full_access`.
    const fn granted_by(self) -> u16 {
        let sibling = match self {
            Self::LinksRead => Self::LinksWrite.bit(),
            Self::DomainsRead => Self::DomainsWrite.bit(),
            Self::KeysRead => Self::KeysWrite.bit(),
            _ => 0,
        };
        self.bit() | sibling | Self::FullAccess.bit()
    }
}

impl Scope {
    /// The least role that may create or rotate a key holding this scope, or use one in the
    /// playground: a key never grants more than its holder's role may do. Reading admin data
    /// (`audit:read`, and `full_access`, which includes it) needs an admin.
    pub const fn minimum_role(self) -> Role {
        match self {
            Self::AuditRead | Self::FullAccess => Role::Admin,
            _ => Role::Developer,
        }
    }
}

/// 403 `insufficient_role` unless `role` may hold every one of `scopes` (see
/// [`Scope::minimum_role`]); `doing` says what was tried ("create", "rotate", "use").
pub fn check_role_may_hold(role: Role, scopes: &[Scope], doing: &str) -> Result<(), ApiError> {
    let Some(scope) = scopes.iter().copied().find(|scope| !role.includes(scope.minimum_role())) else {
        return Ok(());
    };
    let needed = scope.minimum_role();
    Err(ApiError::new(
        ErrorCode::InsufficientRole,
        format!(
            "Only {} {needed} (or a higher role) may {doing} a key with `{}`: it reads the organisation's admin data. You are {} {role}.",
            needed.article(),
            scope.as_str(),
            role.article()
        ),
    ))
}

/// A set of scopes, as a bit set: checking one is a single AND on the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u16);

impl ScopeSet {
    pub fn from_scopes(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// Whether the set grants `scope`.
    pub fn grants(self, scope: Scope) -> bool {
        self.0 & scope.granted_by() != 0
    }
}

/// What a `/v1` operation needs of the calling key: declared by each handler in its
/// `x-required-scope` extension (a scope, or `any` for any valid key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredScope {
    AnyValidKey,
    Scope(Scope),
}

impl RequiredScope {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "any" { Some(Self::AnyValidKey) } else { Scope::parse(s).map(Self::Scope) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_and_parse_back() {
        for scope in Scope::ALL {
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
    }

    #[test]
    fn full_access_grants_all_and_write_grants_read() {
        let full = ScopeSet::from_scopes(&[Scope::FullAccess]);
        assert!(Scope::ALL.iter().all(|s| full.grants(*s)));
        let write = ScopeSet::from_scopes(&[Scope::LinksWrite]);
        assert!(write.grants(Scope::LinksRead) && write.grants(Scope::LinksWrite));
        assert!(!write.grants(Scope::DomainsRead));
        let read = ScopeSet::from_scopes(&[Scope::KeysRead]);
        assert!(read.grants(Scope::KeysRead) && !read.grants(Scope::KeysWrite));
        assert!(!ScopeSet::default().grants(Scope::JobsRead));
    }
}
