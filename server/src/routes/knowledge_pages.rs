//! Server-rendered pages for resources, project profiles, lessons learned and search, with
//! ordinary forms; an upload shows its progress when JavaScript runs (`upload.js`).

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::cohorts;
use crate::domain::policy::Action;
use crate::entities::theme;
use crate::error::AppError;
use crate::projects::{self, LessonChange, LessonView, ProfileChange, ProfileView};
use crate::resources::{self, ResourceView};
use crate::search::{self, Hit, Kind, SearchQuery};
use crate::state::AppState;
use crate::web::{FormError, PageResult, PageView, SignedInPage, render};
use sea_orm::EntityTrait;

/// A resource as a library lists it, with what the reader may do to it.
struct LibraryItem {
    resource: ResourceView,
    may_delete: bool,
}

#[derive(Template)]
#[template(path = "resources.html")]
struct ResourcesPage {
    page: PageView,
    heading: String,
    /// The cohort, when the library is one cohort's (it then takes uploads).
    cohort_id: Option<i32>,
    items: Vec<LibraryItem>,
    may_post: bool,
    may_manage: bool,
    participants_post: bool,
    max_size: String,
    /// Shown after a resource was posted.
    notice: Option<String>,
    error: Option<String>,
}

impl ResourcesPage {
    fn size_text(&self, bytes: &Option<i64>) -> String {
        bytes.map_or_else(String::new, |bytes| self.page.tr.file_size(bytes))
    }
}

fn library_items(page: &SignedInPage, resources: Vec<ResourceView>) -> Vec<LibraryItem> {
    resources
        .into_iter()
        .map(|resource| LibraryItem {
            may_delete: page.user.may(Action::DeleteResource {
                cohort_id: resource.cohort_id,
                is_poster: resource.posted_by == page.user.user.id,
            }),
            resource,
        })
        .collect()
}

async fn cohort_library(
    state: &AppState,
    page: SignedInPage,
    cohort_id: i32,
    posted: bool,
    error: Option<FormError>,
) -> PageResult {
    let cohort = cohorts::cohort_view(&state.db, &page.user, cohort_id).await?;
    let listed = resources::list(state, &page.user, cohort_id).await?;
    let participants_post = resources::participants_post(state, cohort_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |error| error.status);
    let items = library_items(&page, listed);
    let heading = page
        .view
        .f("resources.cohort_heading", &[("cohort", cohort.theme.name.as_str())]);
    let posted_notice = page.view.t("resources.posted").to_string();
    Ok(render(
        status,
        &ResourcesPage {
            may_post: page.user.may(Action::PostResource {
                cohort_id,
                participants_allowed: participants_post,
            }),
            may_manage: page.user.may(Action::ManageResources { cohort_id }),
            max_size: page
                .view
                .tr
                .file_size(i64::try_from(state.settings.resource_max_bytes).unwrap_or(i64::MAX)),
            page: page.view,
            heading,
            cohort_id: Some(cohort_id),
            items,
            participants_post,
            notice: posted.then_some(posted_notice),
            error: error.map(|error| error.message),
        },
    ))
}

#[derive(Deserialize)]
pub struct LibraryQuery {
    posted: Option<String>,
}

/// `GET /cohorts/{cohort_id}/resources`
pub async fn cohort_resources(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Query(query): Query<LibraryQuery>,
) -> PageResult {
    cohort_library(&state, page, cohort_id, query.posted.is_some(), None).await
}

/// `POST /cohorts/{cohort_id}/resources` (multipart, the CSRF token in the query): posts a
/// link or a file, then shows it in the library.
pub async fn post_resource(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let posted = match form {
        Ok(form) => resources::post(&state, &page.user, cohort_id, form).await,
        Err(_) => Err(AppError::invalid("malformed_upload", "file")),
    };
    match posted {
        Ok(posted) => Ok(Redirect::to(&format!(
            "/cohorts/{cohort_id}/resources?posted={id}#resource-{id}",
            id = posted.id
        ))
        .into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            cohort_library(&state, page, cohort_id, false, Some(shown)).await
        }
    }
}

