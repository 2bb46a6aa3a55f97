//! Payout schedules: on which days an automatic payout is made, and the period key that makes
//! the payout run idempotent.
//!
//! The database keeps a unique key on (account, currency, [`Schedule::period_key`]): however
//! often, and however many workers in parallel, the scheduler runs on a payout day, one payout
//! per period is created. For that to hold, a payout day must always fall inside the period
//! whose key it carries, so a holiday never pushes a payout into the next period: it moves
//! forward to the next business day *within the period*, and if there is none, back to the last
//! business day before the anchor.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::calendar::Calendar;

/// Longest allowed `delay_days`: a year is already far beyond any real rolling reserve.
pub const MAX_DELAY_DAYS: u32 = 365;

/// How far [`Schedule::next_payout_day`] looks: two months hold a payout day of every
/// schedule, whatever the holidays.
pub const NEXT_PAYOUT_DAY_HORIZON: usize = 62;

/// How often automatic payouts happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// No automatic payouts: the platform creates them through the API.
    Manual,
    /// Every business day of the rail's calendar.
    Daily,
    /// Once a week on this weekday (Monday to Friday).
    Weekly(Weekday),
    /// Once a month on this day (1–31; 29–31 fall back to the month's last day).
    Monthly(u8),
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("weekly payouts must be anchored on Monday to Friday, not {0}")]
    WeekendAnchor(Weekday),
    #[error("monthly anchor must be a day of the month from 1 to 31, not {0}")]
    MonthDayOutOfRange(u8),
    #[error("delay_days must be at most {MAX_DELAY_DAYS}, not {0}")]
    DelayTooLong(u32),
}

/// A validated payout schedule. Build it with [`Schedule::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Schedule {
    interval: Interval,
    delay_days: u32,
}

