use samling::domain::roles::Role;
use samling::entities::{organisation, user};
use samling_tests::spawn_app;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn needs_and_offers_reach_the_facilitator_and_the_booked_expert_only() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let id = app.plan_sessions(&marte, food).await[0]["id"].as_i64().unwrap();
    let kari = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari Nordmann",
            Role::ProjectLead,
        )
        .await;
    let eli = app
        .member_token(food, "eli@example.no", "Eli Ekspert", Role::Expert)
        .await;
    let other_expert = app
        .member_token(food, "per@example.no", "Per Ekspert", Role::Expert)
        .await;
    let eli_id = app.get("/api/v1/me", Some(&eli)).await.json()["user"]["id"]
        .as_i64()
        .unwrap();

    let saved = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/preparation"),
            Some(&kari),
            &json!({ "needs": "Måling av matsvinn i sykehjem", "offers": "Menyplanlegging" }),
        )
        .await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.body);
    let booked = app
        .post_json(
            &format!("/api/v1/sessions/{id}/experts"),
            Some(&marte),
            &json!({ "user_id": eli_id, "topic": "Veiing av matavfall" }),
        )
        .await;
    assert_eq!(booked.status.as_u16(), 200, "{}", booked.body);
    assert_eq!(booked.json()["experts"][0]["topic"], "Veiing av matavfall");

    for (who, token) in [("facilitator", &marte), ("booked expert", &eli)] {
        let answers = app
            .get(&format!("/api/v1/sessions/{id}/preparations"), Some(token))
            .await;
        assert_eq!(answers.status.as_u16(), 200, "{who}");
        assert_eq!(answers.json()[0]["needs"], "Måling av matsvinn i sykehjem", "{who}");
        assert_eq!(
            answers.json()[0]["organisation"],
            "Trondheim kommune",
            "{who}: the contact's municipality"
        );
    }
    for token in [&kari, &other_expert] {
        assert_eq!(
            app.get(&format!("/api/v1/sessions/{id}/preparations"), Some(token))
                .await
                .status
                .as_u16(),
            403
        );
    }
    let too_long = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/preparation"),
            Some(&kari),
            &json!({ "needs": "x".repeat(20_000), "offers": "" }),
        )
        .await;
    assert_eq!(
        (too_long.status.as_u16(), too_long.code()),
        (422, "text_too_long".to_string())
    );
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}/preparation"), Some(&kari))
            .await
            .json()["needs"],
        "Måling av matsvinn i sykehjem",
        "nothing half-written"
    );
}

#[tokio::test]
async fn the_poll_picks_the_time_most_municipalities_can_attend() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let id = app.plan_sessions(&marte, food).await[0]["id"].as_i64().unwrap();
    let add = |starts: &'static str, ends: &'static str| {
        let (app, marte) = (&app, &marte);
        async move {
            app.post_json(
                &format!("/api/v1/sessions/{id}/poll/options"),
                Some(marte),
                &json!({ "starts_at": starts, "ends_at": ends }),
            )
            .await
            .json()
        }
    };
    add("2027-04-06T07:00:00Z", "2027-04-06T10:00:00Z").await;
    let poll = add("2027-04-07T07:00:00Z", "2027-04-07T10:00:00Z").await;
    let options: Vec<i64> = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let (first, second) = (
        options.iter().min().copied().unwrap(),
        options.iter().max().copied().unwrap(),
    );

    // Three people from Trondheim can come the first time; one each from Bergen and Drammen the second.
    let trondheim_id = organisation::Entity::find()
        .filter(organisation::Column::Number.eq("5001"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    for n in 0..3 {
        let email = format!("kollega{n}@example.trondheim.kommune.no");
        let token = app
            .member_token(food, &email, &format!("Trondheim {n}"), Role::ProjectLead)
            .await;
        user::Entity::update_many()
            .col_expr(
                user::Column::OrganisationId,
                sea_orm::sea_query::Expr::value(Some(trondheim_id)),
            )
            .filter(user::Column::Email.eq(email))
            .exec(&app.db)
            .await
            .unwrap();
        let answered = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{id}/poll/answers"),
                Some(&token),
                &json!([{ "option_id": first, "answer": "yes" }, { "option_id": second, "answer": "no" }]),
            )
            .await;
        assert_eq!(answered.status.as_u16(), 200, "{}", answered.body);
    }
    for email in [
        "ola.hansen@example.bergen.kommune.no",
        "ingrid.berg@example.drammen.kommune.no",
    ] {
        let token = app.member_token(food, email, email, Role::ProjectLead).await;
        let answered = app
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{id}/poll/answers"),
                Some(&token),
                &json!([{ "option_id": second, "answer": "yes" }, { "option_id": first, "answer": "no" }]),
            )
            .await;
        assert_eq!(answered.status.as_u16(), 200, "{}", answered.body);
    }
    let poll = app
        .get(&format!("/api/v1/sessions/{id}/poll"), Some(&marte))
        .await
        .json();
    assert_eq!(
        poll["best_option_id"], second,
        "two municipalities beat three people from one: {poll}"
    );
    assert_eq!(poll["options"][1]["tally"]["people_yes"], 3);
    let bad = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/poll/answers"),
            Some(&marte),
            &json!([{ "option_id": 99999, "answer": "yes" }]),
        )
        .await;
    assert_eq!(bad.code(), "unknown_poll_option");
}

