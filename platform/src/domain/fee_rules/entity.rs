use sea_orm::entity::prelude::*;

/// One version of one fee rule. Rows are never updated: a change inserts the next version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fee_rules")]
pub struct Model {
    /// The row's own id (one per version).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The rule's id, shared by all its versions; the public `fee_` id.
    pub rule_id: Uuid,
    /// 1, 2, …: unique per rule.
    pub version: i32,
    pub livemode: bool,
    pub priority: i32,
    /// [`super::stored::StoredConditions`] as JSON.
    pub conditions: Json,
    /// [`super::stored::StoredPricing`] as JSON, decimals as strings.
    pub pricing: Json,
    pub is_default: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
