//! iCalendar (RFC 5545) files for sessions: one event per session, Europe/Oslo times with a VTIMEZONE, a stable UID and a SEQUENCE that grows with every change.
//!
//! The content lines are produced by the `calcard` crate (Stalwart Labs): it escapes TEXT values
//! (`\`, `;`, `,` and newlines), folds lines at 75 octets (continuation lines included) and ends
//! every line with CRLF. This module only builds the calendar's object model.

use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarDay, ICalendarEntry, ICalendarFrequency,
    ICalendarMethod, ICalendarMonth, ICalendarParameter, ICalendarProperty, ICalendarRecurrenceRule, ICalendarStatus,
    ICalendarValue, ICalendarWeekday, Uri,
};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Oslo;

const PRODID: &str = "-//Samling//Samling//NB";
const TZID: &str = "Europe/Oslo";

/// One session as a calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Stable across changes, e.g. "session-42@samling" — build it with `event_uid(session_id, host)`.
    pub uid: String,
    pub sequence: i32,
    pub summary: String,
    pub description: String,
    /// Absolute URL of the session page.
    pub url: String,
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    pub cancelled: bool,
    /// When the session row last changed (DTSTAMP/LAST-MODIFIED).
    pub updated: chrono::DateTime<chrono::Utc>,
}

/// The UID of a session's event: `session-{id}@{host}`, the same for every version of the session.
pub fn event_uid(session_id: i32, public_host: &str) -> String {
    format!("session-{session_id}@{public_host}")
}

/// A calendar with the given events; `name` becomes X-WR-CALNAME. METHOD:PUBLISH.
pub fn calendar(name: &str, events: &[CalendarEvent]) -> String {
    let mut root = ICalendarComponent::new(ICalendarComponentType::VCalendar);
    root.entries = vec![
        entry(ICalendarProperty::Prodid, PRODID),
        entry(ICalendarProperty::Version, "2.0"),
        entry(ICalendarProperty::Calscale, calcard::common::CalendarScale::Gregorian),
        entry(ICalendarProperty::Method, ICalendarMethod::Publish),
        entry(ICalendarProperty::Other("X-WR-CALNAME".into()), text(name)),
        entry(ICalendarProperty::Other("X-WR-TIMEZONE".into()), TZID),
    ];

    let mut ical = ICalendar { components: vec![root] };
    let timezone = oslo_timezone(&mut ical);
    ical.components[0].component_ids.push(timezone);
    for event in events {
        let id = push(&mut ical, vevent(event));
        ical.components[0].component_ids.push(id);
    }
    ical.to_string()
}

/// Appends a component to the flat component list and returns its id.
fn push(ical: &mut ICalendar, component: ICalendarComponent) -> u32 {
    ical.components.push(component);
    u32::try_from(ical.components.len() - 1).expect("fewer than 2^32 components")
}

fn entry(name: ICalendarProperty, value: impl Into<ICalendarValue>) -> ICalendarEntry {
    ICalendarEntry::new(name).with_value(value)
}

/// Newlines normalised to LF: the crate writes LF as `\n`, but a bare CR as `\r`, which RFC 5545 lacks.
fn text(value: &str) -> String {
    value.replace("\r\n", "\n").replace('\r', "\n")
}

/// VTIMEZONE for Europe/Oslo with the EU rules in force since 1996 (last Sunday of March and of October).
fn oslo_timezone(ical: &mut ICalendar) -> u32 {
    let standard = observance(ICalendarComponentType::Standard, "CET", (1970, 10, 25, 3), 2, 1, 10);
    let daylight = observance(ICalendarComponentType::Daylight, "CEST", (1970, 3, 29, 2), 1, 2, 3);
    let mut timezone = ICalendarComponent::new(ICalendarComponentType::VTimezone);
    timezone.entries.push(entry(ICalendarProperty::Tzid, TZID));
    timezone.component_ids = vec![push(ical, standard), push(ical, daylight)];
    push(ical, timezone)
}

