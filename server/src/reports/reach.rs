//! Reach: which funded projects were invited, registered, waitlisted and attended, per
//! session, municipality, county and project.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::context::Context;
use super::sql::Sql;
use super::{Cell, ReportTable};
use crate::domain::roles::Role;
use crate::domain::sessions::{RegistrationStatus, SessionStatus};
use crate::error::AppResult;

#[derive(FromQueryResult)]
struct Invited {
    cohort_id: i32,
    grant_id: i32,
    first_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Taking {
    session_id: i32,
    grant_id: i32,
    registered: i64,
    waitlisted: i64,
    attended: i64,
}

#[derive(FromQueryResult)]
struct Marked {
    session_id: i32,
}

/// What each project did in each session.
#[derive(Default, Clone, Copy)]
struct Took {
    registered: bool,
    waitlisted: bool,
    attended: bool,
}

pub(super) struct Reach {
    /// (cohort, project) → when its lead was first invited to the cohort.
    invited: HashMap<(i32, i32), DateTime<Utc>>,
    /// (session, project) → what the project's leads did.
    took: HashMap<(i32, i32), Took>,
    /// Sessions held: marked held, or not cancelled with attendance taken.
    held: HashSet<i32>,
}

/// One project over the scope's sessions.
#[derive(Default)]
struct ProjectReach {
    /// In one of the scope's cohorts (not only met through a session).
    funded: bool,
    invited: bool,
    waitlisted: bool,
    sessions_registered: BTreeSet<i32>,
    sessions_attended: BTreeSet<i32>,
}

/// Counts of distinct projects.
#[derive(Default)]
struct Tally {
    projects: BTreeSet<i32>,
    invited: BTreeSet<i32>,
    registered: BTreeSet<i32>,
    waitlisted: BTreeSet<i32>,
    attended: BTreeSet<i32>,
    sessions_registered: BTreeSet<i32>,
    sessions_attended: BTreeSet<i32>,
}

fn count(set: &BTreeSet<i32>) -> Cell {
    Cell::Count(set.len() as i64)
}

impl Reach {
    pub(super) async fn load(db: &impl ConnectionTrait, context: &Context) -> AppResult<Self> {
        let mut sql = Sql::new(db);
        let cohorts = sql.bind_list(context.cohort_ids());
        let lead = sql.bind(Role::ProjectLead.code());
        let text = format!(
            "SELECT cohort_id, grant_id, MIN(created_at) AS first_at FROM invitations \
             WHERE cohort_id IN ({cohorts}) AND role = {lead} AND grant_id IS NOT NULL GROUP BY cohort_id, grant_id"
        );
        let invited = sql
            .all::<Invited>(db, text)
            .await?
            .into_iter()
            .filter(|row| context.counts(row.cohort_id, row.grant_id))
            .map(|row| ((row.cohort_id, row.grant_id), row.first_at))
            .collect();

        let mut sql = Sql::new(db);
        let registered = sql.bind(RegistrationStatus::Registered.code());
        let waitlisted = sql.bind(RegistrationStatus::Waitlisted.code());
        let lead = sql.bind(Role::ProjectLead.code());
        let sessions = sql.bind_list(context.session_ids());
        let text = format!(
            "SELECT r.session_id, m.grant_id, s.cohort_id, \
               CAST(MAX(CASE WHEN r.status = {registered} THEN 1 ELSE 0 END) AS BIGINT) AS registered, \
               CAST(MAX(CASE WHEN r.status = {waitlisted} THEN 1 ELSE 0 END) AS BIGINT) AS waitlisted, \
               CAST(MAX(CASE WHEN r.attended THEN 1 ELSE 0 END) AS BIGINT) AS attended \
             FROM registrations r JOIN sessions s ON s.id = r.session_id \
             JOIN memberships m ON m.user_id = r.user_id AND m.cohort_id = s.cohort_id \
             WHERE m.role = {lead} AND m.grant_id IS NOT NULL AND r.session_id IN ({sessions}) \
             GROUP BY r.session_id, m.grant_id, s.cohort_id"
        );
        let cohort_of: HashMap<i32, i32> = context
            .sessions
            .iter()
            .map(|found| (found.id, found.cohort_id))
            .collect();
        let took = sql
            .all::<Taking>(db, text)
            .await?
            .into_iter()
            .filter(|row| {
                cohort_of
                    .get(&row.session_id)
                    .is_some_and(|cohort_id| context.counts(*cohort_id, row.grant_id))
            })
            .map(|row| {
                (
                    (row.session_id, row.grant_id),
                    Took {
                        registered: row.registered > 0,
                        waitlisted: row.waitlisted > 0,
                        attended: row.attended > 0,
                    },
                )
            })
            .collect();

        let mut sql = Sql::new(db);
        let sessions = sql.bind_list(context.session_ids());
        let text = format!(
            "SELECT DISTINCT session_id FROM registrations WHERE attended IS NOT NULL AND session_id IN ({sessions})"
        );
        let marked: HashSet<i32> = sql
            .all::<Marked>(db, text)
            .await?
            .into_iter()
            .map(|row| row.session_id)
            .collect();
        let held = context
            .sessions
            .iter()
            .filter(|found| {
                found.status == SessionStatus::Held
                    || (found.status != SessionStatus::Cancelled && marked.contains(&found.id))
            })
            .map(|found| found.id)
            .collect();
        Ok(Self { invited, took, held })
    }

