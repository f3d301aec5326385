//! The cohort's event log. Every stored change appends one event with the next per-cohort
//! sequence number, in the transaction that stores the change: the counter row is locked by
//! the update, so numbers are gapless and follow commit order. A client that reconnects asks
//! for everything after the last number it saw.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::{cohort_event, cohort_event_counter};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ThreadCreated,
    PostCreated,
}

impl EventKind {
    pub fn code(self) -> &'static str {
        match self {
            EventKind::ThreadCreated => "thread_created",
            EventKind::PostCreated => "post_created",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::ThreadCreated, Self::PostCreated]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// Appends an event and returns its sequence number. Call inside the transaction that stores
/// the change the event announces.
pub async fn append(
    txn: &impl ConnectionTrait,
    cohort_id: i32,
    kind: EventKind,
    thread_id: Option<i32>,
    post_id: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    cohort_event_counter::Entity::insert(cohort_event_counter::ActiveModel {
        cohort_id: Set(cohort_id),
        last_seq: Set(0),
    })
    .on_conflict_do_nothing_on([cohort_event_counter::Column::CohortId])
    .exec(txn)
    .await?;
    let counters = cohort_event_counter::Entity::update_many()
        .col_expr(
            cohort_event_counter::Column::LastSeq,
            Expr::col(cohort_event_counter::Column::LastSeq).add(1),
        )
        .filter(cohort_event_counter::Column::CohortId.eq(cohort_id))
        .exec_with_returning(txn)
        .await?;
    let seq = counters
        .first()
        .map(|counter| counter.last_seq)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the event counter of cohort {cohort_id} is missing")))?;
    cohort_event::ActiveModel {
        cohort_id: Set(cohort_id),
        seq: Set(seq),
        kind: Set(kind.code().to_string()),
        thread_id: Set(thread_id),
        post_id: Set(post_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(seq)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub kind: EventKind,
    pub thread_id: Option<i32>,
    pub post_id: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// The most events one replay returns; a client asks again from the last one it got.
pub const REPLAY_LIMIT: u64 = 500;

/// The cohort's events after `after`, in order.
pub async fn events_after(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    after: i64,
) -> AppResult<Vec<EventView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    Ok(cohort_event::Entity::find()
        .filter(cohort_event::Column::CohortId.eq(cohort_id))
        .filter(cohort_event::Column::Seq.gt(after))
        .order_by_asc(cohort_event::Column::Seq)
        .limit(REPLAY_LIMIT)
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|event| {
            Some(EventView {
                seq: event.seq,
                kind: EventKind::parse(&event.kind)?,
                thread_id: event.thread_id,
                post_id: event.post_id,
                created_at: event.created_at,
            })
        })
        .collect())
}
