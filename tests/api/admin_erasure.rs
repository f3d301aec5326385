//! Administration → people → «Slett person»: the page an admin erases someone who asked by
//! letter through, with the same policy as `POST /api/v1/admin/users/{id}/erasure`.

use samling::domain::roles::Role;
use samling::entities::{audit_log, post, user};
use samling_tests::{TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::discussion::{start_thread, thread, user_id};
use crate::pages::{csrf_of, page, sign_in_by_pages, submit};

struct World {
    /// Kari's id, her first post and the thread it is in.
    kari: i64,
    kari_post: i64,
    thread_id: i64,
    admin: i64,
    /// Another member, who reads the thread.
    ola: String,
}

async fn world(app: &TestApp) -> World {
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let kari = app
        .member_token(food, "kari@example.no", "Kari Nordmann", Role::ProjectLead)
        .await;
    let ola = app
        .member_token(food, "ola@example.no", "Ola Leser", Role::ProjectLead)
        .await;
    let (thread_id, kari_post) = start_thread(app, &kari, food, "Matsvinn i kantina", "kari-1").await;
    World {
        kari: user_id(app, &kari).await,
        kari_post,
        thread_id,
        admin: user_id(app, &admin).await,
        ola,
    }
}

async fn person(app: &TestApp, id: i64) -> user::Model {
    user::Entity::find_by_id(id as i32)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the person's row")
}

#[tokio::test]
async fn an_admin_erases_a_person_through_the_pages_and_keeps_their_posts() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let client = sign_in_by_pages(&app, "admin@example.no").await;

    let (status, list) = page(&client, &app, "/admin/users").await;
    assert_eq!(status, 200);
    let link = format!("href=\"/admin/users/{}/erasure\"", w.kari);
    assert!(list.contains(&link), "the list offers «Slett person» for Kari: {list}");
    assert!(
        !list.contains(&format!("href=\"/admin/users/{}/erasure\"", w.admin)),
        "not for the admin themself"
    );

    let path = format!("/admin/users/{}/erasure", w.kari);
    let (status, form) = page(&client, &app, &path).await;
    assert_eq!(status, 200, "{form}");
    for text in [
        "Slett Kari Nordmann",
        "kari@example.no",
        "Dette slettes",
        "Dette blir stående",
        "Innleggene til personen (1)",
    ] {
        assert!(form.contains(text), "the page says {text}: {form}");
    }
    assert!(
        form.contains("id=\"erasure-posts-keep\" name=\"posts\" value=\"keep\" checked"),
        "keeping the posts is the default: {form}"
    );

    let (status, landed, list) = submit(
        &client,
        &app,
        &path,
        &[("csrf_token", csrf_of(&form).as_str()), ("posts", "keep")],
    )
    .await;
    assert_eq!((status, landed.as_str()), (200, "/admin/users"), "{list}");
    assert!(list.contains("Personen er slettet"), "the notice: {list}");
    assert!(list.contains("Tidligere deltaker"), "the erased person's row: {list}");
    assert!(
        !list.contains("Kari Nordmann") && !list.contains("kari@example.no"),
        "{list}"
    );
    assert!(!list.contains(&link), "no actions for an erased person: {list}");
    assert!(!list.contains(&format!("/admin/users/{}/deactivate", w.kari)), "{list}");

    let erased = person(&app, w.kari).await;
    assert!(erased.erased_at.is_some() && erased.name.is_empty(), "{erased:?}");
    let kept = post::Entity::find_by_id(w.kari_post as i32)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!kept.deleted && !kept.body.is_empty(), "the post is kept: {kept:?}");
    let shown = thread(&app, &w.ola, w.thread_id).await;
    assert_eq!(shown["posts"][0]["author"], "Tidligere deltaker", "{shown}");

    let entry = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("privacy.erase_by_admin"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an audit entry");
    assert_eq!(entry.actor_user_id, Some(w.admin as i32));
    assert!(
        entry.detail.contains(&format!("person-{}", w.kari)) && entry.detail.contains("keep"),
        "{}",
        entry.detail
    );

    // Its page no longer offers to erase: there is no one left.
    let (status, again) = page(&client, &app, &path).await;
    assert_eq!(status, 200);
    assert!(again.contains("allerede slettet"), "{again}");
    assert!(!again.contains(&format!("action=\"{path}\"")), "{again}");
}

#[tokio::test]
async fn the_erasure_page_refuses_the_admin_themself_unknown_people_and_non_admins() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let client = sign_in_by_pages(&app, "admin@example.no").await;
    let own = format!("/admin/users/{}/erasure", w.admin);
    let sentence = "Du kan ikke slette din egen konto her";

    // Oneself: the page says why and has no button.
    let (status, html) = page(&client, &app, &own).await;
    assert_eq!(status, 200);
    assert!(html.contains(sentence), "{html}");
    assert!(!html.contains(&format!("action=\"{own}\"")), "{html}");
    // A forged form gets the conflict's sentence as the form's error.
    let (status, _, html) = submit(
        &client,
        &app,
        &own,
        &[("csrf_token", csrf_of(&html).as_str()), ("posts", "keep")],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert!(
        html.contains("role=\"alert\" id=\"erasure-error\">Du kan ikke slette din egen konto her"),
        "{html}"
    );
    assert!(person(&app, w.admin).await.erased_at.is_none());

    // No such person: the 404 page, for the form and for a post.
    let (status, html) = page(&client, &app, "/admin/users/999999/erasure").await;
    assert_eq!(status, 404, "{html}");
    let (status, _, _) = submit(
        &client,
        &app,
        "/admin/users/999999/erasure",
        &[("csrf_token", csrf_of(&html).as_str()), ("posts", "keep")],
    )
    .await;
    assert_eq!(status, 404);

    // A choice that is neither is refused on the page, nothing erased.
    let path = format!("/admin/users/{}/erasure", w.kari);
    let (_, form) = page(&client, &app, &path).await;
    let (status, _, html) = submit(
        &client,
        &app,
        &path,
        &[("csrf_token", csrf_of(&form).as_str()), ("posts", "archive")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("Velg om innleggene skal beholdes eller slettes"),
        "{html}"
    );
    assert!(person(&app, w.kari).await.erased_at.is_none());

    // Someone who is not an admin may neither see nor use it.
    let ola = sign_in_by_pages(&app, "ola@example.no").await;
    let (status, _) = page(&ola, &app, &path).await;
    assert_eq!(status, 403);
    let (_, cohorts) = page(&ola, &app, "/cohorts").await;
    let (status, _, _) = submit(
        &ola,
        &app,
        &path,
        &[("csrf_token", csrf_of(&cohorts).as_str()), ("posts", "delete")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        person(&app, w.kari).await.erased_at.is_none(),
        "the non-admin erased no one"
    );
}
