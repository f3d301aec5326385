//! Reads a grant export (`;` or `,`, with or without BOM, UTF-8 or Windows-1252) and stores it
//! in one transaction: valid rows are created or updated by reference, unchanged rows are left
//! alone, and every rejected row is reported with its line number and reason. A contact whose
//! address is on the suppression list (an erased person) is left out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, ActiveModelTrait, EntityTrait, Set, TransactionSession, TransactionTrait};
use serde::Serialize;

use crate::audit;
use crate::auth::Caller;
use crate::cohorts;
use crate::domain::grants::{COLUMNS, FieldError, GrantRecord, GrantStatus, PlacementDecision, parse_record};
use crate::entities::{grant, organisation};
use crate::error::{AppError, AppResult};
use crate::grants::placement::{load_theme_rules, previous_decision};
use crate::i18n::Language;

/// A file larger than this is refused before reading (about 200,000 rows).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RejectedRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    pub reference: Option<String>,
    #[serde(flatten)]
    pub error: FieldError,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<RejectedRow>,
    /// Cohorts that exist after the import: (programme, theme, number of projects).
    pub cohorts: Vec<cohorts::CohortSummary>,
    /// Grants waiting for a person's decision.
    pub needs_review: usize,
    /// Rows whose contact was left out (name and address stored empty) because the address
    /// belongs to a person who was erased (`privacy::suppression`).
    pub contacts_left_out: usize,
}

/// Progress of a long import: rows read so far and in all.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Text from the file's bytes: a UTF-8 BOM is dropped; anything that is not UTF-8 is read as
/// Windows-1252, the other encoding Norwegian spreadsheets write.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

pub struct ParsedFile {
    pub rows: usize,
    pub records: Vec<(u64, GrantRecord)>,
    pub rejected: Vec<RejectedRow>,
}

fn normalize_header(header: &str) -> String {
    header.trim().trim_start_matches('\u{feff}').to_lowercase()
}

/// Parses the whole file; a problem with the file itself (no header, missing columns) is an
/// error, a problem with a row is a [`RejectedRow`].
pub fn parse_file(text: &str, progress: Progress) -> AppResult<ParsedFile> {
    let header_line = text.lines().next().unwrap_or_default();
    if header_line.trim().is_empty() {
        return Err(AppError::invalid("import_empty_file", "file"));
    }
    let delimiter = if header_line.matches(';').count() >= header_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| AppError::invalid("import_unreadable", "file"))?
        .iter()
        .map(normalize_header)
        .collect();
    let mut positions = [0usize; 13];
    let mut missing = Vec::new();
    for (slot, column) in positions.iter_mut().zip(COLUMNS) {
        match headers.iter().position(|header| *header == normalize_header(column)) {
            Some(index) => *slot = index,
            None => missing.push(column),
        }
    }
    if !missing.is_empty() {
        return Err(AppError::Invalid {
            code: "import_missing_columns",
            field: Some("file".into()),
            args: vec![("columns", missing.join(", "))],
        });
    }

    let total_bytes = text.len() as u64;
    let mut parsed = ParsedFile {
        rows: 0,
        records: Vec::new(),
        rejected: Vec::new(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(text);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                parsed.rows += 1;
                parsed.rejected.push(RejectedRow {
                    line: lines.line_at(error.position().map(|position| position.byte()).unwrap_or_default()),
                    reference: None,
                    error: FieldError {
                        code: "unreadable_row".into(),
                        column: String::new(),
                        value: String::new(),
                    },
                });
                continue;
            }
        }
        let line = lines.line_at(record.position().map(|position| position.byte()).unwrap_or_default());
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        parsed.rows += 1;
        progress(reader.position().byte(), total_bytes);
        let reference = record
            .get(positions[0])
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty());
        if positions.iter().any(|&index| index >= record.len()) {
            parsed.rejected.push(RejectedRow {
                line,
                reference,
                error: FieldError {
                    code: "wrong_field_count".into(),
                    column: String::new(),
                    value: record.len().to_string(),
                },
            });
            continue;
        }
        let fields: [&str; 13] = positions.map(|index| &record[index]);
        if let Some(column) = fields
            .iter()
            .position(|field| crate::domain::text::has_forbidden_control(field))
        {
            parsed.rejected.push(RejectedRow {
                line,
                reference,
                error: FieldError {
                    code: "invalid_text".into(),
                    column: COLUMNS[column].into(),
                    value: String::new(),
                },
            });
            continue;
        }
        match parse_record(&fields) {
            Ok(grant) if !seen.insert(grant.reference.clone()) => parsed.rejected.push(RejectedRow {
                line,
                reference: Some(grant.reference.clone()),
                error: FieldError {
                    code: "duplicate_reference".into(),
                    column: COLUMNS[0].into(),
                    value: grant.reference,
                },
            }),
            Ok(grant) => parsed.records.push((line, grant)),
            Err(error) => parsed.rejected.push(RejectedRow { line, reference, error }),
        }
    }
    progress(total_bytes, total_bytes);
    Ok(parsed)
}

