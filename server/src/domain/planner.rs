//! Plans a cohort's sessions: working days in Oslo, away from holidays, spread over the period, no one booked twice.
//!
//! Everything is stored in UTC and judged in Oslo wall time. Pure: the current time comes in as `now`.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Europe::Oslo;
use serde::Serialize;

use super::holidays::{holiday_period, public_holiday};

/// Skipped dates kept in a plan or an error: enough to explain a choice, few enough to show.
const MAX_SKIPPED: usize = 50;

/// Days left free at the end of the period when spreading the sessions, so the last one has room to find a date.
const END_MARGIN_DAYS: i64 = 14;

/// Someone who can only be in one session at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Participant {
    Facilitator(i32),
    Expert(i32),
    /// A municipality; it can be in several cohorts, but not in two sessions at once.
    Organisation(i32),
}

/// A participant's place in some other session, which a new session must not overlap.
#[derive(Clone, Debug)]
pub struct Booking {
    pub participant: Participant,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// e.g. "Sirkulærøkonomi, samling 2" for explanations
    pub label: String,
}

#[derive(Clone, Copy, Debug)]
pub struct PlanningRules {
    /// How many sessions a cohort has.
    pub sessions: u32,
    /// Fewest days between the dates of two sessions of the same cohort.
    pub min_gap_days: i64,
    pub duration: TimeDelta,
    /// Working hours in Oslo: a session starts at or after `day_starts` and ends at or before `day_ends`.
    pub day_starts: NaiveTime,
    pub day_ends: NaiveTime,
    /// Start times the planner tries on each date, in order.
    pub preferred_starts: [NaiveTime; 2],
    /// Fewest days between today and the first proposed session: time to invite people and gather their needs.
    pub lead_days: i64,
}

impl Default for PlanningRules {
    fn default() -> Self {
        PlanningRules {
            sessions: 4,
            min_gap_days: 21,
            duration: TimeDelta::hours(3),
            day_starts: constant_time(8, 0),
            day_ends: constant_time(16, 0),
            preferred_starts: [constant_time(9, 0), constant_time(12, 30)],
            lead_days: 21,
        }
    }
}

/// A programme's planning rules as an admin sets them; the defaults are the planner's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PlanningSettings {
    /// How long a session lasts, in minutes.
    #[schema(minimum = 30, maximum = 600)]
    pub session_minutes: i32,
    /// The earliest hour (Oslo time) a session may start.
    #[schema(minimum = 0, maximum = 23)]
    pub day_starts_hour: i32,
    /// The hour (Oslo time) by which a session must have ended.
    #[schema(minimum = 1, maximum = 24)]
    pub day_ends_hour: i32,
    /// Fewest days between two sessions of a cohort.
    #[schema(minimum = 1, maximum = 120)]
    pub min_gap_days: i32,
    /// Fewest days between today and the first proposed session.
    #[schema(minimum = 0, maximum = 180)]
    pub lead_days: i32,
}

impl Default for PlanningSettings {
    fn default() -> Self {
        let rules = PlanningRules::default();
        PlanningSettings {
            session_minutes: rules.duration.num_minutes() as i32,
            day_starts_hour: rules.day_starts.hour() as i32,
            day_ends_hour: rules.day_ends.hour() as i32,
            min_gap_days: rules.min_gap_days as i32,
            lead_days: rules.lead_days as i32,
        }
    }
}

/// A setting that cannot be used, with the field it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSetting {
    pub code: &'static str,
    pub field: &'static str,
}

impl PlanningSettings {
    /// Checks the settings make a plannable day: hours on the clock, the end after the start, a session that fits
    /// between them, a gap and a lead time within reason.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |code, field| Err(InvalidSetting { code, field });
        if !(0..=23).contains(&self.day_starts_hour) {
            return invalid("planning_invalid_day_start", "day_starts_hour");
        }
        if !(1..=24).contains(&self.day_ends_hour) {
            return invalid("planning_invalid_day_end", "day_ends_hour");
        }
        if self.day_ends_hour <= self.day_starts_hour {
            return invalid("planning_day_ends_before_start", "day_ends_hour");
        }
        if !(30..=600).contains(&self.session_minutes) {
            return invalid("planning_invalid_session_length", "session_minutes");
        }
        if self.session_minutes > (self.day_ends_hour - self.day_starts_hour) * 60 {
            return invalid("planning_session_longer_than_day", "session_minutes");
        }
        if !(1..=120).contains(&self.min_gap_days) {
            return invalid("planning_invalid_gap", "min_gap_days");
        }
        if !(0..=180).contains(&self.lead_days) {
            return invalid("planning_invalid_lead_time", "lead_days");
        }
        Ok(())
    }

    /// The planner's rules for these settings. The planner tries 09:00 and 12:30 where the day allows, otherwise
    /// the first and the last start that fit; settings that do not validate give the default rules.
    pub fn rules(&self) -> PlanningRules {
        let defaults = PlanningRules::default();
        if self.validate().is_err() {
            return defaults;
        }
        let duration = TimeDelta::minutes(i64::from(self.session_minutes));
        let day_starts = constant_time(self.day_starts_hour as u32, 0);
        // 24 means midnight at the end of the day: the last minute stands in for it.
        let day_ends = if self.day_ends_hour == 24 {
            constant_time(23, 59)
        } else {
            constant_time(self.day_ends_hour as u32, 0)
        };
        let latest_start = day_ends - duration;
        let fits = |start: NaiveTime| start >= day_starts && start <= latest_start;
        let [morning, afternoon] = defaults.preferred_starts;
        let first = if fits(morning) { morning } else { day_starts };
        let second = if fits(afternoon) { afternoon } else { latest_start };
        PlanningRules {
            sessions: defaults.sessions,
            min_gap_days: i64::from(self.min_gap_days),
            duration,
            day_starts,
            day_ends,
            preferred_starts: [first, second],
            lead_days: i64::from(self.lead_days),
        }
    }
}

