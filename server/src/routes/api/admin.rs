//! Programme administration: programmes, facilitators, people, the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, PathProblems, RestrictedReadProblems, RestrictedWriteProblems};
use super::extract::{ApiJson, ApiPath, ApiResult};
use crate::auth::{Caller, CurrentUser};
use crate::cohorts::{self, NewProgramme, ProgrammeView};
use crate::entities::audit_log;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::{self, UserView, user_view};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_programmes, create_programme))
        .routes(routes!(appoint_facilitator))
        .routes(routes!(list_users))
        .routes(routes!(deactivate_user))
        .routes(routes!(list_audit))
}

/// All programmes.
#[utoipa::path(get, path = "/api/v1/admin/programmes", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ProgrammeView>), RestrictedReadProblems))]
async fn list_programmes(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ProgrammeView>> {
    Ok(ApiJson(cohorts::programmes(&state.db, &current).await?))
}

/// Creates a programme; its cohorts form from the grants already imported.
#[utoipa::path(post, path = "/api/v1/admin/programmes", tag = "admin", request_body = NewProgramme, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = ProgrammeView), RestrictedWriteProblems, BodyProblems))]
async fn create_programme(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<NewProgramme>,
) -> Result<Response, AppError> {
    let created = cohorts::create_programme(&state.db, Caller::Person(&current), body, state.now()).await?;
    let view = cohorts::programmes(&state.db, &current)
        .await?
        .into_iter()
        .find(|p| p.id == created.id)
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, ApiJson(view)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Appointment {
    #[schema(
        max_length = 254,
        pattern = r#"^[^@\s<>",\x00-\x1f\x7f-\x9f]+@[^@\s<>",.\x00-\x1f\x7f-\x9f]+(\.[^@\s<>",.\x00-\x1f\x7f-\x9f]+)+$"#
    )]
    pub email: String,
    /// Needed when the person is new to Samling.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: String,
}

/// Makes a person the facilitator of a cohort and mails them which cohort it is, with a
/// one-time sign-in link (valid 15 minutes). A refused mail does not undo the appointment.
#[utoipa::path(put, path = "/api/v1/admin/cohorts/{cohort_id}/facilitator", tag = "admin", params(("cohort_id" = i32, Path)), request_body = Appointment, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = UserView), RestrictedWriteProblems, PathProblems, BodyProblems))]
async fn appoint_facilitator(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(body): ApiJson<Appointment>,
) -> ApiResult<UserView> {
    let appointed = cohorts::appoint_and_notify(&state, &current, cohort_id, &body.email, &body.name).await?;
    Ok(ApiJson(user_view(&appointed.facilitator)))
}

/// Everyone with an account.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<UserView>), RestrictedReadProblems))]
async fn list_users(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<UserView>> {
    Ok(ApiJson(users::all_users(&state.db, &current).await?))
}

/// Deactivates a person and ends their sessions.
#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/deactivate", tag = "admin", params(("user_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), RestrictedWriteProblems, PathProblems))]
async fn deactivate_user(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(user_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    users::deactivate(&state, &current, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i32,
    pub actor_user_id: Option<i32>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(entry: audit_log::Model) -> Self {
        AuditEntry {
            id: entry.id,
            actor_user_id: entry.actor_user_id,
            detail: serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null),
            action: entry.action,
            subject_type: entry.subject_type,
            subject_id: entry.subject_id,
            created_at: entry.created_at,
        }
    }
}

/// The latest administrative actions, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<AuditEntry>), RestrictedReadProblems))]
async fn list_audit(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<AuditEntry>> {
    Ok(ApiJson(
        crate::audit::latest(&state.db, &current, 500)
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect(),
    ))
}
