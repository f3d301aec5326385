//! Server-rendered pages for everyone: sign-in, my cohorts, a cohort, invitations, language.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::auth::rate_limit::ClientIp;
use crate::auth::sign_in::{
    self, cleared_session_cookie, issue_session, redeem_sign_in_secret, request_sign_in_link, session_cookie,
};
use crate::cohorts::invitations::{self, InvitationView, NewInvitation};
use crate::cohorts::{self, CohortView, MemberView};
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::i18n::{Language, Tr};
use crate::state::AppState;
use crate::users;
use crate::web::{FormError, LANGUAGE_COOKIE, Page, PageResult, PageView, SignedInPage, render};

pub async fn home(page: Page) -> Redirect {
    Redirect::to(if page.user.is_some() { "/cohorts" } else { "/sign-in" })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    page: PageView,
    email: String,
    error: Option<String>,
}

pub async fn sign_in_form(page: Page) -> PageResult {
    if page.user.is_some() {
        return Ok(Redirect::to("/cohorts").into_response());
    }
    Ok(render(
        StatusCode::OK,
        &SignInPage {
            page: page.view,
            email: String::new(),
            error: None,
        },
    ))
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
}

#[derive(Template)]
#[template(path = "sign_in_sent.html")]
struct SignInSentPage {
    page: PageView,
}

