//! Erasing a person: their personal data goes, their posts are deleted or kept under
//! "Tidligere deltaker" as they choose, the files they posted are deleted, audit entries keep
//! a pseudonym, and their sessions and sockets close.
//!
//! Two ways in: the person asks in Settings (or `POST /api/v1/me/erasure`) and confirms through
//! a mailed link ([`request_erasure`], [`confirm_erasure`]); an admin erases someone who asked by
//! letter ([`erase_by_admin`]). Both end in [`erase_person`], one write transaction.
//!
//! What identifies the person goes row by row where a row is theirs (memberships, registrations,
//! reactions, …); their name and address are then swept out of every text column of every other
//! table, read from the database schema itself, so a table added later is swept too: a mention
//! `@Kari Nordmann` in someone else's post becomes `@Tidligere deltaker`, an audit entry's detail
//! names `person-<id>`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use askama::Template;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, Set, Statement, Value,
};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::auth::tokens::{hash_secret, new_secret};
use crate::domain::policy::Action;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::cohort_event::EventKind;
use crate::entities::{
    calendar_feed, cohort_mute, data_export, erasure_request, grant, invitation, lesson, lesson_read, membership,
    outbox_mail, poll_answer, post, post_mention, post_reaction, post_report, post_revision, preparation, registration,
    resource, search_entry, session, session_expert, sign_in_token, suggestion_follow, survey_taker, thread_read, user,
};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::state::AppState;
pub use crate::users::former_participant;

/// What happens to the person's posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostsChoice {
    /// Kept, without the name: the cohort's threads stay readable ("Tidligere deltaker").
    Keep,
    /// Deleted as the author would delete them.
    Delete,
}

impl PostsChoice {
    pub fn code(self) -> &'static str {
        match self {
            PostsChoice::Keep => "keep",
            PostsChoice::Delete => "delete",
        }
    }

    pub fn parse(code: &str) -> Option<PostsChoice> {
        match code {
            "keep" => Some(PostsChoice::Keep),
            "delete" => Some(PostsChoice::Delete),
            _ => None,
        }
    }
}

/// How long a confirmation link works.
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// The pseudonym audit entries keep for an erased person.
pub fn pseudonym(user_id: i32) -> String {
    format!("person-{user_id}")
}

/// The address an erased person's row keeps: unique (the column is), and never deliverable
/// (`.invalid` is reserved, RFC 2606).
pub fn erased_address(user_id: i32) -> String {
    format!("erased-{user_id}@invalid")
}

