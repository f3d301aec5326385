//! The report's pages (`/reports/{programmes|themes|cohorts|sessions}/{id}`): each part of the
//! report under its heading, each chart in a figure with its table, downloads, a filter form,
//! and a print style that turns the page into a clean document.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::error::AppError;
use crate::i18n::Tr;
use crate::reports::display::{column_heading, note_text, table_title, value_text};
use crate::reports::export::ScopeKind;
use crate::reports::{self, Cell, Filters, ReportTable, chart};
use crate::state::AppState;
use crate::web::{PageResult, PageView, SignedInPage, render};

/// The report's parts, in the order the page shows them, each with the table keys (or key
/// prefixes, before a `_`) that belong to it. A table that belongs to none goes under "More".
const PARTS: [(&str, &[&str]); 6] = [
    ("summary", &["summary"]),
    ("reach", &["reach", "never_came", "attendance"]),
    ("needs", &["needs"]),
    ("exchange", &["exchange", "questions", "resources", "suggestions"]),
    ("lessons", &["lessons"]),
    ("usefulness", &["usefulness", "closing_survey", "survey"]),
];

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    page: PageView,
    heading: String,
    public_only: bool,
    /// `/reports/programmes/3`: where the filter form sends to.
    path: String,
    /// The filters as typed, to show in the form.
    county: String,
    grant_year: String,
    /// A filter that could not be read, in a sentence.
    error: Option<String>,
    /// What the report is narrowed to, in a sentence, when it is.
    filtered: Option<String>,
    xlsx_href: String,
    parts: Vec<PartView>,
}

struct PartView {
    key: &'static str,
    heading: String,
    tables: Vec<TableView>,
}

struct TableView {
    key: String,
    title: String,
    /// The SVG, escaped where it holds text (see `reports::chart`).
    chart: Option<String>,
    headings: Vec<String>,
    rows: Vec<Vec<CellView>>,
    note: Option<String>,
    csv_href: String,
}

struct CellView {
    text: String,
    numeric: bool,
}

/// The filter form as typed: kept as text, so a year that is not a number is shown with an
/// error instead of a refused request.
#[derive(Deserialize, Default)]
pub struct FilterForm {
    #[serde(default)]
    county: Option<String>,
    #[serde(default)]
    grant_year: Option<String>,
}

impl FilterForm {
    /// The filters to apply, and the error of a year that could not be read (which is left out).
    fn filters(&self) -> (Filters, bool) {
        let county = self
            .county
            .as_deref()
            .map(str::trim)
            .filter(|county| !county.is_empty())
            .map(str::to_string);
        let year_text = self.grant_year.as_deref().map(str::trim).unwrap_or_default();
        let grant_year = year_text
            .parse::<i32>()
            .ok()
            .filter(|year| (1900..=2999).contains(year));
        let invalid = !year_text.is_empty() && grant_year.is_none();
        (Filters { county, grant_year }, invalid)
    }
}

/// `?county=…&grant_year=…` for the applied filters, or nothing.
fn query_string(filters: &Filters) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(county) = &filters.county {
        query.append_pair("county", county);
    }
    if let Some(year) = filters.grant_year {
        query.append_pair("grant_year", &year.to_string());
    }
    let query = query.finish();
    if query.is_empty() { query } else { format!("?{query}") }
}

fn part_of(key: &str) -> &'static str {
    PARTS
        .iter()
        .find(|(_, prefixes)| {
            prefixes
                .iter()
                .any(|prefix| key == *prefix || key.starts_with(&format!("{prefix}_")))
        })
        .map_or("other", |(part, _)| part)
}

fn table_view(tr: Tr, table: &ReportTable, api_base: &str, query: &str) -> TableView {
    let note = note_text(tr, table);
    TableView {
        key: table.key.clone(),
        title: table_title(tr, table),
        chart: chart::svg(table, tr),
        headings: table
            .columns
            .iter()
            .map(|column| column_heading(tr, &column.key))
            .collect(),
        rows: table
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&table.columns)
                    .map(|(cell, column)| CellView {
                        text: value_text(tr, &column.key, cell),
                        numeric: matches!(cell, Cell::Count(_) | Cell::Number(_)),
                    })
                    .collect()
            })
            .collect(),
        note,
        csv_href: format!("{api_base}/csv/{}{query}", table.key),
    }
}

