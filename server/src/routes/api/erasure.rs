//! Erasing a person: asking for one's own erasure (a confirmation link by mail), confirming it
//! with the link's token, and an admin's erasure of someone who asked by letter.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Accepted, TokenRequest};
use super::doc::{
    BodyProblems, Conflict, PROBLEM_JSON, PathProblems, PublicWriteProblems, RestrictedWriteProblems, WriteProblems,
};
use super::extract::{ApiJson, ApiPath};
use crate::auth::CurrentUser;
use crate::auth::sign_in::cleared_session_cookie;
use crate::error::{AppError, Problem};
use crate::i18n::Tr;
use crate::privacy::erase::{self, PostsChoice};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_erasure))
        .routes(routes!(confirm_erasure))
        .routes(routes!(erase_user))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ErasureRequest {
    /// What happens to the person's posts: `keep` (shown as «Tidligere deltaker») or `delete`.
    pub posts: PostsChoice,
}

/// Asks to erase one's own account: a confirmation link (single use, 24 hours) is mailed to the
/// person. The answer is the same whether the mail goes out at once or later.
#[utoipa::path(post, path = "/api/v1/me/erasure", tag = "auth", request_body = ErasureRequest, security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "Accepted: the confirmation link is on its way", body = Accepted), WriteProblems, BodyProblems,
        (status = 409, description = "The person is the only active admin (`last_admin`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn request_erasure(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<Response, AppError> {
    erase::request_erasure(&state, &current, body.posts).await?;
    let message = Tr::new(current.language()).t("erasure.requested").to_string();
    Ok((StatusCode::ACCEPTED, ApiJson(Accepted { message })).into_response())
}

/// Confirms an erasure with the mailed link's token (once): the person is erased and signed out.
#[utoipa::path(post, path = "/api/v1/me/erasure/confirm", tag = "auth", request_body = TokenRequest,
    responses((status = 204, description = "Erased; the session cookie is cleared"), PublicWriteProblems, BodyProblems,
        (status = 409, description = "The person has become the only active admin (`last_admin`); the link stays unused.", body = Problem, content_type = PROBLEM_JSON),
        (status = 410, description = "The link was used, has expired or is unknown (`erasure_link_invalid`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn confirm_erasure(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, AppError> {
    erase::confirm_erasure(&state, &body.token).await?;
    Ok((jar.add(cleared_session_cookie(&state)), StatusCode::NO_CONTENT).into_response())
}

/// Erases a person who asked by letter (admins; not oneself).
#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/erasure", tag = "admin", params(("user_id" = i32, Path)),
    request_body = ErasureRequest, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Erased"), RestrictedWriteProblems, PathProblems, BodyProblems,
        (status = 409, response = Conflict)))]
async fn erase_user(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(user_id): ApiPath<i32>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<StatusCode, AppError> {
    erase::erase_by_admin(&state, &current, user_id, body.posts).await?;
    Ok(StatusCode::NO_CONTENT)
}