/// Erases the person in `txn` (a [`crate::db::write_transaction`]); the caller commits, then
/// calls [`crate::realtime::Hub::access_changed`] and deletes the files this returns.
pub async fn erase_person(
    txn: &DatabaseTransaction,
    user_id: i32,
    posts: PostsChoice,
    now: DateTime<Utc>,
) -> AppResult<Erased> {
    // Locked: of two erasures at once, the second finds the person erased and does nothing.
    let person = crate::db::lock_row::<user::Entity>(txn, user_id).await?;
    if person.erased_at.is_some() {
        return Ok(Erased {
            already: true,
            ..Erased::default()
        });
    }
    // Administration must stay possible: the last admin cannot be erased (the CLI's
    // `create-admin` makes another first).
    if person.is_admin && !another_admin(txn, user_id).await? {
        return Err(last_admin());
    }
    let mut erased = Erased::default();
    let email = person.email.trim().to_lowercase();
    // Read before their mention rows go: where someone else has the same name, these posts are
    // the ones known to mean them.
    let mentioned_in: Vec<i32> = post_mention::Entity::find()
        .filter(post_mention::Column::UserId.eq(user_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|found| found.post_id)
        .collect();

    erased.cohorts = erase_posts(txn, user_id, posts, now).await?;

    // Rows that are the person's own.
    post_mention::Entity::delete_many()
        .filter(post_mention::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    post_reaction::Entity::delete_many()
        .filter(post_reaction::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    post_report::Entity::delete_many()
        .filter(post_report::Column::ReporterId.eq(user_id))
        .exec(txn)
        .await?;
    thread_read::Entity::delete_many()
        .filter(thread_read::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    lesson_read::Entity::delete_many()
        .filter(lesson_read::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    suggestion_follow::Entity::delete_many()
        .filter(suggestion_follow::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    // The answers themselves carry no person and stay, anonymous, in the figures.
    survey_taker::Entity::delete_many()
        .filter(survey_taker::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    poll_answer::Entity::delete_many()
        .filter(poll_answer::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    calendar_feed::Entity::delete_many()
        .filter(calendar_feed::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    sign_in_token::Entity::delete_many()
        .filter(sign_in_token::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    erasure_request::Entity::delete_many()
        .filter(erasure_request::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    cohort_mute::Entity::delete_many()
        .filter(cohort_mute::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    outbox_mail::Entity::delete_many()
        .filter(
            outbox_mail::Column::UserId
                .eq(user_id)
                .or(outbox_mail::Column::Recipient.eq(&email))
                .or(outbox_mail::Column::Recipient.eq(&person.email)),
        )
        .exec(txn)
        .await?;
    preparation::Entity::delete_many()
        .filter(preparation::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    session_expert::Entity::delete_many()
        .filter(session_expert::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    let seats: Vec<registration::Model> = registration::Entity::find()
        .filter(registration::Column::UserId.eq(user_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Registered))
        .all(txn)
        .await?;
    let seat_sessions: Vec<i32> = seats.iter().map(|seat| seat.session_id).collect();
    erased.freed_sessions = session::Entity::find()
        .filter(session::Column::Id.is_in(seat_sessions))
        .filter(session::Column::Status.is_in([SessionStatus::Planned, SessionStatus::Confirmed]))
        .filter(session::Column::StartsAt.gt(now))
        .all(txn)
        .await?;
    registration::Entity::delete_many()
        .filter(registration::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    membership::Entity::delete_many()
        .filter(membership::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;

    // Invitations to their address, with the sessions they were booked for through them: the
    // rows stay without address, name or link, so the report still counts the project invited.
    let invitations: Vec<i32> = invitation::Entity::find()
        .filter(invitation::Column::Email.eq(&email))
        .all(txn)
        .await?
        .into_iter()
        .map(|found| found.id)
        .collect();
    crate::cohorts::invitations::anonymise(txn, &invitations, now).await?;

    // Files and links they shared: gone, with their search entries; the files after the commit.
    let shared = resource::Entity::find()
        .filter(resource::Column::PostedBy.eq(user_id))
        .all(txn)
        .await?;
    for found in &shared {
        crate::search::remove(txn, crate::search::Kind::Resource, found.id).await?;
    }
    erased.files = shared.iter().filter_map(|found| found.storage_key.clone()).collect();
    // Copies of their data made for them (`privacy::export`): the rows now, the ZIPs after the
    // commit, not when their link would have expired.
    let exports = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(user_id))
        .all(txn)
        .await?;
    erased.export_files = exports.iter().filter_map(|found| found.file.clone()).collect();
    data_export::Entity::delete_many()
        .filter(data_export::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    resource::Entity::delete_many()
        .filter(resource::Column::PostedBy.eq(user_id))
        .exec(txn)
        .await?;

    // Contact data that names them: the grant register's contact, a lesson's contact person.
    let namesakes = namesakes(txn, user_id, &person.name_key).await?;
    forget_contacts(txn, &person.name, &email, namesakes.is_empty()).await?;

    // The row stays for what still points to it (kept posts, threads, lessons), without them.
    user::Entity::update_many()
        .col_expr(user::Column::Name, Expr::value(""))
        .col_expr(user::Column::NameKey, Expr::value(""))
        .col_expr(user::Column::Email, Expr::value(erased_address(user_id)))
        .col_expr(user::Column::Active, Expr::value(false))
        .col_expr(user::Column::IsAdmin, Expr::value(false))
        .col_expr(user::Column::OrganisationId, Expr::value(Option::<i32>::None))
        .col_expr(user::Column::TokenVersion, Expr::value(person.token_version + 1))
        .col_expr(user::Column::DigestPreference, Expr::value("none"))
        .col_expr(user::Column::ErasedAt, Expr::value(now))
        .col_expr(user::Column::LastSignedInAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;

    // Whatever else still holds the name or the address, in any table. A name someone else
    // also has is theirs too: it goes only from the posts that mention the erased person.
    let name = person.name.trim();
    let mut needles = vec![email.clone()];
    let mut edited = Vec::new();
    if !name.is_empty() && namesakes.is_empty() {
        needles.push(name.to_string());
    } else if !name.is_empty() {
        edited = sweep_mentions(txn, name, &mentioned_in, &namesakes).await?;
    }
    edited.extend(sweep_text(txn, &needles, user_id).await?);
    // Their kept posts now show «Tidligere deltaker»: open threads are told, as of every post
    // whose text changed.
    edited.extend(
        post::Entity::find()
            .filter(post::Column::AuthorId.eq(user_id))
            .filter(post::Column::Deleted.eq(false))
            .all(txn)
            .await?,
    );
    erased.cohorts.extend(announce_edited(txn, edited, now).await?);
    erased.cohorts.sort_unstable();
    erased.cohorts.dedup();
    Ok(erased)
}

/// Other people, not erased, with the same name.
async fn namesakes(txn: &DatabaseTransaction, user_id: i32, name_key: &str) -> AppResult<Vec<i32>> {
    if name_key.is_empty() {
        return Ok(Vec::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::NameKey.eq(name_key))
        .filter(user::Column::Id.ne(user_id))
        .filter(user::Column::ErasedAt.is_null())
        .all(txn)
        .await?
        .into_iter()
        .map(|found| found.id)
        .collect())
}

/// Where a namesake exists: the name goes from the posts that mention the erased person (and
/// not also the namesake, where the text cannot tell them apart), their earlier versions and
/// their search entries. Returns the posts changed.
async fn sweep_mentions(
    txn: &DatabaseTransaction,
    name: &str,
    mentioned_in: &[i32],
    namesakes: &[i32],
) -> AppResult<Vec<post::Model>> {
    if mentioned_in.is_empty() {
        return Ok(Vec::new());
    }
    let shared: HashSet<i32> = post_mention::Entity::find()
        .filter(post_mention::Column::PostId.is_in(mentioned_in.to_vec()))
        .filter(post_mention::Column::UserId.is_in(namesakes.to_vec()))
        .all(txn)
        .await?
        .into_iter()
        .map(|found| found.post_id)
        .collect();
    let ids: Vec<i32> = mentioned_in.iter().copied().filter(|id| !shared.contains(id)).collect();
    let placeholder = former_participant(Language::default());
    let mut changed = Vec::new();
    for found in post::Entity::find()
        .filter(post::Column::Id.is_in(ids.clone()))
        .all(txn)
        .await?
    {
        let body = replace_ignoring_case(&found.body, name, placeholder);
        if body == found.body {
            continue;
        }
        let mut edit: post::ActiveModel = found.clone().into();
        edit.body = Set(body);
        edit.version = Set(found.version + 1);
        changed.push(edit.update(txn).await?);
    }
    for found in post_revision::Entity::find()
        .filter(post_revision::Column::PostId.is_in(ids.clone()))
        .all(txn)
        .await?
    {
        let body = replace_ignoring_case(&found.body, name, placeholder);
        if body != found.body {
            let mut edit: post_revision::ActiveModel = found.into();
            edit.body = Set(body);
            edit.update(txn).await?;
        }
    }
    let entries = search_entry::Entity::find()
        .filter(search_entry::Column::Kind.eq(crate::search::Kind::Post))
        .filter(search_entry::Column::SourceId.is_in(ids))
        .all(txn)
        .await?;
    crate::search::put_many(
        txn,
        entries
            .into_iter()
            .map(|stored| {
                let mut entry = crate::search::Entry::from(stored);
                entry.title = replace_ignoring_case(&entry.title, name, placeholder);
                entry.body = replace_ignoring_case(&entry.body, name, placeholder);
                entry
            })
            .collect(),
    )
    .await?;
    Ok(changed)
}

/// One `post_edited` event per changed post in its cohort's log, so open threads show the new
/// text and name without a reload. Returns the cohorts told.
async fn announce_edited(
    txn: &DatabaseTransaction,
    edited: Vec<post::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<i32>> {
    let mut seen: HashSet<i32> = HashSet::new();
    let mut by_cohort: BTreeMap<i32, Vec<crate::realtime::events::Change>> = BTreeMap::new();
    for found in edited {
        if seen.insert(found.id) {
            by_cohort
                .entry(found.cohort_id)
                .or_default()
                .push((Some(found.thread_id), Some(found.id)));
        }
    }
    let by_cohort: Vec<(i32, Vec<crate::realtime::events::Change>)> = by_cohort.into_iter().collect();
    crate::realtime::events::append_many(txn, EventKind::PostEdited, &by_cohort, now).await?;
    Ok(by_cohort.into_iter().map(|(cohort_id, _)| cohort_id).collect())
}

/// Their posts: kept as they are (the name comes from the erased row), or deleted as an author
/// deletes, and more: the text and its earlier versions are gone from the database too.
async fn erase_posts(
    txn: &DatabaseTransaction,
    user_id: i32,
    posts: PostsChoice,
    now: DateTime<Utc>,
) -> AppResult<Vec<i32>> {
    // Kept posts stay as they are; posts they had deleted themselves lose their text and history
    // too, whatever they chose (an author's delete only hides the text).
    let mut theirs = post::Entity::find().filter(post::Column::AuthorId.eq(user_id));
    if posts == PostsChoice::Keep {
        theirs = theirs.filter(post::Column::Deleted.eq(true));
    }
    let theirs: Vec<post::Model> = theirs.all(txn).await?;
    if theirs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = theirs.iter().map(|found| found.id).collect();
    // Each post deleted now is announced in its cohort's event log, as an author's delete is.
    let mut announced: BTreeMap<i32, Vec<crate::realtime::events::Change>> = BTreeMap::new();
    for found in theirs.iter().filter(|found| !found.deleted) {
        announced
            .entry(found.cohort_id)
            .or_default()
            .push((Some(found.thread_id), Some(found.id)));
    }
    let announced: Vec<(i32, Vec<crate::realtime::events::Change>)> = announced.into_iter().collect();
    crate::realtime::events::append_many(txn, EventKind::PostDeleted, &announced, now).await?;
    for id in &ids {
        crate::search::remove(txn, crate::search::Kind::Post, *id).await?;
    }
    post_revision::Entity::delete_many()
        .filter(post_revision::Column::PostId.is_in(ids.clone()))
        .exec(txn)
        .await?;
    post_mention::Entity::delete_many()
        .filter(post_mention::Column::PostId.is_in(ids.clone()))
        .exec(txn)
        .await?;
    post::Entity::update_many()
        .col_expr(post::Column::Body, Expr::value(""))
        .col_expr(post::Column::Deleted, Expr::value(true))
        .col_expr(post::Column::Version, Expr::col(post::Column::Version).add(1))
        .filter(post::Column::Id.is_in(ids))
        .exec(txn)
        .await?;
    Ok(announced.into_iter().map(|(cohort_id, _)| cohort_id).collect())
}

/// Clears the grant register's contact fields and lessons' contact persons that are the person,
/// and puts their address on the suppression list so the next grant import leaves it out. A
/// contact is theirs by the address, and by the name unless someone else has it too
/// (`name_is_theirs`): then the namesake's contact stays.
async fn forget_contacts(txn: &DatabaseTransaction, name: &str, email: &str, name_is_theirs: bool) -> AppResult<()> {
    crate::privacy::suppression::suppress(txn, email).await?;
    let name = if name_is_theirs {
        name.trim().to_lowercase()
    } else {
        String::new()
    };
    for found in grant::Entity::find()
        .filter(
            grant::Column::ContactEmail
                .is_not_null()
                .or(grant::Column::ContactName.ne("")),
        )
        .all(txn)
        .await?
    {
        let by_address = found
            .contact_email
            .as_deref()
            .is_some_and(|address| address.trim().to_lowercase() == email);
        let by_name = !name.is_empty() && found.contact_name.trim().to_lowercase() == name;
        if by_address || by_name {
            let mut changed: grant::ActiveModel = found.into();
            changed.contact_name = Set(String::new());
            changed.contact_email = Set(None);
            changed.update(txn).await?;
        }
    }
    for found in lesson::Entity::find()
        .filter(
            lesson::Column::ContactEmail
                .ne("")
                .or(lesson::Column::ContactName.ne("")),
        )
        .all(txn)
        .await?
    {
        let by_address = found.contact_email.trim().to_lowercase() == email;
        let by_name = !name.is_empty() && found.contact_name.trim().to_lowercase() == name;
        if by_address || by_name {
            let mut changed: lesson::ActiveModel = found.into();
            changed.contact_name = Set(String::new());
            changed.contact_email = Set(String::new());
            changed.contact_phone = Set(String::new());
            let changed = changed.update(txn).await?;
            crate::projects::index_lesson(txn, &changed).await?;
        }
    }
    Ok(())
}

/// Tables the sweep leaves alone: the person's own row (rewritten above), the migrations'
/// bookkeeping, SQLite's own tables and the full-text index, which follows `search_entries`.
fn swept(table: &str) -> bool {
    !(table == "users"
        || table == "seaql_migrations"
        || table.starts_with("sqlite_")
        || table.starts_with("search_fts"))
}

/// Every text column of every table, read from the schema.
pub async fn text_columns(db: &impl ConnectionTrait) -> AppResult<Vec<(String, String)>> {
    let backend = db.get_database_backend();
    let mut columns = Vec::new();
    match backend {
        DatabaseBackend::Postgres => {
            for row in db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                     WHERE table_schema = current_schema() \
                     AND data_type IN ('text', 'character varying', 'character') ORDER BY 1, 2",
                ))
                .await?
            {
                columns.push((row.try_get::<String>("", "t")?, row.try_get::<String>("", "c")?));
            }
        }
        _ => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                ))
                .await?;
            for table in tables {
                let table: String = table.try_get("", "name")?;
                let quoted = table.replace('"', "\"\"");
                for column in db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT name, type FROM pragma_table_info('{}')",
                            quoted.replace('\'', "''")
                        ),
                    ))
                    .await?
                {
                    let kind: String = column.try_get::<String>("", "type")?.to_uppercase();
                    if kind.contains("TEXT") || kind.contains("CHAR") || kind.contains("CLOB") || kind.is_empty() {
                        columns.push((table.clone(), column.try_get::<String>("", "name")?));
                    }
                }
            }
        }
    }
    Ok(columns)
}

/// Replaces the name and the address wherever a text column still holds them: with «Tidligere
/// deltaker» in what people read, with the pseudonym in the audit log. Search entries whose text
/// changed are indexed again, so their stems lose the name too.
async fn sweep_text(txn: &DatabaseTransaction, needles: &[String], user_id: i32) -> AppResult<Vec<post::Model>> {
    let backend = txn.get_database_backend();
    let placeholder = former_participant(Language::default());
    let pseudonym = pseudonym(user_id);
    // The forms a name is stored in: as written, and escaped in HTML mail.
    let mut forms: Vec<String> = Vec::new();
    for needle in needles {
        forms.push(needle.clone());
        let escaped = askama_escape(needle);
        if escaped != *needle {
            forms.push(escaped);
        }
    }
    // SQLite's LIKE ignores case only for ASCII: the common spellings of Æ, Ø and Å are asked for.
    let mut patterns: BTreeSet<String> = BTreeSet::new();
    for form in &forms {
        for variant in [form.clone(), form.to_lowercase(), form.to_uppercase(), title_case(form)] {
            patterns.insert(format!("%{}%", like_escape(&variant)));
        }
    }
    let patterns: Vec<String> = patterns.into_iter().collect();
    let mut reindex: HashSet<i32> = HashSet::new();
    let mut edited_posts: Vec<i32> = Vec::new();
    for (table, column) in text_columns(txn).await? {
        // Stems follow the text; address columns are handled by exact match above, since an
        // address inside a longer one (`kari@…` in `bkari@…`) is someone else's.
        if !swept(&table)
            || (table == "search_entries" && column == "stems")
            || column.ends_with("email")
            || column == "recipient"
        {
            continue;
        }
        let replacement = if table == "audit_log" {
            pseudonym.as_str()
        } else {
            placeholder
        };
        let like = if backend == DatabaseBackend::Postgres {
            "ILIKE"
        } else {
            "LIKE"
        };
        let conditions: Vec<String> = (1..=patterns.len())
            .map(|n| format!("\"{column}\" {like} {} ESCAPE '\\'", placeholder_at(backend, n)))
            .collect();
        let sql = format!(
            "SELECT DISTINCT \"{column}\" AS v FROM \"{table}\" WHERE {}",
            conditions.join(" OR ")
        );
        let values: Vec<Value> = patterns.iter().map(|pattern| pattern.clone().into()).collect();
        let found = txn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        for row in found {
            let Some(old) = row.try_get::<Option<String>>("", "v")? else {
                continue;
            };
            let mut new = old.clone();
            for form in &forms {
                new = replace_ignoring_case(&new, form, replacement);
            }
            if new == old {
                continue;
            }
            if table == "search_entries" {
                let rows = search_entry::Entity::find()
                    .filter(match column.as_str() {
                        "title" => search_entry::Column::Title.eq(old.as_str()),
                        "body" => search_entry::Column::Body.eq(old.as_str()),
                        _ => search_entry::Column::Path.eq(old.as_str()),
                    })
                    .all(txn)
                    .await?;
                reindex.extend(rows.iter().map(|entry| entry.id));
            }
            if table == "posts" {
                // A new version, so an edit begun before the erasure cannot write the name back.
                let rows = post::Entity::find()
                    .filter(Expr::col(sea_orm::sea_query::Alias::new(column.as_str())).eq(old.as_str()))
                    .all(txn)
                    .await?;
                edited_posts.extend(rows.iter().map(|found| found.id));
            }
            let update = format!(
                "UPDATE \"{table}\" SET \"{column}\" = {} WHERE \"{column}\" = {}",
                placeholder_at(backend, 1),
                placeholder_at(backend, 2)
            );
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                update,
                [new.into(), old.into()],
            ))
            .await?;
        }
    }
    let edited = if edited_posts.is_empty() {
        Vec::new()
    } else {
        post::Entity::update_many()
            .col_expr(post::Column::Version, Expr::col(post::Column::Version).add(1))
            .filter(post::Column::Id.is_in(edited_posts.clone()))
            .exec(txn)
            .await?;
        post::Entity::find()
            .filter(post::Column::Id.is_in(edited_posts))
            .all(txn)
            .await?
    };
    // Stems are computed from the text, so entries whose text changed are written again.
    if !reindex.is_empty() {
        let entries = search_entry::Entity::find()
            .filter(search_entry::Column::Id.is_in(reindex))
            .all(txn)
            .await?;
        crate::search::put_many(txn, entries.into_iter().map(crate::search::Entry::from).collect()).await?;
    }
    Ok(edited)
}

fn placeholder_at(backend: DatabaseBackend, n: usize) -> String {
    if backend == DatabaseBackend::Postgres {
        format!("${n}")
    } else {
        "?".to_string()
    }
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// The name as askama escapes it in HTML mail.
fn askama_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Lowercase, one character for one, so positions stay comparable.
fn lower_chars(text: &str) -> Vec<char> {
    text.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
}

/// Whether a match is part of a longer word: a name ends at a letter or digit; an address also
/// at the characters an address holds, so `kari@x.no` is not found in `bkari@x.no` or
/// `ola.kari@x.no`, while a full stop that ends the sentence after it ends it.
fn inside_word(address: bool, before: Option<char>, after: &[char]) -> bool {
    let part_of_address = |c: char| address && "._%+-".contains(c);
    let before = before.is_some_and(|c| c.is_alphanumeric() || part_of_address(c));
    let after = match after {
        [first, ..] if first.is_alphanumeric() => true,
        ['.', next, ..] => address && next.is_alphanumeric(),
        [first, ..] => address && *first != '.' && part_of_address(*first),
        [] => false,
    };
    before || after
}

/// `haystack` with every occurrence of `needle`, in any case and as a whole word, replaced.
fn replace_ignoring_case(haystack: &str, needle: &str, replacement: &str) -> String {
    let wanted = lower_chars(needle);
    if wanted.is_empty() {
        return haystack.to_string();
    }
    let address = needle.contains('@');
    let chars: Vec<char> = haystack.chars().collect();
    let lower = lower_chars(haystack);
    let mut out = String::with_capacity(haystack.len());
    let mut i = 0;
    while i < chars.len() {
        let end = i + wanted.len();
        if end <= chars.len()
            && lower[i..end] == wanted[..]
            && !inside_word(address, i.checked_sub(1).map(|j| chars[j]), &chars[end..])
        {
            out.push_str(replacement);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// What an erasure leaves for the caller to do after the commit.
#[derive(Debug, Default)]
pub struct Erased {
    /// Storage keys of the person's resource files, deleted once the erasure has committed.
    pub files: Vec<String>,
    /// Storage keys of the ZIPs of their data exports, deleted once the erasure has committed.
    pub export_files: Vec<String>,
    /// Sessions still to come where the person held a seat: their waitlist moves up.
    pub freed_sessions: Vec<session::Model>,
    /// The person was erased before: nothing was done.
    pub already: bool,
    /// Cohorts whose event log announces the posts deleted: their sockets are told.
    pub cohorts: Vec<i32>,
}

/// After the commit: the files go from storage, the person's sockets close.
async fn after_commit(state: &AppState, user_id: i32, erased: Erased) {
    state.hub.access_changed(user_id);
    for cohort_id in &erased.cohorts {
        state.hub.notify(*cohort_id);
    }
    crate::sessions::notices::wake_outbox(state);
    for key in &erased.export_files {
        crate::privacy::export::remove_file(&state.storage, key).await;
    }
    for key in erased.files {
        if let Err(error) = state.storage.remove(&key).await {
            // The rows are gone for everyone; a file left behind is only disk space.
            tracing::warn!(user_id, "could not remove an erased person's file: {error:#}");
        }
    }
}

/// Erases in one transaction, moves waitlists up, records the audit entry, then cleans up.
pub(crate) async fn erase_and_record(
    state: &AppState,
    actor: Option<i32>,
    user_id: i32,
    posts: PostsChoice,
    action: &str,
    token_hash: Option<&str>,
) -> AppResult<()> {
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    if let Some(hash) = token_hash {
        // Used once: of two confirmations at once, only one finds the link unused.
        let used = erasure_request::Entity::update_many()
            .col_expr(erasure_request::Column::ConsumedAt, Expr::value(now))
            .filter(erasure_request::Column::TokenHash.eq(hash))
            .filter(erasure_request::Column::ConsumedAt.is_null())
            .filter(erasure_request::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            txn.rollback().await?;
            return Err(link_gone());
        }
    }
    let mut erased = erase_person(&txn, user_id, posts, now).await?;
    if erased.already {
        txn.rollback().await?;
        return Ok(());
    }
    for found in std::mem::take(&mut erased.freed_sessions) {
        crate::sessions::registration::fill_free_seats(state, &txn, &found).await?;
    }
    crate::audit::record(
        &txn,
        actor,
        action,
        "user",
        user_id,
        serde_json::json!({ "person": pseudonym(user_id), "posts": posts.code() }),
        now,
    )
    .await?;
    txn.commit().await?;
    after_commit(state, user_id, erased).await;
    Ok(())
}

/// Whether an active admin other than `user_id` exists.
async fn another_admin(db: &impl ConnectionTrait, user_id: i32) -> AppResult<bool> {
    let others = user::Entity::find()
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::ErasedAt.is_null())
        .filter(user::Column::Id.ne(user_id))
        .count(db)
        .await?;
    Ok(others > 0)
}

fn last_admin() -> AppError {
    AppError::Conflict { code: "last_admin" }
}

fn link_gone() -> AppError {
    AppError::Gone {
        code: "erasure_link_invalid",
    }
}

/// An admin erases someone who asked by letter. Not themself: that is the person's own way.
pub async fn erase_by_admin(state: &AppState, viewer: &CurrentUser, user_id: i32, posts: PostsChoice) -> AppResult<()> {
    viewer.require(Action::ManageUsers)?;
    if user_id == viewer.user.id {
        return Err(AppError::Conflict {
            code: "cannot_erase_self",
        });
    }
    user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    erase_and_record(
        state,
        Some(viewer.user.id),
        user_id,
        posts,
        "privacy.erase_by_admin",
        None,
    )
    .await
}

#[derive(Template)]
#[template(path = "mail/erasure.txt")]
struct ErasureText<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
    choice: &'a str,
}

#[derive(Template)]
#[template(path = "mail/erasure.html")]
struct ErasureHtml<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
    choice: &'a str,
}

/// The path a confirmation link opens.
pub fn confirm_path(secret: &str) -> String {
    format!("/account/erasure?token={secret}")
}

fn choice_text(tr: Tr, posts: PostsChoice) -> &'static str {
    match posts {
        PostsChoice::Keep => tr.t("erasure.choice_keep"),
        PostsChoice::Delete => tr.t("erasure.choice_delete"),
    }
}

/// The person asks to be erased: a confirmation link (single use, 24 hours) goes to their
/// address through the outbox, so the answer is the same whether the mail server is up or not.
/// A new request voids the older links.
pub async fn request_erasure(state: &AppState, viewer: &CurrentUser, posts: PostsChoice) -> AppResult<()> {
    let now = state.now();
    let person = &viewer.user;
    // Said at once, not only when the link is used (where `erase_person` checks it again).
    if person.is_admin && !another_admin(&state.db, person.id).await? {
        return Err(last_admin());
    }
    let secret = new_secret();
    let txn = crate::db::write_transaction(&state.db).await?;
    // Locked: of requests sent at once, each voids the links before it, so one link works.
    crate::db::lock_row::<user::Entity>(&txn, person.id).await?;
    erasure_request::Entity::update_many()
        .col_expr(erasure_request::Column::ConsumedAt, Expr::value(now))
        .filter(erasure_request::Column::UserId.eq(person.id))
        .filter(erasure_request::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    erasure_request::ActiveModel {
        user_id: Set(person.id),
        token_hash: Set(hash_secret(&secret)),
        posts: Set(posts.code().to_string()),
        expires_at: Set(now + LINK_LIFETIME),
        consumed_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let tr = Tr::new(viewer.language());
    let link = state.link(&confirm_path(&secret));
    let choice = choice_text(tr, posts);
    let mail = OutgoingMail {
        to: person.email.clone(),
        subject: tr.t("erasure.mail.subject").to_string(),
        text: ErasureText {
            tr,
            name: &person.name,
            link: &link,
            choice,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: ErasureHtml {
            tr,
            name: &person.name,
            link: &link,
            choice,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    };
    crate::sessions::notices::enqueue(state, &txn, person, mail).await?;
    txn.commit().await?;
    crate::sessions::notices::wake_outbox(state);
    Ok(())
}

/// What a valid confirmation link will do, for the page that asks to confirm.
#[derive(Clone, Debug, Serialize)]
pub struct PendingErasure {
    pub posts: PostsChoice,
    pub post_count: u64,
    pub file_count: u64,
}

/// Reads a confirmation link without using it: 410 `erasure_link_invalid` when it is used,
/// expired or unknown.
pub async fn pending(state: &AppState, secret: &str) -> AppResult<PendingErasure> {
    let now = state.now();
    let request = erasure_request::Entity::find()
        .filter(erasure_request::Column::TokenHash.eq(hash_secret(secret.trim())))
        .filter(erasure_request::Column::ConsumedAt.is_null())
        .filter(erasure_request::Column::ExpiresAt.gt(now))
        .one(&state.db)
        .await?
        .ok_or_else(link_gone)?;
    let (post_count, file_count) = what_goes(&state.db, request.user_id).await?;
    Ok(PendingErasure {
        posts: PostsChoice::parse(&request.posts).unwrap_or(PostsChoice::Keep),
        post_count,
        file_count,
    })
}

/// What the pages that ask to confirm an erasure count: the person's posts not deleted yet
/// (kept or deleted, as chosen) and the files and links they shared (always deleted).
pub(crate) async fn what_goes(db: &impl ConnectionTrait, user_id: i32) -> AppResult<(u64, u64)> {
    let posts = post::Entity::find()
        .filter(post::Column::AuthorId.eq(user_id))
        .filter(post::Column::Deleted.eq(false))
        .count(db)
        .await?;
    let files = resource::Entity::find()
        .filter(resource::Column::PostedBy.eq(user_id))
        .count(db)
        .await?;
    Ok((posts, files))
}

/// Uses a confirmation link once and erases its person. Returns their id.
pub async fn confirm_erasure(state: &AppState, secret: &str) -> AppResult<i32> {
    let hash = hash_secret(secret.trim());
    let request = erasure_request::Entity::find()
        .filter(erasure_request::Column::TokenHash.eq(&hash))
        .one(&state.db)
        .await?
        .ok_or_else(link_gone)?;
    let posts = PostsChoice::parse(&request.posts).unwrap_or(PostsChoice::Keep);
    erase_and_record(
        state,
        Some(request.user_id),
        request.user_id,
        posts,
        "privacy.erase",
        Some(hash.as_str()),
    )
    .await?;
    Ok(request.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_name_in_any_case() {
        assert_eq!(
            replace_ignoring_case("Takk, @åse ØSTBY! Åse Østby skrev", "Åse Østby", "Tidligere deltaker"),
            "Takk, @Tidligere deltaker! Tidligere deltaker skrev"
        );
        assert_eq!(replace_ignoring_case("ingen her", "Kari", "X"), "ingen her");
        assert_eq!(
            replace_ignoring_case("Kari Nordmannsen og Kari Nordmann", "Kari Nordmann", "X"),
            "Kari Nordmannsen og X"
        );
        assert_eq!(
            replace_ignoring_case(
                "til kari@x.no, ikke bkari@x.no eller ola.kari@x.no. Skriv KARI@x.no.",
                "kari@x.no",
                "X"
            ),
            "til X, ikke bkari@x.no eller ola.kari@x.no. Skriv X."
        );
        assert_eq!(title_case("åse østby"), "Åse Østby");
        assert_eq!(like_escape("50%_a"), "50\\%\\_a");
    }

    #[test]
    fn posts_choice_codes_round_trip() {
        for choice in [PostsChoice::Keep, PostsChoice::Delete] {
            assert_eq!(PostsChoice::parse(choice.code()), Some(choice));
        }
        assert_eq!(PostsChoice::parse("other"), None);
    }
}
