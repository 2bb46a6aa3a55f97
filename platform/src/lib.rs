//! The `agora` service: CLI, HTTP gateway, JSON API, pages, API keys and the event outbox.
//!
//! This is the only crate that knows HTTP, JSON shapes, public ids (`acct_…`) or actix-web;
//! the domain crates (`ledger`, `fees`, `onboarding`, `payouts`) are composed here, one
//! database transaction per request.

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod email;
pub mod events;
pub mod fee_rules;
pub mod gateway;
pub mod hosted;
pub mod i18n;
pub mod keys;
pub mod kyc;
pub mod pages;
pub mod payments;
pub mod payouts;
pub mod state;
pub mod telemetry;
pub mod webhooks;
pub mod wire;
pub mod workers;

pub use app::Application;
pub use config::Config;