impl Schedule {
    /// Validates and builds a schedule. `delay_days` is how many calendar days a charge's funds
    /// wait before they may be paid out (it does not change which days are payout days).
    pub fn new(interval: Interval, delay_days: u32) -> Result<Self, ScheduleError> {
        match interval {
            Interval::Weekly(day @ (Weekday::Sat | Weekday::Sun)) => {
                return Err(ScheduleError::WeekendAnchor(day))
            }
            Interval::Monthly(day) if !(1..=31).contains(&day) => {
                return Err(ScheduleError::MonthDayOutOfRange(day))
            }
            _ => {}
        }
        if delay_days > MAX_DELAY_DAYS {
            return Err(ScheduleError::DelayTooLong(delay_days));
        }
        Ok(Self {
            interval,
            delay_days,
        })
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    pub fn delay_days(&self) -> u32 {
        self.delay_days
    }

    /// The first day on which funds of a charge captured on `captured_on` may be paid out:
    /// `captured_on + delay_days` calendar days (saturating at the end of time).
    pub fn funds_available_on(&self, captured_on: NaiveDate) -> NaiveDate {
        captured_on
            .checked_add_days(Days::new(u64::from(self.delay_days)))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Whether the scheduler makes an automatic payout on `date`.
    ///
    /// - `Manual`: never.
    /// - `Daily`: every business day of `calendar`.
    /// - `Weekly(w)`: weekday `w` of each ISO week; if it is not a business day, the next
    ///   business day of the same ISO week, else the last business day before it in that week.
    /// - `Monthly(n)`: day `n` (or the month's last day when shorter); if it is not a business
    ///   day, the next business day of the same month, else the last business day before it.
    pub fn is_payout_day(&self, date: NaiveDate, calendar: &Calendar) -> bool {
        match self.interval {
            Interval::Manual => false,
            Interval::Daily => calendar.is_business_day(date),
            Interval::Weekly(anchor) => {
                let week = date.iso_week();
                let Some(anchor_day) = NaiveDate::from_isoywd_opt(week.year(), week.week(), anchor)
                else {
                    return false;
                };
                payout_day_in_period(anchor_day, calendar, |d| d.iso_week() == week) == Some(date)
            }
            Interval::Monthly(anchor) => {
                let (year, month) = (date.year(), date.month());
                let Some(last) = last_day_of_month(year, month) else {
                    return false;
                };
                let day = u32::from(anchor).min(last.day());
                let Some(anchor_day) = NaiveDate::from_ymd_opt(year, month, day) else {
                    return false;
                };
                payout_day_in_period(anchor_day, calendar, |d| {
                    d.year() == year && d.month() == month
                }) == Some(date)
            }
        }
    }

    /// The first payout day after `date`, if there is one within [`NEXT_PAYOUT_DAY_HORIZON`]
    /// days (every schedule but `Manual` has one within two months).
    pub fn next_payout_day(&self, date: NaiveDate, calendar: &Calendar) -> Option<NaiveDate> {
        if self.interval == Interval::Manual {
            return None;
        }
        date.iter_days()
            .skip(1)
            .take(NEXT_PAYOUT_DAY_HORIZON)
            .find(|day| self.is_payout_day(*day, calendar))
    }

    /// The period a payout made on `date` belongs to, as a stable string for a unique key:
    /// `2026-11-25` (daily), `2026-W48` (weekly, ISO week and ISO week-year), `2026-11`
    /// (monthly). `None` for manual schedules: each manual payout is its own request, made
    /// idempotent by the API's idempotency key instead.
    ///
    /// The formats differ per interval, so changing a seller's interval never makes a new
    /// key collide with an old one (and may, on the day of the change, allow one extra payout).
    pub fn period_key(&self, date: NaiveDate) -> Option<String> {
        match self.interval {
            Interval::Manual => None,
            Interval::Daily => Some(date.format("%Y-%m-%d").to_string()),
            Interval::Weekly(_) => {
                let week = date.iso_week();
                Some(format!("{:04}-W{:02}", week.year(), week.week()))
            }
            Interval::Monthly(_) => Some(format!("{:04}-{:02}", date.year(), date.month())),
        }
    }
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    first_of_next.pred_opt()
}

/// The anchor if it is a business day; else the next business day while still in the period;
/// else the last business day before the anchor in the period; else none.
fn payout_day_in_period(
    anchor: NaiveDate,
    calendar: &Calendar,
    in_period: impl Fn(NaiveDate) -> bool,
) -> Option<NaiveDate> {
    if calendar.is_business_day(anchor) {
        return Some(anchor);
    }
    let next = calendar.next_business_day(anchor);
    if in_period(next) && next != anchor {
        return Some(next);
    }
    let previous = calendar.previous_business_day(anchor);
    (in_period(previous) && previous != anchor && calendar.is_business_day(previous))
        .then_some(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn payout_days(schedule: &Schedule, cal: Calendar, from: &str, to: &str) -> Vec<String> {
        d(from)
            .iter_days()
            .take_while(|day| *day <= d(to))
            .filter(|day| schedule.is_payout_day(*day, &cal))
            .map(|day| day.to_string())
            .collect()
    }

    #[test]
    fn validation() {
        assert_eq!(
            Schedule::new(Interval::Weekly(Weekday::Sat), 2),
            Err(ScheduleError::WeekendAnchor(Weekday::Sat))
        );
        assert_eq!(
            Schedule::new(Interval::Monthly(0), 2),
            Err(ScheduleError::MonthDayOutOfRange(0))
        );
        assert_eq!(
            Schedule::new(Interval::Monthly(32), 2),
            Err(ScheduleError::MonthDayOutOfRange(32))
        );
        assert_eq!(
            Schedule::new(Interval::Daily, 366),
            Err(ScheduleError::DelayTooLong(366))
        );
        assert!(Schedule::new(Interval::Monthly(31), 365).is_ok());
        assert!(Schedule::new(Interval::Weekly(Weekday::Fri), 0).is_ok());
    }

    #[test]
    fn manual_never_pays_out_and_has_no_period() {
        let s = Schedule::new(Interval::Manual, 2).unwrap();
        assert!(!s.is_payout_day(d("2026-11-25"), &Calendar::FederalReserve));
        assert_eq!(s.period_key(d("2026-11-25")), None);
    }

    #[test]
    fn daily_skips_weekends_and_holidays() {
        let s = Schedule::new(Interval::Daily, 2).unwrap();
        assert_eq!(
            payout_days(&s, Calendar::FederalReserve, "2026-11-24", "2026-11-30"),
            ["2026-11-24", "2026-11-25", "2026-11-27", "2026-11-30"]
        );
        assert_eq!(s.period_key(d("2026-11-25")).unwrap(), "2026-11-25");
    }

    #[test]
    fn weekly_moves_within_the_week() {
        let fri = Schedule::new(Interval::Weekly(Weekday::Fri), 2).unwrap();
        // Good Friday 2026 (3 April) is closed on TARGET2: Monday 6 is Easter Monday and in
        // the next ISO week anyway, so the payout moves back to Thursday 2 April.
        assert_eq!(
            payout_days(&fri, Calendar::Target2, "2026-03-30", "2026-04-12"),
            ["2026-04-02", "2026-04-10"]
        );
        let mon = Schedule::new(Interval::Weekly(Weekday::Mon), 2).unwrap();
        // Easter Monday → Tuesday 7 April; the week before pays on Monday 30 March.
        assert_eq!(
            payout_days(&mon, Calendar::Target2, "2026-03-30", "2026-04-12"),
            ["2026-03-30", "2026-04-07"]
        );
        // Thanksgiving Thursday → Friday.
        let thu = Schedule::new(Interval::Weekly(Weekday::Thu), 2).unwrap();
        assert_eq!(
            payout_days(&thu, Calendar::FederalReserve, "2026-11-23", "2026-11-29"),
            ["2026-11-27"]
        );
        // ISO week keys, including the week-year at the turn of the year: 2026-12-31 is in
        // 2026-W53, 2027-01-01 too; 2024-12-30 is 2025-W01.
        assert_eq!(thu.period_key(d("2026-11-27")).unwrap(), "2026-W48");
        assert_eq!(thu.period_key(d("2027-01-01")).unwrap(), "2026-W53");
        assert_eq!(thu.period_key(d("2024-12-30")).unwrap(), "2025-W01");
    }

    #[test]
    fn monthly_month_ends_and_leap_years() {
        let s31 = Schedule::new(Interval::Monthly(31), 2).unwrap();
        let weekdays = Calendar::WeekdaysOnly;
        // 2027-01-31 is a Sunday: the next business day (Mon 1 Feb) is in the next period, so
        // the payout moves back to Friday 29 January. 2027-02-28 is a Sunday too → Fri 26.
        assert_eq!(
            payout_days(&s31, weekdays, "2027-01-01", "2027-03-31"),
            ["2027-01-29", "2027-02-26", "2027-03-31"]
        );
        // Leap year: 2028-02-29 is a Tuesday.
        assert_eq!(
            payout_days(&s31, weekdays, "2028-02-01", "2028-02-29"),
            ["2028-02-29"]
        );
        let s29 = Schedule::new(Interval::Monthly(29), 2).unwrap();
        // 2026 is not a leap year: 29 → 28 February (a Saturday) → back to Friday 27.
        assert_eq!(
            payout_days(&s29, weekdays, "2026-02-01", "2026-02-28"),
            ["2026-02-27"]
        );
        assert_eq!(s29.period_key(d("2026-02-27")).unwrap(), "2026-02");
    }

    #[test]
    fn monthly_holidays_move_forward_inside_the_month() {
        let s1 = Schedule::new(Interval::Monthly(1), 2).unwrap();
        // 1 January 2027 (Friday) closed on TARGET2 → Monday 4 January.
        assert_eq!(
            payout_days(&s1, Calendar::Target2, "2027-01-01", "2027-01-31"),
            ["2027-01-04"]
        );
        // 1 May 2026 (Friday) closed on TARGET2 → Monday 4 May.
        assert_eq!(
            payout_days(&s1, Calendar::Target2, "2026-05-01", "2026-05-31"),
            ["2026-05-04"]
        );
        // 25 December 2026 (Friday) on the Fed calendar → Monday 28th.
        let s25 = Schedule::new(Interval::Monthly(25), 2).unwrap();
        assert_eq!(
            payout_days(&s25, Calendar::FederalReserve, "2026-12-01", "2026-12-31"),
            ["2026-12-28"]
        );
        // 31 December 2027 is a Friday and open on the Fed calendar.
        let s31 = Schedule::new(Interval::Monthly(31), 2).unwrap();
        assert_eq!(
            payout_days(&s31, Calendar::FederalReserve, "2027-12-01", "2027-12-31"),
            ["2027-12-31"]
        );
    }

    #[test]
    fn every_period_has_exactly_one_payout_day_over_ten_years() {
        let cals = [
            Calendar::FederalReserve,
            Calendar::Target2,
            Calendar::EnglandAndWales,
        ];
        for cal in cals {
            for interval in [
                Interval::Monthly(1),
                Interval::Monthly(15),
                Interval::Monthly(29),
                Interval::Monthly(31),
                Interval::Weekly(Weekday::Mon),
                Interval::Weekly(Weekday::Fri),
            ] {
                let s = Schedule::new(interval, 0).unwrap();
                let mut keys = std::collections::BTreeMap::<String, u32>::new();
                for day in d("2026-01-05")
                    .iter_days()
                    .take_while(|x| *x < d("2035-12-31"))
                {
                    if s.is_payout_day(day, &cal) {
                        assert!(cal.is_business_day(day));
                        *keys.entry(s.period_key(day).unwrap()).or_default() += 1;
                    }
                }
                assert!(keys.values().all(|n| *n == 1), "{cal:?} {interval:?}");
                // About ten years: 119 or 120 months, 521 or 522 weeks, none skipped.
                let minimum = match interval {
                    Interval::Monthly(_) => 119,
                    _ => 521,
                };
                assert!(keys.len() >= minimum, "{cal:?} {interval:?} {}", keys.len());
            }
        }
    }

    #[test]
    fn the_next_payout_day_skips_holidays_and_manual_has_none() {
        // Good Friday 2026 is closed on TARGET2: that week pays on Thursday 2 April.
        let fri = Schedule::new(Interval::Weekly(Weekday::Fri), 0).unwrap();
        assert_eq!(
            fri.next_payout_day(d("2026-03-30"), &Calendar::Target2),
            Some(d("2026-04-02"))
        );
        assert_eq!(
            fri.next_payout_day(d("2026-04-02"), &Calendar::Target2),
            Some(d("2026-04-10"))
        );
        // Not the day itself: the one after it.
        let daily = Schedule::new(Interval::Daily, 0).unwrap();
        assert_eq!(
            daily.next_payout_day(d("2026-12-04"), &Calendar::Target2),
            Some(d("2026-12-07"))
        );
        // The 31st of a 30-day month is its last day.
        let s31 = Schedule::new(Interval::Monthly(31), 0).unwrap();
        assert_eq!(
            s31.next_payout_day(d("2026-11-01"), &Calendar::WeekdaysOnly),
            Some(d("2026-11-30"))
        );
        let manual = Schedule::new(Interval::Manual, 0).unwrap();
        assert_eq!(
            manual.next_payout_day(d("2026-11-01"), &Calendar::WeekdaysOnly),
            None
        );
    }

    #[test]
    fn funds_wait_delay_days() {
        let s = Schedule::new(Interval::Daily, 7).unwrap();
        assert_eq!(s.funds_available_on(d("2026-02-25")), d("2026-03-04"));
    }
}
