//! What every server-rendered page shares: the page context (language, signed-in person,
//! CSRF token), the HTML error page, CSRF protection and the security headers; and the layer
//! that makes every error answer under `/api/` a problem+json.

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::auth::CurrentUser;
use crate::auth::extract::MaybeUser;
use crate::auth::tokens::new_secret;
use crate::error::AppError;
use crate::i18n::{Language, Tr};
use crate::state::AppState;

pub const CSRF_COOKIE: &str = "samling_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
pub const LANGUAGE_COOKIE: &str = "samling_lang";

/// The CSRF token of this browser, put in every form.
#[derive(Clone)]
struct CsrfToken(String);

/// What the page layout needs.
#[derive(Clone)]
pub struct PageView {
    pub tr: Tr,
    pub csrf: String,
    pub user_name: Option<String>,
    pub is_admin: bool,
    /// The current path, to mark the active navigation link.
    pub path: String,
}

impl PageView {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.tr.t(key)
    }
    pub fn f(&self, key: &str, args: &(impl crate::i18n::Placeholders + ?Sized)) -> String {
        self.tr.f(key, args)
    }
    pub fn lang(&self) -> &'static str {
        self.tr.code()
    }
    /// Whether the link to `prefix` leads to the page being shown (for `aria-current`).
    pub fn current(&self, prefix: &str) -> bool {
        self.path == prefix || (prefix != "/" && self.path.starts_with(prefix))
    }
}

/// A page request: the page context and, if signed in, the person.
pub struct Page {
    pub view: PageView,
    pub user: Option<CurrentUser>,
}

/// A page that needs a signed-in person; others are sent to the sign-in page.
pub struct SignedInPage {
    pub view: PageView,
    pub user: CurrentUser,
}

fn language_of(parts: &Parts, user: Option<&CurrentUser>) -> Language {
    if let Some(user) = user {
        return user.language();
    }
    CookieJar::from_headers(&parts.headers)
        .get(LANGUAGE_COOKIE)
        .and_then(|cookie| Language::parse(cookie.value()))
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Page {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|token| token.0.clone())
            .unwrap_or_default();
        let view = PageView {
            tr: Tr::new(language_of(parts, user.as_ref())),
            csrf,
            user_name: user.as_ref().map(|user| user.user.name.clone()),
            is_admin: user.as_ref().is_some_and(|user| user.user.is_admin),
            path: parts.uri.path().to_string(),
        };
        Ok(Page { view, user })
    }
}

impl FromRequestParts<AppState> for SignedInPage {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Page { view, user } = Page::from_request_parts(parts, state).await?;
        match user {
            Some(user) => Ok(SignedInPage { view, user }),
            None => Err(PageError {
                error: AppError::Unauthenticated,
                tr: view.tr,
            }),
        }
    }
}

/// An error the person can fix in the form they sent, to show on the page again.
pub struct FormError {
    pub status: StatusCode,
    pub message: String,
}

impl FormError {
    /// Invalid input, a conflict, too many attempts or a mute become a `FormError`; anything
    /// else stays an error page.
    pub fn from_error(error: AppError, tr: Tr) -> Result<FormError, PageError> {
        match error {
            AppError::Invalid { .. }
            | AppError::Conflict { .. }
            | AppError::TooManyRequests { .. }
            | AppError::Busy
            | AppError::MailUnavailable
            | AppError::Muted { .. } => Ok(FormError {
                status: error.status(),
                message: error.message(tr),
            }),
            other => Err(PageError { error: other, tr }),
        }
    }
}

