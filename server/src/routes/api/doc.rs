//! The parts of the OpenAPI document that no single endpoint owns: its title and tags, the
//! security schemes and the standard problem answers, added to every operation that can give
//! them, so a new route cannot forget them.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, KnownFormat, ObjectBuilder, OpenApi, Ref, RefOr, Response, SchemaFormat, Type};

use crate::auth::session::SESSION_COOKIE;
use crate::error::Problem;

/// The document's title, tags and shared components; the operations come from the area routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Samling API", description = "Facilitated knowledge exchange between municipalities that received climate funding."),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign-in links and sessions"),
        (name = "cohorts", description = "Themed cohorts, their members and projects"),
        (name = "moderation", description = "Reports, hiding and restoring posts, locking and pinning threads, muting members"),
        (name = "admin", description = "Programme administration"),
        (name = "threads", description = "Discussion threads, posts and the cohort's event log"),
        (name = "digests", description = "E-mail digests: preferences, one-click unsubscribe, the facilitator's schedule"),
        (name = "resources", description = "Links and files posted to a cohort"),
        (name = "projects", description = "Project profiles with needs and offers, match suggestions, lessons learned, search"),
        (name = "sessions", description = "The four sessions of a cohort: planning, registration, preparation, polls, recaps, calendars"),
    )
)]
pub struct ApiDoc;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Bearer tokens and the session cookie.
pub struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// An answer the server can give to many operations, and when.
struct Standard {
    status: &'static str,
    /// The name under `components.responses`.
    name: &'static str,
    description: &'static str,
    retry_after: bool,
    applies: fn(&Shape) -> bool,
}

/// What the modifier needs to know about an operation.
struct Shape {
    secured: bool,
    changes: bool,
    has_body: bool,
    has_query: bool,
    has_path_parameters: bool,
}

const STANDARD: [Standard; 7] = [
    Standard {
        status: "401",
        name: "Unauthenticated",
        description: "Not signed in, or the session has ended (`unauthenticated`).",
        retry_after: false,
        applies: |shape| shape.secured,
    },
    Standard {
        status: "403",
        name: "CrossOrigin",
        description: "Sent from another website's page (an `Origin` that is not Samling's): \
                      refused as `cross_origin`.",
        retry_after: false,
        applies: |shape| shape.changes,
    },
    Standard {
        status: "404",
        name: "NotFound",
        description: "Not found, or not visible to the caller (`not_found`); also a path \
                      parameter that is not a number.",
        retry_after: false,
        applies: |shape| shape.has_path_parameters,
    },
    Standard {
        status: "413",
        name: "BodyTooLarge",
        description: "The request body is over the size limit (`body_too_large`).",
        retry_after: false,
        applies: |shape| shape.has_body,
    },
    Standard {
        status: "422",
        name: "Unreadable",
        description: "The request could not be read (`expected_json`, `invalid_json`, \
                      `invalid_fields` with the `field`), or a value breaks a rule (a code \
                      naming the rule, with the `field`).",
        retry_after: false,
        applies: |shape| shape.has_body || shape.has_query,
    },
    Standard {
        status: "429",
        name: "TooManyRequests",
        description: "Over a rate limit (`too_many_requests`); try again after `Retry-After` \
                      seconds.",
        retry_after: true,
        // Only where the operation documents its limit; the modifier completes the answer.
        applies: |_| false,
    },
    Standard {
        status: "503",
        name: "Busy",
        description: "The database could not take the write in time (`busy`); try again after \
                      `Retry-After` seconds.",
        retry_after: true,
        applies: |_| true,
    },
];

/// Adds the standard problem answers to every operation that can give them (a reference to
/// `components.responses`), completes the ones an annotation wrote by hand (its own sentence
/// first, then the standard one), and gives every error answer the problem+json body and every
/// 429 and 503 its `Retry-After` header.
pub struct StandardProblems;

impl utoipa::Modify for StandardProblems {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for standard in &STANDARD {
            components
                .responses
                .insert(standard.name.to_string(), RefOr::T(standard_response(standard, None)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods = [
                (&mut item.get, false),
                (&mut item.head, false),
                (&mut item.options, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, true),
                (&mut item.patch, true),
            ];
            for (operation, changes) in methods {
                if let Some(operation) = operation {
                    complete(operation, path, changes);
                }
            }
        }
    }
}

fn complete(operation: &mut Operation, path: &str, changes: bool) {
    let parameters = operation.parameters.iter().flatten();
    let shape = Shape {
        secured: operation.security.as_ref().is_some_and(|requirements| {
            requirements
                .iter()
                .all(|requirement| *requirement != Default::default())
        }),
        changes,
        has_body: operation.request_body.is_some(),
        has_query: parameters
            .clone()
            .any(|parameter| matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query)),
        has_path_parameters: path.contains('{'),
    };
    let responses = &mut operation.responses.responses;
    for standard in &STANDARD {
        match responses.get_mut(standard.status) {
            Some(RefOr::T(written)) => {
                let applies = (standard.applies)(&shape);
                let sentence = applies.then_some(standard.description);
                *written = standard_response(standard, Some((written.description.as_str(), sentence)));
            }
            Some(RefOr::Ref(_)) => {}
            None if (standard.applies)(&shape) => {
                responses.insert(
                    standard.status.to_string(),
                    RefOr::Ref(Ref::from_response_name(standard.name)),
                );
            }
            None => {}
        }
    }
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let RefOr::T(response) = response
            && is_error
            && response.content.is_empty()
        {
            response.content.insert(PROBLEM_JSON.to_string(), problem_content());
        }
    }
}

fn problem_content() -> RefOr<utoipa::openapi::Content> {
    RefOr::T(
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

/// The standard answer; with `written`, an annotation's own answer for the same status (its
/// sentence, and the standard sentence when the standard case applies too).
fn standard_response(standard: &Standard, written: Option<(&str, Option<&str>)>) -> Response {
    let description = match written {
        None => standard.description.to_string(),
        Some((own, None)) => own.to_string(),
        Some((own, Some(standard))) => format!("{}. Or: {standard}", own.trim_end_matches('.')),
    };
    let mut response = Response::new(description);
    response.content.insert(PROBLEM_JSON.to_string(), problem_content());
    if standard.retry_after {
        response.headers.insert(
            "Retry-After".to_string(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                            .minimum(Some(1)),
                    ))
                    .description(Some("Seconds to wait before trying again."))
                    .build(),
            ),
        );
    }
    response
}
