//! Norwegian public holidays and the usual holiday weeks, so sessions are not planned when people are away.

use chrono::{Datelike, Days, NaiveDate};

/// One public holiday ("helligdag" or the official flag days 1 and 17 May).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicHoliday {
    pub date: NaiveDate,
    /// Stable key for translations, e.g. `constitution_day`.
    pub key: &'static str,
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian, or Meeus/Jones/Butcher, algorithm).
///
/// Correct for the Gregorian years 1583..=9999. Euclidean division keeps every intermediate in its documented range,
/// so the result is a real date for any year `NaiveDate` can hold.
///
/// # Panics
/// Only for a year outside the range of `NaiveDate` (about ±262 000); callers pass the year of an existing date.
pub fn easter_sunday(year: i32) -> NaiveDate {
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
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // With h in 0..30 and l in 0..7, h + l - 7m lies in 0..=34 (m is 1 exactly when h + l would reach 35),
    // i.e. 22 March..=25 April. The casts are lossless for the same reason.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("Easter falls between 22 March and 25 April, which exist in every year NaiveDate can represent")
}

/// The Norwegian public holidays of a year, sorted by date.
///
/// Two holidays can share a date (Whit Monday 2027 is 17 May); the fixed-date holiday is then listed first.
pub fn public_holidays(year: i32) -> Vec<PublicHoliday> {
    let easter = easter_sunday(year);
    let fixed = [
        (1, 1, "new_years_day"),
        (5, 1, "labour_day"),
        (5, 17, "constitution_day"),
        (12, 25, "christmas_day"),
        (12, 26, "boxing_day"),
    ];
    let relative_to_easter = [
        (-3, "maundy_thursday"),
        (-2, "good_friday"),
        (0, "easter_sunday"),
        (1, "easter_monday"),
        (39, "ascension_day"),
        (49, "whit_sunday"),
        (50, "whit_monday"),
    ];

    let mut holidays: Vec<PublicHoliday> = fixed
        .into_iter()
        .filter_map(|(month, day, key)| {
            NaiveDate::from_ymd_opt(year, month, day).map(|date| PublicHoliday { date, key })
        })
        .collect();
    holidays.extend(
        relative_to_easter
            .into_iter()
            .filter_map(|(offset, key)| add_days(easter, offset).map(|date| PublicHoliday { date, key })),
    );
    // A stable sort keeps the fixed-date holiday first when two share a date.
    holidays.sort_by_key(|holiday| holiday.date);
    holidays
}

/// The key of the public holiday on `date`, if any.
pub fn public_holiday(date: NaiveDate) -> Option<&'static str> {
    public_holidays(date.year())
        .into_iter()
        .find(|holiday| holiday.date == date)
        .map(|holiday| holiday.key)
}

/// The key of the usual holiday period `date` falls in, if any: `winter_break` (ISO weeks 8 and 9),
/// `easter_week` (Monday of Holy Week through Easter Monday), `summer` (July) or `christmas` (22 Dec through 1 Jan).
pub fn holiday_period(date: NaiveDate) -> Option<&'static str> {
    let easter = easter_sunday(date.year());
    let holy_monday = add_days(easter, -6);
    let easter_monday = add_days(easter, 1);
    let in_easter_week = match (holy_monday, easter_monday) {
        (Some(first), Some(last)) => first <= date && date <= last,
        _ => false,
    };

    if matches!(date.iso_week().week(), 8 | 9) {
        Some("winter_break")
    } else if in_easter_week {
        Some("easter_week")
    } else if date.month() == 7 {
        Some("summer")
    } else if (date.month() == 12 && date.day() >= 22) || (date.month() == 1 && date.day() == 1) {
        Some("christmas")
    } else {
        None
    }
}

