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
    pub status: EntryStatus,
    /// For a resolution: the pending entry it resolves (unique: at most one resolution).
    pub pending_id: Option<Uuid>,
    /// Business time (the test clock in test mode).
    pub effective_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What an entry is, stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Moved its amounts into the posted balances.
    #[sea_orm(string_value = "posted")]
    Posted,
    /// Two-phase: holds its amounts in the pending balances until resolved.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Resolves a pending entry by posting (all or part of) it.
    #[sea_orm(string_value = "resolution_post")]
    ResolutionPost,
    /// Resolves a pending entry by releasing it.
    #[sea_orm(string_value = "resolution_void")]
    ResolutionVoid,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Posted => "posted",
            EntryStatus::Pending => "pending",
            EntryStatus::ResolutionPost => "resolution_post",
            EntryStatus::ResolutionVoid => "resolution_void",
        }
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
