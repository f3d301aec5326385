//! Cohorts: the ones the caller may see, one with its members, invitations (one address,
//! several at once, every project contact), resending and withdrawing them, removing a member.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, Conflict, PathProblems, ReadProblems, RestrictedReadProblems, RestrictedWriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult};
use crate::auth::CurrentUser;
use crate::cohorts::invitations::{
    self, BatchInvitation, BulkInvitationResult, ContactView, InvitationView, NewInvitation,
};
use crate::cohorts::{self, CohortView, MemberView};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cohorts))
        .routes(routes!(get_cohort))
        .routes(routes!(remove_member))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(list_contacts))
        .routes(routes!(invite_contacts))
        .routes(routes!(invite_batch))
        .routes(routes!(resend_invitation))
        .routes(routes!(withdraw_invitation))
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

/// Invitations of a cohort not yet accepted, with their state: invited, bounced (the mail
/// server refused the mail) or expired (facilitators and admins).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/invitations", tag = "cohorts", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<InvitationView>), RestrictedReadProblems, PathProblems))]
async fn list_invitations(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<InvitationView>> {
    Ok(ApiJson(invitations::pending(&state, &current, cohort_id).await?))
}

/// Invites an address to the cohort with a role and mails the link; an expert may be booked for
/// a session at once (`session_id`, `topic`), which the mail names. The invitation is created
/// even when the mail server refuses the mail: then its `state` is `bounced` and it can be
/// resent. 409 `already_member` or `already_invited` for an address in the cohort or with an
/// open invitation.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/invitations", tag = "cohorts", params(("cohort_id" = i32, Path)), request_body = NewInvitation, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created (its `state` says whether the mail went out)", body = InvitationView), RestrictedWriteProblems, PathProblems,
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

/// The cohort's funded projects with their contact from the grant record and where the
/// contact's invitation stands (facilitators and admins).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/contacts", tag = "cohorts", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ContactView>), RestrictedReadProblems, PathProblems))]
async fn list_contacts(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<ContactView>> {
    Ok(ApiJson(invitations::contacts(&state, &current, cohort_id).await?))
}

/// Invites every project contact of the cohort not yet invited, as project lead, and mails
/// them. A second call invites nobody; two at once never invite anyone twice.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/invitations/contacts", tag = "cohorts", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "What was done", body = BulkInvitationResult), RestrictedWriteProblems, PathProblems))]
async fn invite_contacts(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<BulkInvitationResult> {
    Ok(ApiJson(
        invitations::invite_contacts(&state, &current, cohort_id).await?,
    ))
}

/// Invites several people with one role: one a line, `Name <address>` or `address, name`.
/// Every line is checked first: a line that cannot be read is refused as
/// `invalid_person_line` naming the line, and nobody is invited. Addresses already in the
/// cohort or invited are reported, not invited again.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/invitations/batch", tag = "cohorts", params(("cohort_id" = i32, Path)), request_body = BatchInvitation, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "What was done", body = BulkInvitationResult), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn invite_batch(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(body): ApiJson<BatchInvitation>,
) -> ApiResult<BulkInvitationResult> {
    Ok(ApiJson(
        invitations::invite_batch(&state, &current, cohort_id, body).await?,
    ))
}

/// Sends an invitation again with a new link and expiry; the old link stops working.
/// 409 `invitation_accepted` once it is accepted.
#[utoipa::path(post, path = "/api/v1/invitations/{invitation_id}/resend", tag = "cohorts", params(("invitation_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Sent again (its `state` says whether the mail went out)", body = InvitationView), RestrictedWriteProblems, PathProblems,
              (status = 409, response = Conflict)))]
async fn resend_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(invitation_id): ApiPath<i32>,
) -> ApiResult<InvitationView> {
    Ok(ApiJson(invitations::resend(&state, &current, invitation_id).await?))
}

/// Withdraws an invitation not yet accepted: its link stops working.
/// 409 `invitation_accepted` once it is accepted.
#[utoipa::path(delete, path = "/api/v1/invitations/{invitation_id}", tag = "cohorts", params(("invitation_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Withdrawn"), RestrictedWriteProblems, PathProblems, (status = 409, response = Conflict)))]
async fn withdraw_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(invitation_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    invitations::withdraw(&state, &current, invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
