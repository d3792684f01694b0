//! The shapes of domains on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A custom domain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Domain {
    /// `dom_…`
    #[schema(example = "dom_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The hostname, lower-case.
    #[schema(example = "go.example.com")]
    pub hostname: String,
    /// When the domain was registered.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A domain to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hostname": "go.example.com"}))]
pub struct CreateDomainRequest {
    /// A DNS hostname; stored lower-case, without a trailing dot.
    #[schema(value_type = crate::hostname::Hostname)]
    pub hostname: String,
}

/// The query of the domain list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDomainsParams {
    /// How many items to return, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// How many items to skip: the next page starts at `offset + limit`.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}