    /// A project counts as invited to a session when its lead was invited to the cohort before
    /// the session ended.
    fn invited_to(&self, cohort_id: i32, grant_id: i32, before: DateTime<Utc>) -> bool {
        self.invited
            .get(&(cohort_id, grant_id))
            .is_some_and(|first_at| *first_at < before)
    }

    /// What each project in the scope did over the scope's sessions, in one pass; the tables
    /// then add up their own projects' entries, so no table walks every session per row.
    fn per_project(&self, context: &Context) -> HashMap<i32, ProjectReach> {
        let mut per: HashMap<i32, ProjectReach> = HashMap::new();
        for found in &context.cohorts {
            for grant_id in context.cohort_grants.get(&found.id).into_iter().flatten() {
                let invited = match context.sessions.first() {
                    // A session's report: invited before that session ended.
                    Some(only) if context.is_session() => self.invited_to(found.id, *grant_id, only.ends_at),
                    _ => self.invited.contains_key(&(found.id, *grant_id)),
                };
                let project = per.entry(*grant_id).or_default();
                project.funded = true;
                project.invited |= invited;
            }
        }
        for found in &context.sessions {
            for grant_id in context.cohort_grants.get(&found.cohort_id).into_iter().flatten() {
                let took = self.took.get(&(found.id, *grant_id)).copied().unwrap_or_default();
                let project = per.entry(*grant_id).or_default();
                if took.registered {
                    project.sessions_registered.insert(found.id);
                }
                project.waitlisted |= took.waitlisted;
                if took.attended {
                    project.sessions_attended.insert(found.id);
                }
            }
        }
        per
    }

    /// Distinct projects and sessions over the given projects.
    fn tally(per: &HashMap<i32, ProjectReach>, grant_ids: impl IntoIterator<Item = i32>) -> Tally {
        let mut tally = Tally::default();
        for grant_id in grant_ids {
            let Some(project) = per.get(&grant_id) else {
                continue;
            };
            if project.funded {
                tally.projects.insert(grant_id);
            }
            if project.invited {
                tally.invited.insert(grant_id);
            }
            if !project.sessions_registered.is_empty() {
                tally.registered.insert(grant_id);
            }
            if project.waitlisted {
                tally.waitlisted.insert(grant_id);
            }
            if !project.sessions_attended.is_empty() {
                tally.attended.insert(grant_id);
            }
            tally.sessions_registered.extend(&project.sessions_registered);
            tally.sessions_attended.extend(&project.sessions_attended);
        }
        tally
    }

    pub(super) fn summary(&self, context: &Context) -> Vec<(&'static str, Cell)> {
        let per = self.per_project(context);
        let tally = Self::tally(&per, per.keys().copied());
        let funded = tally.projects.len() as i64;
        // In percent with one decimal: 16 of 23 reads 69.6, not a rounded 0.7.
        let percent = (funded > 0).then(|| (tally.attended.len() as f64 * 1000.0 / funded as f64).round() / 10.0);
        vec![
            ("funded_projects", Cell::Count(funded)),
            ("projects_invited", count(&tally.invited)),
            ("projects_registered", count(&tally.registered)),
            ("projects_waitlisted", count(&tally.waitlisted)),
            ("projects_attended", count(&tally.attended)),
            ("percent_reached", percent.into()),
            ("sessions_held", Cell::Count(self.held.len() as i64)),
        ]
    }

    fn by_session(&self, context: &Context) -> ReportTable {
        let mut table = ReportTable::new(
            "reach_by_session",
            &[
                "cohort",
                "session",
                "date",
                "invited",
                "registered",
                "waitlisted",
                "attended",
            ],
        )
        .with_chart(1, &[4, 6]);
        for found in &context.sessions {
            let (mut invited, mut registered, mut waitlisted, mut attended) = (0, 0, 0, 0);
            for grant_id in context.cohort_grants.get(&found.cohort_id).into_iter().flatten() {
                invited += i64::from(self.invited_to(found.cohort_id, *grant_id, found.ends_at));
                let took = self.took.get(&(found.id, *grant_id)).copied().unwrap_or_default();
                registered += i64::from(took.registered);
                waitlisted += i64::from(took.waitlisted);
                attended += i64::from(took.attended);
            }
            table.push(vec![
                context.cohort_label_of(found.cohort_id).into(),
                Context::session_label(found).into(),
                found.starts_at.date_naive().to_string().into(),
                invited.into(),
                registered.into(),
                waitlisted.into(),
                attended.into(),
            ]);
        }
        table
    }

