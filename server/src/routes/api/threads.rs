//! The discussions part of the JSON API: threads, posts (idempotent by client id), reactions,
//! read positions, moderation, and the cohort's event log for catching up after a disconnect.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    BodyProblems, PROBLEM_JSON, PathProblems, QueryProblems, ReadProblems, RestrictedWriteProblems, TooManyPosts,
    VersionConflict, WriteProblems,
};
use super::extract::{ApiJson, ApiPath, ApiResult, Query};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::threads::changes::{self, AnswerMark, PostEdit, ReadPosition, RevisionView};
use crate::threads::events::{self, EventView};
use crate::threads::moderation::{self, MuteView, NewMute, NewReport, QueueItem, ThreadFlags, Visibility};
use crate::threads::{self, NewPost, NewThread, PostView, ThreadDetail, ThreadSummary, ThreadView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_threads, create_thread))
        .routes(routes!(get_thread, update_thread))
        .routes(routes!(mark_answered))
        .routes(routes!(mark_read))
        .routes(routes!(create_post))
        .routes(routes!(edit_post, delete_post))
        .routes(routes!(list_revisions))
        .routes(routes!(add_reaction, remove_reaction))
        .routes(routes!(report_post))
        .routes(routes!(dismiss_reports))
        .routes(routes!(hide_post))
        .routes(routes!(restore_post))
        .routes(routes!(moderation_queue))
        .routes(routes!(list_mutes, mute_member))
        .routes(routes!(unmute_member))
        .routes(routes!(list_events))
        .routes(routes!(unread_counts))
}

// The refusals several operations here give, for the document.
const NOT_ALLOWED_OR_MUTED: &str =
    "Not allowed (`forbidden`), muted (`muted`), or sent from another website's page (`cross_origin`).";
const NOT_THE_AUTHOR: &str = "Not the author (`forbidden`), or sent from another website's page (`cross_origin`).";
const NOT_A_MODERATOR: &str = "Not a moderator of this cohort (`forbidden`).";
const NOT_A_MODERATOR_CHANGE: &str =
    "Not a moderator of this cohort (`forbidden`), or sent from another website's page (`cross_origin`).";
const REASON_NEEDED: &str = "A reason is needed (`reason_required`); or the body could not be read (`expected_json`, \
                             `invalid_json`, `invalid_fields` with the `field`).";

// For the document: the server checks `changes::REACTIONS`; a test keeps the two the same.
/// A reaction to a post.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum Reaction {
    ThumbsUp,
    Heart,
    Celebrate,
    Idea,
    Thanks,
}

/// Created now (201) or found again for a retried client id (200).
fn created_or_found<T: serde::Serialize>(body: T, created: bool) -> Response {
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    (status, ApiJson(body)).into_response()
}

/// The cohort's threads, pinned first, then by latest activity, with the caller's unread counts.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/threads", tag = "threads", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ThreadSummary>), ReadProblems, PathProblems))]
async fn list_threads(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<ThreadSummary>> {
    Ok(ApiJson(threads::cohort_threads(&state, &current, cohort_id).await?))
}

/// Starts a thread with its first post; a retry with the same `client_id` returns the same thread.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/threads", tag = "threads", params(("cohort_id" = i32, Path)), request_body = NewThread, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = ThreadDetail),
              (status = 200, description = "Already created by an earlier try with this client_id", body = ThreadDetail),
              WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_ALLOWED_OR_MUTED, body = Problem, content_type = PROBLEM_JSON),
              (status = 429, response = TooManyPosts)))]
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
    responses((status = 200, description = "Success", body = ThreadDetail), ReadProblems, PathProblems))]
async fn get_thread(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
) -> ApiResult<ThreadDetail> {
    Ok(ApiJson(threads::thread_detail(&state, &current, thread_id).await?))
}

/// Moderators lock, unlock, pin or unpin a thread, sending the `version` they saw.
#[utoipa::path(patch, path = "/api/v1/threads/{thread_id}", tag = "moderation", params(("thread_id" = i32, Path)), request_body = ThreadFlags, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The thread now", body = ThreadView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON), (status = 409, response = VersionConflict)))]
async fn update_thread(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
    ApiJson(flags): ApiJson<ThreadFlags>,
) -> ApiResult<ThreadView> {
    Ok(ApiJson(
        moderation::set_thread_flags(&state, &current, thread_id, flags).await?,
    ))
}

