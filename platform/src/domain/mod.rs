//! Domain services: payments, payouts, KYC, fee rules, webhooks, API keys and their usage. No HTTP, no API
//! or page types; each service answers with its own error enum, mapped to HTTP once in
//! `adapters::api::errors`.

pub mod fee_rules;
pub mod keys;
pub mod kyc;
pub mod payments;
pub mod payouts;
pub mod queues;
pub mod sealing;
pub mod usage;
pub mod webhooks;
