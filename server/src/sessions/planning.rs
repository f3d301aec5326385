//! Feeding the planner from the database: who takes part in a cohort, and where those people
//! and municipalities are already booked in other cohorts' sessions.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::domain::grants::{GrantStatus, Placement};
use crate::domain::planner::{
    Booking, Participant, Plan, PlanError, PlanRequest, PlanningRules, PlanningSettings, ProposedSession, Violation,
    check_slot, propose_plan,
};
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::domain::sessions::SessionStatus;
use crate::entities::{cohort, grant, membership, programme, session, session_expert, theme};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Everyone who can only be in one place at a time, per cohort: its facilitators and experts,
/// and the municipalities of its projects.
async fn participants_by_cohort(db: &impl ConnectionTrait) -> AppResult<Vec<(i32, Participant)>> {
    let mut out = Vec::new();
    for member in membership::Entity::find().all(db).await? {
        match member.role {
            Role::Facilitator => out.push((member.cohort_id, Participant::Facilitator(member.user_id))),
            Role::Expert => out.push((member.cohort_id, Participant::Expert(member.user_id))),
            _ => {}
        }
    }
    let programmes = programme::Entity::find().all(db).await?;
    let grants = grant::Entity::find()
        .filter(grant::Column::Placement.is_in([Placement::Automatic.code(), Placement::Confirmed.code()]))
        .filter(grant::Column::Status.ne(GrantStatus::Withdrawn))
        .all(db)
        .await?;
    for cohort in cohort::Entity::find().all(db).await? {
        let Some(programme) = programmes.iter().find(|p| p.id == cohort.programme_id) else {
            continue;
        };
        let years = programme.grant_year_list();
        let mut organisations: Vec<i32> = grants
            .iter()
            .filter(|g| g.theme_id == Some(cohort.theme_id) && years.contains(&g.grant_year))
            .map(|g| g.organisation_id)
            .collect();
        organisations.sort_unstable();
        organisations.dedup();
        out.extend(
            organisations
                .into_iter()
                .map(|id| (cohort.id, Participant::Organisation(id))),
        );
    }
    Ok(out)
}

/// The planning picture for one cohort: its participants, and the bookings of every session
/// of the other cohorts that one of them takes part in.
struct Picture {
    participants: Vec<Participant>,
    bookings: Vec<Booking>,
    own_sessions: Vec<session::Model>,
    period: (NaiveDate, NaiveDate),
    /// The programme's planning rules.
    rules: PlanningRules,
}

impl Picture {
    /// A planner request over `period_start..=period_end` with the programme's rules.
    fn request(&self, period_start: NaiveDate, period_end: NaiveDate, now: DateTime<Utc>) -> PlanRequest<'_> {
        PlanRequest {
            period_start,
            period_end,
            participants: &self.participants,
            bookings: &self.bookings,
            rules: self.rules,
            now,
        }
    }
}

