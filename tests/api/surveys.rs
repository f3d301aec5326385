//! Usefulness surveys (after a session and at the programme's close): who may answer and when,
//! once only even from two tabs at once, anonymous answers; and the worker's reminders: the
//! facilitator's on the third working day, the survey link to those who came, each once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use samling::domain::roles::Role;
use samling::domain::sessions::{RegistrationStatus, SessionStatus};
use samling::entities::{registration, session, survey_answer, survey_taker, user};
use samling::state::AppState;
use samling_tests::{ClockExt, ReceivedMail, TestApp, spawn_app_with};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, Statement,
};
use serde_json::json;

use crate::pages::{csrf_of, page, sign_in_by_pages, submit};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a UTC time")
}

/// A server whose own digest worker is off (the tests run it at the times they set), with
/// sessions that last while the clock moves on for weeks.
async fn survey_app() -> TestApp {
    spawn_app_with(|settings| {
        settings.digest_interval_seconds = 0;
        settings.session_hours = 24 * 90;
    })
    .await
}

fn set_clock(app: &TestApp, at: &str) {
    let now = app.clock.now_for_tests();
    app.clock.advance(utc(at) - now);
}

async fn worker_state(app: &TestApp) -> AppState {
    samling::startup::build_state(app.settings.clone(), Arc::new(app.clock.clone()))
        .await
        .expect("a worker's state")
}

async fn run(state: &AppState) -> samling::digests::RunReport {
    samling::digests::run_due(state, "test-worker")
        .await
        .expect("a worker run")
}

/// The people of the food cohort, with their tokens.
struct Cohort {
    food: i64,
    admin: String,
    facilitator: String,
    /// Project lead with a seat.
    kari: String,
    /// Expert with a seat.
    eva: String,
    /// Project lead who did not register.
    per: String,
    /// Project lead only on the waitlist.
    vera: String,
    /// Project lead with a seat, marked absent.
    aksel: String,
    /// Project lead on the waitlist who came anyway.
    lise: String,
    /// Observer marked present.
    olav: String,
    /// Project lead in another cohort.
    outsider: String,
}

async fn user_id(app: &TestApp, email: &str) -> i32 {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the person")
        .id
}

async fn food_cohort(app: &TestApp) -> Cohort {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    let member = |email: &'static str, name: &'static str, role| app.member_token(food, email, name, role);
    Cohort {
        kari: member("kari@example.no", "Kari", Role::ProjectLead).await,
        eva: member("eva@example.no", "Eva", Role::Expert).await,
        per: member("per@example.no", "Per", Role::ProjectLead).await,
        vera: member("vera@example.no", "Vera", Role::ProjectLead).await,
        aksel: member("aksel@example.no", "Aksel", Role::ProjectLead).await,
        lise: member("lise@example.no", "Lise", Role::ProjectLead).await,
        olav: member("olav@example.no", "Olav", Role::Observer).await,
        outsider: app
            .member_token(cohorts["sirkulaerokonomi"], "ute@example.no", "Ute", Role::ProjectLead)
            .await,
        food,
        admin,
        facilitator,
    }
}

/// A session of two hours starting at `starts` (UTC).
async fn add_session(app: &TestApp, cohort_id: i64, number: i32, starts: &str) -> session::Model {
    let starts_at = utc(starts);
    let now = app.clock.now_for_tests();
    session::ActiveModel {
        cohort_id: Set(cohort_id as i32),
        number: Set(number),
        title: Set(format!("Samling {number}")),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + Duration::hours(2)),
        meeting_url: Set(None),
        agenda: Set(String::new()),
        status: Set(SessionStatus::Confirmed),
        capacity: Set(None),
        sequence: Set(0),
        recap_summary: Set(String::new()),
        recap_decisions: Set(String::new()),
        recap_resources: Set(String::new()),
        recap_published_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a session")
}

