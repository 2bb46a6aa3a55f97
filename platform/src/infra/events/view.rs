//! The API's view of an event ([`EventObject`]): what `GET /v1/events/{id}` answers and what
//! a webhook delivers.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Event;
use crate::infra::wire::ids::{self, IdKind};

#[derive(Debug, Serialize, ToSchema)]
pub struct EventObject {
    #[schema(example = "evt_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "event")]
    pub object: &'static str,
    /// e.g. `account.created`, `account.updated`.
    #[serde(rename = "type")]
    #[schema(example = "account.created")]
    pub kind: String,
    pub livemode: bool,
    pub created: String,
    /// The connected account the event concerns.
    pub account: Option<String>,
    /// `object`: the object after the change; `previous_attributes` for updates.
    #[schema(value_type = Object)]
    pub data: Value,
    pub request: EventRequest,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventRequest {
    /// The `Request-Id` of the API call that caused the event.
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

impl EventObject {
    pub fn from_model(event: &Event) -> Self {
        Self {
            id: ids::encode(IdKind::Event, event.id),
            object: "event",
            kind: event.kind.clone(),
            livemode: event.livemode,
            created: crate::infra::wire::timestamp(event.created_at),
            account: event.account_id.map(|a| ids::encode(IdKind::Account, a)),
            data: event.data.clone(),
            request: EventRequest {
                id: event.request_id.clone(),
                idempotency_key: event.idempotency_key.clone(),
            },
        }
    }
}