#[tokio::test]
async fn the_recap_is_written_after_the_session_and_published_to_the_cohort() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let session = app.plan_sessions(&marte, food).await[0].clone();
    let id = session["id"].as_i64().unwrap();
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let detail = app.get(&format!("/api/v1/cohorts/{food}"), Some(&admin)).await.json();
    let trondheim = detail["cohort"]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["reference"] == "2021-0412")
        .unwrap()["organisation"]["id"]
        .clone();
    let recap = json!({
        "summary": "Vi delte erfaringer med **veiing**.<script>alert(1)</script>",
        "decisions": "Felles måleskjema",
        "resources": "[Veileder](https://www.miljodirektoratet.no)",
        "follow_ups": [{ "organisation_id": trondheim, "text": "Del måleskjemaet" }],
        "publish": true
    });
    let early = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/recap"),
            Some(&marte),
            &recap,
        )
        .await;
    assert_eq!(
        (early.status.as_u16(), early.code()),
        (409, "recap_before_session".to_string())
    );
    assert!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&kari))
            .await
            .json()
            .get("recap")
            .is_none()
    );

    let starts: chrono::DateTime<chrono::Utc> = session["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts - samling_tests::test_start_time() + chrono::Duration::hours(4));
    // Sessions last 12 hours: sign in again after the clock moved.
    let marte = app.sign_in("marte@example.no").await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let written = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/recap"),
            Some(&marte),
            &recap,
        )
        .await;
    assert_eq!(written.status.as_u16(), 200, "{}", written.body);
    let seen = app.get(&format!("/api/v1/sessions/{id}"), Some(&kari)).await.json();
    let html = seen["recap"]["summary_html"].as_str().unwrap();
    assert!(
        html.contains("<strong>veiing</strong>") && !html.contains("<script"),
        "{html}"
    );
    assert!(
        seen["recap"]["resources_html"]
            .as_str()
            .unwrap()
            .contains("rel=\"nofollow noopener\"")
    );
    assert_eq!(seen["recap"]["follow_ups"][0]["organisation"], "Trondheim kommune");
    assert_eq!(seen["place"], "past");
    let by_lead = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/recap"),
            Some(&kari),
            &recap,
        )
        .await;
    assert_eq!(by_lead.status.as_u16(), 403);
}

#[tokio::test]
async fn attendance_is_recorded_per_person_and_per_municipality_after_the_session() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let session = app.plan_sessions(&marte, food).await[0].clone();
    let id = session["id"].as_i64().unwrap();
    let kari = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari",
            Role::ProjectLead,
        )
        .await;
    let ola = app
        .member_token(food, "ola.hansen@example.bergen.kommune.no", "Ola", Role::ProjectLead)
        .await;
    for token in [&kari, &ola] {
        app.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/registration"),
            Some(token),
            &json!({}),
        )
        .await;
    }
    let mut ids = Vec::new();
    for token in [&kari, &ola] {
        let me = app.get("/api/v1/me", Some(token)).await;
        ids.push(
            me.json()["user"]["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("{}", me.body)),
        );
    }
    let marks = json!([{ "user_id": ids[0], "attended": true }, { "user_id": ids[1], "attended": false }]);
    let early = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/attendance"),
            Some(&marte),
            &marks,
        )
        .await;
    assert_eq!(early.code(), "attendance_before_session");
    let starts: chrono::DateTime<chrono::Utc> = session["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts - samling_tests::test_start_time() + chrono::Duration::minutes(30));
    let marte = app.sign_in("marte@example.no").await;
    let report = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/sessions/{id}/attendance"),
            Some(&marte),
            &marks,
        )
        .await
        .json();
    let by_org: Vec<(String, i64, i64)> = report["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["organisation"].as_str().unwrap().to_string(),
                row["registered"].as_i64().unwrap(),
                row["attended"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_org,
        vec![
            ("Bergen kommune".to_string(), 1, 0),
            ("Trondheim kommune".to_string(), 1, 1)
        ]
    );
}

#[tokio::test]
async fn the_meeting_link_shows_to_members_only_from_an_hour_before_the_start() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let session = app.plan_sessions(&marte, food).await[0].clone();
    let id = session["id"].as_i64().unwrap();
    let link = json!({ "meeting_url": "https://video.example.no/samling-1" });
    assert_eq!(
        app.send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &link
        )
        .await
        .status
        .as_u16(),
        200
    );
    let bad = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/sessions/{id}"),
            Some(&marte),
            &json!({ "meeting_url": "javascript:alert(1)" }),
        )
        .await;
    assert_eq!(bad.code(), "invalid_meeting_url");
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    assert!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&kari))
            .await
            .json()
            .get("meeting_url")
            .is_none()
    );
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&marte)).await.json()["meeting_url"],
        "https://video.example.no/samling-1"
    );
    let starts: chrono::DateTime<chrono::Utc> = session["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts - samling_tests::test_start_time() - chrono::Duration::minutes(59));
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&kari)).await.json()["meeting_url"],
        "https://video.example.no/samling-1"
    );
    let outsider = app
        .member_token(cohorts["sirkulaerokonomi"], "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/sessions/{id}"), Some(&outsider))
            .await
            .status
            .as_u16(),
        404
    );
}
