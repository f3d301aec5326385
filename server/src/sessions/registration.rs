//! Registering for a session: seats up to the capacity, then a waitlist that moves up in order
//! when a seat frees — exactly once, even when people cancel at the same moment.
//!
//! Every change runs in a write transaction that takes the lock first: `BEGIN IMMEDIATE` on
//! SQLite, a row lock on the session in PostgreSQL. Count-then-insert is then safe.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use super::notices::{self, Notice};
use super::{SessionView, session_view, visible_session};
use crate::auth::CurrentUser;
use crate::db::{lock_row, write_transaction};
use crate::domain::policy::Action;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::{organisation, registration, session, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

async fn lock_session(txn: &DatabaseTransaction, session_id: i32) -> AppResult<session::Model> {
    lock_row::<session::Entity>(txn, session_id).await
}

/// Moves people up from the waitlist, oldest first, while seats are free, and tells each by mail
/// (with the calendar invitation). Wake the outbox after the commit.
pub async fn fill_free_seats(state: &AppState, txn: &DatabaseTransaction, found: &session::Model) -> AppResult<usize> {
    let found = lock_session(txn, found.id).await?;
    let registrations = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(found.id))
        .order_by_asc(registration::Column::CreatedAt)
        .order_by_asc(registration::Column::Id)
        .all(txn)
        .await?;
    let taken = registrations
        .iter()
        .filter(|r| r.status == RegistrationStatus::Registered)
        .count();
    let free = match found.capacity {
        Some(capacity) => (capacity.max(0) as usize).saturating_sub(taken),
        None => usize::MAX,
    };
    let mut promoted = 0;
    for waiting in registrations
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Waitlisted)
        .take(free)
    {
        let user_id = waiting.user_id;
        let mut active: registration::ActiveModel = waiting.into();
        active.status = Set(RegistrationStatus::Registered);
        active.update(txn).await?;
        notices::notify(state, txn, &found, user_id, Notice::Promoted).await?;
        promoted += 1;
    }
    Ok(promoted)
}

fn open_for_registration(found: &session::Model, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
    let open = matches!(found.status, SessionStatus::Planned | SessionStatus::Confirmed);
    if !open || found.ends_at <= now {
        return Err(AppError::Conflict {
            code: "registration_closed",
        });
    }
    Ok(())
}

/// Registers the viewer: a seat if one is free, otherwise a place on the waitlist. Asking twice
/// changes nothing.
pub async fn register(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ParticipateInSession {
        cohort_id: found.cohort_id,
    })?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let found = lock_session(&txn, session_id).await?;
    open_for_registration(&found, now)?;
    let existing = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(session_id))
        .filter(registration::Column::UserId.eq(viewer.user.id))
        .one(&txn)
        .await?;
    if existing.is_none() {
        let taken = registration::Entity::find()
            .filter(registration::Column::SessionId.eq(session_id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Registered))
            .count(&txn)
            .await?;
        let status = match found.capacity {
            Some(capacity) if taken >= capacity.max(0) as u64 => RegistrationStatus::Waitlisted,
            _ => RegistrationStatus::Registered,
        };
        registration::ActiveModel {
            session_id: Set(session_id),
            user_id: Set(viewer.user.id),
            status: Set(status),
            created_at: Set(now),
            attended: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let notice = match status {
            RegistrationStatus::Waitlisted => Notice::Waitlisted {
                position: registration::Entity::find()
                    .filter(registration::Column::SessionId.eq(session_id))
                    .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted))
                    .count(&txn)
                    .await? as usize,
            },
            _ => Notice::Registered,
        };
        notices::notify(state, &txn, &found, viewer.user.id, notice).await?;
    }
    let enqueued = existing.is_none();
    txn.commit().await?;
    if enqueued {
        notices::wake_outbox(state);
    }
    session_view(state, viewer, session_id).await
}

/// Unregisters the viewer; a freed seat goes to the first on the waitlist.
pub async fn unregister(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<SessionView> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ParticipateInSession {
        cohort_id: found.cohort_id,
    })?;
    let txn = write_transaction(&state.db).await?;
    let found = lock_session(&txn, session_id).await?;
    registration::Entity::delete_many()
        .filter(registration::Column::SessionId.eq(session_id))
        .filter(registration::Column::UserId.eq(viewer.user.id))
        .exec(&txn)
        .await?;
    let promoted = fill_free_seats(state, &txn, &found).await?;
    txn.commit().await?;
    if promoted > 0 {
        notices::wake_outbox(state);
    }
    session_view(state, viewer, session_id).await
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Attendee {
    pub user_id: i32,
    pub name: String,
    pub organisation: Option<String>,
    pub status: RegistrationStatus,
    pub attended: Option<bool>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationAttendance {
    pub organisation: String,
    pub registered: usize,
    pub attended: usize,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AttendanceReport {
    pub people: Vec<Attendee>,
    /// Per municipality: how many registered and how many came.
    pub organisations: Vec<OrganisationAttendance>,
}

/// Who registered and who came, per person and per municipality (facilitators).
pub async fn attendance(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<AttendanceReport> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    let registrations = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(session_id))
        .order_by_asc(registration::Column::CreatedAt)
        .order_by_asc(registration::Column::Id)
        .all(&state.db)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(registrations.iter().map(|r| r.user_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?;
    let organisations = organisation::Entity::find().all(&state.db).await?;
    let mut people = Vec::new();
    for entry in &registrations {
        let Some(person) = users.iter().find(|u| u.id == entry.user_id) else {
            continue;
        };
        let organisation = person
            .organisation_id
            .and_then(|id| organisations.iter().find(|o| o.id == id))
            .map(|o| o.name.clone());
        people.push(Attendee {
            user_id: person.id,
            name: person.name.clone(),
            organisation,
            status: entry.status,
            attended: entry.attended,
        });
    }
    let mut by_organisation: Vec<OrganisationAttendance> = Vec::new();
    for person in people.iter().filter(|p| p.status == RegistrationStatus::Registered) {
        let name = person.organisation.clone().unwrap_or_else(|| person.name.clone());
        let row = match by_organisation.iter_mut().find(|row| row.organisation == name) {
            Some(row) => row,
            None => {
                by_organisation.push(OrganisationAttendance {
                    organisation: name,
                    registered: 0,
                    attended: 0,
                });
                by_organisation
                    .last_mut()
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a row was just pushed")))?
            }
        };
        row.registered += 1;
        row.attended += usize::from(person.attended == Some(true));
    }
    by_organisation.sort_by(|a, b| a.organisation.cmp(&b.organisation));
    Ok(AttendanceReport {
        people,
        organisations: by_organisation,
    })
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct AttendanceMark {
    pub user_id: i32,
    pub attended: bool,
}

/// Records who came, after the session has started.
pub async fn record_attendance(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    marks: Vec<AttendanceMark>,
) -> AppResult<AttendanceReport> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    if found.starts_at > state.now() {
        return Err(AppError::Conflict {
            code: "attendance_before_session",
        });
    }
    let txn = write_transaction(&state.db).await?;
    for mark in marks {
        let updated = registration::Entity::update_many()
            .col_expr(
                registration::Column::Attended,
                sea_orm::sea_query::Expr::value(Some(mark.attended)),
            )
            .filter(registration::Column::SessionId.eq(session_id))
            .filter(registration::Column::UserId.eq(mark.user_id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Registered))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(AppError::invalid("not_registered", "user_id"));
        }
    }
    crate::audit::record(
        &txn,
        Some(viewer.user.id),
        "sessions.attendance",
        "session",
        session_id,
        serde_json::json!({}),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    attendance(state, viewer, session_id).await
}
