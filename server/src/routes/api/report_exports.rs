//! The report's exports: every table as a sheet of one XLSX workbook, or one table as CSV, for
//! a programme, a theme, a cohort or a session, with the report's own filters and access rules
//! (`reports::build` decides who sees what; the files hold exactly the report's tables).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono_tz::Europe::Oslo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{PROBLEM_JSON, PathProblems, QueryProblems, RestrictedReadProblems};
use super::extract::{ApiPath, Query};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::reports::export::{self, ScopeKind};
use crate::reports::{self, Filters};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_xlsx))
        .routes(routes!(report_csv))
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8; header=present";

const NOT_VISIBLE: &str = "No such programme, theme, cohort or session, or not one the caller belongs to \
    (`not_found`); also a scope other than `programmes`, `themes`, `cohorts`, `sessions` or an id that is not a number.";
const BELOW_SCOPE: &str = "A member who may see only their cohort's public figures asked for a programme, \
    a theme or another part of the report (`forbidden`).";

/// The whole report as an XLSX workbook: one sheet per table in the report's order, a bold and
/// frozen header row with the headings in the caller's language, numbers as numbers. A table
/// held back (fewer than five survey answers) holds its note instead of figures.
#[utoipa::path(get, path = "/api/v1/reports/{scope}/{id}/xlsx", tag = "reports",
    params(("scope" = ScopeKind, Path, description = "What the report covers"),
           ("id" = i32, Path, description = "The programme's, theme's, cohort's or session's id"), Filters),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The workbook, as a download named after the scope and the day",
                content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
              RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 403, description = BELOW_SCOPE, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = NOT_VISIBLE, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "A filter could not be read: `grant_year` is not a year \
                (`invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn report_xlsx(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((scope, id)): ApiPath<(ScopeKind, i32)>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let report = reports::build(&state.db, &current, scope.scope(id), filters).await?;
    let tr = crate::i18n::Tr::new(current.language());
    let body = export::xlsx(&report, tr)?;
    let name = export::file_name(scope, id, None, today(&state), "xlsx");
    Ok(download(XLSX, &name, body))
}

/// One table of the report as CSV (RFC 4180, comma-separated, UTF-8 with a byte-order mark,
/// a header row in the caller's language, numbers with a decimal point). A table held back
/// holds its note instead of figures.
#[utoipa::path(get, path = "/api/v1/reports/{scope}/{id}/csv/{table_key}", tag = "reports",
    params(("scope" = ScopeKind, Path, description = "What the report covers"),
           ("id" = i32, Path, description = "The programme's, theme's, cohort's or session's id"),
           ("table_key" = String, Path, description = "The table's `key` in the report, for example `reach_by_municipality`"),
           Filters),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The table, as a download named after the scope, the table and the day",
                content_type = "text/csv", body = String),
              RestrictedReadProblems, PathProblems, QueryProblems,
              (status = 403, description = BELOW_SCOPE, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = "No table with this key in the report the caller may see (`not_found`); \
                or no such programme, theme, cohort or session, or not one the caller belongs to (`not_found`).",
                body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "A filter could not be read: `grant_year` is not a year \
                (`invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn report_csv(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((scope, id, table_key)): ApiPath<(ScopeKind, i32, String)>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let report = reports::build(&state.db, &current, scope.scope(id), filters).await?;
    let table = report
        .tables
        .iter()
        .find(|table| table.key == table_key)
        .ok_or(AppError::NotFound)?;
    let tr = crate::i18n::Tr::new(current.language());
    let body = export::csv(table, tr)?;
    let name = export::file_name(scope, id, Some(&table.key), today(&state), "csv");
    Ok(download(CSV, &name, body))
}

/// The day in Norway, for file names.
fn today(state: &AppState) -> chrono::NaiveDate {
    state.now().with_timezone(&Oslo).date_naive()
}

fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            // Figures about people: kept out of shared caches.
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}
