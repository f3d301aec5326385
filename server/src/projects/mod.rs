//! Project profiles and lessons learned.
//!
//! A profile is a funded project's grant record plus the needs and offers its municipality
//! writes. Samling suggests matches: for a project's needs, offers and finished projects of
//! other municipalities in the cohorts the reader may see, ranked by the words they share and
//! whether they are in the same theme. A lesson learned is written by the project's lead (or
//! the facilitator) once the project has ended, and stays readable for every later cohort of
//! the same theme.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::auth::CurrentUser;
use crate::domain::grants::{GrantStatus, Placement};
use crate::domain::policy::Action;
use crate::entities::{
    cohort, grant, lesson, lesson_read, membership, organisation, programme, project_profile, suggestion_follow, user,
};
use crate::error::{AppError, AppResult};
use crate::search::{self, text};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: i32,
    pub name: String,
    pub number: String,
    pub county: String,
    /// `municipality` or `county`.
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub grant_id: i32,
    pub reference: String,
    pub title: String,
    pub organisation: OrganisationView,
    pub amount_nok: i64,
    pub status: GrantStatus,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub measure_type: String,
    pub grant_year: i32,
    pub contact_name: String,
    /// Only for facilitators and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    pub description: String,
}

pub fn project_view(grant: grant::Model, organisation: &organisation::Model, show_email: bool) -> ProjectView {
    ProjectView {
        grant_id: grant.id,
        reference: grant.reference,
        title: grant.title,
        organisation: OrganisationView {
            id: organisation.id,
            name: organisation.name.clone(),
            number: organisation.number.clone(),
            county: organisation.county.clone(),
            kind: organisation.kind.to_value(),
        },
        amount_nok: grant.amount_nok,
        status: grant.status,
        period_start: grant.period_start,
        period_end: grant.period_end,
        measure_type: grant.measure_type,
        grant_year: grant.grant_year,
        contact_name: grant.contact_name,
        contact_email: if show_email { grant.contact_email } else { None },
        description: grant.description,
    }
}

/// Grants a programme invites: placed in a theme, of its grant years, not withdrawn.
pub async fn eligible_grants(db: &impl ConnectionTrait, programme: &programme::Model) -> AppResult<Vec<grant::Model>> {
    Ok(grant::Entity::find()
        .filter(grant::Column::Placement.is_in([Placement::Automatic.code(), Placement::Confirmed.code()]))
        .filter(grant::Column::Status.ne(GrantStatus::Withdrawn))
        .filter(grant::Column::GrantYear.is_in(programme.grant_year_list()))
        .filter(grant::Column::ThemeId.is_not_null())
        .order_by_asc(grant::Column::Reference)
        .all(db)
        .await?)
}

/// The longest needs, offers, lesson or tips text, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Suggestions shown per project.
const MAX_SUGGESTIONS: usize = 8;

