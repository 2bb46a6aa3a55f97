//! Fee rules as stored: versioned rows per mode, the per-mode default rule, and quoting a
//! charge against the active rules. The engine (`agora_fees`) stays pure; this module is
//! where its rules live in the database. It knows nothing of HTTP: the API layer
//! (`api::fee_rules`) converts public ids and JSON shapes at the edge.
//!
//! Invariants:
//! - **Versions are immutable.** A change (update, deactivation) inserts version N+1 of the
//!   same `rule_id`; no row is ever updated or deleted. A quote names the rule id and version
//!   that priced it, so an old charge can always be explained with the rule it met.
//! - **One default rule per mode**, with no conditions and priority [`DEFAULT_PRIORITY`]
//!   (`i32::MIN`), below every other rule (their priority is limited to
//!   [`PRIORITY_MIN`]..=[`PRIORITY_MAX`]), so every charge has a price. It is created on
//!   first need with a fixed `rule_id` per mode and `INSERT … ON CONFLICT DO NOTHING`, so
//!   concurrent first uses create it once. It can be repriced, never deactivated.
//! - **No two active rules of equal priority overlap** ([`agora_fees::check_conflicts`]).
//!   Writers of one mode are serialised by locking the default rule's first row (PostgreSQL;
//!   SQLite has one writer anyway), so two concurrent creates cannot both pass the check and
//!   two updates cannot both take version N+1 (the unique key would refuse the second).
//! - Every finder is scoped by mode.

pub mod entity;
pub mod stored;
pub mod view;

use std::collections::BTreeMap;

use agora_fees::{
    ChargeContext, Conditions, Pricing, Quote, QuoteError, Rounding, Rule, RuleError, Tiers, Vat,
};
use agora_ledger::Currency;
use agora_onboarding::accounts::{self, Account};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::infra::db::page::Cursor;
use crate::infra::events::{EventType, NewEvent, Origin};

/// The default rule's priority: below anything an operator can choose.
pub const DEFAULT_PRIORITY: i32 = i32::MIN;
/// Range of the priority of every other rule. Bounded so the default stays strictly below,
/// and so priorities stay readable numbers.
pub const PRIORITY_MIN: i32 = -1_000_000;
pub const PRIORITY_MAX: i32 = 1_000_000;
/// Active rules per mode. Every quote loads and scans all of them, so this bounds its cost.
pub const MAX_ACTIVE_RULES: u64 = 1000;
/// Values per condition list (`currencies`, `seller_ids`, …), entries per amount map
/// (`fixed`, `min`, `max`) and tiers per rule.
pub const MAX_LIST_LEN: usize = 100;
/// Versions per rule: a rule edited this often is better replaced by a new rule.
pub const MAX_VERSIONS: u32 = 10_000;

/// One version of a stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    /// Id, version, priority, conditions and pricing, as the engine takes them.
    pub rule: Rule,
    pub livemode: bool,
    pub is_default: bool,
    pub active: bool,
    /// When this version was written.
    pub created_at: DateTime<Utc>,
}

/// A new rule, parsed.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub priority: i32,
    pub conditions: Conditions,
    pub pricing: Pricing,
}

/// A change to a rule; `None` keeps a field. Maps and lists replace the old value whole.
#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    pub priority: Option<i32>,
    pub conditions: Option<Conditions>,
    pub percent: Option<Decimal>,
    pub fixed: Option<BTreeMap<Currency, i64>>,
    pub min: Option<BTreeMap<Currency, i64>>,
    pub max: Option<BTreeMap<Currency, i64>>,
    /// `Some(None)` removes the tiers.
    pub tiers: Option<Option<Tiers>>,
    /// `Some(None)` removes the VAT.
    pub vat: Option<Option<Vat>>,
    pub rounding: Option<Rounding>,
}

