//! Reminders that keep the programme's data whole, run by the worker with the digests:
//!
//! - the cohort's facilitators get one mail per session when, at 08:00 Oslo time on the third
//!   Norwegian working day after the session ended, its attendance is not recorded or its recap
//!   not published (`sessions.nudged_at` marks it, in the transaction that enqueues the mails);
//! - members marked present get the session's survey link once, on the first run after the
//!   session has ended and their attendance is recorded, unless they answered already
//!   (`survey_takers.mailed_at`).
//!
//! Sessions that ended more than [`LOOK_BACK_DAYS`] days ago are left alone, so a new
//! installation (or one that was down for long) does not mail about old sessions.

use askama::Template;
use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::db::write_transaction;
use crate::domain::digest_schedule::{is_working_day, oslo_date, send_time};
use crate::domain::roles::Role;
use crate::domain::sessions::SessionStatus;
use crate::entities::{cohort, membership, registration, session, survey_taker, theme, user};
use crate::error::AppResult;
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::sessions::notices::{enqueue, wake_outbox};
use crate::state::AppState;
use crate::surveys::{ensure_taker, session_survey};

/// Working days after the session's end day on whose morning the facilitator is reminded.
pub const WORKING_DAYS_BEFORE_NUDGE: usize = 3;
/// How far back a run looks for ended sessions.
pub const LOOK_BACK_DAYS: u64 = 30;

/// The `n`th working day (no weekend, no Norwegian public holiday) after `ended`.
pub fn nth_working_day_after(ended: NaiveDate, n: usize) -> NaiveDate {
    let mut day = ended;
    let mut counted = 0;
    while counted < n {
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        if is_working_day(day) {
            counted += 1;
        }
    }
    day
}

/// When the facilitator of a session that ended at `ends_at` is reminded: 08:00 Oslo time on
/// the third working day after the day it ended.
pub fn nudge_due_at(ends_at: DateTime<Utc>) -> DateTime<Utc> {
    send_time(nth_working_day_after(oslo_date(ends_at), WORKING_DAYS_BEFORE_NUDGE))
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NudgeReport {
    /// Sessions whose facilitators were reminded now.
    pub sessions_nudged: usize,
    /// Mails to facilitators enqueued.
    pub facilitator_mails: usize,
    /// Survey links enqueued.
    pub survey_links: usize,
}

impl NudgeReport {
    pub fn mails(&self) -> usize {
        self.facilitator_mails + self.survey_links
    }
}

/// Reminds facilitators and mails survey links where due; the outbox sends them.
pub async fn run_due(state: &AppState) -> AppResult<NudgeReport> {
    let now = state.now();
    let since = now - chrono::Duration::days(LOOK_BACK_DAYS as i64);
    let ended = session::Entity::find()
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .filter(session::Column::EndsAt.lte(now))
        .filter(session::Column::EndsAt.gte(since))
        .order_by_asc(session::Column::EndsAt)
        .order_by_asc(session::Column::Id)
        .all(&state.db)
        .await?;
    let mut report = NudgeReport::default();
    for found in &ended {
        if found.nudged_at.is_none()
            && nudge_due_at(found.ends_at) <= now
            && let Some(mails) = nudge_facilitators(state, found).await?
        {
            report.sessions_nudged += 1;
            report.facilitator_mails += mails;
        }
        report.survey_links += mail_survey_links(state, found).await?;
    }
    if report.mails() > 0 {
        wake_outbox(state);
    }
    Ok(report)
}

/// What a session still lacks three working days after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Missing {
    attendance: bool,
    recap: bool,
}

async fn missing(db: &impl ConnectionTrait, found: &session::Model) -> AppResult<Missing> {
    let recorded = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(found.id))
        .filter(registration::Column::Attended.is_not_null())
        .one(db)
        .await?
        .is_some();
    Ok(Missing {
        attendance: !recorded,
        recap: found.recap_published_at.is_none(),
    })
}

