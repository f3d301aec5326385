//! The JSON API for project profiles (needs, offers, match suggestions), lessons learned and
//! search.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, PROBLEM_JSON, PathProblems, QueryProblems, ReadProblems, WriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult, Query};
use crate::auth::CurrentUser;
use crate::error::Problem;
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
        .routes(routes!(search_everything))
}

// Answers several operations here give, for the document.
const NOT_A_PROJECT: &str =
    "Not a project in the caller's cohorts (`not_found`); also a path parameter that is not a number.";
const NOT_LEAD_OR_FACILITATOR: &str =
    "Not this project's lead or the facilitator (`forbidden`), or sent from another website's page (`cross_origin`).";

/// A project's profile: its grant record, needs and offers, lesson learned, and suggestions
/// from the cohorts the caller may see.
#[utoipa::path(get, path = "/api/v1/projects/{grant_id}", tag = "projects", params(("grant_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The profile", body = ProfileView), ReadProblems, PathProblems,
              (status = 404, description = NOT_A_PROJECT, body = Problem, content_type = PROBLEM_JSON)))]
async fn get_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
) -> ApiResult<ProfileView> {
    Ok(ApiJson(projects::profile(&state.db, &current, grant_id).await?))
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
    Ok(ApiJson(projects::lesson(&state.db, &current, lesson_id).await?))
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
