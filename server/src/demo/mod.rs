//! Demo data for `serve --demo`: the sample grants, a programme with its cohorts, an admin, a
//! facilitator per theme, an expert and the project contacts as members, planned sessions,
//! threads, resources, needs and offers, lessons learned, and the history the programme report
//! shows (held sessions with attendance, recaps, needs taken up, surveys, reads, downloads).

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};

use crate::auth::Caller;
use crate::auth::sign_in::{issue_sign_in_secret, sign_in_path};
use crate::cohorts::{self, NewProgramme, find_or_create_user, set_membership};
use crate::domain::grants::GrantStatus;
use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::cohort_event::EventKind;
use crate::entities::{cohort, grant, membership, post, registration, session, session_expert, theme, thread, user};
use crate::error::AppResult;
use crate::grants::import::import_grants;
use crate::realtime::events::append;
use crate::resources::storage::Storage;
use crate::sessions;
use crate::sessions::planning::{self, PlanQuery};
use crate::users;

mod knowledge;
mod report;

const DEMO_GRANT_YEARS: [i32; 2] = [2021, 2022];

pub const SAMPLE_GRANTS: &[u8] = include_bytes!("../../demo-data/klimasats-tildelinger-sample.csv");

/// Someone the demo created, with a fresh sign-in link.
pub struct DemoPerson {
    pub role: &'static str,
    pub name: String,
    pub email: String,
    pub sign_in_path: String,
}

/// Loads the demo into an empty database; returns `None` when people already exist.
pub async fn load<C: TransactionTrait + sea_orm::ConnectionTrait>(
    db: &C,
    storage: &Storage,
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<DemoPerson>>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    // A programme year that starts next week, so the planner has a future to plan.
    let starts_on = now.date_naive() + Duration::days(7);
    cohorts::create_programme(
        db,
        Caller::CommandLine,
        NewProgramme {
            name: format!("Klimasats-forum {}", starts_on.year()),
            grant_years: DEMO_GRANT_YEARS.map(|year| year.to_string()).join(","),
            starts_on,
            ends_on: starts_on + Duration::days(330),
        },
        now,
    )
    .await?;
    import_grants(db, Caller::CommandLine, SAMPLE_GRANTS, now, &|_, _| {}).await?;

    let (admin, admin_secret) = users::create_admin(db, "admin@example.no", now).await?;
    let mut people = vec![DemoPerson {
        role: "admin",
        name: admin.name,
        email: admin.email,
        sign_in_path: sign_in_path(&admin_secret),
    }];

    let themes = theme::Entity::find().all(db).await?;
    let facilitators = [
        ("mat-og-matsvinn", "Marte Fjeld", "marte.fjeld@example.no"),
        ("sirkulaerokonomi", "Sindre Aas", "sindre.aas@example.no"),
        ("klimavennlig-arealplanlegging", "Aud Lie", "aud.lie@example.no"),
    ];
    let txn = crate::db::write_transaction(db).await?;
    for cohort in cohort::Entity::find().all(&txn).await? {
        let Some(theme) = themes.iter().find(|theme| theme.id == cohort.theme_id) else {
            continue;
        };
        if let Some((_, name, email)) = facilitators.iter().find(|(slug, _, _)| *slug == theme.slug) {
            let facilitator = find_or_create_user(&txn, email, name, now).await?;
            set_membership(&txn, facilitator.id, cohort.id, Role::Facilitator, None, now).await?;
            let secret = issue_sign_in_secret(&txn, facilitator.id, now).await?;
            people.push(DemoPerson {
                role: "facilitator",
                name: facilitator.name,
                email: facilitator.email,
                sign_in_path: sign_in_path(&secret),
            });
        }
        if theme.slug == "mat-og-matsvinn" {
            let expert = find_or_create_user(&txn, "eli.ekspert@example.no", "Eli Ekspert", now).await?;
            set_membership(&txn, expert.id, cohort.id, Role::Expert, None, now).await?;
            let secret = issue_sign_in_secret(&txn, expert.id, now).await?;
            people.push(DemoPerson {
                role: "expert",
                name: expert.name,
                email: expert.email,
                sign_in_path: sign_in_path(&secret),
            });
        }
        // The project contacts join their theme's cohort as project leads.
        let projects = grant::Entity::find()
            .filter(grant::Column::ThemeId.eq(cohort.theme_id))
            .filter(grant::Column::ContactEmail.is_not_null())
            .all(&txn)
            .await?;
        for project in projects {
            if project.status == GrantStatus::Withdrawn || !DEMO_GRANT_YEARS.contains(&project.grant_year) {
                continue;
            }
            let Some(email) = &project.contact_email else { continue };
            let lead = find_or_create_user(&txn, email, &project.contact_name, now).await?;
            set_membership(&txn, lead.id, cohort.id, Role::ProjectLead, Some(project.id), now).await?;
        }
    }
    txn.commit().await?;
    plan_demo_sessions(db, now).await?;
    start_demo_threads(db, now).await?;
    knowledge::load(db, storage, now).await?;
    report::load(db, now).await?;
    make_demo_digests_due(db, now).await?;
    Ok(Some(people))
}

