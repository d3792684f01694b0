//! Events: what happened, for webhooks. An event is written in the same transaction as the
//! change that causes it (the transactional outbox), so an event exists if and only if its
//! change was committed; the webhook fan-out reads them afterwards.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ids::{Id, IdKind};
use crate::time::Timestamp;

crate::wire_enum! {
    /// The kinds of events endpoints can subscribe to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    pub enum EventType {
        /// An import (or other job) finished.
        JobSucceeded = "job.succeeded",
        /// A job failed.
        JobFailed = "job.failed",
        /// A link was created with `POST /v1/links` (imports report through `job.succeeded`).
        LinkCreated = "link.created",
        /// A link was deleted.
        LinkDeleted = "link.deleted",
        /// An API key was revoked.
        KeyRevoked = "key.revoked",
    }
}

/// What an event's `data` is, by type: the payload schemas of the spec's `webhooks`.
impl EventType {
    /// The schema of `data` for this type (a component of the spec).
    pub const fn data_schema(self) -> &'static str {
        match self {
            Self::JobSucceeded | Self::JobFailed => "JobFinishedData",
            Self::LinkCreated => "LinkCreatedData",
            Self::LinkDeleted => "LinkDeletedData",
            Self::KeyRevoked => "KeyRevokedData",
        }
    }

    /// When the event happens, for the spec's `webhooks`.
    pub const fn description(self) -> &'static str {
        match self {
            Self::JobSucceeded => "A job (an import) finished: `data` is the job with its counts.",
            Self::JobFailed => "A job failed: `data` is the job with its error.",
            Self::LinkCreated => {
                "A link was created with `POST /v1/links` (imports report through `job.succeeded`)."
            }
            Self::LinkDeleted => "A link was deleted: it no longer redirects and its slug is free.",
            Self::KeyRevoked => "An API key was revoked: it is refused from now on.",
        }
    }
}

/// `data` of `link.created`: the new link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkCreatedData {
    /// The link (`lnk_…`).
    #[schema(example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// Where it redirects.
    #[schema(example = "https://example.com/spring-sale")]
    pub url: String,
    /// The hostname it lives on.
    #[schema(example = "go.example.com")]
    pub domain: String,
    /// Its slug.
    #[schema(example = "spring")]
    pub slug: String,
    /// Its title; `null` when none.
    #[schema(required = true, example = "Spring sale")]
    pub title: Option<String>,
    /// Its tags.
    #[schema(example = json!(["newsletter"]))]
    pub tags: Vec<String>,
    /// When it stops redirecting; `null`: never.
    #[schema(required = true, value_type = Option<String>, format = DateTime, example = json!(null))]
    pub expires_at: Option<Timestamp>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:30:00Z")]
    pub created_at: Timestamp,
}

/// `data` of `link.deleted`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkDeletedData {
    /// The link (`lnk_…`).
    #[schema(example = "lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// The hostname it lived on.
    #[schema(example = "go.example.com")]
    pub domain: String,
    /// Its slug, now free on that domain.
    #[schema(example = "spring")]
    pub slug: String,
    /// When it was deleted.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:30:00Z")]
    pub deleted_at: Timestamp,
}

/// `data` of `key.revoked`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyRevokedData {
    /// The key (`key_…`).
    #[schema(example = "key_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// Its name.
    #[schema(example = "Production backend")]
    pub name: String,
    /// The first characters of its secret, to tell keys apart.
    #[schema(example = "ptk_3xY9aQ2b")]
    pub prefix: String,
    /// When it was revoked.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:30:00Z")]
    pub revoked_at: Timestamp,
}

/// `data` of `job.succeeded` and `job.failed`: the job as it finished.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobFinishedData {
    /// The job (`job_…`).
    #[schema(example = "job_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub id: String,
    /// What it did.
    pub kind: crate::jobs::JobKind,
    /// `succeeded` or `failed`.
    #[schema(example = "succeeded")]
    pub status: crate::jobs::JobStatus,
    /// For imports: what was created and skipped; `null` when the job failed before any.
    #[schema(required = true)]
    pub result: Option<crate::jobs::ImportResult>,
    /// Why it failed; `null` when it succeeded.
    #[schema(required = true, example = json!(null))]
    pub error: Option<String>,
    /// When it finished.
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:31:00Z")]
    pub finished_at: Timestamp,
}

/// `data` of `ping`, the test delivery `POST /v1/webhooks/{id}/test` sends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PingData {
    /// The endpoint pinged (`whk_…`).
    #[schema(example = "whk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")]
    pub endpoint_id: String,
}

/// An event's `data` as stored.
pub fn data(payload: &impl Serialize) -> Value {
    serde_json::to_value(payload).expect("event payloads serialise")
}

/// An event to write.
pub struct NewEvent {
    pub id: String,
    pub organization_id: String,
    pub kind: &'static str,
    pub data: String,
    pub created_at: Timestamp,
}

impl NewEvent {
    pub fn new(organization_id: &str, kind: EventType, data: Value, at: Timestamp) -> Self {
        Self {
            id: Id::generate(IdKind::Event).into_string(),
            organization_id: organization_id.to_owned(),
            kind: kind.as_str(),
            data: data.to_string(),
            created_at: at,
        }
    }
}

/// The insert, for [`insert_event!`](crate::insert_event) inside a caller's transaction.
pub const INSERT: &str =
    "INSERT INTO events (id, organization_id, type, data, created_at) VALUES ($1, $2, $3, $4, $5)";

/// Writes an event on a connection or transaction of either backend:
/// `insert_event!(&mut *tx, &event)?`.
#[macro_export]
macro_rules! insert_event {
    ($conn:expr, $event:expr) => {
        sqlx::query($crate::events::INSERT)
            .bind(&$event.id)
            .bind(&$event.organization_id)
            .bind($event.kind)
            .bind(&$event.data)
            .bind($event.created_at)
            .execute($conn)
            .await
    };
}