/// Every cohort with the projects it holds.
pub async fn cohorts_with_projects(db: &impl ConnectionTrait) -> AppResult<Vec<(cohort::Model, Vec<grant::Model>)>> {
    let cohorts = cohort::Entity::find().order_by_asc(cohort::Column::Id).all(db).await?;
    let mut result = Vec::new();
    for programme in programme::Entity::find().all(db).await? {
        let eligible = eligible_grants(db, &programme).await?;
        for cohort in cohorts.iter().filter(|cohort| cohort.programme_id == programme.id) {
            let grants = eligible
                .iter()
                .filter(|grant| grant.theme_id == Some(cohort.theme_id))
                .cloned()
                .collect();
            result.push((cohort.clone(), grants));
        }
    }
    result.sort_by_key(|(cohort, _)| cohort.id);
    Ok(result)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LessonView {
    pub id: i32,
    pub grant_id: i32,
    pub project_title: String,
    pub organisation: String,
    pub theme_id: i32,
    /// What was done.
    pub done: String,
    /// Results and effects.
    pub results: String,
    /// What worked (what the project learned).
    pub learned: String,
    /// What did not work.
    pub did_not_work: String,
    /// Tips to others doing the same.
    pub tips: String,
    /// The contact person others may call.
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub author_id: i32,
    pub author_name: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionReason {
    /// The other project is finished: its municipality has done it.
    Finished,
    /// The other municipality offers something that answers the need.
    Offer,
    /// The other project works on something similar.
    Similar,
}

impl SuggestionReason {
    pub fn code(self) -> &'static str {
        match self {
            SuggestionReason::Finished => "finished",
            SuggestionReason::Offer => "offer",
            SuggestionReason::Similar => "similar",
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub grant_id: i32,
    pub title: String,
    pub organisation: String,
    pub status: GrantStatus,
    pub reason: SuggestionReason,
    /// What the other municipality offers, if it wrote anything.
    pub offers: String,
    /// Higher is closer: shared words count twice, the same theme once.
    pub score: u32,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileView {
    pub project: ProjectView,
    pub theme_id: i32,
    pub needs: String,
    pub offers: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the reader may change the needs and offers.
    pub may_edit: bool,
    /// Whether the reader may write the lesson learned now (the project has ended).
    pub may_write_lesson: bool,
    pub lesson: Option<LessonView>,
    /// Offers and finished projects elsewhere that answer this project's needs.
    pub matches: Vec<Suggestion>,
    /// Other municipalities' projects about similar things.
    pub similar: Vec<Suggestion>,
}

/// The places a project is seen from: its cohorts, and all projects the reader may see.
struct Neighbourhood {
    grant: grant::Model,
    /// The project's cohorts that the reader may see.
    cohort_ids: Vec<i32>,
    /// Every project in a cohort the reader may see, with its theme.
    visible: Vec<grant::Model>,
}

async fn neighbourhood(db: &impl ConnectionTrait, viewer: &CurrentUser, grant_id: i32) -> AppResult<Neighbourhood> {
    let mut cohort_ids = Vec::new();
    let mut visible: HashMap<i32, grant::Model> = HashMap::new();
    let mut found = None;
    for (cohort, grants) in cohorts_with_projects(db).await? {
        if !viewer.may(Action::ViewCohort { cohort_id: cohort.id }) {
            continue;
        }
        for grant in grants {
            if grant.id == grant_id {
                cohort_ids.push(cohort.id);
                found = Some(grant.clone());
            }
            visible.insert(grant.id, grant);
        }
    }
    let grant = found.ok_or(AppError::NotFound)?;
    Ok(Neighbourhood {
        grant,
        cohort_ids,
        visible: visible.into_values().collect(),
    })
}

/// Whether the project is the reader's own: their membership names it, or the grant names them
/// as its contact.
async fn is_own_project(db: &impl ConnectionTrait, viewer: &CurrentUser, grant: &grant::Model) -> AppResult<bool> {
    if grant.contact_email.as_deref() == Some(viewer.user.email.as_str()) {
        return Ok(true);
    }
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(viewer.user.id))
        .filter(membership::Column::GrantId.eq(grant.id))
        .one(db)
        .await?
        .is_some())
}

/// Whether the reader may write about the project in one of its cohorts; 403 if not.
async fn require_edit(db: &impl ConnectionTrait, viewer: &CurrentUser, place: &Neighbourhood) -> AppResult<()> {
    let own_project = is_own_project(db, viewer, &place.grant).await?;
    let allowed = place
        .cohort_ids
        .iter()
        .any(|&cohort_id| viewer.may(Action::EditProject { cohort_id, own_project }));
    if allowed { Ok(()) } else { Err(AppError::Forbidden) }
}

/// A project has ended when its grant record says it is completed. (A period that is over
/// does not say it: projects run late, and the record is what the agency keeps up to date.)
fn has_ended(grant: &grant::Model) -> bool {
    grant.status == GrantStatus::Completed
}

fn checked_text(text: &str, code: &'static str, field: &'static str) -> AppResult<String> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::Invalid {
            code,
            field: Some(field.into()),
            args: vec![("max", MAX_TEXT_CHARS.to_string())],
        });
    }
    Ok(text.to_string())
}

/// What a project is about, in its own words: the text suggestions compare.
fn project_text(grant: &grant::Model, profile: Option<&project_profile::Model>) -> String {
    let offers = profile.map_or("", |profile| profile.offers.as_str());
    format!("{}. {} {offers}", grant.title, grant.description)
}