/// What the planner needs to know about one cohort.
pub struct PlanRequest<'a> {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The facilitators, experts and municipalities of this cohort.
    pub participants: &'a [Participant],
    /// Bookings in OTHER sessions (other cohorts, or sessions that are not being planned now).
    pub bookings: &'a [Booking],
    pub rules: PlanningRules,
    pub now: DateTime<Utc>,
}

/// A rule a session breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Violation {
    InThePast,
    OutsidePeriod,
    Weekend,
    OutsideWorkingHours,
    PublicHoliday {
        key: &'static str,
    },
    HolidayPeriod {
        key: &'static str,
    },
    TooClose {
        other_number: u32,
        days: i64,
        min_days: i64,
    },
    Clash {
        participant: Participant,
        label: String,
    },
    EndsBeforeStart,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProposedSession {
    /// 1-based number within the cohort ("samling 2").
    pub number: u32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A date the planner looked at, and why no preferred start time worked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedDate {
    pub date: NaiveDate,
    /// The violations at the first preferred start time.
    pub reasons: Vec<Violation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub sessions: Vec<ProposedSession>,
    /// dates the planner looked at and why they were not possible (at most 50, in the order they were looked at)
    pub skipped: Vec<SkippedDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PlanError {
    /// `available_days` counts the days from the first usable date (the lead time after today at the earliest, and
    /// tomorrow at least) to the period's end;
    /// the sessions need at least `(sessions - 1) * min_gap_days`, and at least a day each.
    PeriodTooShort {
        sessions: u32,
        min_gap_days: i64,
        available_days: i64,
    },
    /// No date in the period works for session `number`; `skipped` starts with the dates tried for it.
    NoFreeDate { number: u32, skipped: Vec<SkippedDate> },
    /// The period ends before it starts.
    InvalidPeriod,
}

/// Every rule the session `number` from `start` to `end` breaks; empty means the slot is fine.
///
/// `other_sessions` are the cohort's other sessions; an entry with the same `number` is ignored, so the whole plan
/// can be passed.
pub fn check_slot(
    request: &PlanRequest,
    number: u32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    other_sessions: &[ProposedSession],
) -> Vec<Violation> {
    let rules = &request.rules;
    let local_start = start.with_timezone(&Oslo);
    let local_end = end.with_timezone(&Oslo);
    let date = local_start.date_naive();
    let mut violations = Vec::new();

    if end <= start {
        violations.push(Violation::EndsBeforeStart);
    }
    if start <= request.now {
        violations.push(Violation::InThePast);
    }
    if date < request.period_start || date > request.period_end {
        violations.push(Violation::OutsidePeriod);
    }
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        violations.push(Violation::Weekend);
    }
    let within_working_hours =
        local_end.date_naive() == date && local_start.time() >= rules.day_starts && local_end.time() <= rules.day_ends;
    if !within_working_hours {
        violations.push(Violation::OutsideWorkingHours);
    }
    if let Some(key) = public_holiday(date) {
        violations.push(Violation::PublicHoliday { key });
    }
    if let Some(key) = holiday_period(date) {
        violations.push(Violation::HolidayPeriod { key });
    }

    for other in other_sessions.iter().filter(|other| other.number != number) {
        let days = (date - oslo_date(other.start)).num_days().abs();
        if days < rules.min_gap_days {
            violations.push(Violation::TooClose {
                other_number: other.number,
                days,
                min_days: rules.min_gap_days,
            });
        }
    }

    let bookings_of_this_cohort = request
        .bookings
        .iter()
        .filter(|booking| request.participants.contains(&booking.participant));
    for booking in bookings_of_this_cohort {
        // Half-open intervals: a session may start the moment another one ends.
        if booking.start < end && start < booking.end {
            violations.push(Violation::Clash {
                participant: booking.participant,
                label: booking.label.clone(),
            });
        }
    }

    violations
}

/// Proposes dates for all the cohort's sessions, spread over the period.
///
/// Each session aims at an evenly spaced target date and takes the first date from there (and at least
/// `min_gap_days` after the previous session) where a preferred start time breaks no rule. Should nothing be free
/// up to the end of the period, it looks back towards the previous session before giving up.
pub fn propose_plan(request: &PlanRequest) -> Result<Plan, PlanError> {
    let rules = &request.rules;
    if request.period_end < request.period_start {
        return Err(PlanError::InvalidPeriod);
    }
    if rules.sessions == 0 {
        return Ok(Plan {
            sessions: Vec::new(),
            skipped: Vec::new(),
        });
    }

    // Planning for today is too late to invite anyone; the lead time leaves room for invitations and the needs
    // intake before the first session.
    let earliest_by_lead = add_days(oslo_date(request.now), rules.lead_days.max(1)).unwrap_or(NaiveDate::MAX);
    let first_day = request.period_start.max(earliest_by_lead);
    let available_days = (request.period_end - first_day).num_days();
    // At least a day apart, so two sessions of a cohort never share a date (or a time).
    let gap_days = rules.min_gap_days.max(1);
    let needed_days = i64::from(rules.sessions - 1).saturating_mul(gap_days);
    if available_days < needed_days {
        return Err(PlanError::PeriodTooShort {
            sessions: rules.sessions,
            min_gap_days: rules.min_gap_days,
            available_days: available_days.max(0),
        });
    }

    let spare_days = available_days - needed_days;
    let span_days = available_days - spare_days.min(END_MARGIN_DAYS);
    let step_days = if rules.sessions > 1 {
        span_days / i64::from(rules.sessions - 1)
    } else {
        0
    };

    let mut sessions: Vec<ProposedSession> = Vec::new();
    let mut skipped: Vec<SkippedDate> = Vec::new();
    for number in 1..=rules.sessions {
        // index * step_days <= span_days <= available_days, so the target lies within the period.
        let target = add_days(first_day, i64::from(number - 1) * step_days);
        let earliest = match sessions.last() {
            Some(previous) => add_days(oslo_date(previous.start), gap_days),
            None => Some(first_day),
        };

        let mut skipped_for_this_session = Vec::new();
        let mut found = None;
        if let (Some(target), Some(earliest)) = (target, earliest) {
            for date in candidate_dates(earliest, target.max(earliest), request.period_end) {
                match first_free_slot(request, number, date, &sessions) {
                    Ok(session) => {
                        found = Some(session);
                        break;
                    }
                    Err(reasons) => skipped_for_this_session.push(SkippedDate { date, reasons }),
                }
            }
        }

        match found {
            Some(session) => {
                sessions.push(session);
                merge_skipped(&mut skipped, skipped_for_this_session);
            }
            None => {
                // The dates tried for the failing session explain the failure best, so they come first.
                let mut explanation = Vec::new();
                merge_skipped(&mut explanation, skipped_for_this_session);
                merge_skipped(&mut explanation, skipped);
                return Err(PlanError::NoFreeDate {
                    number,
                    skipped: explanation,
                });
            }
        }
    }

    Ok(Plan { sessions, skipped })
}

/// Moves session `number` to `start`, keeping its duration, and returns the new plan (sorted by number) and what the
/// moved session now breaks. Violations are warnings: the move is made regardless.
///
/// A number that is not in the plan is added with the rules' duration.
pub fn reschedule(
    request: &PlanRequest,
    plan: &[ProposedSession],
    number: u32,
    start: DateTime<Utc>,
) -> (Vec<ProposedSession>, Vec<Violation>) {
    let duration = plan
        .iter()
        .find(|session| session.number == number)
        .map(|session| session.end - session.start)
        .unwrap_or(request.rules.duration);
    let moved = ProposedSession {
        number,
        start,
        end: session_end(start, duration),
    };

    let mut sessions: Vec<ProposedSession> = plan
        .iter()
        .filter(|session| session.number != number)
        .cloned()
        .collect();
    let violations = check_slot(request, number, moved.start, moved.end, &sessions);
    sessions.push(moved);
    sessions.sort_by_key(|session| session.number);
    (sessions, violations)
}

/// The UTC instant of an Oslo wall time.
///
/// When the clocks go forward (02:00 to 03:00 on the last Sunday of March) the skipped wall times become the moment
/// of the jump, the next valid instant; when they go back, a repeated wall time means its first occurrence.
pub fn oslo(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wall_time = date.and_time(time);
    match Oslo.from_local_datetime(&wall_time) {
        LocalResult::Single(instant) => instant.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => first_instant_after_gap(wall_time),
    }
}

/// The first instant after a wall time that does not exist in Oslo, found by stepping a minute at a time: Oslo's
/// clocks have always changed on the whole hour, and a gap lasts one hour.
fn first_instant_after_gap(wall_time: NaiveDateTime) -> DateTime<Utc> {
    const MINUTES_PER_DAY: i64 = 24 * 60;
    let whole_minute = wall_time
        .with_second(0)
        .and_then(|time| time.with_nanosecond(0))
        .unwrap_or(wall_time);
    for minutes in 1..=MINUTES_PER_DAY {
        let Some(candidate) = whole_minute.checked_add_signed(TimeDelta::minutes(minutes)) else {
            break;
        };
        match Oslo.from_local_datetime(&candidate) {
            LocalResult::Single(instant) => return instant.with_timezone(&Utc),
            LocalResult::Ambiguous(first, second) => return first.min(second).with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    // Not reached for Oslo. Reading the wall time as UTC is off by an hour or two, but never panics.
    wall_time.and_utc()
}

/// The date of an instant on the Oslo calendar.
fn oslo_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&Oslo).date_naive()
}

/// `date` moved by a signed number of days; `None` past the ends of the calendar.
fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_signed(TimeDelta::try_days(days)?)
}

