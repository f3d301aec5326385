//! The JSON API under `/api/v1`. Thin handlers: parse, ask the area, respond. Every handler is
//! registered through `utoipa-axum`, so the OpenAPI document lists every endpoint.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api_doc::{SecuritySchemes, StandardProblems};
use crate::auth::rate_limit::ClientIp;
use crate::auth::sign_in::{
    self, cleared_session_cookie, issue_session, redeem_sign_in_secret, request_sign_in_link, session_cookie,
};
use crate::auth::{Caller, CurrentUser};
use crate::cohorts::invitations::{self, InvitationView, NewInvitation};
use crate::cohorts::{self, CohortView, MemberView, NewProgramme, ProgrammeView};
use crate::domain::roles::Role;
use crate::entities::{audit_log, user};
use crate::error::{AppError, Problem};
use crate::grants::import::{ImportReport, MAX_FILE_BYTES, import_grants};
use crate::grants::placement::{self, ThemeMapping};
use crate::grants::review::{self, ReviewDecision, ReviewItem};
use crate::state::AppState;
use crate::users::{self, UserView, user_view};

/// A JSON body whose errors answer as problem+json.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A path parameter whose errors answer as problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query parameters (an `IntoParams` struct) whose errors answer as problem+json.
///
/// Named `Query` on purpose: utoipa's axum support recognises a handler argument of a type
/// named `Query` and documents the struct's fields as query parameters (`in: query`); under
/// any other name they would be documented as path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// A raw request body (a CSV file) whose errors, the size limit's 413 first, answer as
/// problem+json.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiBytes(axum::body::Bytes::from_request(request, state).await?))
    }
}

/// The field a serde error is about, and where in the text it is: a short hint that is safe to
/// show (`marks[0].user_id`, line and column), never the library's own sentence.
struct ErrorSpot {
    field: Option<String>,
    line: usize,
    column: usize,
}

fn error_spot(error: &(dyn std::error::Error + 'static)) -> ErrorSpot {
    let mut spot = ErrorSpot {
        field: None,
        line: 0,
        column: 0,
    };
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            spot.field = field_of(&found.path().to_string(), &found.inner().to_string());
            (spot.line, spot.column) = (found.inner().line(), found.inner().column());
            break;
        }
        if let Some(found) = error.downcast_ref::<serde_json::Error>() {
            (spot.line, spot.column) = (found.line(), found.column());
            break;
        }
        if let Some(found) = error.downcast_ref::<serde_path_to_error::Error<serde::de::value::Error>>() {
            spot.field = field_of(&found.path().to_string(), &found.inner().to_string());
            break;
        }
        cause = error.source();
    }
    spot
}

/// The path serde was at, with the name of a missing field added (serde reports a missing field
/// at its parent); `None` at the top of the body.
fn field_of(path: &str, serde_message: &str) -> Option<String> {
    let missing = serde_message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    let path = (path != ".").then_some(path);
    match (path, missing) {
        (Some(path), Some(name)) => Some(format!("{path}.{name}")),
        (Some(path), None) => Some(path.to_string()),
        (None, Some(name)) => Some(name.to_string()),
        (None, None) => None,
    }
}

/// An unreadable body or query: which field (if serde knew), in our own words.
fn invalid_fields(spot: ErrorSpot) -> AppError {
    match spot.field {
        Some(field) => AppError::Invalid {
            code: "invalid_fields",
            args: vec![("field", field.clone())],
            field: Some(field.into()),
        },
        None => AppError::Invalid {
            code: "invalid_fields",
            field: None,
            args: Vec::new(),
        },
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match &rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::Invalid {
                code: "expected_json",
                field: None,
                args: Vec::new(),
            },
            JsonRejection::JsonSyntaxError(error) => {
                let spot = error_spot(error);
                AppError::Invalid {
                    code: "invalid_json",
                    field: None,
                    args: vec![("line", spot.line.to_string()), ("column", spot.column.to_string())],
                }
            }
            JsonRejection::JsonDataError(error) => invalid_fields(error_spot(error)),
            JsonRejection::BytesRejection(rejection) => bytes_refused(rejection),
            _ => AppError::Invalid {
                code: "incomplete_body",
                field: None,
                args: Vec::new(),
            },
        }
    }
}

fn bytes_refused(rejection: &BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::BodyTooLarge
    } else {
        AppError::Invalid {
            code: "incomplete_body",
            field: None,
            args: Vec::new(),
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        bytes_refused(&rejection)
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::NotFound
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        invalid_fields(error_spot(&rejection))
    }
}

