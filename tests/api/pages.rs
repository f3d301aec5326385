use samling_tests::{TestApp, sample_grants, spawn_app};

/// A browser-like client: keeps cookies, follows redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + 43].to_string()
}

pub async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub async fn submit(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let response = client.post(app.url(path)).form(fields).send().await.unwrap();
    let final_path = response.url().path().to_string();
    (response.status().as_u16(), final_path, response.text().await.unwrap())
}

/// Signs in through the pages, as a person would; returns the client.
pub async fn sign_in_by_pages(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let (_, form) = page(&client, app, "/sign-in").await;
    let csrf = csrf_of(&form);
    let before = app.smtp.mails_to(email).len();
    let (status, _, sent) = submit(&client, app, "/sign-in", &[("csrf_token", &csrf), ("email", email)]).await;
    assert_eq!(status, 200);
    assert!(sent.contains("Sjekk e-posten din"), "{sent}");
    let link = app.smtp.wait_for_nth_mail_to(email, before + 1).await.links()[0].clone();
    let confirm = client.get(&link).send().await.unwrap().text().await.unwrap();
    let token = link.split("token=").nth(1).unwrap();
    assert!(confirm.contains(token), "the confirm page carries the token");
    let (status, path, _) = submit(
        &client,
        app,
        "/sign-in/link",
        &[("csrf_token", &csrf_of(&confirm)), ("token", token)],
    )
    .await;
    // An admin lands on the administration, everyone else on their cohorts.
    let landing = if email == "admin@example.no" {
        "/admin"
    } else {
        "/cohorts"
    };
    assert_eq!((status, path.as_str()), (200, landing));
    client
}

#[tokio::test]
async fn a_person_signs_in_through_the_pages_and_sees_their_cohorts() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    app.facilitator_token(
        &admin,
        cohorts["sirkulaerokonomi"],
        "sindre.aas@example.no",
        "Sindre Aas",
    )
    .await;
    let client = sign_in_by_pages(&app, "sindre.aas@example.no").await;
    let (status, html) = page(&client, &app, "/cohorts").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Sirkulærøkonomi") && !html.contains("Mat og matsvinn"),
        "{html}"
    );
    let (status, html) = page(&client, &app, &format!("/cohorts/{}", cohorts["sirkulaerokonomi"])).await;
    assert_eq!(status, 200);
    assert!(html.contains("Gjenbrukslager for kommunale møbler"));
    assert!(
        html.contains("1\u{a0}200\u{a0}000\u{a0}kr") || html.contains("kr"),
        "amounts in Norwegian format"
    );
    let (status, _) = page(&client, &app, &format!("/cohorts/{}", cohorts["mat-og-matsvinn"])).await;
    assert_eq!(status, 404);
    let (status, _) = page(&client, &app, "/admin").await;
    assert_eq!(status, 403, "administration is for admins");
}

