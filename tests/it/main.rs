//! System tests: the real server over HTTP on a random port, each test with its own fresh
//! database: a SQLite file by default, or a new PostgreSQL database when
//! `AGORA_TEST_DATABASE_URL` points at a server (then it must be reachable: fail, never skip).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod api_usage;
mod auth;
mod clock;
mod conventions;
mod email;
mod events;
mod fee_rules;
mod idempotency;
mod kyc;
mod metrics;
mod onboarding;
mod payments;
mod payouts;
mod readiness;
mod refunds_vat;
mod restricted_keys;
mod sealing;
mod statements;
mod webhooks;
