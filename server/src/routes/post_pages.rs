//! What a reader does to one post from the thread page, as ordinary forms that work without
//! JavaScript: react, mark the answer, edit or delete their own post, report someone else's.
//! Each action goes back to the thread at the post; a refusal is shown on the page it came from.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::thread_pages::{ThreadPageExtras, thread_page};
use crate::error::AppError;
use crate::state::AppState;
use crate::threads::changes::{self, AnswerMark, PostEdit};
use crate::threads::moderation::{self, NewReport, reportable_post};
use crate::threads::views::post_views;
use crate::threads::{PostView, visible_post, visible_thread};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// Back to the thread at the post, with a notice when there is one (`threads.notice.<done>`).
fn back_to_post(thread_id: i32, post_id: i32, done: Option<&str>) -> Response {
    let query = done.map(|done| format!("?done={done}")).unwrap_or_default();
    Redirect::to(&format!("/threads/{thread_id}{query}#post-{post_id}")).into_response()
}

/// Shows the thread again with an action's error at the top, or the error page for errors a
/// form cannot fix (not found, forbidden).
async fn thread_with_error(state: &AppState, page: SignedInPage, thread_id: i32, error: AppError) -> PageResult {
    let shown = FormError::from_error(error, page.view.tr)?;
    let extras = ThreadPageExtras {
        error: Some(shown),
        ..Default::default()
    };
    thread_page(state, page, thread_id, extras).await
}

#[derive(Deserialize)]
pub struct ReactionForm {
    /// The reaction to give, from the button pressed.
    add: Option<String>,
    /// The reaction to take back.
    remove: Option<String>,
}

/// `POST /posts/{post_id}/reactions`: gives or takes back one reaction. The button says which,
/// so sending the form twice changes nothing the second time.
pub async fn react(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(post_id): Path<i32>,
    Form(form): Form<ReactionForm>,
) -> PageResult {
    let (reaction, on) = match (form.add, form.remove) {
        (Some(reaction), None) => (reaction, true),
        (None, Some(reaction)) => (reaction, false),
        _ => (String::new(), true),
    };
    match changes::react(&state, &page.user, post_id, &reaction, on).await {
        Ok(post) => Ok(back_to_post(post.thread_id, post_id, None)),
        Err(error) => {
            // Only a post the reader may see has a thread page to show the reason on.
            let thread_id = visible_post(&state, &page.user, post_id).await?.thread_id;
            thread_with_error(&state, page, thread_id, error).await
        }
    }
}

#[derive(Deserialize)]
pub struct AnswerForm {
    /// The post that answers the thread; empty takes the mark away.
    #[serde(default)]
    post_id: String,
}

/// `POST /threads/{thread_id}/answer`: marks which post answers the thread, or takes it back.
pub async fn mark_answer(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(thread_id): Path<i32>,
    Form(form): Form<AnswerForm>,
) -> PageResult {
    let post_id = match form.post_id.trim() {
        "" => None,
        sent => match sent.parse::<i32>() {
            Ok(post_id) => Some(post_id),
            Err(_) => {
                let error = AppError::invalid("unknown_post", "post_id");
                return thread_with_error(&state, page, thread_id, error).await;
            }
        },
    };
    let done = changes::mark_answered(&state, &page.user, thread_id, AnswerMark { post_id }).await;
    match done.map(|thread| thread.answered_post_id) {
        Ok(Some(post_id)) => Ok(back_to_post(thread_id, post_id, None)),
        Ok(None) => Ok(Redirect::to(&format!("/threads/{thread_id}")).into_response()),
        Err(error) => thread_with_error(&state, page, thread_id, error).await,
    }
}

#[derive(Template)]
#[template(path = "post_edit.html")]
struct EditPage {
    page: PageView,
    post: PostView,
    thread_title: String,
    body: String,
    error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    page: SignedInPage,
    post_id: i32,
    body: Option<String>,
    error: Option<FormError>,
) -> PageResult {
    let found = changes::own_changeable_post(state, &page.user, post_id).await?;
    let thread = visible_thread(state, &page.user, found.thread_id).await?;
    let body = body.unwrap_or_else(|| found.body.clone());
    let post = post_views(&state.db, vec![found]).await?.remove(0);
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    Ok(render(
        status,
        &EditPage {
            page: page.view,
            post,
            thread_title: thread.title,
            body,
            error: error.map(|shown| shown.message),
        },
    ))
}

/// `GET /posts/{post_id}/edit`: the author's own post, to rewrite or delete.
pub async fn edit_form(State(state): State<AppState>, page: SignedInPage, Path(post_id): Path<i32>) -> PageResult {
    edit_page(&state, page, post_id, None, None).await
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    body: String,
}

/// `POST /posts/{post_id}/edit`: saves the new text; the old one is kept as a revision.
pub async fn edit(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(post_id): Path<i32>,
    Form(form): Form<EditForm>,
) -> PageResult {
    let edit = PostEdit {
        body: form.body.clone(),
    };
    match changes::edit_post(&state, &page.user, post_id, edit).await {
        Ok(post) => Ok(back_to_post(post.thread_id, post.id, Some("saved"))),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            edit_page(&state, page, post_id, Some(form.body), Some(shown)).await
        }
    }
}

/// `POST /posts/{post_id}/delete`: deletes the author's own post; it keeps its place.
pub async fn delete(State(state): State<AppState>, page: SignedInPage, Path(post_id): Path<i32>) -> PageResult {
    match changes::delete_post(&state, &page.user, post_id).await {
        Ok(post) => Ok(back_to_post(post.thread_id, post.id, Some("deleted"))),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            edit_page(&state, page, post_id, None, Some(shown)).await
        }
    }
}

#[derive(Template)]
#[template(path = "post_report.html")]
struct ReportPage {
    page: PageView,
    post: PostView,
    thread_title: String,
    reason: String,
    error: Option<String>,
}

async fn report_page(
    state: &AppState,
    page: SignedInPage,
    post_id: i32,
    reason: String,
    error: Option<FormError>,
) -> PageResult {
    let found = reportable_post(state, &page.user, post_id).await?;
    let thread = visible_thread(state, &page.user, found.thread_id).await?;
    let post = post_views(&state.db, vec![found])
        .await?
        .remove(0)
        .in_language(page.view.tr.language);
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    Ok(render(
        status,
        &ReportPage {
            page: page.view,
            post,
            thread_title: thread.title,
            reason,
            error: error.map(|shown| shown.message),
        },
    ))
}

/// `GET /posts/{post_id}/report`: asks why the post should be looked at.
pub async fn report_form(State(state): State<AppState>, page: SignedInPage, Path(post_id): Path<i32>) -> PageResult {
    report_page(&state, page, post_id, String::new(), None).await
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reason: String,
}

/// `POST /posts/{post_id}/report`: tells the cohort's moderators, then goes back to the thread.
pub async fn report(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(post_id): Path<i32>,
    Form(form): Form<ReportForm>,
) -> PageResult {
    let thread_id = visible_post(&state, &page.user, post_id).await?.thread_id;
    let report = NewReport {
        reason: form.reason.clone(),
    };
    match moderation::report_post(&state, &page.user, post_id, report).await {
        Ok(()) => Ok(back_to_post(thread_id, post_id, Some("reported"))),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            report_page(&state, page, post_id, form.reason, Some(shown)).await
        }
    }
}
