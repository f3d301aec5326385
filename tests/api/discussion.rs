//! What members do with posts after writing them: edits with history, soft deletion,
//! reactions, mentions, the answered mark, read positions and unread counts, safe links and
//! the per-person post rate limit.

use reqwest::Method;
use samling::domain::roles::Role;
use samling_tests::{ClockExt, Response, TestApp, spawn_app};
use serde_json::{Value, json};

/// Starts a thread and returns its id and the id of its first post.
pub(crate) async fn start_thread(
    app: &TestApp,
    token: &str,
    cohort_id: i64,
    title: &str,
    client_id: &str,
) -> (i64, i64) {
    let created = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort_id}/threads"),
            Some(token),
            &json!({ "title": title, "body": format!("{title}?"), "client_id": client_id }),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let detail = created.json();
    (
        detail["thread"]["id"].as_i64().unwrap(),
        detail["posts"][0]["id"].as_i64().unwrap(),
    )
}

/// Posts in a thread and returns the stored post.
pub(crate) async fn reply(app: &TestApp, token: &str, thread_id: i64, body: &str, client_id: &str) -> Value {
    let posted = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(token),
            &json!({ "body": body, "client_id": client_id }),
        )
        .await;
    assert_eq!(posted.status.as_u16(), 201, "{}", posted.body);
    posted.json()
}

/// A request without a body (DELETE, PUT of a reaction).
pub(crate) async fn send_empty(app: &TestApp, method: Method, path: &str, token: &str) -> Response {
    app.send_json(method, path, Some(token), &Value::Null).await
}

pub(crate) async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/me", Some(token)).await.json()["user"]["id"]
        .as_i64()
        .expect("the signed-in person's id")
}

pub(crate) async fn thread(app: &TestApp, token: &str, thread_id: i64) -> Value {
    let detail = app.get(&format!("/api/v1/threads/{thread_id}"), Some(token)).await;
    assert_eq!(detail.status.as_u16(), 200, "{}", detail.body);
    detail.json()
}

