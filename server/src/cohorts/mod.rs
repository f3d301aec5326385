//! Programmes and their themed cohorts: forming them from the placed grants, listing what a
//! person may see, members and projects, appointing facilitators.

pub mod invitations;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::auth::sign_in::revoke_sessions;
use crate::auth::{Caller, CurrentUser};
use crate::domain::email::normalize_email;
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::entities::{cohort, grant, membership, organisation, programme, theme, user};
use crate::error::{AppError, AppResult};
use crate::i18n::Language;
use crate::projects::{ProjectView, eligible_grants, project_view};
use crate::state::AppState;

/// Rows keyed by their id.
fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> i32) -> HashMap<i32, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

/// Taken first by every change that re-forms the cohorts (programmes, imports, reviews, the theme
/// mapping): the themes' rows, which cohorts are formed by, locked in order. On PostgreSQL such
/// changes then run one at a time instead of deadlocking on the grants and the profiles' search
/// entries they all rewrite; on SQLite the write transaction already holds the only write lock.
pub async fn lock_cohort_forming(txn: &impl ConnectionTrait) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        theme::Entity::find()
            .order_by_asc(theme::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?;
    }
    Ok(())
}

/// Makes sure every programme has a cohort for each theme that has projects in its grant years,
/// and re-indexes the project profiles for search.
pub async fn form_cohorts(txn: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<()> {
    let existing: Vec<(i32, i32)> = cohort::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|cohort| (cohort.programme_id, cohort.theme_id))
        .collect();
    for programme in programme::Entity::find()
        .order_by_asc(programme::Column::Id)
        .all(txn)
        .await?
    {
        let mut theme_ids: Vec<i32> = eligible_grants(txn, &programme)
            .await?
            .into_iter()
            .filter_map(|grant| grant.theme_id)
            .collect();
        theme_ids.sort_unstable();
        theme_ids.dedup();
        for theme_id in theme_ids {
            if !existing.contains(&(programme.id, theme_id)) {
                cohort::ActiveModel {
                    programme_id: Set(programme.id),
                    theme_id: Set(theme_id),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
        }
    }
    // Projects may have moved between cohorts: their profiles are found where they are now.
    crate::projects::index_all_profiles(txn).await
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CohortSummary {
    pub cohort_id: i32,
    pub programme: String,
    pub theme: String,
    pub projects: usize,
}

pub async fn summaries(db: &impl ConnectionTrait, language: Language) -> AppResult<Vec<CohortSummary>> {
    let mut out = Vec::new();
    for view in cohort_views(db, None, language).await? {
        out.push(CohortSummary {
            cohort_id: view.id,
            programme: view.programme.name,
            theme: view.theme.name,
            projects: view.projects.len(),
        });
    }
    Ok(out)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProgrammeView {
    pub id: i32,
    pub name: String,
    pub grant_years: Vec<i32>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub time_zone: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThemeView {
    pub id: i32,
    pub slug: String,
    /// In the reader's language.
    pub name: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CohortView {
    pub id: i32,
    pub programme: ProgrammeView,
    pub theme: ThemeView,
    /// The caller's role here; none for an admin who is not a member.
    pub my_role: Option<Role>,
    pub projects: Vec<ProjectView>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: i32,
    pub name: String,
    pub role: Role,
    pub organisation: Option<String>,
    /// Only for facilitators and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl ProgrammeView {
    /// "2021, 2022"
    pub fn years_text(&self) -> String {
        self.grant_years
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn programme_view(programme: &programme::Model) -> ProgrammeView {
    ProgrammeView {
        id: programme.id,
        name: programme.name.clone(),
        grant_years: programme.grant_year_list(),
        starts_on: programme.starts_on,
        ends_on: programme.ends_on,
        time_zone: programme.time_zone.clone(),
    }
}

/// The cohorts `viewer` may see (all when `viewer` is `None`, for administration), with projects.
pub async fn cohort_views(
    db: &impl ConnectionTrait,
    viewer: Option<&CurrentUser>,
    language: Language,
) -> AppResult<Vec<CohortView>> {
    let programmes = by_id(programme::Entity::find().all(db).await?, |row| row.id);
    let themes = by_id(theme::Entity::find().all(db).await?, |row| row.id);
    let organisations = by_id(organisation::Entity::find().all(db).await?, |row| row.id);
    let mut views = Vec::new();
    for cohort in cohort::Entity::find().order_by_asc(cohort::Column::Id).all(db).await? {
        if let Some(viewer) = viewer
            && !viewer.may(Action::ViewCohort { cohort_id: cohort.id })
        {
            continue;
        }
        let (Some(programme), Some(theme)) = (programmes.get(&cohort.programme_id), themes.get(&cohort.theme_id))
        else {
            continue;
        };
        let show_emails = viewer.is_none_or(|viewer| viewer.may(Action::ViewMemberEmails { cohort_id: cohort.id }));
        let projects = eligible_grants(db, programme)
            .await?
            .into_iter()
            .filter(|grant| grant.theme_id == Some(cohort.theme_id))
            .filter_map(|grant| {
                let organisation = organisations.get(&grant.organisation_id)?;
                Some(project_view(grant, organisation, show_emails))
            })
            .collect();
        views.push(CohortView {
            id: cohort.id,
            programme: programme_view(programme),
            theme: ThemeView {
                id: theme.id,
                slug: theme.slug.clone(),
                name: theme.name(language).to_string(),
            },
            my_role: viewer.and_then(|viewer| viewer.actor.role_in(cohort.id)),
            projects,
        });
    }
    Ok(views)
}

/// One cohort, if `viewer` may see it; otherwise 404.
pub async fn cohort_view(db: &impl ConnectionTrait, viewer: &CurrentUser, cohort_id: i32) -> AppResult<CohortView> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    cohort_views(db, Some(viewer), viewer.language())
        .await?
        .into_iter()
        .find(|view| view.id == cohort_id)
        .ok_or(AppError::NotFound)
}

pub async fn members(db: &impl ConnectionTrait, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<MemberView>> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let show_emails = viewer.may(Action::ViewMemberEmails { cohort_id });
    let memberships = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?;
    let user_ids: Vec<i32> = memberships.iter().map(|m| m.user_id).collect();
    let users = by_id(
        user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(db)
            .await?,
        |row| row.id,
    );
    let organisations = by_id(organisation::Entity::find().all(db).await?, |row| row.id);
    let mut members: Vec<MemberView> = memberships
        .into_iter()
        .filter_map(|membership| {
            let user = users.get(&membership.user_id).filter(|user| user.active)?;
            Some(MemberView {
                user_id: user.id,
                name: user.name.clone(),
                role: membership.role,
                organisation: user
                    .organisation_id
                    .and_then(|id| organisations.get(&id))
                    .map(|o| o.name.clone()),
                email: show_emails.then(|| user.email.clone()),
            })
        })
        .collect();
    members.sort_by(|a, b| {
        (Role::ALL.iter().position(|r| *r == a.role), &a.name)
            .cmp(&(Role::ALL.iter().position(|r| *r == b.role), &b.name))
    });
    Ok(members)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewProgramme {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Comma-separated, e.g. "2021,2022".
    #[schema(pattern = r"^\s*20\d\d\s*(,\s*20\d\d\s*)*$")]
    pub grant_years: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Creates a programme and forms its cohorts from the grants already imported.
pub async fn create_programme<C: TransactionTrait>(
    db: &C,
    caller: Caller<'_>,
    new: NewProgramme,
    now: DateTime<Utc>,
) -> AppResult<programme::Model> {
    caller.require(Action::ManageProgrammes)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("invalid_programme_name", "name"));
    }
    let years: Vec<i32> = new
        .grant_years
        .split(',')
        .map(|year| {
            year.trim()
                .parse::<i32>()
                .ok()
                .filter(|year| (2000..=2100).contains(year))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| AppError::invalid("invalid_grant_years", "grant_years"))?;
    if years.is_empty() {
        return Err(AppError::invalid("invalid_grant_years", "grant_years"));
    }
    if new.ends_on <= new.starts_on {
        return Err(AppError::invalid("invalid_programme_period", "ends_on"));
    }
    let txn = crate::db::write_transaction(db).await?;
    lock_cohort_forming(&txn).await?;
    let created = programme::ActiveModel {
        name: Set(name.to_string()),
        grant_years: Set(years.iter().map(i32::to_string).collect::<Vec<_>>().join(",")),
        starts_on: Set(new.starts_on),
        ends_on: Set(new.ends_on),
        time_zone: Set("Europe/Oslo".to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    form_cohorts(&txn, now).await?;
    audit::record(
        &txn,
        caller.user_id(),
        "programmes.create",
        "programme",
        created.id,
        serde_json::json!({ "name": created.name, "grant_years": created.grant_years }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Finds a person by address or creates them (the name is needed only for someone new).
pub async fn find_or_create_user(
    txn: &impl ConnectionTrait,
    email: &str,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<user::Model> {
    let email = normalize_email(email).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    if let Some(existing) = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(txn)
        .await?
    {
        return Ok(existing);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("invalid_name", "name"));
    }
    let organisation_id = organisation_of_address(txn, &email).await?;
    // Two cohorts may add the same new person at the same moment (on PostgreSQL neither sees
    // the other's row yet): the second insert leaves the first one's row as it is.
    user::Entity::insert(user::ActiveModel {
        name: Set(name.to_string()),
        name_key: Set(user::name_key(name)),
        email: Set(email.clone()),
        language: Set(Language::Nb.code().to_string()),
        is_admin: Set(false),
        active: Set(true),
        token_version: Set(0),
        organisation_id: Set(organisation_id),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(user::Column::Email).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The organisation whose grant names this address as contact, if any.
async fn organisation_of_address(db: &impl ConnectionTrait, email: &str) -> AppResult<Option<i32>> {
    Ok(grant::Entity::find()
        .filter(grant::Column::ContactEmail.eq(email))
        .one(db)
        .await?
        .map(|grant| grant.organisation_id))
}

/// Gives `user_id` the role in the cohort. A changed role revokes the person's sessions.
pub async fn set_membership(
    txn: &impl ConnectionTrait,
    user_id: i32,
    cohort_id: i32,
    role: Role,
    grant_id: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let existing = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::CohortId.eq(cohort_id))
        .one(txn)
        .await?;
    match existing {
        Some(existing) if existing.role == role => {}
        Some(existing) => {
            let mut active: membership::ActiveModel = existing.into();
            active.role = Set(role);
            active.update(txn).await?;
            revoke_sessions(txn, user_id).await?;
        }
        None => {
            // A concurrent first membership (two invitations accepted at once) keeps the first.
            membership::Entity::insert(membership::ActiveModel {
                user_id: Set(user_id),
                cohort_id: Set(cohort_id),
                role: Set(role),
                grant_id: Set(grant_id),
                created_at: Set(now),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([membership::Column::UserId, membership::Column::CohortId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        }
    }
    Ok(())
}

/// Makes a person (new or known) the facilitator of a cohort.
pub async fn appoint_facilitator<C: TransactionTrait>(
    db: &C,
    viewer: &CurrentUser,
    cohort_id: i32,
    email: &str,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<user::Model> {
    viewer.require(Action::AppointFacilitator)?;
    let txn = crate::db::write_transaction(db).await?;
    crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    let facilitator = find_or_create_user(&txn, email, name, now).await?;
    set_membership(&txn, facilitator.id, cohort_id, Role::Facilitator, None, now).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "cohorts.appoint_facilitator",
        "cohort",
        cohort_id,
        serde_json::json!({ "user_id": facilitator.id }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(facilitator)
}

/// What appointing a facilitator did.
#[derive(Clone, Debug)]
pub struct AppointmentOutcome {
    pub facilitator: user::Model,
    /// The cohort's theme in the admin's language.
    pub theme: String,
    /// Whether the mail with the sign-in link went out.
    pub mailed: bool,
}

/// The theme and programme of a cohort: what the mails about it name.
pub(crate) struct CohortSetting {
    pub theme: theme::Model,
    pub programme: programme::Model,
}

pub(crate) async fn cohort_setting(db: &impl ConnectionTrait, cohort_id: i32) -> AppResult<CohortSetting> {
    let cohort = cohort::Entity::find_by_id(cohort_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let theme = theme::Entity::find_by_id(cohort.theme_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let programme = programme::Entity::find_by_id(cohort.programme_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(CohortSetting { theme, programme })
}

/// Appoints a facilitator and mails them which cohort they now run, with a sign-in link that
/// works once and expires like any sign-in link. A mail server that refuses the mail does not
/// undo the appointment (they can ask for a link on the sign-in page); `mailed` says so.
pub async fn appoint_and_notify(
    state: &AppState,
    viewer: &CurrentUser,
    cohort_id: i32,
    email: &str,
    name: &str,
) -> AppResult<AppointmentOutcome> {
    let now = state.now();
    let facilitator = appoint_facilitator(&state.db, viewer, cohort_id, email, name, now).await?;
    let CohortSetting { theme, programme } = cohort_setting(&state.db, cohort_id).await?;
    let secret = crate::auth::sign_in::issue_sign_in_secret(&state.db, facilitator.id, now).await?;
    let language = Language::parse(&facilitator.language).unwrap_or(Language::Nb);
    let tr = crate::i18n::Tr::new(language);
    let mail = crate::mail::messages::appointment(
        tr,
        &facilitator,
        theme.name(language),
        &programme.name,
        &state.link(&crate::auth::sign_in::sign_in_path_to(
            &secret,
            &format!("/cohorts/{cohort_id}"),
        )),
    )?;
    let mailed = match state.mailer.send(mail).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), user = facilitator.id, "appointment mail not sent");
            false
        }
    };
    Ok(AppointmentOutcome {
        facilitator,
        theme: theme.name(viewer.language()).to_string(),
        mailed,
    })
}

/// All programmes, for those who administer them.
pub async fn programmes(db: &impl ConnectionTrait, viewer: &CurrentUser) -> AppResult<Vec<ProgrammeView>> {
    viewer.require(Action::ManageProgrammes)?;
    Ok(programme::Entity::find()
        .order_by_asc(programme::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(programme_view)
        .collect())
}

/// Takes a person out of a cohort: whoever may invite someone with their role may remove them.
/// Their open live connections to the cohort close.
pub async fn remove_member(state: &AppState, viewer: &CurrentUser, cohort_id: i32, user_id: i32) -> AppResult<()> {
    viewer.require(Action::ViewCohort { cohort_id })?;
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    let found = membership::Entity::find()
        .filter(membership::Column::CohortId.eq(cohort_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = found.role;
    viewer.require(Action::InviteToCohort { cohort_id, role })?;
    // Of removals sent at once, the one that deletes the row is the removal; the rest 404.
    if membership::Entity::delete_by_id(found.id)
        .exec(&txn)
        .await?
        .rows_affected
        == 0
    {
        return Err(AppError::NotFound);
    }
    audit::record(
        &txn,
        Some(viewer.user.id),
        "cohorts.remove_member",
        "user",
        user_id,
        serde_json::json!({ "cohort_id": cohort_id, "role": role.code() }),
        now,
    )
    .await?;
    txn.commit().await?;
    state.hub.access_changed(user_id);
    Ok(())
}
