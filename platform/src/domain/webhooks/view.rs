//! The API's view of a webhook endpoint ([`EndpointObject`]), also what the
//! `webhook_endpoint.*` events carry. It has no `secret`: only the create and rotate responses
//! add it.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::entity::endpoint as endpoints;
use crate::infra::wire::ids::{self, IdKind};

/// An endpoint the platform receives events at. The signing secret is shown only when it is
/// made (create, rotate_secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointObject {
    #[schema(example = "we_01h455vb4pex5vsknk084sn02q")]
    pub id: String,
    #[schema(example = "webhook_endpoint")]
    pub object: &'static str,
    pub livemode: bool,
    pub created: String,
    #[schema(example = "https://platform.example/agora/webhooks")]
    #[schema(
        max_length = 2048,
        pattern = "^[hH][tT][tT][pP][sS]?://[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?(\\.[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub url: String,
    /// Event types to receive: `*`, a prefix such as `charge.*`, or exact types (see the
    /// list in the README's Webhooks section).
    #[schema(example = json!(["charge.*", "account.updated"]))]
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// A disabled endpoint receives nothing; Agora disables one that failed for 3 days.
    pub disabled: bool,
    /// Since when every attempt has failed; null if the last attempt succeeded.
    pub failing_since: Option<String>,
}

impl EndpointObject {
    pub fn from_model(endpoint: &endpoints::Model) -> Self {
        Self {
            id: ids::encode(IdKind::WebhookEndpoint, endpoint.id),
            object: "webhook_endpoint",
            livemode: endpoint.livemode,
            created: crate::infra::wire::timestamp(endpoint.created_at),
            url: endpoint.url.clone(),
            enabled_events: serde_json::from_value(endpoint.enabled_events.clone())
                .unwrap_or_default(),
            description: endpoint.description.clone(),
            metadata: serde_json::from_value(endpoint.metadata.clone()).unwrap_or_default(),
            disabled: endpoint.disabled,
            failing_since: endpoint.failing_since.map(crate::infra::wire::timestamp),
        }
    }
}
