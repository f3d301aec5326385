//! What members do to posts and threads after writing them: edits with history, deletion,
//! reactions, the answered mark and read positions. Each stored change appends its event.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set, TryInsertResult,
};
use serde::{Deserialize, Serialize};

use super::views::{PostView, ThreadView, post_views, thread_views};
use super::{
    checked_body, mentioned_members, require_may_post, require_not_muted, store_mentions, visible_post, visible_thread,
};
use crate::auth::CurrentUser;
use crate::db::{lock_row, write_transaction};
use crate::domain::policy::Action;
use crate::entities::cohort_event::EventKind;
use crate::entities::{post, post_reaction, post_revision, thread, thread_read};
use crate::error::{AppError, AppResult};
use crate::realtime::commit_and_signal;
use crate::realtime::events;
use crate::search;
use crate::state::AppState;
use crate::users::names;

/// The reactions members can give; a fixed list keeps them meaningful and translatable.
pub const REACTIONS: [&str; 5] = ["thumbs_up", "heart", "celebrate", "idea", "thanks"];

async fn stored_post(state: &AppState, post_id: i32) -> AppResult<PostView> {
    let found = post::Entity::find_by_id(post_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(post_views(&state.db, vec![found]).await?.remove(0))
}

/// Commits the change with its event and signals the cohort's sockets.
async fn commit_with_event(
    state: &AppState,
    txn: DatabaseTransaction,
    cohort_id: i32,
    kind: EventKind,
    thread_id: i32,
    post_id: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    events::append(&txn, cohort_id, kind, Some(thread_id), post_id, now).await?;
    commit_and_signal(txn, &state.hub, cohort_id).await
}

/// A post its author may change: not deleted, not hidden by a moderator.
pub(crate) async fn own_changeable_post(
    state: &AppState,
    viewer: &CurrentUser,
    post_id: i32,
) -> AppResult<post::Model> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::ChangePost {
        cohort_id: found.cohort_id,
        is_author: found.author_id == viewer.user.id,
    })?;
    if found.deleted {
        return Err(AppError::Conflict { code: "post_deleted" });
    }
    if found.hidden {
        return Err(AppError::Conflict { code: "post_hidden" });
    }
    Ok(found)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PostEdit {
    /// The new text, markdown.
    #[schema(min_length = 1, max_length = 20_000, pattern = r"\S")]
    pub body: String,
}

