//! Server-rendered administration: programmes, grant import and its report, the review list,
//! the theme mapping, cohorts and facilitators, people, the audit log.

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
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
use crate::i18n::Tr;
use crate::state::AppState;
use crate::users::{self, UserView};
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// What an admin action did, said on the page it leads to: `?done=<what>`.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    /// For an appointment: the cohort and the person.
    #[serde(default)]
    cohort: Option<String>,
    #[serde(default)]
    person: Option<String>,
}

const NOTICES: [&str; 6] = [
    "programme_created",
    "decided",
    "measure_added",
    "measure_removed",
    "deactivated",
    "erased",
];

/// The notice for a finished action, if the query names one.
fn notice(tr: Tr, query: &DoneQuery) -> Option<String> {
    let done = query.done.as_deref()?;
    NOTICES
        .contains(&done)
        .then(|| tr.t(&format!("admin_notice.{done}")).to_string())
}

fn done(path: &str, what: &str) -> axum::response::Response {
    Redirect::to(&format!("{path}?done={what}")).into_response()
}

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
    notice: Option<String>,
    error: Option<String>,
}

async fn admin_page(state: &AppState, page: SignedInPage, query: DoneQuery, error: Option<FormError>) -> PageResult {
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
    let tr = page.view.tr;
    let notice = appointment_notice(tr, &query, &rows).or_else(|| notice(tr, &query));
    Ok(render(
        status,
        &AdminPage {
            page: page.view,
            programmes,
            cohorts: rows,
            pending_reviews,
            notice,
            error,
        },
    ))
}

/// "Marte Fjeld (marte@…) now facilitates Food and food waste; a sign-in link was mailed."
fn appointment_notice(tr: Tr, query: &DoneQuery, rows: &[CohortRow]) -> Option<String> {
    let key = match query.done.as_deref()? {
        "appointed" => "admin_notice.appointed",
        "appointed_unmailed" => "admin_notice.appointed_unmailed",
        _ => return None,
    };
    let cohort_id: i32 = query.cohort.as_deref()?.parse().ok()?;
    let person: i32 = query.person.as_deref()?.parse().ok()?;
    let row = rows.iter().find(|row| row.summary.cohort_id == cohort_id)?;
    let facilitator = row.facilitators.iter().find(|member| member.user_id == person)?;
    Some(tr.f(
        key,
        &[
            ("name", facilitator.name.as_str()),
            ("email", facilitator.email.as_deref().unwrap_or_default()),
            ("theme", row.summary.theme.as_str()),
        ],
    ))
}

pub async fn index(State(state): State<AppState>, page: SignedInPage, Query(query): Query<DoneQuery>) -> PageResult {
    admin_page(&state, page, query, None).await
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
        Ok(_) => Ok(done("/admin", "programme_created")),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            admin_page(&state, page, DoneQuery::default(), Some(shown)).await
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
    match cohorts::appoint_and_notify(&state, &page.user, cohort_id, &form.email, &form.name).await {
        Ok(appointed) => {
            let what = if appointed.mailed {
                "appointed"
            } else {
                "appointed_unmailed"
            };
            Ok(Redirect::to(&format!(
                "/admin?done={what}&cohort={cohort_id}&person={}",
                appointed.facilitator.id
            ))
            .into_response())
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            admin_page(&state, page, DoneQuery::default(), Some(shown)).await
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
    notice: Option<String>,
}

pub async fn review_list(
    State(state): State<AppState>,
    page: SignedInPage,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let items = review::pending(&state.db, &page.user, page.view.tr.language).await?;
    let themes = placement::theme_mappings(&state.db, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &ReviewPage {
            notice: notice(page.view.tr, &query),
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
    Ok(done("/admin/review", "decided"))
}

#[derive(Template)]
#[template(path = "admin/themes.html")]
struct ThemesPage {
    page: PageView,
    themes: Vec<ThemeMapping>,
    notice: Option<String>,
    error: Option<String>,
}

async fn themes_page(state: &AppState, page: SignedInPage, query: DoneQuery, error: Option<FormError>) -> PageResult {
    let themes = placement::theme_mappings(&state.db, &page.user).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    let error = error.map(|shown| shown.message);
    Ok(render(
        status,
        &ThemesPage {
            notice: notice(page.view.tr, &query),
            page: page.view,
            themes,
            error,
        },
    ))
}

pub async fn themes(State(state): State<AppState>, page: SignedInPage, Query(query): Query<DoneQuery>) -> PageResult {
    themes_page(&state, page, query, None).await
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
        Ok(()) => Ok(done("/admin/themes", "measure_added")),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            themes_page(&state, page, DoneQuery::default(), Some(shown)).await
        }
    }
}

pub async fn remove_measure_type(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(mapping_id): Path<i32>,
) -> PageResult {
    placement::remove_measure_type(&state.db, &page.user, mapping_id, state.now()).await?;
    Ok(done("/admin/themes", "measure_removed"))
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageView,
    users: Vec<UserView>,
    me: i32,
    notice: Option<String>,
}

pub async fn users_list(
    State(state): State<AppState>,
    page: SignedInPage,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let mut users = users::all_users(&state.db, &page.user).await?;
    // People erased have no name left to sort by: after everyone else.
    users.sort_by_key(|user| user.erased);
    let me = page.user.user.id;
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            notice: notice(page.view.tr, &query),
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
    Ok(done("/admin/users", "deactivated"))
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
