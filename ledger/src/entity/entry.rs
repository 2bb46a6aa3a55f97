use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    /// Unique per mode: posting the same key twice records one entry.
    pub key: String,
    /// What happened, e.g. `charge.captured`.
    pub kind: String,
    /// The business object the entry is about (a charge, a refund…).
    pub source_id: Option<Uuid>,
    /// `posted`, `pending`, `resolution_post` or `resolution_void`.
    pub status: String,
    /// For a resolution: the pending entry it resolves (unique: at most one resolution).
    pub pending_id: Option<Uuid>,
    /// Business time (the test clock in test mode).
    pub effective_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