/// Every demo cohort's first reminder and first activity digest are due at once (as if the
/// facilitator pressed "send now"), so the server's first digest run writes them to the
/// outbox folder for a newcomer to open.
async fn make_demo_digests_due<C: sea_orm::ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<()> {
    use crate::digests::sync_schedule;
    use crate::domain::digest_schedule::DigestKind;
    use crate::entities::digest;
    use sea_orm::QueryOrder;
    for found in cohort::Entity::find().all(db).await? {
        sync_schedule(db, found.id, now).await?;
        for kind in [DigestKind::Reminder, DigestKind::Activity] {
            let first = digest::Entity::find()
                .filter(digest::Column::CohortId.eq(found.id))
                .filter(digest::Column::Kind.eq(kind))
                .filter(digest::Column::Status.eq(digest::Status::Scheduled))
                .order_by_asc(digest::Column::DueAt)
                .one(db)
                .await?;
            if let Some(first) = first {
                let mut due: digest::ActiveModel = first.into();
                due.due_at = Set(now);
                due.postponed = Set(true);
                due.intro = Set(DEMO_DIGEST_INTRO.to_string());
                due.update(db).await?;
            }
        }
    }
    Ok(())
}

const DEMO_DIGEST_INTRO: &str = "Denne e-posten er sendt med en gang fordi Samling kjører med demodata.";

/// A question, its answer and a follow-up per theme: (theme, title, question, answer, thanks).
const DEMO_QUESTIONS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "mat-og-matsvinn",
        "Hvordan måler dere matsvinnet i kantinene?",
        "Vi skal i gang med måling på tre sykehjem. **Veier** dere hver dag, eller holder det med stikkprøver?",
        "Vi veide hver dag i fire uker først, og så én uke i måneden. Det ga et godt nok bilde. Malen vår ligger på [Matvett](https://www.matvett.no).",
        "Takk! Da starter vi med fire uker daglig.",
    ),
    (
        "sirkulaerokonomi",
        "Ombruk av møbler: hvem har lagerløsning?",
        "Vi vil starte ombruk av kontormøbler mellom etatene. Hvor lagrer dere møblene mens de venter på ny eier?",
        "Vi leier en del av et kommunalt lager og har en enkel oversikt i et regneark. Det viktigste var én fast person som tar imot.",
        "Nyttig, vi prøver det samme.",
    ),
    (
        "klimavennlig-arealplanlegging",
        "Klimagassregnskap i kommuneplanens arealdel",
        "Hvordan har dere regnet på utslipp fra nedbygging av myr og skog i arealdelen?",
        "Vi brukte Miljødirektoratets veileder og kartla arealreserver med arealbruksendring. Et eget kartlag gjorde det lett å diskutere i politikken.",
        "Takk, det kartlaget vil vi gjerne se på neste samling.",
    ),
];

