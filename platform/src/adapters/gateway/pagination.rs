//! Cursor pagination over UUIDv7 ids: newest first, `limit` 1–100 (default 10),
//! `starting_after` / `ending_before` an object id of the list's kind.

use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use crate::infra::wire::ids::{self, IdKind};

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 100;

pub use crate::infra::db::page::{Cursor, Page};

impl Cursor {
    pub fn parse(
        kind: IdKind,
        limit: Option<i64>,
        starting_after: Option<&str>,
        ending_before: Option<&str>,
    ) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(_) => {
                return Err(ApiError::invalid(
                    "limit",
                    "parameter_invalid",
                    format!("limit must be between 1 and {MAX_LIMIT}."),
                ))
            }
        };
        if starting_after.is_some() && ending_before.is_some() {
            return Err(ApiError::invalid(
                "ending_before",
                "parameter_conflict",
                "Use either starting_after or ending_before, not both.",
            ));
        }
        let parse = |param: &'static str, value: Option<&str>| -> Result<Option<Uuid>, ApiError> {
            value
                .map(|v| {
                    ids::decode(kind, v).map_err(|e| {
                        ApiError::invalid(
                            param,
                            "parameter_invalid",
                            format!("Invalid {param}: {e}"),
                        )
                    })
                })
                .transpose()
        };
        Ok(Self {
            limit,
            starting_after: parse("starting_after", starting_after)?,
            ending_before: parse("ending_before", ending_before)?,
        })
    }
}

/// `{"object":"list","data":[…],"has_more":…,"url":…}`
#[derive(Debug, Serialize)]
pub struct ListBody<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
    pub url: String,
}

impl<T> ListBody<T> {
    pub fn new(url: &str, data: Vec<T>, has_more: bool) -> Self {
        Self {
            object: "list",
            data,
            has_more,
            url: url.to_owned(),
        }
    }
}
