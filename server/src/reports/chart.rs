//! Horizontal bar charts drawn on the server as SVG, from a table's [`Chart`].
//!
//! The chart is a picture of the table beside it, never the only place a figure is: it has
//! `role="img"` and a short title that points to the table, which is what a screen reader
//! reads. Each bar has its value printed at its end; grouped bars (more than one value column)
//! differ by pattern (solid, stripes, dots, cross-hatch, lines) and are named in a text legend,
//! so nothing is told by colour alone. One dark ink on white: bars 8.6:1, text 16:1, gridlines
//! 4.5:1 against the background; text has a white halo where it crosses a gridline. The
//! drawing is 360 units wide and scales to its container (`width="100%"`), so at 390 px its
//! 13-unit text stays about 13 px tall; wider screens cap it with CSS.

use std::fmt::Write;

use crate::i18n::Tr;

use super::display::{cell_text, column_heading, table_title};
use super::table::{Cell, ReportTable};

/// The drawing's width in SVG units.
pub const WIDTH: f64 = 360.0;
/// Where bars start.
pub const BAR_X: f64 = 4.0;
/// The length of a bar at the axis's top value; the rest of the width holds the value text.
pub const BAR_SPACE: f64 = 260.0;
const INK: &str = "#1f4e79";
const TEXT: &str = "#1a1a1a";
const GRID: &str = "#767676";
/// A white outline under text, so a gridline behind it never cuts through letters.
const HALO: &str = r##" stroke="#ffffff" stroke-width="3" paint-order="stroke""##;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LABEL_HEIGHT: f64 = 18.0;
const BAR_HEIGHT: f64 = 14.0;
const BAR_GAP: f64 = 4.0;
const ROW_GAP: f64 = 10.0;
const LEGEND_ROW: f64 = 20.0;
const AXIS_HEIGHT: f64 = 20.0;
/// Longer labels are cut (with "…") so they fit the width; the table has them whole.
const MAX_LABEL_CHARS: usize = 42;
/// Patterns for the value columns, by position; beyond five they repeat (the legend still
/// names each).
const PATTERNS: usize = 5;

