//! The fee rules engine: match a charge to the operator's rules, price it, round it, explain it.
//!
//! Pure by design: no I/O, no database, no clock of its own (time comes in the context), so
//! a quote is deterministic and can be property-tested. The rules arrive with their issue; this
//! crate is the place they live.
