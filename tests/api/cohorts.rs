use samling_tests::spawn_app;

#[tokio::test]
async fn members_see_their_cohort_and_another_cohort_is_not_found() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let marte = app
        .facilitator_token(&admin, food, "marte.fjeld@example.no", "Marte Fjeld")
        .await;
    let kari = app
        .invite_and_accept(&marte, food, "kari@example.no", "Kari Nordmann", "project_lead")
        .await;

    let own = app.get(&format!("/api/v1/cohorts/{food}"), Some(&kari)).await;
    assert_eq!(own.status.as_u16(), 200);
    let other = app.get(&format!("/api/v1/cohorts/{circular}"), Some(&kari)).await;
    assert_eq!((other.status.as_u16(), other.code()), (404, "not_found".into()));
    let missing = app.get("/api/v1/cohorts/99999", Some(&kari)).await;
    assert_eq!(
        missing.status.as_u16(),
        404,
        "a missing cohort and a hidden one look the same"
    );
    assert_eq!(missing.body, other.body);

    // The page says the same.
    let page = app
        .api
        .get(app.url(&format!("/cohorts/{circular}")))
        .bearer_auth(&kari)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 404);
}

#[tokio::test]
async fn email_addresses_are_shown_only_to_facilitators_and_admins() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte.fjeld@example.no", "Marte Fjeld")
        .await;
    let kari = app
        .invite_and_accept(&marte, food, "kari@example.no", "Kari Nordmann", "project_lead")
        .await;

    let for_lead = app.get(&format!("/api/v1/cohorts/{food}"), Some(&kari)).await;
    assert!(
        !for_lead.body.contains("@example"),
        "no addresses for a project lead: {}",
        for_lead.body
    );
    let members = for_lead.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["role"], "facilitator");

    for viewer in [&marte, &admin] {
        let detail = app.get(&format!("/api/v1/cohorts/{food}"), Some(viewer)).await.json();
        assert!(
            detail["members"]
                .as_array()
                .unwrap()
                .iter()
                .all(|member| member["email"].is_string())
        );
        assert!(
            detail["cohort"]["projects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|project| project["contact_email"].is_string())
        );
    }
}

#[tokio::test]
async fn a_cohort_lists_its_funded_projects_with_their_grant_records() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let detail = app
        .get(&format!("/api/v1/cohorts/{}", cohorts["mat-og-matsvinn"]), Some(&admin))
        .await
        .json();
    let trondheim = detail["cohort"]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|project| project["reference"] == "2021-0412")
        .unwrap()
        .clone();
    assert_eq!(trondheim["organisation"]["name"], "Trondheim kommune");
    assert_eq!(trondheim["organisation"]["number"], "5001");
    assert_eq!(trondheim["amount_nok"], 1_200_000);
    assert_eq!(trondheim["status"], "completed");
    assert_eq!(trondheim["period_start"], "2021-03-01");
    assert_eq!(trondheim["period_end"], "2022-12-31");
    assert_eq!(
        detail["cohort"]["programme"]["grant_years"],
        serde_json::json!([2021, 2022])
    );
}
