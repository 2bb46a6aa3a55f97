//! The pure core of global payouts: calendars, arrival dates, schedules, FX and bank files.
//!
//! No database and no HTTP: every function here is a pure function of its inputs, so that the
//! API, the workers and the CLI can share it and tests can pin it down with hand-checked
//! values. Money is always `i64` minor units of an [`agora_ledger::Currency`]; rates are
//! [`rust_decimal::Decimal`]; floats never touch an amount.
//!
//! - [`calendar`]: [`Rail`], and the business-day [`Calendar`] of each rail.
//! - [`arrival`]: cut-offs and settlement times → [`arrival_date`].
//! - [`schedule`]: payout [`Schedule`]s, payout days and idempotent period keys.
//! - [`fx`]: exact currency conversion with a markup, and ECB reference rates ([`fx::ecb`]).
//! - Bank files: [`sepa`] (pain.001.001.09), [`nacha`] (ACH, and returns), [`bacs`]
//!   (Standard 18), [`csv_file`] (any other rail), [`pain002`] (ISO 20022 status reports).
//! - [`failure`]: the rail-independent [`FailureCode`].
//!
//! Every bank-file builder validates its input and returns an error instead of panicking; every
//! batch is limited to [`MAX_BATCH_ENTRIES`] entries.

pub mod arrival;
pub mod bacs;
pub mod calendar;
pub mod csv_file;
pub mod failure;
pub mod fx;
pub mod iban;
pub mod nacha;
pub mod pain002;
pub mod schedule;
pub mod sepa;
pub(crate) mod text;
pub(crate) mod xml;

pub use arrival::{arrival_date, Method};
pub use calendar::{Calendar, Rail};
pub use failure::FailureCode;
pub use fx::{convert, Conversion, FxError};
pub use schedule::{Interval, Schedule, ScheduleError};

/// Most entries (credits) in one bank file or batch. Banks accept more, but a payout run that
/// produces more than this should split its files: smaller files fail and retry in smaller
/// pieces, and the limit bounds memory.
pub const MAX_BATCH_ENTRIES: usize = 10_000;
