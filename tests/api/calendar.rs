use std::process::Command;

use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

/// Checks an .ics file with Python's `icalendar` (an independent parser) against expectations.
fn check_with_python_icalendar(ics: &str, expectations: &Value) {
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
    let file = dir.path().join("calendar.ics");
    std::fs::write(&file, ics).unwrap();
    let output = Command::new(&python)
        .arg(root.join("tests/ics/check_ics.py"))
        .arg(&file)
        .arg(expectations.to_string())
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "icalendar disagrees:\n{printed}\n{ics}");
    assert!(printed.contains("ics ok"), "{printed}");
}

async fn ics(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = app.api.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn a_session_calendar_has_oslo_times_across_daylight_saving_and_a_stable_uid() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let sessions = app.plan_sessions(&marte, food).await;
    let id = sessions[1]["id"].as_i64().unwrap();
    let host = app.address.trim_start_matches("http://");
    let uid = format!("session-{id}@{host}");

    // Friday 26 March 2027 is winter time; the clocks go forward on Sunday 28 March.
    let winter = json!({ "starts_at": "2027-03-26T08:00:00Z", "ends_at": "2027-03-26T11:00:00Z", "confirm": true, "title": "Mat, kantiner; og sykehjem" });
    let first = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &winter,
        )
        .await
        .json();
    let (status, content_type, body) = ics(&app, &format!("/api/v1/sessions/{id}/calendar.ics"), Some(&marte)).await;
    assert_eq!((status, content_type.as_str()), (200, "text/calendar; charset=utf-8"));
    check_with_python_icalendar(
        &body,
        &json!([{ "uid": uid, "sequence": first["sequence"], "status": "CONFIRMED", "start_local": "2027-03-26T09:00", "end_local": "2027-03-26T12:00", "summary": "Mat, kantiner; og sykehjem" }]),
    );

    // Moved to Monday 29 March (summer time): same UID, higher SEQUENCE, 09:00 local again.
    let summer = json!({ "starts_at": "2027-03-29T07:00:00Z", "ends_at": "2027-03-29T10:00:00Z", "confirm": true });
    let moved = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &summer,
        )
        .await
        .json();
    assert!(moved["sequence"].as_i64() > first["sequence"].as_i64());
    let (_, _, body) = ics(&app, &format!("/api/v1/sessions/{id}/calendar.ics"), Some(&marte)).await;
    check_with_python_icalendar(
        &body,
        &json!([{ "uid": uid, "sequence": moved["sequence"], "status": "CONFIRMED", "start_local": "2027-03-29T09:00", "end_local": "2027-03-29T12:00", "summary": "Mat, kantiner; og sykehjem" }]),
    );

    // Cancelled: the same event, STATUS:CANCELLED, a higher SEQUENCE again.
    let cancelled = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &json!({ "status": "cancelled" }),
        )
        .await
        .json();
    let (_, _, body) = ics(&app, &format!("/api/v1/sessions/{id}/calendar.ics"), Some(&marte)).await;
    check_with_python_icalendar(
        &body,
        &json!([{ "uid": uid, "sequence": cancelled["sequence"], "status": "CANCELLED", "start_local": "2027-03-29T09:00", "end_local": "2027-03-29T12:00", "summary": "Mat, kantiner; og sykehjem" }]),
    );

    let stranger = app
        .facilitator_token(&admin, cohorts["sirkulaerokonomi"], "sindre@example.no", "Sindre")
        .await;
    assert_eq!(
        ics(&app, &format!("/api/v1/sessions/{id}/calendar.ics"), Some(&stranger))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn the_personal_feed_lists_my_sessions_at_a_secret_url_until_revoked() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let sessions = app.plan_sessions(&marte, food).await;
    let lead = app
        .member_token(
            food,
            "kari@example.no",
            "Kari",
            samling::domain::roles::Role::ProjectLead,
        )
        .await;

    let created = app.post_json("/api/v1/me/calendar-feed", Some(&lead), &json!({})).await;
    assert_eq!(created.status.as_u16(), 201);
    let url = created.json()["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches(&app.address).to_string();
    let (status, _, body) = ics(&app, &path, None).await;
    assert_eq!(status, 200, "calendar apps fetch the feed without signing in");
    let host = app.address.trim_start_matches("http://");
    let expectations: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let local = |key: &str| {
                s[key].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap().with_timezone(&chrono_tz::Europe::Oslo).format("%Y-%m-%dT%H:%M").to_string()
            };
            json!({ "uid": format!("session-{}@{host}", s["id"]), "sequence": s["sequence"], "status": "CONFIRMED", "start_local": local("starts_at"), "end_local": local("ends_at"), "summary": s["title"] })
        })
        .collect();
    check_with_python_icalendar(&body, &json!(expectations));

    // A new URL voids the old one; revoking ends it.
    let second = app
        .post_json("/api/v1/me/calendar-feed", Some(&lead), &json!({}))
        .await
        .json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ics(&app, &path, None).await.0, 404);
    let second_path = second.trim_start_matches(&app.address).to_string();
    assert_eq!(ics(&app, &second_path, None).await.0, 200);
    let revoked = app
        .send_json(
            reqwest::Method::DELETE,
            "/api/v1/me/calendar-feed",
            Some(&lead),
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 204);
    assert_eq!(ics(&app, &second_path, None).await.0, 404);
    assert_eq!(ics(&app, "/calendar/not-a-secret.ics", None).await.0, 404);
}