/// `date` moved by a signed number of days; `None` only at the ends of the calendar.
fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("test dates are valid")
    }

    fn holiday_date(year: i32, key: &str) -> NaiveDate {
        public_holidays(year)
            .into_iter()
            .find(|holiday| holiday.key == key)
            .map(|holiday| holiday.date)
            .expect("every year has every holiday")
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2027), date(2027, 3, 28));
        assert_eq!(easter_sunday(2038), date(2038, 4, 25));
        assert_eq!(easter_sunday(2285), date(2285, 3, 22));
    }

    #[test]
    fn easter_sunday_is_always_a_sunday_between_22_march_and_25_april() {
        for year in 1583..=9999 {
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), chrono::Weekday::Sun, "{year}");
            assert!(date(year, 3, 22) <= easter && easter <= date(year, 4, 25), "{year}");
        }
    }

    #[test]
    fn a_year_has_twelve_public_holidays_sorted_by_date() {
        let holidays = public_holidays(2027);
        assert_eq!(holidays.len(), 12);
        assert!(holidays.windows(2).all(|pair| pair[0].date <= pair[1].date));
        let keys: Vec<&str> = holidays.iter().map(|holiday| holiday.key).collect();
        assert_eq!(
            keys,
            [
                "new_years_day",
                "maundy_thursday",
                "good_friday",
                "easter_sunday",
                "easter_monday",
                "labour_day",
                "ascension_day",
                "whit_sunday",
                "constitution_day",
                "whit_monday",
                "christmas_day",
                "boxing_day",
            ]
        );
    }

    #[test]
    fn ascension_and_whitsun_follow_easter() {
        assert_eq!(holiday_date(2027, "ascension_day"), date(2027, 5, 6));
        assert_eq!(holiday_date(2027, "whit_sunday"), date(2027, 5, 16));
        assert_eq!(holiday_date(2027, "whit_monday"), date(2027, 5, 17));
        assert_eq!(holiday_date(2027, "maundy_thursday"), date(2027, 3, 25));
        assert_eq!(holiday_date(2027, "good_friday"), date(2027, 3, 26));
        assert_eq!(holiday_date(2027, "easter_monday"), date(2027, 3, 29));
    }

    #[test]
    fn whit_monday_2027_coincides_with_constitution_day_and_the_fixed_holiday_wins() {
        assert_eq!(public_holiday(date(2027, 5, 17)), Some("constitution_day"));
        let on_17_may: Vec<&str> = public_holidays(2027)
            .into_iter()
            .filter(|holiday| holiday.date == date(2027, 5, 17))
            .map(|holiday| holiday.key)
            .collect();
        assert_eq!(on_17_may, ["constitution_day", "whit_monday"]);
    }

    #[test]
    fn fixed_holidays_are_found_by_date() {
        assert_eq!(public_holiday(date(2026, 1, 1)), Some("new_years_day"));
        assert_eq!(public_holiday(date(2026, 5, 1)), Some("labour_day"));
        assert_eq!(public_holiday(date(2026, 5, 17)), Some("constitution_day"));
        assert_eq!(public_holiday(date(2026, 12, 25)), Some("christmas_day"));
        assert_eq!(public_holiday(date(2026, 12, 26)), Some("boxing_day"));
        assert_eq!(public_holiday(date(2026, 5, 14)), Some("ascension_day"));
        assert_eq!(public_holiday(date(2026, 5, 25)), Some("whit_monday"));
    }

    #[test]
    fn an_ordinary_day_is_no_holiday() {
        assert_eq!(public_holiday(date(2027, 2, 3)), None);
        assert_eq!(holiday_period(date(2027, 2, 3)), None);
        assert_eq!(holiday_period(date(2027, 6, 30)), None);
        assert_eq!(holiday_period(date(2027, 8, 1)), None);
        assert_eq!(holiday_period(date(2027, 12, 21)), None);
        assert_eq!(holiday_period(date(2027, 1, 2)), None);
    }

    #[test]
    fn iso_weeks_8_and_9_are_the_winter_break() {
        // ISO week 8 of 2027 runs Monday 22 February to Sunday 28 February, week 9 to Sunday 7 March.
        assert_eq!(holiday_period(date(2027, 2, 21)), None);
        assert_eq!(holiday_period(date(2027, 2, 22)), Some("winter_break"));
        assert_eq!(holiday_period(date(2027, 3, 7)), Some("winter_break"));
        assert_eq!(holiday_period(date(2027, 3, 8)), None);
    }

    #[test]
    fn easter_week_runs_from_monday_of_holy_week_through_easter_monday() {
        // Easter 2027 is 28 March.
        assert_eq!(holiday_period(date(2027, 3, 21)), None);
        assert_eq!(holiday_period(date(2027, 3, 22)), Some("easter_week"));
        assert_eq!(holiday_period(date(2027, 3, 29)), Some("easter_week"));
        assert_eq!(holiday_period(date(2027, 3, 30)), None);
    }

    #[test]
    fn all_of_july_is_summer() {
        assert_eq!(holiday_period(date(2027, 7, 1)), Some("summer"));
        assert_eq!(holiday_period(date(2027, 7, 31)), Some("summer"));
    }

    #[test]
    fn christmas_runs_from_22_december_through_1_january() {
        assert_eq!(holiday_period(date(2027, 12, 22)), Some("christmas"));
        assert_eq!(holiday_period(date(2027, 12, 31)), Some("christmas"));
        assert_eq!(holiday_period(date(2028, 1, 1)), Some("christmas"));
    }
}