/// The chart of `table` as an SVG element, or `None` when the table has no chart or no rows.
/// Held-back cells (empty) get no bar, and a dash for their value.
pub fn svg(table: &ReportTable, tr: Tr) -> Option<String> {
    let chart = table.chart.as_ref()?;
    if table.rows.is_empty() || chart.value_columns.is_empty() {
        return None;
    }
    let id = element_id(&table.key);
    let series: Vec<String> = chart
        .value_columns
        .iter()
        .map(|&column| {
            table
                .columns
                .get(column)
                .map_or_else(String::new, |column| column_heading(tr, &column.key))
        })
        .collect();
    let values = |row: &[Cell]| -> Vec<Option<f64>> {
        chart
            .value_columns
            .iter()
            .map(|&column| row.get(column).and_then(bar_value))
            .collect()
    };
    let largest = table
        .rows
        .iter()
        .flat_map(|row| values(row))
        .flatten()
        .fold(0.0_f64, f64::max);
    let whole = table.rows.iter().all(|row| {
        chart
            .value_columns
            .iter()
            .all(|&column| !matches!(row.get(column), Some(Cell::Number(_))))
    });
    let axis = Axis::for_largest(largest, whole);

    let grouped = series.len() > 1;
    let legend_height = if grouped {
        LEGEND_ROW * series.len() as f64 + 6.0
    } else {
        0.0
    };
    let row_height = LABEL_HEIGHT + series.len() as f64 * BAR_HEIGHT + (series.len() - 1) as f64 * BAR_GAP + ROW_GAP;
    let bars_top = legend_height + 4.0;
    let bars_bottom = bars_top + row_height * table.rows.len() as f64;
    let height = bars_bottom + AXIS_HEIGHT;

    let mut out = String::new();
    let title = tr.f("report_page.chart_title", &[("table", table_title(tr, table))]);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title" font-family="{FONT}" font-size="13"><title id="{id}-title">{title}</title>"#,
        height = number(height),
        title = escape(&title),
    );
    out.push_str("<defs>");
    for index in 1..PATTERNS {
        out.push_str(&pattern(&id, index));
    }
    out.push_str("</defs>");

    if grouped {
        for (index, name) in series.iter().enumerate() {
            let y = 4.0 + LEGEND_ROW * index as f64;
            let _ = write!(
                out,
                r#"<rect x="{BAR_X}" y="{y}" width="24" height="{BAR_HEIGHT}" fill="{fill}" stroke="{INK}"/><text x="{tx}" y="{ty}" fill="{TEXT}">{name}</text>"#,
                y = number(y),
                fill = fill(&id, index),
                tx = number(BAR_X + 32.0),
                ty = number(y + 11.0),
                name = escape(name),
            );
        }
    }

    // Gridlines under the bars, with their values along the bottom.
    for tick in axis.ticks() {
        let x = BAR_X + bar_length(tick, axis.top);
        let anchor = if tick == 0.0 { "start" } else { "middle" };
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="{GRID}" stroke-width="{w}"/><text x="{x}" y="{ty}" fill="{TEXT}" text-anchor="{anchor}" font-size="12">{label}</text>"#,
            x = number(x),
            top = number(bars_top),
            bottom = number(bars_bottom),
            w = if tick == 0.0 { 1.5 } else { 0.75 },
            ty = number(bars_bottom + 14.0),
            label = escape(&tick_text(tr, tick)),
        );
    }

    for (row_index, row) in table.rows.iter().enumerate() {
        let top = bars_top + row_height * row_index as f64;
        let label = row
            .get(chart.label_column)
            .map_or_else(String::new, |cell| cell_text(tr, cell));
        let _ = write!(
            out,
            r#"<text x="{BAR_X}" y="{y}" fill="{TEXT}" font-weight="600"{HALO}>{label}</text>"#,
            y = number(top + 13.0),
            label = escape(&shortened(&label)),
        );
        for (index, value) in values(row).into_iter().enumerate() {
            let y = top + LABEL_HEIGHT + (BAR_HEIGHT + BAR_GAP) * index as f64;
            let length = value.map_or(0.0, |value| bar_length(value, axis.top));
            if length > 0.0 {
                let _ = write!(
                    out,
                    r#"<rect x="{BAR_X}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="{fill}" stroke="{INK}"/>"#,
                    y = number(y),
                    length = number(length),
                    fill = fill(&id, index),
                );
            }
            let shown = row
                .get(chart.value_columns[index])
                .map_or_else(|| "–".to_string(), |cell| cell_text(tr, cell));
            let _ = write!(
                out,
                r#"<text x="{x}" y="{ty}" fill="{TEXT}"{HALO}>{shown}</text>"#,
                x = number(BAR_X + length + 4.0),
                ty = number(y + 11.0),
                shown = escape(&shown),
            );
        }
    }
    out.push_str("</svg>");
    Some(out)
}

/// A cell's length as a bar: counts and numbers; text and empty cells have no bar, and nothing
/// is drawn below zero.
fn bar_value(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Count(count) => Some((*count as f64).max(0.0)),
        Cell::Number(number) if number.is_finite() => Some(number.max(0.0)),
        _ => None,
    }
}

/// The length of `value`'s bar when the axis ends at `top`.
pub fn bar_length(value: f64, top: f64) -> f64 {
    if top <= 0.0 { 0.0 } else { value / top * BAR_SPACE }
}

/// The value axis: from zero to a round top, with a gridline every `step`.
#[derive(Debug, PartialEq)]
pub struct Axis {
    pub top: f64,
    pub step: f64,
}

