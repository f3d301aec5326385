//! Discussion threads of a cohort and their posts. Posting is idempotent by a client-chosen id,
//! and every change appends to the cohort's event log in the same transaction.

pub mod events;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::{post, session, thread, user};
use crate::error::{AppError, AppResult};
use crate::markdown::to_safe_html;
use crate::sessions::registration::write_transaction;
use crate::state::AppState;
use events::EventKind;

/// The longest post, in characters.
pub const MAX_POST_CHARS: usize = 20_000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: i32,
    pub thread_id: i32,
    pub author_id: i32,
    pub author: String,
    pub parent_post_id: Option<i32>,
    /// Sanitised HTML; empty for a hidden or deleted post.
    pub body_html: String,
    pub hidden: bool,
    pub deleted: bool,
    pub client_id: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadView {
    pub id: i32,
    pub cohort_id: i32,
    pub session_id: Option<i32>,
    pub title: String,
    pub author_id: i32,
    pub author: String,
    pub locked: bool,
    pub pinned: bool,
    pub answered_post_id: Option<i32>,
    pub post_count: usize,
    pub last_activity: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadDetail {
    pub thread: ThreadView,
    pub posts: Vec<PostView>,
}

async fn names(state: &AppState, ids: Vec<i32>) -> AppResult<HashMap<i32, String>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

fn post_view(found: post::Model, names: &HashMap<i32, String>) -> PostView {
    let visible = !found.hidden && !found.deleted;
    PostView {
        id: found.id,
        thread_id: found.thread_id,
        author_id: found.author_id,
        author: names.get(&found.author_id).cloned().unwrap_or_default(),
        parent_post_id: found.parent_post_id,
        body_html: if visible {
            to_safe_html(&found.body)
        } else {
            String::new()
        },
        hidden: found.hidden,
        deleted: found.deleted,
        client_id: found.client_id,
        created_at: found.created_at,
        edited_at: found.edited_at,
    }
}

fn thread_view(found: &thread::Model, posts: &[post::Model], names: &HashMap<i32, String>) -> ThreadView {
    let of_thread: Vec<&post::Model> = posts.iter().filter(|p| p.thread_id == found.id).collect();
    ThreadView {
        id: found.id,
        cohort_id: found.cohort_id,
        session_id: found.session_id,
        title: found.title.clone(),
        author_id: found.author_id,
        author: names.get(&found.author_id).cloned().unwrap_or_default(),
        locked: found.locked,
        pinned: found.pinned,
        answered_post_id: found.answered_post_id,
        post_count: of_thread.iter().filter(|p| !p.deleted).count(),
        last_activity: of_thread.iter().map(|p| p.created_at).max().unwrap_or(found.created_at),
    }
}

/// The cohort's threads, pinned first, then by latest activity.
pub async fn cohort_threads(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<ThreadView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let threads = thread::Entity::find()
        .filter(thread::Column::CohortId.eq(cohort_id))
        .all(&state.db)
        .await?;
    let posts = post::Entity::find()
        .filter(post::Column::CohortId.eq(cohort_id))
        .all(&state.db)
        .await?;
    let names = names(state, threads.iter().map(|t| t.author_id).collect()).await?;
    let mut views: Vec<ThreadView> = threads.iter().map(|t| thread_view(t, &posts, &names)).collect();
    views.sort_by_key(|view| std::cmp::Reverse((view.pinned, view.last_activity)));
    Ok(views)
}

async fn visible_thread(state: &AppState, viewer: &CurrentUser, thread_id: i32) -> AppResult<thread::Model> {
    let found = thread::Entity::find_by_id(thread_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

pub async fn thread_detail(state: &AppState, viewer: &CurrentUser, thread_id: i32) -> AppResult<ThreadDetail> {
    let found = visible_thread(state, viewer, thread_id).await?;
    let posts = post::Entity::find()
        .filter(post::Column::ThreadId.eq(thread_id))
        .order_by_asc(post::Column::CreatedAt)
        .order_by_asc(post::Column::Id)
        .all(&state.db)
        .await?;
    let mut ids: Vec<i32> = posts.iter().map(|p| p.author_id).collect();
    ids.push(found.author_id);
    let names = names(state, ids).await?;
    let thread = thread_view(&found, &posts, &names);
    Ok(ThreadDetail {
        thread,
        posts: posts.into_iter().map(|p| post_view(p, &names)).collect(),
    })
}

fn checked_body(body: &str) -> AppResult<String> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::invalid("empty_post", "body"));
    }
    if body.chars().count() > MAX_POST_CHARS {
        return Err(AppError::invalid("post_too_long", "body"));
    }
    Ok(body.to_string())
}

