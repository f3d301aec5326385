//! Grant administration: importing the agency's export, the review list, the theme mapping.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, Conflict, PathProblems, RestrictedReadProblems, RestrictedWriteProblems};
use super::extract::{ApiBytes, ApiJson, ApiPath, ApiResult};
use crate::auth::{Caller, CurrentUser};
use crate::error::AppError;
use crate::grants::import::{ImportReport, MAX_FILE_BYTES, import_grants};
use crate::grants::placement::{self, ThemeMapping};
use crate::grants::review::{self, ReviewDecision, ReviewItem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    // A grant export is larger than the bodies the rest of the API takes.
    let imports = OpenApiRouter::new()
        .routes(routes!(import_grants_file))
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES));
    OpenApiRouter::new()
        .routes(routes!(list_review))
        .routes(routes!(decide_review))
        .routes(routes!(list_themes))
        .routes(routes!(add_measure_type))
        .routes(routes!(remove_measure_type))
        .merge(imports)
}

/// Imports a grant export (CSV as the agency writes it) and reports every row.
#[utoipa::path(post, path = "/api/v1/admin/grant-imports", tag = "admin", request_body(content = String, content_type = "text/csv"), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = ImportReport), RestrictedWriteProblems, BodyProblems))]
async fn import_grants_file(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiBytes(body): ApiBytes,
) -> ApiResult<ImportReport> {
    Ok(ApiJson(
        import_grants(&state.db, Caller::Person(&current), &body, state.now(), &|_, _| {}).await?,
    ))
}

/// Grants whose theme only keywords suggest, waiting for a person's decision.
#[utoipa::path(get, path = "/api/v1/admin/review", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ReviewItem>), RestrictedReadProblems))]
async fn list_review(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ReviewItem>> {
    Ok(ApiJson(review::pending(&state.db, &current, current.language()).await?))
}

/// Confirms a grant in a theme or rejects it.
#[utoipa::path(post, path = "/api/v1/admin/review/{grant_id}", tag = "admin", params(("grant_id" = i32, Path)), request_body = ReviewDecision, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn decide_review(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
    ApiJson(decision): ApiJson<ReviewDecision>,
) -> Result<StatusCode, AppError> {
    review::decide(&state.db, &current, grant_id, decision, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Themes and the measure types mapped to them.
#[utoipa::path(get, path = "/api/v1/admin/themes", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ThemeMapping>), RestrictedReadProblems))]
async fn list_themes(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ThemeMapping>> {
    Ok(ApiJson(placement::theme_mappings(&state.db, &current).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMeasureType {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub measure_type: String,
}

/// Maps a measure type to a theme; grants and cohorts follow.
#[utoipa::path(post, path = "/api/v1/admin/themes/{theme_id}/measure-types", tag = "admin", params(("theme_id" = i32, Path)), request_body = NewMeasureType, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), RestrictedWriteProblems, PathProblems, BodyProblems,
              (status = 409, response = Conflict)))]
async fn add_measure_type(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(theme_id): ApiPath<i32>,
    ApiJson(body): ApiJson<NewMeasureType>,
) -> Result<StatusCode, AppError> {
    placement::add_measure_type(&state.db, &current, theme_id, &body.measure_type, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a measure-type mapping; grants and cohorts follow.
#[utoipa::path(delete, path = "/api/v1/admin/measure-types/{mapping_id}", tag = "admin", params(("mapping_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), RestrictedWriteProblems, PathProblems))]
async fn remove_measure_type(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(mapping_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    placement::remove_measure_type(&state.db, &current, mapping_id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
