//! The JSON API under `/api/v1`: one router per area, merged here with the OpenAPI document.
//! Every handler is registered through `utoipa-axum`, so the document lists every endpoint.

mod admin;
mod auth;
mod cohorts;
mod digests;
pub mod doc;
mod erasure;
mod extract;
mod grants;
mod my_data;
pub mod projects;
mod report_exports;
mod reports;
mod resources;
pub mod sessions;
mod surveys;
mod threads;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The API routes and their OpenAPI document.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .merge(auth::router())
        .merge(cohorts::router())
        .merge(grants::router())
        .merge(admin::router())
        .merge(sessions::router())
        .merge(threads::router())
        .merge(digests::router())
        .merge(resources::router())
        .merge(projects::router())
        .merge(report_exports::router())
        .merge(surveys::router())
        .merge(reports::router())
        .merge(erasure::router())
        .merge(my_data::router())
        .split_for_parts()
}
