//! The live side of threads, for the websocket's client protocol (`routes/socket.rs`): a
//! person's connection on the hub, following a cohort, saying one is writing, and whether a
//! person may still follow what they follow. The policy is asked here, as for everything else
//! a person does in threads; the protocol only parses, calls and answers.

use std::collections::HashSet;

use axum::extract::ws::Message;
use futures::Sink;
use sea_orm::EntityTrait;
use tokio::sync::broadcast;

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::thread;
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::realtime::ServerMessage;
use crate::realtime::connection::Opened;
use crate::state::AppState;

/// Opens `person`'s connection on the hub with `sink` as its socket's sending half; also
/// returns the signals of changed access (see [`crate::realtime::Hub::access_changed`]).
pub(crate) fn open_connection<S>(state: &AppState, person: &CurrentUser, sink: S) -> (Opened, broadcast::Receiver<i32>)
where
    S: Sink<Message> + Unpin + Send + 'static,
{
    let tr = Tr::new(person.language());
    let opened = state
        .hub
        .open(sink, person.user.id, person.user.name.as_str().into(), tr);
    (opened, state.hub.access_signals())
}

/// Whether `person` may follow the cohort's events (404 when not).
pub fn may_follow(person: &CurrentUser, cohort_id: i32) -> AppResult<()> {
    person.require(Action::ViewCohort { cohort_id })
}

/// Whether `person` may still follow every one of `cohorts` (after their access changed).
pub fn may_follow_all(person: &CurrentUser, cohorts: &HashSet<i32>) -> bool {
    cohorts
        .iter()
        .all(|cohort_id| person.may(Action::ViewCohort { cohort_id: *cohort_id }))
}

/// Tells the thread's cohort that `person` is writing in it: 404 for a thread they cannot see,
/// 403 when they may not write there.
pub async fn typing(state: &AppState, person: &CurrentUser, thread_id: i32) -> AppResult<()> {
    let found = thread::Entity::find_by_id(thread_id)
        .one(&state.db)
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    let Some(found) = found.filter(|t| person.may(Action::ViewCohort { cohort_id: t.cohort_id })) else {
        return Err(AppError::NotFound);
    };
    if !person.may(Action::WriteInCohort {
        cohort_id: found.cohort_id,
    }) {
        return Err(AppError::Forbidden);
    }
    state.hub.ephemeral(
        found.cohort_id,
        &ServerMessage::Typing {
            cohort_id: found.cohort_id,
            thread_id,
            user_id: person.user.id,
            name: &person.user.name,
        },
    );
    Ok(())
}