/// The post with this id as the thread shows it to `token`.
pub(crate) async fn post_in_thread(app: &TestApp, token: &str, thread_id: i64, post_id: i64) -> Value {
    thread(app, token, thread_id).await["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == post_id)
        .cloned()
        .unwrap_or_else(|| panic!("post {post_id} is not in thread {thread_id}"))
}

pub(crate) async fn events(app: &TestApp, token: &str, cohort_id: i64) -> Vec<Value> {
    let answer = app
        .get(&format!("/api/v1/cohorts/{cohort_id}/events?after=0"), Some(token))
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.json().as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn only_the_author_edits_a_post_and_each_edit_keeps_the_earlier_text() {
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
    let (thread_id, _) = start_thread(&app, &kari, food, "Kompostering", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Første utkast", "o1").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/posts/{post_id}");

    for (n, text) in ["Andre utkast", "Tredje **utkast**"].into_iter().enumerate() {
        let edited = app
            .send_json(Method::PATCH, &path, Some(&ola), &json!({ "body": text }))
            .await;
        assert_eq!(edited.status.as_u16(), 200, "{}", edited.body);
        assert_eq!(edited.json()["version"], n + 1);
        assert!(edited.json()["edited_at"].is_string());
    }
    let shown = post_in_thread(&app, &kari, thread_id, post_id).await;
    assert_eq!(shown["body_html"], "<p>Tredje <strong>utkast</strong></p>\n");
    let revisions = app.get(&format!("{path}/revisions"), Some(&kari)).await.json();
    let earlier: Vec<(&str, &str)> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["body_html"].as_str().unwrap(), r["editor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        earlier,
        vec![("<p>Første utkast</p>\n", "Ola"), ("<p>Andre utkast</p>\n", "Ola")],
        "oldest first"
    );

    // Nobody else edits it, not even the facilitator; a stranger does not see it at all.
    for (who, token, status, code) in [
        ("another participant", &kari, 403, "forbidden"),
        ("the facilitator", &facilitator, 403, "forbidden"),
        ("an observer", &observer, 403, "forbidden"),
        ("a stranger", &stranger, 404, "not_found"),
    ] {
        let refused = app
            .send_json(Method::PATCH, &path, Some(token), &json!({ "body": "Overskrevet" }))
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (status, code),
            "{who}"
        );
    }
    let empty = app
        .send_json(Method::PATCH, &path, Some(&ola), &json!({ "body": "  " }))
        .await;
    assert_eq!((empty.status.as_u16(), empty.code().as_str()), (422, "empty_post"));
    let unchanged = post_in_thread(&app, &kari, thread_id, post_id).await;
    assert_eq!(
        (unchanged["body_html"].clone(), unchanged["version"].clone()),
        (shown["body_html"].clone(), json!(2))
    );
    let revisions = app.get(&format!("{path}/revisions"), Some(&kari)).await.json();
    assert_eq!(revisions.as_array().unwrap().len(), 2, "refused edits keep no revision");
    assert_eq!(
        kinds(&events(&app, &kari, food).await),
        vec!["thread_created", "post_created", "post_edited", "post_edited"]
    );

    let deleted = send_empty(&app, Method::DELETE, &path, &ola).await;
    assert_eq!(deleted.status.as_u16(), 200, "{}", deleted.body);
    let after_delete = app
        .send_json(Method::PATCH, &path, Some(&ola), &json!({ "body": "Tilbake" }))
        .await;
    assert_eq!(
        (after_delete.status.as_u16(), after_delete.code().as_str()),
        (409, "post_deleted")
    );
    assert_eq!(
        app.get(&format!("{path}/revisions"), Some(&kari)).await.json(),
        json!([]),
        "a deleted post shows no earlier texts"
    );
}

#[tokio::test]
async fn a_deleted_post_keeps_its_place_shown_as_deleted_in_the_thread_and_the_event_log() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Kantinesvinn", "k1").await;
    let post_id = reply(&app, &ola, thread_id, "Dette angrer jeg på", "o1").await["id"]
        .as_i64()
        .unwrap();
    reply(&app, &kari, thread_id, "Svar etterpå", "k2").await;
    let path = format!("/api/v1/posts/{post_id}");

    let by_other = send_empty(&app, Method::DELETE, &path, &kari).await;
    assert_eq!((by_other.status.as_u16(), by_other.code().as_str()), (403, "forbidden"));
    assert_eq!(post_in_thread(&app, &kari, thread_id, post_id).await["deleted"], false);

    let deleted = send_empty(&app, Method::DELETE, &path, &ola).await;
    assert_eq!(deleted.status.as_u16(), 200, "{}", deleted.body);
    assert_eq!(
        (deleted.json()["deleted"].clone(), deleted.json()["body_html"].clone()),
        (json!(true), json!(""))
    );
    let detail = thread(&app, &kari, thread_id).await;
    let places: Vec<(bool, &str, &str)> = detail["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["deleted"].as_bool().unwrap(),
                p["author"].as_str().unwrap(),
                p["body_html"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        vec![
            (false, "Kari", "<p>Kantinesvinn?</p>\n"),
            (true, "Ola", ""),
            (false, "Kari", "<p>Svar etterpå</p>\n")
        ],
        "the post keeps its place without its text"
    );
    assert_eq!(detail["thread"]["post_count"], 2, "deleted posts are not counted");

    // Deleting again changes nothing and announces nothing.
    let again = send_empty(&app, Method::DELETE, &path, &ola).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    let log = events(&app, &kari, food).await;
    assert_eq!(
        kinds(&log),
        vec!["thread_created", "post_created", "post_created", "post_deleted"]
    );
    // The log shows the post as it is now, also where it was created.
    for event in log.iter().filter(|e| e["post_id"] == post_id) {
        assert_eq!(
            (event["post"]["deleted"].clone(), event["post"]["body_html"].clone()),
            (json!(true), json!("")),
            "{event}"
        );
    }
}

#[tokio::test]
async fn reactions_are_added_and_taken_back_idempotently_with_counts_and_who_reacted() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let observer = app.member_token(food, "obs@example.no", "Obs", Role::Observer).await;
    let (kari_id, ola_id) = (user_id(&app, &kari).await, user_id(&app, &ola).await);
    let (thread_id, post_id) = start_thread(&app, &kari, food, "Gode tips", "k1").await;
    let reaction = |name: &str| format!("/api/v1/posts/{post_id}/reactions/{name}");
    // Who reacted comes back in no promised order; compare sorted.
    let summary = |post: &Value| -> Vec<(String, i64, Vec<i64>)> {
        post["reactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut ids: Vec<i64> = r["user_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|id| id.as_i64().unwrap())
                    .collect();
                ids.sort_unstable();
                (
                    r["reaction"].as_str().unwrap().to_string(),
                    r["count"].as_i64().unwrap(),
                    ids,
                )
            })
            .collect()
    };

    for _ in 0..2 {
        let added = send_empty(&app, Method::PUT, &reaction("thumbs_up"), &ola).await;
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
        assert_eq!(summary(&added.json()), vec![("thumbs_up".into(), 1, vec![ola_id])]);
    }
    send_empty(&app, Method::PUT, &reaction("thumbs_up"), &kari).await;
    let both = send_empty(&app, Method::PUT, &reaction("heart"), &kari).await.json();
    let mut by_both = vec![kari_id, ola_id];
    by_both.sort_unstable();
    assert_eq!(
        summary(&both),
        vec![("heart".into(), 1, vec![kari_id]), ("thumbs_up".into(), 2, by_both)]
    );

    for _ in 0..2 {
        let removed = send_empty(&app, Method::DELETE, &reaction("thumbs_up"), &ola).await;
        assert_eq!(removed.status.as_u16(), 200, "{}", removed.body);
        assert_eq!(
            summary(&removed.json()),
            vec![
                ("heart".into(), 1, vec![kari_id]),
                ("thumbs_up".into(), 1, vec![kari_id])
            ]
        );
    }

    for method in [Method::PUT, Method::DELETE] {
        let invalid = send_empty(&app, method.clone(), &reaction("angry"), &ola).await;
        assert_eq!(
            (invalid.status.as_u16(), invalid.code().as_str()),
            (422, "invalid_reaction"),
            "{method}"
        );
    }
    let by_observer = send_empty(&app, Method::PUT, &reaction("idea"), &observer).await;
    assert_eq!(
        (by_observer.status.as_u16(), by_observer.code().as_str()),
        (403, "forbidden")
    );

    let shown = post_in_thread(&app, &observer, thread_id, post_id).await;
    assert_eq!(
        summary(&shown),
        vec![
            ("heart".into(), 1, vec![kari_id]),
            ("thumbs_up".into(), 1, vec![kari_id])
        ]
    );
    // One event per real change: Ola's add and take-back, Kari's two adds.
    let log = events(&app, &kari, food).await;
    assert_eq!(
        kinds(&log),
        vec![
            "thread_created",
            "reactions_changed",
            "reactions_changed",
            "reactions_changed",
            "reactions_changed"
        ]
    );
}

