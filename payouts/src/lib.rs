//! Payout schedules, payout runs, rails (SEPA, ACH, …), bank files and FX.
//!
//! Empty until its issue lands; kept as a crate so the dependency rule of ARCHITECTURE.md holds
//! from the first commit.
