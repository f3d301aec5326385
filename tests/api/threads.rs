use samling::domain::roles::Role;
use samling_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn members_start_threads_and_post_and_a_retry_creates_nothing_twice() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    let new_thread =
        json!({ "title": "Veiing av matavfall", "body": "Hvordan **veier** dere?", "client_id": "kari-1" });
    let created = app
        .post_json(&format!("/api/v1/cohorts/{food}/threads"), Some(&kari), &new_thread)
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let thread_id = created.json()["thread"]["id"].as_i64().unwrap();
    let again = app
        .post_json(&format!("/api/v1/cohorts/{food}/threads"), Some(&kari), &new_thread)
        .await;
    assert_eq!(again.status.as_u16(), 200, "a retry finds the same thread");
    assert_eq!(again.json()["thread"]["id"], thread_id);

    let reply = json!({ "body": "Vi bruker vekt <script>alert(1)</script> i hvert kjøkken.", "client_id": "ola-1", "parent_post_id": created.json()["posts"][0]["id"] });
    let posted = app
        .post_json(&format!("/api/v1/threads/{thread_id}/posts"), Some(&ola), &reply)
        .await;
    assert_eq!(posted.status.as_u16(), 201, "{}", posted.body);
    assert!(!posted.json()["body_html"].as_str().unwrap().contains("<script"));
    let retried = app
        .post_json(&format!("/api/v1/threads/{thread_id}/posts"), Some(&ola), &reply)
        .await;
    assert_eq!(
        (retried.status.as_u16(), retried.json()["id"].clone()),
        (200, posted.json()["id"].clone())
    );

    // Five copies of one send at the same moment still make one post.
    let burst = json!({ "body": "Samme innlegg", "client_id": "ola-2" });
    let posts_path = format!("/api/v1/threads/{thread_id}/posts");
    let copies = futures::future::join_all((0..5).map(|_| app.post_json(&posts_path, Some(&ola), &burst))).await;
    assert!(
        copies.iter().all(|c| matches!(c.status.as_u16(), 200 | 201)),
        "{:?}",
        copies.iter().map(|c| &c.body).collect::<Vec<_>>()
    );
    assert_eq!(copies.iter().filter(|c| c.status.as_u16() == 201).count(), 1);

    let detail = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&admin))
        .await
        .json();
    assert_eq!(detail["posts"].as_array().unwrap().len(), 3, "no duplicates");
    assert_eq!(detail["thread"]["post_count"], 3);
    assert_eq!(detail["posts"][0]["author"], "Kari");
    let listed = app
        .get(&format!("/api/v1/cohorts/{food}/threads"), Some(&ola))
        .await
        .json();
    assert_eq!(listed[0]["title"], "Veiing av matavfall");

    // The event log: one event per stored change, numbered 1, 2 in order.
    let events = app
        .get(&format!("/api/v1/cohorts/{food}/events?after=0"), Some(&kari))
        .await
        .json();
    let kinds: Vec<(i64, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_i64().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![(1, "thread_created"), (2, "post_created"), (3, "post_created")]
    );
    let after_first = app
        .get(&format!("/api/v1/cohorts/{food}/events?after=1"), Some(&kari))
        .await
        .json();
    assert_eq!(after_first.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_posts_get_gapless_unique_sequence_numbers_per_cohort() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let starter = app
        .member_token(food, "start@example.no", "Start", Role::ProjectLead)
        .await;
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&starter),
            &json!({ "title": "Tråd", "body": "Første", "client_id": "t1" }),
        )
        .await;
    let thread_id = thread.json()["thread"]["id"].as_i64().unwrap();
    let mut people = Vec::new();
    for n in 0..12 {
        people.push(
            app.member_token(food, &format!("p{n}@example.no"), &format!("P{n}"), Role::ProjectLead)
                .await,
        );
    }
    let bodies: Vec<serde_json::Value> = (0..12)
        .map(|n| json!({ "body": format!("Innlegg {n}"), "client_id": format!("c{n}") }))
        .collect();
    let path = format!("/api/v1/threads/{thread_id}/posts");
    let answers = futures::future::join_all(
        people
            .iter()
            .zip(&bodies)
            .map(|(token, body)| app.post_json(&path, Some(token), body)),
    )
    .await;
    assert!(
        answers.iter().all(|a| a.status.as_u16() == 201),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let events = app
        .get(&format!("/api/v1/cohorts/{food}/events?after=0"), Some(&starter))
        .await
        .json();
    let seqs: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<i64>>());
    // Another cohort counts on its own.
    let other = app.member_token(circular, "o@example.no", "O", Role::ProjectLead).await;
    app.post_json(
        &format!("/api/v1/cohorts/{circular}/threads"),
        Some(&other),
        &json!({ "title": "Egen", "body": "Hei", "client_id": "o1" }),
    )
    .await;
    let theirs = app
        .get(&format!("/api/v1/cohorts/{circular}/events"), Some(&other))
        .await
        .json();
    assert_eq!(theirs[0]["seq"], 1);

    // Posts to both cohorts at once (stored in shared groups): each cohort still counts
    // 1, 2, 3 … in the order of its posts, one event per post.
    let their_thread = theirs[0]["thread_id"].as_i64().unwrap();
    let their_path = format!("/api/v1/threads/{their_thread}/posts");
    let app = &app;
    let mixed = futures::future::join_all((0..12).map(|n| {
        let (path, token) = if n % 2 == 0 {
            (&path, &people[n])
        } else {
            (&their_path, &other)
        };
        let body = json!({ "body": format!("Blandet {n}"), "client_id": format!("m{n}") });
        async move { app.post_json(path, Some(token), &body).await }
    }))
    .await;
    assert!(
        mixed.iter().all(|a| a.status.as_u16() == 201),
        "{:?}",
        mixed.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    for (cohort, token, count) in [(food, &starter, 19), (circular, &other, 7)] {
        let events = app
            .get(&format!("/api/v1/cohorts/{cohort}/events?after=0"), Some(token))
            .await
            .json();
        let events = events.as_array().unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=count).collect::<Vec<i64>>(), "cohort {cohort}");
        let posts: Vec<i64> = events.iter().map(|e| e["post_id"].as_i64().unwrap()).collect();
        let mut ordered = posts.clone();
        ordered.sort_unstable();
        ordered.dedup();
        assert_eq!(
            posts, ordered,
            "events follow the posts' order, one each, in cohort {cohort}"
        );
    }
}

