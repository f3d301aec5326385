//! Sends the outbox: digest mails and sign-in links. A worker leases a batch of due mails (a
//! row changes hands only if its lease is free), sends each outside any transaction, and
//! records the outcome right after each send. Several workers, on several instances, never
//! send the same mail at once; a worker that dies leaves its leases to run out, and the mails
//! are sent again later with the same `Message-ID`, so a resend after an unknown outcome is
//! recognisable.
//!
//! A sign-in row holds only the address someone typed: the worker looks the person up when it
//! sends, so the request that recorded it did the same work for a known and an unknown address,
//! and the link's secret is made (and its 15 minutes start) only when the mail goes out.

use std::time::Duration as StdDuration;

use chrono::Duration;
use futures::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveEnum, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::sign_in::{issue_sign_in_secret, sign_in_path};
use crate::digests::{run_due, wants};
use crate::entities::outbox_mail::Status;
use crate::entities::{digest, membership, outbox_mail, user};
use crate::error::AppResult;
use crate::i18n::{Language, Tr};
use crate::mail::transport::OutgoingMail;
use crate::state::AppState;

/// Mails one worker takes at a time.
const BATCH: u64 = 50;
/// Mails one worker sends at once, each on its own pooled SMTP connection. One at a time, a
/// mail waits about 40 ms for the server's delayed ACK (lettre sends the final `.` as a
/// separate small segment without `TCP_NODELAY`), which caps a worker near 22 mails per second
/// (`tests/bench-digests.sh`).
pub const SEND_CONCURRENCY: usize = 8;
/// How long a leased mail is the worker's; after that another may take it.
const LEASE: Duration = Duration::minutes(5);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
}

/// Sends every due mail in the outbox, batch by batch, until none is left.
pub async fn send_pending(state: &AppState, worker_id: &str) -> AppResult<SendReport> {
    let mut report = SendReport::default();
    loop {
        let batch = lease_batch(state, worker_id).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        let mut sending = futures::stream::iter(batch)
            .map(|mail| send_one(state, worker_id, mail))
            .buffer_unordered(SEND_CONCURRENCY);
        while let Some(outcome) = sending.next().await {
            match outcome? {
                Outcome::Sent => report.sent += 1,
                Outcome::Failed => report.failed += 1,
                Outcome::Cancelled => {}
            }
        }
    }
}

enum Outcome {
    Sent,
    Failed,
    Cancelled,
}

/// Takes up to [`BATCH`] due mails whose lease is free. Each row is claimed by its own
/// conditional update, so two workers racing for it cannot both win.
async fn lease_batch(state: &AppState, worker_id: &str) -> AppResult<Vec<outbox_mail::Model>> {
    let now = state.now();
    let lease_free = Condition::any()
        .add(outbox_mail::Column::LeaseUntil.is_null())
        .add(outbox_mail::Column::LeaseUntil.lt(now));
    let candidates = outbox_mail::Entity::find()
        .filter(outbox_mail::Column::Status.eq(Status::Pending))
        .filter(outbox_mail::Column::NextAttemptAt.lte(now))
        .filter(lease_free.clone())
        .order_by_asc(outbox_mail::Column::Id)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut leased = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let claimed = outbox_mail::Entity::update_many()
            .col_expr(outbox_mail::Column::LeaseUntil, Expr::value(Some(now + LEASE)))
            .col_expr(
                outbox_mail::Column::LeaseOwner,
                Expr::value(Some(worker_id.to_string())),
            )
            .filter(outbox_mail::Column::Id.eq(candidate.id))
            .filter(outbox_mail::Column::Status.eq(Status::Pending))
            .filter(lease_free.clone())
            .exec(&state.db)
            .await?;
        if claimed.rows_affected == 1 {
            leased.push(candidate);
        }
    }
    Ok(leased)
}

