use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    pub charge_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub reverse_transfer: bool,
    pub refund_application_fee: bool,
    /// `[{"destination", "seller_amount", "platform_amount"}]`: who bore what.
    pub allocation: Json,
    pub metadata: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
