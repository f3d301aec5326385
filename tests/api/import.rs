use std::collections::{BTreeMap, BTreeSet};

use samling::entities::{grant, organisation};
use samling_tests::{TestApp, sample_grants, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

/// Theme name → municipality names of its cohort's projects.
async fn cohort_members(app: &TestApp, token: &str) -> BTreeMap<String, Vec<String>> {
    let cohorts = app.get("/api/v1/cohorts", Some(token)).await.json();
    cohorts
        .as_array()
        .expect("a list")
        .iter()
        .map(|cohort| {
            let mut names: Vec<String> = cohort["projects"]
                .as_array()
                .expect("projects")
                .iter()
                .map(|project| project["organisation"]["name"].as_str().unwrap_or_default().to_string())
                .collect();
            names.sort();
            (cohort["theme"]["name"].as_str().unwrap_or_default().to_string(), names)
        })
        .collect()
}

fn counts(report: &Value) -> (i64, i64, i64, i64, usize) {
    (
        report["rows"].as_i64().unwrap_or(-1),
        report["created"].as_i64().unwrap_or(-1),
        report["updated"].as_i64().unwrap_or(-1),
        report["unchanged"].as_i64().unwrap_or(-1),
        report["rejected"].as_array().map_or(usize::MAX, Vec::len),
    )
}

#[tokio::test]
async fn the_sample_file_gives_the_cohorts_its_readme_states() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    let report = app.import(&admin, sample_grants()).await;
    assert_eq!(counts(&report), (30, 30, 0, 0, 0), "{report}");

    let cohorts = cohort_members(&app, &admin).await;
    let sizes: BTreeMap<&str, usize> = cohorts
        .iter()
        .map(|(theme, members)| (theme.as_str(), members.len()))
        .collect();
    assert_eq!(
        sizes,
        BTreeMap::from([
            ("Klimavennlig arealplanlegging", 6),
            ("Mat og matsvinn", 7),
            ("Sirkulærøkonomi", 10)
        ])
    );

    // Not invited: the 2020 grants, the withdrawn project, measure types outside the themes.
    let everyone: Vec<&String> = cohorts.values().flatten().collect();
    for absent in [
        "Hamar kommune",
        "Rana kommune",
        "Arendal kommune",
        "Møre og Romsdal fylkeskommune",
        "Troms og Finnmark fylkeskommune",
        "Grimstad kommune",
    ] {
        assert!(
            !everyone.iter().any(|name| name.as_str() == absent),
            "{absent} must not be invited"
        );
    }
    // Trondheim, Bergen and Asker each take part in two themes, and only they do.
    let mut themes_per_municipality: BTreeMap<&str, usize> = BTreeMap::new();
    for members in cohorts.values() {
        for name in members.iter().collect::<BTreeSet<_>>() {
            *themes_per_municipality.entry(name.as_str()).or_default() += 1;
        }
    }
    let in_two: Vec<&str> = themes_per_municipality
        .iter()
        .filter(|(_, count)| **count == 2)
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(in_two, vec!["Asker kommune", "Bergen kommune", "Trondheim kommune"]);

    // 2022-0150 needs a person's decision, suggested for Mat og matsvinn, and is not placed.
    let review = app.get("/api/v1/admin/review", Some(&admin)).await.json();
    let review = review.as_array().expect("a list");
    assert_eq!(review.len(), 1, "{review:?}");
    assert_eq!(review[0]["reference"], "2022-0150");
    assert_eq!(review[0]["suggested_theme"], "Mat og matsvinn");
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    app.import(&admin, sample_grants()).await;
    let grants_before = grant::Entity::find().all(&app.db).await.unwrap();
    let organisations_before = organisation::Entity::find().all(&app.db).await.unwrap();
    let cohorts_before = cohort_members(&app, &admin).await;

    app.clock.advance(chrono::Duration::hours(1));
    let report = app.import(&admin, sample_grants()).await;
    assert_eq!(counts(&report), (30, 0, 0, 30, 0), "{report}");
    assert_eq!(
        grant::Entity::find().all(&app.db).await.unwrap(),
        grants_before,
        "no grant row changed, not even updated_at"
    );
    assert_eq!(
        organisation::Entity::find().all(&app.db).await.unwrap(),
        organisations_before
    );
    assert_eq!(cohort_members(&app, &admin).await, cohorts_before);
}

