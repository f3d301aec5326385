//! The theme mapping (measure type → theme) as data the admin edits, and re-placing every
//! grant when it changes.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionSession, TransactionTrait};
use serde::Serialize;

use crate::audit;
use crate::auth::CurrentUser;
use crate::cohorts;
use crate::domain::grants::{Placement, PlacementDecision, ThemeRule, place_grant};
use crate::entities::{grant, theme, theme_measure_type};
use crate::error::{AppError, AppResult};
use crate::i18n::Language;

pub async fn load_theme_rules(db: &impl ConnectionTrait) -> AppResult<Vec<ThemeRule>> {
    let themes = theme::Entity::find().order_by_asc(theme::Column::Id).all(db).await?;
    let mappings = theme_measure_type::Entity::find().all(db).await?;
    Ok(themes
        .iter()
        .map(|theme| ThemeRule {
            theme_id: theme.id,
            measure_types: mappings
                .iter()
                .filter(|mapping| mapping.theme_id == theme.id)
                .map(|mapping| mapping.measure_type.clone())
                .collect(),
            keywords: theme.keyword_list(),
        })
        .collect())
}

pub fn previous_decision(grant: &grant::Model) -> PlacementDecision {
    PlacementDecision {
        theme_id: grant.theme_id,
        suggested_theme_id: grant.suggested_theme_id,
        placement: Placement::from_code(&grant.placement).unwrap_or(Placement::Unmapped),
    }
}

/// A theme with its mapped measure types.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ThemeMapping {
    pub theme_id: i32,
    pub slug: String,
    pub name_nb: String,
    pub name_nn: String,
    pub name_en: String,
    pub keywords: String,
    pub measure_types: Vec<MeasureTypeMapping>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MeasureTypeMapping {
    pub id: i32,
    pub measure_type: String,
}

impl ThemeMapping {
    pub fn name(&self, language: Language) -> &str {
        match language {
            Language::Nb => &self.name_nb,
            Language::Nn => &self.name_nn,
            Language::En => &self.name_en,
        }
    }
}

/// The themes and the measure types mapped to them, for those who manage grants.
pub async fn theme_mappings(db: &impl ConnectionTrait, viewer: &CurrentUser) -> AppResult<Vec<ThemeMapping>> {
    super::authorize(viewer.into())?;
    let themes = theme::Entity::find().order_by_asc(theme::Column::Id).all(db).await?;
    let mappings = theme_measure_type::Entity::find()
        .order_by_asc(theme_measure_type::Column::MeasureType)
        .all(db)
        .await?;
    Ok(themes
        .into_iter()
        .map(|theme| ThemeMapping {
            measure_types: mappings
                .iter()
                .filter(|mapping| mapping.theme_id == theme.id)
                .map(|mapping| MeasureTypeMapping {
                    id: mapping.id,
                    measure_type: mapping.measure_type.clone(),
                })
                .collect(),
            theme_id: theme.id,
            slug: theme.slug,
            name_nb: theme.name_nb,
            name_nn: theme.name_nn,
            name_en: theme.name_en,
            keywords: theme.keywords,
        })
        .collect())
}

/// Maps a measure type to a theme, then re-places every grant and re-forms the cohorts.
pub async fn add_measure_type<C: TransactionTrait>(
    db: &C,
    viewer: &CurrentUser,
    theme_id: i32,
    measure_type: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    super::authorize(viewer.into())?;
    let measure_type = measure_type.trim();
    if measure_type.is_empty() || measure_type.chars().count() > 120 {
        return Err(AppError::invalid("invalid_measure_type", "measure_type"));
    }
    let txn = crate::db::write_transaction(db).await?;
    cohorts::lock_cohort_forming(&txn).await?;
    theme::Entity::find_by_id(theme_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let taken = theme_measure_type::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .any(|mapping| mapping.measure_type.to_lowercase() == measure_type.to_lowercase());
    if taken {
        return Err(AppError::Conflict {
            code: "measure_type_taken",
        });
    }
    theme_measure_type::ActiveModel {
        theme_id: Set(theme_id),
        measure_type: Set(measure_type.to_string()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    replace_all_grants(&txn, now).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "themes.map_measure_type",
        "theme",
        theme_id,
        serde_json::json!({ "measure_type": measure_type }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a mapping, then re-places every grant and re-forms the cohorts.
pub async fn remove_measure_type<C: TransactionTrait>(
    db: &C,
    viewer: &CurrentUser,
    mapping_id: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    super::authorize(viewer.into())?;
    let txn = crate::db::write_transaction(db).await?;
    cohorts::lock_cohort_forming(&txn).await?;
    let mapping = theme_measure_type::Entity::find_by_id(mapping_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // Of removals sent at once, the one that deletes the row re-places the grants; the rest 404.
    if theme_measure_type::Entity::delete_by_id(mapping.id)
        .exec(&txn)
        .await?
        .rows_affected
        == 0
    {
        return Err(AppError::NotFound);
    }
    replace_all_grants(&txn, now).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "themes.unmap_measure_type",
        "theme",
        mapping.theme_id,
        serde_json::json!({ "measure_type": mapping.measure_type }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Applies the current mapping to every stored grant (a person's decisions stand).
pub async fn replace_all_grants(txn: &impl ConnectionTrait, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
    let rules = load_theme_rules(txn).await?;
    for stored in grant::Entity::find().all(txn).await? {
        let before = previous_decision(&stored);
        let after = place_grant(
            &stored.measure_type,
            &stored.title,
            &stored.description,
            Some(before),
            &rules,
        );
        if after != before {
            let mut active: grant::ActiveModel = stored.into();
            active.theme_id = Set(after.theme_id);
            active.suggested_theme_id = Set(after.suggested_theme_id);
            active.placement = Set(after.placement.code().to_string());
            active.updated_at = Set(now);
            active.update(txn).await?;
        }
    }
    cohorts::form_cohorts(txn, now).await?;
    Ok(())
}
