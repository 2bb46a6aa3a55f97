use sea_orm::entity::prelude::*;

/// One movement of an owner's balance as the owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "balance_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    /// The nil UUID for the platform, else the seller.
    pub owner_id: Uuid,
    /// `charge`, `application_fee`, `refund`, `transfer`, `transfer_reversal`, `dispute`,
    /// `dispute_fee`, `dispute_reversal`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    /// Gross, signed: negative when money leaves the owner.
    pub amount: i64,
    /// Everything taken from `amount` on its way to this balance: on a seller's charge the
    /// platform's application fee and the VAT on it; on a seller's dispute the dispute fee.
    pub fee: i64,
    /// The part of `fee` that is VAT on the platform's fee (0 where there is none).
    pub fee_tax: i64,
    /// `amount - fee`: what the balance moved by.
    pub net: i64,
    pub currency: String,
    /// When the movement counts as available (a charge's settlement date; else at once).
    pub available_on: DateTimeUtc,
    /// `charge`, `refund`, `transfer` or `dispute`.
    pub source_kind: String,
    pub source_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