#[tokio::test]
async fn a_used_link_shows_a_clear_page() {
    let app = spawn_app().await;
    app.admin_token().await;
    sign_in_by_pages(&app, "admin@example.no").await;
    let link = app.smtp.mails_to("admin@example.no").pop().unwrap().links()[0].clone();
    let client = browser();
    let confirm = client.get(&link).send().await.unwrap().text().await.unwrap();
    let token = link.split("token=").nth(1).unwrap();
    let (status, _, html) = submit(
        &client,
        &app,
        "/sign-in/link",
        &[("csrf_token", &csrf_of(&confirm)), ("token", token)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Lenken virker ikke") && html.contains("Be om en ny"),
        "{html}"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_site_are_refused() {
    let app = spawn_app().await;
    app.admin_token().await;
    let client = browser();
    let (_, form) = page(&client, &app, "/sign-in").await;
    let csrf = csrf_of(&form);

    let (status, _, html) = submit(&client, &app, "/sign-in", &[("email", "admin@example.no")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("Skjemaet var utløpt"), "{html}");
    let (status, _, _) = submit(
        &client,
        &app,
        "/sign-in",
        &[("csrf_token", "x".repeat(43).as_str()), ("email", "admin@example.no")],
    )
    .await;
    assert_eq!(status, 422, "a token that is not this browser's");
    let cross_site = client
        .post(app.url("/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str()), ("email", "admin@example.no")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403);
    let api_cross_site = app
        .api
        .post(app.url("/api/v1/auth/sign-in-link"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "email": "admin@example.no" }))
        .send()
        .await
        .unwrap();
    assert_eq!(api_cross_site.status().as_u16(), 403);
    let opaque_cross_site = client
        .post(app.url("/sign-in"))
        .header("origin", "null")
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", csrf.as_str()), ("email", "admin@example.no")])
        .send()
        .await
        .unwrap();
    assert_eq!(opaque_cross_site.status().as_u16(), 403);
    assert!(
        app.smtp.mails_to("admin@example.no").is_empty(),
        "none of these sent a link"
    );
}

/// Browsers that hide the origin send `Origin: null`; fetch metadata says the form is ours.
#[tokio::test]
async fn a_same_origin_form_with_an_opaque_origin_is_accepted() {
    let app = spawn_app().await;
    app.admin_token().await;
    let client = browser();
    let (_, form) = page(&client, &app, "/sign-in").await;
    let response = client
        .post(app.url("/sign-in"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", csrf_of(&form).as_str()), ("email", "admin@example.no")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    app.smtp.wait_for_mail_to("admin@example.no").await;
}

#[tokio::test]
async fn an_invalid_address_on_the_sign_in_page_gets_a_clear_message() {
    let app = spawn_app().await;
    let client = browser();
    let (_, form) = page(&client, &app, "/sign-in").await;
    let (status, _, html) = submit(
        &client,
        &app,
        "/sign-in",
        &[("csrf_token", &csrf_of(&form)), ("email", "kari")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("role=\"alert\"") && html.contains("Skriv inn en gyldig e-postadresse"),
        "{html}"
    );
    assert!(html.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn the_language_can_be_switched() {
    let app = spawn_app().await;
    let client = browser();
    let (_, form) = page(&client, &app, "/sign-in").await;
    let (status, path, html) = submit(
        &client,
        &app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&form)),
            ("language", "nn"),
            ("back", "/sign-in"),
        ],
    )
    .await;
    assert_eq!((status, path.as_str()), (200, "/sign-in"));
    assert!(html.contains("<html lang=\"nn\""));
    let (_, path, html) = submit(
        &client,
        &app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&form)),
            ("language", "en"),
            ("back", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(
        path, "/sign-in",
        "only local redirects: back to the home page, which sends strangers to sign in"
    );
    assert!(html.contains("<html lang=\"en\""), "{html}");
}

#[tokio::test]
async fn the_admin_imports_a_file_on_the_upload_page_and_reads_the_report() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    let client = sign_in_by_pages(&app, "admin@example.no").await;
    let (status, form) = page(&client, &app, "/admin/import").await;
    assert_eq!(status, 200);
    // The token is the form's first field, never in its address.
    assert!(!form.contains("?csrf_token="), "{form}");
    let csrf = csrf_of(&form[form.find("action=\"/admin/import\"").expect("the upload form")..]);
    let mut sample = String::from_utf8(sample_grants()).unwrap();
    sample.push_str("2022-0998;Feil;Agder;Grimstad kommune;4202;mye;Pågående;Sep 2022 - Mar 2023;Forprosjekt;2022;Ida Lunde;;Tekst\r\n");
    let file = || reqwest::multipart::Part::bytes(sample.clone().into_bytes()).file_name("tildelinger.csv");
    // A token in the query is not taken: it would stand in the page address.
    let in_query = client
        .post(app.url(&format!("/admin/import?csrf_token={csrf}")))
        .multipart(reqwest::multipart::Form::new().part("file", file()))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status().as_u16(), 422);
    // A wrong token in the first field is refused too.
    let wrong = client
        .post(app.url("/admin/import"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", "x".repeat(43))
                .part("file", file()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 422);
    let upload = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .part("file", file());
    let response = client
        .post(app.url("/admin/import"))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("31 rader lest: 30 nye, 0 oppdatert, 0 uendret, 1 avvist."),
        "{html}"
    );
    assert!(
        html.contains("«Tilskudd» er ikke et beløp i hele kroner: «mye»."),
        "{html}"
    );
    assert!(html.contains("Mat og matsvinn – 7 prosjekter"), "{html}");
    // The programme's dates in Norwegian, not as 2027-01-04.
    let (_, overview) = page(&client, &app, "/admin").await;
    assert!(overview.contains("4. januar 2027 – 17. desember 2027"), "{overview}");
    assert!(!overview.contains("2027-01-04"), "{overview}");
    let (_, review) = page(&client, &app, "/admin/review").await;
    assert!(review.contains("2022-0150"));
}

#[tokio::test]
async fn the_import_report_on_the_page_says_how_many_erased_contacts_were_left_out() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_programme(&admin).await;
    // What an erasure of Kari would have put on the list.
    samling::privacy::suppression::suppress(&app.db, "kari@trondheim.example.no")
        .await
        .expect("suppressed");
    let client = sign_in_by_pages(&app, "admin@example.no").await;
    let (_, form) = page(&client, &app, "/admin/import").await;
    let upload = reqwest::multipart::Form::new()
        .text(
            "csrf_token",
            csrf_of(&form[form.find("action=\"/admin/import\"").expect("the upload form")..]),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(crate::retention::FOOD_GRANTS.as_bytes().to_vec())
                .file_name("tildelinger.csv"),
        );
    let response = client
        .post(app.url("/admin/import"))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    assert!(
        html.contains("1 kontaktperson ble utelatt fordi opplysningene om personen er slettet fra Samling."),
        "{html}"
    );
}

/// The error pages of a missing cohort or session and of a refused page are in the language the
/// person chose and show the navigation, as every other page does; a stranger's 404 follows the
/// language cookie.
#[tokio::test]
async fn error_pages_speak_the_persons_language_and_keep_the_navigation() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    app.facilitator_token(
        &admin,
        cohorts["sirkulaerokonomi"],
        "sindre.aas@example.no",
        "Sindre Aas",
    )
    .await;
    let client = sign_in_by_pages(&app, "sindre.aas@example.no").await;
    let (_, home) = page(&client, &app, "/cohorts").await;
    let (status, _, _) = submit(
        &client,
        &app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&home)),
            ("language", "en"),
            ("back", "/cohorts"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    for (path, status, heading) in [
        ("/admin", 403, "Access denied"),
        (
            &format!("/cohorts/{}", cohorts["mat-og-matsvinn"]) as &str,
            404,
            "Page not found",
        ),
        ("/cohorts/999999", 404, "Page not found"),
        ("/sessions/999999", 404, "Page not found"),
        ("/no/such/page", 404, "Page not found"),
    ] {
        let (got, html) = page(&client, &app, path).await;
        assert_eq!(got, status, "{path}");
        assert!(html.contains("<html lang=\"en\""), "{path}: {html}");
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{path}: {html}");
        assert!(
            html.contains(">My cohorts</a>"),
            "{path}: the navigation is there: {html}"
        );
        assert!(html.contains("Sign out"), "{path}: {html}");
        // The forms on the page work: the CSRF token is the browser's.
        assert_eq!(csrf_of(&html), csrf_of(&home), "{path}");
    }
    // The API's answer to the same request stays a problem document.
    let api = client.get(app.url("/api/v1/cohorts/999999")).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 404);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    // A stranger with the Nynorsk cookie.
    let stranger = browser();
    let (_, form) = page(&stranger, &app, "/sign-in").await;
    submit(
        &stranger,
        &app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&form)),
            ("language", "nn"),
            ("back", "/sign-in"),
        ],
    )
    .await;
    let (status, html) = page(&stranger, &app, "/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("<html lang=\"nn\""), "{html}");
    assert!(
        !html.contains("action=\"/sign-out\""),
        "no navigation for a stranger: {html}"
    );
}