/// Reminds the session's facilitators if something is missing: `None` when nothing is, when the
/// cohort has no active facilitator, or when another run reminded them first.
async fn nudge_facilitators(state: &AppState, found: &session::Model) -> AppResult<Option<usize>> {
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    // Decided under the lock, on what the transaction sees: the facilitator may record the
    // attendance at this very moment.
    let found = crate::db::lock_row::<session::Entity>(&txn, found.id).await?;
    let lacking = missing(&txn, &found).await?;
    if found.nudged_at.is_some() || (!lacking.attendance && !lacking.recap) {
        txn.rollback().await?;
        return Ok(None);
    }
    let facilitator_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(found.cohort_id))
        .filter(membership::Column::Role.eq(Role::Facilitator))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let facilitators = user::Entity::find()
        .filter(user::Column::Id.is_in(facilitator_ids))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(&txn)
        .await?;
    if facilitators.is_empty() {
        txn.rollback().await?;
        return Ok(None);
    }
    let claimed = session::Entity::update_many()
        .col_expr(session::Column::NudgedAt, Expr::value(Some(now)))
        .filter(session::Column::Id.eq(found.id))
        .filter(session::Column::NudgedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    for person in &facilitators {
        let mail = facilitator_mail(state, &txn, &found, person, lacking).await?;
        enqueue(state, &txn, person, mail).await?;
    }
    txn.commit().await?;
    tracing::info!(
        session = found.id,
        mails = facilitators.len(),
        "facilitators reminded of missing attendance or recap"
    );
    Ok(Some(facilitators.len()))
}

/// Mails the survey link to each active project lead and expert marked present who has neither
/// had it nor answered; returns how many were enqueued.
async fn mail_survey_links(state: &AppState, found: &session::Model) -> AppResult<usize> {
    let present: Vec<i32> = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(found.id))
        .filter(registration::Column::Attended.eq(true))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect();
    if present.is_empty() {
        return Ok(0);
    }
    let survey = session_survey(found.id);
    let done: Vec<i32> = survey_taker::Entity::find()
        .filter(survey_taker::Column::Survey.eq(&survey))
        .filter(survey_taker::Column::UserId.is_in(present.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|t| t.mailed_at.is_some() || t.answered_at.is_some())
        .map(|t| t.user_id)
        .collect();
    let takers: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(found.cohort_id))
        .filter(membership::Column::Role.is_in([Role::ProjectLead, Role::Expert]))
        .filter(membership::Column::UserId.is_in(present))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .filter(|id| !done.contains(id))
        .collect();
    if takers.is_empty() {
        return Ok(0);
    }
    let people = user::Entity::find()
        .filter(user::Column::Id.is_in(takers))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(&state.db)
        .await?;
    let programme_id = match cohort::Entity::find_by_id(found.cohort_id).one(&state.db).await? {
        Some(found_cohort) => found_cohort.programme_id,
        None => return Ok(0),
    };
    let now = state.now();
    let mut enqueued = 0;
    for person in people {
        let txn = write_transaction(&state.db).await?;
        ensure_taker(&txn, person.id, &survey, programme_id, Some(found.id)).await?;
        let claimed = survey_taker::Entity::update_many()
            .col_expr(survey_taker::Column::MailedAt, Expr::value(Some(now)))
            .filter(survey_taker::Column::UserId.eq(person.id))
            .filter(survey_taker::Column::Survey.eq(&survey))
            .filter(survey_taker::Column::MailedAt.is_null())
            .filter(survey_taker::Column::AnsweredAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        let mail = survey_mail(state, &txn, found, &person).await?;
        enqueue(state, &txn, &person, mail).await?;
        txn.commit().await?;
        enqueued += 1;
    }
    Ok(enqueued)
}

#[derive(Template)]
#[template(path = "mail/nudge.txt")]
struct NudgeText<'a> {
    tr: Tr,
    name: &'a str,
    intro: &'a str,
    lines: &'a [String],
    link_label: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/nudge.html")]
struct NudgeHtml<'a> {
    tr: Tr,
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    lines: &'a [String],
    link_label: &'a str,
    link: &'a str,
}

/// A reminder mail in the reader's language: a greeting, an intro, lines, one link.
fn compose(
    tr: Tr,
    to: &user::Model,
    subject: String,
    intro: &str,
    lines: &[String],
    link_label: &str,
    link: &str,
) -> AppResult<OutgoingMail> {
    let text = NudgeText {
        tr,
        name: &to.name,
        intro,
        lines,
        link_label,
        link,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let html = NudgeHtml {
        tr,
        subject: &subject,
        name: &to.name,
        intro,
        lines,
        link_label,
        link,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject,
        text,
        html,
        ..Default::default()
    })
}

