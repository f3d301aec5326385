use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use samling::auth::tokens::hash_secret;
use samling::entities::{outbox_mail, sign_in_token};
use samling_tests::{spawn_app, spawn_app_with};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn a_person_signs_in_with_the_link_from_the_real_mail() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;
    app.facilitator_token(
        &admin,
        cohorts["mat-og-matsvinn"],
        "marte.fjeld@example.no",
        "Marte Fjeld",
    )
    .await;

    let token = app.request_sign_in_token("Marte.Fjeld@Example.no").await;
    let mail = app.smtp.mails_to("marte.fjeld@example.no").pop().unwrap();
    assert_eq!(mail.subject(), "Logg inn i Samling");
    assert!(mail.text().contains("Hei Marte Fjeld"), "{}", mail.text());
    assert!(
        mail.html().contains("<a href=\""),
        "the mail has an HTML part with the link"
    );
    assert!(
        mail.links()[0].starts_with(&app.address),
        "the link points at the public URL"
    );

    let session = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
        .await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.body);
    let cookie = session.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("samling_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "no Secure flag in development: {cookie}");

    let bearer = session.json()["token"].as_str().unwrap().to_string();
    let me = app.get("/api/v1/me", Some(&bearer)).await.json();
    assert_eq!(me["user"]["email"], "marte.fjeld@example.no");
    assert_eq!(me["memberships"][0]["role"], "facilitator");

    // The API takes the same session as a cookie.
    let session_value = cookie.split(';').next().unwrap();
    let by_cookie = app
        .api
        .get(app.url("/api/v1/me"))
        .header("cookie", session_value)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status().as_u16(), 200);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let app = spawn_app().await;
    app.admin_token().await;
    let known = app
        .post_json(
            "/api/v1/auth/sign-in-link",
            None,
            &json!({ "email": "admin@example.no" }),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/sign-in-link",
            None,
            &json!({ "email": "nobody@example.no" }),
        )
        .await;
    assert_eq!(
        (known.status, known.body.clone()),
        (unknown.status, unknown.body.clone())
    );
    app.smtp.wait_for_mail_to("admin@example.no").await;
    assert!(app.smtp.mails_to("nobody@example.no").is_empty());

    let malformed = app
        .post_json("/api/v1/auth/sign-in-link", None, &json!({ "email": "not-an-address" }))
        .await;
    assert_eq!(malformed.status.as_u16(), 422);
    assert_eq!(malformed.code(), "invalid_email");
}

#[tokio::test]
async fn a_link_works_once() {
    let app = spawn_app().await;
    app.admin_token().await;
    let token = app.request_sign_in_token("admin@example.no").await;
    let first = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
        .await;
    assert_eq!(first.status.as_u16(), 200);
    let second = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": token }))
        .await;
    assert_eq!(second.status.as_u16(), 422);
    assert_eq!(second.code(), "sign_in_link_invalid");
}

#[tokio::test]
async fn a_link_expires_after_15_minutes() {
    let app = spawn_app().await;
    app.admin_token().await;
    let fresh = app.request_sign_in_token("admin@example.no").await;
    app.clock.advance(chrono::Duration::minutes(14));
    assert_eq!(
        app.post_json("/api/v1/auth/session", None, &json!({ "token": fresh }))
            .await
            .status
            .as_u16(),
        200
    );

    let old = app.request_sign_in_token("admin@example.no").await;
    app.clock
        .advance(chrono::Duration::minutes(15) + chrono::Duration::seconds(1));
    let late = app
        .post_json("/api/v1/auth/session", None, &json!({ "token": old }))
        .await;
    assert_eq!(late.code(), "sign_in_link_invalid");
}

