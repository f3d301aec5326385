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
    /// The text of a counted key for `count` (see [`Tr::plural`]).
    pub fn plural(&self, key: &str, count: impl crate::i18n::Count) -> String {
        self.tr.plural(key, count)
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

/// The error behind an error page, kept on the response so that [`error_pages`] can render
/// the page again for the person who asked (their language, the navigation).
#[derive(Clone)]
struct ErrorSource(std::sync::Arc<AppError>);

fn error_page(error: &AppError, page: PageView) -> Response {
    let status = error.status();
    let heading = page.tr.t(&format!("error_page.{}", status.as_u16())).to_string();
    let message = error.message(page.tr);
    let mut response = render(status, &ErrorPage { page, heading, message });
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.error.log();
        if matches!(self.error, AppError::Unauthenticated) {
            return Redirect::to("/sign-in").into_response();
        }
        // A page without the person; `error_pages` puts them in when it can.
        let page = PageView {
            tr: self.tr,
            csrf: String::new(),
            user_name: None,
            is_admin: false,
            path: String::new(),
        };
        let mut response = error_page(&self.error, page);
        response
            .extensions_mut()
            .insert(ErrorSource(std::sync::Arc::new(self.error)));
        response
    }
}

/// Every error page is in the language of the person who asked (their setting when signed in,
/// else the language cookie) and shows the navigation when they are signed in, wherever the
/// error came from: a handler's `?`, an extractor or a layer. API answers are left alone.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method.clone(), parts.uri.clone(), parts.headers.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(ErrorSource(error)) = response.extensions().get::<ErrorSource>().cloned() else {
        return response;
    };
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let (mut parts, ()) = request.into_parts();
    let Ok(Page { mut view, .. }) = Page::from_request_parts(&mut parts, &state).await else {
        return response;
    };
    // The browser's token: the cookie it sent, or the one this answer sets.
    view.csrf = CookieJar::from_headers(&parts.headers)
        .get(CSRF_COOKIE)
        .map(|cookie| cookie.value().to_string())
        .or_else(|| {
            response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .filter_map(|value| Cookie::parse(value.to_string()).ok())
                .find(|cookie| cookie.name() == CSRF_COOKIE)
                .map(|cookie| cookie.value().to_string())
        })
        .unwrap_or_default();
    let mut page = error_page(&error, view);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    page
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
/// come back in the form field `csrf_token` (the first field of a file upload's form). Requests with an
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

/// The submitted token from an url-encoded body (read and put back) or from the first part of a
/// multipart body (only that part is read; the rest streams on to the handler untouched). Never
/// from the query: a token in a page address would stay in the history and the address bar.
async fn submitted_token(parts: &Parts, body: Body) -> (Option<String>, Body) {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return match axum::body::to_bytes(body, 1024 * 1024).await {
            Ok(bytes) => (field_value(&bytes), Body::from(bytes)),
            Err(_) => (None, Body::empty()),
        };
    }
    match multipart_boundary(content_type) {
        Some(boundary) => first_part_token(&boundary, body).await,
        None => (None, body),
    }
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (essence, parameters) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|boundary| !boundary.is_empty())
    })
}

/// How much of a multipart body is read to find the token in its first part.
const FIRST_PART_LIMIT: usize = 8 * 1024;

/// Reads the start of a multipart body until its first part is complete (the forms put the
/// token first) and gives the token, with a body that yields the same bytes as the original.
async fn first_part_token(boundary: &str, body: Body) -> (Option<String>, Body) {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let mut failed = None;
    let mut token = None;
    loop {
        if let Some(found) = token_in_first_part(boundary, &head) {
            token = found;
            break;
        }
        if head.len() >= FIRST_PART_LIMIT {
            break;
        }
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(error)) => {
                failed = Some(error);
                break;
            }
            None => {
                token = token_in_first_part(boundary, &head).flatten();
                break;
            }
        }
    }
    let replay =
        futures::stream::iter(std::iter::once(Ok::<_, axum::Error>(bytes::Bytes::from(head))).chain(failed.map(Err)));
    (token, Body::from_stream(replay.chain(stream)))
}

/// `Some(token)` when the first part of `head` is complete and is the CSRF field, `Some(None)`
/// when it is complete and is another field, `None` while it is not complete yet.
fn token_in_first_part(boundary: &str, head: &[u8]) -> Option<Option<String>> {
    let text = String::from_utf8_lossy(head);
    let opening = format!("--{boundary}\r\n");
    let start = text.find(&opening)? + opening.len();
    let rest = &text[start..];
    let (headers, content) = rest.split_once("\r\n\r\n")?;
    let end = content.find(&format!("\r\n--{boundary}"))?;
    let names_token = headers.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("content-disposition:") && line.contains(&format!("name=\"{CSRF_FIELD}\""))
    });
    Some(names_token.then(|| content[..end].trim().to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "a1b2c3";

    fn multipart(first: &str, value: &str) -> String {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{first}\"\r\n\r\n{value}\r\n--{BOUNDARY}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nx;y\r\n--{BOUNDARY}--\r\n"
        )
    }

    #[tokio::test]
    async fn the_token_is_read_from_the_first_part_and_the_body_is_passed_on_whole() {
        let body = multipart(CSRF_FIELD, "secret-token");
        // In small chunks, as a slow upload arrives.
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
            .as_bytes()
            .chunks(7)
            .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
            .collect();
        let (token, rebuilt) = first_part_token(BOUNDARY, Body::from_stream(futures::stream::iter(chunks))).await;
        assert_eq!(token.as_deref(), Some("secret-token"));
        let passed = axum::body::to_bytes(rebuilt, usize::MAX).await.unwrap();
        assert_eq!(passed, body.as_bytes());
    }

    #[tokio::test]
    async fn another_first_field_gives_no_token() {
        let (token, _) = first_part_token(BOUNDARY, Body::from(multipart("title", "secret-token"))).await;
        assert_eq!(token, None);
        // The whole body in one chunk, larger than what is read to find the token.
        let large = multipart(CSRF_FIELD, "secret-token") + &"x".repeat(2 * FIRST_PART_LIMIT);
        let (token, rebuilt) = first_part_token(BOUNDARY, Body::from(large.clone())).await;
        assert_eq!(token.as_deref(), Some("secret-token"));
        assert_eq!(
            axum::body::to_bytes(rebuilt, usize::MAX).await.unwrap(),
            large.as_bytes()
        );
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"a1b2c3\""),
            Some(BOUNDARY.to_string())
        );
        assert_eq!(multipart_boundary("text/plain; boundary=a1b2c3"), None);
    }
}
