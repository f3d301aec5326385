//! The four sessions of a cohort: what members see, what facilitators edit, and the rules
//! around them (planning, registration, preparation, polls, recaps, calendars).

pub mod calendar;
pub mod feeds;
pub mod notices;
pub mod participation;
pub mod planning;
pub mod registration;
pub mod roster;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::auth::CurrentUser;
use crate::domain::planner::ProposedSession;
use crate::domain::policy::Action;
use crate::domain::sessions::{RegistrationStatus, SessionStatus, TimelinePlace, timeline};
use crate::entities::registration as registration_entity;
use crate::entities::{cohort, session, session_expert, theme, user};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::markdown::to_safe_html;
use crate::state::AppState;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BookedExpert {
    pub user_id: i32,
    pub name: String,
    pub topic: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecapView {
    /// The recap as written (markdown), for editing.
    pub summary: String,
    pub decisions: String,
    pub resources: String,
    pub summary_html: String,
    pub decisions_html: String,
    pub resources_html: String,
    pub follow_ups: Vec<participation::FollowUpView>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: i32,
    pub cohort_id: i32,
    pub number: i32,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: SessionStatus,
    pub place: TimelinePlace,
    pub capacity: Option<i32>,
    pub registered: usize,
    pub waitlisted: usize,
    pub my_registration: Option<RegistrationStatus>,
    /// Members see it from a while before the start; facilitators always.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_url: Option<String>,
    /// The agenda as written (markdown), for editing.
    pub agenda: String,
    /// The agenda as sanitised HTML.
    pub agenda_html: String,
    pub experts: Vec<BookedExpert>,
    /// Published recap (facilitators also see a draft).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recap: Option<RecapView>,
    pub sequence: i32,
}

impl SessionView {
    pub fn is_open_for_registration(&self) -> bool {
        self.place != TimelinePlace::Past && matches!(self.status, SessionStatus::Planned | SessionStatus::Confirmed)
    }
}

/// A session the viewer may see, with its cohort id; 404 otherwise.
pub async fn visible_session(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    session_id: i32,
) -> AppResult<session::Model> {
    let found = session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

/// The cohort's sessions as `viewer` sees them, in number order.
pub async fn cohort_sessions(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<SessionView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let sessions = session::Entity::find()
        .filter(session::Column::CohortId.eq(cohort_id))
        .order_by_asc(session::Column::Number)
        .all(&state.db)
        .await?;
    views(state, viewer, sessions).await
}

pub async fn session_view(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    let cohort_id = found.cohort_id;
    // The timeline place depends on the cohort's other sessions.
    cohort_sessions(state, viewer, cohort_id)
        .await?
        .into_iter()
        .find(|view| view.id == session_id)
        .ok_or(AppError::NotFound)
}

/// The `title_key` of a title Samling made from the theme and the session's number.
pub const GENERATED_TITLE: &str = "generated";

/// The title Samling gives a planned session, in `language`.
pub fn generated_title(theme: &theme::Model, number: i32, language: Language) -> String {
    Tr::new(language).f(
        "session_title.generated",
        &[
            ("theme", theme.name(language).to_string()),
            ("number", number.to_string()),
        ],
    )
}

/// The theme of a session whose title is generated.
async fn generated_title_theme(
    db: &sea_orm::DatabaseConnection,
    found: &session::Model,
) -> AppResult<Option<theme::Model>> {
    if found.title_key.as_deref() != Some(GENERATED_TITLE) {
        return Ok(None);
    }
    let Some(cohort) = cohort::Entity::find_by_id(found.cohort_id).one(db).await? else {
        return Ok(None);
    };
    Ok(theme::Entity::find_by_id(cohort.theme_id).one(db).await?)
}

/// A session's title as `language` shows it: a generated title translated, a written one as it is.
pub async fn shown_title(
    db: &sea_orm::DatabaseConnection,
    found: &session::Model,
    language: Language,
) -> AppResult<String> {
    Ok(match generated_title_theme(db, found).await? {
        Some(theme) => generated_title(&theme, found.number, language),
        None => found.title.clone(),
    })
}

async fn views(state: &AppState, viewer: &CurrentUser, sessions: Vec<session::Model>) -> AppResult<Vec<SessionView>> {
    let now = state.now();
    let language = viewer.language();
    // Themes of the cohorts whose sessions have generated titles.
    let mut themes: HashMap<i32, theme::Model> = HashMap::new();
    for found in &sessions {
        if found.title_key.as_deref() == Some(GENERATED_TITLE)
            && !themes.contains_key(&found.cohort_id)
            && let Some(theme) = generated_title_theme(&state.db, found).await?
        {
            themes.insert(found.cohort_id, theme);
        }
    }
    let ids: Vec<i32> = sessions.iter().map(|s| s.id).collect();
    let registrations = registration_entity::Entity::find()
        .filter(registration_entity::Column::SessionId.is_in(ids.clone()))
        .all(&state.db)
        .await?;
    let experts = session_expert::Entity::find()
        .filter(session_expert::Column::SessionId.is_in(ids.clone()))
        .all(&state.db)
        .await?;
    let expert_ids: Vec<i32> = experts.iter().map(|e| e.user_id).collect();
    let names: HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(expert_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let places = timeline(
        &sessions
            .iter()
            .map(|s| (s.starts_at, s.ends_at, s.status == SessionStatus::Cancelled))
            .collect::<Vec<_>>(),
        now,
    );
    let mut out = Vec::new();
    for (found, place) in sessions.into_iter().zip(places) {
        let manages = viewer.may(Action::ManageSessions {
            cohort_id: found.cohort_id,
        });
        let link_time = now >= found.starts_at - Duration::minutes(state.settings.meeting_link_minutes_before)
            && now < found.ends_at;
        let of_session: Vec<&registration_entity::Model> =
            registrations.iter().filter(|r| r.session_id == found.id).collect();
        let count = |status: RegistrationStatus| of_session.iter().filter(|r| r.status == status).count();
        let has_draft =
            !(found.recap_summary.is_empty() && found.recap_decisions.is_empty() && found.recap_resources.is_empty());
        let recap = if found.recap_published_at.is_some() || (manages && has_draft) {
            Some(participation::recap_view(&state.db, &found).await?)
        } else {
            None
        };
        out.push(SessionView {
            id: found.id,
            cohort_id: found.cohort_id,
            number: found.number,
            title: match themes.get(&found.cohort_id) {
                Some(theme) if found.title_key.as_deref() == Some(GENERATED_TITLE) => {
                    generated_title(theme, found.number, language)
                }
                _ => found.title.clone(),
            },
            starts_at: found.starts_at,
            ends_at: found.ends_at,
            status: found.status,
            place,
            capacity: found.capacity,
            registered: count(RegistrationStatus::Registered),
            waitlisted: count(RegistrationStatus::Waitlisted),
            my_registration: of_session
                .iter()
                .find(|r| r.user_id == viewer.user.id)
                .map(|r| r.status),
            meeting_url: found.meeting_url.clone().filter(|_| manages || link_time),
            agenda_html: to_safe_html(&found.agenda),
            agenda: found.agenda.clone(),
            experts: experts
                .iter()
                .filter(|e| e.session_id == found.id)
                .map(|e| BookedExpert {
                    user_id: e.user_id,
                    name: names.get(&e.user_id).cloned().unwrap_or_default(),
                    topic: e.topic.clone(),
                })
                .collect(),
            recap,
            sequence: found.sequence,
        });
    }
    Ok(out)
}

/// What a facilitator may change about a session. Absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SessionChanges {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(max_length = 50_000)]
    pub agenda: Option<String>,
    /// An https link to the video meeting; an empty string removes it.
    #[schema(max_length = 500, pattern = r"^(https://\S*)?$")]
    pub meeting_url: Option<String>,
    /// Seats (1 to 10,000); absent keeps it; use `remove_capacity` to drop the limit.
    #[schema(minimum = 1, maximum = 10_000)]
    pub capacity: Option<i32>,
    #[serde(default)]
    pub remove_capacity: bool,
    pub status: Option<SessionStatus>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Save a time that breaks a planning rule after being warned.
    #[serde(default)]
    pub confirm: bool,
}

/// Applies a facilitator's changes; a new time is checked against the planning rules and
/// refused with the reasons unless `confirm` is set. Every change raises the calendar SEQUENCE.
pub async fn update_session(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    changes: SessionChanges,
) -> AppResult<SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    let now = state.now();
    let mut active: session::ActiveModel = found.clone().into();
    if let Some(title) = changes.title {
        let title = title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(AppError::invalid("invalid_title", "title"));
        }
        // The generated title sent back unchanged (in any language) stays generated.
        let theme = generated_title_theme(&state.db, &found).await?;
        let unchanged = title == found.title
            || theme.as_ref().is_some_and(|theme| {
                Language::ALL
                    .into_iter()
                    .any(|language| title == generated_title(theme, found.number, language))
            });
        if !unchanged {
            active.title = Set(title);
            active.title_key = Set(None);
        }
    }
    if let Some(agenda) = changes.agenda {
        if agenda.chars().count() > 50_000 {
            return Err(AppError::invalid("agenda_too_long", "agenda"));
        }
        active.agenda = Set(agenda);
    }
    if let Some(url) = changes.meeting_url {
        let url = url.trim().to_string();
        if url.is_empty() {
            active.meeting_url = Set(None);
        } else if url.starts_with("https://") && url.chars().count() <= 500 && !url.contains(char::is_whitespace) {
            active.meeting_url = Set(Some(url));
        } else {
            return Err(AppError::invalid("invalid_meeting_url", "meeting_url"));
        }
    }
    if changes.remove_capacity {
        active.capacity = Set(None);
    } else if let Some(capacity) = changes.capacity {
        if !(1..=10_000).contains(&capacity) {
            return Err(AppError::invalid("invalid_capacity", "capacity"));
        }
        active.capacity = Set(Some(capacity));
    }
    if let Some(status) = changes.status {
        active.status = Set(status);
    }
    let starts_at = changes.starts_at.unwrap_or(found.starts_at);
    let ends_at = changes.ends_at.unwrap_or(found.ends_at + (starts_at - found.starts_at));
    if starts_at != found.starts_at || ends_at != found.ends_at {
        let violations = planning::check_session_time(state, found.cohort_id, found.number, starts_at, ends_at).await?;
        if !violations.is_empty() && !changes.confirm {
            return Err(AppError::RuleBroken { violations });
        }
        active.starts_at = Set(starts_at);
        active.ends_at = Set(ends_at);
    }
    active.updated_at = Set(now);
    let txn = crate::db::write_transaction(&state.db).await?;
    // Counted from the stored row, so two edits at once raise the calendar's SEQUENCE twice.
    let locked = crate::db::lock_row::<session::Entity>(&txn, session_id).await?;
    active.sequence = Set(locked.sequence + 1);
    let updated = active.update(&txn).await?;
    let promoted = registration::fill_free_seats(state, &txn, &updated).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "sessions.update",
        "session",
        session_id,
        serde_json::json!({ "sequence": updated.sequence }),
        now,
    )
    .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    if promoted > 0 {
        notices::wake_outbox(state);
    }
    session_view(state, viewer, session_id).await
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ExpertBooking {
    /// An expert of the cohort. Give this or `invitation_id`.
    #[serde(default)]
    pub user_id: Option<i32>,
    /// An expert invited to the cohort who has not answered yet: booked at once, the booking
    /// becomes theirs when they accept, and they get a short mail naming the session.
    #[serde(default)]
    pub invitation_id: Option<i32>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub topic: String,
}

