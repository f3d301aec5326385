//! Group commit for new posts. A post that arrives while a group is being stored waits and is
//! stored with the others that arrived meanwhile, in the next group: on SQLite one transaction
//! of a few statements for the whole group (one insert for the posts, one counter update and
//! one insert for the events), on PostgreSQL one statement. Alone, a post is stored at once;
//! under load the writer also waits a moment for company (see [`LINGER`]).
//!
//! The transaction also reads the group's threads and its authors' mutes, and refuses a post
//! whose thread is gone, locked or in another cohort than the one it was allowed in, or whose
//! author is muted there: checked and stored in one step, with one read for the group instead
//! of one per post.
//!
//! New posts are indexed for search after they are stored, by the same task, in batches of up
//! to [`INDEX_BATCH`] (see [`index`]): a post reaches its readers without waiting for the
//! index, and the index is written in fewer, larger transactions. A search first asks for
//! what is waiting to be indexed ([`PostWriter::index_waiting`]), so it finds every post
//! stored before it began; posts stored but not indexed when the server stopped are indexed
//! when it starts again.
//!
//! A retried send (the same author and client id) inserts nothing and is answered
//! [`Written::Duplicate`]; the caller finds the stored post.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement, TryInsertResult,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::db::write_transaction;
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort_mute, post, post_mention, search_entry, thread};
use crate::error::{AppError, AppResult};
use crate::realtime::events;

/// The most posts stored in one group. When posts arrive faster than groups are stored, a
/// larger group catches up sooner: with 64, PostgreSQL's groups were always full at 1,000
/// posts/s in 100 cohorts and the queue grew (p99 2.1 s); with 256 it drains (p99 0.3 s,
/// docs/performance.md). A post alone is still stored alone.
const MAX_GROUP: usize = 256;
/// Posts waiting for the writer; a full queue makes senders wait.
const QUEUE: usize = 1024;
/// When posts arrive closer together than [`BUSY_GAP`], the writer waits [`LINGER`] before
/// storing the next group, so that more posts share its transaction: every transaction costs
/// about the same, whatever it holds (the same pages written, one commit). A post that arrives
/// alone is stored at once.
const BUSY_GAP: Duration = Duration::from_millis(2);
const LINGER: Duration = Duration::from_millis(1);
/// Stored posts are indexed for search once this many wait, or once the first of them has
/// waited [`INDEX_DELAY`]; at most this many in one transaction.
const INDEX_BATCH: usize = 256;
const INDEX_DELAY: Duration = Duration::from_millis(200);

/// The most threads whose cohort [`PostWriter::cohort_of`] remembers; beyond it, it starts over.
const REMEMBERED_THREADS: usize = 100_000;

/// A post to store, checked and allowed in `cohort_id`.
pub struct NewRow {
    pub thread_id: i32,
    /// The cohort the author was allowed to post in: the thread must still be in it.
    pub cohort_id: i32,
    pub author_id: i32,
    pub parent_post_id: Option<i32>,
    pub body: String,
    pub client_id: String,
    pub mentioned: Vec<(i32, String)>,
    pub now: DateTime<Utc>,
}

pub enum Written {
    Created {
        post: post::Model,
        seq: i64,
    },
    /// The author already stored a post with this client id.
    Duplicate,
    /// Not stored: the thread is gone, locked or not in the cohort, or the author is muted.
    Refused(AppError),
}

struct Pending {
    row: NewRow,
    reply: oneshot::Sender<AppResult<Written>>,
}