/// A charge to quote.
#[derive(Debug, Clone)]
pub struct QuoteInput {
    pub amount: i64,
    pub currency: Currency,
    /// The connected account receiving the charge.
    pub destination: Uuid,
    pub payment_method_type: String,
    /// ISO 3166 alpha-2 of the card or bank account, when known; decides `cross_border`.
    pub payment_method_country: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("no such fee rule")]
    NotFound,
    /// The rule is refused; `field` names the offending input.
    #[error("{0}")]
    Invalid(RuleError),
    /// Same priority as the active rule `other` and overlapping conditions.
    #[error("{error}")]
    Conflict { error: RuleError, other: Uuid },
    #[error("the default fee rule cannot be deactivated")]
    DefaultUndeletable,
    #[error("the fee rule is deactivated")]
    Inactive,
    #[error("at most {MAX_ACTIVE_RULES} active fee rules per mode")]
    TooManyRules,
    #[error("at most {MAX_VERSIONS} versions per fee rule")]
    TooManyVersions,
    #[error("no such account")]
    AccountNotFound,
    /// A rule that cannot be written as its API object: a bug.
    #[error("cannot encode a fee rule: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Quote(#[from] QuoteError),
    /// A stored row that cannot be read back: a bug or a hand-edited database.
    #[error("fee rule {rule_id} v{version} is unreadable: {message}")]
    Corrupt {
        rule_id: Uuid,
        version: i32,
        message: String,
    },
}

/// The default rule's id in a mode: fixed, so that every process, racing or not, means the
/// same row. Shaped like a UUIDv7 of time zero, so it sorts as the oldest rule.
pub fn default_rule_id(livemode: bool) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0000 | u128::from(livemode))
}

/// Every version of every rule of one mode: the only way in, so no query forgets the mode.
pub fn scoped(livemode: bool) -> Select<entity::Entity> {
    entity::Entity::find().filter(entity::Column::Livemode.eq(livemode))
}

/// The latest version of each rule of one mode.
pub fn latest(livemode: bool) -> Select<entity::Entity> {
    // Portable SQL (SQLite and PostgreSQL); the (rule_id, version) unique index serves it.
    scoped(livemode).filter(Expr::cust(
        "NOT EXISTS (SELECT 1 FROM fee_rules AS newer \
         WHERE newer.rule_id = fee_rules.rule_id AND newer.version > fee_rules.version)",
    ))
}

impl FeeRule {
    pub fn from_model(m: &entity::Model) -> Result<Self, Error> {
        let corrupt = |message: String| Error::Corrupt {
            rule_id: m.rule_id,
            version: m.version,
            message,
        };
        Ok(Self {
            rule: Rule {
                id: m.rule_id,
                version: u32::try_from(m.version).map_err(|e| corrupt(e.to_string()))?,
                priority: m.priority,
                conditions: stored::conditions_from_json(&m.conditions).map_err(corrupt)?,
                pricing: stored::pricing_from_json(&m.pricing).map_err(corrupt)?,
            },
            livemode: m.livemode,
            is_default: m.is_default,
            active: m.active,
            created_at: m.created_at,
        })
    }
}

fn row(
    livemode: bool,
    rule: &Rule,
    is_default: bool,
    active: bool,
    now: DateTime<Utc>,
) -> Result<entity::ActiveModel, Error> {
    let version = i32::try_from(rule.version).map_err(|_| Error::TooManyVersions)?;
    let json_error = |e: serde_json::Error| Error::Db(DbErr::Custom(e.to_string()));
    Ok(entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        rule_id: Set(rule.id),
        version: Set(version),
        livemode: Set(livemode),
        priority: Set(rule.priority),
        conditions: Set(stored::conditions_to_json(&rule.conditions).map_err(json_error)?),
        pricing: Set(stored::pricing_to_json(&rule.pricing).map_err(json_error)?),
        is_default: Set(is_default),
        active: Set(active),
        created_at: Set(now),
    })
}

/// Inserts one version, created at the mode's clock. Only ever inserts: versions are
/// immutable.
async fn insert_version(
    db: &impl ConnectionTrait,
    livemode: bool,
    rule: &Rule,
    is_default: bool,
    active: bool,
) -> Result<FeeRule, Error> {
    let now = crate::infra::clock::now(db, livemode).await?;
    entity::Entity::insert(row(livemode, rule, is_default, active, now)?)
        .exec_without_returning(db)
        .await?;
    Ok(FeeRule {
        rule: rule.clone(),
        livemode,
        is_default,
        active,
        created_at: now,
    })
}

