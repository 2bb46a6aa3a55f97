//! Connected accounts, basic fields. KYC fields arrive with their own issue.

pub mod entity;
mod types;

pub use entity::Model as Account;
pub use types::{parse_tags, BusinessType, CountryCode, Email, FieldError, Tag, MAX_TAGS};

use std::collections::BTreeMap;

use agora_ledger::Currency;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Select, Set,
};
use uuid::Uuid;

pub type Metadata = BTreeMap<String, String>;

/// What a new account starts with; every field already parsed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub country: CountryCode,
    pub email: Option<Email>,
    pub business_type: Option<BusinessType>,
    pub default_currency: Currency,
    pub metadata: Metadata,
    pub tags: Vec<Tag>,
    /// Days a charge's funds stay pending for this seller; `None`: the platform's default.
    pub settlement_delay_days: Option<u32>,
}

/// A change to an account. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// `Some(None)` removes the email.
    pub email: Option<Option<Email>>,
    pub business_type: Option<BusinessType>,
    pub default_currency: Option<Currency>,
    /// The whole new metadata map (the caller merges and checks its limits).
    pub metadata: Option<Metadata>,
    /// The whole new tag list (replaces the old one).
    pub tags: Option<Vec<Tag>>,
    /// `Some(None)` returns the seller to the platform's default.
    pub settlement_delay_days: Option<Option<u32>>,
}

impl AccountChanges {
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.business_type.is_none()
            && self.default_currency.is_none()
            && self.metadata.is_none()
            && self.tags.is_none()
            && self.settlement_delay_days.is_none()
    }
}

/// All accounts of one mode: the only way in, so no query forgets the mode.
pub fn scoped(livemode: bool) -> Select<entity::Entity> {
    entity::Entity::find().filter(entity::Column::Livemode.eq(livemode))
}

pub async fn find(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<Option<Account>, DbErr> {
    scoped(livemode)
        .filter(entity::Column::Id.eq(id))
        .one(db)
        .await
}

/// Inserts a new account created at `now`: the mode's clock, which the caller reads (test
/// mode runs on the test clock; this crate has no clock of its own).
pub async fn create(
    db: &impl ConnectionTrait,
    livemode: bool,
    now: DateTime<Utc>,
    new: NewAccount,
) -> Result<Account, DbErr> {
    let model = entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        livemode: Set(livemode),
        country: Set(new.country.as_str().to_owned()),
        email: Set(new.email.map(|e| e.as_str().to_owned())),
        business_type: Set(new.business_type.map(|b| b.as_str().to_owned())),
        default_currency: Set(new.default_currency.api_code()),
        metadata: Set(metadata_json(&new.metadata)),
        tags: Set(tags_json(&new.tags)),
        settlement_delay_days: Set(new
            .settlement_delay_days
            .map(i32::try_from)
            .transpose()
            .unwrap_or(None)),
        profile: Set(None),
        kyc_state: Set(None),
        charges_enabled: Set(false),
        payouts_enabled: Set(false),
        requirements_deadline: Set(None),
        deadline_applied: Set(false),
        rejected_reason: Set(None),
        payout_interval: Set("manual".to_owned()),
        payout_weekly_anchor: Set(None),
        payout_monthly_anchor: Set(None),
        payout_delay_days: Set(None),
        payouts_paused: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db).await
}

/// Applies `changes` at `now` (the mode's clock) and returns the account before and after,
/// or `None` if no such account exists in this mode. The row is locked for the transaction on PostgreSQL so two concurrent
/// updates cannot lose one another's metadata merge (SQLite has one writer anyway).
pub async fn update(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
    now: DateTime<Utc>,
    changes: AccountChanges,
) -> Result<Option<(Account, Account)>, DbErr> {
    let Some(before) = find_for_update(db, livemode, id).await? else {
        return Ok(None);
    };
    if changes.is_empty() {
        return Ok(Some((before.clone(), before)));
    }
    let mut model: entity::ActiveModel = before.clone().into();
    if let Some(email) = changes.email {
        model.email = Set(email.map(|e| e.as_str().to_owned()));
    }
    if let Some(business_type) = changes.business_type {
        model.business_type = Set(Some(business_type.as_str().to_owned()));
    }
    if let Some(currency) = changes.default_currency {
        model.default_currency = Set(currency.api_code());
    }
    if let Some(metadata) = changes.metadata {
        model.metadata = Set(metadata_json(&metadata));
    }
    if let Some(days) = changes.settlement_delay_days {
        model.settlement_delay_days = Set(days.and_then(|d| i32::try_from(d).ok()));
    }
    if let Some(tags) = changes.tags {
        model.tags = Set(tags_json(&tags));
    }
    model.updated_at = Set(now);
    let after = model.update(db).await?;
    Ok(Some((before, after)))
}

/// Like [`find`], taking a row lock where the database has them.
pub async fn find_for_update(
    db: &impl ConnectionTrait,
    livemode: bool,
    id: Uuid,
) -> Result<Option<Account>, DbErr> {
    let mut query = scoped(livemode).filter(entity::Column::Id.eq(id));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await
}

fn metadata_json(metadata: &Metadata) -> serde_json::Value {
    serde_json::Value::Object(
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

fn tags_json(tags: &[Tag]) -> serde_json::Value {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::Value::String(t.as_str().to_owned()))
            .collect(),
    )
}

impl Account {
    /// The stored tags; anything that is not a string is skipped, since only strings are ever
    /// written.
    pub fn tags_list(&self) -> Vec<String> {
        match &self.tags {
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The stored metadata as a map; anything that is not a string is skipped, since only
    /// strings are ever written.
    pub fn metadata_map(&self) -> Metadata {
        match &self.metadata {
            serde_json::Value::Object(map) => map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect(),
            _ => Metadata::new(),
        }
    }
}

/// Longest settlement delay an account may have.
pub const MAX_SETTLEMENT_DELAY_DAYS: u32 = 365;