/// Starts a pinned welcome thread and an answered question in every demo cohort.
async fn start_demo_threads<C: TransactionTrait + sea_orm::ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let themes = theme::Entity::find().all(db).await?;
    let txn = crate::db::write_transaction(db).await?;
    for cohort in cohort::Entity::find().all(&txn).await? {
        let Some(theme) = themes.iter().find(|theme| theme.id == cohort.theme_id) else {
            continue;
        };
        let Some((_, title, question, answer, thanks)) = DEMO_QUESTIONS.iter().find(|(slug, ..)| *slug == theme.slug)
        else {
            continue;
        };
        let members = membership::Entity::find()
            .filter(membership::Column::CohortId.eq(cohort.id))
            .all(&txn)
            .await?;
        let facilitator = members.iter().find(|m| m.role == Role::Facilitator);
        let leads: Vec<i32> = members
            .iter()
            .filter(|m| m.role == Role::ProjectLead)
            .map(|m| m.user_id)
            .collect();
        let (Some(facilitator), [asker, helper, ..]) = (facilitator, leads.as_slice()) else {
            continue;
        };
        let earlier = |hours: i64| now - Duration::hours(hours);
        let welcome = demo_thread(
            &txn,
            cohort.id,
            facilitator.user_id,
            "Velkommen! Presenter dere her",
            earlier(50),
        )
        .await?;
        demo_post(
            &txn,
            &welcome,
            facilitator.user_id,
            None,
            "Skriv gjerne et par linjer om prosjektet og hva dere håper å lære av de andre.",
            earlier(50),
        )
        .await?;
        demo_post(
            &txn,
            &welcome,
            *asker,
            None,
            "Hei alle! Vi er i gang med prosjektet og ser fram til å lære av dere.",
            earlier(30),
        )
        .await?;
        let mut pinned: thread::ActiveModel = welcome.into();
        pinned.pinned = Set(true);
        pinned.update(&txn).await?;

        let asked = demo_thread(&txn, cohort.id, *asker, title, earlier(26)).await?;
        demo_post(&txn, &asked, *asker, None, question, earlier(26)).await?;
        let answer_post = demo_post(&txn, &asked, *helper, None, answer, earlier(20)).await?;
        demo_post(&txn, &asked, *asker, Some(answer_post.id), thanks, earlier(18)).await?;
        let mut answered: thread::ActiveModel = asked.clone().into();
        answered.answered_post_id = Set(Some(answer_post.id));
        answered.version = Set(1);
        answered.update(&txn).await?;
        append(
            &txn,
            cohort.id,
            EventKind::ThreadUpdated,
            Some(asked.id),
            None,
            earlier(17),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn demo_thread(
    txn: &impl sea_orm::ConnectionTrait,
    cohort_id: i32,
    author_id: i32,
    title: &str,
    at: DateTime<Utc>,
) -> AppResult<thread::Model> {
    let created = thread::ActiveModel {
        cohort_id: Set(cohort_id),
        session_id: Set(None),
        title: Set(title.to_string()),
        author_id: Set(author_id),
        locked: Set(false),
        pinned: Set(false),
        answered_post_id: Set(None),
        version: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    crate::search::put(txn, crate::threads::thread_search_entry(&created)).await?;
    Ok(created)
}

/// A post with its event; a thread's first post announces the thread.
async fn demo_post(
    txn: &impl sea_orm::ConnectionTrait,
    in_thread: &thread::Model,
    author_id: i32,
    parent_post_id: Option<i32>,
    body: &str,
    at: DateTime<Utc>,
) -> AppResult<post::Model> {
    let first = post::Entity::find()
        .filter(post::Column::ThreadId.eq(in_thread.id))
        .count(txn)
        .await?
        == 0;
    let created = post::ActiveModel {
        thread_id: Set(in_thread.id),
        cohort_id: Set(in_thread.cohort_id),
        author_id: Set(author_id),
        parent_post_id: Set(parent_post_id),
        body: Set(body.to_string()),
        client_id: Set(format!("demo-{}-{}", in_thread.id, uuid::Uuid::new_v4().simple())),
        hidden: Set(false),
        hidden_reason: Set(None),
        deleted: Set(false),
        version: Set(0),
        created_at: Set(at),
        edited_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let kind = if first {
        EventKind::ThreadCreated
    } else {
        EventKind::PostCreated
    };
    append(txn, in_thread.cohort_id, kind, Some(in_thread.id), Some(created.id), at).await?;
    crate::search::put(txn, crate::threads::post_search_entry(&created, &in_thread.title)).await?;
    Ok(created)
}

const DEMO_AGENDA: &str = "1. Velkommen og runde rundt bordet\n2. Behovene dere meldte inn\n3. Innlegg fra fagperson\n4. Erfaringsdeling i grupper\n5. Oppsummering og veien videre\n";

/// Plans the four sessions of every demo cohort, with agendas, a video link, a booked expert
/// in the food cohort and the project leads registered for the first session.
async fn plan_demo_sessions<C: TransactionTrait + sea_orm::ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let cohorts = cohort::Entity::find().all(db).await?;
    for cohort in &cohorts {
        let proposal = planning::propose_for_cohort(db, cohort.id, PlanQuery::default(), now).await?;
        sessions::store_plan(db, None, cohort.id, &proposal.plan.sessions, now).await?;
    }
    let txn = crate::db::write_transaction(db).await?;
    let themes = theme::Entity::find().all(&txn).await?;
    for cohort in &cohorts {
        let is_food = themes
            .iter()
            .any(|theme| theme.id == cohort.theme_id && theme.slug == "mat-og-matsvinn");
        let planned = session::Entity::find()
            .filter(session::Column::CohortId.eq(cohort.id))
            .all(&txn)
            .await?;
        for found in planned {
            let mut active: session::ActiveModel = found.clone().into();
            active.agenda = Set(DEMO_AGENDA.to_string());
            active.meeting_url = Set(Some(format!("https://video.example.no/samling-{}", found.id)));
            if found.number == 1 {
                active.status = Set(SessionStatus::Confirmed);
                active.capacity = Set(Some(25));
            }
            active.update(&txn).await?;
            if found.number == 1 {
                let leads = membership::Entity::find()
                    .filter(membership::Column::CohortId.eq(cohort.id))
                    .filter(membership::Column::Role.eq(Role::ProjectLead))
                    .all(&txn)
                    .await?;
                for lead in leads {
                    registration::ActiveModel {
                        session_id: Set(found.id),
                        user_id: Set(lead.user_id),
                        status: Set(RegistrationStatus::Registered),
                        created_at: Set(now),
                        attended: Set(None),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                }
                if is_food
                    && let Some(expert) = user::Entity::find()
                        .filter(user::Column::Email.eq("eli.ekspert@example.no"))
                        .one(&txn)
                        .await?
                {
                    session_expert::ActiveModel {
                        session_id: Set(found.id),
                        user_id: Set(expert.id),
                        topic: Set("Veiing og måling av matsvinn".to_string()),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                }
            }
        }
    }
    txn.commit().await?;
    Ok(())
}
