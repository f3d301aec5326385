//! What a report covers: its cohorts and sessions, the funded projects in them after the
//! filters, and what the viewer may see.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Filters, Scope};
use crate::auth::CurrentUser;
use crate::domain::policy::{self, Action};
use crate::entities::{cohort, grant, organisation, programme, session, theme};
use crate::error::{AppError, AppResult};
use crate::i18n::Language;

pub(super) struct Context {
    pub(super) scope: Scope,
    pub(super) title: String,
    /// Only the cohort's public figures (a project lead or an expert of it).
    pub(super) public_only: bool,
    /// People's names only for admins.
    pub(super) names: bool,
    pub(super) language: Language,
    pub(super) programmes: HashMap<i32, programme::Model>,
    pub(super) themes: HashMap<i32, theme::Model>,
    /// In order: programme start, programme, theme name, cohort id.
    pub(super) cohorts: Vec<cohort::Model>,
    /// In the cohorts' order, then by number.
    pub(super) sessions: Vec<session::Model>,
    /// The funded projects in the scope's cohorts that pass the filters, by id.
    pub(super) grants: BTreeMap<i32, grant::Model>,
    /// Cohort id → its funded projects that pass the filters.
    pub(super) cohort_grants: HashMap<i32, BTreeSet<i32>>,
    pub(super) organisations: HashMap<i32, organisation::Model>,
}

