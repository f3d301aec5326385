//! The programme report: a known programme built by the test, every figure asserted, for a
//! programme, a theme, a cohort and a session, with filters; who sees what.

use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use samling::domain::roles::Role;
use samling::entities::{grant, lesson, lesson_read, preparation, resource, suggestion_follow, survey_answer, user};
use samling_tests::{ClockExt, TestApp, spawn_app};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

/// Two themes, two counties, two grant years: food waste in Trondheim, Bergen and Voss; the
/// circular economy in Stjørdal and Trondheim.
const GRANTS: &str = "Prosjektnummer;Tittel;Fylke;Søker;Kommunenummer;Tilskudd;Status;Varighet av prosjekt;Type tiltak;Tildelingsår;Kontaktperson;E-post;Beskrivelse
2021-0412;Matsvinn i kantiner;Trøndelag;Trondheim kommune;5001;1 200 000;Gjennomført;Mar 2021 - Des 2022;Mat og matsvinn;2021;Kari Nordmann;kari@trondheim.example.no;Veiing av matavfall.
2022-0433;Klimavennlig skolemat;Vestland;Bergen kommune;4601;850 000;Pågående;Aug 2022 - Jun 2028;Mat og matsvinn;2022;Ola Hansen;ola@bergen.example.no;Plantebasert skolelunsj.
2022-0440;Matredding på Voss;Vestland;Voss kommune;4621;300 000;Pågående;Aug 2022 - Jun 2028;Mat og matsvinn;2022;Siri Voss;siri@voss.example.no;Matredding.
2021-0530;Ombruk av møbler;Trøndelag;Stjørdal kommune;5035;500 000;Gjennomført;Mar 2021 - Des 2022;Sirkulærøkonomi;2021;Per Olsen;per@stjordal.example.no;Ombrukslager.
2022-0601;Sirkulære innkjøp;Trøndelag;Trondheim kommune;5001;700 000;Pågående;Mai 2022 - Mai 2028;Sirkulærøkonomi;2022;Anne Berg;anne@trondheim.example.no;Innkjøp.
";

const FOOD_THEME: i32 = 1;
const CIRCULAR_THEME: i32 = 2;
const FOOD: &str = "Klimasats-forum 2027 · Mat og matsvinn";
const CIRCULAR: &str = "Klimasats-forum 2027 · Sirkulærøkonomi";

struct Known {
    app: TestApp,
    admin: String,
    programme: i64,
    food: i64,
    circular: i64,
    food_sessions: Vec<Value>,
    circular_sessions: Vec<Value>,
    kari: String,
    food_facilitator: String,
}