async fn register(
    app: &TestApp,
    found: &session::Model,
    email: &str,
    status: RegistrationStatus,
    attended: Option<bool>,
) {
    registration::ActiveModel {
        session_id: Set(found.id),
        user_id: Set(user_id(app, email).await),
        status: Set(status),
        created_at: Set(found.starts_at - Duration::days(7)),
        attended: Set(attended),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a registration");
}

/// Friday 12 March 2027, 13:00–15:00 Oslo time, with its registrations: Kari, Eva, Aksel and
/// Olav have seats, Vera and Lise wait. With `attendance` recorded: Aksel was absent, Lise came
/// anyway, the others with seats came.
async fn friday_session(app: &TestApp, cohort: &Cohort, attendance: bool) -> session::Model {
    let found = add_session(app, cohort.food, 1, "2027-03-12T12:00:00Z").await;
    let mark = |value: bool| attendance.then_some(value);
    register(
        app,
        &found,
        "kari@example.no",
        RegistrationStatus::Registered,
        mark(true),
    )
    .await;
    register(
        app,
        &found,
        "eva@example.no",
        RegistrationStatus::Registered,
        mark(true),
    )
    .await;
    register(
        app,
        &found,
        "aksel@example.no",
        RegistrationStatus::Registered,
        mark(false),
    )
    .await;
    register(app, &found, "vera@example.no", RegistrationStatus::Waitlisted, None).await;
    register(
        app,
        &found,
        "lise@example.no",
        RegistrationStatus::Waitlisted,
        mark(true),
    )
    .await;
    register(
        app,
        &found,
        "olav@example.no",
        RegistrationStatus::Registered,
        mark(true),
    )
    .await;
    found
}

fn survey_path(found: &session::Model) -> String {
    format!("/api/v1/sessions/{}/survey", found.id)
}

async fn answers(app: &TestApp) -> Vec<survey_answer::Model> {
    survey_answer::Entity::find().all(&app.db).await.unwrap()
}

fn problem(response: &samling_tests::Response) -> (u16, String) {
    (response.status.as_u16(), response.code())
}

#[tokio::test]
async fn a_participant_answers_once_and_the_answer_cannot_be_traced_to_them() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    // Friday 12 March, 23:30 Oslo time: the answer keeps the Oslo date, not the UTC one.
    set_clock(&app, "2027-03-12T22:30:00Z");
    let status = app.get(&survey_path(&found), Some(&cohort.kari)).await;
    assert_eq!(status.status.as_u16(), 200, "{}", status.body);
    assert_eq!(
        status.json(),
        json!({ "open": true, "opens_at": "2027-03-12T14:00:00Z", "may_answer": true, "answered": false })
    );
    let body = json!({ "usefulness": 4, "helped": "  Eksemplene fra Bergen  ", "change": "" });
    let answered = app.post_json(&survey_path(&found), Some(&cohort.kari), &body).await;
    assert_eq!(answered.status.as_u16(), 201, "{}", answered.body);
    assert_eq!(answered.json()["answered"], true);
    let again = app
        .post_json(&survey_path(&found), Some(&cohort.kari), &json!({ "usefulness": 1 }))
        .await;
    assert_eq!(problem(&again), (409, "survey_already_answered".into()));
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("allerede svart")
    );

    let stored = answers(&app).await;
    assert_eq!(stored.len(), 1, "one answer, however often sent");
    let answer = &stored[0];
    assert_eq!(
        (
            answer.kind.as_str(),
            answer.session_id,
            answer.cohort_id,
            answer.usefulness
        ),
        ("session", Some(found.id), cohort.food as i32, Some(4))
    );
    assert_eq!(
        (answer.helped.as_str(), answer.change.as_str()),
        ("Eksemplene fra Bergen", "")
    );
    assert_eq!((answer.changed_project.clone(), answer.recommend.clone()), (None, None));
    assert_eq!(answer.answered_on.to_string(), "2027-03-12");

    // The table itself has no column that could lead back to the person, and no moment.
    let columns = column_names(&app, "survey_answers").await;
    assert_eq!(
        columns,
        [
            "answered_on",
            "change",
            "changed_project",
            "cohort_id",
            "helped",
            "id",
            "kind",
            "programme_id",
            "recommend",
            "session_id",
            "usefulness"
        ]
    );
    // Who answered is kept apart, with no reference to the answer.
    let takers = survey_taker::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(takers.len(), 1);
    assert_eq!(
        (takers[0].user_id, takers[0].survey.clone(), takers[0].mailed_at),
        (
            user_id(&app, "kari@example.no").await,
            format!("session:{}", found.id),
            None
        )
    );
    assert_eq!(takers[0].answered_at, Some(utc("2027-03-12T22:30:00Z")));
    assert!(
        !column_names(&app, "survey_takers")
            .await
            .iter()
            .any(|c| c.contains("answer_id"))
    );
}