pub async fn sign_in_submit(
    State(state): State<AppState>,
    page: Page,
    ClientIp(ip): ClientIp,
    Form(form): Form<SignInForm>,
) -> PageResult {
    match request_sign_in_link(&state, &form.email, ip).await {
        Ok(()) => Ok(render(StatusCode::OK, &SignInSentPage { page: page.view })),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            Ok(render(
                shown.status,
                &SignInPage {
                    page: page.view,
                    email: form.email,
                    error: Some(shown.message),
                },
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "confirm_link.html")]
struct ConfirmLinkPage {
    page: PageView,
    heading: String,
    explanation: String,
    button: String,
    action: &'static str,
    token: String,
}

/// The e-mailed link opens a page with a button; only the button's POST uses the link, so a
/// mail scanner that follows links cannot spend it.
pub async fn sign_in_link(page: Page, Query(query): Query<TokenQuery>) -> PageResult {
    Ok(confirm_link_page(page.view, "sign_in", "/sign-in/link", query.token))
}

/// The page an e-mailed link opens: texts from `{prefix}.confirm_*`, a button that posts the token.
fn confirm_link_page(page: PageView, prefix: &str, action: &'static str, token: String) -> axum::response::Response {
    let tr = page.tr;
    render(
        StatusCode::OK,
        &ConfirmLinkPage {
            heading: tr.t(&format!("{prefix}.confirm_heading")).into(),
            explanation: tr.t(&format!("{prefix}.confirm_body")).into(),
            button: tr.t(&format!("{prefix}.confirm_button")).into(),
            action,
            token,
            page,
        },
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

#[derive(Template)]
#[template(path = "link_failed.html")]
struct LinkFailedPage {
    page: PageView,
    message: String,
}

pub async fn sign_in_link_submit(
    State(state): State<AppState>,
    page: Page,
    jar: CookieJar,
    Form(form): Form<TokenForm>,
) -> PageResult {
    match redeem_sign_in_secret(&state, &form.token).await {
        Ok(person) => {
            let token = issue_session(&state, &person)?;
            Ok((jar.add(session_cookie(&state, token)), Redirect::to("/cohorts")).into_response())
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            Ok(render(
                shown.status,
                &LinkFailedPage {
                    page: page.view,
                    message: shown.message,
                },
            ))
        }
    }
}

pub async fn sign_out(State(state): State<AppState>, page: Page, jar: CookieJar) -> PageResult {
    if let Some(user) = page.user {
        sign_in::sign_out(&state, &user).await?;
    }
    Ok((jar.add(cleared_session_cookie(&state)), Redirect::to("/sign-in")).into_response())
}

#[derive(Template)]
#[template(path = "cohorts.html")]
struct CohortsPage {
    page: PageView,
    cohorts: Vec<CohortView>,
}

pub async fn my_cohorts(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let cohorts = cohorts::cohort_views(&state.db, Some(&page.user), page.user.language()).await?;
    Ok(render(
        StatusCode::OK,
        &CohortsPage {
            page: page.view,
            cohorts,
        },
    ))
}

#[derive(Template)]
#[template(path = "cohort.html")]
struct CohortPage {
    page: PageView,
    cohort: CohortView,
    members: Vec<MemberView>,
    may_invite: bool,
    invite_roles: Vec<Role>,
    invitations: Vec<InvitationView>,
    sessions: Vec<crate::sessions::SessionView>,
    may_plan: bool,
    /// Posts in the cohort's threads the viewer has not read.
    unread: usize,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CohortQuery {
    #[serde(default)]
    invited: Option<String>,
    #[serde(default)]
    planned: Option<String>,
}

async fn cohort_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    notice: Option<String>,
    error: Option<FormError>,
) -> PageResult {
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let members = cohorts::members(&state.db, &page.user, cohort_id).await?;
    let invite_roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| page.user.may(Action::InviteToCohort { cohort_id, role: *role }))
        .collect();
    let may_invite = !invite_roles.is_empty();
    let sessions = crate::sessions::cohort_sessions(state, &page.user, cohort_id).await?;
    let may_plan = page.user.may(Action::ManageSessions { cohort_id });
    let invitations = if may_invite {
        invitations::pending(state, &page.user, cohort_id).await?
    } else {
        Vec::new()
    };
    let unread = crate::threads::unread_in_cohort(state, &page.user, cohort_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |shown| shown.status);
    let error = error.map(|shown| shown.message);
    Ok(render(
        status,
        &CohortPage {
            page: page.view,
            cohort,
            members,
            may_invite,
            invite_roles,
            invitations,
            sessions,
            may_plan,
            unread,
            notice,
            error,
        },
    ))
}

pub async fn cohort(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Query(query): Query<CohortQuery>,
) -> PageResult {
    let invited = query
        .invited
        .map(|email| page.view.tr.f("cohort.invited_notice", &[("email", &email)]));
    let planned = query.planned.map(|_| page.view.t("cohort.planned_notice").to_string());
    let notice = invited.or(planned);
    cohort_page(&state, page, cohort_id, notice, None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    name: String,
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<InviteForm>,
) -> PageResult {
    let Some(role) = Role::parse(&form.role) else {
        return Err(AppError::invalid("invalid_role", "role").into());
    };
    let new = NewInvitation {
        email: form.email,
        name: form.name,
        role,
    };
    match invitations::invite(&state, &page.user, cohort_id, new).await {
        Ok(created) => {
            Ok(Redirect::to(&format!("/cohorts/{cohort_id}?invited={}", encode(&created.email))).into_response())
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            cohort_page(&state, page, cohort_id, None, Some(shown)).await
        }
    }
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub async fn invitation_link(page: Page, Query(query): Query<TokenQuery>) -> PageResult {
    Ok(confirm_link_page(
        page.view,
        "invitation",
        "/invitations/accept",
        query.token,
    ))
}

pub async fn invitation_accept(
    State(state): State<AppState>,
    page: Page,
    jar: CookieJar,
    Form(form): Form<TokenForm>,
) -> PageResult {
    match invitations::accept(&state, &form.token).await {
        Ok((person, cohort_id)) => {
            let token = issue_session(&state, &person)?;
            Ok((
                jar.add(session_cookie(&state, token)),
                Redirect::to(&format!("/cohorts/{cohort_id}")),
            )
                .into_response())
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            Ok(render(
                shown.status,
                &LinkFailedPage {
                    page: page.view,
                    message: shown.message,
                },
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    language: String,
    #[serde(default)]
    back: String,
}

/// Switches the language: for the browser (a cookie) and, when signed in, for the person.
pub async fn set_language(
    State(state): State<AppState>,
    page: Page,
    jar: CookieJar,
    Form(form): Form<LanguageForm>,
) -> PageResult {
    let language = Language::parse(&form.language).ok_or_else(|| AppError::invalid("invalid_language", "language"))?;
    if let Some(user) = &page.user {
        users::set_language(&state.db, &user.user, language).await?;
    }
    let cookie = Cookie::build((LANGUAGE_COOKIE, language.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .build();
    // Only local paths, so the form cannot be used to redirect elsewhere.
    let back = if form.back.starts_with('/') && !form.back.starts_with("//") {
        form.back
    } else {
        "/".to_string()
    };
    Ok((jar.add(cookie), Redirect::to(&back)).into_response())
}

/// Unknown pages.
pub async fn not_found(page: Page) -> PageResult {
    Err(crate::web::PageError {
        error: AppError::NotFound,
        tr: page.view.tr,
    })
}

/// Used by templates to show a role's name.
pub fn role_label(tr: &Tr, role: &Role) -> String {
    tr.t(&role.label_key()).to_string()
}
