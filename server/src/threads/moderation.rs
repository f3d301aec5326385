//! Moderation for a cohort's facilitators and the admins: reports and their queue, hiding and
//! restoring posts (the author is told by e-mail), locking and pinning threads, muting members.
//!
//! Moderators act on what they saw: each request carries the version it was based on, and a
//! change made meanwhile by someone else answers `version_conflict`. A request that would
//! change nothing changes nothing, so two moderators acting at once leave one outcome and one
//! audit entry.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::views::{PostView, ThreadView, post_views, thread_views};
use super::{visible_post, visible_thread};
use crate::audit;
use crate::auth::CurrentUser;
use crate::db::{lock_row, write_transaction};
use crate::domain::policy::Action;
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort_mute, membership, post, post_report, thread, user};
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::mail::messages;
use crate::realtime::commit_and_signal;
use crate::realtime::events;
use crate::search;
use crate::state::AppState;
use crate::users::names;

const MAX_REASON_CHARS: usize = 500;

fn checked_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason_required", "reason"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::invalid("reason_too_long", "reason"));
    }
    Ok(reason.to_string())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewReport {
    /// Why the post should be looked at.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

/// A member reports a post to the cohort's moderators. Reporting again updates the reason.
/// A post the viewer may report (the report form and the report itself ask the same).
pub async fn reportable_post(state: &AppState, viewer: &CurrentUser, post_id: i32) -> AppResult<post::Model> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::ReportPost {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

pub async fn report_post(state: &AppState, viewer: &CurrentUser, post_id: i32, report: NewReport) -> AppResult<()> {
    let found = reportable_post(state, viewer, post_id).await?;
    let reason = checked_reason(&report.reason)?;
    let now = state.now();
    post_report::Entity::insert(post_report::ActiveModel {
        post_id: Set(post_id),
        cohort_id: Set(found.cohort_id),
        reporter_id: Set(viewer.user.id),
        reason: Set(reason.clone()),
        created_at: Set(now),
        resolved_at: Set(None),
        resolved_by: Set(None),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([post_report::Column::PostId, post_report::Column::ReporterId])
            .update_columns([
                post_report::Column::Reason,
                post_report::Column::CreatedAt,
                post_report::Column::ResolvedAt,
                post_report::Column::ResolvedBy,
            ])
            .to_owned(),
    )
    .exec(&state.db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub reporter: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// A post in the moderation queue: moderators see its text even when it is hidden.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub post: PostView,
    /// The post's markdown, so a moderator can judge a hidden post.
    pub body: String,
    pub hidden_reason: Option<String>,
    pub thread_title: String,
    /// Open reports, oldest first.
    pub reports: Vec<ReportView>,
}

/// Posts with open reports, and hidden posts, newest first.
pub async fn moderation_queue(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<QueueItem>> {
    viewer.require(Action::ModerateCohort { cohort_id })?;
    let reports = post_report::Entity::find()
        .filter(post_report::Column::CohortId.eq(cohort_id))
        .filter(post_report::Column::ResolvedAt.is_null())
        .order_by_asc(post_report::Column::Id)
        .all(&state.db)
        .await?;
    let reported: Vec<i32> = reports.iter().map(|r| r.post_id).collect();
    let posts = post::Entity::find()
        .filter(post::Column::CohortId.eq(cohort_id))
        .filter(post::Column::Id.is_in(reported).or(post::Column::Hidden.eq(true)))
        .order_by_desc(post::Column::Id)
        .all(&state.db)
        .await?;
    let thread_ids: Vec<i32> = posts.iter().map(|p| p.thread_id).collect();
    let titles: std::collections::HashMap<i32, String> = thread::Entity::find()
        .filter(thread::Column::Id.is_in(thread_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.title))
        .collect();
    let reporters = names(&state.db, reports.iter().map(|r| r.reporter_id).collect::<Vec<_>>()).await?;
    let raw: Vec<(String, Option<String>)> = posts
        .iter()
        .map(|p| (p.body.clone(), p.hidden_reason.clone()))
        .collect();
    let views = post_views(&state.db, posts).await?;
    Ok(views
        .into_iter()
        .zip(raw)
        .map(|(post, (body, hidden_reason))| (post.in_language(viewer.language()), (body, hidden_reason)))
        .map(|(post, (body, hidden_reason))| QueueItem {
            thread_title: titles.get(&post.thread_id).cloned().unwrap_or_default(),
            reports: reports
                .iter()
                .filter(|r| r.post_id == post.id)
                .map(|r| ReportView {
                    reporter: reporters.get(&r.reporter_id).cloned().unwrap_or_default(),
                    reason: r.reason.clone(),
                    created_at: r.created_at,
                })
                .collect(),
            post,
            body,
            hidden_reason,
        })
        .collect())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct Visibility {
    /// Shown to the author and kept in the audit log.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
    /// The post's `version` the moderator saw.
    pub version: i32,
}

/// Hides (`hide`) or restores a post. The author gets an e-mail with the reason.
pub async fn set_post_hidden(
    state: &AppState,
    viewer: &CurrentUser,
    post_id: i32,
    hide: bool,
    request: Visibility,
) -> AppResult<PostView> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::ModerateCohort {
        cohort_id: found.cohort_id,
    })?;
    let reason = checked_reason(&request.reason)?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let current = lock_row::<post::Entity>(&txn, post_id).await?;
    if current.version != request.version {
        return Err(AppError::Conflict {
            code: "version_conflict",
        });
    }
    if current.hidden == hide {
        txn.rollback().await?;
        return Ok(post_views(&state.db, vec![current]).await?.remove(0));
    }
    let (cohort_id, thread_id, author_id, version) =
        (current.cohort_id, current.thread_id, current.author_id, current.version);
    let mut changed: post::ActiveModel = current.into();
    changed.hidden = Set(hide);
    changed.hidden_reason = Set(hide.then(|| reason.clone()));
    changed.version = Set(version + 1);
    let changed = changed.update(&txn).await?;
    // Hidden posts are not found by search; a restored one is again (unless its author deleted it).
    if hide || changed.deleted {
        search::remove(&txn, search::Kind::Post, post_id).await?;
    } else {
        super::index_posts(&txn, std::slice::from_ref(&changed)).await?;
    }
    if hide {
        resolve_reports(&txn, post_id, viewer.user.id, now).await?;
    }
    let action = if hide { "posts.hide" } else { "posts.restore" };
    audit::record(
        &txn,
        Some(viewer.user.id),
        action,
        "post",
        post_id,
        json!({ "reason": reason }),
        now,
    )
    .await?;
    let kind = if hide {
        EventKind::PostHidden
    } else {
        EventKind::PostRestored
    };
    events::append(&txn, cohort_id, kind, Some(thread_id), Some(post_id), now).await?;
    commit_and_signal(txn, &state.hub, cohort_id).await?;
    tell_author(state, author_id, thread_id, hide, &reason).await;
    let fresh = post::Entity::find_by_id(post_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(post_views(&state.db, vec![fresh]).await?.remove(0))
}

/// E-mails the author that a moderator hid or restored their post. The change stands even if
/// the mail cannot be sent; that is logged.
async fn tell_author(state: &AppState, author_id: i32, thread_id: i32, hidden: bool, reason: &str) {
    let notice = async {
        let author = user::Entity::find_by_id(author_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let title = thread::Entity::find_by_id(thread_id)
            .one(&state.db)
            .await?
            .map(|t| t.title)
            .unwrap_or_default();
        let tr = Tr::new(crate::i18n::Language::parse(&author.language).unwrap_or_default());
        let link = state.link(&format!("/threads/{thread_id}"));
        let mail = messages::moderation_notice(tr, &author, &title, hidden, reason, &link)?;
        state.mailer.send(mail).await.map_err(AppError::Internal)
    };
    if let Err(error) = notice.await {
        tracing::warn!(error = %error, author_id, "could not tell the author about a moderation decision");
    }
}

async fn resolve_reports(
    txn: &impl ConnectionTrait,
    post_id: i32,
    moderator_id: i32,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(post_report::Entity::update_many()
        .col_expr(post_report::Column::ResolvedAt, Some(now).into())
        .col_expr(post_report::Column::ResolvedBy, Some(moderator_id).into())
        .filter(post_report::Column::PostId.eq(post_id))
        .filter(post_report::Column::ResolvedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
}

/// Closes the open reports of a post without hiding it.
pub async fn dismiss_reports(state: &AppState, viewer: &CurrentUser, post_id: i32) -> AppResult<()> {
    let found = visible_post(state, viewer, post_id).await?;
    viewer.require(Action::ModerateCohort {
        cohort_id: found.cohort_id,
    })?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let closed = resolve_reports(&txn, post_id, viewer.user.id, now).await?;
    if closed > 0 {
        audit::record(
            &txn,
            Some(viewer.user.id),
            "reports.dismiss",
            "post",
            post_id,
            json!({ "reports": closed }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ThreadFlags {
    /// Locked threads take no new posts.
    pub locked: Option<bool>,
    /// Pinned threads come first in the cohort's list.
    pub pinned: Option<bool>,
    /// The thread's `version` the moderator saw.
    pub version: i32,
}

/// Locks, unlocks, pins or unpins a thread; one audit entry per flag that really changed.
pub async fn set_thread_flags(
    state: &AppState,
    viewer: &CurrentUser,
    thread_id: i32,
    flags: ThreadFlags,
) -> AppResult<ThreadView> {
    let found = visible_thread(state, viewer, thread_id).await?;
    viewer.require(Action::ModerateCohort {
        cohort_id: found.cohort_id,
    })?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let current = lock_row::<thread::Entity>(&txn, thread_id).await?;
    if current.version != flags.version {
        return Err(AppError::Conflict {
            code: "version_conflict",
        });
    }
    let mut changes = Vec::new();
    if let Some(locked) = flags.locked.filter(|locked| *locked != current.locked) {
        changes.push(if locked { "threads.lock" } else { "threads.unlock" });
    }
    if let Some(pinned) = flags.pinned.filter(|pinned| *pinned != current.pinned) {
        changes.push(if pinned { "threads.pin" } else { "threads.unpin" });
    }
    if changes.is_empty() {
        txn.rollback().await?;
        return Ok(thread_views(&state.db, &[current]).await?.remove(0));
    }
    let (cohort_id, version) = (current.cohort_id, current.version);
    let mut changed: thread::ActiveModel = current.into();
    if let Some(locked) = flags.locked {
        changed.locked = Set(locked);
    }
    if let Some(pinned) = flags.pinned {
        changed.pinned = Set(pinned);
    }
    changed.version = Set(version + 1);
    changed.updated_at = Set(now);
    changed.update(&txn).await?;
    for action in changes {
        audit::record(&txn, Some(viewer.user.id), action, "thread", thread_id, json!({}), now).await?;
    }
    events::append(&txn, cohort_id, EventKind::ThreadUpdated, Some(thread_id), None, now).await?;
    commit_and_signal(txn, &state.hub, cohort_id).await?;
    let fresh = thread::Entity::find_by_id(thread_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(thread_views(&state.db, &[fresh]).await?.remove(0))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMute {
    pub user_id: i32,
    /// How long, in minutes (1 minute to 90 days).
    #[schema(minimum = 1, maximum = 129_600)]
    pub minutes: i64,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MuteView {
    pub user_id: i32,
    pub name: String,
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// Mutes a member of the cohort: they read but cannot post until the time runs out.
pub async fn mute_member(state: &AppState, viewer: &CurrentUser, cohort_id: i32, new: NewMute) -> AppResult<MuteView> {
    viewer.require(Action::ModerateCohort { cohort_id })?;
    let reason = checked_reason(&new.reason)?;
    if !(1..=90 * 24 * 60).contains(&new.minutes) {
        return Err(AppError::invalid("invalid_mute_duration", "minutes"));
    }
    let member = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(cohort_id))
        .filter(membership::Column::UserId.eq(new.user_id))
        .one(&state.db)
        .await?;
    if member.is_none() {
        return Err(AppError::invalid("not_a_member", "user_id"));
    }
    let now = state.now();
    let until = now + Duration::minutes(new.minutes);
    let txn = write_transaction(&state.db).await?;
    // One statement that replaces an earlier mute: two moderators muting at once end in one row.
    cohort_mute::Entity::insert(cohort_mute::ActiveModel {
        cohort_id: Set(cohort_id),
        user_id: Set(new.user_id),
        until: Set(until),
        reason: Set(reason.clone()),
        muted_by: Set(viewer.user.id),
        created_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([cohort_mute::Column::CohortId, cohort_mute::Column::UserId])
            .update_columns([
                cohort_mute::Column::Until,
                cohort_mute::Column::Reason,
                cohort_mute::Column::MutedBy,
                cohort_mute::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "members.mute",
        "user",
        new.user_id,
        json!({ "cohort_id": cohort_id, "until": until, "reason": reason }),
        now,
    )
    .await?;
    txn.commit().await?;
    let name = names(&state.db, [new.user_id])
        .await?
        .remove(&new.user_id)
        .unwrap_or_default();
    Ok(MuteView {
        user_id: new.user_id,
        name,
        until,
        reason,
    })
}

/// Ends a mute early. Ending one that is not there changes nothing.
pub async fn unmute_member(state: &AppState, viewer: &CurrentUser, cohort_id: i32, user_id: i32) -> AppResult<()> {
    viewer.require(Action::ModerateCohort { cohort_id })?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let removed = cohort_mute::Entity::delete_by_id((cohort_id, user_id))
        .exec(&txn)
        .await?;
    if removed.rows_affected > 0 {
        audit::record(
            &txn,
            Some(viewer.user.id),
            "members.unmute",
            "user",
            user_id,
            json!({ "cohort_id": cohort_id }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The cohort's members who are muted now.
pub async fn active_mutes(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<MuteView>> {
    viewer.require(Action::ModerateCohort { cohort_id })?;
    let mutes = cohort_mute::Entity::find()
        .filter(cohort_mute::Column::CohortId.eq(cohort_id))
        .filter(cohort_mute::Column::Until.gt(state.now()))
        .all(&state.db)
        .await?;
    let names = names(&state.db, mutes.iter().map(|m| m.user_id).collect::<Vec<_>>()).await?;
    Ok(mutes
        .into_iter()
        .map(|mute| MuteView {
            name: names.get(&mute.user_id).cloned().unwrap_or_default(),
            user_id: mute.user_id,
            until: mute.until,
            reason: mute.reason,
        })
        .collect())
}