impl Axis {
    /// Round steps of 1, 2 or 5 times a power of ten, at most five of them up to the top, and
    /// at least 1 for `whole` numbers (counts); an axis for nothing (all zero) ends at 1.
    pub fn for_largest(largest: f64, whole: bool) -> Axis {
        if largest <= 0.0 || !largest.is_finite() {
            return Axis { top: 1.0, step: 1.0 };
        }
        let raw = largest / 4.0;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|factor| factor * power)
            .find(|step| *step >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * power);
        let step = if whole { step.max(1.0) } else { step };
        let steps = (largest / step - 1e-9).ceil().max(1.0);
        Axis {
            top: clean(steps * step),
            step: clean(step),
        }
    }

    pub fn ticks(&self) -> Vec<f64> {
        let count = (self.top / self.step).round() as usize;
        (0..=count).map(|index| clean(index as f64 * self.step)).collect()
    }
}

/// Drops floating-point noise (0.30000000000000004 → 0.3).
fn clean(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

fn tick_text(tr: Tr, tick: f64) -> String {
    if tick.fract() == 0.0 {
        super::display::count_text(tr, tick as i64)
    } else {
        super::display::number_text(tr, tick)
    }
}

/// The fill of value column `index`: solid ink for the first, a pattern for the others.
fn fill(id: &str, index: usize) -> String {
    match index % PATTERNS {
        0 => INK.to_string(),
        other => format!("url(#{id}-p{other})"),
    }
}

fn pattern(id: &str, index: usize) -> String {
    let shape = match index {
        1 => format!(r#"<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="{INK}" stroke-width="1.6"/>"#),
        2 => format!(r#"<circle cx="3" cy="3" r="1.4" fill="{INK}"/>"#),
        3 => format!(r#"<path d="M0,0 L6,6 M6,0 L0,6" stroke="{INK}" stroke-width="1"/>"#),
        _ => format!(r#"<path d="M0,3 H6" stroke="{INK}" stroke-width="1.6"/>"#),
    };
    format!(
        r##"<pattern id="{id}-p{index}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#ffffff"/>{shape}</pattern>"##
    )
}

/// An id for the page: the table's key, with anything but letters, digits, `-` and `_` dropped.
fn element_id(key: &str) -> String {
    let safe: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("chart-{safe}")
}

fn shortened(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Up to two decimals, trailing zeros dropped: stable numbers in the markup.
fn number(value: f64) -> String {
    let text = format!("{:.2}", clean(value));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Text and attribute values for XML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    fn en() -> Tr {
        Tr::new(Language::En)
    }

    fn widths(svg: &str) -> Vec<String> {
        // Bars are the rects that start at BAR_X with the bar height; legend swatches are 24 wide.
        svg.split("<rect ")
            .skip(1)
            .filter(|rect| rect.starts_with(r#"x="4" "#) && !rect.contains(r#"width="24""#))
            .filter_map(|rect| rect.split(r#"width=""#).nth(1))
            .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
            .collect()
    }

    fn table(rows: Vec<Vec<Cell>>, values: &[usize]) -> ReportTable {
        let mut table = ReportTable::new("reach_by_county", &["county", "invited", "attended"]).with_chart(0, values);
        for row in rows {
            table.push(row);
        }
        table
    }

    #[test]
    fn bars_are_as_long_as_their_share_of_a_round_axis() {
        let table = table(
            vec![
                vec!["Vestland".into(), 10.into(), 8.into()],
                vec!["Agder".into(), 5.into(), 0.into()],
            ],
            &[1],
        );
        let svg = svg(&table, en()).unwrap();
        // 10 is the largest: steps of 5 up to 10, so 10 is the whole 260 and 5 half of it.
        assert_eq!(widths(&svg), ["260", "130"]);
        assert!(svg.contains(">Vestland</text>") && svg.contains(">Agder</text>"));
        assert!(svg.contains(r#"viewBox="0 0 360 108""#), "{svg}");
        // Each value at its bar's end.
        assert!(svg.contains(r##"<text x="268" y="33" fill="#1a1a1a" stroke="#ffffff" stroke-width="3" paint-order="stroke">10</text>"##), "{svg}");
        assert!(svg.contains(r##"<text x="138" y="75" fill="#1a1a1a" stroke="#ffffff" stroke-width="3" paint-order="stroke">5</text>"##), "{svg}");
        // Gridlines at 0, 5 and 10.
        assert_eq!(svg.matches("<line ").count(), 3);
        assert!(svg.contains(r#"role="img""#) && svg.contains(r#"aria-labelledby="chart-reach_by_county-title""#));
    }

    #[test]
    fn grouped_bars_differ_by_pattern_and_are_named_in_a_legend() {
        let table = table(vec![vec!["Vestland".into(), 7.into(), 3.into()]], &[1, 2]);
        let svg = svg(&table, en()).unwrap();
        // 7 → steps of 2 up to 8: 7/8 and 3/8 of 260.
        assert_eq!(widths(&svg), ["227.5", "97.5"]);
        assert!(svg.contains(r##"fill="#1f4e79" stroke"##));
        assert!(svg.contains(r#"fill="url(#chart-reach_by_county-p1)""#));
        // The legend names both value columns in text, with their swatches.
        assert!(svg.contains(">Invited</text>") && svg.contains(">Attended</text>"));
        assert_eq!(svg.matches(r#"width="24""#).count(), 2);
        assert_eq!(svg.matches("<line ").count(), 5);
    }

    #[test]
    fn labels_are_escaped() {
        let table = table(
            vec![vec![r#"<script>alert("x")</script> & Bø"#.into(), 1.into(), 1.into()]],
            &[1],
        );
        let svg = svg(&table, en()).unwrap();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Bø"));
    }

    #[test]
    fn zero_values_give_no_bars_but_their_figures_and_no_rows_give_no_chart() {
        let zero = table(vec![vec!["Agder".into(), 0.into(), Cell::Empty]], &[1, 2]);
        let svg = svg(&zero, en()).unwrap();
        assert!(widths(&svg).is_empty());
        assert!(svg.contains(">0</text>") && svg.contains(">–</text>"));
        // The axis still has a top, so nothing divides by zero.
        assert_eq!(Axis::for_largest(0.0, true), Axis { top: 1.0, step: 1.0 });

        assert_eq!(super::svg(&table(Vec::new(), &[1]), en()), None);
        let mut held_back = table(Vec::new(), &[1]);
        held_back.note = Some("too_few_answers".into());
        assert_eq!(super::svg(&held_back, en()), None);
        assert_eq!(super::svg(&ReportTable::new("plain", &["a"]), en()), None);
    }

    #[test]
    fn the_axis_ends_at_a_round_value() {
        assert_eq!(Axis::for_largest(10.0, true), Axis { top: 10.0, step: 5.0 });
        assert_eq!(Axis::for_largest(7.0, true), Axis { top: 8.0, step: 2.0 });
        assert_eq!(Axis::for_largest(1.0, false), Axis { top: 1.0, step: 0.5 });
        // Counts are never split below one.
        assert_eq!(Axis::for_largest(1.0, true), Axis { top: 1.0, step: 1.0 });
        assert_eq!(Axis::for_largest(3.0, true), Axis { top: 3.0, step: 1.0 });
        assert_eq!(Axis::for_largest(0.75, false), Axis { top: 0.8, step: 0.2 });
        assert_eq!(Axis::for_largest(123.0, true), Axis { top: 150.0, step: 50.0 });
        assert_eq!(Axis { top: 0.8, step: 0.2 }.ticks(), [0.0, 0.2, 0.4, 0.6, 0.8]);
        assert_eq!(bar_length(0.25, 0.8), 81.25);
    }

    #[test]
    fn long_labels_are_cut_to_fit() {
        let long = "Interkommunalt samarbeid om klimatilpasning i Nordhordland og Gulen";
        assert_eq!(shortened(long).chars().count(), MAX_LABEL_CHARS);
        assert!(shortened(long).ends_with('…'));
        assert_eq!(shortened("Bø"), "Bø");
    }
}
