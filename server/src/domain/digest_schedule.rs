//! When a cohort's e-mail digests are due, computed from its sessions: at 08:00 Oslo time on
//! working days (Monday to Friday, not a public holiday).
//!
//! - a *recap* the working day after each session;
//! - an *activity digest* weekly between two sessions, on the first working day of each week
//!   after the recap and before the next reminder;
//! - a *reminder* three working days before each session.
//!
//! A digest whose day is a Saturday, a holiday or a daylight-saving Sunday goes out once, at
//! 08:00 on the next working day. Times are computed in Europe/Oslo and stored in UTC.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Oslo;

use super::holidays::public_holiday;

/// The hour digests go out, Oslo time.
const SEND_HOUR: u32 = 8;
/// Working days between the reminder and the session.
const REMINDER_WORKING_DAYS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestKind {
    Recap,
    Activity,
    Reminder,
}

impl DigestKind {
    pub const ALL: [DigestKind; 3] = [DigestKind::Recap, DigestKind::Activity, DigestKind::Reminder];

    pub fn code(self) -> &'static str {
        match self {
            DigestKind::Recap => "recap",
            DigestKind::Activity => "activity",
            DigestKind::Reminder => "reminder",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// What a person wants by e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestPreference {
    Everything,
    /// Recaps and reminders, no activity digests.
    Essentials,
    Nothing,
}

impl DigestPreference {
    pub const ALL: [DigestPreference; 3] = [
        DigestPreference::Everything,
        DigestPreference::Essentials,
        DigestPreference::Nothing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DigestPreference::Everything => "everything",
            DigestPreference::Essentials => "essentials",
            DigestPreference::Nothing => "nothing",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|preference| preference.code() == code)
    }

    pub fn wants(self, kind: DigestKind) -> bool {
        match self {
            DigestPreference::Everything => true,
            DigestPreference::Essentials => kind != DigestKind::Activity,
            DigestPreference::Nothing => false,
        }
    }
}

/// A session as the schedule sees it.
#[derive(Clone, Copy, Debug)]
pub struct ScheduledSession {
    pub id: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// One digest a cohort should get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedDigest {
    pub kind: DigestKind,
    /// Stable within the cohort: the same digest keeps its key when the plan is computed again.
    pub period: String,
    /// The session it is about (recap, reminder) or the one it leads up to (activity).
    pub session_id: i32,
    pub due_at: DateTime<Utc>,
}

pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && public_holiday(date).is_none()
}

/// `date` if it is a working day, otherwise the next one.
pub fn working_day_from(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    while !is_working_day(day) {
        day = next_day(day);
    }
    day
}

/// 08:00 Oslo time on `date`, in UTC. 08:00 always exists and is never ambiguous in Oslo (the
/// clocks change at 02:00 and 03:00).
pub fn send_time(date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::from_hms_opt(SEND_HOUR, 0, 0).unwrap_or(NaiveTime::MIN));
    Oslo.from_local_datetime(&local)
        .earliest()
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// The first sending time (08:00 Oslo on a working day) at or after `at`.
pub fn next_send_time(at: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = working_day_from(oslo_date(at));
    while send_time(day) < at {
        day = working_day_from(next_day(day));
    }
    send_time(day)
}

pub fn oslo_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Oslo).date_naive()
}

