//! The public pages about Samling itself, open without signing in and linked from every page's
//! footer: the accessibility statement, the privacy notice and the help page. Their facts that
//! differ per installation (the controller, contacts, retention periods) come from the settings.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;

use crate::config::FileStorage;
use crate::state::AppState;
use crate::web::{Page, PageView, render};

/// The accessibility statement (tilgjengelighetserklæring).
pub const ACCESSIBILITY_PATH: &str = "/tilgjengelighet";
/// The privacy notice (personvernerklæring).
pub const PRIVACY_PATH: &str = "/personvern";
/// Help for each role.
pub const HELP_PATH: &str = "/hjelp";

/// When the accessibility statement was made and last checked against the tests. Change it
/// whenever the statement's findings change, and at least once a year.
const STATEMENT_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 6) {
    Some(date) => date,
    None => panic!("the statement date is a calendar day"),
};

/// A session shorter than this, without a warning before it ends, breaks WCAG 2.2.1 (its
/// exception is for time limits longer than 20 hours).
const TIMING_EXCEPTION_HOURS: i64 = 20;

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    page: PageView,
    controller: String,
    contact: String,
    statement_date: String,
    /// `Some(duration)` when the sign-in lasts less than WCAG 2.2.1's 20 hours: a known gap.
    short_session: Option<String>,
}

/// `GET /tilgjengelighet`.
pub async fn accessibility(State(state): State<AppState>, page: Page) -> Response {
    let tr = page.view.tr;
    let settings = &state.settings;
    render(
        StatusCode::OK,
        &AccessibilityPage {
            controller: settings.controller_name.clone(),
            contact: settings.accessibility_contact_email.clone(),
            statement_date: tr.short_date(STATEMENT_DATE),
            short_session: (settings.session_hours < TIMING_EXCEPTION_HOURS)
                .then(|| tr.plural("counted.hours", settings.session_hours)),
            page: page.view,
        },
    )
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    page: PageView,
    controller: String,
    /// Empty: not shown.
    address: String,
    contact: String,
    files_in_bucket: bool,
    programme_years: String,
    sign_in_days: String,
    invitation_days: String,
    outbox_days: String,
    export_link_hours: String,
    session_hours: String,
}

/// `GET /personvern`.
pub async fn privacy(State(state): State<AppState>, page: Page) -> Response {
    let tr = page.view.tr;
    let settings = &state.settings;
    render(
        StatusCode::OK,
        &PrivacyPage {
            controller: settings.controller_name.clone(),
            address: settings.controller_address.trim().to_string(),
            contact: settings.privacy_contact_email.clone(),
            files_in_bucket: settings.file_storage == FileStorage::S3,
            programme_years: tr.plural("counted.years", settings.retention_programme_years),
            sign_in_days: tr.plural("counted.days", settings.retention_sign_in_days),
            invitation_days: tr.plural("counted.days", settings.retention_invitation_days),
            outbox_days: tr.plural("counted.days", settings.retention_outbox_days),
            export_link_hours: tr.plural("counted.hours", settings.export_link_hours),
            session_hours: tr.plural("counted.hours", settings.session_hours),
            page: page.view,
        },
    )
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    page: PageView,
    /// How long before a session its video link shows, e.g. "60 minutter".
    meeting_link_before: String,
    /// The largest resource file, e.g. "26 MB".
    max_file: String,
    privacy_contact: String,
}

/// `GET /hjelp`.
pub async fn help(State(state): State<AppState>, page: Page) -> Response {
    let tr = page.view.tr;
    let settings = &state.settings;
    render(
        StatusCode::OK,
        &HelpPage {
            meeting_link_before: tr.plural("counted.minutes", settings.meeting_link_minutes_before),
            max_file: tr.file_size(i64::try_from(settings.resource_max_bytes).unwrap_or(i64::MAX)),
            privacy_contact: settings.privacy_contact_email.clone(),
            page: page.view,
        },
    )
}
