//! When a payout reaches the seller's bank: cut-offs and settlement times per rail.
//!
//! The computation has two steps, both in the rail's own time zone (so DST is handled by the
//! zone database, not by fixed offsets):
//!
//! 1. **Processing day.** A payout submitted on a business day strictly before the rail's
//!    cut-off is processed that day; at or after the cut-off, or on a day that is not a
//!    business day, it is processed on the next business day.
//! 2. **Settlement.** The arrival date is the processing day plus the rail's settlement time
//!    in business days.
//!
//! | rail | zone | cut-off | settlement | why |
//! | --- | --- | --- | --- | --- |
//! | ACH | America/New_York | 14:45 | +1 business day | ODFI deadline for next-day ACH (the FedACH window closes later; the margin is the bank's) |
//! | SEPA | Europe/Berlin | 15:00 | +1 business day | SCT D+1 on TARGET2 days |
//! | UK Faster Payments | Europe/London | none | same calendar day, weekends and holidays included | FPS runs 24/7/365 |
//! | UK Bacs | Europe/London | 22:30 | +2 business days | input on day 1, processing on day 2, credit on day 3 |
//! | Other | UTC | 12:00 | +2 business days (Mon–Fri) | conservative default for CSV rails |
//!
//! [`Method::Instant`] arrives the same calendar day in the rail's zone, on every rail.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::calendar::Rail;

/// How fast the payout should travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// The rail's normal settlement.
    Standard,
    /// Instant payout (e.g. SCT Inst, RTP, FPS, push to card): same calendar day.
    Instant,
}

