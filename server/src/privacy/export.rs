//! Everything Samling holds about a person, as a ZIP with JSON and a readable HTML page,
//! prepared in the background and downloaded once through a link mailed to them.
//!
//! [`collect`] reads every table that refers to the person (by a foreign key to `users`, or by
//! their e-mail address) into one JSON document grouped by table name; `GET /api/v1/me/export`
//! answers it at once. [`request`] (Settings → «Mine data», `POST /api/v1/me/export`) records
//! a `data_exports` row and builds the ZIP in a background task: `data.json`, `index.html` in
//! the person's language and the files of the resources they posted; then it mails a link that
//! downloads the ZIP once within `export_link_hours` ([`download`]). The ZIP is kept in the file
//! storage (`exports/…`, on disk or in the S3 bucket, so any instance can serve the download),
//! and deleted after the download and, by [`purge_expired`], when the link expires.
//!
//! The instance preparing a copy holds a claim on it (`claimed_at`, refreshed while it works).
//! When an instance stops half-way, its claim goes stale, and another instance (at its start,
//! then every few minutes: [`resume_periodically`]) takes the copy over with a conditional update,
//! prepares it again and mails the link, up to [`MAX_ATTEMPTS`] times.
//!
//! Left out on purpose: secrets (hashes of sign-in, calendar and download links, unsubscribe
//! links), other people's addresses, and survey answers: those are stored without the person
//! (`survey_answers` has no column linking them), so only the fact of answering is exported.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

use askama::Template;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::tokens::{hash_secret, new_secret};
use crate::entities::{
    audit_log, calendar_feed, cohort, cohort_mute, data_export, erasure_request, grant, invitation, lesson,
    lesson_read, membership, organisation, outbox_mail, poll_answer, poll_option, post, post_mention, post_reaction,
    post_report, post_revision, preparation, programme, project_profile, registration, resource, session,
    session_expert, sign_in_token, suggestion_follow, survey_taker, theme, thread, thread_read, user,
};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::resources::storage::Storage;
use crate::state::AppState;

/// The version of the document's shape; raised when a key changes meaning.
pub const FORMAT: u32 = 1;

/// The path of the page the mailed link opens (`?token=…`).
pub const LINK_PATH: &str = "/mine-data";

/// A claim on a copy being prepared that is older than this belongs to an instance that
/// stopped: another may take the copy over.
pub const CLAIM_LEASE: Duration = Duration::minutes(10);

/// How often the preparing instance refreshes its claim (well inside the lease).
const CLAIM_REFRESH: std::time::Duration = std::time::Duration::from_secs(120);

/// A downloaded copy's file is deleted when its stream ends; one still there this long after
/// the download was left behind (the instance stopped) and is purged.
const DOWNLOAD_GRACE: Duration = Duration::hours(1);

/// How often an instance looks for copies whose preparation was cut off.
const RESUME_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Preparing a copy is started at most this often; cut off the last time too, it has failed
/// (something in it may stop the server) and the person may ask again.
pub const MAX_ATTEMPTS: i32 = 3;

/// Everything Samling holds about one person.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonalData {
    /// The version of this document's shape (1).
    pub format: u32,
    pub generated_at: DateTime<Utc>,
    /// Who the document is about: `id`, `name`, `email`, `language`.
    #[schema(value_type = Object)]
    pub person: Value,
    /// The rows that refer to the person, grouped by the name of the table that holds them
    /// (`users`, `memberships`, `registrations`, `posts`, …). Every table that refers to a
    /// person has its key, with an empty list when it holds nothing about this one.
    #[schema(value_type = Object)]
    pub tables: BTreeMap<String, Vec<Value>>,
    /// What a table's rows leave out and why, by table name, in the person's language.
    pub notes: BTreeMap<String, String>,
}

/// The rows of `E` whose `person` column is the person, in the order of `order` (their ids).
async fn rows_of<E: EntityTrait>(
    db: &impl ConnectionTrait,
    person: E::Column,
    order: E::Column,
    user_id: i32,
) -> AppResult<Vec<E::Model>> {
    Ok(E::find().filter(person.eq(user_id)).order_by_asc(order).all(db).await?)
}

/// Rows of one entity by id, for names and titles next to the ids.
async fn by_id<E>(
    db: &impl ConnectionTrait,
    column: E::Column,
    ids: impl IntoIterator<Item = i32>,
) -> AppResult<HashMap<i32, E::Model>>
where
    E: EntityTrait,
    E::Model: HasId,
{
    let ids: HashSet<i32> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(E::find()
        .filter(column.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id(), row))
        .collect())
}

/// A model with an `id` primary key.
trait HasId {
    fn id(&self) -> i32;
}

macro_rules! has_id {
    ($($module:ident),+) => {
        $(impl HasId for $module::Model {
            fn id(&self) -> i32 {
                self.id
            }
        })+
    };
}

has_id!(
    session,
    thread,
    post,
    theme,
    programme,
    grant,
    lesson,
    poll_option,
    organisation,
    user
);

/// The code an enum is stored as.
fn code<T: ActiveEnum<Value = String>>(value: &T) -> String {
    value.to_value()
}

/// The rows of each table, by table name.
type Rows = BTreeMap<String, Vec<Value>>;
/// The tables whose rows leave something out; what and why is `my_data.note.<table>` in the
/// translation files, so the JSON and the readable page say the same in the person's language.
type Notes = BTreeSet<&'static str>;

/// The person, and names for the ids their rows carry (in the person's language).
struct Names {
    person: user::Model,
    language: Language,
    cohorts: HashMap<i32, cohort::Model>,
    themes: HashMap<i32, theme::Model>,
    programmes: HashMap<i32, programme::Model>,
}

impl Names {
    /// A cohort as people know it: its theme and programme.
    fn cohort(&self, cohort_id: i32) -> Value {
        self.cohorts
            .get(&cohort_id)
            .map(|c| {
                let theme = self
                    .themes
                    .get(&c.theme_id)
                    .map(|t| t.name(self.language))
                    .unwrap_or_default();
                let programme = self
                    .programmes
                    .get(&c.programme_id)
                    .map(|p| p.name.as_str())
                    .unwrap_or_default();
                json!(format!("{theme}, {programme}"))
            })
            .unwrap_or(Value::Null)
    }
}