async fn send_one(state: &AppState, worker_id: &str, mail: outbox_mail::Model) -> AppResult<Outcome> {
    let now = state.now();
    let outgoing = match mail.kind {
        outbox_mail::Kind::SignIn => sign_in_mail(state, &mail).await?,
        outbox_mail::Kind::Digest => digest_mail(state, &mail).await?,
        outbox_mail::Kind::Notice => notice_mail(state, &mail).await?,
    };
    let Some(outgoing) = outgoing else {
        record(state, worker_id, mail.id, Status::Cancelled, mail.attempts, None, now).await?;
        return Ok(Outcome::Cancelled);
    };
    let attempts = mail.attempts + 1;
    match state.mailer.send(outgoing).await {
        Ok(()) => {
            record(state, worker_id, mail.id, Status::Sent, attempts, None, now).await?;
            Ok(Outcome::Sent)
        }
        Err(error) => {
            let message = format!("{error:#}");
            tracing::warn!(mail = mail.id, kind = %mail.kind.to_value(), attempts, error = %message, "mail not sent");
            let status = if attempts >= i32::try_from(state.settings.digest_max_attempts).unwrap_or(i32::MAX) {
                Status::Failed
            } else {
                Status::Pending
            };
            record(state, worker_id, mail.id, status, attempts, Some(message), now).await?;
            Ok(Outcome::Failed)
        }
    }
}

/// A digest mail as composed, if the reader still wants it: never after they unsubscribed,
/// were deactivated or left the cohort.
async fn digest_mail(state: &AppState, mail: &outbox_mail::Model) -> AppResult<Option<OutgoingMail>> {
    let (Some(digest_id), Some(user_id)) = (mail.digest_id, mail.user_id) else {
        return Ok(None);
    };
    let found = digest::Entity::find_by_id(digest_id).one(&state.db).await?;
    let person = user::Entity::find_by_id(user_id).one(&state.db).await?;
    let still_member = match &found {
        Some(found) => membership::Entity::find()
            .filter(membership::Column::CohortId.eq(found.cohort_id))
            .filter(membership::Column::UserId.eq(user_id))
            .one(&state.db)
            .await?
            .is_some(),
        None => false,
    };
    let kind = found.map(|found| found.kind);
    let still_wanted = match (kind, &person) {
        (Some(kind), Some(person)) => still_member && person.active && wants(person, kind),
        _ => false,
    };
    Ok(still_wanted.then(|| OutgoingMail {
        to: mail.recipient.clone(),
        subject: mail.subject.clone(),
        text: mail.text_body.clone(),
        html: mail.html_body.clone(),
        message_id: Some(mail.message_id.clone()),
        unsubscribe_url: Some(mail.unsubscribe_url.clone()).filter(|url| !url.is_empty()),
        calendar: mail.calendar.clone(),
    }))
}

/// A session notice as composed, unless its reader was deactivated meanwhile.
async fn notice_mail(state: &AppState, mail: &outbox_mail::Model) -> AppResult<Option<OutgoingMail>> {
    let Some(user_id) = mail.user_id else {
        return Ok(None);
    };
    let active = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .is_some_and(|person| person.active);
    Ok(active.then(|| OutgoingMail {
        to: mail.recipient.clone(),
        subject: mail.subject.clone(),
        text: mail.text_body.clone(),
        html: mail.html_body.clone(),
        message_id: Some(mail.message_id.clone()),
        unsubscribe_url: None,
        calendar: mail.calendar.clone(),
    }))
}