async fn column_names(app: &TestApp, table: &str) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let sql = if samling_tests::backend_is_postgres() {
        format!("SELECT column_name AS name FROM information_schema.columns WHERE table_name = '{table}'")
    } else {
        format!("SELECT name FROM pragma_table_info('{table}')")
    };
    let mut names: Vec<String> = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn two_answers_sent_at_once_store_one_and_refuse_the_other() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    set_clock(&app, "2027-03-12T15:00:00Z");
    let path = survey_path(&found);
    let (five, two) = (json!({ "usefulness": 5 }), json!({ "usefulness": 2 }));
    let (first, second) = tokio::join!(
        app.post_json(&path, Some(&cohort.eva), &five),
        app.post_json(&path, Some(&cohort.eva), &two),
    );
    let mut statuses = vec![first.status.as_u16(), second.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", first.body, second.body);
    let refused = if first.status.as_u16() == 409 { &first } else { &second };
    assert_eq!(refused.code(), "survey_already_answered");
    let stored = answers(&app).await;
    assert_eq!(stored.len(), 1);
    assert!(matches!(stored[0].usefulness, Some(5) | Some(2)));
    assert_eq!(survey_taker::Entity::find().count(&app.db).await.unwrap(), 1);
}

#[tokio::test]
async fn only_those_who_took_part_answer_and_only_after_the_session() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    let path = survey_path(&found);
    let fine = json!({ "usefulness": 3 });

    // During the session: not open yet.
    set_clock(&app, "2027-03-12T13:00:00Z");
    let early = app.post_json(&path, Some(&cohort.kari), &fine).await;
    assert_eq!(problem(&early), (409, "survey_not_open".into()));
    assert_eq!(app.get(&path, Some(&cohort.kari)).await.json()["open"], false);

    set_clock(&app, "2027-03-12T14:00:00Z");
    // Members who did not take part: 403; someone outside the cohort: 404.
    for (who, token) in [
        ("observer", &cohort.olav),
        ("facilitator", &cohort.facilitator),
        ("not registered", &cohort.per),
        ("only waitlisted", &cohort.vera),
        ("marked absent", &cohort.aksel),
        ("admin", &cohort.admin),
    ] {
        let refused = app.post_json(&path, Some(token), &fine).await;
        assert_eq!(problem(&refused), (403, "forbidden".into()), "{who}");
    }
    assert_eq!(app.get(&path, Some(&cohort.per)).await.json()["may_answer"], false);
    let outside = app.post_json(&path, Some(&cohort.outsider), &fine).await;
    assert_eq!(problem(&outside), (404, "not_found".into()));
    assert_eq!(app.get(&path, Some(&cohort.outsider)).await.status.as_u16(), 404);

    // Input the person can fix: the field named.
    for usefulness in [0, 6] {
        let refused = app
            .post_json(&path, Some(&cohort.kari), &json!({ "usefulness": usefulness }))
            .await;
        assert_eq!(problem(&refused), (422, "survey_usefulness_out_of_range".into()));
        assert_eq!(refused.json()["field"], "usefulness");
    }
    let missing = app
        .post_json(&path, Some(&cohort.kari), &json!({ "helped": "x" }))
        .await;
    assert_eq!(problem(&missing), (422, "invalid_fields".into()));
    assert_eq!(missing.json()["field"], "usefulness");
    let long = app
        .post_json(
            &path,
            Some(&cohort.kari),
            &json!({ "usefulness": 3, "change": "å".repeat(2_001) }),
        )
        .await;
    assert_eq!(problem(&long), (422, "survey_text_too_long".into()));
    assert_eq!(long.json()["field"], "change");
    assert!(long.json()["detail"].as_str().unwrap_or_default().contains("2000"));
    assert!(answers(&app).await.is_empty(), "nothing refused was stored");
    assert_eq!(survey_taker::Entity::find().count(&app.db).await.unwrap(), 0);

    // Exactly 2,000 characters are fine; so is the one who waited and came anyway.
    let at_limit = app
        .post_json(
            &path,
            Some(&cohort.kari),
            &json!({ "usefulness": 3, "change": "å".repeat(2_000) }),
        )
        .await;
    assert_eq!(at_limit.status.as_u16(), 201, "{}", at_limit.body);
    let lise = app.post_json(&path, Some(&cohort.lise), &fine).await;
    assert_eq!(lise.status.as_u16(), 201, "{}", lise.body);
    assert_eq!(answers(&app).await.len(), 2);

    // A cancelled session's survey never opens.
    let cancelled = add_session(&app, cohort.food, 2, "2027-03-05T12:00:00Z").await;
    register(
        &app,
        &cancelled,
        "kari@example.no",
        RegistrationStatus::Registered,
        None,
    )
    .await;
    let mut change: session::ActiveModel = cancelled.clone().into();
    change.status = Set(SessionStatus::Cancelled);
    change.update(&app.db).await.unwrap();
    let refused = app.post_json(&survey_path(&cancelled), Some(&cohort.kari), &fine).await;
    assert_eq!(problem(&refused), (409, "survey_not_open".into()));
}