pub type ApiResult<T> = Result<ApiJson<T>, AppError>;

#[derive(OpenApi)]
#[openapi(
    info(title = "Samling API", description = "Facilitated knowledge exchange between municipalities that received climate funding."),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign-in links and sessions"),
        (name = "cohorts", description = "Themed cohorts, their members and projects"),
        (name = "moderation", description = "Reports, hiding and restoring posts, locking and pinning threads, muting members"),
        (name = "admin", description = "Programme administration"),
        (name = "threads", description = "Discussion threads, posts and the cohort's event log"),
        (name = "digests", description = "E-mail digests: preferences, one-click unsubscribe, the facilitator's schedule"),
        (name = "resources", description = "Links and files posted to a cohort"),
        (name = "projects", description = "Project profiles with needs and offers, match suggestions, lessons learned, search"),
        (name = "sessions", description = "The four sessions of a cohort: planning, registration, preparation, polls, recaps, calendars"),
    )
)]
struct ApiDoc;

/// The API routes and their OpenAPI document.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(get_me))
        .routes(routes!(request_link))
        .routes(routes!(create_session, delete_session))
        .routes(routes!(list_cohorts))
        .routes(routes!(get_cohort))
        .routes(routes!(remove_member))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(list_review))
        .routes(routes!(decide_review))
        .routes(routes!(list_themes))
        .routes(routes!(add_measure_type))
        .routes(routes!(remove_measure_type))
        .routes(routes!(list_programmes, create_programme))
        .routes(routes!(appoint_facilitator))
        .routes(routes!(list_users))
        .routes(routes!(deactivate_user))
        .routes(routes!(list_audit))
        .merge(super::api_sessions::routes())
        .merge(super::api_threads::routes())
        .merge(super::api_digests::routes())
        .merge(super::api_resources::routes())
        .merge(super::api_projects::routes())
        .split_for_parts();
    let imports = OpenApiRouter::new()
        .routes(routes!(import_grants_file))
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES));
    let (import_router, import_api) = imports.split_for_parts();
    let mut openapi = openapi;
    openapi.merge(import_api);
    // After every route is in: the standard answers go to all of them.
    utoipa::Modify::modify(&StandardProblems, &mut openapi);
    (router.merge(import_router), openapi)
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
    responses((status = 200, description = "Success", body = Me)))]
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
    responses((status = 202, description = "Accepted", body = Accepted),
              (status = 429, description = "Too many requests (problem+json)")))]
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
    responses((status = 200, description = "Success", body = Session)))]
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
    responses((status = 204, description = "Done")))]
async fn delete_session(
    State(state): State<AppState>,
    current: CurrentUser,
    jar: CookieJar,
) -> Result<Response, AppError> {
    sign_in::sign_out(&state, &current).await?;
    Ok((jar.add(cleared_session_cookie(&state)), StatusCode::NO_CONTENT).into_response())
}

