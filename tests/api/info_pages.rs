//! The accessibility statement, the privacy notice and help: open without signing in, linked
//! from every page's footer, in each language, with this installation's controller, contacts and
//! retention periods as configured.

use samling_tests::{TestApp, spawn_app, spawn_app_with};

use crate::pages::{browser, csrf_of, page, sign_in_by_pages, submit};

const PAGES: [&str; 3] = ["/tilgjengelighet", "/personvern", "/hjelp"];

/// A signed-out browser that has chosen `language` in the page header.
async fn reader_in(app: &TestApp, language: &str) -> reqwest::Client {
    let client = browser();
    let (_, form) = page(&client, app, "/sign-in").await;
    let (status, _, html) = submit(
        &client,
        app,
        "/language",
        &[
            ("csrf_token", &csrf_of(&form)),
            ("language", language),
            ("back", "/sign-in"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<html lang=\"{language}\"")), "{html}");
    client
}

fn assert_contains_all(html: &str, expected: &[&str], what: &str) {
    let missing: Vec<_> = expected.iter().filter(|text| !html.contains(**text)).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}");
}

#[tokio::test]
async fn the_privacy_notice_shows_the_configured_controller_contact_and_retention_in_each_language() {
    let app = spawn_app_with(|settings| {
        settings.controller_name = "Testdirektoratet".into();
        settings.controller_address = "Postboks 12, 0101 Oslo".into();
        settings.privacy_contact_email = "personvern@test.example.no".into();
        settings.retention_programme_years = 7;
        settings.retention_sign_in_days = 45;
        settings.retention_invitation_days = 21;
        settings.retention_outbox_days = 61;
        settings.export_link_hours = 48;
    })
    .await;
    let configured = [
        "Testdirektoratet",
        "Postboks 12, 0101 Oslo",
        "<a href=\"mailto:personvern@test.example.no\">personvern@test.example.no</a>",
    ];
    for (language, periods, basis, fingerprint) in [
        (
            "nb",
            ["7 år", "45 dager", "21 dager", "61 dager", "48 timer"],
            "artikkel 6 nr. 1 bokstav e",
            "fingeravtrykk av e-postadressen din",
        ),
        (
            "nn",
            ["7 år", "45 dagar", "21 dagar", "61 dagar", "48 timar"],
            "artikkel 6 nr. 1 bokstav e",
            "fingeravtrykk av e-postadressa di",
        ),
        (
            "en",
            ["7 years", "45 days", "21 days", "61 days", "48 hours"],
            "Article 6(1)(e)",
            "fingerprint of your e-mail address",
        ),
    ] {
        let client = reader_in(&app, language).await;
        let (status, html) = page(&client, &app, "/personvern").await;
        assert_eq!(status, 200, "{language}");
        assert_contains_all(&html, &configured, &format!("/personvern in {language}"));
        assert_contains_all(&html, &periods, &format!("/personvern in {language}"));
        assert!(html.contains(basis), "/personvern in {language} names the legal basis");
        assert!(
            html.contains(fingerprint),
            "/personvern in {language} says an erased address is kept as a fingerprint"
        );
        assert!(html.contains("https://www.datatilsynet.no/"), "the right to complain");
        assert!(
            !html.contains("3 år") && !html.contains("90 dager"),
            "no default shows: {language}"
        );
    }
}

#[tokio::test]
async fn without_an_address_the_privacy_notice_leaves_it_out() {
    let app = spawn_app().await;
    let (status, html) = page(&browser(), &app, "/personvern").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Miljødirektoratet er behandlingsansvarlig"),
        "the default controller"
    );
    assert!(!html.contains("Adresse:"), "an empty address is not shown");
    assert_contains_all(
        &html,
        &[
            "mailto:personvern@example.no",
            "3 år",
            "90 dager",
            "30 dager",
            "72 timer",
        ],
        "/personvern with the defaults",
    );
}

#[tokio::test]
async fn the_accessibility_statement_names_the_controller_the_contact_and_where_to_complain() {
    let app = spawn_app_with(|settings| {
        settings.controller_name = "Testdirektoratet".into();
        settings.accessibility_contact_email = "uu@test.example.no".into();
    })
    .await;
    let (status, html) = page(&browser(), &app, "/tilgjengelighet").await;
    assert_eq!(status, 200);
    assert_contains_all(
        &html,
        &[
            "<h1>Tilgjengelighetserklæring for Samling</h1>",
            "Testdirektoratet er ansvarlig for Samling",
            "Samling oppfyller kravene delvis.",
            "WCAG 2.1",
            "<a href=\"mailto:uu@test.example.no\">uu@test.example.no</a>",
            "https://www.uutilsynet.no/",
            "Erklæringen er datert 6. desember 2026.",
            // The 12-hour sign-in is shorter than WCAG 2.2.1's 20 hours: a breach, said so.
            "WCAG 2.2.1",
            "En innlogging varer i 12 timer.",
        ],
        "/tilgjengelighet",
    );
}

#[tokio::test]
async fn a_sign_in_of_twenty_hours_or_more_is_no_timing_breach() {
    let app = spawn_app_with(|settings| settings.session_hours = 24).await;
    let (status, html) = page(&browser(), &app, "/tilgjengelighet").await;
    assert_eq!(status, 200);
    assert!(!html.contains("WCAG 2.2.1"), "{html}");
}

#[tokio::test]
async fn help_gives_the_configured_meeting_link_time_and_file_limit() {
    let app = spawn_app_with(|settings| {
        settings.meeting_link_minutes_before = 30;
        settings.resource_max_bytes = 10_000_000;
        settings.privacy_contact_email = "personvern@test.example.no".into();
    })
    .await;
    let (status, html) = page(&browser(), &app, "/hjelp").await;
    assert_eq!(status, 200);
    assert_contains_all(
        &html,
        &[
            "<h1>Hjelp</h1>",
            "30 minutter før den begynner",
            "høyst 10\u{a0}MB",
            // The names of buttons come from their own keys.
            "trykk «Send meg en lenke»",
            "Trykk «Meld meg på».",
            // Where one's data is, and how an account is deleted, with the buttons' own names.
            "Trykk «Be om en kopi av dataene mine»",
            "trykk «Send meg en lenke for å slette kontoen»",
            "«Slett person» sletter en person som har bedt om det i brev",
            "mailto:personvern@test.example.no",
        ],
        "/hjelp",
    );
}

#[tokio::test]
async fn every_page_links_the_three_pages_in_its_footer_and_they_open_signed_in_too() {
    let app = spawn_app().await;
    app.admin_token().await;
    let stranger = browser();
    for path in ["/sign-in", "/no-such-page", "/hjelp"] {
        let (_, html) = page(&stranger, &app, path).await;
        for link in PAGES {
            assert!(html.contains(&format!("<a href=\"{link}\"")), "{path} links {link}");
        }
    }
    let admin = sign_in_by_pages(&app, "admin@example.no").await;
    for path in PAGES {
        let (status, html) = page(&admin, &app, path).await;
        assert_eq!(status, 200, "{path} signed in");
        assert!(html.contains("action=\"/sign-out\""), "{path} has the signed-in header");
        assert!(
            html.contains(&format!("<a href=\"{path}\" aria-current=\"page\">")),
            "{path} marks its own footer link"
        );
    }
}
