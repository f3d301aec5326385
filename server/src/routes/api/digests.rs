//! The JSON API for e-mail digests: one-click unsubscribe (RFC 8058), a person's preference,
//! and the facilitator's schedule, preview, changes and "send now".

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    BodyProblems, PROBLEM_JSON, PathProblems, PublicWriteProblems, QueryProblems, ReadProblems,
    RestrictedWriteProblems, WriteProblems,
};
use super::extract::{ApiJson, ApiPath, ApiResult, Query};
use crate::auth::CurrentUser;
use crate::digests::{self, DigestChange, DigestView};
use crate::domain::digest_schedule::DigestPreference;
use crate::error::{AppError, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(one_click_unsubscribe))
        .routes(routes!(get_preference, set_preference))
        .routes(routes!(list_digests))
        .routes(routes!(change_digest))
        .routes(routes!(preview_digest))
        .routes(routes!(send_digest_now))
}

// Answers two operations here give, for the document.
const NOT_THE_FACILITATOR: &str = "Not the cohort's facilitator (`forbidden`).";
const ALREADY_DECIDED: &str = "Already decided (`digest_not_scheduled`).";

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// The signed token from the mail's `List-Unsubscribe` link.
    pub token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
}

/// One-click unsubscribe (RFC 8058): mail programs POST `List-Unsubscribe=One-Click` to the
/// link in the mail's `List-Unsubscribe` header. Needs no sign-in; the token is the proof.
#[utoipa::path(post, path = "/api/v1/unsubscribe", tag = "digests", params(TokenQuery),
    responses((status = 200, description = "No more digests for the link's owner", body = Unsubscribed),
        PublicWriteProblems, QueryProblems,
        (status = 422, description = "The link is not valid (`invalid_unsubscribe_link`); or a query parameter could \
            not be read (`invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn one_click_unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> ApiResult<Unsubscribed> {
    digests::unsubscribe(&state, &query.token).await?;
    Ok(ApiJson(Unsubscribed { unsubscribed: true }))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Preference {
    /// `everything`, `essentials` (recaps and reminders) or `nothing`.
    #[schema(pattern = "^(everything|essentials|nothing)$")]
    pub preference: String,
}

/// What the signed-in person gets by e-mail.
#[utoipa::path(get, path = "/api/v1/me/digest-preference", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Preference), ReadProblems))]
async fn get_preference(current: CurrentUser) -> ApiResult<Preference> {
    Ok(ApiJson(Preference {
        preference: current.user.digest_preference.clone(),
    }))
}

/// Changes what the signed-in person gets by e-mail.
#[utoipa::path(put, path = "/api/v1/me/digest-preference", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    request_body = Preference,
    responses((status = 200, description = "Saved", body = Preference), WriteProblems, BodyProblems,
        (status = 422, description = "Unknown preference (`invalid_preference`); or the body could not be read \
            (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn set_preference(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<Preference>,
) -> ApiResult<Preference> {
    let preference = DigestPreference::parse(&body.preference)
        .ok_or_else(|| AppError::invalid("invalid_preference", "preference"))?;
    crate::users::set_digest_preference(&state.db, current.user.id, preference).await?;
    Ok(ApiJson(Preference {
        preference: preference.code().to_string(),
    }))
}

/// The cohort's digests in time order (facilitators and admins).
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/digests", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    params(("cohort_id" = i32, Path)),
    responses((status = 200, description = "Success", body = Vec<DigestView>), ReadProblems, PathProblems,
        (status = 403, description = NOT_THE_FACILITATOR, body = Problem, content_type = PROBLEM_JSON)))]
async fn list_digests(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<DigestView>> {
    Ok(ApiJson(digests::schedule(&state, &current, cohort_id).await?))
}

/// Writes a scheduled digest's intro, or postpones it (to 08:00 Oslo time on the next working
/// day at or after `send_at`).
#[utoipa::path(patch, path = "/api/v1/digests/{digest_id}", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    params(("digest_id" = i32, Path)), request_body = DigestChange,
    responses((status = 200, description = "Changed", body = DigestView), RestrictedWriteProblems, PathProblems, BodyProblems,
        (status = 409, description = ALREADY_DECIDED, body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Intro too long (`intro_too_long`) or a time in the past (`send_at_in_past`); or \
            the body could not be read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn change_digest(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(digest_id): ApiPath<i32>,
    ApiJson(body): ApiJson<DigestChange>,
) -> ApiResult<DigestView> {
    Ok(ApiJson(digests::change(&state, &current, digest_id, body).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PreviewQuery {
    /// The member to preview for.
    pub user_id: i32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DigestPreview {
    /// False when this member would get nothing (an activity digest with nothing unread).
    pub would_send: bool,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The digest as a member would get it if it went out now.
#[utoipa::path(get, path = "/api/v1/digests/{digest_id}/preview", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    params(("digest_id" = i32, Path), PreviewQuery),
    responses((status = 200, description = "Success", body = DigestPreview), ReadProblems, PathProblems, QueryProblems,
        (status = 403, description = NOT_THE_FACILITATOR, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such digest, or no such member to preview it for (`not_found`); also a path \
            parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON)))]
async fn preview_digest(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(digest_id): ApiPath<i32>,
    Query(query): Query<PreviewQuery>,
) -> ApiResult<DigestPreview> {
    let mail = digests::preview(&state, &current, digest_id, query.user_id).await?;
    Ok(ApiJson(match mail {
        Some(mail) => DigestPreview {
            would_send: true,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
        },
        None => DigestPreview {
            would_send: false,
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        },
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SentNow {
    /// Mails enqueued; they are sent in the background.
    pub enqueued: usize,
}

/// Decides a scheduled digest now and sends it.
#[utoipa::path(post, path = "/api/v1/digests/{digest_id}/send", tag = "digests", security(("bearer" = []), ("cookie" = [])),
    params(("digest_id" = i32, Path)),
    responses((status = 200, description = "Enqueued", body = SentNow), RestrictedWriteProblems, PathProblems,
        (status = 409, description = ALREADY_DECIDED, body = Problem, content_type = PROBLEM_JSON)))]
async fn send_digest_now(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(digest_id): ApiPath<i32>,
) -> ApiResult<SentNow> {
    let enqueued = digests::send_now(&state, &current, digest_id).await?;
    Ok(ApiJson(SentNow { enqueued }))
}