/// Physical line numbers of byte offsets, counted forward once. (The csv crate's own line count
/// lags by one after CRLF line ends, and spreadsheets write CRLF.)
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line on which the record starting at `byte` has its first character.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut target = (byte as usize).min(self.text.len());
        while target < self.text.len() && matches!(self.text[target], b'\r' | b'\n') {
            target += 1;
        }
        if target >= self.offset {
            self.line += self.text[self.offset..target].iter().filter(|&&c| c == b'\n').count() as u64;
            self.offset = target;
        }
        self.line
    }
}

/// Imports a file: parses it, then stores all valid rows and re-forms the cohorts in one
/// transaction, so a failure leaves nothing half-written.
pub async fn import_grants<C: TransactionTrait>(
    db: &C,
    caller: Caller<'_>,
    bytes: &[u8],
    now: DateTime<Utc>,
    progress: Progress<'_>,
) -> AppResult<ImportReport> {
    super::authorize(caller)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(AppError::invalid("import_too_large", "file"));
    }
    let parsed = parse_file(&decode(bytes), progress)?;
    let txn = crate::db::write_transaction(db).await?;
    cohorts::lock_cohort_forming(&txn).await?;
    let rules = load_theme_rules(&txn).await?;
    let mut organisations: HashMap<String, organisation::Model> = organisation::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|organisation| (organisation.number.clone(), organisation))
        .collect();
    let suppressed = crate::privacy::suppression::fingerprints(&txn).await?;
    let mut existing: HashMap<String, grant::Model> = grant::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|grant| (grant.reference.clone(), grant))
        .collect();

    let mut report = ImportReport {
        rows: parsed.rows,
        rejected: parsed.rejected,
        ..Default::default()
    };
    for (_line, record) in &parsed.records {
        let organisation_id = upsert_organisation(&txn, &mut organisations, record).await?;
        let previous = existing.remove(&record.reference);
        let decision = crate::domain::grants::place_grant(
            &record.measure_type,
            &record.title,
            &record.description,
            previous.as_ref().map(previous_decision),
            &rules,
        );
        let mut wanted = GrantValues::new(record, organisation_id, decision);
        // An erased person stays erased: the file still names them, the register does not.
        let erased = !suppressed.is_empty()
            && record
                .contact_email
                .as_deref()
                .is_some_and(|address| suppressed.contains(&crate::privacy::suppression::fingerprint(address)));
        if erased {
            wanted.contact_name = String::new();
            wanted.contact_email = None;
            report.contacts_left_out += 1;
        }
        match previous {
            None => {
                wanted.into_active_model(now).insert(&txn).await?;
                report.created += 1;
            }
            Some(stored) if GrantValues::of(&stored) == wanted => report.unchanged += 1,
            Some(stored) => {
                let mut active = wanted.into_active_model(now);
                active.id = Set(stored.id);
                active.created_at = Set(stored.created_at);
                active.update(&txn).await?;
                report.updated += 1;
            }
        }
    }
    cohorts::form_cohorts(&txn, now).await?;
    report.cohorts = cohorts::summaries(&txn, Language::Nb).await?;
    report.needs_review = crate::grants::review::waiting(&txn, Language::Nb).await?.len();
    audit::record(
        &txn,
        caller.user_id(),
        "grants.import",
        "grant_import",
        now.timestamp(),
        serde_json::json!({
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected.len(),
            "contacts_left_out": report.contacts_left_out,
        }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

async fn upsert_organisation(
    txn: &impl sea_orm::ConnectionTrait,
    organisations: &mut HashMap<String, organisation::Model>,
    record: &GrantRecord,
) -> AppResult<i32> {
    let wanted = (
        record.applicant.clone(),
        record.county.clone(),
        organisation::Kind::try_from_value(&record.organisation_kind().to_string())?,
    );
    match organisations.get(&record.organisation_number) {
        Some(stored) if (stored.name.clone(), stored.county.clone(), stored.kind) == wanted => Ok(stored.id),
        Some(stored) => {
            let mut active: organisation::ActiveModel = stored.clone().into();
            active.name = Set(wanted.0);
            active.county = Set(wanted.1);
            active.kind = Set(wanted.2);
            let updated = active.update(txn).await?;
            let id = updated.id;
            organisations.insert(updated.number.clone(), updated);
            Ok(id)
        }
        None => {
            let inserted = organisation::ActiveModel {
                number: Set(record.organisation_number.clone()),
                name: Set(wanted.0),
                county: Set(wanted.1),
                kind: Set(wanted.2),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            let id = inserted.id;
            organisations.insert(inserted.number.clone(), inserted);
            Ok(id)
        }
    }
}

/// The stored fields of a grant that an import decides, for comparing old and new.
#[derive(PartialEq, Eq)]
struct GrantValues {
    reference: String,
    title: String,
    organisation_id: i32,
    county: String,
    amount_nok: i64,
    status: GrantStatus,
    period_start: chrono::NaiveDate,
    period_end: chrono::NaiveDate,
    measure_type: String,
    grant_year: i32,
    contact_name: String,
    contact_email: Option<String>,
    description: String,
    theme_id: Option<i32>,
    suggested_theme_id: Option<i32>,
    placement: String,
}

impl GrantValues {
    fn new(record: &GrantRecord, organisation_id: i32, decision: PlacementDecision) -> Self {
        Self {
            reference: record.reference.clone(),
            title: record.title.clone(),
            organisation_id,
            county: record.county.clone(),
            amount_nok: record.amount_nok,
            status: record.status,
            period_start: record.period_start,
            period_end: record.period_end,
            measure_type: record.measure_type.clone(),
            grant_year: record.grant_year,
            contact_name: record.contact_name.clone(),
            contact_email: record.contact_email.clone(),
            description: record.description.clone(),
            theme_id: decision.theme_id,
            suggested_theme_id: decision.suggested_theme_id,
            placement: decision.placement.code().to_string(),
        }
    }

    fn of(stored: &grant::Model) -> Self {
        Self {
            reference: stored.reference.clone(),
            title: stored.title.clone(),
            organisation_id: stored.organisation_id,
            county: stored.county.clone(),
            amount_nok: stored.amount_nok,
            status: stored.status,
            period_start: stored.period_start,
            period_end: stored.period_end,
            measure_type: stored.measure_type.clone(),
            grant_year: stored.grant_year,
            contact_name: stored.contact_name.clone(),
            contact_email: stored.contact_email.clone(),
            description: stored.description.clone(),
            theme_id: stored.theme_id,
            suggested_theme_id: stored.suggested_theme_id,
            placement: stored.placement.clone(),
        }
    }

    fn into_active_model(self, now: DateTime<Utc>) -> grant::ActiveModel {
        grant::ActiveModel {
            reference: Set(self.reference),
            title: Set(self.title),
            organisation_id: Set(self.organisation_id),
            county: Set(self.county),
            amount_nok: Set(self.amount_nok),
            status: Set(self.status),
            period_start: Set(self.period_start),
            period_end: Set(self.period_end),
            measure_type: Set(self.measure_type),
            grant_year: Set(self.grant_year),
            contact_name: Set(self.contact_name),
            contact_email: Set(self.contact_email),
            description: Set(self.description),
            theme_id: Set(self.theme_id),
            suggested_theme_id: Set(self.suggested_theme_id),
            placement: Set(self.placement),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Prosjektnummer;Tittel;Fylke;Søker;Kommunenummer;Tilskudd;Status;Varighet av prosjekt;Type tiltak;Tildelingsår;Kontaktperson;E-post;Beskrivelse";
    const ROW: &str = "2021-0412;Matsvinn;Trøndelag;Trondheim kommune;5001;1 200 000;Gjennomført;Mar 2021 - Des 2022;Mat og matsvinn;2021;Kari Nordmann;kari@example.no;Tekst";

    fn no_progress(_: u64, _: u64) {}

    #[test]
    fn windows_1252_and_bom_are_decoded() {
        let cp1252 = b"S\xf8ker;Tildelings\xe5r";
        assert_eq!(decode(cp1252), "Søker;Tildelingsår");
        assert_eq!(decode("\u{feff}Søker".as_bytes()), "Søker");
    }

    #[test]
    fn comma_delimited_files_with_quotes_are_read() {
        let text = format!(
            "{}\r\n{}\r\n",
            HEADER.replace(';', ","),
            "2021-0412,Matsvinn,Trøndelag,Trondheim kommune,5001,\"1 200 000\",Gjennomført,Mar 2021 - Des 2022,Mat og matsvinn,2021,Kari Nordmann,,\"Tekst, med komma\""
        );
        let parsed = parse_file(&text, &no_progress).unwrap();
        assert_eq!(parsed.rejected, vec![]);
        assert_eq!(parsed.records[0].1.description, "Tekst, med komma");
        assert_eq!(parsed.records[0].1.contact_email, None);
    }

    #[test]
    fn each_bad_row_is_reported_with_its_line() {
        let text = format!(
            "{HEADER}\n{ROW}\n{}\n{}\n{ROW}\n2022-0001;kort\n",
            ROW.replace("1 200 000", "mange"),
            ROW.replace("2021-0412", "2021-0413").replace("Gjennomført", "Ferdig"),
        );
        let parsed = parse_file(&text, &no_progress).unwrap();
        assert_eq!(parsed.records.len(), 1);
        let reported: Vec<(u64, &str)> = parsed
            .rejected
            .iter()
            .map(|row| (row.line, row.error.code.as_str()))
            .collect();
        assert_eq!(
            reported,
            vec![
                (3, "bad_amount"),
                (4, "bad_status"),
                (5, "duplicate_reference"),
                (6, "wrong_field_count")
            ]
        );
        assert_eq!(parsed.rows, 5);
    }

    #[test]
    fn line_numbers_are_right_with_crlf_line_ends() {
        let text = format!(
            "{HEADER}\r\n{ROW}\r\n{}\r\n",
            ROW.replace("1 200 000", "mange").replace("2021-0412", "2021-0413")
        );
        let parsed = parse_file(&text, &no_progress).unwrap();
        assert_eq!(parsed.rejected.iter().map(|row| row.line).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn missing_columns_are_named() {
        let error = match parse_file("Prosjektnummer;Tittel\n1;2\n", &no_progress) {
            Err(error) => error,
            Ok(_) => panic!("a file without the columns must be refused"),
        };
        assert_eq!(error.code(), "import_missing_columns");
        assert!(format!("{error:?}").contains("Tilskudd"));
    }
}
