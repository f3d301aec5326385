//! The facts the programme report counts that members and facilitators leave as they work:
//! needs marked as taken up, lessons in the agency's experience-report fields (and their text
//! export), lesson reads, file downloads and followed match suggestions.

use reqwest::{Method, StatusCode};
use samling::domain::roles::Role;
use samling::entities::{lesson_read, preparation, resource, suggestion_follow};
use samling_tests::{ClockExt, TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::pages::{csrf_of, page, sign_in_by_pages, submit};

async fn grant_id(app: &TestApp, token: &str, cohort_id: i64, reference: &str) -> i64 {
    let cohort = app
        .get(&format!("/api/v1/cohorts/{cohort_id}"), Some(token))
        .await
        .json();
    cohort["cohort"]["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|project| project["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} in the cohort"))["grant_id"]
        .as_i64()
        .expect("an id")
}

async fn addressed(app: &TestApp, preparation_id: i64) -> (Option<i32>, bool) {
    let row = preparation::Entity::find_by_id(preparation_id as i32)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the answer");
    (row.addressed_session_id, row.addressed_at.is_some())
}

#[tokio::test]
async fn the_facilitator_marks_a_need_as_taken_up_in_a_session_of_the_cohort_and_open_again() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let circular = cohorts["sirkulaerokonomi"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let sindre = app
        .facilitator_token(&admin, circular, "sindre@example.no", "Sindre Aas")
        .await;
    let sessions = app.plan_sessions(&marte, food).await;
    let other_sessions = app.plan_sessions(&sindre, circular).await;
    let first = sessions[0]["id"].as_i64().unwrap();
    let third = sessions[2]["id"].as_i64().unwrap();
    let kari = app
        .member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let ola = app
        .member_token(food, "ola@example.no", "Ola Hansen", Role::ProjectLead)
        .await;
    let outsider = app
        .member_token(circular, "per@example.no", "Per", Role::ProjectLead)
        .await;
    for (token, needs, offers) in [
        (&kari, "Måling av matsvinn i sykehjem", ""),
        (&ola, "", "Menyplanlegging"),
    ] {
        let saved = app
            .send_json(
                Method::PUT,
                &format!("/api/v1/sessions/{first}/preparation"),
                Some(token),
                &json!({ "needs": needs, "offers": offers }),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let answers = app
        .get(&format!("/api/v1/sessions/{first}/preparations"), Some(&marte))
        .await
        .json();
    let id_of = |name: &str| {
        answers
            .as_array()
            .unwrap()
            .iter()
            .find(|answer| answer["name"] == name)
            .unwrap_or_else(|| panic!("{name}'s answer: {answers:#}"))["id"]
            .as_i64()
            .unwrap()
    };
    let (kari_need, ola_offer) = (id_of("Kari Nordmann"), id_of("Ola Hansen"));
    assert_eq!(answers[0]["addressed_session_id"], Value::Null, "open at first");
    let mark = |id: i64, session: Value| {
        (
            format!("/api/v1/preparations/{id}/addressed"),
            json!({ "session_id": session }),
        )
    };

    // The project lead may not, someone outside the cohort does not see the answer, a session
    // of another cohort and an answer without a need are refused; nothing is written.
    let (path, body) = mark(kari_need, json!(third));
    let refused = app.send_json(Method::PUT, &path, Some(&kari), &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.code(), "forbidden");
    let hidden = app.send_json(Method::PUT, &path, Some(&outsider), &body).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    let (path, body) = mark(kari_need, other_sessions[0]["id"].clone());
    let elsewhere = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", elsewhere.body);
    assert_eq!(elsewhere.code(), "addressed_session_not_in_cohort");
    assert_eq!(elsewhere.json()["field"], "session_id");
    let (path, body) = mark(kari_need, json!(999_999));
    let unknown = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(unknown.code(), "addressed_session_not_in_cohort");
    let (path, body) = mark(ola_offer, json!(third));
    let no_need = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(no_need.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_need.body);
    assert_eq!(no_need.code(), "preparation_without_needs");
    let (path, body) = mark(999_999, json!(third));
    let missing = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(addressed(&app, kari_need).await, (None, false));
    assert_eq!(addressed(&app, ola_offer).await, (None, false));

    // The facilitator marks it taken up in session 3, and open again.
    let (path, body) = mark(kari_need, json!(third));
    let marked = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.body);
    assert_eq!(marked.json()["addressed_session_id"], third);
    assert_eq!(marked.json()["addressed_session_number"], 3);
    assert_eq!(marked.json()["needs"], "Måling av matsvinn i sykehjem");
    let row = preparation::Entity::find_by_id(kari_need as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.addressed_session_id, Some(third as i32));
    assert_eq!(row.addressed_at, Some(app.clock.now_for_tests()));
    let listed = app
        .get(&format!("/api/v1/sessions/{first}/preparations"), Some(&marte))
        .await
        .json();
    let kari_listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|answer| answer["id"] == kari_need)
        .unwrap();
    assert_eq!(kari_listed["addressed_session_number"], 3);
    let (path, body) = mark(kari_need, Value::Null);
    let reopened = app.send_json(Method::PUT, &path, Some(&marte), &body).await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    assert_eq!(reopened.json()["addressed_session_id"], Value::Null);
    assert_eq!(addressed(&app, kari_need).await, (None, false));

    // The same from the session page's form, which shows the state next to the need.
    let client = sign_in_by_pages(&app, "marte@example.no").await;
    let (status, html) = page(&client, &app, &format!("/sessions/{first}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Ikke tatt opp ennå"), "{html}");
    let csrf = csrf_of(&html);
    let (status, landed, shown) = submit(
        &client,
        &app,
        &format!("/preparations/{kari_need}/addressed"),
        &[
            ("csrf_token", &csrf),
            ("session_id", &third.to_string()),
            ("from_session", &first.to_string()),
        ],
    )
    .await;
    assert_eq!((status, landed.as_str()), (200, format!("/sessions/{first}").as_str()));
    assert!(shown.contains("Behovet er oppdatert."), "{shown}");
    assert!(shown.contains("Tatt opp på samling 3"), "{shown}");
    assert_eq!(addressed(&app, kari_need).await, (Some(third as i32), true));
}

/// Kari Nordmann's lesson for Trondheim's finished project, in every field.
fn full_lesson() -> Value {
    json!({
        "done": "Vi veide matavfallet i 40 kjøkken.",
        "results": "Matsvinnet gikk ned med en tredel.",
        "learned": "Daglig veiing gjorde kjøkkenene bevisste.",
        "did_not_work": "Plakater alene endret lite.",
        "tips": "Start med ett sykehjem.",
        "contact_name": "Kari Nordmann",
        "contact_email": " Kari.Nordmann@Example.Trondheim.Kommune.no ",
        "contact_phone": "+47 73 83 00 00",
    })
}

const EXPERIENCE_REPORT: &str = "Erfaringsrapport
Prosjekt: Matsvinnreduksjon i kommunale kantiner og sykehjem
Prosjektnummer: 2021-0412
Søker: Trondheim kommune

Hva ble gjort
Vi veide matavfallet i 40 kjøkken.

Resultater og effekter
Matsvinnet gikk ned med en tredel.

Hva fungerte
Daglig veiing gjorde kjøkkenene bevisste.

Hva fungerte ikke
Plakater alene endret lite.

Tips til andre
Start med ett sykehjem.

Kontaktperson som kan kontaktes
Kari Nordmann
kari.nordmann@example.trondheim.kommune.no
+47 73 83 00 00
";

#[tokio::test]
async fn a_lesson_follows_the_experience_report_and_exports_as_text_in_its_order() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari Nordmann",
            Role::ProjectLead,
        )
        .await;
    let per = app
        .member_token(food, "per@example.no", "Per Olsen", Role::ProjectLead)
        .await;
    let outsider = app
        .member_token(cohorts["sirkulaerokonomi"], "ut@example.no", "Ut", Role::ProjectLead)
        .await;
    let trondheim = grant_id(&app, &kari, food, "2021-0412").await;
    let path = format!("/api/v1/projects/{trondheim}/lesson");
    let report = format!("/api/v1/projects/{trondheim}/experience-report");
    let nothing = app.get(&report, Some(&kari)).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND, "no lesson yet");

    // A contact that cannot be reached is refused, and nothing is written.
    for (field, value, code) in [
        ("contact_email", "kari@", "invalid_contact_email"),
        ("contact_phone", "73 83 00 00 ring meg", "invalid_contact_phone"),
        ("contact_phone", "47+73830000", "invalid_contact_phone"),
        ("contact_phone", "123", "invalid_contact_phone"),
    ] {
        let mut body = full_lesson();
        body[field] = json!(value);
        let refused = app.send_json(Method::PUT, &path, Some(&kari), &body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{value}: {}",
            refused.body
        );
        assert_eq!(refused.code(), code, "{value}");
        assert_eq!(refused.json()["field"], field, "{value}");
    }
    let profile = app
        .get(&format!("/api/v1/projects/{trondheim}"), Some(&kari))
        .await
        .json();
    assert_eq!(profile["lesson"], Value::Null, "nothing half-written");

    let written = app.send_json(Method::PUT, &path, Some(&kari), &full_lesson()).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let lesson = written.json();
    for (field, expected) in [
        ("done", "Vi veide matavfallet i 40 kjøkken."),
        ("results", "Matsvinnet gikk ned med en tredel."),
        ("learned", "Daglig veiing gjorde kjøkkenene bevisste."),
        ("did_not_work", "Plakater alene endret lite."),
        ("tips", "Start med ett sykehjem."),
        ("contact_name", "Kari Nordmann"),
        ("contact_email", "kari.nordmann@example.trondheim.kommune.no"),
        ("contact_phone", "+47 73 83 00 00"),
    ] {
        assert_eq!(lesson[field], expected, "{field}");
    }

    // The export, for whoever may read the lesson.
    for token in [&kari, &per] {
        let exported = app.get(&report, Some(token)).await;
        assert_eq!(exported.status, StatusCode::OK, "{}", exported.body);
        assert_eq!(exported.headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(
            exported.headers["content-disposition"],
            "attachment; filename=\"erfaringsrapport-2021-0412.txt\""
        );
        assert_eq!(exported.body, EXPERIENCE_REPORT);
    }
    assert_eq!(app.get(&report, Some(&outsider)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&report, None).await.status, StatusCode::UNAUTHORIZED);

    // An older client that sends only what was learned and tips keeps the other fields.
    let older = app
        .send_json(
            Method::PUT,
            &path,
            Some(&kari),
            &json!({ "learned": "Daglig veiing virket.", "tips": "" }),
        )
        .await;
    assert_eq!(older.status, StatusCode::OK, "{}", older.body);
    assert_eq!(older.json()["learned"], "Daglig veiing virket.");
    assert_eq!(older.json()["tips"], "");
    assert_eq!(older.json()["done"], "Vi veide matavfallet i 40 kjøkken.");
    assert_eq!(older.json()["contact_phone"], "+47 73 83 00 00");

    // The pages show the fields under the agency's headings and link the export.
    let client = sign_in_by_pages(&app, "per@example.no").await;
    let (status, html) = page(&client, &app, &format!("/projects/{trondheim}")).await;
    assert_eq!(status, 200);
    for text in [
        "Hva ble gjort",
        "Resultater og effekter",
        "Hva fungerte ikke",
        "Kontaktperson som kan kontaktes",
        "href=\"tel:+4773830000\"",
        &format!("href=\"/projects/{trondheim}/experience-report\""),
    ] {
        assert!(html.contains(text), "{text} missing: {html}");
    }
    let (status, text) = page(&client, &app, &format!("/projects/{trondheim}/experience-report")).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("Erfaringsrapport\nProsjekt: Matsvinnreduksjon"),
        "{text}"
    );
    assert!(
        text.contains("\nHva fungerte\nDaglig veiing virket.\n\nHva fungerte ikke\n"),
        "{text}"
    );
    assert!(text.contains("\nTips til andre\n(ikke fylt ut)\n"), "{text}");
}

