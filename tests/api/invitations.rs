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
async fn an_invitation_the_mail_server_cannot_take_is_kept_as_bounced() {
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
    // The mail server being unreachable does not lose the invitation: it is kept as bounced,
    // shown, and can be resent later.
    assert_eq!(failed.status.as_u16(), 201, "{}", failed.body);
    assert_eq!(failed.json()["state"], "bounced");
    assert!(
        !failed.body.contains("SMTP") && !failed.body.contains("refused"),
        "internal causes are not sent: {}",
        failed.body
    );
    let pending = app
        .get(&format!("/api/v1/cohorts/{cohort}/invitations"), Some(&admin))
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["state"], "bounced");
}

fn food_contacts() -> Vec<&'static str> {
    vec![
        "kari.nordmann@example.trondheim.kommune.no",
        "ola.hansen@example.bergen.kommune.no",
        "ingrid.berg@example.drammen.kommune.no",
        "per.olsen@example.skien.kommune.no",
        "marte.johansen@example.bodo.kommune.no",
        "jonas.lie@example.stavanger.kommune.no",
        "sofie.dahl@example.molde.kommune.no",
    ]
}

async fn food_with_facilitator(app: &samling_tests::TestApp) -> (String, i64, String) {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte.fjeld@example.no", "Marte Fjeld")
        .await;
    (admin, food, marte)
}

#[tokio::test]
async fn every_project_contact_is_invited_in_one_call_and_only_once() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;

    let contacts = app.get(&format!("/api/v1/cohorts/{food}/contacts"), Some(&marte)).await;
    assert_eq!(contacts.status.as_u16(), 200, "{}", contacts.body);
    let contacts = contacts.json();
    let contacts = contacts.as_array().unwrap();
    assert_eq!(contacts.len(), 7);
    assert!(contacts.iter().all(|c| c["state"] == "not_invited"), "{contacts:?}");
    let kari = contacts
        .iter()
        .find(|c| c["contact_name"] == "Kari Nordmann")
        .expect("Kari's project");
    assert_eq!(kari["municipality"], "Trondheim kommune");
    assert_eq!(kari["contact_email"], "kari.nordmann@example.trondheim.kommune.no");

    let first = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations/contacts"),
            Some(&marte),
            &json!({}),
        )
        .await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    let sent = first.json()["sent"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 7);
    assert!(
        sent.iter()
            .all(|i| i["role"] == "project_lead" && i["grant_id"].is_i64())
    );
    for address in food_contacts() {
        let mail = app.smtp.wait_for_mail_to(address).await;
        assert!(mail.text().contains("Marte Fjeld har invitert deg"), "{}", mail.text());
    }

    let second = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations/contacts"),
            Some(&marte),
            &json!({}),
        )
        .await;
    assert_eq!(second.status.as_u16(), 200, "{}", second.body);
    assert_eq!(second.json()["sent"].as_array().unwrap().len(), 0, "{}", second.body);
    for address in food_contacts() {
        assert_eq!(app.smtp.mails_to(address).len(), 1, "{address} mailed once");
    }
    let after = app
        .get(&format!("/api/v1/cohorts/{food}/contacts"), Some(&marte))
        .await
        .json();
    assert!(
        after.as_array().unwrap().iter().all(|c| c["state"] == "invited"),
        "{after}"
    );

    // Accepting shows as accepted.
    let token = app
        .smtp
        .wait_for_mail_to(food_contacts()[0])
        .await
        .link_token("/invitations/accept");
    let accepted = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.body);
    let kari_token = accepted.json()["session"]["token"].as_str().unwrap().to_string();
    let after = app
        .get(&format!("/api/v1/cohorts/{food}/contacts"), Some(&marte))
        .await
        .json();
    let kari = after
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact_name"] == "Kari Nordmann")
        .unwrap()
        .clone();
    assert_eq!(kari["state"], "accepted");

    // A project lead sees no addresses: the contacts and "invite all" are refused.
    let by_lead = app
        .get(&format!("/api/v1/cohorts/{food}/contacts"), Some(&kari_token))
        .await;
    assert_eq!((by_lead.status.as_u16(), by_lead.code()), (403, "forbidden".into()));
    let by_lead = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations/contacts"),
            Some(&kari_token),
            &json!({}),
        )
        .await;
    assert_eq!(by_lead.status.as_u16(), 403);
}

