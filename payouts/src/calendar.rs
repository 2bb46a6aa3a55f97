//! Business-day calendars of the payout rails, computed by rule (no data files).
//!
//! | rail | calendar | source of the rules |
//! | --- | --- | --- |
//! | [`Rail::Ach`] | Federal Reserve holidays | the Fed's holiday schedule |
//! | [`Rail::Sepa`] | TARGET2 closing days | ECB |
//! | [`Rail::UkFasterPayments`], [`Rail::UkBacs`] | England and Wales bank holidays | gov.uk |
//! | [`Rail::Other`] | weekends only | — |
//!
//! The fixed rules hold for any year; the one-off holidays (jubilees, the state funeral, the
//! coronation) are listed from 2020 on, so dates before 2020 may miss a one-off. Future one-offs
//! must be added here when they are announced: the CI oracle (`ci/check_bank_files.py`) compares
//! two years against the `holidays` package and fails when the two disagree.
//!
//! Weekends are never business days, on any rail.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// A payout rail: the network a payout travels on, which decides calendar, cut-off and file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rail {
    /// US ACH (USD), NACHA files, Federal Reserve calendar.
    Ach,
    /// SEPA credit transfer (EUR, IBAN), pain.001 files, TARGET2 calendar.
    Sepa,
    /// UK Faster Payments (GBP): runs 24/7, England and Wales calendar for cut-off purposes.
    UkFasterPayments,
    /// UK Bacs Direct Credit (GBP), Standard 18 files, 3-day cycle on business days.
    UkBacs,
    /// Any other rail: CSV files, weekdays only.
    Other,
}

impl Rail {
    /// Every rail, for exhaustive iteration.
    pub const ALL: [Rail; 5] = [
        Rail::Ach,
        Rail::Sepa,
        Rail::UkFasterPayments,
        Rail::UkBacs,
        Rail::Other,
    ];

    /// The business-day calendar the rail settles on.
    pub const fn calendar(self) -> Calendar {
        match self {
            Rail::Ach => Calendar::FederalReserve,
            Rail::Sepa => Calendar::Target2,
            Rail::UkFasterPayments | Rail::UkBacs => Calendar::EnglandAndWales,
            Rail::Other => Calendar::WeekdaysOnly,
        }
    }

    /// The time zone in which the rail's cut-offs and dates are expressed.
    pub const fn time_zone(self) -> chrono_tz::Tz {
        match self {
            Rail::Ach => chrono_tz::America::New_York,
            Rail::Sepa => chrono_tz::Europe::Berlin,
            Rail::UkFasterPayments | Rail::UkBacs => chrono_tz::Europe::London,
            Rail::Other => chrono_tz::UTC,
        }
    }

    /// Stable lower-case name (`ach`, `sepa`, `uk_faster_payments`, `uk_bacs`, `other`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Rail::Ach => "ach",
            Rail::Sepa => "sepa",
            Rail::UkFasterPayments => "uk_faster_payments",
            Rail::UkBacs => "uk_bacs",
            Rail::Other => "other",
        }
    }
}

/// A business-day calendar. `Copy` and without data: every answer is computed from the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Calendar {
    /// Federal Reserve (Fedwire/FedACH) holidays. A holiday on a Sunday is observed on the
    /// Monday; a holiday on a Saturday is not moved (the Fed is open on the Friday before).
    /// Juneteenth counts from 2022, the first year the Fed closed for it.
    FederalReserve,
    /// TARGET2 closing days: 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December.
    /// No substitute days.
    Target2,
    /// England and Wales bank holidays, with substitute days and the one-offs since 2020.
    EnglandAndWales,
    /// Monday to Friday, no holidays.
    WeekdaysOnly,
}

/// How far `next_business_day` looks ahead before giving up. No calendar here has more than
/// four closed days in a row (Easter: Friday to Monday), so 31 days is far beyond any real case
/// and only guards the loop.
const MAX_SCAN_DAYS: u32 = 31;

impl Calendar {
    /// `true` for Monday to Friday days that are not holidays of this calendar.
    pub fn is_business_day(self, date: NaiveDate) -> bool {
        !is_weekend(date) && self.holiday(date).is_none()
    }