#[derive(Deserialize)]
pub struct ResourceSettingsForm {
    /// A checkbox: present when ticked.
    participants_post: Option<String>,
}

/// `POST /cohorts/{cohort_id}/resources/settings`
pub async fn resource_settings(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(cohort_id): Path<i32>,
    Form(form): Form<ResourceSettingsForm>,
) -> PageResult {
    resources::set_participants_post(&state, &page.user, cohort_id, form.participants_post.is_some()).await?;
    Ok(Redirect::to(&format!("/cohorts/{cohort_id}/resources")).into_response())
}

/// `POST /resources/{resource_id}/delete`
pub async fn delete_resource(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(resource_id): Path<i32>,
) -> PageResult {
    let found = resources::visible(&state, &page.user, resource_id).await?;
    resources::delete(&state, &page.user, resource_id).await?;
    Ok(Redirect::to(&format!("/cohorts/{}/resources", found.cohort_id)).into_response())
}

/// `GET /themes/{theme_id}/resources`: every cohort of the theme the reader is in.
pub async fn theme_resources(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(theme_id): Path<i32>,
) -> PageResult {
    let listed = resources::theme_library(&state, &page.user, theme_id).await?;
    let found = theme::Entity::find_by_id(theme_id)
        .one(&state.db)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?;
    let heading = page.view.f(
        "resources.theme_heading",
        &[("theme", found.name(page.view.tr.language))],
    );
    let items = library_items(&page, listed);
    Ok(render(
        StatusCode::OK,
        &ResourcesPage {
            page: page.view,
            heading,
            cohort_id: None,
            items,
            may_post: false,
            may_manage: false,
            participants_post: false,
            max_size: String::new(),
            notice: None,
            error: None,
        },
    ))
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    page: PageView,
    profile: ProfileView,
    error: Option<String>,
    notice: Option<String>,
}

impl ProjectPage {
    /// A lesson's text field by its form name, to fill the form in again.
    fn lesson_field<'a>(&self, lesson: &'a LessonView, field: &str) -> &'a str {
        match field {
            "done" => &lesson.done,
            "results" => &lesson.results,
            "did_not_work" => &lesson.did_not_work,
            "tips" => &lesson.tips,
            _ => &lesson.learned,
        }
    }
}

#[derive(Deserialize)]
pub struct ProjectQuery {
    saved: Option<String>,
    /// The project whose page suggested this one (see `projects::follow_suggestion`).
    via: Option<String>,
}

async fn project_page(
    state: &AppState,
    page: SignedInPage,
    grant_id: i32,
    notice: Option<String>,
    error: Option<FormError>,
) -> PageResult {
    let profile = projects::profile(&state.db, &page.user, grant_id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |error| error.status);
    Ok(render(
        status,
        &ProjectPage {
            page: page.view,
            profile,
            error: error.map(|error| error.message),
            notice,
        },
    ))
}

/// `GET /projects/{grant_id}`
pub async fn project(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(grant_id): Path<i32>,
    Query(query): Query<ProjectQuery>,
) -> PageResult {
    let notice = query.saved.map(|_| page.view.t("profile.saved").to_string());
    // A `via` that is not a number is no suggestion: nothing to count.
    if let Some(via) = query.via.and_then(|via| via.parse::<i32>().ok()) {
        projects::follow_suggestion(&state.db, &page.user, via, grant_id, state.now()).await?;
    }
    project_page(&state, page, grant_id, notice, None).await
}

/// `POST /projects/{grant_id}/profile`
pub async fn save_profile(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(grant_id): Path<i32>,
    Form(change): Form<ProfileChange>,
) -> PageResult {
    match projects::save_profile(&state.db, &page.user, grant_id, change, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{grant_id}?saved=1")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            project_page(&state, page, grant_id, None, Some(shown)).await
        }
    }
}

/// `GET /projects/{grant_id}/experience-report`: the lesson learned as a text file in the
/// agency's order, in the reader's language.
pub async fn experience_report(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(grant_id): Path<i32>,
) -> PageResult {
    let (file_name, text) = projects::experience_report(&state.db, &page.user, grant_id, page.view.tr).await?;
    Ok(super::api::projects::text_download(&file_name, text))
}

