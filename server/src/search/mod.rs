//! Search across threads, posts, resources, project profiles and lessons learned.
//!
//! Every searchable thing is written to `search_entries` (once per cohort that sees it) in the
//! same transaction that stores it, with the Norwegian stems of its text ([`text`]); new posts
//! just after, in batches, by the post writer (`threads::writer`), which a search waits for. SQLite
//! matches stems with FTS5, PostgreSQL with a GIN-indexed `tsvector`; stemming in the server
//! keeps both finding the same things. A search returns only entries of cohorts the searcher
//! may see, and lessons of every cohort with one of those cohorts' themes, since lessons are
//! written for later programme years. Each entry's stems start with index words for its cohort
//! (and a lesson's theme), which a search matches along with its terms: the full-text index
//! then leaves out what the searcher may not see before anything is ranked.

pub mod text;

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, Set, Statement, Value,
};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
pub use crate::entities::search_entry::Kind;
use crate::entities::{cohort, search_entry};
use crate::error::{AppError, AppResult};

/// One thing to index, as one cohort sees it.
pub struct Entry {
    pub kind: Kind,
    pub source_id: i32,
    pub cohort_id: i32,
    pub title: String,
    /// Plain text.
    pub body: String,
    /// Where it is read, relative to the site.
    pub path: String,
    pub created_at: DateTime<Utc>,
}

/// A stored entry, to be indexed again (its stems follow its text).
impl From<search_entry::Model> for Entry {
    fn from(stored: search_entry::Model) -> Self {
        Entry {
            kind: stored.kind,
            source_id: stored.source_id,
            cohort_id: stored.cohort_id,
            title: stored.title,
            body: stored.body,
            path: stored.path,
            created_at: stored.created_at,
        }
    }
}

/// The index word that says which cohort may find an entry. Searches match it together with
/// their terms, so the full-text index itself leaves out what the searcher may not see and
/// only the rest is ranked (the SQL filter on cohorts stays as the rule). No word of a text
/// stems to it.
fn cohort_token(cohort_id: i32) -> String {
    format!("samlingcohort{cohort_id}")
}

/// The index word of a lesson, which every cohort of its theme may find.
fn lesson_theme_token(theme_id: i32) -> String {
    format!("samlinglessontheme{theme_id}")
}

/// Adds the entry, or replaces what is indexed for the same thing in the same cohort.
pub async fn put(db: &impl ConnectionTrait, entry: Entry) -> AppResult<()> {
    put_many(db, vec![entry]).await
}

/// [`put`] for several entries in one statement.
pub async fn put_many(db: &impl ConnectionTrait, entries: Vec<Entry>) -> AppResult<()> {
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut tokens = vec![cohort_token(entry.cohort_id)];
        if entry.kind == Kind::Lesson {
            let theme_id = cohort::Entity::find_by_id(entry.cohort_id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?
                .theme_id;
            tokens.push(lesson_theme_token(theme_id));
        }
        tokens.extend(text::stems(&format!("{} {}", entry.title, entry.body)));
        rows.push(search_entry::ActiveModel {
            kind: Set(entry.kind),
            source_id: Set(entry.source_id),
            cohort_id: Set(entry.cohort_id),
            title: Set(entry.title),
            body: Set(entry.body),
            stems: Set(tokens.join(" ")),
            path: Set(entry.path),
            created_at: Set(entry.created_at),
            ..Default::default()
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    search_entry::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                search_entry::Column::Kind,
                search_entry::Column::SourceId,
                search_entry::Column::CohortId,
            ])
            .update_columns([
                search_entry::Column::Title,
                search_entry::Column::Body,
                search_entry::Column::Stems,
                search_entry::Column::Path,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Takes a thing out of the index in every cohort.
pub async fn remove(db: &impl ConnectionTrait, kind: Kind, source_id: i32) -> AppResult<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::Kind.eq(kind))
        .filter(search_entry::Column::SourceId.eq(source_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Empties the index of one kind, before it is written again in full.
pub async fn remove_kind(db: &impl ConnectionTrait, kind: Kind) -> AppResult<()> {
    search_entry::Entity::delete_many()
        .filter(search_entry::Column::Kind.eq(kind))
        .exec(db)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words to find; inflected forms find each other ("matsvinnet" finds "matsvinn").
    #[serde(default)]
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub q: String,
    pub kind: Option<Kind>,
    pub theme_id: Option<i32>,
    /// The programme year.
    pub year: Option<i32>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub kind: Kind,
    pub source_id: i32,
    /// The title as HTML, matched words in `<mark>`; everything else escaped.
    pub title_html: String,
    /// About thirty words around the first match, as HTML like `title_html`.
    pub snippet_html: String,
    pub path: String,
    pub theme_id: i32,
    pub year: i32,
    pub created_at: DateTime<Utc>,
}

/// The longest query, in characters, and the most words a query may have.
pub const MAX_QUERY_CHARS: usize = 200;
const MAX_QUERY_TERMS: usize = 8;
/// Hits returned, best first.
pub const MAX_HITS: usize = 20;

#[derive(FromQueryResult)]
struct Row {
    kind: Kind,
    source_id: i32,
    title: String,
    body: String,
    path: String,
    created_at: DateTime<Utc>,
    theme_id: i32,
    starts_on: NaiveDate,
}

/// A statement with placeholders in the backend's own style.
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DatabaseBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    fn bind_list(&mut self, values: impl IntoIterator<Item = i32>) -> String {
        let placeholders: Vec<String> = values.into_iter().map(|value| self.bind(value)).collect();
        placeholders.join(", ")
    }
}

/// The terms a query looks for: its content words' stems, or all its stems when it has only
/// stop words; at most eight.
fn query_terms(query: &str) -> AppResult<Vec<String>> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::Invalid {
            code: "search_query_too_long",
            field: Some("q".into()),
            args: vec![("max", MAX_QUERY_CHARS.to_string())],
        });
    }
    let content = text::content_stems(query);
    let mut terms: Vec<String> = if content.is_empty() {
        text::stems(query)
    } else {
        text::stems(query)
            .into_iter()
            .filter(|stem| content.contains(stem))
            .collect()
    };
    let mut seen = HashSet::new();
    terms.retain(|term| seen.insert(term.clone()));
    terms.truncate(MAX_QUERY_TERMS);
    if terms.is_empty() {
        return Err(AppError::invalid("empty_search", "q"));
    }
    Ok(terms)
}

/// The first day of a programme year and of the year after; 422 `invalid_year` for a year no
/// calendar date has (`year=2147483647` overflowed once).
fn programme_year(year: i32) -> AppResult<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1);
    let next = year.checked_add(1).and_then(|next| NaiveDate::from_ymd_opt(next, 1, 1));
    first.zip(next).ok_or_else(|| AppError::invalid("invalid_year", "year"))
}

