//! The sessions part of the JSON API: planning, the sessions themselves, registration,
//! attendance, the needs intake, availability polls, recaps and calendars.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    BodyProblems, PROBLEM_JSON, PathProblems, ReadProblems, RestrictedReadProblems, RestrictedWriteProblems,
    WriteProblems,
};
use super::extract::{ApiJson, ApiPath, ApiResult};
use crate::auth::CurrentUser;
use crate::domain::planner::PlanningSettings;
use crate::error::{AppError, Problem};
use crate::sessions::participation::{
    self, AddressedInput, PollAnswerInput, PollOptionInput, PollView, PreparationInput, PreparationView, RecapInput,
};
use crate::sessions::planning::{self, PlanAcceptance, PlanQuery, Proposal};
use crate::sessions::registration::{self, AttendanceMark, AttendanceReport};
use crate::sessions::roster::{self, GroupMessage, GroupMessageSent, SessionRoster};
use crate::sessions::{self, ExpertBooking, SessionChanges, SessionView, feeds};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(propose_plan))
        .routes(routes!(accept_plan))
        .routes(routes!(get_planning_rules, update_planning_rules))
        .routes(routes!(get_session, update_session))
        .routes(routes!(book_expert))
        .routes(routes!(register, unregister))
        .routes(routes!(get_attendance, record_attendance))
        .routes(routes!(get_participants))
        .routes(routes!(message_group))
        .routes(routes!(get_my_preparation, save_preparation))
        .routes(routes!(list_preparations))
        .routes(routes!(mark_need_addressed))
        .routes(routes!(get_poll))
        .routes(routes!(add_poll_option))
        .routes(routes!(answer_poll))
        .routes(routes!(write_recap))
        .routes(routes!(session_calendar))
        .routes(routes!(create_calendar_feed, revoke_calendar_feed))
}

/// The cohort's sessions in number order, each placed on the timeline (past, next, later).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/sessions", tag = "sessions", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<SessionView>), ReadProblems, PathProblems))]
async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<SessionView>> {
    Ok(ApiJson(sessions::cohort_sessions(&state, &current, cohort_id).await?))
}

