use samling_tests::spawn_app;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!((health.status.as_u16(), health.body.as_str()), (200, "ok"));
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status.as_u16(), 200);
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for path in ["/sign-in", "/api/v1/me", "/no-such-page"] {
        let response = app.get(path, None).await;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("x-request-id").len(), 36, "{path}: a UUID request id");
    }
}

#[tokio::test]
async fn unknown_api_paths_answer_problem_json_and_unknown_pages_html() {
    let app = spawn_app().await;
    let api = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(api.status.as_u16(), 404);
    assert_eq!(api.code(), "not_found");
    let page = app.get("/nothing-here", None).await;
    assert_eq!(page.status.as_u16(), 404);
    assert!(page.body.contains("<html lang=\"nb\""), "{}", page.body);
}
