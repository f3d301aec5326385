//! What the events of a cohort's log show: each with its post or thread as it is now. The log
//! itself is `realtime::events`; this is how a thread's changes read when they are replayed,
//! over HTTP and to the sockets ([`ThreadEvents`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use super::views::{PostView, ThreadView, post_views, thread_views};
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::cohort_event::EventKind;
use crate::entities::{post, thread};
use crate::error::AppResult;
use crate::realtime::EventFrame;
use crate::realtime::events::{EventSource, REPLAY_LIMIT, stored_after};
use crate::state::AppState;

/// Thread pages read the cohort's last number from here.

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub kind: EventKind,
    pub thread_id: Option<i32>,
    pub post_id: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// The post as it is now, for post events and a new thread's first post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<PostView>,
    /// The thread as it is now, for thread events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadView>,
}

/// Up to `limit` of the cohort's events after `after`, in order, with their content. No
/// policy check: callers decide who may see the cohort.
pub async fn load_events(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    after: i64,
    limit: u64,
) -> AppResult<Vec<EventView>> {
    let events = stored_after(db, cohort_id, after, limit).await?;
    let mut post_ids: Vec<i32> = events.iter().filter_map(|e| e.post_id).collect();
    post_ids.sort_unstable();
    post_ids.dedup();
    let posts = if post_ids.is_empty() {
        Vec::new()
    } else {
        post::Entity::find()
            .filter(post::Column::Id.is_in(post_ids))
            .all(db)
            .await?
    };
    let posts: HashMap<i32, PostView> = post_views(db, posts).await?.into_iter().map(|p| (p.id, p)).collect();
    let mut thread_ids: Vec<i32> = events
        .iter()
        .filter(|e| e.kind.carries_thread())
        .filter_map(|e| e.thread_id)
        .collect();
    thread_ids.sort_unstable();
    thread_ids.dedup();
    let threads = if thread_ids.is_empty() {
        Vec::new()
    } else {
        thread::Entity::find()
            .filter(thread::Column::Id.is_in(thread_ids))
            .all(db)
            .await?
    };
    let threads: HashMap<i32, ThreadView> = thread_views(db, &threads)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(events
        .into_iter()
        .map(|event| EventView {
            seq: event.seq,
            kind: event.kind,
            thread_id: event.thread_id,
            post_id: event.post_id,
            created_at: event.created_at,
            post: event.post_id.and_then(|id| posts.get(&id).cloned()),
            thread: if event.kind.carries_thread() {
                event.thread_id.and_then(|id| threads.get(&id).cloned())
            } else {
                None
            },
        })
        .collect())
}

/// The cohort's events after `after`, in order (at most [`REPLAY_LIMIT`]).
pub async fn events_after(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    after: i64,
) -> AppResult<Vec<EventView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    load_events(&state.db, cohort_id, after, REPLAY_LIMIT).await
}

/// The sockets' replays and catch-ups: the log's events as [`load_events`] renders them.
pub struct ThreadEvents;

impl EventSource for ThreadEvents {
    fn frames_after<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        cohort_id: i32,
        after: i64,
    ) -> BoxFuture<'a, AppResult<Vec<EventFrame>>> {
        Box::pin(async move {
            let events = load_events(db, cohort_id, after, REPLAY_LIMIT).await?;
            Ok(events
                .iter()
                .map(|event| EventFrame::new(cohort_id, event.seq, event))
                .collect())
        })
    }
}
