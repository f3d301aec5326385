//! Usefulness surveys: one after each session and one at the programme's close, answered once
//! per person and anonymously.
//!
//! Who answered is kept in `survey_takers` (one row per person and survey, taken under a unique
//! index); what they answered goes to `survey_answers` without the person and with only the
//! Oslo date, written in the same transaction, so the two cannot be joined and two tabs sending
//! at once give one answer. Nothing here logs the person with an answer.
//!
//! Who may answer a session survey: the cohort's project leads and experts who took part — had
//! a seat (registered, not only waitlisted) unless the facilitator marked them absent, or were
//! marked present (a person on the waitlist who came anyway). It opens when the session has
//! ended (never for a cancelled one). The closing survey is for the cohort's project leads and
//! experts, once per person and programme, and opens when the cohort's last session (not
//! cancelled) has ended.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::write_transaction;
use crate::domain::digest_schedule::oslo_date;
use crate::domain::policy::Action;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::{cohort, registration, session, survey_answer, survey_taker};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The longest free-text answer, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The key of a session's survey in `survey_takers`.
pub fn session_survey(session_id: i32) -> String {
    format!("session:{session_id}")
}

/// The key of a programme's closing survey in `survey_takers`: once per person and programme,
/// whichever of their cohorts they answer it in.
pub fn closing_survey(programme_id: i32) -> String {
    format!("programme:{programme_id}")
}

/// Whether a survey is open and what the caller may do with it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SurveyStatus {
    /// The session (or the cohort's last session) has ended.
    pub open: bool,
    /// When it opens, or opened: the end of the session (or of the cohort's last session);
    /// none for a cancelled session or a cohort without sessions.
    pub opens_at: Option<DateTime<Utc>>,
    /// The caller is one who may answer it.
    pub may_answer: bool,
    /// The caller has answered it.
    pub answered: bool,
}

/// An answer to a session's survey.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SessionSurveyInput {
    /// How useful the session was, from 1 (not at all) to 5 (very).
    #[schema(minimum = 1, maximum = 5)]
    pub usefulness: i32,
    /// What helped (optional).
    #[serde(default)]
    #[schema(max_length = 2_000)]
    pub helped: String,
    /// What to change (optional).
    #[serde(default)]
    #[schema(max_length = 2_000)]
    pub change: String,
}

/// Did you change your project because of the forum?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangedProject {
    Yes,
    Partly,
    No,
}

impl ChangedProject {
    pub const ALL: [ChangedProject; 3] = [ChangedProject::Yes, ChangedProject::Partly, ChangedProject::No];

    pub fn code(self) -> &'static str {
        match self {
            ChangedProject::Yes => "yes",
            ChangedProject::Partly => "partly",
            ChangedProject::No => "no",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.code() == code)
    }
}

/// Would you recommend the forum to others?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recommend {
    Yes,
    No,
    Unsure,
}

impl Recommend {
    pub const ALL: [Recommend; 3] = [Recommend::Yes, Recommend::No, Recommend::Unsure];

    pub fn code(self) -> &'static str {
        match self {
            Recommend::Yes => "yes",
            Recommend::No => "no",
            Recommend::Unsure => "unsure",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.code() == code)
    }
}

/// An answer to the closing survey.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ClosingSurveyInput {
    pub changed_project: ChangedProject,
    pub recommend: Recommend,
    /// What the forum gave you (optional).
    #[serde(default)]
    #[schema(max_length = 2_000)]
    pub helped: String,
    /// What the forum should do differently (optional).
    #[serde(default)]
    #[schema(max_length = 2_000)]
    pub change: String,
}