fn profile_entry(
    grant: &grant::Model,
    organisation: &str,
    profile: Option<&project_profile::Model>,
    cohort_id: i32,
) -> search::Entry {
    search::Entry {
        kind: search::Kind::Profile,
        source_id: grant.id,
        cohort_id,
        title: format!("{} – {}", grant.title, organisation),
        body: format!(
            "{organisation}, {county}, {measure}. {description} {needs} {offers}",
            county = grant.county,
            measure = grant.measure_type,
            description = grant.description,
            needs = profile.map_or("", |profile| profile.needs.as_str()),
            offers = profile.map_or("", |profile| profile.offers.as_str()),
        ),
        path: format!("/projects/{}", grant.id),
        created_at: grant.created_at,
    }
}

fn lesson_entry(lesson: &lesson::Model, grant: &grant::Model, organisation: &str) -> search::Entry {
    search::Entry {
        kind: search::Kind::Lesson,
        source_id: lesson.id,
        cohort_id: lesson.cohort_id,
        title: format!("{} – {}", grant.title, organisation),
        body: [
            &lesson.done,
            &lesson.results,
            &lesson.learned,
            &lesson.did_not_work,
            &lesson.tips,
            &lesson.contact_name,
        ]
        .into_iter()
        .filter(|text| !text.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" "),
        path: format!("/lessons/{}", lesson.id),
        created_at: lesson.created_at,
    }
}

/// Indexes a lesson under its project's title, in the cohort it was written in.
pub async fn index_lesson(txn: &impl ConnectionTrait, lesson: &lesson::Model) -> AppResult<()> {
    let grant = grant::Entity::find_by_id(lesson.grant_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let organisation = organisation::Entity::find_by_id(grant.organisation_id)
        .one(txn)
        .await?
        .map(|organisation| organisation.name)
        .unwrap_or_default();
    search::put(txn, lesson_entry(lesson, &grant, &organisation)).await
}

/// Re-indexes every project profile in every cohort that holds it (after imports and placement
/// changes, which may move projects between cohorts).
pub async fn index_all_profiles(txn: &impl ConnectionTrait) -> AppResult<()> {
    search::remove_kind(txn, search::Kind::Profile).await?;
    let organisations = organisation_names(txn).await?;
    let profiles: HashMap<i32, project_profile::Model> = project_profile::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|profile| (profile.grant_id, profile))
        .collect();
    for (cohort, grants) in cohorts_with_projects(txn).await? {
        for grant in grants {
            let organisation = organisations.get(&grant.organisation_id).map_or("", String::as_str);
            search::put(
                txn,
                profile_entry(&grant, organisation, profiles.get(&grant.id), cohort.id),
            )
            .await?;
        }
    }
    Ok(())
}

async fn organisation_names(db: &impl ConnectionTrait) -> AppResult<HashMap<i32, String>> {
    Ok(organisation::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|organisation| (organisation.id, organisation.name))
        .collect())
}

/// Projects of other municipalities ranked by how well they answer `wanted`: shared content
/// words count two each, the same theme one. With `answers_needs`, only finished projects and
/// projects that offer something are candidates, and a finished project of the same theme is
/// suggested even without shared words.
fn suggestions(
    wanted: &str,
    from: &grant::Model,
    candidates: &[grant::Model],
    profiles: &HashMap<i32, project_profile::Model>,
    organisations: &HashMap<i32, String>,
    answers_needs: bool,
) -> Vec<Suggestion> {
    let wanted = text::content_stems(wanted);
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<Suggestion> = candidates
        .iter()
        .filter(|other| other.organisation_id != from.organisation_id)
        .filter_map(|other| {
            let profile = profiles.get(&other.id);
            let offers = profile.map_or("", |profile| profile.offers.trim());
            let finished = other.status == GrantStatus::Completed;
            let same_theme = other.theme_id == from.theme_id;
            let organisation = organisations.get(&other.organisation_id).cloned().unwrap_or_default();
            let shared = wanted
                .intersection(&text::content_stems(&project_text(other, profile)))
                .count() as u32;
            let reason = match (answers_needs, finished, offers.is_empty()) {
                (false, _, _) => SuggestionReason::Similar,
                (true, true, _) => SuggestionReason::Finished,
                (true, false, false) => SuggestionReason::Offer,
                (true, false, true) => return None,
            };
            let suggested = shared > 0 || (answers_needs && finished && same_theme);
            suggested.then(|| Suggestion {
                grant_id: other.id,
                title: other.title.clone(),
                organisation,
                status: other.status,
                reason,
                offers: offers.to_string(),
                score: 2 * shared + u32::from(same_theme),
            })
        })
        .collect();
    found.sort_by(|a, b| b.score.cmp(&a.score).then(a.title.cmp(&b.title)));
    found.truncate(MAX_SUGGESTIONS);
    found
}

