//! Server-rendered discussion pages: a cohort's threads and one thread with its posts, with
//! ordinary forms that work without JavaScript, and the script that keeps a thread live.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::auth::tokens::new_secret;
use crate::cohorts;
use crate::domain::policy::Action;
use crate::state::AppState;
use crate::threads::changes::{REACTIONS, ReadPosition, mark_read};
use crate::threads::events::last_seq;
use crate::threads::{self, NewPost, NewThread, PostView, ThreadSummary, ThreadView};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// A client id for a no-JS form: rendered into the page, so sending the form twice stores one
/// thread or post. 43 characters of A–Z, a–z, 0–9, `-` and `_`.
fn form_client_id() -> String {
    new_secret()
}

/// `2027-03-29T09:00:00Z`, for `<time datetime>`.
fn machine_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Template)]
#[template(path = "threads.html")]
struct ThreadsPage {
    page: PageView,
    cohort_id: i32,
    cohort_name: String,
    threads: Vec<ThreadSummary>,
    may_write: bool,
    may_moderate: bool,
    error: Option<String>,
    /// The new-thread form as sent (kept after an error).
    title: String,
    body: String,
    client_id: String,
}

impl ThreadsPage {
    fn machine_time(&self, at: &DateTime<Utc>) -> String {
        machine_time(at)
    }
}

/// What the new-thread form sends back after an error, to show again.
struct ThreadDraft {
    title: String,
    body: String,
    client_id: String,
}

async fn threads_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    draft: Option<ThreadDraft>,
    error: Option<FormError>,
) -> PageResult {
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let threads = threads::cohort_threads(state, &page.user, cohort_id).await?;
    let may_write = page.user.may(Action::WriteInCohort { cohort_id });
    let may_moderate = page.user.may(Action::ModerateCohort { cohort_id });
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let draft = draft.unwrap_or_else(|| ThreadDraft {
        title: String::new(),
        body: String::new(),
        client_id: form_client_id(),
    });
    Ok(render(
        status,
        &ThreadsPage {
            page: page.view,
            cohort_id,
            cohort_name: cohort.theme.name,
            threads,
            may_write,
            may_moderate,
            error: error.map(|e| e.message),
            title: draft.title,
            body: draft.body,
            client_id: draft.client_id,
        },
    ))
}

/// `GET /cohorts/{cohort_id}/threads`
pub async fn list(State(state): State<AppState>, page: SignedInPage, Path(cohort_id): Path<i32>) -> PageResult {
    threads_page(&state, page, cohort_id, None, None).await
}

#[derive(Deserialize)]
pub struct ThreadForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    client_id: String,
}

/// `POST /cohorts/{cohort_id}/threads`: starts a thread, then shows it.
pub async fn start(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<ThreadForm>,
) -> PageResult {
    let new = NewThread {
        title: form.title.clone(),
        body: form.body.clone(),
        session_id: None,
        client_id: form.client_id.clone(),
    };
    match threads::create_thread(&state, &page.user, cohort_id, new).await {
        Ok((detail, _)) => Ok(Redirect::to(&format!("/threads/{}", detail.thread.id)).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let draft = ThreadDraft {
                title: form.title,
                body: form.body,
                // A broken id would fail every retry; a good one is kept so a retry stays one thread.
                client_id: if form.client_id.is_empty() || form.client_id.len() > 64 {
                    form_client_id()
                } else {
                    form.client_id
                },
            };
            threads_page(&state, page, cohort_id, Some(draft), Some(shown)).await
        }
    }
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    page: PageView,
    cohort_name: String,
    thread: ThreadView,
    posts: Vec<PostView>,
    may_write: bool,
    may_moderate: bool,
    user_id: i32,
    /// The cohort's last event number when the page was read: the script follows from here.
    last_seq: i64,
    error: Option<String>,
    body: String,
    client_id: String,
}

impl ThreadPage {
    fn machine_time(&self, at: &DateTime<Utc>) -> String {
        machine_time(at)
    }

    fn is_answer(&self, post: &PostView) -> bool {
        self.thread.answered_post_id == Some(post.id)
    }

    fn reaction_label(&self, code: &str) -> String {
        self.page.t(&format!("threads.reaction.{code}")).to_string()
    }

    /// The reaction names for the script, as JSON (`{"thumbs_up": "👍 Tommel opp", …}`).
    fn reaction_labels_json(&self) -> String {
        let labels: serde_json::Map<String, serde_json::Value> = REACTIONS
            .iter()
            .map(|code| (code.to_string(), self.reaction_label(code).into()))
            .collect();
        serde_json::Value::Object(labels).to_string()
    }
}

pub(crate) async fn thread_page(
    state: &AppState,
    page: SignedInPage,
    thread_id: i32,
    body: String,
    client_id: Option<String>,
    error: Option<FormError>,
) -> PageResult {
    // Read before the thread, so nothing stored in between is missed (the script dedupes).
    let found = threads::visible_thread(state, &page.user, thread_id).await?;
    let last_seq = last_seq(&state.db, found.cohort_id).await?;
    let detail = threads::thread_detail(state, &page.user, thread_id).await?;
    if let Some(last) = detail.posts.iter().map(|post| post.id).max() {
        mark_read(
            state,
            &page.user,
            thread_id,
            ReadPosition {
                last_read_post_id: last,
            },
        )
        .await?;
    }
    let cohort_id = detail.thread.cohort_id;
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    Ok(render(
        status,
        &ThreadPage {
            user_id: page.user.user.id,
            may_write: page.user.may(Action::WriteInCohort { cohort_id }),
            may_moderate: page.user.may(Action::ModerateCohort { cohort_id }),
            page: page.view,
            cohort_name: cohort.theme.name,
            thread: detail.thread,
            posts: detail.posts,
            last_seq,
            error: error.map(|e| e.message),
            body,
            client_id: client_id.unwrap_or_else(form_client_id),
        },
    ))
}

/// `GET /threads/{thread_id}`: the thread; opening it moves the read position to its last post.
pub async fn show(State(state): State<AppState>, page: SignedInPage, Path(thread_id): Path<i32>) -> PageResult {
    thread_page(&state, page, thread_id, String::new(), None, None).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    client_id: String,
}

/// `POST /threads/{thread_id}/posts`: replies, then shows the thread at the new post.
pub async fn reply(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(thread_id): Path<i32>,
    Form(form): Form<ReplyForm>,
) -> PageResult {
    let new = NewPost {
        body: form.body.clone(),
        parent_post_id: None,
        client_id: form.client_id.clone(),
    };
    match threads::create_post(&state, &page.user, thread_id, new).await {
        Ok((post, _)) => Ok(Redirect::to(&format!("/threads/{thread_id}#post-{}", post.id)).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let client_id = (!form.client_id.is_empty() && form.client_id.len() <= 64).then_some(form.client_id);
            thread_page(&state, page, thread_id, form.body, client_id, Some(shown)).await
        }
    }
}

/// `GET /static/thread.js`: the live thread page's script (the CSP allows no inline script).
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../web/static/thread.js"),
    )
}
