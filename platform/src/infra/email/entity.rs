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
    /// `pending`, `sent` or `failed` (given up).
    pub status: String,
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
