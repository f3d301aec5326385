//! Planning rules per programme, the lead time before the first session, the facilitator's lists of who comes,
//! group messages, and the mails registering sends.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Europe::Oslo;
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a time: {value}"))
}

fn oslo_day(value: &Value) -> NaiveDate {
    at(value).with_timezone(&Oslo).date_naive()
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// Admin, the sample cohorts and the food cohort's facilitator; returns (admin, food cohort, facilitator, programme id).
async fn food_cohort(app: &TestApp) -> (String, i64, String, i64) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app.facilitator_token(&admin, food, "marte@example.no", "Marte").await;
    let programme = <samling::entities::programme::Entity as sea_orm::EntityTrait>::find()
        .one(&app.db)
        .await
        .expect("the database answers")
        .expect("the sample's programme")
        .id as i64;
    (admin, food, marte, programme)
}

async fn propose(app: &TestApp, facilitator: &str, cohort_id: i64) -> Vec<Value> {
    let proposal = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort_id}/plan/proposal"),
            Some(facilitator),
            &json!({}),
        )
        .await;
    assert_eq!(proposal.status.as_u16(), 200, "{}", proposal.body);
    proposal.json()["plan"]["sessions"]
        .as_array()
        .expect("sessions")
        .clone()
}

async fn put_rules(app: &TestApp, token: &str, programme: i64, rules: &Value) -> samling_tests::Response {
    app.send_json(
        reqwest::Method::PUT,
        &format!("/api/v1/programmes/{programme}/planning-rules"),
        Some(token),
        rules,
    )
    .await
}

#[tokio::test]
async fn planning_rules_start_at_the_former_constants_and_only_admins_change_them() {
    let app = spawn_app().await;
    let (admin, food, marte, programme) = food_cohort(&app).await;
    let path = format!("/api/v1/programmes/{programme}/planning-rules");
    let defaults = json!({ "session_minutes": 180, "day_starts_hour": 8, "day_ends_hour": 16, "min_gap_days": 21, "lead_days": 21 });
    let read = app.get(&path, Some(&admin)).await;
    assert_eq!(read.status.as_u16(), 200, "{}", read.body);
    assert_eq!(read.json(), defaults);
    // The facilitator reads the rules their planning follows, but does not change them.
    assert_eq!(app.get(&path, Some(&marte)).await.json(), defaults);
    let mut no_lead = defaults.clone();
    no_lead["lead_days"] = json!(0);
    let by_facilitator = put_rules(&app, &marte, programme, &no_lead).await;
    assert_eq!(
        (by_facilitator.status.as_u16(), by_facilitator.code()),
        (403, "forbidden".to_string())
    );
    let lead = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    assert_eq!(put_rules(&app, &lead, programme, &defaults).await.status.as_u16(), 403);
    assert_eq!(
        app.get("/api/v1/programmes/9999/planning-rules", Some(&admin))
            .await
            .status
            .as_u16(),
        404
    );

    for (rules, code, field) in [
        (
            json!({ "session_minutes": 180, "day_starts_hour": 12, "day_ends_hour": 10, "min_gap_days": 21, "lead_days": 21 }),
            "planning_day_ends_before_start",
            "day_ends_hour",
        ),
        (
            json!({ "session_minutes": 240, "day_starts_hour": 9, "day_ends_hour": 12, "min_gap_days": 21, "lead_days": 21 }),
            "planning_session_longer_than_day",
            "session_minutes",
        ),
        (
            json!({ "session_minutes": 180, "day_starts_hour": 8, "day_ends_hour": 16, "min_gap_days": 21, "lead_days": 181 }),
            "planning_invalid_lead_time",
            "lead_days",
        ),
        (
            json!({ "session_minutes": 180, "day_starts_hour": 8, "day_ends_hour": 16, "min_gap_days": 0, "lead_days": 21 }),
            "planning_invalid_gap",
            "min_gap_days",
        ),
    ] {
        let refused = put_rules(&app, &admin, programme, &rules).await;
        assert_eq!(
            (refused.status.as_u16(), refused.code()),
            (422, code.to_string()),
            "{}",
            refused.body
        );
        assert_eq!(refused.json()["field"], field);
        assert!(!refused.json()["detail"].as_str().unwrap_or_default().is_empty());
    }
    assert_eq!(
        app.get(&path, Some(&admin)).await.json(),
        defaults,
        "nothing refused was saved"
    );

    let changed = json!({ "session_minutes": 120, "day_starts_hour": 9, "day_ends_hour": 15, "min_gap_days": 14, "lead_days": 60 });
    let saved = put_rules(&app, &admin, programme, &changed).await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.body);
    assert_eq!(app.get(&path, Some(&marte)).await.json(), changed);
}