#[tokio::test]
async fn a_corrected_file_updates_rows_by_reference() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    app.import(&admin, sample_grants()).await;

    let corrected = String::from_utf8(sample_grants())
        .unwrap()
        .replace(
            "Trondheim kommune;5001;1\u{a0}200\u{a0}000",
            "Trondheim kommune;5001;1 250 000",
        )
        // The withdrawn project is back on track: it joins its cohort.
        .replace(";Trukket;", ";Pågående;");
    let report = app.import(&admin, corrected.into_bytes()).await;
    assert_eq!(counts(&report), (30, 0, 2, 28, 0), "{report}");
    let trondheim = grant::Entity::find()
        .filter(grant::Column::Reference.eq("2021-0412"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trondheim.amount_nok, 1_250_000);
    assert_eq!(
        grant::Entity::find().count(&app.db).await.unwrap(),
        30,
        "updated in place, not duplicated"
    );
    let cohorts = cohort_members(&app, &admin).await;
    assert!(cohorts["Klimavennlig arealplanlegging"].contains(&"Rana kommune".to_string()));
}

#[tokio::test]
async fn bad_rows_are_each_reported_and_never_half_imported() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    let sample = String::from_utf8(sample_grants()).unwrap();
    let mut lines: Vec<String> = sample.split("\r\n").map(str::to_string).collect();
    lines[2] = lines[2].replace("850\u{a0}000", "åtte hundre");
    lines[3] = lines[3].replace("Mai 2022 - Mai 2024", "Mai 2022 til Mai 2024");
    lines[4] = lines[4].replace("Pågående", "Kanskje");
    lines[5] = lines[5].replacen('@', "(at)", 1);
    lines[6] = "2022-0999;For kort rad".to_string();
    let report = app.import(&admin, lines.join("\r\n").into_bytes()).await;
    let rejected: Vec<(i64, String, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["line"].as_i64().unwrap(),
                row["code"].as_str().unwrap().to_string(),
                row["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (3, "bad_amount".into(), "Tilskudd".into()),
            (4, "bad_period".into(), "Varighet av prosjekt".into()),
            (5, "bad_status".into(), "Status".into()),
            (6, "bad_email".into(), "E-post".into()),
            (7, "wrong_field_count".into(), String::new()),
        ]
    );
    assert_eq!(report["created"], 25);
    // None of the rejected rows left anything behind.
    for reference in ["2021-0433", "2022-0102", "2022-0118", "2022-0131", "2022-0999"] {
        let stored = grant::Entity::find()
            .filter(grant::Column::Reference.eq(reference))
            .one(&app.db)
            .await
            .unwrap();
        assert!(stored.is_none(), "{reference} must not be stored");
    }
}

#[tokio::test]
async fn a_file_without_the_needed_columns_is_refused_whole() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = app
        .post_bytes(
            "/api/v1/admin/grant-imports",
            &admin,
            b"Prosjektnummer;Tittel\n2021-0001;Noe\n".to_vec(),
        )
        .await;
    assert_eq!(response.status.as_u16(), 422);
    assert_eq!(response.code(), "import_missing_columns");
    assert!(response.json()["detail"].as_str().unwrap().contains("Tilskudd"));
    assert_eq!(grant::Entity::find().count(&app.db).await.unwrap(), 0);

    let empty = app.post_bytes("/api/v1/admin/grant-imports", &admin, Vec::new()).await;
    assert_eq!(empty.code(), "import_empty_file");
}

#[tokio::test]
async fn comma_delimited_windows_1252_without_bom_gives_the_same_cohorts() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    let sample = String::from_utf8(sample_grants()).unwrap();
    let mut writer = csv::WriterBuilder::new().delimiter(b',').from_writer(Vec::new());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(sample.trim_start_matches('\u{feff}').as_bytes());
    for record in reader.records() {
        writer.write_record(&record.unwrap()).unwrap();
    }
    let comma_utf8 = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let (cp1252, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&comma_utf8);
    assert!(!unmappable);
    let report = app.import(&admin, cp1252.into_owned()).await;
    assert_eq!(counts(&report), (30, 30, 0, 0, 0), "{report}");
    let sizes: Vec<usize> = cohort_members(&app, &admin).await.values().map(Vec::len).collect();
    assert_eq!(sizes, vec![6, 7, 10]);
    let trondheim = grant::Entity::find()
        .filter(grant::Column::Reference.eq("2021-0412"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trondheim.county, "Trøndelag", "Windows-1252 letters are read right");
}

