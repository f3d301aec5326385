//! How a report's cells, headings and titles read for a person: the page, the chart and the
//! exports' headings all take their words from here, in the viewer's language.

use crate::i18n::{Language, Tr};

use super::table::{Cell, ReportTable};

/// The heading of a column (`report.column.{key}`).
pub fn column_heading(tr: Tr, key: &str) -> String {
    tr.t(&format!("report.column.{key}")).to_string()
}

/// The title of a table (`report.table.{key}`).
pub fn table_title(tr: Tr, table: &ReportTable) -> String {
    tr.t(&format!("report.table.{}", table.key)).to_string()
}

/// Why a table is held back or empty (`report.note.{note}`), when it is.
pub fn note_text(tr: Tr, table: &ReportTable) -> Option<String> {
    table
        .note
        .as_ref()
        .map(|note| tr.t(&format!("report.note.{note}")).to_string())
}

/// A cell of `column` as it reads on the page: a code the report writes as text (a summary's
/// `figure`, a need's `state`, a survey `answer`) in words, from `report.value.{column}.{code}`
/// where there is such a translation; other cells as [`cell_text`]. The exports keep the codes.
pub fn value_text(tr: Tr, column: &str, cell: &Cell) -> String {
    if let Cell::Text(code) = cell {
        let key = format!("report.value.{column}.{code}");
        if tr.has(&key) {
            return tr.t(&key).to_string();
        }
    }
    cell_text(tr, cell)
}

/// A cell as it reads on the page: counts grouped by thousands, numbers with at most two
/// decimals and the language's decimal separator, an empty cell as a dash.
pub fn cell_text(tr: Tr, cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Count(count) => count_text(tr, *count),
        Cell::Number(number) => number_text(tr, *number),
        Cell::Empty => "–".to_string(),
    }
}

/// `12 345` (with a no-break space) in Norwegian, `12,345` in English.
pub fn count_text(tr: Tr, count: i64) -> String {
    let digits = count.unsigned_abs().to_string();
    let separator = if tr.language == Language::En { ',' } else { '\u{a0}' };
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(digit);
    }
    if count < 0 { format!("−{grouped}") } else { grouped }
}

/// `0,25` in Norwegian, `0.25` in English: at most two decimals, trailing zeros dropped.
pub fn number_text(tr: Tr, number: f64) -> String {
    if !number.is_finite() {
        return "–".to_string();
    }
    let rounded = (number * 100.0).round() / 100.0;
    let whole = rounded.trunc();
    if whole.abs() < 1e15 && (rounded - whole).abs() < 1e-9 {
        return count_text(tr, whole as i64);
    }
    let text = format!("{:.2}", rounded.abs());
    let text = text.trim_end_matches('0');
    let (integer, decimals) = text.split_once('.').unwrap_or((text, ""));
    let integer = count_text(tr, integer.parse().unwrap_or(0));
    let point = if tr.language == Language::En { '.' } else { ',' };
    let sign = if rounded < 0.0 { "−" } else { "" };
    format!("{sign}{integer}{point}{decimals}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_in_the_viewers_language() {
        let nb = Tr::new(Language::Nb);
        let en = Tr::new(Language::En);
        assert_eq!(count_text(nb, 12345), "12\u{a0}345");
        assert_eq!(count_text(en, 1234567), "1,234,567");
        assert_eq!(count_text(en, 0), "0");
        assert_eq!(number_text(nb, 0.25), "0,25");
        assert_eq!(number_text(en, 0.25), "0.25");
        assert_eq!(number_text(nb, 3.5), "3,5");
        assert_eq!(number_text(nb, 4.0), "4");
        assert_eq!(number_text(en, 1234.567), "1,234.57");
        assert_eq!(number_text(en, -0.5), "−0.5");
        assert_eq!(cell_text(en, &Cell::Empty), "–");
        assert_eq!(cell_text(en, &Cell::Text("Bø".into())), "Bø");
    }
}
