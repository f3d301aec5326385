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
    let csrf = csrf_of(&form.replace("/admin/import?csrf_token=", "name=\"csrf_token\" value=\""));
    let mut sample = String::from_utf8(sample_grants()).unwrap();
    sample.push_str("2022-0998;Feil;Agder;Grimstad kommune;4202;mye;Pågående;Sep 2022 - Mar 2023;Forprosjekt;2022;Ida Lunde;;Tekst\r\n");
    let upload = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(sample.into_bytes()).file_name("tildelinger.csv"),
    );
    let response = client
        .post(app.url(&format!("/admin/import?csrf_token={csrf}")))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("31 rader lest: 30 nye, 0 oppdatert, 0 uendret, 1 avvist."),
        "{html}"
    );
    assert!(
        html.contains("«Tilskudd» er ikke et beløp i hele kroner: «mye»."),
        "{html}"
    );
    assert!(html.contains("Mat og matsvinn – 7 prosjekter"), "{html}");
    let (_, review) = page(&client, &app, "/admin/review").await;
    assert!(review.contains("2022-0150"));
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
