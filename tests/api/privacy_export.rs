//! «Mine data»: the export of everything Samling holds about a person. The coverage test reads
//! the database schema itself (foreign keys to `users`, and text columns that hold an e-mail
//! address), so a new table that refers to a person cannot be left out of the export.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use chrono::Duration;
use reqwest::{Method, StatusCode};
use samling::domain::roles::Role;
use samling::entities::data_export;
use samling::resources::storage::Storage;
use samling_tests::s3::TestS3;
use samling_tests::{ClockExt, TestApp, backend_is_postgres, spawn_app, spawn_app_with};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

use crate::discussion::{reply, send_empty, start_thread, user_id};
use crate::pages::{browser, csrf_of, page, submit};

/// Tables that refer to a person but hold no personal data of theirs, each with the reason.
/// Keep it short: anything a person wrote, did or received belongs in the export.
const NOT_PERSONAL: &[(&str, &str)] = &[];

/// Every table of the schema, and the columns that refer to a person: a foreign key to
/// `users`, or a text column named like `*email*` or `recipient`.
async fn person_columns(app: &TestApp) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let db = &app.db;
    let backend = db.get_database_backend();
    let query = |sql: &str| Statement::from_string(backend, sql.to_string());
    let (tables_sql, keys_sql, text_sql) = if backend_is_postgres() {
        (
            "SELECT table_name AS tbl FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'seaql%'",
            "SELECT con.conrelid::regclass::text AS tbl, att.attname::text AS col \
             FROM pg_constraint con \
             JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey) \
             WHERE con.contype = 'f' AND con.confrelid = 'users'::regclass",
            "SELECT table_name AS tbl, column_name AS col FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying') \
             AND (column_name LIKE '%email%' OR column_name = 'recipient')",
        )
    } else {
        (
            "SELECT name AS tbl FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'seaql%'",
            "SELECT m.name AS tbl, k.\"from\" AS col FROM sqlite_master m \
             JOIN pragma_foreign_key_list(m.name) k WHERE m.type = 'table' AND k.\"table\" = 'users'",
            "SELECT m.name AS tbl, c.name AS col FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND (lower(c.type) LIKE '%char%' OR lower(c.type) LIKE '%text%') \
             AND (c.name LIKE '%email%' OR c.name = 'recipient')",
        )
    };
    let tables = db
        .query_all_raw(query(tables_sql))
        .await
        .expect("the tables")
        .iter()
        .map(|row| row.try_get::<String>("", "tbl").expect("a table name"))
        .collect();
    let mut columns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sql in [keys_sql, text_sql] {
        for row in db.query_all_raw(query(sql)).await.expect("the columns") {
            let table: String = row.try_get("", "tbl").expect("a table name");
            let column: String = row.try_get("", "col").expect("a column name");
            columns.entry(table).or_default().insert(column);
        }
    }
    (tables, columns)
}

fn export_tables(export: &Value) -> BTreeMap<String, Vec<Value>> {
    export["tables"]
        .as_object()
        .expect("the export's tables")
        .iter()
        .map(|(name, rows)| (name.clone(), rows.as_array().expect("a list of rows").clone()))
        .collect()
}

/// A small PDF (the resource check reads the content, not the name).
fn small_pdf() -> Vec<u8> {
    let mut pdf =
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
            .to_vec();
    pdf.extend((0..=255u8).cycle().take(2048));
    pdf
}

struct RichPerson {
    token: String,
    id: i64,
    email: &'static str,
    pdf: Vec<u8>,
}

