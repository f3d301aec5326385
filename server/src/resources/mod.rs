//! Resources: links and files posted to a cohort. Files are checked by their content against
//! an allow-list, limited in size while they stream in, stored under a server-made name and
//! served only to those who may see the cohort.

pub mod file_names;
pub mod storage;

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use serde::Serialize;

use crate::audit;
use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::{cohort, resource, session};
use crate::error::{AppError, AppResult};
use crate::search;
use crate::state::AppState;
use crate::users::names;
use file_names::{MAX_FILE_NAME_CHARS, name_for_type};
use storage::IncomingFile;

const MAX_TITLE_CHARS: usize = 200;
const MAX_SUMMARY_CHARS: usize = 4_000;
const MAX_TAGS: usize = 20;
const MAX_URL_CHARS: usize = 2_000;
/// Enough of the start of a file to tell its type, Office documents (zip) included.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    pub id: i32,
    pub cohort_id: i32,
    pub session_id: Option<i32>,
    /// `link` or `file`.
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub tags: Vec<String>,
    pub url: Option<String>,
    /// The uploader's name for the file, with the extension of the type its content shows.
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// How many times the file was downloaded.
    pub downloads: i64,
    /// Where members download the file.
    pub download_url: Option<String>,
    pub posted_by: i32,
    pub posted_by_name: String,
    pub created_at: DateTime<Utc>,
}

/// What the form sends besides the file.
#[derive(Default)]
struct Fields {
    title: String,
    summary: String,
    tags: String,
    url: String,
    session_id: String,
}

/// A file that streamed in and passed the checks, not yet kept.
struct Upload {
    incoming: IncomingFile,
    key: String,
    file_name: String,
    content_type: String,
    size: u64,
}

/// Posts a resource from a `multipart/form-data` body: `title`, `summary`, `tags`
/// (comma-separated), `session_id` (optional), and either `url` or `file`.
pub async fn post(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    mut form: Multipart,
) -> AppResult<ResourceView> {
    let found = cohort::Entity::find_by_id(cohort_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::PostResource {
        cohort_id,
        participants_allowed: found.participants_post_resources,
    })?;
    let mut fields = Fields::default();
    let mut upload: Option<Upload> = None;
    while let Some(field) = form.next_field().await.map_err(|_| malformed())? {
        match field.name().unwrap_or_default() {
            "file" if field.file_name().is_some_and(|name| !name.is_empty()) => {
                if upload.is_some() {
                    return Err(AppError::invalid("one_file_only", "file"));
                }
                upload = Some(receive_file(state, field).await?);
            }
            "file" => {}
            name => {
                let (target, label) = match name {
                    "title" => (&mut fields.title, "title"),
                    "summary" => (&mut fields.summary, "summary"),
                    "tags" => (&mut fields.tags, "tags"),
                    "url" => (&mut fields.url, "url"),
                    "session_id" => (&mut fields.session_id, "session_id"),
                    _ => continue,
                };
                let text = read_text(field).await?;
                // Multipart bodies pass the HTTP boundary's text rule unread (they stream).
                if crate::domain::text::has_forbidden_control(&text) {
                    return Err(AppError::invalid_text(label));
                }
                *target = text;
            }
        }
    }
    // From here on an error drops `upload`, which removes its partial file.
    let title = fields.title.trim().to_string();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::invalid("invalid_resource_title", "title"));
    }
    let summary = fields.summary.trim().to_string();
    if summary.chars().count() > MAX_SUMMARY_CHARS {
        return Err(AppError::invalid("resource_summary_too_long", "summary"));
    }
    let tags = normalised_tags(&fields.tags)?;
    let session_id = checked_session(state, cohort_id, fields.session_id.trim()).await?;
    let url = fields.url.trim();
    let (kind, url) = match (&upload, url.is_empty()) {
        (Some(_), false) => return Err(AppError::invalid("link_or_file", "url")),
        (None, true) => return Err(AppError::invalid("link_or_file", "url")),
        (Some(_), true) => (resource::Kind::File, None),
        (None, false) => (resource::Kind::Link, Some(checked_link(url)?)),
    };
    let now = state.now();
    let mut row = resource::ActiveModel {
        cohort_id: Set(cohort_id),
        session_id: Set(session_id),
        kind: Set(kind),
        title: Set(title),
        summary: Set(summary),
        tags: Set(tags.join(",")),
        url: Set(url),
        storage_key: Set(None),
        file_name: Set(None),
        content_type: Set(None),
        size_bytes: Set(None),
        posted_by: Set(viewer.user.id),
        created_at: Set(now),
        ..Default::default()
    };
    let stored_key = match upload {
        Some(upload) => {
            row.storage_key = Set(Some(upload.key.clone()));
            row.file_name = Set(Some(upload.file_name));
            row.content_type = Set(Some(upload.content_type));
            row.size_bytes = Set(Some(i64::try_from(upload.size).unwrap_or(i64::MAX)));
            upload.incoming.keep().await?;
            Some(upload.key)
        }
        None => None,
    };
    let inserted = match store(&state.db, viewer.user.id, row).await {
        Ok(inserted) => inserted,
        Err(error) => {
            // The file was kept for a row that does not exist: take it away again.
            if let Some(key) = stored_key {
                let _ = state.storage.remove(&key).await;
            }
            return Err(error);
        }
    };
    Ok(views(state, vec![inserted]).await?.remove(0))
}

