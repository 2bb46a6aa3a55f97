//! The payout tables, and the payout settings on `accounts` (a second, narrow entity over the
//! same table, so the onboarding crate's account entity does not need to know about payouts).

use sea_orm::entity::prelude::*;

/// Where a payout stands, stored and shown as its lower-case name. The moves between them are
/// in `payouts::Outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PayoutStatus {
    /// Created; the money left the seller's available balance.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// In a bank file handed to the bank.
    #[sea_orm(string_value = "in_transit")]
    InTransit,
    #[sea_orm(string_value = "paid")]
    Paid,
    /// The bank refused or returned it: the money is back on the balance.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Canceled while pending: the money is back on the balance.
    #[sea_orm(string_value = "canceled")]
    Canceled,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 5] = [
        PayoutStatus::Pending,
        PayoutStatus::InTransit,
        PayoutStatus::Paid,
        PayoutStatus::Failed,
        PayoutStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "pending",
            PayoutStatus::InTransit => "in_transit",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
            PayoutStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<PayoutStatus> {
        PayoutStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

pub mod payout {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payouts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub account_id: Uuid,
        pub external_account_id: Uuid,
        /// Minor units of `currency` that reach the bank account.
        pub amount: i64,
        /// Instant payout fee, minor units, taken from the balance on top of `amount`.
        pub fee: i64,
        /// ISO 4217, lower case.
        pub currency: String,
        /// `standard` or `instant`.
        pub method: String,
        pub status: super::PayoutStatus,
        pub rail: String,
        /// `YYYY-MM-DD`.
        pub arrival_date: String,
        pub period_key: Option<String>,
        pub source_amount: Option<i64>,
        pub source_currency: Option<String>,
        pub fx_rate: Option<String>,
        pub fx_markup: Option<String>,
        pub failure_code: Option<String>,
        pub batch_id: Option<Uuid>,
        pub entry_id: Option<Uuid>,
        pub resolution_entry_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payout_batch {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payout_batches")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub rail: String,
        pub currency: String,
        pub status: BatchStatus,
        /// The file's name as served; stored sealed under `<data_dir>/payout_batches/` as
        /// `<file_name>.sealed` (a batch from before migration 000014: plain, as named).
        pub file_name: String,
        pub entry_count: i32,
        pub total: i64,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        /// The (UTC) day the file was written and its sequence number that day (1, 2, …):
        /// unique per mode and rail, so no two files of a day carry the same NACHA file id
        /// modifier or Bacs file number.
        pub file_day: Option<Date>,
        pub file_seq: Option<i32>,
        /// SHA-256 (hex) of the bank file as written: it is served only while it matches.
        /// None for a batch from before migration 000014 (its file is plain, not sealed).
        pub file_sha256: Option<String>,
        /// When the retention sweep deleted the file (`bank_file_retention_days` after
        /// `sent_at`).
        pub file_deleted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Where a bank file stands, stored and shown as its lower-case name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    #[serde(rename_all = "snake_case")]
    pub enum BatchStatus {
        /// The file is written.
        #[sea_orm(string_value = "created")]
        Created,
        /// The operator handed it to the bank.
        #[sea_orm(string_value = "sent")]
        Sent,
    }

    impl BatchStatus {
        pub fn as_str(self) -> &'static str {
            match self {
                BatchStatus::Created => "created",
                BatchStatus::Sent => "sent",
            }
        }
    }

    impl std::fmt::Display for BatchStatus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }
}

/// The payout columns of `accounts`, and what the scheduler needs to pick accounts.
pub mod payout_settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub country: String,
        /// Balances in a currency without a bank account of their own are converted to this
        /// currency's default bank account when there is one.
        pub default_currency: String,
        pub email: Option<String>,
        /// The KYC profile (for the individual's email when the account has none).
        pub profile: Option<Json>,
        pub payouts_enabled: bool,
        /// The evaluated KYC state (why payouts are disabled, for the run's report).
        pub kyc_state: Option<Json>,
        pub rejected_reason: Option<String>,
        /// `manual`, `daily`, `weekly`, `monthly`.
        pub payout_interval: String,
        /// `monday` .. `friday` (weekly).
        pub payout_weekly_anchor: Option<String>,
        /// 1 .. 31 (monthly).
        pub payout_monthly_anchor: Option<i32>,
        pub payout_delay_days: Option<i32>,
        pub payouts_paused: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
