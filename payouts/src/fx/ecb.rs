//! ECB euro foreign exchange reference rates, as published daily in `eurofxref-daily.xml`:
//!
//! ```xml
//! <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
//!                  xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
//!   <gesmes:subject>Reference rates</gesmes:subject>
//!   <Cube><Cube time="2026-11-24"><Cube currency="USD" rate="1.0842"/>…</Cube></Cube>
//! </gesmes:Envelope>
//! ```
//!
//! Each rate is units of the currency per 1 EUR. Cross rates between two non-euro currencies
//! go through the euro: USD→SEK = (SEK per EUR) / (USD per EUR).

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{FxError, MAX_RATE_SCALE};
use crate::xml::{self, Element, Limits, XmlError};
use agora_ledger::Currency;

/// The daily file is ~2 KB with ~30 rates; anything far larger is not this file.
const LIMITS: Limits = Limits {
    max_bytes: 256 * 1024,
    max_depth: 8,
    max_elements: 1_000,
};

/// One publication day of reference rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatesDay {
    pub date: NaiveDate,
    /// Units of the currency per 1 EUR, in the order of the file.
    pub rates: Vec<(Currency, Decimal)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("not an ECB reference rates envelope (root element `{0}`)")]
    NotEnvelope(String),
    #[error("expected exactly one <Cube time=…> day, found {0}")]
    DayCount(usize),
    #[error("invalid date `{0}`")]
    Date(String),
    #[error("invalid currency `{0}`")]
    Currency(String),
    #[error("invalid rate `{1}` for {0}")]
    Rate(String, String),
    #[error("{0} appears twice")]
    Duplicate(Currency),
    #[error("the day has no rates")]
    NoRates,
}

/// Parses `eurofxref-daily.xml`. Every rate must be a positive decimal of an ISO currency
/// (refusing the whole file rather than silently dropping a currency that sellers are paid in).
pub fn parse_reference_rates(xml: &str) -> Result<RatesDay, Error> {
    let root = xml::parse(xml, &LIMITS)?;
    if root.name != "Envelope" {
        return Err(Error::NotEnvelope(root.name));
    }
    let days: Vec<&Element> = root
        .children_named("Cube")
        .flat_map(|outer| outer.children_named("Cube"))
        .filter(|c| c.attr("time").is_some())
        .collect();
    let [day] = days.as_slice() else {
        return Err(Error::DayCount(days.len()));
    };
    let time = day.attr("time").unwrap_or_default();
    let date =
        NaiveDate::parse_from_str(time, "%Y-%m-%d").map_err(|_| Error::Date(time.to_owned()))?;
    let mut rates: Vec<(Currency, Decimal)> = Vec::new();
    for cube in day.children_named("Cube") {
        let code = cube.attr("currency").unwrap_or_default();
        let currency = Currency::parse(code).map_err(|_| Error::Currency(code.to_owned()))?;
        let raw = cube.attr("rate").unwrap_or_default();
        let rate = raw
            .parse::<Decimal>()
            .ok()
            .filter(|r| *r > Decimal::ZERO && r.scale() <= MAX_RATE_SCALE)
            .ok_or_else(|| Error::Rate(code.to_owned(), raw.to_owned()))?;
        if rates.iter().any(|(c, _)| *c == currency) {
            return Err(Error::Duplicate(currency));
        }
        rates.push((currency, rate));
    }
    if rates.is_empty() {
        return Err(Error::NoRates);
    }
    Ok(RatesDay { date, rates })
}

/// Decimal places of a cross rate. Ten is far beyond the 5–6 significant digits of the ECB
/// rates it is made of, and keeps it within [`super::MAX_RATE_SCALE`] for `convert`.
pub const CROSS_RATE_SCALE: u32 = 10;

impl RatesDay {
    /// Units of `currency` per 1 EUR (`1` for EUR itself).
    pub fn per_euro(&self, currency: Currency) -> Option<Decimal> {
        if currency.code() == "EUR" {
            return Some(Decimal::ONE);
        }
        self.rates
            .iter()
            .find(|(c, _)| *c == currency)
            .map(|(_, r)| *r)
    }

    /// Mid rate from `from` to `to` (units of `to` per 1 `from`) through the euro, rounded
    /// toward zero at [`CROSS_RATE_SCALE`] decimals (so, like `convert`, never in the
    /// seller's favour by more than 1e-10).
    pub fn cross_rate(&self, from: Currency, to: Currency) -> Result<Decimal, FxError> {
        let from_rate = self.per_euro(from).ok_or(FxError::MissingRate(from))?;
        let to_rate = self.per_euro(to).ok_or(FxError::MissingRate(to))?;
        let rate = to_rate.checked_div(from_rate).ok_or(FxError::Overflow)?;
        Ok(rate
            .round_dp_with_strategy(CROSS_RATE_SCALE, RoundingStrategy::ToZero)
            .normalize())
    }
}