    /// The name of the holiday observed on `date`, if any (weekends are not holidays).
    pub fn holiday(self, date: NaiveDate) -> Option<&'static str> {
        match self {
            Calendar::FederalReserve => fed_holiday(date),
            Calendar::Target2 => target2_holiday(date),
            Calendar::EnglandAndWales => england_wales_holiday(date),
            Calendar::WeekdaysOnly => None,
        }
    }

    /// The first business day strictly after `date`.
    ///
    /// Saturates at `NaiveDate::MAX` (dates hundreds of thousands of years away are no payout's
    /// concern), so it never panics.
    pub fn next_business_day(self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        for _ in 0..MAX_SCAN_DAYS {
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => return day,
            }
            if self.is_business_day(day) {
                return day;
            }
        }
        day
    }

    /// `date` itself if it is a business day, else the next business day.
    pub fn business_day_on_or_after(self, date: NaiveDate) -> NaiveDate {
        if self.is_business_day(date) {
            date
        } else {
            self.next_business_day(date)
        }
    }

    /// The last business day strictly before `date` (saturates at `NaiveDate::MIN`).
    pub fn previous_business_day(self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        for _ in 0..MAX_SCAN_DAYS {
            match day.checked_sub_days(Days::new(1)) {
                Some(prev) => day = prev,
                None => return day,
            }
            if self.is_business_day(day) {
                return day;
            }
        }
        day
    }

    /// Moves `days` business days forward: `add_business_days(d, 1)` is
    /// `next_business_day(d)`, and `add_business_days(d, 0)` is `d` unchanged (even when `d`
    /// is not a business day itself; callers that need a business day start from
    /// [`Calendar::business_day_on_or_after`]).
    pub fn add_business_days(self, date: NaiveDate, days: u32) -> NaiveDate {
        (0..days).fold(date, |day, _| self.next_business_day(day))
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The `n`-th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        ymd(year.checked_add(1)?, 1, 1)?
    } else {
        ymd(year, month + 1, 1)?
    };
    let mut day = first_of_next.pred_opt()?;
    while day.weekday() != weekday {
        day = day.pred_opt()?;
    }
    Some(day)
}

/// Easter Sunday of the Gregorian calendar (the "anonymous Gregorian algorithm", Meeus/Jones/
/// Butcher), valid for every Gregorian year.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    ymd(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn easter_offset(year: i32, days: i64) -> Option<NaiveDate> {
    let easter = easter_sunday(year)?;
    if days >= 0 {
        easter.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        easter.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

/// Fed rule: Sunday → Monday; Saturday stays on Saturday (so it closes nothing).
fn fed_observed(date: NaiveDate) -> Option<NaiveDate> {
    if date.weekday() == Weekday::Sun {
        date.succ_opt()
    } else {
        Some(date)
    }
}

fn fed_holiday(date: NaiveDate) -> Option<&'static str> {
    let y = date.year();
    let fixed = |m: u32, d: u32| ymd(y, m, d).and_then(fed_observed);
    let mut rules: Vec<(Option<NaiveDate>, &'static str)> = vec![
        (fixed(1, 1), "New Year's Day"),
        (
            nth_weekday(y, 1, Weekday::Mon, 3),
            "Birthday of Martin Luther King, Jr.",
        ),
        (nth_weekday(y, 2, Weekday::Mon, 3), "Washington's Birthday"),
        (last_weekday(y, 5, Weekday::Mon), "Memorial Day"),
        (fixed(7, 4), "Independence Day"),
        (nth_weekday(y, 9, Weekday::Mon, 1), "Labor Day"),
        (nth_weekday(y, 10, Weekday::Mon, 2), "Columbus Day"),
        (fixed(11, 11), "Veterans Day"),
        (nth_weekday(y, 11, Weekday::Thu, 4), "Thanksgiving Day"),
        (fixed(12, 25), "Christmas Day"),
    ];
    if y >= 2022 {
        rules.push((fixed(6, 19), "Juneteenth National Independence Day"));
    }
    rules
        .into_iter()
        .find(|(day, _)| *day == Some(date))
        .map(|(_, name)| name)
}

fn target2_holiday(date: NaiveDate) -> Option<&'static str> {
    let y = date.year();
    let rules = [
        (ymd(y, 1, 1), "New Year's Day"),
        (easter_offset(y, -2), "Good Friday"),
        (easter_offset(y, 1), "Easter Monday"),
        (ymd(y, 5, 1), "Labour Day"),
        (ymd(y, 12, 25), "Christmas Day"),
        (ymd(y, 12, 26), "Christmas Holiday"),
    ];
    rules
        .into_iter()
        .find(|(day, _)| *day == Some(date))
        .map(|(_, name)| name)
}

/// The first `count` weekdays strictly after `date`: where UK substitute days fall.
fn weekdays_after(date: NaiveDate, count: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(count);
    let mut day = date;
    while out.len() < count {
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
        if !is_weekend(day) {
            out.push(day);
        }
    }
    out
}

