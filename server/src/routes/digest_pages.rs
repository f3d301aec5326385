//! Pages about e-mail digests: a person's e-mail settings, the unsubscribe page a mail links
//! to (no sign-in: the link is signed), and the facilitator's digest schedule with preview.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::cohorts::{self, MemberView};
use crate::digests::{self, DigestChange, DigestView};
use crate::domain::digest_schedule::{DigestPreference, open_periods, oslo_date, send_time, session_period};
use crate::error::AppError;
use crate::i18n::Language;
use crate::mail::transport::OutgoingMail;
use crate::state::AppState;
use crate::users;
use crate::web::{FormError, Page, PageResult, PageView, SignedInPage, render};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: PageView,
    preference: String,
    language: String,
    preferences: Vec<&'static str>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: bool,
}

/// `GET /settings`: what the person gets by e-mail, and in which language.
pub async fn settings(page: SignedInPage, Query(query): Query<SettingsQuery>) -> PageResult {
    let notice = query.saved.then(|| page.view.tr.t("settings.saved").to_string());
    Ok(render(
        StatusCode::OK,
        &SettingsPage {
            preference: page.user.user.digest_preference.clone(),
            language: page.user.user.language.clone(),
            preferences: DigestPreference::ALL.iter().map(|p| p.code()).collect(),
            page: page.view,
            notice,
        },
    ))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    preference: String,
    language: String,
}

/// `POST /settings`.
pub async fn save_settings(
    State(state): State<AppState>,
    page: SignedInPage,
    Form(form): Form<SettingsForm>,
) -> PageResult {
    let preference = DigestPreference::parse(&form.preference)
        .ok_or_else(|| AppError::invalid("invalid_preference", "preference"))?;
    let language = Language::parse(&form.language).ok_or_else(|| AppError::invalid("invalid_language", "language"))?;
    users::set_digest_preference(&state.db, page.user.user.id, preference).await?;
    users::set_language(&state.db, &page.user.user, language).await?;
    Ok(Redirect::to("/settings?saved=true").into_response())
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    page: PageView,
    token: String,
    done: bool,
}

#[derive(Deserialize)]
pub struct UnsubscribeQuery {
    #[serde(default)]
    token: String,
}

/// `GET /unsubscribe?token=…`: asks to confirm (a link checker that opens the link changes
/// nothing). Mail programs use the one-click `POST /api/v1/unsubscribe` instead.
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<UnsubscribeQuery>,
) -> PageResult {
    state
        .sessions
        .verify_unsubscribe(&query.token, state.now())
        .ok_or_else(|| AppError::invalid("invalid_unsubscribe_link", "token"))?;
    Ok(render(
        StatusCode::OK,
        &UnsubscribePage {
            page: page.view,
            token: query.token,
            done: false,
        },
    ))
}

#[derive(Deserialize)]
pub struct UnsubscribeForm {
    #[serde(default)]
    token: String,
}

/// `POST /unsubscribe`: no more digests for the link's owner.
pub async fn unsubscribe(State(state): State<AppState>, page: Page, Form(form): Form<UnsubscribeForm>) -> PageResult {
    digests::unsubscribe(&state, &form.token).await?;
    Ok(render(
        StatusCode::OK,
        &UnsubscribePage {
            page: page.view,
            token: String::new(),
            done: true,
        },
    ))
}

/// How many session periods with digests still to send the schedule shows open.
const OPEN_PERIODS: usize = 3;

/// The digests of one session period: before session 1, between two sessions, or after the last.
struct DigestGroup {
    /// 0 before the first session, `k` after session `k`.
    period: usize,
    open: bool,
    /// Still to be sent: each with its forms.
    scheduled: Vec<DigestView>,
    /// Sent (decided), summarised in a line; their previews folded.
    sent: Vec<DigestView>,
    /// Dropped or missed.
    skipped: usize,
}

impl DigestGroup {
    fn last_sent(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.sent.iter().filter_map(|d| d.decided_at.or(Some(d.due_at))).max()
    }
}

#[derive(Template)]
#[template(path = "digests.html")]
struct SchedulePage {
    page: PageView,
    cohort_id: i32,
    cohort_name: String,
    groups: Vec<DigestGroup>,
    /// How many sessions the cohort has (names the last period).
    sessions: usize,
    members: Vec<MemberView>,
    notice: Option<String>,
    error: Option<String>,
}

/// The digests by session period, in time order; the first periods with something to send are open.
fn group_digests(digests: Vec<DigestView>, session_starts: &[chrono::DateTime<chrono::Utc>]) -> Vec<DigestGroup> {
    let mut groups: Vec<DigestGroup> = Vec::new();
    for digest in digests {
        let period = session_period(digest.due_at, session_starts);
        let group = match groups.iter().position(|g| g.period == period) {
            Some(index) => &mut groups[index],
            None => {
                groups.push(DigestGroup {
                    period,
                    open: false,
                    scheduled: Vec::new(),
                    sent: Vec::new(),
                    skipped: 0,
                });
                let last = groups.len() - 1;
                &mut groups[last]
            }
        };
        match digest.status.as_str() {
            "scheduled" => group.scheduled.push(digest),
            "decided" => group.sent.push(digest),
            _ => group.skipped += 1,
        }
    }
    groups.sort_by_key(|g| g.period);
    let pending: Vec<bool> = groups.iter().map(|g| !g.scheduled.is_empty()).collect();
    for (group, open) in groups.iter_mut().zip(open_periods(&pending, OPEN_PERIODS)) {
        group.open = open;
    }
    groups
}

