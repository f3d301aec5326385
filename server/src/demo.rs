//! Demo data for `serve --demo`: the sample grants, a programme with its cohorts, an admin, a
//! facilitator per theme, an expert and the project contacts as members.

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};

use crate::auth::sign_in::{issue_sign_in_secret, sign_in_path};
use crate::cohorts::{self, NewProgramme, find_or_create_user, set_membership};
use crate::domain::grants::GrantStatus;
use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::entities::{cohort, grant, membership, registration, session, session_expert, theme, user};
use crate::error::AppResult;
use crate::grants::import::import_grants;
use crate::sessions;
use crate::sessions::planning::{self, PlanQuery};
use crate::users;

const DEMO_GRANT_YEARS: [i32; 2] = [2021, 2022];

pub const SAMPLE_GRANTS: &[u8] = include_bytes!("../demo-data/klimasats-tildelinger-sample.csv");

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
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<DemoPerson>>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    // A programme year that starts next week, so the planner has a future to plan.
    let starts_on = now.date_naive() + Duration::days(7);
    cohorts::create_programme(
        db,
        NewProgramme {
            name: format!("Klimasats-forum {}", starts_on.year()),
            grant_years: DEMO_GRANT_YEARS.map(|year| year.to_string()).join(","),
            starts_on,
            ends_on: starts_on + Duration::days(330),
        },
        None,
        now,
    )
    .await?;
    import_grants(db, SAMPLE_GRANTS, None, now, &|_, _| {}).await?;

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
    let txn = db.begin().await?;
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
            if project.status == GrantStatus::Withdrawn.code() || !DEMO_GRANT_YEARS.contains(&project.grant_year) {
                continue;
            }
            let Some(email) = &project.contact_email else { continue };
            let lead = find_or_create_user(&txn, email, &project.contact_name, now).await?;
            set_membership(&txn, lead.id, cohort.id, Role::ProjectLead, Some(project.id), now).await?;
        }
    }
    txn.commit().await?;
    plan_demo_sessions(db, now).await?;
    Ok(Some(people))
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
    let txn = db.begin().await?;
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
                active.status = Set(SessionStatus::Confirmed.code().to_string());
                active.capacity = Set(Some(25));
            }
            active.update(&txn).await?;
            if found.number == 1 {
                let leads = membership::Entity::find()
                    .filter(membership::Column::CohortId.eq(cohort.id))
                    .filter(membership::Column::Role.eq(Role::ProjectLead.code()))
                    .all(&txn)
                    .await?;
                for lead in leads {
                    registration::ActiveModel {
                        session_id: Set(found.id),
                        user_id: Set(lead.user_id),
                        status: Set(RegistrationStatus::Registered.code().to_string()),
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
