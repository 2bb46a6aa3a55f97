//! `emails`: the email outbox (migration 000010).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "emails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What the email is about (`onboarding_invitation`, `payout_paid`, …): for logs and
    /// operators, who must not read the message itself.
    pub kind: String,
    pub status: EmailStatus,
    pub attempts: i32,
    /// When the worker may (next) try it; while one worker sends it, the end of its lease.
    pub next_attempt_at: DateTimeUtc,
    /// The sealed envelope and message; `None` once sent or given up.
    pub message_sealed: Option<String>,
    /// The last failure (never the message or its recipients).
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where an outgoing email stands, stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Waiting for its (next) attempt.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Handed to the SMTP server (or written as .eml).
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up: 8 attempts, or a permanent (5xx) refusal.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for EmailStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