#[tokio::test]
async fn a_lesson_read_is_counted_once_per_reader_with_their_newest_programme_never_for_the_author() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari Nordmann",
            Role::ProjectLead,
        )
        .await;
    let per = app
        .member_token(food, "per@example.no", "Per Olsen", Role::ProjectLead)
        .await;
    let trondheim = grant_id(&app, &kari, food, "2021-0412").await;
    let written = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{trondheim}/lesson"),
            Some(&kari),
            &full_lesson(),
        )
        .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let lesson_id = written.json()["id"].as_i64().unwrap();
    let first_programme = app.get("/api/v1/cohorts", Some(&admin)).await.json()[0]["programme"]["id"]
        .as_i64()
        .unwrap();

    let later = app
        .post_json(
            "/api/v1/admin/programmes",
            Some(&admin),
            &json!({ "name": "Klimasats-forum 2028", "grant_years": "2022", "starts_on": "2028-01-03", "ends_on": "2028-12-15" }),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.body);
    let later_programme = later.json()["id"].as_i64().unwrap();
    let later_food = app
        .get("/api/v1/cohorts", Some(&admin))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|cohort| cohort["programme"]["id"] == later_programme && cohort["theme"]["slug"] == "mat-og-matsvinn")
        .expect("the later food cohort")["id"]
        .as_i64()
        .unwrap();
    let nina = app
        .member_token(later_food, "nina@example.no", "Nina Ny", Role::ProjectLead)
        .await;

    let path = format!("/api/v1/lessons/{lesson_id}");
    for token in [&kari, &kari, &per, &per, &nina] {
        assert_eq!(app.get(&path, Some(token)).await.status, StatusCode::OK);
    }
    // The lesson page counts as opening it, but only once.
    let client = sign_in_by_pages(&app, "per@example.no").await;
    assert_eq!(page(&client, &app, &format!("/lessons/{lesson_id}")).await.0, 200);
    // Someone who may not read it leaves no read.
    let outsider = app
        .member_token(cohorts["sirkulaerokonomi"], "ut@example.no", "Ut", Role::ProjectLead)
        .await;
    assert_eq!(app.get(&path, Some(&outsider)).await.status, StatusCode::NOT_FOUND);

    let reads: Vec<(Option<i32>, i64)> = lesson_read::Entity::find()
        .filter(lesson_read::Column::LessonId.eq(lesson_id as i32))
        .order_by_asc(lesson_read::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|read| (read.programme_id, read.read_at.timestamp()))
        .collect();
    let now = app.clock.now_for_tests().timestamp();
    assert_eq!(
        reads,
        [(Some(first_programme as i32), now), (Some(later_programme as i32), now)],
        "Per from the first programme, Nina from the later one; not Kari, who wrote it"
    );
}

