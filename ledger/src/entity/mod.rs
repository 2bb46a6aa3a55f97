pub mod account;
pub mod entry;
pub mod line;