/// `POST /projects/{grant_id}/lesson`
pub async fn save_lesson(
    State(state): State<AppState>,
    page: SignedInPage,
    Path(grant_id): Path<i32>,
    Form(change): Form<LessonChange>,
) -> PageResult {
    match projects::save_lesson(&state.db, &page.user, grant_id, change, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{grant_id}?saved=1#lesson")).into_response()),
        Err(error) => {
            let shown = FormError::from_error(error, page.view.tr)?;
            project_page(&state, page, grant_id, None, Some(shown)).await
        }
    }
}

#[derive(Template)]
#[template(path = "lessons.html")]
struct LessonsPage {
    page: PageView,
    lessons: Vec<LessonView>,
}

/// `GET /lessons`: every lesson the reader may read, one section each.
pub async fn lessons(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    let lessons = projects::lessons(&state.db, &page.user).await?;
    Ok(render(
        StatusCode::OK,
        &LessonsPage {
            page: page.view,
            lessons,
        },
    ))
}

/// `GET /lessons/{lesson_id}`
pub async fn lesson(State(state): State<AppState>, page: SignedInPage, Path(lesson_id): Path<i32>) -> PageResult {
    let one = projects::open_lesson(&state.db, &page.user, lesson_id, state.now()).await?;
    Ok(render(
        StatusCode::OK,
        &LessonsPage {
            page: page.view,
            lessons: vec![one],
        },
    ))
}

/// A choice in a filter list.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: PageView,
    query: String,
    kinds: Vec<Choice>,
    themes: Vec<Choice>,
    years: Vec<Choice>,
    /// `None` before anything was searched.
    hits: Option<Vec<Hit>>,
    error: Option<String>,
}

/// What the search form sends: empty filters are "all".
#[derive(Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    theme_id: String,
    #[serde(default)]
    year: String,
}

/// `GET /search`
pub async fn search_page(
    State(state): State<AppState>,
    page: SignedInPage,
    Query(form): Query<SearchForm>,
) -> PageResult {
    let visible = cohorts::cohort_views(&state.db, Some(&page.user), page.view.tr.language).await?;
    let query = SearchQuery {
        q: form.q.clone(),
        kind: Kind::from_code(&form.kind),
        theme_id: form.theme_id.parse().ok(),
        year: form.year.parse().ok(),
    };
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| Choice {
            value: kind.code().to_string(),
            label: page.view.t(&format!("search.kind.{}", kind.code())).to_string(),
            selected: query.kind == Some(kind),
        })
        .collect();
    let mut themes: Vec<Choice> = Vec::new();
    let mut years: Vec<Choice> = Vec::new();
    for cohort in &visible {
        if !themes.iter().any(|choice| choice.value == cohort.theme.id.to_string()) {
            themes.push(Choice {
                value: cohort.theme.id.to_string(),
                label: cohort.theme.name.clone(),
                selected: query.theme_id == Some(cohort.theme.id),
            });
        }
        let year = chrono::Datelike::year(&cohort.programme.starts_on);
        if !years.iter().any(|choice| choice.value == year.to_string()) {
            years.push(Choice {
                value: year.to_string(),
                label: year.to_string(),
                selected: query.year == Some(year),
            });
        }
    }
    let (hits, error) = if form.q.trim().is_empty() {
        (None, None)
    } else {
        // Posts are indexed just after they are stored: a search finds every post made before it.
        state.posts.index_waiting().await;
        match search::search(&state.db, &page.user, &query).await {
            Ok(hits) => (Some(hits), None),
            Err(error) => (None, Some(FormError::from_error(error, page.view.tr)?)),
        }
    };
    let status = error.as_ref().map_or(StatusCode::OK, |error| error.status);
    Ok(render(
        status,
        &SearchPage {
            page: page.view,
            query: form.q,
            kinds,
            themes,
            years,
            hits,
            error: error.map(|error| error.message),
        },
    ))
}
