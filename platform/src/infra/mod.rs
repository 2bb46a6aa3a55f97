//! Infrastructure shared by every layer above: storage and migrations, the clock, the event
//! and email outboxes, configuration, telemetry, wire formats, message catalogues and the workers' status.

pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
pub mod email;
pub mod events;
pub mod files;
pub mod i18n;
pub mod metrics;
pub mod telemetry;
pub mod wire;
pub mod workers_status;
