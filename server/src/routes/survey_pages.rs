//! The survey pages: a session's usefulness survey and a cohort's closing survey, each a form
//! that is answered once, with a thank-you state afterwards.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::error::AppError;
use crate::state::AppState;
use crate::surveys::{
    self, ChangedProject, ClosingSurveyInput, MAX_TEXT_CHARS, Recommend, SessionSurveyInput, SurveyStatus,
};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// What the page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The form, to answer.
    Form,
    /// Right after answering.
    Thanks,
    /// Answered before.
    Answered,
    /// Not open yet (or never: a cancelled session, a cohort without sessions).
    NotOpen,
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    page: PageView,
    heading: String,
    /// What the survey is about: the session and its time, or the programme.
    about: String,
    back_link: String,
    back_label: String,
    action: String,
    closing: bool,
    shown: Shown,
    /// When it opens, in words (not open yet).
    opens: Option<String>,
    error: Option<String>,
    /// The scale 1–5 with its words (session survey).
    scale: Vec<(String, String)>,
    changed_options: Vec<(String, String)>,
    recommend_options: Vec<(String, String)>,
    typed: Typed,
    max_chars: usize,
}

impl SurveyPage {
    fn is(&self, shown: Shown) -> bool {
        self.shown == shown
    }
}

/// What was sent, shown again after a refusal.
#[derive(Clone, Default, Deserialize)]
pub struct Typed {
    #[serde(default)]
    usefulness: String,
    #[serde(default)]
    changed_project: String,
    #[serde(default)]
    recommend: String,
    #[serde(default)]
    helped: String,
    #[serde(default)]
    change: String,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

fn shown(status: &SurveyStatus, thanks: bool) -> Shown {
    match (status.answered, status.open) {
        (true, _) if thanks => Shown::Thanks,
        (true, _) => Shown::Answered,
        (false, false) => Shown::NotOpen,
        (false, true) => Shown::Form,
    }
}

fn options(view: &PageView, prefix: &str, codes: &[&str]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|code| (code.to_string(), view.t(&format!("{prefix}.{code}")).to_string()))
        .collect()
}

fn opens_in_words(view: &PageView, status: &SurveyStatus) -> Option<String> {
    status
        .opens_at
        .map(|at| view.f("survey.opens_at", &[("when", view.tr.date_time(at))]))
}

async fn session_page(
    state: &AppState,
    page: SignedInPage,
    session_id: i32,
    thanks: bool,
    error: Option<FormError>,
    typed: Typed,
) -> PageResult {
    let status = surveys::session_status(state, &page.user, session_id).await?;
    if !status.may_answer {
        return Err(AppError::Forbidden.into());
    }
    let session = crate::sessions::session_view(state, &page.user, session_id).await?;
    let view = page.view;
    let code = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let scale = options(&view, "survey.scale", &["1", "2", "3", "4", "5"]);
    Ok(render(
        code,
        &SurveyPage {
            heading: view.f("survey.session_heading", &[("title", session.title.as_str())]),
            about: view.tr.time_span(session.starts_at, session.ends_at),
            back_link: format!("/sessions/{session_id}"),
            back_label: view.t("survey.back_to_session").to_string(),
            action: format!("/sessions/{session_id}/survey"),
            closing: false,
            shown: shown(&status, thanks),
            opens: opens_in_words(&view, &status),
            error: error.map(|e| e.message),
            scale,
            changed_options: Vec::new(),
            recommend_options: Vec::new(),
            typed,
            max_chars: MAX_TEXT_CHARS,
            page: view,
        },
    ))
}

async fn closing_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    thanks: bool,
    error: Option<FormError>,
    typed: Typed,
) -> PageResult {
    let status = surveys::closing_status(state, &page.user, cohort_id).await?;
    if !status.may_answer {
        return Err(AppError::Forbidden.into());
    }
    let cohort = crate::cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let view = page.view;
    let code = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let changed: Vec<&str> = ChangedProject::ALL.iter().map(|c| c.code()).collect();
    let recommend: Vec<&str> = Recommend::ALL.iter().map(|c| c.code()).collect();
    Ok(render(
        code,
        &SurveyPage {
            heading: view.t("survey.closing_heading").to_string(),
            about: view.f("survey.closing_about", &[("theme", cohort.theme.name.as_str())]),
            back_link: format!("/cohorts/{cohort_id}"),
            back_label: cohort.theme.name.clone(),
            action: format!("/cohorts/{cohort_id}/closing-survey"),
            closing: true,
            shown: shown(&status, thanks),
            opens: opens_in_words(&view, &status),
            error: error.map(|e| e.message),
            scale: Vec::new(),
            changed_options: options(&view, "survey.changed", &changed),
            recommend_options: options(&view, "survey.recommend", &recommend),
            typed,
            max_chars: MAX_TEXT_CHARS,
            page: view,
        },
    ))
}

pub async fn session_survey(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let thanks = query.done.as_deref() == Some("thanks");
    session_page(&state, page, session_id, thanks, None, Typed::default()).await
}

pub async fn answer_session_survey(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(typed): Form<Typed>,
) -> PageResult {
    let result = async {
        let usefulness = typed
            .usefulness
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("survey_usefulness_out_of_range", "usefulness"))?;
        let input = SessionSurveyInput {
            usefulness,
            helped: typed.helped.clone(),
            change: typed.change.clone(),
        };
        surveys::answer_session(&state, &page.user, session_id, input).await
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{session_id}/survey?done=thanks")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            session_page(&state, page, session_id, false, Some(shown), typed).await
        }
    }
}

pub async fn closing_survey(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let thanks = query.done.as_deref() == Some("thanks");
    closing_page(&state, page, cohort_id, thanks, None, Typed::default()).await
}

pub async fn answer_closing_survey(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(typed): Form<Typed>,
) -> PageResult {
    let result = async {
        let changed_project = ChangedProject::parse(typed.changed_project.trim())
            .ok_or_else(|| AppError::invalid("survey_choice_missing", "changed_project"))?;
        let recommend = Recommend::parse(typed.recommend.trim())
            .ok_or_else(|| AppError::invalid("survey_choice_missing", "recommend"))?;
        let input = ClosingSurveyInput {
            changed_project,
            recommend,
            helped: typed.helped.clone(),
            change: typed.change.clone(),
        };
        surveys::answer_closing(&state, &page.user, cohort_id, input).await
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/cohorts/{cohort_id}/closing-survey?done=thanks")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            closing_page(&state, page, cohort_id, false, Some(shown), typed).await
        }
    }
}