enum Job {
    Store(Pending),
    /// Index every stored post now; answered when done.
    Index(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct PostWriter {
    sender: mpsc::Sender<Job>,
    /// Thread → its cohort. A thread never moves to another cohort, so this is never stale,
    /// and the writer checks it again when it stores the post.
    cohorts: Arc<Mutex<HashMap<i32, i32>>>,
}

impl PostWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, receiver));
        PostWriter {
            sender,
            cohorts: Default::default(),
        }
    }

    /// The cohort a thread is in (None: no such thread), read once per thread: the post path
    /// checks the policy on it before every post.
    pub async fn cohort_of(&self, db: &DatabaseConnection, thread_id: i32) -> AppResult<Option<i32>> {
        if let Some(&cohort_id) = self.remembered().get(&thread_id) {
            return Ok(Some(cohort_id));
        }
        let Some(found) = thread::Entity::find_by_id(thread_id).one(db).await? else {
            return Ok(None);
        };
        let mut remembered = self.remembered();
        if remembered.len() >= REMEMBERED_THREADS {
            remembered.clear();
        }
        remembered.insert(thread_id, found.cohort_id);
        Ok(Some(found.cohort_id))
    }

    fn remembered(&self) -> MutexGuard<'_, HashMap<i32, i32>> {
        // A panic while holding the lock leaves the map usable: recover it.
        self.cohorts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores the post with whatever else is waiting; answers once the group is committed.
    pub async fn write(&self, row: NewRow) -> AppResult<Written> {
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the post writer has stopped"));
        self.sender
            .send(Job::Store(Pending { row, reply }))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Indexes the posts this instance stored and has not indexed yet; returns when they are.
    /// A failure is logged by the writer and the search goes on with the index as it is.
    pub async fn index_waiting(&self) {
        let (done, indexed) = oneshot::channel();
        if self.sender.send(Job::Index(done)).await.is_ok() {
            let _ = indexed.await;
        }
    }
}

/// Stored posts not yet indexed for search, oldest first.
#[derive(Default)]
struct Unindexed {
    post_ids: Vec<i32>,
    /// When the oldest of them was stored.
    since: Option<Instant>,
    /// After a failed batch, no new try before this.
    retry_after: Option<Instant>,
}

impl Unindexed {
    fn add(&mut self, post_ids: impl IntoIterator<Item = i32>) {
        let before = self.post_ids.len();
        self.post_ids.extend(post_ids);
        if before == 0 && !self.post_ids.is_empty() {
            self.since = Some(Instant::now());
        }
    }

    /// When the next batch should be indexed, if any post waits.
    fn due(&self) -> Option<Instant> {
        let since = self.since?;
        let due = if self.post_ids.len() >= INDEX_BATCH {
            since
        } else {
            since + INDEX_DELAY
        };
        Some(self.retry_after.map_or(due, |retry| due.max(retry)))
    }

    /// Indexes one batch, or (`all`) every waiting post. A failed batch is logged and kept
    /// for a later try.
    async fn index(&mut self, db: &DatabaseConnection, all: bool) {
        while !self.post_ids.is_empty() {
            let batch: Vec<i32> = self.post_ids.iter().take(INDEX_BATCH).copied().collect();
            if let Err(error) = index(db, &batch).await {
                error.log();
                self.failed();
                return;
            }
            self.indexed(batch.len());
            if !all {
                break;
            }
        }
    }

    fn indexed(&mut self, count: usize) {
        self.post_ids.drain(..count);
        self.since = (!self.post_ids.is_empty()).then(Instant::now);
        self.retry_after = None;
    }

    /// Not at once again: a database that refuses now (full disk, lost connection) would
    /// otherwise be asked in a busy loop.
    fn failed(&mut self) {
        self.retry_after = Some(Instant::now() + INDEX_DELAY);
    }
}