/// Creates the mode's default rule if it does not exist yet: no conditions, the lowest
/// priority, `default_percent` of every charge. Safe to race: the fixed id and the unique
/// (rule_id, version) key let exactly one insert through.
pub async fn ensure_default(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
) -> Result<(), Error> {
    let id = default_rule_id(livemode);
    let exists = scoped(livemode)
        .filter(entity::Column::RuleId.eq(id))
        .filter(entity::Column::Version.eq(1))
        .count(db)
        .await?
        > 0;
    if exists {
        return Ok(());
    }
    let rule = Rule {
        id,
        version: 1,
        priority: DEFAULT_PRIORITY,
        conditions: Conditions::default(),
        pricing: Pricing {
            percent: default_percent,
            ..Pricing::default()
        },
    };
    agora_fees::validate(&rule).map_err(Error::Invalid)?;
    let now = crate::infra::clock::now(db, livemode).await?;
    let model = row(livemode, &rule, true, true, now)?;
    entity::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([entity::Column::RuleId, entity::Column::Version])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Serialises rule writers of one mode for the rest of the transaction: ensures the default
/// rule and, on PostgreSQL, locks its first row (which never changes). SQLite has one writer.
async fn lock_mode(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
) -> Result<(), Error> {
    ensure_default(db, livemode, default_percent).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        scoped(livemode)
            .filter(entity::Column::RuleId.eq(default_rule_id(livemode)))
            .filter(entity::Column::Version.eq(1))
            .lock_exclusive()
            .one(db)
            .await?;
    }
    Ok(())
}

/// The latest version of each active rule of the mode, the default rule included (created
/// if needed): what a charge is priced against.
pub async fn active_rules(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
) -> Result<Vec<Rule>, Error> {
    ensure_default(db, livemode, default_percent).await?;
    latest(livemode)
        .filter(entity::Column::Active.eq(true))
        .order_by_asc(entity::Column::RuleId)
        .limit(MAX_ACTIVE_RULES + 1)
        .all(db)
        .await?
        .iter()
        .map(|m| FeeRule::from_model(m).map(|r| r.rule))
        .collect()
}

/// One rule: its latest version, or `version` if given. Either may be inactive.
pub async fn get(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    rule_id: Uuid,
    version: Option<u32>,
) -> Result<Option<FeeRule>, Error> {
    if rule_id == default_rule_id(livemode) {
        ensure_default(db, livemode, default_percent).await?;
    }
    let query = match version {
        Some(v) => {
            let Ok(v) = i32::try_from(v) else {
                return Ok(None);
            };
            scoped(livemode).filter(entity::Column::Version.eq(v))
        }
        None => latest(livemode),
    };
    query
        .filter(entity::Column::RuleId.eq(rule_id))
        .one(db)
        .await?
        .as_ref()
        .map(FeeRule::from_model)
        .transpose()
}

/// One page of rules (latest version each), newest rule first; `active` filters on the
/// latest version's state.
pub async fn list(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    active: Option<bool>,
    cursor: &Cursor,
) -> Result<(Vec<FeeRule>, bool), Error> {
    ensure_default(db, livemode, default_percent).await?;
    let mut query = latest(livemode);
    if let Some(active) = active {
        query = query.filter(entity::Column::Active.eq(active));
    }
    let page = cursor.fetch(db, query, entity::Column::RuleId).await?;
    let rules = page
        .rows
        .iter()
        .map(FeeRule::from_model)
        .collect::<Result<_, _>>()?;
    Ok((rules, page.has_more))
}

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid(RuleError {
        field: field.to_owned(),
        code,
        message: message.into(),
    })
}

/// Limits the engine does not know: list lengths and the priority range.
fn check_limits(rule: &Rule, is_default: bool) -> Result<(), Error> {
    if !is_default && !(PRIORITY_MIN..=PRIORITY_MAX).contains(&rule.priority) {
        return Err(invalid(
            "priority",
            "priority_out_of_range",
            format!(
                "priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}, got {}; the default \
                 rule alone sits below that range",
                rule.priority
            ),
        ));
    }
    let c = &rule.conditions;
    let p = &rule.pricing;
    for (field, len) in [
        ("conditions.seller_ids", c.seller_ids.len()),
        ("conditions.seller_tags", c.seller_tags.len()),
        ("conditions.countries", c.countries.len()),
        ("conditions.currencies", c.currencies.len()),
        (
            "conditions.payment_method_types",
            c.payment_method_types.len(),
        ),
        ("fixed", p.fixed.len()),
        ("min", p.min.len()),
        ("max", p.max.len()),
        ("tiers", p.tiers.as_ref().map_or(0, |t| t.tiers.len())),
    ] {
        if len > MAX_LIST_LEN {
            return Err(invalid(
                field,
                "too_many_values",
                format!("{field} can hold at most {MAX_LIST_LEN} values, got {len}"),
            ));
        }
    }
    Ok(())
}

