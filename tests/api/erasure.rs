//! Erasing a person: by their own confirmed request or by an admin. After it their name and
//! address are nowhere in the database (every text column of every table, read from the schema),
//! the cohort's thread still reads in order with their kept posts under «Tidligere deltaker»,
//! the link works once and for 24 hours, their socket closes, and other people's data stays.

use chrono::Duration;
use reqwest::Method;
use samling::domain::roles::Role;
use samling::domain::sessions::{RegistrationStatus, SessionStatus};
use samling::entities::{
    audit_log, cohort, cohort_mute, grant, lesson, lesson_read, membership, outbox_mail, poll_answer, poll_option,
    post, post_reaction, post_revision, preparation, registration, resource, session, suggestion_follow, survey_answer,
    survey_taker, user,
};
use samling_tests::{ClockExt, TestApp, backend_is_postgres, spawn_app};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Statement};
use serde_json::{Value, json};

use crate::discussion::{reply, send_empty, start_thread, thread, user_id};
use crate::realtime::{close_code, connect, next, send};
use crate::retention::{FOOD_GRANTS, invitations_holding, invited_projects, projects_invited};

const NAME: &str = "Åse Erasmussen";
const EMAIL: &str = "ase.erasmussen@example.no";

/// Every value of every text column of every table, as the database schema lists them
/// (SQLite: `sqlite_master` and `pragma table_info`; PostgreSQL: `information_schema`).
/// SQLite's full-text index is left out: it holds single stemmed words, read from
/// `search_entries.stems`, which is searched.
async fn every_text_value(app: &TestApp) -> Vec<(String, String, String)> {
    let backend = app.db.get_database_backend();
    let mut columns: Vec<(String, String)> = Vec::new();
    if backend_is_postgres() {
        for row in app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'character')",
            ))
            .await
            .unwrap()
        {
            columns.push((row.try_get("", "t").unwrap(), row.try_get("", "c").unwrap()));
        }
    } else {
        for table in app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'search_fts%'",
            ))
            .await
            .unwrap()
        {
            let table: String = table.try_get("", "name").unwrap();
            for column in app
                .db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT name, type FROM pragma_table_info('{table}')"),
                ))
                .await
                .unwrap()
            {
                let kind: String = column.try_get::<String>("", "type").unwrap().to_uppercase();
                if kind.contains("TEXT") || kind.contains("CHAR") || kind.contains("CLOB") {
                    columns.push((table.clone(), column.try_get("", "name").unwrap()));
                }
            }
        }
    }
    assert!(
        columns.len() > 100,
        "the schema lists the text columns: {}",
        columns.len()
    );
    let cast = if backend_is_postgres() { "::text" } else { "" };
    let mut values = Vec::new();
    for (table, column) in columns {
        for row in app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT \"{column}\"{cast} AS v FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"),
            ))
            .await
            .unwrap()
        {
            values.push((table.clone(), column.clone(), row.try_get::<String>("", "v").unwrap()));
        }
    }
    values
}

/// Where the text of the database holds any of `needles` (in any case).
async fn traces(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let needles: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
    every_text_value(app)
        .await
        .into_iter()
        .filter(|(_, _, value)| {
            let value = value.to_lowercase();
            needles.iter().any(|needle| value.contains(needle.as_str()))
        })
        .map(|(table, column, value)| format!("{table}.{column}: {}", value.chars().take(160).collect::<String>()))
        .collect()
}

async fn person(app: &TestApp, email: &str) -> user::Model {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the person")
}

/// A session of the cohort that ended a week ago, Åse registered and present.
async fn past_session(app: &TestApp, cohort_id: i64) -> session::Model {
    let now = app.clock.now_for_tests();
    let starts_at = now - Duration::days(7);
    session::ActiveModel {
        cohort_id: Set(cohort_id as i32),
        number: Set(1),
        title: Set("Samling 1".into()),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + Duration::hours(2)),
        meeting_url: Set(None),
        agenda: Set(String::new()),
        status: Set(SessionStatus::Held),
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
    .unwrap()
}

