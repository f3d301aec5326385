//! The HTTP surface: pages, the JSON API with its OpenAPI document, health checks, static files.

pub mod admin;
pub mod admin_erasure_pages;
pub mod api;
pub mod digest_pages;
pub mod erasure_pages;
pub mod info_pages;
pub mod knowledge_pages;
pub mod moderation_pages;
pub mod my_data_pages;
pub mod pages;
pub mod post_pages;
pub mod programme_pages;
pub mod report_pages;
pub mod session_pages;
pub mod socket;
pub mod survey_pages;
pub mod thread_pages;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sea_orm::ConnectionTrait;

use crate::error::AppError;
use crate::grants::import::MAX_FILE_BYTES;
use crate::privacy::export;
use crate::state::AppState;

/// Every route, without the middleware (see `startup`).
pub fn router(state: AppState) -> Router {
    let (api_routes, openapi) = api::router();
    let openapi_json = openapi.to_json().unwrap_or_else(|_| "{}".to_string());
    Router::new()
        .route("/", get(pages::home))
        .route("/sign-in", get(pages::sign_in_form).post(pages::sign_in_submit))
        .route(
            "/sign-in/link",
            get(pages::sign_in_link).post(pages::sign_in_link_submit),
        )
        .route("/sign-out", post(pages::sign_out))
        .route("/language", post(pages::set_language))
        .route(info_pages::ACCESSIBILITY_PATH, get(info_pages::accessibility))
        .route(info_pages::PRIVACY_PATH, get(info_pages::privacy))
        .route(info_pages::HELP_PATH, get(info_pages::help))
        .route("/account/erasure/request", post(erasure_pages::request))
        .route(
            "/account/erasure",
            get(erasure_pages::confirm_form).post(erasure_pages::confirm),
        )
        .route("/account/erased", get(erasure_pages::done))
        .route(
            "/settings",
            get(digest_pages::settings).post(digest_pages::save_settings),
        )
        .route(
            "/settings/my-data",
            get(my_data_pages::overview).post(my_data_pages::request),
        )
        .route(
            export::LINK_PATH,
            get(my_data_pages::link).post(my_data_pages::download),
        )
        .route(
            "/unsubscribe",
            get(digest_pages::unsubscribe_form).post(digest_pages::unsubscribe),
        )
        .route("/cohorts/{cohort_id}/digests", get(digest_pages::schedule))
        .route("/digests/{digest_id}", post(digest_pages::change))
        .route("/digests/{digest_id}/send", post(digest_pages::send_now))
        .route("/digests/{digest_id}/preview", get(digest_pages::preview))
        .route("/cohorts", get(pages::my_cohorts))
        .route("/cohorts/{cohort_id}", get(pages::cohort))
        .route("/cohorts/{cohort_id}/invitations", post(pages::invite))
        .route(
            "/cohorts/{cohort_id}/invitations/contacts",
            post(pages::invite_contacts),
        )
        .route("/cohorts/{cohort_id}/invitations/batch", post(pages::invite_batch))
        .route("/invitations/{invitation_id}/resend", post(pages::resend_invitation))
        .route(
            "/invitations/{invitation_id}/withdraw",
            post(pages::withdraw_invitation),
        )
        .route(
            "/invitations/accept",
            get(pages::invitation_link).post(pages::invitation_accept),
        )
        .route("/cohorts/{cohort_id}/planning", get(session_pages::planning))
        .route("/cohorts/{cohort_id}/planning/propose", post(session_pages::propose))
        .route("/cohorts/{cohort_id}/planning/accept", post(session_pages::accept))
        .route(
            "/cohorts/{cohort_id}/threads",
            get(thread_pages::list).post(thread_pages::start),
        )
        .route("/threads/{thread_id}", get(thread_pages::show))
        .route("/threads/{thread_id}/posts", post(thread_pages::reply))
        .route("/threads/{thread_id}/moderation", post(moderation_pages::decide_thread))
        .route("/cohorts/{cohort_id}/moderation", get(moderation_pages::queue))
        .route("/posts/{post_id}/moderation", post(moderation_pages::decide_post))
        .route("/posts/{post_id}/reactions", post(post_pages::react))
        .route(
            "/posts/{post_id}/edit",
            get(post_pages::edit_form).post(post_pages::edit),
        )
        .route("/posts/{post_id}/delete", post(post_pages::delete))
        .route(
            "/posts/{post_id}/report",
            get(post_pages::report_form).post(post_pages::report),
        )
        .route("/threads/{thread_id}/answer", post(post_pages::mark_answer))
        .route(
            "/cohorts/{cohort_id}/resources",
            get(knowledge_pages::cohort_resources)
                .post(knowledge_pages::post_resource)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/cohorts/{cohort_id}/resources/settings",
            post(knowledge_pages::resource_settings),
        )
        .route(
            "/resources/{resource_id}/delete",
            post(knowledge_pages::delete_resource),
        )
        .route("/themes/{theme_id}/resources", get(knowledge_pages::theme_resources))
        .route("/projects/{grant_id}", get(knowledge_pages::project))
        .route("/projects/{grant_id}/profile", post(knowledge_pages::save_profile))
        .route("/projects/{grant_id}/lesson", post(knowledge_pages::save_lesson))
        .route(
            "/projects/{grant_id}/experience-report",
            get(knowledge_pages::experience_report),
        )
        .route("/lessons", get(knowledge_pages::lessons))
        .route("/lessons/{lesson_id}", get(knowledge_pages::lesson))
        .route("/search", get(knowledge_pages::search_page))
        .route("/sessions/{session_id}", get(session_pages::show))
        .route(
            "/preparations/{preparation_id}/addressed",
            post(session_pages::mark_addressed),
        )
        .route("/sessions/{session_id}/registration", post(session_pages::register))
        .route(
            "/sessions/{session_id}/registration/cancel",
            post(session_pages::unregister),
        )
        .route("/sessions/{session_id}/preparation", post(session_pages::prepare))
        .route("/sessions/{session_id}/message", post(session_pages::message_group))
        .route("/sessions/{session_id}/poll", post(session_pages::answer_poll))
        .route(
            "/sessions/{session_id}/poll/options",
            post(session_pages::add_poll_option),
        )
        .route("/sessions/{session_id}/edit", post(session_pages::edit))
        .route("/sessions/{session_id}/experts", post(session_pages::book_expert))
        .route(
            "/sessions/{session_id}/attendance",
            post(session_pages::record_attendance),
        )
        .route("/sessions/{session_id}/recap", post(session_pages::write_recap))
        .route("/sessions/{session_id}/calendar.ics", get(session_pages::calendar_file))
        .route(
            "/sessions/{session_id}/survey",
            get(survey_pages::session_survey).post(survey_pages::answer_session_survey),
        )
        .route(
            "/cohorts/{cohort_id}/closing-survey",
            get(survey_pages::closing_survey).post(survey_pages::answer_closing_survey),
        )
        .route("/calendar", get(session_pages::calendar_feed))
        .route("/calendar/new", post(session_pages::create_calendar_feed))
        .route("/calendar/revoke", post(session_pages::revoke_calendar_feed))
        .route("/calendar/{file}", get(session_pages::feed))
        .route("/reports/{kind}/{id}", get(report_pages::show))
        .route("/admin", get(admin::index))
        .route("/admin/programmes", post(admin::create_programme))
        .route("/admin/programmes/{programme_id}", get(programme_pages::show))
        .route(
            "/admin/programmes/{programme_id}/planning",
            post(programme_pages::save_planning_rules),
        )
        .route(
            "/admin/cohorts/{cohort_id}/facilitator",
            post(admin::appoint_facilitator),
        )
        .route(
            "/admin/import",
            get(admin::import_form)
                .post(admin::import_upload)
                .layer(DefaultBodyLimit::max(MAX_FILE_BYTES)),
        )
        .route("/admin/review", get(admin::review_list))
        .route("/admin/review/{grant_id}", post(admin::review_decide))
        .route("/admin/themes", get(admin::themes))
        .route("/admin/themes/{theme_id}/measure-types", post(admin::add_measure_type))
        .route(
            "/admin/measure-types/{mapping_id}/delete",
            post(admin::remove_measure_type),
        )
        .route("/admin/users", get(admin::users_list))
        .route("/admin/users/{user_id}/deactivate", post(admin::deactivate_user))
        .route(
            "/admin/users/{user_id}/erasure",
            get(admin_erasure_pages::confirm_form).post(admin_erasure_pages::erase),
        )
        .route("/admin/audit", get(admin::audit))
        .route("/api/v1/realtime", get(socket::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi_json) }),
        )
        .route(
            "/static/samling.css",
            get(|| async { static_file(CSS, include_str!("../../../web/static/samling.css")) }),
        )
        .route(
            "/static/thread.js",
            get(|| async { static_file(SCRIPT, include_str!("../../../web/static/thread.js")) }),
        )
        .route(
            "/static/upload.js",
            get(|| async { static_file(SCRIPT, include_str!("../../../web/static/upload.js")) }),
        )
        .route(
            "/static/menu.js",
            get(|| async { static_file(SCRIPT, include_str!("../../../web/static/menu.js")) }),
        )
        .route(
            "/static/vendor/designsystemet/theme.css",
            get(|| async { static_file(CSS, include_str!("../../../web/static/vendor/designsystemet/theme.css")) }),
        )
        .route(
            "/static/vendor/designsystemet/designsystemet.css",
            get(|| async {
                static_file(
                    CSS,
                    include_str!("../../../web/static/vendor/designsystemet/designsystemet.css"),
                )
            }),
        )
        .merge(api_routes)
        .route("/api/{*rest}", axum::routing::any(|| async { AppError::NotFound }))
        .fallback(pages::not_found)
        .with_state(state)
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable")
        }
    }
}

const SCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file from `web/static`, built into the binary (the CSP allows no inline style or script).
fn static_file(content_type: &'static str, source: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
    )
}