#[tokio::test]
async fn a_new_link_voids_the_older_ones() {
    let app = spawn_app().await;
    app.admin_token().await;
    let older = app.request_sign_in_token("admin@example.no").await;
    let newer = app.request_sign_in_token("admin@example.no").await;
    assert_eq!(
        app.post_json("/api/v1/auth/session", None, &json!({ "token": older }))
            .await
            .code(),
        "sign_in_link_invalid"
    );
    assert_eq!(
        app.post_json("/api/v1/auth/session", None, &json!({ "token": newer }))
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn links_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    app.admin_token().await;
    let token = app.request_sign_in_token("admin@example.no").await;
    let stored: Vec<String> = sign_in_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.token_hash)
        .collect();
    assert!(stored.contains(&hash_secret(&token)));
    assert!(!stored.iter().any(|value| value.contains(&token)));
}

#[tokio::test]
async fn sign_in_requests_are_rate_limited_per_address_and_per_ip() {
    let app = spawn_app_with(|settings| {
        settings.sign_in_limit_per_address = 3;
        settings.sign_in_limit_per_ip = 5;
    })
    .await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            app.post_json("/api/v1/auth/sign-in-link", None, &json!({ "email": email }))
                .await
        }
    };
    for _ in 0..3 {
        assert_eq!(ask("someone@example.no").await.status.as_u16(), 202);
    }
    let limited = ask("someone@example.no").await;
    assert_eq!(limited.status.as_u16(), 429);
    assert_eq!(limited.code(), "too_many_requests");
    // Another address from the same IP still has room until the IP's own limit.
    assert_eq!(ask("other@example.no").await.status.as_u16(), 202);
    assert_eq!(
        ask("third@example.no").await.status.as_u16(),
        429,
        "the per-IP limit counts every request"
    );
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let parts: Vec<&str> = admin.split('.').collect();
    let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
    assert!(String::from_utf8(header).unwrap().contains("HS256"));
    let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let mut promoted = payload.clone();
    promoted["sub"] = json!("2");
    let changed_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(promoted.to_string()),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let wrong_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(b"someone-elses-secret-of-enough-length"),
    )
    .unwrap();
    let other_algorithm = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(
            samling::config::Settings::default().signing_secret.expose().as_bytes(),
        ),
    )
    .unwrap();
    for (what, token) in [
        ("changed payload", changed_payload),
        ("alg none", alg_none),
        ("wrong key", wrong_key),
        ("HS512", other_algorithm),
        ("garbage", "a.b.c".into()),
    ] {
        let response = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(response.status.as_u16(), 401, "{what}");
        assert_eq!(response.code(), "unauthenticated", "{what}");
    }
    assert_eq!(
        app.get("/api/v1/me", Some(&admin)).await.status.as_u16(),
        200,
        "the genuine token still works"
    );
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.clock
        .advance(chrono::Duration::hours(12) + chrono::Duration::seconds(1));
    assert_eq!(app.get("/api/v1/me", Some(&admin)).await.status.as_u16(), 401);
}