/// Reads everything Samling holds about the person `user_id`, in their language where a name
/// has one (themes).
pub async fn collect(db: &impl ConnectionTrait, user_id: i32, now: DateTime<Utc>) -> AppResult<PersonalData> {
    let person = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let language = Language::parse(&person.language).unwrap_or_default();
    // Few enough to read whole.
    let cohorts: HashMap<i32, cohort::Model> = cohort::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let names = Names {
        themes: by_id::<theme::Entity>(db, theme::Column::Id, cohorts.values().map(|c| c.theme_id)).await?,
        programmes: by_id::<programme::Entity>(db, programme::Column::Id, cohorts.values().map(|c| c.programme_id))
            .await?,
        cohorts,
        person,
        language,
    };
    let mut tables = Rows::new();
    let mut notes = Notes::new();
    profile(db, &names, &mut tables, &mut notes).await?;
    invitations_and_sign_ins(db, &names, &mut tables, &mut notes).await?;
    sessions(db, &names, &mut tables, &mut notes).await?;
    discussions(db, &names, &mut tables, &mut notes).await?;
    knowledge(db, &names, &mut tables, &mut notes).await?;
    mail_and_records(db, &names, &mut tables, &mut notes).await?;
    let person = &names.person;
    Ok(PersonalData {
        format: FORMAT,
        generated_at: now,
        person: json!({
            "id": person.id,
            "name": person.name,
            "email": person.email,
            "language": person.language,
        }),
        tables,
        notes: notes
            .into_iter()
            .map(|table| {
                let note = Tr::new(names.language).t(&format!("my_data.note.{table}")).to_string();
                (table.to_string(), note)
            })
            .collect(),
    })
}

/// The profile and the memberships with their roles.
async fn profile(db: &impl ConnectionTrait, names: &Names, tables: &mut Rows, _notes: &mut Notes) -> AppResult<()> {
    let person = &names.person;
    let user_id = person.id;
    let memberships =
        rows_of::<membership::Entity>(db, membership::Column::UserId, membership::Column::Id, user_id).await?;
    let organisation = match person.organisation_id {
        Some(id) => organisation::Entity::find_by_id(id).one(db).await?.map(|o| o.name),
        None => None,
    };
    tables.insert(
        "users".into(),
        vec![json!({
            "id": person.id,
            "name": person.name,
            "email": person.email,
            "language": person.language,
            "organisation": organisation,
            "digest_preference": person.digest_preference,
            "is_admin": person.is_admin,
            "active": person.active,
            "created_at": person.created_at,
        })],
    );

    let grants_of_memberships =
        by_id::<grant::Entity>(db, grant::Column::Id, memberships.iter().filter_map(|m| m.grant_id)).await?;
    tables.insert(
        "memberships".into(),
        memberships
            .iter()
            .map(|m| {
                let project = m.grant_id.and_then(|id| grants_of_memberships.get(&id));
                json!({
                    "cohort_id": m.cohort_id,
                    "cohort": names.cohort(m.cohort_id),
                    "role": m.role.code(),
                    "project": project.map(|g| format!("{} {}", g.reference, g.title)),
                    "created_at": m.created_at,
                })
            })
            .collect(),
    );
    Ok(())
}

/// Invitations, the grant records naming the person, sign-in links.
async fn invitations_and_sign_ins(
    db: &impl ConnectionTrait,
    names: &Names,
    tables: &mut Rows,
    notes: &mut Notes,
) -> AppResult<()> {
    let person = &names.person;
    let user_id = person.id;
    // Invitations to the person's address, and the ones they sent (without the invitee's
    // name and address: those are the invitee's data).
    let invitations = invitation::Entity::find()
        .filter(
            Condition::any()
                .add(invitation::Column::Email.eq(person.email.as_str()))
                .add(invitation::Column::InvitedBy.eq(user_id)),
        )
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?;
    let inviters = by_id::<user::Entity>(db, user::Column::Id, invitations.iter().map(|i| i.invited_by)).await?;
    tables.insert(
        "invitations".into(),
        invitations
            .iter()
            .map(|i| {
                if i.email == person.email {
                    json!({
                        "direction": "received",
                        "cohort_id": i.cohort_id,
                        "cohort": names.cohort(i.cohort_id),
                        "name": i.name,
                        "email": i.email,
                        "role": i.role.code(),
                        "invited_by": inviters.get(&i.invited_by).map(|u| u.name.as_str()),
                        "created_at": i.created_at,
                        "sent_at": i.sent_at,
                        "expires_at": i.expires_at,
                        "accepted_at": i.accepted_at,
                        "bounced_at": i.bounced_at,
                    })
                } else {
                    json!({
                        "direction": "sent",
                        "cohort_id": i.cohort_id,
                        "cohort": names.cohort(i.cohort_id),
                        "role": i.role.code(),
                        "created_at": i.created_at,
                        "accepted_at": i.accepted_at,
                    })
                }
            })
            .collect(),
    );
    notes.insert("invitations");

    // The register keeps the address as the agency wrote it; addresses are compared lowercased.
    let grants = grant::Entity::find()
        .filter(Expr::expr(Func::lower(Expr::col(grant::Column::ContactEmail))).eq(person.email.to_lowercase()))
        .order_by_asc(grant::Column::Id)
        .all(db)
        .await?;
    tables.insert(
        "grants".into(),
        grants
            .iter()
            .map(|g| {
                json!({
                    "reference": g.reference,
                    "title": g.title,
                    "grant_year": g.grant_year,
                    "measure_type": g.measure_type,
                    "contact_name": g.contact_name,
                    "contact_email": g.contact_email,
                })
            })
            .collect(),
    );
    notes.insert("grants");

    let tokens =
        rows_of::<sign_in_token::Entity>(db, sign_in_token::Column::UserId, sign_in_token::Column::Id, user_id).await?;
    tables.insert(
        "sign_in_tokens".into(),
        tokens
            .iter()
            .map(|t| json!({ "created_at": t.created_at, "expires_at": t.expires_at, "consumed_at": t.consumed_at }))
            .collect(),
    );
    notes.insert("sign_in_tokens");

    let erasures = rows_of::<erasure_request::Entity>(
        db,
        erasure_request::Column::UserId,
        erasure_request::Column::Id,
        user_id,
    )
    .await?;
    tables.insert(
        "erasure_requests".into(),
        erasures
            .iter()
            .map(|e| {
                json!({
                    "posts": e.posts,
                    "created_at": e.created_at,
                    "expires_at": e.expires_at,
                    "consumed_at": e.consumed_at,
                })
            })
            .collect(),
    );
    notes.insert("erasure_requests");
    Ok(())
}