async fn run(db: DatabaseConnection, mut receiver: mpsc::Receiver<Job>) {
    let mut unindexed = Unindexed::default();
    // Posts stored before the server last stopped and not indexed then.
    match unindexed_posts(&db).await {
        Ok(post_ids) => unindexed.add(post_ids),
        Err(error) => error.log(),
    }
    let mut last_arrival: Option<Instant> = None;
    loop {
        let job = match unindexed.due() {
            Some(due) => tokio::select! {
                job = receiver.recv() => job,
                () = tokio::time::sleep_until(due) => {
                    unindexed.index(&db, false).await;
                    continue;
                }
            },
            None => receiver.recv().await,
        };
        let first = match job {
            None => break,
            Some(Job::Index(done)) => {
                unindexed.index(&db, true).await;
                let _ = done.send(());
                continue;
            }
            Some(Job::Store(first)) => first,
        };
        let arrival = Instant::now();
        if last_arrival.is_some_and(|last| arrival - last < BUSY_GAP) {
            tokio::time::sleep(LINGER).await;
        }
        last_arrival = Some(arrival);
        let mut group = vec![first];
        let mut index_asked = None;
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(Job::Store(next)) => group.push(next),
                Ok(Job::Index(done)) => {
                    index_asked = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        let rows: Vec<&NewRow> = group.iter().map(|pending| &pending.row).collect();
        match store(&db, &rows).await {
            Ok(results) => {
                unindexed.add(results.iter().filter_map(|result| match result {
                    Written::Created { post, .. } => Some(post.id),
                    _ => None,
                }));
                for (pending, result) in group.into_iter().zip(results) {
                    let _ = pending.reply.send(Ok(result));
                }
            }
            Err(error) => {
                error.log();
                for pending in group {
                    let _ = pending.reply.send(Err(AppError::Internal(anyhow::anyhow!(
                        "storing a group of posts failed"
                    ))));
                }
            }
        }
        if let Some(done) = index_asked {
            unindexed.index(&db, true).await;
            let _ = done.send(());
        }
    }
}

/// Indexes the posts as they read now, in one transaction. Posts hidden or deleted since they
/// were stored are left out; on PostgreSQL the posts are read `FOR UPDATE`, so a moderator
/// hiding or an author editing one at the same time waits, and then takes it out of the index
/// or indexes it anew (on SQLite the write transaction already excludes them).
async fn index(db: &DatabaseConnection, post_ids: &[i32]) -> AppResult<()> {
    let txn = write_transaction(db).await?;
    let posts = post::Entity::find()
        .filter(post::Column::Id.is_in(post_ids.iter().copied()))
        .filter(post::Column::Hidden.eq(false))
        .filter(post::Column::Deleted.eq(false))
        .lock_exclusive()
        .all(&txn)
        .await?;
    super::index_posts(&txn, &posts).await?;
    txn.commit().await?;
    Ok(())
}

/// Why a row may not be stored now, if it may not: its thread as stored and its author's mute
/// decide.
fn refusal(
    row: &NewRow,
    threads: &HashMap<i32, thread::Model>,
    mutes: &HashMap<(i32, i32), DateTime<Utc>>,
) -> Option<AppError> {
    match threads.get(&row.thread_id) {
        Some(thread) if thread.cohort_id != row.cohort_id => Some(AppError::NotFound),
        Some(thread) if thread.locked => Some(AppError::Conflict { code: "thread_locked" }),
        Some(_) => super::check_not_muted(mutes.get(&(row.cohort_id, row.author_id)).copied(), row.now).err(),
        None => Some(AppError::NotFound),
    }
}

/// The group's threads by id, and its authors' mutes by (cohort, person).
async fn threads_and_mutes(
    txn: &DatabaseTransaction,
    rows: &[&NewRow],
) -> AppResult<(HashMap<i32, thread::Model>, HashMap<(i32, i32), DateTime<Utc>>)> {
    let thread_ids: BTreeSet<i32> = rows.iter().map(|row| row.thread_id).collect();
    let author_ids: BTreeSet<i32> = rows.iter().map(|row| row.author_id).collect();
    let threads = thread::Entity::find()
        .filter(thread::Column::Id.is_in(thread_ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|thread| (thread.id, thread))
        .collect();
    let mutes = cohort_mute::Entity::find()
        .filter(cohort_mute::Column::UserId.is_in(author_ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|mute| ((mute.cohort_id, mute.user_id), mute.until))
        .collect();
    Ok((threads, mutes))
}

/// Stores the group; one result per row, in order. On PostgreSQL that is one statement
/// ([`store_in_one_statement`]), on SQLite one transaction of a few statements
/// ([`store_in_transaction`]): the same checks and the same rows either way.
async fn store(db: &DatabaseConnection, rows: &[&NewRow]) -> AppResult<Vec<Written>> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        store_in_one_statement(db, rows).await
    } else {
        store_in_transaction(db, rows).await
    }
}

/// The group as one PostgreSQL statement: the checks, the posts, their mentions, the cohorts'
/// counters and events and the other instances' signal, committed together. On SQLite a
/// statement costs a call into the library; on PostgreSQL it costs a round trip to the
/// server, and [`store_in_transaction`] makes about nine, each a new statement to parse and
/// plan when the group's size differs from the last. Here the text never changes (the rows
/// travel as JSON), so the server prepares it once per connection.
///
/// The counters are upserted in cohort order and stay locked until the statement commits, so
/// event numbers follow commit order as they do in a transaction.
const STORE_GROUP_SQL: &str = r#"
WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS r(
        ord int, thread_id int, cohort_id int, author_id int, parent_post_id int,
        body text, client_id text, created_at timestamptz)
),
checked AS (
    SELECT input.*,
        CASE
            WHEN t.id IS NULL OR t.cohort_id <> input.cohort_id THEN 'not_found'
            WHEN t.locked THEN 'thread_locked'
            WHEN m.until > input.created_at THEN 'muted'
        END AS refusal,
        m.until AS muted_until
    FROM input
    LEFT JOIN threads t ON t.id = input.thread_id
    LEFT JOIN cohort_mutes m ON m.cohort_id = input.cohort_id AND m.user_id = input.author_id
),
inserted AS (
    INSERT INTO posts (thread_id, cohort_id, author_id, parent_post_id, body, client_id,
        hidden, hidden_reason, deleted, version, created_at, edited_at)
    SELECT thread_id, cohort_id, author_id, parent_post_id, body, client_id,
        false, NULL, false, 0, created_at, NULL
    FROM checked WHERE refusal IS NULL ORDER BY ord
    ON CONFLICT (author_id, client_id) DO NOTHING
    RETURNING id, cohort_id, thread_id, author_id, client_id
),
firsts AS (
    SELECT DISTINCT ON (inserted.id) inserted.id AS post_id, checked.ord
    FROM inserted JOIN checked ON checked.refusal IS NULL
        AND checked.author_id = inserted.author_id AND checked.client_id = inserted.client_id
    ORDER BY inserted.id, checked.ord
),
mentioned AS (
    INSERT INTO post_mentions (post_id, user_id)
    SELECT firsts.post_id, m.user_id
    FROM json_to_recordset($2::json) AS m(ord int, user_id int) JOIN firsts ON firsts.ord = m.ord
),
counts AS (
    SELECT cohort_id, count(*) AS n FROM inserted GROUP BY cohort_id
),
advanced AS (
    INSERT INTO cohort_event_counters (cohort_id, last_seq)
    SELECT cohort_id, n FROM counts ORDER BY cohort_id
    ON CONFLICT (cohort_id) DO UPDATE SET last_seq = cohort_event_counters.last_seq + EXCLUDED.last_seq
    RETURNING cohort_id, last_seq
),
numbered AS (
    SELECT inserted.id, inserted.cohort_id, inserted.thread_id,
        advanced.last_seq - counts.n
            + row_number() OVER (PARTITION BY inserted.cohort_id ORDER BY inserted.id) AS seq
    FROM inserted JOIN advanced USING (cohort_id) JOIN counts USING (cohort_id)
),
logged AS (
    INSERT INTO cohort_events (cohort_id, seq, kind, thread_id, post_id, created_at)
    SELECT cohort_id, seq, $3, thread_id, id, $4 FROM numbered ORDER BY cohort_id, seq
),
-- The payload `events::notify_instances` sends: `c:<cohort>:<last number>@<instance>`.
signalled AS (
    SELECT pg_notify($5, 'c:' || cohort_id || ':' || last_seq || '@' || current_setting('application_name'))
    FROM advanced
)
SELECT checked.ord, checked.refusal, checked.muted_until, firsts.post_id, numbered.seq,
    (SELECT count(*) FROM signalled) AS signals
