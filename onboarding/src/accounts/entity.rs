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
    /// What the seller told us (see `kyc::Profile`); sensitive values sealed.
    pub profile: Option<Json>,
    /// The last evaluation of the requirements (see `kyc::Evaluation`).
    pub kyc_state: Option<Json>,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub requirements_deadline: Option<DateTimeUtc>,
    pub deadline_applied: bool,
    /// `fraud`, `terms_of_service`, `other`, `listed`: the account can do nothing more.
    pub rejected_reason: Option<String>,
    /// Payout schedule: `manual`, `daily`, `weekly`, `monthly` (payouts issue).
    pub payout_interval: String,
    /// `monday` … `friday` (weekly).
    pub payout_weekly_anchor: Option<String>,
    /// 1 … 31 (monthly).
    pub payout_monthly_anchor: Option<i32>,
    pub payout_delay_days: Option<i32>,
    /// The operator's stop on payouts.
    pub payouts_paused: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