/// The author rewrites a post; the earlier text is kept as a revision.
pub async fn edit_post(state: &AppState, viewer: &CurrentUser, post_id: i32, edit: PostEdit) -> AppResult<PostView> {
    let found = own_changeable_post(state, viewer, post_id).await?;
    let body = checked_body(&edit.body)?;
    if body == found.body {
        return stored_post(state, post_id).await;
    }
    // An edit is a new text: the same mute and rate limit as a new post.
    require_may_post(state, viewer, found.cohort_id).await?;
    let mentioned = mentioned_members(&state.db, found.cohort_id, &body).await?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    // The post as stored now: of edits sent at once, each keeps the text before it as a revision.
    let current = lock_row::<post::Entity>(&txn, post_id).await?;
    if current.deleted {
        return Err(AppError::Conflict { code: "post_deleted" });
    }
    if current.hidden {
        return Err(AppError::Conflict { code: "post_hidden" });
    }
    if body == current.body {
        txn.rollback().await?;
        return stored_post(state, post_id).await;
    }
    post_revision::ActiveModel {
        post_id: Set(current.id),
        body: Set(current.body.clone()),
        editor_id: Set(viewer.user.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let (cohort_id, thread_id, version) = (current.cohort_id, current.thread_id, current.version);
    let mut changed: post::ActiveModel = current.into();
    changed.body = Set(body);
    changed.edited_at = Set(Some(now));
    changed.version = Set(version + 1);
    let edited = changed.update(&txn).await?;
    store_mentions(&txn, post_id, &mentioned).await?;
    if !edited.hidden {
        super::index_posts(&txn, std::slice::from_ref(&edited)).await?;
    }
    commit_with_event(
        state,
        txn,
        cohort_id,
        EventKind::PostEdited,
        thread_id,
        Some(post_id),
        now,
    )
    .await?;
    stored_post(state, post_id).await
}

/// The author deletes a post: it keeps its place, shown as deleted, without its text.
pub async fn delete_post(state: &AppState, viewer: &CurrentUser, post_id: i32) -> AppResult<PostView> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::ChangePost {
        cohort_id: found.cohort_id,
        is_author: found.author_id == viewer.user.id,
    })?;
    if found.deleted {
        return stored_post(state, post_id).await;
    }
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    // Deleted (and announced) once, however many deletions arrive at once.
    let current = lock_row::<post::Entity>(&txn, post_id).await?;
    if current.deleted {
        txn.rollback().await?;
        return stored_post(state, post_id).await;
    }
    let (cohort_id, thread_id, version) = (current.cohort_id, current.thread_id, current.version);
    let mut changed: post::ActiveModel = current.into();
    changed.deleted = Set(true);
    changed.version = Set(version + 1);
    changed.update(&txn).await?;
    search::remove(&txn, search::Kind::Post, post_id).await?;
    commit_with_event(
        state,
        txn,
        cohort_id,
        EventKind::PostDeleted,
        thread_id,
        Some(post_id),
        now,
    )
    .await?;
    stored_post(state, post_id).await
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevisionView {
    /// The text before this edit, as sanitised HTML.
    pub body_html: String,
    pub editor: String,
    pub replaced_at: DateTime<Utc>,
}

/// The earlier texts of a post, oldest first. A hidden or deleted post shows none.
pub async fn post_revisions(state: &AppState, viewer: &CurrentUser, post_id: i32) -> AppResult<Vec<RevisionView>> {
    let found = visible_post(state, viewer, post_id).await?;
    if found.hidden || found.deleted {
        return Ok(Vec::new());
    }
    let revisions = post_revision::Entity::find()
        .filter(post_revision::Column::PostId.eq(post_id))
        .order_by_asc(post_revision::Column::Id)
        .all(&state.db)
        .await?;
    let names = names(&state.db, revisions.iter().map(|r| r.editor_id).collect::<Vec<_>>()).await?;
    Ok(revisions
        .into_iter()
        .map(|revision| {
            let mut editor = names.get(&revision.editor_id).cloned().unwrap_or_default();
            crate::users::in_language(&mut editor, viewer.language());
            RevisionView {
                body_html: crate::markdown::to_safe_html(&revision.body),
                editor,
                replaced_at: revision.created_at,
            }
        })
        .collect())
}

/// Adds (`on`) or takes back a reaction. Doing what is already done changes nothing.
pub async fn react(
    state: &AppState,
    viewer: &CurrentUser,
    post_id: i32,
    reaction: &str,
    on: bool,
) -> AppResult<PostView> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::WriteInCohort {
        cohort_id: found.cohort_id,
    })?;
    if !REACTIONS.contains(&reaction) {
        return Err(AppError::invalid("invalid_reaction", "reaction"));
    }
    if found.deleted {
        return Err(AppError::Conflict { code: "post_deleted" });
    }
    if found.hidden {
        return Err(AppError::Conflict { code: "post_hidden" });
    }
    require_not_muted(state, viewer, found.cohort_id).await?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    // Decided by the rows the statement changed (ON CONFLICT for adding): the same reaction sent
    // at once is stored or taken back, and announced, once.
    let changed = if on {
        let added = post_reaction::Entity::insert(post_reaction::ActiveModel {
            post_id: Set(post_id),
            user_id: Set(viewer.user.id),
            reaction: Set(reaction.to_string()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([
            post_reaction::Column::PostId,
            post_reaction::Column::UserId,
            post_reaction::Column::Reaction,
        ])
        .exec_without_returning(&txn)
        .await?;
        matches!(added, TryInsertResult::Inserted(1))
    } else {
        let key = (post_id, viewer.user.id, reaction.to_string());
        post_reaction::Entity::delete_by_id(key).exec(&txn).await?.rows_affected == 1
    };
    if changed {
        commit_with_event(
            state,
            txn,
            found.cohort_id,
            EventKind::ReactionsChanged,
            found.thread_id,
            Some(post_id),
            now,
        )
        .await?;
    } else {
        txn.rollback().await?;
    }
    stored_post(state, post_id).await
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct AnswerMark {
    /// The post that answers the thread, or none to take the mark away.
    pub post_id: Option<i32>,
}

/// Marks which post answers the thread: its asker, the facilitator or an expert.
pub async fn mark_answered(
    state: &AppState,
    viewer: &CurrentUser,
    thread_id: i32,
    mark: AnswerMark,
) -> AppResult<ThreadView> {
    let found = visible_thread(state, viewer, thread_id).await?;
    viewer.require(Action::MarkAnswered {
        cohort_id: found.cohort_id,
        is_asker: found.author_id == viewer.user.id,
    })?;
    if let Some(post_id) = mark.post_id {
        let answer = post::Entity::find_by_id(post_id).one(&state.db).await?;
        if answer.is_none_or(|p| p.thread_id != thread_id || p.deleted || p.hidden) {
            return Err(AppError::invalid("unknown_post", "post_id"));
        }
    }
    if found.answered_post_id != mark.post_id {
        let now = state.now();
        let txn = write_transaction(&state.db).await?;
        // Decided on the thread as stored now, so marks set at once each raise its version.
        let current = lock_row::<thread::Entity>(&txn, thread_id).await?;
        if current.answered_post_id == mark.post_id {
            txn.rollback().await?;
        } else {
            let (cohort_id, version) = (current.cohort_id, current.version);
            let mut changed: thread::ActiveModel = current.into();
            changed.answered_post_id = Set(mark.post_id);
            changed.version = Set(version + 1);
            changed.updated_at = Set(now);
            changed.update(&txn).await?;
            commit_with_event(state, txn, cohort_id, EventKind::ThreadUpdated, thread_id, None, now).await?;
        }
    }
    let fresh = thread::Entity::find_by_id(thread_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(thread_views(&state.db, &[fresh]).await?.remove(0))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ReadPosition {
    /// The last post the person has seen; the position never moves back.
    pub last_read_post_id: i32,
}

/// Moves the person's read position in the thread forward. Private: no event.
pub async fn mark_read(
    state: &AppState,
    viewer: &CurrentUser,
    thread_id: i32,
    position: ReadPosition,
) -> AppResult<()> {
    visible_thread(state, viewer, thread_id).await?;
    let read = post::Entity::find_by_id(position.last_read_post_id)
        .one(&state.db)
        .await?;
    if read.is_none_or(|p| p.thread_id != thread_id) {
        return Err(AppError::invalid("unknown_post", "last_read_post_id"));
    }
    let now = state.now();
    // Insert-or-ignore, then only ever forward: two tabs reporting at once cannot move it back.
    thread_read::Entity::insert(thread_read::ActiveModel {
        user_id: Set(viewer.user.id),
        thread_id: Set(thread_id),
        last_read_post_id: Set(position.last_read_post_id),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([thread_read::Column::UserId, thread_read::Column::ThreadId])
    .exec(&state.db)
    .await?;
    thread_read::Entity::update_many()
        .col_expr(thread_read::Column::LastReadPostId, position.last_read_post_id.into())
        .col_expr(thread_read::Column::UpdatedAt, now.into())
        .filter(thread_read::Column::UserId.eq(viewer.user.id))
        .filter(thread_read::Column::ThreadId.eq(thread_id))
        .filter(thread_read::Column::LastReadPostId.lt(position.last_read_post_id))
        .exec(&state.db)
        .await?;
    Ok(())
}
