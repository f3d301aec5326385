//! The retention job driven by the test clock: each kind goes once its period is over, never a
//! day early, and a second run finds nothing more; who is due for anonymisation.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use samling::auth::Caller;
use samling::cohorts::{self, NewProgramme};
use samling::domain::roles::Role;
use samling::domain::sessions::SessionStatus;
use samling::entities::{cohort, invitation, outbox_mail, session, session_invitation, sign_in_token, user};
use samling::privacy::retention::{self, RetentionReport};
use samling::startup::build_state;
use samling::state::AppState;
use samling_tests::{ClockExt, TestApp, spawn_app};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

/// The server's state as the job sees it, on the test server's database, clock and hub.
async fn job_state(app: &TestApp) -> AppState {
    let mut state = build_state(app.settings.clone(), Arc::new(app.clock.clone()))
        .await
        .expect("the state");
    state.hub = app.hub.clone();
    state
}

async fn run(app: &TestApp, state: &AppState) -> RetentionReport {
    retention::run(state, app.clock.now_for_tests())
        .await
        .expect("the retention run")
}

async fn people_due(app: &TestApp, now: DateTime<Utc>) -> Vec<i32> {
    retention::people_due(&app.db, &app.settings, now)
        .await
        .expect("the people due")
}

/// A person whose account was made at `created_at`, in the given cohorts as a project lead.
async fn person(app: &TestApp, email: &str, created_at: DateTime<Utc>, cohorts: &[i32]) -> i32 {
    let found = cohorts::find_or_create_user(&app.db, email, email, created_at)
        .await
        .expect("a person");
    for cohort_id in cohorts {
        cohorts::set_membership(&app.db, found.id, *cohort_id, Role::ProjectLead, None, created_at)
            .await
            .expect("a membership");
    }
    found.id
}