/// Books an expert of the cohort for a session (or changes their topic), or an expert invited
/// to the cohort who has not answered yet.
pub async fn book_expert(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    booking: ExpertBooking,
) -> AppResult<SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    let topic = booking.topic.trim().to_string();
    if topic.is_empty() || topic.chars().count() > 200 {
        return Err(AppError::invalid("invalid_topic", "topic"));
    }
    let user_id = match (booking.user_id, booking.invitation_id) {
        (Some(user_id), None) => user_id,
        (None, Some(invitation_id)) => {
            crate::cohorts::invitations::book_invited_expert(state, session_id, invitation_id, &topic).await?;
            return session_view(state, viewer, session_id).await;
        }
        _ => return Err(AppError::invalid("not_an_expert_of_cohort", "user_id")),
    };
    let member = crate::entities::membership::Entity::find()
        .filter(crate::entities::membership::Column::CohortId.eq(found.cohort_id))
        .filter(crate::entities::membership::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?;
    if member.is_none_or(|m| m.role != crate::domain::roles::Role::Expert) {
        return Err(AppError::invalid("not_an_expert_of_cohort", "user_id"));
    }
    let txn = crate::db::write_transaction(&state.db).await?;
    // Counted from the stored row, so bookings made at once each raise the calendar's SEQUENCE.
    let locked = crate::db::lock_row::<session::Entity>(&txn, session_id).await?;
    let existing = session_expert::Entity::find()
        .filter(session_expert::Column::SessionId.eq(session_id))
        .filter(session_expert::Column::UserId.eq(user_id))
        .one(&txn)
        .await?;
    match existing {
        Some(existing) => {
            let mut active: session_expert::ActiveModel = existing.into();
            active.topic = Set(topic);
            active.update(&txn).await?;
        }
        None => {
            session_expert::ActiveModel {
                session_id: Set(session_id),
                user_id: Set(user_id),
                topic: Set(topic),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    let sequence = locked.sequence + 1;
    let mut changed: session::ActiveModel = locked.into();
    changed.sequence = Set(sequence);
    changed.updated_at = Set(state.now());
    changed.update(&txn).await?;
    sea_orm::TransactionSession::commit(txn).await?;
    session_view(state, viewer, session_id).await
}

/// Creates or moves the cohort's sessions to the accepted plan (numbers 1..=n).
pub async fn save_plan(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    plan: &[ProposedSession],
) -> AppResult<Vec<SessionView>> {
    viewer.require(Action::ManageSessions { cohort_id })?;
    store_plan(&state.db, Some(viewer.user.id), cohort_id, plan, state.now()).await?;
    cohort_sessions(state, viewer, cohort_id).await
}

/// Creates or moves the cohort's sessions to `plan`, without asking who wants it (the caller has).
pub async fn store_plan<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    actor_user_id: Option<i32>,
    cohort_id: i32,
    plan: &[ProposedSession],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let cohort = cohort::Entity::find_by_id(cohort_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let theme = crate::entities::theme::Entity::find_by_id(cohort.theme_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = crate::db::write_transaction(db).await?;
    crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    let existing = session::Entity::find()
        .filter(session::Column::CohortId.eq(cohort_id))
        .all(&txn)
        .await?;
    for proposed in plan {
        let number = proposed.number as i32;
        match existing.iter().find(|s| s.number == number) {
            Some(stored) if stored.starts_at == proposed.start && stored.ends_at == proposed.end => {}
            Some(stored) => {
                let mut active: session::ActiveModel = stored.clone().into();
                active.starts_at = Set(proposed.start);
                active.ends_at = Set(proposed.end);
                active.sequence = Set(stored.sequence + 1);
                active.updated_at = Set(now);
                active.update(&txn).await?;
            }
            None => {
                session::ActiveModel {
                    cohort_id: Set(cohort_id),
                    number: Set(number),
                    title: Set(generated_title(&theme, number, Language::Nb)),
                    title_key: Set(Some(GENERATED_TITLE.to_string())),
                    starts_at: Set(proposed.start),
                    ends_at: Set(proposed.end),
                    meeting_url: Set(None),
                    agenda: Set(String::new()),
                    status: Set(SessionStatus::Planned),
                    capacity: Set(None),
                    sequence: Set(0),
                    recap_summary: Set(String::new()),
                    recap_decisions: Set(String::new()),
                    recap_resources: Set(String::new()),
                    recap_published_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    audit::record(
        &txn,
        actor_user_id,
        "sessions.save_plan",
        "cohort",
        cohort_id,
        serde_json::json!({ "sessions": plan.len() }),
        now,
    )
    .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(())
}
