use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::adapters::gateway::rate_limit::RateLimiter;
use crate::infra::config::Config;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub rate_limiter: Arc<RateLimiter>,
    /// The webhook worker's HTTP clients and in-flight bound.
    pub webhooks: Arc<crate::domain::webhooks::Runtime>,
    /// Encryption keys, the sanctions list, where files live.
    pub kyc: Arc<crate::domain::kyc::Runtime>,
    /// Where people reach this server (`public_url`, or the bound address): links in
    /// emails and account links start with it.
    pub public_url: Arc<str>,
    /// The group-commit writer `POST /v1/charges` hands its work to (gateway::batch).
    pub charge_writer: crate::adapters::gateway::batch::ChargeWriter,
}
