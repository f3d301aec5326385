//! E-mail digests through a real SMTP server: the three kinds, languages, one-click
//! unsubscribe, the schedule on weekends, holidays and the daylight-saving change (with the
//! injected clock), and the outbox under a killed worker and two workers at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use samling::domain::roles::Role;
use samling::entities::{outbox_mail, session, user};
use samling::state::AppState;
use samling_tests::{ReceivedMail, TestApp, spawn_app_with};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::discussion::{reply, start_thread};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a UTC time")
}

/// A server whose own digest worker is off: the tests run digests themselves, at the times they
/// set on the clock.
async fn digest_app() -> TestApp {
    spawn_app_with(|settings| settings.digest_interval_seconds = 0).await
}

/// Another "instance" of the server's digest machinery on the same database, clock and SMTP
/// server: what a worker needs.
async fn worker_state(app: &TestApp) -> AppState {
    samling::startup::build_state(app.settings.clone(), Arc::new(app.clock.clone()))
        .await
        .expect("a worker's state")
}

async fn run(state: &AppState) -> samling::digests::RunReport {
    samling::digests::run_due(state, "test-worker")
        .await
        .expect("a digest run")
}

fn set_clock(app: &TestApp, at: &str) {
    let now = samling_tests::ClockExt::now_for_tests(&app.clock);
    app.clock.advance(utc(at) - now);
}

/// A session of two hours starting at `starts` (UTC).
async fn add_session(app: &TestApp, cohort_id: i64, number: i32, starts: &str) -> session::Model {
    let starts_at = utc(starts);
    let now = samling_tests::ClockExt::now_for_tests(&app.clock);
    session::ActiveModel {
        cohort_id: Set(cohort_id as i32),
        number: Set(number),
        title: Set(format!("Samling {number}")),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + Duration::hours(2)),
        meeting_url: Set(Some("https://meet.example.no/samling".into())),
        agenda: Set("1. **Matsvinn** i kantiner\n2. Erfaringer".into()),
        status: Set(samling::domain::sessions::SessionStatus::Confirmed),
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

async fn publish_recap(app: &TestApp, found: &session::Model, summary: &str) {
    let mut change: session::ActiveModel = found.clone().into();
    change.recap_summary = Set(summary.to_string());
    change.recap_resources = Set("[Veileder for matsvinn](https://example.no/veileder)".into());
    change.recap_published_at = Set(Some(found.ends_at));
    change.update(&app.db).await.expect("recap published");
}

async fn set_person(app: &TestApp, email: &str, language: &str, preference: &str) {
    let person = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the person");
    let mut change: user::ActiveModel = person.into();
    change.language = Set(language.to_string());
    change.digest_preference = Set(preference.to_string());
    change.update(&app.db).await.unwrap();
}

fn subjects(mails: &[ReceivedMail]) -> Vec<String> {
    mails.iter().map(ReceivedMail::subject).collect()
}

fn recaps_to(app: &TestApp, address: &str) -> Vec<ReceivedMail> {
    app.smtp
        .mails_to(address)
        .into_iter()
        .filter(|mail| mail.subject().starts_with("Oppsummering") || mail.subject().starts_with("Recap"))
        .collect()
}

/// The food cohort with a facilitator and three members: Kari (Bokmål), Ola (English) and Per
/// (wants no e-mail).
async fn food_cohort(app: &TestApp) -> (i64, String) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    app.member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    app.member_token(food, "per@example.no", "Per", Role::ProjectLead).await;
    set_person(app, "ola@example.no", "en", "everything").await;
    set_person(app, "per@example.no", "nb", "nothing").await;
    (food, facilitator)
}

