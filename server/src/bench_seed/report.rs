//! `samling bench-seed-report`: a programme of national size for the report benchmark
//! (`tests/bench-report.sh`): 400 municipalities, 30 cohorts, 120 sessions, 10,000
//! registrations, 200,000 posts, with needs, answers, resources, lessons and survey answers, from
//! a fixed seed. Never run against a database people use.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use crate::auth::session_token::SessionKeys;
use crate::config::Settings;
use crate::domain::grants::{GrantStatus, Placement};
use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::{
    cohort, grant, lesson, lesson_read, membership, organisation, post, preparation, programme, registration, resource,
    session, suggestion_follow, survey_answer, theme, thread, user,
};
use crate::i18n::Language;

/// The size of the generated programme.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub municipalities: usize,
    pub cohorts: usize,
    pub sessions_per_cohort: usize,
    pub registrations: usize,
    pub posts: usize,
}

impl Default for Size {
    /// The issue's national scale.
    fn default() -> Self {
        Self {
            municipalities: 400,
            cohorts: 30,
            sessions_per_cohort: 4,
            registrations: 10_000,
            posts: 200_000,
        }
    }
}

/// What the benchmark client needs: the scopes to ask for and who asks.
#[derive(Debug, Serialize)]
pub struct ReportSeed {
    pub admin_token: String,
    pub programme_id: i32,
    pub theme_id: i32,
    pub cohort_id: i32,
    pub session_id: i32,
}

const COUNTIES: &[&str] = &[
    "Agder",
    "Akershus",
    "Buskerud",
    "Finnmark",
    "Innlandet",
    "Møre og Romsdal",
    "Nordland",
    "Rogaland",
    "Telemark",
    "Troms",
    "Trøndelag",
    "Vestfold",
    "Vestland",
    "Østfold",
    "Oslo",
];
/// Project leads per grant: colleagues of one project.
const PEOPLE_PER_GRANT: usize = 5;
const GRANTS_PER_MUNICIPALITY: f64 = 1.5;
const THREADS_PER_COHORT: usize = 40;
const EXPERTS_PER_COHORT: usize = 2;
const BATCH: usize = 1_000;

pub async fn run(settings: &Settings, size: Size, out: &Path, now: DateTime<Utc>) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings.database_url).await?;
    crate::db::migrate(&db).await?;
    let seeded = seed(&db, settings, size, now).await?;
    std::fs::write(out, serde_json::to_vec(&seeded)?).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// Inserts rows in batches of [`BATCH`], each batch its own statement.
