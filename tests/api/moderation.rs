//! Moderation by a cohort's facilitators and the admins: reports and the queue, hiding and
//! restoring posts (the author told by e-mail, the decision audited), locking and pinning
//! threads with version checks, mutes, and taking a member out of the cohort.

use reqwest::Method;
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::discussion::{events, post_in_thread, reply, send_empty, start_thread, thread, user_id};

/// The audit entries with this action, newest first.
async fn audit_entries(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let log = app.get("/api/v1/admin/audit", Some(admin)).await;
    assert_eq!(log.status.as_u16(), 200, "{}", log.body);
    log.json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == action)
        .cloned()
        .collect()
}

async fn queue(app: &TestApp, token: &str, cohort_id: i64) -> Vec<Value> {
    let answer = app
        .get(&format!("/api/v1/cohorts/{cohort_id}/moderation"), Some(token))
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.json().as_array().unwrap().clone()
}

async fn set_hidden(
    app: &TestApp,
    token: &str,
    post_id: i64,
    hide: bool,
    reason: &str,
    version: i64,
) -> samling_tests::Response {
    let action = if hide { "hide" } else { "restore" };
    app.post_json(
        &format!("/api/v1/posts/{post_id}/{action}"),
        Some(token),
        &json!({ "reason": reason, "version": version }),
    )
    .await
}

async fn patch_thread(app: &TestApp, token: &str, thread_id: i64, flags: Value) -> samling_tests::Response {
    app.send_json(
        Method::PATCH,
        &format!("/api/v1/threads/{thread_id}"),
        Some(token),
        &flags,
    )
    .await
}

#[tokio::test]
async fn a_report_reaches_the_moderation_queue_with_its_reason_and_only_moderators_read_it() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let observer = app.member_token(food, "obs@example.no", "Obs", Role::Observer).await;
    let stranger = app
        .member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Innkjøp", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Et **frekt** svar", "o1").await["id"]
        .as_i64()
        .unwrap();
    let report = |token: &str, reason: &str| {
        let (app, token, reason) = (&app, token.to_string(), reason.to_string());
        async move {
            app.post_json(
                &format!("/api/v1/posts/{post_id}/reports"),
                Some(&token),
                &json!({ "reason": reason }),
            )
            .await
        }
    };

    let blank = report(&kari, "   ").await;
    assert_eq!((blank.status.as_u16(), blank.code().as_str()), (422, "reason_required"));
    let outside = report(&stranger, "Ser ikke riktig ut").await;
    assert_eq!((outside.status.as_u16(), outside.code().as_str()), (404, "not_found"));
    assert!(
        queue(&app, &facilitator, food).await.is_empty(),
        "refused reports store nothing"
    );

    assert_eq!(report(&kari, "Personangrep").await.status.as_u16(), 204);
    assert_eq!(report(&observer, "Uhøflig tone").await.status.as_u16(), 204);
    for token in [&facilitator, &admin] {
        let items = queue(&app, token, food).await;
        assert_eq!(items.len(), 1, "{items:?}");
        let item = &items[0];
        assert_eq!(
            (
                item["post"]["id"].as_i64(),
                item["body"].as_str(),
                item["thread_title"].as_str()
            ),
            (Some(post_id), Some("Et **frekt** svar"), Some("Innkjøp"))
        );
        let reports: Vec<(&str, &str)> = item["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["reporter"].as_str().unwrap(), r["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(reports, vec![("Kari", "Personangrep"), ("Obs", "Uhøflig tone")]);
    }
    for (who, token, status, code) in [
        ("a participant", &ola, 403, "forbidden"),
        ("an observer", &observer, 403, "forbidden"),
        ("a stranger", &stranger, 404, "not_found"),
    ] {
        let refused = app
            .get(&format!("/api/v1/cohorts/{food}/moderation"), Some(token))
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (status, code),
            "{who}"
        );
    }

    // Dismissing closes the reports without hiding the post; only moderators may.
    let dismiss = format!("/api/v1/posts/{post_id}/reports/dismiss");
    let by_participant = app.post_json(&dismiss, Some(&kari), &json!({})).await;
    assert_eq!(
        (by_participant.status.as_u16(), by_participant.code().as_str()),
        (403, "forbidden")
    );
    assert_eq!(queue(&app, &facilitator, food).await.len(), 1);
    let dismissed = app.post_json(&dismiss, Some(&facilitator), &json!({})).await;
    assert_eq!(dismissed.status.as_u16(), 204, "{}", dismissed.body);
    assert!(queue(&app, &facilitator, food).await.is_empty());
    assert_eq!(post_in_thread(&app, &kari, thread_id, post_id).await["hidden"], false);
    let audited = audit_entries(&app, &admin, "reports.dismiss").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(
        (
            audited[0]["subject_id"].as_str(),
            audited[0]["detail"]["reports"].as_i64()
        ),
        (Some(post_id.to_string().as_str()), Some(2))
    );
}

