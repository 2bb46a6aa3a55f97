use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub email: Option<String>,
    /// `individual` or `company`.
    pub business_type: Option<String>,
    /// ISO 4217, lower case.
    pub default_currency: String,
    /// A JSON object of string values.
    pub metadata: Json,
    /// A JSON array of seller tags (strings), `[]` when none; fee rules match on them.
    pub tags: Json,
    /// Days a charge's funds stay pending for this seller; null: the platform's default.
    pub settlement_delay_days: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