#[tokio::test]
async fn the_closing_survey_opens_after_the_cohorts_last_session_and_is_answered_once_per_programme() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    add_session(&app, cohort.food, 1, "2027-03-12T12:00:00Z").await;
    add_session(&app, cohort.food, 2, "2027-04-16T10:00:00Z").await;
    let path = format!("/api/v1/cohorts/{}/closing-survey", cohort.food);
    let body = json!({ "changed_project": "partly", "recommend": "yes", "helped": "Nettverket", "change": "" });

    set_clock(&app, "2027-04-16T11:59:00Z");
    assert_eq!(
        app.get(&path, Some(&cohort.per)).await.json(),
        json!({ "open": false, "opens_at": "2027-04-16T12:00:00Z", "may_answer": true, "answered": false })
    );
    let early = app.post_json(&path, Some(&cohort.per), &body).await;
    assert_eq!(problem(&early), (409, "survey_not_open".into()));

    set_clock(&app, "2027-04-16T12:00:00Z");
    let observer = app.post_json(&path, Some(&cohort.olav), &body).await;
    assert_eq!(problem(&observer), (403, "forbidden".into()));
    let outside = app.post_json(&path, Some(&cohort.outsider), &body).await;
    assert_eq!(problem(&outside), (404, "not_found".into()));
    let unknown = app
        .post_json(
            &path,
            Some(&cohort.per),
            &json!({ "changed_project": "maybe", "recommend": "yes" }),
        )
        .await;
    assert_eq!(problem(&unknown), (422, "invalid_fields".into()));
    assert_eq!(unknown.json()["field"], "changed_project");
    assert!(answers(&app).await.is_empty());

    // Per did not come to a session, but took part in the cohort: the closing survey is his too.
    let answered = app.post_json(&path, Some(&cohort.per), &body).await;
    assert_eq!(answered.status.as_u16(), 201, "{}", answered.body);
    assert_eq!(answered.json()["answered"], true);
    let again = app.post_json(&path, Some(&cohort.per), &body).await;
    assert_eq!(problem(&again), (409, "survey_already_answered".into()));
    let stored = answers(&app).await;
    assert_eq!(stored.len(), 1);
    let answer = &stored[0];
    assert_eq!(
        (
            answer.kind.as_str(),
            answer.cohort_id,
            answer.session_id,
            answer.usefulness,
            answer.changed_project.as_deref(),
            answer.recommend.as_deref(),
            answer.helped.as_str(),
            answer.answered_on.to_string()
        ),
        (
            "programme",
            cohort.food as i32,
            None,
            None,
            Some("partly"),
            Some("yes"),
            "Nettverket",
            "2027-04-16".to_string()
        )
    );
    let taker = survey_taker::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(taker.survey, format!("programme:{}", answer.programme_id));
}

