//! What holds under real use on both backends: a write that meets another waits for it (and
//! answers 503 `busy`, writing nothing, only when it waits too long), and text with control
//! characters is refused alike on SQLite and PostgreSQL (PostgreSQL cannot store NUL).

use reqwest::{Method, StatusCode};
use samling::domain::roles::Role;
use samling::entities::{grant, project_profile, thread};
use samling_tests::{TestApp, sample_grants, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::pages::{csrf_of, page, sign_in_by_pages};

/// The food cohort, its facilitator's token and the grant id of Skien's project.
async fn food_cohort(app: &TestApp) -> (i64, String, i32) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    let skien = grant::Entity::find()
        .filter(grant::Column::Reference.eq("2022-0118"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("Skien's grant")
        .id;
    (food, facilitator, skien)
}

async fn save_profile(app: &TestApp, token: &str, grant_id: i32, needs: &str) -> samling_tests::Response {
    app.send_json(
        Method::PUT,
        &format!("/api/v1/projects/{grant_id}/profile"),
        Some(token),
        &json!({ "needs": needs, "offers": "" }),
    )
    .await
}

/// Holds the lock a profile save needs (the database's write lock on SQLite, the grant's row
/// on PostgreSQL) for `hold`, as a long write by someone else would.
async fn hold_write_lock(app: &TestApp, grant_id: i32, hold: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let txn = samling::db::write_transaction(&app.db).await.unwrap();
    samling::db::lock_row::<grant::Entity>(&txn, grant_id).await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        txn.rollback().await.unwrap();
    })
}

#[tokio::test]
async fn a_write_waits_while_another_holds_the_lock_and_then_succeeds() {
    let app = spawn_app().await;
    let (_, facilitator, skien) = food_cohort(&app).await;
    let holder = hold_write_lock(&app, skien, std::time::Duration::from_millis(800)).await;
    let saved = save_profile(&app, &facilitator, skien, "Hjelp med innkjøpsrutiner").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    holder.await.unwrap();
}

#[tokio::test]
async fn a_write_that_cannot_get_the_lock_in_time_answers_503_busy_and_writes_nothing() {
    let app = spawn_app().await;
    let (_, facilitator, skien) = food_cohort(&app).await;
    let hold = samling::db::LOCK_WAIT + std::time::Duration::from_secs(2);
    let holder = hold_write_lock(&app, skien, hold).await;
    let refused = save_profile(&app, &facilitator, skien, "Skulle ikke lagres").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert_eq!(refused.code(), "busy");
    assert_eq!(
        refused.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(refused.json()["detail"].as_str().unwrap().contains("prøv igjen"));
    holder.await.unwrap();
    let stored = project_profile::Entity::find()
        .filter(project_profile::Column::GrantId.eq(skien))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing was written");
    // Once the lock is free the same request goes through.
    let saved = save_profile(&app, &facilitator, skien, "Nå lagres det").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

#[tokio::test]
async fn control_characters_are_refused_alike_in_every_kind_of_text_field() {
    let app = spawn_app().await;
    let (food, facilitator, skien) = food_cohort(&app).await;
    let lead = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let sessions = app.plan_sessions(&facilitator, food).await;
    let session_id = sessions[0]["id"].as_i64().unwrap();
    let threads_before = thread::Entity::find().count(&app.db).await.unwrap();

    let refused = [
        (
            Method::POST,
            format!("/api/v1/cohorts/{food}/threads"),
            json!({ "title": "Nul\u{0}tegn", "body": "Hei", "client_id": "nul-1" }),
            "title",
        ),
        (
            Method::POST,
            format!("/api/v1/cohorts/{food}/threads"),
            json!({ "title": "Hei", "body": "Escape \u{1b}[31m", "client_id": "esc-1" }),
            "body",
        ),
        (
            Method::PUT,
            format!("/api/v1/projects/{skien}/profile"),
            json!({ "needs": "a\u{0}b", "offers": "" }),
            "needs",
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session_id}"),
            json!({ "agenda": "Punkt 1\u{7}" }),
            "agenda",
        ),
        (
            Method::POST,
            format!("/api/v1/cohorts/{food}/invitations"),
            json!({ "email": "ny@example.no", "name": "Ny\u{0}", "role": "observer" }),
            "name",
        ),
    ];
    for (method, path, body, field) in refused {
        let token = if field == "needs" || field == "agenda" || field == "name" {
            &facilitator
        } else {
            &lead
        };
        let response = app.send_json(method.clone(), &path, Some(token), &body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}: {}",
            response.body
        );
        assert_eq!(response.code(), "invalid_text", "{method} {path}");
        let detail = response.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains(field), "the sentence names the field: {detail}");
    }
    assert_eq!(
        thread::Entity::find().count(&app.db).await.unwrap(),
        threads_before,
        "nothing written"
    );
    assert_eq!(
        project_profile::Entity::find().count(&app.db).await.unwrap(),
        0,
        "nothing written"
    );

    // Line breaks and tabs are ordinary text.
    let fine = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&lead),
            &json!({ "title": "Linjeskift", "body": "En\r\nto\n\ttre", "client_id": "fine-1" }),
        )
        .await;
    assert_eq!(fine.status, StatusCode::CREATED, "{}", fine.body);

    // A query string is text too.
    let search = app.get("/api/v1/search?q=mat%00svinn", Some(&lead)).await;
    assert_eq!(search.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", search.body);
    assert_eq!(search.code(), "invalid_text");
}

