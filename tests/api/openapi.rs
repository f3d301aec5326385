use samling_tests::spawn_app;

/// Every API route is registered through its OpenAPI annotation, so the document and the router
/// cannot drift apart; this checks the document itself and that what it lists is served.
#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_and_they_are_served() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3."))
    );
    let paths = document["paths"].as_object().expect("paths");
    let expected = [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/cohorts"),
        ("get", "/api/v1/cohorts/{cohort_id}"),
        ("post", "/api/v1/auth/sign-in-link"),
        ("post", "/api/v1/auth/session"),
        ("delete", "/api/v1/auth/session"),
        ("get", "/api/v1/cohorts/{cohort_id}/invitations"),
        ("post", "/api/v1/cohorts/{cohort_id}/invitations"),
        ("post", "/api/v1/invitations/accept"),
        ("post", "/api/v1/admin/grant-imports"),
        ("get", "/api/v1/admin/review"),
        ("post", "/api/v1/admin/review/{grant_id}"),
        ("get", "/api/v1/admin/themes"),
        ("post", "/api/v1/admin/themes/{theme_id}/measure-types"),
        ("delete", "/api/v1/admin/measure-types/{mapping_id}"),
        ("get", "/api/v1/admin/programmes"),
        ("post", "/api/v1/admin/programmes"),
        ("put", "/api/v1/admin/cohorts/{cohort_id}/facilitator"),
        ("get", "/api/v1/admin/users"),
        ("post", "/api/v1/admin/users/{user_id}/deactivate"),
        ("get", "/api/v1/admin/audit"),
        ("get", "/api/v1/cohorts/{cohort_id}/sessions"),
        ("post", "/api/v1/cohorts/{cohort_id}/plan/proposal"),
        ("put", "/api/v1/cohorts/{cohort_id}/plan"),
        ("get", "/api/v1/sessions/{session_id}"),
        ("patch", "/api/v1/sessions/{session_id}"),
        ("post", "/api/v1/sessions/{session_id}/experts"),
        ("put", "/api/v1/sessions/{session_id}/registration"),
        ("delete", "/api/v1/sessions/{session_id}/registration"),
        ("get", "/api/v1/sessions/{session_id}/attendance"),
        ("put", "/api/v1/sessions/{session_id}/attendance"),
        ("get", "/api/v1/sessions/{session_id}/preparation"),
        ("put", "/api/v1/sessions/{session_id}/preparation"),
        ("get", "/api/v1/sessions/{session_id}/preparations"),
        ("get", "/api/v1/sessions/{session_id}/poll"),
        ("post", "/api/v1/sessions/{session_id}/poll/options"),
        ("put", "/api/v1/sessions/{session_id}/poll/answers"),
        ("put", "/api/v1/sessions/{session_id}/recap"),
        ("get", "/api/v1/sessions/{session_id}/calendar.ics"),
        ("post", "/api/v1/me/calendar-feed"),
        ("delete", "/api/v1/me/calendar-feed"),
        ("get", "/api/v1/cohorts/{cohort_id}/threads"),
        ("post", "/api/v1/cohorts/{cohort_id}/threads"),
        ("get", "/api/v1/threads/{thread_id}"),
        ("post", "/api/v1/threads/{thread_id}/posts"),
        ("get", "/api/v1/cohorts/{cohort_id}/events"),
        ("patch", "/api/v1/threads/{thread_id}"),
        ("put", "/api/v1/threads/{thread_id}/answer"),
        ("put", "/api/v1/threads/{thread_id}/read"),
        ("patch", "/api/v1/posts/{post_id}"),
        ("delete", "/api/v1/posts/{post_id}"),
        ("get", "/api/v1/posts/{post_id}/revisions"),
        ("put", "/api/v1/posts/{post_id}/reactions/{reaction}"),
        ("delete", "/api/v1/posts/{post_id}/reactions/{reaction}"),
        ("post", "/api/v1/posts/{post_id}/reports"),
        ("post", "/api/v1/posts/{post_id}/reports/dismiss"),
        ("post", "/api/v1/posts/{post_id}/hide"),
        ("post", "/api/v1/posts/{post_id}/restore"),
        ("get", "/api/v1/cohorts/{cohort_id}/moderation"),
        ("get", "/api/v1/cohorts/{cohort_id}/mutes"),
        ("post", "/api/v1/cohorts/{cohort_id}/mutes"),
        ("delete", "/api/v1/cohorts/{cohort_id}/mutes/{user_id}"),
        ("delete", "/api/v1/cohorts/{cohort_id}/members/{user_id}"),
        ("get", "/api/v1/me/unread"),
        ("post", "/api/v1/unsubscribe"),
        ("get", "/api/v1/me/digest-preference"),
        ("put", "/api/v1/me/digest-preference"),
        ("get", "/api/v1/cohorts/{cohort_id}/digests"),
        ("patch", "/api/v1/digests/{digest_id}"),
        ("get", "/api/v1/digests/{digest_id}/preview"),
        ("post", "/api/v1/digests/{digest_id}/send"),
        ("get", "/api/v1/cohorts/{cohort_id}/resources"),
        ("post", "/api/v1/cohorts/{cohort_id}/resources"),
        ("get", "/api/v1/resources/{resource_id}"),
        ("get", "/api/v1/resources/{resource_id}/file"),
        ("delete", "/api/v1/resources/{resource_id}"),
        ("get", "/api/v1/themes/{theme_id}/resources"),
        ("put", "/api/v1/cohorts/{cohort_id}/resource-settings"),
        ("get", "/api/v1/projects/{grant_id}"),
        ("put", "/api/v1/projects/{grant_id}/profile"),
        ("put", "/api/v1/projects/{grant_id}/lesson"),
        ("get", "/api/v1/lessons"),
        ("get", "/api/v1/lessons/{lesson_id}"),
        ("get", "/api/v1/search"),
    ];
    for (method, path) in expected {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"))[method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} has no responses");
        for (status, response) in responses {
            let described = response["description"].as_str().is_some_and(|text| !text.is_empty());
            assert!(described, "{method} {path} {status} lacks a description");
        }
    }
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |methods| methods.len()))
        .sum();
    assert_eq!(documented, expected.len(), "a new endpoint must be added to this list");

    // Each documented GET without parameters is routed: unauthenticated, it answers 401, not 404.
    for (method, path) in expected {
        if method == "get" && !path.contains('{') {
            let response = app.get(path, None).await;
            assert_eq!(response.status.as_u16(), 401, "GET {path}");
            assert_eq!(response.code(), "unauthenticated");
        }
    }
}
