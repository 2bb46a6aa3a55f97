//! Tables of the KYC engine: bank accounts, uploaded files, operator reviews.

pub mod external_account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "external_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub account_id: Uuid,
        pub country: String,
        /// ISO 4217, lower case.
        pub currency: String,
        /// `iban`, `us_aba`, `gb_sort_code`.
        pub kind: String,
        /// ABA routing number or UK sort code (public bank identifiers).
        pub routing_number: Option<String>,
        /// The IBAN or account number, sealed.
        pub account_number_sealed: String,
        pub last4: String,
        pub fingerprint: String,
        pub account_holder_name: Option<String>,
        pub account_holder_type: Option<String>,
        pub default_for_currency: bool,
        pub status: BankAccountStatus,
        pub failure_code: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub deleted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Where a bank account stands, stored and shown as its lower-case name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    #[serde(rename_all = "snake_case")]
    pub enum BankAccountStatus {
        /// Added, not used for a payout yet.
        #[sea_orm(string_value = "new")]
        New,
        /// A payout to it was paid.
        #[sea_orm(string_value = "verified")]
        Verified,
        /// A payout to it failed: never a default, never paid to, until replaced.
        #[sea_orm(string_value = "errored")]
        Errored,
    }

    impl BankAccountStatus {
        pub fn as_str(self) -> &'static str {
            match self {
                BankAccountStatus::New => "new",
                BankAccountStatus::Verified => "verified",
                BankAccountStatus::Errored => "errored",
            }
        }
    }

    impl std::fmt::Display for BankAccountStatus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }
}

pub mod file {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "files")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub account_id: Option<Uuid>,
        pub purpose: String,
        pub mime_type: String,
        pub size: i64,
        pub sha256: String,
        pub filename: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod review {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reviews")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub account_id: Uuid,
        /// `sanctions_hit` or `document`.
        pub reason: String,
        /// The person: `individual`, `company.owners[1]`, …
        pub subject: String,
        pub status: ReviewStatus,
        pub details: Json,
        pub closed_reason: Option<String>,
        pub created_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    /// Where an operator review stands, stored and shown as its lower-case name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    #[serde(rename_all = "snake_case")]
    pub enum ReviewStatus {
        /// Waiting for an operator.
        #[sea_orm(string_value = "open")]
        Open,
        /// The operator cleared it.
        #[sea_orm(string_value = "approved")]
        Approved,
        /// The operator refused it.
        #[sea_orm(string_value = "rejected")]
        Rejected,
    }

    impl ReviewStatus {
        pub fn as_str(self) -> &'static str {
            match self {
                ReviewStatus::Open => "open",
                ReviewStatus::Approved => "approved",
                ReviewStatus::Rejected => "rejected",
            }
        }

        /// The status named `name` (its stored, lower-case name), if any.
        pub fn parse(name: &str) -> Option<Self> {
            <Self as sea_orm::Iterable>::iter().find(|s| s.as_str() == name)
        }
    }

    impl std::fmt::Display for ReviewStatus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }
}
