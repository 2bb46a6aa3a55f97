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
    pub status: DisputeStatus,
    /// Who gave back what (as for a refund), so a won dispute returns it the same way.
    pub allocation: Json,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a dispute stands, stored and shown as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DisputeStatus {
    /// Open: the money is with the dispute.
    #[sea_orm(string_value = "needs_response")]
    NeedsResponse,
    /// Closed for the platform: the money came back.
    #[sea_orm(string_value = "won")]
    Won,
    /// Closed for the customer: the money stays gone.
    #[sea_orm(string_value = "lost")]
    Lost,
}

impl DisputeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::NeedsResponse => "needs_response",
            DisputeStatus::Won => "won",
            DisputeStatus::Lost => "lost",
        }
    }
}
