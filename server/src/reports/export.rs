//! The report's tables as files: one CSV per table and an XLSX workbook with one sheet per
//! table, headings in the viewer's language.
//!
//! CSV is for programs: RFC 4180 with commas, a header row, numbers with a decimal point, UTF-8
//! with a byte-order mark (so that Excel, which reads a CSV without one in the old Windows code
//! page, shows æ, ø and å right). Text that a spreadsheet would take for a formula (starting with
//! `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises against
//! CSV injection. For a spreadsheet, the XLSX is the better file: numbers are numbers, the
//! header row is bold and frozen, columns are wide enough, and no text is ever a formula.
//!
//! A table that is held back whole (a `note`, such as fewer than five survey answers, and no
//! rows) exports the note's sentence under a "Note" heading instead of figures; where only some
//! rows are held back, their cells are empty and the rest are exported as they are.

use anyhow::Context;
use rust_xlsxwriter::{DocProperties, Format, Workbook};

use crate::i18n::Tr;

use super::display::{column_heading, note_text, table_title};
use super::table::{Cell, ReportTable};
use super::{Report, Scope};

/// A report's scope as written in URLs: `/reports/programmes/3`,
/// `/api/v1/reports/cohorts/7/xlsx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    Programmes,
    Themes,
    Cohorts,
    Sessions,
}

impl ScopeKind {
    pub fn scope(self, id: i32) -> Scope {
        match self {
            ScopeKind::Programmes => Scope::Programme(id),
            ScopeKind::Themes => Scope::Theme(id),
            ScopeKind::Cohorts => Scope::Cohort(id),
            ScopeKind::Sessions => Scope::Session(id),
        }
    }

    /// From the URL segment.
    pub fn parse(segment: &str) -> Option<ScopeKind> {
        [
            ScopeKind::Programmes,
            ScopeKind::Themes,
            ScopeKind::Cohorts,
            ScopeKind::Sessions,
        ]
        .into_iter()
        .find(|kind| kind.segment() == segment)
    }

    /// The URL segment: `programmes`.
    pub fn segment(self) -> &'static str {
        match self {
            ScopeKind::Programmes => "programmes",
            ScopeKind::Themes => "themes",
            ScopeKind::Cohorts => "cohorts",
            ScopeKind::Sessions => "sessions",
        }
    }

    /// One of them, singular: `programme`.
    pub fn singular(self) -> &'static str {
        match self {
            ScopeKind::Programmes => "programme",
            ScopeKind::Themes => "theme",
            ScopeKind::Cohorts => "cohort",
            ScopeKind::Sessions => "session",
        }
    }
}

/// A download's file name: what it covers and the day it was made,
/// `samling-report-programme-3-2026-12-07.xlsx` or
/// `samling-report-cohort-7-reach_by_municipality-2026-12-07.csv` (ASCII, safe in a header).
pub fn file_name(kind: ScopeKind, id: i32, table_key: Option<&str>, day: chrono::NaiveDate, extension: &str) -> String {
    let table: String = table_key
        .map(|key| {
            let safe: String = key
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            format!("-{safe}")
        })
        .unwrap_or_default();
    format!(
        "samling-report-{}-{id}{table}-{}.{extension}",
        kind.singular(),
        day.format("%Y-%m-%d")
    )
}

/// The byte-order mark that starts every CSV.
pub const BOM: &str = "\u{feff}";
/// Excel's limit on a sheet name, in UTF-16 code units.
const SHEET_NAME_MAX: usize = 31;
/// Excel's limit on a cell's text.
const CELL_TEXT_MAX: usize = 32_767;

/// The rows of a table as exported: the headings, then the cells; or the note under its
/// heading when the table is held back.
enum Exported<'a> {
    Figures(&'a ReportTable),
    Note { heading: String, text: String },
}

fn exported(table: &ReportTable, tr: Tr) -> Exported<'_> {
    match note_text(tr, table).filter(|_| table.rows.is_empty()) {
        Some(text) => Exported::Note {
            heading: tr.t("report_page.note_heading").to_string(),
            text,
        },
        None => Exported::Figures(table),
    }
}

