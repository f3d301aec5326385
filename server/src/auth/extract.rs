//! The signed-in person as an extractor, from the session cookie or a bearer token.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, JoinType, QueryOrder, QuerySelect};

use super::session_token::SESSION_COOKIE;
use crate::domain::policy::{self, Action, Actor, Decision};
use crate::domain::roles::Role;
use crate::entities::{cohort, membership, user};
use crate::error::AppError;
use crate::i18n::Language;
use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: user::Model,
    pub actor: Actor,
    /// When the session token this person came with expires: a long-lived connection ends then.
    pub session_expires_at: DateTime<Utc>,
}

impl CurrentUser {
    /// The cohorts this person may see, by the policy (every cohort for an admin).
    pub async fn visible_cohorts(&self, db: &impl ConnectionTrait) -> Result<Vec<cohort::Model>, AppError> {
        Ok(cohort::Entity::find()
            .order_by_asc(cohort::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .filter(|cohort| self.may(Action::ViewCohort { cohort_id: cohort.id }))
            .collect())
    }

    /// Asks the policy; a refusal becomes 404 or 403 as the policy says.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        match policy::decide(&self.actor, action) {
            Decision::Allow => Ok(()),
            Decision::NotFound => Err(AppError::NotFound),
            Decision::Forbidden => Err(AppError::Forbidden),
        }
    }

    pub fn may(&self, action: Action) -> bool {
        policy::decide(&self.actor, action) == Decision::Allow
    }

    pub fn language(&self) -> Language {
        Language::parse(&self.user.language).unwrap_or_default()
    }

    /// Whether the session has expired at `now`, as [`SessionKeys::verify`] judges a token.
    ///
    /// [`SessionKeys::verify`]: super::session_token::SessionKeys::verify
    pub fn session_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.session_expires_at
    }
}

/// The token the request carries: `Authorization: Bearer …` first, then the session cookie.
fn presented_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|token| token.trim().to_string());
    }
    CookieJar::from_headers(&parts.headers)
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_string())
}

/// Loads the person behind a token, if the token is valid and not revoked.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Option<CurrentUser>, AppError> {
    let Some(claims) = state.sessions.verify(token, state.now()) else {
        return Ok(None);
    };
    let Ok(user_id) = claims.sub.parse::<i32>() else {
        return Ok(None);
    };
    let Some(session_expires_at) = DateTime::from_timestamp(claims.exp, 0) else {
        return Ok(None);
    };
    let Some((user, actor)) = load(state, user_id).await? else {
        return Ok(None);
    };
    if !user.active || user.token_version != claims.ver {
        return Ok(None);
    }
    Ok(Some(CurrentUser {
        user,
        actor,
        session_expires_at,
    }))
}

/// The same person read again, for a long-lived connection: none when they were signed out
/// or deactivated since, or their session has expired; their memberships as they are now.
pub async fn refresh(state: &AppState, current: &CurrentUser) -> Result<Option<CurrentUser>, AppError> {
    if current.session_expired(state.now()) {
        return Ok(None);
    }
    let Some((user, actor)) = load(state, current.user.id).await? else {
        return Ok(None);
    };
    if !user.active || user.token_version != current.user.token_version {
        return Ok(None);
    }
    Ok(Some(CurrentUser {
        user,
        actor,
        session_expires_at: current.session_expires_at,
    }))
}

/// A person with their memberships, in one query: every authenticated request starts here.
async fn load(state: &AppState, user_id: i32) -> Result<Option<(user::Model, Actor)>, AppError> {
    let their_memberships = membership::Entity::belongs_to(user::Entity)
        .from(membership::Column::UserId)
        .to(user::Column::Id)
        .into();
    let rows = user::Entity::find_by_id(user_id)
        .join_rev(JoinType::LeftJoin, their_memberships)
        .select_also(membership::Entity)
        .all(&state.db)
        .await?;
    let Some((user, _)) = rows.first() else {
        return Ok(None);
    };
    let user = user.clone();
    let memberships: HashMap<i32, Role> = rows
        .into_iter()
        .filter_map(|(_, membership)| membership)
        .map(|membership| (membership.cohort_id, membership.role))
        .collect();
    let actor = Actor {
        user_id: user.id,
        is_admin: user.is_admin,
        memberships,
    };
    Ok(Some((user, actor)))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts).ok_or(AppError::Unauthenticated)?;
        authenticate(state, &token).await?.ok_or(AppError::Unauthenticated)
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match presented_token(parts) {
            Some(token) => authenticate(state, &token).await,
            None => Ok(None),
        }
    }
}

/// The signed-in person, if any.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(
            <CurrentUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await?,
        ))
    }
}
