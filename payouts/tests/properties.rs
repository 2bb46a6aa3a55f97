//! Properties that must hold for any input, not only the hand-checked examples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agora_ledger::Currency;
use agora_payouts::nacha::{nacha_file, AccountType, AchEntry, AchFile, AchOriginator, SecCode};
use agora_payouts::sepa::{pain001, SepaBatch, SepaCredit, SepaDebtor};
use agora_payouts::{convert, Calendar, Rail};
use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["USD", "EUR", "JPY", "KWD", "SEK", "GBP", "BHD", "CLP"])
        .prop_map(|c| Currency::parse(c).unwrap())
}

proptest! {
    #[test]
    fn conversion_never_exceeds_the_exact_value(
        amount in 0i64..1_000_000_000_000,
        from in currency(),
        to in currency(),
        rate_mantissa in 1i64..10_000_000_000,
        rate_scale in 0u32..=10,
        markup_bp in 0i64..5_000,
    ) {
        prop_assume!(from != to);
        let rate = Decimal::new(rate_mantissa, rate_scale);
        let markup = Decimal::new(markup_bp, 4);
        let result = convert(amount, from, to, rate, markup);
        // The exact value in `to` minor units is the rational
        // amount × rate × (1 − markup) × 10^exp(to) / 10^exp(from); its floor, on i128:
        let exact_num = i128::from(amount)
            * i128::from(rate_mantissa)
            * (10_000 - i128::from(markup_bp))
            * 10i128.pow(to.exponent());
        let exact_den = 10i128.pow(rate_scale) * 10_000 * 10i128.pow(from.exponent());
        let floor = exact_num / exact_den;
        if rate > Decimal::from(1_000_000_000) {
            prop_assert_eq!(result, Err(agora_payouts::FxError::InvalidRate));
        } else if floor > i128::from(i64::MAX) {
            prop_assert_eq!(result, Err(agora_payouts::FxError::Overflow));
        } else {
            let c = result.unwrap();
            prop_assert_eq!(i128::from(c.amount_minor), floor);
            prop_assert!(c.markup_minor_in_to >= 0);
        }
    }

    #[test]
    fn pain001_is_well_formed_for_any_names(
        names in prop::collection::vec("\\PC{0,90}", 1..20),
        remittance in "\\PC{0,200}",
    ) {
        let credits: Vec<SepaCredit> = names
            .iter()
            .enumerate()
            .map(|(i, n)| SepaCredit {
                payout_id: format!("po{i}"),
                amount_minor: 1 + i as i64,
                currency: Currency::parse("EUR").unwrap(),
                creditor_name: format!("X{n}"),
                creditor_iban: "DE89370400440532013000".into(),
                creditor_bic: None,
                remittance_information: remittance.clone(),
            })
            .collect();
        let batch = SepaBatch {
            message_id: "M1".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            initiating_party_name: "Agora".into(),
            payment_information_id: "P1".into(),
            requested_execution_date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            batch_booking: false,
            debtor: SepaDebtor { name: "Agora".into(), iban: "DE89370400440532013000".into(), bic: None },
            credits,
        };
        let out = pain001(&batch).unwrap();
        prop_assert!(out.xml.is_ascii());
        // Well-formed: a strict reader gets through it to the end.
        let mut reader = quick_xml::Reader::from_str(&out.xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => prop_assert!(false, "malformed: {e}"),
            }
        }
    }

    #[test]
    fn nacha_records_are_always_94_characters(
        names in prop::collection::vec("\\PC{1,40}", 1..30),
        amounts in prop::collection::vec(1i64..=9_999_999_999, 30),
    ) {
        let entries: Vec<AchEntry> = names
            .iter()
            .enumerate()
            .map(|(i, n)| AchEntry {
                payout_id: format!("po{i}"),
                sec_code: if i % 2 == 0 { SecCode::Ppd } else { SecCode::Ccd },
                account_type: AccountType::Savings,
                routing_number: "011000015".into(),
                account_number: format!("{i}-{}", amounts[i]),
                amount_cents: amounts[i],
                name: format!("N{n}"),
                reference: n.clone(),
            })
            .collect();
        let file = AchFile {
            originator: AchOriginator {
                immediate_destination: "021000021".into(),
                immediate_origin: "1234567890".into(),
                destination_name: "Bank".into(),
                origin_name: "Agora".into(),
                company_name: "Agora".into(),
                company_id: "1234567890".into(),
                entry_description: "PAYOUT".into(),
                odfi_routing: "021000021".into(),
            },
            created_at: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(3, 4, 0).unwrap(),
            file_id_modifier: 'B',
            effective_entry_date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            entries,
        };
        let out = nacha_file(&file).unwrap();
        let lines: Vec<&str> = out.text.lines().collect();
        prop_assert!(lines.iter().all(|l| l.len() == 94 && l.is_ascii()));
        prop_assert_eq!(lines.len() % 10, 0);
        prop_assert_eq!(out.total_credit_cents, amounts[..names.len()].iter().sum::<i64>());
    }

    #[test]
    fn business_day_steps_land_on_business_days(days in 0u32..5_000, n in 0u32..30) {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(u64::from(days));
        for rail in Rail::ALL {
            let cal: Calendar = rail.calendar();
            let next = cal.next_business_day(start);
            prop_assert!(next > start && cal.is_business_day(next));
            // No business day is skipped in between.
            prop_assert!(start.iter_days().skip(1).take_while(|d| *d < next).all(|d| !cal.is_business_day(d)));
            let later = cal.add_business_days(start, n);
            let counted = start.iter_days().skip(1).take_while(|d| *d <= later).filter(|d| cal.is_business_day(*d)).count();
            prop_assert_eq!(counted as u32, n);
        }
    }
}