pub async fn show(
    State(state): State<AppState>,
    page: SignedInPage,
    Path((kind, id)): Path<(String, String)>,
    Query(form): Query<FilterForm>,
) -> PageResult {
    // An unknown scope or an id that is not a number is a page that does not exist.
    let kind = ScopeKind::parse(&kind).ok_or(AppError::NotFound)?;
    let id: i32 = id.parse().map_err(|_| AppError::NotFound)?;
    let tr = page.view.tr;
    let (filters, invalid_year) = form.filters();
    let report = reports::build(&state.db, &page.user, kind.scope(id), filters.clone()).await?;
    let query = query_string(&filters);
    let api_base = format!("/api/v1/reports/{}/{id}", kind.segment());

    let mut parts: Vec<PartView> = PARTS
        .iter()
        .map(|(key, _)| *key)
        .chain(["other"])
        .map(|key| PartView {
            key,
            heading: tr.t(&format!("report_page.part.{key}")).to_string(),
            tables: Vec::new(),
        })
        .collect();
    for table in &report.tables {
        let part = part_of(&table.key);
        if let Some(found) = parts.iter_mut().find(|candidate| candidate.key == part) {
            found.tables.push(table_view(tr, table, &api_base, &query));
        }
    }
    parts.retain(|part| !part.tables.is_empty());

    let mut narrowed = Vec::new();
    if let Some(county) = &filters.county {
        narrowed.push(format!("{} {county}", tr.t("report_page.county")));
    }
    if let Some(year) = filters.grant_year {
        narrowed.push(format!("{} {year}", tr.t("report_page.grant_year")));
    }
    let filtered = (!narrowed.is_empty()).then(|| tr.f("report_page.filtered", &[("filters", narrowed.join(", "))]));

    let view = ReportPage {
        heading: tr.f(
            &format!("report_page.heading.{}", kind.singular()),
            &[("title", report.title.as_str())],
        ),
        public_only: report.public_only,
        path: format!("/reports/{}/{id}", kind.segment()),
        county: form.county.clone().unwrap_or_default(),
        grant_year: form.grant_year.clone().unwrap_or_default(),
        error: invalid_year.then(|| tr.t("report_page.grant_year_invalid").to_string()),
        filtered,
        xlsx_href: format!("{api_base}/xlsx{query}"),
        parts,
        page: page.view,
    };
    Ok(render(StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_go_to_their_part_by_key() {
        assert_eq!(part_of("summary"), "summary");
        assert_eq!(part_of("reach_by_municipality"), "reach");
        assert_eq!(part_of("never_came"), "reach");
        assert_eq!(part_of("needs"), "needs");
        assert_eq!(part_of("needs_by_session"), "needs");
        assert_eq!(part_of("exchange_by_cohort"), "exchange");
        assert_eq!(part_of("lessons"), "lessons");
        assert_eq!(part_of("usefulness_distribution"), "usefulness");
        assert_eq!(part_of("closing_survey"), "usefulness");
        assert_eq!(part_of("survey_texts"), "usefulness");
        assert_eq!(part_of("reached"), "other");
        assert_eq!(part_of("never"), "other");
        assert_eq!(part_of("something_else"), "other");
    }

    #[test]
    fn the_filters_are_read_as_typed() {
        let form = FilterForm {
            county: Some("  Vestland ".into()),
            grant_year: Some("2025".into()),
        };
        let (filters, invalid) = form.filters();
        assert_eq!(
            filters,
            Filters {
                county: Some("Vestland".into()),
                grant_year: Some(2025)
            }
        );
        assert!(!invalid);
        assert_eq!(query_string(&filters), "?county=Vestland&grant_year=2025");

        let form = FilterForm {
            county: Some(String::new()),
            grant_year: Some("tjuefem".into()),
        };
        let (filters, invalid) = form.filters();
        assert_eq!(filters, Filters::default());
        assert!(invalid);
        assert_eq!(query_string(&filters), "");
        assert_eq!(
            query_string(&Filters {
                county: Some("Møre og Romsdal".into()),
                grant_year: None
            }),
            "?county=M%C3%B8re+og+Romsdal"
        );
    }
}