#[tokio::test]
async fn mentions_name_members_of_the_cohort_only() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let nina = app
        .member_token(food, "nina@example.no", "Nina", Role::ProjectLead)
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    app.member_token(circular, "per@example.no", "Per", Role::ProjectLead)
        .await;
    let (kari_id, ola_id) = (user_id(&app, &kari).await, user_id(&app, &ola).await);
    let (thread_id, _) = start_thread(&app, &nina, food, "Hvem vet", "n1").await;
    let mentions = |post: &Value| -> Vec<(i64, String)> {
        post["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["user_id"].as_i64().unwrap(), m["name"].as_str().unwrap().to_string()))
            .collect()
    };
    let mut members = vec![(kari_id, "Kari".to_string()), (ola_id, "Ola".to_string())];
    members.sort_unstable();

    let posted = reply(&app, &nina, thread_id, "Hei @Ola og @kari! Hva mener @Per?", "n2").await;
    assert_eq!(mentions(&posted), members, "Per belongs to another cohort");
    let post_id = posted["id"].as_i64().unwrap();
    assert_eq!(
        mentions(&post_in_thread(&app, &kari, thread_id, post_id).await),
        members
    );

    let partial = reply(&app, &nina, thread_id, "Spør @Olav eller @Karianne", "n3").await;
    assert_eq!(mentions(&partial), vec![], "only whole names are mentions");

    // An edit stores the mentions of the new text.
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/posts/{post_id}"),
            Some(&nina),
            &json!({ "body": "Hei @Ola og @Nobody" }),
        )
        .await;
    assert_eq!(edited.status.as_u16(), 200, "{}", edited.body);
    assert_eq!(mentions(&edited.json()), vec![(ola_id, "Ola".to_string())]);
    assert_eq!(
        mentions(&post_in_thread(&app, &ola, thread_id, post_id).await),
        vec![(ola_id, "Ola".to_string())]
    );
}

