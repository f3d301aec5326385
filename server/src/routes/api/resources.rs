//! The JSON API for resources: post a link or upload a file, list a cohort's resources, read
//! one, and download its file.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyProblems, PROBLEM_JSON, PathProblems, ReadProblems, WriteProblems};
use super::extract::{ApiJson, ApiPath};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::resources::{self, ResourceView};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, post_resource))
        .routes(routes!(get_resource, delete_resource))
        .routes(routes!(theme_library))
        .routes(routes!(resource_settings))
        .routes(routes!(download_file))
        // Uploads are limited by `resource_max_bytes` while they stream in (resources::post).
        .layer(DefaultBodyLimit::disable())
}

/// The multipart form of a new resource (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewResourceForm {
    title: String,
    summary: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
    session_id: Option<i32>,
    /// An http or https link; or give `file`.
    url: Option<String>,
    /// PDF, Office document or image, checked by content; at most `resource_max_bytes`.
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
}

/// A cohort's resources, newest first.
#[utoipa::path(get, path = "/api/v1/cohorts/{cohort_id}/resources", tag = "resources", params(("cohort_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The resources", body = [ResourceView]), ReadProblems, PathProblems))]
async fn list_resources(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> Result<ApiJson<Vec<ResourceView>>, AppError> {
    Ok(ApiJson(resources::list(&state, &current, cohort_id).await?))
}

/// Posts a link or uploads a file (`multipart/form-data`).
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/resources", tag = "resources", params(("cohort_id" = i32, Path)),
    request_body(content = NewResourceForm, content_type = "multipart/form-data"), security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Posted", body = ResourceView), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = "May not post resources here (`forbidden`), or sent from another website's \
                page (`cross_origin`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 413, description = "The file is over the size limit (`file_too_large`), or the request body is \
                (`body_too_large`).", body = Problem, content_type = PROBLEM_JSON),
              (status = 422, description = "Invalid input: a code naming the rule, with the `field` \
                (`unsupported_file_type`, `invalid_file_name`, `invalid_link`, `malformed_upload`, …).", body = Problem, content_type = PROBLEM_JSON)))]
async fn post_resource(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let form = form.map_err(|_| AppError::invalid("malformed_upload", "file"))?;
    let posted = resources::post(&state, &current, cohort_id, form).await?;
    Ok((StatusCode::CREATED, ApiJson(posted)).into_response())
}

/// One resource.
#[utoipa::path(get, path = "/api/v1/resources/{resource_id}", tag = "resources", params(("resource_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The resource", body = ResourceView), ReadProblems, PathProblems))]
async fn get_resource(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(resource_id): ApiPath<i32>,
) -> Result<ApiJson<ResourceView>, AppError> {
    Ok(ApiJson(resources::view(&state, &current, resource_id).await?))
}

/// Deletes a resource and its file: the one who posted it, or the cohort's facilitator.
#[utoipa::path(delete, path = "/api/v1/resources/{resource_id}", tag = "resources", params(("resource_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted"), WriteProblems, PathProblems,
              (status = 403, description = "Neither its poster nor the facilitator (`forbidden`), or sent from another \
                website's page (`cross_origin`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn delete_resource(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(resource_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    resources::delete(&state, &current, resource_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The resources of every cohort of a theme that the caller is in, across programme years.
#[utoipa::path(get, path = "/api/v1/themes/{theme_id}/resources", tag = "resources", params(("theme_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The resources, newest first", body = [ResourceView]), ReadProblems,
              PathProblems,
              (status = 404, description = "The caller is in no cohort of this theme (`not_found`); also a path \
                parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON)))]
async fn theme_library(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(theme_id): ApiPath<i32>,
) -> Result<ApiJson<Vec<ResourceView>>, AppError> {
    Ok(ApiJson(resources::theme_library(&state, &current, theme_id).await?))
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ResourceSettings {
    /// Whether project leads may post resources (experts and the facilitator always may).
    pub participants_post: bool,
}

/// Opens or closes posting resources to the cohort's project leads (its facilitator).
#[utoipa::path(put, path = "/api/v1/cohorts/{cohort_id}/resource-settings", tag = "resources", params(("cohort_id" = i32, Path)), request_body = ResourceSettings, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Saved", body = ResourceSettings), WriteProblems, PathProblems, BodyProblems,
              (status = 403, description = "Not the facilitator (`forbidden`), or sent from another website's page \
                (`cross_origin`).", body = Problem, content_type = PROBLEM_JSON)))]
async fn resource_settings(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(settings): ApiJson<ResourceSettings>,
) -> Result<ApiJson<ResourceSettings>, AppError> {
    resources::set_participants_post(&state, &current, cohort_id, settings.participants_post).await?;
    Ok(ApiJson(settings))
}

/// Downloads a resource's file, always as an attachment and never to be run by the browser.
#[utoipa::path(get, path = "/api/v1/resources/{resource_id}/file", tag = "resources", params(("resource_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The file as uploaded, with the type detected from its content when it came in (one of \
                `SAMLING_RESOURCE_TYPES`: by default PDF, Office documents, PNG, JPEG, WebP)", content_type = "*/*"),
              ReadProblems, PathProblems,
              (status = 404, description = "Not found, not a file, or not visible to the caller (`not_found`); also a \
                path parameter that is not a number.", body = Problem, content_type = PROBLEM_JSON)))]
async fn download_file(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(resource_id): ApiPath<i32>,
) -> Result<Response, AppError> {
    let found = resources::visible(&state, &current, resource_id).await?;
    let (Some(key), Some(name)) = (found.storage_key, found.file_name) else {
        return Err(AppError::NotFound);
    };
    let file = match state.storage.open(&key).await {
        Ok(file) => file,
        Err(error) => {
            // Deleted between the look-up and the read (the row goes first, then the file):
            // not found, as for everyone after the delete. Otherwise a real failure.
            resources::visible(&state, &current, resource_id).await?;
            return Err(error.into());
        }
    };
    // The file is there and goes out: that is a download for the report.
    resources::count_download(&state.db, resource_id).await?;
    let content_type = found.content_type.unwrap_or_else(|| "application/octet-stream".into());
    let mut response = Body::from_stream(file).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, attachment(&name));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII stand-in for old
/// clients, the real name percent-encoded for the rest.
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b".-_".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"))
}
