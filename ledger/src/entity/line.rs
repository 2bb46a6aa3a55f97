use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entry_id: Uuid,
    pub account_id: Uuid,
    /// Upper-case ISO 4217, the same as the account's.
    pub currency: String,
    /// `debit` or `credit`.
    pub side: String,
    /// Always positive.
    pub amount_minor: i64,
    /// A line of a pending (two-phase) entry: it moves pending balances only.
    pub pending: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
