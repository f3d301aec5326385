//! The surveys part of the JSON API: whether a session's survey or a cohort's closing survey is
//! open and answered by the caller, and answering it (once, anonymously).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{PROBLEM_JSON, PathProblems, ReadProblems, RestrictedWriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::surveys::{self, ClosingSurveyInput, SessionSurveyInput, SurveyStatus};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session_survey, answer_session_survey))
        .routes(routes!(closing_survey, answer_closing_survey))
}

/// Whether the session's survey is open, whether the caller may answer it and whether they did.
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/survey", tag = "surveys", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SurveyStatus), ReadProblems, PathProblems))]
async fn session_survey(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<SurveyStatus> {
    Ok(ApiJson(surveys::session_status(&state, &current, session_id).await?))
}

/// Answers the session's survey, once (project leads and experts who took part, after the
/// session has ended). The answer is stored without the person.
#[utoipa::path(post, path = "/api/v1/sessions/{session_id}/survey", tag = "surveys", params(("session_id" = i32, Path)), request_body = SessionSurveyInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Answered", body = SurveyStatus), RestrictedWriteProblems, PathProblems,
              (status = 409, description = "The session has not ended or was cancelled (`survey_not_open`), or the \
                caller has answered already (`survey_already_answered`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 413, description = "The request body is over the size limit (`body_too_large`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "Usefulness is not 1–5 (`survey_usefulness_out_of_range`, field \
                `usefulness`), a text is over 2,000 characters (`survey_text_too_long`, field `helped` or `change`); \
                or the body could not be read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn answer_session_survey(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(input): ApiJson<SessionSurveyInput>,
) -> Result<Response, AppError> {
    surveys::answer_session(&state, &current, session_id, input).await?;
    let status = surveys::session_status(&state, &current, session_id).await?;
    Ok((StatusCode::CREATED, ApiJson(status)).into_response())
}

/// Whether the cohort's closing survey is open (its last session has ended), whether the caller
/// may answer it and whether they did (in this or another cohort of the programme).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/closing-survey", tag = "surveys", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SurveyStatus), ReadProblems, PathProblems))]
async fn closing_survey(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<SurveyStatus> {
    Ok(ApiJson(surveys::closing_status(&state, &current, cohort_id).await?))
}

/// Answers the programme's closing survey from this cohort, once per person and programme
/// (the cohort's project leads and experts, after its last session). Stored without the person.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/closing-survey", tag = "surveys", params(("cohort_id" = i32, Path)), request_body = ClosingSurveyInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Answered", body = SurveyStatus), RestrictedWriteProblems, PathProblems,
              (status = 409, description = "The cohort's last session has not ended (`survey_not_open`), or the \
                caller has answered already (`survey_already_answered`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 413, description = "The request body is over the size limit (`body_too_large`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "A text is over 2,000 characters (`survey_text_too_long`, field `helped` \
                or `change`); or the body could not be read (`expected_json`, `invalid_json`, `invalid_fields` with \
                the `field`, e.g. a `recommend` that is not yes, no or unsure).", body = Problem, content_type = PROBLEM_JSON)))]
async fn answer_closing_survey(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(input): ApiJson<ClosingSurveyInput>,
) -> Result<Response, AppError> {
    surveys::answer_closing(&state, &current, cohort_id, input).await?;
    let status = surveys::closing_status(&state, &current, cohort_id).await?;
    Ok((StatusCode::CREATED, ApiJson(status)).into_response())
}