#[tokio::test]
async fn hiding_a_post_hides_it_from_members_mails_the_author_the_reason_audits_and_resolves_its_reports() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let facilitator_id = user_id(&app, &facilitator).await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Emballasje", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Et frekt svar til @Kari", "o1").await["id"]
        .as_i64()
        .unwrap();
    app.post_json(
        &format!("/api/v1/posts/{post_id}/reports"),
        Some(&kari),
        &json!({ "reason": "Personangrep" }),
    )
    .await;
    let reason = "Brudd på retningslinjene for god tone";

    let by_participant = set_hidden(&app, &kari, post_id, true, reason, 0).await;
    assert_eq!(
        (by_participant.status.as_u16(), by_participant.code().as_str()),
        (403, "forbidden")
    );
    let without_reason = set_hidden(&app, &facilitator, post_id, true, " ", 0).await;
    assert_eq!(
        (without_reason.status.as_u16(), without_reason.code().as_str()),
        (422, "reason_required")
    );
    assert_eq!(post_in_thread(&app, &kari, thread_id, post_id).await["hidden"], false);
    assert!(app.smtp.mails_to("ola@example.no").is_empty());

    let hidden = set_hidden(&app, &facilitator, post_id, true, reason, 0).await;
    assert_eq!(hidden.status.as_u16(), 200, "{}", hidden.body);
    assert_eq!(
        (hidden.json()["hidden"].clone(), hidden.json()["version"].clone()),
        (json!(true), json!(1))
    );
    for token in [&kari, &ola] {
        let shown = post_in_thread(&app, token, thread_id, post_id).await;
        assert_eq!(
            (
                shown["hidden"].clone(),
                shown["body_html"].clone(),
                shown["mentions"].clone()
            ),
            (json!(true), json!(""), json!([])),
            "members see the place, not the text"
        );
    }

    let mail = app.smtp.wait_for_mail_to("ola@example.no").await;
    assert_eq!(mail.subject(), "Et innlegg du skrev, er skjult");
    assert!(mail.text().contains(reason), "{}", mail.text());
    assert!(mail.text().contains("«Emballasje»"), "{}", mail.text());
    assert!(mail.html().contains(reason), "{}", mail.html());

    let audited = audit_entries(&app, &admin, "posts.hide").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(
        (
            audited[0]["actor_user_id"].as_i64(),
            audited[0]["subject_type"].as_str(),
            audited[0]["subject_id"].as_str(),
            audited[0]["detail"]["reason"].as_str()
        ),
        (
            Some(facilitator_id),
            Some("post"),
            Some(post_id.to_string().as_str()),
            Some(reason)
        )
    );

    // The report is resolved; the hidden post stays in the queue with its text and reason.
    let items = queue(&app, &facilitator, food).await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            items[0]["body"].as_str(),
            items[0]["hidden_reason"].as_str(),
            items[0]["reports"].clone()
        ),
        (Some("Et frekt svar til @Kari"), Some(reason), json!([]))
    );

    // The log replays the post hidden, also where it was created.
    let log = events(&app, &kari, food).await;
    assert_eq!(log.last().unwrap()["kind"], "post_hidden");
    for event in log.iter().filter(|e| e["post_id"] == post_id) {
        assert_eq!(
            (event["post"]["hidden"].clone(), event["post"]["body_html"].clone()),
            (json!(true), json!("")),
            "{event}"
        );
    }

    // Hiding it again, on the version now, changes nothing: no audit entry, no mail, no event.
    let again = set_hidden(&app, &facilitator, post_id, true, "Igjen", 1).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(again.json()["version"], 1);
    let stale = set_hidden(&app, &facilitator, post_id, true, "Igjen", 0).await;
    assert_eq!(
        (stale.status.as_u16(), stale.code().as_str()),
        (409, "version_conflict")
    );
    assert_eq!(audit_entries(&app, &admin, "posts.hide").await.len(), 1);
    assert_eq!(
        app.smtp.mails_to("ola@example.no").len(),
        1,
        "mail is sent before the answer"
    );
    assert_eq!(events(&app, &kari, food).await.len(), log.len());
}