/// The post path resolves `@Name` with one query that reads only the names the body writes:
/// counted on a second connection to the same database, in a cohort of 300 members.
#[tokio::test]
async fn resolving_mentions_is_one_lookup_of_the_written_names_whatever_the_cohort_size() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"] as i32;
    let now = app.clock.now_for_tests();
    let txn = samling::db::write_transaction(&app.db).await.unwrap();
    let mut ids = std::collections::HashMap::new();
    for i in 0..300 {
        let name = if i == 7 {
            "Ærlig Øvrebø".to_string()
        } else {
            format!("Medlem {i}")
        };
        let person = samling::cohorts::find_or_create_user(&txn, &format!("m{i}@example.no"), &name, now)
            .await
            .unwrap();
        samling::cohorts::set_membership(&txn, person.id, food, Role::ProjectLead, None, now)
            .await
            .unwrap();
        ids.insert(name, person.id);
    }
    sea_orm::TransactionSession::commit(txn).await.unwrap();

    let statements = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut counted = sea_orm::Database::connect(&app.settings.database_url).await.unwrap();
    let seen = statements.clone();
    counted.set_metric_callback(move |info| seen.lock().unwrap().push(info.statement.clone()));

    let plain = samling::threads::mentioned_members(&counted, food, "Ingen nevnt her")
        .await
        .unwrap();
    assert!(plain.is_empty());
    assert!(statements.lock().unwrap().is_empty(), "a body without @ reads nothing");

    let body = "Hei @ærlig øvrebø og @Medlem 12! Skriv til per@example.no eller @Ukjent Person.";
    let mentioned = samling::threads::mentioned_members(&counted, food, body).await.unwrap();
    let mut expected = vec![
        (ids["Ærlig Øvrebø"], "Ærlig Øvrebø".to_string()),
        (ids["Medlem 12"], "Medlem 12".to_string()),
    ];
    expected.sort_unstable();
    assert_eq!(mentioned, expected);
    let statements = statements.lock().unwrap();
    let sql: Vec<&str> = statements.iter().map(|statement| statement.sql.as_str()).collect();
    assert_eq!(statements.len(), 1, "one query, not {}: {sql:.200?}", statements.len());
    // Its parameters are the cohort and the names the body could be writing, not the members.
    let parameters = statements[0].values.as_ref().map_or(0, |values| values.0.len());
    let candidates = samling::threads::mention_candidates(body).len();
    assert_eq!(parameters, candidates + 1, "{}", statements[0].sql);
    assert!(candidates < 20, "{candidates} candidates");
}

