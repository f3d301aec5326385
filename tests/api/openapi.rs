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
        ("get", "/api/v1/me/export"),
        ("post", "/api/v1/me/export"),
        ("get", "/api/v1/cohorts"),
        ("get", "/api/v1/cohorts/{cohort_id}"),
        ("post", "/api/v1/auth/sign-in-link"),
        ("post", "/api/v1/auth/session"),
        ("delete", "/api/v1/auth/session"),
        ("get", "/api/v1/cohorts/{cohort_id}/invitations"),
        ("post", "/api/v1/cohorts/{cohort_id}/invitations"),
        ("post", "/api/v1/invitations/accept"),
        ("get", "/api/v1/cohorts/{cohort_id}/contacts"),
        ("post", "/api/v1/cohorts/{cohort_id}/invitations/contacts"),
        ("post", "/api/v1/cohorts/{cohort_id}/invitations/batch"),
        ("post", "/api/v1/invitations/{invitation_id}/resend"),
        ("delete", "/api/v1/invitations/{invitation_id}"),
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
        ("get", "/api/v1/sessions/{session_id}/participants"),
        ("post", "/api/v1/sessions/{session_id}/messages"),
        ("get", "/api/v1/programmes/{programme_id}/planning-rules"),
        ("put", "/api/v1/programmes/{programme_id}/planning-rules"),
        ("get", "/api/v1/sessions/{session_id}/preparation"),
        ("put", "/api/v1/sessions/{session_id}/preparation"),
        ("get", "/api/v1/sessions/{session_id}/preparations"),
        ("put", "/api/v1/preparations/{preparation_id}/addressed"),
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
        ("get", "/api/v1/projects/{grant_id}/experience-report"),
        ("get", "/api/v1/search"),
        ("get", "/api/v1/reports/{scope}/{id}/xlsx"),
        ("get", "/api/v1/reports/{scope}/{id}/csv/{table_key}"),
        ("get", "/api/v1/sessions/{session_id}/survey"),
        ("post", "/api/v1/sessions/{session_id}/survey"),
        ("get", "/api/v1/cohorts/{cohort_id}/closing-survey"),
        ("post", "/api/v1/cohorts/{cohort_id}/closing-survey"),
        ("get", "/api/v1/reports/programmes/{programme_id}"),
        ("get", "/api/v1/reports/themes/{theme_id}"),
        ("get", "/api/v1/reports/cohorts/{cohort_id}"),
        ("get", "/api/v1/reports/sessions/{session_id}"),
        ("post", "/api/v1/me/erasure"),
        ("post", "/api/v1/me/erasure/confirm"),
        ("post", "/api/v1/admin/users/{user_id}/erasure"),
    ];
    for (method, path) in expected {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"))[method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} has no responses");
        for (status, response) in responses {
            // A standard answer is a reference to `components.responses`.
            let response = match response["$ref"].as_str() {
                Some(reference) => {
                    &document["components"]["responses"][reference.rsplit('/').next().unwrap_or_default()]
                }
                None => response,
            };
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

/// Each operation of the served document, with its path and method.
fn operations(document: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            found.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    found
}

/// A path parameter is one of the path's `{names}` and every name is a path parameter; query
/// parameters are not in the template (a client generated from the document could not call
/// them otherwise).
#[tokio::test]
async fn every_parameter_is_declared_where_the_server_reads_it() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.json();
    let mut query_parameters = Vec::new();
    for (path, method, operation) in operations(&document) {
        let template: Vec<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        let mut in_path = Vec::new();
        for parameter in &parameters {
            let name = parameter["name"].as_str().expect("a name");
            match parameter["in"].as_str() {
                Some("path") => {
                    assert!(
                        template.contains(&name),
                        "{method} {path}: `{name}` is no part of the path"
                    );
                    assert_eq!(parameter["required"], true, "{method} {path}: `{name}`");
                    in_path.push(name);
                }
                Some("query") => query_parameters.push(format!("{method} {path} {name}")),
                other => panic!("{method} {path}: `{name}` in {other:?}"),
            }
        }
        for name in template {
            assert!(in_path.contains(&name), "{method} {path}: `{{{name}}}` is not declared");
        }
    }
    for expected in [
        "get /api/v1/cohorts/{cohort_id}/events after",
        "get /api/v1/search q",
        "get /api/v1/search kind",
        "get /api/v1/search theme_id",
        "get /api/v1/search year",
        "get /api/v1/digests/{digest_id}/preview user_id",
        "post /api/v1/unsubscribe token",
        "get /api/v1/reports/programmes/{programme_id} county",
        "get /api/v1/reports/programmes/{programme_id} grant_year",
        "get /api/v1/reports/sessions/{session_id} grant_year",
    ] {
        assert!(
            query_parameters.iter().any(|found| found == expected),
            "{expected} is not a query parameter"
        );
    }
}

/// The standard answers every operation can give are in the document, as problem+json: 401
/// where a session is needed, 503 `busy` with `Retry-After` everywhere, 404 with path
/// parameters, 413 and 422 with a body, 422 with query parameters, 403 `cross_origin` on
/// every method that changes something, and `Retry-After` on every 429.
#[tokio::test]
async fn every_operation_documents_the_problems_it_can_answer() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.json();
    let resolve = |response: &serde_json::Value| -> serde_json::Value {
        match response["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().expect("a name");
                document["components"]["responses"][name].clone()
            }
            None => response.clone(),
        }
    };
    for (path, method, operation) in operations(&document) {
        let responses = operation["responses"].as_object().expect("responses");
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        let secured = operation["security"].as_array().is_some_and(|list| !list.is_empty());
        let has_body = operation.get("requestBody").is_some();
        let has_query = parameters.iter().any(|parameter| parameter["in"] == "query");
        let changes = method != "get";
        let expected = [
            ("401", secured),
            ("403", changes),
            ("404", path.contains('{')),
            ("413", has_body),
            ("422", has_body || has_query),
            ("503", true),
        ];
        for (status, needed) in expected {
            if needed {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
        for (status, response) in responses {
            let response = resolve(response);
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem",
                    "{method} {path} {status} is not problem+json"
                );
            }
            if status == "429" || status == "503" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{method} {path} {status} lacks Retry-After"
                );
            }
        }
    }
}
