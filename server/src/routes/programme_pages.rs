//! The programme page for admins: the planning rules its cohorts' proposals follow.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::domain::planner::PlanningSettings;
use crate::entities::programme;
use crate::error::AppError;
use crate::sessions::planning;
use crate::state::AppState;
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};

#[derive(Template)]
#[template(path = "admin/programme.html")]
struct ProgrammePage {
    page: PageView,
    programme: programme::Model,
    /// What the form shows: the saved rules, or what was typed when it was refused.
    form: PlanningForm,
    saved: bool,
    error: Option<String>,
    /// The field the error concerns, to mark it invalid and point to the message.
    error_field: Option<String>,
}

impl ProgrammePage {
    fn invalid(&self, field: &str) -> bool {
        self.error_field.as_deref() == Some(field)
    }

    fn value(&self, field: &str) -> &str {
        match field {
            "session_minutes" => &self.form.session_minutes,
            "day_starts_hour" => &self.form.day_starts_hour,
            "day_ends_hour" => &self.form.day_ends_hour,
            "min_gap_days" => &self.form.min_gap_days,
            _ => &self.form.lead_days,
        }
    }
}

/// The planning rules as typed: kept as text so a refused form shows what was written.
#[derive(Clone, Debug, Deserialize)]
pub struct PlanningForm {
    session_minutes: String,
    day_starts_hour: String,
    day_ends_hour: String,
    min_gap_days: String,
    lead_days: String,
}

impl From<PlanningSettings> for PlanningForm {
    fn from(settings: PlanningSettings) -> Self {
        PlanningForm {
            session_minutes: settings.session_minutes.to_string(),
            day_starts_hour: settings.day_starts_hour.to_string(),
            day_ends_hour: settings.day_ends_hour.to_string(),
            min_gap_days: settings.min_gap_days.to_string(),
            lead_days: settings.lead_days.to_string(),
        }
    }
}

impl PlanningForm {
    fn settings(&self) -> Result<PlanningSettings, AppError> {
        let number = |text: &str, code: &'static str, field: &'static str| {
            text.trim().parse::<i32>().map_err(|_| AppError::invalid(code, field))
        };
        Ok(PlanningSettings {
            session_minutes: number(
                &self.session_minutes,
                "planning_invalid_session_length",
                "session_minutes",
            )?,
            day_starts_hour: number(&self.day_starts_hour, "planning_invalid_day_start", "day_starts_hour")?,
            day_ends_hour: number(&self.day_ends_hour, "planning_invalid_day_end", "day_ends_hour")?,
            min_gap_days: number(&self.min_gap_days, "planning_invalid_gap", "min_gap_days")?,
            lead_days: number(&self.lead_days, "planning_invalid_lead_time", "lead_days")?,
        })
    }
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn programme_page(
    state: &AppState,
    page: SignedInPage,
    programme_id: i32,
    form: Option<PlanningForm>,
    error: Option<(FormError, Option<String>)>,
    saved: bool,
) -> PageResult {
    let (programme, settings) = planning::editable_planning_rules(&state.db, &page.user, programme_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |(shown, _)| shown.status);
    let (error, error_field) = match error {
        Some((shown, field)) => (Some(shown.message), field),
        None => (None, None),
    };
    Ok(render(
        status,
        &ProgrammePage {
            page: page.view,
            programme,
            form: form.unwrap_or_else(|| settings.into()),
            saved,
            error,
            error_field,
        },
    ))
}

pub async fn show(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(programme_id): Path<i32>,
    Query(query): Query<SavedQuery>,
) -> PageResult {
    let saved = query.saved.is_some();
    programme_page(&state, page, programme_id, None, None, saved).await
}

pub async fn save_planning_rules(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(programme_id): Path<i32>,
    Form(form): Form<PlanningForm>,
) -> PageResult {
    let result = async {
        let settings = form.settings()?;
        planning::update_planning_rules(&state.db, &page.user, programme_id, settings, state.now()).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programmes/{programme_id}?saved=1")).into_response()),
        Err(error) => {
            let field = match &error {
                AppError::Invalid { field, .. } => field.as_ref().map(|f| f.to_string()),
                _ => None,
            };
            let shown = FormError::from_error(error, page.view.tr)?;
            programme_page(&state, page, programme_id, Some(form), Some((shown, field)), false).await
        }
    }
}