#[tokio::test]
async fn restoring_a_hidden_post_shows_it_again_mails_the_author_and_is_audited() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Gjenbruk", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Helt greit svar", "o1").await["id"]
        .as_i64()
        .unwrap();

    let never_hidden = set_hidden(&app, &facilitator, post_id, false, "Ingenting å gjøre", 0).await;
    assert_eq!(never_hidden.status.as_u16(), 200, "{}", never_hidden.body);
    assert_eq!(
        never_hidden.json()["version"],
        0,
        "restoring a visible post changes nothing"
    );
    assert!(audit_entries(&app, &admin, "posts.restore").await.is_empty());
    assert!(app.smtp.mails_to("ola@example.no").is_empty());

    let hidden = set_hidden(&app, &facilitator, post_id, true, "Ser ut som reklame", 0).await;
    assert_eq!(hidden.status.as_u16(), 200, "{}", hidden.body);
    let by_participant = set_hidden(&app, &kari, post_id, false, "Urettferdig", 1).await;
    assert_eq!(
        (by_participant.status.as_u16(), by_participant.code().as_str()),
        (403, "forbidden")
    );
    let stale = set_hidden(&app, &admin, post_id, false, "Feilvurdering", 0).await;
    assert_eq!(
        (stale.status.as_u16(), stale.code().as_str()),
        (409, "version_conflict")
    );
    assert_eq!(post_in_thread(&app, &kari, thread_id, post_id).await["hidden"], true);

    let reason = "Feilvurdering, beklager";
    let restored = set_hidden(&app, &admin, post_id, false, reason, 1).await;
    assert_eq!(restored.status.as_u16(), 200, "{}", restored.body);
    let shown = post_in_thread(&app, &kari, thread_id, post_id).await;
    assert_eq!(
        (
            shown["hidden"].clone(),
            shown["body_html"].clone(),
            shown["version"].clone()
        ),
        (json!(false), json!("<p>Helt greit svar</p>\n"), json!(2))
    );

    let mail = app.smtp.wait_for_nth_mail_to("ola@example.no", 2).await;
    assert_eq!(mail.subject(), "Et innlegg du skrev, vises igjen");
    assert!(mail.text().contains(reason), "{}", mail.text());
    assert_eq!(app.smtp.mails_to("ola@example.no").len(), 2);
    let audited = audit_entries(&app, &admin, "posts.restore").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(
        (
            audited[0]["subject_id"].as_str(),
            audited[0]["detail"]["reason"].as_str()
        ),
        (Some(post_id.to_string().as_str()), Some(reason))
    );
    assert!(
        queue(&app, &facilitator, food).await.is_empty(),
        "a restored post leaves the queue"
    );
    let log = events(&app, &kari, food).await;
    assert_eq!(log.last().unwrap()["kind"], "post_restored");
    assert_eq!(log.last().unwrap()["post"]["body_html"], "<p>Helt greit svar</p>\n");
}