/// A project's profile as the reader sees it; 404 unless the project is in one of their cohorts.
pub async fn profile(db: &impl ConnectionTrait, viewer: &CurrentUser, grant_id: i32) -> AppResult<ProfileView> {
    let place = neighbourhood(db, viewer, grant_id).await?;
    let organisations = organisation_names(db).await?;
    let visible_ids: Vec<i32> = place.visible.iter().map(|grant| grant.id).collect();
    let profiles: HashMap<i32, project_profile::Model> = project_profile::Entity::find()
        .filter(project_profile::Column::GrantId.is_in(visible_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|profile| (profile.grant_id, profile))
        .collect();
    let own = profiles.get(&grant_id);
    let may_edit = require_edit(db, viewer, &place).await.is_ok();
    let lesson = lesson::Entity::find()
        .filter(lesson::Column::GrantId.eq(grant_id))
        .one(db)
        .await?;
    let lesson = match lesson {
        Some(lesson) => Some(lesson_view(db, lesson, &place.grant, &organisations).await?),
        None => None,
    };
    let grant = &place.grant;
    let organisation = organisation::Entity::find_by_id(grant.organisation_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let show_email = place
        .cohort_ids
        .iter()
        .any(|&cohort_id| viewer.may(Action::ViewMemberEmails { cohort_id }));
    let needs = own.map(|profile| profile.needs.clone()).unwrap_or_default();
    let matches = suggestions(&needs, grant, &place.visible, &profiles, &organisations, true);
    let about = format!("{} {}", grant.title, grant.description);
    let similar = suggestions(&about, grant, &place.visible, &profiles, &organisations, false);
    Ok(ProfileView {
        theme_id: grant.theme_id.unwrap_or_default(),
        needs,
        offers: own.map(|profile| profile.offers.clone()).unwrap_or_default(),
        updated_at: own.map(|profile| profile.updated_at),
        may_edit,
        may_write_lesson: may_edit && has_ended(grant),
        lesson,
        matches,
        similar,
        project: project_view(grant.clone(), &organisation, show_email),
    })
}

async fn lesson_view(
    db: &impl ConnectionTrait,
    lesson: lesson::Model,
    grant: &grant::Model,
    organisations: &HashMap<i32, String>,
) -> AppResult<LessonView> {
    let author_name = user::Entity::find_by_id(lesson.author_id)
        .one(db)
        .await?
        .map(|author| author.name)
        .unwrap_or_default();
    Ok(LessonView {
        id: lesson.id,
        grant_id: grant.id,
        project_title: grant.title.clone(),
        organisation: organisations.get(&grant.organisation_id).cloned().unwrap_or_default(),
        theme_id: lesson.theme_id,
        done: lesson.done,
        results: lesson.results,
        learned: lesson.learned,
        did_not_work: lesson.did_not_work,
        tips: lesson.tips,
        contact_name: lesson.contact_name,
        contact_email: lesson.contact_email,
        contact_phone: lesson.contact_phone,
        author_id: lesson.author_id,
        author_name,
        updated_at: lesson.updated_at,
    })
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ProfileChange {
    /// What the municipality would like help with, plain text.
    #[schema(max_length = 5_000)]
    pub needs: String,
    /// What it can share with others, plain text.
    #[schema(max_length = 5_000)]
    pub offers: String,
}

/// Saves a project's needs and offers and re-indexes its profile in each of its cohorts.
pub async fn save_profile<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    viewer: &CurrentUser,
    grant_id: i32,
    change: ProfileChange,
    now: DateTime<Utc>,
) -> AppResult<ProfileView> {
    let place = neighbourhood(db, viewer, grant_id).await?;
    require_edit(db, viewer, &place).await?;
    let needs = checked_text(&change.needs, "profile_text_too_long", "needs")?;
    let offers = checked_text(&change.offers, "profile_text_too_long", "offers")?;
    let txn = crate::db::write_transaction(db).await?;
    crate::db::lock_row::<grant::Entity>(&txn, grant_id).await?;
    let existing = project_profile::Entity::find()
        .filter(project_profile::Column::GrantId.eq(grant_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(existing) => {
            let mut active: project_profile::ActiveModel = existing.into();
            active.needs = Set(needs);
            active.offers = Set(offers);
            active.updated_by = Set(viewer.user.id);
            active.updated_at = Set(now);
            active.update(&txn).await?
        }
        None => {
            project_profile::ActiveModel {
                grant_id: Set(grant_id),
                needs: Set(needs),
                offers: Set(offers),
                updated_by: Set(viewer.user.id),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let organisations = organisation_names(&txn).await?;
    let organisation = organisations
        .get(&place.grant.organisation_id)
        .map_or("", String::as_str);
    for (cohort, grants) in cohorts_with_projects(&txn).await? {
        if grants.iter().any(|grant| grant.id == grant_id) {
            search::put(&txn, profile_entry(&place.grant, organisation, Some(&saved), cohort.id)).await?;
        }
    }
    audit::record(
        &txn,
        Some(viewer.user.id),
        "project.profile_saved",
        "grant",
        grant_id,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    profile(db, viewer, grant_id).await
}

/// A lesson learned in the fields of the agency's experience report, in its order. The fields
/// added for the report may be left out: a client that sends only `learned` and `tips` keeps
/// what was written in them before.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct LessonChange {
    /// What was done, plain text.
    #[schema(max_length = 5_000)]
    pub done: Option<String>,
    /// Results and effects, plain text.
    #[schema(max_length = 5_000)]
    pub results: Option<String>,
    /// What worked: what the project learned, plain text.
    #[schema(min_length = 1, max_length = 5_000, pattern = r"\S")]
    pub learned: String,
    /// What did not work, plain text.
    #[schema(max_length = 5_000)]
    pub did_not_work: Option<String>,
    /// Tips to others, plain text.
    #[serde(default)]
    #[schema(max_length = 5_000)]
    pub tips: String,
    /// The contact person others may call.
    #[schema(max_length = 200)]
    pub contact_name: Option<String>,
    /// An e-mail address, or empty.
    #[schema(max_length = 254)]
    pub contact_email: Option<String>,
    /// Digits, spaces and a leading `+`, or empty.
    #[schema(max_length = 30)]
    pub contact_phone: Option<String>,
}

/// A contact person's fields, checked: (name, e-mail, phone); `None` where not sent.
type Contact = (Option<String>, Option<String>, Option<String>);

fn checked_contact(change: &LessonChange) -> AppResult<Contact> {
    let name = change.contact_name.as_deref().map(str::trim);
    if name.is_some_and(|name| name.chars().count() > 200) {
        return Err(AppError::invalid("contact_name_too_long", "contact_name"));
    }
    let email = match change.contact_email.as_deref().map(str::trim) {
        Some("") => Some(String::new()),
        Some(email) => Some(
            crate::domain::email::normalize_email(email)
                .ok_or_else(|| AppError::invalid("invalid_contact_email", "contact_email"))?,
        ),
        None => None,
    };
    let phone = change.contact_phone.as_deref().map(str::trim);
    if let Some(phone) = phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let well_formed = phone.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '+')
            && !phone.chars().skip(1).any(|c| c == '+')
            && (5..=15).contains(&digits);
        if !phone.is_empty() && !well_formed {
            return Err(AppError::invalid("invalid_contact_phone", "contact_phone"));
        }
    }
    Ok((name.map(str::to_string), email, phone.map(str::to_string)))
}

/// An optional text field, checked; `None` where not sent.
fn checked_optional(text: &Option<String>, field: &'static str) -> AppResult<Option<String>> {
    text.as_deref()
        .map(|text| checked_text(text, "profile_text_too_long", field))
        .transpose()
}

/// Writes or rewrites a project's lesson learned; only once the project has ended (409
/// `project_not_ended` before).
pub async fn save_lesson<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    viewer: &CurrentUser,
    grant_id: i32,
    change: LessonChange,
    now: DateTime<Utc>,
) -> AppResult<LessonView> {
    let place = neighbourhood(db, viewer, grant_id).await?;
    require_edit(db, viewer, &place).await?;
    if !has_ended(&place.grant) {
        return Err(AppError::Conflict {
            code: "project_not_ended",
        });
    }
    let learned = checked_text(&change.learned, "profile_text_too_long", "learned")?;
    if learned.is_empty() {
        return Err(AppError::invalid("lesson_empty", "learned"));
    }
    let tips = checked_text(&change.tips, "profile_text_too_long", "tips")?;
    let done = checked_optional(&change.done, "done")?;
    let results = checked_optional(&change.results, "results")?;
    let did_not_work = checked_optional(&change.did_not_work, "did_not_work")?;
    let (contact_name, contact_email, contact_phone) = checked_contact(&change)?;
    let Some(&cohort_id) = place.cohort_ids.last() else {
        return Err(AppError::NotFound);
    };
    let txn = crate::db::write_transaction(db).await?;
    crate::db::lock_row::<grant::Entity>(&txn, grant_id).await?;
    let existing = lesson::Entity::find()
        .filter(lesson::Column::GrantId.eq(grant_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(existing) => {
            let mut active: lesson::ActiveModel = existing.into();
            active.learned = Set(learned);
            active.tips = Set(tips);
            // A field not sent keeps what was written.
            let keep = |field: &mut sea_orm::ActiveValue<String>, value: Option<String>| {
                if let Some(value) = value {
                    *field = Set(value);
                }
            };
            keep(&mut active.done, done);
            keep(&mut active.results, results);
            keep(&mut active.did_not_work, did_not_work);
            keep(&mut active.contact_name, contact_name);
            keep(&mut active.contact_email, contact_email);
            keep(&mut active.contact_phone, contact_phone);
            active.author_id = Set(viewer.user.id);
            active.updated_at = Set(now);
            active.update(&txn).await?
        }
        None => {
            lesson::ActiveModel {
                grant_id: Set(grant_id),
                cohort_id: Set(cohort_id),
                theme_id: Set(place.grant.theme_id.unwrap_or_default()),
                learned: Set(learned),
                tips: Set(tips),
                done: Set(done.unwrap_or_default()),
                results: Set(results.unwrap_or_default()),
                did_not_work: Set(did_not_work.unwrap_or_default()),
                contact_name: Set(contact_name.unwrap_or_default()),
                contact_email: Set(contact_email.unwrap_or_default()),
                contact_phone: Set(contact_phone.unwrap_or_default()),
                author_id: Set(viewer.user.id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    index_lesson(&txn, &saved).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "project.lesson_saved",
        "grant",
        grant_id,
        serde_json::json!({ "lesson_id": saved.id }),
        now,
    )
    .await?;
    txn.commit().await?;
    lesson_view(db, saved, &place.grant, &organisation_names(db).await?).await
}

/// The themes whose lessons the reader may read: those of every cohort they may see.
async fn readable_themes(db: &impl ConnectionTrait, viewer: &CurrentUser) -> AppResult<HashSet<i32>> {
    Ok(viewer
        .visible_cohorts(db)
        .await?
        .into_iter()
        .map(|cohort| cohort.theme_id)
        .collect())
}

/// Lessons learned the reader may read, in every programme year, newest first.
pub async fn lessons(db: &impl ConnectionTrait, viewer: &CurrentUser) -> AppResult<Vec<LessonView>> {
    let themes = readable_themes(db, viewer).await?;
    let organisations = organisation_names(db).await?;
    let mut views = Vec::new();
    for lesson in lesson::Entity::find()
        .filter(lesson::Column::ThemeId.is_in(themes))
        .order_by_desc(lesson::Column::UpdatedAt)
        .all(db)
        .await?
    {
        let Some(grant) = grant::Entity::find_by_id(lesson.grant_id).one(db).await? else {
            continue;
        };
        views.push(lesson_view(db, lesson, &grant, &organisations).await?);
    }
    Ok(views)
}

/// One lesson, for readers of a cohort with its theme; 404 otherwise.
pub async fn lesson(db: &impl ConnectionTrait, viewer: &CurrentUser, lesson_id: i32) -> AppResult<LessonView> {
    let found = lesson::Entity::find_by_id(lesson_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !readable_themes(db, viewer).await?.contains(&found.theme_id) {
        return Err(AppError::NotFound);
    }
    let grant = grant::Entity::find_by_id(found.grant_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let organisations = organisation_names(db).await?;
    lesson_view(db, found, &grant, &organisations).await
}

/// Opens one lesson for a reader: as [`lesson`], and the first time someone other than its
/// author opens it, counts the read with the newest programme the reader takes part in (so the
/// report can tell reuse by later cohorts).
pub async fn open_lesson(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    lesson_id: i32,
    now: DateTime<Utc>,
) -> AppResult<LessonView> {
    let view = lesson(db, viewer, lesson_id).await?;
    if view.author_id != viewer.user.id {
        record_read(db, viewer, lesson_id, now).await?;
    }
    Ok(view)
}

async fn record_read(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    lesson_id: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let cohort_ids: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(viewer.user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|found| found.cohort_id)
        .collect();
    let programme_ids: Vec<i32> = cohort::Entity::find()
        .filter(cohort::Column::Id.is_in(cohort_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|found| found.programme_id)
        .collect();
    let newest = programme::Entity::find()
        .filter(programme::Column::Id.is_in(programme_ids))
        .order_by_desc(programme::Column::StartsOn)
        .order_by_desc(programme::Column::Id)
        .one(db)
        .await?;
    // One row per lesson and reader: a second read, or two at once, leaves the first.
    lesson_read::Entity::insert(lesson_read::ActiveModel {
        lesson_id: Set(lesson_id),
        user_id: Set(viewer.user.id),
        programme_id: Set(newest.map(|found| found.id)),
        read_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([lesson_read::Column::LessonId, lesson_read::Column::UserId])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Records that the reader followed a suggestion shown on project `via`'s page to `grant_id`,
/// once per reader and pair. A `via` that did not suggest `grant_id` to this reader records
/// nothing.
pub async fn follow_suggestion(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    via: i32,
    grant_id: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if via == grant_id {
        return Ok(());
    }
    let shown = match profile(db, viewer, via).await {
        Ok(shown) => shown,
        Err(AppError::NotFound) => return Ok(()),
        Err(error) => return Err(error),
    };
    let Some(suggestion) = shown
        .matches
        .iter()
        .chain(shown.similar.iter())
        .find(|suggestion| suggestion.grant_id == grant_id)
    else {
        return Ok(());
    };
    suggestion_follow::Entity::insert(suggestion_follow::ActiveModel {
        user_id: Set(viewer.user.id),
        grant_id: Set(via),
        suggested_grant_id: Set(grant_id),
        reason: Set(suggestion.reason.code().to_string()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        suggestion_follow::Column::UserId,
        suggestion_follow::Column::GrantId,
        suggestion_follow::Column::SuggestedGrantId,
    ])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A project's lesson learned as a plain-text experience report, with the agency's headings in
/// its order, for the lead to paste into the agency's form: (file name, text). 404 unless the
/// project has a lesson the reader may read.
pub async fn experience_report(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    grant_id: i32,
    tr: crate::i18n::Tr,
) -> AppResult<(String, String)> {
    let found = lesson::Entity::find()
        .filter(lesson::Column::GrantId.eq(grant_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let view = lesson(db, viewer, found.id).await?;
    let grant = grant::Entity::find_by_id(grant_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        format!(
            "erfaringsrapport-{}.txt",
            grant
                .reference
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        ),
        experience_text(&view, &grant.reference, tr),
    ))
}

/// The experience report's text: a title block, then each field under its heading.
pub fn experience_text(view: &LessonView, reference: &str, tr: crate::i18n::Tr) -> String {
    let empty = tr.t("experience.empty");
    let or_empty = |text: &str| {
        if text.trim().is_empty() {
            empty.to_string()
        } else {
            text.to_string()
        }
    };
    let contact: Vec<&str> = [&view.contact_name, &view.contact_email, &view.contact_phone]
        .into_iter()
        .map(String::as_str)
        .filter(|line| !line.is_empty())
        .collect();
    let mut text = format!(
        "{title}\n{project_label}: {project}\n{reference_label}: {reference}\n{organisation_label}: {organisation}\n",
        title = tr.t("experience.title"),
        project_label = tr.t("experience.project"),
        project = view.project_title,
        reference_label = tr.t("experience.reference"),
        organisation_label = tr.t("experience.organisation"),
        organisation = view.organisation,
    );
    for (heading, body) in [
        ("experience.done", or_empty(&view.done)),
        ("experience.results", or_empty(&view.results)),
        ("experience.learned", or_empty(&view.learned)),
        ("experience.did_not_work", or_empty(&view.did_not_work)),
        ("experience.tips", or_empty(&view.tips)),
        (
            "experience.contact",
            if contact.is_empty() {
                empty.to_string()
            } else {
                contact.join("\n")
            },
        ),
    ] {
        text.push_str(&format!("\n{}\n{}\n", tr.t(heading), body));
    }
    text
}
