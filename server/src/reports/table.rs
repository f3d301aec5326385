//! The report as data: a list of named tables. The page draws each table (and its chart, when
//! it has one), and the exports write the same tables to CSV and XLSX, so every figure on the
//! page is in the exports and the API, and no view computes anything of its own.

use serde::Serialize;
use utoipa::ToSchema;

/// One table of the report.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReportTable {
    /// Stable name, used in export URLs and file names: `reach_by_municipality`. Its title is
    /// the translation `report.table.{key}`.
    pub key: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Drawn as a chart beside the table; the table stays the readable source of the chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// Why the table is empty or held back, as a translation key under `report.note.` (for
    /// example `too_few_answers`, when fewer than five people answered a survey).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A column: its stable key, whose heading is the translation `report.column.{key}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Column {
    pub key: String,
}

/// One value. Numbers stay numbers in the exports (a spreadsheet can sum them).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Count(i64),
    /// A share or an average, with its decimals.
    Number(f64),
    Empty,
}

/// Horizontal bars: one bar per row, labelled by `label_column`, one bar length per value column
/// (more than one value column gives grouped bars, told apart by pattern and legend, never by
/// colour alone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Chart {
    pub label_column: usize,
    pub value_columns: Vec<usize>,
}

/// A cell is a string, a number or null in JSON. Written by hand: the derived schema would be
/// a `oneOf` whose integer and number branches both match a count, which no value satisfies.
impl utoipa::PartialSchema for Cell {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Array(vec![Type::String, Type::Number, Type::Null]))
            .description(Some(
                "Text, a count, a number with decimals, or null for an empty cell.",
            ))
            .into()
    }
}

impl ToSchema for Cell {}

impl ReportTable {
    pub fn new(key: &str, columns: &[&str]) -> Self {
        Self {
            key: key.to_owned(),
            columns: columns.iter().map(|key| Column { key: (*key).to_owned() }).collect(),
            rows: Vec::new(),
            chart: None,
            note: None,
        }
    }

    pub fn with_chart(mut self, label_column: usize, value_columns: &[usize]) -> Self {
        self.chart = Some(Chart {
            label_column,
            value_columns: value_columns.to_vec(),
        });
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(
            row.len(),
            self.columns.len(),
            "a row of {} has one cell per column",
            self.key
        );
        self.rows.push(row);
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<i64> for Cell {
    fn from(count: i64) -> Self {
        Cell::Count(count)
    }
}

impl From<f64> for Cell {
    fn from(number: f64) -> Self {
        Cell::Number(number)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Empty, Into::into)
    }
}
