//! Every error the API gives is problem+json with a stable code and a sentence of our own,
//! including the answers no handler writes: body limits, cross-origin refusals, unknown methods.

use samling_tests::{Response, spawn_app, spawn_app_with};
use serde_json::json;

/// The problem's `detail` is a sentence of ours: none of the framework's or serde's wording.
fn assert_own_sentence(response: &Response) {
    let detail = response.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(!detail.is_empty(), "{}", response.body);
    for internal in [
        "Failed to",
        "deserialize",
        "invalid type",
        "expected",
        "length limit",
        "buffer",
        "missing field",
    ] {
        assert!(!detail.contains(internal), "{internal:?} in {detail:?}");
    }
}

#[tokio::test]
async fn a_cross_origin_api_call_is_refused_as_a_problem() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/api/v1/auth/sign-in-link"))
        .header("origin", "https://evil.example")
        .json(&json!({ "email": "admin@example.no" }))
        .send()
        .await
        .unwrap();
    let response = Response {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    };
    assert_eq!(
        (response.status.as_u16(), response.code().as_str()),
        (403, "cross_origin")
    );
    assert_own_sentence(&response);
}

#[tokio::test]
async fn json_errors_name_the_place_in_our_own_words() {
    let app = spawn_app().await;
    let syntax = app
        .api
        .post(app.url("/api/v1/auth/sign-in-link"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let syntax = Response {
        status: syntax.status(),
        headers: syntax.headers().clone(),
        body: syntax.text().await.unwrap(),
    };
    assert_eq!((syntax.status.as_u16(), syntax.code().as_str()), (422, "invalid_json"));
    assert_own_sentence(&syntax);
    assert!(
        syntax.json()["detail"].as_str().unwrap().contains("linje 1"),
        "{}",
        syntax.body
    );

    let wrong_type = app
        .post_json("/api/v1/auth/sign-in-link", None, &json!({ "email": 5 }))
        .await;
    assert_eq!(
        (wrong_type.status.as_u16(), wrong_type.code().as_str()),
        (422, "invalid_fields")
    );
    assert_eq!(wrong_type.json()["field"], "email");
    assert_own_sentence(&wrong_type);

    let missing = app.post_json("/api/v1/auth/sign-in-link", None, &json!({})).await;
    assert_eq!(
        (missing.status.as_u16(), missing.code().as_str()),
        (422, "invalid_fields")
    );
    assert_eq!(missing.json()["field"], "email");
    assert_own_sentence(&missing);

    let admin = app.admin_token().await;
    let query = app.get("/api/v1/cohorts/1/events?after=soon", Some(&admin)).await;
    assert_eq!((query.status.as_u16(), query.code().as_str()), (422, "invalid_fields"));
    assert_eq!(query.json()["field"], "after");
    assert_own_sentence(&query);
}

#[tokio::test]
async fn bodies_over_the_limit_answer_413_as_a_problem() {
    let app = spawn_app().await;
    let big = json!({ "email": "x".repeat(5 * 1024 * 1024) });
    let json_body = app.post_json("/api/v1/auth/sign-in-link", None, &big).await;
    assert_eq!(
        (json_body.status.as_u16(), json_body.code().as_str()),
        (413, "body_too_large")
    );
    assert_own_sentence(&json_body);

    // The grant import takes files up to 64 MiB.
    let admin = app.admin_token().await;
    let csv = app
        .post_bytes("/api/v1/admin/grant-imports", &admin, vec![b'a'; 64 * 1024 * 1024 + 1])
        .await;
    assert_eq!((csv.status.as_u16(), csv.code().as_str()), (413, "body_too_large"));
    assert_own_sentence(&csv);
}

#[tokio::test]
async fn a_method_the_path_does_not_have_answers_405_as_a_problem() {
    let app = spawn_app().await;
    let response = app
        .send_json(reqwest::Method::DELETE, "/api/v1/me", None, &json!({}))
        .await;
    assert_eq!(
        (response.status.as_u16(), response.code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(
        response.headers.get("allow").and_then(|value| value.to_str().ok()),
        Some("GET,HEAD")
    );
    assert_own_sentence(&response);
    let unknown = app.get("/api/v1/nothing-here", None).await;
    assert_eq!((unknown.status.as_u16(), unknown.code().as_str()), (404, "not_found"));
}

#[tokio::test]
async fn a_rate_limited_answer_says_when_to_try_again() {
    let app = spawn_app_with(|settings| settings.sign_in_limit_per_address = 1).await;
    let body = json!({ "email": "kari@example.no" });
    let ask = || app.post_json("/api/v1/auth/sign-in-link", None, &body);
    assert_eq!(ask().await.status.as_u16(), 202);
    let refused = ask().await;
    assert_eq!(
        (refused.status.as_u16(), refused.code().as_str()),
        (429, "too_many_requests")
    );
    let seconds: u64 = refused
        .headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After in seconds");
    // One link per 15 minutes: the next one in about 15 minutes.
    assert!((890..=900).contains(&seconds), "{seconds}");
}
