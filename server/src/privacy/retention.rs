//! The retention job: sign-in records and mail that went (or will not go) are purged on their
//! own schedules, expired invitations are anonymised (the programme report counts them), and
//! people whose last programme ended longer ago than the retention period are anonymised.
//!
//! Each kind is purged in its own short write transactions (a batch of rows each, so SQLite's
//! one writer is never held for long) and each person is erased in a transaction of their own.
//! Every rule compares with `now` only, so a second run right after the first finds nothing.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use chrono_tz::Europe::Oslo;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::erase::{PostsChoice, erase_and_record};
use crate::config::Settings;
use crate::entities::{cohort, invitation, membership, outbox_mail, programme, sign_in_token, user};
use crate::error::AppResult;
use crate::state::AppState;

/// Rows deleted per transaction.
const BATCH: u64 = 500;

/// What one run removed, per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Sign-in links used or expired more than `retention_sign_in_days` ago.
    pub sign_in_tokens: u64,
    /// Invitations never accepted that expired more than `retention_invitation_days` ago: purged
    /// of address, name and link (the row stays for the report's "invited" count).
    pub invitations: u64,
    /// Mails sent, or failed or cancelled at their last attempt, more than
    /// `retention_outbox_days` ago (pending ones stay).
    pub outbox_mails: u64,
    /// Data exports downloaded or whose link expired (their ZIP files deleted too).
    pub data_exports: usize,
    /// The people anonymised, by id (their sockets are told; other instances too).
    pub anonymised: Vec<i32>,
    /// People due whose erasure failed (logged); the next run tries them again.
    pub failed: usize,
}

/// Purges and anonymises whatever has outlived its period at `now`.
pub async fn run(state: &AppState, now: DateTime<Utc>) -> AppResult<RetentionReport> {
    let (db, settings) = (&state.db, state.settings.as_ref());
    let sign_ins_before = days_before(now, settings.retention_sign_in_days);
    let sign_in_tokens = delete_in_batches::<sign_in_token::Entity>(
        db,
        sign_in_token::Column::Id,
        Condition::any()
            .add(sign_in_token::Column::ExpiresAt.lt(sign_ins_before))
            .add(sign_in_token::Column::ConsumedAt.lt(sign_ins_before)),
    )
    .await?;

    // An accepted invitation stays: it records how the person came into the cohort, and goes
    // with the person. One never accepted loses its person; the row stays for the report.
    let invitations = anonymise_invitations(
        db,
        Condition::all()
            .add(invitation::Column::AcceptedAt.is_null())
            .add(invitation::Column::AnonymisedAt.is_null())
            .add(invitation::Column::ExpiresAt.lt(days_before(now, settings.retention_invitation_days))),
        now,
    )
    .await?;

    // Sent mail the period after it went; failed and cancelled mail the period after its last
    // attempt was due (when the worker gave up; there is no column of its own), which gives an
    // operator that long to see why it did not go out. A pending mail is still to be sent.
    let outbox_before = days_before(now, settings.retention_outbox_days);
    let outbox_mails = delete_in_batches::<outbox_mail::Entity>(
        db,
        outbox_mail::Column::Id,
        Condition::any()
            .add(
                Condition::all()
                    .add(outbox_mail::Column::Status.eq(outbox_mail::Status::Sent))
                    .add(outbox_mail::Column::SentAt.lt(outbox_before)),
            )
            .add(
                Condition::all()
                    .add(
                        outbox_mail::Column::Status
                            .is_in([outbox_mail::Status::Failed, outbox_mail::Status::Cancelled]),
                    )
                    .add(outbox_mail::Column::CreatedAt.lt(outbox_before))
                    .add(outbox_mail::Column::NextAttemptAt.lt(outbox_before)),
            ),
    )
    .await?;

    // Data exports downloaded or past their link's time, with their files.
    let data_exports = crate::privacy::export::purge_expired(db, &state.storage, now).await?;

    let mut anonymised = Vec::new();
    let mut failed = 0;
    for person in people_due(db, settings, now).await? {
        match anonymise(state, person).await {
            Ok(()) => anonymised.push(person),
            Err(error) => {
                tracing::error!(person, error = %error, "the retention job could not anonymise a person; the next run tries again");
                error.log();
                failed += 1;
            }
        }
    }
    Ok(RetentionReport {
        sign_in_tokens,
        invitations,
        outbox_mails,
        data_exports,
        anonymised,
        failed,
    })
}

