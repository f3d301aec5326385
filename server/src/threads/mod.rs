//! Discussion threads of a cohort and their posts. Posting is idempotent by a client-chosen id,
//! and every change appends to the cohort's event log in the same transaction.

pub mod changes;
pub mod events;
pub mod live;
pub mod moderation;
pub mod views;
pub mod writer;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::write_transaction;
use crate::domain::policy::Action;
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort, cohort_mute, membership, post, post_mention, session, thread, thread_read, user};
use crate::error::{AppError, AppResult};
use crate::realtime::{self, EventFrame};
use crate::search;
use crate::state::AppState;
use crate::users::names;
use views::{PostActivity, fresh_post_view, post_views, thread_view};
pub use views::{PostView, ThreadView};

/// The longest post, in characters.
pub const MAX_POST_CHARS: usize = 20_000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadDetail {
    pub thread: ThreadView,
    pub posts: Vec<PostView>,
}

/// A thread in the cohort's list, with what the viewer has not read yet.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadSummary {
    #[serde(flatten)]
    pub thread: ThreadView,
    /// Visible posts by others after the viewer's read position.
    pub unread: usize,
}

/// Counts the visible posts by others after each thread's read position.
fn unread_counts(posts: &[post::Model], reads: &HashMap<i32, i32>, viewer_id: i32) -> HashMap<i32, usize> {
    let mut counts = HashMap::new();
    for found in posts {
        let unread = !found.deleted
            && !found.hidden
            && found.author_id != viewer_id
            && found.id > reads.get(&found.thread_id).copied().unwrap_or(0);
        if unread {
            *counts.entry(found.thread_id).or_insert(0) += 1;
        }
    }
    counts
}

async fn read_positions(db: &impl ConnectionTrait, user_id: i32) -> AppResult<HashMap<i32, i32>> {
    Ok(thread_read::Entity::find()
        .filter(thread_read::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|read| (read.thread_id, read.last_read_post_id))
        .collect())
}

/// The cohort's threads, pinned first, then by latest activity, with unread counts.
pub async fn cohort_threads(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<ThreadSummary>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let threads = thread::Entity::find()
        .filter(thread::Column::CohortId.eq(cohort_id))
        .all(&state.db)
        .await?;
    let posts = post::Entity::find()
        .filter(post::Column::CohortId.eq(cohort_id))
        .all(&state.db)
        .await?;
    let activity: Vec<PostActivity> = posts.iter().map(PostActivity::from).collect();
    let names = names(&state.db, threads.iter().map(|t| t.author_id).collect::<Vec<_>>()).await?;
    let unread = unread_counts(
        &posts,
        &read_positions(&state.db, viewer.user.id).await?,
        viewer.user.id,
    );
    let mut summaries: Vec<ThreadSummary> = threads
        .iter()
        .map(|t| ThreadSummary {
            thread: thread_view(t, &activity, &names),
            unread: unread.get(&t.id).copied().unwrap_or(0),
        })
        .collect();
    summaries.sort_by_key(|summary| std::cmp::Reverse((summary.thread.pinned, summary.thread.last_activity)));
    for summary in &mut summaries {
        crate::users::in_language(&mut summary.thread.author, viewer.language());
    }
    Ok(summaries)
}

/// Unread posts per cohort the viewer belongs to, for the dashboard.
pub async fn unread_by_cohort(state: &AppState, viewer: &CurrentUser) -> AppResult<HashMap<i32, usize>> {
    let cohort_ids: Vec<i32> = viewer.actor.memberships.keys().copied().collect();
    unread_in_cohorts(state, viewer, cohort_ids).await
}

