//! The report's exports hold exactly the JSON report's tables: the XLSX read back with
//! openpyxl and every CSV with Python's csv module, cell for cell; the same access rules as the
//! JSON report; an unknown table is a 404.

use std::process::Command;

use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

/// Reads the exports with `tests/reports/read_exports.py` (openpyxl and csv).
fn read_with_python(xlsx: &[u8], csvs: &[Vec<u8>]) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var("SAMLING_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run bash tests/ensure-tools.sh",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let workbook = dir.path().join("report.xlsx");
    std::fs::write(&workbook, xlsx).unwrap();
    let mut command = Command::new(&python);
    command.arg(root.join("tests/reports/read_exports.py")).arg(&workbook);
    for (index, csv) in csvs.iter().enumerate() {
        let file = dir.path().join(format!("table-{index}.csv"));
        std::fs::write(&file, csv).unwrap();
        command.arg(file);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "the readers failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A file from the API: status, content type, content disposition, body.
async fn download(app: &TestApp, path: &str, token: &str) -> (u16, String, String, Vec<u8>) {
    let response = app.api.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// A JSON cell as the CSV writes it: numbers as Rust prints them, text with `'` before what a
/// spreadsheet would take for a formula, nothing for an empty cell.
fn as_csv(cell: &Value) -> String {
    match cell {
        Value::Null => String::new(),
        Value::String(text) if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{text}"),
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_f64() => number.as_f64().unwrap().to_string(),
        Value::Number(number) => number.to_string(),
        other => panic!("a report cell is text, a number or empty: {other}"),
    }
}

/// Checks the workbook and the CSVs against the JSON report, table by table.
fn assert_exports_match(report: &Value, read: &Value) {
    let tables = report["tables"].as_array().expect("tables");
    let sheets = read["workbook"]["sheets"].as_array().expect("sheets");
    assert_eq!(sheets.len(), tables.len(), "one sheet per table");
    assert_eq!(read["workbook"]["title"], report["title"]);
    let mut names = Vec::new();
    for ((table, sheet), csv) in tables.iter().zip(sheets).zip(read["csvs"].as_array().expect("csvs")) {
        let key = table["key"].as_str().unwrap();
        let name = sheet["name"].as_str().unwrap();
        assert!(name.encode_utf16().count() <= 31, "{name}");
        names.push(name.to_lowercase());
        assert_eq!(sheet["freeze"], "A2", "{key}: the header row stays in view");
        assert_eq!(sheet["header_bold"], true, "{key}");
        assert_eq!(csv["bom"], true, "{key}");
        let sheet_rows = sheet["rows"].as_array().unwrap();
        let csv_rows = csv["rows"].as_array().unwrap();
        if table["note"].is_string() && table["rows"].as_array().unwrap().is_empty() {
            // Held back whole: the note's sentence, not figures.
            assert_eq!(sheet_rows.len(), 1, "{key}");
            assert_eq!(sheet_rows[0][0], "Merknad", "{key}");
            assert_eq!(csv_rows.len(), 1, "{key}");
            assert_eq!(csv_rows[0][0], "Merknad", "{key}");
            assert_eq!(csv_rows[0][1], sheet_rows[0][1], "{key}");
            assert!(
                !csv_rows[0][1].as_str().unwrap().starts_with("report.note."),
                "{key}: the note is translated"
            );
            continue;
        }
        let columns = table["columns"].as_array().unwrap();
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(sheet_rows.len(), rows.len() + 1, "{key}: a header and one row per row");
        assert_eq!(csv_rows.len(), rows.len() + 1, "{key}");
        // Headings: translated (no raw key), the same in both files.
        for (index, column) in columns.iter().enumerate() {
            let heading = sheet_rows[0][index].as_str().unwrap_or_default();
            assert!(
                !heading.is_empty() && !heading.starts_with("report.column."),
                "{key}: {column} has no heading"
            );
            assert_eq!(csv_rows[0][index], heading, "{key}");
        }
        for (row_index, row) in rows.iter().enumerate() {
            let sheet_row = sheet_rows[row_index + 1].as_array().unwrap();
            let csv_row = csv_rows[row_index + 1].as_array().unwrap();
            assert_eq!(csv_row.len(), columns.len(), "{key} row {row_index}");
            for (column, cell) in row.as_array().unwrap().iter().enumerate() {
                let in_sheet = sheet_row.get(column).unwrap_or(&Value::Null);
                match cell {
                    // openpyxl gives whole numbers as int, others as float: compare as numbers.
                    Value::Number(number) => assert_eq!(
                        in_sheet.as_f64(),
                        number.as_f64(),
                        "{key} row {row_index} column {column}: a number stays a number"
                    ),
                    other => assert_eq!(in_sheet, other, "{key} row {row_index} column {column}"),
                }
                assert_eq!(csv_row[column], as_csv(cell), "{key} row {row_index} column {column}");
            }
        }
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "sheet names are unique: {names:?}");
}

/// All exports of one report: the workbook, then each table's CSV in the report's order.
async fn exports_of(app: &TestApp, base: &str, query: &str, token: &str, report: &Value) -> Value {
    let (status, content_type, disposition, xlsx) = download(app, &format!("{base}/xlsx{query}"), token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&xlsx));
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        disposition.starts_with("attachment; filename=\"samling-report-") && disposition.ends_with(".xlsx\""),
        "{disposition}"
    );
    let mut csvs = Vec::new();
    for table in report["tables"].as_array().unwrap() {
        let key = table["key"].as_str().unwrap();
        let (status, content_type, disposition, csv) = download(app, &format!("{base}/csv/{key}{query}"), token).await;
        assert_eq!(status, 200, "{key}: {}", String::from_utf8_lossy(&csv));
        assert_eq!(content_type, "text/csv; charset=utf-8; header=present");
        assert!(
            disposition.contains(&format!("-{key}-")) && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        csvs.push(csv);
    }
    read_with_python(&xlsx, &csvs)
}

#[tokio::test]
async fn the_xlsx_and_every_csv_hold_exactly_the_reports_tables() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let cohort_id = cohorts["mat-og-matsvinn"];
    let cohort = app
        .get(&format!("/api/v1/cohorts/{cohort_id}"), Some(&admin))
        .await
        .json();
    let programme_id = cohort["cohort"]["programme"]["id"].as_i64().unwrap();
    let facilitator = app
        .facilitator_token(&admin, cohort_id, "marte@example.no", "Marte Facilitator")
        .await;
    let sessions = app.plan_sessions(&facilitator, cohort_id).await;
    let lead = app
        .member_token(cohort_id, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let first = sessions[0]["id"].as_i64().unwrap();
    let registered = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{first}/registration"),
            Some(&lead),
            &json!({}),
        )
        .await;
    assert_eq!(registered.status.as_u16(), 200, "{}", registered.body);

    for (base, query) in [
        (format!("/api/v1/reports/programmes/{programme_id}"), ""),
        (
            format!("/api/v1/reports/programmes/{programme_id}"),
            "?county=Vestland&grant_year=2021",
        ),
        (format!("/api/v1/reports/cohorts/{cohort_id}"), ""),
        (format!("/api/v1/reports/sessions/{first}"), ""),
    ] {
        let response = app.get(&format!("{base}{query}"), Some(&admin)).await;
        assert_eq!(response.status.as_u16(), 200, "{base}{query}: {}", response.body);
        let report = response.json();
        assert!(
            !report["tables"].as_array().unwrap().is_empty(),
            "{base}: a report has tables"
        );
        let read = exports_of(&app, &base, query, &admin, &report).await;
        assert_exports_match(&report, &read);
    }

    // The programme's report has figures: the cohort's registration is in a table.
    let report = app
        .get(&format!("/api/v1/reports/programmes/{programme_id}"), Some(&admin))
        .await
        .json();
    let cells: usize = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|table| table["rows"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(cells > 0, "the report has rows: {report}");
}

#[tokio::test]
async fn an_unknown_table_or_scope_is_not_found_and_a_filter_must_be_a_year() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let cohort_id = cohorts["mat-og-matsvinn"];
    let base = format!("/api/v1/reports/cohorts/{cohort_id}");
    for path in [
        format!("{base}/csv/no_such_table"),
        format!("/api/v1/reports/planets/{cohort_id}/xlsx"),
        "/api/v1/reports/cohorts/abc/xlsx".to_string(),
        "/api/v1/reports/cohorts/999999/xlsx".to_string(),
        "/api/v1/reports/cohorts/999999/csv/reach_by_municipality".to_string(),
    ] {
        let response = app.get(&path, Some(&admin)).await;
        assert_eq!(
            (response.status.as_u16(), response.code()),
            (404, "not_found".to_string()),
            "{path}"
        );
    }
    let response = app.get(&format!("{base}/xlsx?grant_year=twenty"), Some(&admin)).await;
    assert_eq!(response.status.as_u16(), 422);
    assert_eq!(response.code(), "invalid_fields");
    assert_eq!(response.json()["field"], "grant_year");
    let unsigned = app.get(&format!("{base}/xlsx"), None).await;
    assert_eq!(
        (unsigned.status.as_u16(), unsigned.code()),
        (401, "unauthenticated".to_string())
    );
}

#[tokio::test]
async fn the_exports_refuse_whom_the_json_report_refuses() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let cohort_id = cohorts["mat-og-matsvinn"];
    let cohort = app
        .get(&format!("/api/v1/cohorts/{cohort_id}"), Some(&admin))
        .await
        .json();
    let programme_id = cohort["cohort"]["programme"]["id"].as_i64().unwrap();
    let lead = app
        .member_token(cohort_id, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let outsider = app
        .member_token(
            cohorts["sirkulaerokonomi"],
            "per@example.no",
            "Per Utenfor",
            Role::ProjectLead,
        )
        .await;
    let programme = format!("/api/v1/reports/programmes/{programme_id}");
    let other_cohort = format!("/api/v1/reports/cohorts/{cohort_id}");

    // A project lead gets no programme-level data; an outsider not even the cohort.
    for (token, base, status) in [(&lead, &programme, 403), (&outsider, &other_cohort, 404)] {
        let json = app.get(base, Some(token)).await;
        assert_eq!(json.status.as_u16(), status, "{base}: {}", json.body);
        let code = json.code();
        for path in [format!("{base}/xlsx"), format!("{base}/csv/reach_by_municipality")] {
            let response = app.get(&path, Some(token)).await;
            assert_eq!(
                (response.status.as_u16(), response.code()),
                (status, code.clone()),
                "{path}"
            );
        }
    }

    // The lead's own cohort: the public figures only, and the files hold the same.
    let json = app.get(&other_cohort, Some(&lead)).await;
    assert_eq!(json.status.as_u16(), 200, "{}", json.body);
    let report = json.json();
    assert_eq!(report["public_only"], true);
    let read = exports_of(&app, &other_cohort, "", &lead, &report).await;
    assert_exports_match(&report, &read);
}