#[tokio::test]
async fn two_moderators_hiding_the_same_post_at_once_leave_one_outcome_one_audit_entry_and_one_mail() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Samtidig", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Omstridt", "o1").await["id"]
        .as_i64()
        .unwrap();

    let (first, second) = futures::join!(
        set_hidden(&app, &facilitator, post_id, true, "Fasilitatorens grunn", 0),
        set_hidden(&app, &admin, post_id, true, "Adminens grunn", 0),
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", first.body, second.body);
    let (won, lost) = if first.status.as_u16() == 200 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(lost.code(), "version_conflict");
    assert_eq!(won.json()["version"], 1);

    let audited = audit_entries(&app, &admin, "posts.hide").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    let winning_reason = audited[0]["detail"]["reason"].as_str().unwrap();
    // Both answers have arrived, and mail is sent before the answer: no second mail is on its way.
    let mails = app.smtp.mails_to("ola@example.no");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text().contains(winning_reason), "{}", mails[0].text());
    let hidden_events = events(&app, &kari, food)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "post_hidden")
        .count();
    assert_eq!(hidden_events, 1);
}

#[tokio::test]
async fn a_locked_thread_takes_no_posts_until_unlocked_and_a_stale_version_is_refused() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, first_post) = start_thread(&app, &kari, food, "Avsluttet", "k1").await;

    let by_participant = patch_thread(&app, &kari, thread_id, json!({ "locked": true, "version": 0 })).await;
    assert_eq!(
        (by_participant.status.as_u16(), by_participant.code().as_str()),
        (403, "forbidden")
    );
    let locked = patch_thread(&app, &facilitator, thread_id, json!({ "locked": true, "version": 0 })).await;
    assert_eq!(locked.status.as_u16(), 200, "{}", locked.body);
    assert_eq!(
        (locked.json()["locked"].clone(), locked.json()["version"].clone()),
        (json!(true), json!(1))
    );

    let refused = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&ola),
            &json!({ "body": "Slipper jeg inn?", "client_id": "o1" }),
        )
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.code().as_str()),
        (409, "thread_locked")
    );
    assert_eq!(
        thread(&app, &kari, thread_id).await["posts"].as_array().unwrap().len(),
        1
    );
    // A send retried after the lock (its answer was lost) still finds the post it made.
    let retried = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&kari),
            &json!({ "body": "Avsluttet?", "client_id": "k1" }),
        )
        .await;
    assert_eq!(retried.status.as_u16(), 200, "{}", retried.body);
    assert_eq!(retried.json()["id"].as_i64(), Some(first_post));

    let stale = patch_thread(&app, &admin, thread_id, json!({ "locked": false, "version": 0 })).await;
    assert_eq!(
        (stale.status.as_u16(), stale.code().as_str()),
        (409, "version_conflict")
    );
    assert_eq!(thread(&app, &kari, thread_id).await["thread"]["locked"], true);

    let unlocked = patch_thread(&app, &admin, thread_id, json!({ "locked": false, "version": 1 })).await;
    assert_eq!(unlocked.status.as_u16(), 200, "{}", unlocked.body);
    reply(&app, &ola, thread_id, "Slipper jeg inn?", "o1").await;

    let lock_entries = audit_entries(&app, &admin, "threads.lock").await;
    let unlock_entries = audit_entries(&app, &admin, "threads.unlock").await;
    assert_eq!((lock_entries.len(), unlock_entries.len()), (1, 1));
    assert_eq!(
        kinds_of(&events(&app, &kari, food).await),
        vec!["thread_created", "thread_updated", "thread_updated", "post_created"],
        "the refused post left no event"
    );
}

