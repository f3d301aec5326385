//! The JSON API for project profiles (needs, offers, match suggestions), lessons learned and
//! search.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, PROBLEM_JSON, PathProblems, QueryProblems, ReadProblems, WriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult, Query};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::projects::{self, LessonChange, LessonView, ProfileChange, ProfileView};
use crate::search::{self, Hit, SearchQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_profile))
        .routes(routes!(save_profile))
        .routes(routes!(save_lesson))
        .routes(routes!(list_lessons))
        .routes(routes!(get_lesson))
        .routes(routes!(experience_report))
        .routes(routes!(search_everything))
}

// Answers several operations here give, for the document.
const NOT_A_PROJECT: &str =
    "Not a project in the caller's cohorts (`not_found`); also a path parameter that is not a number.";
const NOT_LEAD_OR_FACILITATOR: &str =
    "Not this project's lead or the facilitator (`forbidden`), or sent from another website's page (`cross_origin`).";

/// Where a project page was opened from.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileQuery {
    /// The project whose page suggested this one: the follow is counted for the report (once per
    /// person and pair); a project that did not suggest it is ignored.
    pub via: Option<i32>,
}

/// A project's profile: its grant record, needs and offers, lesson learned, and suggestions
/// from the cohorts the caller may see.
#[utoipa::path(get, path = "/api/v1/projects/{grant_id}", tag = "projects", params(("grant_id" = i32, Path), ProfileQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The profile", body = ProfileView), ReadProblems, PathProblems, QueryProblems,
              (status = 404, description = NOT_A_PROJECT, body = Problem, content_type = PROBLEM_JSON)))]
async fn get_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
    Query(query): Query<ProfileQuery>,
) -> ApiResult<ProfileView> {
    let profile = projects::profile(&state.db, &current, grant_id).await?;
    if let Some(via) = query.via {
        projects::follow_suggestion(&state.db, &current, via, grant_id, state.now()).await?;
    }
    Ok(ApiJson(profile))
}

/// The project's lesson learned as an experience report in plain text (UTF-8), with the
/// agency's headings in its order and in the caller's language, to paste into the agency's form.
#[utoipa::path(get, path = "/api/v1/projects/{grant_id}/experience-report", tag = "projects", params(("grant_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The report, as a download", content_type = "text/plain", body = String), ReadProblems, PathProblems,
              (status = 404, description = "No lesson written, or not in the caller's themes (`not_found`); also a path \
                parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON)))]
async fn experience_report(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
) -> Result<Response, AppError> {
    let tr = crate::i18n::Tr::new(current.language());
    let (file_name, text) = projects::experience_report(&state.db, &current, grant_id, tr).await?;
    Ok(text_download(&file_name, text))
}

/// Plain UTF-8 text as a download named `file_name` (ASCII: the project number).
pub fn text_download(file_name: &str, text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-cache".to_string()),
        ],
        text,
    )
        .into_response()
}

/// Saves the project's needs and offers: its own project lead or the cohort's facilitator.
#[utoipa::path(put, path = "/api/v1/projects/{grant_id}/profile", tag = "projects", params(("grant_id" = i32, Path)), request_body = ProfileChange, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Saved; the profile as it now is", body = ProfileView), WriteProblems,
              PathProblems, BodyProblems,
              (status = 403, description = NOT_LEAD_OR_FACILITATOR, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = NOT_A_PROJECT, body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "A text is too long (`profile_text_too_long`); or the body could not be read \
                (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn save_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
    ApiJson(change): ApiJson<ProfileChange>,
) -> ApiResult<ProfileView> {
    Ok(ApiJson(
        projects::save_profile(&state.db, &current, grant_id, change, state.now()).await?,
    ))
}

/// Writes the project's lesson learned, once the project has ended.
#[utoipa::path(put, path = "/api/v1/projects/{grant_id}/lesson", tag = "projects", params(("grant_id" = i32, Path)), request_body = LessonChange, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Saved", body = LessonView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_LEAD_OR_FACILITATOR, body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = NOT_A_PROJECT, body = Problem, content_type = PROBLEM_JSON),
              (status = 409, description = "The project has not ended (`project_not_ended`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "Empty or too long (`lesson_empty`, `profile_text_too_long`); or the body \
                could not be read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn save_lesson(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
    ApiJson(change): ApiJson<LessonChange>,
) -> ApiResult<LessonView> {
    Ok(ApiJson(
        projects::save_lesson(&state.db, &current, grant_id, change, state.now()).await?,
    ))
}

/// Lessons learned in the themes of the caller's cohorts, from every programme year.
#[utoipa::path(get, path = "/api/v1/lessons", tag = "projects", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The lessons, newest first", body = Vec<LessonView>), ReadProblems))]
async fn list_lessons(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<LessonView>> {
    Ok(ApiJson(projects::lessons(&state.db, &current).await?))
}

/// One lesson learned.
#[utoipa::path(get, path = "/api/v1/lessons/{lesson_id}", tag = "projects", params(("lesson_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The lesson", body = LessonView), ReadProblems, PathProblems,
              (status = 404, description = "Not found or not in the caller's themes (`not_found`); also a path \
                parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON)))]
async fn get_lesson(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(lesson_id): ApiPath<i32>,
) -> ApiResult<LessonView> {
    Ok(ApiJson(
        projects::open_lesson(&state.db, &current, lesson_id, state.now()).await?,
    ))
}

/// Searches threads, posts, resources, project profiles and lessons the caller may see, with
/// Norwegian stemming; best matches first, at most 20.
#[utoipa::path(get, path = "/api/v1/search", tag = "projects", params(SearchQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The hits", body = Vec<Hit>), ReadProblems, QueryProblems,
              (status = 422, description = "No words to search for, too long, or a year no calendar has \
                (`empty_search`, `search_query_too_long`, `invalid_year`); or a query parameter could not be read \
                (`invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn search_everything(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Vec<Hit>> {
    // Posts are indexed just after they are stored: a search finds every post made before it.
    state.posts.index_waiting().await;
    Ok(ApiJson(search::search(&state.db, &current, &query).await?))
}