#[tokio::test]
async fn two_facilitators_inviting_all_at_once_invite_nobody_twice() {
    let app = spawn_app().await;
    let (admin, food, marte) = food_with_facilitator(&app).await;
    let path = format!("/api/v1/cohorts/{food}/invitations/contacts");
    let empty = json!({});
    let (a, b, c) = tokio::join!(
        app.post_json(&path, Some(&marte), &empty),
        app.post_json(&path, Some(&admin), &empty),
        app.post_json(&path, Some(&marte), &empty),
    );
    let mut sent = 0;
    for answer in [&a, &b, &c] {
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        sent += answer.json()["sent"].as_array().unwrap().len();
    }
    assert_eq!(
        sent, 7,
        "each contact invited once: {} / {} / {}",
        a.body, b.body, c.body
    );
    let pending = app
        .get(&format!("/api/v1/cohorts/{food}/invitations"), Some(&marte))
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 7);
    for address in food_contacts() {
        app.smtp.wait_for_mail_to(address).await;
        assert_eq!(app.smtp.mails_to(address).len(), 1, "{address}");
    }
}

#[tokio::test]
async fn a_resent_invitation_has_a_new_link_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;
    let invited = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "nina@example.no", "name": "Nina Ny", "role": "observer" }),
        )
        .await;
    assert_eq!(invited.status.as_u16(), 201, "{}", invited.body);
    let id = invited.json()["id"].as_i64().unwrap();
    let old = app
        .smtp
        .wait_for_mail_to("nina@example.no")
        .await
        .link_token("/invitations/accept");

    let twice = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "nina@example.no", "name": "Nina Ny", "role": "observer" }),
        )
        .await;
    assert_eq!((twice.status.as_u16(), twice.code()), (409, "already_invited".into()));

    let resent = app
        .post_json(&format!("/api/v1/invitations/{id}/resend"), Some(&marte), &json!({}))
        .await;
    assert_eq!(resent.status.as_u16(), 200, "{}", resent.body);
    assert_eq!(resent.json()["state"], "invited");
    let new = app
        .smtp
        .wait_for_nth_mail_to("nina@example.no", 2)
        .await
        .link_token("/invitations/accept");
    assert_ne!(old, new);
    let with_old = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": old }))
        .await;
    assert_eq!(with_old.code(), "invitation_invalid");
    let with_new = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": new }))
        .await;
    assert_eq!(with_new.status.as_u16(), 200, "{}", with_new.body);

    let accepted_again = app
        .post_json(&format!("/api/v1/invitations/{id}/resend"), Some(&marte), &json!({}))
        .await;
    assert_eq!(
        (accepted_again.status.as_u16(), accepted_again.code()),
        (409, "invitation_accepted".into())
    );
}

#[tokio::test]
async fn a_withdrawn_invitation_stops_working_and_the_contact_is_not_invited_again() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;
    let all = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations/contacts"),
            Some(&marte),
            &json!({}),
        )
        .await
        .json();
    let ola = all["sent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "ola.hansen@example.bergen.kommune.no")
        .unwrap()
        .clone();
    let token = app
        .smtp
        .wait_for_mail_to("ola.hansen@example.bergen.kommune.no")
        .await
        .link_token("/invitations/accept");
    let id = ola["id"].as_i64().unwrap();
    let withdrawn = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/invitations/{id}"),
            Some(&marte),
            &json!({}),
        )
        .await;
    assert_eq!(withdrawn.status.as_u16(), 204, "{}", withdrawn.body);
    let dead = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(dead.code(), "invitation_invalid");
    let contacts = app
        .get(&format!("/api/v1/cohorts/{food}/contacts"), Some(&marte))
        .await
        .json();
    let state = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact_name"] == "Ola Hansen")
        .unwrap()["state"]
        .clone();
    assert_eq!(state, "not_invited");
    let again = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/invitations/{id}"),
            Some(&marte),
            &json!({}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 404);
}

#[tokio::test]
async fn a_refused_address_is_marked_bounced_and_can_be_resent() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;
    let invited = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "refused.expert@example.no", "name": "Rolf Refusert", "role": "expert" }),
        )
        .await;
    assert_eq!(invited.status.as_u16(), 201, "{}", invited.body);
    assert_eq!(invited.json()["state"], "bounced");
    let id = invited.json()["id"].as_i64().unwrap();
    let pending = app
        .get(&format!("/api/v1/cohorts/{food}/invitations"), Some(&marte))
        .await
        .json();
    assert_eq!(pending[0]["state"], "bounced");
    let resent = app
        .post_json(&format!("/api/v1/invitations/{id}/resend"), Some(&marte), &json!({}))
        .await;
    assert_eq!(resent.status.as_u16(), 200, "{}", resent.body);
    assert_eq!(resent.json()["state"], "bounced", "still refused");
    assert!(app.smtp.mails_to("refused.expert@example.no").is_empty());
}

