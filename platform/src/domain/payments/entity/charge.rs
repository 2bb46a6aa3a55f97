use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "charges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    pub amount: i64,
    /// Lower-case ISO 4217.
    pub currency: String,
    pub status: ChargeStatus,
    pub captured: bool,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub application_fee_amount: i64,
    /// The one seller of a single-destination charge; null for a cart (see `splits`).
    pub destination_id: Option<Uuid>,
    /// `[{"destination": uuid, "amount": i64, "application_fee_amount": i64}]`, always at least
    /// one: a single-destination charge is a cart of one.
    pub splits: Json,
    pub payment_method: String,
    pub payment_method_reference: Option<String>,
    pub description: Option<String>,
    pub transfer_group: Option<String>,
    pub metadata: Json,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// The two-phase ledger entry of an uncaptured authorisation.
    pub authorization_entry_id: Option<Uuid>,
    /// The seller's balance transaction of a captured single-destination charge.
    pub balance_transaction_id: Option<Uuid>,
    /// When the sellers' shares move from pending to available.
    pub available_on: Option<DateTimeUtc>,
    pub settled: bool,
    pub disputed: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a charge stands, stored and shown as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChargeStatus {
    /// Captured (in full or in part).
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Authorised, not captured yet.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Declined by the processor: recorded, no money moved.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl ChargeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Pending => "pending",
            ChargeStatus::Failed => "failed",
        }
    }
}