/// The end of a session; an absurd duration saturates (and then breaks working hours) instead of overflowing.
fn session_end(start: DateTime<Utc>, duration: TimeDelta) -> DateTime<Utc> {
    start.checked_add_signed(duration).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The dates to try for a session: forward from `from` through `last`, then back from `from` towards `earliest`.
fn candidate_dates(earliest: NaiveDate, from: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let forward = std::iter::successors(Some(from), |date| date.succ_opt()).take_while(move |date| *date <= last);
    let backward =
        std::iter::successors(from.pred_opt(), |date| date.pred_opt()).take_while(move |date| *date >= earliest);
    forward.chain(backward)
}

/// The session at the first preferred start time on `date` that breaks no rule, or the violations at the first
/// preferred start time.
fn first_free_slot(
    request: &PlanRequest,
    number: u32,
    date: NaiveDate,
    chosen: &[ProposedSession],
) -> Result<ProposedSession, Vec<Violation>> {
    let mut first_violations = None;
    for start_time in request.rules.preferred_starts {
        let start = oslo(date, start_time);
        let end = session_end(start, request.rules.duration);
        let violations = check_slot(request, number, start, end, chosen);
        if violations.is_empty() {
            return Ok(ProposedSession { number, start, end });
        }
        first_violations.get_or_insert(violations);
    }
    Err(first_violations.unwrap_or_default())
}

/// Appends the skipped dates not already listed, up to `MAX_SKIPPED`.
fn merge_skipped(into: &mut Vec<SkippedDate>, more: Vec<SkippedDate>) {
    for skipped in more {
        if into.len() >= MAX_SKIPPED {
            return;
        }
        if !into.iter().any(|listed| listed.date == skipped.date) {
            into.push(skipped);
        }
    }
}

/// A wall-clock time from constants in this file.
fn constant_time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).expect("only called with constant hours < 24 and minutes < 60")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("test dates are valid")
    }

    fn time(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).expect("test times are valid")
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        date(year, month, day).and_time(time(hour, minute)).and_utc()
    }

    /// Oslo wall time as UTC, for readable tests.
    fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        oslo(date(year, month, day), time(hour, minute))
    }

    fn request<'a>(
        period: (NaiveDate, NaiveDate),
        participants: &'a [Participant],
        bookings: &'a [Booking],
        now: DateTime<Utc>,
    ) -> PlanRequest<'a> {
        PlanRequest {
            period_start: period.0,
            period_end: period.1,
            participants,
            bookings,
            rules: PlanningRules::default(),
            now,
        }
    }

    /// The 2027 programme year, planned on 1 December 2026.
    fn programme_2027<'a>(participants: &'a [Participant], bookings: &'a [Booking]) -> PlanRequest<'a> {
        request(
            (date(2027, 1, 4), date(2027, 12, 17)),
            participants,
            bookings,
            utc(2026, 12, 1, 12, 0),
        )
    }

    fn booking(participant: Participant, start: DateTime<Utc>, end: DateTime<Utc>, label: &str) -> Booking {
        Booking {
            participant,
            start,
            end,
            label: label.to_string(),
        }
    }

    /// A three-hour slot starting at an Oslo wall time.
    fn slot(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = at(year, month, day, hour, minute);
        (start, start + TimeDelta::hours(3))
    }

    fn dates_of(plan: &Plan) -> Vec<NaiveDate> {
        plan.sessions.iter().map(|session| oslo_date(session.start)).collect()
    }

    fn has_reason(skipped: &[SkippedDate], reason: &Violation) -> bool {
        skipped.iter().any(|skipped| skipped.reasons.contains(reason))
    }

    /// Asserts everything users expect of a proposed plan, by the rules themselves and not through `check_slot`.
    fn assert_sound(request: &PlanRequest, plan: &Plan) {
        let rules = request.rules;
        let numbers: Vec<u32> = plan.sessions.iter().map(|session| session.number).collect();
        assert_eq!(numbers, (1..=rules.sessions).collect::<Vec<_>>());
        for session in &plan.sessions {
            let start = session.start.with_timezone(&Oslo);
            let end = session.end.with_timezone(&Oslo);
            let day = start.date_naive();
            assert!(session.start > request.now, "{day} is in the past");
            assert!(
                request.period_start <= day && day <= request.period_end,
                "{day} is outside the period"
            );
            assert!(
                !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                "{day} is a weekend"
            );
            assert_eq!(public_holiday(day), None, "{day} is a public holiday");
            assert_eq!(holiday_period(day), None, "{day} is in a holiday period");
            assert!(
                rules.preferred_starts.contains(&start.time()),
                "{day} starts at {}",
                start.time()
            );
            assert_eq!(end.date_naive(), day);
            assert!(end.time() <= rules.day_ends, "{day} ends at {}", end.time());
            assert_eq!(session.end - session.start, rules.duration);
        }
        for pair in plan.sessions.windows(2) {
            let gap = (oslo_date(pair[1].start) - oslo_date(pair[0].start)).num_days();
            assert!(
                gap >= rules.min_gap_days,
                "sessions {} and {} are {gap} days apart",
                pair[0].number,
                pair[1].number
            );
        }
    }

    #[test]
    fn a_2027_programme_period_gives_four_sound_sessions_spread_over_the_year() {
        let request = programme_2027(&[], &[]);
        let plan = propose_plan(&request).expect("the year has room");

        assert_eq!(plan.sessions.len(), 4);
        assert_sound(&request, &plan);
        for session in &plan.sessions {
            assert!(check_slot(&request, session.number, session.start, session.end, &plan.sessions).is_empty());
        }
        // Spread: the first in January, the last in the autumn, whatever the season's UTC offset.
        let dates = dates_of(&plan);
        assert_eq!(dates[0], date(2027, 1, 4));
        assert!(dates[3] >= date(2027, 10, 1), "last session on {}", dates[3]);
        assert!(
            plan.sessions
                .iter()
                .all(|session| session.start.with_timezone(&Oslo).time() == time(9, 0))
        );
    }

    #[test]
    fn a_period_containing_easter_avoids_easter_week_and_the_may_holidays() {
        let request = request((date(2027, 3, 20), date(2027, 6, 30)), &[], &[], utc(2027, 3, 1, 12, 0));
        let plan = propose_plan(&request).expect("the spring has room");

        assert_eq!(plan.sessions.len(), 4);
        assert_sound(&request, &plan);
        let easter_week = date(2027, 3, 22)..=date(2027, 3, 29);
        let may_holidays = [date(2027, 5, 1), date(2027, 5, 6), date(2027, 5, 16), date(2027, 5, 17)];
        for day in dates_of(&plan) {
            assert!(!easter_week.contains(&day), "{day} is in Easter week");
            assert!(!may_holidays.contains(&day), "{day} is a May holiday");
        }
        // The period starts just before Easter week, and a target lands on 17 May.
        assert!(has_reason(
            &plan.skipped,
            &Violation::HolidayPeriod { key: "easter_week" }
        ));
        assert!(has_reason(
            &plan.skipped,
            &Violation::PublicHoliday {
                key: "constitution_day"
            }
        ));
    }

    #[test]
    fn oslo_wall_time_follows_daylight_saving_time() {
        // Summer time starts on Sunday 28 March 2027.
        assert_eq!(at(2027, 3, 26, 9, 0), utc(2027, 3, 26, 8, 0));
        assert_eq!(at(2027, 3, 29, 9, 0), utc(2027, 3, 29, 7, 0));
        // Winter time returns on Sunday 31 October 2027.
        assert_eq!(at(2027, 10, 29, 9, 0), utc(2027, 10, 29, 7, 0));
        assert_eq!(at(2027, 11, 1, 9, 0), utc(2027, 11, 1, 8, 0));
    }

    #[test]
    fn a_wall_time_in_the_spring_forward_gap_becomes_the_moment_of_the_jump() {
        // 02:00 CET jumps to 03:00 CEST, i.e. 01:00 UTC.
        assert_eq!(at(2027, 3, 28, 2, 30), utc(2027, 3, 28, 1, 0));
        assert_eq!(at(2027, 3, 28, 2, 0), utc(2027, 3, 28, 1, 0));
        assert_eq!(at(2027, 3, 28, 3, 0), utc(2027, 3, 28, 1, 0));
        let with_seconds = NaiveTime::from_hms_opt(2, 30, 15).expect("valid time");
        assert_eq!(oslo(date(2027, 3, 28), with_seconds), utc(2027, 3, 28, 1, 0));
    }

    #[test]
    fn an_ambiguous_wall_time_when_clocks_go_back_is_its_first_occurrence() {
        // 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
        assert_eq!(at(2027, 10, 31, 2, 30), utc(2027, 10, 31, 0, 30));
    }

    #[test]
    fn a_session_planned_across_the_clock_change_keeps_its_oslo_wall_time() {
        let request = request((date(2027, 3, 1), date(2027, 3, 31)), &[], &[], utc(2027, 2, 1, 12, 0));
        let before = slot(2027, 3, 26, 9, 0);
        let after = slot(2027, 3, 30, 9, 0);
        assert_eq!(before.0, utc(2027, 3, 26, 8, 0));
        assert_eq!(after.0, utc(2027, 3, 30, 7, 0));
        assert!(!check_slot(&request, 1, before.0, before.1, &[]).contains(&Violation::OutsideWorkingHours));
        assert!(!check_slot(&request, 1, after.0, after.1, &[]).contains(&Violation::OutsideWorkingHours));
    }

    #[test]
    fn a_thirty_day_period_is_too_short_for_four_sessions() {
        let request = request((date(2027, 9, 1), date(2027, 9, 30)), &[], &[], utc(2027, 8, 1, 12, 0));
        assert_eq!(
            propose_plan(&request),
            Err(PlanError::PeriodTooShort {
                sessions: 4,
                min_gap_days: 21,
                available_days: 29
            })
        );
    }

    #[test]
    fn a_period_that_has_partly_passed_counts_from_tomorrow() {
        // Planned on Saturday 20 February for a period ending 10 March, without a lead time: 21 February to
        // 10 March is 17 days.
        let mut request = request((date(2027, 1, 4), date(2027, 3, 10)), &[], &[], utc(2027, 2, 20, 12, 0));
        request.rules.lead_days = 0;
        assert_eq!(
            propose_plan(&request),
            Err(PlanError::PeriodTooShort {
                sessions: 4,
                min_gap_days: 21,
                available_days: 17
            })
        );
    }

    #[test]
    fn a_period_that_ends_before_it_starts_is_invalid() {
        let request = request((date(2027, 6, 1), date(2027, 5, 1)), &[], &[], utc(2027, 1, 1, 12, 0));
        assert_eq!(propose_plan(&request), Err(PlanError::InvalidPeriod));
    }

    #[test]
    fn a_plan_over_the_summer_skips_july() {
        let request = request((date(2027, 6, 28), date(2027, 9, 30)), &[], &[], utc(2027, 6, 1, 12, 0));
        let plan = propose_plan(&request).expect("August and September have room");

        assert_sound(&request, &plan);
        assert!(dates_of(&plan).iter().all(|day| day.month() != 7));
        assert!(has_reason(&plan.skipped, &Violation::HolidayPeriod { key: "summer" }));
    }

    #[test]
    fn a_period_long_enough_by_days_but_full_of_summer_has_no_free_date() {
        // 53 days hold four sessions 14 days apart on paper, but July is holiday.
        let mut request = request((date(2027, 6, 28), date(2027, 8, 20)), &[], &[], utc(2027, 6, 1, 12, 0));
        request.rules.min_gap_days = 14;

        let Err(PlanError::NoFreeDate { number, skipped }) = propose_plan(&request) else {
            panic!("expected NoFreeDate");
        };
        assert_eq!(number, 4);
        assert!(has_reason(&skipped, &Violation::HolidayPeriod { key: "summer" }));
        assert!(skipped.len() <= MAX_SKIPPED);
    }

    /// A cohort planned on Monday 1 February 2027 with no lead time, so its first target is Tuesday 2 February.
    fn february_cohort<'a>(participants: &'a [Participant], bookings: &'a [Booking]) -> PlanRequest<'a> {
        let mut request = request(
            (date(2027, 2, 1), date(2027, 6, 18)),
            participants,
            bookings,
            utc(2027, 2, 1, 8, 0),
        );
        request.rules.lead_days = 0;
        request
    }

    const COHORT: [Participant; 3] = [
        Participant::Facilitator(1),
        Participant::Expert(2),
        Participant::Organisation(7),
    ];

    #[test]
    fn an_organisation_in_another_cohort_is_never_booked_into_an_overlapping_session() {
        let bookings = [booking(
            Participant::Organisation(7),
            at(2027, 2, 2, 9, 0),
            at(2027, 2, 2, 12, 0),
            "Sirkulærøkonomi, samling 2",
        )];
        let request = february_cohort(&COHORT, &bookings);
        let plan = propose_plan(&request).expect("the spring has room");

        assert_sound(&request, &plan);
        for session in &plan.sessions {
            assert!(
                !(bookings[0].start < session.end && session.start < bookings[0].end),
                "{session:?} overlaps"
            );
        }
        // The morning is taken, the afternoon is free.
        assert_eq!(plan.sessions[0].start, at(2027, 2, 2, 12, 30));
    }

    #[test]
    fn a_day_fully_booked_for_an_organisation_is_skipped_with_the_clash_as_reason() {
        let bookings = [
            booking(
                Participant::Organisation(7),
                at(2027, 2, 2, 9, 0),
                at(2027, 2, 2, 12, 0),
                "Sirkulærøkonomi, samling 2",
            ),
            booking(
                Participant::Organisation(7),
                at(2027, 2, 2, 12, 0),
                at(2027, 2, 2, 15, 0),
                "Klimatilpasning, samling 1",
            ),
        ];
        let request = february_cohort(&COHORT, &bookings);
        let plan = propose_plan(&request).expect("the spring has room");

        assert_sound(&request, &plan);
        assert_eq!(plan.sessions[0].start, at(2027, 2, 3, 9, 0));
        let clash = Violation::Clash {
            participant: Participant::Organisation(7),
            label: "Sirkulærøkonomi, samling 2".to_string(),
        };
        assert_eq!(
            plan.skipped[0],
            SkippedDate {
                date: date(2027, 2, 2),
                reasons: vec![clash]
            }
        );
    }

    #[test]
    fn a_busy_facilitator_is_never_booked_twice() {
        let bookings = [booking(
            Participant::Facilitator(1),
            at(2027, 2, 2, 8, 0),
            at(2027, 2, 2, 16, 0),
            "Mobilitet, samling 3",
        )];
        let request = february_cohort(&COHORT, &bookings);
        let plan = propose_plan(&request).expect("the spring has room");

        assert_sound(&request, &plan);
        assert_eq!(oslo_date(plan.sessions[0].start), date(2027, 2, 3));
        let clash = Violation::Clash {
            participant: Participant::Facilitator(1),
            label: "Mobilitet, samling 3".to_string(),
        };
        assert!(has_reason(&plan.skipped, &clash));
    }

    #[test]
    fn a_booking_of_someone_outside_the_cohort_does_not_block() {
        let bookings = [
            booking(
                Participant::Expert(99),
                at(2027, 2, 2, 8, 0),
                at(2027, 2, 2, 16, 0),
                "Mobilitet, samling 3",
            ),
            booking(
                Participant::Organisation(8),
                at(2027, 2, 2, 8, 0),
                at(2027, 2, 2, 16, 0),
                "Mobilitet, samling 3",
            ),
        ];
        let request = february_cohort(&COHORT, &bookings);
        let plan = propose_plan(&request).expect("the spring has room");

        assert_eq!(plan.sessions[0].start, at(2027, 2, 2, 9, 0));
        assert!(plan.skipped.iter().all(|skipped| {
            !skipped
                .reasons
                .iter()
                .any(|reason| matches!(reason, Violation::Clash { .. }))
        }));
    }

    #[test]
    fn a_session_may_start_when_a_booking_ends() {
        let bookings = [booking(
            Participant::Expert(2),
            at(2027, 2, 3, 6, 0),
            at(2027, 2, 3, 9, 0),
            "Frokostmøte",
        )];
        let request = programme_2027(&COHORT, &bookings);
        let (start, end) = slot(2027, 2, 3, 9, 0);
        assert_eq!(check_slot(&request, 1, start, end, &[]), []);
    }

    #[test]
    fn check_slot_reports_a_clash_with_the_booking_label() {
        let bookings = [booking(
            Participant::Expert(2),
            at(2027, 2, 3, 11, 0),
            at(2027, 2, 3, 13, 0),
            "Energi, samling 4",
        )];
        let request = programme_2027(&COHORT, &bookings);
        let (start, end) = slot(2027, 2, 3, 9, 0);
        assert_eq!(
            check_slot(&request, 1, start, end, &[]),
            [Violation::Clash {
                participant: Participant::Expert(2),
                label: "Energi, samling 4".to_string()
            }]
        );
    }

    #[test]
    fn check_slot_accepts_an_ordinary_working_day() {
        let request = programme_2027(&[], &[]);
        let (start, end) = slot(2027, 2, 3, 9, 0);
        assert_eq!(check_slot(&request, 1, start, end, &[]), []);
    }

    #[test]
    fn check_slot_reports_a_weekend() {
        let request = programme_2027(&[], &[]);
        let (start, end) = slot(2027, 2, 6, 9, 0);
        assert_eq!(check_slot(&request, 1, start, end, &[]), [Violation::Weekend]);
    }

    #[test]
    fn check_slot_reports_constitution_day() {
        let request = programme_2027(&[], &[]);
        let (start, end) = slot(2027, 5, 17, 9, 0);
        assert_eq!(
            check_slot(&request, 1, start, end, &[]),
            [Violation::PublicHoliday {
                key: "constitution_day"
            }]
        );
    }

    #[test]
    fn check_slot_reports_the_winter_break() {
        let request = programme_2027(&[], &[]);
        let (start, end) = slot(2027, 2, 23, 9, 0);
        assert_eq!(
            check_slot(&request, 1, start, end, &[]),
            [Violation::HolidayPeriod { key: "winter_break" }]
        );
    }

    #[test]
    fn check_slot_reports_a_session_outside_working_hours() {
        let request = programme_2027(&[], &[]);
        let too_late = slot(2027, 2, 3, 14, 0);
        let too_early = slot(2027, 2, 3, 7, 30);
        let past_midnight = slot(2027, 2, 3, 22, 0);
        assert_eq!(
            check_slot(&request, 1, too_late.0, too_late.1, &[]),
            [Violation::OutsideWorkingHours]
        );
        assert_eq!(
            check_slot(&request, 1, too_early.0, too_early.1, &[]),
            [Violation::OutsideWorkingHours]
        );
        assert_eq!(
            check_slot(&request, 1, past_midnight.0, past_midnight.1, &[]),
            [Violation::OutsideWorkingHours]
        );
        // Ending exactly when the working day ends is fine.
        let last_possible = slot(2027, 2, 3, 13, 0);
        assert_eq!(check_slot(&request, 1, last_possible.0, last_possible.1, &[]), []);
    }

    #[test]
    fn check_slot_reports_a_session_too_close_to_another() {
        let request = programme_2027(&[], &[]);
        let (first_start, first_end) = slot(2027, 1, 13, 9, 0);
        let first = ProposedSession {
            number: 1,
            start: first_start,
            end: first_end,
        };
        let (start, end) = slot(2027, 1, 20, 12, 30);
        assert_eq!(
            check_slot(&request, 2, start, end, std::slice::from_ref(&first)),
            [Violation::TooClose {
                other_number: 1,
                days: 7,
                min_days: 21
            }]
        );
        // Exactly the minimum gap is fine, and a session is never too close to itself.
        let (start, end) = slot(2027, 2, 3, 9, 0);
        assert_eq!(check_slot(&request, 2, start, end, std::slice::from_ref(&first)), []);
        assert_eq!(
            check_slot(&request, 1, first.start, first.end, std::slice::from_ref(&first)),
            []
        );
    }

    #[test]
    fn check_slot_reports_a_session_in_the_past() {
        let request = request((date(2027, 1, 4), date(2027, 12, 17)), &[], &[], utc(2027, 3, 1, 12, 0));
        let (start, end) = slot(2027, 2, 3, 9, 0);
        assert_eq!(check_slot(&request, 1, start, end, &[]), [Violation::InThePast]);
    }

    #[test]
    fn check_slot_reports_a_session_outside_the_period() {
        let request = programme_2027(&[], &[]);
        let (start, end) = slot(2027, 12, 20, 9, 0);
        assert_eq!(check_slot(&request, 1, start, end, &[]), [Violation::OutsidePeriod]);
    }

    #[test]
    fn check_slot_reports_a_session_that_ends_before_it_starts() {
        let request = programme_2027(&[], &[]);
        let start = at(2027, 2, 3, 9, 0);
        assert_eq!(check_slot(&request, 1, start, start, &[]), [Violation::EndsBeforeStart]);
    }

    #[test]
    fn rescheduling_onto_a_saturday_keeps_the_duration_and_warns_instead_of_refusing() {
        let request = programme_2027(&[], &[]);
        let plan = propose_plan(&request).expect("the year has room");
        let second = &plan.sessions[1];
        // The Saturday after session 2's date, which is no holiday.
        let saturday_after = oslo_date(second.start)
            .iter_days()
            .find(|day| day.weekday() == Weekday::Sat && public_holiday(*day).is_none())
            .expect("a Saturday comes within a week");
        let new_start = oslo(saturday_after, time(10, 0));

        let (sessions, violations) = reschedule(&request, &plan.sessions, 2, new_start);

        assert_eq!(violations, [Violation::Weekend]);
        assert_eq!(sessions.len(), 4);
        assert_eq!(sessions[1].number, 2);
        assert_eq!(sessions[1].start, new_start);
        assert_eq!(sessions[1].end - sessions[1].start, TimeDelta::hours(3));
        assert_eq!(sessions[0], plan.sessions[0]);
        assert_eq!(sessions[2..], plan.sessions[2..]);
    }

    #[test]
    fn rescheduling_keeps_a_custom_duration_and_warns_about_a_close_neighbour() {
        let request = programme_2027(&[], &[]);
        let plan = [
            ProposedSession {
                number: 1,
                start: at(2027, 2, 3, 9, 0),
                end: at(2027, 2, 3, 11, 0),
            },
            ProposedSession {
                number: 2,
                start: at(2027, 4, 7, 9, 0),
                end: at(2027, 4, 7, 11, 0),
            },
        ];

        let (sessions, violations) = reschedule(&request, &plan, 2, at(2027, 2, 10, 13, 0));

        assert_eq!(
            violations,
            [Violation::TooClose {
                other_number: 1,
                days: 7,
                min_days: 21
            }]
        );
        assert_eq!(
            sessions[1],
            ProposedSession {
                number: 2,
                start: at(2027, 2, 10, 13, 0),
                end: at(2027, 2, 10, 15, 0)
            }
        );
    }

    #[test]
    fn rescheduling_to_a_free_date_has_no_violations() {
        let request = programme_2027(&[], &[]);
        let plan = propose_plan(&request).expect("the year has room");
        let new_start = plan.sessions[0].start + TimeDelta::days(1);
        let (sessions, violations) = reschedule(&request, &plan.sessions, 1, new_start);
        assert_eq!(violations, []);
        assert_eq!(sessions[0].start, new_start);
    }

    #[test]
    fn a_single_session_is_planned_at_the_start_of_the_period() {
        let mut request = programme_2027(&[], &[]);
        request.rules.sessions = 1;
        let plan = propose_plan(&request).expect("the year has room");
        assert_eq!(
            plan.sessions,
            [ProposedSession {
                number: 1,
                start: at(2027, 1, 4, 9, 0),
                end: at(2027, 1, 4, 12, 0)
            }]
        );
    }

    #[test]
    fn a_period_ending_in_july_looks_back_for_the_last_session() {
        // The last target falls in July; the planner looks back to June instead of giving up.
        let request = request((date(2027, 1, 4), date(2027, 7, 31)), &[], &[], utc(2026, 12, 1, 12, 0));
        let plan = propose_plan(&request).expect("the spring has room");
        assert_sound(&request, &plan);
        assert_eq!(oslo_date(plan.sessions[3].start), date(2027, 6, 30));
    }

    #[test]
    fn sessions_without_a_minimum_gap_still_get_a_date_each() {
        let mut request = programme_2027(&[], &[]);
        request.rules.min_gap_days = 0;
        let plan = propose_plan(&request).expect("the year has room");
        let mut dates = dates_of(&plan);
        dates.dedup();
        assert_eq!(dates.len(), 4);
    }

    #[test]
    fn the_first_session_waits_for_the_lead_time_when_the_programme_has_already_started() {
        // Planned on Wednesday 10 March 2027 in a programme that started on 4 January: three weeks on is 31 March.
        let request = request((date(2027, 1, 4), date(2027, 12, 17)), &[], &[], utc(2027, 3, 10, 9, 0));
        let plan = propose_plan(&request).expect("the year has room");
        assert_sound(&request, &plan);
        assert_eq!(dates_of(&plan)[0], date(2027, 3, 31));
    }

    #[test]
    fn the_first_session_waits_for_the_programme_start_when_that_is_later_than_the_lead_time() {
        // Planned on 1 December 2026 for a programme starting 4 January: the lead time ends on 22 December.
        let request = programme_2027(&[], &[]);
        let plan = propose_plan(&request).expect("the year has room");
        assert_eq!(dates_of(&plan)[0], date(2027, 1, 4));
        let mut longer = programme_2027(&[], &[]);
        longer.rules.lead_days = 60;
        let plan = propose_plan(&longer).expect("the year has room");
        // 60 days after 1 December 2026 is Saturday 30 January; the next working day is 1 February.
        assert_eq!(dates_of(&plan)[0], date(2027, 2, 1));
    }

    #[test]
    fn the_lead_time_still_skips_holidays() {
        // Three weeks after Thursday 3 December 2026 is Christmas Eve, in the Christmas break.
        let request = request(
            (date(2026, 12, 1), date(2027, 12, 17)),
            &[],
            &[],
            utc(2026, 12, 3, 12, 0),
        );
        let plan = propose_plan(&request).expect("the year has room");
        assert_sound(&request, &plan);
        let first = dates_of(&plan)[0];
        assert!(first >= date(2026, 12, 24), "{first}");
        assert_eq!(holiday_period(first), None, "{first}");
        assert!(plan.skipped.iter().any(|skipped| skipped.date == date(2026, 12, 24)));
    }

    #[test]
    fn a_lead_time_that_leaves_too_little_of_the_period_is_too_short() {
        let mut request = request((date(2027, 3, 1), date(2027, 6, 30)), &[], &[], utc(2027, 3, 1, 12, 0));
        request.rules.lead_days = 100;
        assert!(matches!(
            propose_plan(&request),
            Err(PlanError::PeriodTooShort { available_days: 21, .. })
        ));
    }

    #[test]
    fn planning_settings_default_to_the_planners_rules_and_reject_impossible_days() {
        let settings = PlanningSettings::default();
        assert_eq!(
            settings,
            PlanningSettings {
                session_minutes: 180,
                day_starts_hour: 8,
                day_ends_hour: 16,
                min_gap_days: 21,
                lead_days: 21
            }
        );
        let rules = settings.rules();
        let defaults = PlanningRules::default();
        assert_eq!(
            (
                rules.duration,
                rules.day_starts,
                rules.day_ends,
                rules.preferred_starts,
                rules.min_gap_days,
                rules.lead_days
            ),
            (
                defaults.duration,
                defaults.day_starts,
                defaults.day_ends,
                defaults.preferred_starts,
                defaults.min_gap_days,
                defaults.lead_days
            )
        );
        let with = |change: fn(&mut PlanningSettings)| {
            let mut changed = PlanningSettings::default();
            change(&mut changed);
            changed.validate().map_err(|invalid| invalid.code)
        };
        assert_eq!(with(|s| s.day_ends_hour = 8), Err("planning_day_ends_before_start"));
        assert_eq!(
            with(|s| s.session_minutes = 540),
            Err("planning_session_longer_than_day")
        );
        assert_eq!(with(|s| s.lead_days = 181), Err("planning_invalid_lead_time"));
        assert_eq!(with(|s| s.lead_days = -1), Err("planning_invalid_lead_time"));
        assert_eq!(with(|s| s.min_gap_days = 0), Err("planning_invalid_gap"));
        assert_eq!(with(|s| s.day_starts_hour = 24), Err("planning_invalid_day_start"));
        assert_eq!(with(|s| s.lead_days = 180), Ok(()));
    }

    #[test]
    fn a_short_afternoon_day_gets_start_times_that_fit() {
        let settings = PlanningSettings {
            session_minutes: 120,
            day_starts_hour: 13,
            day_ends_hour: 17,
            min_gap_days: 14,
            lead_days: 0,
        };
        let rules = settings.rules();
        assert_eq!(rules.preferred_starts, [time(13, 0), time(15, 0)]);
        let request = PlanRequest {
            rules,
            ..request((date(2027, 2, 1), date(2027, 6, 18)), &[], &[], utc(2027, 1, 15, 12, 0))
        };
        let plan = propose_plan(&request).expect("the spring has room");
        for session in &plan.sessions {
            let start = session.start.with_timezone(&Oslo).time();
            let end = session.end.with_timezone(&Oslo).time();
            assert!(start >= time(13, 0) && end <= time(17, 0), "{start}–{end}");
        }
    }

    #[test]
    fn violations_and_errors_serialize_with_their_rule_and_reason() {
        let clash = Violation::Clash {
            participant: Participant::Organisation(7),
            label: "Energi, samling 1".to_string(),
        };
        assert_eq!(
            serde_json::to_value(clash).expect("serializable"),
            serde_json::json!({
                "rule": "clash",
                "participant": {"kind": "organisation", "id": 7},
                "label": "Energi, samling 1",
            })
        );
        let error = PlanError::PeriodTooShort {
            sessions: 4,
            min_gap_days: 21,
            available_days: 29,
        };
        assert_eq!(
            serde_json::to_value(error).expect("serializable"),
            serde_json::json!({"reason": "period_too_short", "sessions": 4, "min_gap_days": 21, "available_days": 29})
        );
    }
}
