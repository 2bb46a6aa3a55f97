//! The ECB reference-rate parser against a fixture in the published `eurofxref-daily.xml`
//! format, and a cross rate through the euro.

// A panic in a test is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use agora_ledger::Currency;
use agora_payouts::fx::ecb::{parse_reference_rates, Error};
use agora_payouts::fx::{convert, FxError};
use chrono::NaiveDate;
use rust_decimal::Decimal;

const FIXTURE: &str = include_str!("fixtures/eurofxref-daily.xml");

fn c(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn parses_the_daily_file() {
    let day = parse_reference_rates(FIXTURE).unwrap();
    assert_eq!(day.date, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    assert_eq!(day.rates.len(), 30);
    assert_eq!(day.rates[0], (c("USD"), dec("1.0842")));
    assert_eq!(day.per_euro(c("JPY")), Some(dec("162.35")));
    assert_eq!(day.per_euro(c("SEK")), Some(dec("11.2490")));
    assert_eq!(day.per_euro(c("EUR")), Some(Decimal::ONE));
    assert_eq!(day.per_euro(c("KWD")), None);
}

#[test]
fn cross_rate_usd_to_sek_goes_through_the_euro() {
    let day = parse_reference_rates(FIXTURE).unwrap();
    // 11.2490 / 1.0842 = 10.37539199409703…, cut (not rounded) at 10 decimals.
    let rate = day.cross_rate(c("USD"), c("SEK")).unwrap();
    assert_eq!(rate, dec("10.375391994"));
    // 100.00 USD → 1037.5391994 SEK → 1037.53 SEK, rounded down.
    let conversion = convert(10_000, c("USD"), c("SEK"), rate, Decimal::ZERO).unwrap();
    assert_eq!(conversion.amount_minor, 103_753);
    // EUR legs are the published rate itself.
    assert_eq!(day.cross_rate(c("EUR"), c("USD")).unwrap(), dec("1.0842"));
    // GBP → EUR: 1 / 0.85215 = 1.17350231766707…
    assert_eq!(
        day.cross_rate(c("GBP"), c("EUR")).unwrap(),
        dec("1.1735023176")
    );
    assert_eq!(
        day.cross_rate(c("USD"), c("KWD")),
        Err(FxError::MissingRate(c("KWD")))
    );
}

#[test]
fn refuses_malformed_files() {
    let no_day = FIXTURE.replace("time='2026-11-24'", "when='2026-11-24'");
    assert_eq!(parse_reference_rates(&no_day), Err(Error::DayCount(0)));
    let bad_rate = FIXTURE.replace("rate='1.0842'", "rate='-1'");
    assert!(matches!(
        parse_reference_rates(&bad_rate),
        Err(Error::Rate(..))
    ));
    let bad_code = FIXTURE.replace("currency='USD'", "currency='XXX'");
    assert!(matches!(
        parse_reference_rates(&bad_code),
        Err(Error::Currency(_))
    ));
    let dup = FIXTURE.replace("currency='JPY'", "currency='USD'");
    assert_eq!(parse_reference_rates(&dup), Err(Error::Duplicate(c("USD"))));
    assert!(matches!(
        parse_reference_rates("<html><body>Service unavailable</body></html>"),
        Err(Error::NotEnvelope(_))
    ));
    assert!(matches!(
        parse_reference_rates("<gesmes:Envelope"),
        Err(Error::Xml(_))
    ));
}
