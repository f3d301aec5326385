//! What members bring to a session and what comes out of it: the needs intake ("what do you
//! need help with", "what can you share"), availability polls and the recap.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use super::visible_session;
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::domain::sessions::{Availability, PollTally, PollVote, tally_poll};
use crate::entities::{
    organisation, poll_answer, poll_option, preparation, session, session_expert, session_follow_up, user,
};
use crate::error::{AppError, AppResult};
use crate::markdown::to_safe_html;
use crate::state::AppState;

const MAX_TEXT: usize = 10_000;

fn bounded(text: &str, field: &'static str) -> AppResult<String> {
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::invalid("text_too_long", field));
    }
    Ok(text.trim().to_string())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PreparationInput {
    /// What do you need help with?
    #[schema(max_length = 10_000)]
    pub needs: String,
    /// What can you share?
    #[schema(max_length = 10_000)]
    pub offers: String,
}

/// Saves the viewer's answers to the needs intake for a session.
pub async fn save_preparation(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    input: PreparationInput,
) -> AppResult<PreparationInput> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ParticipateInSession {
        cohort_id: found.cohort_id,
    })?;
    let needs = bounded(&input.needs, "needs")?;
    let offers = bounded(&input.offers, "offers")?;
    // One statement, so two saves at once (two tabs) end as one row with the last answers.
    preparation::Entity::insert(preparation::ActiveModel {
        session_id: Set(session_id),
        user_id: Set(viewer.user.id),
        needs: Set(needs.clone()),
        offers: Set(offers.clone()),
        updated_at: Set(state.now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([preparation::Column::SessionId, preparation::Column::UserId])
            .update_columns([
                preparation::Column::Needs,
                preparation::Column::Offers,
                preparation::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    Ok(PreparationInput { needs, offers })
}

pub async fn my_preparation(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<PreparationInput> {
    visible_session(&state.db, viewer, session_id).await?;
    Ok(preparation::Entity::find()
        .filter(preparation::Column::SessionId.eq(session_id))
        .filter(preparation::Column::UserId.eq(viewer.user.id))
        .one(&state.db)
        .await?
        .map(|p| PreparationInput {
            needs: p.needs,
            offers: p.offers,
        })
        .unwrap_or_default())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PreparationView {
    pub id: i32,
    pub session_id: i32,
    pub name: String,
    pub organisation: Option<String>,
    pub needs: String,
    pub offers: String,
    pub updated_at: DateTime<Utc>,
    /// The session of the cohort where the facilitator took the need up; `None` while open.
    pub addressed_session_id: Option<i32>,
    /// That session's number in the cohort.
    pub addressed_session_number: Option<i32>,
}

async fn is_booked_expert(db: &impl ConnectionTrait, session_id: i32, user_id: i32) -> AppResult<bool> {
    Ok(session_expert::Entity::find()
        .filter(session_expert::Column::SessionId.eq(session_id))
        .filter(session_expert::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .is_some())
}

/// Everyone's needs and offers for a session: for its facilitator and booked experts.
pub async fn preparations(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<Vec<PreparationView>> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    let booked_expert = is_booked_expert(&state.db, session_id, viewer.user.id).await?;
    viewer.require(Action::ViewPreparations {
        cohort_id: found.cohort_id,
        booked_expert,
    })?;
    let answers = preparation::Entity::find()
        .filter(preparation::Column::SessionId.eq(session_id))
        .order_by_asc(preparation::Column::UpdatedAt)
        .all(&state.db)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(answers.iter().map(|a| a.user_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?;
    let organisations = organisation::Entity::find().all(&state.db).await?;
    let numbers = session_numbers(&state.db, found.cohort_id).await?;
    Ok(answers
        .into_iter()
        .filter(|a| !(a.needs.is_empty() && a.offers.is_empty()))
        .filter_map(|answer| {
            let person = users.iter().find(|u| u.id == answer.user_id)?;
            Some(PreparationView {
                id: answer.id,
                session_id: answer.session_id,
                addressed_session_number: answer
                    .addressed_session_id
                    .and_then(|id| numbers.iter().find(|(found, _)| *found == id))
                    .map(|(_, number)| *number),
                addressed_session_id: answer.addressed_session_id,
                name: person.name.clone(),
                organisation: person
                    .organisation_id
                    .and_then(|id| organisations.iter().find(|o| o.id == id))
                    .map(|o| o.name.clone()),
                needs: answer.needs,
                offers: answer.offers,
                updated_at: answer.updated_at,
            })
        })
        .collect())
}

/// The cohort's sessions as (id, number), in number order.
async fn session_numbers(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<Vec<(i32, i32)>> {
    Ok(session::Entity::find()
        .filter(session::Column::CohortId.eq(cohort_id))
        .order_by_asc(session::Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(|found| (found.id, found.number))
        .collect())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct AddressedInput {
    /// The session of the same cohort where the need was taken up (in its agenda or recap);
    /// `null` marks the need open again.
    pub session_id: Option<i32>,
}

/// Marks a member's stated need as taken up in a session of the cohort, or open again (the
/// facilitator). 404 for someone outside the cohort, 403 for members who do not run its
/// sessions, 422 `addressed_session_not_in_cohort` for a session of another cohort and
/// `preparation_without_needs` when the member stated no need.
pub async fn mark_addressed(
    state: &AppState,
    viewer: &CurrentUser,
    preparation_id: i32,
    input: AddressedInput,
) -> AppResult<PreparationView> {
    let answer = preparation::Entity::find_by_id(preparation_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let found = visible_session(&state.db, viewer, answer.session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    if answer.needs.trim().is_empty() {
        return Err(AppError::invalid("preparation_without_needs", "needs"));
    }
    if let Some(target) = input.session_id {
        let same_cohort = session::Entity::find_by_id(target)
            .one(&state.db)
            .await?
            .is_some_and(|target| target.cohort_id == found.cohort_id);
        if !same_cohort {
            return Err(AppError::invalid("addressed_session_not_in_cohort", "session_id"));
        }
    }
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    // One statement: two facilitators marking at once end with the last choice, never a half.
    preparation::Entity::update_many()
        .col_expr(
            preparation::Column::AddressedSessionId,
            sea_orm::sea_query::Expr::value(input.session_id),
        )
        .col_expr(
            preparation::Column::AddressedAt,
            sea_orm::sea_query::Expr::value(input.session_id.map(|_| now)),
        )
        .filter(preparation::Column::Id.eq(preparation_id))
        .exec(&txn)
        .await?;
    crate::audit::record(
        &txn,
        Some(viewer.user.id),
        "sessions.need_addressed",
        "preparation",
        preparation_id,
        serde_json::json!({ "session_id": input.session_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    preparations(state, viewer, answer.session_id)
        .await?
        .into_iter()
        .find(|view| view.id == preparation_id)
        .ok_or(AppError::NotFound)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PollOptionInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PollOptionView {
    pub id: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub my_answer: Option<Availability>,
    pub tally: PollTally,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PollView {
    /// Best first: the most municipalities that can attend.
    pub options: Vec<PollOptionView>,
    pub best_option_id: Option<i32>,
}

/// Adds a candidate time to the session's availability poll (facilitators).
pub async fn add_poll_option(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    input: PollOptionInput,
) -> AppResult<PollView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    if input.ends_at <= input.starts_at {
        return Err(AppError::invalid("poll_option_ends_before_start", "ends_at"));
    }
    poll_option::ActiveModel {
        session_id: Set(session_id),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    poll(state, viewer, session_id).await
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PollAnswerInput {
    pub option_id: i32,
    pub answer: Availability,
}

/// Records the viewer's answers (yes, if need be, no) to the poll's times.
pub async fn answer_poll(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    answers: Vec<PollAnswerInput>,
) -> AppResult<PollView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ParticipateInSession {
        cohort_id: found.cohort_id,
    })?;
    let options = poll_option::Entity::find()
        .filter(poll_option::Column::SessionId.eq(session_id))
        .all(&state.db)
        .await?;
    let txn = crate::db::write_transaction(&state.db).await?;
    crate::db::lock_row::<session::Entity>(&txn, session_id).await?;
    for input in answers {
        if !options.iter().any(|o| o.id == input.option_id) {
            return Err(AppError::invalid("unknown_poll_option", "option_id"));
        }
        poll_answer::Entity::delete_many()
            .filter(poll_answer::Column::OptionId.eq(input.option_id))
            .filter(poll_answer::Column::UserId.eq(viewer.user.id))
            .exec(&txn)
            .await?;
        poll_answer::ActiveModel {
            option_id: Set(input.option_id),
            user_id: Set(viewer.user.id),
            answer: Set(input.answer.code().to_string()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    poll(state, viewer, session_id).await
}

pub async fn poll(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<PollView> {
    visible_session(&state.db, viewer, session_id).await?;
    let options = poll_option::Entity::find()
        .filter(poll_option::Column::SessionId.eq(session_id))
        .order_by_asc(poll_option::Column::StartsAt)
        .all(&state.db)
        .await?;
    let option_ids: Vec<i32> = options.iter().map(|o| o.id).collect();
    let answers = poll_answer::Entity::find()
        .filter(poll_answer::Column::OptionId.is_in(option_ids.clone()))
        .all(&state.db)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(answers.iter().map(|a| a.user_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?;
    let votes: Vec<PollVote> = answers
        .iter()
        .filter_map(|a| {
            Some(PollVote {
                option_id: a.option_id,
                organisation_id: users.iter().find(|u| u.id == a.user_id)?.organisation_id,
                user_id: a.user_id,
                answer: Availability::parse(&a.answer)?,
            })
        })
        .collect();
    let tallies = tally_poll(&option_ids, &votes);
    let best_option_id = tallies
        .first()
        .filter(|t| t.municipalities_yes + t.municipalities_if_need_be > 0)
        .map(|t| t.option_id);
    let views = tallies
        .into_iter()
        .filter_map(|tally| {
            let option = options.iter().find(|o| o.id == tally.option_id)?;
            Some(PollOptionView {
                id: option.id,
                starts_at: option.starts_at,
                ends_at: option.ends_at,
                my_answer: answers
                    .iter()
                    .find(|a| a.option_id == option.id && a.user_id == viewer.user.id)
                    .and_then(|a| Availability::parse(&a.answer)),
                tally,
            })
        })
        .collect();
    Ok(PollView {
        options: views,
        best_option_id,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUpInput {
    pub organisation_id: i32,
    pub text: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FollowUpView {
    pub organisation_id: i32,
    pub organisation: String,
    pub text: String,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct RecapInput {
    /// Markdown.
    #[schema(max_length = 10_000)]
    pub summary: String,
    /// Markdown.
    #[schema(max_length = 10_000)]
    pub decisions: String,
    /// Resources shown, markdown (links).
    #[schema(max_length = 10_000)]
    pub resources: String,
    #[serde(default)]
    pub follow_ups: Vec<FollowUpInput>,
    /// Publish to the cohort now (otherwise kept as a draft).
    #[serde(default)]
    pub publish: bool,
}

pub async fn recap_view(db: &impl ConnectionTrait, found: &session::Model) -> AppResult<super::RecapView> {
    let follow_ups = session_follow_up::Entity::find()
        .filter(session_follow_up::Column::SessionId.eq(found.id))
        .all(db)
        .await?;
    let organisations = organisation::Entity::find().all(db).await?;
    Ok(super::RecapView {
        summary: found.recap_summary.clone(),
        decisions: found.recap_decisions.clone(),
        resources: found.recap_resources.clone(),
        summary_html: to_safe_html(&found.recap_summary),
        decisions_html: to_safe_html(&found.recap_decisions),
        resources_html: to_safe_html(&found.recap_resources),
        follow_ups: follow_ups
            .into_iter()
            .map(|f| FollowUpView {
                organisation: organisations
                    .iter()
                    .find(|o| o.id == f.organisation_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                organisation_id: f.organisation_id,
                text: f.text,
            })
            .collect(),
        published_at: found.recap_published_at,
    })
}

/// Writes the recap after the session; publishing shows it to the cohort.
pub async fn write_recap(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    input: RecapInput,
) -> AppResult<super::SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    let now = state.now();
    if found.starts_at > now {
        return Err(AppError::Conflict {
            code: "recap_before_session",
        });
    }
    let txn = crate::db::write_transaction(&state.db).await?;
    let found = crate::db::lock_row::<session::Entity>(&txn, session_id).await?;
    let mut active: session::ActiveModel = found.clone().into();
    active.recap_summary = Set(bounded(&input.summary, "summary")?);
    active.recap_decisions = Set(bounded(&input.decisions, "decisions")?);
    active.recap_resources = Set(bounded(&input.resources, "resources")?);
    if input.publish && found.recap_published_at.is_none() {
        active.recap_published_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    active.update(&txn).await?;
    session_follow_up::Entity::delete_many()
        .filter(session_follow_up::Column::SessionId.eq(session_id))
        .exec(&txn)
        .await?;
    for follow_up in input.follow_ups {
        organisation::Entity::find_by_id(follow_up.organisation_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_organisation", "organisation_id"))?;
        session_follow_up::ActiveModel {
            session_id: Set(session_id),
            organisation_id: Set(follow_up.organisation_id),
            text: Set(bounded(&follow_up.text, "follow_ups")?),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    crate::audit::record(
        &txn,
        Some(viewer.user.id),
        "sessions.recap",
        "session",
        session_id,
        serde_json::json!({ "published": input.publish }),
        now,
    )
    .await?;
    txn.commit().await?;
    super::session_view(state, viewer, session_id).await
}
