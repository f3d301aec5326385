//! `samling bench-seed`: cohorts full of members with session tokens, for the realtime
//! benchmark (`tests/bench-realtime.sh`). Never run against a database people use.

pub mod report;

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;

use crate::auth::session_token::SessionKeys;
use crate::cohorts::set_membership;
use crate::config::Settings;
use crate::domain::roles::Role;
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort, post, programme, theme, thread, user};
use crate::i18n::Language;
use crate::realtime::events;

#[derive(Debug, Serialize)]
pub struct SeededMember {
    pub user_id: i32,
    /// The member's full name, as a post mentions them (`@Full Name`).
    pub name: String,
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
    anyhow::ensure!(
        cohorts.saturating_mul(members) <= MEMBER_NAMES,
        "at most {MEMBER_NAMES} members in all have unique names"
    );
    let keys = SessionKeys::new(settings.signing_secret.expose());
    let lifetime = Duration::hours(settings.session_hours);
    let txn = crate::db::write_transaction(db).await?;
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
            let name = member_name((c - 1) * members + (m - 1));
            let person = user::ActiveModel {
                name_key: Set(user::name_key(&name)),
                name: Set(name.clone()),
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
                name,
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

/// Norwegian first and last names (æøå among them), combined into the seeded members' names.
const FIRST_NAMES: [&str; 50] = [
    "Kari",
    "Ola",
    "Åse",
    "Bjørn",
    "Sølvi",
    "Ørjan",
    "Kåre",
    "Håkon",
    "Ingrid",
    "Nils",
    "Marit",
    "Per",
    "Anne",
    "Jørgen",
    "Sigrid",
    "Torbjørn",
    "Liv",
    "Øystein",
    "Ragnhild",
    "Espen",
    "Ingeborg",
    "Halvard",
    "Solveig",
    "Lars",
    "Gro",
    "Knut",
    "Tove",
    "Jon",
    "Hege",
    "Pål",
    "Siri",
    "Rune",
    "Astrid",
    "Geir",
    "Mette",
    "Trond",
    "Brit",
    "Stein",
    "Eli",
    "Arne",
    "Hanne",
    "Odd",
    "Kjersti",
    "Frode",
    "Randi",
    "Terje",
    "Bodil",
    "Vidar",
    "Turid",
    "Mari",
];
const LAST_NAMES: [&str; 50] = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Sæther",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Løken",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Grønli",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
    "Solberg",
    "Ødegård",
    "Eide",
    "Knutsen",
    "Martinsen",
    "Næss",
    "Bakken",
    "Håland",
    "Mathisen",
    "Lie",
    "Amundsen",
    "Strøm",
    "Rasmussen",
    "Kjær",
    "Lunde",
    "Solheim",
    "Berge",
    "Moe",
    "Nygård",
    "Bø",
];
/// Second first names, for seeds larger than the first and last names give.
const MIDDLE_NAMES: [&str; 20] = [
    "Marie", "Johan", "Elise", "Andreas", "Helene", "Kristian", "Louise", "Magnus", "Sofie", "Emil", "Karoline",
    "Henrik", "Amalie", "Tobias", "Cecilie", "Sander", "Ida", "Mathias", "Oda", "Jonas",
];
const FIRST_AND_LAST: usize = FIRST_NAMES.len() * LAST_NAMES.len();
/// How many members a seed can name, each uniquely.
pub const MEMBER_NAMES: usize = FIRST_AND_LAST * (1 + MIDDLE_NAMES.len());

/// The `index`th seeded member's name, unique for every index below [`MEMBER_NAMES`]: first a
/// first and a last name, then with a middle name too. A prime stride (coprime with the counts)
/// spreads neighbours over different last names, so a cohort is not all Hansens.
pub fn member_name(index: usize) -> String {
    const STRIDE: usize = 1_009;
    if index < FIRST_AND_LAST {
        let spread = index * STRIDE % FIRST_AND_LAST;
        return format!(
            "{} {}",
            FIRST_NAMES[spread % FIRST_NAMES.len()],
            LAST_NAMES[spread / FIRST_NAMES.len()]
        );
    }
    let with_middle = FIRST_AND_LAST * MIDDLE_NAMES.len();
    let spread = (index - FIRST_AND_LAST) % with_middle * STRIDE % with_middle;
    let pair = spread % FIRST_AND_LAST;
    format!(
        "{} {} {}",
        FIRST_NAMES[pair % FIRST_NAMES.len()],
        MIDDLE_NAMES[spread / FIRST_AND_LAST],
        LAST_NAMES[pair / FIRST_NAMES.len()]
    )
}

/// Words the search benchmark's posts are made of: the programme's subjects in several
/// inflected forms, and the small words between them.
pub const SEARCH_WORDS: &[&str] = &[
    "matsvinn",
    "matsvinnet",
    "kantine",
    "kantinene",
    "sykehjem",
    "sykehjemmet",
    "ombruk",
    "ombruket",
    "byggematerialer",
    "arealplan",
    "arealplanen",
    "myr",
    "myra",
    "klimabudsjett",
    "klimabudsjettet",
    "måling",
    "målingene",
    "kjøkken",
    "kjøkkenet",
    "skole",
    "skolene",
    "innkjøp",
    "anskaffelser",
    "møbler",
    "tekstiler",
    "reparasjon",
    "transport",
    "lading",
    "ladepunkter",
    "fortetting",
    "kollektivknutepunkt",
    "overvann",
    "natur",
    "jord",
    "kompost",
    "matavfall",
    "matavfallet",
    "restemat",
    "menyplanlegging",
    "veiing",
    "frivillige",
    "butikker",
    "husholdninger",
    "kampanje",
    "kurs",
    "erfaring",
    "erfaringer",
    "rapport",
    "veileder",
    "budsjett",
    "kommune",
    "kommunene",
    "prosjekt",
    "prosjektet",
    "gjenbruk",
    "utslipp",
    "utslippene",
    "sirkulær",
    "plantebasert",
    "skolemat",
    "barnehage",
    "barnehagene",
];
const SMALL_WORDS: &[&str] = &[
    "og", "i", "på", "av", "for", "med", "til", "som", "det", "er", "vi", "har",
];

/// Fills the seeded cohorts' threads with `posts` posts of generated Norwegian text, indexed
/// for search as the post path indexes them, in batches of one transaction each.
pub async fn seed_posts(
    db: &DatabaseConnection,
    seeded: &BenchSeed,
    posts: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use rand::rngs::StdRng;
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    use sea_orm::EntityTrait;
    const BATCH: usize = 1_000;
    let mut rng = StdRng::seed_from_u64(2026);
    let mut made = 0;
    while made < posts {
        let txn = crate::db::write_transaction(db).await?;
        let mut rows = Vec::new();
        for n in made..(made + BATCH).min(posts) {
            let cohort = &seeded.cohorts[n % seeded.cohorts.len()];
            let length = rng.random_range(20..60);
            let body: Vec<&str> = (0..length)
                .map(|_| {
                    let words = if rng.random_bool(0.4) {
                        SMALL_WORDS
                    } else {
                        SEARCH_WORDS
                    };
                    *words.choose(&mut rng).unwrap_or(&"og")
                })
                .collect();
            rows.push(post::ActiveModel {
                thread_id: Set(cohort.thread_id),
                cohort_id: Set(cohort.cohort_id),
                author_id: Set(cohort.members[0].user_id),
                parent_post_id: Set(None),
                body: Set(body.join(" ")),
                client_id: Set(format!("bench-search-{n}")),
                hidden: Set(false),
                hidden_reason: Set(None),
                deleted: Set(false),
                version: Set(0),
                created_at: Set(now),
                edited_at: Set(None),
                ..Default::default()
            });
        }
        let count = rows.len();
        post::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        let inserted = post::Entity::find()
            .filter(post::Column::ClientId.starts_with("bench-search-"))
            .order_by_desc(post::Column::Id)
            .limit(count as u64)
            .all(&txn)
            .await?;
        for stored in &inserted {
            crate::search::put(&txn, crate::threads::post_search_entry(stored, "Benchmark")).await?;
        }
        txn.commit().await?;
        made += count;
    }
    Ok(())
}

/// Seeds and writes the cohorts, threads and tokens to `out` as JSON. With `recap_due`, every
/// cohort also has a session that ended yesterday with a published recap, and that recap's
/// digest is due now (for `tests/bench-digests.sh`); with `posts`, the threads hold that many
/// generated posts (for `tests/bench-search.sh`).
pub async fn run(
    settings: &Settings,
    cohorts: usize,
    members: usize,
    recap_due: bool,
    posts: usize,
    out: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings.database_url).await?;
    crate::db::migrate(&db).await?;
    let seeded = seed(&db, settings, cohorts, members, now).await?;
    seed_posts(&db, &seeded, posts, now).await?;
    if recap_due {
        for found in &seeded.cohorts {
            make_recap_due(&db, found.cohort_id, now).await?;
        }
    }
    let json = serde_json::to_vec(&seeded)?;
    std::fs::write(out, json).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// A session that ended yesterday, its recap published, and its recap digest due now.
async fn make_recap_due(db: &DatabaseConnection, cohort_id: i32, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::entities::{digest, session};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let held = session::ActiveModel {
        cohort_id: Set(cohort_id),
        number: Set(1),
        title: Set("Samling 1: matsvinn i kantiner".to_string()),
        starts_at: Set(now - Duration::hours(26)),
        ends_at: Set(now - Duration::hours(24)),
        meeting_url: Set(Some("https://video.example.no/bench".to_string())),
        agenda: Set("1. Velkommen\n2. **Erfaringer** fra kantinene\n3. Veien videre".to_string()),
        status: Set(crate::domain::sessions::SessionStatus::Held),
        capacity: Set(None),
        sequence: Set(0),
        recap_summary: Set(BENCH_RECAP.to_string()),
        recap_decisions: Set("- Alle måler matsvinn i fire uker\n- Neste samling om seks uker".to_string()),
        recap_resources: Set("[Veileder](https://example.no/veileder)".to_string()),
        recap_published_at: Set(Some(now - Duration::hours(2))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::digests::sync_schedule(db, cohort_id, now).await?;
    let recap = digest::Entity::find()
        .filter(digest::Column::CohortId.eq(cohort_id))
        .filter(digest::Column::Kind.eq(crate::domain::digest_schedule::DigestKind::Recap))
        .filter(digest::Column::SessionId.eq(held.id))
        .one(db)
        .await?
        .context("the recap digest was not planned")?;
    let mut due: digest::ActiveModel = recap.into();
    due.due_at = Set(now);
    due.postponed = Set(true);
    due.status = Set(digest::Status::Scheduled);
    due.update(db).await?;
    Ok(())
}

const BENCH_RECAP: &str = "Vi delte erfaringer med **matsvinn** i kantiner og sykehjem. \
Tre kommuner har målt i fire uker, og alle fant at mest ble kastet fra buffeten. \
Vi ble enige om å prøve mindre porsjoner og å merke rester tydelig.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_member_has_a_unique_name_and_none_starts_another() {
        let names: Vec<String> = (0..MEMBER_NAMES).map(member_name).collect();
        let all: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(all.len(), MEMBER_NAMES);
        // "@Kari Hansen" must not also mention a "Kari Hansen …": middle names go in the middle.
        for name in &names {
            let words: Vec<&str> = name.split(' ').collect();
            for count in 1..words.len() {
                assert!(!all.contains(words[..count].join(" ").as_str()), "{name}");
            }
        }
    }

    #[test]
    fn neighbours_in_a_cohort_get_different_last_names() {
        let last = |index: usize| member_name(index).rsplit_once(' ').map(|(_, last)| last.to_string());
        let distinct: std::collections::HashSet<Option<String>> = (0..50).map(last).collect();
        assert!(distinct.len() > 10, "{distinct:?}");
    }
}
