//! The gateway: everything HTTP-shaped that every route shares. Error bodies, request ids and
//! spans, authentication, input parsing, idempotency, pagination and metadata are
//! implemented here once; handlers in `api/` only translate between JSON and the domain crates.

pub mod auth;
pub mod batch;
pub mod context;
pub mod error;
pub mod idempotency;
pub mod input;
pub mod metadata;
pub mod pagination;
pub mod permissions;
pub mod rate_limit;
pub mod request_id;
pub mod state;
pub mod usage;

pub use auth::Auth;
pub use error::ApiError;
pub use input::{ApiQuery, JsonBody};