    /// Municipality id → its projects in the scope, in order of county and name.
    fn municipalities(context: &Context) -> Vec<(i32, BTreeSet<i32>)> {
        let mut by_organisation: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
        for found in context.grants.values() {
            by_organisation
                .entry(found.organisation_id)
                .or_default()
                .insert(found.id);
        }
        let mut list: Vec<(i32, BTreeSet<i32>)> = by_organisation.into_iter().collect();
        list.sort_by_key(|(organisation_id, _)| {
            let organisation = context.organisations.get(organisation_id);
            (
                organisation.map(|found| found.county.clone()),
                organisation.map(|found| found.name.clone()),
                *organisation_id,
            )
        });
        list
    }

    fn by_municipality(&self, context: &Context) -> ReportTable {
        let mut table = ReportTable::new(
            "reach_by_municipality",
            &[
                "municipality",
                "county",
                "projects",
                "invited",
                "registered",
                "attended",
                "sessions_attended",
            ],
        );
        let per = self.per_project(context);
        for (organisation_id, projects) in Self::municipalities(context) {
            let tally = Self::tally(&per, projects);
            let organisation = context.organisations.get(&organisation_id);
            table.push(vec![
                organisation.map(|found| found.name.clone()).into(),
                organisation.map(|found| found.county.clone()).into(),
                count(&tally.projects),
                count(&tally.invited),
                count(&tally.registered),
                count(&tally.attended),
                count(&tally.sessions_attended),
            ]);
        }
        table
    }

    fn by_county(&self, context: &Context) -> ReportTable {
        let mut table = ReportTable::new(
            "reach_by_county",
            &["county", "projects", "invited", "registered", "attended"],
        )
        .with_chart(0, &[1, 4]);
        let counties: BTreeSet<&str> = context.grants.values().map(|found| found.county.as_str()).collect();
        let per = self.per_project(context);
        for county in counties {
            let in_county = context
                .grants
                .values()
                .filter(|found| found.county == county)
                .map(|found| found.id);
            let tally = Self::tally(&per, in_county);
            table.push(vec![
                county.into(),
                count(&tally.projects),
                count(&tally.invited),
                count(&tally.registered),
                count(&tally.attended),
            ]);
        }
        table
    }

    fn by_project(&self, context: &Context) -> ReportTable {
        let mut table = ReportTable::new(
            "reach_by_project",
            &[
                "project",
                "municipality",
                "county",
                "grant_year",
                "invited",
                "sessions_registered",
                "sessions_attended",
            ],
        );
        let mut projects: Vec<_> = context.grants.values().collect();
        projects.sort_by(|a, b| (&a.reference, a.id).cmp(&(&b.reference, b.id)));
        let per = self.per_project(context);
        for found in projects {
            let tally = Self::tally(&per, [found.id]);
            table.push(vec![
                found.reference.clone().into(),
                context.municipality(found.id).map(|found| found.name.clone()).into(),
                found.county.clone().into(),
                i64::from(found.grant_year).into(),
                i64::from(!tally.invited.is_empty()).into(),
                count(&tally.sessions_registered),
                count(&tally.sessions_attended),
            ]);
        }
        table
    }

    fn never_came(&self, context: &Context) -> ReportTable {
        let mut table = ReportTable::new("never_came", &["municipality", "county", "projects", "invited"]);
        let per = self.per_project(context);
        for (organisation_id, projects) in Self::municipalities(context) {
            let tally = Self::tally(&per, projects);
            if !tally.attended.is_empty() {
                continue;
            }
            let organisation = context.organisations.get(&organisation_id);
            table.push(vec![
                organisation.map(|found| found.name.clone()).into(),
                organisation.map(|found| found.county.clone()).into(),
                count(&tally.projects),
                count(&tally.invited),
            ]);
        }
        table
    }

    /// What a project lead or expert of the cohort sees: attendance by session, municipality
    /// and county.
    pub(super) fn public_tables(&self, context: &Context) -> Vec<ReportTable> {
        vec![
            self.by_session(context),
            self.by_municipality(context),
            self.by_county(context),
        ]
    }

    pub(super) fn tables(&self, context: &Context) -> Vec<ReportTable> {
        vec![
            self.by_session(context),
            self.by_municipality(context),
            self.by_county(context),
            self.by_project(context),
            self.never_came(context),
        ]
    }
}
