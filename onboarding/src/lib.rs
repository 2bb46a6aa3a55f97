//! Connected accounts (the sellers), their KYC profile and requirements, verification of what
//! they give, sanctions screening, and encryption of what must not be stored in the clear.
//! [`verify`] (checks of KYC values) and [`sanctions`] (OFAC SDN screening) are pure: no
//! database, no HTTP.
//!
//! Every finder is scoped by mode (`livemode`): test and live data never mix, and a caller
//! cannot forget the scope because there is no unscoped finder. Functions take any sea-orm
//! [`ConnectionTrait`](sea_orm::ConnectionTrait) so the caller composes one transaction across
//! modules (the account row and its event commit together). This crate knows nothing of HTTP,
//! JSON shapes of the API or public id strings.

pub mod accounts;
pub mod kyc;
pub mod links;
pub mod sanctions;
pub mod seal;
pub mod verify;