#[tokio::test]
async fn a_confirmed_review_places_the_grant_and_survives_reimport() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let review = app.get("/api/v1/admin/review", Some(&admin)).await.json();
    let grant_id = review[0]["grant_id"].as_i64().unwrap();
    let theme_id = review[0]["suggested_theme_id"].as_i64().unwrap();
    let decided = app
        .post_json(
            &format!("/api/v1/admin/review/{grant_id}"),
            Some(&admin),
            &json!({ "decision": "confirm", "theme_id": theme_id }),
        )
        .await;
    assert_eq!(decided.status.as_u16(), 204, "{}", decided.body);
    let food = app
        .get(&format!("/api/v1/cohorts/{}", cohorts["mat-og-matsvinn"]), Some(&admin))
        .await
        .json();
    assert_eq!(food["cohort"]["projects"].as_array().unwrap().len(), 8);
    assert!(
        app.get("/api/v1/admin/review", Some(&admin))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    let again = app.import(&admin, sample_grants()).await;
    assert_eq!(
        again["unchanged"], 30,
        "a person's decision is not undone by a re-import: {again}"
    );
    let food = app
        .get(&format!("/api/v1/cohorts/{}", cohorts["mat-og-matsvinn"]), Some(&admin))
        .await
        .json();
    assert_eq!(food["cohort"]["projects"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn the_theme_mapping_is_data_the_admin_edits() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let themes = app.get("/api/v1/admin/themes", Some(&admin)).await.json();
    let circular = themes
        .as_array()
        .unwrap()
        .iter()
        .find(|theme| theme["slug"] == "sirkulaerokonomi")
        .unwrap()
        .clone();
    let waste_mapping = circular["measure_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mapping| mapping["measure_type"] == "Avfall og sirkulærøkonomi")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let removed = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/admin/measure-types/{waste_mapping}"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
    let projects = |cohort: Value| cohort["cohort"]["projects"].as_array().unwrap().len();
    assert_eq!(
        projects(
            app.get(
                &format!("/api/v1/cohorts/{}", cohorts["sirkulaerokonomi"]),
                Some(&admin)
            )
            .await
            .json()
        ),
        9
    );

    // Mapping "Forprosjekt" to food places 2022-0150 without review.
    let food_theme = themes
        .as_array()
        .unwrap()
        .iter()
        .find(|theme| theme["slug"] == "mat-og-matsvinn")
        .unwrap()["theme_id"]
        .as_i64()
        .unwrap();
    let added = app
        .post_json(
            &format!("/api/v1/admin/themes/{food_theme}/measure-types"),
            Some(&admin),
            &json!({ "measure_type": "Forprosjekt" }),
        )
        .await;
    assert_eq!(added.status.as_u16(), 204, "{}", added.body);
    assert_eq!(
        projects(
            app.get(&format!("/api/v1/cohorts/{}", cohorts["mat-og-matsvinn"]), Some(&admin))
                .await
                .json()
        ),
        8
    );

    let taken = app
        .post_json(
            &format!("/api/v1/admin/themes/{food_theme}/measure-types"),
            Some(&admin),
            &json!({ "measure_type": "sirkulærøkonomi" }),
        )
        .await;
    assert_eq!(taken.status.as_u16(), 409);
    assert_eq!(taken.code(), "measure_type_taken");

    let audit = app.get("/api/v1/admin/audit", Some(&admin)).await.json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"themes.map_measure_type") && actions.contains(&"themes.unmap_measure_type"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn only_admins_import_and_review() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let facilitator = app
        .facilitator_token(
            &admin,
            cohorts["mat-og-matsvinn"],
            "marte.fjeld@example.no",
            "Marte Fjeld",
        )
        .await;
    let import = app
        .post_bytes("/api/v1/admin/grant-imports", &facilitator, sample_grants())
        .await;
    assert_eq!(import.status.as_u16(), 403);
    assert_eq!(import.code(), "forbidden");
    assert_eq!(
        app.get("/api/v1/admin/review", Some(&facilitator))
            .await
            .status
            .as_u16(),
        403
    );
    let anonymous = app
        .api
        .post(app.url("/api/v1/admin/grant-imports"))
        .body(sample_grants())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