#[tokio::test]
async fn observers_read_strangers_see_nothing_and_bad_posts_get_clear_errors() {
    let app = spawn_app().await;
    let (_, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let observer = app.member_token(food, "obs@example.no", "Obs", Role::Observer).await;
    let stranger = app
        .member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&kari),
            &json!({ "title": "Tråd", "body": "Tekst", "client_id": "k1" }),
        )
        .await;
    let thread_id = thread.json()["thread"]["id"].as_i64().unwrap();

    assert_eq!(
        app.get(&format!("/api/v1/threads/{thread_id}"), Some(&observer))
            .await
            .status
            .as_u16(),
        200
    );
    let by_observer = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&observer),
            &json!({ "body": "Hei", "client_id": "x" }),
        )
        .await;
    assert_eq!(
        (by_observer.status.as_u16(), by_observer.code()),
        (403, "forbidden".to_string())
    );
    for path in [
        format!("/api/v1/threads/{thread_id}"),
        format!("/api/v1/cohorts/{food}/threads"),
        format!("/api/v1/cohorts/{food}/events"),
    ] {
        assert_eq!(app.get(&path, Some(&stranger)).await.status.as_u16(), 404, "{path}");
    }
    let by_stranger = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&stranger),
            &json!({ "body": "Hei", "client_id": "s" }),
        )
        .await;
    assert_eq!(by_stranger.status.as_u16(), 404);

    let post = |body: serde_json::Value| {
        let (app, kari) = (&app, &kari);
        async move {
            app.post_json(&format!("/api/v1/threads/{thread_id}/posts"), Some(kari), &body)
                .await
                .code()
        }
    };
    assert_eq!(post(json!({ "body": "   ", "client_id": "a" })).await, "empty_post");
    assert_eq!(
        post(json!({ "body": "x".repeat(20_001), "client_id": "b" })).await,
        "post_too_long"
    );
    assert_eq!(
        post(json!({ "body": "Hei", "client_id": "ikke gyldig!" })).await,
        "invalid_client_id"
    );
    assert_eq!(
        post(json!({ "body": "Hei", "client_id": "c", "parent_post_id": 99999 })).await,
        "unknown_parent_post"
    );
    let events = app
        .get(&format!("/api/v1/cohorts/{food}/events"), Some(&kari))
        .await
        .json();
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "refused posts leave no event behind"
    );
}

#[tokio::test]
async fn the_demo_starts_threads_with_replies_and_an_answered_question_in_every_cohort() {
    use samling::entities::{cohort, cohort_event, post, thread};
    use samling_tests::ClockExt;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let app = spawn_app().await;
    let people = samling::demo::load(
        &app.db,
        &samling::resources::storage::Storage::local(app.settings.files_dir.clone()),
        app.clock.now_for_tests(),
    )
    .await
    .expect("the demo loads")
    .expect("an empty database gets the demo");
    assert!(!people.is_empty());
    let cohorts = cohort::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(cohorts.len(), 3);
    for cohort in cohorts {
        let threads = thread::Entity::find()
            .filter(thread::Column::CohortId.eq(cohort.id))
            .all(&app.db)
            .await
            .unwrap();
        assert!(threads.len() >= 2, "cohort {} has threads", cohort.id);
        assert!(threads.iter().any(|t| t.pinned), "a pinned welcome thread");
        let answered = threads
            .iter()
            .find(|t| t.answered_post_id.is_some())
            .unwrap_or_else(|| panic!("cohort {} has an answered question", cohort.id));
        let posts = post::Entity::find()
            .filter(post::Column::ThreadId.eq(answered.id))
            .all(&app.db)
            .await
            .unwrap();
        assert!(
            posts
                .iter()
                .any(|p| Some(p.id) == answered.answered_post_id && p.author_id != answered.author_id)
        );
        assert!(
            posts.iter().any(|p| p.parent_post_id.is_some()),
            "a reply to the answer"
        );
        // Every demo post is in the cohort's event log, numbered without gaps.
        let seqs: Vec<i64> = cohort_event::Entity::find()
            .filter(cohort_event::Column::CohortId.eq(cohort.id))
            .order_by_asc(cohort_event::Column::Seq)
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    }
}

/// The policy lets an admin write in any cohort; one that does not exist is still not found
/// (it was a database error, 500, found by the API fuzzing).
#[tokio::test]
async fn a_thread_in_a_cohort_that_does_not_exist_is_not_found() {
    let app = spawn_app().await;
    let (admin, _) = app.with_sample_cohorts().await;
    let response = app
        .post_json(
            "/api/v1/cohorts/3453/threads",
            Some(&admin),
            &json!({ "title": "Hei", "body": "Hei", "client_id": "a1" }),
        )
        .await;
    assert_eq!((response.status.as_u16(), response.code().as_str()), (404, "not_found"));
}