/// The server's retention worker: a run at start, then one every `retention_interval_hours`,
/// until `stop` changes (a run under way finishes first). Off when the interval is 0.
pub async fn run_periodically(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let hours = state.settings.retention_interval_hours;
    if hours == 0 {
        tracing::info!("the retention job does not run in the server (retention_interval_hours = 0)");
        return;
    }
    let every = StdDuration::from_secs(hours.saturating_mul(3600));
    loop {
        match run(&state, state.now()).await {
            Ok(report) => tracing::info!(
                sign_in_tokens = report.sign_in_tokens,
                invitations = report.invitations,
                outbox_mails = report.outbox_mails,
                anonymised = report.anonymised.len(),
                failed = report.failed,
                "retention run"
            ),
            Err(error) => {
                tracing::error!(error = %error, "the retention run stopped; the next one tries again");
                error.log();
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The people whose personal data has outlived its purpose at `now`, by id: not admins, not
/// erased already, and either
/// - in cohorts whose programmes all ended more than `retention_programme_years` before
///   (Oslo dates), or
/// - in no cohort at all, with an account older than that period and no sign-in within it.
pub async fn people_due(db: &impl ConnectionTrait, settings: &Settings, now: DateTime<Utc>) -> AppResult<Vec<i32>> {
    let cutoff = period_start(oslo_date(now), settings.retention_programme_years);
    let ends_on: HashMap<i32, NaiveDate> = programme::Entity::find()
        .select_only()
        .column(programme::Column::Id)
        .column(programme::Column::EndsOn)
        .into_tuple::<(i32, NaiveDate)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let programme_of: HashMap<i32, i32> = cohort::Entity::find()
        .select_only()
        .column(cohort::Column::Id)
        .column(cohort::Column::ProgrammeId)
        .into_tuple::<(i32, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut last_end: HashMap<i32, NaiveDate> = HashMap::new();
    for (person, cohort_id) in membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .column(membership::Column::CohortId)
        .into_tuple::<(i32, i32)>()
        .all(db)
        .await?
    {
        if let Some(end) = programme_of.get(&cohort_id).and_then(|id| ends_on.get(id)) {
            let last = last_end.entry(person).or_insert(*end);
            *last = (*last).max(*end);
        }
    }
    let people = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::CreatedAt)
        .column(user::Column::LastSignedInAt)
        .filter(user::Column::IsAdmin.eq(false))
        .filter(not_erased())
        .order_by_asc(user::Column::Id)
        .into_tuple::<(i32, DateTime<Utc>, Option<DateTime<Utc>>)>()
        .all(db)
        .await?;
    Ok(people
        .into_iter()
        .filter(|&(person, created_at, signed_in_at)| {
            is_due(
                last_end.get(&person).copied(),
                oslo_date(created_at),
                signed_in_at.map(oslo_date),
                cutoff,
            )
        })
        .map(|(person, ..)| person)
        .collect())
}

/// People the erasure has marked are not erased again.
fn not_erased() -> Condition {
    Condition::all().add(user::Column::ErasedAt.is_null())
}

/// Whether a person's data is due on the day whose retention period starts at `cutoff`: the
/// last of their programmes ended before it, or, in no programme, their account was made and
/// last used before it.
fn is_due(
    last_programme_end: Option<NaiveDate>,
    created_on: NaiveDate,
    last_sign_in_on: Option<NaiveDate>,
    cutoff: NaiveDate,
) -> bool {
    match last_programme_end {
        Some(ended_on) => ended_on < cutoff,
        None => created_on < cutoff && last_sign_in_on.is_none_or(|signed_in_on| signed_in_on < cutoff),
    }
}

/// The first day of the `years` ending `today` (the same date, `years` earlier; 28 February
/// for a 29 February): what ended before it ended more than `years` ago.
fn period_start(today: NaiveDate, years: u32) -> NaiveDate {
    today
        .checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN)
}

fn oslo_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Oslo).date_naive()
}

/// `days` days before `now` (the beginning of time if that is out of range).
fn days_before(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now.checked_sub_signed(Duration::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Deletes the rows matching `due`, [`BATCH`] at a time, each batch in its own write
/// transaction (a long purge never holds the write lock for long); returns how many went.
async fn delete_in_batches<E: EntityTrait>(db: &DatabaseConnection, id: E::Column, due: Condition) -> AppResult<u64> {
    let mut deleted = 0;
    loop {
        let txn = crate::db::write_transaction(db).await?;
        let ids = next_batch::<E>(&txn, id, &due).await?;
        let last_batch = ids.len() < BATCH as usize;
        if !ids.is_empty() {
            deleted += E::delete_many().filter(id.is_in(ids)).exec(&txn).await?.rows_affected;
        }
        txn.commit().await?;
        if last_batch {
            return Ok(deleted);
        }
    }
}

/// Anonymises the invitations matching `due` ([`crate::cohorts::invitations::anonymise`]),
/// [`BATCH`] at a time, each batch in its own write transaction; returns how many.
async fn anonymise_invitations(db: &DatabaseConnection, due: Condition, now: DateTime<Utc>) -> AppResult<u64> {
    let mut anonymised = 0;
    loop {
        let txn = crate::db::write_transaction(db).await?;
        let ids = next_batch::<invitation::Entity>(&txn, invitation::Column::Id, &due).await?;
        let last_batch = ids.len() < BATCH as usize;
        anonymised += crate::cohorts::invitations::anonymise(&txn, &ids, now).await?;
        txn.commit().await?;
        if last_batch {
            return Ok(anonymised);
        }
    }
}

/// The ids of the first [`BATCH`] rows matching `due`, in id order.
async fn next_batch<E: EntityTrait>(txn: &DatabaseTransaction, id: E::Column, due: &Condition) -> AppResult<Vec<i32>> {
    Ok(E::find()
        .select_only()
        .column(id)
        .filter(due.clone())
        .order_by_asc(id)
        .limit(BATCH)
        .into_tuple()
        .all(txn)
        .await?)
}

/// Erases one person as the retention job does, keeping their posts as «Tidligere deltaker»:
/// the erasure's own path (waitlists move up, the audit entry, sockets and files after the
/// commit), in a transaction of its own.
async fn anonymise(state: &AppState, person: i32) -> AppResult<()> {
    erase_and_record(
        state,
        None,
        person,
        PostsChoice::Keep,
        "privacy.retention_anonymise",
        None,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn the_period_goes_back_whole_years_and_a_leap_day_to_the_28th() {
        assert_eq!(period_start(date("2027-03-10"), 3), date("2024-03-10"));
        assert_eq!(period_start(date("2028-02-29"), 3), date("2025-02-28"));
        assert_eq!(period_start(date("2027-03-10"), u32::MAX), NaiveDate::MIN);
    }

    #[test]
    fn a_programme_must_have_ended_before_the_period_began() {
        let cutoff = date("2024-03-10");
        let long_ago = date("2020-01-01");
        assert!(is_due(Some(date("2024-03-09")), long_ago, None, cutoff));
        assert!(!is_due(Some(date("2024-03-10")), long_ago, None, cutoff), "a day early");
        // An old account or sign-in says nothing about someone in a programme.
        assert!(!is_due(Some(date("2025-06-30")), long_ago, Some(long_ago), cutoff));
    }

    #[test]
    fn without_a_programme_the_account_and_its_last_sign_in_must_be_older_than_the_period() {
        let cutoff = date("2024-03-10");
        assert!(is_due(None, date("2024-03-09"), None, cutoff));
        assert!(is_due(None, date("2020-01-01"), Some(date("2024-03-09")), cutoff));
        assert!(!is_due(None, date("2024-03-10"), None, cutoff), "a new account");
        assert!(
            !is_due(None, date("2020-01-01"), Some(date("2024-03-10")), cutoff),
            "signed in lately"
        );
    }

    #[test]
    fn dates_are_oslo_dates() {
        // 23:30 UTC on 9 March is 00:30 on 10 March in Oslo (winter time).
        let late = "2027-03-09T23:30:00Z".parse::<DateTime<Utc>>().expect("a time");
        assert_eq!(oslo_date(late), date("2027-03-10"));
    }

    #[test]
    fn an_absurd_period_reaches_back_to_the_beginning_of_time() {
        let now = "2027-03-10T09:00:00Z".parse::<DateTime<Utc>>().expect("a time");
        assert_eq!(days_before(now, 90), now - Duration::days(90));
        assert_eq!(days_before(now, u32::MAX), DateTime::<Utc>::MIN_UTC);
    }
}
