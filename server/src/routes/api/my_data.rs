//! The JSON API for a person's own data (GDPR articles 15 and 20): everything Samling holds
//! about them at once, and the full copy (a ZIP with the files) mailed as a one-time link.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{ReadProblems, WriteProblems};
use super::extract::{ApiJson, ApiResult};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::privacy::export::{self, ExportView, PersonalData};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_export, request_export))
}

/// Everything Samling holds about the signed-in person, as JSON.
///
/// Machine-readable: their profile and the rows of every table that refers to them, grouped by
/// table name. Secrets (hashes of links) are left out; survey answers are stored without the
/// person, so only the fact of answering is in it (`notes` says what each table leaves out).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "privacy", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = PersonalData), ReadProblems))]
async fn get_export(State(state): State<AppState>, current: CurrentUser) -> ApiResult<PersonalData> {
    Ok(ApiJson(export::collect(&state.db, current.user.id, state.now()).await?))
}

/// Asks for the full copy of the person's data, mailed as a one-time link.
///
/// A ZIP with `data.json` (as `GET`), `index.html` (a readable page in the person's language)
/// and the files of the resources they posted. It is built in the background and a link is
/// mailed that downloads it once within the configured hours. While a copy is being prepared,
/// asking again starts no second one and answers that copy, again with 202.
#[utoipa::path(post, path = "/api/v1/me/export", tag = "privacy", security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "Being prepared; the link comes by e-mail (also when a copy was \
        being prepared already: that one is answered)", body = ExportView), WriteProblems))]
async fn request_export(State(state): State<AppState>, current: CurrentUser) -> Result<Response, AppError> {
    let view = export::request(&state, &current.user).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(view)).into_response())
}
