//! The review list: grants of a programme's years whose theme only keywords suggest, for a
//! person to confirm or reject.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::auth::CurrentUser;
use crate::cohorts;
use crate::domain::grants::{GrantStatus, Placement};
use crate::entities::{grant, organisation, programme, theme};
use crate::error::{AppError, AppResult};
use crate::i18n::Language;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub grant_id: i32,
    pub reference: String,
    pub title: String,
    pub applicant: String,
    pub measure_type: String,
    pub grant_year: i32,
    pub description: String,
    pub suggested_theme_id: Option<i32>,
    pub suggested_theme: Option<String>,
}

/// The grants waiting for a decision: in some programme's grant years, not withdrawn.
/// Theme names are in `language`.
pub async fn pending(
    db: &impl ConnectionTrait,
    viewer: &CurrentUser,
    language: Language,
) -> AppResult<Vec<ReviewItem>> {
    super::authorize(viewer.into())?;
    waiting(db, language).await
}

/// [`pending`] without asking who wants to know (the import reports how many wait).
pub(super) async fn waiting(db: &impl ConnectionTrait, language: Language) -> AppResult<Vec<ReviewItem>> {
    let years: Vec<i32> = programme::Entity::find()
        .all(db)
        .await?
        .iter()
        .flat_map(programme::Model::grant_year_list)
        .collect();
    let grants = grant::Entity::find()
        .filter(grant::Column::Placement.eq(Placement::NeedsReview.code()))
        .filter(grant::Column::Status.ne(GrantStatus::Withdrawn))
        .filter(grant::Column::GrantYear.is_in(years))
        .order_by_asc(grant::Column::Reference)
        .all(db)
        .await?;
    let themes = theme::Entity::find().all(db).await?;
    let organisations = organisation::Entity::find().all(db).await?;
    Ok(grants
        .into_iter()
        .map(|grant| ReviewItem {
            grant_id: grant.id,
            applicant: organisations
                .iter()
                .find(|organisation| organisation.id == grant.organisation_id)
                .map(|organisation| organisation.name.clone())
                .unwrap_or_default(),
            suggested_theme: themes
                .iter()
                .find(|theme| Some(theme.id) == grant.suggested_theme_id)
                .map(|theme| theme.name(language).to_string()),
            suggested_theme_id: grant.suggested_theme_id,
            reference: grant.reference,
            title: grant.title,
            measure_type: grant.measure_type,
            grant_year: grant.grant_year,
            description: grant.description,
        })
        .collect())
}

#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Place the grant in this theme.
    Confirm { theme_id: i32 },
    /// The grant belongs to no theme.
    Reject,
}

/// Records a person's decision on a grant and re-forms the cohorts.
pub async fn decide<C: TransactionTrait>(
    db: &C,
    viewer: &CurrentUser,
    grant_id: i32,
    decision: ReviewDecision,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    super::authorize(viewer.into())?;
    let txn = crate::db::write_transaction(db).await?;
    cohorts::lock_cohort_forming(&txn).await?;
    let stored = grant::Entity::find_by_id(grant_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: grant::ActiveModel = stored.clone().into();
    match decision {
        ReviewDecision::Confirm { theme_id } => {
            theme::Entity::find_by_id(theme_id)
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::invalid("unknown_theme", "theme_id"))?;
            active.theme_id = Set(Some(theme_id));
            active.placement = Set(Placement::Confirmed.code().to_string());
        }
        ReviewDecision::Reject => {
            active.theme_id = Set(None);
            active.placement = Set(Placement::Rejected.code().to_string());
        }
    }
    active.updated_at = Set(now);
    active.update(&txn).await?;
    cohorts::form_cohorts(&txn, now).await?;
    let detail = match decision {
        ReviewDecision::Confirm { theme_id } => serde_json::json!({ "decision": "confirm", "theme_id": theme_id }),
        ReviewDecision::Reject => serde_json::json!({ "decision": "reject" }),
    };
    audit::record(
        &txn,
        Some(viewer.user.id),
        "grants.review",
        "grant",
        &stored.reference,
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