fn outbox(
    kind: outbox_mail::Kind,
    user_id: i32,
    to: &str,
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> outbox_mail::ActiveModel {
    outbox_mail::ActiveModel {
        kind: Set(kind),
        digest_id: Set(None),
        user_id: Set(Some(user_id)),
        message_id: Set(format!("<{}@test>", uuid_like(text))),
        recipient: Set(to.into()),
        subject: Set("Nytt i Samling".into()),
        text_body: Set(text.into()),
        html_body: Set(format!("<p>{text}</p>")),
        calendar: Set(None),
        unsubscribe_url: Set(String::new()),
        status: Set(outbox_mail::Status::Sent),
        attempts: Set(1),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(Some(now)),
        ..Default::default()
    }
}

fn uuid_like(text: &str) -> String {
    format!(
        "{:x}",
        text.len() * 7919 + text.chars().map(|c| c as usize).sum::<usize>()
    )
}

/// The food cohort with its facilitator, Åse (project lead, with as much data as Samling holds
/// about a person) and Bjørn, whose data must stay.
struct World {
    admin: String,
    food: i64,
    ase: String,
    ase_id: i32,
    bjorn: String,
    bjorn_id: i32,
    thread_id: i64,
    /// Åse's first post, Bjørn's reply mentioning her, Åse's edited reply.
    posts: [i64; 3],
    file_key: String,
}

async fn world(app: &TestApp) -> World {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let circular = cohorts["sirkulaerokonomi"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    // An invitation, accepted; another to her address, open; a sign-in.
    app.invite_and_accept(&facilitator, food, EMAIL, NAME, "project_lead")
        .await;
    let open = app
        .post_json(
            &format!("/api/v1/cohorts/{circular}/invitations"),
            Some(&admin),
            &json!({ "email": EMAIL, "name": NAME, "role": "observer" }),
        )
        .await;
    assert_eq!(open.status.as_u16(), 201, "{}", open.body);
    let ase = app.sign_in(EMAIL).await;
    let bjorn = app
        .member_token(food, "bjorn@example.no", "Bjørn Blom", Role::ProjectLead)
        .await;
    let (ase_id, bjorn_id) = (user_id(app, &ase).await as i32, user_id(app, &bjorn).await as i32);
    let now = app.clock.now_for_tests();

    // Posts: hers, his reply naming her, her reply edited; reactions both ways; her report.
    let (thread_id, first) = start_thread(app, &ase, food, "Matsvinn i kantina", "a1").await;
    let his = reply(
        app,
        &bjorn,
        thread_id,
        &format!("Takk, @{NAME}! Enig med @{}.", NAME.to_lowercase()),
        "b1",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let hers = reply(app, &ase, thread_id, "Vi veier avfallet hver dag.", "a2").await["id"]
        .as_i64()
        .unwrap();
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/posts/{hers}"),
            Some(&ase),
            &json!({ "body": "Vi veier matavfallet hver dag, og skriver det ned." }),
        )
        .await;
    assert_eq!(edited.status.as_u16(), 200, "{}", edited.body);
    // Bjørn edits his post: the revision keeps the text naming her.
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/posts/{his}"),
            Some(&bjorn),
            &json!({ "body": format!("Takk, @{NAME}! Dette var nyttig.") }),
        )
        .await;
    assert_eq!(edited.status.as_u16(), 200, "{}", edited.body);
    for (post_id, token) in [(his, &ase), (first, &bjorn)] {
        let reacted = send_empty(
            app,
            Method::PUT,
            &format!("/api/v1/posts/{post_id}/reactions/thanks"),
            token,
        )
        .await;
        assert!(reacted.status.is_success(), "{}", reacted.body);
    }
    let reported = app
        .post_json(
            &format!("/api/v1/posts/{his}/reports"),
            Some(&ase),
            &json!({ "reason": "Feil tema" }),
        )
        .await;
    assert!(reported.status.is_success(), "{}", reported.body);
    let read = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/threads/{thread_id}/read"),
            Some(&ase),
            &json!({ "last_read_post_id": hers }),
        )
        .await;
    assert_eq!(read.status.as_u16(), 204, "{}", read.body);
    let feed = app.post_json("/api/v1/me/calendar-feed", Some(&ase), &json!({})).await;
    assert_eq!(feed.status.as_u16(), 201, "{}", feed.body);

    // A file she shares.
    let mut allowed: cohort::ActiveModel = cohort::Entity::find_by_id(food as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    allowed.participants_post_resources = Set(true);
    allowed.update(&app.db).await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("title", "Veiing av matavfall")
        .text("summary", "Skjema")
        .text("tags", "matsvinn")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec())
                .file_name("skjema.pdf"),
        );
    let uploaded = app
        .api
        .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
        .bearer_auth(&ase)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let resource_id = uploaded.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let file_key = resource::Entity::find_by_id(resource_id as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .storage_key
        .expect("a stored file");
    assert!(app.settings.files_dir.join(&file_key).exists());

    // A session she registered for and came to, her needs, a poll answer, a survey taken.
    let held = past_session(app, food).await;
    registration::ActiveModel {
        session_id: Set(held.id),
        user_id: Set(ase_id),
        status: Set(RegistrationStatus::Registered),
        created_at: Set(now - Duration::days(14)),
        attended: Set(Some(true)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    preparation::ActiveModel {
        session_id: Set(held.id),
        user_id: Set(ase_id),
        needs: Set(format!("Hjelp med veiing. Hilsen {NAME}")),
        offers: Set(format!("Skjema, spør {EMAIL}")),
        updated_at: Set(now),
        addressed_session_id: Set(None),
        addressed_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let option = poll_option::ActiveModel {
        session_id: Set(held.id),
        starts_at: Set(held.starts_at),
        ends_at: Set(held.ends_at),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    for who in [ase_id, bjorn_id] {
        poll_answer::ActiveModel {
            option_id: Set(option.id),
            user_id: Set(who),
            answer: Set("yes".into()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let programme_id = samling::entities::programme::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    survey_taker::ActiveModel {
        user_id: Set(ase_id),
        survey: Set(samling::surveys::session_survey(held.id)),
        programme_id: Set(programme_id),
        session_id: Set(Some(held.id)),
        mailed_at: Set(Some(now)),
        answered_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    survey_answer::ActiveModel {
        kind: Set("session".into()),
        programme_id: Set(programme_id),
        cohort_id: Set(food as i32),
        session_id: Set(Some(held.id)),
        usefulness: Set(Some(5)),
        helped: Set("Eksemplene".into()),
        change: Set(String::new()),
        changed_project: Set(None),
        recommend: Set(None),
        answered_on: Set(now.date_naive()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();

    // Her project: the grant register names her; she wrote its lesson, read another, followed a suggestion.
    let grants = grant::Entity::find()
        .filter(grant::Column::ThemeId.is_not_null())
        .all(&app.db)
        .await
        .unwrap();
    let (mine, other) = (grants[0].clone(), grants[1].clone());
    let mut contact: grant::ActiveModel = mine.clone().into();
    contact.contact_name = Set(NAME.into());
    contact.contact_email = Set(Some(EMAIL.into()));
    contact.update(&app.db).await.unwrap();
    let theme_id = cohort::Entity::find_by_id(food as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .theme_id;
    let written = lesson::ActiveModel {
        grant_id: Set(mine.id),
        cohort_id: Set(food as i32),
        theme_id: Set(theme_id),
        learned: Set("Å måle hjelper.".into()),
        tips: Set("Start i det små.".into()),
        author_id: Set(ase_id),
        created_at: Set(now),
        updated_at: Set(now),
        done: Set("Veiing".into()),
        results: Set("Mindre svinn".into()),
        did_not_work: Set("Papirskjema".into()),
        contact_name: Set(NAME.into()),
        contact_email: Set(EMAIL.into()),
        contact_phone: Set("+47 900 00 000".into()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    samling::projects::index_lesson(&app.db, &written).await.unwrap();
    lesson_read::ActiveModel {
        lesson_id: Set(written.id),
        user_id: Set(ase_id),
        programme_id: Set(Some(programme_id)),
        read_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    suggestion_follow::ActiveModel {
        user_id: Set(ase_id),
        grant_id: Set(mine.id),
        suggested_grant_id: Set(other.id),
        reason: Set("needs".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();

    // A mute of her, a digest to her, a notice to Bjørn that names her.
    cohort_mute::ActiveModel {
        cohort_id: Set(food as i32),
        user_id: Set(ase_id),
        until: Set(now - Duration::days(1)),
        reason: Set(format!("{NAME} skrev for mye")),
        muted_by: Set(bjorn_id),
        created_at: Set(now - Duration::days(2)),
    }
    .insert(&app.db)
    .await
    .unwrap();
    outbox(
        outbox_mail::Kind::Digest,
        ase_id,
        EMAIL,
        &format!("Hei {NAME}, dette er nytt."),
        now,
    )
    .insert(&app.db)
    .await
    .unwrap();
    outbox(
        outbox_mail::Kind::Notice,
        bjorn_id,
        "bjorn@example.no",
        &format!("{NAME} svarte deg i «Matsvinn i kantina»."),
        now,
    )
    .insert(&app.db)
    .await
    .unwrap();

    World {
        admin,
        food,
        ase,
        ase_id,
        bjorn,
        bjorn_id,
        thread_id,
        posts: [first, his, hers],
        file_key,
    }
}

/// Asks for the erasure through the API; returns the token from the mail that arrives.
async fn ask(app: &TestApp, token: &str, email: &str, posts: &str) -> String {
    let before = app.smtp.mails_to(email).len();
    let asked = app
        .post_json("/api/v1/me/erasure", Some(token), &json!({ "posts": posts }))
        .await;
    assert_eq!(asked.status.as_u16(), 202, "{}", asked.body);
    app.smtp
        .wait_for_nth_mail_to(email, before + 1)
        .await
        .link_token("/account/erasure")
}

#[tokio::test]
async fn an_erased_person_leaves_no_trace_and_the_thread_still_reads_in_order() {
    let app = spawn_app().await;
    let w = world(&app).await;
    assert!(
        !traces(&app, &[NAME, EMAIL]).await.is_empty(),
        "the world holds her name and address before"
    );
    let mut socket = connect(&app, &w.ase).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": w.food, "after": 0 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let secret = ask(&app, &w.ase, EMAIL, "keep").await;
    // The link opens a page that says what happens; opening it changes nothing.
    let page = app.get(&format!("/account/erasure?token={secret}"), None).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    assert!(page.body.contains("Tidligere deltaker"), "{}", page.body);
    assert_eq!(app.get("/api/v1/me", Some(&w.ase)).await.status.as_u16(), 200);

    let confirmed = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": secret }))
        .await;
    assert_eq!(confirmed.status.as_u16(), 204, "{}", confirmed.body);
    let again = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": secret }))
        .await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (410, "erasure_link_invalid".into())
    );

    // Signed out, the socket closed.
    assert_eq!(app.get("/api/v1/me", Some(&w.ase)).await.status.as_u16(), 401);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), close_code(&mut socket)).await;
    assert!(
        matches!(closed, Ok(Some(4401 | 4403))),
        "the erased person's socket closes: {closed:?}"
    );

    // No trace of her name or address in any text column of any table.
    let found = traces(&app, &[NAME, EMAIL]).await;
    assert!(found.is_empty(), "traces of the erased person:\n{}", found.join("\n"));
    let row = user::Entity::find_by_id(w.ase_id).one(&app.db).await.unwrap().unwrap();
    assert!(row.erased_at.is_some() && !row.active);
    assert_eq!(row.email, format!("erased-{}@invalid", w.ase_id));

    // The thread reads in order, her kept posts under «Tidligere deltaker».
    let detail = thread(&app, &w.bjorn, w.thread_id).await;
    let posts = detail["posts"].as_array().unwrap();
    let ids: Vec<i64> = posts.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, w.posts.to_vec());
    let authors: Vec<&str> = posts.iter().map(|p| p["author"].as_str().unwrap()).collect();
    assert_eq!(authors, ["Tidligere deltaker", "Bjørn Blom", "Tidligere deltaker"]);
    assert!(posts[2]["body_html"].as_str().unwrap().contains("matavfallet"));
    assert!(
        posts[1]["body_html"].as_str().unwrap().contains("@Tidligere deltaker"),
        "{}",
        posts[1]["body_html"]
    );
    assert_eq!(detail["thread"]["author"], "Tidligere deltaker", "{}", detail["thread"]);
    // In the reader's language.
    let mut english: user::ActiveModel = person(&app, "bjorn@example.no").await.into();
    english.language = Set("en".into());
    english.update(&app.db).await.unwrap();
    let detail = thread(&app, &w.bjorn, w.thread_id).await;
    assert_eq!(detail["posts"][0]["author"], "Former participant");
    assert_eq!(detail["thread"]["author"], "Former participant");

    // Her rows are gone; Bjørn's stay; her file is deleted from storage.
    for (table, count) in [
        (
            "memberships",
            membership::Entity::find()
                .filter(membership::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "reactions",
            post_reaction::Entity::find()
                .filter(post_reaction::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "registrations",
            registration::Entity::find()
                .filter(registration::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "preparations",
            preparation::Entity::find()
                .filter(preparation::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "poll answers",
            poll_answer::Entity::find()
                .filter(poll_answer::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "survey takers",
            survey_taker::Entity::find()
                .filter(survey_taker::Column::UserId.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
        (
            "resources",
            resource::Entity::find()
                .filter(resource::Column::PostedBy.eq(w.ase_id))
                .all(&app.db)
                .await
                .unwrap()
                .len(),
        ),
    ] {
        assert_eq!(count, 0, "{table} of the erased person");
    }
    assert!(
        !app.settings.files_dir.join(&w.file_key).exists(),
        "her file is deleted"
    );
    assert_eq!(
        survey_answer::Entity::find().all(&app.db).await.unwrap().len(),
        1,
        "answers stay, anonymous"
    );
    let bjorn = person(&app, "bjorn@example.no").await;
    assert_eq!(bjorn.name, "Bjørn Blom");
    assert!(bjorn.active);
    let his_reaction = post_reaction::Entity::find()
        .filter(post_reaction::Column::UserId.eq(w.bjorn_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(his_reaction.len(), 1, "Bjørn's reaction on her kept post stays");
    let his_answer = poll_answer::Entity::find()
        .filter(poll_answer::Column::UserId.eq(w.bjorn_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(his_answer.len(), 1);
    assert_eq!(app.get("/api/v1/me", Some(&w.bjorn)).await.status.as_u16(), 200);
    assert!(
        traces(&app, &["Bjørn Blom", "bjorn@example.no"]).await.len() >= 2,
        "Bjørn's name and address stay"
    );
    // The audit log keeps the erasure under a pseudonym.
    let entry = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("privacy.erase"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an audit entry");
    assert!(
        entry.detail.contains(&format!("person-{}", w.ase_id)),
        "{}",
        entry.detail
    );
}

#[tokio::test]
async fn an_admin_erases_someone_who_asked_by_letter_and_their_posts_go() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let refused = app
        .post_json(
            &format!("/api/v1/admin/users/{}/erasure", w.ase_id),
            Some(&w.bjorn),
            &json!({ "posts": "delete" }),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.body);
    let admin_id = user_id(&app, &w.admin).await;
    let own = app
        .post_json(
            &format!("/api/v1/admin/users/{admin_id}/erasure"),
            Some(&w.admin),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!((own.status.as_u16(), own.code()), (409, "cannot_erase_self".into()));
    let unknown = app
        .post_json(
            "/api/v1/admin/users/999999/erasure",
            Some(&w.admin),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 404);
    let bad = app
        .post_json(
            &format!("/api/v1/admin/users/{}/erasure", w.ase_id),
            Some(&w.admin),
            &json!({ "posts": "archive" }),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);

    let erased = app
        .post_json(
            &format!("/api/v1/admin/users/{}/erasure", w.ase_id),
            Some(&w.admin),
            &json!({ "posts": "delete" }),
        )
        .await;
    assert_eq!(erased.status.as_u16(), 204, "{}", erased.body);
    assert_eq!(app.get("/api/v1/me", Some(&w.ase)).await.status.as_u16(), 401);
    let found = traces(&app, &[NAME, EMAIL]).await;
    assert!(found.is_empty(), "traces of the erased person:\n{}", found.join("\n"));

    // Her posts are deleted, text and history; the thread keeps its order around them.
    let detail = thread(&app, &w.bjorn, w.thread_id).await;
    let posts = detail["posts"].as_array().unwrap();
    let ids: Vec<i64> = posts.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, w.posts.to_vec());
    let deleted: Vec<bool> = posts.iter().map(|p| p["deleted"].as_bool().unwrap()).collect();
    assert_eq!(deleted, [true, false, true]);
    for id in [w.posts[0], w.posts[2]] {
        let stored = post::Entity::find_by_id(id as i32).one(&app.db).await.unwrap().unwrap();
        assert_eq!((stored.body.as_str(), stored.deleted), ("", true));
        let history = post_revision::Entity::find()
            .filter(post_revision::Column::PostId.eq(id as i32))
            .all(&app.db)
            .await
            .unwrap();
        assert!(history.is_empty(), "the history of a deleted post goes");
    }
    let his = post::Entity::find_by_id(w.posts[1] as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(his.body, "Takk, @Tidligere deltaker! Dette var nyttig.");
    let entry = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("privacy.erase_by_admin"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an audit entry");
    assert_eq!(entry.actor_user_id, Some(admin_id as i32));
    assert!(
        entry.detail.contains(&format!("person-{}", w.ase_id)),
        "{}",
        entry.detail
    );
    assert!(
        lesson::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|l| l.contact_email.is_empty()),
        "the lesson's contact was her"
    );
}

#[tokio::test]
async fn an_erasure_link_works_once_for_24_hours_and_a_new_one_voids_the_old() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let bad = app
        .post_json("/api/v1/me/erasure", Some(&kari), &json!({ "posts": "later" }))
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);
    assert_eq!(
        app.post_json("/api/v1/me/erasure", None, &json!({ "posts": "keep" }))
            .await
            .status
            .as_u16(),
        401
    );
    let first = ask(&app, &kari, "kari@example.no", "keep").await;
    let second = ask(&app, &kari, "kari@example.no", "delete").await;
    let voided = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": first }))
        .await;
    assert_eq!(
        (voided.status.as_u16(), voided.code()),
        (410, "erasure_link_invalid".into())
    );
    assert!(
        voided.json()["detail"].as_str().unwrap().contains("Lenken"),
        "{}",
        voided.body
    );
    // A day and a minute later the newer link has expired too.
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    let page = app.get(&format!("/account/erasure?token={second}"), None).await;
    assert_eq!(page.status.as_u16(), 410);
    let expired = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": second }))
        .await;
    assert_eq!(
        (expired.status.as_u16(), expired.code()),
        (410, "erasure_link_invalid".into())
    );
    let kept = person(&app, "kari@example.no").await;
    assert!(kept.erased_at.is_none() && kept.active, "nothing was erased");
}

#[tokio::test]
async fn a_member_deletes_their_account_through_the_pages_and_is_signed_out() {
    use crate::pages::{csrf_of, page, sign_in_by_pages, submit};
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    app.member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let client = sign_in_by_pages(&app, "kari@example.no").await;
    let (status, settings) = page(&client, &app, "/settings").await;
    assert_eq!(status, 200);
    assert!(settings.contains("Slett kontoen min"), "{settings}");
    // Without the form's CSRF token nothing is asked for.
    let (status, _, _) = submit(&client, &app, "/account/erasure/request", &[("posts", "delete")]).await;
    assert_eq!(status, 422);
    assert_eq!(app.smtp.mails_to("kari@example.no").len(), 1, "only the sign-in mail");
    let before = app.smtp.mails_to("kari@example.no").len();
    let (status, _, sent) = submit(
        &client,
        &app,
        "/account/erasure/request",
        &[("csrf_token", &csrf_of(&settings)), ("posts", "delete")],
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent.contains("24 timer"), "{sent}");
    let mail = app.smtp.wait_for_nth_mail_to("kari@example.no", before + 1).await;
    let token = mail.link_token("/account/erasure");
    let (status, confirm) = page(&client, &app, &format!("/account/erasure?token={token}")).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("slettes, med tidligere versjoner"), "{confirm}");
    let (status, path, done) = submit(
        &client,
        &app,
        "/account/erasure",
        &[("csrf_token", &csrf_of(&confirm)), ("token", &token)],
    )
    .await;
    assert_eq!((status, path.as_str()), (200, "/account/erased"), "{done}");
    assert!(done.contains("Kontoen din er slettet"), "{done}");
    // Signed out: Settings sends to the sign-in page.
    let (_, after) = page(&client, &app, "/settings").await;
    assert!(after.contains("Send meg en lenke"), "{after}");
    assert!(person_by_id_erased(&app, "kari@example.no").await);
}

/// Whether nobody has the address any more (the person's row keeps an `erased-<id>@invalid`).
async fn person_by_id_erased(app: &TestApp, email: &str) -> bool {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn the_only_admin_cannot_be_erased_until_there_is_another() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let refused = app
        .post_json("/api/v1/me/erasure", Some(&admin), &json!({ "posts": "keep" }))
        .await;
    assert_eq!((refused.status.as_u16(), refused.code()), (409, "last_admin".into()));
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("eneste administratoren"),
        "{}",
        refused.body
    );
    let links = samling::entities::erasure_request::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(links.is_empty(), "no confirmation link was made: {links:?}");

    // With a second admin the first asks and gets a link; the second is then erased by the
    // first (by letter), so when the link is used the first is the only one again.
    let (_, second_secret) = samling::users::create_admin(&app.db, "anne.admin@example.no", app.clock.now_for_tests())
        .await
        .unwrap();
    let second = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": second_secret }))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let token = ask(&app, &admin, "admin@example.no", "keep").await;
    let second_id = user_id(&app, &second).await;
    let erased = app
        .post_json(
            &format!("/api/v1/admin/users/{second_id}/erasure"),
            Some(&admin),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!(erased.status.as_u16(), 204, "{}", erased.body);
    let confirmed = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": token }))
        .await;
    assert_eq!(
        (confirmed.status.as_u16(), confirmed.code()),
        (409, "last_admin".into())
    );
    let kept = person(&app, "admin@example.no").await;
    assert!(
        kept.erased_at.is_none() && kept.is_admin && kept.active,
        "nothing was erased"
    );
    assert_eq!(app.get("/api/v1/me", Some(&admin)).await.status.as_u16(), 200);

    // Another admin later, and the same link (unused) now works.
    samling::users::create_admin(&app.db, "berit.admin@example.no", app.clock.now_for_tests())
        .await
        .unwrap();
    let confirmed = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status.as_u16(), 204, "{}", confirmed.body);
    assert!(person_by_id_erased(&app, "admin@example.no").await);
}

#[tokio::test]
async fn open_threads_see_an_erasure_at_once_and_a_namesake_keeps_their_name() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let circular = cohorts["sirkulaerokonomi"];
    // Two people called Kari Nordmann, one in each cohort; the one in food is erased.
    let kari = app
        .member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    app.member_token(circular, "kari.n@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let ola = app
        .member_token(food, "ola@example.no", "Ola Olsen", Role::ProjectLead)
        .await;
    let per = app
        .member_token(circular, "per@example.no", "Per Hansen", Role::ProjectLead)
        .await;
    let (food_thread, _) = start_thread(&app, &kari, food, "Matsvinn i skolen", "t-1").await;
    let kept = reply(&app, &kari, food_thread, "Vi veier restene hver fredag.", "k-1").await;
    let about_her = reply(&app, &ola, food_thread, "Takk, @Kari Nordmann! Nyttig.", "o-1").await;
    let (circular_thread, _) = start_thread(&app, &per, circular, "Ombruk", "t-2").await;
    let about_namesake = reply(&app, &per, circular_thread, "Hva mener @Kari Nordmann om dette?", "p-1").await;
    let namesake_text = thread(&app, &per, circular_thread).await["posts"][1]["body_html"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(namesake_text.contains("@Kari Nordmann"), "{namesake_text}");
    // The other Kari is a project's contact in the grant register.
    let register = grant::Entity::find().all(&app.db).await.unwrap();
    let mut theirs: grant::ActiveModel = register[0].clone().into();
    theirs.contact_name = Set("Kari Nordmann".into());
    theirs.contact_email = Set(Some("kari.n@example.no".into()));
    let theirs = theirs.update(&app.db).await.unwrap();

    // Ola reads the food cohort live, in English.
    let mut english: user::ActiveModel = person(&app, "ola@example.no").await.into();
    english.language = Set("en".into());
    english.update(&app.db).await.unwrap();
    let mut socket = connect(&app, &ola).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "cohort_id": food, "after": 0 }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    // The catch-up replays the posts' creation; nothing was edited before the erasure.
    let kari_id = user_id(&app, &kari).await;
    let secret = ask(&app, &kari, "kari@example.no", "keep").await;
    let confirmed = app
        .post_json("/api/v1/me/erasure/confirm", None, &json!({ "token": secret }))
        .await;
    assert_eq!(confirmed.status.as_u16(), 204, "{}", confirmed.body);

    // Without a reload: her posts under «Tidligere deltaker», the mention of her gone.
    let mut edited: std::collections::BTreeMap<i64, Value> = std::collections::BTreeMap::new();
    while edited.len() < 3 {
        let message = next(&mut socket).await;
        if message["kind"] == "post_edited" {
            edited.insert(message["post"]["id"].as_i64().unwrap(), message["post"].clone());
        }
    }
    let opening = thread(&app, &ola, food_thread).await["posts"][0]["id"]
        .as_i64()
        .unwrap();
    let expected: Vec<i64> = {
        let mut ids = vec![opening, kept["id"].as_i64().unwrap(), about_her["id"].as_i64().unwrap()];
        ids.sort_unstable();
        ids
    };
    assert_eq!(edited.keys().copied().collect::<Vec<_>>(), expected);
    let hers = &edited[&kept["id"].as_i64().unwrap()];
    assert_eq!(
        (&hers["author_id"], &hers["author_erased"]),
        (&json!(kari_id), &json!(true))
    );
    let swept = &edited[&about_her["id"].as_i64().unwrap()];
    assert!(
        swept["body_html"].as_str().unwrap().contains("@Tidligere deltaker")
            && !swept["body_html"].as_str().unwrap().contains("Kari"),
        "{swept}"
    );
    assert_eq!(swept["author_erased"], false);
    // The answer to a request gives the name in the reader's language.
    let detail = thread(&app, &ola, food_thread).await;
    assert_eq!(detail["posts"][1]["author"], "Former participant");

    // The other Kari Nordmann keeps her name, and the post that mentions her keeps it too.
    assert_eq!(person(&app, "kari.n@example.no").await.name, "Kari Nordmann");
    let contact = grant::Entity::find_by_id(theirs.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (contact.contact_name.as_str(), contact.contact_email.as_deref()),
        ("Kari Nordmann", Some("kari.n@example.no")),
        "the namesake's contact stays"
    );
    let kept_text = thread(&app, &per, circular_thread).await["posts"][1].clone();
    assert_eq!(kept_text["id"], about_namesake["id"]);
    assert_eq!(kept_text["body_html"], json!(namesake_text));
    // Her address is nowhere.
    let found = traces(&app, &["kari@example.no"]).await;
    assert!(found.is_empty(), "traces of the erased address:\n{}", found.join("\n"));
}

#[tokio::test]
async fn an_erased_persons_invitations_still_count_in_the_report_but_hold_no_address_and_open_nothing() {
    let app = spawn_app().await;
    let known = invited_projects(&app).await;
    // Siri has an account, and has not answered her invitation yet.
    let siri =
        samling::cohorts::find_or_create_user(&app.db, "siri@voss.example.no", "Siri Voss", app.clock.now_for_tests())
            .await
            .expect("a person");
    let kari = person(&app, "kari@trondheim.example.no").await;
    let pending = app
        .get(
            &format!("/api/v1/cohorts/{}/invitations", known.cohort),
            Some(&known.facilitator),
        )
        .await
        .json();
    let siris = pending
        .as_array()
        .and_then(|found| {
            found
                .iter()
                .find(|invitation| invitation["email"] == "siri@voss.example.no")
        })
        .and_then(|invitation| invitation["id"].as_i64())
        .unwrap_or_else(|| panic!("Siri's invitation in {pending}"));
    assert_eq!(projects_invited(&app, &known.admin, known.programme).await, 3);

    for id in [kari.id, siri.id] {
        let erased = app
            .post_json(
                &format!("/api/v1/admin/users/{id}/erasure"),
                Some(&known.admin),
                &json!({ "posts": "keep" }),
            )
            .await;
        assert_eq!(erased.status.as_u16(), 204, "{}", erased.body);
    }
    assert_eq!(
        projects_invited(&app, &known.admin, known.programme).await,
        3,
        "their projects were invited, accepted or not"
    );
    for gone in [
        "kari@trondheim.example.no",
        "Kari Nordmann",
        "siri@voss.example.no",
        "Siri Voss",
    ] {
        assert_eq!(invitations_holding(&app, gone).await, Vec::<String>::new(), "{gone}");
    }

    // Siri's link had not expired; it opens nothing now, and nobody can send it again.
    let opened = app
        .post_json("/api/v1/invitations/accept", None, &json!({ "token": known.siri_link }))
        .await;
    assert_eq!(
        (opened.status.as_u16(), opened.code()),
        (422, "invitation_invalid".into())
    );
    let pending = app
        .get(
            &format!("/api/v1/cohorts/{}/invitations", known.cohort),
            Some(&known.facilitator),
        )
        .await
        .json();
    let addresses: Vec<&str> = pending
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|invitation| invitation["email"].as_str())
        .collect();
    assert_eq!(addresses, ["ola@bergen.example.no"], "{pending}");
    let resent = app
        .post_json(
            &format!("/api/v1/invitations/{siris}/resend"),
            Some(&known.facilitator),
            &json!({}),
        )
        .await;
    assert_eq!(resent.status.as_u16(), 404, "{}", resent.body);
    assert_eq!(projects_invited(&app, &known.admin, known.programme).await, 3);
}

async fn contact(app: &TestApp, reference: &str) -> (String, Option<String>) {
    let found = grant::Entity::find()
        .filter(grant::Column::Reference.eq(reference))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{reference} is imported"));
    (found.contact_name, found.contact_email)
}

#[tokio::test]
async fn importing_the_grant_file_again_does_not_bring_back_an_erased_contact() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    let first = app.import(&admin, FOOD_GRANTS.as_bytes().to_vec()).await;
    let cohort = app.get("/api/v1/cohorts", Some(&admin)).await.json()[0]["id"]
        .as_i64()
        .expect("the food cohort");
    let kari = app
        .member_token(cohort, "kari@trondheim.example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let kari_id = user_id(&app, &kari).await;
    let erased = app
        .post_json(
            &format!("/api/v1/admin/users/{kari_id}/erasure"),
            Some(&admin),
            &json!({ "posts": "keep" }),
        )
        .await;
    assert_eq!(erased.status.as_u16(), 204, "{}", erased.body);
    assert_eq!(contact(&app, "2021-0412").await, (String::new(), None));

    // The same file again, her address written another way.
    let file = FOOD_GRANTS.replace("kari@trondheim.example.no", " KARI@Trondheim.example.no");
    let again = app.import(&admin, file.into_bytes()).await;
    assert_eq!(
        contact(&app, "2021-0412").await,
        (String::new(), None),
        "the import left her out"
    );
    assert_eq!(
        contact(&app, "2022-0433").await,
        ("Ola Hansen".to_string(), Some("ola@bergen.example.no".to_string())),
        "another contact is imported as before"
    );
    let found = traces(&app, &["kari@trondheim.example.no", "Kari Nordmann"]).await;
    assert!(found.is_empty(), "traces of the erased contact:\n{}", found.join("\n"));
    assert_eq!(
        (&again["contacts_left_out"], &again["unchanged"], &again["updated"]),
        (&json!(1), &json!(3), &json!(0)),
        "{again}"
    );
    assert_eq!(first["contacts_left_out"], 0, "{first}");

    // A new contact for her project is imported.
    let file = FOOD_GRANTS.replace(
        "Kari Nordmann;kari@trondheim.example.no",
        "Nina Ny;nina@trondheim.example.no",
    );
    let third = app.import(&admin, file.into_bytes()).await;
    assert_eq!(
        (&third["contacts_left_out"], &third["updated"]),
        (&json!(0), &json!(1)),
        "{third}"
    );
    assert_eq!(
        contact(&app, "2021-0412").await,
        ("Nina Ny".to_string(), Some("nina@trondheim.example.no".to_string()))
    );
}