async fn picture(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<Picture> {
    let cohort = cohort::Entity::find_by_id(cohort_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let programme = programme::Entity::find_by_id(cohort.programme_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let all = participants_by_cohort(db).await?;
    let participants: Vec<Participant> = all.iter().filter(|(c, _)| *c == cohort_id).map(|(_, p)| *p).collect();
    let sessions = session::Entity::find()
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .all(db)
        .await?;
    let experts = session_expert::Entity::find().all(db).await?;
    let cohorts = cohort::Entity::find().all(db).await?;
    let themes = theme::Entity::find().all(db).await?;
    let mut bookings = Vec::new();
    for other in sessions.iter().filter(|s| s.cohort_id != cohort_id) {
        let theme_name = cohorts
            .iter()
            .find(|c| c.id == other.cohort_id)
            .and_then(|c| themes.iter().find(|t| t.id == c.theme_id))
            .map(|t| t.name_nb.clone())
            .unwrap_or_default();
        let label = format!("{theme_name}, samling {}", other.number);
        let mut taking_part: Vec<Participant> = all
            .iter()
            .filter(|(c, _)| *c == other.cohort_id)
            .map(|(_, p)| *p)
            .collect();
        taking_part.extend(
            experts
                .iter()
                .filter(|e| e.session_id == other.id)
                .map(|e| Participant::Expert(e.user_id)),
        );
        for participant in taking_part.into_iter().filter(|p| participants.contains(p)) {
            bookings.push(Booking {
                participant,
                start: other.starts_at,
                end: other.ends_at,
                label: label.clone(),
            });
        }
    }
    let own_sessions = sessions.into_iter().filter(|s| s.cohort_id == cohort_id).collect();
    Ok(Picture {
        participants,
        bookings,
        own_sessions,
        period: (programme.starts_on, programme.ends_on),
        rules: programme.planning_settings().rules(),
    })
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanQuery {
    /// Defaults to the programme's first day.
    pub period_start: Option<NaiveDate>,
    /// Defaults to the programme's last day.
    pub period_end: Option<NaiveDate>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    #[schema(value_type = Object)]
    pub plan: Plan,
}

/// Proposes four dates for the cohort; a period where that is impossible gets a clear reason.
pub async fn propose(state: &AppState, viewer: &CurrentUser, cohort_id: i32, query: PlanQuery) -> AppResult<Proposal> {
    viewer.require(Action::ManageSessions { cohort_id })?;
    propose_for_cohort(&state.db, cohort_id, query, state.now()).await
}

/// What the planning page shows around a proposal, for whoever may plan the cohort's sessions.
pub struct PlanningOverview {
    pub cohort: crate::cohorts::CohortView,
    pub sessions: Vec<super::SessionView>,
    /// The programme's planning rules, which the proposal follows.
    pub rules: PlanningSettings,
}

/// The cohort and its sessions as they are, for whoever may plan them.
pub async fn overview(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<PlanningOverview> {
    viewer.require(Action::ManageSessions { cohort_id })?;
    let cohort = crate::cohorts::cohort_view(&state.db, viewer, cohort_id).await?;
    let rules = programme::Entity::find_by_id(cohort.programme.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?
        .planning_settings();
    Ok(PlanningOverview {
        cohort,
        sessions: super::cohort_sessions(state, viewer, cohort_id).await?,
        rules,
    })
}

/// A programme's planning rules, for an admin and for the members of its cohorts.
pub async fn planning_rules(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    programme_id: i32,
) -> AppResult<(programme::Model, PlanningSettings)> {
    let found = programme::Entity::find_by_id(programme_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let member_of_programme = viewer
        .visible_cohorts(db)
        .await?
        .iter()
        .any(|c| c.programme_id == programme_id);
    if !viewer.may(Action::ManageProgrammes) && !member_of_programme {
        return Err(AppError::NotFound);
    }
    let settings = found.planning_settings();
    Ok((found, settings))
}

/// A programme's planning rules for the admin who may change them.
pub async fn editable_planning_rules(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    programme_id: i32,
) -> AppResult<(programme::Model, PlanningSettings)> {
    viewer.require(Action::ManageProgrammes)?;
    planning_rules(db, viewer, programme_id).await
}

/// Changes a programme's planning rules (admins); the next proposal for its cohorts follows them.
pub async fn update_planning_rules<C: TransactionTrait>(
    db: &C,
    viewer: &CurrentUser,
    programme_id: i32,
    settings: PlanningSettings,
    now: DateTime<Utc>,
) -> AppResult<PlanningSettings> {
    viewer.require(Action::ManageProgrammes)?;
    settings
        .validate()
        .map_err(|invalid| AppError::invalid(invalid.code, invalid.field))?;
    let txn = crate::db::write_transaction(db).await?;
    let found = crate::db::lock_row::<programme::Entity>(&txn, programme_id).await?;
    let mut active: programme::ActiveModel = found.into();
    active.session_minutes = Set(settings.session_minutes);
    active.day_starts_hour = Set(settings.day_starts_hour);
    active.day_ends_hour = Set(settings.day_ends_hour);
    active.min_gap_days = Set(settings.min_gap_days);
    active.lead_days = Set(settings.lead_days);
    let saved = active.update(&txn).await?;
    crate::audit::record(
        &txn,
        Some(viewer.user.id),
        "programmes.planning_rules",
        "programme",
        programme_id,
        serde_json::to_value(settings).map_err(anyhow::Error::from)?,
        now,
    )
    .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(saved.planning_settings())
}

/// The planner's proposal for a cohort, without asking who wants it (the caller has).
pub async fn propose_for_cohort(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    query: PlanQuery,
    now: DateTime<Utc>,
) -> AppResult<Proposal> {
    let picture = picture(db, cohort_id).await?;
    let period_start = query.period_start.unwrap_or(picture.period.0);
    let period_end = query.period_end.unwrap_or(picture.period.1);
    let request = picture.request(period_start, period_end, now);
    match propose_plan(&request) {
        Ok(plan) => Ok(Proposal {
            period_start,
            period_end,
            plan,
        }),
        Err(PlanError::InvalidPeriod) => Err(AppError::invalid("plan_invalid_period", "period_end")),
        Err(PlanError::PeriodTooShort {
            sessions,
            min_gap_days,
            available_days,
        }) => Err(AppError::Invalid {
            code: "plan_period_too_short",
            field: Some("period_end".into()),
            args: vec![
                ("sessions", sessions.to_string()),
                ("min_gap_days", min_gap_days.to_string()),
                ("available_days", available_days.to_string()),
            ],
        }),
        Err(PlanError::NoFreeDate { number, .. }) => Err(AppError::Invalid {
            code: "plan_no_free_date",
            field: Some("period_end".into()),
            args: vec![("number", number.to_string())],
        }),
    }
}

/// The rules a time for session `number` of the cohort would break (empty: none).
pub async fn check_session_time(
    state: &AppState,
    cohort_id: i32,
    number: i32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> AppResult<Vec<Violation>> {
    let picture = picture(&state.db, cohort_id).await?;
    let request = picture.request(picture.period.0, picture.period.1, state.now());
    let others: Vec<ProposedSession> = picture
        .own_sessions
        .iter()
        .filter(|s| s.number != number)
        .map(|s| ProposedSession {
            number: s.number as u32,
            start: s.starts_at,
            end: s.ends_at,
        })
        .collect();
    Ok(check_slot(&request, number as u32, starts_at, ends_at, &others))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PlannedSession {
    #[schema(minimum = 1, maximum = 4)]
    pub number: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PlanAcceptance {
    #[schema(min_items = 1, max_items = 4)]
    pub sessions: Vec<PlannedSession>,
    /// Save even though a time breaks a rule (after the warning).
    #[serde(default)]
    pub confirm: bool,
}

/// Saves a plan (the proposal as accepted or edited by hand), checking every time again.
pub async fn accept(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    acceptance: PlanAcceptance,
) -> AppResult<Vec<super::SessionView>> {
    viewer.require(Action::ManageSessions { cohort_id })?;
    let mut numbers: Vec<u32> = acceptance.sessions.iter().map(|s| s.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    if acceptance.sessions.is_empty()
        || numbers.len() != acceptance.sessions.len()
        || numbers.iter().any(|n| !(1..=4).contains(n))
    {
        return Err(AppError::invalid("invalid_plan", "sessions"));
    }
    let picture = picture(&state.db, cohort_id).await?;
    let request = picture.request(picture.period.0, picture.period.1, state.now());
    let plan: Vec<ProposedSession> = acceptance
        .sessions
        .iter()
        .map(|s| ProposedSession {
            number: s.number,
            start: s.starts_at,
            end: s.ends_at,
        })
        .collect();
    // Sessions not in the plan stay where they are and count as neighbours.
    let kept: Vec<ProposedSession> = picture
        .own_sessions
        .iter()
        .filter(|s| !numbers.contains(&(s.number as u32)))
        .map(|s| ProposedSession {
            number: s.number as u32,
            start: s.starts_at,
            end: s.ends_at,
        })
        .collect();
    let mut violations = Vec::new();
    for planned in &plan {
        let others: Vec<ProposedSession> = plan
            .iter()
            .chain(kept.iter())
            .filter(|o| o.number != planned.number)
            .cloned()
            .collect();
        violations.extend(check_slot(
            &request,
            planned.number,
            planned.start,
            planned.end,
            &others,
        ));
    }
    if !violations.is_empty() && !acceptance.confirm {
        return Err(AppError::RuleBroken { violations });
    }
    super::save_plan(state, viewer, cohort_id, &plan).await
}