FROM checked
LEFT JOIN firsts ON firsts.ord = checked.ord
LEFT JOIN numbered ON numbered.id = firsts.post_id
ORDER BY checked.ord
"#;

async fn store_in_one_statement(db: &DatabaseConnection, rows: &[&NewRow]) -> AppResult<Vec<Written>> {
    // PostgreSQL keeps microseconds: the time stored is the one the post is answered with.
    let stored_at = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let input: Vec<serde_json::Value> = rows
        .iter()
        .enumerate()
        .map(|(ord, row)| {
            serde_json::json!({
                "ord": ord,
                "thread_id": row.thread_id,
                "cohort_id": row.cohort_id,
                "author_id": row.author_id,
                "parent_post_id": row.parent_post_id,
                "body": row.body,
                "client_id": row.client_id,
                "created_at": stored_at(row.now),
            })
        })
        .collect();
    let mentions: Vec<serde_json::Value> = rows
        .iter()
        .enumerate()
        .flat_map(|(ord, row)| {
            row.mentioned
                .iter()
                .map(move |(user_id, _)| serde_json::json!({ "ord": ord, "user_id": user_id }))
        })
        .collect();
    let now = rows.iter().map(|row| row.now).max().unwrap_or_else(Utc::now);
    let results = db
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            STORE_GROUP_SQL,
            [
                serde_json::Value::from(input).to_string().into(),
                serde_json::Value::from(mentions).to_string().into(),
                EventKind::PostCreated.to_value().into(),
                now.into(),
                events::PG_CHANNEL.into(),
            ],
        ))
        .await?;
    if results.len() != rows.len() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "storing {} posts answered {} rows",
            rows.len(),
            results.len()
        )));
    }
    let mut written = Vec::with_capacity(rows.len());
    for (row, result) in rows.iter().zip(results) {
        let refusal: Option<String> = result.try_get("", "refusal")?;
        let post_id: Option<i32> = result.try_get("", "post_id")?;
        let seq: Option<i64> = result.try_get("", "seq")?;
        written.push(match (refusal.as_deref(), post_id, seq) {
            (Some("thread_locked"), _, _) => Written::Refused(AppError::Conflict { code: "thread_locked" }),
            (Some("muted"), _, _) => {
                let until: DateTime<Utc> = result.try_get("", "muted_until")?;
                Written::Refused(AppError::Muted { until })
            }
            (Some(_), _, _) => Written::Refused(AppError::NotFound),
            (None, Some(id), Some(seq)) => Written::Created {
                post: post::Model {
                    id,
                    thread_id: row.thread_id,
                    cohort_id: row.cohort_id,
                    author_id: row.author_id,
                    parent_post_id: row.parent_post_id,
                    body: row.body.clone(),
                    client_id: row.client_id.clone(),
                    hidden: false,
                    hidden_reason: None,
                    deleted: false,
                    version: 0,
                    created_at: truncated_to_micros(row.now),
                    edited_at: None,
                },
                seq,
            },
            (None, _, _) => Written::Duplicate,
        });
    }
    Ok(written)
}

