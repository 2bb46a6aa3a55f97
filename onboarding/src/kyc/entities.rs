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
        /// `new`, `verified`, `errored`.
        pub status: String,
        pub failure_code: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub deleted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
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
        /// `open`, `approved`, `rejected`.
        pub status: String,
        pub details: Json,
        pub closed_reason: Option<String>,
        pub created_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