/// Validates `candidate` alone and against the other active rules.
async fn check_rule(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    candidate: &Rule,
    is_default: bool,
) -> Result<(), Error> {
    check_limits(candidate, is_default)?;
    agora_fees::validate(candidate).map_err(Error::Invalid)?;
    let existing = active_rules(db, livemode, default_percent).await?;
    if let Err(error) = agora_fees::check_conflicts(&existing, candidate) {
        // check_conflicts names the other rule by id in its message; find it so the API can
        // show its public id instead.
        let other = existing
            .iter()
            .find(|r| error.message.contains(&r.id.to_string()))
            .map_or(Uuid::nil(), |r| r.id);
        return Err(Error::Conflict { error, other });
    }
    Ok(())
}

/// Creates a rule (version 1, active) and records `fee_rule.created`.
pub async fn create(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    new: NewRule,
    origin: &Origin,
) -> Result<FeeRule, Error> {
    lock_mode(db, livemode, default_percent).await?;
    let active = latest(livemode)
        .filter(entity::Column::Active.eq(true))
        .count(db)
        .await?;
    if active >= MAX_ACTIVE_RULES {
        return Err(Error::TooManyRules);
    }
    let rule = Rule {
        id: Uuid::now_v7(),
        version: 1,
        priority: new.priority,
        conditions: new.conditions,
        pricing: new.pricing,
    };
    check_rule(db, livemode, default_percent, &rule, false).await?;
    let created = insert_version(db, livemode, &rule, false, true).await?;
    record(db, EventType::FeeRuleCreated, None, &created, origin).await?;
    Ok(created)
}

/// Records a rule's event at the time of the version it describes (the mode's clock); for a
/// change, with the attributes `before` had. Called only after a new version was written
/// (a change that changes nothing writes none), so there is always something to record.
async fn record(
    db: &impl ConnectionTrait,
    kind: EventType,
    before: Option<&FeeRule>,
    after: &FeeRule,
    origin: &Origin,
) -> Result<(), Error> {
    let object = view::FeeRuleObject::json(after)?;
    let previous_attributes = match before {
        None => None,
        Some(before) => Some(crate::infra::events::previous_attributes(
            &view::FeeRuleObject::json(before)?,
            &object,
        )),
    };
    crate::infra::events::record_at(
        db,
        NewEvent {
            livemode: after.livemode,
            account_id: None,
            kind,
            object,
            previous_attributes,
        },
        origin,
        after.created_at,
    )
    .await?;
    Ok(())
}

/// The latest version, under the mode's writer lock.
async fn current_for_write(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    rule_id: Uuid,
) -> Result<FeeRule, Error> {
    lock_mode(db, livemode, default_percent).await?;
    let current = get(db, livemode, default_percent, rule_id, None)
        .await?
        .ok_or(Error::NotFound)?;
    if current.rule.version >= MAX_VERSIONS {
        return Err(Error::TooManyVersions);
    }
    Ok(current)
}