/// The time as PostgreSQL stores it (microseconds).
fn truncated_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The group in one transaction of a few statements (see [`store`]).
async fn store_in_transaction(db: &DatabaseConnection, rows: &[&NewRow]) -> AppResult<Vec<Written>> {
    let txn = write_transaction(db).await?;
    let (threads, mutes) = threads_and_mutes(&txn, rows).await?;
    let mut refusals: Vec<Option<AppError>> = rows.iter().map(|row| refusal(row, &threads, &mutes)).collect();
    let allowed: Vec<&NewRow> = rows
        .iter()
        .zip(&refusals)
        .filter(|(_, refused)| refused.is_none())
        .map(|(row, _)| *row)
        .collect();
    let models = allowed.iter().map(|row| post::ActiveModel {
        thread_id: Set(row.thread_id),
        cohort_id: Set(row.cohort_id),
        author_id: Set(row.author_id),
        parent_post_id: Set(row.parent_post_id),
        body: Set(row.body.clone()),
        client_id: Set(row.client_id.clone()),
        hidden: Set(false),
        hidden_reason: Set(None),
        deleted: Set(false),
        version: Set(0),
        created_at: Set(row.now),
        edited_at: Set(None),
        ..Default::default()
    });
    let inserted = match post::Entity::insert_many(models)
        .on_conflict_do_nothing_on([post::Column::AuthorId, post::Column::ClientId])
        .exec_with_returning_many(&txn)
        .await?
    {
        TryInsertResult::Inserted(inserted) => inserted,
        TryInsertResult::Conflicted | TryInsertResult::Empty => Vec::new(),
    };
    let mut stored: HashMap<(i32, String), post::Model> = inserted
        .into_iter()
        .map(|post| ((post.author_id, post.client_id.clone()), post))
        .collect();
    // Each stored post goes to the first allowed row that asked for it; a repeat in the same
    // group is a duplicate like any retry.
    let mut created: Vec<Option<post::Model>> = Vec::with_capacity(rows.len());
    for (row, refused) in rows.iter().zip(&refusals) {
        created.push(match refused {
            Some(_) => None,
            None => stored.remove(&(row.author_id, row.client_id.clone())),
        });
    }
    let mut by_cohort: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let mut mentions = Vec::new();
    for (index, (row, post)) in rows.iter().zip(&created).enumerate() {
        let Some(post) = post else { continue };
        mentions.extend(row.mentioned.iter().map(|(user_id, _)| post_mention::ActiveModel {
            post_id: Set(post.id),
            user_id: Set(*user_id),
        }));
        by_cohort.entry(post.cohort_id).or_default().push(index);
    }
    // New posts have no mentions yet: the group's are one insert.
    if !mentions.is_empty() {
        post_mention::Entity::insert_many(mentions)
            .exec_without_returning(&txn)
            .await?;
    }
    let now = rows.iter().map(|row| row.now).max().unwrap_or_else(Utc::now);
    let changes: Vec<(i32, Vec<events::Change>)> = by_cohort
        .iter()
        .map(|(cohort_id, indexes)| {
            let changes = indexes
                .iter()
                .filter_map(|&index| {
                    created[index]
                        .as_ref()
                        .map(|post| (Some(post.thread_id), Some(post.id)))
                })
                .collect();
            (*cohort_id, changes)
        })
        .collect();
    let firsts = events::append_many(&txn, EventKind::PostCreated, &changes, now).await?;
    let mut seqs: HashMap<usize, i64> = HashMap::new();
    for (cohort_id, indexes) in &by_cohort {
        let first = firsts[cohort_id];
        for (&index, seq) in indexes.iter().zip(first..) {
            seqs.insert(index, seq);
        }
    }
    txn.commit().await?;
    let mut seen = HashSet::new();
    Ok(created
        .into_iter()
        .enumerate()
        .map(|(index, post)| match (refusals[index].take(), post, seqs.get(&index)) {
            (Some(refused), _, _) => Written::Refused(refused),
            (None, Some(post), Some(&seq)) if seen.insert(post.id) => Written::Created { post, seq },
            _ => Written::Duplicate,
        })
        .collect())
}