fn england_wales_holiday(date: NaiveDate) -> Option<&'static str> {
    let y = date.year();
    let mut rules: Vec<(Option<NaiveDate>, &'static str)> = Vec::with_capacity(12);

    // New Year's Day: on a weekend, the substitute is the following Monday.
    if let Some(jan1) = ymd(y, 1, 1) {
        let observed = if is_weekend(jan1) {
            weekdays_after(jan1, 1).first().copied()
        } else {
            Some(jan1)
        };
        rules.push((observed, "New Year's Day"));
    }
    rules.push((easter_offset(y, -2), "Good Friday"));
    rules.push((easter_offset(y, 1), "Easter Monday"));
    // Early May: first Monday, moved to Friday 8 May in 2020 (75th anniversary of VE day).
    let early_may = if y == 2020 {
        ymd(2020, 5, 8)
    } else {
        nth_weekday(y, 5, Weekday::Mon, 1)
    };
    rules.push((early_may, "Early May bank holiday"));
    // Spring: last Monday of May, moved to Thursday 2 June in 2022 (Platinum Jubilee), with
    // Friday 3 June as an extra holiday.
    let spring = if y == 2022 {
        ymd(2022, 6, 2)
    } else {
        last_weekday(y, 5, Weekday::Mon)
    };
    rules.push((spring, "Spring bank holiday"));
    rules.push((last_weekday(y, 8, Weekday::Mon), "Summer bank holiday"));
    // Christmas and Boxing Day: each one that falls on a weekend is replaced by the next free
    // weekday after 26 December (Sat+Sun → Mon 27 + Tue 28; Sun → Tue 27 since Mon 26 is
    // Boxing Day; Fri+Sat → Mon 28).
    if let (Some(xmas), Some(boxing)) = (ymd(y, 12, 25), ymd(y, 12, 26)) {
        let weekend_count = [xmas, boxing].iter().filter(|d| is_weekend(**d)).count();
        for day in [xmas, boxing] {
            if !is_weekend(day) {
                rules.push((Some(day), "Christmas holiday"));
            }
        }
        for day in weekdays_after(boxing, weekend_count) {
            rules.push((Some(day), "Christmas holiday (substitute day)"));
        }
    }
    // One-offs since 2020.
    rules.push((ymd(2022, 6, 3), "Platinum Jubilee bank holiday"));
    rules.push((ymd(2022, 9, 19), "State Funeral of Queen Elizabeth II"));
    rules.push((ymd(2023, 5, 8), "Coronation of King Charles III"));

    rules
        .into_iter()
        .find(|(day, _)| *day == Some(date))
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn easter_matches_published_dates() {
        // Published Western Easter dates.
        for (year, date) in [
            (2020, "2020-04-12"),
            (2021, "2021-04-04"),
            (2022, "2022-04-17"),
            (2023, "2023-04-09"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2030, "2030-04-21"),
            (2035, "2035-03-25"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(date)), "{year}");
        }
    }

    #[test]
    fn fed_observes_sunday_on_monday_but_not_saturday_on_friday() {
        let fed = Calendar::FederalReserve;
        // 2022-06-19 Juneteenth is a Sunday: closed Monday 20th.
        assert!(!fed.is_business_day(d("2022-06-20")));
        // 2027-06-19 Juneteenth is a Saturday: the Fed is open Friday 18th.
        assert!(fed.is_business_day(d("2027-06-18")));
        // 2021: Juneteenth not yet a Fed holiday (Friday 18 June 2021 open).
        assert!(fed.is_business_day(d("2021-06-18")));
        // 2026-06-19 is a Friday: closed.
        assert!(!fed.is_business_day(d("2026-06-19")));
        // 2021-12-25 Saturday: open Friday 24th; 2022-01-01 Saturday: open Friday 31 Dec 2021.
        assert!(fed.is_business_day(d("2021-12-24")));
        assert!(fed.is_business_day(d("2021-12-31")));
        // 2027-07-04 Sunday → Monday 5 July closed.
        assert!(!fed.is_business_day(d("2027-07-05")));
        // 2023-01-01 Sunday → Monday 2 Jan closed.
        assert!(!fed.is_business_day(d("2023-01-02")));
    }

    #[test]
    fn fed_movable_holidays() {
        let fed = Calendar::FederalReserve;
        for closed in [
            "2026-01-19", // MLK, third Monday of January
            "2026-02-16", // Washington's Birthday
            "2026-05-25", // Memorial Day, last Monday of May
            "2026-09-07", // Labor Day
            "2026-10-12", // Columbus Day
            "2026-11-11", // Veterans Day (Wednesday)
            "2026-11-26", // Thanksgiving, fourth Thursday
            "2026-12-25", // Christmas (Friday)
            "2025-11-27", // Thanksgiving 2025
            "2035-11-22", // Thanksgiving 2035
        ] {
            assert!(!fed.is_business_day(d(closed)), "{closed}");
        }
        // The day after Thanksgiving and Good Friday are Fed business days.
        assert!(fed.is_business_day(d("2026-11-27")));
        assert!(fed.is_business_day(d("2026-04-03")));
    }

    #[test]
    fn target2_days() {
        let t2 = Calendar::Target2;
        for closed in [
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-01",
            "2026-12-25",
            "2027-03-26",
            "2027-03-29",
        ] {
            assert!(!t2.is_business_day(d(closed)), "{closed}");
        }
        // No substitute days, and national holidays don't close TARGET2.
        assert!(t2.is_business_day(d("2027-12-27"))); // Monday after a Sat/Sun Christmas
        assert!(t2.is_business_day(d("2026-05-14"))); // Ascension Day: national, not TARGET2
        assert!(t2.is_business_day(d("2026-12-24")));
        assert!(t2.is_business_day(d("2026-12-31")));
    }

    #[test]
    fn england_and_wales_days() {
        let uk = Calendar::EnglandAndWales;
        for closed in [
            "2020-05-08", // VE day move
            "2022-06-02", // Platinum Jubilee spring holiday
            "2022-06-03", // Platinum Jubilee
            "2022-09-19", // state funeral
            "2023-05-08", // coronation
            "2022-01-03", // New Year's Day on Saturday → Monday 3rd
            "2023-01-02", // on Sunday → Monday 2nd
            "2026-12-28", // Boxing Day Saturday → Monday 28th
            "2027-12-27", // Christmas Saturday → Monday 27th
            "2027-12-28", // Boxing Sunday → Tuesday 28th
            "2022-12-27", // Christmas Sunday → Tuesday 27th (Boxing Monday 26th)
            "2022-12-26",
            "2026-08-31", // summer, last Monday of August
            "2026-05-04", // early May
            "2026-05-25", // spring
        ] {
            assert!(!uk.is_business_day(d(closed)), "{closed}");
        }
        assert!(uk.is_business_day(d("2020-05-04"))); // not the early May holiday in 2020
        assert!(uk.is_business_day(d("2022-05-30"))); // not the spring holiday in 2022
        assert!(uk.is_business_day(d("2026-12-29")));
    }

    #[test]
    fn weekends_are_never_business_days() {
        for cal in [
            Calendar::FederalReserve,
            Calendar::Target2,
            Calendar::EnglandAndWales,
            Calendar::WeekdaysOnly,
        ] {
            assert!(!cal.is_business_day(d("2026-11-28")));
            assert!(!cal.is_business_day(d("2026-11-29")));
            assert!(cal.is_business_day(d("2026-11-30")));
        }
    }

    #[test]
    fn stepping_over_holidays() {
        let fed = Calendar::FederalReserve;
        // Wed before Thanksgiving → Friday.
        assert_eq!(fed.next_business_day(d("2026-11-25")), d("2026-11-27"));
        assert_eq!(fed.add_business_days(d("2026-11-25"), 2), d("2026-11-30"));
        assert_eq!(fed.add_business_days(d("2026-11-28"), 0), d("2026-11-28"));
        assert_eq!(
            fed.business_day_on_or_after(d("2026-11-28")),
            d("2026-11-30")
        );
        assert_eq!(fed.previous_business_day(d("2026-11-30")), d("2026-11-27"));
        // Easter on TARGET2: Thursday → Tuesday.
        assert_eq!(
            Calendar::Target2.next_business_day(d("2026-04-02")),
            d("2026-04-07")
        );
        // UK Christmas 2027: Friday 24 → Wednesday 29.
        assert_eq!(
            Calendar::EnglandAndWales.next_business_day(d("2027-12-24")),
            d("2027-12-29")
        );
    }

    #[test]
    fn saturates_at_the_end_of_time() {
        assert_eq!(
            Calendar::WeekdaysOnly.next_business_day(NaiveDate::MAX),
            NaiveDate::MAX
        );
        assert_eq!(
            Calendar::WeekdaysOnly.previous_business_day(NaiveDate::MIN),
            NaiveDate::MIN
        );
    }
}
