//! The `api_usage` table (migration 000015), as far as sea-orm needs it: the identity of a
//! row, for the retention sweep (`infra::db::delete_in_batches`). The counts and the latency
//! buckets are written and summed by the SQL in `store.rs`, which adds them up in the
//! database.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_usage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub key_id: Uuid,
    pub livemode: bool,
    /// The route pattern, `/v1/charges/{id}`.
    pub route: String,
    pub method: String,
    /// Unix seconds, a multiple of 60 (wall clock).
    pub minute_start: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
