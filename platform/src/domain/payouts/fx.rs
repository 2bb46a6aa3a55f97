//! FX reference rates for payouts in another currency: the ECB's daily euro reference rates,
//! imported by the operator (`agora payouts fx-import eurofxref-daily.xml`) into `fx_rates`
//! (decimal strings, never floats), and the latest day's cross rate between two currencies.

use std::str::FromStr;

use agora_ledger::Currency;
use agora_payouts::fx::ecb::{self, RatesDay};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::PayoutError;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fx_rates")]
    pub struct Model {
        /// Always `EUR` for ECB rates.
        #[sea_orm(primary_key, auto_increment = false)]
        pub base: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub quote: String,
        /// Units of `quote` per one `base`, a decimal string.
        pub rate: String,
        /// `YYYY-MM-DD`, the ECB's reference day.
        #[sea_orm(primary_key, auto_increment = false)]
        pub as_of: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rates older than this many days are not used: a payout then waits for a fresh import
/// rather than converting at a rate the market has left.
pub const MAX_RATE_AGE_DAYS: i64 = 7;

/// Stores one ECB reference-rates file; returns its day and how many rates it held. A day
/// already imported keeps its rates (the ECB does not revise them).
pub async fn import_ecb(db: &impl ConnectionTrait, xml: &str) -> Result<RatesDay, PayoutError> {
    let day = ecb::parse_reference_rates(xml).map_err(|e| {
        PayoutError::state(
            "file_invalid",
            format!("not a readable ECB rates file: {e}"),
        )
    })?;
    let as_of = day.date.format("%Y-%m-%d").to_string();
    let rows: Vec<entity::ActiveModel> = day
        .rates
        .iter()
        .map(|(currency, rate)| entity::ActiveModel {
            base: Set("EUR".to_owned()),
            quote: Set(currency.code().to_owned()),
            rate: Set(rate.normalize().to_string()),
            as_of: Set(as_of.clone()),
        })
        .collect();
    if !rows.is_empty() {
        entity::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    entity::Column::Base,
                    entity::Column::Quote,
                    entity::Column::AsOf,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(day)
}

/// The most recent imported day, if it is at most [`MAX_RATE_AGE_DAYS`] before `today`.
pub async fn latest(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Option<RatesDay>, PayoutError> {
    let Some(newest) = entity::Entity::find()
        .filter(entity::Column::Base.eq("EUR"))
        .order_by_desc(entity::Column::AsOf)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Ok(date) = NaiveDate::parse_from_str(&newest.as_of, "%Y-%m-%d") else {
        return Ok(None);
    };
    if (today - date).num_days() > MAX_RATE_AGE_DAYS {
        return Ok(None);
    }
    // One day holds ~30 rates (one per ECB currency).
    let rows = entity::Entity::find()
        .filter(entity::Column::Base.eq("EUR"))
        .filter(entity::Column::AsOf.eq(newest.as_of.clone()))
        .all(db)
        .await?;
    let rates = rows
        .iter()
        .filter_map(|r| {
            Some((
                Currency::parse(&r.quote).ok()?,
                Decimal::from_str(&r.rate).ok()?,
            ))
        })
        .collect();
    Ok(Some(RatesDay { date, rates }))
}
