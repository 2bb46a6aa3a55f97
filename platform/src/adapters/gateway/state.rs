use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::adapters::gateway::rate_limit::RateLimiter;
use crate::infra::cache::{self, TtlCache};
use crate::infra::config::Config;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub rate_limiter: Arc<RateLimiter>,
    /// Limits per client address (failed key lookups, hosted pages).
    pub client_limits: Arc<crate::adapters::gateway::rate_limit::ClientLimits>,
    /// The webhook worker's HTTP clients and in-flight bound.
    pub webhooks: Arc<crate::domain::webhooks::Runtime>,
    /// Encryption keys, the sanctions list, where files live.
    pub kyc: Arc<crate::domain::kyc::Runtime>,
    /// Where people reach this server (`public_url`, or the bound address): links in
    /// emails and account links start with it.
    pub public_url: Arc<str>,
    /// The group-commit writer `POST /v1/charges` hands its work to (gateway::batch).
    pub charge_writer: crate::adapters::gateway::batch::ChargeWriter,
    /// What every charge reads and almost nothing writes (infra::cache).
    pub caches: Arc<Caches>,
    /// API usage per key counted in memory until the usage worker flushes it
    /// (domain::usage; fed by gateway::usage).
    pub usage: Arc<crate::domain::usage::Recorder>,
}

impl AppState {
    /// Whether people reach this server over https (`public_url`'s scheme, any case): what
    /// HSTS follows. No forwarded header decides it, a trusted proxy's neither: HSTS pins the
    /// host for a year, so it follows the operator's configuration alone.
    pub fn public_url_is_https(&self) -> bool {
        self.public_url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    }
}

/// This process's read-through caches, each bounded by `cache_ttl_ms`.
pub struct Caches {
    /// API keys by the SHA-256 of their secret.
    pub keys: crate::domain::keys::KeyCache,
    /// Sellers by mode and id, as charges read them.
    pub sellers: crate::domain::payments::SellerCache,
    /// The test clock's offset.
    pub clock: crate::infra::clock::OffsetCache,
}

impl Caches {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            keys: TtlCache::new(ttl, &cache::KEYS),
            sellers: TtlCache::new(ttl, &cache::ACCOUNTS),
            clock: TtlCache::new(ttl, &cache::CLOCK),
        }
    }
}