impl Context {
    pub(super) async fn load(
        db: &impl ConnectionTrait,
        viewer: &CurrentUser,
        scope: Scope,
        filters: &Filters,
    ) -> AppResult<Self> {
        let (cohorts, only_session, wide) = match scope {
            Scope::Programme(id) => (
                cohort::Entity::find()
                    .filter(cohort::Column::ProgrammeId.eq(id))
                    .all(db)
                    .await?,
                None,
                true,
            ),
            Scope::Theme(id) => (
                cohort::Entity::find()
                    .filter(cohort::Column::ThemeId.eq(id))
                    .all(db)
                    .await?,
                None,
                true,
            ),
            Scope::Cohort(id) => (
                cohort::Entity::find_by_id(id).one(db).await?.into_iter().collect(),
                None,
                false,
            ),
            Scope::Session(id) => {
                let found = session::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let cohorts = cohort::Entity::find_by_id(found.cohort_id)
                    .one(db)
                    .await?
                    .into_iter()
                    .collect();
                (cohorts, Some(found), false)
            }
        };
        // The scope must exist: a programme or theme by its own row, a cohort by its row.
        let exists = match scope {
            Scope::Programme(id) => programme::Entity::find_by_id(id).one(db).await?.is_some(),
            Scope::Theme(id) => theme::Entity::find_by_id(id).one(db).await?.is_some(),
            Scope::Cohort(_) | Scope::Session(_) => !cohorts.is_empty(),
        };
        if !exists {
            return Err(AppError::NotFound);
        }
        let role = policy::report_role(&viewer.actor, cohorts.iter().map(|cohort| cohort.id));
        viewer.require(Action::ViewReport { wide, role })?;
        let public_only = policy::report_is_public_only(&viewer.actor, role);

        let programmes: HashMap<i32, programme::Model> = programme::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|programme| (programme.id, programme))
            .collect();
        let themes: HashMap<i32, theme::Model> = theme::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|theme| (theme.id, theme))
            .collect();
        let language = viewer.language();
        let mut cohorts = cohorts;
        cohorts.sort_by(|a, b| {
            let key = |cohort: &cohort::Model| {
                let programme = programmes.get(&cohort.programme_id);
                (
                    programme.map(|programme| programme.starts_on),
                    cohort.programme_id,
                    themes
                        .get(&cohort.theme_id)
                        .map(|theme| theme.name(language).to_owned())
                        .unwrap_or_default(),
                    cohort.id,
                )
            };
            key(a).cmp(&key(b))
        });

        let sessions = match only_session {
            Some(found) => vec![found],
            None => {
                let order: HashMap<i32, usize> = cohorts
                    .iter()
                    .enumerate()
                    .map(|(index, cohort)| (cohort.id, index))
                    .collect();
                let mut sessions = session::Entity::find()
                    .filter(session::Column::CohortId.is_in(cohorts.iter().map(|cohort| cohort.id)))
                    .order_by_asc(session::Column::Number)
                    .all(db)
                    .await?;
                sessions.sort_by_key(|found| (order.get(&found.cohort_id).copied(), found.number, found.id));
                sessions
            }
        };

        // Funded projects: the grants each cohort's programme invites in its theme.
        let mut grants = BTreeMap::new();
        let mut cohort_grants: HashMap<i32, BTreeSet<i32>> = HashMap::new();
        let mut programme_ids: Vec<i32> = cohorts.iter().map(|cohort| cohort.programme_id).collect();
        programme_ids.sort_unstable();
        programme_ids.dedup();
        for programme_id in programme_ids {
            let Some(programme) = programmes.get(&programme_id) else {
                continue;
            };
            let eligible = crate::projects::eligible_grants(db, programme).await?;
            for cohort in cohorts.iter().filter(|cohort| cohort.programme_id == programme_id) {
                let held = cohort_grants.entry(cohort.id).or_default();
                for found in eligible.iter().filter(|found| {
                    found.theme_id == Some(cohort.theme_id)
                        && filters.county.as_ref().is_none_or(|county| &found.county == county)
                        && filters.grant_year.is_none_or(|year| found.grant_year == year)
                }) {
                    held.insert(found.id);
                    grants.entry(found.id).or_insert_with(|| found.clone());
                }
            }
        }
        let organisations = organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(grants.values().map(|found| found.organisation_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|found| (found.id, found))
            .collect();

        let title = match scope {
            Scope::Programme(id) => programmes.get(&id).map(|found| found.name.clone()).unwrap_or_default(),
            Scope::Theme(id) => themes
                .get(&id)
                .map(|found| found.name(language).to_owned())
                .unwrap_or_default(),
            Scope::Cohort(_) => String::new(),
            Scope::Session(_) => sessions.first().map(|found| found.title.clone()).unwrap_or_default(),
        };
        let mut context = Context {
            scope,
            title,
            public_only,
            names: viewer.actor.is_admin,
            language,
            programmes,
            themes,
            cohorts,
            sessions,
            grants,
            cohort_grants,
            organisations,
        };
        if let Scope::Cohort(_) = scope {
            context.title = context
                .cohorts
                .first()
                .map(|found| context.cohort_label(found))
                .unwrap_or_default();
        }
        Ok(context)
    }

    /// "Programme · theme".
    pub(super) fn cohort_label(&self, found: &cohort::Model) -> String {
        let programme = self
            .programmes
            .get(&found.programme_id)
            .map(|programme| programme.name.as_str())
            .unwrap_or_default();
        let theme = self
            .themes
            .get(&found.theme_id)
            .map(|theme| theme.name(self.language))
            .unwrap_or_default();
        format!("{programme} · {theme}")
    }

    pub(super) fn cohort_label_of(&self, cohort_id: i32) -> String {
        self.cohorts
            .iter()
            .find(|found| found.id == cohort_id)
            .map(|found| self.cohort_label(found))
            .unwrap_or_default()
    }

    /// "2. Title".
    pub(super) fn session_label(found: &session::Model) -> String {
        format!("{}. {}", found.number, found.title)
    }

    pub(super) fn session_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.sessions.iter().map(|found| found.id)
    }

    pub(super) fn cohort_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.cohorts.iter().map(|found| found.id)
    }

    /// Whether the project counts in this cohort (funded there and passing the filters).
    pub(super) fn counts(&self, cohort_id: i32, grant_id: i32) -> bool {
        self.cohort_grants
            .get(&cohort_id)
            .is_some_and(|held| held.contains(&grant_id))
    }

    pub(super) fn municipality(&self, grant_id: i32) -> Option<&organisation::Model> {
        self.grants
            .get(&grant_id)
            .and_then(|found| self.organisations.get(&found.organisation_id))
    }

    /// A session report's exchange, needs and surveys are the session's own.
    pub(super) fn is_session(&self) -> bool {
        matches!(self.scope, Scope::Session(_))
    }
}
