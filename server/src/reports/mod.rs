//! The programme report for the agency: reach, needs, exchange, lessons and usefulness, for a
//! programme, a theme, a cohort or a session, filtered by county and grant year.

pub mod chart;
mod context;
pub mod display;
mod exchange;
pub mod export;
mod lessons;
mod needs;
mod reach;
mod sql;
pub mod table;
mod usefulness;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use table::{Cell, Chart, Column, ReportTable};

/// What a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Scope {
    Programme(i32),
    Theme(i32),
    Cohort(i32),
    Session(i32),
}

/// Narrows a report to projects of one county and/or one grant year.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// A county's name as in the grant records, for example `Vestland`.
    pub county: Option<String>,
    /// A grant year, for example `2025`.
    pub grant_year: Option<i32>,
}

/// A computed report.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Report {
    pub scope: Scope,
    /// The scope's name as shown: the programme's name, the theme's, the cohort's theme and
    /// programme, the session's title.
    pub title: String,
    pub filters: Filters,
    /// Whether the viewer sees only the cohort's public figures (a member who runs nothing).
    pub public_only: bool,
    pub tables: Vec<ReportTable>,
}

/// Computes the report the viewer may see for `scope`, narrowed by `filters`: the whole report
/// for admins, observers and the cohort's facilitator; a member's cohort's public figures
/// (`public_only`); 404 for someone outside the scope and 403 for a member below it. What each
/// table counts is written down in `docs/reports.md`.
pub async fn build(
    db: &impl sea_orm::ConnectionTrait,
    viewer: &crate::auth::CurrentUser,
    scope: Scope,
    filters: Filters,
) -> crate::error::AppResult<Report> {
    // An empty county (a form's "all counties") is no filter.
    let filters = Filters {
        county: filters
            .county
            .map(|county| county.trim().to_owned())
            .filter(|county| !county.is_empty()),
        grant_year: filters.grant_year,
    };
    let context = context::Context::load(db, viewer, scope, &filters).await?;
    let reach = reach::Reach::load(db, &context).await?;
    let mut tables = Vec::new();
    if context.public_only {
        tables.push(summary(&context, &reach, None, None, None, None));
        tables.extend(reach.public_tables(&context));
    } else {
        let needs = needs::Needs::load(db, &context).await?;
        let exchange = exchange::Exchange::load(db, &context).await?;
        let lessons = lessons::Lessons::load(db, &context).await?;
        let usefulness = usefulness::Usefulness::load(db, &context).await?;
        tables.push(summary(
            &context,
            &reach,
            Some(&needs),
            Some(&exchange),
            Some(&lessons),
            Some(&usefulness),
        ));
        tables.extend(reach.tables(&context));
        tables.extend(needs.tables(&context));
        tables.extend(exchange.tables(&context));
        tables.extend(lessons.tables(&context));
        tables.extend(usefulness.tables(&context));
    }
    Ok(Report {
        scope,
        title: context.title.clone(),
        filters,
        public_only: context.public_only,
        tables,
    })
}

/// The report's headline figures, one a row; the public view has only the reach figures.
fn summary(
    context: &context::Context,
    reach: &reach::Reach,
    needs: Option<&needs::Needs>,
    exchange: Option<&exchange::Exchange>,
    lessons: Option<&lessons::Lessons>,
    usefulness: Option<&usefulness::Usefulness>,
) -> ReportTable {
    let mut table = ReportTable::new("summary", &["figure", "value"]);
    let mut add = |figure: &str, value: Cell| table.push(vec![figure.into(), value]);
    for (figure, value) in reach.summary(context) {
        add(figure, value);
    }
    if let Some(needs) = needs {
        for (figure, value) in needs.summary() {
            add(figure, value);
        }
    }
    if let Some(exchange) = exchange {
        for (figure, value) in exchange.summary() {
            add(figure, value);
        }
    }
    if let Some(lessons) = lessons {
        for (figure, value) in lessons.summary() {
            add(figure, value);
        }
    }
    if let Some(usefulness) = usefulness {
        for (figure, value) in usefulness.summary() {
            add(figure, value);
        }
    }
    table
}

/// Survey results of fewer answers than this are held back, so no answer can be traced.
pub const MIN_ANSWERS: i64 = 5;

/// A share or mean rounded to two decimals, so every export shows the same figure.
fn rounded(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