/// An expert who has done a bit of everything, next to another member ("Berit") whose data
/// must never show in the expert's export.
async fn rich_person(app: &TestApp) -> (RichPerson, String) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    let sessions = app.plan_sessions(&facilitator, food).await;
    let first = sessions[0]["id"].as_i64().expect("a session id");
    let email = "ekspert@example.no";
    let expert = app.member_token(food, email, "Eva Ekspert", Role::Expert).await;
    let berit = app
        .member_token(food, "berit@example.no", "Berit Annen", Role::ProjectLead)
        .await;

    let registered = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/sessions/{first}/registration"),
            Some(&expert),
            &json!({}),
        )
        .await;
    assert!(registered.status.is_success(), "{}", registered.body);
    let prepared = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/sessions/{first}/preparation"),
            Some(&expert),
            &json!({ "needs": "EVA-BEHOV kantinevekter", "offers": "EVA-TILBUD erfaring" }),
        )
        .await;
    assert!(prepared.status.is_success(), "{}", prepared.body);
    let berit_prepared = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/sessions/{first}/preparation"),
            Some(&berit),
            &json!({ "needs": "BERIT-HEMMELIG behov", "offers": "" }),
        )
        .await;
    assert!(berit_prepared.status.is_success(), "{}", berit_prepared.body);

    let (thread_id, first_post) = start_thread(app, &expert, food, "Felles tråd", "eva-1").await;
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/posts/{first_post}"),
            Some(&expert),
            &json!({ "body": "EVA-INNLEGG etter endring" }),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let berit_post = reply(app, &berit, thread_id, "BERIT-HEMMELIG innlegg", "berit-1").await;
    let berit_post_id = berit_post["id"].as_i64().expect("a post id");
    let reacted = send_empty(
        app,
        Method::PUT,
        &format!("/api/v1/posts/{berit_post_id}/reactions/thumbs_up"),
        &expert,
    )
    .await;
    assert!(reacted.status.is_success(), "{}", reacted.body);
    let reported = app
        .post_json(
            &format!("/api/v1/posts/{berit_post_id}/reports"),
            Some(&expert),
            &json!({ "reason": "EVA-RAPPORT feil tema" }),
        )
        .await;
    assert!(reported.status.is_success(), "{}", reported.body);
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&expert), &json!({}))
        .await;
    assert!(feed.status.is_success(), "{}", feed.body);

    let pdf = small_pdf();
    let form = reqwest::multipart::Form::new()
        .text("title", "EVA-RESSURS veileder")
        .text("summary", "Kantine")
        .text("tags", "matsvinn")
        .part(
            "file",
            reqwest::multipart::Part::bytes(pdf.clone()).file_name("veileder.pdf"),
        );
    let uploaded = app
        .api
        .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
        .bearer_auth(&expert)
        .multipart(form)
        .send()
        .await
        .expect("the upload");
    assert!(uploaded.status().is_success(), "the upload is accepted");

    let id = user_id(app, &expert).await;
    (
        RichPerson {
            token: expert,
            id,
            email,
            pdf,
        },
        berit,
    )
}

