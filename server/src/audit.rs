//! The audit log of administrative actions.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::auth::CurrentUser;
use crate::domain::policy::Action;
use crate::entities::audit_log;
use crate::error::AppResult;

/// Records who did what to which thing, in the caller's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    actor_user_id: Option<i32>,
    action: &str,
    subject_type: &str,
    subject_id: impl ToString,
    detail: serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    audit_log::ActiveModel {
        actor_user_id: Set(actor_user_id),
        action: Set(action.to_string()),
        subject_type: Set(subject_type.to_string()),
        subject_id: Set(subject_id.to_string()),
        detail: Set(detail.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The newest entries first, for those who may read the log.
pub async fn latest(db: &impl ConnectionTrait, viewer: &CurrentUser, limit: u64) -> AppResult<Vec<audit_log::Model>> {
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
    viewer.require(Action::ViewAuditLog)?;
    Ok(audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
