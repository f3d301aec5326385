//! Server-rendered pages for sessions: the session page for members (and its forms for
//! facilitators), the facilitator's planning page, calendar downloads and the personal feed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::api::sessions::ics_response;
use crate::cohorts::invitations::{self, InvitedExpert};
use crate::cohorts::{self, MemberView};
use crate::domain::planner::{PlanningSettings, ProposedSession, oslo};
use crate::domain::policy::{Action, takes_part_in_sessions};
use crate::domain::roles::Role;
use crate::domain::sessions::{Availability, SessionStatus};
use crate::error::{AppError, describe_violation};
use crate::sessions::participation::{
    self, PollAnswerInput, PollOptionInput, PollView, PreparationInput, PreparationView, RecapInput,
};
use crate::sessions::planning::{self, PlanAcceptance, PlanQuery, PlannedSession, Proposal};
use crate::sessions::registration::{self, AttendanceMark, AttendanceReport};
use crate::sessions::roster::{self, GroupMessage, MessageGroup, SessionRoster};
use crate::sessions::{self, ExpertBooking, SessionChanges, SessionView, feeds};
use crate::state::AppState;
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

/// `2027-03-29T09:00` from a `datetime-local` field, read as Oslo wall time.
fn parse_local(text: &str, field: &'static str) -> Result<DateTime<Utc>, AppError> {
    let parsed = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("invalid_date_time", field))?;
    Ok(oslo(parsed.date(), parsed.time()))
}

/// The value for a `datetime-local` field, in Oslo wall time.
pub fn local_input(at: &DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Oslo)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    page: PageView,
    session: SessionView,
    cohort_name: String,
    may_manage: bool,
    /// Offered the participant's own buttons (register, prepare, answer the poll).
    may_participate: bool,
    started: bool,
    /// Who registered, waits and answered the needs intake (for those who run the session).
    roster: Option<SessionRoster>,
    groups: Vec<MessageGroup>,
    preparation: PreparationInput,
    preparations: Option<Vec<PreparationView>>,
    poll: PollView,
    attendance: Option<AttendanceReport>,
    experts: Vec<MemberView>,
    /// Experts invited who have not answered yet: bookable too.
    invited_experts: Vec<InvitedExpert>,
    /// Those of them booked for this session: (name, topic).
    waiting_bookings: Vec<(String, String)>,
    organisations: Vec<(i32, String)>,
    statuses: Vec<SessionStatus>,
    notice: Option<String>,
    error: Option<String>,
    /// After a refused time change: the rules it breaks, and a checkbox to save anyway.
    warnings: Vec<String>,
    starts_local: String,
    ends_local: String,
    /// The session's survey, for those who may answer it, once the session has ended.
    survey: Option<crate::surveys::SurveyStatus>,
}

impl SessionPage {
    /// The recap as written so far, for the form: (summary, decisions, resources).
    fn recap_text(&self, part: &str) -> String {
        let Some(recap) = &self.session.recap else {
            return String::new();
        };
        match part {
            "summary" => recap.summary.clone(),
            "decisions" => recap.decisions.clone(),
            _ => recap.resources.clone(),
        }
    }

