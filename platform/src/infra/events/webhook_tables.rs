//! The three webhook tables. Delivery times (`next_attempt_at`, `locked_until`, …) are in the
//! mode's clock (`crate::infra::clock`), so the test clock drives retries in test mode.

pub mod endpoint {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_endpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub url: String,
        /// JSON array of patterns: `*`, `charge.*`, `charge.refunded`.
        pub enabled_events: Json,
        pub description: Option<String>,
        pub metadata: Json,
        pub disabled: bool,
        /// `whsec_…`, stored as given (encryption at rest is not done yet).
        pub secret: String,
        /// The secret before the last rotation, still signing until it expires.
        pub previous_secret: Option<String>,
        pub previous_secret_expires_at: Option<DateTimeUtc>,
        /// Start of the current run of failed attempts; null after any success.
        pub failing_since: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod delivery {
    use sea_orm::entity::prelude::*;

    /// Where a webhook delivery stands, stored as its lower-case name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    #[serde(rename_all = "snake_case")]
    pub enum DeliveryStatus {
        /// Waiting for its (next) attempt.
        #[sea_orm(string_value = "pending")]
        Pending,
        /// The endpoint answered 2xx.
        #[sea_orm(string_value = "delivered")]
        Delivered,
        /// Retries ran out (3 days): given up.
        #[sea_orm(string_value = "failed")]
        Failed,
    }

    impl DeliveryStatus {
        pub fn as_str(self) -> &'static str {
            match self {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Failed => "failed",
            }
        }
    }

    impl std::fmt::Display for DeliveryStatus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub livemode: bool,
        pub endpoint_id: Uuid,
        pub event_id: Uuid,
        pub status: DeliveryStatus,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        /// Set by the worker that claimed the row; another may take it after this time.
        pub locked_until: Option<DateTimeUtc>,
        pub last_status_code: Option<i32>,
        pub last_error: Option<String>,
        pub last_latency_ms: Option<i64>,
        pub delivered_at: Option<DateTimeUtc>,
        /// Start of this delivery (or of its last redelivery): retries stop 3 days after it.
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attempt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub delivery_id: Uuid,
        pub endpoint_id: Uuid,
        pub event_id: Uuid,
        pub status_code: Option<i32>,
        pub error: Option<String>,
        pub latency_ms: i64,
        pub attempted_at: DateTimeUtc,
        pub next_retry_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
