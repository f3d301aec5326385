//! Calendars: an `.ics` for one session, and a personal feed of all my sessions at a secret,
//! revocable URL (calendar apps cannot sign in, so the secret is the key).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::calendar::{CalendarEvent, calendar, event_uid};
use super::visible_session;
use crate::auth::CurrentUser;
use crate::auth::tokens::{hash_secret, new_secret};
use crate::entities::{calendar_feed, membership, session, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

fn event(state: &AppState, found: &session::Model) -> CalendarEvent {
    CalendarEvent {
        uid: event_uid(found.id, state.public_host()),
        sequence: found.sequence,
        summary: found.title.clone(),
        description: found.agenda.clone(),
        url: state.link(&format!("/sessions/{}", found.id)),
        start: found.starts_at,
        end: found.ends_at,
        cancelled: found.status == crate::domain::sessions::SessionStatus::Cancelled,
        updated: found.updated_at,
    }
}

/// The calendar file of one session (attached to reminders).
pub fn session_calendar(state: &AppState, found: &session::Model) -> String {
    calendar(&found.title, &[event(state, found)])
}

/// The calendar file of one session, for a member.
pub async fn session_ics(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<String> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    Ok(calendar(&found.title, &[event(state, &found)]))
}

/// Makes a new feed URL for the viewer; an older one stops working.
pub async fn create_feed(state: &AppState, viewer: &CurrentUser) -> AppResult<String> {
    let txn = crate::db::write_transaction(&state.db).await?;
    crate::db::lock_row::<crate::entities::user::Entity>(&txn, viewer.user.id).await?;
    calendar_feed::Entity::delete_many()
        .filter(calendar_feed::Column::UserId.eq(viewer.user.id))
        .exec(&txn)
        .await?;
    let secret = new_secret();
    calendar_feed::ActiveModel {
        user_id: Set(viewer.user.id),
        token_hash: Set(hash_secret(&secret)),
        created_at: Set(state.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(state.link(&format!("/calendar/{secret}.ics")))
}

pub async fn revoke_feed(state: &AppState, viewer: &CurrentUser) -> AppResult<()> {
    calendar_feed::Entity::delete_many()
        .filter(calendar_feed::Column::UserId.eq(viewer.user.id))
        .exec(&state.db)
        .await?;
    Ok(())
}

pub async fn has_feed(state: &AppState, viewer: &CurrentUser) -> AppResult<bool> {
    Ok(calendar_feed::Entity::find()
        .filter(calendar_feed::Column::UserId.eq(viewer.user.id))
        .one(&state.db)
        .await?
        .is_some())
}

/// The feed behind a secret: every session of every cohort its owner belongs to.
pub async fn feed_ics(state: &AppState, secret: &str) -> AppResult<String> {
    let feed = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::TokenHash.eq(hash_secret(secret)))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = user::Entity::find_by_id(feed.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::NotFound)?;
    let cohort_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(owner.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.cohort_id)
        .collect();
    let sessions = session::Entity::find()
        .filter(session::Column::CohortId.is_in(cohort_ids))
        .order_by_asc(session::Column::StartsAt)
        .all(&state.db)
        .await?;
    let events: Vec<CalendarEvent> = sessions.iter().map(|found| event(state, found)).collect();
    Ok(calendar(&format!("Samling – {}", owner.name), &events))
}