/// A STANDARD or DAYLIGHT sub-component that recurs on the last Sunday of `month`.
fn observance(
    kind: ICalendarComponentType,
    tzname: &str,
    (year, month, day, hour): (u16, u8, u8, u8),
    offset_from_hours: u8,
    offset_to_hours: u8,
    rule_month: u8,
) -> ICalendarComponent {
    let dtstart = PartialDateTime {
        year: Some(year),
        month: Some(month),
        day: Some(day),
        hour: Some(hour),
        minute: Some(0),
        second: Some(0),
        ..Default::default()
    };
    let rule = ICalendarRecurrenceRule {
        freq: ICalendarFrequency::Yearly,
        bymonth: vec![ICalendarMonth::new(rule_month, false)],
        byday: vec![ICalendarDay {
            ordwk: Some(-1),
            weekday: ICalendarWeekday::Sunday,
        }],
        ..Default::default()
    };
    let mut component = ICalendarComponent::new(kind);
    component.entries = vec![
        entry(ICalendarProperty::Dtstart, dtstart),
        entry(ICalendarProperty::Tzoffsetfrom, utc_offset(offset_from_hours)),
        entry(ICalendarProperty::Tzoffsetto, utc_offset(offset_to_hours)),
        entry(ICalendarProperty::Tzname, tzname),
        entry(ICalendarProperty::Rrule, rule),
    ];
    component
}

/// A positive whole-hour UTC offset (UTC-OFFSET value), e.g. `+0100`.
fn utc_offset(hours: u8) -> PartialDateTime {
    PartialDateTime {
        tz_hour: Some(hours),
        tz_minute: Some(0),
        tz_minus: false,
        ..Default::default()
    }
}

/// A UTC DATE-TIME value, written with a trailing `Z`.
fn utc(at: DateTime<Utc>) -> PartialDateTime {
    PartialDateTime::from_utc_timestamp(at.timestamp())
}

/// The Oslo wall-clock time of `at`, written as a local DATE-TIME (used with TZID=Europe/Oslo).
fn oslo_local(at: DateTime<Utc>) -> PartialDateTime {
    PartialDateTime::from_naive_timestamp(at.with_timezone(&Oslo).naive_local().and_utc().timestamp())
}

