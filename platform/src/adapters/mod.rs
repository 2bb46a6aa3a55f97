//! HTTP adapters: they parse requests, call one domain operation and render its answer.
//! The only layer that knows actix-web, status codes, API parameter names and pages.

pub mod api;
pub mod gateway;
pub mod hosted;
pub mod pages;
