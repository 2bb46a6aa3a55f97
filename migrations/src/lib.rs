//! One forward-only schema history for SQLite and PostgreSQL.
//!
//! Migrations are written with sea-query's builders, never raw SQL of one dialect, so the same
//! history runs on both stores. A migration that has shipped is never edited: a change is a new
//! migration appended to [`Migrator::migrations`].

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_foundation;
mod m20261125_000002_ledger;
mod m20261125_000003_fee_rules;
mod m20261125_000004_payments;
mod m20261125_000005_webhooks;
mod m20261125_000006_kyc;
mod m20261125_000007_payouts;
mod m20261125_000008_account_links;
mod m20261126_000009_batch_file_numbers;
mod m20261126_000010_email_outbox;
mod m20261126_000011_charge_destinations;
mod m20261126_000012_webhook_lanes;
mod m20261127_000013_restricted_keys;
mod m20261127_000014_bank_file_integrity;
mod m20261128_000015_api_usage;
mod m20261129_000016_onboarding_submitted;

/// The latency buckets of `api_usage` (one column each); the platform's histogram checks it
/// has as many.
pub use m20261128_000015_api_usage::LATENCY_BUCKETS as API_USAGE_LATENCY_BUCKETS;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_foundation::Migration),
            Box::new(m20261125_000002_ledger::Migration),
            Box::new(m20261125_000003_fee_rules::Migration),
            Box::new(m20261125_000004_payments::Migration),
            Box::new(m20261125_000005_webhooks::Migration),
            Box::new(m20261125_000006_kyc::Migration),
            Box::new(m20261125_000007_payouts::Migration),
            Box::new(m20261125_000008_account_links::Migration),
            Box::new(m20261126_000009_batch_file_numbers::Migration),
            Box::new(m20261126_000010_email_outbox::Migration),
            Box::new(m20261126_000011_charge_destinations::Migration),
            Box::new(m20261126_000012_webhook_lanes::Migration),
            Box::new(m20261127_000013_restricted_keys::Migration),
            Box::new(m20261127_000014_bank_file_integrity::Migration),
            Box::new(m20261128_000015_api_usage::Migration),
            Box::new(m20261129_000016_onboarding_submitted::Migration),
        ]
    }
}
