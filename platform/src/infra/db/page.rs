//! Keyset pages over UUIDv7 ids: newest first, at most `limit` rows, after or before a given
//! id. The gateway parses a list query into a [`Cursor`]; the domain builds the scoped query;
//! [`Cursor::fetch_by_id`] and [`find_by_id`] run it by the entity's `id` primary key.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, Order,
    PrimaryKeyToColumn, QueryFilter, QueryOrder, QuerySelect, Select,
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

/// The column of `E`'s single-column primary key (every listed entity's `id`).
fn id_column<E: EntityTrait>() -> Result<E::Column, DbErr> {
    let mut keys = E::PrimaryKey::iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key.into_column()),
        _ => Err(DbErr::Custom(
            "keyset pages need a single-column primary key".to_owned(),
        )),
    }
}

impl Cursor {
    /// [`Cursor::fetch`] by the entity's `id` primary key.
    pub async fn fetch_by_id<E>(
        &self,
        db: &impl ConnectionTrait,
        query: Select<E>,
    ) -> Result<Page<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
    {
        self.fetch(db, query, id_column::<E>()?).await
    }
}

/// The row of `query` (already scoped to mode and tenant) with this `id`, if any.
pub async fn find_by_id<E>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: Uuid,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
{
    query.filter(id_column::<E>()?.eq(id)).one(db).await
}

pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}