/// The shown posts (not hidden, not deleted) that have no search entry, oldest first: those
/// stored but not yet indexed when the server last stopped.
pub async fn unindexed_posts(db: &impl ConnectionTrait) -> AppResult<Vec<i32>> {
    let indexed = Query::select()
        .expr(Expr::val(1))
        .from(search_entry::Entity)
        .and_where(Expr::col((search_entry::Entity, search_entry::Column::Kind)).eq(search_entry::Kind::Post))
        .and_where(
            Expr::col((search_entry::Entity, search_entry::Column::SourceId)).equals((post::Entity, post::Column::Id)),
        )
        .to_owned();
    Ok(post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Hidden.eq(false))
        .filter(post::Column::Deleted.eq(false))
        .filter(Expr::exists(indexed).not())
        .order_by_asc(post::Column::Id)
        .into_tuple::<i32>()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 10, hour, 0, 0).unwrap()
    }

    fn thread(id: i32, cohort_id: i32, locked: bool) -> thread::Model {
        thread::Model {
            id,
            cohort_id,
            session_id: None,
            title: "Matsvinn".into(),
            author_id: 1,
            locked,
            pinned: false,
            answered_post_id: None,
            version: 0,
            created_at: at(8),
            updated_at: at(8),
        }
    }

    fn row(thread_id: i32, cohort_id: i32, author_id: i32) -> NewRow {
        NewRow {
            thread_id,
            cohort_id,
            author_id,
            parent_post_id: None,
            body: "Hei".into(),
            client_id: "c1".into(),
            mentioned: Vec::new(),
            now: at(10),
        }
    }

    fn code(refused: Option<AppError>) -> Option<String> {
        refused.map(|error| match error {
            AppError::NotFound => "not_found".to_string(),
            AppError::Conflict { code } => code.to_string(),
            AppError::Muted { until } => format!("muted until {until}"),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn posts_wait_for_a_full_batch_or_the_delay_and_a_failure_delays_the_next_try() {
        let mut unindexed = Unindexed::default();
        assert_eq!(unindexed.due(), None, "nothing waits");
        let start = Instant::now();
        unindexed.add([1, 2, 3]);
        let due = unindexed.due().expect("due");
        assert!(due >= start + INDEX_DELAY, "a few posts wait for the delay");
        unindexed.add(4..=i32::try_from(INDEX_BATCH).unwrap() + 10);
        assert!(
            unindexed.due().expect("due") <= Instant::now(),
            "a full batch is due at once"
        );

        unindexed.failed();
        assert!(
            unindexed.due().expect("due") >= Instant::now() + INDEX_DELAY / 2,
            "after a failure, not at once"
        );
        unindexed.indexed(INDEX_BATCH);
        assert_eq!(
            unindexed.post_ids,
            (INDEX_BATCH as i32 + 1..=INDEX_BATCH as i32 + 10).collect::<Vec<_>>()
        );
        assert!(
            unindexed.due().expect("due") > Instant::now(),
            "the rest waits for the delay"
        );
        unindexed.indexed(10);
        assert_eq!(unindexed.due(), None, "all indexed");
    }

    #[test]
    fn a_post_is_refused_by_its_thread_as_stored_and_its_authors_mute() {
        let threads: HashMap<i32, thread::Model> = [thread(1, 10, false), thread(2, 10, true)]
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mutes: HashMap<(i32, i32), DateTime<Utc>> = [((10, 7), at(11)), ((10, 8), at(9))].into();
        let cases = [
            (row(1, 10, 5), None),
            (row(3, 10, 5), Some("not_found".to_string())),
            // Allowed in cohort 20, but the thread is in 10.
            (row(1, 20, 5), Some("not_found".to_string())),
            (row(2, 10, 5), Some("thread_locked".to_string())),
            (row(1, 10, 7), Some(format!("muted until {}", at(11)))),
            // A mute that has run out no longer counts.
            (row(1, 10, 8), None),
        ];
        for (new, expected) in cases {
            let case = (new.thread_id, new.cohort_id, new.author_id);
            assert_eq!(code(refusal(&new, &threads, &mutes)), expected, "{case:?}");
        }
    }
}
