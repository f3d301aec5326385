use samling_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_invited_person_receives_the_mail_signs_in_and_sees_only_their_cohort() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte.fjeld@example.no", "Marte Fjeld")
        .await;

    let invited = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "Nina.Ny@example.no", "name": "Nina Ny", "role": "project_lead" }),
        )
        .await;
    assert_eq!(invited.status.as_u16(), 201, "{}", invited.body);
    let mail = app.smtp.wait_for_mail_to("nina.ny@example.no").await;
    assert_eq!(mail.subject(), "Invitasjon til temagruppen Mat og matsvinn i Samling");
    assert!(mail.text().contains("Marte Fjeld har invitert deg"), "{}", mail.text());
    let token = mail.link_token("/invitations/accept");

    let accepted = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.body);
    assert_eq!(accepted.json()["cohort_id"], food);
    let nina = accepted.json()["session"]["token"].as_str().unwrap().to_string();

    let visible = app.get("/api/v1/cohorts", Some(&nina)).await.json();
    let ids: Vec<i64> = visible
        .as_array()
        .unwrap()
        .iter()
        .map(|cohort| cohort["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![food]);
    assert_eq!(visible[0]["my_role"], "project_lead");
    assert_eq!(visible[0]["projects"].as_array().unwrap().len(), 7);

    let reused = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(reused.status.as_u16(), 422);
    assert_eq!(reused.code(), "invitation_invalid");

    let again = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "nina.ny@example.no", "name": "Nina Ny", "role": "expert" }),
        )
        .await;
    assert_eq!(again.status.as_u16(), 409);
    assert_eq!(again.code(), "already_member");
}

#[tokio::test]
async fn invitations_expire_after_14_days() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    app.post_json(
        &format!("/api/v1/cohorts/{food}/invitations"),
        Some(&admin),
        &json!({ "email": "sen@example.no", "name": "Sen Svarer", "role": "observer" }),
    )
    .await;
    let token = app
        .smtp
        .wait_for_mail_to("sen@example.no")
        .await
        .link_token("/invitations/accept");
    app.clock
        .advance(chrono::Duration::days(14) + chrono::Duration::seconds(1));
    let late = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(late.code(), "invitation_invalid");
}

#[tokio::test]
async fn who_may_invite_whom() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let marte = app
        .facilitator_token(&admin, food, "marte.fjeld@example.no", "Marte Fjeld")
        .await;
    let invite = |token: String, cohort: i64, role: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                &format!("/api/v1/cohorts/{cohort}/invitations"),
                Some(&token),
                &json!({ "email": "x@example.no", "name": "X", "role": role }),
            )
            .await
        }
    };

    let facilitator_appointing = invite(marte.clone(), food, "facilitator").await;
    assert_eq!(
        (facilitator_appointing.status.as_u16(), facilitator_appointing.code()),
        (403, "forbidden".into())
    );
    let other_cohort = invite(marte.clone(), circular, "project_lead").await;
    assert_eq!(
        (other_cohort.status.as_u16(), other_cohort.code()),
        (404, "not_found".into()),
        "another cohort is invisible"
    );

    let lead = app
        .invite_and_accept(&marte, food, "kari@example.no", "Kari Nordmann", "project_lead")
        .await;
    let by_lead = invite(lead.clone(), food, "project_lead").await;
    assert_eq!((by_lead.status.as_u16(), by_lead.code()), (403, "forbidden".into()));

    let bad = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "not an address", "name": "X", "role": "expert" }),
        )
        .await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_email".into()));
    let bad_role = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "y@example.no", "name": "Y", "role": "king" }),
        )
        .await;
    assert_eq!(
        (bad_role.status.as_u16(), bad_role.code()),
        (422, "invalid_fields".into())
    );
    assert_eq!(bad_role.json()["field"], "role");

    let by_admin = invite(admin.clone(), circular, "facilitator").await;
    assert_eq!(
        by_admin.status.as_u16(),
        201,
        "an admin invites facilitators: {}",
        by_admin.body
    );
}

#[tokio::test]
async fn a_failed_invitation_mail_leaves_no_invitation_behind() {
    let app = samling_tests::spawn_app_with(|settings| settings.smtp_port = 1).await;
    let admin_secret = samling::users::create_admin(&app.db, "admin@example.no", samling_tests::test_start_time())
        .await
        .unwrap()
        .1;
    let admin = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": admin_secret }))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_programme(&admin).await;
    app.import(&admin, samling_tests::sample_grants()).await;
    let cohort = app.get("/api/v1/cohorts", Some(&admin)).await.json()[0]["id"]
        .as_i64()
        .unwrap();
    let failed = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/invitations"),
            Some(&admin),
            &json!({ "email": "z@example.no", "name": "Z", "role": "expert" }),
        )
        .await;
    // The mail server being down is not the server's fault: try again later, nothing kept.
    assert_eq!(failed.status.as_u16(), 503);
    assert_eq!(failed.code(), "mail_unavailable");
    assert_eq!(
        failed.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("60")
    );
    assert!(
        !failed.body.contains("SMTP") && !failed.body.contains("refused"),
        "internal causes are not sent: {}",
        failed.body
    );
    let pending = app
        .get(&format!("/api/v1/cohorts/{cohort}/invitations"), Some(&admin))
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 0);
}