#[tokio::test]
async fn the_export_covers_every_table_and_column_that_refers_to_a_person() {
    let app = spawn_app().await;
    let (person, _) = rich_person(&app).await;
    let response = app.get("/api/v1/me/export", Some(&person.token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let export = response.json();
    let exported = export_tables(&export);
    let (tables, columns) = person_columns(&app).await;
    assert!(
        columns.contains_key("posts") && columns.contains_key("users") && columns.contains_key("outbox_mails"),
        "the schema query finds the person's columns: {columns:?}"
    );

    for (table, reason) in NOT_PERSONAL {
        assert!(
            columns.contains_key(*table),
            "{table} is allowed ({reason}) but refers to no one any more"
        );
    }
    let missing: Vec<String> = columns
        .iter()
        .filter(|(table, _)| !exported.contains_key(*table))
        .filter(|(table, _)| !NOT_PERSONAL.iter().any(|(allowed, _)| allowed == table))
        .map(|(table, columns)| format!("{table} ({})", columns.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "the export leaves out tables that refer to a person: {missing:?}"
    );
    for name in exported.keys() {
        assert!(tables.contains(name), "the export's `{name}` is no table of the schema");
    }

    // Where the database holds a row that refers to the person, the export has it.
    let db = &app.db;
    let backend = db.get_database_backend();
    for (table, columns) in &columns {
        for column in columns {
            let value = if column.contains("email") || column == "recipient" {
                format!("'{}'", person.email)
            } else {
                person.id.to_string()
            };
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = {value}");
            let row = db
                .query_one_raw(Statement::from_string(backend, sql))
                .await
                .expect("a count")
                .expect("a row");
            let count: i64 = row.try_get("", "n").expect("a number");
            if count > 0 {
                assert!(
                    !exported[table].is_empty(),
                    "{table}.{column} holds {count} rows about the person, the export none"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_persons_export_holds_what_they_did_and_nothing_of_anyone_else() {
    let app = spawn_app().await;
    let (person, berit) = rich_person(&app).await;
    let export = app.get("/api/v1/me/export", Some(&person.token)).await.json();
    assert_eq!(export["format"], 1);
    assert_eq!(export["person"]["email"], person.email);
    let tables = export_tables(&export);
    let users = &tables["users"];
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["name"], "Eva Ekspert");
    assert_eq!(tables["memberships"][0]["role"], "expert");
    assert_eq!(tables["registrations"].len(), 1);
    assert_eq!(tables["preparations"][0]["needs"], "EVA-BEHOV kantinevekter");
    assert!(
        tables["posts"]
            .iter()
            .any(|post| post["body"] == "EVA-INNLEGG etter endring"),
        "{:?}",
        tables["posts"]
    );
    assert!(
        tables["post_revisions"]
            .iter()
            .any(|revision| revision["body"] == "Felles tråd?"),
        "the revision history holds the text before the edit: {:?}",
        tables["post_revisions"]
    );
    assert_eq!(tables["post_reactions"][0]["reaction"], "thumbs_up");
    assert_eq!(tables["post_reports"][0]["reason"], "EVA-RAPPORT feil tema");
    assert_eq!(tables["resources"][0]["title"], "EVA-RESSURS veileder");
    assert_eq!(tables["calendar_feeds"].len(), 1);
    assert!(!tables["sign_in_tokens"].is_empty());
    // The notes are the readable page's, in the person's language.
    assert_eq!(
        export["notes"]["survey_takers"],
        samling::i18n::Tr::new(samling::i18n::Language::default()).t("my_data.note.survey_takers")
    );
    assert!(
        export["notes"]["survey_takers"]
            .as_str()
            .is_some_and(|note| note.contains("uten navn")),
        "{}",
        export["notes"]
    );

    // No secrets: neither the hashes nor a live link.
    let text = export.to_string();
    assert!(!text.contains("token_hash"), "no link hashes");
    for other in ["BERIT-HEMMELIG", "berit@example.no", "Berit Annen"] {
        assert!(!text.contains(other), "another person's data in the export: {other}");
    }
    // And the other way round.
    let theirs = app.get("/api/v1/me/export", Some(&berit)).await.body;
    for mine in ["EVA-BEHOV", "EVA-INNLEGG", "EVA-RAPPORT", "EVA-RESSURS", person.email] {
        assert!(!theirs.contains(mine), "{mine} in another person's export");
    }
}

#[tokio::test]
async fn signed_out_the_export_answers_401() {
    let app = spawn_app().await;
    let read = app.get("/api/v1/me/export", None).await;
    assert_eq!((read.status.as_u16(), read.code().as_str()), (401, "unauthenticated"));
    let ask = app.post_json("/api/v1/me/export", None, &json!({})).await;
    assert_eq!((ask.status.as_u16(), ask.code().as_str()), (401, "unauthenticated"));
}

/// The token of the download link mailed to `address` (other mail, such as a registration's
/// confirmation, may come before it).
async fn export_link(app: &TestApp, address: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(mail) = app
            .smtp
            .mails_to(address)
            .into_iter()
            .find(|mail| mail.subject() == "Dataene dine fra Samling er klare")
        {
            return mail.link_token("/mine-data");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no export mail to {address} within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The ZIP the mailed link gives: the page the link opens, then its button.
async fn download(app: &TestApp, token: &str) -> (u16, String, reqwest::header::HeaderMap, Vec<u8>) {
    let client = browser();
    let (status, html) = page(&client, app, &format!("/mine-data?token={token}")).await;
    assert_eq!(status, 200, "{html}");
    let response = client
        .post(app.url("/mine-data"))
        .form(&[("csrf_token", csrf_of(&html).as_str()), ("token", token)])
        .send()
        .await
        .expect("the download");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the body").to_vec();
    (status, html, headers, bytes)
}

/// The server's file storage, as its settings name it.
fn storage(app: &TestApp) -> Storage {
    Storage::from_settings(&app.settings).expect("usable storage settings")
}

/// Waits until `check` holds (the server finishes some work after its answer), at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn export_row(app: &TestApp, user_id: i32) -> data_export::Model {
    data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(user_id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the person's copy")
}

fn exports_dir(app: &TestApp) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(app.settings.files_dir.join("exports"))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_full_copy_is_a_zip_mailed_as_a_link_that_works_once() {
    let app = spawn_app().await;
    let (person, _) = rich_person(&app).await;
    let asked = app
        .post_json("/api/v1/me/export", Some(&person.token), &json!({}))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    assert_eq!(asked.json()["status"], "preparing");

    let token = export_link(&app, person.email).await;
    // Opening the link changes nothing (a mail program's link checker may open it).
    let client = browser();
    for _ in 0..2 {
        let (status, html) = page(&client, &app, &format!("/mine-data?token={token}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("Last ned dataene mine"), "{html}");
    }

    let (status, _, headers, bytes) = download(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"),
        "{:?}",
        headers["content-disposition"]
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let names: Vec<String> = zip
        .file_names()
        .map(|name| name.expect("a readable name").into_owned())
        .collect();
    assert!(names.contains(&"data.json".to_string()), "{names:?}");
    assert!(names.contains(&"index.html".to_string()), "{names:?}");
    let file_name = names
        .iter()
        .find(|name| name.starts_with("files/") && name.ends_with("veileder.pdf"))
        .unwrap_or_else(|| panic!("the posted file in {names:?}"))
        .clone();
    let mut file = Vec::new();
    zip.by_name(&file_name).unwrap().read_to_end(&mut file).unwrap();
    assert_eq!(file, person.pdf, "the file comes back byte for byte");
    let mut json = String::new();
    zip.by_name("data.json").unwrap().read_to_string(&mut json).unwrap();
    let data: Value = serde_json::from_str(&json).expect("data.json is JSON");
    assert_eq!(data["person"]["email"], person.email);
    assert_eq!(data["tables"]["resources"][0]["file_in_zip"], file_name.as_str());
    let mut html = String::new();
    zip.by_name("index.html").unwrap().read_to_string(&mut html).unwrap();
    assert!(html.contains("<html lang=\"nb\">"), "in the person's language");
    for heading in [
        "Profil",
        "Innlegg",
        "Påmeldinger og oppmøte",
        "Ressurser du har delt",
        "Undersøkelser",
    ] {
        assert!(html.contains(heading), "index.html has the section {heading}");
    }
    assert!(html.contains("EVA-INNLEGG etter endring"));
    // Every section and every field has its name in all three languages: a table or key added
    // to the export without its words would show its code on the readable page.
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for rows in data["tables"].as_object().unwrap().values() {
        for row in rows.as_array().unwrap() {
            keys.extend(row.as_object().unwrap().keys().cloned());
        }
    }
    for language in samling::i18n::Language::ALL {
        let tr = samling::i18n::Tr::new(language);
        let missing: Vec<String> = data["tables"]
            .as_object()
            .unwrap()
            .keys()
            .map(|table| format!("my_data.table.{table}"))
            .chain(keys.iter().map(|key| format!("my_data.field.{key}")))
            .chain(
                data["notes"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|table| format!("my_data.note.{table}")),
            )
            .filter(|key| !tr.has(key))
            .collect();
        assert!(missing.is_empty(), "{language:?} has no words for {missing:?}");
    }

    // The file goes once it is sent; a second download is refused with a clear page.
    eventually("the file is deleted after the download", || async {
        exports_dir(&app).is_empty()
    })
    .await;
    let again = browser();
    let (_, html) = page(&again, &app, "/settings").await;
    let response = again
        .post(app.url("/mine-data"))
        .form(&[("csrf_token", csrf_of(&html).as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 410);
    assert!(response.text().await.unwrap().contains("allerede brukt"));
    let (status, html) = page(&again, &app, &format!("/mine-data?token={token}")).await;
    assert_eq!(status, 410, "{html}");
    let (status, _) = page(&again, &app, "/mine-data?token=unknown").await;
    assert_eq!(status, 404);

    eventually("the deleted file is forgotten", || async {
        export_row(&app, person.id as i32).await.file.is_none()
    })
    .await;
    assert_eq!(
        export_row(&app, person.id as i32).await.status,
        data_export::Status::Downloaded
    );
}

#[tokio::test]
async fn the_link_expires_after_the_configured_hours_and_its_file_is_deleted() {
    let app = spawn_app().await;
    let person = app
        .member_token(
            {
                let (_, cohorts) = app.with_sample_cohorts().await;
                cohorts["mat-og-matsvinn"]
            },
            "lise@example.no",
            "Lise Leder",
            Role::ProjectLead,
        )
        .await;
    let asked = app.post_json("/api/v1/me/export", Some(&person), &json!({})).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let token = export_link(&app, "lise@example.no").await;
    assert_eq!(exports_dir(&app).len(), 1, "the ZIP waits in files_dir/exports");

    let hours = i64::from(app.settings.export_link_hours);
    app.clock.advance(Duration::hours(hours) - Duration::minutes(1));
    let now = app.clock.now_for_tests();
    assert_eq!(
        samling::privacy::export::purge_expired(&app.db, &storage(&app), now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(exports_dir(&app).len(), 1, "nothing goes early");
    let (status, _) = page(&browser(), &app, &format!("/mine-data?token={token}")).await;
    assert_eq!(status, 200, "the link still works a minute before it expires");

    app.clock.advance(Duration::minutes(1));
    let (status, html) = page(&browser(), &app, &format!("/mine-data?token={token}")).await;
    assert_eq!(status, 410);
    assert!(html.contains("gått ut"), "{html}");
    let now = app.clock.now_for_tests();
    assert_eq!(
        samling::privacy::export::purge_expired(&app.db, &storage(&app), now)
            .await
            .unwrap(),
        1
    );
    assert!(exports_dir(&app).is_empty(), "the expired file is deleted");
    assert_eq!(
        samling::privacy::export::purge_expired(&app.db, &storage(&app), now)
            .await
            .unwrap(),
        0,
        "twice does nothing more"
    );
}

/// Erasing a person takes the copies made for them with it, at once: the ZIP holds their
/// name, address and posts, and must not wait for its link to expire.
#[tokio::test]
async fn erasing_a_person_deletes_their_prepared_copy_at_once() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let person = app
        .member_token(
            cohorts["mat-og-matsvinn"],
            "lise@example.no",
            "Lise Leder",
            Role::ProjectLead,
        )
        .await;
    let asked = app.post_json("/api/v1/me/export", Some(&person), &json!({})).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let token = export_link(&app, "lise@example.no").await;
    assert_eq!(exports_dir(&app).len(), 1, "the ZIP waits in files_dir/exports");
    let id = app.get("/api/v1/me", Some(&person)).await.json()["user"]["id"]
        .as_i64()
        .expect("the person's id");

    let erased = app
        .post_json(
            &format!("/api/v1/admin/users/{id}/erasure"),
            Some(&admin),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.body);
    assert!(exports_dir(&app).is_empty(), "the ZIP goes with the person");
    let (status, _) = page(&browser(), &app, &format!("/mine-data?token={token}")).await;
    assert_ne!(status, 200, "the link no longer opens");
}

#[tokio::test]
async fn asking_again_while_a_copy_is_prepared_starts_no_second_one() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let token = app
        .member_token(
            cohorts["mat-og-matsvinn"],
            "per@example.no",
            "Per Prosjekt",
            Role::ProjectLead,
        )
        .await;
    let id = user_id(&app, &token).await as i32;
    // A copy in the middle of being prepared (its task holds no lock the request could wait on).
    let now = app.clock.now_for_tests();
    sea_orm::ActiveModelTrait::insert(
        data_export::ActiveModel {
            user_id: sea_orm::Set(id),
            token_hash: sea_orm::Set("in-progress".into()),
            status: sea_orm::Set(data_export::Status::Preparing),
            file: sea_orm::Set(None),
            created_at: sea_orm::Set(now - Duration::minutes(5)),
            claimed_at: sea_orm::Set(Some(now - Duration::minutes(1))),
            ready_at: sea_orm::Set(None),
            expires_at: sea_orm::Set(None),
            downloaded_at: sea_orm::Set(None),
            ..Default::default()
        },
        &app.db,
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let asked = app.post_json("/api/v1/me/export", Some(&token), &json!({})).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
        assert_eq!(asked.json()["status"], "preparing");
    }
    let rows = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "no second copy while one is prepared");

    // The settings page says so and offers no second button.
    let client = crate::pages::sign_in_by_pages(&app, "per@example.no").await;
    let (status, html) = page(&client, &app, "/settings/my-data").await;
    assert_eq!(status, 200);
    assert!(html.contains("Vi lager kopien du ba om"), "{html}");
    assert!(!html.contains("action=\"/settings/my-data\""), "{html}");
    let (_, settings) = page(&client, &app, "/settings").await;
    let (status, path, _) = submit(
        &client,
        &app,
        "/settings/my-data",
        &[("csrf_token", csrf_of(&settings).as_str())],
    )
    .await;
    assert_eq!((status, path.as_str()), (200, "/settings/my-data"));
    let rows = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

/// The tokens of every download link mailed to `address`, once there are `count` of them.
async fn export_links(app: &TestApp, address: &str, count: usize) -> Vec<String> {
    let mut links = Vec::new();
    eventually(&format!("{count} export mails to {address}"), || {
        links = app
            .smtp
            .mails_to(address)
            .into_iter()
            .filter(|mail| mail.subject() == "Dataene dine fra Samling er klare")
            .map(|mail| mail.link_token("/mine-data"))
            .collect();
        let enough = links.len() >= count;
        async move { enough }
    })
    .await;
    links
}

/// The export ZIPs in the bucket.
async fn zips_in(s3: &TestS3) -> Vec<String> {
    s3.keys()
        .await
        .into_iter()
        .filter(|key| key.starts_with("exports/"))
        .collect()
}

/// `data.json` of a downloaded ZIP.
fn data_json(bytes: Vec<u8>) -> Value {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut json = String::new();
    zip.by_name("data.json")
        .expect("data.json in the ZIP")
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).expect("data.json is JSON")
}

/// With several instances the download must find the ZIP wherever it was built: with S3
/// storage it lives in the bucket, never on the instance's disk, and leaves the bucket after
/// the download, when its link expires, and when its person is erased.
#[tokio::test]
async fn with_s3_storage_the_zip_lives_in_the_bucket_and_leaves_it_after_download_expiry_and_erasure() {
    let s3 = TestS3::start().await;
    let app = spawn_app_with(|settings| {
        settings.file_storage = samling::config::FileStorage::S3;
        settings.s3_bucket = s3.bucket.clone();
        settings.s3_endpoint = s3.endpoint.clone();
        settings.s3_access_key_id = "test".into();
        settings.s3_secret_access_key = samling::config::Secret::new("test");
    })
    .await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let address = "lise@example.no";
    let person = app
        .member_token(cohorts["mat-og-matsvinn"], address, "Lise Leder", Role::ProjectLead)
        .await;
    let id = user_id(&app, &person).await;
    let ask = |token: String| {
        let app = &app;
        async move {
            let asked = app.post_json("/api/v1/me/export", Some(&token), &json!({})).await;
            assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
        }
    };

    // Built into the bucket; the download streams it from there, and then it goes.
    ask(person.clone()).await;
    let token = export_links(&app, address, 1).await.remove(0);
    let stored = zips_in(&s3).await;
    assert_eq!(stored.len(), 1, "the ZIP is in the bucket: {:?}", s3.keys().await);
    assert!(exports_dir(&app).is_empty(), "and not on the instance's disk");
    let row = export_row(&app, id as i32).await;
    assert_eq!(row.file.as_deref(), Some(stored[0].as_str()), "the row names its key");
    let (status, _, headers, bytes) = download(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        bytes.len().to_string(),
        "the recorded size"
    );
    let data = data_json(bytes);
    assert_eq!(data["person"]["email"], address);
    assert_eq!(data["tables"]["users"][0]["name"], "Lise Leder");
    eventually("the downloaded ZIP leaves the bucket", || async {
        zips_in(&s3).await.is_empty()
    })
    .await;

    // Not downloaded: it goes when its link expires.
    ask(person.clone()).await;
    export_links(&app, address, 2).await;
    assert_eq!(zips_in(&s3).await.len(), 1);
    app.clock
        .advance(Duration::hours(i64::from(app.settings.export_link_hours)));
    let now = app.clock.now_for_tests();
    assert_eq!(
        samling::privacy::export::purge_expired(&app.db, &storage(&app), now)
            .await
            .unwrap(),
        1
    );
    assert!(zips_in(&s3).await.is_empty(), "the expired ZIP left the bucket");

    // Erasing the person takes a waiting ZIP with them at once (signed in again: days passed).
    ask(app.sign_in(address).await).await;
    export_links(&app, address, 3).await;
    assert_eq!(zips_in(&s3).await.len(), 1);
    let erased = app
        .post_json(
            &format!("/api/v1/admin/users/{id}/erasure"),
            Some(&app.sign_in("admin@example.no").await),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.body);
    assert!(zips_in(&s3).await.is_empty(), "the erased person's ZIP left the bucket");
}

/// A copy whose instance stopped while preparing it (its claim was not refreshed for longer
/// than the lease) is taken over by the next instance to start, once however many start, and
/// the person gets their link; a copy another instance is still preparing is left to it until
/// its claim goes stale too.
#[tokio::test]
async fn a_copy_cut_off_by_a_stop_is_finished_after_a_restart_and_a_fresh_claim_is_left_alone() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let per = app
        .member_token(food, "per@example.no", "Per Prosjekt", Role::ProjectLead)
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let (per, kari) = (user_id(&app, &per).await as i32, user_id(&app, &kari).await as i32);
    let now = app.clock.now_for_tests();
    let preparing = |user_id: i32, claim: &str, claimed: Duration| data_export::ActiveModel {
        user_id: sea_orm::Set(user_id),
        token_hash: sea_orm::Set(claim.into()),
        status: sea_orm::Set(data_export::Status::Preparing),
        file: sea_orm::Set(None),
        created_at: sea_orm::Set(now - claimed - Duration::minutes(1)),
        claimed_at: sea_orm::Set(Some(now - claimed)),
        attempts: sea_orm::Set(1),
        ..Default::default()
    };
    // Per's copy: its instance stopped 11 minutes ago. Kari's: claimed 2 minutes ago.
    for row in [
        preparing(per, "cut-off", Duration::minutes(11)),
        preparing(kari, "still-at-it", Duration::minutes(2)),
    ] {
        sea_orm::ActiveModelTrait::insert(row, &app.db).await.unwrap();
    }

    // A restart of two instances at once: one of them takes Per's copy over.
    let (first, second) = tokio::join!(app.start_instance(), app.start_instance());
    let token = export_links(&app, "per@example.no", 1).await.remove(0);
    let (status, _, _, bytes) = download(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(data_json(bytes)["person"]["email"], "per@example.no");
    let taken = export_row(&app, per).await;
    assert_eq!(taken.attempts, 2, "taken over once, by one instance");
    assert_eq!(taken.status, data_export::Status::Downloaded);

    let left = export_row(&app, kari).await;
    assert_eq!(
        (left.status, left.token_hash.as_str(), left.attempts, left.claimed_at),
        (
            data_export::Status::Preparing,
            "still-at-it",
            1,
            Some(now - Duration::minutes(2))
        ),
        "a fresh claim is left to its instance"
    );
    assert!(
        app.smtp
            .mails_to("kari@example.no")
            .iter()
            .all(|mail| mail.subject() != "Dataene dine fra Samling er klare")
    );
    first.stop();
    second.stop();

    // Its instance never refreshes the claim: once the lease is over, the next start takes it.
    app.clock.advance(samling::privacy::export::CLAIM_LEASE);
    let third = app.start_instance().await;
    let token = export_links(&app, "kari@example.no", 1).await.remove(0);
    let (status, _, _, bytes) = download(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(data_json(bytes)["person"]["email"], "kari@example.no");
    assert_eq!(export_row(&app, kari).await.attempts, 2);
    third.stop();
}