/// The cut-off and settlement rules of one rail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RailTiming {
    /// Local time (in [`Rail::time_zone`]) at or after which a submission waits for the next
    /// business day. `None`: no cut-off, and no business-day rule either (FPS).
    pub cutoff: Option<NaiveTime>,
    /// Business days between the processing day and the credit to the seller's account.
    pub settlement_business_days: u32,
}

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    // `from_hms_opt` is not const; these literals are valid, so build them via seconds.
    match NaiveTime::from_num_seconds_from_midnight_opt(hour * 3600 + minute * 60, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

/// ACH: 14:45 New York time for next-day settlement.
pub const ACH_CUTOFF: NaiveTime = hm(14, 45);
/// SEPA: 15:00 Frankfurt time (CET/CEST).
pub const SEPA_CUTOFF: NaiveTime = hm(15, 0);
/// Bacs: 22:30 London time on input day ("day 1").
pub const BACS_CUTOFF: NaiveTime = hm(22, 30);
/// Other rails: 12:00 UTC.
pub const OTHER_CUTOFF: NaiveTime = hm(12, 0);

impl Rail {
    /// The cut-off and settlement time of the rail (see the module table).
    pub const fn timing(self) -> RailTiming {
        match self {
            Rail::Ach => RailTiming {
                cutoff: Some(ACH_CUTOFF),
                settlement_business_days: 1,
            },
            Rail::Sepa => RailTiming {
                cutoff: Some(SEPA_CUTOFF),
                settlement_business_days: 1,
            },
            Rail::UkFasterPayments => RailTiming {
                cutoff: None,
                settlement_business_days: 0,
            },
            Rail::UkBacs => RailTiming {
                cutoff: Some(BACS_CUTOFF),
                settlement_business_days: 2,
            },
            Rail::Other => RailTiming {
                cutoff: Some(OTHER_CUTOFF),
                settlement_business_days: 2,
            },
        }
    }
}

/// The calendar day, in the rail's zone, on which the seller's bank account is credited.
pub fn arrival_date(rail: Rail, method: Method, submitted_at: DateTime<Utc>) -> NaiveDate {
    let local = submitted_at.with_timezone(&rail.time_zone()).naive_local();
    let timing = rail.timing();
    let cutoff = match (method, timing.cutoff) {
        (Method::Instant, _) | (Method::Standard, None) => return local.date(),
        (Method::Standard, Some(cutoff)) => cutoff,
    };
    let calendar = rail.calendar();
    let processing_day = if calendar.is_business_day(local.date()) && local.time() < cutoff {
        local.date()
    } else {
        calendar.next_business_day(local.date())
    };
    calendar.add_business_days(processing_day, timing.settlement_business_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn hand_checked_table() {
        use Method::*;
        use Rail::*;
        // (rail, method, submitted at (UTC), expected arrival, why)
        let cases = [
            // ACH ----------------------------------------------------------------------------
            (
                Ach,
                Standard,
                "2026-11-23T15:00:00Z",
                "2026-11-24",
                "Mon 10:00 EST → Tue",
            ),
            (
                Ach,
                Standard,
                "2026-11-25T15:00:00Z",
                "2026-11-27",
                "Wed before Thanksgiving → Fri",
            ),
            (
                Ach,
                Standard,
                "2026-11-25T20:00:00Z",
                "2026-11-30",
                "Wed 15:00 EST after cut-off: processed Fri → Mon",
            ),
            (
                Ach,
                Standard,
                "2026-11-25T19:44:59Z",
                "2026-11-27",
                "Wed 14:44:59 EST: just in time",
            ),
            (
                Ach,
                Standard,
                "2026-11-25T19:45:00Z",
                "2026-11-30",
                "Wed 14:45:00 EST: at the cut-off is too late",
            ),
            (
                Ach,
                Standard,
                "2026-11-28T15:00:00Z",
                "2026-12-01",
                "Saturday → processed Mon → Tue",
            ),
            (
                Ach,
                Standard,
                "2026-12-24T21:00:00Z",
                "2026-12-29",
                "Thu 24 Dec 16:00 after cut-off: Fri 25 closed, processed Mon 28 → Tue 29",
            ),
            (
                Ach,
                Standard,
                "2026-12-31T15:00:00Z",
                "2027-01-04",
                "Thu 31 Dec → Fri 1 Jan closed → Mon 4 Jan",
            ),
            (
                Ach,
                Standard,
                "2027-06-17T14:00:00Z",
                "2027-06-18",
                "Juneteenth 2027 is Saturday: Fri 18 stays open",
            ),
            (
                Ach,
                Standard,
                "2026-06-18T14:00:00Z",
                "2026-06-22",
                "Juneteenth 2026 is Friday: Thu → Mon",
            ),
            // DST in New York starts Sunday 2026-03-08: 18:50Z is 13:50 EST before it and
            // 14:50 EDT after it.
            (
                Ach,
                Standard,
                "2026-03-06T18:50:00Z",
                "2026-03-09",
                "Fri 13:50 EST before cut-off → Mon",
            ),
            (
                Ach,
                Standard,
                "2026-03-09T18:50:00Z",
                "2026-03-11",
                "Mon 14:50 EDT after cut-off: processed Tue → Wed",
            ),
            // SEPA ---------------------------------------------------------------------------
            (
                Sepa,
                Standard,
                "2026-04-02T08:00:00Z",
                "2026-04-07",
                "Thu before Easter → Tue after Easter Monday",
            ),
            (
                Sepa,
                Standard,
                "2026-04-02T14:30:00Z",
                "2026-04-08",
                "Thu 16:30 CEST late: processed Tue 7 → Wed 8",
            ),
            (
                Sepa,
                Standard,
                "2026-12-24T09:00:00Z",
                "2026-12-28",
                "Thu 24 Dec open: 25 and 26 closed → Mon 28",
            ),
            (
                Sepa,
                Standard,
                "2026-12-31T09:00:00Z",
                "2027-01-04",
                "Thu 31 Dec → 1 Jan closed → Mon 4",
            ),
            // Berlin DST starts Sunday 2026-03-29: 13:30Z is 14:30 CET before, 15:30 CEST after.
            (
                Sepa,
                Standard,
                "2026-03-27T13:30:00Z",
                "2026-03-30",
                "Fri 14:30 CET before cut-off → Mon",
            ),
            (
                Sepa,
                Standard,
                "2026-03-30T13:30:00Z",
                "2026-04-01",
                "Mon 15:30 CEST late: processed Tue → Wed",
            ),
            // Berlin DST ends Sunday 2026-10-25: 14:30Z is 16:30 CEST before, 15:30 CET after.
            (
                Sepa,
                Standard,
                "2026-10-26T13:30:00Z",
                "2026-10-27",
                "Mon 14:30 CET before cut-off → Tue",
            ),
            (
                Sepa,
                Standard,
                "2026-10-23T13:30:00Z",
                "2026-10-27",
                "Fri 15:30 CEST late: processed Mon → Tue",
            ),
            // UK Faster Payments: same calendar day in London, whatever the day.
            (
                UkFasterPayments,
                Standard,
                "2026-12-25T12:00:00Z",
                "2026-12-25",
                "Christmas Day",
            ),
            (
                UkFasterPayments,
                Standard,
                "2026-11-28T23:30:00Z",
                "2026-11-28",
                "Saturday 23:30 GMT",
            ),
            (
                UkFasterPayments,
                Standard,
                "2026-07-04T23:30:00Z",
                "2026-07-05",
                "Sat 23:30Z is Sun 00:30 BST",
            ),
            // UK Bacs: day 1 input before 22:30, credit on day 3.
            (
                UkBacs,
                Standard,
                "2026-11-23T10:00:00Z",
                "2026-11-25",
                "Mon → Wed",
            ),
            (
                UkBacs,
                Standard,
                "2026-11-23T22:45:00Z",
                "2026-11-26",
                "Mon 22:45 GMT late: input Tue → Thu",
            ),
            (
                UkBacs,
                Standard,
                "2026-07-06T21:45:00Z",
                "2026-07-09",
                "Mon 22:45 BST late: input Tue → Thu",
            ),
            (
                UkBacs,
                Standard,
                "2026-07-06T21:15:00Z",
                "2026-07-08",
                "Mon 22:15 BST in time → Wed",
            ),
            (
                UkBacs,
                Standard,
                "2026-12-24T12:00:00Z",
                "2026-12-30",
                "Thu 24: 25 and 28 closed → Tue 29, Wed 30",
            ),
            (
                UkBacs,
                Standard,
                "2026-04-02T10:00:00Z",
                "2026-04-08",
                "Thu before Easter: 3 and 6 closed → Tue 7, Wed 8",
            ),
            // Other ---------------------------------------------------------------------------
            (
                Other,
                Standard,
                "2026-11-27T11:00:00Z",
                "2026-12-01",
                "Fri in time → Tue",
            ),
            (
                Other,
                Standard,
                "2026-11-27T12:00:00Z",
                "2026-12-02",
                "Fri at cut-off: processed Mon → Wed",
            ),
            // Instant: same day in the rail's zone ------------------------------------------------
            (
                Ach,
                Instant,
                "2026-11-26T03:00:00Z",
                "2026-11-25",
                "Thanksgiving 03:00Z is still Wed 22:00 EST",
            ),
            (
                Sepa,
                Instant,
                "2026-12-25T23:30:00Z",
                "2026-12-26",
                "23:30Z is 00:30 CET on the 26th",
            ),
            (
                UkBacs,
                Instant,
                "2026-11-28T10:00:00Z",
                "2026-11-28",
                "Saturday",
            ),
        ];
        for (rail, method, at, expected, why) in cases {
            assert_eq!(
                arrival_date(rail, method, utc(at)),
                d(expected),
                "{rail:?} {method:?} {at}: {why}"
            );
        }
    }

    #[test]
    fn new_years_eve_late_evening_in_new_york_is_still_the_old_year() {
        // 2027-01-01T03:00Z is Thu 31 Dec 22:00 EST: after the cut-off, so processed on the
        // next business day (Mon 4 Jan, since 1 Jan is closed) and credited Tue 5 Jan.
        assert_eq!(
            arrival_date(Rail::Ach, Method::Standard, utc("2027-01-01T03:00:00Z")),
            d("2027-01-05")
        );
    }
}
