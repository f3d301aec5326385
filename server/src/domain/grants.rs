//! Grant records as the agency exports them, parsed and checked field by field, and the rule
//! that places a grant in a theme.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::email::normalize_email;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// "Tildelt"
    Awarded,
    /// "Pågående"
    Ongoing,
    /// "Gjennomført"
    Completed,
    /// "Trukket": never invited.
    Withdrawn,
}

impl GrantStatus {
    pub fn code(self) -> &'static str {
        match self {
            GrantStatus::Awarded => "awarded",
            GrantStatus::Ongoing => "ongoing",
            GrantStatus::Completed => "completed",
            GrantStatus::Withdrawn => "withdrawn",
        }
    }

    /// Reads the Norwegian status of the export (any case, also without Norwegian letters).
    pub fn parse_norwegian(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "tildelt" => Some(Self::Awarded),
            "pågående" | "pagaende" | "paagaaende" => Some(Self::Ongoing),
            "gjennomført" | "gjennomfort" | "gjennomfoert" => Some(Self::Completed),
            "trukket" => Some(Self::Withdrawn),
            _ => None,
        }
    }
}

/// How a grant came to (not) belong to a theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Its measure type maps to a theme.
    Automatic,
    /// Keywords suggest a theme; a person must decide.
    NeedsReview,
    /// A person placed it in a theme.
    Confirmed,
    /// A person decided it belongs to no theme.
    Rejected,
    /// Its measure type maps to no theme and nothing suggests one.
    Unmapped,
}

impl Placement {
    pub fn code(self) -> &'static str {
        match self {
            Placement::Automatic => "automatic",
            Placement::NeedsReview => "needs_review",
            Placement::Confirmed => "confirmed",
            Placement::Rejected => "rejected",
            Placement::Unmapped => "unmapped",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Automatic,
            Self::NeedsReview,
            Self::Confirmed,
            Self::Rejected,
            Self::Unmapped,
        ]
        .into_iter()
        .find(|placement| placement.code() == code)
    }

    /// Whether the grant counts as a project of its theme's cohort.
    pub fn is_placed(self) -> bool {
        matches!(self, Placement::Automatic | Placement::Confirmed)
    }

    /// Whether a person's decision stands until they change it.
    pub fn is_decided_by_person(self) -> bool {
        matches!(self, Placement::Confirmed | Placement::Rejected)
    }
}

/// One valid row of a grant export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub reference: String,
    pub title: String,
    pub county: String,
    pub applicant: String,
    pub organisation_number: String,
    pub amount_nok: i64,
    pub status: GrantStatus,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub measure_type: String,
    pub grant_year: i32,
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub description: String,
}

impl GrantRecord {
    /// "municipality" or "county", from the applicant's name.
    pub fn organisation_kind(&self) -> &'static str {
        if self.applicant.to_lowercase().contains("fylkeskommune") {
            "county"
        } else {
            "municipality"
        }
    }
}

/// Why a row was rejected: a stable code, the column, and the offending value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Stable code, e.g. `bad_amount`.
    pub code: String,
    /// The column header as the file names it.
    pub column: String,
    pub value: String,
}

impl FieldError {
    fn new(code: &str, column: &str, value: &str) -> Self {
        Self {
            code: code.into(),
            column: column.into(),
            value: value.chars().take(80).collect(),
        }
    }
}

/// The columns of the export, in the order the agency writes them.
pub const COLUMNS: [&str; 13] = [
    "Prosjektnummer",
    "Tittel",
    "Fylke",
    "Søker",
    "Kommunenummer",
    "Tilskudd",
    "Status",
    "Varighet av prosjekt",
    "Type tiltak",
    "Tildelingsår",
    "Kontaktperson",
    "E-post",
    "Beskrivelse",
];

