//! The parts of the OpenAPI document that no single operation owns: its title and tags, the
//! security schemes, and the problem answers many operations share.
//!
//! Each shared answer is written once, under `components.responses`. An operation lists the
//! shared answers it can give with the `*Problems` types at the end of this file, chosen by its
//! shape (with a session or without, reading or changing, with path parameters, a body or query
//! parameters), and writes only its own answers, as problem+json. An own answer with the status
//! of a shared one comes after the `*Problems` type and replaces it, so its sentence names both
//! cases. `tests/api/openapi.rs` checks every operation against its shape.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, KnownFormat, ObjectBuilder, OpenApi, Ref, RefOr, Response, SchemaFormat, Type};

use crate::auth::session_token::SESSION_COOKIE;
use crate::error::Problem;

/// The media type of every error answer; an operation's own error answers name it with
/// `body = Problem, content_type = PROBLEM_JSON`.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The document's title, tags and shared components; the operations come from the area routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Samling API", description = "Facilitated knowledge exchange between municipalities that received climate funding."),
    components(
        schemas(Problem, crate::reports::export::ScopeKind),
        responses(
            Unauthenticated, Forbidden, CrossOrigin, ForbiddenOrCrossOrigin, NotFound, Conflict, VersionConflict,
            BodyTooLarge, Unreadable, TooManyRequests, TooManyPosts, Busy
        )
    ),
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
        (name = "surveys", description = "Anonymous usefulness surveys after each session and at the programme's close"),
        (name = "reports", description = "The programme report: reach, needs, exchange, lessons and usefulness, as tables, with CSV and XLSX exports"),
        (name = "privacy", description = "A person's own data: everything Samling holds about them, as JSON or as a ZIP mailed as a one-time link"),
    )
)]
pub struct ApiDoc;

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

/// An error answer with the [`Problem`] body; with `retry_after`, the `Retry-After` header too.
fn problem_response(description: &str, retry_after: bool) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        PROBLEM_JSON.to_string(),
        RefOr::T(
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        ),
    );
    if retry_after {
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

/// A shared answer under `components.responses`, named after its type; `retry_after` adds the
/// header.
macro_rules! shared_problem {
    (@ $(#[doc = $doc:literal])* $name:ident, $description:literal, $retry_after:literal) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T(problem_response($description, $retry_after)))
            }
        }
    };
    ($(#[doc = $doc:literal])* $name:ident, $description:literal, retry_after) => {
        shared_problem!(@ $(#[doc = $doc])* $name, $description, true);
    };
    ($(#[doc = $doc:literal])* $name:ident, $description:literal) => {
        shared_problem!(@ $(#[doc = $doc])* $name, $description, false);
    };
}

shared_problem!(
    /// 401: every operation that needs a session.
    Unauthenticated,
    "Not signed in, or the session has ended (`unauthenticated`)."
);
shared_problem!(
    /// 403 on a read the policy refuses.
    Forbidden,
    "Not allowed (`forbidden`)."
);
shared_problem!(
    /// 403 on every change: the origin check (see `web::same_origin`).
    CrossOrigin,
    "Sent from another website's page (an `Origin` that is not Samling's): refused as `cross_origin`."
);
shared_problem!(
    /// 403 on a change the policy may refuse.
    ForbiddenOrCrossOrigin,
    "Not allowed (`forbidden`), or sent from another website's page (an `Origin` that is not Samling's): \
     refused as `cross_origin`."
);
shared_problem!(
    /// 404: every operation with path parameters.
    NotFound,
    "Not found, or not visible to the caller (`not_found`); also a path parameter that is not a number."
);
shared_problem!(
    /// 409 where a value is already taken or the state does not allow the change.
    Conflict,
    "Conflicts with the current state (a code naming the conflict)."
);
shared_problem!(
    /// 409 where a change carries the version it was made from.
    VersionConflict,
    "Changed meanwhile (`version_conflict`); load it again."
);
shared_problem!(
    /// 413: every operation with a body.
    BodyTooLarge,
    "The request body is over the size limit (`body_too_large`)."
);
shared_problem!(
    /// 422: every operation with a body or query parameters.
    Unreadable,
    "The request could not be read (`expected_json`, `invalid_json`, `invalid_fields` with the `field`), or a \
     value breaks a rule (a code naming the rule, with the `field`)."
);
shared_problem!(
    /// 429 of the sign-in limits.
    TooManyRequests,
    "Over a rate limit (`too_many_requests`); try again after `Retry-After` seconds.",
    retry_after
);
shared_problem!(
    /// 429 of the limit on posts and edits per person and minute.
    TooManyPosts,
    "Too many posts and edits in a minute (`too_many_requests`); try again after `Retry-After` seconds.",
    retry_after
);
shared_problem!(
    /// 503: every operation (a read may wait for the database too).
    Busy,
    "The database could not take the write in time (`busy`); try again after `Retry-After` seconds.",
    retry_after
);

// The answers an operation lists besides its own, by its shape. They are types only for the
// document: no handler builds them.

/// A read with a session: 401, 503.
#[derive(utoipa::IntoResponses)]
pub enum ReadProblems {
    #[response(status = 401)]
    Unauthenticated(#[ref_response] Unauthenticated),
    #[response(status = 503)]
    Busy(#[ref_response] Busy),
}

/// A read with a session that the policy may refuse: 401, 403 `forbidden`, 503.
#[derive(utoipa::IntoResponses)]
pub enum RestrictedReadProblems {
    #[response(status = 401)]
    Unauthenticated(#[ref_response] Unauthenticated),
    #[response(status = 403)]
    Forbidden(#[ref_response] Forbidden),
    #[response(status = 503)]
    Busy(#[ref_response] Busy),
}

/// A change with a session: 401, 403 `cross_origin`, 503.
#[derive(utoipa::IntoResponses)]
pub enum WriteProblems {
    #[response(status = 401)]
    Unauthenticated(#[ref_response] Unauthenticated),
    #[response(status = 403)]
    CrossOrigin(#[ref_response] CrossOrigin),
    #[response(status = 503)]
    Busy(#[ref_response] Busy),
}

/// A change with a session that the policy may refuse: 401, 403 `forbidden` or `cross_origin`, 503.
#[derive(utoipa::IntoResponses)]
pub enum RestrictedWriteProblems {
    #[response(status = 401)]
    Unauthenticated(#[ref_response] Unauthenticated),
    #[response(status = 403)]
    ForbiddenOrCrossOrigin(#[ref_response] ForbiddenOrCrossOrigin),
    #[response(status = 503)]
    Busy(#[ref_response] Busy),
}

/// A change without a session (signing in, following a link): 403 `cross_origin`, 503.
#[derive(utoipa::IntoResponses)]
pub enum PublicWriteProblems {
    #[response(status = 403)]
    CrossOrigin(#[ref_response] CrossOrigin),
    #[response(status = 503)]
    Busy(#[ref_response] Busy),
}

/// Path parameters: 404.
#[derive(utoipa::IntoResponses)]
#[response(status = 404)]
pub struct PathProblems(#[ref_response] NotFound);

/// A request body: 413, 422.
#[derive(utoipa::IntoResponses)]
pub enum BodyProblems {
    #[response(status = 413)]
    BodyTooLarge(#[ref_response] BodyTooLarge),
    #[response(status = 422)]
    Unreadable(#[ref_response] Unreadable),
}

/// Query parameters: 422.
#[derive(utoipa::IntoResponses)]
#[response(status = 422)]
pub struct QueryProblems(#[ref_response] Unreadable);