#[tokio::test]
async fn the_proposal_leaves_the_lead_time_after_today_and_follows_the_programme_rules() {
    let app = spawn_app().await;
    let (admin, food, marte, programme) = food_cohort(&app).await;
    // Today is 10 March 2027 (the tests' clock); the programme started on 4 January.
    let sessions = propose(&app, &marte, food).await;
    let first = oslo_day(&sessions[0]["start"]);
    assert!(first >= day("2027-03-31"), "three weeks after today, not {first}");

    let rules = json!({ "session_minutes": 120, "day_starts_hour": 10, "day_ends_hour": 15, "min_gap_days": 14, "lead_days": 60 });
    assert_eq!(put_rules(&app, &admin, programme, &rules).await.status.as_u16(), 200);
    let sessions = propose(&app, &marte, food).await;
    assert!(oslo_day(&sessions[0]["start"]) >= day("2027-05-09"), "{sessions:?}");
    for (session, next) in sessions.iter().zip(sessions.iter().skip(1)) {
        assert!((oslo_day(&next["start"]) - oslo_day(&session["start"])).num_days() >= 14);
    }
    for session in &sessions {
        let (start, end) = (at(&session["start"]), at(&session["end"]));
        assert_eq!((end - start).num_minutes(), 120);
        let (from, to) = (start.with_timezone(&Oslo), end.with_timezone(&Oslo));
        assert!(from.hour() >= 10 && (to.hour(), to.minute()) <= (15, 0), "{from}–{to}");
    }

    let no_lead = json!({ "session_minutes": 180, "day_starts_hour": 8, "day_ends_hour": 16, "min_gap_days": 21, "lead_days": 0 });
    assert_eq!(put_rules(&app, &admin, programme, &no_lead).await.status.as_u16(), 200);
    let sessions = propose(&app, &marte, food).await;
    assert!(
        oslo_day(&sessions[0]["start"]) < day("2027-03-31"),
        "without a lead time it can start sooner"
    );
}

/// A planned session of the food cohort with `capacity` seats; returns (facilitator, session id, session).
async fn session_with_seats(app: &TestApp, capacity: i64) -> (String, i64, i64, Value) {
    let (_, food, marte, _) = food_cohort(app).await;
    let sessions = app.plan_sessions(&marte, food).await;
    let id = sessions[0]["id"].as_i64().expect("an id");
    let changed = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &json!({ "capacity": capacity }),
        )
        .await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.body);
    (marte, food, id, changed.json())
}

async fn register(app: &TestApp, token: &str, session_id: i64) -> Value {
    let answer = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{session_id}/registration"),
            Some(token),
            &json!({}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn registering_sends_a_confirmation_with_the_calendar_invitation_at_the_session_time() {
    let app = spawn_app().await;
    let (_, food, id, session) = session_with_seats(&app, 10).await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    register(&app, &kari, id).await;
    let mail = app.smtp.wait_for_mail_to("kari@example.no").await;
    let title = session["title"].as_str().expect("a title");
    assert!(mail.subject().contains("Du er påmeldt"), "{}", mail.subject());
    assert!(mail.subject().contains(title), "{}", mail.subject());
    assert!(mail.text().contains(&format!("/sessions/{id}")), "{}", mail.text());
    let (content_type, ics) = mail.attachment().expect("the calendar invitation");
    assert_eq!(content_type, "text/calendar");
    let start = at(&session["starts_at"]).with_timezone(&Oslo);
    let dtstart = ics
        .lines()
        .find(|line| line.starts_with("DTSTART;TZID=Europe/Oslo:"))
        .unwrap_or_else(|| panic!("a DTSTART in {ics}"));
    assert_eq!(
        dtstart.trim_end(),
        format!("DTSTART;TZID=Europe/Oslo:{}", start.format("%Y%m%dT%H%M%S"))
    );
    // Registering twice changes nothing and sends nothing more.
    register(&app, &kari, id).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.smtp.mails_to("kari@example.no").len(), 1);
}

#[tokio::test]
async fn a_waitlisted_person_gets_a_notice_and_then_the_confirmation_when_moved_up() {
    let app = spawn_app().await;
    let (_, food, id, _) = session_with_seats(&app, 1).await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let per = app.member_token(food, "per@example.no", "Per", Role::ProjectLead).await;
    register(&app, &kari, id).await;
    assert_eq!(register(&app, &per, id).await["my_registration"], "waitlisted");
    let notice = app.smtp.wait_for_mail_to("per@example.no").await;
    assert!(notice.subject().contains("venteliste"), "{}", notice.subject());
    assert!(notice.text().contains("nummer 1"), "{}", notice.text());
    assert!(notice.attachment().is_none(), "no calendar invitation without a seat");

    let cancelled = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/sessions/{id}/registration"),
            Some(&kari),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status.as_u16(), 200);
    let promoted = app.smtp.wait_for_nth_mail_to("per@example.no", 2).await;
    assert!(promoted.subject().contains("fått plass"), "{}", promoted.subject());
    let (content_type, ics) = promoted.attachment().expect("the calendar invitation");
    assert_eq!(content_type, "text/calendar");
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
}