/// Whether `user_id` took part in the session: a seat they were not marked absent from, or
/// marked present.
pub async fn took_part(db: &impl ConnectionTrait, session_id: i32, user_id: i32) -> AppResult<bool> {
    Ok(registration::Entity::find()
        .filter(registration::Column::SessionId.eq(session_id))
        .filter(registration::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .is_some_and(|found| counts_as_taking_part(&found)))
}

fn counts_as_taking_part(found: &registration::Model) -> bool {
    match found.attended {
        Some(attended) => attended,
        None => found.status == RegistrationStatus::Registered,
    }
}

fn session_opens_at(found: &session::Model) -> Option<DateTime<Utc>> {
    (found.status != SessionStatus::Cancelled).then_some(found.ends_at)
}

/// The end of the cohort's last session that is not cancelled.
async fn closing_opens_at(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<Option<DateTime<Utc>>> {
    Ok(session::Entity::find()
        .filter(session::Column::CohortId.eq(cohort_id))
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .order_by_desc(session::Column::EndsAt)
        .one(db)
        .await?
        .map(|found| found.ends_at))
}

async fn has_answered(db: &impl ConnectionTrait, user_id: i32, survey: &str) -> AppResult<bool> {
    Ok(survey_taker::Entity::find()
        .filter(survey_taker::Column::UserId.eq(user_id))
        .filter(survey_taker::Column::Survey.eq(survey))
        .one(db)
        .await?
        .is_some_and(|found| found.answered_at.is_some()))
}

/// A session survey as the caller sees it; 404 for a non-member.
pub async fn session_status(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<SurveyStatus> {
    let found = crate::sessions::visible_session(&state.db, viewer, session_id).await?;
    let took_part = took_part(&state.db, session_id, viewer.user.id).await?;
    let opens_at = session_opens_at(&found);
    Ok(SurveyStatus {
        open: opens_at.is_some_and(|at| at <= state.now()),
        opens_at,
        may_answer: viewer.may(Action::AnswerSurvey {
            cohort_id: found.cohort_id,
            took_part,
        }),
        answered: has_answered(&state.db, viewer.user.id, &session_survey(session_id)).await?,
    })
}

/// The closing survey of a cohort as the caller sees it; 404 for a non-member.
pub async fn closing_status(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<SurveyStatus> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let found = cohort::Entity::find_by_id(cohort_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let opens_at = closing_opens_at(&state.db, cohort_id).await?;
    Ok(SurveyStatus {
        open: opens_at.is_some_and(|at| at <= state.now()),
        opens_at,
        may_answer: viewer.may(Action::AnswerSurvey {
            cohort_id,
            took_part: true,
        }),
        answered: has_answered(&state.db, viewer.user.id, &closing_survey(found.programme_id)).await?,
    })
}

/// Free text as it is stored: trimmed, and refused over the limit.
fn free_text(text: &str, field: &'static str) -> AppResult<String> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::Invalid {
            code: "survey_text_too_long",
            field: Some(field.into()),
            args: vec![("max", MAX_TEXT_CHARS.to_string())],
        });
    }
    Ok(text.to_string())
}

/// Answers a session's survey, once.
pub async fn answer_session(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    input: SessionSurveyInput,
) -> AppResult<()> {
    let found = crate::sessions::visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::AnswerSurvey {
        cohort_id: found.cohort_id,
        took_part: took_part(&state.db, session_id, viewer.user.id).await?,
    })?;
    let now = state.now();
    if session_opens_at(&found).is_none_or(|at| at > now) {
        return Err(AppError::Conflict {
            code: "survey_not_open",
        });
    }
    if !(1..=5).contains(&input.usefulness) {
        return Err(AppError::invalid("survey_usefulness_out_of_range", "usefulness"));
    }
    let helped = free_text(&input.helped, "helped")?;
    let change = free_text(&input.change, "change")?;
    let programme_id = programme_of(&state.db, found.cohort_id).await?;
    let answer = survey_answer::ActiveModel {
        kind: Set("session".into()),
        programme_id: Set(programme_id),
        cohort_id: Set(found.cohort_id),
        session_id: Set(Some(session_id)),
        usefulness: Set(Some(input.usefulness)),
        helped: Set(helped),
        change: Set(change),
        changed_project: Set(None),
        recommend: Set(None),
        answered_on: Set(oslo_date(now)),
        ..Default::default()
    };
    record(
        state,
        viewer.user.id,
        &session_survey(session_id),
        programme_id,
        Some(session_id),
        answer,
    )
    .await
}