/// Stores the resource with its search entry and audit entry, all or nothing.
pub async fn store<C: TransactionTrait>(
    db: &C,
    posted_by: i32,
    row: resource::ActiveModel,
) -> AppResult<resource::Model> {
    let txn = crate::db::write_transaction(db).await?;
    let inserted = row.insert(&txn).await?;
    search::put(&txn, search_entry(&inserted)).await?;
    audit::record(
        &txn,
        Some(posted_by),
        "resources.post",
        "resource",
        inserted.id,
        serde_json::json!({ "cohort_id": inserted.cohort_id, "kind": inserted.kind.to_value(), "title": inserted.title }),
        inserted.created_at,
    )
    .await?;
    txn.commit().await?;
    Ok(inserted)
}

/// A resource is found by its title, summary, tags and file name.
pub fn search_entry(resource: &resource::Model) -> search::Entry {
    let tags = resource.tags.replace(',', " ");
    let file_name = resource.file_name.as_deref().unwrap_or_default();
    let body: Vec<&str> = [resource.summary.as_str(), &tags, file_name]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    search::Entry {
        kind: search::Kind::Resource,
        source_id: resource.id,
        cohort_id: resource.cohort_id,
        title: resource.title.clone(),
        body: body.join(" "),
        path: format!("/cohorts/{}/resources#resource-{}", resource.cohort_id, resource.id),
        created_at: resource.created_at,
    }
}

/// Streams one file field to storage, checking its name, its type (from the first bytes) and
/// its size as it arrives. The name it is kept under ends with the detected type's extension
/// ([`name_for_type`]).
async fn receive_file(state: &AppState, mut field: Field<'_>) -> AppResult<Upload> {
    let file_name = shown_file_name(field.file_name().unwrap_or_default())?;
    let max = state.settings.resource_max_bytes;
    let too_large = |size: u64| size > max;
    // First the head, to tell the type before anything is written.
    let mut head: Vec<u8> = Vec::new();
    let mut finished = false;
    while head.len() < SNIFF_BYTES {
        match field.chunk().await.map_err(|_| malformed())? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => {
                finished = true;
                break;
            }
        }
        if too_large(head.len() as u64) {
            return Err(AppError::FileTooLarge { max_bytes: max });
        }
    }
    if head.is_empty() {
        return Err(AppError::invalid("empty_file", "file"));
    }
    let detected = allowed_type(state, &head)?;
    // Named as what it is, whatever the uploader called it: a PDF named `poly.html` must not
    // open as a web page once downloaded.
    let file_name = name_for_type(&file_name, detected.extension());
    let content_type = detected.mime_type().to_string();
    // Then the rest, straight to storage.
    let key = uuid::Uuid::new_v4().simple().to_string();
    let mut incoming = state.storage.begin(&key).await?;
    incoming.write(&head).await?;
    let mut size = head.len() as u64;
    while !finished && let Some(chunk) = field.chunk().await.map_err(|_| malformed())? {
        size += chunk.len() as u64;
        if too_large(size) {
            return Err(AppError::FileTooLarge { max_bytes: max });
        }
        incoming.write(&chunk).await?;
    }
    Ok(Upload {
        incoming,
        key,
        file_name,
        content_type,
        size,
    })
}

