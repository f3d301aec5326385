//! Who comes to a session, for those who run it: the registered with their municipality, the
//! waitlist in order, who answered the needs intake; and a message by mail to each group.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use super::notices::{self, Notice};
use super::visible_session;
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::domain::sessions::RegistrationStatus;
use crate::entities::{organisation, preparation, registration, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The longest note a facilitator may add to a group message.
const MAX_NOTE_CHARS: usize = 2_000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RosterEntry {
    pub user_id: i32,
    pub name: String,
    /// The municipality or organisation the person belongs to.
    pub organisation: Option<String>,
    /// Place on the waitlist, 1 first (only in `waitlisted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// Whether the person answered the needs intake.
    pub prepared: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionRoster {
    /// Those with a seat, in the order they registered.
    pub registered: Vec<RosterEntry>,
    /// Those waiting for a seat, first in line first.
    pub waitlisted: Vec<RosterEntry>,
    /// Everyone who answered the needs intake.
    pub prepared: Vec<RosterEntry>,
    /// Those with a seat who have not answered the needs intake.
    pub not_prepared: Vec<RosterEntry>,
}

/// A group of people around a session that a facilitator can write to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageGroup {
    Registered,
    Waitlisted,
    /// Registered, and the needs intake not answered.
    NotPrepared,
}

impl MessageGroup {
    pub const ALL: [MessageGroup; 3] = [
        MessageGroup::Registered,
        MessageGroup::Waitlisted,
        MessageGroup::NotPrepared,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MessageGroup::Registered => "registered",
            MessageGroup::Waitlisted => "waitlisted",
            MessageGroup::NotPrepared => "not_prepared",
        }
    }

    pub fn parse(code: &str) -> Option<MessageGroup> {
        MessageGroup::ALL.into_iter().find(|group| group.code() == code)
    }

    fn notice(self) -> Notice {
        match self {
            MessageGroup::Registered => Notice::ToRegistered,
            MessageGroup::Waitlisted => Notice::ToWaitlisted,
            MessageGroup::NotPrepared => Notice::ToNotPrepared,
        }
    }

    /// The people of this group in the roster.
    pub fn members(self, roster: &SessionRoster) -> &[RosterEntry] {
        match self {
            MessageGroup::Registered => &roster.registered,
            MessageGroup::Waitlisted => &roster.waitlisted,
            MessageGroup::NotPrepared => &roster.not_prepared,
        }
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct GroupMessage {
    pub group: MessageGroup,
    /// A few words of the facilitator's own, added to the prefilled message.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GroupMessageSent {
    pub group: MessageGroup,
    /// How many people the message goes to.
    pub recipients: usize,
}

async fn roster_of(db: &impl ConnectionTrait, session_id: i32) -> AppResult<SessionRoster> {
    let registrations = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(session_id))
        .order_by_asc(registration::Column::CreatedAt)
        .order_by_asc(registration::Column::Id)
        .all(db)
        .await?;
    let answers = preparation::Entity::find()
        .filter(preparation::Column::SessionId.eq(session_id))
        .order_by_asc(preparation::Column::UpdatedAt)
        .order_by_asc(preparation::Column::Id)
        .all(db)
        .await?;
    let answered: Vec<i32> = answers
        .iter()
        .filter(|a| !(a.needs.trim().is_empty() && a.offers.trim().is_empty()))
        .map(|a| a.user_id)
        .collect();
    let mut ids: Vec<i32> = registrations
        .iter()
        .map(|r| r.user_id)
        .chain(answered.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    let organisations = organisation::Entity::find().all(db).await?;
    let entry = |user_id: i32, position: Option<usize>| {
        let person = users.iter().find(|u| u.id == user_id)?;
        Some(RosterEntry {
            user_id,
            name: person.name.clone(),
            organisation: person
                .organisation_id
                .and_then(|id| organisations.iter().find(|o| o.id == id))
                .map(|o| o.name.clone()),
            position,
            prepared: answered.contains(&user_id),
        })
    };
    let registered: Vec<RosterEntry> = registrations
        .iter()
        .filter(|r| r.status == RegistrationStatus::Registered)
        .filter_map(|r| entry(r.user_id, None))
        .collect();
    let waitlisted = registrations
        .iter()
        .filter(|r| r.status == RegistrationStatus::Waitlisted)
        .enumerate()
        .filter_map(|(index, r)| entry(r.user_id, Some(index + 1)))
        .collect();
    let prepared = answered.iter().filter_map(|id| entry(*id, None)).collect();
    let not_prepared = registered.iter().filter(|e| !e.prepared).cloned().collect();
    Ok(SessionRoster {
        registered,
        waitlisted,
        prepared,
        not_prepared,
    })
}

/// Who registered, who waits and who answered the needs intake (facilitators and admins).
pub async fn roster(state: &AppState, viewer: &CurrentUser, session_id: i32) -> AppResult<SessionRoster> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    roster_of(&state.db, session_id).await
}

/// Sends the prefilled message for `group` by mail to each of its people, in their language,
/// with the facilitator's note if there is one.
pub async fn message_group(
    state: &AppState,
    viewer: &CurrentUser,
    session_id: i32,
    message: GroupMessage,
) -> AppResult<GroupMessageSent> {
    let found = visible_session(&state.db, viewer, session_id).await?;
    viewer.require(Action::ManageSessions {
        cohort_id: found.cohort_id,
    })?;
    let note = message.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(AppError::invalid("message_note_too_long", "note"));
    }
    let txn = crate::db::write_transaction(&state.db).await?;
    let found = crate::db::lock_row::<crate::entities::session::Entity>(&txn, session_id).await?;
    let roster = roster_of(&txn, session_id).await?;
    let members = message.group.members(&roster);
    let people = user::Entity::find()
        .filter(user::Column::Id.is_in(members.iter().map(|m| m.user_id).collect::<Vec<_>>()))
        .filter(user::Column::Active.eq(true))
        .all(&txn)
        .await?;
    for person in &people {
        let mail = notices::compose(
            state,
            &txn,
            &found,
            person,
            message.group.notice(),
            note,
            Some(&viewer.user.name),
        )
        .await?;
        notices::enqueue(state, &txn, person, mail).await?;
    }
    crate::audit::record(
        &txn,
        Some(viewer.user.id),
        "sessions.message",
        "session",
        session_id,
        serde_json::json!({ "group": message.group.code(), "recipients": people.len() }),
        state.now(),
    )
    .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    if !people.is_empty() {
        notices::wake_outbox(state);
    }
    Ok(GroupMessageSent {
        group: message.group,
        recipients: people.len(),
    })
}
