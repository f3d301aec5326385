use samling_tests::spawn_app;

use crate::pages::{csrf_of, page, sign_in_by_pages, submit};

#[tokio::test]
async fn the_session_page_warns_about_a_broken_rule_and_saves_only_when_confirmed() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let id = app.plan_sessions(&marte, food).await[1]["id"].as_i64().unwrap();
    let client = sign_in_by_pages(&app, "marte@example.no").await;
    let (status, html) = page(&client, &app, &format!("/sessions/{id}")).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let form = |confirm: bool| {
        let mut fields = vec![
            ("csrf_token", csrf.clone()),
            ("title", "Samling på 17. mai".to_string()),
            ("agenda", "1. Velkommen".to_string()),
            ("meeting_url", String::new()),
            ("capacity", String::new()),
            ("status", "planned".to_string()),
            ("starts_at", "2027-05-17T09:00".to_string()),
            ("ends_at", "2027-05-17T12:00".to_string()),
        ];
        if confirm {
            fields.push(("confirm", "1".to_string()));
        }
        fields
    };
    let fields = form(false);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, warned) = submit(&client, &app, &format!("/sessions/{id}/edit"), &borrowed).await;
    assert_eq!(status, 409);
    assert!(
        warned.contains("role=\"alert\"") && warned.contains("Grunnlovsdagen 17. mai er en helligdag"),
        "{warned}"
    );
    assert!(warned.contains("name=\"confirm\""), "the page offers to save anyway");
    let (_, unchanged) = page(&client, &app, &format!("/sessions/{id}")).await;
    assert!(
        !unchanged.contains("Samling på 17. mai"),
        "nothing saved before the confirmation"
    );

    let fields = form(true);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, path, saved) = submit(&client, &app, &format!("/sessions/{id}/edit"), &borrowed).await;
    assert_eq!((status, path.as_str()), (200, format!("/sessions/{id}").as_str()));
    assert!(
        saved.contains("Endringene er lagret.") && saved.contains("mandag 17. mai 2027 kl. 09:00–12:00"),
        "{saved}"
    );
}

#[tokio::test]
async fn the_planning_page_proposes_and_saves_a_plan_and_explains_an_impossible_period() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    app.facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let client = sign_in_by_pages(&app, "marte@example.no").await;
    let (status, html) = page(&client, &app, &format!("/cohorts/{food}/planning")).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let (status, _, short) = submit(
        &client,
        &app,
        &format!("/cohorts/{food}/planning/propose"),
        &[
            ("csrf_token", &csrf),
            ("period_start", "2027-04-01"),
            ("period_end", "2027-05-01"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(short.contains("Perioden er for kort til 4 samlinger"), "{short}");

    let (status, _, proposal) = submit(
        &client,
        &app,
        &format!("/cohorts/{food}/planning/propose"),
        &[
            ("csrf_token", &csrf),
            ("period_start", "2027-03-15"),
            ("period_end", "2027-12-10"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let mut fields = vec![("csrf_token".to_string(), csrf.clone())];
    for number in 1..=4 {
        for key in ["start", "end"] {
            let name = format!("{key}_{number}");
            let marker = format!("name=\"{name}\" type=\"datetime-local\" required value=\"");
            let start = proposal.find(&marker).unwrap_or_else(|| panic!("{name} in {proposal}")) + marker.len();
            fields.push((name, proposal[start..start + 16].to_string()));
        }
    }
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, path, cohort_page) =
        submit(&client, &app, &format!("/cohorts/{food}/planning/accept"), &borrowed).await;
    assert_eq!((status, path), (200, format!("/cohorts/{food}")));
    assert!(
        cohort_page.contains("Samlingene er planlagt.") && cohort_page.contains("Samling 4"),
        "{cohort_page}"
    );
    let sessions = app
        .get(
            &format!("/api/v1/cohorts/{food}/sessions"),
            Some(&app.sign_in("marte@example.no").await),
        )
        .await
        .json();
    assert_eq!(sessions.as_array().unwrap().len(), 4);
}