/// The type the content shows, if the allow-list has it.
fn allowed_type(state: &AppState, head: &[u8]) -> AppResult<infer::Type> {
    match infer::get(head) {
        Some(detected)
            if state
                .settings
                .resource_types
                .iter()
                .any(|allowed| allowed == detected.mime_type()) =>
        {
            Ok(detected)
        }
        _ => Err(AppError::invalid("unsupported_file_type", "file")),
    }
}

/// The uploader's file name, for showing: refused when it tries to name a path.
fn shown_file_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let is_path = name.contains(['/', '\\']) || name == "." || name.contains("..");
    if name.is_empty() || is_path || name.chars().any(char::is_control) {
        return Err(AppError::invalid("invalid_file_name", "file"));
    }
    Ok(name.chars().take(MAX_FILE_NAME_CHARS).collect())
}

fn normalised_tags(raw: &str) -> AppResult<Vec<String>> {
    let mut tags: Vec<String> = raw
        .split(',')
        .map(|tag| tag.trim().to_lowercase())
        .filter(|tag| !tag.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS || tags.iter().any(|tag| tag.chars().count() > 50) {
        return Err(AppError::invalid("too_many_tags", "tags"));
    }
    Ok(tags)
}

/// Only http and https links.
fn checked_link(url: &str) -> AppResult<String> {
    let lowered = url.to_ascii_lowercase();
    let has_host = lowered
        .strip_prefix("https://")
        .or_else(|| lowered.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host || url.len() > MAX_URL_CHARS || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid("invalid_link", "url"));
    }
    Ok(url.to_string())
}

async fn checked_session(state: &AppState, cohort_id: i32, raw: &str) -> AppResult<Option<i32>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let id: i32 = raw
        .parse()
        .map_err(|_| AppError::invalid("unknown_session", "session_id"))?;
    let found = session::Entity::find_by_id(id).one(&state.db).await?;
    match found {
        Some(found) if found.cohort_id == cohort_id => Ok(Some(id)),
        _ => Err(AppError::invalid("unknown_session", "session_id")),
    }
}

/// A text field of the form, read up to a limit (the body as a whole has none: files are
/// limited while they stream in).
async fn read_text(mut field: Field<'_>) -> AppResult<String> {
    const MAX_FIELD_BYTES: usize = 16 * 1024;
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| malformed())? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD_BYTES {
            return Err(AppError::invalid("field_too_long", "summary"));
        }
    }
    String::from_utf8(bytes).map_err(|_| malformed())
}

fn malformed() -> AppError {
    AppError::invalid("malformed_upload", "file")
}

/// The cohort's resources, newest first.
pub async fn list(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<ResourceView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let rows = resource::Entity::find()
        .filter(resource::Column::CohortId.eq(cohort_id))
        .order_by_desc(resource::Column::CreatedAt)
        .order_by_desc(resource::Column::Id)
        .all(&state.db)
        .await?;
    views(state, rows).await
}

/// The resources of every cohort of a theme that the viewer may see, in all programme years,
/// newest first.
pub async fn theme_library(state: &AppState, viewer: &CurrentUser, theme_id: i32) -> AppResult<Vec<ResourceView>> {
    let cohort_ids: Vec<i32> = viewer
        .visible_cohorts(&state.db)
        .await?
        .into_iter()
        .filter(|cohort| cohort.theme_id == theme_id)
        .map(|cohort| cohort.id)
        .collect();
    if cohort_ids.is_empty() {
        return Err(AppError::NotFound);
    }
    let rows = resource::Entity::find()
        .filter(resource::Column::CohortId.is_in(cohort_ids))
        .order_by_desc(resource::Column::CreatedAt)
        .order_by_desc(resource::Column::Id)
        .all(&state.db)
        .await?;
    views(state, rows).await
}

