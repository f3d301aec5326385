//! Administration → people → «Slett person»: the page that names the person, says what goes
//! and what stays, and erases them once the admin confirms (someone who asked by letter).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::error::AppError;
use crate::privacy::admin_erasure::{self, ErasurePreview};
use crate::privacy::erase::{self, PostsChoice};
use crate::state::AppState;
use crate::web::{FormError, PageError, PageResult, PageView, SignedInPage, render};

#[derive(Template)]
#[template(path = "admin/erasure.html")]
struct ErasurePage {
    page: PageView,
    person: ErasurePreview,
    /// The person's name, or «Tidligere deltaker» in the admin's language once erased.
    name: String,
    /// The admin's choice, kept when the page comes back with an error.
    keep: bool,
    error: Option<String>,
}

async fn erasure_page(
    state: &AppState,
    page: SignedInPage,
    user_id: i32,
    keep: bool,
    error: Option<FormError>,
) -> PageResult {
    let tr = page.view.tr;
    let person = admin_erasure::preview(&state.db, &page.user, user_id)
        .await
        .map_err(|error| PageError { error, tr })?;
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    let name = if person.erased {
        crate::users::former_participant(tr.language).to_string()
    } else {
        person.name.clone()
    };
    Ok(render(
        status,
        &ErasurePage {
            page: page.view,
            person,
            name,
            keep,
            error: error.map(|shown| shown.message),
        },
    ))
}

/// `GET /admin/users/{id}/erasure`: who, what goes, what stays, and the button.
pub async fn confirm_form(State(state): State<AppState>, page: SignedInPage, Path(user_id): Path<i32>) -> PageResult {
    erasure_page(&state, page, user_id, true, None).await
}

#[derive(Deserialize)]
pub struct ErasureForm {
    #[serde(default)]
    posts: String,
}

/// `POST /admin/users/{id}/erasure`: erases (the same call and policy as the API), then back
/// to the list with a notice; a refusal is shown on the page as the form's error.
pub async fn erase(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(user_id): Path<i32>,
    Form(form): Form<ErasureForm>,
) -> PageResult {
    let result = match PostsChoice::parse(&form.posts) {
        Some(posts) => erase::erase_by_admin(&state, &page.user, user_id, posts).await,
        None => Err(AppError::invalid("invalid_posts_choice", "posts")),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/users?done=erased").into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let keep = form.posts != PostsChoice::Delete.code();
            erasure_page(&state, page, user_id, keep, Some(shown)).await
        }
    }
}
