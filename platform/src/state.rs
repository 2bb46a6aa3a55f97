use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// The webhook worker's HTTP clients and in-flight bound.
    pub webhooks: Arc<crate::webhooks::Runtime>,
}