/// Sessions: expert bookings, registrations with attendance, needs, polls, surveys, the feed.
async fn sessions(db: &impl ConnectionTrait, names: &Names, tables: &mut Rows, notes: &mut Notes) -> AppResult<()> {
    let user_id = names.person.id;
    // Sessions: bookings as an expert, registrations with attendance, needs, poll answers.
    let experts =
        rows_of::<session_expert::Entity>(db, session_expert::Column::UserId, session_expert::Column::Id, user_id)
            .await?;
    let registrations =
        rows_of::<registration::Entity>(db, registration::Column::UserId, registration::Column::Id, user_id).await?;
    let preparations =
        rows_of::<preparation::Entity>(db, preparation::Column::UserId, preparation::Column::Id, user_id).await?;
    let poll_answers =
        rows_of::<poll_answer::Entity>(db, poll_answer::Column::UserId, poll_answer::Column::Id, user_id).await?;
    let options =
        by_id::<poll_option::Entity>(db, poll_option::Column::Id, poll_answers.iter().map(|a| a.option_id)).await?;
    let takers =
        rows_of::<survey_taker::Entity>(db, survey_taker::Column::UserId, survey_taker::Column::Id, user_id).await?;
    let session_ids = experts
        .iter()
        .map(|e| e.session_id)
        .chain(registrations.iter().map(|r| r.session_id))
        .chain(preparations.iter().map(|p| p.session_id))
        .chain(options.values().map(|o| o.session_id))
        .chain(takers.iter().filter_map(|t| t.session_id));
    let sessions = by_id::<session::Entity>(db, session::Column::Id, session_ids).await?;
    let session_title = |id: i32| sessions.get(&id).map(|s| s.title.clone());
    let session_start = |id: i32| sessions.get(&id).map(|s| s.starts_at);

    tables.insert(
        "session_experts".into(),
        experts
            .iter()
            .map(|e| {
                json!({
                    "session_id": e.session_id,
                    "session": session_title(e.session_id),
                    "starts_at": session_start(e.session_id),
                    "topic": e.topic,
                })
            })
            .collect(),
    );
    tables.insert(
        "registrations".into(),
        registrations
            .iter()
            .map(|r| {
                json!({
                    "session_id": r.session_id,
                    "session": session_title(r.session_id),
                    "starts_at": session_start(r.session_id),
                    "status": r.status.code(),
                    "attended": r.attended,
                    "created_at": r.created_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "preparations".into(),
        preparations
            .iter()
            .map(|p| {
                json!({
                    "session_id": p.session_id,
                    "session": session_title(p.session_id),
                    "needs": p.needs,
                    "offers": p.offers,
                    "updated_at": p.updated_at,
                    "addressed_at": p.addressed_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "poll_answers".into(),
        poll_answers
            .iter()
            .map(|a| {
                let option = options.get(&a.option_id);
                json!({
                    "session_id": option.map(|o| o.session_id),
                    "session": option.and_then(|o| session_title(o.session_id)),
                    "option_starts_at": option.map(|o| o.starts_at),
                    "option_ends_at": option.map(|o| o.ends_at),
                    "answer": a.answer,
                })
            })
            .collect(),
    );
    tables.insert(
        "survey_takers".into(),
        takers
            .iter()
            .map(|t| {
                json!({
                    "survey": t.survey,
                    "programme_id": t.programme_id,
                    "session_id": t.session_id,
                    "session": t.session_id.and_then(session_title),
                    "mailed_at": t.mailed_at,
                    "answered_at": t.answered_at,
                })
            })
            .collect(),
    );
    notes.insert("survey_takers");

    let feeds = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    tables.insert(
        "calendar_feeds".into(),
        feeds.iter().map(|f| json!({ "created_at": f.created_at })).collect(),
    );
    notes.insert("calendar_feeds");
    Ok(())
}

/// Threads, posts with their history, reactions, mentions, reports, read marks, mutes.
async fn discussions(db: &impl ConnectionTrait, names: &Names, tables: &mut Rows, notes: &mut Notes) -> AppResult<()> {
    let user_id = names.person.id;
    // Discussions.
    let own_threads = rows_of::<thread::Entity>(db, thread::Column::AuthorId, thread::Column::Id, user_id).await?;
    let posts = rows_of::<post::Entity>(db, post::Column::AuthorId, post::Column::Id, user_id).await?;
    let own_post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let revisions = post_revision::Entity::find()
        .filter(
            Condition::any()
                .add(post_revision::Column::EditorId.eq(user_id))
                .add(post_revision::Column::PostId.is_in(own_post_ids.iter().copied())),
        )
        .order_by_asc(post_revision::Column::Id)
        .all(db)
        .await?;
    let reactions = post_reaction::Entity::find()
        .filter(post_reaction::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let mentions = post_mention::Entity::find()
        .filter(post_mention::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let reports =
        rows_of::<post_report::Entity>(db, post_report::Column::ReporterId, post_report::Column::Id, user_id).await?;
    let reads = thread_read::Entity::find()
        .filter(thread_read::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let other_posts = by_id::<post::Entity>(
        db,
        post::Column::Id,
        reactions
            .iter()
            .map(|r| r.post_id)
            .chain(mentions.iter().map(|m| m.post_id))
            .chain(reports.iter().map(|r| r.post_id)),
    )
    .await?;
    let thread_ids = posts
        .iter()
        .map(|p| p.thread_id)
        .chain(other_posts.values().map(|p| p.thread_id))
        .chain(reads.iter().map(|r| r.thread_id));
    let threads = by_id::<thread::Entity>(db, thread::Column::Id, thread_ids).await?;
    let thread_title = |id: i32| threads.get(&id).map(|t| t.title.clone());
    let thread_of_post = |post_id: i32| {
        other_posts
            .get(&post_id)
            .or_else(|| posts.iter().find(|p| p.id == post_id))
            .and_then(|p| thread_title(p.thread_id))
    };

    tables.insert(
        "threads".into(),
        own_threads
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "cohort_id": t.cohort_id,
                    "cohort": names.cohort(t.cohort_id),
                    "title": t.title,
                    "locked": t.locked,
                    "pinned": t.pinned,
                    "created_at": t.created_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "posts".into(),
        posts
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "thread_id": p.thread_id,
                    "thread": thread_title(p.thread_id),
                    "parent_post_id": p.parent_post_id,
                    "body": p.body,
                    "created_at": p.created_at,
                    "edited_at": p.edited_at,
                    "deleted": p.deleted,
                    "hidden": p.hidden,
                    "hidden_reason": p.hidden_reason,
                })
            })
            .collect(),
    );
    tables.insert(
        "post_revisions".into(),
        revisions
            .iter()
            .map(|r| {
                // Another person's post that this person edited (as a moderator): when, not
                // that person's text.
                let own = own_post_ids.contains(&r.post_id);
                json!({
                    "post_id": r.post_id,
                    "body": own.then_some(&r.body),
                    "edited_by_you": r.editor_id == user_id,
                    "created_at": r.created_at,
                })
            })
            .collect(),
    );
    notes.insert("post_revisions");
    tables.insert(
        "post_reactions".into(),
        reactions
            .iter()
            .map(|r| {
                json!({
                    "post_id": r.post_id,
                    "thread": thread_of_post(r.post_id),
                    "reaction": r.reaction,
                    "created_at": r.created_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "post_mentions".into(),
        mentions
            .iter()
            .map(|m| json!({ "post_id": m.post_id, "thread": thread_of_post(m.post_id) }))
            .collect(),
    );
    notes.insert("post_mentions");
    tables.insert(
        "post_reports".into(),
        reports
            .iter()
            .map(|r| {
                json!({
                    "post_id": r.post_id,
                    "thread": thread_of_post(r.post_id),
                    "reason": r.reason,
                    "created_at": r.created_at,
                    "resolved_at": r.resolved_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "thread_reads".into(),
        reads
            .iter()
            .map(|r| {
                json!({
                    "thread_id": r.thread_id,
                    "thread": thread_title(r.thread_id),
                    "last_read_post_id": r.last_read_post_id,
                    "updated_at": r.updated_at,
                })
            })
            .collect(),
    );
    let mutes = cohort_mute::Entity::find()
        .filter(cohort_mute::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    tables.insert(
        "cohort_mutes".into(),
        mutes
            .iter()
            .map(|m| {
                json!({
                    "cohort_id": m.cohort_id,
                    "cohort": names.cohort(m.cohort_id),
                    "until": m.until,
                    "reason": m.reason,
                    "created_at": m.created_at,
                })
            })
            .collect(),
    );
    Ok(())
}

/// Resources, project profiles, lessons, lesson reads and followed suggestions.
async fn knowledge(db: &impl ConnectionTrait, names: &Names, tables: &mut Rows, notes: &mut Notes) -> AppResult<()> {
    let person = &names.person;
    let user_id = person.id;
    // Resources, project profiles, lessons, reads and follows.
    let resources = posted_resources(db, user_id).await?;
    tables.insert(
        "resources".into(),
        resources
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "cohort_id": r.cohort_id,
                    "cohort": names.cohort(r.cohort_id),
                    "session_id": r.session_id,
                    "kind": code(&r.kind),
                    "title": r.title,
                    "summary": r.summary,
                    "tags": r.tags,
                    "url": r.url,
                    "file_name": r.file_name,
                    "content_type": r.content_type,
                    "size_bytes": r.size_bytes,
                    "downloads": r.downloads,
                    "created_at": r.created_at,
                    "file_in_zip": zip_path(r),
                })
            })
            .collect(),
    );
    notes.insert("resources");

    let profiles = rows_of::<project_profile::Entity>(
        db,
        project_profile::Column::UpdatedBy,
        project_profile::Column::Id,
        user_id,
    )
    .await?;
    let lessons = lesson::Entity::find()
        .filter(
            Condition::any()
                .add(lesson::Column::AuthorId.eq(user_id))
                // Typed by hand, so in any case.
                .add(Expr::expr(Func::lower(Expr::col(lesson::Column::ContactEmail))).eq(person.email.as_str())),
        )
        .order_by_asc(lesson::Column::Id)
        .all(db)
        .await?;
    let lesson_reads =
        rows_of::<lesson_read::Entity>(db, lesson_read::Column::UserId, lesson_read::Column::Id, user_id).await?;
    let read_lessons =
        by_id::<lesson::Entity>(db, lesson::Column::Id, lesson_reads.iter().map(|r| r.lesson_id)).await?;
    let follows = rows_of::<suggestion_follow::Entity>(
        db,
        suggestion_follow::Column::UserId,
        suggestion_follow::Column::Id,
        user_id,
    )
    .await?;
    let project_ids = profiles
        .iter()
        .map(|p| p.grant_id)
        .chain(lessons.iter().map(|l| l.grant_id))
        .chain(read_lessons.values().map(|l| l.grant_id))
        .chain(follows.iter().flat_map(|f| [f.grant_id, f.suggested_grant_id]));
    let projects = by_id::<grant::Entity>(db, grant::Column::Id, project_ids).await?;
    let project = |id: i32| projects.get(&id).map(|g| format!("{} {}", g.reference, g.title));

    tables.insert(
        "project_profiles".into(),
        profiles
            .iter()
            .map(|p| {
                json!({
                    "project": project(p.grant_id),
                    "needs": p.needs,
                    "offers": p.offers,
                    "updated_at": p.updated_at,
                })
            })
            .collect(),
    );
    notes.insert("project_profiles");
    tables.insert(
        "lessons".into(),
        lessons
            .iter()
            .map(|l| {
                json!({
                    "id": l.id,
                    "project": project(l.grant_id),
                    "written_by_you": l.author_id == user_id,
                    "done": l.done,
                    "results": l.results,
                    "learned": l.learned,
                    "did_not_work": l.did_not_work,
                    "tips": l.tips,
                    "contact_name": l.contact_name,
                    "contact_email": l.contact_email,
                    "contact_phone": l.contact_phone,
                    "created_at": l.created_at,
                    "updated_at": l.updated_at,
                })
            })
            .collect(),
    );
    notes.insert("lessons");
    tables.insert(
        "lesson_reads".into(),
        lesson_reads
            .iter()
            .map(|r| {
                json!({
                    "lesson_id": r.lesson_id,
                    "project": read_lessons.get(&r.lesson_id).and_then(|l| project(l.grant_id)),
                    "read_at": r.read_at,
                })
            })
            .collect(),
    );
    tables.insert(
        "suggestion_follows".into(),
        follows
            .iter()
            .map(|f| {
                json!({
                    "project": project(f.grant_id),
                    "suggested_project": project(f.suggested_grant_id),
                    "reason": f.reason,
                    "created_at": f.created_at,
                })
            })
            .collect(),
    );
    Ok(())
}

/// Mail to the person, the audit log about them or by them, and their earlier copies.
async fn mail_and_records(
    db: &impl ConnectionTrait,
    names: &Names,
    tables: &mut Rows,
    notes: &mut Notes,
) -> AppResult<()> {
    let person = &names.person;
    let user_id = person.id;
    // Mail sent (or to be sent) to the person.
    let mails = outbox_mail::Entity::find()
        .filter(
            Condition::any()
                .add(outbox_mail::Column::UserId.eq(user_id))
                .add(outbox_mail::Column::Recipient.eq(person.email.as_str())),
        )
        .order_by_asc(outbox_mail::Column::Id)
        .all(db)
        .await?;
    tables.insert(
        "outbox_mails".into(),
        mails
            .iter()
            .map(|m| {
                json!({
                    "kind": code(&m.kind),
                    "recipient": m.recipient,
                    "subject": m.subject,
                    "text": redact_links(&m.text_body),
                    "status": code(&m.status),
                    "created_at": m.created_at,
                    "sent_at": m.sent_at,
                })
            })
            .collect(),
    );
    notes.insert("outbox_mails");

    // The audit log: entries about the person and the changes they made.
    let audit = audit_log::Entity::find()
        .filter(
            Condition::any().add(audit_log::Column::ActorUserId.eq(user_id)).add(
                Condition::all()
                    .add(audit_log::Column::SubjectType.eq("user"))
                    .add(audit_log::Column::SubjectId.eq(user_id.to_string())),
            ),
        )
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await?;
    tables.insert(
        "audit_log".into(),
        audit
            .iter()
            .map(|a| {
                json!({
                    "action": a.action,
                    "by_you": a.actor_user_id == Some(user_id),
                    "subject_type": a.subject_type,
                    "subject_id": a.subject_id,
                    "detail": serde_json::from_str::<Value>(&a.detail).unwrap_or_else(|_| json!(a.detail)),
                    "created_at": a.created_at,
                })
            })
            .collect(),
    );

    let exports =
        rows_of::<data_export::Entity>(db, data_export::Column::UserId, data_export::Column::Id, user_id).await?;
    tables.insert(
        "data_exports".into(),
        exports
            .iter()
            .map(|e| {
                json!({
                    "status": code(&e.status),
                    "created_at": e.created_at,
                    "ready_at": e.ready_at,
                    "expires_at": e.expires_at,
                    "downloaded_at": e.downloaded_at,
                })
            })
            .collect(),
    );
    Ok(())
}

async fn posted_resources(db: &impl ConnectionTrait, user_id: i32) -> AppResult<Vec<resource::Model>> {
    rows_of::<resource::Entity>(db, resource::Column::PostedBy, resource::Column::Id, user_id).await
}

/// Where a resource's file lies in the ZIP: `files/{id}-{name}`.
fn zip_path(found: &resource::Model) -> Option<String> {
    found.storage_key.as_ref()?;
    let name = found.file_name.as_deref().unwrap_or("file");
    let safe: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    Some(format!("files/{}-{safe}", found.id))
}

/// The text of a mail without the secrets of its one-time links (`token=…`).
fn redact_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("token=") {
        let (before, after) = rest.split_at(at + "token=".len());
        out.push_str(before);
        out.push('…');
        let end = after
            .find(|c: char| c.is_whitespace() || c == '&' || c == '"' || c == '<')
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The person's copies, newest first (for Settings → «Mine data»).
pub async fn latest(db: &impl ConnectionTrait, user_id: i32) -> AppResult<Option<data_export::Model>> {
    Ok(data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(user_id))
        .order_by_desc(data_export::Column::Id)
        .one(db)
        .await?)
}

/// A copy being prepared or mailed, as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportView {
    /// `preparing`, `ready` (mailed; the link works once), `downloaded`, `expired` or `failed`.
    #[schema(pattern = "^(preparing|ready|downloaded|expired|failed)$")]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    /// Until when the mailed link works (once).
    pub expires_at: Option<DateTime<Utc>>,
    pub downloaded_at: Option<DateTime<Utc>>,
}

impl From<&data_export::Model> for ExportView {
    fn from(found: &data_export::Model) -> Self {
        ExportView {
            status: code(&found.status),
            created_at: found.created_at,
            ready_at: found.ready_at,
            expires_at: found.expires_at,
            downloaded_at: found.downloaded_at,
        }
    }
}

/// Asks for the full copy: records it and builds it in the background, then mails the link.
/// While one is being prepared for the person, asking again starts nothing and answers that
/// one (also when two requests come at once: the partial unique index lets one in).
pub async fn request(state: &AppState, person: &user::Model) -> AppResult<ExportView> {
    let now = state.now();
    purge_expired(&state.db, &state.storage, now).await?;
    if let Some(pending) = preparing(&state.db, person.id).await? {
        return Ok(ExportView::from(&pending));
    }
    let secret = new_secret();
    let inserted = data_export::ActiveModel {
        user_id: Set(person.id),
        token_hash: Set(hash_secret(&secret)),
        status: Set(data_export::Status::Preparing),
        file: Set(None),
        created_at: Set(now),
        ready_at: Set(None),
        expires_at: Set(None),
        downloaded_at: Set(None),
        claimed_at: Set(Some(now)),
        attempts: Set(1),
        size_bytes: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    let created = match inserted {
        Ok(created) => created,
        Err(error) if matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            // Another request got in first: answer its copy.
            return match preparing(&state.db, person.id).await? {
                Some(pending) => Ok(ExportView::from(&pending)),
                None => Err(error.into()),
            };
        }
        Err(error) => return Err(error.into()),
    };
    let view = ExportView::from(&created);
    spawn_preparation(state, created.id, created.user_id, secret);
    Ok(view)
}

/// Prepares the copy in the background while a second task refreshes the claim on it (apart,
/// so a refresh never waits on the preparation's own transaction). A failure marks the copy
/// failed; a claim lost (taken over, or the copy deleted with its person) stops the work.
fn spawn_preparation(state: &AppState, export_id: i32, user_id: i32, secret: String) {
    let state = state.clone();
    tokio::spawn(async move {
        let claim = hash_secret(&secret);
        let (lost, claim_lost) = tokio::sync::oneshot::channel::<()>();
        let keeper = tokio::spawn(keep_claim(state.clone(), export_id, claim.clone(), lost));
        let outcome = tokio::select! {
            biased;
            outcome = prepare(&state, export_id, user_id, &secret) => Some(outcome),
            Ok(()) = claim_lost => None,
        };
        keeper.abort();
        match outcome {
            None => tracing::warn!(export_id, "a data export's claim was lost; its preparation stops"),
            Some(Err(error)) => {
                error.log();
                tracing::error!(export_id, "a data export failed");
                let _ = fail(&state, export_id, &claim).await;
            }
            Some(Ok(())) => {}
        }
    });
}

/// Refreshes the claim every [`CLAIM_REFRESH`] until aborted; says so on `lost` when the copy
/// is no longer this preparation's. A failed refresh is tried again at the next tick (the lease
/// is several ticks long).
async fn keep_claim(state: AppState, export_id: i32, claim: String, lost: tokio::sync::oneshot::Sender<()>) {
    let mut refresh = tokio::time::interval(CLAIM_REFRESH);
    // The first tick is at once; the claim was just made.
    refresh.tick().await;
    loop {
        refresh.tick().await;
        match refresh_claim(&state, export_id, &claim).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(());
                return;
            }
            Err(error) => error.log(),
        }
    }
}

/// The copy is still this preparation's (its claim is the link's hash): the claim is renewed.
async fn refresh_claim(state: &AppState, export_id: i32, claim: &str) -> AppResult<bool> {
    let renewed = data_export::Entity::update_many()
        .col_expr(data_export::Column::ClaimedAt, Expr::value(state.now()))
        .filter(data_export::Column::Id.eq(export_id))
        .filter(data_export::Column::Status.eq(data_export::Status::Preparing))
        .filter(data_export::Column::TokenHash.eq(claim))
        .exec(&state.db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Copies being prepared whose claim is older than the lease at `now` (or was never made).
fn claim_is_stale(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(data_export::Column::Status.eq(data_export::Status::Preparing))
        .add(
            Condition::any()
                .add(data_export::Column::ClaimedAt.is_null())
                .add(data_export::Column::ClaimedAt.lte(now - CLAIM_LEASE)),
        )
}

/// Takes over the copies whose preparation was cut off (their instance stopped: the claim is
/// stale) and prepares them again, with a new link mailed to the person. Of instances doing
/// this at once, the conditional update lets one take each copy. Returns how many it took.
pub async fn resume_stale(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let stale = data_export::Entity::find()
        .filter(claim_is_stale(now))
        .filter(data_export::Column::Attempts.lt(MAX_ATTEMPTS))
        .order_by_asc(data_export::Column::Id)
        .all(&state.db)
        .await?;
    let mut resumed = 0;
    for found in stale {
        // A new secret: the old one was never mailed, and its hash is the old claim.
        let secret = new_secret();
        let taken = data_export::Entity::update_many()
            .col_expr(data_export::Column::TokenHash, Expr::value(hash_secret(&secret)))
            .col_expr(data_export::Column::ClaimedAt, Expr::value(now))
            .col_expr(
                data_export::Column::Attempts,
                Expr::col(data_export::Column::Attempts).add(1),
            )
            .col_expr(data_export::Column::File, Expr::value(Option::<String>::None))
            .filter(data_export::Column::Id.eq(found.id))
            .filter(claim_is_stale(now))
            .filter(data_export::Column::Attempts.lt(MAX_ATTEMPTS))
            .exec(&state.db)
            .await?;
        if taken.rows_affected != 1 {
            // Another instance took it first.
            continue;
        }
        tracing::info!(
            export_id = found.id,
            attempt = found.attempts + 1,
            "resuming a data export that was cut off"
        );
        if let Some(key) = &found.file {
            remove_file(&state.storage, key).await;
        }
        spawn_preparation(state, found.id, found.user_id, secret);
        resumed += 1;
    }
    Ok(resumed)
}

/// The server's worker for cut-off copies: a look at start, then one every few minutes, until
/// `stop` changes.
pub async fn resume_periodically(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(error) = resume_stale(&state).await {
            tracing::error!(error = %error, "resuming data exports failed; the next look tries again");
            error.log();
        }
        tokio::select! {
            _ = tokio::time::sleep(RESUME_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The copy being prepared for the person, if any (one cut off is resumed, see [`resume_stale`]).
async fn preparing(db: &impl ConnectionTrait, user_id: i32) -> AppResult<Option<data_export::Model>> {
    Ok(data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(user_id))
        .filter(data_export::Column::Status.eq(data_export::Status::Preparing))
        .one(db)
        .await?)
}

/// Marks the copy failed, if it is still this preparation's, and deletes its ZIP.
async fn fail(state: &AppState, export_id: i32, claim: &str) -> AppResult<()> {
    let Some(found) = data_export::Entity::find_by_id(export_id).one(&state.db).await? else {
        return Ok(());
    };
    let failed = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::Status,
            Expr::value(code(&data_export::Status::Failed)),
        )
        .col_expr(data_export::Column::File, Expr::value(Option::<String>::None))
        .filter(data_export::Column::Id.eq(export_id))
        .filter(data_export::Column::Status.eq(data_export::Status::Preparing))
        .filter(data_export::Column::TokenHash.eq(claim))
        .exec(&state.db)
        .await?;
    if failed.rows_affected == 1
        && let Some(key) = &found.file
    {
        remove_file(&state.storage, key).await;
    }
    Ok(())
}

/// What the ZIP writer (on a blocking thread) is handed, in order.
enum ZipPart {
    File(String),
    Bytes(Bytes),
}

async fn send_part(sender: &tokio::sync::mpsc::Sender<ZipPart>, part: ZipPart) -> anyhow::Result<()> {
    sender
        .send(part)
        .await
        .map_err(|_| anyhow::anyhow!("the ZIP writer stopped"))
}

/// Builds the ZIP into the storage, marks the copy ready and mails the link: all of it only
/// while the copy is still this preparation's (`secret`'s hash is the claim).
async fn prepare(state: &AppState, export_id: i32, user_id: i32, secret: &str) -> AppResult<()> {
    let claim = hash_secret(secret);
    let person = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tr = Tr::new(Language::parse(&person.language).unwrap_or_default());
    let data = collect(&state.db, user_id, state.now()).await?;
    let json = serde_json::to_vec_pretty(&data).map_err(anyhow::Error::from)?;
    let html = render_page(tr, &data)?;

    let key = format!("exports/{}.zip", uuid::Uuid::new_v4().simple());
    // Recorded before writing, so a failure, a purge or an erasure finds the file to delete.
    let recorded = data_export::Entity::update_many()
        .col_expr(data_export::Column::File, Expr::value(key.clone()))
        .filter(data_export::Column::Id.eq(export_id))
        .filter(data_export::Column::Status.eq(data_export::Status::Preparing))
        .filter(data_export::Column::TokenHash.eq(&claim))
        .exec(&state.db)
        .await?;
    if recorded.rows_affected != 1 {
        // Taken over, or deleted with its person, meanwhile.
        return Ok(());
    }

    // Written to the storage's staging file, then kept (renamed, or uploaded in parts): the
    // ZIP is never whole in memory. The ZIP writer seeks, so it writes on a blocking thread.
    let incoming = state.storage.begin(&key).await?;
    let file = incoming.blocking_file().await?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<ZipPart>(8);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        while let Some(part) = receiver.blocking_recv() {
            match part {
                ZipPart::File(name) => zip.start_file(name, options)?,
                ZipPart::Bytes(bytes) => zip.write_all(&bytes)?,
            }
        }
        let mut file = zip.finish()?;
        file.flush()?;
        let file = file.into_inner().map_err(|error| error.into_error())?;
        Ok(file.metadata()?.len())
    });
    let feed = async {
        let send = |part: ZipPart| send_part(&sender, part);
        send(ZipPart::File("data.json".into())).await?;
        send(ZipPart::Bytes(Bytes::from(json))).await?;
        send(ZipPart::File("index.html".into())).await?;
        send(ZipPart::Bytes(Bytes::from(html))).await?;
        for found in posted_resources(&state.db, user_id).await? {
            let (Some(key), Some(name)) = (found.storage_key.as_deref(), zip_path(&found)) else {
                continue;
            };
            let mut stream = match state.storage.open(key).await {
                Ok(stream) => stream,
                Err(error) => {
                    // A file that is gone (deleted meanwhile) leaves its metadata in data.json.
                    tracing::warn!(error = %format!("{error:#}"), resource_id = found.id, "a resource file is missing from an export");
                    continue;
                }
            };
            send(ZipPart::File(name)).await?;
            while let Some(chunk) = stream.next().await {
                send(ZipPart::Bytes(chunk?)).await?;
            }
        }
        anyhow::Ok(())
    };
    let fed = feed.await;
    drop(sender);
    let written = writer.await.map_err(anyhow::Error::from)?;
    fed?;
    let size = written?;
    incoming.keep().await?;

    let now = state.now();
    let expires_at = now + Duration::hours(i64::from(state.settings.export_link_hours));
    let txn = crate::db::write_transaction(&state.db).await?;
    let updated = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::Status,
            Expr::value(code(&data_export::Status::Ready)),
        )
        .col_expr(data_export::Column::ReadyAt, Expr::value(now))
        .col_expr(data_export::Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(
            data_export::Column::SizeBytes,
            Expr::value(i64::try_from(size).unwrap_or(i64::MAX)),
        )
        .filter(data_export::Column::Id.eq(export_id))
        .filter(data_export::Column::Status.eq(data_export::Status::Preparing))
        .filter(data_export::Column::TokenHash.eq(&claim))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        // Taken over, failed by a purge or deleted with its person meanwhile: the file goes.
        txn.rollback().await?;
        remove_file(&state.storage, &key).await;
        return Ok(());
    }
    let link = state.link(&format!("{LINK_PATH}?token={secret}"));
    let mail = compose_mail(tr, &person, &link, &tr.date_time(expires_at))?;
    crate::sessions::notices::enqueue(state, &txn, &person, mail).await?;
    txn.commit().await?;
    state.outbox.notify_one();
    Ok(())
}

#[derive(Template)]
#[template(path = "mail/data_export.txt")]
struct ExportMailText<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
    until: &'a str,
}

#[derive(Template)]
#[template(path = "mail/data_export.html")]
struct ExportMailHtml<'a> {
    tr: Tr,
    name: &'a str,
    link: &'a str,
    until: &'a str,
}

fn compose_mail(tr: Tr, to: &user::Model, link: &str, until: &str) -> AppResult<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.email.clone(),
        subject: tr.t("mail.data_export.subject").to_string(),
        text: ExportMailText {
            tr,
            name: &to.name,
            link,
            until,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        html: ExportMailHtml {
            tr,
            name: &to.name,
            link,
            until,
        }
        .render()
        .map_err(anyhow::Error::from)?,
        ..Default::default()
    })
}

/// One table of the readable page.
struct Section {
    key: String,
    heading: String,
    note: Option<String>,
    rows: Vec<Vec<(String, String)>>,
}

#[derive(Template)]
#[template(path = "my_data_export.html")]
struct ExportPage<'a> {
    tr: Tr,
    name: &'a str,
    generated_at: String,
    sections: Vec<Section>,
}

/// The readable page of the ZIP: one section per table, every field with a translated name.
fn render_page(tr: Tr, data: &PersonalData) -> AppResult<String> {
    let sections = data
        .tables
        .iter()
        .map(|(key, rows)| {
            let heading_key = format!("my_data.table.{key}");
            Section {
                key: key.clone(),
                heading: if tr.has(&heading_key) {
                    tr.t(&heading_key).to_string()
                } else {
                    key.clone()
                },
                note: data.notes.get(key).cloned(),
                rows: rows.iter().map(|row| fields(tr, row)).collect(),
            }
        })
        .collect();
    let name = data.person["name"].as_str().unwrap_or_default();
    ExportPage {
        tr,
        name,
        generated_at: tr.date_time(data.generated_at),
        sections,
    }
    .render()
    .map_err(|error| AppError::Internal(error.into()))
}

/// A row's fields as (translated name, readable value).
fn fields(tr: Tr, row: &Value) -> Vec<(String, String)> {
    let Some(object) = row.as_object() else {
        return vec![(String::new(), row.to_string())];
    };
    object
        .iter()
        .map(|(key, value)| {
            let label_key = format!("my_data.field.{key}");
            let label = if tr.has(&label_key) {
                tr.t(&label_key).to_string()
            } else {
                key.clone()
            };
            (label, readable(tr, value))
        })
        .collect()
}

fn readable(tr: Tr, value: &Value) -> String {
    match value {
        Value::Null => "–".to_string(),
        Value::Bool(true) => tr.t("my_data.yes").to_string(),
        Value::Bool(false) => tr.t("my_data.no").to_string(),
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => tr.date_time(at.with_timezone(&Utc)),
            Err(_) => text.clone(),
        },
        Value::Number(number) => number.to_string(),
        other => other.to_string(),
    }
}

/// What a download link leads to.
pub enum LinkState {
    /// The copy can be downloaded until `expires_at`.
    Ready { expires_at: DateTime<Utc> },
    /// Downloaded already, or expired: the file is gone.
    Gone,
    /// No such link.
    Unknown,
}

/// What the link with `secret` leads to now (without using it).
pub async fn link_state(db: &impl ConnectionTrait, secret: &str, now: DateTime<Utc>) -> AppResult<LinkState> {
    let Some(found) = data_export::Entity::find()
        .filter(data_export::Column::TokenHash.eq(hash_secret(secret.trim())))
        .one(db)
        .await?
    else {
        return Ok(LinkState::Unknown);
    };
    Ok(match (found.status, found.expires_at) {
        (data_export::Status::Ready, Some(expires_at)) if expires_at > now => LinkState::Ready { expires_at },
        (data_export::Status::Preparing, _) => LinkState::Unknown,
        _ => LinkState::Gone,
    })
}

/// The ZIP of a download, as a stream from the storage; the file is deleted when the stream
/// ends or is dropped.
pub struct Download {
    pub file_name: String,
    /// The ZIP's size, when it was recorded (copies prepared before it was).
    pub size: Option<u64>,
    pub body: crate::resources::storage::FileStream,
}

/// Uses the link once: the first request gets the ZIP (its file is deleted once it has been
/// streamed, or the download broke off); a second one, or one after expiry, gets
/// [`LinkState::Gone`]. The conditional update lets one of two requests at once through.
pub async fn download(state: &AppState, secret: &str) -> AppResult<Result<Download, LinkState>> {
    let now = state.now();
    let hash = hash_secret(secret.trim());
    let used = data_export::Entity::update_many()
        .col_expr(
            data_export::Column::Status,
            Expr::value(code(&data_export::Status::Downloaded)),
        )
        .col_expr(data_export::Column::DownloadedAt, Expr::value(now))
        .filter(data_export::Column::TokenHash.eq(&hash))
        .filter(data_export::Column::Status.eq(data_export::Status::Ready))
        .filter(data_export::Column::ExpiresAt.gt(now))
        .exec(&state.db)
        .await?;
    if used.rows_affected != 1 {
        return Ok(Err(link_state(&state.db, secret, now).await?));
    }
    let found = data_export::Entity::find()
        .filter(data_export::Column::TokenHash.eq(&hash))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = found
        .file
        .clone()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a ready data export has no file")))?;
    // Should this fail, the copy stays `downloaded` with its file, which the purge deletes.
    let stream = state.storage.open(&key).await?;
    let cleanup = DeleteWhenDropped {
        state: Some(state.clone()),
        export_id: found.id,
        key,
    };
    let body = stream
        .map(move |chunk| {
            // Owned by the stream, so the file goes when the stream does.
            let _ = &cleanup;
            chunk
        })
        .boxed();
    Ok(Ok(Download {
        file_name: format!("samling-mine-data-{}.zip", found.created_at.format("%Y-%m-%d")),
        size: found.size_bytes.and_then(|size| u64::try_from(size).ok()),
        body,
    }))
}

/// Deletes a downloaded copy's file, and forgets it, once the download's stream is dropped
/// (sent whole, or broken off: the link works once either way).
struct DeleteWhenDropped {
    state: Option<AppState>,
    export_id: i32,
    key: String,
}

impl Drop for DeleteWhenDropped {
    fn drop(&mut self) {
        let (Some(state), Ok(runtime)) = (self.state.take(), tokio::runtime::Handle::try_current()) else {
            // No runtime left (the server is stopping): the purge deletes the file later.
            return;
        };
        let (export_id, key) = (self.export_id, std::mem::take(&mut self.key));
        runtime.spawn(async move {
            remove_file(&state.storage, &key).await;
            let forgotten = data_export::Entity::update_many()
                .col_expr(data_export::Column::File, Expr::value(Option::<String>::None))
                .filter(data_export::Column::Id.eq(export_id))
                .exec(&state.db)
                .await;
            if let Err(error) = forgotten {
                tracing::warn!(export_id, %error, "cannot record that a data export's file is deleted");
            }
        });
    }
}

/// Deletes a copy's ZIP from the storage; one already gone is fine, a failure is logged (the
/// row keeps the key only where a later purge will try again).
pub(crate) async fn remove_file(storage: &Storage, key: &str) {
    if let Err(error) = storage.remove(key).await {
        tracing::warn!(key, "cannot delete a data export's file: {error:#}");
    }
}

/// Deletes the files of copies whose link has expired (and of copies whose preparation was cut
/// off [`MAX_ATTEMPTS`] times), and marks them so. Returns how many copies it ended. The
/// retention job calls it; asking for a copy does too. Running it twice does nothing more.
pub async fn purge_expired(db: &impl ConnectionTrait, storage: &Storage, now: DateTime<Utc>) -> AppResult<usize> {
    let ended = data_export::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(data_export::Column::Status.eq(data_export::Status::Ready))
                        .add(data_export::Column::ExpiresAt.lte(now)),
                )
                .add(claim_is_stale(now).add(data_export::Column::Attempts.gte(MAX_ATTEMPTS)))
                // A file left behind by a failure, or by a download that stopped half-way (not
                // one that may still be streaming it).
                .add(
                    Condition::all()
                        .add(
                            data_export::Column::Status
                                .is_in([code(&data_export::Status::Expired), code(&data_export::Status::Failed)]),
                        )
                        .add(data_export::Column::File.is_not_null()),
                )
                .add(
                    Condition::all()
                        .add(data_export::Column::Status.eq(data_export::Status::Downloaded))
                        .add(data_export::Column::DownloadedAt.lte(now - DOWNLOAD_GRACE))
                        .add(data_export::Column::File.is_not_null()),
                ),
        )
        .all(db)
        .await?;
    for found in &ended {
        if let Some(file) = &found.file {
            remove_file(storage, file).await;
        }
        let status = match found.status {
            data_export::Status::Ready => data_export::Status::Expired,
            data_export::Status::Preparing => data_export::Status::Failed,
            other => other,
        };
        data_export::Entity::update_many()
            .col_expr(data_export::Column::Status, Expr::value(code(&status)))
            .col_expr(data_export::Column::File, Expr::value(Option::<String>::None))
            .filter(data_export::Column::Id.eq(found.id))
            .filter(data_export::Column::Status.eq(found.status))
            .exec(db)
            .await?;
    }
    Ok(ended.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_links_are_left_out_of_mail_texts() {
        let text = "Last ned: http://x/mine-data?token=abc123 og http://x/sign-in/link?token=s3cret&next=/a\nHei";
        let redacted = redact_links(text);
        assert!(!redacted.contains("abc123"), "{redacted}");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(redacted.contains("&next=/a\nHei"), "{redacted}");
    }

    #[test]
    fn resource_files_keep_their_name_inside_the_files_folder() {
        let found = resource::Model {
            id: 7,
            cohort_id: 1,
            session_id: None,
            kind: resource::Kind::File,
            title: "Plan".into(),
            summary: String::new(),
            tags: String::new(),
            url: None,
            storage_key: Some("abc".into()),
            file_name: Some("../plan/a.pdf".into()),
            content_type: Some("application/pdf".into()),
            size_bytes: Some(3),
            posted_by: 1,
            created_at: Utc::now(),
            downloads: 0,
        };
        assert_eq!(zip_path(&found).as_deref(), Some("files/7-.._plan_a.pdf"));
        let link = resource::Model {
            storage_key: None,
            ..found
        };
        assert_eq!(zip_path(&link), None);
    }
}