/// The facilitator opens or closes posting resources to the cohort's project leads.
pub async fn set_participants_post(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    allowed: bool,
) -> AppResult<()> {
    viewer.require(Action::ManageResources { cohort_id })?;
    let txn = crate::db::write_transaction(&state.db).await?;
    // Locked, so a change saved from several tabs at once is made (and audited) once.
    let found = crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    if found.participants_post_resources != allowed {
        let mut changed: cohort::ActiveModel = found.into();
        changed.participants_post_resources = Set(allowed);
        changed.update(&txn).await?;
        audit::record(
            &txn,
            Some(viewer.user.id),
            "resources.participants_post",
            "cohort",
            cohort_id,
            serde_json::json!({ "allowed": allowed }),
            state.now(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Whether project leads may post resources in the cohort.
pub async fn participants_post(state: &AppState, cohort_id: i32) -> AppResult<bool> {
    Ok(cohort::Entity::find_by_id(cohort_id)
        .one(&state.db)
        .await?
        .is_some_and(|found| found.participants_post_resources))
}

/// Deletes a resource (its poster or the facilitator): the row and its search entry at once,
/// then the stored file.
pub async fn delete(state: &AppState, viewer: &CurrentUser, resource_id: i32) -> AppResult<()> {
    let found = visible(state, viewer, resource_id).await?;
    viewer.require(Action::DeleteResource {
        cohort_id: found.cohort_id,
        is_poster: found.posted_by == viewer.user.id,
    })?;
    let txn = crate::db::write_transaction(&state.db).await?;
    // `found` was read before the lock: of deletions sent at once, the one that removes the row wins.
    if resource::Entity::delete_by_id(resource_id)
        .exec(&txn)
        .await?
        .rows_affected
        == 0
    {
        return Err(AppError::NotFound);
    }
    search::remove(&txn, search::Kind::Resource, resource_id).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "resources.delete",
        "resource",
        resource_id,
        serde_json::json!({ "cohort_id": found.cohort_id, "title": found.title }),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    if let Some(key) = found.storage_key
        && let Err(error) = state.storage.remove(&key).await
    {
        // The resource is gone for everyone; a file left behind is only disk space.
        tracing::warn!(resource_id, "could not remove a deleted resource's file: {error:#}");
    }
    Ok(())
}

/// A resource the viewer may see.
pub async fn visible(state: &AppState, viewer: &CurrentUser, resource_id: i32) -> AppResult<resource::Model> {
    let found = resource::Entity::find_by_id(resource_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

/// Counts one download of a resource's file, in one statement so downloads at once all count.
pub async fn count_download(db: &impl sea_orm::ConnectionTrait, resource_id: i32) -> AppResult<()> {
    resource::Entity::update_many()
        .col_expr(
            resource::Column::Downloads,
            sea_orm::sea_query::ExprTrait::add(sea_orm::sea_query::Expr::col(resource::Column::Downloads), 1),
        )
        .filter(resource::Column::Id.eq(resource_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn view(state: &AppState, viewer: &CurrentUser, resource_id: i32) -> AppResult<ResourceView> {
    let found = visible(state, viewer, resource_id).await?;
    Ok(views(state, vec![found]).await?.remove(0))
}

async fn views(state: &AppState, rows: Vec<resource::Model>) -> AppResult<Vec<ResourceView>> {
    let posters = names(&state.db, rows.iter().map(|row| row.posted_by)).await?;
    Ok(rows
        .into_iter()
        .map(|row| ResourceView {
            download_url: row
                .storage_key
                .as_ref()
                .map(|_| format!("/api/v1/resources/{}/file", row.id)),
            id: row.id,
            cohort_id: row.cohort_id,
            session_id: row.session_id,
            kind: row.kind.to_value(),
            title: row.title,
            summary: row.summary,
            tags: row
                .tags
                .split(',')
                .filter(|tag| !tag.is_empty())
                .map(str::to_string)
                .collect(),
            url: row.url,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            downloads: row.downloads,
            posted_by_name: posters.get(&row.posted_by).cloned().unwrap_or_default(),
            posted_by: row.posted_by,
            created_at: row.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_that_name_a_path_are_refused() {
        for name in [
            "../../etc/passwd.pdf",
            "a/b.pdf",
            "..\\boot.ini",
            "..",
            ".",
            "",
            "a\u{0}.pdf",
        ] {
            assert!(shown_file_name(name).is_err(), "{name:?} was accepted");
        }
        assert_eq!(shown_file_name(" Rapport 2026.pdf ").unwrap(), "Rapport 2026.pdf");
    }

    #[test]
    fn only_http_and_https_links_with_a_host_are_accepted() {
        for bad in [
            "javascript:alert(1)",
            "ftp://x.no/a",
            "https://",
            "http:///x",
            "data:text/html,x",
            "https://a b.no",
        ] {
            assert!(checked_link(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(checked_link("https://www.miljodirektoratet.no/klimasats").is_ok());
    }

    #[test]
    fn tags_are_lower_case_sorted_and_unique() {
        assert_eq!(
            normalised_tags(" Matsvinn, kantine,matsvinn ,").unwrap(),
            vec!["kantine", "matsvinn"]
        );
    }
}
