//! «Mine data»: the page in Settings where a person asks for the copy of everything Samling
//! holds about them, and the page the mailed link opens, whose button downloads the ZIP once.
//! Opening the link changes nothing (a mail program's link checker cannot use it up); the
//! download is the form's `POST`.

use askama::Template;
use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::privacy::export::{self, LinkState};
use crate::state::AppState;
use crate::web::{Page, PageResult, PageView, SignedInPage, render};

/// Which part of the page to show.
#[derive(PartialEq, Eq)]
enum View {
    /// Settings → «Mine data»: the latest copy and the button.
    Overview,
    /// The mailed link, usable: the download button.
    Ready,
    /// The mailed link, used or expired.
    Gone,
    /// No such link.
    Unknown,
}

#[derive(Template)]
#[template(path = "my_data.html")]
struct MyDataPage {
    page: PageView,
    view: View,
    notice: Option<String>,
    /// The latest copy, as a sentence.
    latest: Option<String>,
    preparing: bool,
    link_hours: String,
    token: String,
    expires_at: String,
}

impl MyDataPage {
    fn new(page: PageView, view: View, link_hours: String) -> Self {
        MyDataPage {
            page,
            view,
            notice: None,
            latest: None,
            preparing: false,
            link_hours,
            token: String::new(),
            expires_at: String::new(),
        }
    }
}

fn link_hours(state: &AppState, page: &PageView) -> String {
    page.tr.plural("counted.hours", state.settings.export_link_hours)
}

#[derive(Deserialize)]
pub struct OverviewQuery {
    #[serde(default)]
    requested: bool,
}

/// `GET /settings/my-data`.
pub async fn overview(
    State(state): State<AppState>,
    page: SignedInPage,
    Query(query): Query<OverviewQuery>,
) -> PageResult {
    let latest = export::latest(&state.db, page.user.user.id).await?;
    let hours = link_hours(&state, &page.view);
    let tr = page.view.tr;
    let mut shown = MyDataPage::new(page.view, View::Overview, hours);
    shown.notice = query.requested.then(|| tr.t("my_data.requested").to_string());
    if let Some(found) = latest {
        use crate::entities::data_export::Status;
        shown.preparing = found.status == Status::Preparing;
        let when = tr.date_time(found.created_at);
        shown.latest = Some(match found.status {
            Status::Preparing => tr.f("my_data.latest.preparing", &[("when", when)]),
            Status::Ready => tr.f(
                "my_data.latest.ready",
                &[
                    ("when", when),
                    ("until", found.expires_at.map(|at| tr.date_time(at)).unwrap_or_default()),
                ],
            ),
            Status::Downloaded => tr.f(
                "my_data.latest.downloaded",
                &[
                    ("when", when),
                    (
                        "downloaded",
                        found.downloaded_at.map(|at| tr.date_time(at)).unwrap_or_default(),
                    ),
                ],
            ),
            Status::Expired => tr.f("my_data.latest.expired", &[("when", when)]),
            Status::Failed => tr.f("my_data.latest.failed", &[("when", when)]),
        });
    }
    Ok(render(StatusCode::OK, &shown))
}

/// `POST /settings/my-data`: asks for the copy (one at a time) and shows that it is coming.
pub async fn request(State(state): State<AppState>, page: SignedInPage) -> PageResult {
    export::request(&state, &page.user.user).await?;
    Ok(Redirect::to("/settings/my-data?requested=true").into_response())
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// A page about a link that cannot be used: 410 when it was used or expired, 404 when unknown.
fn unusable(state: &AppState, page: PageView, link: LinkState) -> axum::response::Response {
    let hours = link_hours(state, &page);
    let (status, view) = match link {
        LinkState::Unknown => (StatusCode::NOT_FOUND, View::Unknown),
        _ => (StatusCode::GONE, View::Gone),
    };
    render(status, &MyDataPage::new(page, view, hours))
}

/// `GET /mine-data?token=…`: the page the mailed link opens.
pub async fn link(State(state): State<AppState>, page: Page, Query(query): Query<LinkQuery>) -> PageResult {
    match export::link_state(&state.db, &query.token, state.now()).await? {
        LinkState::Ready { expires_at } => {
            let hours = link_hours(&state, &page.view);
            let until = page.view.tr.date_time(expires_at);
            let mut shown = MyDataPage::new(page.view, View::Ready, hours);
            shown.token = query.token;
            shown.expires_at = until;
            Ok(render(StatusCode::OK, &shown))
        }
        other => Ok(unusable(&state, page.view, other)),
    }
}

#[derive(Deserialize)]
pub struct DownloadForm {
    #[serde(default)]
    token: String,
}

/// `POST /mine-data`: the ZIP, once; afterwards the page says the link is used (410).
pub async fn download(State(state): State<AppState>, page: Page, Form(form): Form<DownloadForm>) -> PageResult {
    match export::download(&state, &form.token).await? {
        Ok(zip) => {
            let mut response = Body::from_stream(zip.body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
            if let Some(size) = zip.size {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", zip.file_name)) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            Ok(response)
        }
        Err(link) => Ok(unusable(&state, page.view, link)),
    }
}