impl SchedulePage {
    fn period_label(&self, group: &DigestGroup) -> String {
        let period = group.period;
        if self.sessions == 0 {
            self.page.t("digest_groups.all").to_string()
        } else if period == 0 {
            self.page.t("digest_groups.before_first").to_string()
        } else if period >= self.sessions {
            self.page
                .f("digest_groups.after_last", &[("number", period.to_string())])
        } else {
            self.page.f(
                "digest_groups.between",
                &[("first", period.to_string()), ("second", (period + 1).to_string())],
            )
        }
    }

    /// "3 to send · 5 sent, the last on …" for the folded summary.
    fn summary(&self, group: &DigestGroup) -> String {
        let mut parts = Vec::new();
        if !group.scheduled.is_empty() {
            parts.push(
                self.page
                    .f("digest_groups.to_send", &[("count", group.scheduled.len().to_string())]),
            );
        }
        if let Some(last) = group.last_sent() {
            parts.push(self.page.f(
                "digest_groups.sent",
                &[
                    ("count", group.sent.len().to_string()),
                    ("date", self.page.tr.date(oslo_date(last))),
                ],
            ));
        }
        if group.skipped > 0 {
            parts.push(
                self.page
                    .f("digest_groups.skipped", &[("count", group.skipped.to_string())]),
            );
        }
        parts.join(" · ")
    }

    fn kind_label(&self, kind: &str) -> String {
        self.page.t(&format!("digests.kind.{kind}")).to_string()
    }

    fn status_label(&self, status: &str) -> String {
        self.page.t(&format!("digests.status.{status}")).to_string()
    }

    fn when(&self, digest: &DigestView) -> String {
        self.page.tr.date_time(digest.due_at)
    }

    fn date_input(&self, digest: &DigestView) -> String {
        crate::domain::digest_schedule::oslo_date(digest.due_at).to_string()
    }
}

#[derive(Deserialize)]
pub struct ScheduleQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn schedule_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    notice: Option<String>,
    error: Option<String>,
) -> PageResult {
    let digests = digests::schedule(state, &page.user, cohort_id).await?;
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let mut session_starts: Vec<chrono::DateTime<chrono::Utc>> =
        crate::sessions::cohort_sessions(state, &page.user, cohort_id)
            .await?
            .iter()
            .filter(|s| s.status != crate::domain::sessions::SessionStatus::Cancelled)
            .map(|s| s.starts_at)
            .collect();
    session_starts.sort_unstable();
    let members = cohorts::members(&state.db, &page.user, cohort_id).await?;
    Ok(render(
        StatusCode::OK,
        &SchedulePage {
            cohort_name: cohort.theme.name.clone(),
            page: page.view,
            cohort_id,
            groups: group_digests(digests, &session_starts),
            sessions: session_starts.len(),
            members,
            notice,
            error,
        },
    ))
}

/// `GET /cohorts/{cohort_id}/digests`: the facilitator's digest schedule.
pub async fn schedule(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Query(query): Query<ScheduleQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some(done @ ("saved" | "sent")) => Some(page.view.tr.t(&format!("digests.notice.{done}")).to_string()),
        _ => None,
    };
    schedule_page(&state, page, cohort_id, notice, None).await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    intro: String,
    /// A date (`YYYY-MM-DD`); the digest goes out at 08:00 Oslo time on it or the next working day.
    #[serde(default)]
    send_on: String,
}

/// `POST /digests/{digest_id}`: a new intro and, optionally, a later day.
pub async fn change(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(digest_id): Path<i32>,
    Form(form): Form<ChangeForm>,
) -> PageResult {
    let found = digests::managed(&state, &page.user, digest_id).await?;
    let cohort_id = found.cohort_id;
    // The form always shows the day; only a different day is a postponement.
    let send_at = match form.send_on.trim() {
        "" => None,
        text => {
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("invalid_date", "send_on"))?;
            (day != oslo_date(found.due_at)).then(|| send_time(day))
        }
    };
    let change = DigestChange {
        intro: Some(form.intro),
        send_at,
    };
    match digests::change(&state, &page.user, digest_id, change).await {
        Ok(_) => Ok(Redirect::to(&format!("/cohorts/{cohort_id}/digests?done=saved")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            schedule_page(&state, page, cohort_id, None, Some(shown.message)).await
        }
    }
}

/// `POST /digests/{digest_id}/send`: decide it now and send it.
pub async fn send_now(State(state): State<AppState>, page: SignedInPage, Path(digest_id): Path<i32>) -> PageResult {
    let cohort_id = digests::cohort_of(&state, &page.user, digest_id).await?;
    match digests::send_now(&state, &page.user, digest_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/cohorts/{cohort_id}/digests?done=sent")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            schedule_page(&state, page, cohort_id, None, Some(shown.message)).await
        }
    }
}

#[derive(Template)]
#[template(path = "digest_preview.html")]
struct PreviewPage {
    page: PageView,
    cohort_id: i32,
    member: String,
    mail: Option<OutgoingMail>,
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    user_id: i32,
}

/// `GET /digests/{digest_id}/preview?user_id=…`: the digest as that member would get it now.
pub async fn preview(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(digest_id): Path<i32>,
    Query(query): Query<PreviewQuery>,
) -> PageResult {
    // Also the permission check: only the cohort's facilitators and admins get a cohort.
    let cohort_id = digests::cohort_of(&state, &page.user, digest_id).await?;
    let mail = digests::preview(&state, &page.user, digest_id, query.user_id).await?;
    let member = cohorts::members(&state.db, &page.user, cohort_id)
        .await?
        .into_iter()
        .find(|member| member.user_id == query.user_id)
        .map(|member| member.name)
        .unwrap_or_default();
    Ok(render(
        StatusCode::OK,
        &PreviewPage {
            page: page.view,
            cohort_id,
            member,
            mail,
        },
    ))
}