/// Builds a record from the 13 fields in [`COLUMNS`] order, or says what is wrong with it.
pub fn parse_record(fields: &[&str; 13]) -> Result<GrantRecord, FieldError> {
    let [
        reference,
        title,
        county,
        applicant,
        number,
        amount,
        status,
        period,
        measure_type,
        year,
        contact_name,
        email,
        description,
    ] = fields.map(str::trim);
    let required = |value: &str, column: &str| {
        if value.is_empty() {
            Err(FieldError::new("missing_value", column, value))
        } else {
            Ok(value.to_string())
        }
    };
    let reference = required(reference, COLUMNS[0])?;
    if reference.chars().count() > 40 || reference.contains(char::is_whitespace) {
        return Err(FieldError::new("bad_reference", COLUMNS[0], &reference));
    }
    let title = required(title, COLUMNS[1])?;
    let county = required(county, COLUMNS[2])?;
    let applicant = required(applicant, COLUMNS[3])?;
    let organisation_number = parse_organisation_number(number)
        .ok_or_else(|| FieldError::new("bad_organisation_number", COLUMNS[4], number))?;
    let amount_nok = parse_amount(amount).ok_or_else(|| FieldError::new("bad_amount", COLUMNS[5], amount))?;
    let status =
        GrantStatus::parse_norwegian(status).ok_or_else(|| FieldError::new("bad_status", COLUMNS[6], status))?;
    let (period_start, period_end) =
        parse_period(period).ok_or_else(|| FieldError::new("bad_period", COLUMNS[7], period))?;
    let measure_type = required(measure_type, COLUMNS[8])?;
    let grant_year = year
        .parse::<i32>()
        .ok()
        .filter(|year| (2000..=2100).contains(year))
        .ok_or_else(|| FieldError::new("bad_year", COLUMNS[9], year))?;
    let contact_name = required(contact_name, COLUMNS[10])?;
    let contact_email = if email.is_empty() {
        None
    } else {
        Some(normalize_email(email).ok_or_else(|| FieldError::new("bad_email", COLUMNS[11], email))?)
    };
    Ok(GrantRecord {
        reference,
        title,
        county,
        applicant,
        organisation_number,
        amount_nok,
        status,
        period_start,
        period_end,
        measure_type,
        grant_year,
        contact_name,
        contact_email,
        description: description.to_string(),
    })
}

/// Four digits; a spreadsheet that dropped the leading zero (`301` for Oslo) is forgiven.
pub fn parse_organisation_number(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match text.len() {
        4 => Some(text.to_string()),
        3 => Some(format!("0{text}")),
        _ => None,
    }
}

/// Whole kroner as Norwegian spreadsheets write them: `1 200 000` (with no-break or ordinary
/// spaces), `1.200.000`, optionally `kr` and zero øre (`,00`).
pub fn parse_amount(text: &str) -> Option<i64> {
    let mut text = text.trim().to_lowercase();
    for affix in ["kr.", "kr", "nok"] {
        if let Some(rest) = text.strip_suffix(affix) {
            text = rest.to_string();
        } else if let Some(rest) = text.strip_prefix(affix) {
            text = rest.to_string();
        }
    }
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '.'))
        .collect();
    let whole = match text.split_once(',') {
        Some((whole, øre)) if !øre.is_empty() && øre.chars().all(|c| c == '0') => whole,
        Some(_) => return None,
        None => text.as_str(),
    };
    if whole.is_empty() || whole.len() > 15 || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    whole.parse().ok()
}

/// `Mar 2021 - Des 2022` → first day of the first month, last day of the last month.
pub fn parse_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let normalized = text.replace(['–', '—'], "-");
    let (from, to) = normalized.split_once('-')?;
    let start = parse_month_year(from)?;
    let end_month = parse_month_year(to)?;
    let end = last_day_of_month(end_month)?;
    (start <= end).then_some((start, end))
}

fn parse_month_year(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split_whitespace();
    let month = parse_month(parts.next()?)?;
    let year: i32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(2000..=2100).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, 1)
}

fn last_day_of_month(first: NaiveDate) -> Option<NaiveDate> {
    let (year, month) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)?.pred_opt()
}