async fn insert_all<A>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        <A::Entity as EntityTrait>::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub async fn seed(
    db: &DatabaseConnection,
    settings: &Settings,
    size: Size,
    now: DateTime<Utc>,
) -> anyhow::Result<ReportSeed> {
    anyhow::ensure!(
        size.municipalities > 0 && size.cohorts > 0 && size.sessions_per_cohort > 0,
        "the programme needs municipalities, cohorts and sessions"
    );
    let mut rng = StdRng::seed_from_u64(2026);
    let stamp = now.timestamp();
    let today = now.date_naive();
    let txn = crate::db::write_transaction(db).await?;

    let new_programme = |name: String, years: &str, starts: chrono::NaiveDate| programme::ActiveModel {
        name: Set(name),
        grant_years: Set(years.to_string()),
        starts_on: Set(starts),
        ends_on: Set(starts + Duration::days(365)),
        time_zone: Set("Europe/Oslo".to_string()),
        created_at: Set(now),
        session_minutes: Set(120),
        day_starts_hour: Set(9),
        day_ends_hour: Set(15),
        min_gap_days: Set(21),
        lead_days: Set(21),
        ..Default::default()
    };
    let programme = new_programme(format!("Report benchmark {stamp}"), "2025", today - Duration::days(120))
        .insert(&txn)
        .await?;
    // The next year's programme, whose people read this year's lessons.
    let later = new_programme(format!("Report benchmark {stamp}, next year"), "2026", today)
        .insert(&txn)
        .await?;

    let organisations = (0..size.municipalities)
        .map(|n| organisation::ActiveModel {
            number: Set(format!("B{stamp}-{n:04}")),
            name: Set(format!("Benchkommune {n}")),
            county: Set(COUNTIES[n % COUNTIES.len()].to_string()),
            kind: Set(organisation::Kind::Municipality),
            ..Default::default()
        })
        .collect();
    insert_all(&txn, organisations).await?;
    let organisation_ids: Vec<i32> = organisation::Entity::find()
        .filter(organisation::Column::Number.starts_with(format!("B{stamp}-")))
        .order_by_asc(organisation::Column::Id)
        .all(&txn)
        .await?
        .iter()
        .map(|row| row.id)
        .collect();

    let mut theme_ids = Vec::new();
    let mut cohort_ids = Vec::new();
    for c in 0..size.cohorts {
        let name = format!("Benchtema {c}");
        let theme = theme::ActiveModel {
            slug: Set(format!("bench-report-{stamp}-{c}")),
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
            participants_post_resources: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        theme_ids.push(theme.id);
        cohort_ids.push(cohort.id);
    }

    // Grants: every municipality has one, some two, spread over the themes.
    let grant_count = (size.municipalities as f64 * GRANTS_PER_MUNICIPALITY).round() as usize;
    let grants = (0..grant_count)
        .map(|n| {
            let organisation = n % organisation_ids.len();
            grant::ActiveModel {
                reference: Set(format!("B{stamp}-{n:05}")),
                title: Set(format!("Klimatiltak {n}")),
                organisation_id: Set(organisation_ids[organisation]),
                county: Set(COUNTIES[organisation % COUNTIES.len()].to_string()),
                amount_nok: Set(250_000 + (n as i64 % 7) * 50_000),
                status: Set(if n % 3 == 0 {
                    GrantStatus::Completed
                } else {
                    GrantStatus::Ongoing
                }),
                period_start: Set(today - Duration::days(400)),
                period_end: Set(today + Duration::days(if n % 3 == 0 { -30 } else { 200 })),
                measure_type: Set("Benchmark".to_string()),
                grant_year: Set(2025),
                contact_name: Set(format!("Kontakt {n}")),
                contact_email: Set(Some(format!("kontakt-{stamp}-{n}@bench.invalid"))),
                description: Set("Et generert prosjekt.".to_string()),
                theme_id: Set(Some(theme_ids[n % theme_ids.len()])),
                suggested_theme_id: Set(None),
                placement: Set(Placement::Automatic.code().to_string()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    insert_all(&txn, grants).await?;
    let grant_rows = grant::Entity::find()
        .filter(grant::Column::Reference.starts_with(format!("B{stamp}-")))
        .order_by_asc(grant::Column::Id)
        .all(&txn)
        .await?;

    // People: colleagues per grant as project leads, experts and a facilitator per cohort, an admin.
    let mut people = Vec::new();
    for grant in &grant_rows {
        for p in 0..PEOPLE_PER_GRANT {
            people.push((format!("lead-{}-{p}", grant.id), Some(grant.organisation_id)));
        }
    }
    for c in 0..size.cohorts {
        people.push((format!("facilitator-{c}"), None));
        for e in 0..EXPERTS_PER_COHORT {
            people.push((format!("expert-{c}-{e}"), None));
        }
    }
    people.push(("admin".to_string(), None));
    let users = people
        .iter()
        .map(|(key, organisation_id)| user::ActiveModel {
            name: Set(format!("Bench {key}")),
            name_key: Set(user::name_key(&format!("Bench {key}"))),
            email: Set(format!("{key}-{stamp}@bench-report.invalid")),
            language: Set(Language::Nb.code().to_string()),
            is_admin: Set(key == "admin"),
            active: Set(true),
            token_version: Set(0),
            organisation_id: Set(*organisation_id),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&txn, users).await?;
    let user_rows = user::Entity::find()
        .filter(user::Column::Email.ends_with(format!("-{stamp}@bench-report.invalid")))
        .order_by_asc(user::Column::Id)
        .all(&txn)
        .await?;
    let by_email: std::collections::HashMap<&str, i32> =
        user_rows.iter().map(|row| (row.email.as_str(), row.id)).collect();
    let id_of = |key: &str| by_email[format!("{key}-{stamp}@bench-report.invalid").as_str()];

    // Memberships; per cohort its leads (with their grant), experts and facilitator.
    let mut memberships = Vec::new();
    let mut leads_by_cohort: Vec<Vec<i32>> = vec![Vec::new(); size.cohorts];
    let mut experts_by_cohort: Vec<Vec<i32>> = vec![Vec::new(); size.cohorts];
    let member = |user_id: i32, cohort_id: i32, role: Role, grant_id: Option<i32>| membership::ActiveModel {
        user_id: Set(user_id),
        cohort_id: Set(cohort_id),
        role: Set(role),
        grant_id: Set(grant_id),
        created_at: Set(now),
        ..Default::default()
    };
    for (n, grant) in grant_rows.iter().enumerate() {
        let c = n % size.cohorts;
        for p in 0..PEOPLE_PER_GRANT {
            let person = id_of(&format!("lead-{}-{p}", grant.id));
            leads_by_cohort[c].push(person);
            memberships.push(member(person, cohort_ids[c], Role::ProjectLead, Some(grant.id)));
        }
    }
    for c in 0..size.cohorts {
        memberships.push(member(
            id_of(&format!("facilitator-{c}")),
            cohort_ids[c],
            Role::Facilitator,
            None,
        ));
        for e in 0..EXPERTS_PER_COHORT {
            let expert = id_of(&format!("expert-{c}-{e}"));
            experts_by_cohort[c].push(expert);
            memberships.push(member(expert, cohort_ids[c], Role::Expert, None));
        }
    }
    insert_all(&txn, memberships).await?;

    // Sessions: all but the last of each cohort held, a month apart.
    let mut sessions = Vec::new();
    for (c, cohort_id) in cohort_ids.iter().enumerate() {
        for s in 0..size.sessions_per_cohort {
            let still_to_come = (size.sessions_per_cohort - 1 - s) as i64;
            let held = still_to_come > 0;
            let starts = if held {
                now - Duration::days(30 * still_to_come)
            } else {
                now + Duration::days(14)
            };
            sessions.push(session::ActiveModel {
                cohort_id: Set(*cohort_id),
                number: Set(s as i32 + 1),
                title: Set(format!("Benchtema {c} – samling {}", s + 1)),
                title_key: Set(None),
                starts_at: Set(starts),
                ends_at: Set(starts + Duration::hours(2)),
                meeting_url: Set(None),
                agenda: Set("1. Velkommen\n2. Erfaringer".to_string()),
                status: Set(if held {
                    SessionStatus::Held
                } else {
                    SessionStatus::Confirmed
                }),
                capacity: Set(None),
                sequence: Set(0),
                recap_summary: Set(if held {
                    "Vi delte erfaringer.".to_string()
                } else {
                    String::new()
                }),
                recap_decisions: Set(String::new()),
                recap_resources: Set(String::new()),
                recap_published_at: Set(held.then_some(starts + Duration::days(2))),
                created_at: Set(now),
                updated_at: Set(now),
                nudged_at: Set(None),
                ..Default::default()
            });
        }
    }
    insert_all(&txn, sessions).await?;
    let session_rows = session::Entity::find()
        .filter(session::Column::CohortId.is_in(cohort_ids.clone()))
        .order_by_asc(session::Column::Id)
        .all(&txn)
        .await?;
    let cohort_index = |cohort_id: i32| cohort_ids.iter().position(|id| *id == cohort_id).unwrap_or(0);

    // Registrations, spread evenly over the sessions; the last few of each session wait.
    let mut registrations = Vec::new();
    let mut preparations = Vec::new();
    let mut survey_answers = Vec::new();
    for (s, held) in session_rows.iter().enumerate() {
        let share = size.registrations / session_rows.len() + usize::from(s < size.registrations % session_rows.len());
        let mut leads = leads_by_cohort[cohort_index(held.cohort_id)].clone();
        leads.shuffle(&mut rng);
        let past = held.status == SessionStatus::Held;
        for (n, person) in leads.iter().take(share).enumerate() {
            let waitlisted = n + 4 >= share;
            registrations.push(registration::ActiveModel {
                session_id: Set(held.id),
                user_id: Set(*person),
                status: Set(if waitlisted {
                    RegistrationStatus::Waitlisted
                } else {
                    RegistrationStatus::Registered
                }),
                created_at: Set(held.starts_at - Duration::days(10)),
                attended: Set((past && !waitlisted).then(|| rng.random_bool(0.8))),
                ..Default::default()
            });
            if n % 3 == 0 {
                let addressed = past && rng.random_bool(0.6);
                preparations.push(preparation::ActiveModel {
                    session_id: Set(held.id),
                    user_id: Set(*person),
                    needs: Set(format!("Vi trenger hjelp med måling av matsvinn ({n})")),
                    offers: Set("Vi deler kantinedata".to_string()),
                    updated_at: Set(held.starts_at - Duration::days(5)),
                    addressed_session_id: Set(addressed.then_some(held.id)),
                    addressed_at: Set(addressed.then_some(held.ends_at)),
                    ..Default::default()
                });
            }
        }
        if past {
            for _ in 0..rng.random_range(3..25) {
                survey_answers.push(survey_answer::ActiveModel {
                    kind: Set("session".to_string()),
                    programme_id: Set(programme.id),
                    cohort_id: Set(held.cohort_id),
                    session_id: Set(Some(held.id)),
                    usefulness: Set(Some(rng.random_range(2..=5))),
                    helped: Set("Eksemplene fra andre kommuner".to_string()),
                    change: Set(String::new()),
                    changed_project: Set(None),
                    recommend: Set(None),
                    answered_on: Set(held.ends_at.date_naive() + Duration::days(1)),
                    ..Default::default()
                });
            }
        }
    }
    insert_all(&txn, registrations).await?;
    insert_all(&txn, preparations).await?;
    insert_all(&txn, survey_answers).await?;

    // Threads, half of them questions with an answer, and the posts spread over them.
    let mut threads = Vec::new();
    for (c, cohort_id) in cohort_ids.iter().enumerate() {
        for t in 0..THREADS_PER_COHORT {
            let author = *leads_by_cohort[c].choose(&mut rng).context("a cohort without leads")?;
            let opened = now - Duration::days(100) + Duration::hours(t as i64 * 50);
            threads.push(thread::ActiveModel {
                cohort_id: Set(*cohort_id),
                session_id: Set(None),
                title: Set(format!("Spørsmål {t} om matsvinn?")),
                author_id: Set(author),
                locked: Set(false),
                pinned: Set(false),
                answered_post_id: Set(None),
                version: Set(0),
                created_at: Set(opened),
                updated_at: Set(opened),
                ..Default::default()
            });
        }
    }
    insert_all(&txn, threads).await?;
    let thread_rows = thread::Entity::find()
        .filter(thread::Column::CohortId.is_in(cohort_ids.clone()))
        .order_by_asc(thread::Column::Id)
        .all(&txn)
        .await?;
    let mut posts = Vec::with_capacity(BATCH);
    for n in 0..size.posts {
        let opened = &thread_rows[n % thread_rows.len()];
        let c = cohort_index(opened.cohort_id);
        let round = n / thread_rows.len();
        let author = if round == 0 {
            opened.author_id
        } else if rng.random_bool(0.1) {
            *experts_by_cohort[c]
                .choose(&mut rng)
                .context("a cohort without experts")?
        } else {
            *leads_by_cohort[c].choose(&mut rng).context("a cohort without leads")?
        };
        posts.push(post::ActiveModel {
            thread_id: Set(opened.id),
            cohort_id: Set(opened.cohort_id),
            author_id: Set(author),
            parent_post_id: Set(None),
            body: Set(format!(
                "Innlegg {n}: vi har målt matsvinnet i kantinene og deler tallene."
            )),
            client_id: Set(format!("bench-report-{n}")),
            hidden: Set(false),
            hidden_reason: Set(None),
            deleted: Set(false),
            version: Set(0),
            created_at: Set(opened.created_at + Duration::minutes(round as i64 * 37 + 5)),
            edited_at: Set(None),
            ..Default::default()
        });
        if posts.len() == BATCH {
            post::Entity::insert_many(std::mem::take(&mut posts))
                .exec_without_returning(&txn)
                .await?;
        }
    }
    insert_all(&txn, posts).await?;
    // Half the questions are answered by their second post.
    let backend = txn.get_database_backend();
    txn.execute_raw(sea_orm::Statement::from_string(
        backend,
        format!(
            "UPDATE threads SET answered_post_id = (SELECT MIN(posts.id) FROM posts WHERE posts.thread_id = threads.id \
             AND posts.author_id <> threads.author_id) WHERE threads.cohort_id IN \
             (SELECT id FROM cohorts WHERE programme_id = {}) AND threads.id % 2 = 0",
            programme.id
        ),
    ))
    .await?;

    // Resources with downloads, lessons with readers next year, followed suggestions.
    let mut resources = Vec::new();
    for (c, cohort_id) in cohort_ids.iter().enumerate() {
        for r in 0..5 {
            resources.push(resource::ActiveModel {
                cohort_id: Set(*cohort_id),
                session_id: Set(None),
                kind: Set(resource::Kind::Link),
                title: Set(format!("Veileder {r}")),
                summary: Set(String::new()),
                tags: Set(String::new()),
                url: Set(Some(format!("https://example.no/veileder-{c}-{r}"))),
                storage_key: Set(None),
                file_name: Set(None),
                content_type: Set(None),
                size_bytes: Set(None),
                posted_by: Set(experts_by_cohort[c][0]),
                created_at: Set(now - Duration::days(50)),
                downloads: Set(rng.random_range(0..40)),
                ..Default::default()
            });
        }
    }
    insert_all(&txn, resources).await?;
    let mut lessons = Vec::new();
    for (n, grant) in grant_rows
        .iter()
        .enumerate()
        .filter(|(_, grant)| grant.status == GrantStatus::Completed)
    {
        lessons.push(lesson::ActiveModel {
            grant_id: Set(grant.id),
            cohort_id: Set(cohort_ids[n % size.cohorts]),
            theme_id: Set(grant.theme_id.unwrap_or(theme_ids[0])),
            learned: Set("Måling først, så tiltak.".to_string()),
            tips: Set("Start med én kantine.".to_string()),
            author_id: Set(id_of(&format!("lead-{}-0", grant.id))),
            created_at: Set(now - Duration::days(20)),
            updated_at: Set(now - Duration::days(20)),
            done: Set("Vi målte matsvinn i alle kantiner.".to_string()),
            results: Set("Ti prosent mindre matsvinn.".to_string()),
            did_not_work: Set("Plakater alene.".to_string()),
            contact_name: Set(format!("Kontakt {n}")),
            contact_email: Set(format!("kontakt-{stamp}-{n}@bench.invalid")),
            contact_phone: Set("+47 400 00 000".to_string()),
            ..Default::default()
        });
    }
    insert_all(&txn, lessons).await?;
    let lesson_ids: Vec<i32> = lesson::Entity::find()
        .filter(lesson::Column::GrantId.is_in(grant_rows.iter().map(|grant| grant.id)))
        .all(&txn)
        .await?
        .iter()
        .map(|row| row.id)
        .collect();
    let readers: Vec<i32> = user_rows.iter().map(|row| row.id).step_by(3).collect();
    let mut reads = Vec::new();
    for (n, lesson_id) in lesson_ids.iter().enumerate() {
        for reader in readers.iter().skip(n % 7).step_by(97).take(10) {
            reads.push(lesson_read::ActiveModel {
                lesson_id: Set(*lesson_id),
                user_id: Set(*reader),
                programme_id: Set(Some(if n % 2 == 0 { later.id } else { programme.id })),
                read_at: Set(now - Duration::days(3)),
                ..Default::default()
            });
        }
    }
    insert_all(&txn, reads).await?;
    let mut follows = Vec::new();
    for (n, grant) in grant_rows.iter().enumerate().take(300) {
        let suggested = &grant_rows[(n + 1) % grant_rows.len()];
        follows.push(suggestion_follow::ActiveModel {
            user_id: Set(id_of(&format!("lead-{}-0", grant.id))),
            grant_id: Set(grant.id),
            suggested_grant_id: Set(suggested.id),
            reason: Set("similar".to_string()),
            created_at: Set(now - Duration::days(7)),
            ..Default::default()
        });
    }
    insert_all(&txn, follows).await?;
    txn.commit().await?;

    let admin = id_of("admin");
    let keys = SessionKeys::new(settings.signing_secret.expose());
    Ok(ReportSeed {
        admin_token: keys.issue(admin, 0, now, Duration::hours(settings.session_hours))?,
        programme_id: programme.id,
        theme_id: theme_ids[0],
        cohort_id: cohort_ids[0],
        session_id: session_rows[0].id,
    })
}