/// Every digest of a cohort with these sessions (in any order; cancelled ones left out by the
/// caller).
pub fn plan(sessions: &[ScheduledSession]) -> Vec<PlannedDigest> {
    let mut sessions = sessions.to_vec();
    sessions.sort_by_key(|session| session.starts_at);
    let mut planned = Vec::new();
    for (index, session) in sessions.iter().enumerate() {
        let reminder_day = working_days_before(oslo_date(session.starts_at), REMINDER_WORKING_DAYS);
        planned.push(PlannedDigest {
            kind: DigestKind::Reminder,
            period: format!("session-{}", session.id),
            session_id: session.id,
            due_at: send_time(reminder_day),
        });
        let recap_day = working_day_from(next_day(oslo_date(session.ends_at)));
        planned.push(PlannedDigest {
            kind: DigestKind::Recap,
            period: format!("session-{}", session.id),
            session_id: session.id,
            due_at: send_time(recap_day),
        });
        // Weekly between this session's recap and the next session's reminder.
        let Some(next) = sessions.get(index + 1) else { continue };
        let next_reminder = working_days_before(oslo_date(next.starts_at), REMINDER_WORKING_DAYS);
        let mut monday = week_start(recap_day) + Days::new(7);
        loop {
            let day = working_day_from(monday);
            if day >= next_reminder {
                break;
            }
            let week = monday.iso_week();
            planned.push(PlannedDigest {
                kind: DigestKind::Activity,
                period: format!("{}-W{:02}", week.year(), week.week()),
                session_id: next.id,
                due_at: send_time(day),
            });
            monday = monday + Days::new(7);
        }
    }
    planned.sort_by_key(|p| (p.due_at, p.kind));
    planned
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

fn week_start(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// The working day `count` working days before `date`.
fn working_days_before(date: NaiveDate, count: u32) -> NaiveDate {
    let mut day = date;
    let mut left = count;
    while left > 0 {
        day = day.pred_opt().unwrap_or(day);
        if is_working_day(day) {
            left -= 1;
        }
    }
    day
}

/// The session period a digest due at `due_at` falls in: 0 before the first session starts, `k` from the start of
/// session `k` until the next one starts, and `starts.len()` after the last. `starts` are the sessions' start
/// times in order.
pub fn session_period(due_at: DateTime<Utc>, starts: &[DateTime<Utc>]) -> usize {
    starts.iter().take_while(|start| **start <= due_at).count()
}

/// Of the periods in order, which to show open: the first `open` periods that still have a digest to send
/// (`pending[i]`), the rest folded.
pub fn open_periods(pending: &[bool], open: usize) -> Vec<bool> {
    let mut left = open;
    pending
        .iter()
        .map(|has_pending| {
            let show = *has_pending && left > 0;
            if show {
                left -= 1;
            }
            show
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_digest_belongs_to_the_period_between_the_sessions_around_it() {
        use chrono::TimeZone;
        let at = |day: u32| Utc.with_ymd_and_hms(2027, 3, day, 8, 0, 0).single().expect("valid");
        let starts = [at(10), at(20)];
        assert_eq!(super::session_period(at(1), &starts), 0);
        assert_eq!(super::session_period(at(10), &starts), 1);
        assert_eq!(super::session_period(at(15), &starts), 1);
        assert_eq!(super::session_period(at(25), &starts), 2);
        assert_eq!(super::session_period(at(25), &[]), 0);
    }

    #[test]
    fn the_first_three_periods_with_digests_to_send_are_open() {
        assert_eq!(
            super::open_periods(&[false, true, true, false, true, true], 3),
            [false, true, true, false, true, false]
        );
        assert_eq!(super::open_periods(&[false, false], 3), [false, false]);
    }

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn session(id: i32, starts: &str) -> ScheduledSession {
        let starts_at = utc(starts);
        ScheduledSession {
            id,
            starts_at,
            ends_at: starts_at + chrono::Duration::hours(2),
        }
    }

    #[test]
    fn eight_in_oslo_is_seven_utc_in_winter_and_six_in_summer() {
        assert_eq!(send_time(date(2026, 11, 30)), utc("2026-11-30T07:00:00Z"));
        assert_eq!(send_time(date(2027, 6, 1)), utc("2027-06-01T06:00:00Z"));
        // The Monday after the spring change (28 March 2027) and after the autumn one.
        assert_eq!(send_time(date(2027, 3, 30)), utc("2027-03-30T06:00:00Z"));
        assert_eq!(send_time(date(2027, 11, 1)), utc("2027-11-01T07:00:00Z"));
    }

    #[test]
    fn a_recap_due_on_saturday_goes_out_on_monday_at_eight() {
        // A session on Friday 27 November 2026: the next day is a Saturday.
        let planned = plan(&[session(1, "2026-11-27T12:00:00Z")]);
        let recap = planned.iter().find(|p| p.kind == DigestKind::Recap).unwrap();
        assert_eq!(recap.due_at, utc("2026-11-30T07:00:00Z"));
    }

    #[test]
    fn holidays_and_the_daylight_saving_weekend_are_skipped_together() {
        // Wednesday 24 March 2027: Maundy Thursday, Good Friday, the weekend the clocks go
        // forward (Easter Sunday) and Easter Monday follow. The recap goes out on Tuesday
        // 30 March at 08:00 summer time.
        let planned = plan(&[session(1, "2027-03-24T09:00:00Z")]);
        let recap = planned.iter().find(|p| p.kind == DigestKind::Recap).unwrap();
        assert_eq!(recap.due_at, utc("2027-03-30T06:00:00Z"));
    }

    #[test]
    fn the_reminder_is_three_working_days_before_and_skips_holidays() {
        // Session on Wednesday 2 December 2026: reminder Friday 27 November.
        let planned = plan(&[session(1, "2026-12-02T09:00:00Z")]);
        let reminder = planned.iter().find(|p| p.kind == DigestKind::Reminder).unwrap();
        assert_eq!(reminder.due_at, utc("2026-11-27T07:00:00Z"));
        // Session on Thursday 20 May 2027: 17 May (Monday, Constitution Day, and Whit Monday)
        // is no working day, so the reminder goes on Friday 14 May.
        let planned = plan(&[session(2, "2027-05-20T09:00:00Z")]);
        let reminder = planned.iter().find(|p| p.kind == DigestKind::Reminder).unwrap();
        assert_eq!(reminder.due_at, utc("2027-05-14T06:00:00Z"));
    }

    #[test]
    fn activity_digests_are_weekly_between_the_recap_and_the_next_reminder() {
        // Sessions on Tuesday 3 November and Tuesday 8 December 2026.
        let planned = plan(&[session(2, "2026-12-08T09:00:00Z"), session(1, "2026-11-03T09:00:00Z")]);
        let activity: Vec<_> = planned
            .iter()
            .filter(|p| p.kind == DigestKind::Activity)
            .map(|p| (p.period.as_str(), p.due_at, p.session_id))
            .collect();
        // Recap Wednesday 4 November; reminder Thursday 3 December.
        assert_eq!(
            activity,
            vec![
                ("2026-W46", utc("2026-11-09T07:00:00Z"), 2),
                ("2026-W47", utc("2026-11-16T07:00:00Z"), 2),
                ("2026-W48", utc("2026-11-23T07:00:00Z"), 2),
                ("2026-W49", utc("2026-11-30T07:00:00Z"), 2),
            ]
        );
        // Two reminders, two recaps, in time order.
        assert_eq!(planned.len(), 8);
        assert!(planned.windows(2).all(|pair| pair[0].due_at <= pair[1].due_at));
    }

    #[test]
    fn a_monday_holiday_moves_that_weeks_activity_digest_to_tuesday() {
        // Sessions on 6 May and 10 June 2027; Whit Monday is 17 May.
        let planned = plan(&[session(1, "2027-05-06T09:00:00Z"), session(2, "2027-06-10T09:00:00Z")]);
        let week_20 = planned.iter().find(|p| p.period == "2027-W20").unwrap();
        assert_eq!(week_20.due_at, utc("2027-05-18T06:00:00Z"));
    }

    #[test]
    fn the_next_send_time_is_the_next_working_morning() {
        // Saturday noon → Monday 08:00.
        assert_eq!(next_send_time(utc("2026-11-28T11:00:00Z")), utc("2026-11-30T07:00:00Z"));
        // Monday 07:59 Oslo → the same morning; 08:01 → Tuesday.
        assert_eq!(next_send_time(utc("2026-11-30T06:59:00Z")), utc("2026-11-30T07:00:00Z"));
        assert_eq!(next_send_time(utc("2026-11-30T07:01:00Z")), utc("2026-12-01T07:00:00Z"));
        // Christmas: Thursday 24 December 2026 at 09:00 → Monday 28 December.
        assert_eq!(next_send_time(utc("2026-12-24T08:00:00Z")), utc("2026-12-28T07:00:00Z"));
    }

    #[test]
    fn preferences_decide_the_kinds() {
        assert!(DigestPreference::Essentials.wants(DigestKind::Recap));
        assert!(!DigestPreference::Essentials.wants(DigestKind::Activity));
        assert!(!DigestPreference::Nothing.wants(DigestKind::Reminder));
        assert_eq!(
            DigestPreference::parse("essentials"),
            Some(DigestPreference::Essentials)
        );
        assert_eq!(DigestKind::parse("weekly"), None);
    }
}