fn checked_client_id(client_id: &str) -> AppResult<String> {
    let valid = (1..=64).contains(&client_id.len())
        && client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(client_id.to_string())
    } else {
        Err(AppError::invalid("invalid_client_id", "client_id"))
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewThread {
    pub title: String,
    /// The first post, markdown.
    pub body: String,
    /// Ties the thread to one of the cohort's sessions.
    pub session_id: Option<i32>,
    /// Chosen by the client (1–64 of A–Z, a–z, 0–9, `-`, `_`); a retry with the same id creates nothing new.
    pub client_id: String,
}

/// Starts a thread with its first post. Returns whether it was created now (false: a retry).
pub async fn create_thread(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    new: NewThread,
) -> AppResult<(ThreadDetail, bool)> {
    viewer.require(Action::WriteInCohort { cohort_id })?;
    let title = new.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("invalid_title", "title"));
    }
    let body = checked_body(&new.body)?;
    let client_id = checked_client_id(&new.client_id)?;
    if let Some(session_id) = new.session_id {
        let tied = session::Entity::find_by_id(session_id).one(&state.db).await?;
        if tied.is_none_or(|s| s.cohort_id != cohort_id) {
            return Err(AppError::invalid("unknown_session", "session_id"));
        }
    }
    if let Some(existing) = existing_post(state, viewer, &client_id).await? {
        return Ok((thread_detail(state, viewer, existing.thread_id).await?, false));
    }
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let created = thread::ActiveModel {
        cohort_id: Set(cohort_id),
        session_id: Set(new.session_id),
        title: Set(title),
        author_id: Set(viewer.user.id),
        locked: Set(false),
        pinned: Set(false),
        answered_post_id: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let first = match insert_post(&txn, &created, viewer.user.id, None, body, client_id.clone(), now).await {
        Ok(first) => first,
        // The same send raced itself: the other try stored it.
        Err(error) if is_duplicate(&error) => {
            txn.rollback().await?;
            let existing = existing_post(state, viewer, &client_id).await?.ok_or(error)?;
            return Ok((thread_detail(state, viewer, existing.thread_id).await?, false));
        }
        Err(error) => return Err(error),
    };
    events::append(
        &txn,
        cohort_id,
        EventKind::ThreadCreated,
        Some(created.id),
        Some(first.id),
        now,
    )
    .await?;
    txn.commit().await?;
    state.hub.notify(cohort_id);
    Ok((thread_detail(state, viewer, created.id).await?, true))
}

async fn existing_post(state: &AppState, viewer: &CurrentUser, client_id: &str) -> AppResult<Option<post::Model>> {
    Ok(post::Entity::find()
        .filter(post::Column::AuthorId.eq(viewer.user.id))
        .filter(post::Column::ClientId.eq(client_id))
        .one(&state.db)
        .await?)
}

/// Whether storing failed on the unique client id of the author's posts.
fn is_duplicate(error: &AppError) -> bool {
    matches!(error, AppError::Internal(cause) if cause
        .downcast_ref::<sea_orm::DbErr>()
        .and_then(sea_orm::DbErr::sql_err)
        .is_some_and(|sql| matches!(sql, sea_orm::SqlErr::UniqueConstraintViolation(_))))
}

async fn insert_post(
    txn: &impl sea_orm::ConnectionTrait,
    in_thread: &thread::Model,
    author_id: i32,
    parent_post_id: Option<i32>,
    body: String,
    client_id: String,
    now: DateTime<Utc>,
) -> AppResult<post::Model> {
    Ok(post::ActiveModel {
        thread_id: Set(in_thread.id),
        cohort_id: Set(in_thread.cohort_id),
        author_id: Set(author_id),
        parent_post_id: Set(parent_post_id),
        body: Set(body),
        client_id: Set(client_id),
        hidden: Set(false),
        hidden_reason: Set(None),
        deleted: Set(false),
        version: Set(0),
        created_at: Set(now),
        edited_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPost {
    /// Markdown.
    pub body: String,
    /// The post this one answers, in the same thread.
    pub parent_post_id: Option<i32>,
    /// Chosen by the client; a retried send with the same id creates one post.
    pub client_id: String,
}

/// Posts in a thread. Returns the post and whether it was created now (false: a retry).
pub async fn create_post(
    state: &AppState,
    viewer: &CurrentUser,
    thread_id: i32,
    new: NewPost,
) -> AppResult<(PostView, bool)> {
    let in_thread = visible_thread(state, viewer, thread_id).await?;
    viewer.require(Action::WriteInCohort {
        cohort_id: in_thread.cohort_id,
    })?;
    let body = checked_body(&new.body)?;
    let client_id = checked_client_id(&new.client_id)?;
    if let Some(existing) = existing_post(state, viewer, &client_id).await? {
        let names = names(state, vec![existing.author_id]).await?;
        return Ok((post_view(existing, &names), false));
    }
    if in_thread.locked {
        return Err(AppError::Conflict { code: "thread_locked" });
    }
    if let Some(parent_id) = new.parent_post_id {
        let parent = post::Entity::find_by_id(parent_id).one(&state.db).await?;
        if parent.is_none_or(|p| p.thread_id != thread_id) {
            return Err(AppError::invalid("unknown_parent_post", "parent_post_id"));
        }
    }
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let created = match insert_post(
        &txn,
        &in_thread,
        viewer.user.id,
        new.parent_post_id,
        body,
        client_id.clone(),
        now,
    )
    .await
    {
        Ok(created) => created,
        // The same send raced itself: the other try stored it.
        Err(error) if is_duplicate(&error) => {
            txn.rollback().await?;
            let existing = existing_post(state, viewer, &client_id).await?.ok_or(error)?;
            let names = names(state, vec![existing.author_id]).await?;
            return Ok((post_view(existing, &names), false));
        }
        Err(error) => return Err(error),
    };
    events::append(
        &txn,
        in_thread.cohort_id,
        EventKind::PostCreated,
        Some(thread_id),
        Some(created.id),
        now,
    )
    .await?;
    txn.commit().await?;
    state.hub.notify(in_thread.cohort_id);
    let names = names(state, vec![created.author_id]).await?;
    Ok((post_view(created, &names), true))
}
