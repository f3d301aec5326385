//! The JSON API for the programme report: the same tables the report page and its exports
//! show, for a programme, a theme, a cohort or a session, with county and grant-year filters.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{PROBLEM_JSON, PathProblems, QueryProblems, RestrictedReadProblems};
use super::extract::{ApiJson, ApiPath, ApiResult, Query};
use crate::auth::CurrentUser;
use crate::error::Problem;
use crate::reports::{self, Filters, Report, Scope};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(programme_report))
        .routes(routes!(theme_report))
        .routes(routes!(cohort_report))
        .routes(routes!(session_report))
}

const WIDE_FORBIDDEN: &str = "A member of one of its cohorts who is not an observer there: facilitators, \
    project leads and experts see their cohort's report, not the whole (`forbidden`).";
const WIDE_NOT_FOUND: &str = "No such programme or theme, or the caller is a member of none of its cohorts \
    (`not_found`); also a path parameter that is not a number.";
const NARROW_NOT_FOUND: &str = "No such cohort or session, or the caller is not a member of its cohort \
    (`not_found`); also a path parameter that is not a number.";
const BAD_FILTER: &str = "A filter that cannot be read, such as `grant_year=abc` (`invalid_fields` with the \
    `field`).";

/// The report for a whole programme (every cohort in it): admins and the programme's
/// observers. Names of people only for admins.
#[utoipa::path(get, path = "/api/v1/reports/programmes/{programme_id}", tag = "reports", params(("programme_id" = i32, Path), Filters), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The report", body = Report), RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 403, description = WIDE_FORBIDDEN, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = WIDE_NOT_FOUND, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = BAD_FILTER, body = Problem, content_type = PROBLEM_JSON)))]
async fn programme_report(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(programme_id): ApiPath<i32>,
    Query(filters): Query<Filters>,
) -> ApiResult<Report> {
    Ok(ApiJson(
        reports::build(&state.db, &current, Scope::Programme(programme_id), filters).await?,
    ))
}

/// The report for a theme (its cohorts in every programme): admins and the theme's observers.
#[utoipa::path(get, path = "/api/v1/reports/themes/{theme_id}", tag = "reports", params(("theme_id" = i32, Path), Filters), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The report", body = Report), RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 403, description = WIDE_FORBIDDEN, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = WIDE_NOT_FOUND, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = BAD_FILTER, body = Problem, content_type = PROBLEM_JSON)))]
async fn theme_report(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(theme_id): ApiPath<i32>,
    Query(filters): Query<Filters>,
) -> ApiResult<Report> {
    Ok(ApiJson(
        reports::build(&state.db, &current, Scope::Theme(theme_id), filters).await?,
    ))
}

/// The report for a cohort: whole for admins, its facilitator and observers; its public
/// figures (`public_only`: attendance by session, municipality and county) for its project
/// leads and experts.
#[utoipa::path(get, path = "/api/v1/reports/cohorts/{cohort_id}", tag = "reports", params(("cohort_id" = i32, Path), Filters), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The report", body = Report), RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 404, description = NARROW_NOT_FOUND, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = BAD_FILTER, body = Problem, content_type = PROBLEM_JSON)))]
async fn cohort_report(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    Query(filters): Query<Filters>,
) -> ApiResult<Report> {
    Ok(ApiJson(
        reports::build(&state.db, &current, Scope::Cohort(cohort_id), filters).await?,
    ))
}

/// The report for one session, as for its cohort.
#[utoipa::path(get, path = "/api/v1/reports/sessions/{session_id}", tag = "reports", params(("session_id" = i32, Path), Filters), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The report", body = Report), RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 404, description = NARROW_NOT_FOUND, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = BAD_FILTER, body = Problem, content_type = PROBLEM_JSON)))]
async fn session_report(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    Query(filters): Query<Filters>,
) -> ApiResult<Report> {
    Ok(ApiJson(
        reports::build(&state.db, &current, Scope::Session(session_id), filters).await?,
    ))
}