async fn accept(app: &TestApp, email: &str) -> String {
    let mail = app.smtp.wait_for_mail_to(email).await;
    let token = mail.link_token("/invitations/accept");
    let accepted = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    accepted.json()["session"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

async fn user_id(app: &TestApp, email: &str) -> i32 {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{email} is a user"))
        .id
}

async fn grant_id(app: &TestApp, reference: &str) -> i32 {
    grant::Entity::find()
        .filter(grant::Column::Reference.eq(reference))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{reference} is imported"))
        .id
}

fn id(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

async fn ok(response: samling_tests::Response) -> Value {
    assert!(response.status.is_success(), "{} {}", response.status, response.body);
    response.json()
}

async fn post(app: &TestApp, token: &str, thread: i64, body: &str) -> i64 {
    let created = ok(app
        .post_json(
            &format!("/api/v1/threads/{thread}/posts"),
            Some(token),
            &json!({ "body": body, "client_id": format!("c{}", uuid_like(body)) }),
        )
        .await)
    .await;
    id(&created)
}

async fn thread(app: &TestApp, token: &str, cohort: i64, title: &str, session: Option<i64>) -> i64 {
    let created = ok(app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/threads"),
            Some(token),
            &json!({ "title": title, "body": "Første innlegg", "session_id": session, "client_id": format!("t{}", uuid_like(title)) }),
        )
        .await)
    .await;
    id(&created["thread"])
}

/// A client id from a text, unique enough for one test.
fn uuid_like(text: &str) -> String {
    text.bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
        .chars()
        .take(60)
        .collect()
}

async fn survey(
    app: &TestApp,
    programme: i64,
    cohort: i64,
    session: Option<i64>,
    usefulness: Option<i32>,
    (helped, change): (&str, &str),
    closing: (Option<&str>, Option<&str>),
) {
    survey_answer::ActiveModel {
        kind: Set(if session.is_some() { "session" } else { "programme" }.into()),
        programme_id: Set(programme as i32),
        cohort_id: Set(cohort as i32),
        session_id: Set(session.map(|id| id as i32)),
        usefulness: Set(usefulness),
        helped: Set(helped.into()),
        change: Set(change.into()),
        changed_project: Set(closing.0.map(Into::into)),
        recommend: Set(closing.1.map(Into::into)),
        answered_on: Set(NaiveDate::from_ymd_opt(2027, 6, 1).unwrap()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn known_programme() -> Known {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let programme = id(&app.create_programme(&admin).await);
    app.import(&admin, GRANTS.as_bytes().to_vec()).await;
    let cohorts = app.get("/api/v1/cohorts", Some(&admin)).await.json();
    let cohort = |slug: &str| {
        cohorts
            .as_array()
            .unwrap()
            .iter()
            .find(|cohort| cohort["theme"]["slug"] == slug)
            .map(id)
            .unwrap_or_else(|| panic!("a {slug} cohort in {cohorts}"))
    };
    let (food, circular) = (cohort("mat-og-matsvinn"), cohort("sirkulaerokonomi"));
    assert_eq!(cohorts.as_array().unwrap().len(), 2, "{cohorts}");

    let food_facilitator = app
        .facilitator_token(&admin, food, "fa@example.no", "Frida Fasilitator")
        .await;
    let circular_facilitator = app
        .facilitator_token(&admin, circular, "fc@example.no", "Carl Fasilitator")
        .await;
    // Every project's contact is invited; Voss never answers.
    for (facilitator, cohort) in [(&food_facilitator, food), (&circular_facilitator, circular)] {
        ok(app
            .post_json(
                &format!("/api/v1/cohorts/{cohort}/invitations/contacts"),
                Some(facilitator),
                &json!({}),
            )
            .await)
        .await;
    }
    let kari = accept(&app, "kari@trondheim.example.no").await;
    let ola = accept(&app, "ola@bergen.example.no").await;
    let per = accept(&app, "per@stjordal.example.no").await;
    let anne = accept(&app, "anne@trondheim.example.no").await;
    let eva = app
        .member_token(food, "eva@example.no", "Eva Ekspert", Role::Expert)
        .await;

    let food_sessions = app.plan_sessions(&food_facilitator, food).await;
    let circular_sessions = app.plan_sessions(&circular_facilitator, circular).await;
    let (f1, f2, c1) = (id(&food_sessions[0]), id(&food_sessions[1]), id(&circular_sessions[0]));
    // One seat in the first food session: Kari gets it, Ola waits.
    ok(app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{f1}"),
            Some(&food_facilitator),
            &json!({ "capacity": 1 }),
        )
        .await)
    .await;
    for (token, session) in [
        (&kari, f1),
        (&ola, f1),
        (&kari, f2),
        (&ola, f2),
        (&per, c1),
        (&anne, c1),
    ] {
        ok(app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{session}/registration"),
                Some(token),
                &json!({}),
            )
            .await)
        .await;
    }
    for (token, session, needs) in [
        (&kari, f1, "Hjelp med veiing"),
        (&ola, f1, "Maler for måling"),
        (&per, c1, "Innkjøpsavtaler"),
        (&anne, c1, "  "),
    ] {
        ok(app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{session}/preparation"),
                Some(token),
                &json!({ "needs": needs, "offers": "" }),
            )
            .await)
        .await;
    }

    // Questions and answers at known times.
    let t1 = thread(&app, &kari, food, "Hvordan veier dere matsvinn?", Some(f1)).await;
    app.clock.advance(Duration::hours(2));
    post(&app, &ola, t1, "Vi bruker vekter").await;
    app.clock.advance(Duration::hours(1));
    let answer = post(&app, &eva, t1, "Slik gjør vi det").await;
    ok(app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/threads/{t1}/answer"),
            Some(&kari),
            &json!({ "post_id": answer }),
        )
        .await)
    .await;
    let t2 = thread(&app, &ola, food, "Erfaringer med maler", None).await;
    post(&app, &kari, t2, "Takk for malene").await;
    let t3 = thread(&app, &kari, food, "Noen som har tips?", None).await;
    app.clock.advance(Duration::hours(1));
    post(&app, &kari, t3, "Jeg fant litt selv").await;
    app.clock.advance(Duration::hours(4));
    post(&app, &ola, t3, "Prøv dette").await;
    thread(&app, &per, circular, "Sirkulære innkjøp?", None).await;

    // Attendance once the sessions have been held.
    let last = food_sessions[1]["starts_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .max(circular_sessions[0]["starts_at"].as_str().unwrap().parse().unwrap());
    app.clock.advance(last - app.clock.now_for_tests() + Duration::days(1));
    // Months later: everyone signs in again.
    let admin = app.sign_in("admin@example.no").await;
    let food_facilitator = app.sign_in("fa@example.no").await;
    let circular_facilitator = app.sign_in("fc@example.no").await;
    let kari = app.sign_in("kari@trondheim.example.no").await;
    let (kari_id, ola_id, per_id, anne_id) = (
        user_id(&app, "kari@trondheim.example.no").await,
        user_id(&app, "ola@bergen.example.no").await,
        user_id(&app, "per@stjordal.example.no").await,
        user_id(&app, "anne@trondheim.example.no").await,
    );
    for (facilitator, session, marks) in [
        (&food_facilitator, f1, json!([{ "user_id": kari_id, "attended": true }])),
        (
            &food_facilitator,
            f2,
            json!([{ "user_id": kari_id, "attended": false }, { "user_id": ola_id, "attended": true }]),
        ),
        (
            &circular_facilitator,
            c1,
            json!([{ "user_id": per_id, "attended": true }, { "user_id": anne_id, "attended": false }]),
        ),
    ] {
        ok(app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{session}/attendance"),
                Some(facilitator),
                &marks,
            )
            .await)
        .await;
    }

    // What the capture screens write: needs taken up, downloads, follows, a lesson and its reads.
    let now = app.clock.now_for_tests();
    for (user, session, addressed_in) in [(kari_id, f1, f2), (per_id, c1, c1)] {
        let found = preparation::Entity::find()
            .filter(preparation::Column::UserId.eq(user))
            .filter(preparation::Column::SessionId.eq(session as i32))
            .one(&app.db)
            .await
            .unwrap()
            .expect("a preparation");
        let mut active: preparation::ActiveModel = found.into();
        active.addressed_session_id = Set(Some(addressed_in as i32));
        active.addressed_at = Set(Some(now));
        active.update(&app.db).await.unwrap();
    }
    let eva_id = user_id(&app, "eva@example.no").await;
    for (cohort, session, downloads) in [(food, Some(f1), 7), (food, None, 3), (circular, None, 0)] {
        resource::ActiveModel {
            cohort_id: Set(cohort as i32),
            session_id: Set(session.map(|id| id as i32)),
            kind: Set(resource::Kind::Link),
            title: Set("Veileder".into()),
            summary: Set(String::new()),
            tags: Set(String::new()),
            url: Set(Some("https://example.no/veileder".into())),
            posted_by: Set(eva_id),
            created_at: Set(now),
            downloads: Set(downloads),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let (a1, a2, b1, b2) = (
        grant_id(&app, "2021-0412").await,
        grant_id(&app, "2022-0433").await,
        grant_id(&app, "2021-0530").await,
        grant_id(&app, "2022-0601").await,
    );
    // Kari's follow from a project she does not hold counts nowhere.
    for (user, from, to) in [(kari_id, a1, a2), (per_id, b1, b2), (kari_id, b2, b1)] {
        suggestion_follow::ActiveModel {
            user_id: Set(user),
            grant_id: Set(from),
            suggested_grant_id: Set(to),
            reason: Set("similar".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let later = id(&ok(app
        .post_json(
            "/api/v1/admin/programmes",
            Some(&admin),
            &json!({ "name": "Klimasats-forum 2028", "grant_years": "2023", "starts_on": "2028-01-03", "ends_on": "2028-12-15" }),
        )
        .await)
    .await);
    let written = lesson::ActiveModel {
        grant_id: Set(a1),
        cohort_id: Set(food as i32),
        theme_id: Set(FOOD_THEME),
        learned: Set("Veiing virker".into()),
        tips: Set("Start smått".into()),
        author_id: Set(kari_id),
        created_at: Set(now),
        updated_at: Set(now),
        done: Set("Veide matavfall".into()),
        results: Set("30 % mindre".into()),
        did_not_work: Set(String::new()),
        contact_name: Set("Kari Nordmann".into()),
        contact_email: Set("kari@trondheim.example.no".into()),
        contact_phone: Set(String::new()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    // Read in the same programme, by a later programme, and by someone with none.
    for (reader, programme_id) in [
        (ola_id, Some(programme as i32)),
        (per_id, Some(later as i32)),
        (anne_id, None),
    ] {
        lesson_read::ActiveModel {
            lesson_id: Set(written.id),
            user_id: Set(reader),
            programme_id: Set(programme_id),
            read_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }

    // Five answers for the first food session, four for the second; five closing answers.
    for (usefulness, helped, change) in [
        (Some(5), "Å møte andre", ""),
        (Some(4), "Konkrete eksempler", "Mer tid"),
        (Some(4), "", ""),
        (Some(3), "", ""),
        (Some(2), "", ""),
    ] {
        survey(
            &app,
            programme,
            food,
            Some(f1),
            usefulness,
            (helped, change),
            (None, None),
        )
        .await;
    }
    for _ in 0..4 {
        survey(
            &app,
            programme,
            food,
            Some(f2),
            Some(5),
            ("Hemmelig", "Hemmelig"),
            (None, None),
        )
        .await;
    }
    for closing in [
        (Some("yes"), Some("yes")),
        (Some("yes"), Some("yes")),
        (Some("partly"), Some("yes")),
        (Some("no"), Some("unsure")),
        (None, Some("no")),
    ] {
        survey(&app, programme, food, None, None, ("", ""), closing).await;
    }

    Known {
        app,
        admin,
        programme,
        food,
        circular,
        food_sessions,
        circular_sessions,
        kari,
        food_facilitator,
    }
}

fn table<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|table| table["key"] == key)
        .unwrap_or_else(|| panic!("a table {key} in {report:#}"))
}

fn rows(report: &Value, key: &str) -> Value {
    table(report, key)["rows"].clone()
}

fn keys(report: &Value) -> Vec<String> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|table| table["key"].as_str().unwrap().to_string())
        .collect()
}

fn columns(report: &Value, key: &str) -> Vec<String> {
    table(report, key)["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|column| column["key"].as_str().unwrap().to_string())
        .collect()
}

fn summary(report: &Value) -> Value {
    let mut figures = serde_json::Map::new();
    for row in rows(report, "summary").as_array().unwrap() {
        figures.insert(row[0].as_str().unwrap().to_string(), row[1].clone());
    }
    Value::Object(figures)
}

fn label(session: &Value) -> String {
    format!("{}. {}", session["number"], session["title"].as_str().unwrap())
}

fn date(session: &Value) -> String {
    session["starts_at"].as_str().unwrap()[..10].to_string()
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get(&format!("/api/v1/reports/{path}"), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    response.json()
}

#[tokio::test]
async fn the_programme_report_counts_every_figure_of_a_known_programme() {
    let known = known_programme().await;
    let app = &known.app;
    let report = report(app, &known.admin, &format!("programmes/{}", known.programme)).await;
    assert_eq!(report["title"], "Klimasats-forum 2027");
    assert_eq!(report["public_only"], false);
    assert_eq!(report["scope"], json!({ "kind": "programme", "id": known.programme }));
    assert_eq!(
        keys(&report),
        [
            "summary",
            "reach_by_session",
            "reach_by_municipality",
            "reach_by_county",
            "reach_by_project",
            "never_came",
            "needs_by_session",
            "needs",
            "exchange_by_cohort",
            "lessons",
            "usefulness_by_session",
            "usefulness_distribution",
            "closing_survey",
            "survey_texts",
        ]
    );
    assert_eq!(
        summary(&report),
        json!({
            "funded_projects": 5, "projects_invited": 5, "projects_registered": 4, "projects_waitlisted": 1,
            "projects_attended": 3, "percent_reached": 60.0, "sessions_held": 3,
            "needs_stated": 3, "needs_addressed": 2, "needs_open": 1,
            "threads": 4, "posts": 9, "questions_asked": 3, "questions_answered": 1,
            "median_hours_to_first_answer": 3.5, "expert_posts": 1, "resources_shared": 3, "downloads": 10,
            "suggestions_followed": 2, "lessons": 1, "lesson_reads_by_later_programmes": 1,
            "survey_answers": 5, "mean_usefulness": 3.6, "closing_survey_answers": 5,
        })
    );
    // The summary keeps its order.
    let order: Vec<Value> = rows(&report, "summary")
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(order[0], "funded_projects");
    assert_eq!(order[order.len() - 1], "closing_survey_answers");

    let (food, circular) = (&known.food_sessions, &known.circular_sessions);
    let mut by_session = Vec::new();
    for (index, session) in food.iter().enumerate() {
        let (registered, waitlisted, attended) = [(1, 1, 1), (2, 0, 1)].get(index).copied().unwrap_or((0, 0, 0));
        by_session.push(json!([
            FOOD,
            label(session),
            date(session),
            3,
            registered,
            waitlisted,
            attended
        ]));
    }
    for (index, session) in circular.iter().enumerate() {
        let (registered, attended) = if index == 0 { (2, 1) } else { (0, 0) };
        by_session.push(json!([
            CIRCULAR,
            label(session),
            date(session),
            2,
            registered,
            0,
            attended
        ]));
    }
    assert_eq!(food.len() + circular.len(), 8);
    assert_eq!(rows(&report, "reach_by_session"), Value::Array(by_session));
    assert_eq!(
        table(&report, "reach_by_session")["chart"],
        json!({ "label_column": 1, "value_columns": [4, 6] })
    );
    assert_eq!(
        rows(&report, "reach_by_municipality"),
        json!([
            ["Stjørdal kommune", "Trøndelag", 1, 1, 1, 1, 1],
            ["Trondheim kommune", "Trøndelag", 2, 2, 2, 1, 1],
            ["Bergen kommune", "Vestland", 1, 1, 1, 1, 1],
            ["Voss kommune", "Vestland", 1, 1, 0, 0, 0],
        ])
    );
    assert_eq!(
        rows(&report, "reach_by_county"),
        json!([["Trøndelag", 3, 3, 3, 2], ["Vestland", 2, 2, 1, 1]])
    );
    assert_eq!(
        rows(&report, "reach_by_project"),
        json!([
            ["2021-0412", "Trondheim kommune", "Trøndelag", 2021, 1, 2, 1],
            ["2021-0530", "Stjørdal kommune", "Trøndelag", 2021, 1, 1, 1],
            ["2022-0433", "Bergen kommune", "Vestland", 2022, 1, 1, 1],
            ["2022-0440", "Voss kommune", "Vestland", 2022, 1, 0, 0],
            ["2022-0601", "Trondheim kommune", "Trøndelag", 2022, 1, 1, 0],
        ])
    );
    assert_eq!(rows(&report, "never_came"), json!([["Voss kommune", "Vestland", 1, 1]]));

    let mut needs_by_session = Vec::new();
    for (index, session) in food.iter().enumerate() {
        let (stated, addressed) = if index == 0 { (2, 1) } else { (0, 0) };
        needs_by_session.push(json!([FOOD, label(session), stated, addressed, stated - addressed]));
    }
    for (index, session) in circular.iter().enumerate() {
        let stated = i64::from(index == 0);
        needs_by_session.push(json!([CIRCULAR, label(session), stated, stated, 0]));
    }
    assert_eq!(rows(&report, "needs_by_session"), Value::Array(needs_by_session));
    // Admins see who wrote a need.
    assert_eq!(
        columns(&report, "needs"),
        [
            "session",
            "municipality",
            "project",
            "state",
            "addressed_in",
            "need",
            "person"
        ]
    );
    assert_eq!(
        rows(&report, "needs"),
        json!([
            [
                label(&food[0]),
                "Bergen kommune",
                "2022-0433",
                "open",
                null,
                "Maler for måling",
                "Ola Hansen"
            ],
            [
                label(&food[0]),
                "Trondheim kommune",
                "2021-0412",
                "addressed",
                label(&food[1]),
                "Hjelp med veiing",
                "Kari Nordmann"
            ],
            [
                label(&circular[0]),
                "Stjørdal kommune",
                "2021-0530",
                "addressed",
                label(&circular[0]),
                "Innkjøpsavtaler",
                "Per Olsen"
            ],
        ])
    );

    assert_eq!(
        rows(&report, "exchange_by_cohort"),
        json!([
            [FOOD, 3, 8, 2, 1, 3.5, 1, 2, 10, 1],
            [CIRCULAR, 1, 1, 1, 0, null, 0, 1, 0, 1],
        ])
    );
    assert_eq!(
        columns(&report, "lessons"),
        [
            "project",
            "municipality",
            "theme",
            "written",
            "contact_person",
            "reads_by_later_programmes",
            "reads"
        ]
    );
    assert_eq!(
        rows(&report, "lessons"),
        json!([
            [
                "2021-0412",
                "Trondheim kommune",
                "Mat og matsvinn",
                "yes",
                "Kari Nordmann",
                1,
                3
            ],
            ["2021-0530", "Stjørdal kommune", "Sirkulærøkonomi", "no", null, 0, 0],
            ["2022-0433", "Bergen kommune", "Mat og matsvinn", "no", null, 0, 0],
            ["2022-0440", "Voss kommune", "Mat og matsvinn", "no", null, 0, 0],
            ["2022-0601", "Trondheim kommune", "Sirkulærøkonomi", "no", null, 0, 0],
        ])
    );

    let mut usefulness = Vec::new();
    for (index, session) in food.iter().enumerate() {
        usefulness.push(if index == 0 {
            json!([FOOD, label(session), 5, 3.6, 0, 1, 1, 2, 1])
        } else {
            json!([FOOD, label(session), null, null, null, null, null, null, null])
        });
    }
    for session in circular {
        usefulness.push(json!([
            CIRCULAR,
            label(session),
            null,
            null,
            null,
            null,
            null,
            null,
            null
        ]));
    }
    assert_eq!(rows(&report, "usefulness_by_session"), Value::Array(usefulness));
    // The second food session had four answers: held back.
    assert_eq!(table(&report, "usefulness_by_session")["note"], "too_few_answers");
    assert_eq!(
        rows(&report, "usefulness_distribution"),
        json!([[1, 0], [2, 1], [3, 1], [4, 2], [5, 1]])
    );
    assert_eq!(
        rows(&report, "closing_survey"),
        json!([
            ["changed_project", "yes", 2],
            ["changed_project", "partly", 1],
            ["changed_project", "no", 1],
            ["recommend", "yes", 3],
            ["recommend", "no", 1],
            ["recommend", "unsure", 1],
        ])
    );
    assert_eq!(
        rows(&report, "survey_texts"),
        json!([
            [label(&food[0]), "helped", "Konkrete eksempler"],
            [label(&food[0]), "helped", "Å møte andre"],
            [label(&food[0]), "change", "Mer tid"],
        ])
    );
    assert!(
        !report.to_string().contains("Hemmelig"),
        "no text of a session with four answers"
    );
}

#[tokio::test]
async fn filters_theme_cohort_and_session_reports_count_their_own_share() {
    let known = known_programme().await;
    let app = &known.app;
    let food = &known.food_sessions;

    // By county: Bergen and Voss.
    let vestland = report(
        app,
        &known.admin,
        &format!("programmes/{}?county=Vestland", known.programme),
    )
    .await;
    assert_eq!(vestland["filters"], json!({ "county": "Vestland", "grant_year": null }));
    let figures = summary(&vestland);
    for (figure, value) in [
        ("funded_projects", json!(2)),
        ("projects_invited", json!(2)),
        ("projects_registered", json!(1)),
        ("projects_waitlisted", json!(1)),
        ("projects_attended", json!(1)),
        ("percent_reached", json!(50.0)),
        ("needs_stated", json!(1)),
        ("needs_addressed", json!(0)),
        ("lessons", json!(0)),
        // Conversations and anonymous surveys do not follow the filters.
        ("threads", json!(4)),
        ("survey_answers", json!(5)),
    ] {
        assert_eq!(figures[figure], value, "{figure}");
    }
    assert_eq!(rows(&vestland, "reach_by_county"), json!([["Vestland", 2, 2, 1, 1]]));
    assert_eq!(
        rows(&vestland, "never_came"),
        json!([["Voss kommune", "Vestland", 1, 1]])
    );

    // By grant year: the two 2021 projects, both came.
    let year = report(
        app,
        &known.admin,
        &format!("programmes/{}?grant_year=2021", known.programme),
    )
    .await;
    let figures = summary(&year);
    assert_eq!(
        (
            figures["funded_projects"].clone(),
            figures["projects_attended"].clone(),
            figures["percent_reached"].clone()
        ),
        (json!(2), json!(2), json!(100.0))
    );
    assert_eq!(rows(&year, "never_came"), json!([]));
    // An empty county is no filter.
    let all = report(app, &known.admin, &format!("programmes/{}?county=", known.programme)).await;
    assert_eq!(summary(&all)["funded_projects"], 5);

    // The food theme: its one cohort.
    let theme = report(app, &known.admin, &format!("themes/{FOOD_THEME}")).await;
    assert_eq!(theme["title"], "Mat og matsvinn");
    let figures = summary(&theme);
    for (figure, value) in [
        ("funded_projects", json!(3)),
        ("projects_invited", json!(3)),
        ("projects_registered", json!(2)),
        ("projects_waitlisted", json!(1)),
        ("projects_attended", json!(2)),
        ("percent_reached", json!(66.7)),
        ("sessions_held", json!(2)),
        ("threads", json!(3)),
        ("posts", json!(8)),
        ("suggestions_followed", json!(1)),
        ("lesson_reads_by_later_programmes", json!(1)),
    ] {
        assert_eq!(figures[figure], value, "{figure}");
    }

    // The circular cohort, as its rows in the programme report.
    let circular = report(app, &known.admin, &format!("cohorts/{}", known.circular)).await;
    assert_eq!(circular["title"], CIRCULAR);
    assert_eq!(
        rows(&circular, "exchange_by_cohort"),
        json!([[CIRCULAR, 1, 1, 1, 0, null, 0, 1, 0, 1]])
    );
    assert_eq!(
        rows(&circular, "reach_by_municipality"),
        json!([
            ["Stjørdal kommune", "Trøndelag", 1, 1, 1, 1, 1],
            ["Trondheim kommune", "Trøndelag", 1, 1, 1, 0, 0],
        ])
    );
    // No closing answers in this cohort: nothing to hold back, nothing to show.
    assert_eq!(table(&circular, "closing_survey")["note"], Value::Null);
    assert_eq!(summary(&circular)["closing_survey_answers"], Value::Null);

    // The first food session: its own figures.
    let session = report(app, &known.admin, &format!("sessions/{}", id(&food[0]))).await;
    assert_eq!(session["title"], food[0]["title"]);
    assert_eq!(
        summary(&session),
        json!({
            "funded_projects": 3, "projects_invited": 3, "projects_registered": 1, "projects_waitlisted": 1,
            "projects_attended": 1, "percent_reached": 33.3, "sessions_held": 1,
            "needs_stated": 2, "needs_addressed": 1, "needs_open": 1,
            "threads": 1, "posts": 3, "questions_asked": 1, "questions_answered": 1,
            "median_hours_to_first_answer": 2.0, "expert_posts": 1, "resources_shared": 1, "downloads": 7,
            "suggestions_followed": null, "lessons": 1, "lesson_reads_by_later_programmes": 1,
            "survey_answers": 5, "mean_usefulness": 3.6,
        })
    );
    assert_eq!(
        rows(&session, "exchange_by_session"),
        json!([[label(&food[0]), 1, 3, 1, 1, 2.0, 1, 1, 7, null]])
    );
    assert!(!keys(&session).contains(&"closing_survey".to_string()));

    // The second: four answers, so no survey results at all.
    let four = report(app, &known.admin, &format!("sessions/{}", id(&food[1]))).await;
    assert_eq!(
        rows(&four, "usefulness_by_session"),
        json!([[FOOD, label(&food[1]), null, null, null, null, null, null, null]])
    );
    assert_eq!(table(&four, "usefulness_by_session")["note"], "too_few_answers");
    assert_eq!(
        rows(&four, "usefulness_distribution"),
        json!([[1, 0], [2, 0], [3, 0], [4, 0], [5, 0]])
    );
    assert_eq!(rows(&four, "survey_texts"), json!([]));
    assert_eq!(table(&four, "survey_texts")["note"], "too_few_answers");
    let figures = summary(&four);
    assert_eq!(
        (figures["survey_answers"].clone(), figures["mean_usefulness"].clone()),
        (json!(0), Value::Null)
    );
    assert!(!four.to_string().contains("Hemmelig"));
}

#[tokio::test]
async fn who_sees_what_of_the_report() {
    let known = known_programme().await;
    let app = &known.app;
    let programme = format!("/api/v1/reports/programmes/{}", known.programme);

    // Outsiders: nothing exists.
    let now = app.clock.now_for_tests();
    samling::cohorts::find_or_create_user(&app.db, "nobody@example.no", "Nils Utenfor", now)
        .await
        .unwrap();
    let outsider = app.sign_in("nobody@example.no").await;
    for path in [
        programme.clone(),
        format!("/api/v1/reports/themes/{FOOD_THEME}"),
        format!("/api/v1/reports/cohorts/{}", known.food),
        format!("/api/v1/reports/sessions/{}", id(&known.food_sessions[0])),
    ] {
        let response = app.get(&path, Some(&outsider)).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.code(), "not_found");
    }
    assert_eq!(app.get(&programme, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/reports/programmes/9999", Some(&known.admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A project lead: 403 for the programme and their theme, 404 for a theme they are not in.
    let response = app.get(&programme, Some(&known.kari)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.code(), "forbidden");
    assert_eq!(
        app.get(&format!("/api/v1/reports/themes/{FOOD_THEME}"), Some(&known.kari))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/v1/reports/themes/{CIRCULAR_THEME}"), Some(&known.kari))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/reports/cohorts/{}", known.circular),
            Some(&known.kari)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Their cohort: only the public figures.
    let public = report(app, &known.kari, &format!("cohorts/{}", known.food)).await;
    assert_eq!(public["public_only"], true);
    assert_eq!(
        keys(&public),
        [
            "summary",
            "reach_by_session",
            "reach_by_municipality",
            "reach_by_county"
        ]
    );
    assert_eq!(
        summary(&public),
        json!({
            "funded_projects": 3, "projects_invited": 3, "projects_registered": 2, "projects_waitlisted": 1,
            "projects_attended": 2, "percent_reached": 66.7, "sessions_held": 2,
        })
    );
    assert_eq!(
        rows(&public, "reach_by_municipality"),
        json!([
            ["Trondheim kommune", "Trøndelag", 1, 1, 1, 1, 1],
            ["Bergen kommune", "Vestland", 1, 1, 1, 1, 1],
            ["Voss kommune", "Vestland", 1, 1, 0, 0, 0],
        ])
    );
    for secret in ["Hjelp med veiing", "Kari Nordmann", "Konkrete eksempler"] {
        assert!(!public.to_string().contains(secret), "{secret}");
    }
    let public_session = report(app, &known.kari, &format!("sessions/{}", id(&known.food_sessions[0]))).await;
    assert_eq!(public_session["public_only"], true);

    // The facilitator: the whole cohort, no names; not the programme.
    assert_eq!(
        app.get(&programme, Some(&known.food_facilitator)).await.status,
        StatusCode::FORBIDDEN
    );
    let full = report(app, &known.food_facilitator, &format!("cohorts/{}", known.food)).await;
    assert_eq!(full["public_only"], false);
    assert_eq!(
        columns(&full, "needs"),
        ["session", "municipality", "project", "state", "addressed_in", "need"]
    );
    assert_eq!(
        columns(&full, "lessons"),
        [
            "project",
            "municipality",
            "theme",
            "written",
            "reads_by_later_programmes",
            "reads"
        ]
    );
    assert!(!full.to_string().contains("Kari Nordmann"));
    assert!(full.to_string().contains("Hjelp med veiing"));

    // The agency's observer: the programme and the theme, whole, without names.
    let observer = app
        .member_token(
            known.food,
            "observer@miljodir.example.no",
            "Oda Observatør",
            Role::Observer,
        )
        .await;
    let seen = report(app, &observer, &format!("programmes/{}", known.programme)).await;
    assert_eq!(seen["public_only"], false);
    assert_eq!(summary(&seen)["funded_projects"], 5);
    assert!(!seen.to_string().contains("Ola Hansen"));
    report(app, &observer, &format!("themes/{FOOD_THEME}")).await;
    assert_eq!(
        app.get(&format!("/api/v1/reports/themes/{CIRCULAR_THEME}"), Some(&observer))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A filter that cannot be read.
    let bad = app
        .get(&format!("{programme}?grant_year=abc"), Some(&known.admin))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.code(), "invalid_fields");
    assert_eq!(bad.json()["field"], "grant_year");
}