/// The post writer stores what arrived together as one group: each row checked on its own
/// (thread there and open, in the cohort it was allowed in, author not muted, client id not
/// used before), mentions and events stored with the posts. On PostgreSQL the whole group is
/// one statement, one round trip: counted on the writer's own connection.
#[tokio::test]
async fn a_group_of_posts_is_checked_row_by_row_and_on_postgresql_stored_in_one_statement() {
    use samling::error::AppError;
    use samling::threads::writer::{NewRow, PostWriter, Written};

    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app
        .member_token(food, "ola@example.no", "Ola Ås", Role::ProjectLead)
        .await;
    let per = app.member_token(food, "per@example.no", "Per", Role::ProjectLead).await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (kari_id, ola_id, per_id) = (
        user_id(&app, &kari).await as i32,
        user_id(&app, &ola).await as i32,
        user_id(&app, &per).await as i32,
    );
    let (open, _) = start_thread(&app, &kari, food, "Åpen", "k1").await;
    let (closed, _) = start_thread(&app, &kari, food, "Lukket", "k2").await;
    let locked = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/threads/{closed}"),
            Some(&facilitator),
            &json!({ "locked": true, "version": 0 }),
        )
        .await;
    assert_eq!(locked.status.as_u16(), 200, "{}", locked.body);
    let muted = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/mutes"),
            Some(&facilitator),
            &json!({ "user_id": per_id, "minutes": 30, "reason": "Pause" }),
        )
        .await;
    assert!(muted.status.is_success(), "{}", muted.body);

    let statements = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut counted = sea_orm::Database::connect(&app.settings.database_url).await.unwrap();
    let seen = statements.clone();
    counted.set_metric_callback(move |info| seen.lock().unwrap().push(info.statement.sql.clone()));
    let writer = PostWriter::start(counted);
    // The writer starts by looking for posts stored but not indexed: not part of the group.
    writer.index_waiting().await;
    statements.lock().unwrap().clear();
    let now = app.clock.now_for_tests();
    let row = |thread_id: i64, cohort_id: i64, author_id: i32, client_id: &str, mentioned: Vec<(i32, String)>| NewRow {
        thread_id: thread_id as i32,
        cohort_id: cohort_id as i32,
        author_id,
        parent_post_id: None,
        body: format!("Innlegg {client_id}"),
        client_id: client_id.to_string(),
        mentioned,
        now,
    };
    let rows = vec![
        row(open, food, kari_id, "g1", vec![(ola_id, "Ola Ås".to_string())]),
        row(open, food, ola_id, "g2", Vec::new()),
        row(closed, food, kari_id, "g3", Vec::new()),
        row(open, food, per_id, "g4", Vec::new()),
        // The same author and client id again: one post.
        row(open, food, kari_id, "g1", Vec::new()),
        // Allowed in another cohort than the thread's.
        row(open, circular, ola_id, "g5", Vec::new()),
        row(999_999, food, ola_id, "g6", Vec::new()),
        // A retry of a post stored before the group.
        row(open, food, kari_id, "k1", Vec::new()),
    ];
    // Sent together before the writer runs (one thread): one group.
    let written = futures::future::join_all(rows.into_iter().map(|new| writer.write(new))).await;
    let outcome: Vec<String> = written
        .iter()
        .map(|result| match result {
            Ok(Written::Created { .. }) => "created".to_string(),
            Ok(Written::Duplicate) => "duplicate".to_string(),
            Ok(Written::Refused(AppError::Conflict { code })) => (*code).to_string(),
            Ok(Written::Refused(AppError::Muted { .. })) => "muted".to_string(),
            Ok(Written::Refused(AppError::NotFound)) => "not_found".to_string(),
            other => format!("{:?}", other.as_ref().err()),
        })
        .collect();
    let expected = [
        "created",
        "created",
        "thread_locked",
        "muted",
        "duplicate",
        "not_found",
        "not_found",
        "duplicate",
    ];
    assert_eq!(outcome, expected);
    let created: Vec<(i64, i64)> = written
        .iter()
        .filter_map(|result| match result {
            Ok(Written::Created { post, seq }) => Some((*seq, i64::from(post.id))),
            _ => None,
        })
        .collect();
    let Ok(Written::Created { post: first, .. }) = &written[0] else {
        unreachable!()
    };
    assert_eq!(
        (first.thread_id, first.author_id, first.body.as_str(), first.hidden),
        (open as i32, kari_id, "Innlegg g1", false)
    );

    let statements = statements.lock().unwrap().clone();
    if samling_tests::backend_is_postgres() {
        assert_eq!(statements.len(), 1, "one statement for the group: {statements:.120?}");
    } else {
        assert!(statements.len() > 1, "SQLite stores the group in a transaction");
    }
    let stored = thread(&app, &kari, open).await;
    let posts = stored["posts"].as_array().unwrap();
    let bodies: Vec<&str> = posts.iter().map(|post| post["body_html"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["<p>Åpen?</p>\n", "<p>Innlegg g1</p>\n", "<p>Innlegg g2</p>\n"]);
    assert_eq!(posts[1]["id"].as_i64(), Some(i64::from(first.id)));
    assert_eq!(posts[1]["mentions"], json!([{ "user_id": ola_id, "name": "Ola Ås" }]));
    // The log ends with the group's two posts, numbered on from what came before.
    let events = app.get(&format!("/api/v1/cohorts/{food}/events"), Some(&kari)).await;
    assert_eq!(events.status.as_u16(), 200, "{}", events.body);
    let logged: Vec<(i64, String, i64)> = events
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["seq"].as_i64().unwrap(),
                event["kind"].as_str().unwrap().to_string(),
                event["post_id"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let last_before = logged[logged.len() - 3].0;
    let tail: Vec<(i64, String, i64)> = created
        .iter()
        .map(|&(seq, post_id)| (seq, "post_created".to_string(), post_id))
        .collect();
    assert_eq!(logged[logged.len() - 2..], tail[..]);
    assert_eq!((created[0].0, created[1].0), (last_before + 1, last_before + 2));
}

#[tokio::test]
async fn the_asker_an_expert_or_the_facilitator_marks_the_answer_and_other_members_may_not() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let expert = app
        .member_token(food, "ekspert@example.no", "Ekspert", Role::Expert)
        .await;
    let observer = app.member_token(food, "obs@example.no", "Obs", Role::Observer).await;
    let stranger = app
        .member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Hvordan måle", "k1").await;
    let (other_thread, other_post) = start_thread(&app, &ola, food, "Noe annet", "o0").await;
    let by_ola = reply(&app, &ola, thread_id, "Med vekt", "o1").await["id"].clone();
    let by_expert = reply(&app, &expert, thread_id, "Med vekt og logg", "e1").await["id"].clone();
    let path = format!("/api/v1/threads/{thread_id}/answer");

    for (who, token, status, code) in [
        ("another participant", &ola, 403, "forbidden"),
        ("an observer", &observer, 403, "forbidden"),
        ("a stranger", &stranger, 404, "not_found"),
    ] {
        let refused = app
            .send_json(Method::PUT, &path, Some(token), &json!({ "post_id": by_ola }))
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (status, code),
            "{who}"
        );
    }
    assert_eq!(
        thread(&app, &kari, thread_id).await["thread"]["answered_post_id"],
        Value::Null,
        "refused marks change nothing"
    );
    let elsewhere = app
        .send_json(Method::PUT, &path, Some(&kari), &json!({ "post_id": other_post }))
        .await;
    assert_eq!(
        (elsewhere.status.as_u16(), elsewhere.code().as_str()),
        (422, "unknown_post"),
        "a post of thread {other_thread} does not answer this one"
    );

    for (who, token, mark, version) in [
        ("the asker", &kari, by_ola.clone(), 1),
        ("the asker again, changing nothing", &kari, by_ola.clone(), 1),
        ("an expert", &expert, by_expert.clone(), 2),
        ("the facilitator, taking it away", &facilitator, Value::Null, 3),
    ] {
        let marked = app
            .send_json(Method::PUT, &path, Some(token), &json!({ "post_id": mark }))
            .await;
        assert_eq!(marked.status.as_u16(), 200, "{who}: {}", marked.body);
        assert_eq!(
            (
                marked.json()["answered_post_id"].clone(),
                marked.json()["version"].clone()
            ),
            (mark.clone(), json!(version)),
            "{who}"
        );
        assert_eq!(
            thread(&app, &kari, thread_id).await["thread"]["answered_post_id"],
            mark,
            "{who}"
        );
    }
    let updates: Vec<Value> = events(&app, &kari, food)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "thread_updated")
        .collect();
    assert_eq!(updates.len(), 3, "one event per real change");
    assert_eq!(
        updates[0]["thread"]["answered_post_id"],
        Value::Null,
        "events carry the thread as it is now"
    );
}

