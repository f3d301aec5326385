//! Server-rendered discussion pages: a cohort's threads and one thread with its posts, with
//! ordinary forms that work without JavaScript, and the script that keeps a thread live.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::auth::tokens::new_secret;
use crate::cohorts;
use crate::domain::policy::Action;
use crate::realtime::events::last_seq;
use crate::state::AppState;
use crate::threads::changes::{REACTIONS, ReadPosition, mark_read};
use crate::threads::{self, NewPost, NewThread, PostView, ThreadSummary, ThreadView};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// A client id for a no-JS form: rendered into the page, so sending the form twice stores one
/// thread or post. 43 characters of A–Z, a–z, 0–9, `-` and `_`.
fn form_client_id() -> String {
    new_secret()
}

/// The client id a form sent, to render again after an error: a good one is kept so a retry
/// stores one thing; a broken one would fail every retry, so it is replaced.
fn kept_client_id(sent: String) -> String {
    threads::checked_client_id(&sent).unwrap_or_else(|_| form_client_id())
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
                client_id: kept_client_id(form.client_id),
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
    /// The asker, the facilitator and experts may mark which post answers the thread.
    may_mark_answer: bool,
    may_report: bool,
    /// The cohort's last event number when the page was read: the script follows from here.
    last_seq: i64,
    notice: Option<String>,
    /// An action's error (a reaction, the answer mark, moderation), shown at the top.
    error: Option<String>,
    reply: ReplyDraft,
}

/// The reply form as it is shown: empty, or as sent with what was wrong.
pub(crate) struct ReplyDraft {
    pub body: String,
    pub client_id: String,
    pub error: Option<FormError>,
}

impl Default for ReplyDraft {
    fn default() -> Self {
        ReplyDraft {
            body: String::new(),
            client_id: form_client_id(),
            error: None,
        }
    }
}

/// What a thread page shows besides the thread: a notice after an action, an action's error,
/// and the reply form.
#[derive(Default)]
pub(crate) struct ThreadPageExtras {
    pub notice: Option<String>,
    pub error: Option<FormError>,
    pub reply: ReplyDraft,
}

/// A reaction as a post shows it: a button of the reaction form, or a line of the list.
struct ReactionShown {
    code: String,
    label: String,
    /// `{count}` in the template.
    count: String,
    /// Whether the count is shown: a button shows none while nobody has given the reaction.
    counted: bool,
    /// Given by the reader: the button takes it back.
    mine: bool,
}

/// One post as `partials/post.html` shows it, from [`ThreadPage::card`], or the `<template>` the
/// script fills for live posts, from [`ThreadPage::post_template`].
struct PostCard<'a> {
    /// The template: optional parts are marked with `data-slot`.
    template: bool,
    /// `{post_id}` in the template, as are the texts below in their slots.
    id: String,
    author: &'a str,
    /// `2027-03-29T09:00:00Z`, for `<time datetime>`.
    datetime: String,
    time: String,
    /// Marked as the thread's answer (the `post-answer` class; the template has it off).
    answer: bool,
    answer_badge: bool,
    edited: bool,
    deleted: bool,
    hidden: bool,
    /// The sanitised body, unless the post is deleted or hidden.
    body_html: Option<&'a str>,
    /// The reaction form's buttons, one per reaction: for a reader who may write, on a post
    /// that is shown.
    reaction_form: Option<Vec<ReactionShown>>,
    /// Otherwise the reactions given, as a list (none: no list).
    reaction_list: Vec<ReactionShown>,
    /// The post's actions (any of the three below), unless it is deleted or hidden.
    actions: bool,
    answer_form: bool,
    mark_answer: bool,
    unmark_answer: bool,
    edit: bool,
    report: bool,
}

/// The thread's markers as `partials/thread_badges.html` shows them.
struct ThreadBadges {
    /// The template: all three, marked with `data-slot`.
    template: bool,
    pinned: bool,
    locked: bool,
    answered: bool,
}

impl ThreadPage {
    fn reaction_label(&self, code: &str) -> String {
        self.page.t(&format!("threads.reaction.{code}")).to_string()
    }

