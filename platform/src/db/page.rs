//! Keyset pages over UUIDv7 ids: newest first, at most `limit` rows, after or before a given
//! id. The gateway parses a list query into a [`Cursor`]; the domain runs it.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

/// One page to read: how many rows, after or before which id.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    pub limit: u64,
    pub starting_after: Option<Uuid>,
    pub ending_before: Option<Uuid>,
}

impl Cursor {
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