/// A title Samling made for a planned session is shown in the reader's language until the
/// facilitator writes their own; sending it back unchanged (in any language) keeps it generated.
#[tokio::test]
async fn generated_session_titles_are_shown_in_the_readers_language() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    let marte = app
        .facilitator_token(&admin, food, "marte@example.no", "Marte Fjeld")
        .await;
    let sessions = app.plan_sessions(&marte, food).await;
    assert_eq!(sessions[0]["title"], "Mat og matsvinn – samling 1");
    let first = sessions[0]["id"].as_i64().unwrap();
    let second = sessions[1]["id"].as_i64().unwrap();

    let client = sign_in_by_pages(&app, "marte@example.no").await;
    let (_, home) = page(&client, &app, "/cohorts").await;
    submit(
        &client,
        &app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&home)),
            ("language", "en"),
            ("back", "/cohorts"),
        ],
    )
    .await;
    let (status, html) = page(&client, &app, &format!("/sessions/{first}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Food and food waste – session 1"), "{html}");
    assert!(!html.contains("Mat og matsvinn – samling 1"), "{html}");
    // The API answers the English reader in English too.
    let english = client
        .get(app.url(&format!("/api/v1/sessions/{first}")))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(english["title"], "Food and food waste – session 1");

    // The English title sent back as it was shown stays generated: Bokmål readers still get theirs.
    let patch = |id: i64, title: &'static str| {
        let (app, marte) = (&app, &marte);
        async move {
            app.send_json(
                reqwest::Method::PATCH,
                &format!("/api/v1/sessions/{id}"),
                Some(marte),
                &serde_json::json!({ "title": title }),
            )
            .await
        }
    };
    let kept = patch(first, "Food and food waste – session 1").await;
    assert_eq!(kept.status.as_u16(), 200, "{}", kept.body);
    let for_admin = app.get(&format!("/api/v1/sessions/{first}"), Some(&admin)).await;
    assert_eq!(
        for_admin.json()["title"],
        "Mat og matsvinn – samling 1",
        "{}",
        for_admin.body
    );
    // A title the facilitator writes is theirs, in every language.
    let written = patch(second, "Kantinemøtet").await;
    assert_eq!(written.status.as_u16(), 200, "{}", written.body);
    let (_, html) = page(&client, &app, &format!("/sessions/{second}")).await;
    assert!(html.contains("Kantinemøtet"), "{html}");
    assert!(!html.contains("session 2"), "{html}");
}

#[tokio::test]
async fn an_admin_starts_on_the_administration_and_a_member_on_their_cohorts() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    let food = cohorts["mat-og-matsvinn"];
    app.facilitator_token(&admin, food, "marte@example.no", "Marte").await;
    for (email, landing) in [("admin@example.no", "/admin"), ("marte@example.no", "/cohorts")] {
        let client = sign_in_by_pages(&app, email).await;
        let response = client.get(app.url("/")).send().await.unwrap();
        assert_eq!(response.url().path(), landing, "{email}");
        let response = client.get(app.url("/sign-in")).send().await.unwrap();
        assert_eq!(response.url().path(), landing, "{email} signed in already");
    }
}