fn vevent(event: &CalendarEvent) -> ICalendarComponent {
    let tzid = || ICalendarParameter::tzid(TZID.to_string());
    let status = if event.cancelled {
        ICalendarStatus::Cancelled
    } else {
        ICalendarStatus::Confirmed
    };
    let mut component = ICalendarComponent::new(ICalendarComponentType::VEvent);
    component.entries = vec![
        entry(ICalendarProperty::Uid, event.uid.as_str()),
        // SEQUENCE is a non-negative revision counter (RFC 5545 §3.8.7.4).
        entry(ICalendarProperty::Sequence, i64::from(event.sequence.max(0))),
        entry(ICalendarProperty::Dtstamp, utc(event.updated)),
        entry(ICalendarProperty::LastModified, utc(event.updated)),
        entry(ICalendarProperty::Dtstart, oslo_local(event.start)).with_param(tzid()),
        entry(ICalendarProperty::Dtend, oslo_local(event.end)).with_param(tzid()),
        entry(ICalendarProperty::Summary, text(&event.summary)),
        entry(ICalendarProperty::Description, text(&event.description)),
        entry(ICalendarProperty::Url, Uri::Location(event.url.clone())),
        entry(ICalendarProperty::Status, status),
    ];
    component
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(start: DateTime<Utc>) -> CalendarEvent {
        CalendarEvent {
            uid: event_uid(42, "samling.example.no"),
            sequence: 3,
            summary: "Erfaringsdeling".into(),
            description: "Vi deler erfaringer.".into(),
            url: "https://samling.example.no/sessions/42".into(),
            start,
            end: start + chrono::Duration::hours(2),
            cancelled: false,
            updated: Utc.with_ymd_and_hms(2027, 3, 1, 12, 30, 0).unwrap(),
        }
    }

    fn winter() -> CalendarEvent {
        event(Utc.with_ymd_and_hms(2027, 3, 26, 8, 0, 0).unwrap())
    }

    fn summer() -> CalendarEvent {
        event(Utc.with_ymd_and_hms(2027, 3, 29, 7, 0, 0).unwrap())
    }

    /// The content lines with folding undone (RFC 5545 §3.1).
    fn unfolded(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "").split("\r\n").map(str::to_owned).collect()
    }

    fn has_line(ics: &str, line: &str) -> bool {
        unfolded(ics).iter().any(|l| l == line)
    }

    /// The lines of the first component named `name`, BEGIN and END included.
    fn component(ics: &str, name: &str) -> Vec<String> {
        let lines = unfolded(ics);
        let begin = lines
            .iter()
            .position(|l| *l == format!("BEGIN:{name}"))
            .expect("component present");
        let end = begin
            + lines[begin..]
                .iter()
                .position(|l| *l == format!("END:{name}"))
                .expect("component ends");
        lines[begin..=end].to_vec()
    }

    fn rrule_parts(lines: &[String]) -> Vec<String> {
        let rule = lines
            .iter()
            .find_map(|l| l.strip_prefix("RRULE:"))
            .expect("RRULE present");
        let mut parts: Vec<String> = rule.split(';').map(str::to_owned).collect();
        parts.sort();
        parts
    }

    #[test]
    fn the_uid_is_built_from_the_session_id_and_the_public_host() {
        assert_eq!(event_uid(42, "samling"), "session-42@samling");
        assert_eq!(event_uid(7, "samling.example.no"), "session-7@samling.example.no");
    }

    #[test]
    fn the_calendar_carries_prodid_version_calscale_method_and_name() {
        let ics = calendar("Samlinger, Vestland", &[winter()]);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        for line in [
            "PRODID:-//Samling//Samling//NB",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Samlinger\\, Vestland",
        ] {
            assert!(has_line(&ics, line), "missing {line} in\n{ics}");
        }
    }

    #[test]
    fn output_contains_exactly_one_vtimezone_with_both_sub_components() {
        let ics = calendar("Samling", &[winter(), summer()]);
        assert_eq!(ics.matches("BEGIN:VTIMEZONE\r\n").count(), 1);
        assert_eq!(ics.matches("END:VTIMEZONE\r\n").count(), 1);
        assert_eq!(ics.matches("BEGIN:STANDARD\r\n").count(), 1);
        assert_eq!(ics.matches("BEGIN:DAYLIGHT\r\n").count(), 1);

        let timezone = component(&ics, "VTIMEZONE");
        assert!(timezone.contains(&"TZID:Europe/Oslo".to_owned()));

        let standard = component(&ics, "STANDARD");
        for line in [
            "DTSTART:19701025T030000",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
        ] {
            assert!(
                standard.contains(&line.to_owned()),
                "STANDARD lacks {line}: {standard:?}"
            );
        }
        assert_eq!(rrule_parts(&standard), ["BYDAY=-1SU", "BYMONTH=10", "FREQ=YEARLY"]);

        let daylight = component(&ics, "DAYLIGHT");
        for line in [
            "DTSTART:19700329T020000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
        ] {
            assert!(
                daylight.contains(&line.to_owned()),
                "DAYLIGHT lacks {line}: {daylight:?}"
            );
        }
        assert_eq!(rrule_parts(&daylight), ["BYDAY=-1SU", "BYMONTH=3", "FREQ=YEARLY"]);

        // Both sub-components sit inside the VTIMEZONE, which precedes the events.
        let begin = ics.find("BEGIN:VTIMEZONE").unwrap();
        let end = ics.find("END:VTIMEZONE").unwrap();
        for sub in ["BEGIN:STANDARD", "BEGIN:DAYLIGHT"] {
            let at = ics.find(sub).unwrap();
            assert!(begin < at && at < end);
        }
        assert!(end < ics.find("BEGIN:VEVENT").unwrap());
    }

    #[test]
    fn a_calendar_without_events_still_has_its_vtimezone() {
        let ics = calendar("Samling", &[]);
        assert_eq!(ics.matches("BEGIN:VTIMEZONE\r\n").count(), 1);
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 0);
    }

    #[test]
    fn a_winter_event_is_shown_in_central_european_time() {
        let ics = calendar("Samling", &[winter()]);
        assert!(has_line(&ics, "DTSTART;TZID=Europe/Oslo:20270326T090000"), "{ics}");
        assert!(has_line(&ics, "DTEND;TZID=Europe/Oslo:20270326T110000"), "{ics}");
    }

    #[test]
    fn a_summer_event_is_shown_in_central_european_summer_time() {
        let ics = calendar("Samling", &[summer()]);
        assert!(has_line(&ics, "DTSTART;TZID=Europe/Oslo:20270329T090000"), "{ics}");
        assert!(has_line(&ics, "DTEND;TZID=Europe/Oslo:20270329T110000"), "{ics}");
    }

    #[test]
    fn dtstamp_and_last_modified_are_the_update_time_in_utc() {
        let ics = calendar("Samling", &[winter()]);
        assert!(has_line(&ics, "DTSTAMP:20270301T123000Z"), "{ics}");
        assert!(has_line(&ics, "LAST-MODIFIED:20270301T123000Z"), "{ics}");
    }

    #[test]
    fn a_cancelled_session_has_status_cancelled() {
        let cancelled = CalendarEvent {
            cancelled: true,
            ..winter()
        };
        let ics = calendar("Samling", &[cancelled]);
        assert!(has_line(&ics, "STATUS:CANCELLED"), "{ics}");
        assert!(!ics.contains("STATUS:CONFIRMED"));
    }

    #[test]
    fn a_session_that_goes_ahead_has_status_confirmed() {
        let ics = calendar("Samling", &[winter()]);
        assert!(has_line(&ics, "STATUS:CONFIRMED"), "{ics}");
        assert!(!ics.contains("STATUS:CANCELLED"));
    }

    #[test]
    fn uid_and_sequence_are_written_as_given() {
        let first = CalendarEvent {
            uid: event_uid(42, "samling"),
            sequence: 0,
            ..winter()
        };
        let second = CalendarEvent {
            uid: event_uid(43, "samling"),
            sequence: 17,
            ..summer()
        };
        let ics = calendar("Samling", &[first, second]);
        let events: Vec<Vec<String>> = ics
            .split("BEGIN:VEVENT\r\n")
            .skip(1)
            .map(|e| unfolded(e.split("END:VEVENT").next().unwrap()))
            .collect();
        assert_eq!(events.len(), 2);
        assert!(events[0].contains(&"UID:session-42@samling".to_owned()));
        assert!(events[0].contains(&"SEQUENCE:0".to_owned()));
        assert!(events[1].contains(&"UID:session-43@samling".to_owned()));
        assert!(events[1].contains(&"SEQUENCE:17".to_owned()));
    }

    #[test]
    fn the_url_of_the_session_page_is_written_unchanged() {
        let ics = calendar("Samling", &[winter()]);
        assert!(has_line(&ics, "URL:https://samling.example.no/sessions/42"), "{ics}");
    }

    #[test]
    fn special_characters_in_summary_and_description_are_escaped() {
        let tricky = CalendarEvent {
            summary: "Klima, energi; og C:\\data".into(),
            description: "Linje én\nLinje to\r\nLinje tre, med; alt\\".into(),
            ..winter()
        };
        let ics = calendar("Samling", &[tricky]);
        assert!(has_line(&ics, "SUMMARY:Klima\\, energi\\; og C:\\\\data"), "{ics}");
        assert!(
            has_line(&ics, "DESCRIPTION:Linje én\\nLinje to\\nLinje tre\\, med\\; alt\\\\"),
            "{ics}"
        );
    }

    #[test]
    fn every_line_ends_with_crlf_and_no_line_exceeds_75_octets() {
        let long = CalendarEvent {
            summary: "Ø".repeat(100),
            description: format!(
                "{}\n{}",
                "Erfaringsdeling om klimatilpasning, ".repeat(12),
                "x".repeat(138)
            ),
            url: format!("https://samling.example.no/sessions/42?{}", "q".repeat(120)),
            ..winter()
        };
        let ics = calendar(
            "En svært lang kalender med et navn som helt sikkert må brytes over flere linjer",
            &[long],
        );
        assert!(ics.ends_with("\r\n"));
        let body = ics.strip_suffix("\r\n").unwrap();
        for line in body.split("\r\n") {
            assert!(
                !line.contains('\n') && !line.contains('\r'),
                "bare CR or LF in {line:?}"
            );
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        // Folding loses nothing: the unfolded summary is intact.
        assert!(has_line(&ics, &format!("SUMMARY:{}", "Ø".repeat(100))));
        assert!(ics.lines().count() > 20, "long values were folded");
    }
}
