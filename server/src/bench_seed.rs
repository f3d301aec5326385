//! `samling bench-seed`: cohorts full of members with session tokens, for the realtime
//! benchmark (`tests/bench-realtime.sh`). Never run against a database people use.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set, TransactionTrait};
use serde::Serialize;

use crate::auth::session::SessionKeys;
use crate::cohorts::set_membership;
use crate::config::Settings;
use crate::domain::roles::Role;
use crate::entities::{cohort, post, programme, theme, thread, user};
use crate::i18n::Language;
use crate::threads::events::{self, EventKind};

#[derive(Debug, Serialize)]
pub struct SeededMember {
    pub user_id: i32,
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct SeededCohort {
    pub cohort_id: i32,
    pub thread_id: i32,
    pub members: Vec<SeededMember>,
}

#[derive(Debug, Serialize)]
pub struct BenchSeed {
    pub cohorts: Vec<SeededCohort>,
}

/// Creates a programme with `cohorts` cohorts of `members` project leads each, one thread per
/// cohort, and a session token per member, all in one transaction (thousands of commits would
/// take minutes on SQLite).
pub async fn seed(
    db: &DatabaseConnection,
    settings: &Settings,
    cohorts: usize,
    members: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<BenchSeed> {
    anyhow::ensure!(cohorts > 0 && members > 0, "--cohorts and --members must be at least 1");
    let keys = SessionKeys::new(settings.signing_secret.expose());
    let lifetime = Duration::hours(settings.session_hours);
    let txn = db.begin().await?;
    let today = now.date_naive();
    let programme = programme::ActiveModel {
        name: Set(format!("Benchmark {}", now.format("%Y-%m-%d %H:%M:%S"))),
        grant_years: Set(today.format("%Y").to_string()),
        starts_on: Set(today),
        ends_on: Set(today + Duration::days(365)),
        time_zone: Set("Europe/Oslo".to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut seeded = Vec::with_capacity(cohorts);
    for c in 1..=cohorts {
        // A cohort is one (programme, theme) pair, so each benchmark cohort needs its own theme.
        let name = format!("Benchmark {c}");
        let theme = theme::ActiveModel {
            slug: Set(format!("bench-{}-{c}", programme.id)),
            name_nb: Set(name.clone()),
            name_nn: Set(name.clone()),
            name_en: Set(name),
            keywords: Set(String::new()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let cohort = cohort::ActiveModel {
            programme_id: Set(programme.id),
            theme_id: Set(theme.id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut seeded_members = Vec::with_capacity(members);
        for m in 1..=members {
            let person = user::ActiveModel {
                name: Set(format!("Bench {c}-{m}")),
                email: Set(format!("bench-{}-{c}-{m}@bench.invalid", programme.id)),
                language: Set(Language::Nb.code().to_string()),
                is_admin: Set(false),
                active: Set(true),
                token_version: Set(0),
                organisation_id: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            set_membership(&txn, person.id, cohort.id, Role::ProjectLead, None, now).await?;
            seeded_members.push(SeededMember {
                user_id: person.id,
                token: keys.issue(person.id, person.token_version, now, lifetime)?,
            });
        }
        let author_id = seeded_members[0].user_id;
        let opened = thread::ActiveModel {
            cohort_id: Set(cohort.id),
            session_id: Set(None),
            title: Set(format!("Benchmark thread {c}")),
            author_id: Set(author_id),
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
        let first = post::ActiveModel {
            thread_id: Set(opened.id),
            cohort_id: Set(cohort.id),
            author_id: Set(author_id),
            parent_post_id: Set(None),
            body: Set("The benchmark posts here.".to_string()),
            client_id: Set(format!("bench-seed-{}", opened.id)),
            hidden: Set(false),
            hidden_reason: Set(None),
            deleted: Set(false),
            version: Set(0),
            created_at: Set(now),
            edited_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // Keeps the event log as the real thread path leaves it.
        events::append(
            &txn,
            cohort.id,
            EventKind::ThreadCreated,
            Some(opened.id),
            Some(first.id),
            now,
        )
        .await?;
        seeded.push(SeededCohort {
            cohort_id: cohort.id,
            thread_id: opened.id,
            members: seeded_members,
        });
    }
    txn.commit().await?;
    Ok(BenchSeed { cohorts: seeded })
}

/// Seeds and writes the cohorts, threads and tokens to `out` as JSON.
pub async fn run(
    settings: &Settings,
    cohorts: usize,
    members: usize,
    out: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings.database_url).await?;
    crate::db::migrate(&db).await?;
    let seeded = seed(&db, settings, cohorts, members, now).await?;
    let json = serde_json::to_vec(&seeded)?;
    std::fs::write(out, json).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