#[tokio::test]
async fn several_addresses_at_once_are_all_checked_before_any_is_invited() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;
    let path = format!("/api/v1/cohorts/{food}/invitations/batch");
    let before = app.smtp.all().len();
    let bad = app
        .post_json(
            &path,
            Some(&marte),
            &json!({ "people": "Eva Ekspert <eva@example.no>\nbare et navn\nper@example.no, Per", "role": "expert" }),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.code()),
        (422, "invalid_person_line".into()),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("Linje 2"), "{}", bad.body);
    assert_eq!(app.smtp.all().len(), before, "nothing sent");
    let pending = app
        .get(&format!("/api/v1/cohorts/{food}/invitations"), Some(&marte))
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 0, "nobody invited");

    let good = app
        .post_json(
            &path,
            Some(&marte),
            &json!({
                "people": "Eva Ekspert <eva@example.no>\n\nper@example.no, Per Person\nmarte.fjeld@example.no, Marte\nrefused@example.no, Rita",
                "role": "expert"
            }),
        )
        .await;
    assert_eq!(good.status.as_u16(), 200, "{}", good.body);
    let result = good.json();
    assert_eq!(result["sent"].as_array().unwrap().len(), 2, "{result}");
    assert_eq!(result["bounced"][0]["email"], "refused@example.no");
    assert_eq!(result["already_members"], json!(["marte.fjeld@example.no"]));
    app.smtp.wait_for_mail_to("eva@example.no").await;
    app.smtp.wait_for_mail_to("per@example.no").await;

    let again = app
        .post_json(
            &path,
            Some(&marte),
            &json!({ "people": "Eva <eva@example.no>", "role": "expert" }),
        )
        .await
        .json();
    assert_eq!(again["already_invited"], json!(["eva@example.no"]));
    assert_eq!(again["sent"].as_array().unwrap().len(), 0);
    assert_eq!(app.smtp.mails_to("eva@example.no").len(), 1);
}

#[tokio::test]
async fn an_appointed_facilitator_gets_a_mail_with_a_sign_in_link_that_works_once() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let appointed = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/cohorts/{food}/facilitator"),
            Some(&admin),
            &json!({ "email": "siri@example.no", "name": "Siri Fasilitator" }),
        )
        .await;
    assert_eq!(appointed.status.as_u16(), 200, "{}", appointed.body);
    let mail = app.smtp.wait_for_mail_to("siri@example.no").await;
    assert_eq!(mail.subject(), "Du er fasilitator for Mat og matsvinn i Samling");
    assert!(mail.text().contains("temagruppen Mat og matsvinn"), "{}", mail.text());
    let token = mail.link_token("/sign-in/link");
    // The link leads to the cohort once used.
    assert_eq!(
        mail.link_parameter("/sign-in/link", "next").as_deref(),
        Some(format!("/cohorts/{food}").as_str())
    );
    let session = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
        .await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.body);
    let siri = session.json()["token"].as_str().unwrap().to_string();
    let visible = app.get("/api/v1/cohorts", Some(&siri)).await.json();
    assert_eq!(visible[0]["my_role"], "facilitator");
    let reused = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
        .await;
    assert_eq!(reused.status.as_u16(), 422, "the link works once");
}