#[tokio::test]
async fn each_successful_file_download_is_counted_and_a_refused_one_is_not() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let expert = app
        .member_token(food, "ekspert@example.no", "Eva Ekspert", Role::Expert)
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let stranger = app
        .member_token(cohorts["sirkulaerokonomi"], "per@example.no", "Per", Role::ProjectLead)
        .await;
    let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    pdf.extend((0..=255u8).cycle().take(512));
    let form = reqwest::multipart::Form::new()
        .text("title", "Veieskjema")
        .part("file", reqwest::multipart::Part::bytes(pdf).file_name("veieskjema.pdf"));
    let posted: Value = app
        .api
        .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
        .bearer_auth(&expert)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = posted["id"].as_i64().expect("posted");
    assert_eq!(posted["downloads"], 0);
    let download = posted["download_url"].as_str().unwrap().to_string();
    for (token, expected) in [(&kari, 200), (&expert, 200), (&stranger, 404)] {
        let response = app.api.get(app.url(&download)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected);
    }
    let anonymous = app.api.get(app.url(&download)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let row = resource::Entity::find_by_id(id as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.downloads, 2, "two downloads, the refused ones not counted");
    let shown = app.get(&format!("/api/v1/resources/{id}"), Some(&kari)).await.json();
    assert_eq!(shown["downloads"], 2);
}