fn kinds_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn listed_titles(app: &TestApp, token: &str, cohort_id: i64) -> Vec<String> {
    app.get(&format!("/api/v1/cohorts/{cohort_id}/threads"), Some(token))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_pinned_thread_comes_first_in_the_list_until_unpinned() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (rules, _) = start_thread(&app, &facilitator, food, "Retningslinjer", "f1").await;
    app.clock.advance(chrono::Duration::minutes(5));
    start_thread(&app, &kari, food, "Nyere tråd", "k1").await;
    assert_eq!(listed_titles(&app, &kari, food).await, ["Nyere tråd", "Retningslinjer"]);

    let pinned = patch_thread(&app, &facilitator, rules, json!({ "pinned": true, "version": 0 })).await;
    assert_eq!(pinned.status.as_u16(), 200, "{}", pinned.body);
    assert_eq!(pinned.json()["pinned"], true);
    assert_eq!(listed_titles(&app, &kari, food).await, ["Retningslinjer", "Nyere tråd"]);

    let stale = patch_thread(&app, &facilitator, rules, json!({ "pinned": false, "version": 0 })).await;
    assert_eq!(
        (stale.status.as_u16(), stale.code().as_str()),
        (409, "version_conflict")
    );
    assert_eq!(listed_titles(&app, &kari, food).await, ["Retningslinjer", "Nyere tråd"]);

    let unpinned = patch_thread(&app, &facilitator, rules, json!({ "pinned": false, "version": 1 })).await;
    assert_eq!(unpinned.status.as_u16(), 200, "{}", unpinned.body);
    assert_eq!(listed_titles(&app, &kari, food).await, ["Nyere tråd", "Retningslinjer"]);
    assert_eq!(
        (
            audit_entries(&app, &admin, "threads.pin").await.len(),
            audit_entries(&app, &admin, "threads.unpin").await.len()
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn a_muted_member_is_told_until_when_and_posts_again_after_unmute_or_when_the_time_runs_out() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let stranger = app
        .member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (ola_id, stranger_id) = (user_id(&app, &ola).await, user_id(&app, &stranger).await);
    let (thread_id, _) = start_thread(&app, &kari, food, "Diskusjon", "k1").await;
    let mutes = format!("/api/v1/cohorts/{food}/mutes");
    let mute = |minutes: i64| json!({ "user_id": ola_id, "minutes": minutes, "reason": "Trenger en pause" });
    let try_post = |client_id: &str| {
        let (app, ola, client_id) = (&app, &ola, client_id.to_string());
        async move {
            app.post_json(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(ola),
                &json!({ "body": "Hør her", "client_id": client_id }),
            )
            .await
        }
    };

    for (who, token, body, status, code) in [
        ("a participant", &kari, mute(30), 403, "forbidden"),
        (
            "a facilitator muting a stranger",
            &facilitator,
            json!({ "user_id": stranger_id, "minutes": 30, "reason": "Nei" }),
            422,
            "not_a_member",
        ),
        ("no time", &facilitator, mute(0), 422, "invalid_mute_duration"),
        (
            "more than 90 days",
            &facilitator,
            mute(90 * 24 * 60 + 1),
            422,
            "invalid_mute_duration",
        ),
        (
            "no reason",
            &facilitator,
            json!({ "user_id": ola_id, "minutes": 30, "reason": "" }),
            422,
            "reason_required",
        ),
    ] {
        let refused = app.post_json(&mutes, Some(token), &body).await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (status, code),
            "{who}"
        );
    }
    assert_eq!(app.get(&mutes, Some(&facilitator)).await.json(), json!([]));

    let muted = app.post_json(&mutes, Some(&facilitator), &mute(30)).await;
    assert_eq!(muted.status.as_u16(), 201, "{}", muted.body);
    assert_eq!(muted.json()["until"], "2027-03-10T09:30:00Z");
    assert_eq!(app.get(&mutes, Some(&facilitator)).await.json()[0]["user_id"], ola_id);
    let refused = try_post("o1").await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (403, "muted"));
    let message = refused.json()["detail"].as_str().unwrap().to_string();
    assert!(
        message.contains("dempet") && message.contains("10. mars 2027 kl. 10:30"),
        "says until when, in Oslo time: {message}"
    );
    let new_thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&ola),
            &json!({ "title": "Ny", "body": "Ny tråd", "client_id": "o-thread" }),
        )
        .await;
    assert_eq!((new_thread.status.as_u16(), new_thread.code().as_str()), (403, "muted"));
    assert_eq!(
        app.get(&format!("/api/v1/threads/{thread_id}"), Some(&ola))
            .await
            .status
            .as_u16(),
        200,
        "a muted member still reads"
    );

    let unmuted = send_empty(&app, Method::DELETE, &format!("{mutes}/{ola_id}"), &facilitator).await;
    assert_eq!(unmuted.status.as_u16(), 204, "{}", unmuted.body);
    assert_eq!(try_post("o1").await.status.as_u16(), 201);

    // A short mute runs out by itself.
    let muted = app.post_json(&mutes, Some(&facilitator), &mute(5)).await;
    assert_eq!(muted.status.as_u16(), 201, "{}", muted.body);
    assert_eq!(try_post("o2").await.code(), "muted");
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(try_post("o2").await.status.as_u16(), 201);
    assert_eq!(app.get(&mutes, Some(&facilitator)).await.json(), json!([]));

    let posts: Vec<String> = thread(&app, &kari, thread_id).await["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["client_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(posts, ["k1", "o1", "o2"], "refused posts were not stored");
    let mute_entries = audit_entries(&app, &admin, "members.mute").await;
    assert_eq!(mute_entries.len(), 2);
    assert_eq!(
        (
            mute_entries[1]["subject_id"].as_str(),
            mute_entries[1]["detail"]["reason"].as_str()
        ),
        (Some(ola_id.to_string().as_str()), Some("Trenger en pause"))
    );
    assert_eq!(
        audit_entries(&app, &admin, "members.unmute").await.len(),
        1,
        "a mute that runs out is not an unmute"
    );
}

