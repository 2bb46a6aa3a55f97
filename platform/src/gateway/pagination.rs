//! Cursor pagination over UUIDv7 ids: newest first, `limit` 1–100 (default 10),
//! `starting_after` / `ending_before` an object id of the list's kind.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use super::ids::{self, IdKind};

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 100;

/// The pagination part of a list query, as parsed.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    pub limit: u64,
    pub starting_after: Option<Uuid>,
    pub ending_before: Option<Uuid>,
}

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

    /// Runs `query` (already scoped to mode and tenant) for one page, newest first.
    pub async fn fetch<E, C>(
        &self,
        db: &impl ConnectionTrait,
        query: Select<E>,
        id_column: C,
    ) -> Result<Page<E::Model>, sea_orm::DbErr>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        C: ColumnTrait,
    {
        // One more than asked tells whether there is a next page without a COUNT.
        let take = self.limit + 1;
        let (query, backwards) = match (self.starting_after, self.ending_before) {
            (Some(after), _) => (
                query
                    .filter(id_column.lt(after))
                    .order_by(id_column, Order::Desc),
                false,
            ),
            (None, Some(before)) => (
                query
                    .filter(id_column.gt(before))
                    .order_by(id_column, Order::Asc),
                true,
            ),
            (None, None) => (query.order_by(id_column, Order::Desc), false),
        };
        let mut rows = query.limit(take).all(db).await?;
        let has_more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if backwards {
            rows.reverse();
        }
        Ok(Page { rows, has_more })
    }
}

pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
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