/// The session's title and theme in `tr`'s language, for a mail.
async fn session_words(
    db: &impl ConnectionTrait,
    found: &session::Model,
    tr: Tr,
) -> AppResult<[(&'static str, String); 2]> {
    let theme_name = match cohort::Entity::find_by_id(found.cohort_id).one(db).await? {
        Some(found_cohort) => theme::Entity::find_by_id(found_cohort.theme_id)
            .one(db)
            .await?
            .map(|t| t.name(tr.language).to_string())
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok([("title", found.title.clone()), ("theme", theme_name)])
}

async fn facilitator_mail(
    state: &AppState,
    db: &impl ConnectionTrait,
    found: &session::Model,
    to: &user::Model,
    lacking: Missing,
) -> AppResult<OutgoingMail> {
    let tr = Tr::new(Language::parse(&to.language).unwrap_or_default());
    let args = session_words(db, found, tr).await?;
    let mut lines = Vec::new();
    if lacking.attendance {
        lines.push(tr.t("survey.nudge_missing_attendance").to_string());
    }
    if lacking.recap {
        lines.push(tr.t("survey.nudge_missing_recap").to_string());
    }
    compose(
        tr,
        to,
        tr.f("survey.nudge_subject", &args),
        &tr.f("survey.nudge_intro", &args),
        &lines,
        tr.t("survey.nudge_open_session"),
        &state.link(&format!("/sessions/{}", found.id)),
    )
}

async fn survey_mail(
    state: &AppState,
    db: &impl ConnectionTrait,
    found: &session::Model,
    to: &user::Model,
) -> AppResult<OutgoingMail> {
    let tr = Tr::new(Language::parse(&to.language).unwrap_or_default());
    let args = session_words(db, found, tr).await?;
    compose(
        tr,
        to,
        tr.f("survey.link_subject", &args),
        &format!("{} {}", tr.f("survey.link_intro", &args), tr.t("survey.anonymous")),
        &[],
        tr.t("survey.link_open"),
        &state.link(&format!("/sessions/{}/survey", found.id)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn a_friday_session_is_nudged_on_wednesday() {
        // Friday 12 March 2027: Monday, Tuesday, Wednesday.
        assert_eq!(nth_working_day_after(day("2027-03-12"), 3), day("2027-03-17"));
        assert_eq!(nth_working_day_after(day("2027-03-12"), 2), day("2027-03-16"));
        // A Tuesday session: Friday.
        assert_eq!(nth_working_day_after(day("2027-03-09"), 3), day("2027-03-12"));
    }

    #[test]
    fn easter_days_do_not_count() {
        // Easter 2027 is 28 March: Maundy Thursday 25, Good Friday 26, Easter Monday 29 are
        // holidays. A session on Wednesday 24 March: Tuesday 30, Wednesday 31, Thursday 1 April.
        assert_eq!(nth_working_day_after(day("2027-03-24"), 3), day("2027-04-01"));
    }

    #[test]
    fn the_seventeenth_of_may_does_not_count() {
        // 2027: Ascension Day is 6 May; 17 May is Constitution Day and Whit Monday at once.
        // A session on Friday 14 May: Tuesday 18, Wednesday 19, Thursday 20.
        assert_eq!(nth_working_day_after(day("2027-05-14"), 3), day("2027-05-20"));
        // 2028: 17 May is a Wednesday. A session on Monday 15 May: Tuesday 16, Thursday 18, Friday 19.
        assert_eq!(nth_working_day_after(day("2028-05-15"), 3), day("2028-05-19"));
    }

    #[test]
    fn the_reminder_is_due_at_eight_in_the_morning_oslo_time_after_an_evening_session() {
        // Ends 20:30 Oslo time (CET) on Friday 12 March 2027, 19:30 UTC.
        let ends: DateTime<Utc> = "2027-03-12T19:30:00Z".parse().expect("a time");
        assert_eq!(
            nudge_due_at(ends),
            "2027-03-17T07:00:00Z".parse::<DateTime<Utc>>().expect("a time")
        );
        // Ends 00:30 Oslo time on Saturday (23:30 UTC on Friday): the end day is Saturday.
        let late: DateTime<Utc> = "2027-03-12T23:30:00Z".parse().expect("a time");
        assert_eq!(
            nudge_due_at(late),
            "2027-03-17T07:00:00Z".parse::<DateTime<Utc>>().expect("a time")
        );
    }
}
