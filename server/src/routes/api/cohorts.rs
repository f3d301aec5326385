//! Cohorts: the ones the caller may see, one with its members, invitations, removing a member.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, Conflict, PathProblems, ReadProblems, RestrictedReadProblems, RestrictedWriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult};
use crate::auth::CurrentUser;
use crate::cohorts::invitations::{self, InvitationView, NewInvitation};
use crate::cohorts::{self, CohortView, MemberView};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cohorts))
        .routes(routes!(get_cohort))
        .routes(routes!(remove_member))
        .routes(routes!(list_invitations, create_invitation))
}

/// Takes a person out of a cohort; their open live connections close.
#[utoipa::path(delete, path = "/api/v1/cohorts/{cohort_id}/members/{user_id}", tag = "cohorts", params(("cohort_id" = i32, Path), ("user_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Removed"), RestrictedWriteProblems, PathProblems))]
async fn remove_member(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((cohort_id, user_id)): ApiPath<(i32, i32)>,
) -> Result<StatusCode, AppError> {
    cohorts::remove_member(&state, &current, cohort_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cohorts the caller may see, with their theme and member projects.
#[utoipa::path(get, path = "/api/v1/cohorts", tag = "cohorts", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<CohortView>), ReadProblems))]
async fn list_cohorts(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<CohortView>> {
    Ok(ApiJson(
        cohorts::cohort_views(&state.db, Some(&current), current.language()).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CohortDetail {
    pub cohort: CohortView,
    pub members: Vec<MemberView>,
}

/// One cohort with its members; 404 for someone who is not a member.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}", tag = "cohorts", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = CohortDetail), ReadProblems, PathProblems))]
async fn get_cohort(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<CohortDetail> {
    let cohort = cohorts::cohort_view(&state.db, &current, cohort_id).await?;
    let members = cohorts::members(&state.db, &current, cohort_id).await?;
    Ok(ApiJson(CohortDetail { cohort, members }))
}

/// Open invitations of a cohort (facilitators and admins).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/invitations", tag = "cohorts", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<InvitationView>), RestrictedReadProblems, PathProblems))]
async fn list_invitations(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<InvitationView>> {
    Ok(ApiJson(invitations::pending(&state, &current, cohort_id).await?))
}

/// Invites an address to the cohort with a role and mails the link.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/invitations", tag = "cohorts", params(("cohort_id" = i32, Path)), request_body = NewInvitation, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = InvitationView), RestrictedWriteProblems, PathProblems,
              BodyProblems, (status = 409, response = Conflict)))]
async fn create_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<Response, AppError> {
    let created = invitations::invite(&state, &current, cohort_id, body).await?;
    Ok((StatusCode::CREATED, ApiJson(created)).into_response())
}