    /// One post as the reader sees it.
    fn card<'a>(&'a self, post: &'a PostView) -> PostCard<'a> {
        // The opening post is the question: it cannot be marked as its own answer.
        let first = self.posts.first().is_some_and(|opening| opening.id == post.id);
        let shown = !post.deleted && !post.hidden;
        let is_answer = self.thread.answered_post_id == Some(post.id);
        let is_own = post.author_id == self.user_id;
        let reaction_form = (self.may_write && shown).then(|| {
            REACTIONS
                .iter()
                .map(|code| {
                    let given = post.reactions.iter().find(|reaction| reaction.reaction == *code);
                    let count = given.map_or(0, |reaction| reaction.count);
                    ReactionShown {
                        code: (*code).to_string(),
                        label: self.reaction_label(code),
                        count: count.to_string(),
                        counted: count > 0,
                        mine: given.is_some_and(|reaction| reaction.user_ids.contains(&self.user_id)),
                    }
                })
                .collect()
        });
        let reaction_list = if reaction_form.is_some() {
            Vec::new()
        } else {
            post.reactions
                .iter()
                .map(|reaction| ReactionShown {
                    code: reaction.reaction.clone(),
                    label: self.reaction_label(&reaction.reaction),
                    count: reaction.count.to_string(),
                    counted: true,
                    mine: reaction.user_ids.contains(&self.user_id),
                })
                .collect()
        };
        PostCard {
            template: false,
            id: post.id.to_string(),
            author: &post.author,
            datetime: machine_time(&post.created_at),
            time: self.page.tr.date_time(post.created_at),
            answer: is_answer,
            answer_badge: is_answer,
            edited: post.edited_at.is_some() && shown,
            deleted: post.deleted,
            hidden: post.hidden && !post.deleted,
            body_html: shown.then_some(post.body_html.as_str()),
            reaction_form,
            reaction_list,
            actions: shown,
            answer_form: self.may_mark_answer && !first,
            mark_answer: !is_answer,
            unmark_answer: is_answer,
            edit: is_own && self.may_write,
            report: !is_own && self.may_report,
        }
    }

    /// The `<template>` of a post for the script: every part this reader could see on some
    /// post (the reaction form if they may write, the answer form if they may mark the answer,
    /// the edit and report links as they may), with slots for the values.
    fn post_template(&self) -> PostCard<'static> {
        // Each reaction with a `{count}` slot, as a button and as a line of the list.
        let reactions = || -> Vec<ReactionShown> {
            REACTIONS
                .iter()
                .map(|code| ReactionShown {
                    code: (*code).to_string(),
                    label: self.reaction_label(code),
                    count: "{count}".to_string(),
                    counted: true,
                    mine: false,
                })
                .collect()
        };
        PostCard {
            template: true,
            id: "{post_id}".to_string(),
            author: "{author}",
            datetime: "{datetime}".to_string(),
            time: "{time}".to_string(),
            answer: false,
            answer_badge: true,
            edited: true,
            deleted: true,
            hidden: true,
            body_html: Some(""),
            reaction_form: self.may_write.then(reactions),
            reaction_list: reactions(),
            actions: true,
            answer_form: self.may_mark_answer,
            mark_answer: true,
            unmark_answer: true,
            edit: self.may_write,
            report: self.may_report,
        }
    }

    fn badges(&self) -> ThreadBadges {
        ThreadBadges {
            template: false,
            pinned: self.thread.pinned,
            locked: self.thread.locked,
            answered: self.thread.answered_post_id.is_some(),
        }
    }

    /// The thread's markers for the script to keep those a live change says.
    fn badges_template(&self) -> ThreadBadges {
        ThreadBadges {
            template: true,
            pinned: true,
            locked: true,
            answered: true,
        }
    }
}

pub(crate) async fn thread_page(
    state: &AppState,
    page: SignedInPage,
    thread_id: i32,
    extras: ThreadPageExtras,
) -> PageResult {
    // The last event number is read before the posts, so nothing stored in between is missed
    // (the script skips what it already shows).
    let found = threads::visible_thread(state, &page.user, thread_id).await?;
    let last_seq = last_seq(&state.db, found.cohort_id).await?;
    let detail = threads::detail_of(state, found).await?;
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
    let status = extras
        .error
        .as_ref()
        .or(extras.reply.error.as_ref())
        .map_or(StatusCode::OK, |error| error.status);
    let is_asker = detail.thread.author_id == page.user.user.id;
    Ok(render(
        status,
        &ThreadPage {
            user_id: page.user.user.id,
            may_write: page.user.may(Action::WriteInCohort { cohort_id }),
            may_moderate: page.user.may(Action::ModerateCohort { cohort_id }),
            may_mark_answer: page.user.may(Action::MarkAnswered { cohort_id, is_asker }),
            may_report: page.user.may(Action::ReportPost { cohort_id }),
            page: page.view,
            cohort_name: cohort.theme.name,
            thread: detail.thread,
            posts: detail.posts,
            last_seq,
            notice: extras.notice,
            error: extras.error.map(|e| e.message),
            reply: extras.reply,
        },
    ))
}

/// What a post action redirects back with (`?done=reported`), to say it worked.
#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The notices a thread page can show after an action, each `threads.notice.<done>`.
const NOTICES: [&str; 3] = ["saved", "deleted", "reported"];

/// `GET /threads/{thread_id}`: the thread; opening it moves the read position to its last post.
pub async fn show(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(thread_id): Path<i32>,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let notice = query
        .done
        .filter(|done| NOTICES.contains(&done.as_str()))
        .map(|done| page.view.t(&format!("threads.notice.{done}")).to_string());
    let extras = ThreadPageExtras {
        notice,
        ..Default::default()
    };
    thread_page(&state, page, thread_id, extras).await
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
            let extras = ThreadPageExtras {
                reply: ReplyDraft {
                    body: form.body,
                    client_id: kept_client_id(form.client_id),
                    error: Some(shown),
                },
                ..Default::default()
            };
            thread_page(&state, page, thread_id, extras).await
        }
    }
}
