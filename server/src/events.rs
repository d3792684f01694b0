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
