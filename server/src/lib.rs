//! Samling: facilitated knowledge exchange between municipalities that received climate funding.

/// The audit log of administrative actions.
pub mod audit;
/// Sign-in links, session tokens, request extractors, rate limits.
pub mod auth;
/// Seed data for the benchmarks: built with the `bench-seed` feature, and for unit tests.
#[cfg(any(test, feature = "bench-seed"))]
pub mod bench_seed;
/// Injectable time.
pub mod clock;
/// Programmes, cohorts, members, invitations.
pub mod cohorts;
/// Settings from defaults, a TOML file and `SAMLING_*` variables.
pub mod config;
/// Database connection and migrations.
pub mod db;
/// Demo data for `serve --demo`.
pub mod demo;
/// E-mail digests: schedule, composition, outbox worker.
pub mod digests;
/// Pure types and rules: grant records, roles, the authorization policy.
pub mod domain;
/// sea-orm entities.
pub mod entities;
/// The one error type and its responses.
pub mod error;
/// Grant import, theme mapping, review list.
pub mod grants;
/// Translations and Norwegian formatting.
pub mod i18n;
/// E-mail: the transport (SMTP or outbox folder) and the mails Samling sends.
pub mod mail;
/// Markdown to sanitised HTML.
pub mod markdown;
/// Reminders that keep the report's data whole: the facilitator's missing attendance or recap,
/// and the survey link to those who came.
pub mod nudges;
/// Export, erasure and retention of personal data.
pub mod privacy;
/// Project profiles with needs and offers, match suggestions, lessons learned.
pub mod projects;
/// Live events: the per-cohort event log, the hub and its fan-out to sockets.
pub mod realtime;
/// Writing the search index from the stored content when it is empty.
pub mod reindex;
/// The programme report: reach, needs, exchange, lessons and usefulness, with exports.
pub mod reports;
/// Resources: links and files posted to a cohort.
pub mod resources;
/// HTTP routes: pages, API, health.
pub mod routes;
/// Search with Norwegian stemming.
pub mod search;
/// Sessions: planning, registration, preparation, polls, recaps, calendars.
pub mod sessions;
/// Building and running the server.
pub mod startup;
/// Shared handler state.
pub mod state;
/// Usefulness surveys after each session and at the programme's close, answered anonymously.
pub mod surveys;
/// Logging.
pub mod telemetry;
/// Discussion threads, posts, reactions and moderation.
pub mod threads;
/// People: admin account, deactivation, names by id.
pub mod users;
/// Page context, CSRF protection, security headers.
pub mod web;
