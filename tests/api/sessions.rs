use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc, Weekday};
use chrono_tz::Europe::Oslo;
use samling::domain::holidays::{holiday_period, public_holiday};
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a time: {value}"))
}

/// Admin, the sample cohorts, a facilitator per theme: tokens by theme slug.
async fn with_facilitators(app: &TestApp) -> (String, HashMap<String, i64>, HashMap<String, String>) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let mut facilitators = HashMap::new();
    for (slug, email) in [
        ("mat-og-matsvinn", "marte@example.no"),
        ("sirkulaerokonomi", "sindre@example.no"),
        ("klimavennlig-arealplanlegging", "aud@example.no"),
    ] {
        let token = app.facilitator_token(&admin, cohorts[slug], email, slug).await;
        facilitators.insert(slug.to_string(), token);
    }
    (admin, cohorts, facilitators)
}

#[tokio::test]
async fn the_planner_gives_every_sample_cohort_four_sessions_without_a_broken_rule_or_a_clash() {
    let app = spawn_app().await;
    let (admin, cohorts, facilitators) = with_facilitators(&app).await;
    let mut all: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for slug in ["mat-og-matsvinn", "sirkulaerokonomi", "klimavennlig-arealplanlegging"] {
        let sessions = app.plan_sessions(&facilitators[slug], cohorts[slug]).await;
        assert_eq!(sessions.len(), 4, "{slug}");
        let mut previous: Option<DateTime<Utc>> = None;
        for session in &sessions {
            let (start, end) = (at(&session["starts_at"]), at(&session["ends_at"]));
            let local = start.with_timezone(&Oslo);
            assert!(
                !matches!(local.weekday(), Weekday::Sat | Weekday::Sun),
                "{slug}: {local}"
            );
            assert!(
                public_holiday(local.date_naive()).is_none() && holiday_period(local.date_naive()).is_none(),
                "{slug}: {local}"
            );
            assert!(
                (8..16).contains(&chrono::Timelike::hour(&local))
                    && end.with_timezone(&Oslo).date_naive() == local.date_naive()
            );
            if let Some(previous) = previous {
                assert!(
                    (start - previous).num_days() >= 21,
                    "{slug}: sessions at least three weeks apart"
                );
            }
            previous = Some(start);
            all.push((slug.to_string(), start, end));
        }
    }
    // Trondheim and Bergen (food, land use) and Asker (circular, land use) are never booked twice.
    let clash = |a: &str, b: &str| {
        all.iter().filter(|(slug, _, _)| slug == a).any(|(_, start, end)| {
            all.iter()
                .filter(|(slug, _, _)| slug == b)
                .any(|(_, other_start, other_end)| start < other_end && other_start < end)
        })
    };
    assert!(
        !clash("mat-og-matsvinn", "klimavennlig-arealplanlegging"),
        "Trondheim and Bergen double-booked"
    );
    assert!(
        !clash("sirkulaerokonomi", "klimavennlig-arealplanlegging"),
        "Asker double-booked"
    );

    // The admin sees the same sessions; a member of another cohort does not.
    let listed = app
        .get(
            &format!("/api/v1/cohorts/{}/sessions", cohorts["mat-og-matsvinn"]),
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let other = app
        .get(
            &format!("/api/v1/cohorts/{}/sessions", cohorts["mat-og-matsvinn"]),
            Some(&facilitators["sirkulaerokonomi"]),
        )
        .await;
    assert_eq!(other.status.as_u16(), 404);
}

#[tokio::test]
async fn a_period_too_short_for_four_sessions_gets_a_clear_answer() {
    let app = spawn_app().await;
    let (_, cohorts, facilitators) = with_facilitators(&app).await;
    let response = app
        .post_json(
            &format!("/api/v1/cohorts/{}/plan/proposal", cohorts["mat-og-matsvinn"]),
            Some(&facilitators["mat-og-matsvinn"]),
            &json!({ "period_start": "2027-04-01", "period_end": "2027-05-01" }),
        )
        .await;
    assert_eq!(response.status.as_u16(), 422);
    assert_eq!(response.code(), "plan_period_too_short");
    assert!(
        response.json()["detail"]
            .as_str()
            .unwrap()
            .contains("for kort til 4 samlinger"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn a_time_that_breaks_a_rule_is_warned_about_and_saved_only_when_confirmed() {
    let app = spawn_app().await;
    let (_, cohorts, facilitators) = with_facilitators(&app).await;
    let marte = &facilitators["mat-og-matsvinn"];
    let sessions = app.plan_sessions(marte, cohorts["mat-og-matsvinn"]).await;
    let id = sessions[1]["id"].as_i64().unwrap();
    let before = sessions[1]["sequence"].as_i64().unwrap();
    // 17 May 2027, 09:00 Oslo (07:00 UTC): Constitution Day and Whit Monday.
    let move_to = json!({ "starts_at": "2027-05-17T07:00:00Z", "ends_at": "2027-05-17T10:00:00Z" });
    let refused = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(marte),
            &move_to,
        )
        .await;
    assert_eq!(refused.status.as_u16(), 409);
    assert_eq!(refused.code(), "planning_rule_broken");
    let rules: Vec<String> = refused.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.contains(&"public_holiday".to_string()), "{rules:?}");
    assert!(
        refused.json()["detail"].as_str().unwrap().contains("Grunnlovsdagen"),
        "{}",
        refused.body
    );
    let unchanged = app.get(&format!("/api/v1/sessions/{id}"), Some(marte)).await.json();
    assert_eq!(unchanged["starts_at"], sessions[1]["starts_at"], "nothing was saved");

    let mut confirmed = move_to.clone();
    confirmed["confirm"] = json!(true);
    let saved = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(marte),
            &confirmed,
        )
        .await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.body);
    assert_eq!(
        at(&saved.json()["starts_at"]),
        "2027-05-17T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(
        saved.json()["sequence"].as_i64().unwrap() > before,
        "a moved session gets a higher SEQUENCE"
    );
}

