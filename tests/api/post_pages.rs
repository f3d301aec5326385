//! The thread page's own forms for one post: who may open the edit and report pages, and what
//! a refused reaction looks like. The browser tests cover the happy paths.

use samling::domain::roles::Role;
use samling_tests::spawn_app;
use serde_json::json;

use crate::discussion::{start_thread, thread, user_id};
use crate::pages::{csrf_of, page, sign_in_by_pages, submit};

#[tokio::test]
async fn only_the_author_edits_or_deletes_a_post_and_refused_reactions_say_why() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let (food, circular) = (cohorts["mat-og-matsvinn"], cohorts["sirkulaerokonomi"]);
    let kari = app
        .member_token(food, "kari@example.no", "Kari", Role::ProjectLead)
        .await;
    let ola = app.member_token(food, "ola@example.no", "Ola", Role::ProjectLead).await;
    app.member_token(circular, "ute@example.no", "Ute", Role::ProjectLead)
        .await;
    let facilitator = app
        .facilitator_token(&admin, food, "fasilitator@example.no", "Fasilitator")
        .await;
    let (thread_id, post_id) = start_thread(&app, &kari, food, "Kompost", "k1").await;

    // Someone else's post: no edit or delete, but it can be reported.
    let ola_pages = sign_in_by_pages(&app, "ola@example.no").await;
    let (status, html) = page(&ola_pages, &app, &format!("/threads/{thread_id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("href=\"/posts/{post_id}/report\""))
            && !html.contains(&format!("/posts/{post_id}/edit")),
        "a report link, no edit link: {html}"
    );
    let csrf = csrf_of(&html);
    let (status, _) = page(&ola_pages, &app, &format!("/posts/{post_id}/edit")).await;
    assert_eq!(status, 403);
    let (status, _, _) = submit(
        &ola_pages,
        &app,
        &format!("/posts/{post_id}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(thread(&app, &kari, thread_id).await["posts"][0]["deleted"], false);
    let (status, report_form) = page(&ola_pages, &app, &format!("/posts/{post_id}/report")).await;
    assert_eq!(status, 200);
    assert!(
        report_form.contains("Kompost?"),
        "the page shows the post: {report_form}"
    );

    // Someone outside the cohort does not learn that the post exists.
    let stranger_pages = sign_in_by_pages(&app, "ute@example.no").await;
    for path in [format!("/posts/{post_id}/report"), format!("/posts/{post_id}/edit")] {
        let (status, _) = page(&stranger_pages, &app, &path).await;
        assert_eq!(status, 404, "{path}");
    }

    // An unknown reaction and a muted member's reaction are refused on the thread page, with
    // the reason, and nothing is stored.
    let react = format!("/posts/{post_id}/reactions");
    let (status, _, unknown) = submit(&ola_pages, &app, &react, &[("csrf_token", &csrf), ("add", "shrug")]).await;
    assert_eq!(status, 422);
    assert!(unknown.contains("role=\"alert\""), "{unknown}");
    let muted = app
        .post_json(
            &format!("/api/v1/cohorts/{food}/mutes"),
            Some(&facilitator),
            &json!({ "user_id": user_id(&app, &ola).await, "minutes": 30, "reason": "Pause" }),
        )
        .await;
    assert_eq!(muted.status.as_u16(), 201, "{}", muted.body);
    let (status, _, refused) = submit(&ola_pages, &app, &react, &[("csrf_token", &csrf), ("add", "heart")]).await;
    assert_eq!(status, 403);
    assert!(
        refused.contains("role=\"alert\"") && refused.contains("dempet"),
        "{refused}"
    );
    assert_eq!(thread(&app, &kari, thread_id).await["posts"][0]["reactions"], json!([]));

    // The author's edit page keeps a refused text and says what is wrong.
    let kari_pages = sign_in_by_pages(&app, "kari@example.no").await;
    let (status, edit_form) = page(&kari_pages, &app, &format!("/posts/{post_id}/edit")).await;
    assert_eq!(status, 200);
    let kari_csrf = csrf_of(&edit_form);
    let too_long = "x".repeat(20_001);
    let (status, _, refused) = submit(
        &kari_pages,
        &app,
        &format!("/posts/{post_id}/edit"),
        &[("csrf_token", &kari_csrf), ("body", &too_long)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("aria-invalid=\"true\"") && refused.contains(&too_long),
        "the text is kept"
    );
    assert_eq!(
        thread(&app, &kari, thread_id).await["posts"][0]["edited_at"],
        json!(null)
    );
}
