//! Server-rendered pages for everyone: sign-in, my cohorts, a cohort, invitations, language.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::rate_limit::ClientIp;
use crate::auth::sign_in::{
    self, cleared_session_cookie, issue_session, redeem_sign_in_secret, request_sign_in_link, session_cookie,
};
use crate::cohorts::invitations::{
    self, BatchInvitation, BulkInvitationResult, ContactView, InvitationState, InvitationView, NewInvitation,
};
use crate::cohorts::{self, CohortView, MemberView};
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::i18n::{Language, Tr};
use crate::state::AppState;
use crate::users;
use crate::web::{FormError, LANGUAGE_COOKIE, Page, PageResult, PageView, SignedInPage, render};

pub async fn home(page: Page) -> Redirect {
    Redirect::to(match &page.user {
        Some(user) => landing(user),
        None => "/sign-in",
    })
}

/// Where a signed-in person starts: an admin on the administration, everyone else on their
/// cohorts.
fn landing(user: &CurrentUser) -> &'static str {
    if user.user.is_admin { "/admin" } else { "/cohorts" }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    page: PageView,
    email: String,
    error: Option<String>,
}

pub async fn sign_in_form(page: Page) -> PageResult {
    if let Some(user) = &page.user {
        return Ok(Redirect::to(landing(user)).into_response());
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
    /// Where a sign-in link leads once used (a path of this site), e.g. an appointed
    /// facilitator's cohort.
    #[serde(default)]
    next: Option<String>,
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
    next: Option<String>,
}

/// The e-mailed link opens a page with a button; only the button's POST uses the link, so a
/// mail scanner that follows links cannot spend it.
pub async fn sign_in_link(page: Page, Query(query): Query<TokenQuery>) -> PageResult {
    let next = query.next.filter(|next| sign_in::is_local_path(next));
    Ok(confirm_link_page(
        page.view,
        "sign_in",
        "/sign-in/link",
        query.token,
        next,
    ))
}

/// The page an e-mailed link opens: texts from `{prefix}.confirm_*`, a button that posts the token.
fn confirm_link_page(
    page: PageView,
    prefix: &str,
    action: &'static str,
    token: String,
    next: Option<String>,
) -> axum::response::Response {
    let tr = page.tr;
    render(
        StatusCode::OK,
        &ConfirmLinkPage {
            heading: tr.t(&format!("{prefix}.confirm_heading")).into(),
            explanation: tr.t(&format!("{prefix}.confirm_body")).into(),
            button: tr.t(&format!("{prefix}.confirm_button")).into(),
            action,
            token,
            next,
            page,
        },
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
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
            let landing = if person.is_admin { "/admin" } else { "/cohorts" };
            let to = form
                .next
                .as_deref()
                .filter(|next| sign_in::is_local_path(next))
                .unwrap_or(landing);
            Ok((jar.add(session_cookie(&state, token)), Redirect::to(to)).into_response())
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
    /// Experts may be invited, so the form offers booking them for a session.
    may_invite_experts: bool,
    invitations: Vec<InvitationView>,
    /// The project contacts with their invitation state (facilitators and admins).
    contacts: Vec<ContactView>,
    /// Whom "invite all" would invite now.
    to_invite: Vec<ContactView>,
    sessions: Vec<crate::sessions::SessionView>,
    may_plan: bool,
    /// Posts in the cohort's threads the viewer has not read.
    unread: usize,
    notice: Option<String>,
    /// What inviting several people at once did, line by line.
    report: Vec<String>,
    error: Option<String>,
    /// An error of the form for several addresses, with what was typed.
    batch_error: Option<String>,
    batch_text: String,
    /// The programme's closing survey, for those who may answer it, once it is open.
    closing_survey: Option<crate::surveys::SurveyStatus>,
}

#[derive(Deserialize, Default)]
pub struct CohortQuery {
    #[serde(default)]
    invited: Option<String>,
    #[serde(default)]
    bounced: Option<String>,
    #[serde(default)]
    resent: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    planned: Option<String>,
}

/// What a cohort page shows besides the cohort: a notice, a report, an error of one of its forms.
#[derive(Default)]
struct CohortPageState {
    notice: Option<String>,
    report: Vec<String>,
    error: Option<FormError>,
    batch_error: Option<FormError>,
    batch_text: String,
}

async fn cohort_page(state: &AppState, page: SignedInPage, cohort_id: i32, shown: CohortPageState) -> PageResult {
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
    let contacts = if invite_roles.contains(&Role::ProjectLead) {
        invitations::contacts(state, &page.user, cohort_id).await?
    } else {
        Vec::new()
    };
    let to_invite = invitations::to_invite(&contacts).into_iter().cloned().collect();
    let unread = crate::threads::unread_in_cohort(state, &page.user, cohort_id).await?;
    let closing_survey = Some(crate::surveys::closing_status(state, &page.user, cohort_id).await?)
        .filter(|survey| survey.may_answer && survey.open);
    let status = shown
        .error
        .as_ref()
        .or(shown.batch_error.as_ref())
        .map_or(StatusCode::OK, |shown| shown.status);
    Ok(render(
        status,
        &CohortPage {
            page: page.view,
            cohort,
            members,
            may_invite,
            may_invite_experts: invite_roles.contains(&Role::Expert),
            invite_roles,
            invitations,
            contacts,
            to_invite,
            sessions,
            may_plan,
            unread,
            notice: shown.notice,
            report: shown.report,
            error: shown.error.map(|shown| shown.message),
            batch_error: shown.batch_error.map(|shown| shown.message),
            batch_text: shown.batch_text,
            closing_survey,
        },
    ))
}

pub async fn cohort(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Query(query): Query<CohortQuery>,
) -> PageResult {
    let tr = page.view.tr;
    let about = |key: &str, email: Option<String>| email.map(|email| tr.f(key, &[("email", &email)]));
    let planned = query.planned.map(|_| page.view.t("cohort.planned_notice").to_string());
    let notice = about("cohort.invited_notice", query.invited)
        .or_else(|| about("invite.bounced_notice", query.bounced))
        .or_else(|| about("invite.resent_notice", query.resent))
        .or_else(|| about("invite.withdrawn_notice", query.withdrawn))
        .or(planned);
    cohort_page(
        &state,
        page,
        cohort_id,
        CohortPageState {
            notice,
            ..Default::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    name: String,
    role: String,
    /// Optional: a session to book an expert for at once.
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    topic: String,
}

/// Where the cohort page goes after one invitation: a notice naming the address, or saying the
/// mail server refused it.
fn after_invitation(cohort_id: i32, invitation: &InvitationView, sent_key: &str) -> axum::response::Response {
    let key = if invitation.state == InvitationState::Bounced {
        "bounced"
    } else {
        sent_key
    };
    Redirect::to(&format!("/cohorts/{cohort_id}?{key}={}", encode(&invitation.email))).into_response()
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
    let session_id = chosen_session(&form.session_id)?;
    let new = NewInvitation {
        email: form.email,
        name: form.name,
        role,
        session_id,
        topic: Some(form.topic).filter(|topic| !topic.trim().is_empty()),
    };
    match invitations::invite(&state, &page.user, cohort_id, new).await {
        Ok(created) => Ok(after_invitation(cohort_id, &created, "invited")),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let shown = CohortPageState {
                error: Some(shown),
                ..Default::default()
            };
            cohort_page(&state, page, cohort_id, shown).await
        }
    }
}

/// The lines a page shows after inviting several people at once.
fn report_lines(tr: &Tr, result: &BulkInvitationResult) -> Vec<String> {
    let mut lines = vec![tr.f("invite.sent_summary", &[("count", result.sent.len().to_string())])];
    if !result.bounced.is_empty() {
        let addresses: Vec<&str> = result.bounced.iter().map(|i| i.email.as_str()).collect();
        lines.push(tr.f(
            "invite.bounced_summary",
            &[
                ("count", result.bounced.len().to_string()),
                ("addresses", addresses.join(", ")),
            ],
        ));
    }
    if !result.already_members.is_empty() {
        lines.push(tr.f(
            "invite.already_members",
            &[("addresses", result.already_members.join(", "))],
        ));
    }
    if !result.already_invited.is_empty() {
        lines.push(tr.f(
            "invite.already_invited",
            &[("addresses", result.already_invited.join(", "))],
        ));
    }
    lines
}

/// "Invite every project contact not yet invited": one button.
pub async fn invite_contacts(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
) -> PageResult {
    let result = invitations::invite_contacts(&state, &page.user, cohort_id).await?;
    let report = report_lines(&page.view.tr, &result);
    let shown = CohortPageState {
        report,
        ..Default::default()
    };
    cohort_page(&state, page, cohort_id, shown).await
}

#[derive(Deserialize)]
pub struct BatchForm {
    people: String,
    role: String,
    /// Optional: a session to book the experts for at once.
    #[serde(default)]
    session_id: String,
}

/// The session chosen in an invitation form's select; empty is none.
fn chosen_session(field: &str) -> Result<Option<i32>, AppError> {
    match field.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("invite_unknown_session", "session_id")),
    }
}

/// Several addresses at once, one a line.
pub async fn invite_batch(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<BatchForm>,
) -> PageResult {
    let Some(role) = Role::parse(&form.role) else {
        return Err(AppError::invalid("invalid_role", "role").into());
    };
    let batch = BatchInvitation {
        people: form.people.clone(),
        role,
        session_id: chosen_session(&form.session_id)?,
        topic: None,
    };
    match invitations::invite_batch(&state, &page.user, cohort_id, batch).await {
        Ok(result) => {
            let report = report_lines(&page.view.tr, &result);
            let shown = CohortPageState {
                report,
                ..Default::default()
            };
            cohort_page(&state, page, cohort_id, shown).await
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            let shown = CohortPageState {
                batch_error: Some(shown),
                batch_text: form.people,
                ..Default::default()
            };
            cohort_page(&state, page, cohort_id, shown).await
        }
    }
}

/// Sends an invitation again with a new link.
pub async fn resend_invitation(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(invitation_id): Path<i32>,
) -> PageResult {
    let resent = invitations::resend(&state, &page.user, invitation_id).await?;
    Ok(after_invitation(resent.cohort_id, &resent, "resent"))
}

/// Withdraws an invitation: its link stops working.
pub async fn withdraw_invitation(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(invitation_id): Path<i32>,
) -> PageResult {
    let withdrawn = invitations::withdraw(&state, &page.user, invitation_id).await?;
    Ok(Redirect::to(&format!(
        "/cohorts/{}?withdrawn={}",
        withdrawn.cohort_id,
        encode(&withdrawn.email)
    ))
    .into_response())
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
        None,
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