/// What `viewer` may find for `query`, best matches first.
pub async fn search(db: &impl ConnectionTrait, viewer: &CurrentUser, query: &SearchQuery) -> AppResult<Vec<Hit>> {
    let terms = query_terms(&query.q)?;
    let year_range = query.year.map(programme_year).transpose()?;
    let visible = viewer.visible_cohorts(db).await?;
    if visible.is_empty() {
        return Ok(Vec::new());
    }
    let mut themes: Vec<i32> = visible.iter().map(|cohort| cohort.theme_id).collect();
    themes.sort_unstable();
    themes.dedup();

    let visibility: Vec<String> = visible
        .iter()
        .map(|cohort| cohort_token(cohort.id))
        .chain(themes.iter().map(|&theme_id| lesson_theme_token(theme_id)))
        .collect();
    let backend = db.get_database_backend();
    let mut sql = Sql {
        backend,
        text: String::new(),
        values: Vec::new(),
    };
    let columns = "e.kind, e.source_id, e.title, e.body, e.path, e.created_at, c.theme_id, p.starts_on";
    let joins = "JOIN cohorts c ON c.id = e.cohort_id JOIN programmes p ON p.id = c.programme_id";
    let (from, order) = match backend {
        DatabaseBackend::Postgres => {
            let matched = sql.bind(format!("{} & ({})", terms.join(" & "), visibility.join(" | ")));
            (
                format!("FROM search_entries e {joins} WHERE e.stems_vector @@ to_tsquery('simple', {matched})"),
                format!("ts_rank(e.stems_vector, to_tsquery('simple', {matched})) DESC, e.id DESC"),
            )
        }
        _ => {
            // Quoted, so no term is read as an FTS5 operator.
            let quoted: Vec<String> = terms.iter().map(|term| format!("\"{term}\"")).collect();
            let matched = sql.bind(format!("{} AND ({})", quoted.join(" AND "), visibility.join(" OR ")));
            (
                format!(
                    "FROM search_fts JOIN search_entries e ON e.id = search_fts.rowid {joins} \
                     WHERE search_fts MATCH {matched}"
                ),
                "search_fts.rank, e.id DESC".to_string(),
            )
        }
    };
    let cohorts = sql.bind_list(visible.iter().map(|cohort| cohort.id));
    let lesson = sql.bind(Kind::Lesson);
    let lesson_themes = sql.bind_list(themes);
    let mut filters =
        format!(" AND (e.cohort_id IN ({cohorts}) OR (e.kind = {lesson} AND c.theme_id IN ({lesson_themes})))");
    if let Some(kind) = query.kind {
        filters += &format!(" AND e.kind = {}", sql.bind(kind));
    }
    if let Some(theme_id) = query.theme_id {
        filters += &format!(" AND c.theme_id = {}", sql.bind(theme_id));
    }
    if let Some((first, next)) = year_range {
        filters += &format!(
            " AND p.starts_on >= {} AND p.starts_on < {}",
            sql.bind(first),
            sql.bind(next)
        );
    }
    // A profile is indexed once per cohort that has the project; ask for enough to drop repeats.
    let limit = sql.bind((MAX_HITS * 2) as i64);
    sql.text = format!("SELECT {columns} {from}{filters} ORDER BY {order} LIMIT {limit}");

    let rows = Row::find_by_statement(Statement::from_sql_and_values(backend, sql.text, sql.values))
        .all(db)
        .await?;
    let terms: HashSet<String> = terms.into_iter().collect();
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|row| seen.insert((row.kind, row.source_id)))
        .map(|row| Hit {
            kind: row.kind,
            source_id: row.source_id,
            title_html: text::highlight(&row.title, &terms),
            snippet_html: text::snippet(&row.body, &terms),
            path: row.path,
            theme_id: row.theme_id,
            year: row.starts_on.year(),
            created_at: row.created_at,
        })
        .take(MAX_HITS)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programme_year_is_a_calendar_year_and_an_impossible_one_is_refused() {
        let (first, next) = programme_year(2027).unwrap();
        assert_eq!(
            (first.to_string(), next.to_string()),
            ("2027-01-01".into(), "2028-01-01".into())
        );
        for impossible in [i32::MAX, i32::MIN, 262_143] {
            let error = programme_year(impossible).unwrap_err();
            assert_eq!(error.code(), "invalid_year", "{impossible}");
        }
    }
}