async fn set_person(app: &TestApp, id: i32, column: user::Column, value: impl Into<sea_orm::Value>) {
    user::Entity::update_many()
        .col_expr(column, Expr::value(value.into()))
        .filter(user::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .expect("a changed person");
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// A programme with the given period and one cohort in it; returns the cohort.
async fn cohort_in_programme(app: &TestApp, name: &str, starts_on: &str, ends_on: &str) -> i32 {
    let created = cohorts::create_programme(
        &app.db,
        Caller::CommandLine,
        NewProgramme {
            name: name.into(),
            grant_years: "2022".into(),
            starts_on: date(starts_on),
            ends_on: date(ends_on),
        },
        app.clock.now_for_tests(),
    )
    .await
    .expect("a programme");
    cohort::ActiveModel {
        programme_id: Set(created.id),
        // The first of the themes the migrations bring.
        theme_id: Set(1),
        participants_post_resources: Set(false),
        created_at: Set(app.clock.now_for_tests()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a cohort")
    .id
}

async fn sign_in_link(
    app: &TestApp,
    user_id: i32,
    name: &str,
    expires_at: DateTime<Utc>,
    consumed_at: Option<DateTime<Utc>>,
) {
    sign_in_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(format!("hash-{name}")),
        expires_at: Set(expires_at),
        consumed_at: Set(consumed_at),
        created_at: Set(expires_at - Duration::minutes(15)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a sign-in link");
}

async fn sign_in_links_left(app: &TestApp) -> Vec<String> {
    sign_in_token::Entity::find()
        .order_by_asc(sign_in_token::Column::Id)
        .all(&app.db)
        .await
        .expect("the links")
        .into_iter()
        .map(|link| link.token_hash.trim_start_matches("hash-").to_string())
        .collect()
}

#[tokio::test]
async fn sign_in_links_go_their_period_after_use_or_expiry_never_a_day_early_and_once() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let start = app.clock.now_for_tests();
    let kari = person(&app, "kari@example.no", start, &[]).await;
    sign_in_link(&app, kari, "expired", start, None).await;
    // Used at the start, though it would have worked ten minutes more.
    sign_in_link(&app, kari, "used", start + Duration::minutes(10), Some(start)).await;
    sign_in_link(&app, kari, "next-day", start + Duration::days(1), None).await;
    let period = Duration::days(app.settings.retention_sign_in_days.into());

    app.clock.advance(period - Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "nothing goes a day early"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "the period to the minute is not over"
    );
    assert_eq!(sign_in_links_left(&app).await, ["expired", "used", "next-day"]);

    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport {
            sign_in_tokens: 2,
            ..Default::default()
        },
        "both go on time, the used one by its use"
    );
    assert_eq!(sign_in_links_left(&app).await, ["next-day"]);
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "a second run changes nothing"
    );

    app.clock.advance(Duration::days(1));
    assert_eq!(run(&app, &state).await.sign_in_tokens, 1);
    assert!(sign_in_links_left(&app).await.is_empty());
}

#[tokio::test]
async fn the_last_sign_in_is_remembered_after_its_link_is_gone() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let start = app.clock.now_for_tests();
    // In no cohort, with an account older than the period: due, unless they still sign in.
    let old_account = start - Duration::days(4 * 365);
    let ola = person(&app, "ola@example.no", old_account, &[]).await;
    assert_eq!(people_due(&app, start).await, [ola]);

    app.sign_in("ola@example.no").await;
    assert_eq!(people_due(&app, start).await, Vec::<i32>::new(), "signed in today");
    app.clock
        .advance(Duration::days(app.settings.retention_sign_in_days.into()) + Duration::days(1));
    assert_eq!(run(&app, &state).await.sign_in_tokens, 1, "the link is gone");
    assert_eq!(sign_in_links_left(&app).await, Vec::<String>::new());
    let later = app.clock.now_for_tests();
    assert_eq!(
        people_due(&app, later).await,
        Vec::<i32>::new(),
        "the sign-in still counts"
    );
    let years = app.settings.retention_programme_years;
    let period_after_sign_in = start + Duration::days(i64::from(years) * 366);
    assert_eq!(people_due(&app, period_after_sign_in).await, [ola]);
}

async fn invitation(
    app: &TestApp,
    cohort_id: i32,
    inviter: i32,
    name: &str,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
) -> i32 {
    invitation::ActiveModel {
        cohort_id: Set(cohort_id),
        email: Set(format!("{name}@example.no")),
        name: Set(name.into()),
        role: Set(Role::Expert),
        grant_id: Set(None),
        invited_by: Set(inviter),
        token_hash: Set(format!("hash-{name}")),
        expires_at: Set(expires_at),
        accepted_at: Set(accepted_at),
        created_at: Set(expires_at - Duration::days(14)),
        sent_at: Set(Some(expires_at - Duration::days(14))),
        bounced_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("an invitation")
    .id
}

async fn invitations_left(app: &TestApp) -> Vec<String> {
    invitation::Entity::find()
        .order_by_asc(invitation::Column::Id)
        .all(&app.db)
        .await
        .expect("the invitations")
        .into_iter()
        .map(|found| found.name)
        .collect()
}

#[tokio::test]
async fn invitations_never_accepted_are_anonymised_their_period_after_they_expired_never_a_day_early_and_once() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let start = app.clock.now_for_tests();
    let cohort_id = cohort_in_programme(&app, "Klimasats-forum 2027", "2027-01-04", "2027-12-17").await;
    let marte = person(&app, "marte@example.no", start, &[cohort_id]).await;
    let expired = invitation(&app, cohort_id, marte, "expired", start, None).await;
    invitation(
        &app,
        cohort_id,
        marte,
        "accepted",
        start,
        Some(start - Duration::days(3)),
    )
    .await;
    invitation(&app, cohort_id, marte, "open", start + Duration::days(10), None).await;
    // An expert booked for a session while the expired invitation was open.
    let planned = session::ActiveModel {
        cohort_id: Set(cohort_id),
        number: Set(1),
        title: Set("Første samling".into()),
        title_key: Set(None),
        starts_at: Set(start + Duration::days(30)),
        ends_at: Set(start + Duration::days(30) + Duration::hours(3)),
        meeting_url: Set(None),
        agenda: Set(String::new()),
        status: Set(SessionStatus::Planned),
        capacity: Set(None),
        sequence: Set(0),
        recap_summary: Set(String::new()),
        recap_decisions: Set(String::new()),
        recap_resources: Set(String::new()),
        recap_published_at: Set(None),
        created_at: Set(start),
        updated_at: Set(start),
        nudged_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a session");
    session_invitation::ActiveModel {
        session_id: Set(planned.id),
        invitation_id: Set(expired),
        topic: Set("Matsvinn i storkjøkken".into()),
        created_at: Set(start),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a booking");
    let period = Duration::days(app.settings.retention_invitation_days.into());

    app.clock.advance(period - Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "nothing goes a day early"
    );
    assert_eq!(invitations_left(&app).await, ["expired", "accepted", "open"]);

    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport {
            invitations: 1,
            ..Default::default()
        },
        "the expired one goes on time"
    );
    assert_eq!(
        invitations_left(&app).await,
        ["", "accepted", "open"],
        "the expired one stays without its name (the report counts it); an accepted one stays with the person"
    );
    assert_eq!(
        session_invitation::Entity::find()
            .count(&app.db)
            .await
            .expect("a count"),
        0,
        "the booking that waited for it goes with it"
    );
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "a second run changes nothing"
    );

    app.clock.advance(Duration::days(10));
    assert_eq!(
        run(&app, &state).await.invitations,
        1,
        "the open one, its period after it expired"
    );
    assert_eq!(invitations_left(&app).await, ["", "accepted", ""]);
}

/// Three food-waste projects of the 2027 programme, each with its contact.
pub(crate) const FOOD_GRANTS: &str = "Prosjektnummer;Tittel;Fylke;Søker;Kommunenummer;Tilskudd;Status;Varighet av prosjekt;Type tiltak;Tildelingsår;Kontaktperson;E-post;Beskrivelse
2021-0412;Matsvinn i kantiner;Trøndelag;Trondheim kommune;5001;1 200 000;Gjennomført;Mar 2021 - Des 2022;Mat og matsvinn;2021;Kari Nordmann;kari@trondheim.example.no;Veiing av matavfall.
2022-0433;Klimavennlig skolemat;Vestland;Bergen kommune;4601;850 000;Pågående;Aug 2022 - Jun 2028;Mat og matsvinn;2022;Ola Hansen;ola@bergen.example.no;Plantebasert skolelunsj.
2022-0440;Matredding på Voss;Vestland;Voss kommune;4621;300 000;Pågående;Aug 2022 - Jun 2028;Mat og matsvinn;2022;Siri Voss;siri@voss.example.no;Matredding.
";

/// The food cohort with every project's contact invited: Kari accepted, Ola and Siri not.
pub(crate) struct InvitedProjects {
    pub admin: String,
    pub programme: i64,
    pub cohort: i64,
    pub facilitator: String,
    /// The link token of Siri's invitation mail.
    pub siri_link: String,
}

pub(crate) async fn invited_projects(app: &TestApp) -> InvitedProjects {
    let admin = app.admin_token().await;
    let programme = app.create_programme(&admin).await["id"].as_i64().expect("an id");
    app.import(&admin, FOOD_GRANTS.as_bytes().to_vec()).await;
    let cohorts = app.get("/api/v1/cohorts", Some(&admin)).await.json();
    let cohort = cohorts[0]["id"].as_i64().expect("the food cohort");
    assert_eq!(cohorts.as_array().map(Vec::len), Some(1), "{cohorts}");
    let facilitator = app
        .facilitator_token(&admin, cohort, "fa@example.no", "Frida Fasilitator")
        .await;
    let invited = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/invitations/contacts"),
            Some(&facilitator),
            &serde_json::json!({}),
        )
        .await;
    assert!(invited.status.is_success(), "{}", invited.body);
    let kari_link = app
        .smtp
        .wait_for_mail_to("kari@trondheim.example.no")
        .await
        .link_token("/invitations/accept");
    let accepted = app
        .post_json(
            "/api/v1/invitations/accept",
            None,
            &serde_json::json!({ "token": kari_link }),
        )
        .await;
    assert!(accepted.status.is_success(), "{}", accepted.body);
    let siri_link = app
        .smtp
        .wait_for_mail_to("siri@voss.example.no")
        .await
        .link_token("/invitations/accept");
    InvitedProjects {
        admin,
        programme,
        cohort,
        facilitator,
        siri_link,
    }
}

