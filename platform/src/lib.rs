//! The `agora` service: CLI, HTTP gateway, JSON API, pages, API keys and the event outbox.
//!
//! This is the only crate that knows HTTP, JSON shapes, public ids (`acct_…`) or actix-web;
//! the domain crates (`ledger`, `fees`, `onboarding`, `payouts`) are composed here, one
//! database transaction per request.
//!
//! `src` is arranged in layers, each a folder; imports only go down (ARCHITECTURE.md,
//! "Layers", checked by `tests/layers.rs`): the composition root (`app`, `cli`, `workers`)
//! over the HTTP adapters over the domain services over the infrastructure.

pub mod adapters;
pub mod app;
pub mod bench;
pub mod cli;
pub mod domain;
pub mod infra;
pub mod workers;

pub use app::Application;
pub use infra::config::Config;