#[tokio::test]
async fn a_removed_member_no_longer_sees_the_cohorts_threads() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let ola_id = user_id(&app, &ola).await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Før og etter", "k1").await;
    let ola_post = reply(&app, &ola, thread_id, "Jeg var her", "o1").await["id"].clone();
    let member_path = format!("/api/v1/cohorts/{food}/members/{ola_id}");

    let by_participant = send_empty(&app, Method::DELETE, &member_path, &kari).await;
    assert_eq!(
        (by_participant.status.as_u16(), by_participant.code().as_str()),
        (403, "forbidden")
    );
    assert_eq!(
        app.get(&format!("/api/v1/cohorts/{food}/threads"), Some(&ola))
            .await
            .status
            .as_u16(),
        200
    );

    let removed = send_empty(&app, Method::DELETE, &member_path, &facilitator).await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
    for path in [
        format!("/api/v1/cohorts/{food}/threads"),
        format!("/api/v1/threads/{thread_id}"),
        format!("/api/v1/cohorts/{food}/events"),
    ] {
        let hidden = app.get(&path, Some(&ola)).await;
        assert_eq!(
            (hidden.status.as_u16(), hidden.code().as_str()),
            (404, "not_found"),
            "{path}"
        );
    }
    let posted = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&ola),
            &json!({ "body": "Er jeg ute?", "client_id": "o2" }),
        )
        .await;
    assert_eq!((posted.status.as_u16(), posted.code().as_str()), (404, "not_found"));
    assert_eq!(app.get("/api/v1/me/unread", Some(&ola)).await.json(), json!([]));

    // What they wrote stays for the others.
    let kept = thread(&app, &kari, thread_id).await;
    assert_eq!(kept["posts"].as_array().unwrap().len(), 2);
    assert_eq!(kept["posts"][1]["id"], ola_post);
    let audited = audit_entries(&app, &admin, "cohorts.remove_member").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["subject_id"].as_str(), Some(ola_id.to_string().as_str()));
}