/// Proposes four dates that keep every planning rule, with the dates it skipped and why.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/plan/proposal", tag = "sessions", params(("cohort_id" = i32, Path)), request_body = PlanQuery, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Proposal), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 422, description = "No plan is possible in this period (`plan_invalid_period`, \
                `plan_period_too_short`, `plan_no_free_date`); or the body could not be read (`expected_json`, \
                `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn propose_plan(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(query): ApiJson<PlanQuery>,
) -> ApiResult<Proposal> {
    Ok(ApiJson(planning::propose(&state, &current, cohort_id, query).await?))
}

/// Saves a plan (accepted or set by hand); a time that breaks a rule needs `confirm`.
#[utoipa::path(put, path = "/api/v1/cohorts/{cohort_id}/plan", tag = "sessions", params(("cohort_id" = i32, Path)), request_body = PlanAcceptance, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<SessionView>), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 409, description = "A time breaks planning rules (`planning_rule_broken` with `violations`); \
                send again with confirm.", body = Problem, content_type = PROBLEM_JSON)))]
async fn accept_plan(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(acceptance): ApiJson<PlanAcceptance>,
) -> ApiResult<Vec<SessionView>> {
    Ok(ApiJson(
        planning::accept(&state, &current, cohort_id, acceptance).await?,
    ))
}

/// The planning rules of a programme, which proposals for its cohorts follow (admins and the members of its cohorts).
#[utoipa::path(get, path = "/api/v1/programmes/{programme_id}/planning-rules", tag = "sessions", params(("programme_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PlanningSettings), ReadProblems, PathProblems))]
async fn get_planning_rules(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(programme_id): ApiPath<i32>,
) -> ApiResult<PlanningSettings> {
    Ok(ApiJson(
        planning::planning_rules(&state.db, &current, programme_id).await?.1,
    ))
}

/// Changes a programme's planning rules (admins): session length, the hours a session may take, the gap between
/// sessions and the lead time before the first.
#[utoipa::path(put, path = "/api/v1/programmes/{programme_id}/planning-rules", tag = "sessions", params(("programme_id" = i32, Path)), request_body = PlanningSettings, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PlanningSettings), RestrictedWriteProblems, PathProblems,
              (status = 413, description = "The request body is over the size limit (`body_too_large`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "A rule cannot be used (`planning_invalid_day_start`, \
                `planning_invalid_day_end`, `planning_day_ends_before_start`, `planning_invalid_session_length`, \
                `planning_session_longer_than_day`, `planning_invalid_gap`, `planning_invalid_lead_time`, with the \
                `field`); or the body could not be read (`expected_json`, `invalid_json`, `invalid_fields`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_planning_rules(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(programme_id): ApiPath<i32>,
    ApiJson(settings): ApiJson<PlanningSettings>,
) -> ApiResult<PlanningSettings> {
    Ok(ApiJson(
        planning::update_planning_rules(&state.db, &current, programme_id, settings, state.now()).await?,
    ))
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), ReadProblems, PathProblems))]
async fn get_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(sessions::session_view(&state, &current, session_id).await?))
}

/// Changes a session (facilitators): title, agenda, link, capacity, status, time.
#[utoipa::path(patch, path = "/api/v1/sessions/{session_id}", tag = "sessions", params(("session_id" = i32, Path)), request_body = SessionChanges, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 409, description = "The new time breaks planning rules (`planning_rule_broken` with \
                `violations`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn update_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(changes): ApiJson<SessionChanges>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(
        sessions::update_session(&state, &current, session_id, changes).await?,
    ))
}

/// Books one of the cohort's experts for the session, with a topic.
#[utoipa::path(post, path = "/api/v1/sessions/{session_id}/experts", tag = "sessions", params(("session_id" = i32, Path)), request_body = ExpertBooking, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn book_expert(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(booking): ApiJson<ExpertBooking>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(
        sessions::book_expert(&state, &current, session_id, booking).await?,
    ))
}

/// Registers the caller: a seat, or the waitlist when the session is full.
#[utoipa::path(put, path = "/api/v1/sessions/{session_id}/registration", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), RestrictedWriteProblems, PathProblems,
              (status = 409, description = "Registration is closed (`registration_closed`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn register(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(registration::register(&state, &current, session_id).await?))
}

/// Unregisters the caller; the first on the waitlist gets the seat.
#[utoipa::path(delete, path = "/api/v1/sessions/{session_id}/registration", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), RestrictedWriteProblems, PathProblems))]
async fn unregister(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(registration::unregister(&state, &current, session_id).await?))
}

/// Registrations and attendance, per person and per municipality (facilitators).
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/attendance", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = AttendanceReport), RestrictedReadProblems, PathProblems))]
async fn get_attendance(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<AttendanceReport> {
    Ok(ApiJson(registration::attendance(&state, &current, session_id).await?))
}

/// Who registered (with their municipality), the waitlist in order, and who answered the needs intake and who
/// did not (facilitators and admins).
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/participants", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionRoster), RestrictedReadProblems, PathProblems))]
async fn get_participants(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<SessionRoster> {
    Ok(ApiJson(roster::roster(&state, &current, session_id).await?))
}

/// Sends the prefilled message of a group (`registered`, `waitlisted`, `not_prepared`) by e-mail to each of its
/// people in their language, with an optional note (facilitators and admins).
#[utoipa::path(post, path = "/api/v1/sessions/{session_id}/messages", tag = "sessions", params(("session_id" = i32, Path)), request_body = GroupMessage, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = GroupMessageSent), RestrictedWriteProblems, PathProblems,
              (status = 413, description = "The request body is over the size limit (`body_too_large`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "The note is too long (`message_note_too_long`), or the body could not be \
                read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn message_group(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(message): ApiJson<GroupMessage>,
) -> ApiResult<GroupMessageSent> {
    Ok(ApiJson(
        roster::message_group(&state, &current, session_id, message).await?,
    ))
}

/// Records who came (facilitators, once the session has started).
#[utoipa::path(put, path = "/api/v1/sessions/{session_id}/attendance", tag = "sessions", params(("session_id" = i32, Path)), request_body = Vec<AttendanceMark>, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = AttendanceReport), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 409, description = "The session has not started (`attendance_before_session`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn record_attendance(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(marks): ApiJson<Vec<AttendanceMark>>,
) -> ApiResult<AttendanceReport> {
    Ok(ApiJson(
        registration::record_attendance(&state, &current, session_id, marks).await?,
    ))
}

/// The caller's answers to the needs intake.
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/preparation", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PreparationInput), ReadProblems, PathProblems))]
async fn get_my_preparation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<PreparationInput> {
    Ok(ApiJson(
        participation::my_preparation(&state, &current, session_id).await?,
    ))
}

/// Saves "what do you need help with" and "what can you share".
#[utoipa::path(put, path = "/api/v1/sessions/{session_id}/preparation", tag = "sessions", params(("session_id" = i32, Path)), request_body = PreparationInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PreparationInput), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn save_preparation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(input): ApiJson<PreparationInput>,
) -> ApiResult<PreparationInput> {
    Ok(ApiJson(
        participation::save_preparation(&state, &current, session_id, input).await?,
    ))
}

/// Everyone's needs and offers (the facilitator and the booked experts).
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/preparations", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<PreparationView>), RestrictedReadProblems, PathProblems))]
async fn list_preparations(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<Vec<PreparationView>> {
    Ok(ApiJson(
        participation::preparations(&state, &current, session_id).await?,
    ))
}

/// Marks a member's stated need as taken up in a session of the cohort, or open again
/// (`session_id: null`): the cohort's facilitator.
#[utoipa::path(put, path = "/api/v1/preparations/{preparation_id}/addressed", tag = "sessions", params(("preparation_id" = i32, Path)), request_body = AddressedInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Saved; the need as it now is", body = PreparationView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = "Not the cohort's facilitator (`forbidden`), or sent from another website's page (`cross_origin`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 404, description = "No such answer, or not in the caller's cohorts (`not_found`); also a path parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "The session is not one of the cohort's (`addressed_session_not_in_cohort`), the member stated no need \
                (`preparation_without_needs`); or the body could not be read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn mark_need_addressed(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(preparation_id): ApiPath<i32>,
    ApiJson(input): ApiJson<AddressedInput>,
) -> ApiResult<PreparationView> {
    Ok(ApiJson(
        participation::mark_addressed(&state, &current, preparation_id, input).await?,
    ))
}

/// The availability poll: candidate times, best first by municipalities that can attend.
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/poll", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PollView), ReadProblems, PathProblems))]
async fn get_poll(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> ApiResult<PollView> {
    Ok(ApiJson(participation::poll(&state, &current, session_id).await?))
}

/// Adds a candidate time to the poll (facilitators).
#[utoipa::path(post, path = "/api/v1/sessions/{session_id}/poll/options", tag = "sessions", params(("session_id" = i32, Path)), request_body = PollOptionInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PollView), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn add_poll_option(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(input): ApiJson<PollOptionInput>,
) -> ApiResult<PollView> {
    Ok(ApiJson(
        participation::add_poll_option(&state, &current, session_id, input).await?,
    ))
}

/// Answers the poll: yes, if need be, or no per time.
#[utoipa::path(put, path = "/api/v1/sessions/{session_id}/poll/answers", tag = "sessions", params(("session_id" = i32, Path)), request_body = Vec<PollAnswerInput>, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PollView), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn answer_poll(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(answers): ApiJson<Vec<PollAnswerInput>>,
) -> ApiResult<PollView> {
    Ok(ApiJson(
        participation::answer_poll(&state, &current, session_id, answers).await?,
    ))
}

/// Writes (and optionally publishes) the recap after the session.
#[utoipa::path(put, path = "/api/v1/sessions/{session_id}/recap", tag = "sessions", params(("session_id" = i32, Path)), request_body = RecapInput, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = SessionView), RestrictedWriteProblems, PathProblems,
              BodyProblems,
              (status = 409, description = "The session has not started (`recap_before_session`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn write_recap(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
    ApiJson(input): ApiJson<RecapInput>,
) -> ApiResult<SessionView> {
    Ok(ApiJson(
        participation::write_recap(&state, &current, session_id, input).await?,
    ))
}

/// Calendar response with the iCalendar media type, as a download.
pub fn ics_response(file_name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-cache".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The session as an iCalendar file (Europe/Oslo, stable UID, SEQUENCE per change).
#[utoipa::path(get, path = "/api/v1/sessions/{session_id}/calendar.ics", tag = "sessions", params(("session_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "An RFC 5545 calendar", content_type = "text/calendar", body = String),
              ReadProblems, PathProblems))]
async fn session_calendar(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i32>,
) -> Result<Response, AppError> {
    let body = feeds::session_ics(&state, &current, session_id).await?;
    Ok(ics_response(&format!("samling-{session_id}.ics"), body))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarFeed {
    /// Secret: anyone with it can read the caller's sessions. Shown once; revoke to stop it.
    pub url: String,
}

/// Makes a personal calendar feed URL with all the caller's sessions; an older URL stops working.
#[utoipa::path(post, path = "/api/v1/me/calendar-feed", tag = "sessions", security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = CalendarFeed), WriteProblems))]
async fn create_calendar_feed(State(state): State<AppState>, current: CurrentUser) -> Result<Response, AppError> {
    let url = feeds::create_feed(&state, &current).await?;
    Ok((StatusCode::CREATED, ApiJson(CalendarFeed { url })).into_response())
}

/// Revokes the caller's calendar feed URL.
#[utoipa::path(delete, path = "/api/v1/me/calendar-feed", tag = "sessions", security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), WriteProblems))]
async fn revoke_calendar_feed(State(state): State<AppState>, current: CurrentUser) -> Result<StatusCode, AppError> {
    feeds::revoke_feed(&state, &current).await?;
    Ok(StatusCode::NO_CONTENT)
}
