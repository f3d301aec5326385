//! Sessions as rules without I/O: statuses, registration states, availability answers, the
//! best time of a poll, and where a session stands on a cohort's timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Planned,
    Confirmed,
    Held,
    Cancelled,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 4] = [
        SessionStatus::Planned,
        SessionStatus::Confirmed,
        SessionStatus::Held,
        SessionStatus::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SessionStatus::Planned => "planned",
            SessionStatus::Confirmed => "confirmed",
            SessionStatus::Held => "held",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    Registered,
    /// In line for a seat; moves up in order when one frees.
    Waitlisted,
}

impl RegistrationStatus {
    pub fn code(self) -> &'static str {
        match self {
            RegistrationStatus::Registered => "registered",
            RegistrationStatus::Waitlisted => "waitlisted",
        }
    }
}

/// An answer to "can you attend at this time?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Yes,
    IfNeedBe,
    No,
}

impl Availability {
    pub fn code(self) -> &'static str {
        match self {
            Availability::Yes => "yes",
            Availability::IfNeedBe => "if_need_be",
            Availability::No => "no",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Yes, Self::IfNeedBe, Self::No]
            .into_iter()
            .find(|answer| answer.code() == code)
    }
}

/// One person's answer to one poll option, with the municipality they belong to.
#[derive(Clone, Copy, Debug)]
pub struct PollVote {
    pub option_id: i32,
    /// `None` for people without an organisation (experts, for instance): they count as themselves.
    pub organisation_id: Option<i32>,
    pub user_id: i32,
    pub answer: Availability,
}

/// How many municipalities can attend at one poll time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PollTally {
    pub option_id: i32,
    /// Municipalities where someone answered yes.
    pub municipalities_yes: usize,
    /// Municipalities where someone can come if need be, and nobody said yes.
    pub municipalities_if_need_be: usize,
    pub people_yes: usize,
}

/// Tallies every option, best first: the most municipalities that can attend (yes counts
/// before if-need-be), not the most people — a big delegation does not outvote two towns.
pub fn tally_poll(option_ids: &[i32], votes: &[PollVote]) -> Vec<PollTally> {
    use std::collections::HashSet;
    let mut tallies: Vec<PollTally> = option_ids
        .iter()
        .map(|&option_id| {
            let answers: Vec<&PollVote> = votes.iter().filter(|vote| vote.option_id == option_id).collect();
            let unit = |vote: &PollVote| vote.organisation_id.map_or((false, vote.user_id), |id| (true, id));
            let yes: HashSet<(bool, i32)> = answers
                .iter()
                .filter(|vote| vote.answer == Availability::Yes)
                .map(|vote| unit(vote))
                .collect();
            let maybe: HashSet<(bool, i32)> = answers
                .iter()
                .filter(|vote| vote.answer == Availability::IfNeedBe)
                .map(|vote| unit(vote))
                .filter(|unit| !yes.contains(unit))
                .collect();
            PollTally {
                option_id,
                municipalities_yes: yes.len(),
                municipalities_if_need_be: maybe.len(),
                people_yes: answers.iter().filter(|vote| vote.answer == Availability::Yes).count(),
            }
        })
        .collect();
    tallies.sort_by(|a, b| {
        (
            b.municipalities_yes + b.municipalities_if_need_be,
            b.municipalities_yes,
            a.option_id,
        )
            .cmp(&(
                a.municipalities_yes + a.municipalities_if_need_be,
                a.municipalities_yes,
                b.option_id,
            ))
    });
    tallies
}

/// Where a session stands on the cohort's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelinePlace {
    Past,
    Next,
    Later,
}

impl TimelinePlace {
    pub fn code(self) -> &'static str {
        match self {
            TimelinePlace::Past => "past",
            TimelinePlace::Next => "next",
            TimelinePlace::Later => "later",
        }
    }
}

/// Places sessions (start, end, cancelled) on the timeline: ended ones are past, the first
/// one not yet ended and not cancelled is next, the rest later.
pub fn timeline(sessions: &[(DateTime<Utc>, DateTime<Utc>, bool)], now: DateTime<Utc>) -> Vec<TimelinePlace> {
    let next = sessions
        .iter()
        .enumerate()
        .filter(|(_, (_, end, cancelled))| *end > now && !cancelled)
        .min_by_key(|(_, (start, _, _))| *start)
        .map(|(index, _)| index);
    sessions
        .iter()
        .enumerate()
        .map(|(index, (_, end, _))| {
            if *end <= now {
                TimelinePlace::Past
            } else if Some(index) == next {
                TimelinePlace::Next
            } else {
                TimelinePlace::Later
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn vote(option_id: i32, organisation_id: Option<i32>, user_id: i32, answer: Availability) -> PollVote {
        PollVote {
            option_id,
            organisation_id,
            user_id,
            answer,
        }
    }

    #[test]
    fn the_best_time_counts_municipalities_not_people() {
        // Option 1: five people from Bergen. Option 2: one person each from Asker and Skien.
        let mut votes: Vec<PollVote> = (0..5).map(|user| vote(1, Some(10), user, Availability::Yes)).collect();
        votes.push(vote(2, Some(20), 100, Availability::Yes));
        votes.push(vote(2, Some(30), 101, Availability::Yes));
        let tallies = tally_poll(&[1, 2], &votes);
        assert_eq!(tallies[0].option_id, 2);
        assert_eq!(
            (
                tallies[0].municipalities_yes,
                tallies[1].municipalities_yes,
                tallies[1].people_yes
            ),
            (2, 1, 5)
        );
    }

    #[test]
    fn yes_outweighs_if_need_be_for_the_same_number_of_municipalities() {
        let votes = [
            vote(1, Some(10), 1, Availability::IfNeedBe),
            vote(1, Some(20), 2, Availability::IfNeedBe),
            vote(2, Some(10), 1, Availability::Yes),
            vote(2, Some(20), 2, Availability::Yes),
            vote(3, Some(10), 1, Availability::No),
        ];
        let order: Vec<i32> = tally_poll(&[1, 2, 3], &votes)
            .iter()
            .map(|tally| tally.option_id)
            .collect();
        assert_eq!(order, vec![2, 1, 3]);
    }

    #[test]
    fn a_municipality_with_both_yes_and_if_need_be_counts_once_as_yes() {
        let votes = [
            vote(1, Some(10), 1, Availability::Yes),
            vote(1, Some(10), 2, Availability::IfNeedBe),
        ];
        let tally = &tally_poll(&[1], &votes)[0];
        assert_eq!((tally.municipalities_yes, tally.municipalities_if_need_be), (1, 0));
    }

    #[test]
    fn the_timeline_has_past_next_and_later() {
        let at = |day| Utc.with_ymd_and_hms(2027, 3, day, 8, 0, 0).unwrap();
        let hours = chrono::Duration::hours(3);
        let sessions = [
            (at(1), at(1) + hours, false),
            (at(10), at(10) + hours, true),
            (at(20), at(20) + hours, false),
            (at(30), at(30) + hours, false),
        ];
        let places = timeline(&sessions, at(5));
        assert_eq!(
            places,
            vec![
                TimelinePlace::Past,
                TimelinePlace::Later,
                TimelinePlace::Next,
                TimelinePlace::Later
            ]
        );
        assert!(
            timeline(&sessions, at(31))
                .iter()
                .all(|place| *place == TimelinePlace::Past)
        );
    }
}
