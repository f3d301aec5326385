//! Demo data for `serve --demo`: the sample grants, a programme with its cohorts, an admin, a
//! facilitator per theme, an expert and the project contacts as members.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionSession, TransactionTrait};

use crate::auth::sign_in::{issue_sign_in_secret, sign_in_path};
use crate::cohorts::{self, NewProgramme, find_or_create_user, set_membership};
use crate::domain::grants::GrantStatus;
use crate::domain::roles::Role;
use crate::entities::{cohort, grant, theme, user};
use crate::error::AppResult;
use crate::grants::import::import_grants;
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
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    cohorts::create_programme(
        db,
        NewProgramme {
            name: "Klimasats-forum 2027".into(),
            grant_years: DEMO_GRANT_YEARS.map(|year| year.to_string()).join(","),
            starts_on: date(2027, 1, 4),
            ends_on: date(2027, 12, 17),
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
    Ok(Some(people))
}
