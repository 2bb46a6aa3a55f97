use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    pub charge_id: Uuid,
    /// The disputed amount: what was captured and not refunded.
    pub amount: i64,
    /// The dispute fee the sellers paid to the platform.
    pub fee: i64,
    pub currency: String,
    pub reason: String,
    /// `needs_response`, `won` or `lost`.
    pub status: String,
    /// Who gave back what (as for a refund), so a won dispute returns it the same way.
    pub allocation: Json,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