    fn follow_up_text(&self, organisation_id: &i32) -> String {
        self.session
            .recap
            .as_ref()
            .and_then(|recap| recap.follow_ups.iter().find(|f| f.organisation_id == *organisation_id))
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    /// How many people a group message went to.
    #[serde(default)]
    count: Option<usize>,
}

const NOTICES: [&str; 8] = [
    "registered",
    "unregistered",
    "prepared",
    "answered",
    "saved",
    "booked",
    "attendance",
    "recap",
];

async fn session_page(
    state: &AppState,
    page: SignedInPage,
    session_id: i32,
    notice: Option<String>,
    error: Option<FormError>,
    warnings: Vec<String>,
) -> PageResult {
    let session = sessions::session_view(state, &page.user, session_id).await?;
    let cohort_id = session.cohort_id;
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let may_manage = page.user.may(Action::ManageSessions { cohort_id });
    // Facilitators, admins and observers do not take part: no register, prepare or poll buttons, but a
    // person who registered anyway can still cancel.
    let may_participate = page.user.may(Action::ParticipateInSession { cohort_id })
        && (takes_part_in_sessions(&page.user.actor, cohort_id) || session.my_registration.is_some());
    let roster = if may_manage {
        Some(roster::roster(state, &page.user, session_id).await?)
    } else {
        None
    };
    let booked = session.experts.iter().any(|e| e.user_id == page.user.user.id);
    let preparations = if page.user.may(Action::ViewPreparations {
        cohort_id,
        booked_expert: booked,
    }) {
        Some(participation::preparations(state, &page.user, session_id).await?)
    } else {
        None
    };
    let started = session.starts_at <= state.now();
    let attendance = if may_manage && started {
        Some(registration::attendance(state, &page.user, session_id).await?)
    } else {
        None
    };
    let experts = if may_manage {
        cohorts::members(&state.db, &page.user, cohort_id)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Expert)
            .collect()
    } else {
        Vec::new()
    };
    let (invited_experts, waiting_bookings) = if may_manage {
        (
            invitations::invited_experts(&state.db, cohort_id, state.now()).await?,
            invitations::waiting_bookings(&state.db, &[session_id])
                .await?
                .into_iter()
                .map(|(_, name, topic)| (name, topic))
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut organisations: Vec<(i32, String)> = cohort
        .projects
        .iter()
        .map(|p| (p.organisation.id, p.organisation.name.clone()))
        .collect();
    organisations.sort_by(|a, b| a.1.cmp(&b.1));
    organisations.dedup();
    let survey = Some(crate::surveys::session_status(state, &page.user, session_id).await?)
        .filter(|survey| survey.may_answer && survey.open);
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let (starts_local, ends_local) = (local_input(&session.starts_at), local_input(&session.ends_at));
    Ok(render(
        status,
        &SessionPage {
            preparation: participation::my_preparation(state, &page.user, session_id).await?,
            poll: participation::poll(state, &page.user, session_id).await?,
            page: page.view,
            cohort_name: cohort.theme.name,
            session,
            may_manage,
            may_participate,
            started,
            roster,
            groups: MessageGroup::ALL.to_vec(),
            preparations,
            attendance,
            experts,
            invited_experts,
            waiting_bookings,
            organisations,
            statuses: SessionStatus::ALL.to_vec(),
            starts_local,
            ends_local,
            survey,
            notice,
            error: error.map(|e| e.message),
            warnings,
        },
    ))
}

pub async fn show(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let notice = query
        .done
        .filter(|done| NOTICES.contains(&done.as_str()))
        .map(|done| page.view.t(&format!("session.notice.{done}")).to_string())
        .or_else(|| {
            query
                .count
                .map(|count| page.view.f("session_roster.sent", &[("count", count.to_string())]))
        });
    session_page(&state, page, session_id, notice, None, Vec::new()).await
}

fn done(session_id: i32, what: &str) -> Response {
    Redirect::to(&format!("/sessions/{session_id}?done={what}")).into_response()
}

/// Runs a form's action: success redirects with a notice, a fixable error shows the page again.
async fn handle<T>(
    state: &AppState,
    page: SignedInPage,
    session_id: i32,
    what: &str,
    result: Result<T, AppError>,
) -> PageResult {
    match result {
        Ok(_) => Ok(done(session_id, what)),
        Err(AppError::RuleBroken { violations }) => {
            let warnings = violations.iter().map(|v| describe_violation(page.view.tr, v)).collect();
            let error = FormError {
                status: StatusCode::CONFLICT,
                message: page.view.t("session.rule_warning").to_string(),
            };
            session_page(state, page, session_id, None, Some(error), warnings).await
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            session_page(state, page, session_id, None, Some(shown), Vec::new()).await
        }
    }
}

pub async fn register(State(state): State<AppState>, page: SignedInPage, Path(session_id): Path<i32>) -> PageResult {
    let result = registration::register(&state, &page.user, session_id).await;
    handle(&state, page, session_id, "registered", result).await
}

pub async fn unregister(State(state): State<AppState>, page: SignedInPage, Path(session_id): Path<i32>) -> PageResult {
    let result = registration::unregister(&state, &page.user, session_id).await;
    handle(&state, page, session_id, "unregistered", result).await
}

#[derive(Deserialize)]
pub struct GroupMessageForm {
    group: String,
    #[serde(default)]
    note: String,
}

/// One click sends the prefilled message to a group (registered, waitlisted, not prepared).
pub async fn message_group(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(form): Form<GroupMessageForm>,
) -> PageResult {
    let result = async {
        let group = MessageGroup::parse(&form.group).ok_or_else(|| AppError::invalid("invalid_group", "group"))?;
        let note = Some(form.note).filter(|note| !note.trim().is_empty());
        roster::message_group(&state, &page.user, session_id, GroupMessage { group, note }).await
    }
    .await;
    match result {
        Ok(sent) => Ok(Redirect::to(&format!(
            "/sessions/{session_id}?count={}#roster-heading",
            sent.recipients
        ))
        .into_response()),
        Err(error) => handle(&state, page, session_id, "messaged", Err::<(), _>(error)).await,
    }
}

pub async fn prepare(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(input): Form<PreparationInput>,
) -> PageResult {
    let result = participation::save_preparation(&state, &page.user, session_id, input).await;
    handle(&state, page, session_id, "prepared", result).await
}

/// Poll answers arrive as `option_<id>=yes|if_need_be|no`.
pub async fn answer_poll(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(fields): Form<HashMap<String, String>>,
) -> PageResult {
    let mut answers = Vec::new();
    for (name, value) in &fields {
        if let Some(id) = name.strip_prefix("option_") {
            let option_id = id
                .parse()
                .map_err(|_| AppError::invalid("unknown_poll_option", "option_id"))?;
            let answer = Availability::parse(value).ok_or_else(|| AppError::invalid("invalid_answer", "answer"))?;
            answers.push(PollAnswerInput { option_id, answer });
        }
    }
    let result = participation::answer_poll(&state, &page.user, session_id, answers).await;
    handle(&state, page, session_id, "answered", result).await
}

#[derive(Deserialize)]
pub struct EditForm {
    title: String,
    agenda: String,
    meeting_url: String,
    #[serde(default)]
    capacity: String,
    status: String,
    starts_at: String,
    ends_at: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(form): Form<EditForm>,
) -> PageResult {
    let result = async {
        let capacity = form.capacity.trim();
        let changes = SessionChanges {
            title: Some(form.title),
            agenda: Some(form.agenda),
            meeting_url: Some(form.meeting_url),
            capacity: if capacity.is_empty() {
                None
            } else {
                Some(
                    capacity
                        .parse()
                        .map_err(|_| AppError::invalid("invalid_capacity", "capacity"))?,
                )
            },
            remove_capacity: capacity.is_empty(),
            status: Some(
                SessionStatus::parse(&form.status).ok_or_else(|| AppError::invalid("invalid_status", "status"))?,
            ),
            starts_at: Some(parse_local(&form.starts_at, "starts_at")?),
            ends_at: Some(parse_local(&form.ends_at, "ends_at")?),
            confirm: form.confirm.is_some(),
        };
        sessions::update_session(&state, &page.user, session_id, changes).await
    }
    .await;
    handle(&state, page, session_id, "saved", result).await
}

#[derive(Deserialize)]
pub struct ExpertForm {
    /// A member's id, or `invitation-<id>` for an expert invited who has not answered yet.
    user_id: String,
    topic: String,
}

pub async fn book_expert(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(form): Form<ExpertForm>,
) -> PageResult {
    let result = sessions::book_expert(
        &state,
        &page.user,
        session_id,
        ExpertBooking {
            user_id: form.user_id.parse().ok(),
            invitation_id: form.user_id.strip_prefix("invitation-").and_then(|id| id.parse().ok()),
            topic: form.topic,
        },
    )
    .await;
    handle(&state, page, session_id, "booked", result).await
}

#[derive(Deserialize)]
pub struct PollOptionForm {
    starts_at: String,
    ends_at: String,
}

pub async fn add_poll_option(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(form): Form<PollOptionForm>,
) -> PageResult {
    let result = async {
        let input = PollOptionInput {
            starts_at: parse_local(&form.starts_at, "starts_at")?,
            ends_at: parse_local(&form.ends_at, "ends_at")?,
        };
        participation::add_poll_option(&state, &page.user, session_id, input).await
    }
    .await;
    handle(&state, page, session_id, "saved", result).await
}

/// Attendance arrives as `present_<user id>=on` for everyone who came.
pub async fn record_attendance(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(fields): Form<HashMap<String, String>>,
) -> PageResult {
    let result = async {
        let report = registration::attendance(&state, &page.user, session_id).await?;
        let marks = report
            .people
            .iter()
            .filter(|person| person.status == crate::domain::sessions::RegistrationStatus::Registered)
            .map(|person| AttendanceMark {
                user_id: person.user_id,
                attended: fields.contains_key(&format!("present_{}", person.user_id)),
            })
            .collect();
        registration::record_attendance(&state, &page.user, session_id, marks).await
    }
    .await;
    handle(&state, page, session_id, "attendance", result).await
}

/// The recap form: follow-ups arrive as `follow_up_<organisation id>`.
pub async fn write_recap(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
    Form(fields): Form<HashMap<String, String>>,
) -> PageResult {
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let mut follow_ups = Vec::new();
    for (name, text) in &fields {
        if let Some(id) = name.strip_prefix("follow_up_")
            && !text.trim().is_empty()
        {
            let organisation_id = id
                .parse()
                .map_err(|_| AppError::invalid("unknown_organisation", "organisation_id"))?;
            follow_ups.push(participation::FollowUpInput {
                organisation_id,
                text: text.clone(),
            });
        }
    }
    follow_ups.sort_by_key(|f| f.organisation_id);
    let input = RecapInput {
        summary: field("summary"),
        decisions: field("decisions"),
        resources: field("resources"),
        follow_ups,
        publish: fields.contains_key("publish"),
    };
    let result = participation::write_recap(&state, &page.user, session_id, input).await;
    handle(&state, page, session_id, "recap", result).await
}

pub async fn calendar_file(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(session_id): Path<i32>,
) -> PageResult {
    let body = feeds::session_ics(&state, &page.user, session_id).await?;
    Ok(ics_response(&format!("samling-{session_id}.ics"), body))
}

#[derive(Template)]
#[template(path = "planning.html")]
struct PlanningPage {
    page: PageView,
    cohort_id: i32,
    cohort_name: String,
    sessions: Vec<SessionView>,
    period_start: String,
    period_end: String,
    proposal: Option<Proposal>,
    skipped: Vec<(String, String)>,
    error: Option<String>,
    warnings: Vec<String>,
    /// The programme's planning rules, shown so the facilitator knows what the proposal follows.
    rules: PlanningSettings,
}

async fn planning_page(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    query: PlanQuery,
    proposal: Option<Proposal>,
    error: Option<FormError>,
    warnings: Vec<String>,
) -> PageResult {
    let planning::PlanningOverview {
        cohort,
        sessions,
        rules,
    } = planning::overview(state, &page.user, cohort_id).await?;
    let tr = page.view.tr;
    let skipped = proposal
        .as_ref()
        .map(|p| {
            p.plan
                .skipped
                .iter()
                .map(|day| {
                    let reasons: Vec<String> = day.reasons.iter().map(|v| describe_violation(tr, v)).collect();
                    (tr.date(day.date), reasons.join("; "))
                })
                .collect()
        })
        .unwrap_or_default();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    Ok(render(
        status,
        &PlanningPage {
            page: page.view,
            cohort_id,
            period_start: query.period_start.unwrap_or(cohort.programme.starts_on).to_string(),
            period_end: query.period_end.unwrap_or(cohort.programme.ends_on).to_string(),
            cohort_name: cohort.theme.name,
            sessions,
            proposal,
            skipped,
            error: error.map(|e| e.message),
            warnings,
            rules,
        },
    ))
}

pub async fn planning(State(state): State<AppState>, page: SignedInPage, Path(cohort_id): Path<i32>) -> PageResult {
    planning_page(&state, page, cohort_id, PlanQuery::default(), None, None, Vec::new()).await
}

#[derive(Deserialize)]
pub struct ProposeForm {
    period_start: String,
    period_end: String,
}

pub async fn propose(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<ProposeForm>,
) -> PageResult {
    let parse = |text: &str, field: &'static str| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| AppError::invalid("invalid_date", field))
    };
    let result = async {
        let query = PlanQuery {
            period_start: Some(parse(&form.period_start, "period_start")?),
            period_end: Some(parse(&form.period_end, "period_end")?),
        };
        let proposal = planning::propose(&state, &page.user, cohort_id, query.clone()).await?;
        Ok::<_, AppError>((query, proposal))
    }
    .await;
    match result {
        Ok((query, proposal)) => planning_page(&state, page, cohort_id, query, Some(proposal), None, Vec::new()).await,
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            planning_page(
                &state,
                page,
                cohort_id,
                PlanQuery::default(),
                None,
                Some(shown),
                Vec::new(),
            )
            .await
        }
    }
}