#[tokio::test]
async fn sign_out_deactivation_and_role_changes_revoke_tokens() {
    let app = spawn_app().await;
    let (admin, cohorts) = app.with_sample_cohorts().await;

    // Sign-out.
    let marte = app
        .facilitator_token(
            &admin,
            cohorts["mat-og-matsvinn"],
            "marte.fjeld@example.no",
            "Marte Fjeld",
        )
        .await;
    let out = app
        .send_json(
            reqwest::Method::DELETE,
            "/api/v1/auth/session",
            Some(&marte),
            &json!({}),
        )
        .await;
    assert_eq!(out.status.as_u16(), 204);
    assert!(
        out.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("samling_session=;")
    );
    assert_eq!(app.get("/api/v1/me", Some(&marte)).await.status.as_u16(), 401);

    // A role change: Marte is signed in again, then becomes a project lead elsewhere... and
    // facilitator of a second cohort: her old token stops working, a new sign-in works.
    let marte = app.sign_in("marte.fjeld@example.no").await;
    let lead = app
        .invite_and_accept(
            &marte,
            cohorts["mat-og-matsvinn"],
            "kari@example.no",
            "Kari Nordmann",
            "project_lead",
        )
        .await;
    assert_eq!(app.get("/api/v1/me", Some(&lead)).await.status.as_u16(), 200);
    let promoted = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/cohorts/{}/facilitator", cohorts["mat-og-matsvinn"]),
            Some(&admin),
            &json!({ "email": "kari@example.no" }),
        )
        .await;
    assert_eq!(promoted.status.as_u16(), 200, "{}", promoted.body);
    assert_eq!(
        app.get("/api/v1/me", Some(&lead)).await.status.as_u16(),
        401,
        "a role change revokes the token"
    );

    // Deactivation: the token stops working and no new link is sent.
    let kari = app.sign_in("kari@example.no").await;
    let me = app.get("/api/v1/me", Some(&kari)).await.json();
    let kari_id = me["user"]["id"].as_i64().unwrap();
    let deactivated = app
        .post_json(
            &format!("/api/v1/admin/users/{kari_id}/deactivate"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(deactivated.status.as_u16(), 204);
    assert_eq!(app.get("/api/v1/me", Some(&kari)).await.status.as_u16(), 401);
    let mails_before = app.smtp.mails_to("kari@example.no").len();
    app.post_json(
        "/api/v1/auth/sign-in-link",
        None,
        &json!({ "email": "kari@example.no" }),
    )
    .await;
    // The link mail is handed to SMTP before the answer, so there is nothing to wait for.
    assert_eq!(
        app.smtp.mails_to("kari@example.no").len(),
        mails_before,
        "a deactivated person gets no link"
    );
}

/// A port where a mail server accepts connections and then never says a word.
async fn silent_mail_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A port where nothing listens: the mail server is down.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn sign_in_rows(app: &samling_tests::TestApp) -> Vec<outbox_mail::Model> {
    outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Kind.eq("sign_in"))
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn asking_for_a_link_does_not_wait_for_the_mail_server() {
    let port = silent_mail_server().await;
    let app = spawn_app_with(|settings| settings.smtp_port = port).await;
    app.admin_token().await;
    // Sent inside the request, the link mail would hang here as long as the mail server does.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap();
    let mut answers = Vec::new();
    for email in ["admin@example.no", "nobody@example.no"] {
        let response = client
            .post(app.url("/api/v1/auth/sign-in-link"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("an answer while the mail server is silent");
        answers.push((response.status().as_u16(), response.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 202);
    assert_eq!(
        answers[0], answers[1],
        "the same answer for a known and an unknown address"
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_only_delays_the_link() {
    let app = spawn_app_with(|settings| settings.smtp_port = closed_port()).await;
    app.admin_token().await;
    for email in ["admin@example.no", "nobody@example.no"] {
        let response = app
            .post_json("/api/v1/auth/sign-in-link", None, &json!({ "email": email }))
            .await;
        assert_eq!(response.status.as_u16(), 202, "{email}: {}", response.body);
    }
    // The worker tries, fails, and keeps the link for later; the unknown address is dropped
    // without keeping what was typed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let rows = loop {
        let rows = sign_in_rows(&app).await;
        if rows
            .iter()
            .all(|row| row.attempts > 0 || row.status == outbox_mail::Status::Cancelled)
        {
            break rows;
        }
        assert!(std::time::Instant::now() < deadline, "the worker never tried: {rows:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let known = rows
        .iter()
        .find(|row| row.recipient == "admin@example.no")
        .expect("the known address");
    assert_eq!((known.status, known.attempts), (outbox_mail::Status::Pending, 1));
    assert!(known.last_error.is_some());
    assert!(
        rows.iter()
            .any(|row| row.status == outbox_mail::Status::Cancelled && row.recipient.is_empty())
    );
    assert!(!rows.iter().any(|row| row.recipient.contains("nobody")));

    // The mail server is back (another instance that reaches it): the retry sends the link.
    app.clock.advance(chrono::Duration::minutes(2));
    let smtp_port = app.smtp.port;
    let _instance = app.start_instance_with(|settings| settings.smtp_port = smtp_port).await;
    let mail = app.smtp.wait_for_mail_to("admin@example.no").await;
    let session = app
        .post_json(
            "/api/v1/auth/session",
            None,
            &json!({ "token": mail.link_token("/sign-in/link") }),
        )
        .await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.body);
    assert!(app.smtp.mails_to("nobody@example.no").is_empty());
}