/// One table as CSV.
pub fn csv(table: &ReportTable, tr: Tr) -> anyhow::Result<Vec<u8>> {
    let mut out = BOM.as_bytes().to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        match exported(table, tr) {
            Exported::Note { heading, text } => {
                writer.write_record([heading, csv_text(&text)])?;
            }
            Exported::Figures(table) => {
                writer.write_record(table.columns.iter().map(|column| column_heading(tr, &column.key)))?;
                for row in &table.rows {
                    writer.write_record(row.iter().map(csv_cell))?;
                }
            }
        }
        writer.flush()?;
    }
    Ok(out)
}

fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => csv_text(text),
        Cell::Count(count) => count.to_string(),
        // Rust prints the shortest text that reads back as the same number.
        Cell::Number(number) if number.is_finite() => number.to_string(),
        Cell::Number(_) | Cell::Empty => String::new(),
    }
}

/// Text with a leading `'` when a spreadsheet would run it as a formula.
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Every table as a sheet of one workbook, in the report's order.
pub fn xlsx(report: &Report, tr: Tr) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    workbook.set_properties(
        &DocProperties::new()
            .set_title(report.title.clone())
            .set_author("Samling"),
    );
    let bold = Format::new().set_bold();
    let names = sheet_names(report, tr);
    for (table, name) in report.tables.iter().zip(names) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).with_context(|| format!("sheet name {name:?}"))?;
        let mut widths: Vec<usize> = Vec::new();
        let mut widen = |column: usize, text: &str| {
            if widths.len() <= column {
                widths.resize(column + 1, 0);
            }
            widths[column] = widths[column].max(text.chars().count());
        };
        match exported(table, tr) {
            Exported::Note { heading, text } => {
                sheet.write_string_with_format(0, 0, &heading, &bold)?;
                sheet.write_string_with_format(0, 1, cell_text(&text), &bold)?;
                widen(0, &heading);
                widen(1, &text);
            }
            Exported::Figures(table) => {
                for (column, heading) in table.columns.iter().enumerate() {
                    let heading = column_heading(tr, &heading.key);
                    sheet.write_string_with_format(0, column_index(column)?, &heading, &bold)?;
                    widen(column, &heading);
                }
                for (row_index, row) in table.rows.iter().enumerate() {
                    let at = u32::try_from(row_index + 1).context("too many rows for a sheet")?;
                    for (column, cell) in row.iter().enumerate() {
                        let col = column_index(column)?;
                        match cell {
                            Cell::Text(text) => {
                                sheet.write_string(at, col, cell_text(text))?;
                                widen(column, text);
                            }
                            Cell::Count(count) => {
                                sheet.write_number(at, col, *count as f64)?;
                                widen(column, &count.to_string());
                            }
                            Cell::Number(number) if number.is_finite() => {
                                sheet.write_number(at, col, *number)?;
                                widen(column, &number.to_string());
                            }
                            Cell::Number(_) | Cell::Empty => {}
                        }
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        for (column, width) in widths.into_iter().enumerate() {
            // Room for the text and a little air; very long text wraps in its cell instead.
            let width = (width + 2).clamp(8, 60);
            sheet.set_column_width(column_index(column)?, width as f64)?;
        }
    }
    if report.tables.is_empty() {
        workbook.add_worksheet();
    }
    Ok(workbook.save_to_buffer()?)
}

fn column_index(column: usize) -> anyhow::Result<u16> {
    u16::try_from(column).context("too many columns for a sheet")
}

/// Text within Excel's limit for a cell.
fn cell_text(text: &str) -> &str {
    match text.char_indices().nth(CELL_TEXT_MAX / 2) {
        // Up to half the limit in characters is safe in UTF-16 whatever they are.
        None => text,
        Some(_) if text.encode_utf16().count() <= CELL_TEXT_MAX => text,
        Some((end, _)) => &text[..end],
    }
}

/// The sheets' names: each table's title, without the characters Excel refuses, cut to 31
/// UTF-16 units, made unique (Excel compares names without case) with a number.
pub fn sheet_names(report: &Report, tr: Tr) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for table in &report.tables {
        let title: String = table_title(tr, table)
            .chars()
            .map(|c| {
                if matches!(c, '*' | '?' | ':' | '[' | ']' | '\\' | '/') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let title = title.trim().trim_matches('\'').trim().to_string();
        let title = if title.is_empty() { table.key.clone() } else { title };
        let mut name = cut(&title, SHEET_NAME_MAX);
        let mut number = 2;
        while taken.contains(&name.to_lowercase()) {
            let suffix = format!(" ({number})");
            name = format!("{}{suffix}", cut(&title, SHEET_NAME_MAX - suffix.len()).trim_end());
            number += 1;
        }
        taken.push(name.to_lowercase());
        names.push(name);
    }
    names
}

/// At most `max` UTF-16 units of `text`, whole characters only.
fn cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut units = 0;
    for c in text.chars() {
        units += c.len_utf16();
        if units > max {
            break;
        }
        out.push(c);
    }
    out.trim_end().trim_end_matches('\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;
    use crate::reports::Filters;

    fn en() -> Tr {
        Tr::new(Language::En)
    }

    fn sample() -> ReportTable {
        let mut table = ReportTable::new("reach_by_county", &["county", "invited", "share"]);
        table.push(vec!["Vestland".into(), 12.into(), 0.25.into()]);
        table.push(vec!["Trøndelag, sør".into(), 3.into(), Cell::Empty]);
        table.push(vec!["=HYPERLINK(\"x\")".into(), 0.into(), 1.0.into()]);
        table
    }

    #[test]
    fn a_csv_has_a_bom_a_header_and_plain_numbers() {
        let text = String::from_utf8(csv(&sample(), en()).unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}County,Invited,report.column.share\n\
             Vestland,12,0.25\n\
             \"Trøndelag, sør\",3,\n\
             \"'=HYPERLINK(\"\"x\"\")\",0,1\n"
        );
    }

    #[test]
    fn a_held_back_table_exports_its_note_not_its_figures() {
        let mut table = ReportTable::new("usefulness_distribution", &["score", "answers"]);
        table.note = Some("too_few_answers".into());
        let text = String::from_utf8(csv(&table, en()).unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}Note,\"Some results are not shown: fewer than five people answered, and answers must not be \
             traceable.\"\n"
        );
        // Some rows held back (empty cells), others shown: the figures, as they are.
        let mut partly = sample();
        partly.note = Some("too_few_answers".into());
        assert_eq!(csv(&partly, en()).unwrap(), csv(&sample(), en()).unwrap());
    }

    fn report(keys: &[&str]) -> Report {
        Report {
            scope: Scope::Programme(1),
            title: "Klimasats".into(),
            filters: Filters::default(),
            public_only: false,
            tables: keys.iter().map(|key| ReportTable::new(key, &["a"])).collect(),
        }
    }

    #[test]
    fn sheet_names_are_unique_short_and_allowed() {
        // Untranslated titles read as their keys: long, and alike in their first 31 characters.
        let names = sheet_names(
            &report(&[
                "attendance_by_session_and_municipality",
                "attendance_by_session_and_municipality_x",
                "a/b",
            ]),
            en(),
        );
        assert_eq!(
            names,
            [
                "report.table.attendance_by_sess",
                "report.table.attendance_by_ (2)",
                "report.table.a b"
            ]
        );
        assert!(names.iter().all(|name| name.encode_utf16().count() <= 31));
        assert_eq!(cut("ææææ", 3), "æææ");
        assert_eq!(cut("a😀b", 2), "a");
    }

    #[test]
    fn a_workbook_is_written_for_every_table_and_for_none() {
        let mut report = report(&["reach_by_county"]);
        report.tables[0] = sample();
        let bytes = xlsx(&report, en()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let empty = xlsx(&super::tests::report(&[]), en()).unwrap();
        assert_eq!(&empty[..2], b"PK");
    }

    #[test]
    fn file_names_say_what_and_when() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            file_name(ScopeKind::Programmes, 3, None, day, "xlsx"),
            "samling-report-programme-3-2026-12-07.xlsx"
        );
        assert_eq!(
            file_name(ScopeKind::Cohorts, 7, Some("reach_by\"/municipality"), day, "csv"),
            "samling-report-cohort-7-reach_bymunicipality-2026-12-07.csv"
        );
        assert_eq!(ScopeKind::Sessions.scope(4), Scope::Session(4));
    }

    #[test]
    fn long_text_is_cut_to_what_a_cell_holds() {
        let long = "ø".repeat(40_000);
        assert_eq!(cell_text(&long).chars().count(), CELL_TEXT_MAX / 2);
        assert_eq!(cell_text("kort"), "kort");
    }
}
