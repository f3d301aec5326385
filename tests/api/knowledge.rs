//! Project profiles with needs and offers, match suggestions, lessons learned, and search with
//! Norwegian stemming, on the sample grants.

use reqwest::Method;
use reqwest::StatusCode;
use samling::domain::roles::Role;
use samling_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

/// The grant id of the sample project with this reference.
async fn grant_id(app: &TestApp, token: &str, cohort_id: i64, reference: &str) -> i64 {
    let cohort = app
        .get(&format!("/api/v1/cohorts/{cohort_id}"), Some(token))
        .await
        .json();
    cohort["cohort"]["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|project| project["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} in the cohort"))["grant_id"]
        .as_i64()
        .expect("an id")
}

fn organisations(suggestions: &Value, reason: &str) -> Vec<String> {
    suggestions
        .as_array()
        .expect("a list")
        .iter()
        .filter(|suggestion| suggestion["reason"] == reason)
        .map(|suggestion| suggestion["organisation"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_food_waste_need_is_matched_with_the_finished_food_waste_projects_and_offers() {
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    // Per Olsen is the contact of Skien's project (2022-0118), so it is his own.
    let skien_lead = app
        .member_token(
            food,
            "per.olsen@example.skien.kommune.no",
            "Per Olsen",
            Role::ProjectLead,
        )
        .await;
    let drammen_lead = app
        .member_token(
            food,
            "ingrid.berg@example.drammen.kommune.no",
            "Ingrid Berg",
            Role::ProjectLead,
        )
        .await;
    let skien = grant_id(&app, &skien_lead, food, "2022-0118").await;
    let drammen = grant_id(&app, &skien_lead, food, "2022-0102").await;

    let offer = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{drammen}/profile"),
            Some(&drammen_lead),
            &json!({ "needs": "", "offers": "Vi viser gjerne hvordan vi måler matsvinnet i kommunale kjøkken." }),
        )
        .await;
    assert_eq!(offer.status, StatusCode::OK, "{}", offer.body);
    let saved = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{skien}/profile"),
            Some(&skien_lead),
            &json!({ "needs": "Vi trenger erfaringer med å redusere matsvinn på sykehjem.", "offers": "Måleskjema for hjemmetjenesten." }),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let profile = saved.json();
    assert_eq!(
        profile["needs"],
        "Vi trenger erfaringer med å redusere matsvinn på sykehjem."
    );
    assert_eq!(profile["project"]["organisation"]["name"], "Skien kommune");
    assert_eq!(profile["may_edit"], true);

    // The finished food-waste projects of the cohort, those sharing more words first, and the offer.
    let matches = &profile["matches"];
    assert_eq!(
        organisations(matches, "finished"),
        ["Trondheim kommune", "Bergen kommune", "Stavanger kommune"],
        "Trondheim shares two words (matsvinn, sykehjem), Bergen one, Stavanger only the theme: {matches:#}"
    );
    assert_eq!(organisations(matches, "offer"), ["Drammen kommune"], "{matches:#}");
    // Not the project itself, not ongoing projects without offers, nothing from other cohorts.
    let everyone: Vec<&str> = matches
        .as_array()
        .expect("a list")
        .iter()
        .map(|suggestion| suggestion["organisation"].as_str().unwrap_or_default())
        .collect();
    for absent in ["Skien kommune", "Molde kommune", "Bodø kommune", "Oslo kommune"] {
        assert!(!everyone.contains(&absent), "{absent} in {matches:#}");
    }

    // Someone else's project: readable, not writable; another cohort's members do not see it.
    let others = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{drammen}/profile"),
            Some(&skien_lead),
            &json!({ "needs": "x", "offers": "" }),
        )
        .await;
    assert_eq!(others.status, StatusCode::FORBIDDEN, "{}", others.body);
    let outsider = app
        .member_token(
            cohorts["sirkulaerokonomi"],
            "utenfor@example.no",
            "Ut",
            Role::ProjectLead,
        )
        .await;
    let hidden = app.get(&format!("/api/v1/projects/{skien}"), Some(&outsider)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    let too_long = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{skien}/profile"),
            Some(&skien_lead),
            &json!({ "needs": "a".repeat(5_001), "offers": "" }),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_long.code(), "profile_text_too_long");
    assert!(
        too_long.json()["detail"].as_str().unwrap_or_default().contains("5000"),
        "{}",
        too_long.body
    );
    let unchanged = app
        .get(&format!("/api/v1/projects/{skien}"), Some(&skien_lead))
        .await
        .json();
    assert_eq!(
        unchanged["needs"],
        "Vi trenger erfaringer med å redusere matsvinn på sykehjem."
    );
}

async fn search(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/search?{query}"), Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

fn kinds_and_titles(hits: &Value) -> Vec<(String, String)> {
    hits.as_array()
        .expect("a list")
        .iter()
        .map(|hit| {
            (
                hit["kind"].as_str().unwrap_or_default().to_string(),
                hit["title_html"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn lessons_are_written_when_a_project_has_ended_and_read_by_later_cohorts_of_the_theme() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let trondheim_lead = app
        .member_token(
            food,
            "kari.nordmann@example.trondheim.kommune.no",
            "Kari Nordmann",
            Role::ProjectLead,
        )
        .await;
    let skien_lead = app
        .member_token(
            food,
            "per.olsen@example.skien.kommune.no",
            "Per Olsen",
            Role::ProjectLead,
        )
        .await;
    let trondheim = grant_id(&app, &trondheim_lead, food, "2021-0412").await;
    let skien = grant_id(&app, &skien_lead, food, "2022-0118").await;

    // Skien's project is still ongoing.
    let early = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{skien}/lesson"),
            Some(&skien_lead),
            &json!({ "learned": "For tidlig", "tips": "" }),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(early.code(), "project_not_ended");
    let empty = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{trondheim}/lesson"),
            Some(&trondheim_lead),
            &json!({ "learned": "  ", "tips": "" }),
        )
        .await;
    assert_eq!(empty.code(), "lesson_empty");
    let written = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/projects/{trondheim}/lesson"),
            Some(&trondheim_lead),
            &json!({ "learned": "Veiing av matavfallet hver dag gjorde kjøkkenene bevisste.", "tips": "Start med ett sykehjem." }),
        )
        .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let lesson_id = written.json()["id"].as_i64().expect("an id");
    let profile = app
        .get(&format!("/api/v1/projects/{trondheim}"), Some(&skien_lead))
        .await
        .json();
    assert_eq!(profile["lesson"]["tips"], "Start med ett sykehjem.");
    assert_eq!(profile["may_write_lesson"], false, "not Per's project");

    // A later programme: its food cohort holds only 2022 projects, not Trondheim's, yet reads the lesson.
    let later = app
        .post_json(
            "/api/v1/admin/programmes",
            Some(&admin),
            &json!({ "name": "Klimasats-forum 2028", "grant_years": "2022", "starts_on": "2028-01-03", "ends_on": "2028-12-15" }),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.body);
    let all = app.get("/api/v1/cohorts", Some(&admin)).await.json();
    let later_food = all
        .as_array()
        .expect("cohorts")
        .iter()
        .find(|cohort| {
            cohort["programme"]["name"] == "Klimasats-forum 2028" && cohort["theme"]["slug"] == "mat-og-matsvinn"
        })
        .expect("the later food cohort")["id"]
        .as_i64()
        .expect("an id");
    let newcomer = app
        .member_token(later_food, "ny@example.no", "Nina Ny", Role::ProjectLead)
        .await;
    let read = app.get(&format!("/api/v1/lessons/{lesson_id}"), Some(&newcomer)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()["organisation"], "Trondheim kommune");
    let listed = app.get("/api/v1/lessons", Some(&newcomer)).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed:#}");
    let found = search(&app, &newcomer, "q=matavfall&kind=lesson").await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found:#}");
    assert!(
        found[0]["snippet_html"]
            .as_str()
            .unwrap_or_default()
            .contains("<mark>matavfallet</mark>"),
        "{found:#}"
    );
    assert_eq!(found[0]["year"], 2027, "the year of the programme it was written in");
    // The profile itself belongs to the earlier cohort.
    let profile = app.get(&format!("/api/v1/projects/{trondheim}"), Some(&newcomer)).await;
    assert_eq!(profile.status, StatusCode::NOT_FOUND);

    // Another theme reads neither the lesson nor finds it.
    let outsider = app
        .member_token(
            cohorts["sirkulaerokonomi"],
            "utenfor@example.no",
            "Ut",
            Role::ProjectLead,
        )
        .await;
    let hidden = app.get(&format!("/api/v1/lessons/{lesson_id}"), Some(&outsider)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(search(&app, &outsider, "q=matavfallet").await, json!([]));
}

#[tokio::test]
async fn search_finds_inflected_words_only_in_what_the_searcher_may_see() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let circular = cohorts["sirkulaerokonomi"];
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Frida Fasilitator")
        .await;
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app
        .member_token(circular, "ola@example.no", "Ola", Role::ProjectLead)
        .await;

    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&kari),
            &json!({ "title": "Veiing i kantinene", "body": "Hvordan måler dere **matsvinnet** på sykehjemmene?", "client_id": "s-1" }),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.body);
    let thread_id = thread.json()["thread"]["id"].as_i64().expect("an id");
    let first_post = thread.json()["posts"][0]["id"].as_i64().expect("an id");
    let other = app
        .post_json(
            &format!("/api/v1/cohorts/{circular}/threads"),
            Some(&ola),
            &json!({ "title": "Matsvinn og ombruk", "body": "Hemmelig matsvinn i en annen gruppe.", "client_id": "s-2" }),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    let resource = app
        .api
        .post(app.url(&format!("/api/v1/cohorts/{food}/resources")))
        .bearer_auth(&facilitator)
        .multipart(
            reqwest::multipart::Form::new()
                .text("title", "Veileder for veiing")
                .text("summary", "Slik reduserer kantiner matsvinn steg for steg.")
                .text("url", "https://example.no/veileder"),
        )
        .send()
        .await
        .expect("posted");
    assert_eq!(resource.status(), StatusCode::CREATED);

    // "matsvinnet" finds "matsvinn" and "matsvinnet" in the post, the resource and the profiles.
    let hits = search(&app, &kari, "q=matsvinnet").await;
    let found = kinds_and_titles(&hits);
    assert!(
        found.contains(&("post".to_string(), "Veiing i kantinene".to_string())),
        "{hits:#}"
    );
    assert!(
        found.contains(&("resource".to_string(), "Veileder for veiing".to_string())),
        "{hits:#}"
    );
    assert!(
        found
            .iter()
            .any(|(kind, title)| kind == "profile" && title.contains("Matsvinnreduksjon")),
        "{hits:#}"
    );
    assert!(
        !hits.to_string().contains("Hemmelig"),
        "another cohort's post leaked: {hits:#}"
    );
    let post = hits
        .as_array()
        .expect("hits")
        .iter()
        .find(|hit| hit["kind"] == "post")
        .expect("the post");
    assert_eq!(
        post["snippet_html"],
        "Hvordan måler dere <mark>matsvinnet</mark> på sykehjemmene?"
    );
    assert_eq!(post["path"], format!("/threads/{thread_id}#post-{first_post}"));
    let resource_hit = hits
        .as_array()
        .expect("hits")
        .iter()
        .find(|hit| hit["kind"] == "resource")
        .expect("the resource");
    assert_eq!(
        resource_hit["snippet_html"],
        "Slik reduserer kantiner <mark>matsvinn</mark> steg for steg."
    );

    // Filters: kind and theme and year.
    let posts_only = search(&app, &kari, "q=sykehjem&kind=post").await;
    assert_eq!(
        kinds_and_titles(&posts_only),
        [("post".to_string(), "Veiing i kantinene".to_string())]
    );
    assert_eq!(search(&app, &kari, "q=matsvinn&kind=post&year=2026").await, json!([]));
    assert_eq!(
        search(&app, &kari, "q=matsvinn&kind=post&year=2027")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // The thread is found by its title's inflected form.
    let threads = search(&app, &kari, "q=kantine&kind=thread").await;
    assert_eq!(threads[0]["title_html"], "Veiing i <mark>kantinene</mark>");

    // An edit is found by its new words, a hidden post not at all.
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/posts/{first_post}"),
            Some(&kari),
            &json!({ "body": "Vi veier matavfallet hver fredag." }),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(
        search(&app, &kari, "q=fredager&kind=post")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(search(&app, &kari, "q=sykehjem&kind=post").await, json!([]));
    let hidden = app
        .post_json(
            &format!("/api/v1/posts/{first_post}/hide"),
            Some(&facilitator),
            &json!({ "reason": "Test", "version": 1 }),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    assert_eq!(search(&app, &kari, "q=fredag&kind=post").await, json!([]));

    // The other cohort's member finds their own post, and nothing of the food cohort's.
    let theirs = search(&app, &ola, "q=matsvinnet&kind=post").await;
    assert_eq!(
        kinds_and_titles(&theirs),
        [("post".to_string(), "<mark>Matsvinn</mark> og ombruk".to_string())]
    );
    assert!(!search(&app, &ola, "q=veileder").await.to_string().contains("Veileder"));

    // Unhelpful queries get a clear message.
    let empty = app.get("/api/v1/search?q=%20%21", Some(&kari)).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.code(), "empty_search");
    let long = app
        .get(&format!("/api/v1/search?q={}", "a".repeat(201)), Some(&kari))
        .await;
    assert_eq!(long.code(), "search_query_too_long");
    let anonymous = app.get("/api/v1/search?q=matsvinn", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_demo_posts_resources_needs_and_offers_and_a_lesson_that_search_and_matches_find() {
    let app = spawn_app().await;
    samling::demo::load(
        &app.db,
        &samling::resources::storage::Storage::local(app.settings.files_dir.clone()),
        samling_tests::ClockExt::now_for_tests(&app.clock),
    )
    .await
    .expect("the demo loads")
    .expect("an empty database gets the demo");
    let per = app.sign_in("per.olsen@example.skien.kommune.no").await;
    let cohorts = app.get("/api/v1/cohorts", Some(&per)).await.json();
    let food = cohorts[0]["id"].as_i64().expect("Per's cohort");
    assert_eq!(cohorts[0]["theme"]["slug"], "mat-og-matsvinn");

    let resources = app
        .get(&format!("/api/v1/cohorts/{food}/resources"), Some(&per))
        .await
        .json();
    let kinds: Vec<&str> = resources
        .as_array()
        .expect("resources")
        .iter()
        .map(|resource| resource["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds.len(), 2, "{resources:#}");
    assert!(kinds.contains(&"link") && kinds.contains(&"file"), "{resources:#}");
    let file = resources
        .as_array()
        .expect("resources")
        .iter()
        .find(|resource| resource["kind"] == "file")
        .expect("the PDF");
    let download = app
        .api
        .get(app.url(file["download_url"].as_str().expect("a download URL")))
        .bearer_auth(&per)
        .send()
        .await
        .expect("downloaded");
    assert_eq!(download.status(), StatusCode::OK);
    let bytes = download.bytes().await.expect("the file");
    assert!(bytes.starts_with(b"%PDF-1.4") && bytes.ends_with(b"%%EOF\n"));

    let skien = grant_id(&app, &per, food, "2022-0118").await;
    let profile = app.get(&format!("/api/v1/projects/{skien}"), Some(&per)).await.json();
    assert!(
        profile["needs"].as_str().unwrap_or_default().contains("matsvinn"),
        "{profile:#}"
    );
    assert_eq!(
        organisations(&profile["matches"], "finished")[0],
        "Trondheim kommune",
        "{profile:#}"
    );
    assert!(
        organisations(&profile["matches"], "offer").contains(&"Drammen kommune".to_string()),
        "{profile:#}"
    );

    let lessons = app.get("/api/v1/lessons", Some(&per)).await.json();
    assert_eq!(lessons.as_array().map(Vec::len), Some(1), "{lessons:#}");
    let hits = search(&app, &per, "q=matsvinnet").await;
    for kind in ["post", "resource", "profile", "lesson"] {
        assert!(
            hits.as_array().expect("hits").iter().any(|hit| hit["kind"] == kind),
            "no {kind}: {hits:#}"
        );
    }
}

#[tokio::test]
async fn an_empty_index_is_written_from_the_stored_content_when_the_server_starts() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let (_admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&kari),
            &json!({ "title": "Kompost i barnehagene", "body": "Hvem komposterer matavfallet selv?", "client_id": "r-1" }),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.body);
    // As a database from before search existed: no entries.
    samling::entities::search_entry::Entity::delete_many()
        .exec(&app.db)
        .await
        .expect("emptied");
    assert_eq!(search(&app, &kari, "q=komposterer").await, json!([]));

    let restarted = app.start_instance().await;
    let hits = search(&app, &kari, "q=barnehager").await;
    let kinds: Vec<&str> = hits
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["kind"].as_str().unwrap_or_default())
        .collect();
    assert!(kinds.contains(&"thread") && kinds.contains(&"post"), "{hits:#}");
    assert!(
        !search(&app, &kari, "q=matsvinn&kind=profile")
            .await
            .as_array()
            .expect("hits")
            .is_empty()
    );
    restarted.stop();
}

#[tokio::test]
async fn a_search_finds_a_post_made_just_before_and_posts_left_unindexed_at_a_stop_are_indexed_at_start() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let thread = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/threads"),
            Some(&kari),
            &json!({ "title": "Kompost i barnehagene", "body": "Hvem komposterer selv?", "client_id": "k-1" }),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.body);
    let thread_id = thread.json()["thread"]["id"].as_i64().expect("a thread id");
    let mut post_ids = Vec::new();
    for (body, client_id) in [
        ("Vi veier matavfallet fra kjøkkenet hver uke.", "k-2"),
        ("Ring sorteringsanlegget, de veier også.", "k-3"),
    ] {
        let posted = app
            .post_json(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(&kari),
                &json!({ "body": body, "client_id": client_id }),
            )
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        post_ids.push(posted.json()["id"].as_i64().expect("a post id"));
    }
    // Indexed after they are stored, but a search right after finds them.
    let post_hits = |hits: Value| -> Vec<i64> {
        let mut ids: Vec<i64> = hits
            .as_array()
            .expect("hits")
            .iter()
            .filter(|hit| hit["kind"] == "post")
            .filter_map(|hit| hit["source_id"].as_i64())
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(post_hits(search(&app, &kari, "q=veier").await), post_ids);

    let hidden = app
        .post_json(
            &format!("/api/v1/posts/{}/hide", post_ids[1]),
            Some(&facilitator),
            &json!({ "reason": "Telefonnummer", "version": 0 }),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    // As if the server had stopped before indexing either post.
    let ids: Vec<i32> = post_ids.iter().map(|&id| i32::try_from(id).expect("an id")).collect();
    samling::entities::search_entry::Entity::delete_many()
        .filter(samling::entities::search_entry::Column::Kind.eq("post"))
        .filter(samling::entities::search_entry::Column::SourceId.is_in(ids))
        .exec(&app.db)
        .await
        .expect("entries removed");
    assert_eq!(post_hits(search(&app, &kari, "q=veier").await), Vec::<i64>::new());

    // A new instance indexes the shown post when it starts; the hidden one stays out.
    let restarted = app.start_instance().await;
    let answer = app
        .api
        .get(format!("{}/api/v1/search?q=veier", restarted.address))
        .bearer_auth(&kari)
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(post_hits(answer.json().await.expect("json")), vec![post_ids[0]]);
    restarted.stop();
}
