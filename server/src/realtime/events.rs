//! The cohort's event log. Every stored change appends one event with the next per-cohort
//! sequence number, in the transaction that stores it: the counter row is locked by the
//! update, so numbers are gapless and follow commit order. A client that reconnects asks for
//! everything after the last number it saw.
//!
//! An event row only names what changed. The area whose changes the log records renders it
//! when it is sent ([`EventSource`]), so a replay shows the post as it is now (a post hidden
//! since is replayed hidden).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};

use super::EventFrame;
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort_event, cohort_event_counter};
use crate::error::{AppError, AppResult};

/// The PostgreSQL channel other instances listen on (see `realtime::listen`).
pub const PG_CHANNEL: &str = "samling_events";

/// Renders the log's events as their cohort's sockets receive them. The hub moves events it
/// cannot read: the area whose changes the log records says what each one shows.
pub trait EventSource: Send + Sync + 'static {
    /// Up to [`REPLAY_LIMIT`] of the cohort's events after `after`, in order, each rendered
    /// with [`EventFrame::new`]. No policy check: the hub sends them to sockets that were
    /// allowed to follow the cohort.
    fn frames_after<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        cohort_id: i32,
        after: i64,
    ) -> BoxFuture<'a, AppResult<Vec<EventFrame>>>;
}

/// Appends an event and returns its sequence number. Call inside the transaction that stores
/// the change the event announces. On PostgreSQL the other instances are told at commit.
pub async fn append(
    txn: &impl ConnectionTrait,
    cohort_id: i32,
    kind: EventKind,
    thread_id: Option<i32>,
    post_id: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let firsts = append_many(txn, kind, &[(cohort_id, vec![(thread_id, post_id)])], now).await?;
    firsts
        .get(&cohort_id)
        .copied()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no event number for cohort {cohort_id}")))
}

/// What one event is about: its thread and post, where it has them.
pub type Change = (Option<i32>, Option<i32>);

/// Appends one event per `(thread, post)` in each cohort's list, numbered in the list's order;
/// returns each cohort's first new number. However many cohorts there are, this is one
/// counter update and one insert (a cohort's very first event adds two statements).
pub async fn append_many(
    txn: &impl ConnectionTrait,
    kind: EventKind,
    cohorts: &[(i32, Vec<Change>)],
    now: DateTime<Utc>,
) -> AppResult<HashMap<i32, i64>> {
    let counts: HashMap<i32, i64> = cohorts
        .iter()
        .filter(|(_, changes)| !changes.is_empty())
        .map(|(cohort_id, changes)| (*cohort_id, i64::try_from(changes.len()).unwrap_or(i64::MAX)))
        .collect();
    if counts.is_empty() {
        return Ok(HashMap::new());
    }
    let mut lasts = advance(txn, &counts).await?;
    let missing: HashMap<i32, i64> = counts
        .iter()
        .filter(|(cohort_id, _)| !lasts.contains_key(cohort_id))
        .map(|(cohort_id, count)| (*cohort_id, *count))
        .collect();
    if !missing.is_empty() {
        // A cohort's first event: create its counter (once, even when two race), then count.
        cohort_event_counter::Entity::insert_many(missing.keys().map(|cohort_id| cohort_event_counter::ActiveModel {
            cohort_id: Set(*cohort_id),
            last_seq: Set(0),
        }))
        .on_conflict_do_nothing_on([cohort_event_counter::Column::CohortId])
        .exec_without_returning(txn)
        .await?;
        lasts.extend(advance(txn, &missing).await?);
    }
    let mut firsts = HashMap::with_capacity(counts.len());
    let mut rows = Vec::new();
    for (cohort_id, changes) in cohorts.iter().filter(|(_, changes)| !changes.is_empty()) {
        let last = *lasts
            .get(cohort_id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the event counter of cohort {cohort_id} is missing")))?;
        let first = last - counts[cohort_id] + 1;
        firsts.insert(*cohort_id, first);
        rows.extend(
            changes
                .iter()
                .zip(first..)
                .map(|(&(thread_id, post_id), seq)| cohort_event::ActiveModel {
                    cohort_id: Set(*cohort_id),
                    seq: Set(seq),
                    kind: Set(kind),
                    thread_id: Set(thread_id),
                    post_id: Set(post_id),
                    created_at: Set(now),
                    ..Default::default()
                }),
        );
    }
    cohort_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    // Inside the transaction: delivered to listeners only if and when it commits.
    notify_instances_many(
        txn,
        firsts
            .keys()
            .map(|cohort_id| format!("c:{cohort_id}:{}", lasts.get(cohort_id).copied().unwrap_or_default())),
    )
    .await?;
    Ok(firsts)
}

/// Tells the other server instances (PostgreSQL `NOTIFY` on [`PG_CHANNEL`]); nothing to do on
/// SQLite, which runs as one instance. `c:<cohort>:<last number>`: new events up to that
/// number; `u:<user>`: access changed. Each payload ends with `@` and the sending instance's
/// connection name ([`instance_of`]): the instance that sent it has signalled its own sockets
/// already and skips it. The post writer's group statement (`threads::writer`) writes the
/// same payload in SQL.
pub async fn notify_instances(db: &impl ConnectionTrait, payload: String) -> AppResult<()> {
    notify_instances_many(db, std::iter::once(payload)).await
}

/// [`notify_instances`] for each payload, in one statement however many there are (a group of
/// posts may touch a hundred cohorts). Payloads hold no spaces.
async fn notify_instances_many(db: &impl ConnectionTrait, payloads: impl Iterator<Item = String>) -> AppResult<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let payloads: Vec<String> = payloads.collect();
        db.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, payload || '@' || current_setting('application_name')) \
             FROM unnest(string_to_array($2, ' ')) AS payload",
            [PG_CHANNEL.into(), payloads.join(" ").into()],
        ))
        .await?;
    }
    Ok(())
}