/// Unread posts in one cohort, for its page.
pub async fn unread_in_cohort(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<usize> {
    if !viewer.actor.memberships.contains_key(&cohort_id) {
        return Ok(0);
    }
    let counts = unread_in_cohorts(state, viewer, vec![cohort_id]).await?;
    Ok(counts.get(&cohort_id).copied().unwrap_or(0))
}

async fn unread_in_cohorts(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_ids: Vec<i32>,
) -> AppResult<HashMap<i32, usize>> {
    if cohort_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let posts = post::Entity::find()
        .filter(post::Column::CohortId.is_in(cohort_ids))
        .all(&state.db)
        .await?;
    let unread = unread_counts(
        &posts,
        &read_positions(&state.db, viewer.user.id).await?,
        viewer.user.id,
    );
    let cohort_of: HashMap<i32, i32> = posts.iter().map(|p| (p.thread_id, p.cohort_id)).collect();
    let mut by_cohort = HashMap::new();
    for (thread_id, count) in unread {
        if let Some(cohort_id) = cohort_of.get(&thread_id) {
            *by_cohort.entry(*cohort_id).or_insert(0) += count;
        }
    }
    Ok(by_cohort)
}

pub(crate) async fn visible_thread(state: &AppState, viewer: &CurrentUser, thread_id: i32) -> AppResult<thread::Model> {
    let found = thread::Entity::find_by_id(thread_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

pub(crate) async fn visible_post(state: &AppState, viewer: &CurrentUser, post_id: i32) -> AppResult<post::Model> {
    let found = post::Entity::find_by_id(post_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

pub async fn thread_detail(state: &AppState, viewer: &CurrentUser, thread_id: i32) -> AppResult<ThreadDetail> {
    let found = visible_thread(state, viewer, thread_id).await?;
    let mut detail = detail_of(state, found).await?;
    // An erased person's posts, under «Tidligere deltaker» in the reader's language.
    crate::users::in_language(&mut detail.thread.author, viewer.language());
    detail.posts = std::mem::take(&mut detail.posts)
        .into_iter()
        .map(|post| post.in_language(viewer.language()))
        .collect();
    Ok(detail)
}

/// A thread already checked with [`visible_thread`], with its posts.
pub(crate) async fn detail_of(state: &AppState, found: thread::Model) -> AppResult<ThreadDetail> {
    let posts = post::Entity::find()
        .filter(post::Column::ThreadId.eq(found.id))
        .order_by_asc(post::Column::Id)
        .all(&state.db)
        .await?;
    let activity: Vec<PostActivity> = posts.iter().map(PostActivity::from).collect();
    let names = names(&state.db, [found.author_id]).await?;
    let thread = thread_view(&found, &activity, &names);
    Ok(ThreadDetail {
        thread,
        posts: post_views(&state.db, posts).await?,
    })
}

pub(crate) fn checked_body(body: &str) -> AppResult<String> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::invalid("empty_post", "body"));
    }
    if body.chars().count() > MAX_POST_CHARS {
        return Err(AppError::invalid("post_too_long", "body"));
    }
    // Posts also arrive over the websocket, past the HTTP boundary's text rule.
    if crate::domain::text::has_forbidden_control(body) {
        return Err(AppError::invalid_text("body"));
    }
    Ok(body.to_string())
}

pub(crate) fn checked_client_id(client_id: &str) -> AppResult<String> {
    let valid = (1..=64).contains(&client_id.len())
        && client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(client_id.to_string())
    } else {
        Err(AppError::invalid("invalid_client_id", "client_id"))
    }
}

/// Refuses a member a moderator has muted in the cohort, saying until when.
pub(crate) async fn require_not_muted(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<()> {
    let mute = cohort_mute::Entity::find_by_id((cohort_id, viewer.user.id))
        .one(&state.db)
        .await?;
    check_not_muted(mute.map(|mute| mute.until), state.now())
}

/// The refusal for a member muted until `until`, while that is still ahead of `now`.
pub(crate) fn check_not_muted(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AppResult<()> {
    match until {
        Some(until) if until > now => Err(AppError::Muted { until }),
        _ => Ok(()),
    }
}

/// Everything that is checked before a thread is started or a post is rewritten, in one place
/// (a new post's thread and mute are checked by the post writer as it stores the post).
pub(crate) async fn require_may_post(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<()> {
    viewer.require(Action::WriteInCohort { cohort_id })?;
    require_not_muted(state, viewer, cohort_id).await?;
    state.post_limits.check(viewer.user.id)
}

/// The cohort members a body mentions as `@Name`, matched case-insensitively on whole names:
/// one indexed query for the names the body could be writing ([`mention_candidates`]),
/// whatever the cohort's size; none when the body holds no `@`.
pub async fn mentioned_members(db: &impl ConnectionTrait, cohort_id: i32, body: &str) -> AppResult<Vec<(i32, String)>> {
    let candidates = mention_candidates(body);
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut mentioned: Vec<(i32, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::NameKey.is_in(candidates))
        // Checked per person found (the membership's unique index), so the cohort's other
        // members are never read.
        .filter(Expr::exists(
            Query::select()
                .column(membership::Column::UserId)
                .from(membership::Entity)
                .and_where(
                    Expr::col((membership::Entity, membership::Column::UserId))
                        .equals((user::Entity, user::Column::Id)),
                )
                .and_where(Expr::col((membership::Entity, membership::Column::CohortId)).eq(cohort_id))
                .to_owned(),
        ))
        .into_tuple()
        .all(db)
        .await?;
    mentioned.sort_unstable();
    mentioned.dedup();
    Ok(mentioned)
}

/// The most characters of a person's name (as [`crate::cohorts::find_or_create_user`] allows).
const MAX_NAME_CHARS: usize = 200;
/// The most words of a name a mention can write ("Maria de los Ángeles García Nordmann").
const MAX_NAME_WORDS: usize = 6;
/// The most names one body is looked up by: a body can hold many `@`, each followed by many
/// possible name endings, and the lookup must stay one bounded query.
const MAX_MENTION_CANDIDATES: usize = 1000;

/// The texts a body could be mentioning, as [`user::name_key`] keys: after each `@`, every
/// stretch that ends where a whole name may end, before a character that is not a letter or a
/// digit or at the end of the body ("@Kari Nordmann, hei" gives "kari" and "kari nordmann",
/// never "kari nordmann " nor "kari" for "@Karianne"), within one line, up to the next `@`, and
/// at most [`MAX_NAME_WORDS`] words and [`MAX_NAME_CHARS`] characters.
pub fn mention_candidates(body: &str) -> BTreeSet<String> {
    let mut candidates = BTreeSet::new();
    if !body.contains('@') {
        return candidates;
    }
    let lowered = body.to_lowercase();
    for (at, _) in lowered.match_indices('@') {
        let rest = &lowered[at + 1..];
        let mut words = 1;
        for (i, c) in rest.char_indices().take(MAX_NAME_CHARS) {
            if c == '@' || c == '\n' {
                break;
            }
            if c.is_whitespace() && !rest[..i].ends_with(char::is_whitespace) {
                words += 1;
                if words > MAX_NAME_WORDS {
                    break;
                }
            }
            let end = i + c.len_utf8();
            let ends_a_name = rest[end..].chars().next().is_none_or(|next| !next.is_alphanumeric());
            if ends_a_name && !c.is_whitespace() {
                candidates.insert(rest[..end].to_string());
                if candidates.len() >= MAX_MENTION_CANDIDATES {
                    return candidates;
                }
            }
        }
    }
    candidates
}

pub(crate) async fn store_mentions(
    txn: &impl ConnectionTrait,
    post_id: i32,
    mentioned: &[(i32, String)],
) -> AppResult<()> {
    post_mention::Entity::delete_many()
        .filter(post_mention::Column::PostId.eq(post_id))
        .exec(txn)
        .await?;
    if !mentioned.is_empty() {
        post_mention::Entity::insert_many(mentioned.iter().map(|(user_id, _)| post_mention::ActiveModel {
            post_id: Set(post_id),
            user_id: Set(*user_id),
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewThread {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// The first post, markdown.
    #[schema(min_length = 1, max_length = 20_000, pattern = r"\S")]
    pub body: String,
    /// Ties the thread to one of the cohort's sessions.
    pub session_id: Option<i32>,
    /// Chosen by the client (1–64 of A–Z, a–z, 0–9, `-`, `_`); a retry with the same id creates nothing new.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub client_id: String,
}

/// Starts a thread with its first post. Returns whether it was created now (false: a retry).
pub async fn create_thread(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    new: NewThread,
) -> AppResult<(ThreadDetail, bool)> {
    viewer.require(Action::WriteInCohort { cohort_id })?;
    // The policy lets an admin write in any cohort, one that does not exist too.
    if cohort::Entity::find_by_id(cohort_id).one(&state.db).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let title = new.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("invalid_title", "title"));
    }
    let body = checked_body(&new.body)?;
    let client_id = checked_client_id(&new.client_id)?;
    if let Some(session_id) = new.session_id {
        let tied = session::Entity::find_by_id(session_id).one(&state.db).await?;
        if tied.is_none_or(|s| s.cohort_id != cohort_id) {
            return Err(AppError::invalid("unknown_session", "session_id"));
        }
    }
    if let Some(existing) = existing_post(state, viewer, &client_id).await? {
        return Ok((thread_detail(state, viewer, existing.thread_id).await?, false));
    }
    require_may_post(state, viewer, cohort_id).await?;
    let mentioned = mentioned_members(&state.db, cohort_id, &body).await?;
    let now = state.now();
    let txn = write_transaction(&state.db).await?;
    let created = thread::ActiveModel {
        cohort_id: Set(cohort_id),
        session_id: Set(new.session_id),
        title: Set(title),
        author_id: Set(viewer.user.id),
        locked: Set(false),
        pinned: Set(false),
        answered_post_id: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let first = match insert_post(&txn, &created, viewer.user.id, None, body, client_id.clone(), now).await {
        Ok(first) => first,
        // The same send raced itself: the other try stored it.
        Err(error) if is_duplicate(&error) => {
            txn.rollback().await?;
            let existing = existing_post(state, viewer, &client_id)
                .await?
                .ok_or_else(|| AppError::from(error))?;
            return Ok((thread_detail(state, viewer, existing.thread_id).await?, false));
        }
        Err(error) => return Err(error.into()),
    };
    if !mentioned.is_empty() {
        store_mentions(&txn, first.id, &mentioned).await?;
    }
    search::put(&txn, thread_search_entry(&created)).await?;
    search::put(&txn, post_search_entry(&first, &created.title)).await?;
    realtime::events::append(
        &txn,
        cohort_id,
        EventKind::ThreadCreated,
        Some(created.id),
        Some(first.id),
        now,
    )
    .await?;
    realtime::commit_and_signal(txn, &state.hub, cohort_id).await?;
    Ok((thread_detail(state, viewer, created.id).await?, true))
}

pub fn thread_search_entry(thread: &thread::Model) -> search::Entry {
    search::Entry {
        kind: search::Kind::Thread,
        source_id: thread.id,
        cohort_id: thread.cohort_id,
        title: thread.title.clone(),
        body: String::new(),
        path: format!("/threads/{}", thread.id),
        created_at: thread.created_at,
    }
}

/// A post is found under its thread's title, by its text without markup.
pub fn post_search_entry(post: &post::Model, thread_title: &str) -> search::Entry {
    search::Entry {
        kind: search::Kind::Post,
        source_id: post.id,
        cohort_id: post.cohort_id,
        title: thread_title.to_string(),
        body: crate::markdown::to_plain_text(&post.body),
        path: format!("/threads/{}#post-{}", post.thread_id, post.id),
        created_at: post.created_at,
    }
}

/// Indexes posts as they now read, under their threads' titles: new posts after they are
/// stored, a post after an edit or a restore.
pub(crate) async fn index_posts(txn: &impl ConnectionTrait, posts: &[post::Model]) -> AppResult<()> {
    let thread_ids: BTreeSet<i32> = posts.iter().map(|post| post.thread_id).collect();
    let titles: HashMap<i32, String> = thread::Entity::find()
        .filter(thread::Column::Id.is_in(thread_ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|thread| (thread.id, thread.title))
        .collect();
    let entries = posts
        .iter()
        .map(|post| post_search_entry(post, titles.get(&post.thread_id).map_or("", String::as_str)))
        .collect();
    search::put_many(txn, entries).await
}

async fn existing_post(state: &AppState, viewer: &CurrentUser, client_id: &str) -> AppResult<Option<post::Model>> {
    Ok(post::Entity::find()
        .filter(post::Column::AuthorId.eq(viewer.user.id))
        .filter(post::Column::ClientId.eq(client_id))
        .one(&state.db)
        .await?)
}

/// Whether storing failed on the unique client id of the author's posts. Asked of the
/// database's error itself: as an `AppError` a unique violation is already `concurrent_change`.
fn is_duplicate(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

async fn insert_post(
    txn: &impl ConnectionTrait,
    in_thread: &thread::Model,
    author_id: i32,
    parent_post_id: Option<i32>,
    body: String,
    client_id: String,
    now: DateTime<Utc>,
) -> Result<post::Model, sea_orm::DbErr> {
    post::ActiveModel {
        thread_id: Set(in_thread.id),
        cohort_id: Set(in_thread.cohort_id),
        author_id: Set(author_id),
        parent_post_id: Set(parent_post_id),
        body: Set(body),
        client_id: Set(client_id),
        hidden: Set(false),
        hidden_reason: Set(None),
        deleted: Set(false),
        version: Set(0),
        created_at: Set(now),
        edited_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPost {
    /// Markdown.
    #[schema(min_length = 1, max_length = 20_000, pattern = r"\S")]
    pub body: String,
    /// The post this one answers, in the same thread.
    pub parent_post_id: Option<i32>,
    /// Chosen by the client; a retried send with the same id creates one post.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub client_id: String,
}

/// Posts in a thread. Returns the post and whether it was created now (false: a retry).
pub async fn create_post(
    state: &AppState,
    viewer: &CurrentUser,
    thread_id: i32,
    new: NewPost,
) -> AppResult<(PostView, bool)> {
    let cohort_id = state
        .posts
        .cohort_of(&state.db, thread_id)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ViewCohort { cohort_id })?;
    viewer.require(Action::WriteInCohort { cohort_id })?;
    let body = checked_body(&new.body)?;
    let client_id = checked_client_id(&new.client_id)?;
    if let Err(refusal) = state.post_limits.check(viewer.user.id) {
        return earlier_try(state, viewer, &client_id, refusal).await;
    }
    if let Some(parent_id) = new.parent_post_id {
        let parent = post::Entity::find_by_id(parent_id).one(&state.db).await?;
        if parent.is_none_or(|p| p.thread_id != thread_id) {
            return Err(AppError::invalid("unknown_parent_post", "parent_post_id"));
        }
    }
    let mentioned = mentioned_members(&state.db, cohort_id, &body).await?;
    let now = state.now();
    // The writer checks the thread (there, not locked) and the author's mute as it stores the
    // post, in the same transaction.
    let row = writer::NewRow {
        thread_id,
        cohort_id,
        author_id: viewer.user.id,
        parent_post_id: new.parent_post_id,
        body,
        client_id: client_id.clone(),
        mentioned: mentioned.clone(),
        now,
    };
    let (created, seq) = match state.posts.write(row).await? {
        writer::Written::Created { post, seq } => (post, seq),
        writer::Written::Duplicate => {
            let lost = AppError::Internal(anyhow::anyhow!("a retried post that cannot be found"));
            return earlier_try(state, viewer, &client_id, lost).await;
        }
        writer::Written::Refused(refusal) => return earlier_try(state, viewer, &client_id, refusal).await,
    };
    let view = fresh_post_view(created, viewer.user.name.clone(), mentioned);
    // The busiest path: the sockets get the post as stored, without reading it back.
    let event = events::EventView {
        seq,
        kind: EventKind::PostCreated,
        thread_id: Some(thread_id),
        post_id: Some(view.id),
        created_at: now,
        post: Some(view),
        thread: None,
    };
    if state.hub.follows(cohort_id) {
        state.hub.publish(cohort_id, EventFrame::new(cohort_id, seq, &event));
    }
    // Lent to the event to be serialised with it, not copied.
    let view = event.post.expect("the event was made with the post");
    Ok((view, true))
}

/// A retried send finds the post an earlier try stored, even when the thread was locked or
/// the author muted since; without one, the post is refused with `refusal`. The usual path
/// does not read first: the unique client id catches a retry when the insert runs.
async fn earlier_try(
    state: &AppState,
    viewer: &CurrentUser,
    client_id: &str,
    refusal: AppError,
) -> AppResult<(PostView, bool)> {
    match existing_post(state, viewer, client_id).await? {
        Some(existing) => Ok((post_views(&state.db, vec![existing]).await?.remove(0), false)),
        None => Err(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::mention_candidates;

    fn candidates(body: &str) -> Vec<String> {
        mention_candidates(body).into_iter().collect()
    }

    #[test]
    fn a_body_without_at_has_no_candidates() {
        assert!(candidates("Hei alle, se https://example.no").is_empty());
    }

    #[test]
    fn each_whole_word_ending_after_an_at_is_a_candidate_lowercased() {
        let found = candidates("Hei @Kari Nordmann, og @ÆRLIG Øvrebø!");
        for expected in ["kari", "kari nordmann", "ærlig", "ærlig øvrebø", "ærlig øvrebø!"] {
            assert!(found.contains(&expected.to_string()), "{expected} in {found:?}");
        }
        assert!(
            !found.contains(&"kari nordmann ".to_string()),
            "no name ends in a space"
        );
        assert!(!found.iter().any(|c| c.starts_with('@') || c.starts_with(' ')));
    }

    #[test]
    fn a_name_is_never_the_start_of_a_longer_word() {
        let found = candidates("Spør @Karianne");
        assert_eq!(found, vec!["karianne".to_string()]);
    }

    #[test]
    fn an_email_address_gives_only_its_domain_parts() {
        assert_eq!(
            candidates("skriv til kari@example.no"),
            vec!["example".to_string(), "example.no".to_string()]
        );
    }

    #[test]
    fn a_candidate_stays_within_its_line_stops_at_the_next_at_and_has_at_most_six_words() {
        let found = candidates("@Ola\nNordmann @Kari a b c d e f g");
        assert!(found.contains(&"ola".to_string()));
        assert!(!found.iter().any(|c| c.contains('\n') || c.contains('@')));
        assert!(found.contains(&"kari a b c d e".to_string()));
        assert!(!found.contains(&"kari a b c d e f".to_string()), "{found:?}");
    }

    #[test]
    fn candidates_are_bounded_in_length_and_number() {
        let long = format!("@{}", "a".repeat(500));
        assert!(candidates(&long).is_empty(), "a 500-letter word is no name");
        let many: String = (0..5_000).map(|i| format!("@n{i} x ")).collect();
        let found = mention_candidates(&many);
        assert_eq!(found.len(), super::MAX_MENTION_CANDIDATES);
        assert!(found.iter().all(|c| c.chars().count() <= super::MAX_NAME_CHARS));
    }
}
