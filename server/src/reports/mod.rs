//! The programme report for the agency: reach, needs, exchange, lessons and usefulness, for a
//! programme, a theme, a cohort or a session, filtered by county and grant year.

pub mod chart;
pub mod display;
pub mod export;
pub mod table;

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
/// (`public_only`); 404 for someone outside the scope and 403 for a member below it.
///
/// Provisional: it checks nothing and computes nothing yet; the report's engineer fills it in.
pub async fn build(
    _db: &impl sea_orm::ConnectionTrait,
    _viewer: &crate::auth::CurrentUser,
    scope: Scope,
    filters: Filters,
) -> crate::error::AppResult<Report> {
    Err(crate::error::AppError::Internal(anyhow::anyhow!(
        "the report for {scope:?} with {filters:?} is not computed yet"
    )))
}
