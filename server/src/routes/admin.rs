//! Server-rendered administration: programmes, grant import and its report, the review list,
//! the theme mapping, cohorts and facilitators, people, the audit log.

use askama::Template;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::Caller;
use crate::cohorts::{self, CohortSummary, MemberView, NewProgramme, ProgrammeView};
use crate::domain::roles::Role;
use crate::entities::audit_log;
use crate::error::AppError;
use crate::grants;
use crate::grants::import::{ImportReport, import_grants};
use crate::grants::placement::{self, ThemeMapping};
use crate::grants::review::{self, ReviewDecision, ReviewItem};
use crate::state::AppState;
use crate::users::{self, UserView};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

struct CohortRow {
    summary: CohortSummary,
    facilitators: Vec<MemberView>,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminPage {
    page: PageView,
    programmes: Vec<ProgrammeView>,
    cohorts: Vec<CohortRow>,
    pending_reviews: usize,
    error: Option<String>,
}

async fn admin_page(state: &AppState, page: SignedInPage, error: Option<FormError>) -> PageResult {
    let programmes = cohorts::programmes(&state.db, &page.user).await?;
    let mut rows = Vec::new();
    for summary in cohorts::summaries(&state.db, page.view.tr.language).await? {
        let facilitators = cohorts::members(&state.db, &page.user, summary.cohort_id)
            .await?
            .into_iter()
            .filter(|member| member.role == Role::Facilitator)
            .collect();
        rows.push(CohortRow { summary, facilitators });
    }
    let pending_reviews = review::pending(&state.db, &page.user, page.view.tr.language)
        .await?
        .len();
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    let error = error.map(|shown| shown.message);
    Ok(render(
        status,
        &AdminPage {
            page: page.view,
            programmes,
            cohorts: rows,
            pending_reviews,
            error,
        },
    ))
}

pub async fn index(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    admin_page(&state, page, None).await
}

#[derive(Deserialize)]
pub struct ProgrammeForm {
    name: String,
    grant_years: String,
    starts_on: String,
    ends_on: String,
}

pub async fn create_programme(
    State(state): State<AppState>,
    page: SignedInPage,
    Form(form): Form<ProgrammeForm>,
) -> PageResult {
    let parse_date = |text: &str, field: &'static str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| AppError::invalid("invalid_date", field))
    };
    let result = async {
        let new = NewProgramme {
            name: form.name,
            grant_years: form.grant_years,
            starts_on: parse_date(&form.starts_on, "starts_on")?,
            ends_on: parse_date(&form.ends_on, "ends_on")?,
        };
        cohorts::create_programme(&state.db, Caller::Person(&page.user), new, state.now()).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin").into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            admin_page(&state, page, Some(shown)).await
        }
    }
}

#[derive(Deserialize)]
pub struct AppointForm {
    email: String,
    #[serde(default)]
    name: String,
}

pub async fn appoint_facilitator(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<AppointForm>,
) -> PageResult {
    match cohorts::appoint_facilitator(&state.db, &page.user, cohort_id, &form.email, &form.name, state.now()).await {
        Ok(_) => Ok(Redirect::to("/admin").into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            admin_page(&state, page, Some(shown)).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    page: PageView,
    report: Option<ImportReport>,
    error: Option<String>,
}

pub async fn import_form(page: SignedInPage) -> PageResult {
    grants::authorize(Caller::Person(&page.user))?;
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            page: page.view,
            report: None,
            error: None,
        },
    ))
}

pub async fn import_upload(State(state): State<AppState>, page: SignedInPage, mut multipart: Multipart) -> PageResult {
    // Refused before the upload is read.
    grants::authorize(Caller::Person(&page.user))?;
    let mut bytes = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::invalid("import_unreadable", "file"))?
    {
        if field.name() == Some("file") {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|_| AppError::invalid("import_too_large", "file"))?,
            );
        }
    }
    let bytes = bytes.filter(|bytes| !bytes.is_empty());
    let result = match bytes {
        Some(bytes) => import_grants(&state.db, Caller::Person(&page.user), &bytes, state.now(), &|_, _| {}).await,
        None => Err(AppError::invalid("import_empty_file", "file")),
    };
    match result {
        Ok(report) => Ok(render(
            StatusCode::OK,
            &ImportPage {
                page: page.view,
                report: Some(report),
                error: None,
            },
        )),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            Ok(render(
                shown.status,
                &ImportPage {
                    page: page.view,
                    report: None,
                    error: Some(shown.message),
                },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/review.html")]
struct ReviewPage {
    page: PageView,
    items: Vec<ReviewItem>,
    themes: Vec<ThemeMapping>,
}

pub async fn review_list(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let items = review::pending(&state.db, &page.user, page.view.tr.language).await?;
    let themes = placement::theme_mappings(&state.db, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &ReviewPage {
            page: page.view,
            items,
            themes,
        },
    ))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    decision: String,
    #[serde(default)]
    theme_id: Option<i32>,
}

pub async fn review_decide(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(grant_id): Path<i32>,
    Form(form): Form<ReviewForm>,
) -> PageResult {
    // Refused before the form is read.
    grants::authorize(Caller::Person(&page.user))?;
    let decision = match (form.decision.as_str(), form.theme_id) {
        ("confirm", Some(theme_id)) => ReviewDecision::Confirm { theme_id },
        ("reject", _) => ReviewDecision::Reject,
        _ => return Err(AppError::invalid("invalid_decision", "decision").into()),
    };
    review::decide(&state.db, &page.user, grant_id, decision, state.now()).await?;
    Ok(Redirect::to("/admin/review").into_response())
}

#[derive(Template)]
#[template(path = "admin/themes.html")]
struct ThemesPage {
    page: PageView,
    themes: Vec<ThemeMapping>,
    error: Option<String>,
}

async fn themes_page(state: &AppState, page: SignedInPage, error: Option<FormError>) -> PageResult {
    let themes = placement::theme_mappings(&state.db, &page.user).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    let error = error.map(|shown| shown.message);
    Ok(render(
        status,
        &ThemesPage {
            page: page.view,
            themes,
            error,
        },
    ))
}

pub async fn themes(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    themes_page(&state, page, None).await
}

#[derive(Deserialize)]
pub struct MeasureTypeForm {
    measure_type: String,
}

pub async fn add_measure_type(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(theme_id): Path<i32>,
    Form(form): Form<MeasureTypeForm>,
) -> PageResult {
    match placement::add_measure_type(&state.db, &page.user, theme_id, &form.measure_type, state.now()).await {
        Ok(()) => Ok(Redirect::to("/admin/themes").into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            themes_page(&state, page, Some(shown)).await
        }
    }
}

pub async fn remove_measure_type(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(mapping_id): Path<i32>,
) -> PageResult {
    placement::remove_measure_type(&state.db, &page.user, mapping_id, state.now()).await?;
    Ok(Redirect::to("/admin/themes").into_response())
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageView,
    users: Vec<UserView>,
    me: i32,
}

pub async fn users_list(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let users = users::all_users(&state.db, &page.user).await?;
    let me = page.user.user.id;
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            page: page.view,
            users,
            me,
        },
    ))
}

pub async fn deactivate_user(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(user_id): Path<i32>,
) -> PageResult {
    users::deactivate(&state, &page.user, user_id).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageView,
    entries: Vec<audit_log::Model>,
}

pub async fn audit(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let entries = crate::audit::latest(&state.db, &page.user, 200).await?;
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            page: page.view,
            entries,
        },
    ))
}
