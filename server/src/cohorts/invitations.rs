//! Invitations: an admin or a facilitator invites an address to a cohort with a role; the
//! e-mailed link (single use, valid 14 days) signs the person in as a member.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

use super::{find_or_create_user, set_membership};
use crate::audit;
use crate::auth::CurrentUser;
use crate::auth::tokens::{hash_secret, new_secret};
use crate::domain::email::normalize_email;
use crate::domain::policy::Action;
use crate::domain::roles::Role;
use crate::entities::{cohort, invitation, membership, theme, user};
use crate::error::{AppError, AppResult};
use crate::i18n::{Language, Tr};
use crate::mail::messages;
use crate::state::AppState;

pub const INVITATION_LIFETIME: Duration = Duration::days(14);

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    #[schema(
        max_length = 254,
        pattern = r#"^[^@\s<>",\x00-\x1f\x7f-\x9f]+@[^@\s<>",.\x00-\x1f\x7f-\x9f]+(\.[^@\s<>",.\x00-\x1f\x7f-\x9f]+)+$"#
    )]
    pub email: String,
    /// The person's name, shown to the cohort once they accept.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: i32,
    pub cohort_id: i32,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

fn view(invitation: invitation::Model) -> InvitationView {
    InvitationView {
        id: invitation.id,
        cohort_id: invitation.cohort_id,
        role: invitation.role,
        email: invitation.email,
        name: invitation.name,
        expires_at: invitation.expires_at,
    }
}

pub fn accept_path(secret: &str) -> String {
    format!("/invitations/accept?token={secret}")
}

/// Invites an address and sends the mail. If the mail cannot be sent, the invitation is
/// withdrawn again, so no invitation exists that nobody received.
pub async fn invite(
    state: &AppState,
    inviter: &CurrentUser,
    cohort_id: i32,
    new: NewInvitation,
) -> AppResult<InvitationView> {
    inviter.require(Action::InviteToCohort {
        cohort_id,
        role: new.role,
    })?;
    let email = normalize_email(&new.email).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("invalid_name", "name"));
    }
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    let cohort = crate::db::lock_row::<cohort::Entity>(&txn, cohort_id).await?;
    if let Some(existing) = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&txn)
        .await?
        && membership::Entity::find()
            .filter(membership::Column::UserId.eq(existing.id))
            .filter(membership::Column::CohortId.eq(cohort_id))
            .one(&txn)
            .await?
            .is_some()
    {
        return Err(AppError::Conflict { code: "already_member" });
    }
    let secret = new_secret();
    let created = invitation::ActiveModel {
        cohort_id: Set(cohort_id),
        email: Set(email.clone()),
        name: Set(name.clone()),
        role: Set(new.role),
        grant_id: Set(None),
        invited_by: Set(inviter.user.id),
        token_hash: Set(hash_secret(&secret)),
        expires_at: Set(now + INVITATION_LIFETIME),
        accepted_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(inviter.user.id),
        "invitations.create",
        "cohort",
        cohort_id,
        serde_json::json!({ "invitation_id": created.id, "role": new.role.code() }),
        now,
    )
    .await?;
    txn.commit().await?;

    let theme = theme::Entity::find_by_id(cohort.theme_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let tr = Tr::new(Language::Nb);
    let mail = messages::invitation(
        tr,
        &email,
        &name,
        &inviter.user.name,
        theme.name(tr.language),
        new.role,
        &state.link(&accept_path(&secret)),
    )?;
    if let Err(error) = state.mailer.send(mail).await {
        tracing::warn!(error = %format!("{error:#}"), invitation = created.id, "invitation mail not sent; invitation withdrawn");
        invitation::Entity::delete_by_id(created.id).exec(&state.db).await?;
        return Err(AppError::MailUnavailable);
    }
    Ok(view(created))
}

/// Accepts an invitation once: creates the person if new, makes them a member, returns them.
pub async fn accept(state: &AppState, secret: &str) -> AppResult<(user::Model, i32)> {
    let now = state.now();
    let hash = hash_secret(secret.trim());
    let txn = crate::db::write_transaction(&state.db).await?;
    let used = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .filter(invitation::Column::TokenHash.eq(&hash))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(AppError::invalid("invitation_invalid", "token"));
    }
    let invitation = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(&hash))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = invitation.role;
    let person = find_or_create_user(&txn, &invitation.email, &invitation.name, now).await?;
    if !person.active {
        return Err(AppError::invalid("invitation_invalid", "token"));
    }
    let already = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person.id))
        .filter(membership::Column::CohortId.eq(invitation.cohort_id))
        .one(&txn)
        .await?;
    if already.is_none() {
        set_membership(&txn, person.id, invitation.cohort_id, role, invitation.grant_id, now).await?;
    }
    audit::record(
        &txn,
        Some(person.id),
        "invitations.accept",
        "cohort",
        invitation.cohort_id,
        serde_json::json!({ "invitation_id": invitation.id }),
        now,
    )
    .await?;
    txn.commit().await?;
    let person = user::Entity::find_by_id(person.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((person, invitation.cohort_id))
}

/// Open invitations of a cohort, for those who may invite.
pub async fn pending(state: &AppState, viewer: &CurrentUser, cohort_id: i32) -> AppResult<Vec<InvitationView>> {
    viewer.require(Action::InviteToCohort {
        cohort_id,
        role: Role::ProjectLead,
    })?;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::CohortId.eq(cohort_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(state.now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(&state.db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}