#[tokio::test]
async fn facilitators_see_who_registered_waits_and_answered_and_message_each_group() {
    let app = spawn_app().await;
    let (marte, food, id, _) = session_with_seats(&app, 2).await;
    let mut tokens: HashMap<&str, String> = HashMap::new();
    for (email, name) in [
        ("kari@example.no", "Kari"),
        ("per@example.no", "Per"),
        ("ola@example.no", "Ola"),
    ] {
        let token = app.member_token(food, email, name, Role::ProjectLead).await;
        register(&app, &token, id).await;
        tokens.insert(name, token);
    }
    let prepared = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/preparation"),
            Some(&tokens["Kari"]),
            &json!({ "needs": "Erfaringer med matsvinn i skolen", "offers": "Vår kartlegging" }),
        )
        .await;
    assert_eq!(prepared.status.as_u16(), 200, "{}", prepared.body);

    let roster = app
        .get(&format!("/api/v1/sessions/{id}/participants"), Some(&marte))
        .await;
    assert_eq!(roster.status.as_u16(), 200, "{}", roster.body);
    let roster = roster.json();
    let names = |list: &str| -> Vec<String> {
        roster[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("registered"), ["Kari", "Per"]);
    assert_eq!(names("waitlisted"), ["Ola"]);
    assert_eq!(roster["waitlisted"][0]["position"], 1);
    assert_eq!(names("prepared"), ["Kari"]);
    assert_eq!(names("not_prepared"), ["Per"]);
    assert!(
        roster["registered"][0]
            .as_object()
            .unwrap()
            .contains_key("organisation")
    );

    // A member may not see the lists nor write to the groups.
    let lead = &tokens["Kari"];
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}/participants"), Some(lead))
            .await
            .status
            .as_u16(),
        403
    );
    let by_member = app
        .post_json(
            &format!("/api/v1/sessions/{id}/messages"),
            Some(lead),
            &json!({ "group": "registered" }),
        )
        .await;
    assert_eq!(
        (by_member.status.as_u16(), by_member.code()),
        (403, "forbidden".to_string())
    );
    let too_long = app
        .post_json(
            &format!("/api/v1/sessions/{id}/messages"),
            Some(&marte),
            &json!({ "group": "registered", "note": "x".repeat(2001) }),
        )
        .await;
    assert_eq!(
        (too_long.status.as_u16(), too_long.code()),
        (422, "message_note_too_long".to_string())
    );

    // Each has their registration mail by now; the reminder goes only to Per.
    for email in ["kari@example.no", "per@example.no", "ola@example.no"] {
        app.smtp.wait_for_mail_to(email).await;
    }
    let sent = app
        .post_json(
            &format!("/api/v1/sessions/{id}/messages"),
            Some(&marte),
            &json!({ "group": "not_prepared", "note": "Det tar to minutter." }),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.body);
    assert_eq!(sent.json(), json!({ "group": "not_prepared", "recipients": 1 }));
    let reminder = app.smtp.wait_for_nth_mail_to("per@example.no", 2).await;
    assert!(
        reminder.subject().contains("behovsinnspillet"),
        "{}",
        reminder.subject()
    );
    assert!(reminder.text().contains("Det tar to minutter."), "{}", reminder.text());
    assert!(
        reminder.text().contains(&format!("/sessions/{id}")),
        "{}",
        reminder.text()
    );

    let waitlist = app
        .post_json(
            &format!("/api/v1/sessions/{id}/messages"),
            Some(&marte),
            &json!({ "group": "waitlisted" }),
        )
        .await;
    assert_eq!(waitlist.json()["recipients"], 1);
    let to_ola = app.smtp.wait_for_nth_mail_to("ola@example.no", 2).await;
    assert!(to_ola.subject().contains("Ventelisten"), "{}", to_ola.subject());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.smtp.mails_to("kari@example.no").len(),
        1,
        "Kari answered and is not waiting"
    );
    assert_eq!(app.smtp.mails_to("per@example.no").len(), 2);
}