/// Writes version N+1 with `changes` applied; returns (version N, version N+1). A change
/// that changes nothing writes nothing and returns the current version twice.
///
/// The default rule keeps no conditions and its priority: it must match every charge and
/// lose to every other rule. A deactivated rule cannot be changed (create a new one).
pub async fn update(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    rule_id: Uuid,
    changes: RuleChanges,
    origin: &Origin,
) -> Result<(FeeRule, FeeRule), Error> {
    let current = current_for_write(db, livemode, default_percent, rule_id).await?;
    if !current.active {
        return Err(Error::Inactive);
    }
    let mut next = current.rule.clone();
    next.version += 1;
    if let Some(priority) = changes.priority {
        next.priority = priority;
    }
    if let Some(conditions) = changes.conditions {
        next.conditions = conditions;
    }
    let p = &mut next.pricing;
    if let Some(percent) = changes.percent {
        p.percent = percent;
    }
    if let Some(fixed) = changes.fixed {
        p.fixed = fixed;
    }
    if let Some(min) = changes.min {
        p.min = min;
    }
    if let Some(max) = changes.max {
        p.max = max;
    }
    if let Some(tiers) = changes.tiers {
        p.tiers = tiers;
    }
    if let Some(vat) = changes.vat {
        p.vat = vat;
    }
    if let Some(rounding) = changes.rounding {
        p.rounding = rounding;
    }
    if current.is_default {
        if next.priority != DEFAULT_PRIORITY {
            return Err(invalid(
                "priority",
                "default_rule_priority",
                "the default rule's priority is fixed below every other rule's",
            ));
        }
        if next.conditions != Conditions::default() {
            return Err(invalid(
                "conditions",
                "default_rule_conditions",
                "the default rule has no conditions, so that every charge has a price",
            ));
        }
    }
    if next.priority == current.rule.priority
        && next.conditions == current.rule.conditions
        && next.pricing == current.rule.pricing
    {
        return Ok((current.clone(), current));
    }
    check_rule(db, livemode, default_percent, &next, current.is_default).await?;
    let after = insert_version(db, livemode, &next, current.is_default, true).await?;
    record(
        db,
        EventType::FeeRuleUpdated,
        Some(&current),
        &after,
        origin,
    )
    .await?;
    Ok((current, after))
}

/// Deactivates a rule by writing version N+1 with `active: false` (versions are immutable).
/// Returns (before, after); a rule already inactive is returned unchanged twice.
pub async fn deactivate(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    rule_id: Uuid,
    origin: &Origin,
) -> Result<(FeeRule, FeeRule), Error> {
    let current = current_for_write(db, livemode, default_percent, rule_id).await?;
    if current.is_default {
        return Err(Error::DefaultUndeletable);
    }
    if !current.active {
        return Ok((current.clone(), current));
    }
    let mut next = current.rule.clone();
    next.version += 1;
    let after = insert_version(db, livemode, &next, false, false).await?;
    record(
        db,
        EventType::FeeRuleUpdated,
        Some(&current),
        &after,
        origin,
    )
    .await?;
    Ok((current, after))
}

/// What the engine needs to know about a charge to `account`.
pub fn context_for(account: &Account, input: &QuoteInput, monthly_volume: i64) -> ChargeContext {
    ChargeContext {
        amount: input.amount,
        currency: input.currency,
        seller_id: account.id,
        seller_country: account.country.clone(),
        seller_tags: account.tags_list(),
        payment_method_type: input.payment_method_type.clone(),
        // Unknown payment method country: treated as domestic.
        cross_border: input
            .payment_method_country
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(&account.country)),
        at: input.at,
        monthly_volume,
    }
}

/// Prices a charge to `input.destination` with the mode's active rules. `monthly_volume` is
/// the seller's captured volume this month before the charge (the ledger supplies it).
pub async fn quote_for(
    db: &impl ConnectionTrait,
    livemode: bool,
    default_percent: Decimal,
    input: &QuoteInput,
    monthly_volume: i64,
) -> Result<Quote, Error> {
    let account = accounts::find(db, livemode, input.destination)
        .await?
        .ok_or(Error::AccountNotFound)?;
    let rules = active_rules(db, livemode, default_percent).await?;
    let ctx = context_for(&account, input, monthly_volume);
    Ok(agora_fees::quote(&rules, &ctx)?)
}

/// The index of the first of `sellers` that is no account of this mode (a rule for a seller
/// that does not exist is a mistake worth naming), or None when all exist.
pub async fn first_unknown_seller(
    db: &impl sea_orm::ConnectionTrait,
    livemode: bool,
    sellers: &[uuid::Uuid],
) -> Result<Option<usize>, sea_orm::DbErr> {
    use agora_onboarding::accounts;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let found: Vec<uuid::Uuid> = accounts::scoped(livemode)
        .select_only()
        .column(accounts::entity::Column::Id)
        .filter(accounts::entity::Column::Id.is_in(sellers.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(sellers.iter().position(|id| !found.contains(id)))
}