/// Marks the post that answers the thread (or none): the asker, the facilitator or an expert.
#[utoipa::path(put, path = "/api/v1/threads/{thread_id}/answer", tag = "threads", params(("thread_id" = i32, Path)), request_body = AnswerMark, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The thread now", body = ThreadView), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 422, description = "Not a post of this thread (`unknown_post`); or the body could not be read (`expected_json`, \
                `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn mark_answered(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
    ApiJson(mark): ApiJson<AnswerMark>,
) -> ApiResult<ThreadView> {
    Ok(ApiJson(
        changes::mark_answered(&state, &current, thread_id, mark).await?,
    ))
}

/// Moves the caller's read position in the thread forward (never back).
#[utoipa::path(put, path = "/api/v1/threads/{thread_id}/read", tag = "threads", params(("thread_id" = i32, Path)), request_body = ReadPosition, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), WriteProblems, PathProblems, BodyProblems))]
async fn mark_read(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
    ApiJson(position): ApiJson<ReadPosition>,
) -> Result<StatusCode, AppError> {
    changes::mark_read(&state, &current, thread_id, position).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts in a thread; a retried send with the same `client_id` creates one post.
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/posts", tag = "threads", params(("thread_id" = i32, Path)), request_body = NewPost, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = PostView),
              (status = 200, description = "Already created by an earlier try with this client_id", body = PostView),
              WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_ALLOWED_OR_MUTED, body = Problem, content_type = PROBLEM_JSON),
              (status = 409, description = "The thread is locked (`thread_locked`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 429, response = TooManyPosts)))]
async fn create_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(thread_id): ApiPath<i32>,
    ApiJson(new): ApiJson<NewPost>,
) -> Result<Response, AppError> {
    let (post, created) = threads::create_post(&state, &current, thread_id, new).await?;
    Ok(created_or_found(post, created))
}

/// The author edits a post; the earlier text is kept in its history.
#[utoipa::path(patch, path = "/api/v1/posts/{post_id}", tag = "threads", params(("post_id" = i32, Path)), request_body = PostEdit, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_THE_AUTHOR, body = Problem, content_type = PROBLEM_JSON),
              (status = 409, description = "Deleted or hidden (`post_deleted`, `post_hidden`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 429, response = TooManyPosts)))]
async fn edit_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
    ApiJson(edit): ApiJson<PostEdit>,
) -> ApiResult<PostView> {
    Ok(ApiJson(changes::edit_post(&state, &current, post_id, edit).await?))
}

/// The author deletes a post; it stays in place, shown as deleted.
#[utoipa::path(delete, path = "/api/v1/posts/{post_id}", tag = "threads", params(("post_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems,
              (status = 403, description = NOT_THE_AUTHOR, body = Problem, content_type = PROBLEM_JSON)))]
async fn delete_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
) -> ApiResult<PostView> {
    Ok(ApiJson(changes::delete_post(&state, &current, post_id).await?))
}

/// The earlier texts of a post, oldest first.
#[utoipa::path(get, path = "/api/v1/posts/{post_id}/revisions", tag = "threads", params(("post_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<RevisionView>), ReadProblems, PathProblems))]
async fn list_revisions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
) -> ApiResult<Vec<RevisionView>> {
    Ok(ApiJson(changes::post_revisions(&state, &current, post_id).await?))
}

/// Adds the caller's reaction (`thumbs_up`, `heart`, `celebrate`, `idea` or `thanks`).
#[utoipa::path(put, path = "/api/v1/posts/{post_id}/reactions/{reaction}", tag = "threads", params(("post_id" = i32, Path), ("reaction" = inline(Reaction), Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems,
              (status = 409, description = "The post is deleted or hidden (`post_deleted`, `post_hidden`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "Unknown reaction (`invalid_reaction`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn add_reaction(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((post_id, reaction)): ApiPath<(i32, String)>,
) -> ApiResult<PostView> {
    Ok(ApiJson(
        changes::react(&state, &current, post_id, &reaction, true).await?,
    ))
}

/// Takes the caller's reaction back.
#[utoipa::path(delete, path = "/api/v1/posts/{post_id}/reactions/{reaction}", tag = "threads", params(("post_id" = i32, Path), ("reaction" = inline(Reaction), Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems,
              (status = 409, description = "The post is deleted or hidden (`post_deleted`, `post_hidden`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "Unknown reaction (`invalid_reaction`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn remove_reaction(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((post_id, reaction)): ApiPath<(i32, String)>,
) -> ApiResult<PostView> {
    Ok(ApiJson(
        changes::react(&state, &current, post_id, &reaction, false).await?,
    ))
}

/// Reports a post to the cohort's moderators.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/reports", tag = "moderation", params(("post_id" = i32, Path)), request_body = NewReport, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Reported"), WriteProblems, PathProblems, BodyProblems,
              (status = 422, description = REASON_NEEDED, body = Problem, content_type = PROBLEM_JSON)))]
async fn report_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
    ApiJson(report): ApiJson<NewReport>,
) -> Result<StatusCode, AppError> {
    moderation::report_post(&state, &current, post_id, report).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Closes a post's open reports without hiding it.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/reports/dismiss", tag = "moderation", params(("post_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), WriteProblems, PathProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON)))]
async fn dismiss_reports(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    moderation::dismiss_reports(&state, &current, post_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hides a post with a reason, which the author is told by e-mail.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/hide", tag = "moderation", params(("post_id" = i32, Path)), request_body = Visibility, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON), (status = 409, response = VersionConflict),
              (status = 422, description = REASON_NEEDED, body = Problem, content_type = PROBLEM_JSON)))]
async fn hide_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
    ApiJson(request): ApiJson<Visibility>,
) -> ApiResult<PostView> {
    Ok(ApiJson(
        moderation::set_post_hidden(&state, &current, post_id, true, request).await?,
    ))
}

/// Shows a hidden post again, with a reason the author is told.
#[utoipa::path(post, path = "/api/v1/posts/{post_id}/restore", tag = "moderation", params(("post_id" = i32, Path)), request_body = Visibility, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The post now", body = PostView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON), (status = 409, response = VersionConflict),
              (status = 422, description = REASON_NEEDED, body = Problem, content_type = PROBLEM_JSON)))]
async fn restore_post(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(post_id): ApiPath<i32>,
    ApiJson(request): ApiJson<Visibility>,
) -> ApiResult<PostView> {
    Ok(ApiJson(
        moderation::set_post_hidden(&state, &current, post_id, false, request).await?,
    ))
}

/// Reported and hidden posts of the cohort, for its moderators.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/moderation", tag = "moderation", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<QueueItem>), ReadProblems, PathProblems,
              (status = 403, description = NOT_A_MODERATOR, body = Problem, content_type = PROBLEM_JSON)))]
async fn moderation_queue(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<QueueItem>> {
    Ok(ApiJson(
        moderation::moderation_queue(&state, &current, cohort_id).await?,
    ))
}

/// The cohort's members who are muted now.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/mutes", tag = "moderation", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<MuteView>), ReadProblems, PathProblems,
              (status = 403, description = NOT_A_MODERATOR, body = Problem, content_type = PROBLEM_JSON)))]
async fn list_mutes(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<MuteView>> {
    Ok(ApiJson(moderation::active_mutes(&state, &current, cohort_id).await?))
}

/// Mutes a member for a time: they keep reading but cannot post.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/mutes", tag = "moderation", params(("cohort_id" = i32, Path)), request_body = NewMute, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Muted", body = MuteView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON)))]
async fn mute_member(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(new): ApiJson<NewMute>,
) -> Result<Response, AppError> {
    let mute = moderation::mute_member(&state, &current, cohort_id, new).await?;
    Ok((StatusCode::CREATED, ApiJson(mute)).into_response())
}

/// Ends a member's mute early.
#[utoipa::path(delete, path = "/api/v1/cohorts/{cohort_id}/mutes/{user_id}", tag = "moderation", params(("cohort_id" = i32, Path), ("user_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), WriteProblems, PathProblems,
              (status = 403, description = NOT_A_MODERATOR_CHANGE, body = Problem, content_type = PROBLEM_JSON)))]
async fn unmute_member(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((cohort_id, user_id)): ApiPath<(i32, i32)>,
) -> Result<StatusCode, AppError> {
    moderation::unmute_member(&state, &current, cohort_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AfterQuery {
    /// The last sequence number the client saw (0 for everything).
    #[serde(default)]
    after: i64,
}

/// The cohort's events after a sequence number, in order (at most 500 at a time).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/events", tag = "threads", params(("cohort_id" = i32, Path), AfterQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<EventView>), ReadProblems, PathProblems, QueryProblems))]
async fn list_events(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    Query(query): Query<AfterQuery>,
) -> ApiResult<Vec<EventView>> {
    Ok(ApiJson(
        events::events_after(&state, &current, cohort_id, query.after).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CohortUnread {
    pub cohort_id: i32,
    pub unread: usize,
}

/// Unread posts per cohort of the caller, for a dashboard.
#[utoipa::path(get, path = "/api/v1/me/unread", tag = "threads", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<CohortUnread>), ReadProblems))]
async fn unread_counts(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<CohortUnread>> {
    let mut counts: Vec<CohortUnread> = threads::unread_by_cohort(&state, &current)
        .await?
        .into_iter()
        .map(|(cohort_id, unread)| CohortUnread { cohort_id, unread })
        .collect();
    counts.sort_by_key(|count| count.cohort_id);
    Ok(ApiJson(counts))
}

#[cfg(test)]
mod tests {
    use super::Reaction;
    use crate::threads::changes::REACTIONS;

    #[test]
    fn the_documented_reactions_are_the_accepted_ones() {
        let documented: Vec<String> = [
            Reaction::ThumbsUp,
            Reaction::Heart,
            Reaction::Celebrate,
            Reaction::Idea,
            Reaction::Thanks,
        ]
        .iter()
        .map(|reaction| serde_json::to_value(reaction).map(|value| value.as_str().unwrap_or_default().to_string()))
        .collect::<Result<_, _>>()
        .expect("reactions serialise");
        assert_eq!(documented, REACTIONS);
    }
}
