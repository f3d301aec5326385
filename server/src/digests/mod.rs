//! E-mail digests between sessions: planned per cohort from its sessions, decided once when
//! due (each person's mail composed and enqueued in the transaction that marks the digest
//! decided), then sent from the outbox by [`worker`].
//!
//! The schedule itself (which digests, when) is pure: [`crate::domain::digest_schedule`].

pub mod compose;
pub mod worker;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::auth::CurrentUser;
use crate::domain::digest_schedule::{self, DigestKind, DigestPreference, ScheduledSession, next_send_time};
use crate::domain::policy::Action;
use crate::domain::sessions::SessionStatus;
use crate::entities::{cohort, digest, membership, outbox_mail, session, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How late a newly planned digest may still be sent.
const MISSED_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Digests decided now.
    pub decided: usize,
    /// Mails enqueued by those decisions.
    pub enqueued: usize,
    pub sent: usize,
    /// Mails that failed this time (they are retried later, or given up after the limit).
    pub failed: usize,
    /// Reminders to facilitators and survey links enqueued by the same run.
    pub nudges: crate::nudges::NudgeReport,
}

/// Brings a cohort's stored digests in line with its sessions: new ones added, changed times
/// followed (unless the facilitator postponed one), and ones whose session is gone dropped.
/// Decided digests are never touched.
pub async fn sync_schedule(db: &impl ConnectionTrait, cohort_id: i32, now: DateTime<Utc>) -> AppResult<()> {
    let sessions = session::Entity::find()
        .filter(session::Column::CohortId.eq(cohort_id))
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .all(db)
        .await?;
    let scheduled: Vec<ScheduledSession> = sessions
        .iter()
        .map(|found| ScheduledSession {
            id: found.id,
            starts_at: found.starts_at,
            ends_at: found.ends_at,
        })
        .collect();
    let planned = digest_schedule::plan(&scheduled);
    let stored = digest::Entity::find()
        .filter(digest::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?;
    let mut by_key: HashMap<(DigestKind, String), digest::Model> = stored
        .into_iter()
        .map(|found| ((found.kind, found.period.clone()), found))
        .collect();
    for plan in planned {
        match by_key.remove(&(plan.kind, plan.period.clone())) {
            None => {
                let status = if plan.due_at < now - MISSED_AFTER {
                    digest::Status::Missed
                } else {
                    digest::Status::Scheduled
                };
                let new = digest::ActiveModel {
                    cohort_id: Set(cohort_id),
                    kind: Set(plan.kind),
                    period: Set(plan.period),
                    session_id: Set(plan.session_id),
                    due_at: Set(plan.due_at),
                    postponed: Set(false),
                    intro: Set(String::new()),
                    status: Set(status),
                    decided_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                };
                // Another worker may plan the same digest at the same moment: one row wins.
                digest::Entity::insert(new)
                    .on_conflict(
                        OnConflict::columns([digest::Column::CohortId, digest::Column::Kind, digest::Column::Period])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(db)
                    .await?;
            }
            Some(found) if found.status == digest::Status::Decided || found.status == digest::Status::Missed => {}
            Some(found) => {
                let due_at = if found.postponed { found.due_at } else { plan.due_at };
                if found.status != digest::Status::Scheduled
                    || found.due_at != due_at
                    || found.session_id != plan.session_id
                {
                    let mut change: digest::ActiveModel = found.into();
                    change.status = Set(digest::Status::Scheduled);
                    change.due_at = Set(due_at);
                    change.session_id = Set(plan.session_id);
                    change.updated_at = Set(now);
                    change.update(db).await?;
                }
            }
        }
    }
    for (_, gone) in by_key {
        if gone.status == digest::Status::Scheduled {
            let mut change: digest::ActiveModel = gone.into();
            change.status = Set(digest::Status::Dropped);
            change.updated_at = Set(now);
            change.update(db).await?;
        }
    }
    Ok(())
}

/// Decides every digest that is due and sends what is waiting in the outbox.
pub async fn run_due(state: &AppState, worker_id: &str) -> AppResult<RunReport> {
    let now = state.now();
    for found in cohort::Entity::find().all(&state.db).await? {
        sync_schedule(&state.db, found.id, now).await?;
    }
    let due = digest::Entity::find()
        .filter(digest::Column::Status.eq(digest::Status::Scheduled))
        .filter(digest::Column::DueAt.lte(now))
        .order_by_asc(digest::Column::DueAt)
        .all(&state.db)
        .await?;
    let mut report = RunReport::default();
    for found in due {
        if let Some(enqueued) = decide(state, &found, true).await? {
            report.decided += 1;
            report.enqueued += enqueued;
        }
    }
    report.nudges = crate::nudges::run_due(state).await?;
    let sent = worker::send_pending(state, worker_id).await?;
    report.sent = sent.sent;
    report.failed = sent.failed;
    Ok(report)
}

/// The people of a cohort who want this kind of digest, with their preference checked now.
pub async fn recipients(db: &impl ConnectionTrait, cohort_id: i32, kind: DigestKind) -> AppResult<Vec<user::Model>> {
    let user_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?
        .into_iter()
        .map(|found| found.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|person| wants(person, kind))
        .collect())
}

pub fn wants(person: &user::Model, kind: DigestKind) -> bool {
    DigestPreference::parse(&person.digest_preference)
        .unwrap_or(DigestPreference::Everything)
        .wants(kind)
}

/// Composes each recipient's mail, then, in one transaction, marks the digest decided and
/// enqueues the mails. `None` when someone else decided it first, or when it waits: with
/// `wait_for_recap`, a recap whose session has no published recap yet goes out the next
/// working morning after it is.
async fn decide(state: &AppState, found: &digest::Model, wait_for_recap: bool) -> AppResult<Option<usize>> {
    let now = state.now();
    let kind = found.kind;
    let content = compose::DigestContent::load(state, found).await?;
    if kind == DigestKind::Reminder && content.session_started(now) {
        let mut late: digest::ActiveModel = found.clone().into();
        late.status = Set(digest::Status::Missed);
        late.updated_at = Set(now);
        late.update(&state.db).await?;
        return Ok(None);
    }
    if wait_for_recap && kind == DigestKind::Recap && !content.recap_published() {
        let mut wait: digest::ActiveModel = found.clone().into();
        wait.due_at = Set(next_send_time(now + chrono::Duration::minutes(1)));
        wait.updated_at = Set(now);
        wait.update(&state.db).await?;
        return Ok(None);
    }
    let mut mails = Vec::new();
    for person in recipients(&state.db, found.cohort_id, kind).await? {
        if let Some(mail) = content.mail_for(state, &person).await? {
            mails.push((person, mail));
        }
    }
    let txn = crate::db::write_transaction(&state.db).await?;
    // Only one decision per digest, however many workers run: the row changes once.
    let claimed = digest::Entity::update_many()
        .col_expr(digest::Column::Status, Expr::value(digest::Status::Decided))
        .col_expr(digest::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(digest::Column::UpdatedAt, Expr::value(now))
        .filter(digest::Column::Id.eq(found.id))
        .filter(digest::Column::Status.eq(digest::Status::Scheduled))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    let enqueued = mails.len();
    for (person, mail) in mails {
        outbox_mail::ActiveModel {
            kind: Set(outbox_mail::Kind::Digest),
            digest_id: Set(Some(found.id)),
            user_id: Set(Some(person.id)),
            message_id: Set(message_id(state, found.id, person.id)),
            recipient: Set(person.email.clone()),
            subject: Set(mail.subject),
            text_body: Set(mail.text),
            html_body: Set(mail.html),
            calendar: Set(mail.calendar),
            unsubscribe_url: Set(mail.unsubscribe_url.unwrap_or_default()),
            status: Set(outbox_mail::Status::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(None),
            lease_owner: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(digest = found.id, kind = %found.kind.code(), cohort = found.cohort_id, enqueued, "digest decided");
    Ok(Some(enqueued))
}

/// The same for every attempt at one person's digest: `<digest-12-34@host>`.
fn message_id(state: &AppState, digest_id: i32, user_id: i32) -> String {
    format!("<digest-{digest_id}-{user_id}@{}>", state.message_id_domain())
}

/// A digest as the facilitator sees it on the schedule.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DigestView {
    pub id: i32,
    pub cohort_id: i32,
    pub kind: String,
    pub period: String,
    pub session_id: i32,
    pub due_at: DateTime<Utc>,
    pub postponed: bool,
    pub intro: String,
    /// `scheduled`, `decided`, `dropped` or `missed`.
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
    /// Mails enqueued, and how many of them are sent (decided digests).
    pub mails: usize,
    pub mails_sent: usize,
}

/// The longest intro a facilitator may write.
pub const MAX_INTRO_CHARS: usize = 2_000;

/// The cohort's digests, in time order, brought in line with its sessions first.
pub async fn schedule(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<DigestView>> {
    viewer.require(Action::ManageDigests { cohort_id })?;
    sync_schedule(&state.db, cohort_id, state.now()).await?;
    let digests = digest::Entity::find()
        .filter(digest::Column::CohortId.eq(cohort_id))
        .filter(digest::Column::Status.ne(digest::Status::Dropped))
        .order_by_asc(digest::Column::DueAt)
        .order_by_asc(digest::Column::Id)
        .all(&state.db)
        .await?;
    let ids: Vec<i32> = digests.iter().map(|found| found.id).collect();
    let mut counts: HashMap<i32, (usize, usize)> = HashMap::new();
    for mail in outbox_mail::Entity::find()
        .filter(outbox_mail::Column::DigestId.is_in(ids))
        .all(&state.db)
        .await?
    {
        let Some(digest_id) = mail.digest_id else {
            continue;
        };
        let entry = counts.entry(digest_id).or_default();
        entry.0 += 1;
        if mail.status == outbox_mail::Status::Sent {
            entry.1 += 1;
        }
    }
    Ok(digests
        .into_iter()
        .map(|found| {
            let mails = counts.get(&found.id).copied().unwrap_or_default();
            digest_view(found, mails)
        })
        .collect())
}

/// `mails`: how many were enqueued, and how many of those are sent.
fn digest_view(found: digest::Model, (mails, mails_sent): (usize, usize)) -> DigestView {
    DigestView {
        id: found.id,
        cohort_id: found.cohort_id,
        kind: found.kind.code().to_string(),
        period: found.period,
        session_id: found.session_id,
        due_at: found.due_at,
        postponed: found.postponed,
        intro: found.intro,
        status: found.status.to_value(),
        decided_at: found.decided_at,
        mails,
        mails_sent,
    }
}

/// A digest the viewer may manage; other cohorts' digests are not found.
pub async fn managed(state: &AppState, viewer: &CurrentUser, digest_id: i32) -> AppResult<digest::Model> {
    let found = digest::Entity::find_by_id(digest_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    viewer.require(Action::ManageDigests {
        cohort_id: found.cohort_id,
    })?;
    Ok(found)
}

/// What `member_id` would get from this digest if it went out now (`None`: nothing for them).
pub async fn preview(
    state: &AppState,
    viewer: &CurrentUser,
    digest_id: i32,
    member_id: i32,
) -> AppResult<Option<crate::mail::transport::OutgoingMail>> {
    let found = managed(state, viewer, digest_id).await?;
    let is_member = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(found.cohort_id))
        .filter(membership::Column::UserId.eq(member_id))
        .one(&state.db)
        .await?
        .is_some();
    let person = user::Entity::find_by_id(member_id)
        .one(&state.db)
        .await?
        .filter(|_| is_member)
        .ok_or(AppError::NotFound)?;
    let content = compose::DigestContent::load(state, &found).await?;
    content.mail_for(state, &person).await
}

/// A facilitator's change to a scheduled digest: its intro, or a later time (moved to the next
/// working morning at 08:00 Oslo time).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DigestChange {
    #[schema(max_length = 2_000)]
    pub intro: Option<String>,
    pub send_at: Option<DateTime<Utc>>,
}

pub async fn change(
    state: &AppState,
    viewer: &CurrentUser,
    digest_id: i32,
    change: DigestChange,
) -> AppResult<DigestView> {
    let found = managed(state, viewer, digest_id).await?;
    if found.status != digest::Status::Scheduled {
        return Err(AppError::Conflict {
            code: "digest_not_scheduled",
        });
    }
    let now = state.now();
    let mut update: digest::ActiveModel = found.clone().into();
    if let Some(intro) = change.intro {
        let intro = intro.trim().to_string();
        if intro.chars().count() > MAX_INTRO_CHARS {
            return Err(AppError::invalid("intro_too_long", "intro"));
        }
        update.intro = Set(intro);
    }
    if let Some(send_at) = change.send_at {
        if send_at < now {
            return Err(AppError::invalid("send_at_in_past", "send_at"));
        }
        update.due_at = Set(next_send_time(send_at));
        update.postponed = Set(true);
    }
    update.updated_at = Set(now);
    // Still scheduled, so nothing is enqueued for it yet.
    Ok(digest_view(update.update(&state.db).await?, (0, 0)))
}

/// Decides the digest now and sends its mails in the background.
pub async fn send_now(state: &AppState, viewer: &CurrentUser, digest_id: i32) -> AppResult<usize> {
    let found = managed(state, viewer, digest_id).await?;
    if found.status != digest::Status::Scheduled {
        return Err(AppError::Conflict {
            code: "digest_not_scheduled",
        });
    }
    let Some(enqueued) = decide(state, &found, false).await? else {
        return Err(AppError::Conflict {
            code: "digest_not_scheduled",
        });
    };
    let background = state.clone();
    tokio::spawn(async move {
        let worker_id = format!("send-now-{digest_id}-{}", crate::auth::tokens::new_secret());
        if let Err(error) = worker::send_pending(&background, &worker_id).await {
            error.log();
        }
    });
    Ok(enqueued)
}

/// The cohort of a digest the viewer may manage.
pub async fn cohort_of(state: &AppState, viewer: &CurrentUser, digest_id: i32) -> AppResult<i32> {
    Ok(managed(state, viewer, digest_id).await?.cohort_id)
}

/// One-click unsubscribe through a signed link: no more digests for its owner. Doing it twice
/// changes nothing.
pub async fn unsubscribe(state: &AppState, token: &str) -> AppResult<()> {
    let user_id = state
        .sessions
        .verify_unsubscribe(token, state.now())
        .ok_or_else(|| AppError::invalid("invalid_unsubscribe_link", "token"))?;
    crate::users::set_digest_preference(&state.db, user_id, DigestPreference::Nothing).await
}

/// One digest a person would get, for `samling digests preview`.
pub struct PersonPreview {
    pub cohort_id: i32,
    pub kind: DigestKind,
    pub due_at: DateTime<Utc>,
    /// `None`: nothing for this person (an activity digest with nothing unread, or they do not
    /// want this kind).
    pub mail: Option<crate::mail::transport::OutgoingMail>,
}

/// What `email` would get now from each of their cohorts: the next scheduled digest of each
/// kind (or only `kind`), composed as if it went out now.
pub async fn preview_for_person(
    state: &AppState,
    email: &str,
    kind: Option<DigestKind>,
) -> AppResult<Vec<PersonPreview>> {
    let address = crate::domain::email::normalize_email(email).ok_or(AppError::NotFound)?;
    let person = user::Entity::find()
        .filter(user::Column::Email.eq(address))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    let cohort_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person.id))
        .order_by_asc(membership::Column::CohortId)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|found| found.cohort_id)
        .collect();
    let mut previews = Vec::new();
    for cohort_id in cohort_ids {
        sync_schedule(&state.db, cohort_id, now).await?;
        for candidate in DigestKind::ALL
            .into_iter()
            .filter(|k| kind.is_none_or(|wanted| wanted == *k))
        {
            let Some(next) = digest::Entity::find()
                .filter(digest::Column::CohortId.eq(cohort_id))
                .filter(digest::Column::Kind.eq(candidate))
                .filter(digest::Column::Status.eq(digest::Status::Scheduled))
                .order_by_asc(digest::Column::DueAt)
                .one(&state.db)
                .await?
            else {
                continue;
            };
            let mail = if wants(&person, candidate) {
                compose::DigestContent::load(state, &next)
                    .await?
                    .mail_for(state, &person)
                    .await?
            } else {
                None
            };
            previews.push(PersonPreview {
                cohort_id,
                kind: candidate,
                due_at: next.due_at,
                mail,
            });
        }
    }
    Ok(previews)
}