#[tokio::test]
async fn an_invited_expert_is_booked_at_once_named_in_the_mail_and_booked_on_acceptance() {
    let app = spawn_app().await;
    let (_, food, marte) = food_with_facilitator(&app).await;
    let sessions = app.plan_sessions(&marte, food).await;
    let (first, second) = (&sessions[0], &sessions[1]);
    let first_id = first["id"].as_i64().unwrap();
    let second_id = second["id"].as_i64().unwrap();

    // Invited and booked in one request: the mail names the cohort, the session, its time, the topic.
    let invited = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "eli@example.no", "name": "Eli Ekspert", "role": "expert",
                     "session_id": first_id, "topic": "Veiing av matavfall" }),
        )
        .await;
    assert_eq!(invited.status.as_u16(), 201, "{}", invited.body);
    let invitation_id = invited.json()["id"].as_i64().unwrap();
    let mail = app.smtp.wait_for_mail_to("eli@example.no").await;
    let starts: chrono::DateTime<chrono::Utc> = first["starts_at"].as_str().unwrap().parse().unwrap();
    let ends: chrono::DateTime<chrono::Utc> = first["ends_at"].as_str().unwrap().parse().unwrap();
    let when = samling::i18n::Tr::new(samling::i18n::Language::Nb).time_span(starts, ends);
    let text = mail.text();
    assert!(text.contains(first["title"].as_str().unwrap()), "{text}");
    assert!(text.contains(&when), "{when} in {text}");
    assert!(text.contains("Tema: Veiing av matavfall"), "{text}");
    assert!(text.contains("Mat og matsvinn"), "{text}");

    // A project lead cannot be booked through the invitation.
    let lead = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/invitations"),
            Some(&marte),
            &json!({ "email": "pl@example.no", "name": "PL", "role": "project_lead", "session_id": first_id }),
        )
        .await;
    assert_eq!(lead.code(), "invite_session_only_experts");

    // Booked for a second session before answering: a short mail names it.
    let booked = app
        .post_json(
            &format!("/api/v1/sessions/{second_id}/experts"),
            Some(&marte),
            &json!({ "invitation_id": invitation_id, "topic": "Menyplanlegging" }),
        )
        .await;
    assert_eq!(booked.status.as_u16(), 200, "{}", booked.body);
    let note = app.smtp.wait_for_nth_mail_to("eli@example.no", 2).await;
    assert!(
        note.subject().contains(second["title"].as_str().unwrap()),
        "{}",
        note.subject()
    );
    assert!(note.text().contains("Menyplanlegging"), "{}", note.text());
    let session = app
        .get(&format!("/api/v1/sessions/{second_id}"), Some(&marte))
        .await
        .json();
    assert_eq!(
        session["experts"].as_array().unwrap().len(),
        0,
        "not theirs before they accept"
    );

    let token = mail.link_token("/invitations/accept");
    let accepted = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": token }))
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.body);
    for (id, topic) in [(first_id, "Veiing av matavfall"), (second_id, "Menyplanlegging")] {
        let session = app.get(&format!("/api/v1/sessions/{id}"), Some(&marte)).await.json();
        let experts = session["experts"].as_array().unwrap();
        assert_eq!(experts.len(), 1, "{session}");
        assert_eq!(experts[0]["name"], "Eli Ekspert");
        assert_eq!(experts[0]["topic"], topic);
    }
}

#[tokio::test]
async fn on_the_pages_an_expert_is_invited_and_booked_in_one_form_and_an_invited_one_booked_later() {
    use crate::pages::{csrf_of, page, sign_in_by_pages, submit};
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let sessions = app.plan_sessions(&marte, food).await;
    let (first, second) = (sessions[0]["id"].as_i64().unwrap(), sessions[1]["id"].as_i64().unwrap());
    let client = sign_in_by_pages(&app, "marte@example.no").await;
    let (_, html) = page(&client, &app, &format!("/cohorts/{food}")).await;
    assert!(
        html.contains("id=\"invite-session\""),
        "the invite form offers the sessions"
    );
    let csrf = csrf_of(&html);
    let (status, path, html) = submit(
        &client,
        &app,
        &format!("/cohorts/{food}/invitations"),
        &[
            ("csrf_token", &csrf),
            ("name", "Eli Ekspert"),
            ("email", "eli@example.no"),
            ("role", "expert"),
            ("session_id", &first.to_string()),
            ("topic", "Veiing"),
        ],
    )
    .await;
    assert_eq!(
        (status, path.as_str()),
        (200, format!("/cohorts/{food}").as_str()),
        "{html}"
    );
    assert!(html.contains("Invitasjonen er sendt til eli@example.no."), "{html}");
    let mail = app.smtp.wait_for_mail_to("eli@example.no").await;
    assert!(mail.text().contains("Tema: Veiing"), "{}", mail.text());

    // The session page lists her as booked and not answered, and offers her for the others.
    let (_, html) = page(&client, &app, &format!("/sessions/{first}")).await;
    assert!(html.contains("Eli Ekspert (invitert, ikke svart): Veiing"), "{html}");
    let (_, html) = page(&client, &app, &format!("/sessions/{second}")).await;
    let invitation_id = app
        .get(&format!("/api/v1/cohorts/{food}/invitations"), Some(&marte))
        .await
        .json()[0]["id"]
        .as_i64()
        .unwrap();
    let option = format!("value=\"invitation-{invitation_id}\"");
    assert!(html.contains(&option), "{html}");
    let (status, path, html) = submit(
        &client,
        &app,
        &format!("/sessions/{second}/experts"),
        &[
            ("csrf_token", &csrf_of(&html)),
            ("user_id", &format!("invitation-{invitation_id}")),
            ("topic", "Menyer"),
        ],
    )
    .await;
    assert_eq!(
        (status, path.as_str()),
        (200, format!("/sessions/{second}").as_str()),
        "{html}"
    );
    assert!(html.contains("Eli Ekspert (invitert, ikke svart): Menyer"), "{html}");
    let note = app.smtp.wait_for_nth_mail_to("eli@example.no", 2).await;
    assert!(note.subject().starts_with("Du er booket til"), "{}", note.subject());
}