/// A sign-in link for the active person with the recorded address, with a new secret (which
/// voids their older links); `None` for an address nobody active has.
async fn sign_in_mail(state: &AppState, mail: &outbox_mail::Model) -> AppResult<Option<OutgoingMail>> {
    let Some(person) = user::Entity::find()
        .filter(user::Column::Email.eq(&mail.recipient))
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?
    else {
        tracing::info!(mail = mail.id, "sign-in link asked for an unknown address");
        // Nobody to send it to: the typed address is not kept.
        outbox_mail::Entity::update_many()
            .col_expr(outbox_mail::Column::Recipient, Expr::value(""))
            .filter(outbox_mail::Column::Id.eq(mail.id))
            .exec(&state.db)
            .await?;
        return Ok(None);
    };
    // Under the person's row lock: of links sent at once (several workers), only the newest works.
    let txn = crate::db::write_transaction(&state.db).await?;
    crate::db::lock_row::<user::Entity>(&txn, person.id).await?;
    let secret = issue_sign_in_secret(&txn, person.id, state.now()).await?;
    sea_orm::TransactionSession::commit(txn).await?;
    let tr = Tr::new(Language::parse(&person.language).unwrap_or_default());
    let mut outgoing = crate::mail::messages::sign_in(tr, &person, &state.link(&sign_in_path(&secret)))?;
    outgoing.message_id = Some(mail.message_id.clone());
    Ok(Some(outgoing))
}

/// Records what happened to a leased mail, if the lease is still this worker's.
async fn record(
    state: &AppState,
    worker_id: &str,
    mail_id: i32,
    status: Status,
    attempts: i32,
    error: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    // Back-off: 1, 2, 4, 8 … minutes, at most a day.
    let delay = Duration::minutes(1i64 << attempts.clamp(0, 10)).min(Duration::days(1));
    let mut update = outbox_mail::Entity::update_many()
        .col_expr(outbox_mail::Column::Status, Expr::value(status))
        .col_expr(outbox_mail::Column::Attempts, Expr::value(attempts))
        .col_expr(
            outbox_mail::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(outbox_mail::Column::LeaseOwner, Expr::value(Option::<String>::None));
    update = match status {
        Status::Sent => update.col_expr(outbox_mail::Column::SentAt, Expr::value(Some(now))),
        Status::Pending => update
            .col_expr(outbox_mail::Column::NextAttemptAt, Expr::value(now + delay))
            .col_expr(outbox_mail::Column::LastError, Expr::value(error)),
        _ => update.col_expr(outbox_mail::Column::LastError, Expr::value(error)),
    };
    update
        .filter(outbox_mail::Column::Id.eq(mail_id))
        .filter(outbox_mail::Column::LeaseOwner.eq(worker_id))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// How often the worker looks for mails due again (retries of mails that failed), besides
/// being woken when a sign-in link is recorded.
const OUTBOX_POLL: StdDuration = StdDuration::from_secs(15);

/// The server's own worker, until `stop` changes (a run in progress finishes first). It sends
/// the outbox when woken ([`AppState::outbox`]) and every [`OUTBOX_POLL`]; and it decides due
/// digests at start (what fell due while the server was down goes out now), then every
/// `digest_interval_seconds` (never when that is 0).
pub async fn run_periodically(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let worker_id = format!("{}-{}", std::process::id(), crate::auth::tokens::new_secret());
    let digest_every = (state.settings.digest_interval_seconds > 0)
        .then(|| StdDuration::from_secs(state.settings.digest_interval_seconds));
    let mut next_digest_run = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        match digest_every {
            Some(every) if now >= next_digest_run => {
                next_digest_run = now + every;
                match run_due(&state, &worker_id).await {
                    Ok(report) if report != Default::default() => tracing::info!(?report, "digests run"),
                    Ok(_) => {}
                    Err(error) => error.log(),
                }
            }
            _ => match send_pending(&state, &worker_id).await {
                Ok(report) if report != Default::default() => tracing::info!(?report, "outbox sent"),
                Ok(_) => {}
                Err(error) => error.log(),
            },
        }
        let mut wake_at = tokio::time::Instant::now() + OUTBOX_POLL;
        if digest_every.is_some() {
            wake_at = wake_at.min(next_digest_run);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake_at) => {}
            _ = state.outbox.notified() => {}
            _ = stop.changed() => return,
        }
    }
}