#[tokio::test]
async fn a_followed_suggestion_is_recorded_once_per_person_and_pair_and_a_bogus_origin_is_ignored() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let per = app
        .member_token(
            food,
            "per.olsen@example.skien.kommune.no",
            "Per Olsen",
            Role::ProjectLead,
        )
        .await;
    let ingrid = app
        .member_token(
            food,
            "ingrid.berg@example.drammen.kommune.no",
            "Ingrid Berg",
            Role::ProjectLead,
        )
        .await;
    let outsider = app
        .member_token(cohorts["sirkulaerokonomi"], "ut@example.no", "Ut", Role::ProjectLead)
        .await;
    let skien = grant_id(&app, &per, food, "2022-0118").await;
    let trondheim = grant_id(&app, &per, food, "2021-0412").await;
    let drammen = grant_id(&app, &per, food, "2022-0102").await;
    for (token, grant, needs, offers) in [
        (
            &ingrid,
            drammen,
            "",
            "Vi viser gjerne hvordan vi måler matsvinnet i kommunale kjøkken.",
        ),
        (
            &per,
            skien,
            "Vi trenger erfaringer med å redusere matsvinn på sykehjem.",
            "",
        ),
    ] {
        let saved = app
            .send_json(
                Method::PUT,
                &format!("/api/v1/projects/{grant}/profile"),
                Some(token),
                &json!({ "needs": needs, "offers": offers }),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }

    // The page's suggestion links say where they came from.
    let client = sign_in_by_pages(&app, "per.olsen@example.skien.kommune.no").await;
    let (_, html) = page(&client, &app, &format!("/projects/{skien}")).await;
    assert!(
        html.contains(&format!("href=\"/projects/{trondheim}?via={skien}\"")),
        "{html}"
    );
    // Followed twice through the page and once through the API: one row.
    for _ in 0..2 {
        let (status, _) = page(&client, &app, &format!("/projects/{trondheim}?via={skien}")).await;
        assert_eq!(status, 200);
    }
    let api = app
        .get(&format!("/api/v1/projects/{trondheim}?via={skien}"), Some(&per))
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let offer = app
        .get(&format!("/api/v1/projects/{drammen}?via={skien}"), Some(&per))
        .await;
    assert_eq!(offer.status, StatusCode::OK);
    // Bogus origins: the project itself, one that does not exist, and a word.
    for via in [trondheim.to_string(), "999999".to_string(), "ikke-et-tall".to_string()] {
        let (status, _) = page(&client, &app, &format!("/projects/{trondheim}?via={via}")).await;
        assert_eq!(status, 200, "via {via}");
    }
    let unseen = app
        .get(&format!("/api/v1/projects/{trondheim}?via={skien}"), Some(&outsider))
        .await;
    assert_eq!(unseen.status, StatusCode::NOT_FOUND);

    let follows: Vec<(i32, i32, String)> = suggestion_follow::Entity::find()
        .order_by_asc(suggestion_follow::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|follow| (follow.grant_id, follow.suggested_grant_id, follow.reason))
        .collect();
    assert_eq!(
        follows,
        [
            (skien as i32, trondheim as i32, "finished".to_string()),
            (skien as i32, drammen as i32, "offer".to_string()),
        ]
    );
    assert_eq!(suggestion_follow::Entity::find().count(&app.db).await.unwrap(), 2);
}