/// The accepted plan: `start_<n>` and `end_<n>` as Oslo wall times, `confirm` after a warning.
pub async fn accept(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(fields): Form<HashMap<String, String>>,
) -> PageResult {
    let result = async {
        let mut planned = Vec::new();
        for number in 1..=4u32 {
            if let (Some(start), Some(end)) = (
                fields.get(&format!("start_{number}")),
                fields.get(&format!("end_{number}")),
            ) {
                planned.push(PlannedSession {
                    number,
                    starts_at: parse_local(start, "starts_at")?,
                    ends_at: parse_local(end, "ends_at")?,
                });
            }
        }
        planning::accept(
            &state,
            &page.user,
            cohort_id,
            PlanAcceptance {
                sessions: planned,
                confirm: fields.contains_key("confirm"),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/cohorts/{cohort_id}?planned=1")).into_response()),
        Err(AppError::RuleBroken { violations }) => {
            let warnings = violations.iter().map(|v| describe_violation(page.view.tr, v)).collect();
            let error = FormError {
                status: StatusCode::CONFLICT,
                message: page.view.t("session.rule_warning").to_string(),
            };
            planning_page(
                &state,
                page,
                cohort_id,
                PlanQuery::default(),
                None,
                Some(error),
                warnings,
            )
            .await
        }
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            planning_page(
                &state,
                page,
                cohort_id,
                PlanQuery::default(),
                None,
                Some(shown),
                Vec::new(),
            )
            .await
        }
    }
}

impl PlanningPage {
    /// The programme's rules in one sentence.
    fn rules_text(&self) -> String {
        let rules = &self.rules;
        let hours = rules.session_minutes / 60;
        let minutes = rules.session_minutes % 60;
        let length = if minutes == 0 {
            self.page
                .f("programme_planning.length_hours", &[("hours", hours.to_string())])
        } else {
            self.page.f(
                "programme_planning.length_hours_minutes",
                &[("hours", hours.to_string()), ("minutes", minutes.to_string())],
            )
        };
        self.page.f(
            "programme_planning.summary",
            &[
                ("length", length),
                ("from", format!("{:02}:00", rules.day_starts_hour)),
                ("to", format!("{:02}:00", rules.day_ends_hour)),
                ("gap", rules.min_gap_days.to_string()),
                ("lead", rules.lead_days.to_string()),
            ],
        )
    }

    fn local(&self, at: &DateTime<Utc>) -> String {
        local_input(at)
    }

    fn proposed(&self) -> Vec<ProposedSession> {
        self.proposal
            .as_ref()
            .map(|p| p.plan.sessions.clone())
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "calendar_feed.html")]
struct CalendarFeedPage {
    page: PageView,
    url: Option<String>,
    has_feed: bool,
}

pub async fn calendar_feed(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let has_feed = feeds::has_feed(&state, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &CalendarFeedPage {
            page: page.view,
            url: None,
            has_feed,
        },
    ))
}

pub async fn create_calendar_feed(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let url = feeds::create_feed(&state, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &CalendarFeedPage {
            page: page.view,
            url: Some(url),
            has_feed: true,
        },
    ))
}

pub async fn revoke_calendar_feed(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    feeds::revoke_feed(&state, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &CalendarFeedPage {
            page: page.view,
            url: None,
            has_feed: false,
        },
    ))
}

/// The personal feed, read by calendar apps: the secret in the path is the key.
pub async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let secret = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let body = feeds::feed_ics(&state, secret).await?;
    Ok(ics_response("samling.ics", body))
}