#[tokio::test]
async fn a_recap_due_on_saturday_goes_out_on_monday_at_eight_in_each_readers_language() {
    let app = digest_app().await;
    let (food, facilitator) = food_cohort(&app).await;
    // Friday 12 March 2027: the day after is a Saturday.
    let friday = add_session(&app, food, 1, "2027-03-12T12:00:00Z").await;
    let (thread_id, _) = start_thread(&app, &facilitator, food, "Kantinemat som blir til overs", "t1").await;
    let mut tied: samling::entities::thread::ActiveModel =
        samling::entities::thread::Entity::find_by_id(thread_id as i32)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    tied.session_id = Set(Some(friday.id));
    tied.update(&app.db).await.unwrap();
    publish_recap(&app, &friday, "Vi delte erfaringer med **matsvinn** i kantiner.").await;
    let worker = worker_state(&app).await;

    for (at, expected) in [
        ("2027-03-13T09:00:00Z", 0), // Saturday
        ("2027-03-15T06:59:00Z", 0), // Monday 07:59 in Oslo
        ("2027-03-15T07:00:00Z", 1), // Monday 08:00 in Oslo
        ("2027-03-16T07:00:00Z", 1), // a later run sends nothing again
    ] {
        set_clock(&app, at);
        run(&worker).await;
        assert_eq!(
            recaps_to(&app, "kari@example.no").len(),
            expected,
            "Kari's recaps at {at}"
        );
    }
    let kari = &recaps_to(&app, "kari@example.no")[0];
    assert_eq!(kari.subject(), "Oppsummering: Samling 1");
    let text = kari.text();
    assert!(text.contains("Hei Kari,"), "{text}");
    assert!(
        text.contains("Vi delte erfaringer med **matsvinn** i kantiner."),
        "{text}"
    );
    assert!(
        text.contains("Kantinemat som blir til overs"),
        "the session's thread: {text}"
    );
    assert!(text.contains(&format!("/threads/{thread_id}")), "{text}");
    let html = kari.html();
    assert!(html.contains("<h1>Oppsummering: Samling 1</h1>"), "{html}");
    assert!(html.contains("<h2>Oppsummering</h2>"), "{html}");
    assert!(html.contains("<strong>matsvinn</strong>"), "markdown rendered: {html}");
    assert!(html.contains(r#"rel="nofollow noopener""#), "links sanitised: {html}");
    assert!(!html.contains("<table"), "no layout tables");
    assert!(
        kari.header("Message-ID").starts_with("<digest-"),
        "{}",
        kari.header("Message-ID")
    );
    assert_eq!(kari.header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");

    let ola = recaps_to(&app, "ola@example.no");
    assert_eq!(subjects(&ola), vec!["Recap: Samling 1".to_string()], "in English");
    assert!(ola[0].text().contains("Hello Ola,"), "{}", ola[0].text());
    assert!(app.smtp.mails_to("per@example.no").is_empty(), "Per wants no e-mail");
}

#[tokio::test]
async fn one_click_unsubscribe_from_the_mail_stops_every_later_digest() {
    let app = digest_app().await;
    let (food, _) = food_cohort(&app).await;
    let first = add_session(&app, food, 1, "2027-03-12T12:00:00Z").await;
    add_session(&app, food, 2, "2027-04-14T09:00:00Z").await;
    publish_recap(&app, &first, "Oppsummert.").await;
    let worker = worker_state(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    run(&worker).await;
    let recap = &recaps_to(&app, "kari@example.no")[0];

    // The header link is for mail programs: a POST without cookies or CSRF token.
    let header = recap.header("List-Unsubscribe");
    let url = header.trim_start_matches('<').trim_end_matches('>');
    assert!(url.contains("/api/v1/unsubscribe?token="), "{url}");
    let forged = app
        .api
        .post(url.replace("token=", "token=x"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a changed token is refused"
    );
    let unsubscribed = app
        .api
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(unsubscribed.status(), StatusCode::OK);

    // The link in the text asks first (a link checker opening it changes nothing).
    let page_token = recap.link_token("/unsubscribe");
    let page = app.get(&format!("/unsubscribe?token={page_token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Meld meg av"), "{}", page.body);

    // Reminders for session 2 go out on Friday 9 April: to Ola, not to Kari.
    set_clock(&app, "2027-04-09T06:00:00Z");
    run(&worker).await;
    let reminders_to = |address: &str| {
        app.smtp
            .mails_to(address)
            .into_iter()
            .filter(|mail| mail.subject().starts_with("Påminnelse") || mail.subject().starts_with("Reminder"))
            .count()
    };
    assert_eq!(reminders_to("ola@example.no"), 1);
    assert_eq!(reminders_to("kari@example.no"), 0, "unsubscribed");
}

#[tokio::test]
async fn the_daylight_saving_weekend_and_easter_push_a_recap_to_tuesday_at_eight_summer_time() {
    let app = digest_app().await;
    let (food, _) = food_cohort(&app).await;
    // Wednesday 24 March 2027; Maundy Thursday, Good Friday, the weekend the clocks go forward
    // and Easter Monday follow.
    let found = add_session(&app, food, 1, "2027-03-24T09:00:00Z").await;
    publish_recap(&app, &found, "Påskeklar.").await;
    let worker = worker_state(&app).await;
    for (at, expected) in [
        ("2027-03-25T07:00:00Z", 0), // Maundy Thursday
        ("2027-03-28T07:00:00Z", 0), // Easter Sunday, the clocks went forward at 02:00
        ("2027-03-29T06:00:00Z", 0), // Easter Monday 08:00
        ("2027-03-30T05:59:00Z", 0), // Tuesday 07:59 summer time
        ("2027-03-30T06:00:00Z", 1), // Tuesday 08:00 summer time
    ] {
        set_clock(&app, at);
        run(&worker).await;
        assert_eq!(recaps_to(&app, "kari@example.no").len(), expected, "at {at}");
    }
}

#[tokio::test]
async fn the_activity_digest_holds_only_unread_visible_posts_and_is_skipped_when_there_is_nothing() {
    let app = digest_app().await;
    let (food, facilitator) = food_cohort(&app).await;
    let kari = app.sign_in("kari@example.no").await;
    let ola = app.sign_in("ola@example.no").await;
    add_session(&app, food, 1, "2027-03-03T09:00:00Z").await;
    add_session(&app, food, 2, "2027-04-21T09:00:00Z").await;
    // Kari asks; Ola answers twice, and one answer is hidden by the facilitator.
    let (question, _) = start_thread(&app, &kari, food, "Hvordan måler dere matsvinn?", "q1").await;
    reply(&app, &ola, question, "Vi veier alt.", "r1").await;
    let hidden = reply(&app, &ola, question, "Noe upassende.", "r2").await;
    let hide = app
        .post_json(
            &format!("/api/v1/posts/{}/hide", hidden["id"]),
            Some(&facilitator),
            &json!({ "reason": "Upassende", "version": hidden["version"] }),
        )
        .await;
    assert_eq!(hide.status, StatusCode::OK, "{}", hide.body);
    // Ola starts a thread Kari has not opened; Ola has read everything.
    start_thread(&app, &ola, food, "Kompostering i barnehager", "q2").await;
    let detail = app.get(&format!("/api/v1/threads/{question}"), Some(&ola)).await.json();
    let last = detail["posts"].as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    let read = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/threads/{question}/read"),
            Some(&ola),
            &json!({ "last_read_post_id": last }),
        )
        .await;
    assert!(read.status.is_success(), "{}", read.body);

    // The first activity digest after the recap of 3 March: Monday 15 March (week 11).
    let worker = worker_state(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    run(&worker).await;
    let activity: Vec<ReceivedMail> = app
        .smtp
        .mails_to("kari@example.no")
        .into_iter()
        .filter(|mail| mail.subject().starts_with("Nytt i"))
        .collect();
    assert_eq!(
        activity.len(),
        1,
        "{:?}",
        subjects(&app.smtp.mails_to("kari@example.no"))
    );
    let text = activity[0].text();
    assert!(
        text.contains("Hvordan måler dere matsvinn?: 1 nytt svar"),
        "the hidden reply is not counted: {text}"
    );
    assert!(text.contains("Kompostering i barnehager (av Ola)"), "{text}");
    assert!(!text.contains("upassende"), "{text}");
    // Ola has read Kari's thread and wrote the other one: nothing new for him, no mail.
    assert!(
        app.smtp
            .mails_to("ola@example.no")
            .iter()
            .all(|mail| !mail.subject().starts_with("New in")),
        "{:?}",
        subjects(&app.smtp.mails_to("ola@example.no"))
    );
}

#[tokio::test]
async fn the_activity_digest_lists_resources_others_shared_since_the_last_digest() {
    let app = digest_app().await;
    let (food, facilitator) = food_cohort(&app).await;
    add_session(&app, food, 1, "2027-03-03T09:00:00Z").await;
    add_session(&app, food, 2, "2027-04-21T09:00:00Z").await;
    let shared = app
        .api
        .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
        .bearer_auth(&facilitator)
        .multipart(
            reqwest::multipart::Form::new()
                .text("title", "Veileder for veiing")
                .text("url", "https://example.no/veileder"),
        )
        .send()
        .await
        .expect("shared");
    assert_eq!(shared.status(), StatusCode::CREATED);
    let resource: serde_json::Value = shared.json().await.expect("the resource");

    let worker = worker_state(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    run(&worker).await;
    let activity: Vec<ReceivedMail> = app
        .smtp
        .mails_to("kari@example.no")
        .into_iter()
        .filter(|mail| mail.subject().starts_with("Nytt i"))
        .collect();
    assert_eq!(
        activity.len(),
        1,
        "{:?}",
        subjects(&app.smtp.mails_to("kari@example.no"))
    );
    let text = activity[0].text();
    assert!(text.contains("Nye ressurser"), "{text}");
    assert!(
        text.contains("Veileder for veiing (delt av Frida Fasilitator)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("/cohorts/{food}/resources#resource-{}", resource["id"])),
        "{text}"
    );
    // The one who shared it is not told about it.
    assert!(
        app.smtp
            .mails_to("fasilitator@example.no")
            .iter()
            .all(|mail| !mail.subject().starts_with("Nytt i")),
        "{:?}",
        subjects(&app.smtp.mails_to("fasilitator@example.no"))
    );
}

#[tokio::test]
async fn the_reminder_carries_the_time_agenda_registration_and_calendar_invitation() {
    let app = digest_app().await;
    let (food, _) = food_cohort(&app).await;
    // Thursday 18 March 2027 09:00 UTC (10:00 in Oslo): reminder Monday 15 March at 08:00.
    let found = add_session(&app, food, 1, "2027-03-18T09:00:00Z").await;
    let worker = worker_state(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    run(&worker).await;
    let reminder = app
        .smtp
        .mails_to("kari@example.no")
        .into_iter()
        .find(|mail| mail.subject().starts_with("Påminnelse"))
        .expect("a reminder");
    let text = reminder.text();
    assert!(text.contains("torsdag 18. mars"), "Oslo date: {text}");
    assert!(text.contains("10:00"), "Oslo time: {text}");
    assert!(text.contains("Matsvinn"), "the agenda: {text}");
    assert!(text.contains("Du er ikke påmeldt ennå."), "{text}");
    assert!(text.contains(&format!("/sessions/{}", found.id)), "{text}");
    let (content_type, calendar) = reminder.attachment().expect("an invitation");
    assert_eq!(content_type, "text/calendar");
    assert!(
        calendar.contains(&format!("UID:session-{}@127.0.0.1", found.id)),
        "{calendar}"
    );
}

/// Sixty members, so a batch is in flight when the worker is killed.
async fn crowded_cohort(app: &TestApp) -> (i64, Vec<String>) {
    let (food, _) = food_cohort(app).await;
    let mut addresses = vec!["kari@example.no".to_string(), "ola@example.no".to_string()];
    for n in 0..58 {
        let address = format!("medlem{n}@example.no");
        app.member_token(food, &address, &format!("Medlem {n}"), Role::ProjectLead)
            .await;
        addresses.push(address);
    }
    let found = add_session(app, food, 1, "2027-03-12T12:00:00Z").await;
    publish_recap(app, &found, "Mange med.").await;
    (food, addresses)
}

/// Every address got the recap, each copy with the same Message-ID; returns how many got a
/// second copy.
fn each_got_one_recap(app: &TestApp, addresses: &[String]) -> usize {
    let mut resent = 0;
    for address in addresses {
        let recaps = recaps_to(app, address);
        assert!(!recaps.is_empty(), "{address} got no recap");
        let ids: HashSet<String> = recaps.iter().map(|mail| mail.header("Message-ID")).collect();
        assert_eq!(ids.len(), 1, "{address}: one digest, one Message-ID");
        resent += recaps.len() - 1;
    }
    resent
}

#[tokio::test]
async fn a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_sends_nothing_twice() {
    let app = digest_app().await;
    let (_, addresses) = crowded_cohort(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    // The doomed worker has its own state, as another process would: killing it drops its
    // SMTP connections with it.
    let doomed = worker_state(&app).await;
    let killed = tokio::spawn(async move { samling::digests::run_due(&doomed, "doomed").await });
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .smtp
        .all()
        .iter()
        .filter(|m| m.subject().starts_with("Oppsummering"))
        .count()
        < 10
    {
        assert!(tokio::time::Instant::now() < deadline, "the first worker sent nothing");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    killed.abort();
    let _ = killed.await;
    let sent_before = recaps_to_all(&app, &addresses);
    assert!(
        sent_before < addresses.len(),
        "killed before the end of the batch ({sent_before})"
    );

    // Its leases run out; another worker finishes.
    app.clock.advance(Duration::minutes(6));
    let rescuer = worker_state(&app).await;
    let report = samling::digests::run_due(&rescuer, "rescuer").await.unwrap();
    assert_eq!(report.decided, 0, "the digest was decided once");
    let resent = each_got_one_recap(&app, &addresses);
    // Only the mails that were in flight (a worker sends a few at once) can arrive twice, each
    // time with the same Message-ID.
    assert!(
        resent <= samling::digests::worker::SEND_CONCURRENCY,
        "only mails in flight are sent again: {resent}"
    );
    let rows = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Kind.eq("digest"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter().all(|row| row.status == outbox_mail::Status::Sent),
        "every row recorded as sent"
    );
}

fn recaps_to_all(app: &TestApp, addresses: &[String]) -> usize {
    addresses.iter().map(|address| recaps_to(app, address).len()).sum()
}

#[tokio::test]
async fn two_workers_at_once_send_every_digest_once() {
    let app = digest_app().await;
    let (_, addresses) = crowded_cohort(&app).await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    let (one, two) = (worker_state(&app).await, worker_state(&app).await);
    let (a, b) = tokio::join!(
        samling::digests::run_due(&one, "worker-one"),
        samling::digests::run_due(&two, "worker-two")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.decided + b.decided, 1, "the recap, decided by one of them");
    assert_eq!(each_got_one_recap(&app, &addresses), 0, "no copy twice");
    let rows = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Kind.eq("digest"))
        .all(&app.db)
        .await
        .unwrap();
    let per_person: HashMap<(Option<i32>, Option<i32>), usize> = rows.iter().fold(HashMap::new(), |mut seen, row| {
        *seen.entry((row.digest_id, row.user_id)).or_default() += 1;
        seen
    });
    assert!(per_person.values().all(|count| *count == 1));
    assert_eq!(a.sent + b.sent, rows.len(), "each row sent by one of them");
}

#[tokio::test]
async fn a_member_removed_or_unsubscribed_after_the_decision_gets_nothing() {
    let app = digest_app().await;
    let (food, _) = food_cohort(&app).await;
    let found = add_session(&app, food, 1, "2027-03-12T12:00:00Z").await;
    publish_recap(&app, &found, "Kort.").await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    // Decided by a worker whose SMTP server is gone, so nothing is sent yet.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = app.settings.clone();
    settings.smtp_port = closed.local_addr().unwrap().port();
    drop(closed);
    let broken = samling::startup::build_state(settings, Arc::new(app.clock.clone()))
        .await
        .unwrap();
    assert!(run(&broken).await.enqueued >= 2);
    // Then Ola leaves the cohort and Kari unsubscribes.
    let ola = user::Entity::find()
        .filter(user::Column::Email.eq("ola@example.no"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    samling::entities::membership::Entity::delete_many()
        .filter(samling::entities::membership::Column::UserId.eq(ola.id))
        .exec(&app.db)
        .await
        .unwrap();
    set_person(&app, "kari@example.no", "nb", "nothing").await;
    app.clock.advance(Duration::minutes(5));
    let working = worker_state(&app).await;
    run(&working).await;
    assert!(
        recaps_to(&app, "ola@example.no").is_empty(),
        "Ola left before it was sent"
    );
    assert!(
        recaps_to(&app, "kari@example.no").is_empty(),
        "Kari unsubscribed before it was sent"
    );
    let cancelled = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Status.eq("cancelled"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 2, "both kept as cancelled, not lost");
}

#[tokio::test]
async fn a_failing_smtp_server_is_retried_with_back_off_and_given_up_with_the_last_error() {
    let app = digest_app().await;
    let (food, _) = food_cohort(&app).await;
    let found = add_session(&app, food, 1, "2027-03-12T12:00:00Z").await;
    publish_recap(&app, &found, "Kort.").await;
    set_clock(&app, "2027-03-15T07:00:00Z");
    // A worker whose SMTP server is gone.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = app.settings.clone();
    settings.smtp_port = port;
    settings.digest_max_attempts = 2;
    let broken = samling::startup::build_state(settings, Arc::new(app.clock.clone()))
        .await
        .unwrap();
    let first = run(&broken).await;
    assert!(
        first.enqueued > 0 && first.sent == 0 && first.failed == first.enqueued,
        "{first:?}"
    );
    let rows = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Kind.eq("digest"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|row| row.status == outbox_mail::Status::Pending && row.attempts == 1)
    );
    assert!(
        rows.iter()
            .all(|row| row.next_attempt_at == utc("2027-03-15T07:02:00Z")),
        "back-off of 2 minutes"
    );
    assert!(rows.iter().all(|row| row.last_error.is_some()));
    // Not yet due again: nothing is tried.
    assert_eq!(run(&broken).await.failed, 0);
    app.clock.advance(Duration::minutes(2));
    let second = run(&broken).await;
    assert_eq!(second.failed, first.enqueued);
    let rows = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Kind.eq("digest"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|row| row.status == outbox_mail::Status::Failed && row.attempts == 2),
        "given up"
    );
    assert!(
        rows.iter()
            .all(|row| row.last_error.as_deref().is_some_and(|e| !e.is_empty()))
    );
    // A working worker does not pick up what was given up.
    let working = worker_state(&app).await;
    assert_eq!(run(&working).await.sent, 0);
    assert!(
        app.smtp
            .all()
            .iter()
            .all(|mail| !mail.subject().starts_with("Oppsummering"))
    );
}

#[tokio::test]
async fn the_facilitator_sees_the_schedule_previews_writes_an_intro_postpones_and_sends_now() {
    let app = digest_app().await;
    let (food, facilitator) = food_cohort(&app).await;
    let kari = app.sign_in("kari@example.no").await;
    add_session(&app, food, 1, "2027-03-12T12:00:00Z").await;
    add_session(&app, food, 2, "2027-04-14T09:00:00Z").await;
    let schedule = app
        .get(&format!("/api/v1/cohorts/{food}/digests"), Some(&facilitator))
        .await;
    assert_eq!(schedule.status, StatusCode::OK, "{}", schedule.body);
    let digests = schedule.json();
    let kinds: Vec<&str> = digests
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"reminder"), "{kinds:?}");
    // Session 1's reminder was due on 9 March, before the plan existed: missed, never sent.
    assert_eq!(digests[0]["status"], "missed", "{digests}");
    assert!(kinds.contains(&"recap") && kinds.contains(&"activity"), "{kinds:?}");
    assert_eq!(
        app.get(&format!("/api/v1/cohorts/{food}/digests"), Some(&kari))
            .await
            .status,
        StatusCode::FORBIDDEN,
        "members do not manage digests"
    );

    let reminder = digests
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "reminder" && d["status"] == "scheduled")
        .unwrap()
        .clone();
    let id = reminder["id"].as_i64().unwrap();
    let too_long = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/digests/{id}"),
            Some(&facilitator),
            &json!({ "intro": "x".repeat(2001) }),
        )
        .await;
    assert_eq!(
        (too_long.status, too_long.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "intro_too_long".into())
    );
    // Postponed to a Saturday: it goes out on the Monday at 08:00.
    let changed = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/digests/{id}"),
            Some(&facilitator),
            &json!({ "intro": "Husk å ta med tall fra kantina.", "send_at": "2027-03-13T10:00:00Z" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.json()["due_at"], "2027-03-15T07:00:00Z");
    assert_eq!(changed.json()["postponed"], true);

    let kari_user = user::Entity::find()
        .filter(user::Column::Email.eq("kari@example.no"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mails_before = app.smtp.mails_to("kari@example.no").len();
    let preview = app
        .get(
            &format!("/api/v1/digests/{id}/preview?user_id={}", kari_user.id),
            Some(&facilitator),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let preview = preview.json();
    assert_eq!(preview["would_send"], true);
    assert!(
        preview["text"]
            .as_str()
            .unwrap()
            .contains("Husk å ta med tall fra kantina.")
    );
    assert!(
        preview["subject"]
            .as_str()
            .unwrap()
            .starts_with("Påminnelse: Samling 2"),
        "{preview}"
    );
    assert_eq!(
        app.smtp.mails_to("kari@example.no").len(),
        mails_before,
        "a preview sends nothing"
    );

    let sent = app
        .post_json(&format!("/api/v1/digests/{id}/send"), Some(&facilitator), &json!({}))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let mail = app.smtp.wait_for_nth_mail_to("kari@example.no", mails_before + 1).await;
    assert!(
        mail.subject().starts_with("Påminnelse: Samling 2"),
        "{}",
        mail.subject()
    );
    assert!(
        mail.text().contains("Husk å ta med tall fra kantina."),
        "{}",
        mail.text()
    );
    let again = app
        .post_json(&format!("/api/v1/digests/{id}/send"), Some(&facilitator), &json!({}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "digest_not_scheduled".into())
    );
}

#[tokio::test]
async fn preferences_are_read_and_changed_by_the_person_and_checked() {
    let app = digest_app().await;
    food_cohort(&app).await;
    let kari = app.sign_in("kari@example.no").await;
    let path = "/api/v1/me/digest-preference";
    assert_eq!(app.get(path, Some(&kari)).await.json()["preference"], "everything");
    let bad = app
        .send_json(
            reqwest::Method::PUT,
            path,
            Some(&kari),
            &json!({ "preference": "weekly" }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_preference".into())
    );
    let saved = app
        .send_json(
            reqwest::Method::PUT,
            path,
            Some(&kari),
            &json!({ "preference": "essentials" }),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(app.get(path, Some(&kari)).await.json()["preference"], "essentials");
    assert_eq!(app.get(path, None).await.status, StatusCode::UNAUTHORIZED);
}