/// An error on a page: the sign-in page for strangers, an error page for everything else.
pub struct PageError {
    pub error: AppError,
    pub tr: Tr,
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError {
            error,
            tr: Tr::new(Language::Nb),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageView,
    heading: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.error.log();
        if matches!(self.error, AppError::Unauthenticated) {
            return Redirect::to("/sign-in").into_response();
        }
        let status = self.error.status();
        let page = PageView {
            tr: self.tr,
            csrf: String::new(),
            user_name: None,
            is_admin: false,
            path: String::new(),
        };
        let heading = self.tr.t(&format!("error_page.{}", status.as_u16())).to_string();
        let message = self.error.message(self.tr);
        let mut response = render(status, &ErrorPage { page, heading, message });
        if let Some(seconds) = self.error.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Renders a template as an HTML response.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

pub type PageResult = Result<Response, PageError>;

/// Double-submit CSRF protection for forms: a random token in a `SameSite=Strict` cookie must
/// come back in the form field `csrf_token` (or the query, for file uploads). Requests with an
/// `Origin` from another site are refused outright, API included; the API otherwise relies on
/// JSON bodies (no cross-site form can send them) and bearer tokens.
pub async fn csrf_protection(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    let existing = jar
        .get(CSRF_COOKIE)
        .map(|cookie| cookie.value().to_string())
        .filter(|token| token.len() == 43);
    let (mut parts, body) = request.into_parts();
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);

    let mut body = body;
    if unsafe_method {
        let api = is_api(parts.uri.path());
        if !same_origin(&parts.headers, &state) {
            return refusal(parts.uri.path(), AppError::CrossOrigin);
        }
        if !api {
            let (submitted, rebuilt) = submitted_token(&parts, body).await;
            body = rebuilt;
            let valid = matches!((&existing, &submitted), (Some(cookie), Some(form)) if constant_time_eq(cookie, form));
            if !valid {
                return PageError::from(AppError::Invalid {
                    code: "csrf_failed",
                    field: None,
                    args: Vec::new(),
                })
                .into_response();
            }
        }
    }
    let token = existing.clone().unwrap_or_else(new_secret);
    parts.extensions.insert(CsrfToken(token.clone()));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if existing.is_none() {
        let cookie = Cookie::build((CSRF_COOKIE, token))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(state.settings.is_production())
            .path("/")
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A layer's refusal, as the route would give it: problem+json under `/api/`, a page elsewhere.
fn refusal(path: &str, error: AppError) -> Response {
    if is_api(path) {
        error.into_response()
    } else {
        PageError::from(error).into_response()
    }
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/problem+json"))
}

/// Every error answer under `/api/` is `application/problem+json` with a stable code. Handlers'
/// errors already are (`AppError`); this catches the answers nothing of ours wrote: the router's
/// 405, a body limit's 413, an extractor's plain-text rejection, so a new route or layer cannot
/// bring them back. Headers that tell the client what to do next (`Allow`, `Retry-After`) stay.
pub async fn api_problems(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
        return response;
    }
    let mut problem = AppError::from_status(status).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

/// The largest JSON or form body the server reads (axum's own default body limit).
pub const MAX_TEXT_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The text rule ([`crate::domain::text`]) at the boundary: a JSON body, an url-encoded form or
/// a query string with a control character in any field is refused with 422 `invalid_text`
/// before a handler sees it, on every route. (Multipart fields, websocket messages and CSV rows
/// are checked where they are parsed.)
pub async fn text_rule(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let refuse = |error: AppError| refusal(parts.uri.path(), error);
    if let Some(field) = parts
        .uri
        .query()
        .and_then(|query| crate::domain::text::forbidden_in_form(query.as_bytes()))
    {
        return refuse(AppError::invalid_text(field));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_json = content_type.starts_with("application/json") || content_type.contains("+json");
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_json && !is_form {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TEXT_BODY_BYTES).await else {
        return refuse(AppError::BodyTooLarge);
    };
    let broken = if is_json {
        // A body that is not JSON at all is the extractor's to refuse (`invalid_json`).
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|value| crate::domain::text::forbidden_in_json(&value))
    } else {
        crate::domain::text::forbidden_in_form(&bytes)
    };
    match broken {
        Some(field) => refuse(AppError::invalid_text(field)),
        None => next.run(Request::from_parts(parts, Body::from(bytes))).await,
    }
}

/// An `Origin` header, when a browser sends one, must name this site. Forms, the API and the
/// websocket upgrade all ask here.
pub fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return true;
    };
    // Privacy settings can make a browser send `Origin: null`; its fetch metadata still tells.
    if origin == "null" {
        return headers.get("sec-fetch-site").is_some_and(|site| site == "same-origin");
    }
    if origin.trim_end_matches('/') == state.settings.public_url.trim_end_matches('/') {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((host, origin_host), (Some(host), Some(origin_host)) if host == origin_host)
}

/// The submitted token from the query or an url-encoded body (read and put back).
async fn submitted_token(parts: &Parts, body: Body) -> (Option<String>, Body) {
    let from_query = parts.uri.query().and_then(|query| field_value(query.as_bytes()));
    if from_query.is_some() {
        return (from_query, body);
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (None, body);
    }
    match axum::body::to_bytes(body, 1024 * 1024).await {
        Ok(bytes) => (field_value(&bytes), Body::from(bytes)),
        Err(_) => (None, Body::empty()),
    }
}

fn field_value(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Security headers on every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "x-frame-options", "DENY");
    // Not `no-referrer`: with it, browsers send `Origin: null` on same-origin form posts. Tokens in
    // link URLs still never leave the site.
    set(headers, "referrer-policy", "same-origin");
    set(
        headers,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    );
    set(headers, "cross-origin-opener-policy", "same-origin");
    response
}