/// The caller's unread count of a thread, from the cohort's list.
async fn unread_in_list(app: &TestApp, token: &str, cohort_id: i64, thread_id: i64) -> i64 {
    let listed = app
        .get(&format!("/api/v1/cohorts/{cohort_id}/threads"), Some(token))
        .await
        .json();
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == thread_id)
        .unwrap_or_else(|| panic!("thread {thread_id} is not listed: {listed}"))["unread"]
        .as_i64()
        .unwrap()
}

async fn unread_on_dashboard(app: &TestApp, token: &str) -> Value {
    let answer = app.get("/api/v1/me/unread", Some(token)).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn unread_counts_fall_when_read_never_rise_again_and_skip_own_and_hidden_posts() {
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
    let (first, _) = start_thread(&app, &kari, food, "Første", "k1").await;
    let second_post = reply(&app, &kari, first, "To", "k2").await["id"].as_i64().unwrap();
    let third_post = reply(&app, &kari, first, "Tre", "k3").await;
    let (second, _) = start_thread(&app, &kari, food, "Andre", "k4").await;

    assert_eq!(
        unread_in_list(&app, &kari, food, first).await,
        0,
        "own posts are never unread"
    );
    assert_eq!(unread_on_dashboard(&app, &kari).await, json!([]));
    assert_eq!(unread_in_list(&app, &ola, food, first).await, 3);
    assert_eq!(unread_in_list(&app, &ola, food, second).await, 1);
    assert_eq!(
        unread_on_dashboard(&app, &ola).await,
        json!([{ "cohort_id": food, "unread": 4 }])
    );

    let read = |position: i64| {
        let (app, ola) = (&app, &ola);
        async move {
            let answer = app
                .send_json(
                    Method::PUT,
                    &format!("/api/v1/threads/{first}/read"),
                    Some(ola),
                    &json!({ "last_read_post_id": position }),
                )
                .await;
            assert_eq!(answer.status.as_u16(), 204, "{}", answer.body);
        }
    };
    read(second_post).await;
    assert_eq!(unread_in_list(&app, &ola, food, first).await, 1);
    assert_eq!(
        unread_on_dashboard(&app, &ola).await,
        json!([{ "cohort_id": food, "unread": 2 }])
    );
    // A stale tab reporting an earlier position does not move it back.
    read(second_post - 1).await;
    assert_eq!(unread_in_list(&app, &ola, food, first).await, 1);

    reply(&app, &ola, first, "Mitt svar", "o1").await;
    assert_eq!(
        unread_in_list(&app, &ola, food, first).await,
        1,
        "own posts are never unread"
    );
    assert_eq!(unread_in_list(&app, &kari, food, first).await, 1);

    let hidden = app
        .post_json(
            &format!("/api/v1/posts/{}/hide", third_post["id"]),
            Some(&facilitator),
            &json!({ "reason": "Feil tråd", "version": third_post["version"] }),
        )
        .await;
    assert_eq!(hidden.status.as_u16(), 200, "{}", hidden.body);
    assert_eq!(
        unread_in_list(&app, &ola, food, first).await,
        0,
        "hidden posts are not unread"
    );
    assert_eq!(
        unread_on_dashboard(&app, &ola).await,
        json!([{ "cohort_id": food, "unread": 1 }])
    );
}

#[tokio::test]
async fn links_in_posts_get_rel_nofollow_noopener_and_script_links_are_dropped() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Kilder", "k1").await;
    let posted = reply(
        &app,
        &kari,
        thread_id,
        "Se [Miljødirektoratet](https://www.miljodirektoratet.no) og [dette](javascript:alert(1))",
        "k2",
    )
    .await;
    let expected_link = r#"<a href="https://www.miljodirektoratet.no" rel="nofollow noopener">Miljødirektoratet</a>"#;
    let shown = post_in_thread(&app, &kari, thread_id, posted["id"].as_i64().unwrap()).await;
    for html in [&posted["body_html"], &shown["body_html"]] {
        let html = html.as_str().unwrap();
        assert!(html.contains(expected_link), "{html}");
        assert!(!html.contains("javascript"), "{html}");
    }
}