/// Norwegian month names and abbreviations (`Mai`, `Okt`, `Des`, `januar`, `mars.`); English
/// abbreviations are taken too, as some exports mix them.
fn parse_month(text: &str) -> Option<u32> {
    let name = text.trim().trim_end_matches('.').to_lowercase();
    const MONTHS: [&[&str]; 12] = [
        &["jan", "januar", "january"],
        &["feb", "februar", "february"],
        &["mar", "mars", "march"],
        &["apr", "april"],
        &["mai", "may"],
        &["jun", "juni", "june"],
        &["jul", "juli", "july"],
        &["aug", "august"],
        &["sep", "sept", "september"],
        &["okt", "oktober", "oct", "october"],
        &["nov", "november"],
        &["des", "desember", "dec", "december"],
    ];
    MONTHS
        .iter()
        .position(|names| names.contains(&name.as_str()))
        .map(|index| index as u32 + 1)
}

/// A theme as the placement rule sees it.
#[derive(Clone, Debug)]
pub struct ThemeRule {
    pub theme_id: i32,
    pub measure_types: Vec<String>,
    pub keywords: Vec<String>,
}

/// Where a grant belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacementDecision {
    pub theme_id: Option<i32>,
    pub suggested_theme_id: Option<i32>,
    pub placement: Placement,
}