/// Answers the closing survey in one of the caller's cohorts, once per programme.
pub async fn answer_closing(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    input: ClosingSurveyInput,
) -> AppResult<()> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let programme_id = programme_of(&state.db, cohort_id).await?;
    viewer.require(Action::AnswerSurvey {
        cohort_id,
        took_part: true,
    })?;
    let now = state.now();
    if closing_opens_at(&state.db, cohort_id).await?.is_none_or(|at| at > now) {
        return Err(AppError::Conflict {
            code: "survey_not_open",
        });
    }
    let helped = free_text(&input.helped, "helped")?;
    let change = free_text(&input.change, "change")?;
    let answer = survey_answer::ActiveModel {
        kind: Set("programme".into()),
        programme_id: Set(programme_id),
        cohort_id: Set(cohort_id),
        session_id: Set(None),
        usefulness: Set(None),
        helped: Set(helped),
        change: Set(change),
        changed_project: Set(Some(input.changed_project.code().into())),
        recommend: Set(Some(input.recommend.code().into())),
        answered_on: Set(oslo_date(now)),
        ..Default::default()
    };
    record(
        state,
        viewer.user.id,
        &closing_survey(programme_id),
        programme_id,
        None,
        answer,
    )
    .await
}

async fn programme_of(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<i32> {
    Ok(cohort::Entity::find_by_id(cohort_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .programme_id)
}

/// Makes sure the person has a row for the survey (the worker may have made it when it mailed
/// the link). Another transaction making the same row at once waits for this one on the unique
/// index, then does nothing.
pub async fn ensure_taker(
    db: &impl ConnectionTrait,
    user_id: i32,
    survey: &str,
    programme_id: i32,
    session_id: Option<i32>,
) -> AppResult<()> {
    survey_taker::Entity::insert(survey_taker::ActiveModel {
        user_id: Set(user_id),
        survey: Set(survey.to_string()),
        programme_id: Set(programme_id),
        session_id: Set(session_id),
        mailed_at: Set(None),
        answered_at: Set(None),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([survey_taker::Column::UserId, survey_taker::Column::Survey])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Marks the person as having answered and stores the answer, in one transaction; the second of
/// two answers finds the mark taken (on PostgreSQL it waits for the first's row lock, then sees
/// it) and stores nothing.
async fn record(
    state: &AppState,
    user_id: i32,
    survey: &str,
    programme_id: i32,
    session_id: Option<i32>,
    answer: survey_answer::ActiveModel,
) -> AppResult<()> {
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    ensure_taker(&txn, user_id, survey, programme_id, session_id).await?;
    let taken = survey_taker::Entity::update_many()
        .col_expr(survey_taker::Column::AnsweredAt, Expr::value(Some(now)))
        .filter(survey_taker::Column::UserId.eq(user_id))
        .filter(survey_taker::Column::Survey.eq(survey))
        .filter(survey_taker::Column::AnsweredAt.is_null())
        .exec(&txn)
        .await?;
    if taken.rows_affected != 1 {
        txn.rollback().await?;
        return Err(AppError::Conflict {
            code: "survey_already_answered",
        });
    }
    answer.insert(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Who may still answer a session's survey: the cohort's project leads and experts who took
/// part and have not answered (for the survey link in the recap digest).
pub async fn open_to(db: &impl ConnectionTrait, found: &session::Model) -> AppResult<std::collections::HashSet<i32>> {
    use crate::domain::roles::Role;
    use crate::entities::membership;
    if found.status == SessionStatus::Cancelled {
        return Ok(Default::default());
    }
    let participants: Vec<i32> = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(found.id))
        .all(db)
        .await?
        .into_iter()
        .filter(counts_as_taking_part)
        .map(|r| r.user_id)
        .collect();
    let answered: std::collections::HashSet<i32> = survey_taker::Entity::find()
        .filter(survey_taker::Column::Survey.eq(session_survey(found.id)))
        .filter(survey_taker::Column::AnsweredAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.user_id)
        .collect();
    Ok(membership::Entity::find()
        .filter(membership::Column::CohortId.eq(found.cohort_id))
        .filter(membership::Column::Role.is_in([Role::ProjectLead, Role::Expert]))
        .filter(membership::Column::UserId.is_in(participants))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .filter(|id| !answered.contains(id))
        .collect())
}
