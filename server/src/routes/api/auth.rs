//! Signing in and out: who am I, sign-in links, sessions, accepting an invitation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, PublicWriteProblems, ReadProblems, TooManyRequests, WriteProblems};
use super::extract::{ApiJson, ApiResult};
use crate::auth::CurrentUser;
use crate::auth::rate_limit::ClientIp;
use crate::auth::sign_in::{
    self, cleared_session_cookie, issue_session, redeem_sign_in_secret, request_sign_in_link, session_cookie,
};
use crate::cohorts::invitations;
use crate::domain::roles::Role;
use crate::entities::user;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::{UserView, user_view};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me))
        .routes(routes!(request_link))
        .routes(routes!(create_session, delete_session))
        .routes(routes!(accept_invitation))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub cohort_id: i32,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: UserView,
    pub memberships: Vec<Membership>,
}

/// The signed-in person and their memberships.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Me), ReadProblems))]
async fn get_me(current: CurrentUser) -> ApiResult<Me> {
    let mut memberships: Vec<Membership> = current
        .actor
        .memberships
        .iter()
        .map(|(cohort_id, role)| Membership {
            cohort_id: *cohort_id,
            role: *role,
        })
        .collect();
    memberships.sort_by_key(|membership| membership.cohort_id);
    Ok(ApiJson(Me {
        user: user_view(&current.user),
        memberships,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInLinkRequest {
    #[schema(
        max_length = 254,
        pattern = r#"^[^@\s<>",\x00-\x1f\x7f-\x9f]+@[^@\s<>",.\x00-\x1f\x7f-\x9f]+(\.[^@\s<>",.\x00-\x1f\x7f-\x9f]+)+$"#
    )]
    pub email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub message: String,
}

/// Sends a sign-in link if the address belongs to someone; the answer is the same either way.
#[utoipa::path(post, path = "/api/v1/auth/sign-in-link", tag = "auth", request_body = SignInLinkRequest,
    responses((status = 202, description = "Accepted", body = Accepted), PublicWriteProblems, BodyProblems,
              (status = 429, response = TooManyRequests)))]
async fn request_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SignInLinkRequest>,
) -> Result<Response, AppError> {
    request_sign_in_link(&state, &body.email, ip).await?;
    let message = crate::i18n::Tr::new(crate::i18n::Language::Nb)
        .t("sign_in.sent_body")
        .to_string();
    Ok((StatusCode::ACCEPTED, ApiJson(Accepted { message })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// The `token` parameter of the e-mailed link.
    pub token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Session {
    /// A bearer token; the same value is set as the session cookie.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
}

fn session_response(
    state: &AppState,
    jar: CookieJar,
    person: &user::Model,
) -> Result<(CookieJar, ApiJson<Session>), AppError> {
    let token = issue_session(state, person)?;
    let expires_at = state.now() + Duration::hours(state.settings.session_hours);
    let jar = jar.add(session_cookie(state, token.clone()));
    Ok((
        jar,
        ApiJson(Session {
            token,
            expires_at,
            user: user_view(person),
        }),
    ))
}

/// Exchanges a sign-in link's token (once) for a session.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "Success", body = Session), PublicWriteProblems, BodyProblems))]
async fn create_session(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, AppError> {
    let person = redeem_sign_in_secret(&state, &body.token).await?;
    Ok(session_response(&state, jar, &person)?.into_response())
}

/// Signs out: every session token of the person stops working.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), WriteProblems))]
async fn delete_session(
    State(state): State<AppState>,
    current: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    sign_in::sign_out(&state, &current).await?;
    Ok((jar.add(cleared_session_cookie(&state)), StatusCode::NO_CONTENT).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AcceptedInvitation {
    pub cohort_id: i32,
    pub session: Session,
}

/// Accepts an invitation (once) and signs the person in as a member.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "Success", body = AcceptedInvitation), PublicWriteProblems, BodyProblems))]
async fn accept_invitation(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, AppError> {
    let (person, cohort_id) = invitations::accept(&state, &body.token).await?;
    let (jar, ApiJson(session)) = session_response(&state, jar, &person)?;
    Ok((jar, ApiJson(AcceptedInvitation { cohort_id, session })).into_response())
}