/// The programme report's "projects invited", as the report's API gives it.
pub(crate) async fn projects_invited(app: &TestApp, token: &str, programme: i64) -> i64 {
    let response = app
        .get(&format!("/api/v1/reports/programmes/{programme}"), Some(token))
        .await;
    assert!(response.status.is_success(), "{}", response.body);
    let report = response.json();
    let summary = report["tables"]
        .as_array()
        .and_then(|tables| tables.iter().find(|table| table["key"] == "summary"))
        .unwrap_or_else(|| panic!("a summary in {report}"));
    summary["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row[0] == "projects_invited"))
        .and_then(|row| row[1].as_i64())
        .unwrap_or_else(|| panic!("projects_invited in {summary}"))
}

/// Whether any invitation still holds `text` in its address or name.
pub(crate) async fn invitations_holding(app: &TestApp, text: &str) -> Vec<String> {
    let text = text.to_lowercase();
    invitation::Entity::find()
        .all(&app.db)
        .await
        .expect("the invitations")
        .into_iter()
        .filter(|found| found.email.to_lowercase().contains(&text) || found.name.to_lowercase().contains(&text))
        .map(|found| format!("{} <{}>", found.name, found.email))
        .collect()
}

#[tokio::test]
async fn purged_invitations_still_count_in_the_report_but_hold_no_address_and_open_nothing() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let known = invited_projects(&app).await;
    assert_eq!(projects_invited(&app, &known.admin, known.programme).await, 3);

    // Ola's and Siri's invitations expire after 14 days and go the period after that.
    app.clock.advance(
        Duration::days(14) + Duration::days(app.settings.retention_invitation_days.into()) + Duration::minutes(1),
    );
    assert_eq!(run(&app, &state).await.invitations, 2, "the two never accepted");
    assert_eq!(run(&app, &state).await.invitations, 0, "a second run changes nothing");
    let admin = app.sign_in("admin@example.no").await;
    assert_eq!(
        projects_invited(&app, &admin, known.programme).await,
        3,
        "the projects were invited, whatever became of the invitations"
    );
    for gone in [
        "ola@bergen.example.no",
        "Ola Hansen",
        "siri@voss.example.no",
        "Siri Voss",
    ] {
        assert_eq!(invitations_holding(&app, gone).await, Vec::<String>::new(), "{gone}");
    }
    assert_eq!(
        invitations_holding(&app, "kari@trondheim.example.no").await.len(),
        1,
        "the accepted one stays with the person"
    );

    // The link opens nothing, and the facilitator neither sees nor resends what is left.
    let opened = app
        .post_json(
            "/api/v1/invitations/accept",
            None,
            &serde_json::json!({ "token": known.siri_link }),
        )
        .await;
    assert_eq!(
        (opened.status.as_u16(), opened.code()),
        (422, "invitation_invalid".into())
    );
    let facilitator = app.sign_in("fa@example.no").await;
    let pending = app
        .get(
            &format!("/api/v1/cohorts/{}/invitations", known.cohort),
            Some(&facilitator),
        )
        .await
        .json();
    assert_eq!(pending, serde_json::json!([]), "nothing pending");
    let contacts = app
        .get(
            &format!("/api/v1/cohorts/{}/contacts", known.cohort),
            Some(&facilitator),
        )
        .await
        .json();
    let states: Vec<(String, String)> = contacts
        .as_array()
        .expect("contacts")
        .iter()
        .map(|contact| {
            (
                contact["contact_name"].as_str().unwrap_or_default().to_string(),
                contact["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("Ola Hansen".to_string(), "not_invited".to_string()),
            ("Kari Nordmann".to_string(), "accepted".to_string()),
            ("Siri Voss".to_string(), "not_invited".to_string()),
        ],
        "{contacts}"
    );
    let left: Vec<i32> = invitation::Entity::find()
        .filter(invitation::Column::AcceptedAt.is_null())
        .all(&app.db)
        .await
        .expect("the invitations")
        .into_iter()
        .map(|found| found.id)
        .collect();
    assert_eq!(left.len(), 2, "the rows stay for the report");
    for id in left {
        let resent = app
            .post_json(
                &format!("/api/v1/invitations/{id}/resend"),
                Some(&facilitator),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(resent.status.as_u16(), 404, "{}", resent.body);
        let withdrawn = app
            .send_json(
                reqwest::Method::DELETE,
                &format!("/api/v1/invitations/{id}"),
                Some(&facilitator),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(withdrawn.status.as_u16(), 404, "{}", withdrawn.body);
    }
    assert_eq!(projects_invited(&app, &admin, known.programme).await, 3);

    // Inviting the contacts again invites them anew; the report still counts each project once.
    let again = app
        .post_json(
            &format!("/api/v1/cohorts/{}/invitations/contacts", known.cohort),
            Some(&facilitator),
            &serde_json::json!({}),
        )
        .await;
    assert!(again.status.is_success(), "{}", again.body);
    app.smtp.wait_for_nth_mail_to("siri@voss.example.no", 2).await;
    assert_eq!(projects_invited(&app, &admin, known.programme).await, 3);
}

async fn mail(app: &TestApp, name: &str, status: outbox_mail::Status, at: DateTime<Utc>) {
    // A pending mail is not due for the worker (the test decides what happens to it); a failed
    // or cancelled one had its last attempt due when it was made.
    let last_attempt = if status == outbox_mail::Status::Pending {
        at + Duration::days(10_000)
    } else {
        at
    };
    mail_tried(app, name, status, at, last_attempt).await;
}

async fn mail_tried(
    app: &TestApp,
    name: &str,
    status: outbox_mail::Status,
    at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
) {
    let sent = status == outbox_mail::Status::Sent;
    outbox_mail::ActiveModel {
        kind: Set(outbox_mail::Kind::Notice),
        digest_id: Set(None),
        user_id: Set(None),
        message_id: Set(format!("<{name}@samling.test>")),
        recipient: Set("kari@example.no".into()),
        subject: Set(name.into()),
        text_body: Set("Hei".into()),
        html_body: Set("<p>Hei</p>".into()),
        calendar: Set(None),
        unsubscribe_url: Set(String::new()),
        status: Set(status),
        attempts: Set(1),
        next_attempt_at: Set(next_attempt_at),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_error: Set((status == outbox_mail::Status::Failed).then(|| "550 no such user".to_string())),
        created_at: Set(at),
        sent_at: Set(sent.then_some(at)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("a mail");
}

async fn mails_left(app: &TestApp) -> Vec<String> {
    outbox_mail::Entity::find()
        .order_by_asc(outbox_mail::Column::Id)
        .all(&app.db)
        .await
        .expect("the outbox")
        .into_iter()
        .map(|found| found.subject)
        .collect()
}

#[tokio::test]
async fn sent_failed_and_cancelled_mail_go_their_period_after_never_a_day_early_and_once_and_pending_stays() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let start = app.clock.now_for_tests();
    mail(&app, "sent", outbox_mail::Status::Sent, start).await;
    mail(
        &app,
        "sent-next-day",
        outbox_mail::Status::Sent,
        start + Duration::days(1),
    )
    .await;
    mail(&app, "failed", outbox_mail::Status::Failed, start).await;
    // Made at the start, given up at its last attempt a day later.
    mail_tried(
        &app,
        "failed-next-day",
        outbox_mail::Status::Failed,
        start,
        start + Duration::days(1),
    )
    .await;
    mail(&app, "cancelled", outbox_mail::Status::Cancelled, start).await;
    mail(&app, "pending", outbox_mail::Status::Pending, start).await;
    let period = Duration::days(app.settings.retention_outbox_days.into());

    app.clock.advance(period - Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "nothing goes a day early"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "the period to the minute is not over"
    );

    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport {
            outbox_mails: 3,
            ..Default::default()
        },
        "the sent, the failed and the cancelled one go on time"
    );
    assert_eq!(mails_left(&app).await, ["sent-next-day", "failed-next-day", "pending"]);
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "a second run changes nothing"
    );

    app.clock.advance(Duration::days(1));
    assert_eq!(
        run(&app, &state).await.outbox_mails,
        2,
        "a day later, the mail sent then and the mail given up then"
    );
    app.clock.advance(Duration::days(400));
    assert_eq!(run(&app, &state).await, RetentionReport::default());
    assert_eq!(
        mails_left(&app).await,
        ["pending"],
        "mail still to go is never purged by the job"
    );
}

#[tokio::test]
async fn people_are_due_when_every_programme_of_theirs_ended_the_period_before_today_in_oslo() {
    let app = spawn_app().await;
    // 10 March 2027, 10:00 in Oslo; the period is three years.
    let today = app.clock.now_for_tests();
    assert_eq!(app.settings.retention_programme_years, 3);
    let ended = cohort_in_programme(&app, "Klimasats-forum 2023", "2023-01-02", "2024-03-09").await;
    let ends_on_the_day = cohort_in_programme(&app, "Klimasats-forum 2023 høst", "2023-08-14", "2024-03-10").await;
    let newer = cohort_in_programme(&app, "Klimasats-forum 2025", "2025-01-06", "2025-06-30").await;
    let long_ago = today - Duration::days(6 * 365);

    let ada = person(&app, "ada@example.no", long_ago, &[ended]).await;
    let bo = person(&app, "bo@example.no", long_ago, &[ended, newer]).await;
    let cy = person(&app, "cy@example.no", long_ago, &[ended]).await;
    set_person(&app, cy, user::Column::IsAdmin, true).await;
    let eli = person(&app, "eli@example.no", long_ago, &[ends_on_the_day]).await;
    let gro = person(&app, "gro@example.no", long_ago, &[ended]).await;
    set_person(&app, gro, user::Column::Active, false).await;
    // In no cohort: an old unused account, an old account used lately, a new account.
    let dag = person(&app, "dag@example.no", long_ago, &[]).await;
    let eva = person(&app, "eva@example.no", long_ago, &[]).await;
    set_person(&app, eva, user::Column::LastSignedInAt, today - Duration::days(2 * 365)).await;
    let finn = person(&app, "finn@example.no", today - Duration::days(365), &[]).await;

    assert_eq!(
        people_due(&app, today - Duration::days(1)).await,
        [dag],
        "a day early, the programme ended the period ago to the day, not more"
    );
    assert_eq!(
        people_due(&app, today).await,
        [ada, gro, dag],
        "not {bo} (a newer programme), not {cy} (an admin), not {eli} (a day early), not {eva} or {finn} (in use)"
    );
    // 23:30 UTC on 9 March is already 10 March in Oslo.
    let oslo_midnight = Utc.with_ymd_and_hms(2027, 3, 9, 23, 30, 0).single().expect("a time");
    assert_eq!(
        people_due(&app, oslo_midnight).await,
        [ada, gro, dag],
        "Oslo's date counts"
    );
    assert_eq!(people_due(&app, today + Duration::days(1)).await, [ada, eli, gro, dag]);
    // The newer programme's period is over in July 2028.
    assert_eq!(
        people_due(
            &app,
            Utc.with_ymd_and_hms(2028, 7, 1, 9, 0, 0).single().expect("a time")
        )
        .await,
        [ada, bo, eli, gro, dag, eva]
    );
}

#[tokio::test]
async fn people_due_are_anonymised_once_and_their_posts_stay() {
    let app = spawn_app().await;
    let state = job_state(&app).await;
    let today = app.clock.now_for_tests();
    let ended = cohort_in_programme(&app, "Klimasats-forum 2023", "2023-01-02", "2024-03-09").await;
    let newer = cohort_in_programme(&app, "Klimasats-forum 2027", "2027-01-04", "2027-12-17").await;
    let long_ago = today - Duration::days(6 * 365);
    let ada = person(&app, "ada@example.no", long_ago, &[ended]).await;
    person(&app, "bo@example.no", long_ago, &[ended, newer]).await;

    app.clock.advance(-Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "nothing goes a day early"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        run(&app, &state).await,
        RetentionReport {
            anonymised: vec![ada],
            ..Default::default()
        }
    );
    assert_eq!(
        run(&app, &state).await,
        RetentionReport::default(),
        "a second run changes nothing"
    );
    let left: Vec<String> = user::Entity::find()
        .all(&app.db)
        .await
        .expect("the people")
        .into_iter()
        .map(|found| found.email)
        .collect();
    assert!(!left.iter().any(|email| email == "ada@example.no"), "{left:?}");
    assert!(left.iter().any(|email| email == "bo@example.no"), "{left:?}");
}

async fn wait_until_no_sign_in_links(app: &TestApp) {
    for _ in 0..200 {
        if sign_in_links_left(app).await.is_empty() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the server did not purge the sign-in links");
}

#[tokio::test]
async fn the_server_runs_the_job_at_start_unless_it_is_turned_off() {
    let app = spawn_app().await;
    let start = app.clock.now_for_tests();
    let kari = person(&app, "kari@example.no", start, &[]).await;
    sign_in_link(&app, kari, "expired", start, None).await;
    app.clock
        .advance(Duration::days(app.settings.retention_sign_in_days.into()) + Duration::days(1));

    let off = app
        .start_instance_with(|settings| settings.retention_interval_hours = 0)
        .await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(
        sign_in_links_left(&app).await,
        ["expired"],
        "turned off, it does not run"
    );
    off.stop();

    let on = app
        .start_instance_with(|settings| settings.retention_interval_hours = 24)
        .await;
    wait_until_no_sign_in_links(&app).await;
    on.stop();
}