#[tokio::test]
async fn more_than_thirty_posts_a_minute_answer_429_too_many_requests_and_store_nothing() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let (thread_id, _) = start_thread(&app, &kari, food, "Travelt", "k1").await;
    let path = format!("/api/v1/threads/{thread_id}/posts");
    let bodies: Vec<Value> = (0..30)
        .map(|n| json!({ "body": format!("Innlegg {n}"), "client_id": format!("o{n}") }))
        .collect();
    // Sent at once, so all thirty fall inside the limiter's burst whatever the machine's speed.
    let answers = futures::future::join_all(bodies.iter().map(|body| app.post_json(&path, Some(&ola), body))).await;
    assert!(
        answers.iter().all(|a| a.status.as_u16() == 201),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );

    for client_id in ["o30", "o31"] {
        let refused = app
            .post_json(&path, Some(&ola), &json!({ "body": "En til", "client_id": client_id }))
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_str()),
            (429, "too_many_requests")
        );
    }
    let new_thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&ola),
            &json!({ "title": "Ny", "body": "Ny tråd", "client_id": "o-thread" }),
        )
        .await;
    assert_eq!(
        (new_thread.status.as_u16(), new_thread.code().as_str()),
        (429, "too_many_requests"),
        "threads count against the same limit"
    );
    // A retry of a post already stored is no new post: it is answered, not limited.
    let retry = app.post_json(&path, Some(&ola), &bodies[0]).await;
    assert_eq!(retry.status.as_u16(), 200, "{}", retry.body);
    // The limit is per person.
    reply(&app, &kari, thread_id, "Jeg kan fortsatt skrive", "k2").await;

    let detail = thread(&app, &kari, thread_id).await;
    let client_ids: Vec<&str> = detail["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(client_ids.len(), 32, "the first post, Ola's thirty and Kari's reply");
    assert!(!client_ids.contains(&"o30") && !client_ids.contains(&"o31"));
    assert_eq!(
        app.get(&format!("/api/v1/cohorts/{food}/threads"), Some(&kari))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "the refused thread was not stored"
    );
    assert_eq!(
        events(&app, &kari, food).await.len(),
        32,
        "refused posts leave no event"
    );
}