#[tokio::test]
async fn only_facilitators_plan_and_observers_do_not_register() {
    let app = spawn_app().await;
    let (_, cohorts, facilitators) = with_facilitators(&app).await;
    let food = cohorts["mat-og-matsvinn"];
    let sessions = app.plan_sessions(&facilitators["mat-og-matsvinn"], food).await;
    let id = sessions[0]["id"].as_i64().unwrap();
    let lead = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let observer = app.member_token(food, "olav@example.no", "Olav", Role::Observer).await;
    let proposal = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/plan/proposal"),
            Some(&lead),
            &json!({}),
        )
        .await;
    assert_eq!(
        (proposal.status.as_u16(), proposal.code()),
        (403, "forbidden".to_string())
    );
    let edit = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&lead),
            &json!({ "title": "Mitt" }),
        )
        .await;
    assert_eq!(edit.status.as_u16(), 403);
    let by_observer = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/registration"),
            Some(&observer),
            &json!({}),
        )
        .await;
    assert_eq!(by_observer.status.as_u16(), 403);
    let by_stranger = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/registration"),
            Some(&facilitators["sirkulaerokonomi"]),
            &json!({}),
        )
        .await;
    assert_eq!(by_stranger.status.as_u16(), 404);
    let by_lead = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/registration"),
            Some(&lead),
            &json!({}),
        )
        .await;
    assert_eq!(by_lead.json()["my_registration"], "registered");
}

#[tokio::test]
async fn concurrent_registrations_never_exceed_capacity_and_the_waitlist_moves_up_once() {
    let app = spawn_app().await;
    let (_, cohorts, facilitators) = with_facilitators(&app).await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = &facilitators["mat-og-matsvinn"];
    let id = app.plan_sessions(marte, food).await[0]["id"].as_i64().unwrap();
    let capacity = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(marte),
            &json!({ "capacity": 3 }),
        )
        .await;
    assert_eq!(capacity.status.as_u16(), 200, "{}", capacity.body);

    let mut people = Vec::new();
    for n in 0..16 {
        people.push(
            app.member_token(
                food,
                &format!("deltaker{n}@example.no"),
                &format!("Deltaker {n}"),
                Role::ProjectLead,
            )
            .await,
        );
    }
    let path = format!("/api/v1/sessions/{id}/registration");
    let empty = json!({});
    let answers = futures::future::join_all(
        people
            .iter()
            .map(|token| app.send_json(reqwest::Method::PUT, &path, Some(token), &empty)),
    )
    .await;
    let statuses: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status.as_u16(), 200, "{}", a.body);
            a.json()["my_registration"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "registered").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| *s == "waitlisted").count(), 13);

    // Two seated people cancel at the same moment: exactly two move up, the first two in line.
    let seated: Vec<&String> = people
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| *s == "registered")
        .map(|(t, _)| t)
        .take(2)
        .collect();
    let cancels = futures::future::join_all(
        seated
            .iter()
            .map(|token| app.send_json(reqwest::Method::DELETE, &path, Some(token), &empty)),
    )
    .await;
    assert!(cancels.iter().all(|c| c.status.as_u16() == 200));
    let report = app
        .get(&format!("/api/v1/sessions/{id}/attendance"), Some(marte))
        .await
        .json();
    let people_report = report["people"].as_array().unwrap();
    let registered: Vec<&Value> = people_report.iter().filter(|p| p["status"] == "registered").collect();
    assert_eq!(registered.len(), 3, "{report}");
    assert_eq!(people_report.iter().filter(|p| p["status"] == "waitlisted").count(), 11);
    let session = app.get(&format!("/api/v1/sessions/{id}"), Some(marte)).await.json();
    assert_eq!(
        (session["registered"].as_i64(), session["waitlisted"].as_i64()),
        (Some(3), Some(11))
    );
}