#[tokio::test]
async fn the_survey_page_takes_an_answer_once_and_thanks() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    set_clock(&app, "2027-03-12T14:30:00Z");
    let client = sign_in_by_pages(&app, "kari@example.no").await;
    let (status, session_page) = page(&client, &app, &format!("/sessions/{}", found.id)).await;
    assert_eq!(status, 200);
    assert!(
        session_page.contains(&format!("href=\"/sessions/{}/survey\"", found.id)),
        "the session page links to its survey"
    );
    let path = format!("/sessions/{}/survey", found.id);
    let (status, form) = page(&client, &app, &path).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("Hvor nyttig var samlingen for deg?") && form.contains("anonyme"),
        "{form}"
    );
    let csrf = csrf_of(&form);
    let (status, _, refused) = submit(&client, &app, &path, &[("csrf_token", &csrf), ("helped", "Mye")]).await;
    assert_eq!(status, 422);
    assert!(refused.contains("Velg hvor nyttig samlingen var, fra 1 til 5.") && refused.contains(">Mye</textarea>"));
    let (status, final_path, thanks) = submit(
        &client,
        &app,
        &path,
        &[("csrf_token", &csrf), ("usefulness", "5"), ("helped", "Mye")],
    )
    .await;
    assert_eq!((status, final_path.as_str()), (200, path.as_str()));
    assert!(thanks.contains("Takk for svaret!"), "{thanks}");
    let (_, later) = page(&client, &app, &path).await;
    assert!(later.contains("Du har allerede svart") && !later.contains("name=\"usefulness\""));
    assert_eq!(answers(&app).await.len(), 1);

    // Someone who did not take part gets no form.
    let per = sign_in_by_pages(&app, "per@example.no").await;
    let (status, _) = page(&per, &app, &path).await;
    assert_eq!(status, 403);
    let (_, per_session) = page(&per, &app, &format!("/sessions/{}", found.id)).await;
    assert!(!per_session.contains(&path));
}

fn nudges_to(app: &TestApp, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .mails_to(address)
        .into_iter()
        .filter(|mail| mail.subject().starts_with("Mangler:"))
        .collect()
}

fn survey_links_to(app: &TestApp, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .mails_to(address)
        .into_iter()
        .filter(|mail| mail.subject().starts_with("Hvor nyttig var"))
        .collect()
}

#[tokio::test]
async fn the_facilitator_is_reminded_once_on_the_third_working_day_when_something_is_missing() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let state = worker_state(&app).await;
    // Friday 12 March: attendance not recorded, recap not published.
    let friday = friday_session(&app, &cohort, false).await;
    // Tuesday 9 March, ends 13:00 Oslo: attendance recorded and recap published.
    let complete = add_session(&app, cohort.food, 2, "2027-03-09T10:00:00Z").await;
    register(
        &app,
        &complete,
        "per@example.no",
        RegistrationStatus::Registered,
        Some(true),
    )
    .await;
    let mut published: session::ActiveModel = complete.clone().into();
    published.recap_summary = Set("Vi snakket om matsvinn.".into());
    published.recap_published_at = Set(Some(complete.ends_at));
    published.update(&app.db).await.unwrap();

    // Tuesday 16 March, 23:59 Oslo time: the second working day after Friday.
    set_clock(&app, "2027-03-16T22:59:00Z");
    let report = run(&state).await;
    assert_eq!(report.nudges.sessions_nudged, 0);
    assert!(nudges_to(&app, "fasilitator@example.no").is_empty());

    // Wednesday 17 March, 08:00 Oslo time.
    set_clock(&app, "2027-03-17T07:00:00Z");
    let report = run(&state).await;
    assert_eq!((report.nudges.sessions_nudged, report.nudges.facilitator_mails), (1, 1));
    let mails = nudges_to(&app, "fasilitator@example.no");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject(), "Mangler: oppmøte eller oppsummering for «Samling 1»");
    let text = mail.text();
    assert!(
        text.contains("Oppmøtet er ikke registrert.") && text.contains("Oppsummeringen er ikke publisert."),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/sessions/{}", app.address, friday.id)),
        "{text}"
    );
    let marked = session::Entity::find_by_id(friday.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.nudged_at, Some(utc("2027-03-17T07:00:00Z")));
    let untouched = session::Entity::find_by_id(complete.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.nudged_at, None, "nothing missing, no reminder");

    // Later runs remind no more, even while it is still missing.
    set_clock(&app, "2027-03-18T07:00:00Z");
    let report = run(&state).await;
    assert_eq!(report.nudges.sessions_nudged, 0);
    assert_eq!(nudges_to(&app, "fasilitator@example.no").len(), 1);
    assert!(
        nudges_to(&app, "kari@example.no").is_empty(),
        "only facilitators are reminded"
    );
}

