use sea_orm::entity::prelude::*;

/// How far a mode's clock runs ahead of the real one. Only test mode ever has a row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clock_offsets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub livemode: bool,
    pub offset_seconds: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
