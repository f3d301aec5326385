//! Pages of erasing one's account: the request from Settings, the page the mailed link opens
//! (what will happen, and a button), and the page after, signed out.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::auth::sign_in::cleared_session_cookie;
use crate::error::AppError;
use crate::privacy::erase::{self, PostsChoice};
use crate::state::AppState;
use crate::web::{Page, PageResult, PageView, SignedInPage, render};

#[derive(Template)]
#[template(path = "erasure_requested.html")]
struct RequestedPage {
    page: PageView,
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    posts: String,
}

/// `POST /account/erasure/request`: mails the confirmation link.
pub async fn request(State(state): State<AppState>, page: SignedInPage, Form(form): Form<RequestForm>) -> PageResult {
    let posts = PostsChoice::parse(&form.posts).ok_or_else(|| AppError::invalid("invalid_posts_choice", "posts"))?;
    erase::request_erasure(&state, &page.user, posts).await?;
    Ok(render(StatusCode::OK, &RequestedPage { page: page.view }))
}

#[derive(Template)]
#[template(path = "erasure_confirm.html")]
struct ConfirmPage {
    page: PageView,
    token: String,
    keep: bool,
    post_count: u64,
    file_count: u64,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /account/erasure?token=…`: what will happen, and the button. Opening the link (as a
/// mail scanner may) changes nothing.
pub async fn confirm_form(State(state): State<AppState>, page: Page, Query(query): Query<TokenQuery>) -> PageResult {
    let pending = erase::pending(&state, &query.token)
        .await
        .map_err(|error| crate::web::PageError {
            error,
            tr: page.view.tr,
        })?;
    Ok(render(
        StatusCode::OK,
        &ConfirmPage {
            page: page.view,
            token: query.token,
            keep: pending.posts == PostsChoice::Keep,
            post_count: pending.post_count,
            file_count: pending.file_count,
        },
    ))
}

/// `POST /account/erasure`: erases, signs out, and leads to the page after.
pub async fn confirm(
    State(state): State<AppState>,
    page: Page,
    jar: CookieJar,
    Form(form): Form<TokenQuery>,
) -> PageResult {
    erase::confirm_erasure(&state, &form.token)
        .await
        .map_err(|error| crate::web::PageError {
            error,
            tr: page.view.tr,
        })?;
    Ok((jar.add(cleared_session_cookie(&state)), Redirect::to("/account/erased")).into_response())
}

#[derive(Template)]
#[template(path = "erasure_done.html")]
struct DonePage {
    page: PageView,
}

/// `GET /account/erased`: the account is deleted.
pub async fn done(page: Page) -> PageResult {
    Ok(render(StatusCode::OK, &DonePage { page: page.view }))
}