#[tokio::test]
async fn a_form_with_a_control_character_gets_a_page_that_says_so() {
    let app = spawn_app().await;
    let (food, _, _) = food_cohort(&app).await;
    app.member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let client = sign_in_by_pages(&app, "kari@example.no").await;
    let (_, form) = page(&client, &app, &format!("/cohorts/{food}/threads")).await;
    let response = client
        .post(app.url(&format!("/cohorts/{food}/threads")))
        .form(&[
            ("csrf_token", csrf_of(&form).as_str()),
            ("title", "Nul\u{0}"),
            ("body", "Hei"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("kontrolltegn"), "{html}");
}

#[tokio::test]
async fn an_imported_row_with_a_control_character_is_rejected_with_its_line() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let sample = String::from_utf8(sample_grants()).unwrap();
    let mut lines: Vec<String> = sample.lines().map(str::to_string).collect();
    // The second data row's title gets a NUL.
    let index = 2;
    lines[index] = lines[index].replacen("kommune", "kom\u{0}mune", 1);
    assert!(lines[index].contains('\u{0}'), "the row has a field to break");
    let report = app.import(&admin, lines.join("\n").into_bytes()).await;
    let rejected = report["rejected"].as_array().unwrap();
    assert!(
        rejected
            .iter()
            .any(|row| row["line"] == 3 && row["code"] == "invalid_text"),
        "{report}"
    );
}

#[tokio::test]
async fn a_post_with_a_control_character_over_the_websocket_is_refused_and_the_next_one_stored() {
    use crate::realtime::{connect, next, send, start_thread};

    let app = spawn_app().await;
    let (food, _, _) = food_cohort(&app).await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let thread_id = start_thread(&app, &kari, food).await;
    let mut socket = connect(&app, &kari).await;
    let post = |body: &str, client_id: &str| json!({ "type": "post", "thread_id": thread_id, "body": body, "client_id": client_id });
    send(&mut socket, post("Nul\u{0}tegn", "ws-nul")).await;
    let refused = next(&mut socket).await;
    assert_eq!(
        (&refused["type"], &refused["code"]),
        (&json!("error"), &json!("invalid_text"))
    );
    send(&mut socket, post("Uten kontrolltegn", "ws-ok")).await;
    let posted = next(&mut socket).await;
    assert_eq!(posted["type"], "posted", "{posted}");
    let stored = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&kari))
        .await
        .json();
    assert_eq!(stored["posts"].as_array().unwrap().len(), 2, "{stored}");
}

#[tokio::test]
async fn a_resource_whose_fields_hold_a_control_character_is_refused() {
    use reqwest::multipart::Form;

    let app = spawn_app().await;
    let (food, facilitator, _) = food_cohort(&app).await;
    for (title, summary, field) in [("Nul\u{0}", "", "title"), ("Klimasats", "a\u{1b}b", "summary")] {
        let response = app
            .api
            .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
            .bearer_auth(&facilitator)
            .multipart(
                Form::new()
                    .text("title", title)
                    .text("summary", summary)
                    .text("url", "https://www.miljodirektoratet.no/klimasats"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{field}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_text", "{field}");
        assert!(problem["detail"].as_str().unwrap().contains(field), "{problem}");
    }
    let listed = app
        .get(&format!("/api/v1/cohorts/{food}/resources"), Some(&facilitator))
        .await
        .json();
    let titles: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["title"].as_str())
        .collect();
    assert!(!titles.iter().any(|title| title.contains('\u{0}')), "{titles:?}");
}

#[tokio::test]
async fn a_search_for_a_year_no_calendar_has_is_refused_not_a_dropped_connection() {
    let app = spawn_app().await;
    let (food, _, _) = food_cohort(&app).await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    for year in ["2147483647", "-2147483648"] {
        let response = app
            .get(&format!("/api/v1/search?q=matsvinn&year={year}"), Some(&kari))
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{year}: {}",
            response.body
        );
        assert_eq!(response.code(), "invalid_year");
    }
}