/// Takes a person out of a cohort; their open live connections close.
#[utoipa::path(delete, path = "/api/v1/cohorts/{cohort_id}/members/{user_id}", tag = "cohorts", params(("cohort_id" = i32, Path), ("user_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not allowed (forbidden)")))]
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
    responses((status = 200, description = "Success", body = Vec<CohortView>)))]
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
    responses((status = 200, description = "Success", body = CohortDetail)))]
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
    responses((status = 200, description = "Success", body = Vec<InvitationView>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_invitations(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
) -> ApiResult<Vec<InvitationView>> {
    Ok(ApiJson(invitations::pending(&state, &current, cohort_id).await?))
}

/// Invites an address to the cohort with a role and mails the link.
#[utoipa::path(post, path = "/api/v1/cohorts/{cohort_id}/invitations", tag = "cohorts", params(("cohort_id" = i32, Path)), request_body = NewInvitation, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = InvitationView), (status = 403, description = "Not allowed (forbidden)"), (status = 409, description = "Conflicts with the current state (problem+json)")))]
async fn create_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<Response, AppError> {
    let created = invitations::invite(&state, &current, cohort_id, body).await?;
    Ok((StatusCode::CREATED, ApiJson(created)).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AcceptedInvitation {
    pub cohort_id: i32,
    pub session: Session,
}

/// Accepts an invitation (once) and signs the person in as a member.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "Success", body = AcceptedInvitation)))]
async fn accept_invitation(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, AppError> {
    let (person, cohort_id) = invitations::accept(&state, &body.token).await?;
    let (jar, ApiJson(session)) = session_response(&state, jar, &person)?;
    Ok((jar, ApiJson(AcceptedInvitation { cohort_id, session })).into_response())
}

/// Imports a grant export (CSV as the agency writes it) and reports every row.
#[utoipa::path(post, path = "/api/v1/admin/grant-imports", tag = "admin", request_body(content = String, content_type = "text/csv"), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = ImportReport), (status = 403, description = "Not allowed (forbidden)")))]
async fn import_grants_file(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiBytes(body): ApiBytes,
) -> ApiResult<ImportReport> {
    Ok(ApiJson(
        import_grants(&state.db, Caller::Person(&current), &body, state.now(), &|_, _| {}).await?,
    ))
}

/// Grants whose theme only keywords suggest, waiting for a person's decision.
#[utoipa::path(get, path = "/api/v1/admin/review", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ReviewItem>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_review(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ReviewItem>> {
    Ok(ApiJson(review::pending(&state.db, &current, current.language()).await?))
}

/// Confirms a grant in a theme or rejects it.
#[utoipa::path(post, path = "/api/v1/admin/review/{grant_id}", tag = "admin", params(("grant_id" = i32, Path)), request_body = ReviewDecision, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), (status = 403, description = "Not allowed (forbidden)")))]
async fn decide_review(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(grant_id): ApiPath<i32>,
    ApiJson(decision): ApiJson<ReviewDecision>,
) -> Result<StatusCode, AppError> {
    review::decide(&state.db, &current, grant_id, decision, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Themes and the measure types mapped to them.
#[utoipa::path(get, path = "/api/v1/admin/themes", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ThemeMapping>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_themes(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ThemeMapping>> {
    Ok(ApiJson(placement::theme_mappings(&state.db, &current).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMeasureType {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub measure_type: String,
}

/// Maps a measure type to a theme; grants and cohorts follow.
#[utoipa::path(post, path = "/api/v1/admin/themes/{theme_id}/measure-types", tag = "admin", params(("theme_id" = i32, Path)), request_body = NewMeasureType, security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), (status = 409, description = "Conflicts with the current state (problem+json)")))]
async fn add_measure_type(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(theme_id): ApiPath<i32>,
    ApiJson(body): ApiJson<NewMeasureType>,
) -> Result<StatusCode, AppError> {
    placement::add_measure_type(&state.db, &current, theme_id, &body.measure_type, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a measure-type mapping; grants and cohorts follow.
#[utoipa::path(delete, path = "/api/v1/admin/measure-types/{mapping_id}", tag = "admin", params(("mapping_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done")))]
async fn remove_measure_type(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(mapping_id): ApiPath<i32>,
) -> Result<StatusCode, AppError> {
    placement::remove_measure_type(&state.db, &current, mapping_id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All programmes.
#[utoipa::path(get, path = "/api/v1/admin/programmes", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<ProgrammeView>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_programmes(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<ProgrammeView>> {
    Ok(ApiJson(cohorts::programmes(&state.db, &current).await?))
}

/// Creates a programme; its cohorts form from the grants already imported.
#[utoipa::path(post, path = "/api/v1/admin/programmes", tag = "admin", request_body = NewProgramme, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Created", body = ProgrammeView), (status = 403, description = "Not allowed (forbidden)")))]
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

/// Makes a person the facilitator of a cohort.
#[utoipa::path(put, path = "/api/v1/admin/cohorts/{cohort_id}/facilitator", tag = "admin", params(("cohort_id" = i32, Path)), request_body = Appointment, security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = UserView), (status = 403, description = "Not allowed (forbidden)")))]
async fn appoint_facilitator(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(cohort_id): ApiPath<i32>,
    ApiJson(body): ApiJson<Appointment>,
) -> ApiResult<UserView> {
    let facilitator =
        cohorts::appoint_facilitator(&state.db, &current, cohort_id, &body.email, &body.name, state.now()).await?;
    Ok(ApiJson(user_view(&facilitator)))
}

/// Everyone with an account.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Success", body = Vec<UserView>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_users(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<UserView>> {
    Ok(ApiJson(users::all_users(&state.db, &current).await?))
}

/// Deactivates a person and ends their sessions.
#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/deactivate", tag = "admin", params(("user_id" = i32, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Done"), (status = 403, description = "Not allowed (forbidden)")))]
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
    responses((status = 200, description = "Success", body = Vec<AuditEntry>), (status = 403, description = "Not allowed (forbidden)")))]
async fn list_audit(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Vec<AuditEntry>> {
    Ok(ApiJson(
        crate::audit::latest(&state.db, &current, 500)
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect(),
    ))
}
