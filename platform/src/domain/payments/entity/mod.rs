pub mod balance_transaction;
pub mod charge;
pub mod charge_destination;
pub mod dispute;
pub mod refund;
pub mod transfer;