/// Places a grant: its measure type decides when it maps to a theme; otherwise a person's
/// earlier decision stands; otherwise keywords in the title or text only suggest a theme.
pub fn place_grant(
    measure_type: &str,
    title: &str,
    description: &str,
    previous: Option<PlacementDecision>,
    themes: &[ThemeRule],
) -> PlacementDecision {
    let measure_type = measure_type.trim().to_lowercase();
    if let Some(theme) = themes.iter().find(|theme| {
        theme
            .measure_types
            .iter()
            .any(|mapped| mapped.trim().to_lowercase() == measure_type)
    }) {
        return PlacementDecision {
            theme_id: Some(theme.theme_id),
            suggested_theme_id: None,
            placement: Placement::Automatic,
        };
    }
    if let Some(previous) = previous.filter(|previous| previous.placement.is_decided_by_person()) {
        return previous;
    }
    let text = format!("{title} {description}").to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let suggestion = themes.iter().find(|theme| {
        theme
            .keywords
            .iter()
            .any(|keyword| words.iter().any(|word| word.starts_with(keyword.as_str())))
    });
    match suggestion {
        Some(theme) => PlacementDecision {
            theme_id: None,
            suggested_theme_id: Some(theme.theme_id),
            placement: Placement::NeedsReview,
        },
        None => PlacementDecision {
            theme_id: None,
            suggested_theme_id: None,
            placement: Placement::Unmapped,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn amounts_in_norwegian_formats() {
        assert_eq!(parse_amount("1\u{a0}200\u{a0}000"), Some(1_200_000));
        assert_eq!(parse_amount("1 200 000"), Some(1_200_000));
        assert_eq!(parse_amount("1.200.000"), Some(1_200_000));
        assert_eq!(parse_amount("850 000 kr"), Some(850_000));
        assert_eq!(parse_amount("kr 400 000,00"), Some(400_000));
        assert_eq!(parse_amount("120000"), Some(120_000));
    }

    #[test]
    fn bad_amounts_are_refused() {
        for bad in ["", "tolv", "1 200 000,50", "-5000", "12e5", "1,2", "kr"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn periods_with_norwegian_months() {
        assert_eq!(
            parse_period("Mar 2021 - Des 2022"),
            Some((date(2021, 3, 1), date(2022, 12, 31)))
        );
        assert_eq!(
            parse_period("Mai 2022 – Feb 2024"),
            Some((date(2022, 5, 1), date(2024, 2, 29)))
        );
        assert_eq!(
            parse_period("okt. 2021 - januar 2022"),
            Some((date(2021, 10, 1), date(2022, 1, 31)))
        );
    }

    #[test]
    fn bad_periods_are_refused() {
        for bad in [
            "",
            "Mar 2021",
            "Foo 2021 - Des 2022",
            "Des 2022 - Mar 2021",
            "Mar 21 - Des 22",
        ] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }

    #[test]
    fn organisation_numbers_keep_their_leading_zero() {
        assert_eq!(parse_organisation_number("0301").as_deref(), Some("0301"));
        assert_eq!(parse_organisation_number("301").as_deref(), Some("0301"));
        assert_eq!(parse_organisation_number("30"), None);
        assert_eq!(parse_organisation_number("50O1"), None);
    }

    fn row<'a>() -> [&'a str; 13] {
        [
            "2021-0412",
            "Matsvinnreduksjon",
            "Trøndelag",
            "Trondheim kommune",
            "5001",
            "1 200 000",
            "Gjennomført",
            "Mar 2021 - Des 2022",
            "Mat og matsvinn",
            "2021",
            "Kari Nordmann",
            "Kari@Example.no",
            "Kartlegging",
        ]
    }

    #[test]
    fn a_good_row_becomes_a_record() {
        let record = parse_record(&row()).unwrap();
        assert_eq!(record.amount_nok, 1_200_000);
        assert_eq!(record.status, GrantStatus::Completed);
        assert_eq!(record.contact_email.as_deref(), Some("kari@example.no"));
        assert_eq!(record.organisation_kind(), "municipality");
    }

    #[test]
    fn each_bad_field_names_its_column() {
        let cases = [
            (5, "12x", "bad_amount", "Tilskudd"),
            (6, "Ukjent", "bad_status", "Status"),
            (9, "21", "bad_year", "Tildelingsår"),
            (11, "ikke-en-adresse", "bad_email", "E-post"),
            (1, " ", "missing_value", "Tittel"),
        ];
        for (index, value, code, column) in cases {
            let mut fields = row();
            fields[index] = value;
            let error = parse_record(&fields).unwrap_err();
            assert_eq!((error.code.as_str(), error.column.as_str()), (code, column));
        }
    }

    fn themes() -> Vec<ThemeRule> {
        vec![
            ThemeRule {
                theme_id: 1,
                measure_types: vec!["Mat og matsvinn".into()],
                keywords: vec!["matsvinn".into()],
            },
            ThemeRule {
                theme_id: 2,
                measure_types: vec!["Sirkulærøkonomi".into(), "Avfall og sirkulærøkonomi".into()],
                keywords: vec!["ombruk".into()],
            },
        ]
    }

    #[test]
    fn a_mapped_measure_type_places_the_grant() {
        let decision = place_grant("avfall og sirkulærøkonomi", "Tekstiler", "", None, &themes());
        assert_eq!(
            decision,
            PlacementDecision {
                theme_id: Some(2),
                suggested_theme_id: None,
                placement: Placement::Automatic
            }
        );
    }

    #[test]
    fn keywords_only_suggest_a_theme() {
        let decision = place_grant(
            "Forprosjekt",
            "Forprosjekt: redusert matsvinn i storkjøkken",
            "",
            None,
            &themes(),
        );
        assert_eq!(
            decision,
            PlacementDecision {
                theme_id: None,
                suggested_theme_id: Some(1),
                placement: Placement::NeedsReview
            }
        );
    }

    #[test]
    fn unrelated_grants_are_unmapped() {
        let decision = place_grant(
            "Transport",
            "Ladepunkter",
            "Etablering av 30 ladepunkter",
            None,
            &themes(),
        );
        assert_eq!(decision.placement, Placement::Unmapped);
    }

    #[test]
    fn a_persons_decision_survives_reimport() {
        let confirmed = PlacementDecision {
            theme_id: Some(1),
            suggested_theme_id: Some(1),
            placement: Placement::Confirmed,
        };
        assert_eq!(
            place_grant("Forprosjekt", "matsvinn", "", Some(confirmed), &themes()),
            confirmed
        );
        let rejected = PlacementDecision {
            theme_id: None,
            suggested_theme_id: Some(1),
            placement: Placement::Rejected,
        };
        assert_eq!(
            place_grant("Forprosjekt", "matsvinn", "", Some(rejected), &themes()),
            rejected
        );
    }
}
