use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub livemode: bool,
    pub secret_hash: String,
    /// `sk_test_AbCd`: enough to recognise a key in a list, useless to an attacker.
    pub display_prefix: String,
    pub last4: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// NULL: a secret key (`sk_…`, everything in its mode). Otherwise a restricted key's
    /// grants, canonical (`accounts:read,charges:write`; see keys::permissions).
    pub permissions: Option<String>,
    /// What the operator called it (which service holds it).
    pub name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