#[tokio::test]
async fn a_reminder_names_only_what_is_missing() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let state = worker_state(&app).await;
    // Attendance recorded, recap not published.
    let found = friday_session(&app, &cohort, true).await;
    set_clock(&app, "2027-03-17T07:00:00Z");
    run(&state).await;
    let mails = nudges_to(&app, "fasilitator@example.no");
    assert_eq!(mails.len(), 1);
    let text = mails[0].text();
    assert!(text.contains("Oppsummeringen er ikke publisert."), "{text}");
    assert!(!text.contains("Oppmøtet er ikke registrert."), "{text}");
    assert!(text.contains(&format!("/sessions/{}", found.id)));
}

#[tokio::test]
async fn those_marked_present_get_the_survey_link_once_unless_they_answered() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let state = worker_state(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    // Before the end: no link.
    set_clock(&app, "2027-03-12T13:59:00Z");
    assert_eq!(run(&state).await.nudges.survey_links, 0);

    // Eva answers right after the session, before the worker's run.
    set_clock(&app, "2027-03-12T14:00:00Z");
    let answered = app
        .post_json(&survey_path(&found), Some(&cohort.eva), &json!({ "usefulness": 5 }))
        .await;
    assert_eq!(answered.status.as_u16(), 201, "{}", answered.body);
    set_clock(&app, "2027-03-12T14:05:00Z");
    let report = run(&state).await;
    // Kari and Lise came and may answer; Eva answered, Aksel was absent, Vera only waited,
    // Olav observes.
    assert_eq!(report.nudges.survey_links, 2);
    let link = format!("{}/sessions/{}/survey", app.address, found.id);
    for address in ["kari@example.no", "lise@example.no"] {
        let mails = survey_links_to(&app, address);
        assert_eq!(mails.len(), 1, "{address}");
        assert_eq!(mails[0].subject(), "Hvor nyttig var «Samling 1»?");
        assert!(mails[0].links().contains(&link), "{:?}", mails[0].links());
    }
    for address in [
        "eva@example.no",
        "aksel@example.no",
        "vera@example.no",
        "olav@example.no",
        "per@example.no",
    ] {
        assert!(survey_links_to(&app, address).is_empty(), "{address}");
    }
    let kari = survey_taker::Entity::find()
        .filter(survey_taker::Column::UserId.eq(user_id(&app, "kari@example.no").await))
        .one(&app.db)
        .await
        .unwrap()
        .expect("Kari's row");
    assert_eq!(
        (kari.mailed_at, kari.answered_at),
        (Some(utc("2027-03-12T14:05:00Z")), None)
    );

    // The next run mails nobody again.
    set_clock(&app, "2027-03-13T14:05:00Z");
    assert_eq!(run(&state).await.nudges.survey_links, 0);
    assert_eq!(survey_links_to(&app, "kari@example.no").len(), 1);
    // Kari can still answer after the link was mailed.
    let answered = app
        .post_json(&survey_path(&found), Some(&cohort.kari), &json!({ "usefulness": 4 }))
        .await;
    assert_eq!(answered.status.as_u16(), 201, "{}", answered.body);
}

#[tokio::test]
async fn the_recap_digest_links_the_survey_for_those_who_may_answer() {
    let app = survey_app().await;
    let cohort = food_cohort(&app).await;
    let state = worker_state(&app).await;
    let found = friday_session(&app, &cohort, true).await;
    let mut published: session::ActiveModel = found.clone().into();
    published.recap_summary = Set("Vi snakket om matsvinn.".into());
    published.recap_published_at = Set(Some(found.ends_at));
    published.update(&app.db).await.unwrap();
    // The recap goes out on the next working morning: Monday 15 March, 08:00 Oslo time.
    set_clock(&app, "2027-03-15T07:00:00Z");
    run(&state).await;
    let recap = |address: &str| -> Option<ReceivedMail> {
        app.smtp
            .mails_to(address)
            .into_iter()
            .find(|mail| mail.subject().starts_with("Oppsummering"))
    };
    let link = format!("{}/sessions/{}/survey", app.address, found.id);
    let kari = recap("kari@example.no").expect("Kari's recap");
    assert!(kari.links().contains(&link), "{}", kari.text());
    let olav = recap("olav@example.no").expect("Olav's recap");
    assert!(!olav.links().contains(&link), "an observer is not asked");
    let per = recap("per@example.no").expect("Per's recap");
    assert!(!per.links().contains(&link), "Per did not come");
}