#[tokio::test]
async fn the_demo_holds_what_every_section_of_the_report_counts() {
    use samling::domain::sessions::SessionStatus;
    use samling::entities::{lesson, registration, session, survey_answer, survey_taker};
    let app = spawn_app().await;
    samling::demo::load(
        &app.db,
        &samling::resources::storage::Storage::local(app.settings.files_dir.clone()),
        app.clock.now_for_tests(),
    )
    .await
    .expect("the demo loads")
    .expect("an empty database gets the demo");
    let now = app.clock.now_for_tests();

    let held = session::Entity::find()
        .filter(session::Column::Status.eq(SessionStatus::Held))
        .order_by_asc(session::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(held.len(), 4, "two held sessions in two cohorts");
    assert!(
        held.iter()
            .all(|found| found.starts_at < now && found.recap_published_at.is_some())
    );
    let mut attended = Vec::new();
    let mut answers = Vec::new();
    for found in &held {
        let marks = registration::Entity::find()
            .filter(registration::Column::SessionId.eq(found.id))
            .all(&app.db)
            .await
            .unwrap();
        assert!(marks.iter().all(|mark| mark.attended.is_some()), "attendance marked");
        attended.push(marks.iter().filter(|mark| mark.attended == Some(true)).count());
        let answered = survey_answer::Entity::find()
            .filter(survey_answer::Column::SessionId.eq(found.id))
            .all(&app.db)
            .await
            .unwrap();
        let takers = survey_taker::Entity::find()
            .filter(survey_taker::Column::SessionId.eq(found.id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(answered.len() as u64, takers, "a taker per answer");
        answers.push(answered.len());
    }
    // Circular economy (ten leads) and land use (six): one in four missed the first session,
    // one in three the second; six and five answered the first sessions' survey, three the second.
    assert_eq!(attended, [8, 7, 5, 4]);
    assert_eq!(answers, [6, 3, 5, 3]);
    let addressed = preparation::Entity::find()
        .filter(preparation::Column::AddressedSessionId.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    let needs = preparation::Entity::find().count(&app.db).await.unwrap();
    let closing = survey_answer::Entity::find()
        .filter(survey_answer::Column::Kind.eq("programme"))
        .count(&app.db)
        .await
        .unwrap();
    let lessons = lesson::Entity::find().all(&app.db).await.unwrap();
    let reads = lesson_read::Entity::find().count(&app.db).await.unwrap();
    let follows = suggestion_follow::Entity::find().count(&app.db).await.unwrap();
    let downloads: i64 = resource::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|found| found.downloads)
        .sum();
    assert_eq!((needs, addressed), (6, 4), "three needs per cohort, two taken up");
    assert_eq!(closing, 4);
    assert_eq!(lessons.len(), 3, "one per theme");
    assert_eq!(reads, 8, "three each in two themes, two in food waste");
    assert_eq!(follows, 2);
    assert_eq!(downloads, 6);
    assert!(
        lessons.iter().all(|lesson| !lesson.done.is_empty()
            && !lesson.contact_name.is_empty()
            && !lesson.contact_phone.is_empty())
    );
}
