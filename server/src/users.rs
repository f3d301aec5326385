//! People: the admin account, deactivation, the list for administration, names by id.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use serde::Serialize;

use crate::audit;
use crate::auth::CurrentUser;
use crate::auth::sign_in::{issue_sign_in_secret, revoke_sessions};
use crate::domain::email::normalize_email;
use crate::domain::policy::Action;
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::i18n::Language;
use crate::state::AppState;

/// Creates the admin or promotes an existing person, and returns a one-time sign-in secret.
pub async fn create_admin<C: TransactionTrait>(
    db: &C,
    email: &str,
    now: DateTime<Utc>,
) -> AppResult<(user::Model, String)> {
    let email = normalize_email(email).ok_or_else(|| AppError::invalid("invalid_email", "email"))?;
    let txn = crate::db::write_transaction(db).await?;
    let admin = match user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(&txn)
        .await?
    {
        Some(existing) => {
            let was_admin = existing.is_admin;
            let mut active: user::ActiveModel = existing.into();
            active.is_admin = Set(true);
            active.active = Set(true);
            let promoted = active.update(&txn).await?;
            if !was_admin {
                revoke_sessions(&txn, promoted.id).await?;
            }
            promoted
        }
        None => {
            let name = email.split('@').next().unwrap_or("admin").to_string();
            user::ActiveModel {
                name_key: Set(user::name_key(&name)),
                name: Set(name),
                email: Set(email.clone()),
                language: Set(Language::Nb.code().to_string()),
                is_admin: Set(true),
                active: Set(true),
                token_version: Set(0),
                organisation_id: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let secret = issue_sign_in_secret(&txn, admin.id, now).await?;
    audit::record(
        &txn,
        None,
        "users.create_admin",
        "user",
        admin.id,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((admin, secret))
}

/// Deactivates a person: they can no longer sign in, their sessions end and their open live
/// connections close.
pub async fn deactivate(state: &AppState, viewer: &CurrentUser, user_id: i32) -> AppResult<()> {
    viewer.require(Action::ManageUsers)?;
    if user_id == viewer.user.id {
        return Err(AppError::Conflict {
            code: "cannot_deactivate_self",
        });
    }
    let now = state.now();
    let txn = crate::db::write_transaction(&state.db).await?;
    let person = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: user::ActiveModel = person.into();
    active.active = Set(false);
    active.update(&txn).await?;
    revoke_sessions(&txn, user_id).await?;
    audit::record(
        &txn,
        Some(viewer.user.id),
        "users.deactivate",
        "user",
        user_id,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    state.hub.access_changed(user_id);
    Ok(())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i32,
    pub name: String,
    pub email: String,
    pub language: Language,
    pub is_admin: bool,
    pub active: bool,
    /// Erased (`privacy::erase`): the name is «Tidligere deltaker» and the address a placeholder.
    pub erased: bool,
}

pub fn user_view(user: &user::Model) -> UserView {
    UserView {
        id: user.id,
        name: shown_name(user.name.clone(), user.erased_at),
        email: user.email.clone(),
        language: Language::parse(&user.language).unwrap_or_default(),
        is_admin: user.is_admin,
        active: user.active,
        erased: user.erased_at.is_some(),
    }
}

/// Everyone with an account, for those who manage people.
pub async fn all_users<C: sea_orm::ConnectionTrait>(db: &C, viewer: &CurrentUser) -> AppResult<Vec<UserView>> {
    viewer.require(Action::ManageUsers)?;
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(|found| {
            let mut view = user_view(found);
            in_language(&mut view.name, viewer.language());
            view
        })
        .collect())
}

/// Changes a person's own language.
/// What the person gets by e-mail (also from an unsubscribe link, without signing in).
pub async fn set_digest_preference<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: i32,
    preference: crate::domain::digest_schedule::DigestPreference,
) -> AppResult<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    user::Entity::update_many()
        .col_expr(
            user::Column::DigestPreference,
            sea_orm::sea_query::Expr::value(preference.code()),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_language<C: sea_orm::ConnectionTrait>(
    db: &C,
    user: &user::Model,
    language: Language,
) -> AppResult<()> {
    let mut active: user::ActiveModel = user.clone().into();
    active.language = Set(language.code().to_string());
    active.update(db).await?;
    Ok(())
}

/// The names of these people, by id (one query, whatever their number).
pub async fn names(db: &impl ConnectionTrait, ids: impl IntoIterator<Item = i32>) -> AppResult<HashMap<i32, String>> {
    Ok(names_marked(db, ids)
        .await?
        .into_iter()
        .map(|(id, (name, _))| (id, name))
        .collect())
}

/// As [`names`], each with whether the person was erased (their name is then «Tidligere
/// deltaker» in Bokmål, for a reader in another language to show in their own).
pub async fn names_marked(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i32>,
) -> AppResult<HashMap<i32, (String, bool)>> {
    let mut ids: Vec<i32> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .column(user::Column::ErasedAt)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(i32, String, Option<DateTime<Utc>>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, erased_at)| (id, (shown_name(name, erased_at), erased_at.is_some())))
        .collect())
}

/// The translation key of the name an erased person's posts are shown under.
pub const FORMER_PARTICIPANT_KEY: &str = "erasure.former_participant";

/// The name an erased person's posts are shown under, in `language` («Tidligere deltaker»).
pub fn former_participant(language: Language) -> &'static str {
    crate::i18n::Tr::new(language).t(FORMER_PARTICIPANT_KEY)
}

/// An erased person's name in the reader's language: [`names`] gives it in Bokmål.
pub fn in_language(name: &mut String, language: Language) {
    let stored = former_participant(Language::default());
    if language != Language::default() && name == stored {
        *name = former_participant(language).to_string();
    }
}

/// The name a person is shown under: an erased person's kept posts show «Tidligere deltaker».
fn shown_name(name: String, erased_at: Option<DateTime<Utc>>) -> String {
    match erased_at {
        Some(_) => former_participant(Language::default()).to_string(),
        None => name,
    }
}
