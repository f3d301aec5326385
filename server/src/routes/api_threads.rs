//! The discussions part of the JSON API: threads, posts (idempotent by client id) and the
//! cohort's event log for catching up after a disconnect.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::threads::events::{self, EventView};
use crate::threads::{self, NewPost, NewThread, PostView, ThreadDetail, ThreadView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_threads, create_thread))
        .routes(routes!(get_thread))
        .routes(routes!(create_post))
        .routes(routes!(list_events))
}

/// Created now (201) or found again for a retried client id (200).
fn created_or_found<T: serde::Serialize>(body: T, created: bool) -> Response {
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    (status, ApiJson(body)).into_response()
}

/// The cohort's threads, pinned first, then by latest activity.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/threads", tag = "threads", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ThreadView>), (status = 404, description = "Not found or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
async fn list_threads(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<ThreadView>> {
    Ok(ApiJson(threads::cohort_threads(&state, &current, cohort_id).await?))
}

/// Starts a thread with its first post; a retry with the same `client_id` returns the same thread.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/threads", tag = "threads", params(("cohort_id" = i32, Path)), request_body = NewThread, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = ThreadDetail), (status = 200, description = "Already created by an earlier try with this client_id", body = ThreadDetail),
              (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json")))]
async fn create_thread(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(new): ApiJson<NewThread>,
) -> Result<Response, AppError> {
    let (detail, created) = threads::create_thread(&state, &current, cohort_id, new).await?;
    Ok(created_or_found(detail, created))
}

/// A thread with its posts; hidden and deleted posts keep their place without their text.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}", tag = "threads", params(("thread_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = ThreadDetail), (status = 404, description = "Not found or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
async fn get_thread(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
) -> ApiResult<ThreadDetail> {
    Ok(ApiJson(threads::thread_detail(&state, &current, thread_id).await?))
}

/// Posts in a thread; a retried send with the same `client_id` creates one post.
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/posts", tag = "threads", params(("thread_id" = i32, Path)), request_body = NewPost, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = PostView), (status = 200, description = "Already created by an earlier try with this client_id", body = PostView),
              (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The thread is locked", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json")))]
async fn create_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
    ApiJson(new): ApiJson<NewPost>,
) -> Result<Response, AppError> {
    let (post, created) = threads::create_post(&state, &current, thread_id, new).await?;
    Ok(created_or_found(post, created))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AfterQuery {
    /// The last sequence number the client saw (0 for everything).
    #[serde(default)]
    after: i64,
}

/// The cohort's events after a sequence number, in order (at most 500 at a time).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/events", tag = "threads", params(("cohort_id" = i32, Path), AfterQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<EventView>), (status = 404, description = "Not found or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
async fn list_events(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiQuery(query): ApiQuery<AfterQuery>,
) -> ApiResult<Vec<EventView>> {
    Ok(ApiJson(
        events::events_after(&state, &current, cohort_id, query.after).await?,
    ))
}
