//! Moderation pages for a cohort's facilitators and the admins: the queue of reported and
//! hidden posts with forms to hide, restore or dismiss, and locking and pinning a thread.
//! Each form sends the version the moderator saw, so a change made meanwhile is refused.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::thread_pages::{ThreadPageExtras, thread_page};
use crate::cohorts;
use crate::error::AppError;
use crate::state::AppState;
use crate::threads::moderation::{self, QueueItem, ThreadFlags, Visibility};
use crate::threads::visible_post;
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

#[derive(Template)]
#[template(path = "moderation.html")]
struct ModerationPage {
    page: PageView,
    cohort_id: i32,
    cohort_name: String,
    items: Vec<QueueItem>,
    notice: Option<String>,
    error: Option<String>,
}

async fn queue_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    notice: Option<String>,
    error: Option<FormError>,
) -> PageResult {
    let items = moderation::moderation_queue(state, &page.user, cohort_id).await?;
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    Ok(render(
        status,
        &ModerationPage {
            page: page.view,
            cohort_id,
            cohort_name: cohort.theme.name,
            items,
            notice,
            error: error.map(|shown| shown.message),
        },
    ))
}

/// `GET /cohorts/{cohort_id}/moderation`
pub async fn queue(State(state): State<AppState>, page: SignedInPage, Path(cohort_id): Path<i32>) -> PageResult {
    queue_page(&state, page, cohort_id, None, None).await
}

#[derive(Deserialize)]
pub struct PostDecision {
    /// `hide`, `restore` or `dismiss`.
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: i32,
}

/// `POST /posts/{post_id}/moderation`: hides, restores or dismisses the reports of a post, then
/// shows the queue again with what happened.
pub async fn decide_post(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(post_id): Path<i32>,
    Form(form): Form<PostDecision>,
) -> PageResult {
    let cohort_id = visible_post(&state, &page.user, post_id).await?.cohort_id;
    let request = Visibility {
        reason: form.reason,
        version: form.version,
    };
    let (done, notice_key) = match form.decision.as_str() {
        "hide" => (
            moderation::set_post_hidden(&state, &page.user, post_id, true, request)
                .await
                .map(|_| ()),
            "moderation.hidden",
        ),
        "restore" => (
            moderation::set_post_hidden(&state, &page.user, post_id, false, request)
                .await
                .map(|_| ()),
            "moderation.restored",
        ),
        "dismiss" => (
            moderation::dismiss_reports(&state, &page.user, post_id).await,
            "moderation.dismissed",
        ),
        _ => (Err(AppError::invalid("invalid_moderation_action", "decision")), ""),
    };
    match done {
        Ok(()) => {
            let notice = page.view.t(notice_key).to_string();
            queue_page(&state, page, cohort_id, Some(notice), None).await
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            queue_page(&state, page, cohort_id, None, Some(shown)).await
        }
    }
}

#[derive(Deserialize)]
pub struct ThreadDecision {
    /// `lock`, `unlock`, `pin` or `unpin`.
    decision: String,
    #[serde(default)]
    version: i32,
}

/// `POST /threads/{thread_id}/moderation`: locks, unlocks, pins or unpins, then shows the thread.
/// A refusal (someone changed it meanwhile) is shown on the thread page.
pub async fn decide_thread(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(thread_id): Path<i32>,
    Form(form): Form<ThreadDecision>,
) -> PageResult {
    let flags = match form.decision.as_str() {
        "lock" => Some((Some(true), None)),
        "unlock" => Some((Some(false), None)),
        "pin" => Some((None, Some(true))),
        "unpin" => Some((None, Some(false))),
        _ => None,
    };
    let done = match flags {
        Some((locked, pinned)) => {
            let flags = ThreadFlags {
                locked,
                pinned,
                version: form.version,
            };
            moderation::set_thread_flags(&state, &page.user, thread_id, flags)
                .await
                .map(|_| ())
        }
        None => Err(AppError::invalid("invalid_moderation_action", "decision")),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/threads/{thread_id}")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let extras = ThreadPageExtras {
                error: Some(shown),
                ..Default::default()
            };
            thread_page(&state, page, thread_id, extras).await
        }
    }
}