/// A signal's payload and the instance that sent it (see [`notify_instances`]); a payload
/// without a sender (from an older version) has none.
pub fn instance_of(payload: &str) -> (&str, Option<&str>) {
    match payload.rsplit_once('@') {
        Some((signal, sender)) => (signal, Some(sender)),
        None => (payload, None),
    }
}

/// Moves each cohort's counter on by its count, in one statement, and returns the new last
/// numbers; a cohort without a counter yet is left out. The update locks the counter rows
/// until the transaction ends, so numbers follow commit order.
async fn advance(txn: &impl ConnectionTrait, counts: &HashMap<i32, i64>) -> AppResult<HashMap<i32, i64>> {
    let mut by_cohort = CaseStatement::new();
    for (cohort_id, count) in counts {
        by_cohort = by_cohort.case(cohort_event_counter::Column::CohortId.eq(*cohort_id), *count);
    }
    let counters = cohort_event_counter::Entity::update_many()
        .col_expr(
            cohort_event_counter::Column::LastSeq,
            Expr::col(cohort_event_counter::Column::LastSeq).add(Into::<Expr>::into(by_cohort.finally(0))),
        )
        .filter(cohort_event_counter::Column::CohortId.is_in(counts.keys().copied()))
        .exec_with_returning(txn)
        .await?;
    Ok(counters
        .into_iter()
        .map(|counter| (counter.cohort_id, counter.last_seq))
        .collect())
}

/// The most events one replay returns; a client asks again from the last one it got.
pub const REPLAY_LIMIT: u64 = 500;

/// The cohort's last sequence number (0 before its first event).
pub async fn last_seq(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<i64> {
    Ok(cohort_event_counter::Entity::find_by_id(cohort_id)
        .one(db)
        .await?
        .map_or(0, |counter| counter.last_seq))
}

/// Up to `limit` of the cohort's stored events after `after`, in order, as the log holds them
/// (what changed, not its content).
pub async fn stored_after(
    db: &impl ConnectionTrait,
    cohort_id: i32,
    after: i64,
    limit: u64,
) -> AppResult<Vec<cohort_event::Model>> {
    Ok(cohort_event::Entity::find()
        .filter(cohort_event::Column::CohortId.eq(cohort_id))
        .filter(cohort_event::Column::Seq.gt(after))
        .order_by_asc(cohort_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum, Iterable};

    use super::instance_of;
    use crate::entities::cohort_event::EventKind;

    #[test]
    fn a_signal_names_the_instance_that_sent_it_after_its_last_at() {
        assert_eq!(instance_of("c:12:40@samling-3f2a"), ("c:12:40", Some("samling-3f2a")));
        assert_eq!(instance_of("u:7@samling-3f2a"), ("u:7", Some("samling-3f2a")));
        assert_eq!(instance_of("c:12:40"), ("c:12:40", None), "an older instance's signal");
    }

    #[test]
    fn each_kind_is_stored_under_the_name_clients_see() {
        for kind in EventKind::iter() {
            let sent = serde_json::to_value(kind).expect("a kind serialises");
            assert_eq!(sent.as_str(), Some(kind.to_value().as_str()), "{kind:?}");
        }
        assert_eq!(EventKind::ReactionsChanged.to_value(), "reactions_changed");
    }
}
